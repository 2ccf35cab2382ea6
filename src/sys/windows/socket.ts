// A socket's life and its data, typed: WSAStartup, creating, binding, connecting,
// accepting, sending, receiving, shutting down and closing, and the addresses at each end.
// Handles in, numbers and addresses out, a WinsockError on failure.

import type { AddressFamily, SocketAddress } from '../../base/address.ts';
import {
  FIONREAD,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SD_BOTH,
  SD_RECEIVE,
  SD_SEND,
  SOCK_DGRAM,
  SOCK_STREAM,
  SOCKET_ERROR,
  SOL_SOCKET,
  SO_ERROR,
  WSA_FLAG_NO_HANDLE_INHERIT,
  WSA_FLAG_OVERLAPPED,
  WSA_FLAG_REGISTERED_IO,
  WSAEINVAL,
  WSAETIMEDOUT,
  WSAEWOULDBLOCK,
  POLLRDNORM,
} from './constants.ts';
import { check, checkErrno, checkSocket, failedWith, WinsockError } from './error.ts';
import { bufferAddress, INVALID_HANDLE, toHandle, writePointer, ws2 } from './ffi.ts';
import type { Handle } from './ffi.ts';
import { getRawIntOption, setBlocking } from './options.ts';
import { poll } from './poll.ts';
import type { PollRecord } from './poll.ts';
import { decodeSockaddr, familyToAf, SOCKADDR_STORAGE_SIZE, writeSockaddr } from './sockaddr.ts';

export type SocketType = 'tcp' | 'udp';
export type ShutdownHow = 'send' | 'receive' | 'both';

// Scratch cells reused by every synchronous call: JS runs one call at a time, and
// reusing them keeps the send/recv paths free of allocations.
const sockaddrScratch = Buffer.alloc(SOCKADDR_STORAGE_SIZE);
const lengthCell = new Int32Array(1);
const u32Cell = new Uint32Array(1);
/** send/recv take an int length. */
const MAX_IO = 0x7fffffff;

let started = false;

/** WSAStartup once per process, before the first socket or name lookup; WSACleanup when the process exits. */
export function ensureStarted(): void {
  if (started) return;
  const data = Buffer.alloc(512); // WSADATA is 408 bytes on x64
  checkErrno(ws2().WSAStartup(0x0202, data), 'WSAStartup');
  started = true;
  process.once('exit', () => {
    ws2().WSACleanup();
  });
}

/** WSASocketW; `registeredIo` adds WSA_FLAG_REGISTERED_IO (the socket can take a RIO request queue). */
export function createSocket(family: AddressFamily, type: SocketType, registeredIo = false): Handle {
  ensureStarted();
  return checkSocket(
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
    'socket',
  );
}

export function closeSocket(handle: Handle): void {
  check(ws2().closesocket(handle), 'closesocket');
}

export function bind(handle: Handle, family: AddressFamily, address: string, port: number): void {
  const length = writeSockaddr(sockaddrScratch, family, address, port);
  check(ws2().bind(handle, sockaddrScratch, length), 'bind', { address, port });
}

export function listen(handle: Handle, backlog: number): void {
  check(ws2().listen(handle, backlog), 'listen');
}

export function accept(handle: Handle): Handle {
  return checkSocket(ws2().accept(handle, null, null), 'accept');
}

/** One WSAPOLLFD asking whether a connection waits in a listener's queue (its reuse allocates nothing). */
const queuedPoll: PollRecord[] = [{ handle: 0, events: POLLRDNORM, revents: 0 }];

/**
 * A connection already waiting in the listener's queue, accepted without blocking, or
 * null when none waits (WSAPoll with no wait, then accept() with the listener
 * non-blocking for the call; `blocking` says the mode to put back). Another process
 * holding the same listener may take the connection between the two: then null too. The
 * accepted socket inherits the non-blocking mode.
 */
