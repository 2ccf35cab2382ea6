// Socket creation, adoption of raw handles, close(), Symbol.dispose, and the rule that
// a closed socket refuses every call before anything reaches ws2_32.

import { expect } from 'chai';
import { Socket, SocketClosedError, SocketStateError, WinsockError, constants } from '../../../src/index.ts';
import * as sys from '../../../src/sys/index.ts';
import { skipUnder } from '../../support/skip.ts';
import { families, isOpenSocket, outcomeOf, SocketTracker, staleClaims, tcpPair, thrownBy } from '../../support/sockets.ts';

describe('Socket lifecycle', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  describe('constructor', function () {
    it('defaults to an IPv4 TCP socket', function () {
      const socket = tracker.track(new Socket());
      expect(socket.family).to.equal('ipv4');
      expect(socket.type).to.equal('tcp');
      expect(socket.closed).to.equal(false);
      expect(socket.blocking).to.equal(true);
      expect(socket.loopbackFastPath).to.equal(false);
    });

    for (const { family } of families) {
      for (const type of ['tcp', 'udp'] as const) {
        it(`creates an ${family} ${type} socket whose kind Windows confirms`, function () {
          const socket = tracker.track(new Socket({ family, type }));
          expect(socket.family).to.equal(family);
          expect(socket.type).to.equal(type);
          // SO_TYPE read back from the handle: SOCK_STREAM or SOCK_DGRAM.
          const soType = socket.getOption(constants.SOL_SOCKET, constants.SO_TYPE).readInt32LE(0);
          expect(soType).to.equal(type === 'tcp' ? constants.SOCK_STREAM : constants.SOCK_DGRAM);
          expect(String(Object.prototype.toString.call(socket))).to.equal(`[object Socket ${family} ${type}]`);
        });
      }
    }

    it('gives each open socket its own handle, as a positive bigint', function () {
      const a = tracker.track(new Socket());
      const b = tracker.track(new Socket({ family: 'ipv6', type: 'udp' }));
      expect(a.handle).to.be.a('bigint');
      expect(a.handle > 0n).to.equal(true);
      expect(a.handle).to.not.equal(b.handle);
      // Reading the handle twice gives the same value.
      expect(a.handle).to.equal(a.handle);
    });
  });

  describe('fromHandle', function () {
    for (const { family } of families) {
      for (const type of ['tcp', 'udp'] as const) {
        it(`adopts a raw ${family} ${type} handle and reads its family and type from Windows`, function () {
          const raw = sys.createSocket(family, type);
          const socket = tracker.track(Socket.fromHandle(BigInt(raw)));
          expect(socket.family).to.equal(family);
          expect(socket.type).to.equal(type);
          expect(socket.handle).to.equal(BigInt(raw));
        });
      }
    }

    it('accepts a number as well as a bigint', function () {
      const raw = sys.createSocket('ipv4', 'udp');
      const socket = tracker.track(Socket.fromHandle(raw));
      expect(socket.handle).to.equal(BigInt(raw));
    });

    it('refuses a handle that an open Socket owns (it would be closed twice)', function () {
      const socket = tracker.track(new Socket());
      const error = thrownBy(() => Socket.fromHandle(socket.handle));
      expect(error).to.be.instanceOf(SocketStateError);
      expect((error as SocketStateError).code).to.equal('ERR_SOCKET_OWNED');
      // The owner is untouched.
      expect(socket.getNoDelay()).to.equal(false);
    });

    it("refuses the handle of a pending acceptAsync's socket: the package owns it from birth", async function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      // One accept first, so that the shared completion port exists and the listener is
      // associated with it: creating those takes handle numbers too.
      const [first] = await Promise.all([listener.acceptAsync(), Socket.connectAsync(listener.localAddress)]).then((pair) => pair.map((s) => tracker.track(s)));
      expect(first!.closed).to.equal(false);
      // Windows (and Wine) hand a freed handle number out again at once: the socket
      // AcceptEx fills is made right after this probe closes, so it gets the probe's number.
      const probe = new Socket();
      const reused = probe.handle;
      probe.close();
      const controller = new AbortController();
      const accepting = listener.acceptAsync({ signal: controller.signal });
      try {
        // Adopting it would succeed only if the AcceptEx socket were not claimed: thrownBy fails then.
        const error = thrownBy(() => Socket.fromHandle(reused));
        // WSAENOTSOCK: the number was not handed out again this time, so there is nothing to check.
        skipUnder(this, error instanceof WinsockError && error.code === 'WSAENOTSOCK', 'the system did not hand the freed handle number out again at once');
        expect(error).to.be.instanceOf(SocketStateError);
        expect((error as SocketStateError).code).to.equal('ERR_SOCKET_OWNED');
      } finally {
        controller.abort();
        await accepting.catch(() => undefined);
      }
    });

    it('refuses a handle adopted once already', function () {
      const raw = sys.createSocket('ipv4', 'tcp');
      tracker.track(Socket.fromHandle(raw));
      expect(() => Socket.fromHandle(raw)).to.throw(SocketStateError, /already belongs/);
    });

    it('adopts a connected handle as connected: the fast path is then too late', function () {
      const pair = tcpPair(tracker, families[0]!);
      // A raw connected handle that no Socket owns yet.
      const raw = sys.createSocket('ipv4', 'tcp');
      sys.connect(raw, 'ipv4', '127.0.0.1', pair.listener.localAddress.port);
      const adopted = tracker.track(Socket.fromHandle(raw));
      tracker.track(pair.listener.accept());
      expect(adopted.remoteAddress.port).to.equal(pair.listener.localAddress.port);
      expect(() => adopted.enableLoopbackFastPath()).to.throw(SocketStateError).with.property('code', 'ERR_FAST_PATH_TOO_LATE');
    });

    it('reports WSAENOTSOCK for a number that is not a socket', function () {
      // Far above any handle value this process reaches (they are small and reused).
      const error = thrownBy(() => Socket.fromHandle(0x7ffffff1));
      expect(error).to.be.instanceOf(WinsockError);
      expect((error as WinsockError).code).to.equal('WSAENOTSOCK');
    });

    it('checks its argument before any native call', function () {
      expect(() => Socket.fromHandle('12' as unknown as number)).to.throw(TypeError);
      expect(() => Socket.fromHandle(null as unknown as number)).to.throw(TypeError);
      expect(() => Socket.fromHandle(0)).to.throw(RangeError);
      expect(() => Socket.fromHandle(-4)).to.throw(RangeError);
      expect(() => Socket.fromHandle(1.5)).to.throw(RangeError);
      expect(() => Socket.fromHandle(0n)).to.throw(RangeError);
      expect(() => Socket.fromHandle(2n ** 64n - 1n)).to.throw(RangeError);
    });
  });

  describe('a new handle whose number is still claimed (its old handle was closed behind its Socket\'s back)', function () {
    // The system made the handle just now, so it is ours, and the claim is the stale one;
    // no Socket can take the number, so the new handle is closed rather than leaked.
    it('new Socket() refuses it with ERR_SOCKET_OWNED and closes it', function () {
      const stale = staleClaims(8);
      try {
        const outcome = outcomeOf(() => tracker.track(new Socket()));
        skipUnder(this, outcome instanceof Socket, 'the system did not hand a freed handle number out again at once');
        expect(outcome).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_OWNED');
        expect(stale.numbers.filter(isOpenSocket)).to.deep.equal([]);
      } finally {
        stale.release();
      }
    });

    it('accept() refuses it with ERR_SOCKET_OWNED and closes it', function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      const client = tracker.track(Socket.connect(listener.localAddress));
      const stale = staleClaims(8);
      try {
        const outcome = outcomeOf(() => tracker.track(listener.accept()));
        skipUnder(this, outcome instanceof Socket, 'the system did not hand a freed handle number out again at once');
        expect(outcome).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_OWNED');
        expect(stale.numbers.filter(isOpenSocket)).to.deep.equal([]);
      } finally {
        stale.release();
      }
      // The connection was closed with it: the client reads the end (or a reset).
      client.setReceiveTimeout(5000);
      const end = outcomeOf(() => client.recv(Buffer.alloc(4)));
      expect(end === 0 || (end instanceof WinsockError && end.code === 'WSAECONNRESET'), String(end)).to.equal(true);
    });
  });

  describe('close', function () {
    it('is idempotent', function () {
      const socket = new Socket();
      socket.close();
      expect(socket.closed).to.equal(true);
      socket.close();
      socket.close();
      expect(socket.closed).to.equal(true);
      expect(String(Object.prototype.toString.call(socket))).to.equal('[object Socket ipv4 tcp (closed)]');
    });

    it('Symbol.dispose closes, and is idempotent too', function () {
      const socket = new Socket({ type: 'udp' });
      socket[Symbol.dispose]();
      expect(socket.closed).to.equal(true);
      socket[Symbol.dispose]();
      socket.close();
      expect(() => socket.handle).to.throw(SocketClosedError);
    });

    it('really closes the handle: Windows no longer knows it', function () {
      const socket = new Socket();
      const raw = Number(socket.handle);
      socket.close();
      // The number is free again; a direct native call on it finds no socket (unless reused
      // at once by another socket of this process, which nothing here creates).
      const error = thrownBy(() => sys.describeSocket(raw));
      expect(error).to.be.instanceOf(WinsockError);
      expect((error as WinsockError).code).to.equal('WSAENOTSOCK');
    });

    it('closing one end of a connection leaves the other usable until it reads the end', function () {
      const { client, server } = tcpPair(tracker, families[0]!);
      client.close();
      expect(server.recv(Buffer.alloc(8))).to.equal(0);
      expect(server.closed).to.equal(false);
    });
  });

  describe('every call on a closed socket throws SocketClosedError', function () {
    const buffer = Buffer.alloc(4);
    const target = { address: '127.0.0.1', port: 9 };
    const calls: Record<string, (s: Socket) => unknown> = {
      handle: (s) => s.handle,
      bind: (s) => s.bind({ address: '127.0.0.1', port: 0 }),
      listen: (s) => s.listen(),
      accept: (s) => s.accept(),
      connect: (s) => s.connect(target),
      send: (s) => s.send('x'),
      sendAll: (s) => s.sendAll(buffer),
      trySend: (s) => s.trySend(buffer),
      recv: (s) => s.recv(buffer),
      tryRecv: (s) => s.tryRecv(buffer),
      recvExact: (s) => s.recvExact(buffer),
      sendTo: (s) => s.sendTo(buffer, target),
      recvFrom: (s) => s.recvFrom(buffer),
      shutdown: (s) => s.shutdown('both'),
      localAddress: (s) => s.localAddress,
      remoteAddress: (s) => s.remoteAddress,
      setNoDelay: (s) => s.setNoDelay(true),
      getNoDelay: (s) => s.getNoDelay(),
      setReuseAddress: (s) => s.setReuseAddress(true),
      getReuseAddress: (s) => s.getReuseAddress(),
      setExclusiveAddressUse: (s) => s.setExclusiveAddressUse(true),
      getExclusiveAddressUse: (s) => s.getExclusiveAddressUse(),
      setKeepAlive: (s) => s.setKeepAlive(true),
      getKeepAlive: (s) => s.getKeepAlive(),
      getReceiveBufferSize: (s) => s.getReceiveBufferSize(),
      setReceiveBufferSize: (s) => s.setReceiveBufferSize(4096),
      getSendBufferSize: (s) => s.getSendBufferSize(),
      setSendBufferSize: (s) => s.setSendBufferSize(4096),
      setReceiveTimeout: (s) => s.setReceiveTimeout(10),
      getReceiveTimeout: (s) => s.getReceiveTimeout(),
      setSendTimeout: (s) => s.setSendTimeout(10),
      getSendTimeout: (s) => s.getSendTimeout(),
      setBlocking: (s) => s.setBlocking(false),
      bytesAvailable: (s) => s.bytesAvailable,
      getOption: (s) => s.getOption(constants.SOL_SOCKET, constants.SO_RCVBUF),
      setOption: (s) => s.setOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 4096),
      enableLoopbackFastPath: (s) => s.enableLoopbackFastPath(),
    };

    for (const [name, call] of Object.entries(calls)) {
      it(name, function () {
        const socket = new Socket();
        socket.close();
        const error = thrownBy(() => call(socket));
        expect(error).to.be.instanceOf(SocketClosedError);
        expect((error as SocketClosedError).code).to.equal('ERR_SOCKET_CLOSED');
        expect((error as Error).message).to.equal(`${name}: the socket is closed`);
      });
    }

    it('takes precedence over argument errors (the socket state is checked first)', function () {
      const socket = new Socket();
      socket.close();
      const bad = 'not a buffer' as unknown as Uint8Array;
      expect(() => socket.recv(bad)).to.throw(SocketClosedError);
      expect(() => socket.trySend(bad)).to.throw(SocketClosedError);
      expect(() => socket.bind({ address: '127.0.0.1', port: 70000 })).to.throw(SocketClosedError);
      expect(() => socket.connect(null as unknown as { address: string; port: number })).to.throw(SocketClosedError);
      expect(() => socket.shutdown('sideways' as 'both')).to.throw(SocketClosedError);
      expect(() => socket.setReceiveBufferSize(-1)).to.throw(SocketClosedError);
      expect(() => socket.setNoDelay('yes' as unknown as boolean)).to.throw(SocketClosedError);
      expect(() => socket.listen(-1)).to.throw(SocketClosedError);
    });

    it('does not let a reused handle number reach the new socket', function () {
      const stale = new Socket();
      stale.close();
      // Windows hands the freed number to the next socket; the stale Socket must not touch it.
      const fresh = tracker.track(new Socket());
      fresh.setNoDelay(true);
      expect(() => stale.setNoDelay(false)).to.throw(SocketClosedError);
      expect(fresh.getNoDelay()).to.equal(true);
    });
  });
});
