// poll() over WSAPoll: readiness for reading, writing, pending connections and hangup,
// several sockets at once, and its argument checks.

import { expect } from 'chai';
import { Socket, SocketClosedError, poll } from '../../../src/index.ts';
import type { PollResult } from '../../../src/index.ts';
import { families, SocketTracker, tcpPair } from '../../support/sockets.ts';

function flags(result: PollResult): Omit<PollResult, 'socket'> {
  const { readable, writable, hangup, error } = result;
  return { readable, writable, hangup, error };
}

describe('poll()', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  for (const fam of families) {
    describe(fam.family, function () {
      it('a fresh connection is writable and not readable', function () {
        const { client } = tcpPair(tracker, fam);
        const [result] = poll([{ socket: client, events: { readable: true, writable: true } }], 0);
        expect(result!.socket).to.equal(client);
        expect(flags(result!)).to.deep.equal({ readable: false, writable: true, hangup: false, error: false });
      });

      it('becomes readable when data arrives, and not before', function () {
        const { client, server } = tcpPair(tracker, fam);
        expect(poll([{ socket: server, events: { readable: true } }], 0)[0]!.readable).to.equal(false);
        client.sendAll('wake');
        const [result] = poll([{ socket: server, events: { readable: true } }], 5000);
        expect(flags(result!)).to.deep.equal({ readable: true, writable: false, hangup: false, error: false });
        server.recvExact(Buffer.alloc(4));
        expect(poll([{ socket: server, events: { readable: true } }], 0)[0]!.readable).to.equal(false);
      });

      it('only reports the events asked for', function () {
        const { client, server } = tcpPair(tracker, fam);
        client.sendAll('x');
        poll([{ socket: server, events: { readable: true } }], 5000);
        const [onlyWrite] = poll([{ socket: server, events: { writable: true } }], 0);
        expect(onlyWrite!.readable).to.equal(false);
        expect(onlyWrite!.writable).to.equal(true);
      });

      it('a listener is readable when a connection is pending', function () {
        const listener = tracker.track(Socket.listen({ address: fam.loopback, port: 0 }));
        expect(poll([{ socket: listener, events: { readable: true } }], 0)[0]!.readable).to.equal(false);
        tracker.track(Socket.connect(listener.localAddress));
        expect(poll([{ socket: listener, events: { readable: true } }], 5000)[0]!.readable).to.equal(true);
        tracker.track(listener.accept());
        expect(poll([{ socket: listener, events: { readable: true } }], 0)[0]!.readable).to.equal(false);
      });

      it('reports hangup when the peer closes', function () {
        const { client, server } = tcpPair(tracker, fam);
        client.close();
        const [result] = poll([{ socket: server, events: { readable: true } }], 5000);
        expect(result!.hangup).to.equal(true);
        expect(server.recv(Buffer.alloc(1))).to.equal(0);
      });

      it('reports hangup once both directions are shut down', function () {
        const { client, server } = tcpPair(tracker, fam);
        client.shutdown('both');
        server.shutdown('send');
        expect(poll([{ socket: server, events: { readable: true } }], 5000)[0]!.hangup).to.equal(true);
      });
    });
  }

  it('reports on several sockets at once, in request order', function () {
    const a = tcpPair(tracker, families[0]!);
    const b = tcpPair(tracker, families[1]!);
    b.client.sendAll('only b');
    poll([{ socket: b.server, events: { readable: true } }], 5000);
    const results = poll(
      [
        { socket: a.server, events: { readable: true } },
        { socket: b.server, events: { readable: true } },
        { socket: a.client, events: { writable: true } },
      ],
      0,
    );
    expect(results.map((r) => r.socket)).to.deep.equal([a.server, b.server, a.client]);
    expect(results.map((r) => r.readable)).to.deep.equal([false, true, false]);
    expect(results[2]!.writable).to.equal(true);
  });

  it('waits up to the timeout and returns nothing ready', function () {
    const { server } = tcpPair(tracker, families[0]!);
    const [result] = poll([{ socket: server, events: { readable: true } }], 30);
    expect(flags(result!)).to.deep.equal({ readable: false, writable: false, hangup: false, error: false });
  });

  it('tells when a non-blocking connect has finished (writable)', function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const client = tracker.track(new Socket());
    client.setBlocking(false);
    try {
      client.connect(listener.localAddress);
    } catch (error) {
      expect((error as { code?: string }).code).to.equal('WSAEWOULDBLOCK');
    }
    const [result] = poll([{ socket: client, events: { writable: true } }], 5000);
    expect(result!.writable).to.equal(true);
    expect(client.remoteAddress.port).to.equal(listener.localAddress.port);
  });

  it('works for UDP sockets', function () {
    const a = tracker.track(new Socket({ type: 'udp' }));
    const b = tracker.track(new Socket({ type: 'udp' }));
    b.bind({ address: '127.0.0.1', port: 0 });
    expect(poll([{ socket: b, events: { readable: true, writable: true } }], 0)[0]!.readable).to.equal(false);
    a.sendTo('d', b.localAddress);
    expect(poll([{ socket: b, events: { readable: true } }], 5000)[0]!.readable).to.equal(true);
  });

  describe('argument checks', function () {
    it('refuses what is not a non-empty array of { socket, events }', function () {
      const socket = tracker.track(new Socket());
      expect(() => poll(null as unknown as [], 0)).to.throw(TypeError);
      expect(() => poll({} as unknown as [], 0)).to.throw(TypeError);
      expect(() => poll([], 0)).to.throw(RangeError);
      expect(() => poll([null as unknown as { socket: Socket; events: object }], 0)).to.throw(TypeError, /requests\[0\]/);
      expect(() => poll([{ socket: 'sock' as unknown as Socket, events: { readable: true } }], 0)).to.throw(TypeError);
      expect(() => poll([{ socket, events: null as unknown as object }], 0)).to.throw(TypeError, /events/);
      expect(() => poll([{ socket, events: {} }], 0)).to.throw(RangeError, /asks for nothing/);
      expect(() => poll([{ socket, events: { readable: false, writable: false } }], 0)).to.throw(RangeError);
      // Like every boolean option: TypeError for another kind of value (it was RangeError: "asks for nothing").
      expect(() => poll([{ socket, events: { readable: 1 as unknown as boolean } }], 0)).to.throw(TypeError, /requests\[0\]\.events\.readable must be a boolean/);
      expect(() => poll([{ socket, events: { readable: true, writable: 'yes' as unknown as boolean } }], 0)).to.throw(TypeError, /writable must be a boolean/);
    });

    it('refuses a bad timeout', function () {
      const socket = tracker.track(new Socket());
      const request = [{ socket, events: { readable: true } }];
      expect(() => poll(request, -2)).to.throw(RangeError);
      expect(() => poll(request, 2 ** 31)).to.throw(RangeError);
      expect(() => poll(request, 1.5)).to.throw(TypeError);
      expect(() => poll(request, '10' as unknown as number)).to.throw(TypeError);
      expect(() => poll(request, undefined as unknown as number)).to.throw(TypeError);
    });

    it('refuses a closed socket with SocketClosedError', function () {
      const open = tracker.track(new Socket());
      const closed = new Socket();
      closed.close();
      expect(() =>
        poll(
          [
            { socket: open, events: { readable: true } },
            { socket: closed, events: { readable: true } },
          ],
          0,
        ),
      ).to.throw(SocketClosedError, /^poll:/);
    });
  });
});
