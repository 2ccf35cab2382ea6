// Socket options: any option raw (core/options.ts's table names the int options by level
// and name), the options whose values are structures (linger, multicast interface and
// membership), and the Windows-only ioctls that act as options (keep-alive timings, the
// loopback fast path, blocking mode, TCP_INFO).

import type { AddressFamily } from '../../base/address.ts';
import {
  FIONBIO,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_ADD_MEMBERSHIP,
  IPV6_DROP_MEMBERSHIP,
  IPV6_MULTICAST_IF,
  SIO_KEEPALIVE_VALS,
  SIO_LOOPBACK_FAST_PATH,
  SIO_TCP_INFO,
  SOL_SOCKET,
  SO_LINGER,
  WSAEOPNOTSUPP,
} from './constants.ts';
import { check, failedWith } from './error.ts';
import { ws2 } from './ffi.ts';
import type { Handle } from './ffi.ts';
import { in6Addr, inAddr } from './sockaddr.ts';
import { decodeTcpInfoV0, TCP_INFO_V0_SIZE } from './tcp-info.ts';
import type { TcpInfo } from './tcp-info.ts';

export type { TcpInfo, TcpState } from './tcp-info.ts';

/** The multicast interface and membership options of each family: the same names, at IPPROTO_IP or IPPROTO_IPV6. */
const MULTICAST = {
  ipv4: { level: IPPROTO_IP, iface: IP_MULTICAST_IF, join: IP_ADD_MEMBERSHIP, leave: IP_DROP_MEMBERSHIP },
  ipv6: { level: IPPROTO_IPV6, iface: IPV6_MULTICAST_IF, join: IPV6_ADD_MEMBERSHIP, leave: IPV6_DROP_MEMBERSHIP },
} as const;

// Scratch cells reused by every call: JS runs one call at a time, and reusing them keeps
// option reads free of allocations.
const lengthCell = new Int32Array(1);
const u32Cell = new Uint32Array(1);
const bytesReturnedCell = new Uint32Array(1);
const intOption = Buffer.alloc(4);
const lingerCell = Buffer.alloc(4);
const mreq = Buffer.alloc(20);

// --- Any option, raw -----------------------------------------------------------------

/** getsockopt() for any option: up to `size` bytes of its raw value. */
export function getRawOption(handle: Handle, level: number, name: number, size: number): Buffer {
  const value = Buffer.alloc(size);
  lengthCell[0] = size;
  check(ws2().getsockopt(handle, level, name, value, lengthCell), 'getsockopt');
  return value.subarray(0, lengthCell[0]);
}

/** setsockopt() for any option, with its raw value. */
export function setRawOption(handle: Handle, level: number, name: number, value: Uint8Array): void {
  check(ws2().setsockopt(handle, level, name, value, value.byteLength), 'setsockopt');
}

/** getsockopt() of an int or BOOL option (also SO_ERROR, for socket.ts). */
export function getRawIntOption(handle: Handle, level: number, name: number): number {
  intOption.fill(0);
  lengthCell[0] = 4;
  check(ws2().getsockopt(handle, level, name, intOption, lengthCell), 'getsockopt');
  // BOOL options may come back as a single byte.
  return lengthCell[0] === 1 ? intOption[0]! : intOption.readInt32LE(0);
}

/** setsockopt() of a 4-byte int for any option. */
export function setRawIntOption(handle: Handle, level: number, name: number, value: number): void {
  intOption.writeInt32LE(value | 0, 0);
  check(ws2().setsockopt(handle, level, name, intOption, 4), 'setsockopt');
}

// --- Options whose values are structures (the int options are core/options.ts's table) ---

/** SO_LINGER: struct linger { u_short l_onoff; u_short l_linger } (seconds), 4 bytes on Windows. */
export function setLinger(handle: Handle, on: boolean, seconds: number): void {
  lingerCell.writeUInt16LE(on ? 1 : 0, 0);
  lingerCell.writeUInt16LE(seconds, 2);
  check(ws2().setsockopt(handle, SOL_SOCKET, SO_LINGER, lingerCell, 4), 'setsockopt');
}

