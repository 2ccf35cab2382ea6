// CompletionPort: an I/O completion port, overlapped recv/send/accept/connect issued
// on it, and their completions collected by poll() (no wait), wait() (blocks the
// thread) or waitAsync() (waits on a worker thread).
//
// Ownership of native memory: each operation takes an OverlappedSlot (OVERLAPPED,
// WSABUF, flag cells, address buffers) and, for recv/send, a pinned data block, from
// the process-wide pools. The port keeps the operation in #inFlight, keyed by its
// OVERLAPPED's address, from the moment the OS has the memory until the completion
// packet naming that OVERLAPPED is dequeued; only then does the memory go back to the
// pools. Operations that finish without a packet (failed at once, or succeeded at
// once on a socket in skip-on-success mode) wait in #ready and are reported by the
// next poll/wait. The user's buffers are never handed to the OS: recv copies out of
// the pinned block when its completion is dequeued and send copies in before issuing,
// so a cancelled or aborted operation can never write into memory the caller reuses.

import { literalFamily } from '../address.ts';
import type { SocketAddress, SocketAddressInput } from '../address.ts';
import { checkAddressInput, checkBuffer, checkInteger, checkMsOrZero, checkSocket, describe, requireTcp, requireUdp } from '../checks.ts';
import { BufferDetachedError, SocketStateError, WinsockError } from '../errors.ts';
import type { Socket } from '../socket.ts';
import { adoptAccepted, beforeClose, closeOwnedSocket, createOwnedSocket, handleOf, isReferenced, markConnected, wasAdopted } from '../socket-internals.ts';
import * as sys from '../sys/index.ts';
import { ERROR_INVALID_PARAMETER, eventLoop, INFINITE, INVALID_HANDLE, overlapped as ov, PinnedMemory, WSA_IO_PENDING, WSA_OPERATION_ABORTED, WSAEMSGSIZE } from '../sys/index.ts';
import type { Handle, LoopSlot, OverlappedSlot } from '../sys/index.ts';
import { MAX_POOLED_BLOCK, returnBlock, returnSlot, takeBlock, takeLoopSlot, takeSlot } from './pools.ts';

export type OperationKind = 'recv' | 'send' | 'accept' | 'connect' | 'recvfrom' | 'sendto';

/**
 * A UDP datagram can carry at most 65,527 bytes (IPv6; 65,507 over IPv4): a receive
 * block this large never truncates, so a datagram bigger than the caller's buffer is
 * reported by the package (WSAEMSGSIZE with the sender), never dropped by the OS.
 */
const DATAGRAM_BLOCK = 64 * 1024;

/** Entries dequeued per GetQueuedCompletionStatusEx call. */
const BATCH = 256;
/** The longest one waitAsync slice holds a threadpool thread. */
const WAIT_SLICE_MS = 50;
const { OVERLAPPED_ENTRY_SIZE } = ov;
/** How long close() waits for the aborted completions of cancelled operations. */
const CLOSE_DRAIN_MS = 5000;

/** @internal Called once when an operation settles (used by the Promise API's pump). */
export const settled: unique symbol = Symbol('winsock-ffi.settled');
/** @internal What the Promise API keeps with an operation (its promise's settlers). */
export const context: unique symbol = Symbol('winsock-ffi.context');
/** @internal */
export const io: unique symbol = Symbol('winsock-ffi.io');
/** @internal */
export const markCompleted: unique symbol = Symbol('winsock-ffi.markCompleted');
/** @internal True for the port whose completions arrive through Node's event loop. */
export const onEventLoop: unique symbol = Symbol('winsock-ffi.onEventLoop');
/** @internal A receive straight into a Buffer the caller owns and hands out only after the completion. */
export const recvInto: unique symbol = Symbol('winsock-ffi.recvInto');
/** @internal One WSASend of several Buffers without copying them. */
export const sendGathered: unique symbol = Symbol('winsock-ffi.sendGathered');
/** @internal socket.ref()/unref(): whether the socket's pending operations hold the loop open. */
export const referenceChanged: unique symbol = Symbol('winsock-ffi.referenceChanged');
/** @internal One WSASend of the pieces of an array, copied back to back into one pinned block, a WSABUF each. */
export const sendCopied: unique symbol = Symbol('winsock-ffi.sendCopied');
/** @internal Whether the port holds operations of a socket (issued and not yet reported). */
export const pendingFor: unique symbol = Symbol('winsock-ffi.pendingFor');

/** True only while a port makes an Operation (newOperation): the constructor refuses any other caller. */
let making = false;
/** Operation's private constructor, for newOperation (set by the class's static block). */
let construct: (port: CompletionPort, kind: OperationKind, socket: Socket, block: PinnedMemory | null, target: Uint8Array | null) => Operation;
/** True only while newEventLoopPort() makes the Promise API's port: the constructor then makes that one. */
let makingEventLoopPort = false;
/** Every Operation a port made: cancel() takes nothing else (a look-alike has no native state). */
const madeOperations = new WeakSet<object>();

/**
 * One overlapped operation; its outcome is filled in when its completion is reported.
 * Only a CompletionPort makes them (recv, send, accept, connect, recvFrom, sendTo): `new Operation()`
 * throws a TypeError.
 */
export class Operation {
  readonly kind: OperationKind;
  /** The socket the operation runs on (the listener, for accept). */
  readonly socket: Socket;
  #state: 'pending' | 'completed' = 'pending';
  /** Bytes received or sent. */
  bytes = 0;
  /**
   * Null when the operation succeeded. A BufferDetachedError (a TypeError) when a
   * receive's buffer was detached or shrunk while it was pending (`bytes` says how many were lost).
   */
  error: WinsockError | BufferDetachedError | null = null;
  /** accept: the new connection (owned by the caller once the operation completed). */
  accepted: Socket | null = null;
  /** accept: the peer's address, from GetAcceptExSockaddrs; recvfrom: the datagram's sender. */
  remoteAddress: SocketAddress | null = null;
  /** @internal Called once when the operation settles (used by the Promise API). */
  [settled]: ((operation: Operation) => void) | null = null;
  /** @internal */
  [context]: unknown = null;
  /** @internal What the port holds for the operation until it is reported. */
  readonly [io]: InFlight;

