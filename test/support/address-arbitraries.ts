// fast-check generators for address literals, shared by the pure and the system address tests.

import fc from 'fast-check';

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

export function isMapped(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
}

/** Node's (WHATWG URL) canonical text for an IPv6 literal. */
export function urlCanonical(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
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