export function getLinger(handle: Handle): { on: boolean; seconds: number } {
  lingerCell.fill(0);
  lengthCell[0] = 4;
  check(ws2().getsockopt(handle, SOL_SOCKET, SO_LINGER, lingerCell, lengthCell), 'getsockopt');
  return { on: lingerCell.readUInt16LE(0) !== 0, seconds: lingerCell.readUInt16LE(2) };
}

// --- Multicast -----------------------------------------------------------------------

/**
 * IP_MULTICAST_IF: the local IPv4 address to send multicast from (an IN_ADDR in network
 * order); IPV6_MULTICAST_IF: the interface index (0: the system's choice).
 */
export function setMulticastInterface(handle: Handle, family: AddressFamily, iface: string | number): void {
  const { level, iface: name } = MULTICAST[family];
  if (family === 'ipv4') {
    mreq.set(inAddr(iface as string), 0);
    check(ws2().setsockopt(handle, level, name, mreq, 4), 'setsockopt');
  } else {
    setRawIntOption(handle, level, name, iface as number);
  }
}

/**
 * Joins (IP_ADD_MEMBERSHIP / IPV6_ADD_MEMBERSHIP) or leaves (IP_DROP_MEMBERSHIP /
 * IPV6_DROP_MEMBERSHIP) `group`. IPv4: ip_mreq { IN_ADDR imr_multiaddr; IN_ADDR
 * imr_interface } (8 bytes), `iface` a local IPv4 address ('0.0.0.0': the system's
 * choice). IPv6: ipv6_mreq { IN6_ADDR ipv6mr_multiaddr; ULONG ipv6mr_interface } (20
 * bytes), `iface` an interface index (0: the system's choice).
 */
export function setMembership(handle: Handle, family: AddressFamily, join: boolean, group: string, iface: string | number): void {
  const { level, join: add, leave } = MULTICAST[family];
  let length: number;
  if (family === 'ipv4') {
    mreq.set(inAddr(group), 0);
    mreq.set(inAddr(iface as string), 4);
    length = 8;
  } else {
    mreq.set(in6Addr(group), 0);
    mreq.writeUInt32LE(iface as number, 16);
    length = 20;
  }
  check(ws2().setsockopt(handle, level, join ? add : leave, mreq, length), 'setsockopt');
}

// --- Ioctls that act as options --------------------------------------------------------

/** FIONBIO. */
export function setBlocking(handle: Handle, blocking: boolean): void {
  u32Cell[0] = blocking ? 0 : 1;
  check(ws2().ioctlsocket(handle, FIONBIO | 0, u32Cell), 'ioctlsocket');
}

function wsaIoctl(handle: Handle, code: number, input: Uint8Array | null, output: Uint8Array | null): number {
  return ws2().WSAIoctl(handle, code >>> 0, input, input?.byteLength ?? 0, output, output?.byteLength ?? 0, bytesReturnedCell, null, null);
}

/** SIO_KEEPALIVE_VALS: struct tcp_keepalive { u_long onoff, keepalivetime, keepaliveinterval }. */
export function setKeepAliveValues(handle: Handle, on: boolean, idleMs: number, intervalMs: number): void {
  const values = new Uint8Array(new Uint32Array([on ? 1 : 0, idleMs, intervalMs]).buffer);
  check(wsaIoctl(handle, SIO_KEEPALIVE_VALS, values, null), 'WSAIoctl');
}

/**
 * SIO_LOOPBACK_FAST_PATH with TRUE. True when it took; false when the system
 * answers WSAEOPNOTSUPP (Windows 7, Wine: the fast path does not exist there).
 */
export function enableLoopbackFastPath(handle: Handle): boolean {
  const value = new Uint8Array(new Int32Array([1]).buffer);
  return !failedWith(wsaIoctl(handle, SIO_LOOPBACK_FAST_PATH, value, null) !== 0, WSAEOPNOTSUPP, 'WSAIoctl');
}

/** SIO_TCP_INFO with version 0: TCP_INFO_v0. WSAEOPNOTSUPP before Windows 10 1703 and under Wine. */
export function tcpInfo(handle: Handle): TcpInfo {
  const version = Buffer.alloc(4); // DWORD 0: TCP_INFO_v0
  const info = Buffer.alloc(TCP_INFO_V0_SIZE);
  check(wsaIoctl(handle, SIO_TCP_INFO, version, info), 'WSAIoctl');
  return decodeTcpInfoV0(info);
}
