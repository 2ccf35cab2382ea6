// SOCKADDR encoding (src/sys/windows/sockaddr.ts): SOCKADDR_IN and SOCKADDR_IN6 written
// and read back, with fast-check generating addresses, zones and ports. No Winsock call:
// `npm test` runs test/pure/ on Linux node as well as under Wine.

import { expect } from 'chai';
import fc from 'fast-check';
import { formatIPv4, formatIPv6 } from '../../src/index.ts';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE, SOCKADDR_STORAGE_SIZE } from '../../src/sys/windows/sockaddr.ts';
import { bytes16, bytes4 } from '../support/address-arbitraries.ts';

describe('SOCKADDR encoding (pure)', function () {
  it('IPv4: encode then decode gives back address and port', function () {
    fc.assert(
      fc.property(bytes4, fc.integer({ min: 0, max: 65535 }), (bytes, port) => {
        const out = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
        const address = formatIPv4(bytes);
        expect(encodeSockaddr(out, 'ipv4', address, port)).to.equal(SOCKADDR_IN_SIZE);
        expect(out.readUInt16BE(2)).to.equal(port); // network byte order
        expect(decodeSockaddr(out.subarray(0, SOCKADDR_IN_SIZE))).to.deep.equal({ family: 'ipv4', address, port });
      }),
    );
  });

  it('IPv6: encode then decode gives back address, zone and port', function () {
    fc.assert(
      fc.property(bytes16, fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 65535 }), (bytes, zone, port) => {
        const out = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
        const address = formatIPv6(bytes, zone);
        expect(encodeSockaddr(out, 'ipv6', address, port)).to.equal(SOCKADDR_IN6_SIZE);
        expect(out.readUInt32LE(24)).to.equal(zone);
        expect(decodeSockaddr(out.subarray(0, SOCKADDR_IN6_SIZE))).to.deep.equal({ family: 'ipv6', address, port });
      }),
    );
  });

  it('refuses a literal of the other family, and decodes unknown families as null', function () {
    const out = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
    expect(encodeSockaddr(out, 'ipv4', '::1', 80)).to.equal(-1);
    expect(encodeSockaddr(out, 'ipv6', '127.0.0.1', 80)).to.equal(-1);
    expect(decodeSockaddr(Buffer.from([1, 0, 0, 0]))).to.equal(null);
  });
});
