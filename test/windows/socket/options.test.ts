// Every option method: values written through setsockopt/WSAIoctl and read back from
// Windows, argument checks before any native call, and address-sharing rules.

import { expect } from 'chai';
import { Socket, SocketStateError, WinsockError, constants } from '../../../src/index.ts';
import { underWine, underWineBefore } from '../../support/env.ts';
import { realWindowsOnly, skipUnder } from '../../support/skip.ts';
import { expectWinsockError, families, recvText, SocketTracker, tcpPair } from '../../support/sockets.ts';

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
      // Wine 9.4 added them: Wine 10 runs this test.
      realWindowsOnly(this, 'has no TCP_KEEPIDLE / TCP_KEEPINTVL (WSAENOPROTOOPT); Wine 10 has them', { orWine: 10 });
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

  describe('IPV6_V6ONLY: dual-stack by default, as node:net', function () {
    it('an IPv6 socket is dual-stack unless created with ipv6Only: true; setIpv6Only() changes it', function () {
      const dual = tcp('ipv6');
      expect(dual.getIpv6Only()).to.equal(false);
      const only = tracker.track(new Socket({ family: 'ipv6', ipv6Only: true }));
      expect(only.getIpv6Only()).to.equal(true);
      only.setIpv6Only(false);
      expect(only.getIpv6Only()).to.equal(false);
      const udp = tracker.track(new Socket({ family: 'ipv6', type: 'udp' }));
      expect(udp.getIpv6Only()).to.equal(false);
      // Ignored for IPv4 sockets, as node:net ignores it; the methods say they need IPv6.
      const v4 = tracker.track(new Socket({ family: 'ipv4', ipv6Only: true }));
      expect(() => v4.getIpv6Only()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_FAMILY');
      expect(() => v4.setIpv6Only(true)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_FAMILY');
      expect(() => new Socket({ family: 'ipv6', ipv6Only: 'yes' as unknown as boolean })).to.throw(TypeError);
      expect(() => dual.setIpv6Only(1 as unknown as boolean)).to.throw(TypeError);
    });

    it('a listener on :: accepts IPv4 connections, from ::ffff:127.0.0.1; with ipv6Only: true it refuses them', function () {
      const listener = tracker.track(Socket.listen({ address: '::', port: 0 }));
      expect(listener.getIpv6Only()).to.equal(false);
      const client = tracker.track(Socket.connect({ address: '127.0.0.1', port: listener.localAddress.port }));
      const server = tracker.track(listener.accept());
      expect(server.remoteAddress).to.deep.equal({ family: 'ipv6', address: '::ffff:127.0.0.1', port: client.localAddress.port });
      client.sendAll('v4');
      expect(recvText(server, 2)).to.equal('v4');
      const only = tracker.track(Socket.listen({ address: '::', port: 0 }, { ipv6Only: true }));
      expect(only.getIpv6Only()).to.equal(true);
      expectWinsockError(() => tracker.track(Socket.connect({ address: '127.0.0.1', port: only.localAddress.port })), 'WSAECONNREFUSED', 'connect');
    });

    it('connect and connectAsync reach an IPv4 listener through an IPv4-mapped address, unless ipv6Only: true', async function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      const mapped = { address: '::ffff:127.0.0.1', port: listener.localAddress.port };
      const client = tracker.track(Socket.connect(mapped));
      tracker.track(listener.accept());
      expect(client.family).to.equal('ipv6');
      expect(client.remoteAddress).to.deep.equal({ family: 'ipv6', ...mapped });
      const [accepted, asyncClient] = await Promise.all([listener.acceptAsync(), Socket.connectAsync(mapped)]);
      tracker.track(accepted);
      expect(tracker.track(asyncClient).remoteAddress.address).to.equal('::ffff:127.0.0.1');
      expect(() => tracker.track(Socket.connect(mapped, { ipv6Only: true }))).to.throw(WinsockError);
      expect(await Socket.connectAsync(mapped, { ipv6Only: true }).then((s) => tracker.track(s), (e: unknown) => e)).to.be.instanceOf(WinsockError);
      expect(() => Socket.connect(mapped, { ipv6Only: 1 as unknown as boolean })).to.throw(TypeError);
      expect(() => Socket.listen({ address: '::', port: 0 }, { ipv6Only: 'no' as unknown as boolean })).to.throw(TypeError);
    });
  });

  describe('broadcast and multicast (UDP)', function () {
    const udp = (family: 'ipv4' | 'ipv6' = 'ipv4'): Socket => tracker.track(new Socket({ family, type: 'udp' }));

    it('setBroadcast()/getBroadcast() toggle SO_BROADCAST; TCP sockets refuse them', function () {
      const socket = udp();
      expect(socket.getBroadcast()).to.equal(false);
      socket.setBroadcast(true);
      expect(socket.getBroadcast()).to.equal(true);
      socket.setBroadcast(false);
      expect(socket.getBroadcast()).to.equal(false);
      expect(() => socket.setBroadcast('on' as unknown as boolean)).to.throw(TypeError);
      expect(() => tcp().setBroadcast(true)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
    });

    for (const fam of families) {
      it(`multicast TTL (hops) and loopback read back on ${fam.family}`, function () {
        const socket = udp(fam.family);
        expect(socket.getMulticastTTL()).to.equal(1);
        expect(socket.getMulticastLoopback()).to.equal(true);
        socket.setMulticastTTL(7);
        expect(socket.getMulticastTTL()).to.equal(7);
        socket.setMulticastLoopback(false);
        expect(socket.getMulticastLoopback()).to.equal(false);
        socket.setMulticastLoopback(true);
        expect(socket.getMulticastLoopback()).to.equal(true);
        for (const bad of [256, -1]) expect(() => socket.setMulticastTTL(bad)).to.throw(RangeError);
        expect(() => socket.setMulticastTTL(1.5)).to.throw(TypeError);
        expect(() => socket.setMulticastLoopback(1 as unknown as boolean)).to.throw(TypeError);
        expect(socket.getMulticastTTL()).to.equal(7);
      });
    }

    it('IPv4: a member of a group on 127.0.0.1 receives what is sent to the group, and nothing after dropMembership()', function () {
      const member = udp();
      member.bind({ address: '0.0.0.0', port: 0 });
      member.addMembership('239.255.11.17', '127.0.0.1');
      const sender = udp();
      sender.setMulticastInterface('127.0.0.1');
      const target = { address: '239.255.11.17', port: member.localAddress.port };
      sender.sendTo('to the group', target);
      member.setReceiveTimeout(2000);
      const buffer = Buffer.alloc(32);
      const from = member.recvFrom(buffer);
      expect(buffer.toString('utf8', 0, from.bytes)).to.equal('to the group');
      expect(from.port).to.equal(sender.localAddress.port);
      member.dropMembership('239.255.11.17', '127.0.0.1');
      sender.sendTo('too late', target);
      member.setReceiveTimeout(300);
      expectWinsockError(() => member.recvFrom(buffer), 'WSAETIMEDOUT', 'recvfrom');
    });

    it('IPv6: joins and leaves a group on the default interface; setMulticastInterface takes an index', function () {
      const member = udp('ipv6');
      member.bind({ address: '::', port: 0 });
      member.addMembership('ff02::1:3');
      member.dropMembership('ff02::1:3', 0);
      member.setMulticastInterface(0);
      // Leaving a group it is not in is the system's error to report.
      expect(() => member.dropMembership('ff02::1:3')).to.throw(WinsockError);
    });

    it('membership and interface arguments are checked before any native call', function () {
      const v4 = udp();
      const v6 = udp('ipv6');
      expect(() => v4.addMembership('10.0.0.1')).to.throw(RangeError, /multicast/);
      expect(() => v4.addMembership('ff02::1')).to.throw(TypeError);
      expect(() => v4.addMembership('239.1.1.1', 3)).to.throw(TypeError);
      expect(() => v4.addMembership('239.1.1.1', 'eth0')).to.throw(TypeError);
      expect(() => v4.addMembership(42 as unknown as string)).to.throw(TypeError);
      expect(() => v6.addMembership('fe80::1')).to.throw(RangeError, /multicast/);
      expect(() => v6.addMembership('239.1.1.1')).to.throw(TypeError);
      expect(() => v6.addMembership('ff02::1', '::1')).to.throw(TypeError);
      expect(() => v6.addMembership('ff02::1', -1)).to.throw(RangeError);
      expect(() => v4.setMulticastInterface('localhost')).to.throw(TypeError);
      expect(() => v6.setMulticastInterface(1.5)).to.throw(TypeError);
      expect(() => tcp().addMembership('239.1.1.1')).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
    });
  });

  describe('SO_LINGER', function () {
    it('setLinger()/getLinger() read back; a zero linger makes close() reset the connection', async function () {
      const { client, server } = tcpPair(tracker, families[0]!);
      expect(client.getLinger()).to.deep.equal({ on: false, seconds: 0 });
      client.setLinger(true, 7);
      expect(client.getLinger()).to.deep.equal({ on: true, seconds: 7 });
      client.setLinger(false);
      expect(client.getLinger().on).to.equal(false);
      client.setLinger(true, 0);
      // A receive pending when the reset lands (under Wine, one that is not would read an orderly end).
      const receiving = server.recvAsync(Buffer.alloc(4));
      await new Promise((resolve) => setTimeout(resolve, 20));
      client.close();
      const error = await receiving.then((n) => n, (e: unknown) => e);
      expect(error, String(error)).to.be.instanceOf(WinsockError).with.property('code', 'WSAECONNRESET');
    });

    it('checks its arguments; UDP sockets refuse it', function () {
      const socket = tcp();
      expect(() => socket.setLinger(true, 65536)).to.throw(RangeError);
      expect(() => socket.setLinger(true, -1)).to.throw(RangeError);
      expect(() => socket.setLinger(true, 1.5)).to.throw(TypeError);
      expect(() => socket.setLinger('yes' as unknown as boolean, 1)).to.throw(TypeError);
      expect(() => tracker.track(new Socket({ type: 'udp' })).setLinger(true, 1)).to.throw(SocketStateError);
      expect(socket.getLinger()).to.deep.equal({ on: false, seconds: 0 });
    });
  });

  describe('Windows 10 options', function () {
    it('setReuseUnicastPort() sets SO_REUSE_UNICASTPORT', function () {
      const socket = tcp();
      socket.setReuseUnicastPort(true);
      expect(() => socket.setReuseUnicastPort(1 as unknown as boolean)).to.throw(TypeError);
      realWindowsOnly(this, 'accepts SO_REUSE_UNICASTPORT but cannot read it back (getsockopt: WSAENOPROTOOPT)');
      expect(socket.getReuseUnicastPort()).to.equal(true);
      socket.setReuseUnicastPort(false);
      expect(socket.getReuseUnicastPort()).to.equal(false);
    });

    it('setKeepAliveProbes() sets TCP_KEEPCNT (Windows 10 1703+)', function () {
      const socket = tcp();
      expect(() => socket.setKeepAliveProbes(256)).to.throw(RangeError);
      expect(() => socket.setKeepAliveProbes(-1)).to.throw(RangeError);
      expect(() => socket.setKeepAliveProbes(2.5)).to.throw(TypeError);
      expect(() => tracker.track(new Socket({ type: 'udp' })).setKeepAliveProbes(3)).to.throw(SocketStateError);
      if (underWineBefore(10)) {
        // What a system without it answers: the method says so, nothing is faked.
        expectWinsockError(() => socket.setKeepAliveProbes(5), 'WSAENOPROTOOPT', 'setsockopt');
      }
      // Wine 9.4 added it: Wine 10 runs the rest.
      realWindowsOnly(this, 'has no TCP_KEEPCNT (WSAENOPROTOOPT); Wine 10 has it', { orWine: 10 });
      socket.setKeepAliveProbes(5);
      expect(socket.getKeepAliveProbes()).to.equal(5);
    });

    it('setTcpFastOpen() sets TCP_FASTOPEN (Windows 10 1607+)', function () {
      const socket = tcp();
      expect(() => socket.setTcpFastOpen('on' as unknown as boolean)).to.throw(TypeError);
      expect(() => tracker.track(new Socket({ type: 'udp' })).setTcpFastOpen(true)).to.throw(SocketStateError);
      if (underWine) expectWinsockError(() => socket.setTcpFastOpen(true), 'WSAENOPROTOOPT', 'setsockopt');
      realWindowsOnly(this, 'has no TCP_FASTOPEN (WSAENOPROTOOPT)');
      socket.setTcpFastOpen(true);
      expect(socket.getTcpFastOpen()).to.equal(true);
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      listener.setTcpFastOpen(true);
      expect(listener.getTcpFastOpen()).to.equal(true);
    });
  });

  describe('SIO_TCP_INFO', function () {
    it('tcpInfo() needs a TCP socket; where the system lacks SIO_TCP_INFO it throws WSAEOPNOTSUPP', function () {
      expect(() => tracker.track(new Socket({ type: 'udp' })).tcpInfo()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
      skipUnder(this, !underWine, 'the unsupported path: real Windows 10 1703+ has SIO_TCP_INFO');
      const { client } = tcpPair(tracker, families[0]!);
      expectWinsockError(() => client.tcpInfo(), 'WSAEOPNOTSUPP', 'WSAIoctl');
    });

    it('tcpInfo() reports an established connection: state, MSS, RTT, congestion window, bytes', function () {
      realWindowsOnly(this, 'has no SIO_TCP_INFO (WSAEOPNOTSUPP)');
      const { client, server } = tcpPair(tracker, families[0]!);
      client.sendAll(Buffer.alloc(10000, 1));
      server.recvExact(Buffer.alloc(10000));
      const info = client.tcpInfo();
      expect(info.state).to.equal('established');
      expect(info.mss).to.be.greaterThan(0);
      expect(info.congestionWindow).to.be.greaterThan(0);
      expect(info.rttUs).to.be.at.least(0);
      expect(info.bytesOut).to.be.at.least(10000);
      expect(server.tcpInfo().bytesIn).to.be.at.least(10000);
      expect(info.bytesRetransmitted).to.be.at.least(0);
    });
  });

  describe('the option table (src/core/options.ts)', function () {
    it('checks in one order for every option: a closed socket first, then what the socket must be, then the value', function () {
      const udp = tracker.track(new Socket({ type: 'udp' }));
      const tcpSocket = tcp();
      // The wrong kind of socket is reported before the value is looked at, for every option that needs one.
      expect(() => tcpSocket.setMulticastTTL(300)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
      expect(() => tcpSocket.setMulticastLoopback('yes' as unknown as boolean)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
      expect(() => tcpSocket.setBroadcast('yes' as unknown as boolean)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
      expect(() => udp.setKeepAliveProbes(-1)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
      expect(() => udp.setTcpFastOpen('yes' as unknown as boolean)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
      expect(() => tcpSocket.setIpv6Only('yes' as unknown as boolean)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_FAMILY');
      // On the right kind of socket the value is checked, naming the call or the value.
      expect(() => udp.setMulticastTTL(300)).to.throw(RangeError, /ttl must be between 0 and 255, got 300/);
      expect(() => udp.setMulticastLoopback('yes' as unknown as boolean)).to.throw(TypeError, /setMulticastLoopback: on/);
      expect(() => tcpSocket.setReceiveBufferSize(-1)).to.throw(RangeError, /bytes must be between 0/);
      expect(() => tcpSocket.setReceiveTimeout(1.5)).to.throw(TypeError, /ms/);
      // A closed socket is reported before anything else.
      tcpSocket.close();
      expect(() => tcpSocket.setMulticastTTL(300)).to.throw(/closed/);
      expect(() => tcpSocket.getNoDelay()).to.throw(/getNoDelay: the socket is closed/);
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

    it('reads IPv6 options on an IPv6 socket (IPV6_V6ONLY, which this package turns off by default)', function () {
      const socket = tcp('ipv6');
      const raw = socket.getOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY);
      expect(raw.length).to.be.within(1, 4);
      expect(raw[0]).to.equal(0);
      socket.setOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY, true);
      expect(socket.getOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY)[0]).to.equal(1);
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
