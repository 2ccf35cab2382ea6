// fast-check generators for address literals, shared by the pure and the system address tests.

import fc from 'fast-check';
import net from 'node:net';

export const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
// Bias towards zero groups so that '::' compression gets exercised.
export const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
export const bytes16 = fc.oneof(
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

// The prefixes whose formatting has special cases (dotted IPv4 tails), with any last 32 bits.
export const specialPrefixBytes16 = fc
  .tuple(
    fc.constantFrom(
      [0, 0, 0, 0, 0, 0], // IPv4-compatible ::a.b.c.d
      [0, 0, 0, 0, 0, 0xffff], // IPv4-mapped ::ffff:a.b.c.d
      [0, 0, 0, 0, 0xffff, 0], // IPv4-translated ::ffff:0:a.b.c.d (hex in Node)
      [0x64, 0xff9b, 0, 0, 0, 0], // NAT64 64:ff9b::a.b.c.d (hex in Node)
      [0, 0, 0, 0, 0, 1],
    ),
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
    fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff })),
  )
  .map(([head, g6, g7]) => {
    const out = new Uint8Array(16);
    [...head, g6, g7].forEach((g, i) => {
      out[2 * i] = g >> 8;
      out[2 * i + 1] = g & 0xff;
    });
    return out;
  });

/** Every group written out in hex, uncompressed: a spelling any parser takes, with no formatting decision in it. */
export function fullHex(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/**
 * Node's own text for an IPv6 address, as net.Socket's remoteAddress prints it: both
 * go through libuv's uv_inet_ntop (net.SocketAddress via node_sockaddr's GetAddress,
 * remoteAddress via AddressToJS). The WHATWG URL serializer differs (no dotted tails).
 */
export function nodeIPv6Text(text: string): string {
  return new net.SocketAddress({ address: text, family: 'ipv6' }).address;
}

// Strings made of the characters that matter to the parsers, plus literal-shaped ones.
export const addressChars = fc.constantFrom(...'0123456789abcdefABCDEFgx:.: ::'.split(''));
export const noisyString = fc.string({ unit: addressChars, maxLength: 45 });
// Near-misses matter most: mostly valid pieces, sometimes one that is not.
export const hexGroup = fc.oneof(
  { arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), weight: 12 },
  { arbitrary: fc.constantFrom('', '12345', 'g', '0x1', ' 1'), weight: 1 },
);
export const decimalPart = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 255 }).map(String), weight: 12 },
  { arbitrary: fc.constantFrom('00', '01', '010', '256', '300', '', '1a', '+1'), weight: 1 },
);
export const ipv4ish = fc
  .oneof({ arbitrary: fc.constant(4), weight: 6 }, { arbitrary: fc.integer({ min: 1, max: 6 }), weight: 1 })
  .chain((count) => fc.array(decimalPart, { minLength: count, maxLength: count }))
  .map((parts) => parts.join('.'));
export const ipv6ish = fc
  .tuple(fc.array(hexGroup, { maxLength: 9 }), fc.nat(), fc.boolean(), fc.option(ipv4ish, { nil: undefined, freq: 3 }))
  .map(([groups, cut, compressed, v4]) => {
    const at = cut % (groups.length + 1);
    const parts = compressed ? `${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}` : groups.join(':');
    return v4 === undefined ? parts : `${parts}${parts.endsWith(':') ? '' : ':'}${v4}`;
  });
export const candidates = fc.oneof(noisyString, ipv4ish, ipv6ish, fc.ipV4(), fc.ipV4Extended(), fc.ipV6());
