// Socket operations over Winsock, typed: handles in, numbers and addresses out, a
// WinsockError on failure. The Socket class is written against these, so that a libc
// twin (sys/unix) can stand beside this module later.

import type { AddressFamily, SocketAddress } from '../../address.ts';
import { WinsockError } from '../../errors.ts';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  FIONBIO,
  FIONREAD,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SIO_KEEPALIVE_VALS,
  SIO_LOOPBACK_FAST_PATH,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKET_ERROR,
  SOL_SOCKET,
  SO_ERROR,
  SO_PROTOCOL_INFOW,
  WSA_FLAG_NO_HANDLE_INHERIT,
  WSA_FLAG_OVERLAPPED,
  WSAEOPNOTSUPP,
  WSAETIMEDOUT,
  WSAEWOULDBLOCK,
} from './constants.ts';
import * as ffi from './ffi.ts';
import type { Handle } from './ffi.ts';
import { decodeSockaddr, encodeSockaddr, familyToAf, SOCKADDR_STORAGE_SIZE } from './sockaddr.ts';

export type { Handle } from './ffi.ts';
export { INVALID_HANDLE } from './ffi.ts';

export type SocketType = 'tcp' | 'udp';

// Scratch cells reused by every synchronous call: JS runs one call at a time, and
// reusing them keeps the send/recv paths free of allocations.
const sockaddrScratch = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
const lengthCell = new Int32Array(1);
const u32Cell = new Uint32Array(1);
const bytesReturnedCell = new Uint32Array(1);
const intOption = Buffer.alloc(4);

function fail(syscall: string, endpoint?: { address?: string; port?: number }): never {
  throw new WinsockError(syscall, ffi.lastError(), endpoint);
}

export function createSocket(family: AddressFamily, type: SocketType): Handle {
  const handle = ffi.wsaSocket(
    familyToAf(family),
    type === 'tcp' ? SOCK_STREAM : SOCK_DGRAM,
    type === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP,
    // Overlapped so that a completion port can take the socket later; not inherited
    // by child processes, as Node's own sockets are not.
    WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
  );
  if (handle === ffi.INVALID_HANDLE) fail('socket');
  return handle;
}

export function closeSocket(handle: Handle): void {
  if (ffi.closeSocket(handle) === SOCKET_ERROR) fail('closesocket');
}