  static {
    construct = (port, kind, socket, block, target) => new Operation(port, kind, socket, block, target);
  }

  /** Operations come only from a CompletionPort (recv, send, accept, connect, recvFrom, sendTo). */
  // Private, so that the published type offers no constructor: newOperation() calls it
  // through `construct`, and the check below refuses plain JavaScript callers.
  private constructor(port: CompletionPort, kind: OperationKind, socket: Socket, block: PinnedMemory | null, target: Uint8Array | null) {
    // Before anything is allocated: an Operation made by hand would only hold an OVERLAPPED slot for nothing.
    if (!making) throw new TypeError('Operation objects come from a CompletionPort (recv, send, accept, connect): they cannot be constructed');
    madeOperations.add(this);
    this.kind = kind;
    this.socket = socket;
    this[io] = { port, slot: port[onEventLoop] ? takeLoopSlot() : takeSlot(), block, target, length: target?.byteLength ?? 0, held: null, acceptHandle: INVALID_HANDLE };
  }

  /** 'pending' until the completion is reported (by poll/wait/waitAsync or close). */
  get state(): 'pending' | 'completed' {
    return this.#state;
  }

  /** @internal */
  [markCompleted](): void {
    this.#state = 'completed';
  }
}

/** A port's new Operation. */
function newOperation(port: CompletionPort, kind: OperationKind, socket: Socket, block: PinnedMemory | null, target: Uint8Array | null): Operation {
  making = true;
  try {
    return construct(port, kind, socket, block, target);
  } finally {
    making = false;
  }
}

/** @internal The Promise API's port (iocp/async-io.ts): libuv's own, on Node's event loop; one per thread. */
export function newEventLoopPort(): CompletionPort {
  makingEventLoopPort = true;
  try {
    return new CompletionPort();
  } finally {
    makingEventLoopPort = false;
  }
}

/** @internal What a port keeps with each operation, from issue until its completion is reported. */
export interface InFlight {
  readonly port: CompletionPort;
  readonly slot: OverlappedSlot;
  block: PinnedMemory | null;
  /** recv: where the data goes (copied from `block` when the completion arrives, or written there by the OS when `block` is null). */
  target: Uint8Array | null;
  /** A gathered send: the caller's Buffers the OS reads from, kept referenced until the completion. */
  held: readonly Uint8Array[] | null;
  /** accept: the socket AcceptEx fills, claimed at birth, not yet wrapped in a Socket. */
  acceptHandle: Handle;
  /** recvfrom: the target's length when the receive was issued (a shorter target now was detached or shrunk). */
  readonly length: number;
}

/**
 * Each kind of operation, described once: the call it makes, what success means
 * (run once the OS is done with the memory), and what is given back whatever the
 * outcome. A new kind (UDP recvfrom, say) adds one record here.
 */
interface OperationKindRecord {
  readonly syscall: string;
  /** Whether Completion.bytes reports the byte count (recv/send) or 0 (accept/connect). */
  readonly countsBytes: boolean;
  onSuccess(operation: Operation, bytes: number): void;
  onDiscard(operation: Operation): void;
}

const nothing = (): void => undefined;

const KINDS: Readonly<Record<OperationKind, OperationKindRecord>> = {
  recv: {
    syscall: 'WSARecv',
    countsBytes: true,
    onSuccess(operation, bytes) {
      const { block, target } = operation[io];
      // Without a block the OS wrote into the target itself.
      if (block === null || bytes === 0) return;
      // The caller's buffer may have been detached (transferred) or shrunk meanwhile: say so, never lose bytes silently.
      if (target!.byteLength < bytes) throw new BufferDetachedError('WSARecv', bytes, target!.byteLength);
      target!.set(block.bytes.subarray(0, bytes), 0);
    },
    onDiscard: nothing,
  },
  send: { syscall: 'WSASend', countsBytes: true, onSuccess: nothing, onDiscard: nothing },
  recvfrom: {
    syscall: 'WSARecvFrom',
    countsBytes: true,
    onSuccess(operation, bytes) {
      const { block, target, slot, length } = operation[io];
      const from = ov.receivedFrom(slot);
      operation.remoteAddress = from;
      const room = target!.byteLength;
      if (room < Math.min(bytes, length)) throw new BufferDetachedError('WSARecvFrom', bytes, room);
      if (bytes > 0) target!.set(block!.bytes.subarray(0, Math.min(bytes, room)), 0);
      if (bytes <= room) return;
      // The block holds any datagram whole: one larger than the caller's buffer is
      // reported as Windows' own recvfrom() does (WSAEMSGSIZE), with its first part
      // in the buffer, the count of bytes delivered and who sent it.
      operation.bytes = room;
      const error = new WinsockError('WSARecvFrom', WSAEMSGSIZE, from ?? undefined);
      Object.defineProperty(error, 'datagramBytes', { value: bytes, enumerable: true, configurable: true });
      throw error;
    },
    onDiscard: nothing,
  },
  sendto: { syscall: 'WSASendTo', countsBytes: true, onSuccess: nothing, onDiscard: nothing },
  accept: {
    syscall: 'AcceptEx',
    countsBytes: false,
    onSuccess(operation) {
      const listener = operation.socket;
      const state = operation[io];
      const listenerHandle = listener[handleOf]('accept');
      ov.updateAcceptContext(state.acceptHandle, listenerHandle);
      const addresses = ov.acceptedAddresses(listenerHandle, state.slot);
      operation.accepted = listener[adoptAccepted](state.acceptHandle);
      state.acceptHandle = INVALID_HANDLE;
      operation.remoteAddress = addresses.remote;
    },
    onDiscard(operation) {
      // AcceptEx failed or was aborted: the socket it was filling is ours to close.
      const state = operation[io];
      if (state.acceptHandle === INVALID_HANDLE) return;
      try {
        closeOwnedSocket(state.acceptHandle);
      } catch {
        // Closing a socket nobody saw; nothing to report.
      }
      state.acceptHandle = INVALID_HANDLE;
    },
  },
  connect: {
    syscall: 'ConnectEx',
    countsBytes: false,
    onSuccess(operation) {
      ov.updateConnectContext(operation.socket[handleOf]('connect'));
      operation.socket[markConnected]();
    },
    onDiscard: nothing,
  },
};

