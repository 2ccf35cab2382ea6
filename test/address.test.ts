// Address literals: parsing and formatting checked against Node (net.isIPv4/isIPv6,
// the WHATWG URL serializer) and against the system's own parser (GetAddrInfoW on a
// numeric host), with fast-check generating the inputs.

import { expect } from 'chai';
import fc from 'fast-check';
import net from 'node:net';
import { Socket, constants, formatIPv4, formatIPv6, literalFamily, lookup, parseIPv4, parseIPv6 } from '../src/index.ts';
import { SocketTracker } from './support/sockets.ts';

const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
// Bias towards zero groups so that '::' compression gets exercised.
const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const bytes16 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(group, { minLength: 8, maxLength: 8 }).map((groups) => {
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      out[2 * i] = g >> 8;
      out[2 * i + 1] = g & 0xff;
    });
    return out;
  }),
);

function isMapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Node's (WHATWG URL) canonical text for an IPv6 literal. */
function urlCanonical(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

// Strings made of the characters that matter to the parsers, plus literal-shaped ones.
const addressChars = fc.constantFrom(...'0123456789abcdefABCDEFgx:.: ::'.split(''));
const noisyString = fc.string({ unit: addressChars, maxLength: 45 });
// Near-misses matter most: mostly valid pieces, sometimes one that is not.
const hexGroup = fc.oneof(
  { arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), weight: 12 },
  { arbitrary: fc.constantFrom('', '12345', 'g', '0x1', ' 1'), weight: 1 },
);
const decimalPart = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 255 }).map(String), weight: 12 },
  { arbitrary: fc.constantFrom('00', '01', '010', '256', '300', '', '1a', '+1'), weight: 1 },
);
const ipv4ish = fc
  .oneof({ arbitrary: fc.constant(4), weight: 6 }, { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 1 })
  .chain((count) => fc.array(decimalPart, { minLength: count, maxLength: count }))
  .map((parts) => parts.join('.'));
const ipv6ish = fc
  .tuple(fc.array(hexGroup, { maxLength: 9 }), fc.nat(), fc.boolean(), fc.option(ipv4ish, { nil: undefined, freq: 3 }))
  .map(([groups, cut, compressed, v4]) => {
    const at = cut % (groups.length + 1);
    const parts = compressed ? `${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}` : groups.join(':');
    return v4 === undefined ? parts : `${parts}${parts.endsWith(':') ? '' : ':'}${v4}`;
  });
const candidates = fc.oneof(noisyString, ipv4ish, ipv6ish, fc.ipV4(), fc.ipV4Extended(), fc.ipV6());

