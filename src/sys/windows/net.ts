// Socket operations over Winsock, typed: handles in, numbers and addresses out, a
// WinsockError on failure. Options and Windows-only features are named functions, so
// no Winsock number travels above sys/.

import { parseIPv4, parseIPv6 } from '../../base/address.ts';
import type { AddressFamily, SocketAddress } from '../../base/address.ts';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  FIONBIO,
  FIONREAD,
  FROM_PROTOCOL_INFO,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV6_ADD_MEMBERSHIP,
  IPV6_DROP_MEMBERSHIP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_V6ONLY,
  SD_BOTH,
  SD_RECEIVE,
  SD_SEND,
  SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER,
  SIO_KEEPALIVE_VALS,
  SIO_LOOPBACK_FAST_PATH,
  SIO_TCP_INFO,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKET_ERROR,
  SOL_SOCKET,
  SO_ACCEPTCONN,
  SO_BROADCAST,
  SO_ERROR,
  SO_EXCLUSIVEADDRUSE,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_PROTOCOL_INFOW,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSE_UNICASTPORT,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDTIMEO,
  TCP_FASTOPEN,
  TCP_KEEPCNT,
  TCP_NODELAY,
  WSA_FLAG_NO_HANDLE_INHERIT,
  WSA_FLAG_OVERLAPPED,
  WSA_FLAG_REGISTERED_IO,
  WSAEINVAL,
  WSAEOPNOTSUPP,
  WSAETIMEDOUT,
  WSAEWOULDBLOCK,
  WSAPROTOCOL_INFOW_SIZE,
} from './constants.ts';
import { check, lastError, WinsockError } from './error.ts';
import { bufferAddress, INVALID_HANDLE, isWindows, kernel32, ntdll, readNative, toHandle, ws2, WSAID_MULTIPLE_RIO } from './ffi.ts';
import type { Handle } from './ffi.ts';
import { decodeSockaddr, encodeSockaddr, familyToAf, SOCKADDR_STORAGE_SIZE } from './sockaddr.ts';
import { decodeTcpInfoV0, TCP_INFO_V0_SIZE } from './tcp-info.ts';
import type { TcpInfo } from './tcp-info.ts';

export type { TcpInfo, TcpState } from './tcp-info.ts';

export type SocketType = 'tcp' | 'udp';
export type ShutdownHow = 'send' | 'receive' | 'both';

/** The options a Socket sets by name: [level, option]. */
const INT_OPTIONS = {
  noDelay: [IPPROTO_TCP, TCP_NODELAY],
  reuseAddress: [SOL_SOCKET, SO_REUSEADDR],
  exclusiveAddressUse: [SOL_SOCKET, SO_EXCLUSIVEADDRUSE],
  keepAlive: [SOL_SOCKET, SO_KEEPALIVE],
  receiveBufferSize: [SOL_SOCKET, SO_RCVBUF],
  sendBufferSize: [SOL_SOCKET, SO_SNDBUF],
  receiveTimeout: [SOL_SOCKET, SO_RCVTIMEO],
  sendTimeout: [SOL_SOCKET, SO_SNDTIMEO],
  acceptConnections: [SOL_SOCKET, SO_ACCEPTCONN],
  broadcast: [SOL_SOCKET, SO_BROADCAST],
  reuseUnicastPort: [SOL_SOCKET, SO_REUSE_UNICASTPORT],
  keepAliveProbes: [IPPROTO_TCP, TCP_KEEPCNT],
  fastOpen: [IPPROTO_TCP, TCP_FASTOPEN],
  ipv6Only: [IPPROTO_IPV6, IPV6_V6ONLY],
} as const;

/** The multicast options of each family: the same names, at IPPROTO_IP or IPPROTO_IPV6. */
const MULTICAST = {
  ipv4: { level: IPPROTO_IP, hops: IP_MULTICAST_TTL, loop: IP_MULTICAST_LOOP, iface: IP_MULTICAST_IF, join: IP_ADD_MEMBERSHIP, leave: IP_DROP_MEMBERSHIP },
  ipv6: { level: IPPROTO_IPV6, hops: IPV6_MULTICAST_HOPS, loop: IPV6_MULTICAST_LOOP, iface: IPV6_MULTICAST_IF, join: IPV6_ADD_MEMBERSHIP, leave: IPV6_DROP_MEMBERSHIP },
} as const;