/** What poll/wait/waitAsync report for each finished operation. */
export interface Completion {
  readonly operation: Operation;
  /** Bytes moved (0 for accept/connect; 0 for a successful recv is the end of the stream), also when the operation failed or was cancelled part-way. */
  readonly bytes: number;
  /** Null on success; WSA_OPERATION_ABORTED after cancel() or close. */
  readonly error: WinsockError | BufferDetachedError | null;
  /** The key given to associate() for the operation's socket. */
  readonly key: number;
}

/** A CompletionPort's state (CompletionPort.state). */
export type PortState = 'open' | 'closing' | 'closed';

export class CompletionPort {
  readonly #handle: Handle;
  readonly #inFlight = new Map<number, Operation>();
  #ready: Operation[] = [];
  readonly #entries = new PinnedMemory(BATCH * OVERLAPPED_ENTRY_SIZE);
  readonly #removed = new PinnedMemory(8);
  // waitAsync writes into its own buffers: the worker thread may still be filling
  // them while the main thread polls.
  #asyncEntries: PinnedMemory | null = null;
  #asyncRemoved: PinnedMemory | null = null;
  #waitingAsync = false;
  /**
   * The number of the running (or last) waitAsync. Its wake-up packets carry it as their
   * key, so a wake-up that arrives after its wait already returned (a leftover) is told
   * apart and ends no later wait.
   */
  #waitId = 0;
  /** What the finalizer frees if the port is collected without close() (own ports only). */
  readonly #native: NativePort | null = null;
  /** 'closing' from close() until the last operation is reported and the handle closed. */
  #state: PortState = 'open';
  /** Above 0 while completions are being settled: close() then waits for that to end. */
  #processing = 0;
  /** @internal */
  readonly [onEventLoop]: boolean;

  /**
   * A new completion port of your own: its completions are collected by poll(), wait()
   * or waitAsync().
   */
  constructor() {
    // Only newEventLoopPort() makes the Promise API's port, whose completions Node's own
    // loop dequeues (sys/windows/event-loop.ts). No parameter says so: the published
    // signature must not name what the package keeps to itself.
    this[onEventLoop] = makingEventLoopPort;
    this.#handle = this[onEventLoop] ? eventLoop.loopPort() : ov.createPort();
    if (this[onEventLoop]) {
      if (loopPortInstance !== null) throw new Error('internal error: a second event-loop port');
      loopPortInstance = this;
    } else {
      // libuv's port is libuv's; a port of our own is closed by the finalizer if it is dropped.
      portStats.opened++;
      this.#native = { handle: this.#handle, memory: [this.#entries, this.#removed] };
      portFinalizer.register(this, this.#native, this);
    }
  }

  static {
    // Completions from libuv's callback: the slot names the operation by its OVERLAPPED.
    eventLoop.setCompletionHandler((slot: LoopSlot) => {
      const port = loopPortInstance;
      if (port === null) return;
      const operation = port.#inFlight.get(slot.key);
      if (operation === undefined) return;
      port.#inFlight.delete(slot.key);
      port.#processing++;
      try {
        port.#complete(operation, slot.bytesTransferred, slot.status);
      } finally {
        port.#processing--;
      }
      if (port.#state === 'closing') port.#finishClose();
    });
  }

  /** @internal socket.ref()/unref() changed: its pending operations follow. */
  [referenceChanged](socket: Socket): void {
    if (!this[onEventLoop]) return;
    const referenced = socket[isReferenced];
    for (const operation of this.#inFlight.values()) {
      if (operation.socket === socket) (operation[io].slot as LoopSlot).setReferenced(referenced);
    }
  }

  /** 'open'; 'closing' once close() was called while operations or a waitAsync were still out; 'closed'. */
  get state(): PortState {
    return this.#state;
  }

  /** True once close() was called: the port takes no more calls (it may still be collecting what was in flight). */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** Operations issued and not yet reported. */
  get pendingCount(): number {
    return this.#inFlight.size + this.#ready.length;
  }

  /** Operations that finished without a packet and wait for the next poll/wait. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** True while a waitAsync() is running on a worker thread. */
  get waiting(): boolean {
    return this.#waitingAsync;
  }

  #live(operation: string): Handle {
    if (this.#state !== 'open') throw new SocketStateError('ERR_PORT_CLOSED', `${operation}: the completion port is closed`);
    return this.#handle;
  }

  /** poll/wait/waitAsync/wake: libuv dequeues the event-loop port's completions, nobody else may. */
  #collectable(operation: string): Handle {
    if (this[onEventLoop]) throw new Error(`internal error: ${operation} on the event-loop port`);
    return this.#live(operation);
  }

  /** Routes `socket`'s completions to this port, tagged with `key` (a uint32, default 0). */
  associate(socket: Socket, key = 0): void {
    this.#live('associate');
    checkSocket(socket, 'socket');
    checkInteger(key, 'key', 0, 0xffffffff);
    this.#associate(socket, key, 'associate');
  }

  #associate(socket: Socket, key: number, operation: string): Association {
    const handle = socket[handleOf](operation);
    const existing = associations.get(socket);
    if (existing !== undefined) {
      if (existing.port === this && existing.key === key) return existing;
      throw new SocketStateError('ERR_SOCKET_ASSOCIATED', `${operation}: the socket already belongs to a completion port (Windows cannot move it)`);
    }
    try {
      ov.associate(handle, this.#handle, key);
    } catch (error) {
      const kept = stillAssociated.get(handle);
      if (!(error instanceof WinsockError) || error.errno !== ERROR_INVALID_PARAMETER) throw error;
      // The handle is on a completion port already: one this thread left it on when the
      // socket was detached where the system could not take it off, or another's.
      if (kept === undefined || kept.port !== this || kept.key !== key) {
        throw new SocketStateError(
          'ERR_SOCKET_ASSOCIATED',
          `${operation}: this handle already belongs to another completion port (it did async I/O before it was detached or duplicated, and this system cannot move it: that needs FileReplaceCompletionInformation, Windows 8.1+, which Wine 8 lacks); use its synchronous calls here`,
        );
      }
      stillAssociated.delete(handle);
      associations.set(socket, kept);
      socket[beforeClose] = ov.cancelAll;
      return kept;
    }
    // A handle that was associated before (one detached where the system could take it off
    // its port, or whatever another library did) may be in skip-on-success mode for good:
    // the mode cannot be cleared, so an adopted socket is put in it, and that is known.
    const skipOnSuccess = this[onEventLoop] || socket[wasAdopted];
    // On the event loop, an operation that finishes at once settles at once: no packet for it.
    if (skipOnSuccess) ov.setSkipCompletionOnSuccess(handle);
    const association: Association = { port: this, key, skipOnSuccess };
    associations.set(socket, association);
    // closesocket should abort pending I/O; Wine 8 forgets pending sends, so cancel first.
    socket[beforeClose] = ov.cancelAll;
    return association;
  }

  /** The socket's association with this port, made on first use. */
  #associationOf(socket: Socket, operation: string): Association {
    const existing = associations.get(socket);
    if (existing === undefined) return this.#associate(socket, 0, operation);
    if (existing.port !== this) throw new SocketStateError('ERR_SOCKET_ASSOCIATED', `${operation}: the socket belongs to another completion port`);
    return existing;
  }