export function acceptQueued(handle: Handle, blocking: boolean): Handle | null {
  const record = queuedPoll[0]!;
  record.handle = handle;
  record.revents = 0;
  if (poll(queuedPoll, 0) === 0 || (record.revents & POLLRDNORM) === 0) return null;
  if (blocking) setBlocking(handle, false);
  try {
    const accepted = toHandle(ws2().accept(handle, null, null));
    return failedWith(accepted === INVALID_HANDLE, WSAEWOULDBLOCK, 'accept') ? null : accepted;
  } finally {
    if (blocking) setBlocking(handle, true);
  }
}

export function connect(handle: Handle, family: AddressFamily, address: string, port: number): void {
  const length = writeSockaddr(sockaddrScratch, family, address, port);
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
  const length = writeSockaddr(sockaddrScratch, family, address, port);
  if (!failedWith(ws2().connect(handle, sockaddrScratch, length) !== 0, WSAEWOULDBLOCK, 'connect', endpoint)) return;
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
  return failedWith(sent === SOCKET_ERROR, WSAEWOULDBLOCK, 'send') ? -1 : sent;
}

/** recv() once; 0 is the orderly end of the stream. */
export function recv(handle: Handle, buffer: Uint8Array): number {
  return check(ws2().recv(handle, buffer, Math.min(buffer.byteLength, MAX_IO), 0), 'recv');
}

/** recv() once; -1 instead of an error when a non-blocking socket has nothing yet. */
export function tryRecv(handle: Handle, buffer: Uint8Array): number {
  const received = ws2().recv(handle, buffer, Math.min(buffer.byteLength, MAX_IO), 0);
  return failedWith(received === SOCKET_ERROR, WSAEWOULDBLOCK, 'recv') ? -1 : received;
}

export function sendTo(handle: Handle, data: Uint8Array, family: AddressFamily, address: string, port: number): number {
  const length = writeSockaddr(sockaddrScratch, family, address, port);
  return check(ws2().sendto(handle, data, Math.min(data.byteLength, MAX_IO), 0, sockaddrScratch, length), 'sendto', { address, port });
}

export function recvFrom(handle: Handle, buffer: Uint8Array): { bytes: number; from: SocketAddress | null } {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  const received = check(ws2().recvfrom(handle, buffer, Math.min(buffer.byteLength, MAX_IO), 0, sockaddrScratch, lengthCell), 'recvfrom');
  return { bytes: received, from: decodeSockaddr(sockaddrScratch.subarray(0, lengthCell[0])) };
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
    writePointer(vectorArray, 16 * used + 8, bufferAddress(buffer));
    used++;
  }
  if (used === 0) {
    // All empty: one zero-length WSABUF, so that UDP still sends an empty datagram.
    vectorArray.writeUInt32LE(0, 0);
    writePointer(vectorArray, 8, bufferAddress(emptyTarget));
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

/** FIONREAD: the bytes a recv() would return now. */
export function bytesAvailable(handle: Handle): number {
  u32Cell[0] = 0;
  check(ws2().ioctlsocket(handle, FIONREAD | 0, u32Cell), 'ioctlsocket');
  return u32Cell[0]!;
}

export function shutdown(handle: Handle, how: ShutdownHow): void {
  check(ws2().shutdown(handle, how === 'send' ? SD_SEND : how === 'receive' ? SD_RECEIVE : SD_BOTH), 'shutdown');
}

// --- The two ends ----------------------------------------------------------------------

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

/** True when getpeername() succeeds, i.e. the socket has a connected peer. Any failure means no peer: a question, not an error. */
export function hasPeer(handle: Handle): boolean {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  return ws2().getpeername(handle, sockaddrScratch, lengthCell) === 0;
}

/** True when getsockname() succeeds, i.e. the socket is bound (WSAEINVAL otherwise). */
export function isBound(handle: Handle): boolean {
  lengthCell[0] = SOCKADDR_STORAGE_SIZE;
  return !failedWith(ws2().getsockname(handle, sockaddrScratch, lengthCell) !== 0, WSAEINVAL, 'getsockname');
}

function decodeOrThrow(bytes: Uint8Array, syscall: string): SocketAddress {
  const address = decodeSockaddr(bytes);
  if (address === null) throw new Error(`${syscall}: unsupported address family ${Buffer.from(bytes).readUInt16LE(0)}`);
  return address;
}
