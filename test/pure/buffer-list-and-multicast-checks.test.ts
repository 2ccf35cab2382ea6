// Argument checks of buffer lists (sendv/recvv, sendAsync with an array), multicast groups
// and interfaces (src/core/checks.ts): TypeError for the wrong kind, RangeError out of range,
// each value read once. No Winsock: runs on Linux node as well as under Wine.

import { expect } from 'chai';
import fc from 'fast-check';
import { checkBufferList, checkInterface, checkMulticastGroup, MAX_BUFFERS } from '../../src/core/checks.ts';

describe('argument checks of buffer lists, multicast groups and interfaces (pure)', function () {
  it('checkBufferList: an array of views, each element read once, written into the scratch array', function () {
    const into: Uint8Array[] = [new Uint8Array(9)];
    const a = Buffer.from('ab');
    const b = new Uint8Array(3);
    expect(checkBufferList([a, b], 'buffers', into, false)).to.equal(2);
    expect(into).to.deep.equal([a, b]);
    expect(checkBufferList([], 'buffers', into, false)).to.equal(0);
    expect(into).to.have.length(0);
    // A getter that changes its answer is read once.
    let reads = 0;
    const tricky = [a];
    Object.defineProperty(tricky, 0, { get: () => (reads++ === 0 ? a : 'not a buffer') });
    expect(checkBufferList(tricky, 'buffers', into, false)).to.equal(1);
    expect(reads).to.equal(1);
  });

  it('checkBufferList: TypeError for the wrong kind (naming the element), RangeError for too many or no room', function () {
    const into: Uint8Array[] = [];
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          checkBufferList(value, 'buffers', into, false);
          expect(Array.isArray(value)).to.equal(true);
        } catch (error) {
          expect(error).to.be.instanceOf(TypeError);
        }
      }),
    );
    expect(() => checkBufferList([Buffer.alloc(1), 'x'], 'buffers', into, false)).to.throw(TypeError, /buffers\[1\]/);
    expect(() => checkBufferList(Array.from({ length: MAX_BUFFERS + 1 }, () => Buffer.alloc(0)), 'buffers', into, false)).to.throw(RangeError);
    expect(checkBufferList(Array.from({ length: MAX_BUFFERS }, () => Buffer.alloc(0)), 'buffers', into, false)).to.equal(MAX_BUFFERS);
    expect(() => checkBufferList([Buffer.alloc(0)], 'buffers', into, true)).to.throw(RangeError, /room/);
    expect(() => checkBufferList([], 'buffers', into, true)).to.throw(RangeError);
  });

  it('checkMulticastGroup: literals of the family in 224.0.0.0/4 or ff00::/8', function () {
    for (const group of ['224.0.0.0', '239.255.255.255', '224.0.0.251']) expect(checkMulticastGroup(group, 'ipv4', 'group')).to.equal(group);
    for (const group of ['ff02::1', 'ff05::1:3', 'FF0E::101']) expect(checkMulticastGroup(group, 'ipv6', 'group')).to.equal(group);
    for (const group of ['223.255.255.255', '240.0.0.0', '127.0.0.1']) expect(() => checkMulticastGroup(group, 'ipv4', 'group')).to.throw(RangeError);
    for (const group of ['fe80::1', '::1', '::ffff:239.1.1.1']) expect(() => checkMulticastGroup(group, 'ipv6', 'group')).to.throw(RangeError);
    for (const group of ['ff02::1', 'localhost', '', 239, null]) expect(() => checkMulticastGroup(group, 'ipv4', 'group')).to.throw(TypeError);
    for (const group of ['239.1.1.1', 'mdns', undefined]) expect(() => checkMulticastGroup(group, 'ipv6', 'group')).to.throw(TypeError);
  });

  it('checkInterface: an IPv4 address for IPv4 (default 0.0.0.0), an index for IPv6 (default 0)', function () {
    expect(checkInterface(undefined, 'ipv4', 'iface')).to.equal('0.0.0.0');
    expect(checkInterface('127.0.0.1', 'ipv4', 'iface')).to.equal('127.0.0.1');
    expect(checkInterface(undefined, 'ipv6', 'iface')).to.equal(0);
    expect(checkInterface(12, 'ipv6', 'iface')).to.equal(12);
    for (const bad of [1, 'eth0', '::1', null]) expect(() => checkInterface(bad, 'ipv4', 'iface')).to.throw(TypeError);
    for (const bad of ['1', '::1', 1.5, null]) expect(() => checkInterface(bad, 'ipv6', 'iface')).to.throw(TypeError);
    for (const bad of [-1, 2 ** 32]) expect(() => checkInterface(bad, 'ipv6', 'iface')).to.throw(RangeError);
  });
});
