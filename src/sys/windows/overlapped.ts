// Overlapped Winsock calls and completion-port calls, typed. Each issue* function
// returns 0 when the operation finished at once, WSA_IO_PENDING when the completion
// will come later, or the Winsock error it failed with (no completion will come).
// The memory the OS writes to after the call returns lives in an OverlappedSlot.

import type { AddressFamily, SocketAddress } from '../../address.ts';
import { WinsockError } from '../../errors.ts';
import {
  SIO_GET_EXTENSION_FUNCTION_POINTER,
  SOCKET_ERROR,
  SOL_SOCKET,
  SO_UPDATE_ACCEPT_CONTEXT,
  SO_UPDATE_CONNECT_CONTEXT,
  WSA_IO_PENDING,
  WSA_OPERATION_ABORTED,
  FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
} from './constants.ts';
import * as ffi from './ffi.ts';
import type { ExtensionFunction, Handle } from './ffi.ts';
import { PinnedMemory } from './ffi.ts';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_STORAGE_SIZE } from './sockaddr.ts';

export { PinnedMemory } from './ffi.ts';

/** sizeof(OVERLAPPED) on x64: Internal, InternalHigh, Offset, OffsetHigh, hEvent. */
const OVERLAPPED_SIZE = 32;
/** sizeof(OVERLAPPED_ENTRY) on x64: key, lpOverlapped, Internal, bytes (+ padding). */
export const OVERLAPPED_ENTRY_SIZE = 32;
/** AcceptEx wants 16 bytes more than the largest address for each of its two addresses. */
const ACCEPT_ADDRESS_LENGTH = SOCKADDR_STORAGE_SIZE + 16;

/**
 * The native memory of one overlapped operation. Pooled by the completion port:
 * it is handed to the OS when the operation is issued and taken back only when
 * the operation's completion has been dequeued (or when it failed at once).
 */
export class OverlappedSlot {
  /** OVERLAPPED: Internal holds the NTSTATUS, InternalHigh the byte count. */
  readonly overlapped = new PinnedMemory(OVERLAPPED_SIZE);
  /** One WSABUF (u_long len; char *buf) pointing into `data`. */
  readonly wsabuf = new PinnedMemory(16);
  /** The WSARecv flags cell at 0, AcceptEx's byte count at 4. */
  readonly cells = new PinnedMemory(8);
  /** AcceptEx's two addresses, or ConnectEx's target. Allocated the first time it is needed. */
  #addresses: PinnedMemory | null = null;

  /** The number completion entries name this slot by (its OVERLAPPED's address). */
  get key(): number {
    return this.overlapped.key;
  }

  get addresses(): PinnedMemory {
    this.#addresses ??= new PinnedMemory(2 * ACCEPT_ADDRESS_LENGTH);
    return this.#addresses;
  }

  /** Clears the OVERLAPPED before reuse: the OS expects Internal and the offsets zeroed. */
  reset(): void {
    this.overlapped.bytes.fill(0);
    this.cells.bytes.fill(0);
  }

  /** NTSTATUS of the finished operation (0 = success). */
  get status(): number {
    return this.overlapped.bytes.readUInt32LE(0);
  }

  /** Bytes the finished operation moved (OVERLAPPED.InternalHigh). */
  get bytesTransferred(): number {
    // Two 32-bit halves rather than readBigUInt64LE: no BigInt per completion.
    const bytes = this.overlapped.bytes;
    return bytes.readUInt32LE(8) + bytes.readUInt32LE(12) * 0x1_0000_0000;
  }

  free(): void {
    this.overlapped.free();
    this.wsabuf.free();
    this.cells.free();
    this.#addresses?.free();
  }
}

function issued(rc: number): number {
  if (rc !== SOCKET_ERROR) return 0;
  return ffi.lastError();
}

/** WSARecv into `data[0, length)`. */
export function issueRecv(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, length: number): number {
  ffi.setWsaBuf(slot.wsabuf, 0, data, 0, length);
  return issued(ffi.wsaRecv(handle, slot.wsabuf, 1, slot.cells, slot.overlapped));
}

/** WSASend of `data[0, length)`. */
export function issueSend(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, length: number): number {
  ffi.setWsaBuf(slot.wsabuf, 0, data, 0, length);
  return issued(ffi.wsaSend(handle, slot.wsabuf, 1, slot.overlapped));
}

// Extension functions, fetched once per process (the Microsoft TCP provider serves
// every socket this package creates).
const WSAID_ACCEPTEX = guid(0xb5367df1, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]);
const WSAID_GETACCEPTEXSOCKADDRS = guid(0xb5367df2, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]);
const WSAID_CONNECTEX = guid(0x25a207b9, 0xddf3, 0x4660, [0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e]);

