// Overlapped Winsock calls and completion-port calls, typed. Each issue* function
// returns 0 when the operation finished at once, WSA_IO_PENDING when the completion
// will come later, or the Winsock error it failed with (no completion will come):
// error.ts's errnoIf, since the engine above handles each outcome. The port calls throw.
// The memory the OS writes to after the call returns lives in an OverlappedSlot.

import type { AddressFamily, SocketAddress } from '../../base/address.ts';
import {
  FILE_REPLACE_COMPLETION_INFORMATION,
  FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
  SIO_GET_EXTENSION_FUNCTION_POINTER,
  SOCKET_ERROR,
  SOL_SOCKET,
  SO_UPDATE_ACCEPT_CONTEXT,
  SO_UPDATE_CONNECT_CONTEXT,
  STATUS_INVALID_INFO_CLASS,
  STATUS_NOT_IMPLEMENTED,
  WAIT_TIMEOUT,
} from './constants.ts';
import { check, checkBool, checkHandle, errnoIf, systemFailedWith } from './error.ts';
import { addressOf, bindPointer, bufferAddress, EXTENSIONS, kernel32, ntdll, offsetWithin, PinnedMemory, writePointer, ws2 } from './ffi.ts';
import type { Handle, Pointer } from './ffi.ts';
import { decodeSockaddr, SOCKADDR_STORAGE_SIZE, writeSockaddr } from './sockaddr.ts';

/** sizeof(OVERLAPPED) on x64: Internal, InternalHigh, Offset, OffsetHigh, hEvent. */
export const OVERLAPPED_SIZE = 32;
/** sizeof(OVERLAPPED_ENTRY) on x64: key, lpOverlapped, Internal, bytes (+ padding). */
export const OVERLAPPED_ENTRY_SIZE = 32;
/** AcceptEx wants 16 bytes more than the largest address for each of its two addresses. */
const ACCEPT_ADDRESS_LENGTH = SOCKADDR_STORAGE_SIZE + 16;

/**
 * What a slot keeps after its OVERLAPPED's host memory: one WSABUF (u_long len; char
 * *buf: 16 bytes), then two 4-byte cells, WSARecv's flags at 0 and at 4 AcceptEx's byte
 * count or WSARecvFrom's from-length. In the same pinned block as the OVERLAPPED: with a
 * receive pending on every idle connection, a block per slot instead of three (each with
 * its own object, Buffer view and BigInt address) is memory every connection saves.
 */
export const SLOT_TAIL_BYTES = 24;

/**
 * The native memory of one overlapped operation. Pooled: it is handed to the OS when
 * the operation is issued and taken back only when the operation's completion has
 * been dequeued (or when it failed at once). The OVERLAPPED lives in `host` at
 * `offset`: its own 32 bytes for a completion port of ours, or inside a libuv handle
 * for operations that complete on Node's event loop (see event-loop.ts); the WSABUF and
 * the cells in the host's last SLOT_TAIL_BYTES.
 */
export class OverlappedSlot {
  readonly host: PinnedMemory;
  readonly offset: number;
  /** The number completion entries name this slot by: its OVERLAPPED's address. */
  readonly key: number;
  /** Where in host.bytes the WSABUF is (the cells follow it). */
  readonly #tail: number;
  /** Computed once: the hot paths pass it to every call without making BigInts. */
  readonly #overlapped: Pointer;
  /** The slot's one WSABUF, for a native call (computed once, as the OVERLAPPED's). */
  readonly wsabuf: Pointer;
  /** WSARecv's flags cell. */
  readonly flagsCell: Pointer;
  /** AcceptEx's byte count or WSARecvFrom's from-length. */
  readonly countCell: Pointer;
  /** AcceptEx's two addresses, ConnectEx's or WSASendTo's target, WSARecvFrom's sender. Allocated the first time it is needed. */
  #addresses: PinnedMemory | null = null;
  /** A WSABUF array for gathered sends of two buffers or more, grown on demand. */
  #wsabufs: PinnedMemory | null = null;

