// Bad arguments throw TypeError or RangeError in JavaScript, before any native call:
// the socket is left exactly as it was and still works afterwards.

import { expect } from 'chai';
import { CompletionPort, Socket, WinsockError, lookup, poll } from '../../../src/index.ts';
import type { SocketAddressInput } from '../../../src/index.ts';
import { families, SocketTracker, tcpPair, thrownBy } from '../../support/sockets.ts';

type Bad = [label: string, value: unknown, error: typeof TypeError | typeof RangeError];

const badAddresses: Bad[] = [
  ['null', null, TypeError],
  ['a string', '127.0.0.1:80', TypeError],
  ['a number', 80, TypeError],
  ['no address', { port: 80 }, TypeError],
  ['an empty address', { address: '', port: 80 }, TypeError],
  ['a numeric address', { address: 2130706433, port: 80 }, TypeError],
  ['a NUL in the address', { address: 'local\0host', port: 80 }, TypeError],
  ['no port', { address: '127.0.0.1' }, TypeError],
  ['a string port', { address: '127.0.0.1', port: '80' }, TypeError],
  ['a fractional port', { address: '127.0.0.1', port: 80.5 }, TypeError],
  ['a NaN port', { address: '127.0.0.1', port: Number.NaN }, TypeError],
  ['a negative port', { address: '127.0.0.1', port: -1 }, RangeError],
  ['port 65536', { address: '127.0.0.1', port: 65536 }, RangeError],
];

const badBuffers: Bad[] = [
  ['null', null, TypeError],
  ['a string', 'abc', TypeError],
  ['an array', [1, 2, 3], TypeError],
  ['an ArrayBuffer', new ArrayBuffer(4), TypeError],
  ['a DataView', new DataView(new ArrayBuffer(4)), TypeError],
  ['an empty Buffer', Buffer.alloc(0), RangeError],
];

function expectArgumentError(fn: () => unknown, type: typeof TypeError | typeof RangeError): void {
  const error = thrownBy(fn);
  expect(error).to.not.be.instanceOf(WinsockError);
  expect(error, String(error)).to.be.instanceOf(type);
}

