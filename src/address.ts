// IP address literals: parsing and formatting in TypeScript, with no native call, so
// that bad input is refused before anything reaches the OS and output matches what
// Node prints (RFC 5952 for IPv6).

export type AddressFamily = 'ipv4' | 'ipv6';

/** An endpoint as the Socket API takes it: a literal or a host name, and a port. */
export interface SocketAddressInput {
  readonly address: string;
  readonly port: number;
}

/** An endpoint as the Socket API reports it. */
export interface SocketAddress {
  readonly family: AddressFamily;
  readonly address: string;
  readonly port: number;
}

export interface ParsedIPv6 {
  readonly bytes: Uint8Array;
  /** The numeric zone after '%' ('fe80::1%3'), 0 when absent. */
  readonly scopeId: number;
}

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** The four bytes of a dotted-decimal IPv4 literal, or null when `text` is not one. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!DECIMAL_OCTET.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** The sixteen bytes (and zone) of an IPv6 literal, or null when `text` is not one. */
export function parseIPv6(text: string): ParsedIPv6 | null {
  let scopeId = 0;
  const percent = text.indexOf('%');
  if (percent !== -1) {
    const zone = text.slice(percent + 1);
    if (!/^[0-9]{1,10}$/.test(zone)) return null;
    scopeId = Number(zone);
    if (scopeId > 0xffffffff) return null;
    text = text.slice(0, percent);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const groups: number[] = [];
  const readGroups = (parts: string[], allowIPv4Tail: boolean): number[] | null => {
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (allowIPv4Tail && i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!HEX_GROUP.test(part)) return null;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const headGroups = readGroups(head, halves.length === 1);
  const tailGroups = readGroups(tail, true);
  if (headGroups === null || tailGroups === null) return null;
  if (halves.length === 1) {
    if (headGroups.length !== 8) return null;
    groups.push(...headGroups);
  } else {
    const missing = 8 - headGroups.length - tailGroups.length;
    if (missing < 1) return null;
    groups.push(...headGroups, ...new Array<number>(missing).fill(0), ...tailGroups);
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[2 * i] = groups[i]! >> 8;
    bytes[2 * i + 1] = groups[i]! & 0xff;
  }
  return { bytes, scopeId };
}

/** 'ipv4', 'ipv6' or null, like `net.isIP` but by family name. */
export function literalFamily(text: string): AddressFamily | null {
  if (parseIPv4(text) !== null) return 'ipv4';
  if (parseIPv6(text) !== null) return 'ipv6';
  return null;
}

export function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new RangeError(`an IPv4 address has 4 bytes, got ${bytes.length}`);
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * RFC 5952 text: lower-case hex, leading zeros dropped, the longest run of two or
 * more zero groups (the first on a tie) written '::', and IPv4-mapped addresses
 * with a dotted tail ('::ffff:127.0.0.1'), as Node and Windows print them.
 */
export function formatIPv6(bytes: Uint8Array, scopeId = 0): string {
  if (bytes.length !== 16) throw new RangeError(`an IPv6 address has 16 bytes, got ${bytes.length}`);
  const zone = scopeId !== 0 ? `%${scopeId}` : '';
  let mapped = true;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) mapped = false;
  if (mapped && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${formatIPv4(bytes.subarray(12))}${zone}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(0, 8) + zone;
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}${zone}`;
}