describe('address literals', function () {
  describe('round trips', function () {
    it('parseIPv4(formatIPv4(b)) gives back any 4 bytes', function () {
      fc.assert(
        fc.property(bytes4, (bytes) => {
          const text = formatIPv4(bytes);
          expect([...parseIPv4(text)!]).to.deep.equal([...bytes]);
          expect(net.isIPv4(text)).to.equal(true);
          expect(literalFamily(text)).to.equal('ipv4');
        }),
      );
    });

    it('parseIPv6(formatIPv6(b, zone)) gives back any 16 bytes and zone', function () {
      fc.assert(
        fc.property(bytes16, fc.oneof(fc.constant(0), fc.nat({ max: 0xffffffff })), (bytes, scopeId) => {
          const text = formatIPv6(bytes, scopeId);
          const parsed = parseIPv6(text);
          expect(parsed, text).to.not.equal(null);
          expect([...parsed!.bytes]).to.deep.equal([...bytes]);
          expect(parsed!.scopeId).to.equal(scopeId);
          expect(net.isIPv6(text), text).to.equal(true);
          expect(literalFamily(text)).to.equal('ipv6');
        }),
        { numRuns: 500 },
      );
    });

    it('formatIPv6 is canonical: formatting what it parsed gives the same text', function () {
      fc.assert(
        fc.property(bytes16, (bytes) => {
          const text = formatIPv6(bytes);
          expect(formatIPv6(parseIPv6(text)!.bytes)).to.equal(text);
          expect(text).to.equal(text.toLowerCase());
        }),
      );
    });
  });

  describe('agreement with Node', function () {
    it('parseIPv4 accepts exactly what net.isIPv4 accepts', function () {
      fc.assert(
        fc.property(candidates, (text) => {
          expect(parseIPv4(text) !== null, JSON.stringify(text)).to.equal(net.isIPv4(text));
        }),
        { numRuns: 3000 },
      );
    });

    it('parseIPv6 accepts exactly what net.isIPv6 accepts (no zone)', function () {
      fc.assert(
        fc.property(candidates, (text) => {
          expect(parseIPv6(text) !== null, JSON.stringify(text)).to.equal(net.isIPv6(text));
        }),
        { numRuns: 3000 },
      );
    });

    it('numeric zones are accepted by both; Node also takes names, which Winsock cannot', function () {
      for (const text of ['fe80::1%1', 'fe80::1%4294967295', '::%0']) {
        expect(net.isIPv6(text), text).to.equal(true);
        expect(parseIPv6(text), text).to.not.equal(null);
      }
      expect(parseIPv6('fe80::1%3')!.scopeId).to.equal(3);
      expect(parseIPv6('fe80::1%4294967296')).to.equal(null);
      expect(parseIPv6('fe80::1%')).to.equal(null);
      expect(parseIPv6('fe80::1%eth0')).to.equal(null);
      expect(net.isIPv6('fe80::1%eth0')).to.equal(true);
    });

    it('formatIPv6 prints what the WHATWG URL serializer prints (not IPv4-mapped)', function () {
      fc.assert(
        fc.property(bytes16, (bytes) => {
          fc.pre(!isMapped(bytes));
          const text = formatIPv6(bytes);
          expect(text).to.equal(urlCanonical(text));
        }),
        { numRuns: 1000 },
      );
    });

    it('any literal Node accepts normalises to the URL serializer text', function () {
      fc.assert(
        fc.property(fc.oneof(fc.ipV6(), ipv6ish), (text) => {
          fc.pre(net.isIPv6(text));
          const parsed = parseIPv6(text)!;
          fc.pre(!isMapped(parsed.bytes));
          expect(formatIPv6(parsed.bytes), text).to.equal(urlCanonical(text));
        }),
        { numRuns: 1000 },
      );
    });

    it('IPv4-mapped addresses keep the dotted tail, as Node and Windows print them', function () {
      expect(formatIPv6(parseIPv6('::ffff:7f00:1')!.bytes)).to.equal('::ffff:127.0.0.1');
      expect(formatIPv6(parseIPv6('0:0:0:0:0:FFFF:192.168.1.20')!.bytes)).to.equal('::ffff:192.168.1.20');
    });

    it('RFC 5952 cases', function () {
      const cases: Record<string, string> = {
        '0:0:0:0:0:0:0:0': '::',
        '0:0:0:0:0:0:0:1': '::1',
        '1:0:0:0:0:0:0:0': '1::',
        '2001:DB8:0:0:0:0:0:1': '2001:db8::1',
        '2001:db8:0:0:1:0:0:1': '2001:db8::1:0:0:1',
        '2001:0:0:1:0:0:0:1': '2001:0:0:1::1',
        '2001:db8:0:1:1:1:1:1': '2001:db8:0:1:1:1:1:1',
        '2001:0db8:0000:0000:0000:ff00:0042:8329': '2001:db8::ff00:42:8329',
        '::1.2.3.4': '::102:304',
      };
      for (const [input, expected] of Object.entries(cases)) expect(formatIPv6(parseIPv6(input)!.bytes), input).to.equal(expected);
      expect(formatIPv6(parseIPv6('fe80::1')!.bytes, 7)).to.equal('fe80::1%7');
    });

    it('formatters refuse the wrong number of bytes', function () {
      expect(() => formatIPv4(new Uint8Array(3))).to.throw(RangeError);
      expect(() => formatIPv4(new Uint8Array(16))).to.throw(RangeError);
      expect(() => formatIPv6(new Uint8Array(4))).to.throw(RangeError);
      expect(literalFamily('localhost')).to.equal(null);
      expect(literalFamily('')).to.equal(null);
    });
  });

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
