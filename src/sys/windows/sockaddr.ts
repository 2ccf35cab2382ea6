// SOCKADDR_IN / SOCKADDR_IN6 and IN_ADDR / IN6_ADDR as bytes, encoded and decoded in
// TypeScript. The callers in sys/windows pass addresses the layers above have checked
// (the contract in sys/index.ts): they convert with writeSockaddr, inAddr and in6Addr,
// which do not judge the literal again; a literal that does not parse there is a bug in
// this package (an internal Error), never the user's (no TypeError).

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../base/address.ts';
import type { AddressFamily, SocketAddress } from '../../base/address.ts';
import { AF_INET, AF_INET6 } from './constants.ts';

/** sizeof(SOCKADDR_STORAGE): large enough for any address this package reads. */
export const SOCKADDR_STORAGE_SIZE = 128;
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

export function familyToAf(family: AddressFamily): number {
  return family === 'ipv4' ? AF_INET : AF_INET6;
}

/**
 * Writes `address:port` (a literal of `family`) into `out` and returns the length
 * used, or -1 when the address is not a literal of that family.
 */
export function encodeSockaddr(out: Buffer, family: AddressFamily, address: string, port: number): number {
  if (family === 'ipv4') {
    const bytes = parseIPv4(address);
    if (bytes === null) return -1;
    out.fill(0, 0, SOCKADDR_IN_SIZE);
    out.writeUInt16LE(AF_INET, 0);
    out.writeUInt16BE(port, 2);
    out.set(bytes, 4);
    return SOCKADDR_IN_SIZE;
  }
  const parsed = parseIPv6(address);
  if (parsed === null) return -1;
  out.fill(0, 0, SOCKADDR_IN6_SIZE);
  out.writeUInt16LE(AF_INET6, 0);
  out.writeUInt16BE(port, 2);
  out.set(parsed.bytes, 8);
  out.writeUInt32LE(parsed.scopeId, 24);
  return SOCKADDR_IN6_SIZE;
}

/** encodeSockaddr for a checked literal of `family`: the length used. */
export function writeSockaddr(out: Buffer, family: AddressFamily, address: string, port: number): number {
  const length = encodeSockaddr(out, family, address, port);
  if (length < 0) unchecked(address, family);
  return length;
}

/** IN_ADDR: the 4 bytes of a checked IPv4 literal, in network order. */
export function inAddr(address: string): Uint8Array {
  return parseIPv4(address) ?? unchecked(address, 'ipv4');
}

/** IN6_ADDR: the 16 bytes of a checked IPv6 literal (its zone is not part of them). */
export function in6Addr(address: string): Uint8Array {
  return parseIPv6(address)?.bytes ?? unchecked(address, 'ipv6');
}

function unchecked(address: string, family: AddressFamily): never {
  throw new Error(`internal error: ${JSON.stringify(address)} reached sys/windows as an ${family} literal without being checked`);
}

/** Reads a SOCKADDR_IN or SOCKADDR_IN6; null for any other family. */
export function decodeSockaddr(bytes: Uint8Array): SocketAddress | null {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < 2) return null;
  const af = view.readUInt16LE(0);
  if (af === AF_INET && view.length >= SOCKADDR_IN_SIZE) {
    return { family: 'ipv4', address: formatIPv4(view.subarray(4, 8)), port: view.readUInt16BE(2) };
  }
  if (af === AF_INET6 && view.length >= SOCKADDR_IN6_SIZE) {
    return { family: 'ipv6', address: formatIPv6(view.subarray(8, 24), view.readUInt32LE(24)), port: view.readUInt16BE(2) };
  }
  return null;
}