export type IntOption = keyof typeof INT_OPTIONS;

// Scratch cells reused by every synchronous call: JS runs one call at a time, and
// reusing them keeps the send/recv paths free of allocations.
const sockaddrScratch = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
const lengthCell = new Int32Array(1);
const u32Cell = new Uint32Array(1);
const bytesReturnedCell = new Uint32Array(1);
const intOption = Buffer.alloc(4);
/** send/recv take an int length. */
const MAX_IO = 0x7fffffff;

let started = false;

/** WSAStartup once per process, on first use; WSACleanup when the process exits. */
function ensureStarted(): void {
  if (started) return;
  const data = Buffer.alloc(512); // WSADATA is 408 bytes on x64
  const rc = ws2().WSAStartup(0x0202, data);
  if (rc !== 0) throw new WinsockError('WSAStartup', rc);
  started = true;
  process.once('exit', () => {
    ws2().WSACleanup();
  });
}

/** WSASocketW; `registeredIo` adds WSA_FLAG_REGISTERED_IO (the socket can take a RIO request queue). */
export function createSocket(family: AddressFamily, type: SocketType, registeredIo = false): Handle {
  ensureStarted();
  const handle = toHandle(
    ws2().WSASocketW(
      familyToAf(family),
      type === 'tcp' ? SOCK_STREAM : SOCK_DGRAM,
      type === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP,
      null,
      0,
      // Overlapped so that a completion port can take the socket later; not inherited
      // by child processes, as Node's own sockets are not.
      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT | (registeredIo ? WSA_FLAG_REGISTERED_IO : 0),
    ),
  );
  if (handle === INVALID_HANDLE) check(SOCKET_ERROR, 'socket');
  return handle;
}

export function closeSocket(handle: Handle): void {
  check(ws2().closesocket(handle), 'closesocket');
}

