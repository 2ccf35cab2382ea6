// Address literals: parsing and formatting checked against Node (net.isIPv4/isIPv6,
// net.SocketAddress, which prints addresses as net.Socket's remoteAddress does), with
// fast-check generating the inputs. Pure TypeScript:
// `npm test` runs this folder on Linux node too, without Wine. The system's own parser
// is compared in test/windows/socket/address-literals.test.ts.

import { expect } from 'chai';
import fc from 'fast-check';
import net from 'node:net';
import { formatIPv4, formatIPv6, literalFamily, parseIPv4, parseIPv6 } from '../../src/index.ts';
import { bytes16, bytes4, candidates, fullHex, ipv6ish, nodeIPv6Text, specialPrefixBytes16 } from '../support/address-arbitraries.ts';

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

    it('formatIPv6 prints exactly what Node prints for any 16 bytes (net.SocketAddress, as remoteAddress)', function () {
      fc.assert(
        fc.property(fc.oneof(bytes16, specialPrefixBytes16), (bytes) => {
          expect(formatIPv6(bytes), fullHex(bytes)).to.equal(nodeIPv6Text(fullHex(bytes)));
        }),
        { numRuns: 3000 },
      );
    });

    it('formatIPv4 prints what Node prints for any 4 bytes', function () {
      fc.assert(
        fc.property(bytes4, (bytes) => {
          const text = formatIPv4(bytes);
          expect(text).to.equal(new net.SocketAddress({ address: [...bytes].join('.'), family: 'ipv4' }).address);
        }),
      );
    });

    it('any literal Node accepts normalises to the text Node prints', function () {
      fc.assert(
        fc.property(fc.oneof(fc.ipV6(), ipv6ish), (text) => {
          fc.pre(net.isIPv6(text));
          expect(formatIPv6(parseIPv6(text)!.bytes), text).to.equal(nodeIPv6Text(text));
        }),
        { numRuns: 1000 },
      );
    });

    it('IPv4-compatible and IPv4-mapped addresses get a dotted tail, others do not, as in Node', function () {
      const cases: Record<string, string> = {
        '::1.2.3.4': '::1.2.3.4',
        '::ffff:1.2.3.4': '::ffff:1.2.3.4',
        '::': '::',
        '::1': '::1',
        '::0.0.0.5': '::5',
        '::0.1.0.0': '::0.1.0.0',
        '::ffff:0:0': '::ffff:0.0.0.0',
        '64:ff9b::1.2.3.4': '64:ff9b::102:304',
        '::ffff:0:1.2.3.4': '::ffff:0:102:304',
        '::1:1.2.3.4': '::1:102:304',
      };
      for (const [input, expected] of Object.entries(cases)) {
        expect(nodeIPv6Text(input), `Node's own text for ${input}`).to.equal(expected);
        expect(formatIPv6(parseIPv6(input)!.bytes), input).to.equal(expected);
      }
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

  describe('argument checks', function () {
    it('parsers take strings only: TypeError naming the argument, never a crash inside', function () {
      for (const parse of [parseIPv4, parseIPv6, literalFamily]) {
        for (const value of [null, undefined, 127, 12n, ['1.2.3.4'], { toString: () => '1.2.3.4' }, Buffer.from('::1')]) {
          expect(() => parse(value as string), `${parse.name}(${String(value)})`).to.throw(TypeError, /^text must be a string, got /);
        }
      }
    });

    it('formatters take a Uint8Array or Buffer only, never another typed array or an array', function () {
      const notBytes: unknown[] = [new Uint16Array([300, 1, 2, 3]), [1, 2, 3, 4], new Uint8ClampedArray(4), new Int8Array(4), '1.2.3.4', null, new ArrayBuffer(4), new DataView(new ArrayBuffer(4))];
      for (const value of notBytes) {
        expect(() => formatIPv4(value as Uint8Array), String(value)).to.throw(TypeError, /^bytes must be a Buffer or Uint8Array/);
        expect(() => formatIPv6(value as Uint8Array), String(value)).to.throw(TypeError, /^bytes must be a Buffer or Uint8Array/);
      }
      expect(formatIPv4(Buffer.from([1, 2, 3, 4]))).to.equal('1.2.3.4');
    });

    it('a scope id must be an integer from 0 to 2^32-1: TypeError for another kind, RangeError out of range', function () {
      const bytes = parseIPv6('fe80::1')!.bytes;
      for (const scopeId of [Number.NaN, 1.5, '3', null, 3n, Infinity]) expect(() => formatIPv6(bytes, scopeId as number), String(scopeId)).to.throw(TypeError, /scopeId must be an integer/);
      for (const scopeId of [-1, 2 ** 32, -(2 ** 40)]) expect(() => formatIPv6(bytes, scopeId), String(scopeId)).to.throw(RangeError, /scopeId must be between 0 and 4294967295/);
      expect(formatIPv6(bytes, 0xffffffff)).to.equal('fe80::1%4294967295');
      expect(formatIPv6(bytes, undefined)).to.equal('fe80::1');
    });
  });
});