/** Encodes a literal of `family` into the scratch sockaddr, or throws TypeError. */
function sockaddrOf(family: AddressFamily, address: string, port: number): number {
  const length = encodeSockaddr(sockaddrScratch, family, address, port);
  if (length < 0) throw new TypeError(`${JSON.stringify(address)} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  return length;
}

export function bind(handle: Handle, family: AddressFamily, address: string, port: number): void {
  const length = sockaddrOf(family, address, port);
  if (ffi.bind(handle, sockaddrScratch, length) === SOCKET_ERROR) fail('bind', { address, port });
}

export function listen(handle: Handle, backlog: number): void {
  if (ffi.listen(handle, backlog) === SOCKET_ERROR) fail('listen');
}

export function accept(handle: Handle): Handle {
  const accepted = ffi.accept(handle, null, null);
  if (accepted === ffi.INVALID_HANDLE) fail('accept');
  return accepted;
}

export function connect(handle: Handle, family: AddressFamily, address: string, port: number): void {
  const length = sockaddrOf(family, address, port);
  if (ffi.connect(handle, sockaddrScratch, length) === SOCKET_ERROR) fail('connect', { address, port });
}

/**
 * connect() that gives up after `timeoutMs`: the socket is made non-blocking for the
 * attempt and select() waits for it to become writable (connected) or to report an
 * exception (failed), which is how Windows reports a non-blocking connect's outcome.
 * Leaves the socket non-blocking; the caller restores its mode.
 */
export function connectWithTimeout(handle: Handle, family: AddressFamily, address: string, port: number, timeoutMs: number): void {
  const endpoint = { address, port };
  setBlocking(handle, false);
  const length = sockaddrOf(family, address, port);
  if (ffi.connect(handle, sockaddrScratch, length) === 0) return;
  const errno = ffi.lastError();
  if (errno !== WSAEWOULDBLOCK) throw new WinsockError('connect', errno, endpoint);
  // fd_set: u_int fd_count, then SOCKET fd_array[64] (8-byte aligned).
  const writeSet = Buffer.alloc(8 + 8 * 64);
  const exceptSet = Buffer.alloc(8 + 8 * 64);
  for (const set of [writeSet, exceptSet]) {
    set.writeUInt32LE(1, 0);
    set.writeBigUInt64LE(BigInt(handle), 8);
  }
  const timeval = new Int32Array([Math.floor(timeoutMs / 1000), (timeoutMs % 1000) * 1000]);
  const ready = ffi.select(null, writeSet, exceptSet, timeval);
  if (ready === SOCKET_ERROR) fail('select');
  if (ready === 0) throw new WinsockError('connect', WSAETIMEDOUT, endpoint);
  if (exceptSet.readUInt32LE(0) > 0) {
    const error = getIntOption(handle, SOL_SOCKET, SO_ERROR);
    throw new WinsockError('connect', error === 0 ? WSAETIMEDOUT : error, endpoint);
  }
}

/** send() once; returns the bytes the stack took. */
export function send(handle: Handle, data: Uint8Array): number {
  const sent = ffi.send(handle, data, Math.min(data.byteLength, 0x7fffffff), 0);
  if (sent === SOCKET_ERROR) fail('send');
  return sent;
}

/** send() once; -1 instead of an error when a non-blocking socket would block. */
export function trySend(handle: Handle, data: Uint8Array): number {
  const sent = ffi.send(handle, data, Math.min(data.byteLength, 0x7fffffff), 0);
  if (sent === SOCKET_ERROR) {
    const errno = ffi.lastError();
    if (errno === WSAEWOULDBLOCK) return -1;
    throw new WinsockError('send', errno);
  }
  return sent;
}

/** recv() once; 0 is the orderly end of the stream. */
export function recv(handle: Handle, buffer: Uint8Array): number {
  const received = ffi.recv(handle, buffer, Math.min(buffer.byteLength, 0x7fffffff), 0);
  if (received === SOCKET_ERROR) fail('recv');
  return received;
}

/** recv() once; -1 instead of an error when a non-blocking socket has nothing yet. */
export function tryRecv(handle: Handle, buffer: Uint8Array): number {
  const received = ffi.recv(handle, buffer, Math.min(buffer.byteLength, 0x7fffffff), 0);
  if (received === SOCKET_ERROR) {
    const errno = ffi.lastError();
    if (errno === WSAEWOULDBLOCK) return -1;
    throw new WinsockError('recv', errno);
  }
  return received;
}

export function sendTo(handle: Handle, data: Uint8Array, family: AddressFamily, address: string, port: number): number {
  const length = sockaddrOf(family, address, port);
  const sent = ffi.sendTo(handle, data, Math.min(data.byteLength, 0x7fffffff), 0, sockaddrScratch, length);
  if (sent === SOCKET_ERROR) fail('sendto', { address, port });
  return sent;
}

export function recvFrom(handle: Handle, buffer: Uint8Array): { bytes: number; from: SocketAddress | null } {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  const received = ffi.recvFrom(handle, buffer, Math.min(buffer.byteLength, 0x7fffffff), 0, sockaddrScratch, lengthCell);
  if (received === SOCKET_ERROR) fail('recvfrom');
  return { bytes: received, from: decodeSockaddr(sockaddrScratch.subarray(0, lengthCell[0])) };
}

export function shutdown(handle: Handle, how: number): void {
  if (ffi.shutdown(handle, how) === SOCKET_ERROR) fail('shutdown');
}

export function getOption(handle: Handle, level: number, name: number, size: number): Buffer {
  const value = Buffer.alloc(size);
  lengthCell[0] = size;
  if (ffi.getSockOpt(handle, level, name, value, lengthCell) === SOCKET_ERROR) fail('getsockopt');
  return value.subarray(0, lengthCell[0]);
}

export function setOption(handle: Handle, level: number, name: number, value: Uint8Array): void {
  if (ffi.setSockOpt(handle, level, name, value, value.byteLength) === SOCKET_ERROR) fail('setsockopt');
}

export function getIntOption(handle: Handle, level: number, name: number): number {
  intOption.fill(0);
  lengthCell[0] = 4;
  if (ffi.getSockOpt(handle, level, name, intOption, lengthCell) === SOCKET_ERROR) fail('getsockopt');
  // BOOL options may come back as a single byte.
  return lengthCell[0] === 1 ? intOption[0]! : intOption.readInt32LE(0);
}

export function setIntOption(handle: Handle, level: number, name: number, value: number): void {
  intOption.writeInt32LE(value | 0, 0);
  if (ffi.setSockOpt(handle, level, name, intOption, 4) === SOCKET_ERROR) fail('setsockopt');
}

export function setBlocking(handle: Handle, blocking: boolean): void {
  u32Cell[0] = blocking ? 0 : 1;
  if (ffi.ioctlSocket(handle, FIONBIO, u32Cell) === SOCKET_ERROR) fail('ioctlsocket');
}

export function bytesAvailable(handle: Handle): number {
  u32Cell[0] = 0;
  if (ffi.ioctlSocket(handle, FIONREAD, u32Cell) === SOCKET_ERROR) fail('ioctlsocket');
  return u32Cell[0]!;
}

/** SIO_KEEPALIVE_VALS: struct tcp_keepalive { u_long onoff, keepalivetime, keepaliveinterval }. */
export function setKeepAliveValues(handle: Handle, on: boolean, idleMs: number, intervalMs: number): void {
  const values = new Uint8Array(new Uint32Array([on ? 1 : 0, idleMs, intervalMs]).buffer);
  if (ffi.wsaIoctl(handle, SIO_KEEPALIVE_VALS, values, null, bytesReturnedCell) === SOCKET_ERROR) fail('WSAIoctl');
}

/**
 * SIO_LOOPBACK_FAST_PATH with TRUE. True when it took; false when the system
 * answers WSAEOPNOTSUPP (Windows 7, Wine: the fast path does not exist there).
 */
export function enableLoopbackFastPath(handle: Handle): boolean {
  const value = new Uint8Array(new Int32Array([1]).buffer);
  if (ffi.wsaIoctl(handle, SIO_LOOPBACK_FAST_PATH, value, null, bytesReturnedCell) === 0) return true;
  const errno = ffi.lastError();
  if (errno === WSAEOPNOTSUPP) return false;
  throw new WinsockError('WSAIoctl', errno);
}

export function localAddress(handle: Handle): SocketAddress {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  if (ffi.getSockName(handle, sockaddrScratch, lengthCell) === SOCKET_ERROR) fail('getsockname');
  return decodeOrThrow(sockaddrScratch.subarray(0, lengthCell[0]), 'getsockname');
}

export function remoteAddress(handle: Handle): SocketAddress {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  if (ffi.getPeerName(handle, sockaddrScratch, lengthCell) === SOCKET_ERROR) fail('getpeername');
  return decodeOrThrow(sockaddrScratch.subarray(0, lengthCell[0]), 'getpeername');
}

/** True when getpeername() succeeds, i.e. the socket has a connected peer. */
export function hasPeer(handle: Handle): boolean {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  return ffi.getPeerName(handle, sockaddrScratch, lengthCell) === 0;
}

function decodeOrThrow(bytes: Uint8Array, syscall: string): SocketAddress {
  const address = decodeSockaddr(bytes);
  if (address === null) throw new Error(`${syscall}: unsupported address family ${Buffer.from(bytes).readUInt16LE(0)}`);
  return address;
}

/** The family and type of an existing socket (SO_PROTOCOL_INFOW). */
export function describeSocket(handle: Handle): { family: AddressFamily; type: SocketType } {
  // WSAPROTOCOL_INFOW: iAddressFamily at offset 76, iSocketType at 88; 628 bytes.
  const info = getOption(handle, SOL_SOCKET, SO_PROTOCOL_INFOW, 628);
  const af = info.readInt32LE(76);
  const socketType = info.readInt32LE(88);
  if (af !== AF_INET && af !== AF_INET6) throw new TypeError(`handle ${handle} is a socket of address family ${af}; only IPv4 and IPv6 are supported`);
  if (socketType !== SOCK_STREAM && socketType !== SOCK_DGRAM) throw new TypeError(`handle ${handle} is a socket of type ${socketType}; only TCP and UDP are supported`);
  return { family: af === AF_INET ? 'ipv4' : 'ipv6', type: socketType === SOCK_STREAM ? 'tcp' : 'udp' };
}

/** GetAddrInfoW: the addresses a host name resolves to, in resolver order. */
export function resolve(host: string, family: AddressFamily | null, type: SocketType): SocketAddress[] {
  const af = family === null ? AF_UNSPEC : familyToAf(family);
  const { errno, addresses } = ffi.getAddrInfo(host, af, type === 'tcp' ? SOCK_STREAM : SOCK_DGRAM);
  if (errno !== 0) throw new WinsockError('getaddrinfo', errno, { address: host });
  const out: SocketAddress[] = [];
  for (const bytes of addresses) {
    const address = decodeSockaddr(bytes);
    if (address !== null) out.push(address);
  }
  return out;
}

/** One WSAPOLLFD record's worth of input and output. */
export interface PollRecord {
  handle: Handle;
  events: number;
  revents: number;
}

/** WSAPoll over `records`, filling in each `revents`; returns how many are ready. */
export function poll(records: PollRecord[], timeoutMs: number): number {
  const array = Buffer.alloc(16 * records.length);
  records.forEach((record, i) => {
    array.writeBigUInt64LE(BigInt(record.handle), 16 * i);
    array.writeInt16LE(record.events, 16 * i + 8);
  });
  const ready = ffi.wsaPoll(array, records.length, timeoutMs);
  if (ready === SOCKET_ERROR) fail('WSAPoll');
  records.forEach((record, i) => {
    record.revents = array.readUInt16LE(16 * i + 10);
  });
  return ready;
}

export function processHandleCount(): number {
  return ffi.processHandleCount();
}

export function wineVersion(): string | null {
  return ffi.isWindows() ? ffi.wineVersion() : null;
}