let acceptExFn: ExtensionFunction | null = null;
let getAcceptExSockaddrsFn: ExtensionFunction | null = null;
let connectExFn: ExtensionFunction | null = null;

function guid(data1: number, data2: number, data3: number, data4: number[]): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32LE(data1, 0);
  bytes.writeUInt16LE(data2, 4);
  bytes.writeUInt16LE(data3, 6);
  Buffer.from(data4).copy(bytes, 8);
  return bytes;
}

function fetchExtension(handle: Handle, id: Buffer, prototype: string): ExtensionFunction {
  const { errno, fn } = ffi.extensionFunction(handle, SIO_GET_EXTENSION_FUNCTION_POINTER, id, prototype);
  if (fn === null) throw new WinsockError('WSAIoctl', errno);
  return fn;
}

function acceptEx(handle: Handle): ExtensionFunction {
  acceptExFn ??= fetchExtension(
    handle,
    WSAID_ACCEPTEX,
    'int __stdcall AcceptEx(uintptr_t sListenSocket, uintptr_t sAcceptSocket, void *lpOutputBuffer, uint32_t dwReceiveDataLength, uint32_t dwLocalAddressLength, uint32_t dwRemoteAddressLength, void *lpdwBytesReceived, void *lpOverlapped)',
  );
  return acceptExFn;
}

function getAcceptExSockaddrs(handle: Handle): ExtensionFunction {
  getAcceptExSockaddrsFn ??= fetchExtension(
    handle,
    WSAID_GETACCEPTEXSOCKADDRS,
    'void __stdcall GetAcceptExSockaddrs(void *lpOutputBuffer, uint32_t dwReceiveDataLength, uint32_t dwLocalAddressLength, uint32_t dwRemoteAddressLength, _Out_ void **LocalSockaddr, _Out_ int *LocalSockaddrLength, _Out_ void **RemoteSockaddr, _Out_ int *RemoteSockaddrLength)',
  );
  return getAcceptExSockaddrsFn;
}

function connectEx(handle: Handle): ExtensionFunction {
  connectExFn ??= fetchExtension(
    handle,
    WSAID_CONNECTEX,
    'int __stdcall ConnectEx(uintptr_t s, void *name, int namelen, void *lpSendBuffer, uint32_t dwSendDataLength, void *lpdwBytesSent, void *lpOverlapped)',
  );
  return connectExFn;
}

/** Fetches the extension functions now (with `handle`), so that a failure shows where it belongs. */
export function loadExtensions(handle: Handle): void {
  acceptEx(handle);
  getAcceptExSockaddrs(handle);
  connectEx(handle);
}

function boolIssued(ok: number): number {
  if (ok !== 0) return 0;
  return ffi.lastError();
}

/** AcceptEx(listener, acceptSocket): no data is read with the connection. */
export function issueAccept(listener: Handle, acceptSocket: Handle, slot: OverlappedSlot): number {
  const fn = acceptEx(listener);
  return boolIssued(
    ffi.callExtension(fn, listener, acceptSocket, slot.addresses, 0, ACCEPT_ADDRESS_LENGTH, ACCEPT_ADDRESS_LENGTH, [slot.cells, 4], slot.overlapped),
  );
}

/** The local and remote addresses AcceptEx wrote into the slot. */
export function acceptedAddresses(listener: Handle, slot: OverlappedSlot): { local: SocketAddress | null; remote: SocketAddress | null } {
  const where = ffi.acceptExSockaddrs(getAcceptExSockaddrs(listener), slot.addresses, 0, ACCEPT_ADDRESS_LENGTH, ACCEPT_ADDRESS_LENGTH);
  const bytes = slot.addresses.bytes;
  return {
    local: decodeSockaddr(bytes.subarray(where.localOffset, where.localOffset + where.localLength)),
    remote: decodeSockaddr(bytes.subarray(where.remoteOffset, where.remoteOffset + where.remoteLength)),
  };
}