/** Encodes a literal of `family` into the scratch sockaddr, or throws TypeError. */
function sockaddrOf(family: AddressFamily, address: string, port: number): number {
  const length = encodeSockaddr(sockaddrScratch, family, address, port);
  if (length < 0) throw new TypeError(`${JSON.stringify(address)} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  return length;
}

export function bind(handle: Handle, family: AddressFamily, address: string, port: number): void {
  const length = sockaddrOf(family, address, port);
  check(ws2().bind(handle, sockaddrScratch, length), 'bind', { address, port });
}

export function listen(handle: Handle, backlog: number): void {
  check(ws2().listen(handle, backlog), 'listen');
}

export function accept(handle: Handle): Handle {
  const accepted = toHandle(ws2().accept(handle, null, null));
  if (accepted === INVALID_HANDLE) check(SOCKET_ERROR, 'accept');
  return accepted;
}

export function connect(handle: Handle, family: AddressFamily, address: string, port: number): void {
  const length = sockaddrOf(family, address, port);
  check(ws2().connect(handle, sockaddrScratch, length), 'connect', { address, port });
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
  if (ws2().connect(handle, sockaddrScratch, length) === 0) return;
  const errno = lastError();
  if (errno !== WSAEWOULDBLOCK) throw new WinsockError('connect', errno, endpoint);
  // fd_set: u_int fd_count, then SOCKET fd_array[64] (8-byte aligned).
  const writeSet = Buffer.alloc(8 + 8 * 64);
  const exceptSet = Buffer.alloc(8 + 8 * 64);
  for (const set of [writeSet, exceptSet]) {
    set.writeUInt32LE(1, 0);
    set.writeBigUInt64LE(BigInt(handle), 8);
  }
  const timeval = new Int32Array([Math.floor(timeoutMs / 1000), (timeoutMs % 1000) * 1000]);
  const ready = check(ws2().select(0, null, writeSet, exceptSet, timeval), 'select');
  if (ready === 0) throw new WinsockError('connect', WSAETIMEDOUT, endpoint);
  if (exceptSet.readUInt32LE(0) > 0) {
    const error = getRawIntOption(handle, SOL_SOCKET, SO_ERROR);
    throw new WinsockError('connect', error === 0 ? WSAETIMEDOUT : error, endpoint);
  }
}

/** send() once; returns the bytes the stack took. */
export function send(handle: Handle, data: Uint8Array): number {
  return check(ws2().send(handle, data, Math.min(data.byteLength, MAX_IO), 0), 'send');
}

/** send() once; -1 instead of an error when a non-blocking socket would block. */
export function trySend(handle: Handle, data: Uint8Array): number {
  const sent = ws2().send(handle, data, Math.min(data.byteLength, MAX_IO), 0);
  return sent === SOCKET_ERROR ? wouldBlock('send') : sent;
}

/** recv() once; 0 is the orderly end of the stream. */
export function recv(handle: Handle, buffer: Uint8Array): number {
  return check(ws2().recv(handle, buffer, Math.min(buffer.byteLength, MAX_IO), 0), 'recv');
}

/** recv() once; -1 instead of an error when a non-blocking socket has nothing yet. */
export function tryRecv(handle: Handle, buffer: Uint8Array): number {
  const received = ws2().recv(handle, buffer, Math.min(buffer.byteLength, MAX_IO), 0);
  return received === SOCKET_ERROR ? wouldBlock('recv') : received;
}

/** After a failed call: -1 for WSAEWOULDBLOCK, a WinsockError for anything else. */
function wouldBlock(syscall: string): -1 {
  const errno = lastError();
  if (errno === WSAEWOULDBLOCK) return -1;
  throw new WinsockError(syscall, errno);
}

export function sendTo(handle: Handle, data: Uint8Array, family: AddressFamily, address: string, port: number): number {
  const length = sockaddrOf(family, address, port);
  return check(ws2().sendto(handle, data, Math.min(data.byteLength, MAX_IO), 0, sockaddrScratch, length), 'sendto', { address, port });
}

export function recvFrom(handle: Handle, buffer: Uint8Array): { bytes: number; from: SocketAddress | null } {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  const received = check(ws2().recvfrom(handle, buffer, Math.min(buffer.byteLength, MAX_IO), 0, sockaddrScratch, lengthCell), 'recvfrom');
  return { bytes: received, from: decodeSockaddr(sockaddrScratch.subarray(0, lengthCell[0])) };
}

export function shutdown(handle: Handle, how: ShutdownHow): void {
  check(ws2().shutdown(handle, how === 'send' ? SD_SEND : how === 'receive' ? SD_RECEIVE : SD_BOTH), 'shutdown');
}

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

/** A named int or BOOL option (TCP_NODELAY, SO_RCVBUF, ...). */
export function getIntOption(handle: Handle, option: IntOption): number {
  const [level, name] = INT_OPTIONS[option];
  return getRawIntOption(handle, level, name);
}

export function setIntOption(handle: Handle, option: IntOption, value: number): void {
  const [level, name] = INT_OPTIONS[option];
  setRawIntOption(handle, level, name, value);
}

/** IP_MULTICAST_TTL (IPv4) or IPV6_MULTICAST_HOPS (IPv6). */
export function getMulticastHops(handle: Handle, family: AddressFamily): number {
  const { level, hops } = MULTICAST[family];
  return getRawIntOption(handle, level, hops);
}

export function setMulticastHops(handle: Handle, family: AddressFamily, value: number): void {
  const { level, hops } = MULTICAST[family];
  setRawIntOption(handle, level, hops, value);
}

/** IP_MULTICAST_LOOP or IPV6_MULTICAST_LOOP. */
export function getMulticastLoopback(handle: Handle, family: AddressFamily): boolean {
  const { level, loop } = MULTICAST[family];
  return getRawIntOption(handle, level, loop) !== 0;
}

export function setMulticastLoopback(handle: Handle, family: AddressFamily, on: boolean): void {
  const { level, loop } = MULTICAST[family];
  setRawIntOption(handle, level, loop, on ? 1 : 0);
}

const mreq = Buffer.alloc(20);

/** The 4 bytes of an IPv4 literal (network order), or TypeError. */
function ipv4Bytes(address: string): Uint8Array {
  const bytes = parseIPv4(address);
  if (bytes === null) throw new TypeError(`${JSON.stringify(address)} is not an IPv4 address`);
  return bytes;
}

/**
 * IP_MULTICAST_IF: the local IPv4 address to send multicast from (an IN_ADDR in network
 * order); IPV6_MULTICAST_IF: the interface index (0: the system's choice).
 */
export function setMulticastInterface(handle: Handle, family: AddressFamily, iface: string | number): void {
  const { level, iface: name } = MULTICAST[family];
  if (family === 'ipv4') {
    mreq.set(ipv4Bytes(iface as string), 0);
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
    mreq.set(ipv4Bytes(group), 0);
    mreq.set(ipv4Bytes(iface as string), 4);
    length = 8;
  } else {
    const parsed = parseIPv6(group);
    if (parsed === null) throw new TypeError(`${JSON.stringify(group)} is not an IPv6 address`);
    mreq.set(parsed.bytes, 0);
    mreq.writeUInt32LE(iface as number, 16);
    length = 20;
  }
  check(ws2().setsockopt(handle, level, join ? add : leave, mreq, length), 'setsockopt');
}

const lingerCell = Buffer.alloc(4);

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

// sendv/recvv: a WSABUF array (u_long len; char *buf: 16 bytes each on x64) pointing at
// the caller's buffers for the duration of one synchronous WSASend/WSARecv. Reused.
let vectorArray = Buffer.alloc(16 * 16);
const vectorCount = new Uint32Array(1);
const vectorFlags = new Uint32Array(1);
/** What a zero-length WSABUF points at (never read or written). */
const emptyTarget = Buffer.alloc(1);

/** Fills the WSABUF array with `buffers[0, count)`, skipping empty ones; returns how many it wrote (at least 1). */
function fillVector(buffers: readonly Uint8Array[], count: number): number {
  if (vectorArray.length < 16 * count) vectorArray = Buffer.alloc(16 * Math.max(count, 2 * vectorArray.length / 16));
  let used = 0;
  for (let i = 0; i < count; i++) {
    const buffer = buffers[i]!;
    if (buffer.byteLength === 0) continue;
    vectorArray.writeUInt32LE(buffer.byteLength, 16 * used);
    vectorArray.writeBigUInt64LE(bufferAddress(buffer), 16 * used + 8);
    used++;
  }
  if (used === 0) {
    // All empty: one zero-length WSABUF, so that UDP still sends an empty datagram.
    vectorArray.writeUInt32LE(0, 0);
    vectorArray.writeBigUInt64LE(bufferAddress(emptyTarget), 8);
    used = 1;
  }
  return used;
}

/** One synchronous WSASend of `buffers[0, count)` (a WSABUF each, read in place); the bytes sent. */
export function sendv(handle: Handle, buffers: readonly Uint8Array[], count: number): number {
  const used = fillVector(buffers, count);
  vectorCount[0] = 0;
  check(ws2().WSASend(handle, vectorArray, used, vectorCount, 0, null, null), 'WSASend');
  return vectorCount[0]!;
}

/** One synchronous WSARecv into `buffers[0, count)`, filled in order; the bytes received (0: end of stream). */
export function recvv(handle: Handle, buffers: readonly Uint8Array[], count: number): number {
  const used = fillVector(buffers, count);
  vectorCount[0] = 0;
  vectorFlags[0] = 0;
  check(ws2().WSARecv(handle, vectorArray, used, vectorCount, vectorFlags, null, null), 'WSARecv');
  return vectorCount[0]!;
}

/** SIO_TCP_INFO with version 0: TCP_INFO_v0. WSAEOPNOTSUPP before Windows 10 1703 and under Wine. */
export function tcpInfo(handle: Handle): TcpInfo {
  const version = Buffer.alloc(4); // DWORD 0: TCP_INFO_v0
  const info = Buffer.alloc(TCP_INFO_V0_SIZE);
  check(wsaIoctl(handle, SIO_TCP_INFO, version, info), 'WSAIoctl');
  return decodeTcpInfoV0(info);
}

/** GetCurrentProcessId. */
export function currentProcessId(): number {
  return kernel32().GetCurrentProcessId();
}

/** WSADuplicateSocketW: a WSAPROTOCOL_INFOW (628 bytes) from which process `processId` can make its own handle. */
export function duplicateSocket(handle: Handle, processId: number): Buffer {
  const info = Buffer.alloc(WSAPROTOCOL_INFOW_SIZE);
  check(ws2().WSADuplicateSocketW(handle, processId >>> 0, info), 'WSADuplicateSocketW');
  return info;
}

/** WSASocketW(FROM_PROTOCOL_INFO) over a WSADuplicateSocketW result meant for this process: overlapped, not inherited. */
export function socketFromProtocolInfo(info: Uint8Array): Handle {
  ensureStarted();
  const handle = toHandle(ws2().WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, info, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT));
  if (handle === INVALID_HANDLE) check(SOCKET_ERROR, 'WSASocketW');
  return handle;
}

/** FIONBIO. */
export function setBlocking(handle: Handle, blocking: boolean): void {
  u32Cell[0] = blocking ? 0 : 1;
  check(ws2().ioctlsocket(handle, FIONBIO | 0, u32Cell), 'ioctlsocket');
}

/** FIONREAD. */
export function bytesAvailable(handle: Handle): number {
  u32Cell[0] = 0;
  check(ws2().ioctlsocket(handle, FIONREAD | 0, u32Cell), 'ioctlsocket');
  return u32Cell[0]!;
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
  if (wsaIoctl(handle, SIO_LOOPBACK_FAST_PATH, value, null) === 0) return true;
  const errno = lastError();
  if (errno === WSAEOPNOTSUPP) return false;
  throw new WinsockError('WSAIoctl', errno);
}

/**
 * WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) into `table`
 * (an RIO_EXTENSION_FUNCTION_TABLE): 0 when the system filled it, else the Winsock error
 * it answered with (WSAEOPNOTSUPP under Wine and before Windows 8). See rio.ts.
 */
export function fetchRioTable(handle: Handle, table: Uint8Array): number {
  return wsaIoctl(handle, SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO, table) === 0 ? 0 : lastError();
}

export function localAddress(handle: Handle): SocketAddress {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  check(ws2().getsockname(handle, sockaddrScratch, lengthCell), 'getsockname');
  return decodeOrThrow(sockaddrScratch.subarray(0, lengthCell[0]), 'getsockname');
}

export function remoteAddress(handle: Handle): SocketAddress {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  check(ws2().getpeername(handle, sockaddrScratch, lengthCell), 'getpeername');
  return decodeOrThrow(sockaddrScratch.subarray(0, lengthCell[0]), 'getpeername');
}

/** True when getpeername() succeeds, i.e. the socket has a connected peer. */
export function hasPeer(handle: Handle): boolean {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  return ws2().getpeername(handle, sockaddrScratch, lengthCell) === 0;
}

/** True when getsockname() succeeds, i.e. the socket is bound (WSAEINVAL otherwise). */
export function isBound(handle: Handle): boolean {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  if (ws2().getsockname(handle, sockaddrScratch, lengthCell) === 0) return true;
  const errno = lastError();
  if (errno === WSAEINVAL) return false;
  throw new WinsockError('getsockname', errno);
}

function decodeOrThrow(bytes: Uint8Array, syscall: string): SocketAddress {
  const address = decodeSockaddr(bytes);
  if (address === null) throw new Error(`${syscall}: unsupported address family ${Buffer.from(bytes).readUInt16LE(0)}`);
  return address;
}

// WSAPROTOCOL_INFOW (628 bytes): iAddressFamily at offset 76, iSocketType at 88.
const INFO_FAMILY = 76;
const INFO_TYPE = 88;

/** The family and type of an existing socket (SO_PROTOCOL_INFOW). */
export function describeSocket(handle: Handle): { family: AddressFamily; type: SocketType } {
  const info = getRawOption(handle, SOL_SOCKET, SO_PROTOCOL_INFOW, WSAPROTOCOL_INFOW_SIZE);
  const af = info.readInt32LE(INFO_FAMILY);
  const socketType = info.readInt32LE(INFO_TYPE);
  if (af !== AF_INET && af !== AF_INET6) throw new TypeError(`handle ${handle} is a socket of address family ${af}; only IPv4 and IPv6 are supported`);
  if (socketType !== SOCK_STREAM && socketType !== SOCK_DGRAM) throw new TypeError(`handle ${handle} is a socket of type ${socketType}; only TCP and UDP are supported`);
  return { family: af === AF_INET ? 'ipv4' : 'ipv6', type: socketType === SOCK_STREAM ? 'tcp' : 'udp' };
}

/**
 * Whether `handle` is a socket of the kind `info` (a WSAPROTOCOL_INFOW) describes: the same
 * address family and type as its own SO_PROTOCOL_INFOW. (Not the protocol: a socket made
 * from an info with protocol 0 gets the type's own.) Throws WinsockError when the handle is
 * no socket (WSAENOTSOCK).
 */
export function matchesProtocolInfo(handle: Handle, info: Uint8Array): boolean {
  const own = getRawOption(handle, SOL_SOCKET, SO_PROTOCOL_INFOW, WSAPROTOCOL_INFOW_SIZE);
  const given = Buffer.from(info.buffer, info.byteOffset, info.byteLength);
  return own.readInt32LE(INFO_FAMILY) === given.readInt32LE(INFO_FAMILY) && own.readInt32LE(INFO_TYPE) === given.readInt32LE(INFO_TYPE);
}

/** GetAddrInfoW: the addresses a host name resolves to, in resolver order (it reports errors itself, not through WSAGetLastError). */
export function resolve(host: string, family: AddressFamily | null, type: SocketType): SocketAddress[] {
  ensureStarted();
  // ADDRINFOW on x64: int flags, family, socktype, protocol; size_t addrlen;
  // wchar_t *canonname; sockaddr *addr; ADDRINFOW *next. 48 bytes.
  const hints = Buffer.alloc(48);
  hints.writeInt32LE(family === null ? AF_UNSPEC : familyToAf(family), 4);
  hints.writeInt32LE(type === 'tcp' ? SOCK_STREAM : SOCK_DGRAM, 8);
  const out: unknown[] = [null];
  const errno = ws2().GetAddrInfoW(host, null, hints, out);
  if (errno !== 0) throw new WinsockError('getaddrinfo', errno, { address: host });
  const head = out[0];
  const addresses: SocketAddress[] = [];
  try {
    let node = head;
    while (node !== null && node !== undefined && node !== 0n) {
      const record = readNative(node, 48);
      const addrLength = Number(record.readBigUInt64LE(16));
      const addrPointer = record.readBigUInt64LE(32);
      if (addrPointer !== 0n && addrLength > 0) {
        const address = decodeSockaddr(readNative(addrPointer, addrLength));
        if (address !== null) addresses.push(address);
      }
      const next = record.readBigUInt64LE(40);
      node = next === 0n ? null : next;
    }
  } finally {
    ws2().FreeAddrInfoW(head);
  }
  return addresses;
}

/** One WSAPOLLFD record's worth of input and output. */
export interface PollRecord {
  handle: Handle;
  events: number;
  revents: number;
}

/** WSAPoll over `records`, filling in each `revents`; returns how many are ready. */
export function poll(records: PollRecord[], timeoutMs: number): number {
  // WSAPOLLFD: SOCKET fd; short events; short revents (16 bytes with padding).
  const array = Buffer.alloc(16 * records.length);
  records.forEach((record, i) => {
    array.writeBigUInt64LE(BigInt(record.handle), 16 * i);
    array.writeInt16LE(record.events, 16 * i + 8);
  });
  const ready = check(ws2().WSAPoll(array, records.length, timeoutMs), 'WSAPoll');
  records.forEach((record, i) => {
    record.revents = array.readUInt16LE(16 * i + 10);
  });
  return ready;
}

// --- The process and the machine ---------------------------------------------------

/** GetProcessHandleCount for this process; Wine 8 answers 0 (a stub). */
export function processHandleCount(): number {
  const out = [0];
  const ok = kernel32().GetProcessHandleCount(kernel32().GetCurrentProcess(), out);
  return ok ? (out[0] as number) : -1;
}

/** Wine's version when the process runs under Wine (ntdll exports wine_get_version), else null. */
export function wineVersion(): string | null {
  return isWindows() ? (ntdll('wine_get_version')?.() ?? null) : null;
}

/** The Windows version the OS reports (RtlGetVersion does not lie about manifests). */
export function windowsVersion(): { major: number; minor: number; build: number } {
  // RTL_OSVERSIONINFOW: ULONG size, major, minor, build, platform; WCHAR csd[128]. 276 bytes.
  const info = Buffer.alloc(276);
  info.writeUInt32LE(276, 0);
  ntdll('RtlGetVersion')?.(info);
  return { major: info.readUInt32LE(4), minor: info.readUInt32LE(8), build: info.readUInt32LE(12) };
}

/** QueryPerformanceCounter into an 8-byte cell (no allocation per call). */
export function queryPerformanceCounter(cell: BigInt64Array): void {
  kernel32().QueryPerformanceCounter(cell);
}

export function queryPerformanceFrequency(): bigint {
  const out: unknown[] = [0n];
  kernel32().QueryPerformanceFrequency(out);
  return BigInt(out[0] as bigint | number);
}

/** WSAGetLastError, for the benchmark that times one FFI call. */
export { lastError } from './error.ts';
