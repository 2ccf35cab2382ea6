// Address literals against the system: GetAddrInfoW's numeric parser and what
// getsockname()/getpeername() report. The pure parsing and formatting tests, which
// also run on Linux node, are in test/pure/address-literals.test.ts.

import { expect } from 'chai';
import fc from 'fast-check';
import { Socket, constants, formatIPv4, formatIPv6, lookup, parseIPv4, parseIPv6 } from '../../../src/index.ts';
import { bytes16 } from '../../support/address-arbitraries.ts';
import { SocketTracker } from '../../support/sockets.ts';

describe('address literals', function () {
  describe('agreement with the system', function () {
    const tracker = new SocketTracker();
    afterEach(() => tracker.closeAll());

    it("GetAddrInfoW's numeric parsing gives the bytes parseIPv6 gives", function () {
      // lookup() of a literal lets the system parse it; the answer comes back as
      // SOCKADDR_IN6 bytes, formatted here. Equal text means equal bytes.
      fc.assert(
        fc.property(fc.oneof(fc.ipV6(), bytes16.map((b) => formatIPv6(b))), (text) => {
          const ours = formatIPv6(parseIPv6(text)!.bytes);
          const [system] = lookup(text, 'ipv6');
          expect(system, text).to.deep.equal({ family: 'ipv6', address: ours, port: 0 });
        }),
        { numRuns: 150 },
      );
    });

    it("GetAddrInfoW's numeric parsing gives the bytes parseIPv4 gives", function () {
      fc.assert(
        fc.property(fc.ipV4(), (text) => {
          expect(lookup(text, 'ipv4')).to.deep.equal([{ family: 'ipv4', address: formatIPv4(parseIPv4(text)!), port: 0 }]);
        }),
        { numRuns: 100 },
      );
    });

    it('getsockname() reports a random 127.0.0.0/8 address exactly as bound', function () {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }), (b, c, d) => {
          const address = `127.${b}.${c}.${d}`;
          const socket = tracker.track(new Socket({ type: 'udp' }));
          socket.bind({ address, port: 0 });
          expect(socket.localAddress.address).to.equal(address);
          socket.close();
        }),
        { numRuns: 50 },
      );
    });

    it('getsockname()/getpeername() format IPv6 and IPv4-mapped addresses as Node does', function () {
      const listener = tracker.track(new Socket({ family: 'ipv6' }));
      listener.setOption(constants.IPPROTO_IPV6, constants.IPV6_V6ONLY, false);
      listener.bind({ address: '::', port: 0 });
      listener.listen();
      expect(listener.localAddress.address).to.equal('::');
      const v4client = tracker.track(Socket.connect({ address: '127.0.0.1', port: listener.localAddress.port }));
      const fromV4 = tracker.track(listener.accept());
      expect(fromV4.remoteAddress).to.deep.equal({ family: 'ipv6', address: '::ffff:127.0.0.1', port: v4client.localAddress.port });
      const v6client = tracker.track(Socket.connect({ address: '0:0:0:0:0:0:0:1', port: listener.localAddress.port }));
      const fromV6 = tracker.track(listener.accept());
      expect(fromV6.remoteAddress.address).to.equal('::1');
      expect(v6client.remoteAddress.address).to.equal('::1');
    });
  });
});
