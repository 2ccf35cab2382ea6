// Every option method: values written through setsockopt/WSAIoctl and read back from
// Windows, argument checks before any native call, and address-sharing rules.

import { expect } from 'chai';
import { Socket, WinsockError, constants } from '../src/index.ts';
import { underWine } from './support/env.ts';
import { needsRealWindows, skipUnder } from './support/skip.ts';
import { expectWinsockError, families, SocketTracker, tcpPair } from './support/sockets.ts';

// Windows 10 1709+ reads the keep-alive timings back in seconds through these.
const TCP_KEEPIDLE = 3;
const TCP_KEEPINTVL = 17;

describe('Socket options', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());
  const tcp = (family: 'ipv4' | 'ipv6' = 'ipv4'): Socket => tracker.track(new Socket({ family, type: 'tcp' }));

  describe('TCP_NODELAY', function () {
    for (const fam of families) {
      it(`setNoDelay()/getNoDelay() on ${fam.family}, before and after connecting`, function () {
        const socket = tcp(fam.family);
        expect(socket.getNoDelay()).to.equal(false);
        socket.setNoDelay();
        expect(socket.getNoDelay()).to.equal(true);
        socket.setNoDelay(false);
        expect(socket.getNoDelay()).to.equal(false);
        const { client } = tcpPair(tracker, fam);
        client.setNoDelay(true);
        expect(client.getNoDelay()).to.equal(true);
      });
    }

    it("Socket.connect's noDelay option sets it before connecting", function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      const client = tracker.track(Socket.connect(listener.localAddress, { noDelay: true }));
      expect(client.getNoDelay()).to.equal(true);
      const plain = tracker.track(Socket.connect(listener.localAddress));
      expect(plain.getNoDelay()).to.equal(false);
    });
  });

  describe('SO_REUSEADDR and SO_EXCLUSIVEADDRUSE', function () {
    it('set and read back', function () {
      const socket = tcp();
      expect(socket.getReuseAddress()).to.equal(false);
      expect(socket.getExclusiveAddressUse()).to.equal(false);
      socket.setReuseAddress();
      expect(socket.getReuseAddress()).to.equal(true);
      socket.setReuseAddress(false);
      expect(socket.getReuseAddress()).to.equal(false);
      socket.setExclusiveAddressUse(true);
      expect(socket.getExclusiveAddressUse()).to.equal(true);
      socket.setExclusiveAddressUse(false);
      expect(socket.getExclusiveAddressUse()).to.equal(false);
    });

    it('Windows refuses both on one socket with WSAEINVAL', function () {
      const socket = tcp();
      socket.setExclusiveAddressUse(true);
      expectWinsockError(() => socket.setReuseAddress(true), 'WSAEINVAL', 'setsockopt');
    });

    it("Socket.listen's options set them before bind()", function () {
      const exclusive = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, { exclusiveAddressUse: true }));
      expect(exclusive.getExclusiveAddressUse()).to.equal(true);
      const reusing = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, { reuseAddress: true }));
      expect(reusing.getReuseAddress()).to.equal(true);
    });

    for (const fam of families) {
      describe(`sharing a UDP port on ${fam.family}`, function () {
        function bound(option: 'none' | 'reuse' | 'exclusive', port: number): Socket {
          const socket = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
          if (option === 'reuse') socket.setReuseAddress(true);
          if (option === 'exclusive') socket.setExclusiveAddressUse(true);
          socket.bind({ address: fam.loopback, port });
          return socket;
        }

        it('no option on either socket: WSAEADDRINUSE', function () {
          const first = bound('none', 0);
          expectWinsockError(() => bound('none', first.localAddress.port), 'WSAEADDRINUSE', 'bind');
        });

        it('SO_REUSEADDR on both: the second bind succeeds', function () {
          const first = bound('reuse', 0);
          const second = bound('reuse', first.localAddress.port);
          expect(second.localAddress.port).to.equal(first.localAddress.port);
        });

        it('SO_EXCLUSIVEADDRUSE on the first: SO_REUSEADDR is denied (WSAEACCES)', function () {
          const first = bound('exclusive', 0);
          const error = expectWinsockError(() => bound('reuse', first.localAddress.port), 'WSAEACCES', 'bind');
          expect(error.errno).to.equal(10013);
        });

        it('SO_EXCLUSIVEADDRUSE on the first: a plain bind is WSAEADDRINUSE', function () {
          const first = bound('exclusive', 0);
          expectWinsockError(() => bound('none', first.localAddress.port), 'WSAEADDRINUSE', 'bind');
        });
      });
    }
  });

  describe('keep-alive', function () {
    it('setKeepAlive(on) toggles SO_KEEPALIVE', function () {
      const socket = tcp();
      expect(socket.getKeepAlive()).to.equal(false);
      socket.setKeepAlive(true);
      expect(socket.getKeepAlive()).to.equal(true);
      socket.setKeepAlive(false);
      expect(socket.getKeepAlive()).to.equal(false);
    });

    it('setKeepAlive(on, timings) goes through SIO_KEEPALIVE_VALS, which also sets SO_KEEPALIVE', function () {
      const { client } = tcpPair(tracker, families[0]!);
      client.setKeepAlive(true, { idleMs: 5000, intervalMs: 1000 });
      expect(client.getKeepAlive()).to.equal(true);
      client.setKeepAlive(false, { idleMs: 5000, intervalMs: 1000 });
      expect(client.getKeepAlive()).to.equal(false);
      // Either timing alone takes Windows' default for the other.
      client.setKeepAlive(true, { idleMs: 3000 });
      expect(client.getKeepAlive()).to.equal(true);
      client.setKeepAlive(true, { intervalMs: 500 });
      client.setKeepAlive(true, {});
      expect(client.getKeepAlive()).to.equal(true);
    });

    it('the timings read back through TCP_KEEPIDLE / TCP_KEEPINTVL', function () {
      skipUnder(this, underWine, needsRealWindows('Wine 8 has no TCP_KEEPIDLE / TCP_KEEPINTVL (WSAENOPROTOOPT)'));
      const { client } = tcpPair(tracker, families[0]!);
      client.setKeepAlive(true, { idleMs: 7000, intervalMs: 3000 });
      expect(client.getOption(constants.IPPROTO_TCP, TCP_KEEPIDLE).readInt32LE(0)).to.equal(7);
      expect(client.getOption(constants.IPPROTO_TCP, TCP_KEEPINTVL).readInt32LE(0)).to.equal(3);
    });

    it('checks its arguments before any native call', function () {
      const socket = tcp();
      expect(() => socket.setKeepAlive('yes' as unknown as boolean)).to.throw(TypeError);
      expect(() => socket.setKeepAlive(true, { idleMs: 0, intervalMs: 1000 })).to.throw(RangeError);
      expect(() => socket.setKeepAlive(true, { idleMs: 1000, intervalMs: 0 })).to.throw(RangeError);
      expect(() => socket.setKeepAlive(true, { idleMs: 1.5, intervalMs: 1000 })).to.throw(TypeError);
      expect(() => socket.setKeepAlive(true, { idleMs: 2 ** 32, intervalMs: 1000 })).to.throw(RangeError);
      expect(() => socket.setKeepAlive(true, { idleMs: '10' as unknown as number })).to.throw(TypeError);
      expect(() => socket.setKeepAlive(true, null as unknown as undefined)).to.throw(TypeError, /timings/);
      expect(socket.getKeepAlive()).to.equal(false);
    });
  });

  describe('buffer sizes', function () {
    for (const fam of families) {
      it(`SO_RCVBUF and SO_SNDBUF on ${fam.family} read back what was set`, function () {
        const socket = tcp(fam.family);
        expect(socket.getReceiveBufferSize()).to.be.greaterThan(0);
        expect(socket.getSendBufferSize()).to.be.greaterThan(0);
        socket.setReceiveBufferSize(32768);
        socket.setSendBufferSize(24576);
        expect(socket.getReceiveBufferSize()).to.equal(32768);
        expect(socket.getSendBufferSize()).to.equal(24576);
      });
    }

    it('0 is allowed (Windows then buffers dynamically / sends from the caller)', function () {
      const socket = tcp();
      socket.setReceiveBufferSize(0);
      socket.setSendBufferSize(0);
      expect(socket.getReceiveBufferSize()).to.equal(0);
      expect(socket.getSendBufferSize()).to.equal(0);
    });

    it('refuses sizes that are not int32 byte counts', function () {
      const socket = tcp();
      const before = socket.getReceiveBufferSize();
      for (const set of [(v: number) => socket.setReceiveBufferSize(v), (v: number) => socket.setSendBufferSize(v)]) {
        expect(() => set(-1)).to.throw(RangeError);
        expect(() => set(2 ** 31)).to.throw(RangeError);
        expect(() => set(1.5)).to.throw(TypeError);
        expect(() => set(Number.NaN)).to.throw(TypeError);
        expect(() => set('4096' as unknown as number)).to.throw(TypeError);
      }
      expect(socket.getReceiveBufferSize()).to.equal(before);
    });
  });

  describe('timeouts', function () {
    it('SO_RCVTIMEO and SO_SNDTIMEO read back in milliseconds, 0 meaning none', function () {
      const socket = tcp();
      expect(socket.getReceiveTimeout()).to.equal(0);
      expect(socket.getSendTimeout()).to.equal(0);
      socket.setReceiveTimeout(1500);
      socket.setSendTimeout(2500);
      expect(socket.getReceiveTimeout()).to.equal(1500);
      expect(socket.getSendTimeout()).to.equal(2500);
      socket.setReceiveTimeout(0);
      expect(socket.getReceiveTimeout()).to.equal(0);
    });

    it('take the whole DWORD range (read back unsigned)', function () {
      const socket = tcp();
      socket.setReceiveTimeout(0xffffffff);
      socket.setSendTimeout(0x80000000);
      expect(socket.getReceiveTimeout()).to.equal(0xffffffff);
      expect(socket.getSendTimeout()).to.equal(0x80000000);
    });

    it('refuse values outside 0..2^32-1 or not integers', function () {
      const socket = tcp();
      for (const set of [(v: number) => socket.setReceiveTimeout(v), (v: number) => socket.setSendTimeout(v)]) {
        expect(() => set(-1)).to.throw(RangeError);
        expect(() => set(2 ** 32)).to.throw(RangeError);
        expect(() => set(0.5)).to.throw(TypeError);
        expect(() => set(Infinity)).to.throw(TypeError);
      }
      expect(socket.getReceiveTimeout()).to.equal(0);
    });
  });

  describe('setBlocking', function () {
    it('tracks the mode and refuses non-booleans', function () {
      const socket = tcp();
      expect(socket.blocking).to.equal(true);
      socket.setBlocking(false);
      expect(socket.blocking).to.equal(false);
      expect(() => socket.setBlocking(0 as unknown as boolean)).to.throw(TypeError);
      expect(socket.blocking).to.equal(false);
      socket.setBlocking(true);
      expect(socket.blocking).to.equal(true);
    });
  });

  describe('getOption / setOption', function () {
    it('a number is written as a 4-byte int and read back raw', function () {
      const socket = tcp();
      socket.setOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 20000);
      const raw = socket.getOption(constants.SOL_SOCKET, constants.SO_RCVBUF);
      expect(raw.length).to.equal(4);
      expect(raw.readInt32LE(0)).to.equal(20000);
      expect(socket.getReceiveBufferSize()).to.equal(20000);
    });

    it('a boolean is written as 1 or 0', function () {
      const socket = tcp();
      socket.setOption(constants.SOL_SOCKET, constants.SO_KEEPALIVE, true);
      expect(socket.getKeepAlive()).to.equal(true);
      socket.setOption(constants.IPPROTO_TCP, constants.TCP_NODELAY, true);
      expect(socket.getNoDelay()).to.equal(true);
      socket.setOption(constants.SOL_SOCKET, constants.SO_KEEPALIVE, false);
      expect(socket.getKeepAlive()).to.equal(false);
    });

    it('bytes are written as they are; getOption returns the length Windows reports', function () {
      const socket = tcp();
      const linger = Buffer.alloc(4);
      linger.writeUInt16LE(1, 0);
      linger.writeUInt16LE(7, 2);
      socket.setOption(constants.SOL_SOCKET, constants.SO_LINGER, linger);
      const back = socket.getOption(constants.SOL_SOCKET, constants.SO_LINGER, 16);
      expect(back.length).to.equal(4);
      expect(back.readUInt16LE(0)).to.equal(1);
      expect(back.readUInt16LE(2)).to.equal(7);
    });

    it('reads IPv6 options on an IPv6 socket (IPV6_V6ONLY is on by default)', function () {
      const socket = tcp('ipv6');
      const raw = socket.getOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY);
      expect(raw.length).to.be.within(1, 4);
      expect(raw[0]).to.equal(1);
      socket.setOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY, false);
      expect(socket.getOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY)[0]).to.equal(0);
      // Dual-stack now: an IPv4-mapped address binds, and reads back in mapped form.
      socket.bind({ address: '::ffff:127.0.0.1', port: 0 });
      expect(socket.localAddress.address).to.equal('::ffff:127.0.0.1');
    });

    it('an unknown option fails with WSAENOPROTOOPT', function () {
      const socket = tcp();
      expectWinsockError(() => socket.getOption(constants.SOL_SOCKET, 0x7777), 'WSAENOPROTOOPT', 'getsockopt');
      expectWinsockError(() => socket.setOption(constants.SOL_SOCKET, 0x7777, 1), 'WSAENOPROTOOPT', 'setsockopt');
    });

    it('checks level, name, size and value before any native call', function () {
      const socket = tcp();
      expect(() => socket.getOption(1.5, 1)).to.throw(TypeError);
      expect(() => socket.getOption(constants.SOL_SOCKET, '1' as unknown as number)).to.throw(TypeError);
      expect(() => socket.getOption(2 ** 31, 1)).to.throw(RangeError);
      expect(() => socket.getOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 0)).to.throw(RangeError);
      expect(() => socket.getOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 4097)).to.throw(RangeError);
      expect(() => socket.setOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 'big' as unknown as number)).to.throw(TypeError);
      expect(() => socket.setOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 2 ** 31)).to.throw(RangeError);
      expect(() => socket.setOption(constants.SOL_SOCKET, constants.SO_RCVBUF, 0.25)).to.throw(TypeError);
      expect(() => socket.setOption(constants.SOL_SOCKET, constants.SO_LINGER, new Uint8Array(0))).to.throw(RangeError);
      expect(() => socket.setOption(constants.SOL_SOCKET, constants.SO_LINGER, null as unknown as number)).to.throw(TypeError);
    });

    it('Winsock errors carry the system message', function () {
      const socket = tcp();
      const error = expectWinsockError(() => socket.getOption(12345, 1), 'WSAEINVAL', 'getsockopt');
      expect(error).to.be.instanceOf(WinsockError);
      expect(error.errno).to.equal(10022);
      expect(error.message).to.match(/^getsockopt WSAEINVAL: \S/);
      expect(error.message).to.not.match(/Winsock error/);
    });
  });
});