  constructor(host: PinnedMemory = new PinnedMemory(OVERLAPPED_SIZE + SLOT_TAIL_BYTES), offset = 0) {
    const tail = host.size - SLOT_TAIL_BYTES;
    if (tail < offset + OVERLAPPED_SIZE) throw new Error('internal error: an overlapped slot needs room for its WSABUF and cells after the OVERLAPPED');
    this.host = host;
    this.offset = offset;
    this.key = host.key + offset;
    this.#tail = tail;
    this.#overlapped = addressOf(host, offset);
    this.wsabuf = addressOf(host, tail);
    this.flagsCell = addressOf(host, tail + 16);
    this.countCell = addressOf(host, tail + 20);
  }

  /** The OVERLAPPED's address, for a native call. */
  get overlapped(): Pointer {
    return this.#overlapped;
  }

  get countCellValue(): number {
    return this.host.bytes.readInt32LE(this.#tail + 20);
  }

  set countCellValue(value: number) {
    this.host.bytes.writeInt32LE(value, this.#tail + 20);
  }

  /** Points the slot's WSABUF at `length` bytes at `address`. */
  pointWsaBuf(length: number, address: Pointer): void {
    const bytes = this.host.bytes;
    bytes.writeUInt32LE(length, this.#tail);
    writePointer(bytes, this.#tail + 8, address);
  }

  /** Room for `count` (two or more) WSABUFs. */
  wsabufs(count: number): PinnedMemory {
    if (this.#wsabufs === null || this.#wsabufs.size < 16 * count) {
      this.#wsabufs?.free();
      this.#wsabufs = new PinnedMemory(16 * Math.max(count, 16));
    }
    return this.#wsabufs;
  }

  get addresses(): PinnedMemory {
    this.#addresses ??= new PinnedMemory(2 * ACCEPT_ADDRESS_LENGTH);
    return this.#addresses;
  }

  /**
   * Frees the address buffer, when the OS is done with it and it served one operation (an
   * AcceptEx, a ConnectEx): the slot next carries a receive that may stay pending for the
   * connection's life, and would hold the buffer all that time. A datagram socket's slots
   * keep theirs: recvfrom/sendto need one every time.
   */
  releaseAddresses(): void {
    this.#addresses?.free();
    this.#addresses = null;
  }

  /** Clears the OVERLAPPED and the cells before reuse: the OS expects Internal and the offsets zeroed. */
  reset(): void {
    this.host.bytes.fill(0, this.offset, this.offset + OVERLAPPED_SIZE);
    this.host.bytes.fill(0, this.#tail + 16, this.#tail + SLOT_TAIL_BYTES);
  }

  /** NTSTATUS of the finished operation (0 = success). */
  get status(): number {
    return this.host.bytes.readUInt32LE(this.offset);
  }

  /** Bytes the finished operation moved (OVERLAPPED.InternalHigh). */
  get bytesTransferred(): number {
    // Two 32-bit halves rather than readBigUInt64LE: no BigInt per completion.
    const bytes = this.host.bytes;
    return bytes.readUInt32LE(this.offset + 8) + bytes.readUInt32LE(this.offset + 12) * 0x1_0000_0000;
  }

  free(): void {
    this.host.free();
    this.#addresses?.free();
    this.#wsabufs?.free();
  }
}

/** Points the slot's WSABUF at `data[0, length)`. */
function setWsaBuf(slot: OverlappedSlot, data: PinnedMemory, length: number): void {
  slot.pointWsaBuf(length, addressOf(data));
}

/** WSARecv into `data[0, length)`. */
export function issueRecv(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, length: number): number {
  setWsaBuf(slot, data, length);
  return errnoIf(ws2().WSARecv(handle, slot.wsabuf, 1, null, slot.flagsCell, slot.overlapped, null) === SOCKET_ERROR);
}

/**
 * WSARecv straight into `target`, a Buffer the caller allocated, keeps referenced until
 * the completion, and hands out only afterwards (no copy).
 */
export function issueRecvInto(handle: Handle, slot: OverlappedSlot, target: Uint8Array): number {
  slot.pointWsaBuf(target.byteLength, bufferAddress(target));
  return errnoIf(ws2().WSARecv(handle, slot.wsabuf, 1, null, slot.flagsCell, slot.overlapped, null) === SOCKET_ERROR);
}

/**
 * One WSASend of several Buffers (a WSABUF each), without copying them: the caller keeps
 * them referenced and unchanged until the completion (a stream's queued writes).
 */
export function issueSendGathered(handle: Handle, slot: OverlappedSlot, chunks: readonly Uint8Array[]): number {
  if (chunks.length === 1) {
    slot.pointWsaBuf(chunks[0]!.byteLength, bufferAddress(chunks[0]!));
    return errnoIf(ws2().WSASend(handle, slot.wsabuf, 1, null, 0, slot.overlapped, null) === SOCKET_ERROR);
  }
  const array = slot.wsabufs(chunks.length);
  const bytes = array.bytes;
  for (let i = 0; i < chunks.length; i++) {
    bytes.writeUInt32LE(chunks[i]!.byteLength, 16 * i);
    writePointer(bytes, 16 * i + 8, bufferAddress(chunks[i]!));
  }
  return errnoIf(ws2().WSASend(handle, addressOf(array), chunks.length, null, 0, slot.overlapped, null) === SOCKET_ERROR);
}

/**
 * One WSASend of `lengths.length` pieces that lie back to back in `data` from offset 0,
 * a WSABUF each (the pieces of an array given to sendAsync, copied there in order).
 */
export function issueSendPieces(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, lengths: readonly number[]): number {
  if (lengths.length === 1) return issueSend(handle, slot, data, lengths[0]!);
  const array = slot.wsabufs(lengths.length);
  const bytes = array.bytes;
  let offset = 0;
  for (let i = 0; i < lengths.length; i++) {
    bytes.writeUInt32LE(lengths[i]!, 16 * i);
    writePointer(bytes, 16 * i + 8, addressOf(data, offset));
    offset += lengths[i]!;
  }
  return errnoIf(ws2().WSASend(handle, addressOf(array), lengths.length, null, 0, slot.overlapped, null) === SOCKET_ERROR);
}

/**
 * WSARecvFrom into `data[0, length)`. The sender's address goes into the slot's address
 * block and its length into the from-length cell, both pinned until the completion.
 */
export function issueRecvFrom(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, length: number): number {
  setWsaBuf(slot, data, length);
  slot.countCellValue = SOCKADDR_STORAGE_SIZE;
  return errnoIf(ws2().WSARecvFrom(handle, slot.wsabuf, 1, null, slot.flagsCell, addressOf(slot.addresses), slot.countCell, slot.overlapped, null) === SOCKET_ERROR);
}

/** The sender a finished WSARecvFrom wrote into the slot (null for a family this package does not read). */
export function receivedFrom(slot: OverlappedSlot): SocketAddress | null {
  const length = Math.min(slot.countCellValue, SOCKADDR_STORAGE_SIZE);
  return length <= 0 ? null : decodeSockaddr(slot.addresses.bytes.subarray(0, length));
}

/** WSASendTo of `data[0, length)` to `address:port` (a literal of `family`); the target is kept in the slot. */
export function issueSendTo(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, length: number, family: AddressFamily, address: string, port: number): number {
  const toLength = writeSockaddr(slot.addresses.bytes, family, address, port);
  setWsaBuf(slot, data, length);
  return errnoIf(ws2().WSASendTo(handle, slot.wsabuf, 1, null, 0, addressOf(slot.addresses), toLength, slot.overlapped, null) === SOCKET_ERROR);
}

/** WSASend of `data[0, length)`. */
export function issueSend(handle: Handle, slot: OverlappedSlot, data: PinnedMemory, length: number): number {
  setWsaBuf(slot, data, length);
  return errnoIf(ws2().WSASend(handle, slot.wsabuf, 1, null, 0, slot.overlapped, null) === SOCKET_ERROR);
}

// The extension functions, fetched together once per process (the Microsoft TCP
// provider serves every socket this package creates).
type Extensions = { readonly [K in keyof typeof EXTENSIONS]: (typeof EXTENSIONS)[K] extends { signature?: infer F } ? NonNullable<F> : never };
let extensions: Extensions | null = null;

/** The extension function table, fetched with `handle` the first time. */
function extensionsFor(handle: Handle): Extensions {
  if (extensions !== null) return extensions;
  const table: Record<string, unknown> = {};
  const out: unknown[] = [null];
  const bytes = new Uint32Array(1);
  for (const [name, declaration] of Object.entries(EXTENSIONS)) {
    check(ws2().WSAIoctlPointer(handle, SIO_GET_EXTENSION_FUNCTION_POINTER >>> 0, declaration.guid, 16, out, 8, bytes, null, null), 'WSAIoctl');
    table[name] = bindPointer<unknown>(out[0], declaration as { prototype: string });
  }
  extensions = table as Extensions;
  return extensions;
}

/** Fetches the extension functions now (with `handle`), so that a failure shows where it belongs. */
export function loadExtensions(handle: Handle): void {
  extensionsFor(handle);
}

/** AcceptEx(listener, acceptSocket): no data is read with the connection. */
export function issueAccept(listener: Handle, acceptSocket: Handle, slot: OverlappedSlot): number {
  const ok = extensionsFor(listener).AcceptEx(
    listener,
    acceptSocket,
    addressOf(slot.addresses),
    0,
    ACCEPT_ADDRESS_LENGTH,
    ACCEPT_ADDRESS_LENGTH,
    slot.countCell,
    slot.overlapped,
  );
  return errnoIf(ok === 0);
}

/** The local and remote addresses AcceptEx wrote into the slot. */
export function acceptedAddresses(listener: Handle, slot: OverlappedSlot): { local: SocketAddress | null; remote: SocketAddress | null } {
  const block = slot.addresses;
  const local: unknown[] = [null];
  const remote: unknown[] = [null];
  const localSize = [0];
  const remoteSize = [0];
  extensionsFor(listener).GetAcceptExSockaddrs(addressOf(block), 0, ACCEPT_ADDRESS_LENGTH, ACCEPT_ADDRESS_LENGTH, local, localSize, remote, remoteSize);
  // The pointers point into the slot's own buffer: read the addresses from its bytes.
  const read = (pointer: unknown, size: number): SocketAddress | null => {
    const at = offsetWithin(block, pointer, size);
    if (at < 0) throw new Error('internal error: GetAcceptExSockaddrs pointed outside its buffer');
    return decodeSockaddr(block.bytes.subarray(at, at + size));
  };
  return { local: read(local[0], localSize[0]!), remote: read(remote[0], remoteSize[0]!) };
}

/** ConnectEx to `address:port` (the socket must be bound); the target is kept in the slot. */
export function issueConnect(handle: Handle, slot: OverlappedSlot, family: AddressFamily, address: string, port: number): number {
  const connectEx = extensionsFor(handle).ConnectEx;
  const length = writeSockaddr(slot.addresses.bytes, family, address, port);
  return errnoIf(connectEx(handle, addressOf(slot.addresses), length, null, 0, null, slot.overlapped) === 0);
}

const handleCell = Buffer.alloc(8);

/** SO_UPDATE_ACCEPT_CONTEXT: the accepted socket inherits the listener's properties and can shutdown(), getpeername() etc. */
export function updateAcceptContext(accepted: Handle, listener: Handle): void {
  handleCell.writeBigUInt64LE(BigInt(listener), 0);
  check(ws2().setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, handleCell, 8), 'setsockopt');
}

/** SO_UPDATE_CONNECT_CONTEXT: a ConnectEx'd socket then behaves as a connect()ed one. */
export function updateConnectContext(handle: Handle): void {
  check(ws2().setsockopt(handle, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, null, 0), 'setsockopt');
}

const transferredCell = new Uint32Array(1);
const flagsCell = new Uint32Array(1);

/** The exact Winsock error of a finished operation on a socket that is still open (0 when it succeeded). */
export function overlappedErrno(handle: Handle, slot: OverlappedSlot): number {
  return errnoIf(!ws2().WSAGetOverlappedResult(handle, slot.overlapped, transferredCell, 0, flagsCell));
}

// --- Completion ports --------------------------------------------------------

export function createPort(): Handle {
  return checkHandle(kernel32().CreateIoCompletionPort(0xffffffffffffffffn, 0, 0, 1), 'CreateIoCompletionPort');
}

export function closePort(port: Handle): void {
  kernel32().CloseHandle(port);
}

/** Associates a socket with a port; completions for it then carry `key`. */
export function associate(handle: Handle, port: Handle, key: number): void {
  checkHandle(kernel32().CreateIoCompletionPort(handle, port, key, 0), 'CreateIoCompletionPort');
}

export function setSkipCompletionOnSuccess(handle: Handle): void {
  checkBool(kernel32().SetFileCompletionNotificationModes(handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), 'SetFileCompletionNotificationModes');
}

/**
 * Takes a handle off the completion port it is associated with (NtSetInformationFile
 * with FileReplaceCompletionInformation and no port, Windows 8.1+), so that another
 * port, in another thread or process, can take it. True when it did; false where the
 * system cannot (Wine 8 answers STATUS_NOT_IMPLEMENTED, Windows before 8.1
 * STATUS_INVALID_INFO_CLASS). Every handle to a socket shares one association, so a
 * WSADuplicateSocketW copy would not help: it belongs to the same port.
 */
export function releaseFromPort(handle: Handle): boolean {
  const setInformation = ntdll('NtSetInformationFile');
  if (setInformation === null) return false;
  const ioStatus = Buffer.alloc(16); // IO_STATUS_BLOCK
  const information = Buffer.alloc(16); // FILE_COMPLETION_INFORMATION { HANDLE Port = NULL; PVOID Key = NULL }
  const status = setInformation(handle, ioStatus, information, information.length, FILE_REPLACE_COMPLETION_INFORMATION) >>> 0;
  if (status === 0) return true;
  if (status === STATUS_NOT_IMPLEMENTED || status === STATUS_INVALID_INFO_CLASS) return false;
  throw new Error(`NtSetInformationFile(FileReplaceCompletionInformation) failed with NTSTATUS 0x${status.toString(16)}`);
}

/** GetQueuedCompletionStatusEx: how many entries were removed (0 on timeout). */
export function dequeue(port: Handle, entries: PinnedMemory, count: number, removed: PinnedMemory, timeoutMs: number): number {
  removed.bytes.writeUInt32LE(0, 0);
  const ok = kernel32().GetQueuedCompletionStatusEx(port, addressOf(entries), count, addressOf(removed), timeoutMs >>> 0, 0);
  return systemFailedWith(!ok, WAIT_TIMEOUT, 'GetQueuedCompletionStatusEx') ? 0 : removed.bytes.readUInt32LE(0);
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
  kernel32().GetQueuedCompletionStatusEx.async(port, addressOf(entries), count, addressOf(removed), timeoutMs >>> 0, 0, (error, ok) => {
    if (error) done(error instanceof Error ? error : new Error(String(error)), 0);
    else done(null, ok ? removed.bytes.readUInt32LE(0) : 0);
  });
}

/** Posts an empty packet (no OVERLAPPED) carrying `key`: wakes a thread waiting on the port. */
export function postWake(port: Handle, key = 0): void {
  checkBool(kernel32().PostQueuedCompletionStatus(port, 0, key, null), 'PostQueuedCompletionStatus');
}

/** CancelIoEx(handle, NULL): cancels every pending operation on the handle, issued from any thread. Nothing to cancel is no error. */
export function cancelAll(handle: Handle): void {
  kernel32().CancelIoEx(handle, null);
}

/** CancelIoEx for one operation; false when it had already finished (ERROR_NOT_FOUND). */
export function cancel(handle: Handle, slot: OverlappedSlot): boolean {
  return kernel32().CancelIoEx(handle, slot.overlapped) !== 0;
}