  /**
   * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS for `socket`: an operation that succeeds at
   * once queues no packet; the port reports it from the next poll/wait instead.
   */
  setSkipCompletionOnSuccess(socket: Socket): void {
    this.#live('setSkipCompletionOnSuccess');
    checkSocket(socket, 'socket');
    const handle = socket[handleOf]('setSkipCompletionOnSuccess');
    const association = this.#associationOf(socket, 'setSkipCompletionOnSuccess');
    ov.setSkipCompletionOnSuccess(handle);
    association.skipOnSuccess = true;
  }

  /** Overlapped WSARecv into `buffer` (up to 256 KiB per operation). */
  recv(socket: Socket, buffer: Uint8Array): Operation {
    this.#live('recv');
    checkSocket(socket, 'socket');
    const target = checkBuffer(buffer, 'buffer', true);
    const handle = socket[handleOf]('recv');
    const association = this.#associationOf(socket, 'recv');
    const length = Math.min(target.byteLength, MAX_POOLED_BLOCK);
    const block = takeBlock(length);
    const operation = newOperation(this, 'recv', socket, block, target);
    this.#arm(operation);
    return this.#issued(operation, ov.issueRecv(handle, operation[io].slot, block, length), association);
  }

  /** Overlapped WSASend of `data` (copied first; the completion says how many bytes went). */
  send(socket: Socket, data: Uint8Array): Operation {
    this.#live('send');
    checkSocket(socket, 'socket');
    const bytes = checkBuffer(data, 'data', false);
    const handle = socket[handleOf]('send');
    const association = this.#associationOf(socket, 'send');
    const block = takeBlock(Math.max(bytes.byteLength, 1));
    block.bytes.set(bytes, 0);
    const operation = newOperation(this, 'send', socket, block, null);
    this.#arm(operation);
    return this.#issued(operation, ov.issueSend(handle, operation[io].slot, block, bytes.byteLength), association);
  }

  /**
   * Overlapped WSARecvFrom of one datagram into `buffer`: the completion's
   * operation.remoteAddress is the sender. A datagram larger than `buffer` completes
   * with WSAEMSGSIZE, its first `buffer.length` bytes delivered (the OS never truncates:
   * the receive lands in a 64 KiB block first).
   */
  recvFrom(socket: Socket, buffer: Uint8Array): Operation {
    this.#live('recvFrom');
    checkSocket(socket, 'socket');
    const target = checkBuffer(buffer, 'buffer', true);
    const handle = socket[handleOf]('recvFrom');
    requireUdp(socket, 'recvFrom');
    const association = this.#associationOf(socket, 'recvFrom');
    const block = takeBlock(DATAGRAM_BLOCK);
    const operation = newOperation(this, 'recvfrom', socket, block, target);
    this.#arm(operation);
    return this.#issued(operation, ov.issueRecvFrom(handle, operation[io].slot, block, DATAGRAM_BLOCK), association);
  }

  /** Overlapped WSASendTo of one datagram (`data`, copied first) to `address` (a literal of the socket's family). */
  sendTo(socket: Socket, data: Uint8Array, address: SocketAddressInput): Operation {
    this.#live('sendTo');
    checkSocket(socket, 'socket');
    const bytes = checkBuffer(data, 'data', false);
    const handle = socket[handleOf]('sendTo');
    requireUdp(socket, 'sendTo');
    const { address: host, port } = checkAddressInput(address);
    if (literalFamily(host) !== socket.family) {
      throw new TypeError(`${JSON.stringify(host)} is not an ${socket.family === 'ipv4' ? 'IPv4' : 'IPv6'} address literal`);
    }
    const association = this.#associationOf(socket, 'sendTo');
    const block = takeBlock(Math.max(bytes.byteLength, 1));
    block.bytes.set(bytes, 0);
    const operation = newOperation(this, 'sendto', socket, block, null);
    return this.#issue(operation, () => ov.issueSendTo(handle, operation[io].slot, block, bytes.byteLength, socket.family, host, port), association);
  }