describe('argument checks', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  it('lookup() refuses a host with a NUL character instead of resolving what comes before it', function () {
    expect(() => lookup('127.0.0.1\0evil.example')).to.throw(TypeError, /NUL/);
    expect(() => lookup('localhost\0')).to.throw(TypeError, /NUL/);
    // The same host without the NUL resolves.
    expect(lookup('127.0.0.1')).to.deep.equal([{ family: 'ipv4', address: '127.0.0.1', port: 0 }]);
  });

  describe('new Socket()', function () {
    it('refuses bad options', function () {
      expect(() => new Socket(null as unknown as object)).to.throw(TypeError);
      expect(() => new Socket('tcp' as unknown as object)).to.throw(TypeError);
      expect(() => new Socket({ family: 'ipv5' as 'ipv4' })).to.throw(TypeError, /family/);
      expect(() => new Socket({ family: 'IPv4' as 'ipv4' })).to.throw(TypeError);
      expect(() => new Socket({ type: 'sctp' as 'tcp' })).to.throw(TypeError, /type/);
    });
  });

  for (const [label, value, type] of badAddresses) {
    it(`every address-taking call refuses ${label}`, function () {
      const address = value as SocketAddressInput;
      const socket = tracker.track(new Socket());
      const udp = tracker.track(new Socket({ type: 'udp' }));
      expectArgumentError(() => socket.bind(address), type);
      expectArgumentError(() => socket.connect(address), type);
      expectArgumentError(() => udp.sendTo('x', address), type);
      expectArgumentError(() => Socket.connect(address), type);
      expectArgumentError(() => Socket.listen(address), type);
      // Nothing happened to the sockets: they still bind where asked.
      socket.bind({ address: '127.0.0.1', port: 0 });
      udp.bind({ address: '127.0.0.1', port: 0 });
    });
  }

  it('an address that is neither a literal nor a resolvable name fails in the resolver', function () {
    const socket = tracker.track(new Socket());
    const error = thrownBy(() => socket.bind({ address: '999.1.1.1', port: 0 }));
    expect(error).to.be.instanceOf(WinsockError);
    expect((error as WinsockError).syscall).to.equal('getaddrinfo');
  });

  for (const [label, value, type] of badBuffers) {
    it(`buffer-taking calls refuse ${label}`, function () {
      const { client, server } = tcpPair(tracker, families[0]!);
      const buffer = value as Uint8Array;
      expectArgumentError(() => server.recv(buffer), type);
      expectArgumentError(() => server.tryRecv(buffer), type);
      expectArgumentError(() => server.recvExact(buffer), type);
      expectArgumentError(() => server.recvFrom(buffer), type);
      if (type === TypeError && typeof value !== 'string') {
        expectArgumentError(() => client.send(buffer), TypeError);
        expectArgumentError(() => client.sendAll(buffer), TypeError);
        expectArgumentError(() => client.trySend(buffer), TypeError);
        expectArgumentError(() => client.sendTo(buffer, server.localAddress), TypeError);
      }
      // The connection is intact.
      client.sendAll('ok');
      const received = Buffer.alloc(2);
      server.recvExact(received);
      expect(received.toString()).to.equal('ok');
    });
  }

  it('sending an empty buffer is allowed and sends nothing', function () {
    const { client } = tcpPair(tracker, families[0]!);
    expect(client.send(Buffer.alloc(0))).to.equal(0);
    client.sendAll('');
    expect(client.trySend(new Uint8Array(0))).to.equal(0);
  });

  it('trySend() takes bytes only (no strings)', function () {
    const { client } = tcpPair(tracker, families[0]!);
    expectArgumentError(() => client.trySend('text' as unknown as Uint8Array), TypeError);
  });

  it('listen() and Socket.listen() refuse bad backlogs', function () {
    const socket = tracker.track(new Socket());
    socket.bind({ address: '127.0.0.1', port: 0 });
    expectArgumentError(() => socket.listen(-1), RangeError);
    expectArgumentError(() => socket.listen(1.5), TypeError);
    expectArgumentError(() => socket.listen('5' as unknown as number), TypeError);
    expectArgumentError(() => socket.listen(2 ** 31), RangeError);
    expectArgumentError(() => Socket.listen({ address: '127.0.0.1', port: 0 }, { backlog: -5 }), RangeError);
    socket.listen(5);
  });

  it('Socket.connect() and Socket.listen() refuse bad options, timeoutMs or family', function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const target = listener.localAddress;
    for (const timeoutMs of [0, -1, 2 ** 32]) expectArgumentError(() => Socket.connect(target, { timeoutMs }), RangeError);
    for (const timeoutMs of [1.5, Number.NaN, '100']) expectArgumentError(() => Socket.connect(target, { timeoutMs: timeoutMs as number }), TypeError);
    expectArgumentError(() => Socket.connect(target, { family: 'ipv7' as 'ipv4' }), TypeError);
    expectArgumentError(() => Socket.listen({ address: '127.0.0.1', port: 0 }, { family: 'inet' as 'ipv4' }), TypeError);
    for (const options of [null, 'fast', 5] as unknown[]) {
      expect(() => Socket.connect(target, options as object)).to.throw(TypeError, /options must be an object/);
      expect(() => Socket.listen({ address: '127.0.0.1', port: 0 }, options as object)).to.throw(TypeError, /options must be an object/);
    }
  });

  it('Socket.connect(), Socket.connectAsync() and Socket.listen() refuse non-boolean options with TypeError', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const target = listener.localAddress;
    for (const value of [1, 0, 'yes', 'false', null, {}] as unknown[]) {
      for (const name of ['noDelay', 'loopbackFastPath']) {
        expect(() => Socket.connect(target, { [name]: value }), `connect ${name}: ${String(value)}`).to.throw(TypeError, new RegExp(`${name} must be a boolean`));
        const rejection = await Socket.connectAsync(target, { [name]: value }).then(
          (socket) => (socket.close(), null),
          (error: unknown) => error,
        );
        expect(rejection, `connectAsync ${name}: ${String(value)}`).to.be.instanceOf(TypeError);
      }
      for (const name of ['loopbackFastPath', 'exclusiveAddressUse', 'reuseAddress']) {
        expect(() => Socket.listen({ address: '127.0.0.1', port: 0 }, { [name]: value }), `listen ${name}: ${String(value)}`).to.throw(TypeError, new RegExp(`${name} must be a boolean`));
      }
    }
  });

  it('setKeepAlive() takes only undefined as "the default timing": null is a TypeError', function () {
    const socket = tracker.track(new Socket());
    expectArgumentError(() => socket.setKeepAlive(true, { idleMs: null as unknown as number }), TypeError);
    expectArgumentError(() => socket.setKeepAlive(true, { intervalMs: null as unknown as number }), TypeError);
    expectArgumentError(() => socket.setKeepAlive(true, { idleMs: 5000, intervalMs: null as unknown as number }), TypeError);
    expect(socket.getKeepAlive()).to.equal(false);
    socket.setKeepAlive(true, { idleMs: undefined, intervalMs: 1000 });
    expect(socket.getKeepAlive()).to.equal(true);
  });

  describe('a detached buffer (its ArrayBuffer transferred)', function () {
    function detached(length: number): Uint8Array {
      const bytes = new Uint8Array(length);
      structuredClone(bytes.buffer, { transfer: [bytes.buffer] }); // detaches bytes.buffer
      return bytes;
    }
    const message = /is detached/;

    it('every call taking a buffer refuses it with the same TypeError, sync or async', async function () {
      const { client, server } = tcpPair(tracker, families[0]!);
      const udp = tracker.track(new Socket({ type: 'udp' }));
      udp.bind({ address: '127.0.0.1', port: 0 });
      const syncCalls: Array<[string, () => unknown]> = [
        ['send', () => client.send(detached(4))],
        ['sendAll', () => client.sendAll(detached(4))],
        ['trySend', () => client.trySend(detached(4))],
        ['recv', () => server.recv(detached(4))],
        ['tryRecv', () => server.tryRecv(detached(4))],
        ['recvExact', () => server.recvExact(detached(4))],
        ['recvFrom', () => udp.recvFrom(detached(4))],
        ['sendTo', () => udp.sendTo(detached(4), udp.localAddress)],
      ];
      for (const [name, call] of syncCalls) expect(call, name).to.throw(TypeError, message);
      const port = new CompletionPort();
      try {
        expect(() => port.send(client, detached(4)), 'CompletionPort.send').to.throw(TypeError, message);
        expect(() => port.recv(server, detached(4)), 'CompletionPort.recv').to.throw(TypeError, message);
      } finally {
        port.close();
      }
      const other = tcpPair(tracker, families[0]!);
      for (const [name, call] of [
        ['sendAsync', () => other.client.sendAsync(detached(4))],
        ['recvAsync', () => other.server.recvAsync(detached(4))],
      ] as Array<[string, () => Promise<unknown>]>) {
        const rejection = await call().then(
          () => null,
          (error: unknown) => error,
        );
        expect(rejection, name).to.be.instanceOf(TypeError);
        expect((rejection as Error).message, name).to.match(message);
      }
      // Nothing was sent or consumed: the connections still carry data.
      client.sendAll('ok');
      const received = Buffer.alloc(2);
      server.recvExact(received);
      expect(received.toString()).to.equal('ok');
    });
  });

  describe('views whose own properties or subclass misstate their size', function () {
    // A native call reads or writes the memory the view really covers, whatever its
    // byteLength property says: before, recv wrote 64 bytes into a 4-byte buffer and
    // send read 60 bytes beyond one.
    function lying(length: number, claimed: number): Uint8Array {
      const bytes = new Uint8Array(length);
      Object.defineProperty(bytes, 'byteLength', { value: claimed });
      Object.defineProperty(bytes, 'length', { value: claimed });
      return bytes;
    }
    class Lying extends Uint8Array {
      override get byteLength(): number {
        return 64;
      }
    }

    it('recv and send move no more than the real bytes', function () {
      const { client, server } = tcpPair(tracker, families[0]!);
      client.sendAll(Buffer.alloc(128, 0x41));
      const small = lying(4, 64);
      expect(server.recv(small)).to.be.at.most(4);
      expect(server.recv(new Lying(4))).to.be.at.most(4);
      expect(client.send(lying(4, 64))).to.equal(4);
      expect(client.send(new Lying(4))).to.equal(4);
      expect(client.trySend(lying(2, 64))).to.equal(2);
    });

    it('the completion port too', async function () {
      const { client, server } = tcpPair(tracker, families[0]!);
      const port = new CompletionPort();
      try {
        const sending = port.send(client, lying(4, 64));
        const receiving = port.recv(server, lying(8, 64));
        const deadline = Date.now() + 5000;
        const seen = new Map<unknown, number>();
        while (seen.size < 2 && Date.now() < deadline) for (const completion of port.wait(100)) seen.set(completion.operation, completion.bytes);
        expect(seen.get(sending)).to.equal(4);
        expect(seen.get(receiving)).to.be.at.most(4);
      } finally {
        port.close();
      }
    });
  });

  describe('each field of an address or options object is read once', function () {
    /**
     * An object whose getters count their reads and return `first` on the first read
     * and `later` after it: code that checks one read and uses another would use `later`.
     */
    function shifty<T extends Record<string, [first: unknown, later: unknown]>>(fields: T): { value: { [K in keyof T]: unknown }; reads: Record<keyof T, number> } {
      const reads = {} as Record<keyof T, number>;
      const value = {} as { [K in keyof T]: unknown };
      for (const key of Object.keys(fields) as Array<keyof T>) {
        reads[key] = 0;
        Object.defineProperty(value, key, {
          enumerable: true,
          get: () => (++reads[key] === 1 ? fields[key]![0] : fields[key]![1]),
        });
      }
      return { value, reads };
    }
    const address = (host: string, port: number) => shifty({ address: [host, 'no-such-host.invalid'], port: [port, 70000] });
    const once = (reads: Record<string, number>, what: string): void => {
      for (const [key, count] of Object.entries(reads)) expect(count, `${what}: reads of ${key}`).to.equal(1);
    };

    it('bind, connect, sendTo, Socket.connect, Socket.listen use what they checked', function () {
      // Before, bind validated port 0 and then bound port 70000's Buffer error or port 1.
      const bound = address('127.0.0.1', 0);
      const socket = tracker.track(new Socket());
      socket.bind(bound.value as unknown as SocketAddressInput);
      once(bound.reads, 'bind');
      expect(socket.localAddress.port).to.not.equal(0);

      const listening = address('127.0.0.1', 0);
      const listener = tracker.track(Socket.listen(listening.value as unknown as SocketAddressInput));
      once(listening.reads, 'Socket.listen');
      const port = listener.localAddress.port;

      const connecting = address('127.0.0.1', port);
      tracker.track(Socket.connect(connecting.value as unknown as SocketAddressInput));
      once(connecting.reads, 'Socket.connect');
      tracker.track(listener.accept());

      const joining = address('127.0.0.1', port);
      const client = tracker.track(new Socket());
      client.connect(joining.value as unknown as SocketAddressInput);
      once(joining.reads, 'connect');
      tracker.track(listener.accept());

      const receiver = tracker.track(new Socket({ type: 'udp' }));
      receiver.bind({ address: '127.0.0.1', port: 0 });
      const sender = tracker.track(new Socket({ type: 'udp' }));
      const to = address('127.0.0.1', receiver.localAddress.port);
      expect(sender.sendTo('x', to.value as unknown as SocketAddressInput)).to.equal(1);
      once(to.reads, 'sendTo');
      expect(receiver.recvFrom(Buffer.alloc(4)).bytes).to.equal(1);
    });

    it('connect and listen options, the signal of async calls, poll requests, stream options', async function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      const target = listener.localAddress;
      const connectOptions = shifty({ noDelay: [true, 'yes'], loopbackFastPath: [false, 'yes'], timeoutMs: [5000, -1], family: ['ipv4', 'ipv5'] });
      const client = tracker.track(Socket.connect(target, connectOptions.value as object));
      once(connectOptions.reads, 'Socket.connect options');
      expect(client.getNoDelay(), 'the noDelay that was checked').to.equal(true);
      tracker.track(listener.accept());

      const controller = new AbortController();
      const asyncOptions = shifty({ noDelay: [true, 'yes'], signal: [controller.signal, 'not a signal'], family: ['ipv4', 'ipv5'] });
      const asyncClient = tracker.track(await Socket.connectAsync(target, asyncOptions.value as object));
      once(asyncOptions.reads, 'Socket.connectAsync options');
      expect(asyncClient.getNoDelay()).to.equal(true);
      const server = tracker.track(listener.accept());

      const sendOptions = shifty({ signal: [controller.signal, 'not a signal'] });
      await asyncClient.sendAsync(Buffer.alloc(300 * 1024, 1), sendOptions.value as object); // two pieces
      once(sendOptions.reads, 'sendAsync options');
      const recvOptions = shifty({ signal: [controller.signal, 'not a signal'] });
      expect(await server.recvAsync(Buffer.alloc(16), recvOptions.value as object)).to.be.greaterThan(0);
      once(recvOptions.reads, 'recvAsync options');

      const listenOptions = shifty({ backlog: [5, -1], exclusiveAddressUse: [true, 'yes'], reuseAddress: [undefined, 'yes'], loopbackFastPath: [undefined, 'yes'], family: ['ipv4', 'ipv5'] });
      tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, listenOptions.value as object));
      once(listenOptions.reads, 'Socket.listen options');

      const request = shifty({ socket: [server, 'not a socket'], events: [{ writable: true }, null] });
      const [result] = poll([request.value as never], 0);
      once(request.reads, 'poll request');
      expect(result!.socket).to.equal(server);
      expect(result!.writable).to.equal(true);

      const streamOptions = shifty({ allowHalfOpen: [true, 'yes'], highWaterMark: [1024, -1], readSize: [512, -1] });
      const stream = asyncClient.toStream(streamOptions.value as object);
      once(streamOptions.reads, 'toStream options');
      expect(stream.allowHalfOpen).to.equal(true);
      stream.destroy();
    });

    it('CompletionPort.connect uses what it checked', async function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      const client = tracker.track(new Socket());
      const target = address('127.0.0.1', listener.localAddress.port);
      const port = new CompletionPort();
      try {
        const connecting = port.connect(client, target.value as unknown as SocketAddressInput);
        once(target.reads, 'CompletionPort.connect');
        const deadline = Date.now() + 5000;
        while (connecting.state === 'pending' && Date.now() < deadline) port.wait(100);
        expect(connecting.error).to.equal(null);
        expect(client.remoteAddress.port).to.equal(listener.localAddress.port);
      } finally {
        port.close();
      }
    });
  });

  it("shutdown() refuses anything but 'send', 'receive' or 'both'", function () {
    const { client, server } = tcpPair(tracker, families[0]!);
    for (const how of ['write', 'SEND', 1, null]) expectArgumentError(() => client.shutdown(how as 'send'), TypeError);
    client.sendAll('x');
    expect(server.recv(Buffer.alloc(1))).to.equal(1);
  });

  it('boolean option setters refuse non-booleans', function () {
    const socket = tracker.track(new Socket());
    for (const value of [1, 'true', null] as unknown[]) {
      expectArgumentError(() => socket.setNoDelay(value as boolean), TypeError);
      expectArgumentError(() => socket.setReuseAddress(value as boolean), TypeError);
      expectArgumentError(() => socket.setExclusiveAddressUse(value as boolean), TypeError);
      expectArgumentError(() => socket.setKeepAlive(value as boolean), TypeError);
      expectArgumentError(() => socket.setBlocking(value as boolean), TypeError);
    }
    expect(socket.getNoDelay()).to.equal(false);
    expect(socket.getReuseAddress()).to.equal(false);
    expect(socket.getExclusiveAddressUse()).to.equal(false);
    expect(socket.getKeepAlive()).to.equal(false);
  });
});
