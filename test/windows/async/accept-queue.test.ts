// acceptAsync takes a connection that already waits in the listener's queue at once
// (accept() without blocking), and only otherwise issues AcceptEx and waits.

import { expect } from 'chai';
import { Socket, WinsockError } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import * as sys from '../../../src/sys/index.ts';
import { SocketTracker } from '../../support/sockets.ts';

describe('acceptAsync with connections waiting', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  /** `n` connections completed by the system into `listener`'s queue (blocking connects: the handshake needs no accept). */
  function queue(listener: Socket, n: number): Socket[] {
    return Array.from({ length: n }, () => tracker.track(Socket.connect({ address: '127.0.0.1', port: listener.localAddress.port })));
  }

  it('takes every waiting connection within the call, none pending, each a blocking socket that works', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, { backlog: 16 }));
    const clients = queue(listener, 8);
    const pendingBefore = pumpState().pending;
    const accepting = clients.map(() => listener.acceptAsync());
    expect(pumpState().pending, 'no AcceptEx was needed').to.equal(pendingBefore);
    const accepted = (await Promise.all(accepting)).map((socket) => tracker.track(socket));
    // Each is one of the clients' connections, in some order, and carries data both ways.
    const clientPorts = clients.map((client) => client.localAddress.port).sort();
    expect(accepted.map((socket) => socket.remoteAddress.port).sort()).to.deep.equal(clientPorts);
    for (const socket of accepted) {
      expect(socket.blocking).to.equal(true);
      const client = clients.find((c) => c.localAddress.port === socket.remoteAddress.port)!;
      client.send(Buffer.from('ping'));
      const got = Buffer.alloc(4);
      socket.recvExact(got); // blocking: the data is there
      expect(got.toString()).to.equal('ping');
      await socket.sendAsync(Buffer.from('pong'));
      const pong = Buffer.alloc(4);
      client.recvExact(pong);
      expect(pong.toString()).to.equal('pong');
    }
    // The listener is still blocking: a later connection comes through accept() as before.
    expect(listener.blocking).to.equal(true);
    queue(listener, 1);
    tracker.track(listener.accept());
  });

  it('waits with AcceptEx when nothing is queued, and resolves when a connection comes', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const pendingBefore = pumpState().pending;
    const accepting = listener.acceptAsync();
    expect(pumpState().pending).to.equal(pendingBefore + 1);
    const client = tracker.track(await Socket.connectAsync({ address: '127.0.0.1', port: listener.localAddress.port }));
    const server = tracker.track(await accepting);
    expect(server.remoteAddress.port).to.equal(client.localAddress.port);
  });

  it('AcceptEx and ConnectEx free their address buffers when they complete: the receives that take their slots next hold none', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const port = listener.localAddress.port;
    const pending: Promise<unknown>[] = [];
    const open = async (): Promise<void> => {
      const accepting = listener.acceptAsync(); // nothing queued: AcceptEx
      const client = tracker.track(await Socket.connectAsync({ address: '127.0.0.1', port })); // ConnectEx
      const server = tracker.track(await accepting);
      // Each side's receive takes a slot an AcceptEx or ConnectEx gave back, and stays pending.
      for (const socket of [server, client]) pending.push(socket.recvAsync(Buffer.alloc(8)).catch(() => undefined));
    };
    await open(); // the pools warmed up
    const before = sys.slabStats.blocksInUse;
    const connections = 20;
    for (let i = 0; i < connections; i++) await open();
    const perConnection = (sys.slabStats.blocksInUse - before) / connections;
    // Per connection, two pending receives: each a slot (its OVERLAPPED block) and the block it receives into.
    // An address buffer kept with each slot would make it 6.
    expect(perConnection).to.equal(4);
    tracker.closeAll();
    await Promise.all(pending);
  });

  it('a non-blocking listener stays non-blocking, and its waiting connections are taken too', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    listener.setBlocking(false);
    queue(listener, 2);
    const [a, b] = await Promise.all([listener.acceptAsync(), listener.acceptAsync()]);
    tracker.track(a!);
    tracker.track(b!);
    expect(listener.blocking).to.equal(false);
    expect(a!.blocking).to.equal(true);
    // Nothing queued now: the non-blocking accept() says so instead of waiting.
    expect(() => listener.accept()).to.throw(WinsockError).with.property('code', 'WSAEWOULDBLOCK');
  });
});