  /**
   * @internal One WSASend of `chunks` from `chunks[index][offset]` on, at most `maxBytes`
   * and `maxChunks` pieces, copied back to back into one pinned block, a WSABUF each (no
   * concatenation in JavaScript). Empty chunks are skipped; there is at least one byte.
   */
  [sendCopied](socket: Socket, chunks: readonly Uint8Array[], index: number, offset: number, maxBytes: number, maxChunks: number): Operation {
    this.#live('send');
    const handle = socket[handleOf]('send');
    const association = this.#associationOf(socket, 'send');
    pieceLengths.length = 0;
    let total = 0;
    for (let i = index; i < chunks.length && pieceLengths.length < maxChunks && total < maxBytes; i++) {
      const start = i === index ? offset : 0;
      const length = Math.min(chunks[i]!.byteLength - start, maxBytes - total);
      if (length <= 0) continue;
      pieceLengths.push(length);
      total += length;
    }
    const block = takeBlock(Math.max(total, 1));
    let at = 0;
    for (let i = index, piece = 0; piece < pieceLengths.length; i++) {
      const start = i === index ? offset : 0;
      if (chunks[i]!.byteLength - start <= 0) continue;
      const length = pieceLengths[piece++]!;
      block.bytes.set(chunks[i]!.subarray(start, start + length), at);
      at += length;
    }
    const operation = newOperation(this, 'send', socket, block, null);
    this.#arm(operation);
    return this.#issued(operation, ov.issueSendPieces(handle, operation[io].slot, block, pieceLengths), association);
  }

  /** @internal Whether `socket` has operations issued on this port and not yet reported. */
  [pendingFor](socket: Socket): boolean {
    for (const operation of this.#inFlight.values()) if (operation.socket === socket) return true;
    for (const operation of this.#ready) if (operation.socket === socket) return true;
    return false;
  }

  /**
   * @internal WSARecv straight into `target` (no copy): only for a Buffer the package
   * allocated, which the operation keeps referenced and nobody sees before the completion.
   */
  [recvInto](socket: Socket, target: Buffer): Operation {
    this.#live('recv');
    const handle = socket[handleOf]('recv');
    const association = this.#associationOf(socket, 'recv');
    const operation = newOperation(this, 'recv', socket, null, target);
    this.#arm(operation);
    return this.#issued(operation, ov.issueRecvInto(handle, operation[io].slot, target), association);
  }

  /**
   * @internal One WSASend of `chunks` (non-empty Buffers), read by the OS where they are:
   * for a stream, which owns its queued writes until their callback.
   */
  [sendGathered](socket: Socket, chunks: readonly Uint8Array[]): Operation {
    this.#live('send');
    const handle = socket[handleOf]('send');
    const association = this.#associationOf(socket, 'send');
    const operation = newOperation(this, 'send', socket, null, null);
    operation[io].held = chunks;
    this.#arm(operation);
    return this.#issued(operation, ov.issueSendGathered(handle, operation[io].slot, chunks), association);
  }

  /** AcceptEx on a listening socket: the completion's operation.accepted is the new Socket. */
  accept(listener: Socket): Operation {
    this.#live('accept');
    checkSocket(listener, 'listener');
    const handle = listener[handleOf]('accept');
    requireTcp(listener, 'accept');
    const association = this.#associationOf(listener, 'accept');
    // Claimed from birth: until it is wrapped or closed, no one may adopt this handle.
    const acceptHandle = createOwnedSocket(listener.family, 'tcp', false, 'acceptAsync');
    const operation = newOperation(this, 'accept', listener, null, null);
    operation[io].acceptHandle = acceptHandle;
    return this.#issue(operation, () => ov.issueAccept(handle, acceptHandle, operation[io].slot), association);
  }

  /** ConnectEx to `address` (a literal of the socket's family); binds the socket to the wildcard address first if needed. */
  connect(socket: Socket, address: SocketAddressInput): Operation {
    this.#live('connect');
    checkSocket(socket, 'socket');
    const handle = socket[handleOf]('connect');
    requireTcp(socket, 'connect');
    // A snapshot: the caller's object is not read again.
    const { address: host, port } = checkAddressInput(address);
    if (port === 0) throw new RangeError('address.port must be between 1 and 65535 to connect, got 0');
    if (literalFamily(host) !== socket.family) {
      throw new TypeError(`${JSON.stringify(host)} is not an ${socket.family === 'ipv4' ? 'IPv4' : 'IPv6'} address literal`);
    }
    const association = this.#associationOf(socket, 'connect');
    if (!sys.isBound(handle)) socket.bind({ address: socket.family === 'ipv4' ? '0.0.0.0' : '::', port: 0 });
    const operation = newOperation(this, 'connect', socket, null, null);
    return this.#issue(operation, () => ov.issueConnect(handle, operation[io].slot, socket.family, host, port), association);
  }

  /** Issues an operation whose call may throw: then nothing is in flight and its memory goes back. */
  #issue(operation: Operation, call: () => number, association: Association): Operation {
    this.#arm(operation);
    let rc: number;
    try {
      rc = call();
    } catch (error) {
      if (this[onEventLoop]) (operation[io].slot as LoopSlot).disarm();
      KINDS[operation.kind].onDiscard(operation);
      this.#release(operation);
      throw error;
    }
    return this.#issued(operation, rc, association);
  }

  /** Event loop: the handle waits for the packet (libuv must not close it meanwhile). */
  #arm(operation: Operation): void {
    if (this[onEventLoop]) (operation[io].slot as LoopSlot).arm();
  }

