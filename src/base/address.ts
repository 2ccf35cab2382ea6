// IP address literals: parsing and formatting in TypeScript, with no native call, so
// that bad input is refused before anything reaches the OS and output matches what
// Node prints (RFC 5952 for IPv6, with libuv's dotted tails: see formatIPv6).

import { checkInteger, describe } from './values.ts';

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

function checkText(text: unknown): string {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${describe(text)}`);
  return text;
}

function checkBytes(bytes: unknown, length: number, family: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Buffer or Uint8Array, got ${describe(bytes)}`);
  if (bytes.length !== length) throw new RangeError(`an ${family} address has ${length} bytes, got ${bytes.length}`);
  return bytes;
}

/** The four bytes of a dotted-decimal IPv4 literal, or null when `text` is not one. */
export function parseIPv4(text: string): Uint8Array | null {
  checkText(text);
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
  checkText(text);
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
  checkText(text);
  if (parseIPv4(text) !== null) return 'ipv4';
  if (parseIPv6(text) !== null) return 'ipv6';
  return null;
}

/** Dotted decimal; `bytes` must be a Uint8Array (or Buffer) of 4 bytes. */
export function formatIPv4(bytes: Uint8Array): string {
  checkBytes(bytes, 4, 'IPv4');
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/**
 * The text Node prints for an IPv6 address (net.Socket's remoteAddress,
 * net.SocketAddress, dns): libuv's inet_ntop. That is RFC 5952 (lower-case hex,
 * leading zeros dropped, the longest run of two or more zero groups written '::', the
 * first on a tie) except for two kinds of address whose last 32 bits are written as
 * dotted IPv4: IPv4-mapped ('::ffff:127.0.0.1') and IPv4-compatible ('::1.2.3.4',
 * any address with six leading zero groups but not '::' and '::x' with x < 0x10000).
 * A non-zero `scopeId` (an integer up to 2^32-1) is added as '%scopeId'.
 */
export function formatIPv6(bytes: Uint8Array, scopeId = 0): string {
  checkBytes(bytes, 16, 'IPv6');
  checkInteger(scopeId, 'scopeId', 0, 0xffffffff);
  const zone = scopeId !== 0 ? `%${scopeId}` : '';
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
  // libuv's test: the zero run starts the address and is six groups long (compatible)
  // or five followed by ffff (mapped).
  if (bestStart === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === 0xffff))) {
    const head = bestLength === 6 ? '::' : '::ffff:';
    return `${head}${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}${zone}`;
  }
  const hex = (from: number, to: number): string => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart === -1) return hex(0, 8) + zone;
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}${zone}`;
}