/** ConnectEx to `address:port` (the socket must be bound); the target is kept in the slot. */
export function issueConnect(handle: Handle, slot: OverlappedSlot, family: AddressFamily, address: string, port: number): number {
  const fn = connectEx(handle);
  const length = encodeSockaddr(slot.addresses.bytes, family, address, port);
  if (length < 0) throw new TypeError(`${JSON.stringify(address)} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  return boolIssued(ffi.callExtension(fn, handle, slot.addresses, length, null, 0, null, slot.overlapped));
}

const handleCell = Buffer.alloc(8);

/** SO_UPDATE_ACCEPT_CONTEXT: the accepted socket inherits the listener's properties and can shutdown(), getpeername() etc. */
export function updateAcceptContext(accepted: Handle, listener: Handle): void {
  handleCell.writeBigUInt64LE(BigInt(listener), 0);
  if (ffi.setSockOpt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, handleCell, 8) === SOCKET_ERROR) {
    throw new WinsockError('setsockopt', ffi.lastError());
  }
}

/** SO_UPDATE_CONNECT_CONTEXT: a ConnectEx'd socket then behaves as a connect()ed one. */
export function updateConnectContext(handle: Handle): void {
  if (ffi.setSockOpt(handle, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, null, 0) === SOCKET_ERROR) {
    throw new WinsockError('setsockopt', ffi.lastError());
  }
}

/** The exact Winsock error of a finished operation on a socket that is still open. */
export function overlappedErrno(handle: Handle, slot: OverlappedSlot): number {
  return ffi.overlappedError(handle, slot.overlapped);
}

// NTSTATUS values a socket operation ends with, for a socket that is already closed
// (its handle may belong to someone else now, so WSAGetOverlappedResult is out).
const statusErrors = new Map<number, number>([
  [0xc0000120, WSA_OPERATION_ABORTED], // STATUS_CANCELLED
  [0xc000020d, 10054], // STATUS_CONNECTION_RESET
  [0xc000013c, 10054], // STATUS_REMOTE_DISCONNECT
  [0xc0000236, 10061], // STATUS_CONNECTION_REFUSED
  [0xc0000241, 10053], // STATUS_CONNECTION_ABORTED
  [0xc000013b, 10053], // STATUS_LOCAL_DISCONNECT
  [0xc00000b5, 10060], // STATUS_IO_TIMEOUT
]);

/** The Winsock error for an NTSTATUS when the socket is gone: anything unknown reads as aborted. */
export function statusErrno(status: number): number {
  return statusErrors.get(status >>> 0) ?? WSA_OPERATION_ABORTED;
}

// --- Completion ports --------------------------------------------------------

export function createPort(): Handle {
  const handle = ffi.createIoCompletionPort(ffi.INVALID_HANDLE, 0, 0, 1);
  if (handle === ffi.INVALID_HANDLE) throw new WinsockError('CreateIoCompletionPort', ffi.lastSystemError());
  return handle;
}

export function closePort(port: Handle): void {
  ffi.closeHandle(port);
}

/** Associates a socket with a port; completions for it then carry `key`. */
export function associate(handle: Handle, port: Handle, key: number): void {
  const result = ffi.createIoCompletionPort(handle, port, key, 0);
  if (result === ffi.INVALID_HANDLE) throw new WinsockError('CreateIoCompletionPort', ffi.lastSystemError());
}

export function setSkipCompletionOnSuccess(handle: Handle): void {
  if (!ffi.setFileCompletionNotificationModes(handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS)) {
    throw new WinsockError('SetFileCompletionNotificationModes', ffi.lastSystemError());
  }
}

const WAIT_TIMEOUT = 258;

/** GetQueuedCompletionStatusEx: how many entries were removed (0 on timeout). */
export function dequeue(port: Handle, entries: PinnedMemory, count: number, removed: PinnedMemory, timeoutMs: number): number {
  removed.bytes.writeUInt32LE(0, 0);
  if (ffi.getQueuedCompletionStatusEx(port, entries, count, removed, timeoutMs)) return removed.bytes.readUInt32LE(0);
  const errno = ffi.lastSystemError();
  if (errno === WAIT_TIMEOUT) return 0;
  throw new WinsockError('GetQueuedCompletionStatusEx', errno);
}

/**
 * The same on a worker thread. `done` gets the number of entries removed, or 0 when
 * the wait timed out or failed (the error is not readable from this thread: it was
 * set on the worker's).
 */
export function dequeueAsync(
  port: Handle,
  entries: PinnedMemory,
  count: number,
  removed: PinnedMemory,
  timeoutMs: number,
  done: (error: Error | null, removedCount: number) => void,
): void {
  removed.bytes.writeUInt32LE(0, 0);
  ffi.getQueuedCompletionStatusExAsync(port, entries, count, removed, timeoutMs, (error, ok) => {
    if (error) done(error instanceof Error ? error : new Error(String(error)), 0);
    else done(null, ok ? removed.bytes.readUInt32LE(0) : 0);
  });
}

/** Posts an empty packet (no OVERLAPPED): wakes a thread waiting on the port. */
export function postWake(port: Handle): void {
  if (!ffi.postQueuedCompletionStatus(port, 0, 0, null)) throw new WinsockError('PostQueuedCompletionStatus', ffi.lastSystemError());
}

/** CancelIoEx(handle, NULL): cancels every pending operation on the handle, issued from any thread. */
export function cancelAll(handle: Handle): void {
  ffi.cancelIoEx(handle, null);
}

/** CancelIoEx for one operation; false when it had already finished (ERROR_NOT_FOUND). */
export function cancel(handle: Handle, slot: OverlappedSlot): boolean {
  return ffi.cancelIoEx(handle, slot.overlapped) !== 0;
}

export { WSA_IO_PENDING };