  #issued(operation: Operation, rc: number, association: Association): Operation {
    if (rc === WSA_IO_PENDING || (rc === 0 && !association.skipOnSuccess)) {
      // The OS has the memory until the packet naming this OVERLAPPED is dequeued.
      this.#inFlight.set(operation[io].slot.key, operation);
      // Pending on the event loop: it holds the loop open, as a pending net.Socket read does, unless unref()'d.
      if (this[onEventLoop]) (operation[io].slot as LoopSlot).setReferenced(operation.socket[isReferenced]);
    } else if (this[onEventLoop]) {
      // No packet will come: settle now, in the caller's turn (its Promise resolves at once).
      (operation[io].slot as LoopSlot).disarm();
      if (rc !== 0) operation.error = new WinsockError(KINDS[operation.kind].syscall, rc);
      this.#processing++;
      try {
        this.#completeReady(operation);
      } finally {
        this.#processing--;
      }
    } else {
      // Skip mode (rc 0): no packet will come; the OVERLAPPED already holds the outcome.
      // Failed at once: no packet will come either.
      if (rc !== 0) operation.error = new WinsockError(KINDS[operation.kind].syscall, rc);
      this.#ready.push(operation);
      // A waitAsync blocked on the port would never see it: wake it to report it.
      if (this.#waitingAsync) ov.postWake(this.#handle, this.#waitId);
    }
    return operation;
  }

  /**
   * CancelIoEx for a pending operation. Its completion still comes, with
   * WSA_OPERATION_ABORTED unless it had already finished. False when there was
   * nothing to cancel (already finished, or its socket is closed, which cancels it).
   */
  cancel(operation: Operation): boolean {
    if (!madeOperations.has(operation as object)) throw new TypeError(`operation must be an Operation from a CompletionPort, got ${describe(operation)}`);
    const state = operation[io];
    if (state.port !== this || operation.state !== 'pending' || !this.#inFlight.has(state.slot.key)) return false;
    if (operation.socket.closed) return false;
    return ov.cancel(operation.socket[handleOf]('cancel'), state.slot);
  }

  /** Completions available now, without waiting (at most `max`). */
  poll(max = BATCH): Completion[] {
    const port = this.#collectable('poll');
    checkMax(max);
    const out: Completion[] = [];
    this.#takeReady(out, max);
    if (out.length < max) {
      const count = ov.dequeue(port, this.#entries, Math.min(max - out.length, BATCH), this.#removed, 0);
      this.#process(this.#entries, count, out);
    }
    return out;
  }

  /**
   * Waits up to `timeoutMs` (default: forever) for at least one completion, blocking
   * this thread (and so the event loop); an empty array on timeout.
   */
  wait(timeoutMs: number = INFINITE, max = BATCH): Completion[] {
    const port = this.#collectable('wait');
    checkMsOrZero(timeoutMs, 'timeoutMs');
    checkMax(max);
    if (this.#ready.length > 0) return this.poll(max);
    const out: Completion[] = [];
    const deadline = timeoutMs === INFINITE ? Infinity : Date.now() + timeoutMs;
    let waitMs = timeoutMs;
    for (;;) {
      const count = ov.dequeue(port, this.#entries, Math.min(max, BATCH), this.#removed, waitMs);
      const passedOn = this.#process(this.#entries, count, out);
      // Dequeued nothing but leftover wake-ups (no one can wake this wait: it blocks the
      // thread that would call wake()): wait on for the time left.
      if (count === 0 || out.length > 0 || passedOn > 0 || this.#ready.length > 0 || this.#state !== 'open') return out;
      const left = deadline - Date.now();
      if (left <= 0) return out;
      waitMs = deadline === Infinity ? INFINITE : Math.ceil(left);
    }
  }

  /**
   * The same wait on a worker thread: the event loop keeps running. One at a time
   * per port: a second call while one runs throws ERR_WAIT_IN_PROGRESS. It runs on a
   * libuv threadpool thread (a koffi async call), in slices of at most 50 ms, so it
   * never holds that thread, process.exit() or worker.terminate() longer than one
   * slice. A pending waitAsync keeps the process alive until a completion comes, the
   * timeout passes, or wake()/close() ends it with what it has.
   */
  waitAsync(timeoutMs: number = INFINITE): Promise<Completion[]> {
    const port = this.#collectable('waitAsync');
    checkMsOrZero(timeoutMs, 'timeoutMs');
    if (this.#waitingAsync) throw new SocketStateError('ERR_WAIT_IN_PROGRESS', 'waitAsync: another waitAsync is already running on this port');
    if (this.#ready.length > 0) return Promise.resolve(this.poll());
    if (this.#asyncEntries === null || this.#asyncRemoved === null) {
      this.#asyncEntries = new PinnedMemory(BATCH * OVERLAPPED_ENTRY_SIZE);
      this.#asyncRemoved = new PinnedMemory(8);
      this.#native?.memory.push(this.#asyncEntries, this.#asyncRemoved);
    }
    const entries = this.#asyncEntries;
    const removed = this.#asyncRemoved;
    const deadline = timeoutMs === INFINITE ? Infinity : Date.now() + timeoutMs;
    this.#waitingAsync = true;
    this.#waitId++; // its wake-ups carry this number
    return new Promise((resolve, reject) => {
      const slice = (): void => {
        const sliceMs = Math.max(0, Math.min(deadline - Date.now(), WAIT_SLICE_MS));
        ov.dequeueAsync(port, entries, BATCH, removed, sliceMs, (error, count) => {
          // Nothing yet and time left: wait again (a wake() or close() posts a packet, so count > 0).
          if (error === null && count === 0 && this.#state === 'open' && Date.now() < deadline) {
            slice();
            return;
          }
          this.#waitingAsync = false;
          const out: Completion[] = [];
          let woken = 0;
          try {
            woken = this.#process(entries, count, out);
            // Skip-mode completions that arrived meanwhile.
            if (this.#state === 'open') this.#takeReady(out, BATCH);
          } catch (processError) {
            error ??= processError as Error;
          }
          // Only leftover wake-ups, meant for an earlier wait: this one goes on.
          if (error === null && out.length === 0 && woken === 0 && this.#state === 'open' && Date.now() < deadline) {
            this.#waitingAsync = true;
            slice();
            return;
          }
          if (this.#state === 'closing') this.#finishClose();
          if (error !== null) reject(error);
          else resolve(out);
        });
      };
      slice();
    });
  }

  /**
   * Ends a running waitAsync() early (it resolves with whatever it dequeued, maybe
   * nothing). With no waitAsync running it does nothing: a wake-up is not kept for
   * the next wait.
   */
  wake(): void {
    const port = this.#collectable('wake');
    if (this.#waitingAsync) ov.postWake(port, this.#waitId);
  }

  #takeReady(out: Completion[], max: number): void {
    if (this.#ready.length === 0) return;
    const ready = this.#ready;
    const taken = ready.length <= max - out.length ? ready.splice(0) : ready.splice(0, max - out.length);
    this.#processing++;
    try {
      for (const operation of taken) out.push(this.#completeReady(operation));
    } finally {
      this.#processing--;
    }
    if (this.#state === 'closing') this.#finishClose();
  }

  /** An operation that finished without a packet: failed at once, or succeeded at once in skip mode. */
  #completeReady(operation: Operation): Completion {
    const slot = operation[io].slot;
    return operation.error !== null ? this.#complete(operation, 0, -1) : this.#complete(operation, slot.bytesTransferred, slot.status);
  }

  /**
   * Reports the dequeued entries into `out`. Returns how many wake-up packets were for
   * the running waitAsync: the ones this (waitAsync's) call was woken by, or, taken
   * by poll/wait on this thread, the ones passed on to it. Leftover wake-ups are dropped.
   */
  #process(entries: PinnedMemory, count: number, out: Completion[]): number {
    let wakes = 0;
    this.#processing++;
    try {
      const bytes = entries.bytes;
      for (let i = 0; i < count; i++) {
        const at = i * OVERLAPPED_ENTRY_SIZE;
        // Two 32-bit halves rather than readBigUInt64LE: no BigInt per completion.
        const overlapped = bytes.readUInt32LE(at + 8) + bytes.readUInt32LE(at + 12) * 0x1_0000_0000;
        if (overlapped === 0) {
          // A wake-up packet, keyed with the number of the waitAsync it was posted for.
          const key = bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 0x1_0000_0000;
          if (key !== this.#waitId) continue; // for a wait that has returned already
          if (entries !== this.#entries) wakes++;
          else if (this.#waitingAsync) {
            // Taken by poll/wait, but meant for the running waitAsync (Wine lets a polling
            // thread take it before the blocked worker): pass it on.
            ov.postWake(this.#handle, key);
            wakes++;
          }
          continue;
        }
        const operation = this.#inFlight.get(overlapped);
        if (operation === undefined) continue; // cannot happen: every OVERLAPPED we issue is in #inFlight
        this.#inFlight.delete(overlapped);
        const key = bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 0x1_0000_0000;
        out.push(this.#complete(operation, bytes.readUInt32LE(at + 24), operation[io].slot.status, key));
      }
    } finally {
      this.#processing--;
    }
    if (this.#state === 'closing') this.#finishClose();
    return wakes;
  }

  /**
   * Settles one operation whose memory the OS has given back: reads its outcome,
   * runs its kind's onSuccess/onDiscard, returns the memory to the pools. Runs exactly
   * once per operation because an operation leaves #inFlight/#ready before it gets here.
   * `status` is the NTSTATUS, or -1 when `operation.error` is already set.
   */
  #complete(operation: Operation, bytes: number, status: number, key = associations.get(operation.socket)?.key ?? 0): Completion {
    const kind = KINDS[operation.kind];
    if (status !== -1 && status !== 0) operation.error = this.#errorOf(operation, status);
    // The count stands on failure too: a send cancelled part-way says what the stack took.
    // (A truncated datagram's onSuccess lowers it to what reached the caller's buffer.)
    operation.bytes = kind.countsBytes ? bytes : 0;
    // A receive cancelled after data came keeps the data: it is copied out all the same.
    if (operation.error === null || ((operation.kind === 'recv' || operation.kind === 'recvfrom') && bytes > 0)) {
      try {
        kind.onSuccess(operation, bytes);
      } catch (error) {
        operation.error = error instanceof WinsockError || error instanceof BufferDetachedError ? error : new WinsockError(kind.syscall, WSA_OPERATION_ABORTED);
      }
    }
    kind.onDiscard(operation);
    this.#release(operation);
    return this.#settle(operation, { operation, bytes: operation.bytes, error: operation.error, key });
  }

  /** Gives the operation's memory back to the pools: the OS is done with it. */
  #release(operation: Operation): void {
    const state = operation[io];
    if (state.block !== null) returnBlock(state.block);
    returnSlot(state.slot);
    state.block = null;
    state.target = null;
    state.held = null;
  }

  #settle(operation: Operation, completion: Completion): Completion {
    operation[markCompleted]();
    const callback = operation[settled];
    if (callback !== null) {
      operation[settled] = null;
      callback(operation);
    }
    return completion;
  }

  #errorOf(operation: Operation, status: number): WinsockError {
    const syscall = KINDS[operation.kind].syscall;
    // A closed socket's handle number may already name another socket: do not ask ws2_32 about it.
    if (operation.socket.closed) return new WinsockError(syscall, sys.statusErrno(status));
    let errno = ov.overlappedErrno(operation.socket[handleOf](syscall), operation[io].slot);
    if (errno === 0) errno = sys.statusErrno(status);
    return new WinsockError(syscall, errno);
  }

  /**
   * Cancels every pending operation, waits for their aborted completions (so that
   * their memory is free to reuse), settles them, and closes the port. With a
   * waitAsync running, the last part happens when the worker returns.
   */
  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    for (const operation of this.#inFlight.values()) {
      try {
        if (!operation.socket.closed) ov.cancel(operation.socket[handleOf]('cancel'), operation[io].slot);
      } catch {
        // Its completion comes anyway when the socket closes.
      }
    }
    if (this.#waitingAsync) {
      ov.postWake(this.#handle, this.#waitId);
      return;
    }
    this.#finishClose();
  }

  /** Event loop: what is still in flight settles through libuv's callbacks, which finish the close. */
  #finishLoopClose(): void {
    if (this.#inFlight.size > 0) return;
    this.#state = 'closed';
    if (loopPortInstance === this) loopPortInstance = null;
    this.#entries.free();
    this.#removed.free();
  }

  #finishClose(): void {
    // Called from inside a completion's settlement, or with a waitAsync out: whoever is
    // running finishes the close when it is done.
    if (this.#state !== 'closing' || this.#processing > 0 || this.#waitingAsync) return;
    if (this[onEventLoop]) {
      this.#finishLoopClose();
      return;
    }
    this.#processing++;
    try {
      for (const operation of this.#ready.splice(0)) this.#completeReady(operation);
      const deadline = Date.now() + CLOSE_DRAIN_MS;
      const discard: Completion[] = [];
      while (this.#inFlight.size > 0 && Date.now() < deadline) {
        const count = ov.dequeue(this.#handle, this.#entries, BATCH, this.#removed, 50);
        this.#process(this.#entries, count, discard);
        discard.length = 0;
      }
      // Anything still in flight has memory the OS may yet write to: it is never freed
      // (a leak beats a corruption); the operations settle as aborted all the same.
      for (const operation of this.#inFlight.values()) {
        const state = operation[io];
        leaked.push(state.slot);
        if (state.block !== null) leaked.push(state.block);
        // Buffers the OS reads or writes in place stay referenced for good, too.
        if (state.target !== null) leaked.push(state.target);
        if (state.held !== null) leaked.push(...state.held);
        state.block = null;
        operation.error = new WinsockError(KINDS[operation.kind].syscall, WSA_OPERATION_ABORTED);
        this.#settle(operation, { operation, bytes: 0, error: operation.error, key: 0 });
      }
      this.#inFlight.clear();
    } finally {
      this.#processing--;
    }
    this.#state = 'closed';
    if (this.#native !== null) {
      portFinalizer.unregister(this);
      portStats.closed++;
    }
    ov.closePort(this.#handle);
    this.#entries.free();
    this.#removed.free();
    this.#asyncEntries?.free();
    this.#asyncRemoved?.free();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The Promise API's event-loop port, to which libuv's callbacks deliver. */
let loopPortInstance: CompletionPort | null = null;

interface Association {
  readonly port: CompletionPort;
  readonly key: number;
  skipOnSuccess: boolean;
}

// A socket belongs to one port until it is detached (Windows 8.1+ can take a handle off
// its port; before that, and under Wine 8, an association is for the handle's life).
const associations = new WeakMap<Socket, Association>();

/**
 * Handles detached while the system could not take them off this thread's port, by
 * handle: if this thread adopts one again, its association is known. Checked only after
 * CreateIoCompletionPort refused the handle, so a reused handle number is never misread.
 */
const stillAssociated = new Map<Handle, Association>();

/** Scratch for sendCopied's piece lengths (no array per send). */
const pieceLengths: number[] = [];

/**
 * @internal Before a socket's handle leaves this Socket (detach, duplicate): refuses when
 * operations are pending (ERR_SOCKET_BUSY), then takes the handle off its completion port
 * if it has one, so that a port in another thread or process can take it. Where the
 * system cannot (Wine 8; Windows before 8.1), the handle stays on this thread's port:
 * remembered, in case this thread adopts it again; elsewhere the Promise API then refuses
 * it (ERR_SOCKET_ASSOCIATED) and its synchronous calls still work. Returns whether the
 * handle is free of any port of ours.
 */
export function releaseForHandoff(socket: Socket, operation: string): boolean {
  const handle = socket[handleOf](operation);
  const association = associations.get(socket);
  if (association === undefined) return true;
  if (association.port[pendingFor](socket)) {
    throw new SocketStateError('ERR_SOCKET_BUSY', `${operation}: the socket has async operations pending; let them settle (or abort them) first`);
  }
  const released = ov.releaseFromPort(handle);
  if (!released) stillAssociated.set(handle, association);
  associations.delete(socket);
  socket[beforeClose] = null;
  return released;
}

/** Memory whose operation never reported back before its port closed. */
const leaked: Array<OverlappedSlot | PinnedMemory | Uint8Array> = [];

/** What a port of our own holds natively, for the finalizer: nothing here refers to the port. */
interface NativePort {
  readonly handle: Handle;
  /** The entry buffers of poll/wait/waitAsync (the OS writes them only during a dequeue call). */
  readonly memory: PinnedMemory[];
}

/** @internal For tests: ports of our own opened, and closed by close() or by the finalizer. */
export const portStats = { opened: 0, closed: 0, collected: 0 };

// A safety net only, as for Socket: a port dropped without close() gives back its
// handle and its entry buffers once collected. No dequeue can be running then: a
// waitAsync keeps its port reachable through its callback until it returns. Nor can a
// socket it serves be alive: every associated socket refers to its port. Operations
// still in flight (their sockets dropped too) keep their memory for good, as close()
// does with those it could not collect: it is not held here, so it is never freed
// while the OS may still write to it.
const portFinalizer = new FinalizationRegistry<NativePort>((native) => {
  portStats.collected++;
  portStats.closed++;
  try {
    ov.closePort(native.handle);
  } catch {
    // Nothing to report to: the owner is gone.
  }
  for (const memory of native.memory) memory.free();
});

function checkMax(max: unknown): void {
  checkInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
}
