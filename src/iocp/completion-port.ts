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

import { checkAddressInput, describe, literalFamily } from '../address.ts';
import type { SocketAddress, SocketAddressInput } from '../address.ts';
import { SocketStateError, WinsockError } from '../errors.ts';
import { WSAEINVAL, WSA_OPERATION_ABORTED } from '../sys/windows/constants.ts';
import * as ov from '../sys/windows/overlapped.ts';
import { OVERLAPPED_ENTRY_SIZE, PinnedMemory, WSA_IO_PENDING } from '../sys/windows/overlapped.ts';
import type { OverlappedSlot } from '../sys/windows/overlapped.ts';
import * as sys from '../sys/windows/sys.ts';
import type { Handle } from '../sys/windows/sys.ts';
import { beforeClose, handleOf, Socket } from '../socket.ts';
import { MAX_POOLED_BLOCK, returnBlock, returnSlot, takeBlock, takeSlot } from './pools.ts';

export type OperationKind = 'recv' | 'send' | 'accept' | 'connect';

/** Entries dequeued per GetQueuedCompletionStatusEx call. */
const BATCH = 256;
/** INFINITE for the wait functions. */
const INFINITE = 0xffffffff;
/** How long close() waits for the aborted completions of cancelled operations. */
const CLOSE_DRAIN_MS = 5000;

/** @internal Called once when an operation settles (used by the Promise API's pump). */
export const settled: unique symbol = Symbol('winsock-ffi.settled');

/** One overlapped operation; its outcome is filled in when its completion is reported. */
export class Operation {
  readonly kind: OperationKind;
  /** The socket the operation runs on (the listener, for accept). */
  readonly socket: Socket;
  /** 'pending' until the completion is reported (by poll/wait/waitAsync or close). */
  state: 'pending' | 'completed' = 'pending';
  /** Bytes received or sent. */
  bytes = 0;
  /** Null when the operation succeeded. */
  error: WinsockError | null = null;
  /** accept: the new connection (owned by the caller once the operation completed). */
  accepted: Socket | null = null;
  /** accept: the peer's address, from GetAcceptExSockaddrs. */
  remoteAddress: SocketAddress | null = null;
  /** @internal */
  [settled]: ((operation: Operation) => void) | null = null;

  // Kept together with the operation until it is reported.
  /** @internal */ slot: OverlappedSlot;
  /** @internal */ block: PinnedMemory | null;
  /** @internal recv: where the data goes when the completion arrives. */
  target: Uint8Array | null;
  /** @internal accept: the socket AcceptEx fills, not yet wrapped. */
  acceptHandle: Handle;
  /** @internal the port that owns the memory. */
  port: CompletionPort;

  constructor(port: CompletionPort, kind: OperationKind, socket: Socket, slot: OverlappedSlot, block: PinnedMemory | null, target: Uint8Array | null) {
    this.port = port;
    this.kind = kind;
    this.socket = socket;
    this.slot = slot;
    this.block = block;
    this.target = target;
    this.acceptHandle = sys.INVALID_HANDLE;
  }
}

/** What poll/wait/waitAsync report for each finished operation. */
export interface Completion {
  readonly operation: Operation;
  /** Bytes moved (0 for accept/connect; 0 for recv is the end of the stream). */
  readonly bytes: number;
  /** Null on success; WSA_OPERATION_ABORTED after cancel() or close. */
  readonly error: WinsockError | null;
  /** The key given to associate() for the operation's socket. */
  readonly key: number;
}

// A socket can belong to one port for its whole life (Windows has no way to undo it).
const associations = new WeakMap<Socket, { port: CompletionPort; key: number; skipOnSuccess: boolean }>();

const SYSCALLS: Record<OperationKind, string> = { recv: 'WSARecv', send: 'WSASend', accept: 'AcceptEx', connect: 'ConnectEx' };

export class CompletionPort {
  #handle: Handle;
  readonly #inFlight = new Map<number, Operation>();
  #ready: Operation[] = [];
  readonly #entries = new PinnedMemory(BATCH * OVERLAPPED_ENTRY_SIZE);
  readonly #removed = new PinnedMemory(8);
  // waitAsync writes into its own buffers: the worker thread may still be filling
  // them while the main thread polls.
  #asyncEntries: PinnedMemory | null = null;
  #asyncRemoved: PinnedMemory | null = null;
  #waitingAsync = false;
  #closing = false;
  #closed = false;
  /** Above 0 while completions are being settled: close() then waits for that to end. */
  #processing = 0;

  constructor() {
    this.#handle = ov.createPort();
  }

  get closed(): boolean {
    return this.#closing;
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
    if (this.#closing) throw new SocketStateError('ERR_PORT_CLOSED', `${operation}: the completion port is closed`);
    return this.#handle;
  }

  /** Routes `socket`'s completions to this port, tagged with `key` (a uint32, default 0). */
  associate(socket: Socket, key = 0): void {
    const port = this.#live('associate');
    checkSocket(socket, 'socket');
    if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) throw new RangeError(`key must be an integer between 0 and ${0xffffffff}, got ${String(key)}`);
    const handle = socket[handleOf]('associate');
    const existing = associations.get(socket);
    if (existing !== undefined) {
      if (existing.port === this && existing.key === key) return;
      throw new SocketStateError('ERR_SOCKET_ASSOCIATED', 'associate: the socket already belongs to a completion port (Windows cannot move it)');
    }
    ov.associate(handle, port, key);
    associations.set(socket, { port: this, key, skipOnSuccess: false });
    // closesocket should abort pending I/O; Wine 8 forgets pending sends, so cancel first.
    socket[beforeClose] = ov.cancelAll;
  }

  #associationOf(socket: Socket, operation: string): { key: number; skipOnSuccess: boolean } {
    const existing = associations.get(socket);
    if (existing === undefined) {
      this.associate(socket);
      return associations.get(socket)!;
    }
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
    const association = this.#associationOf(socket, 'setSkipCompletionOnSuccess');
    ov.setSkipCompletionOnSuccess(socket[handleOf]('setSkipCompletionOnSuccess'));
    association.skipOnSuccess = true;
  }

  /** Overlapped WSARecv into `buffer` (up to 256 KiB per operation). */
  recv(socket: Socket, buffer: Uint8Array): Operation {
    this.#live('recv');
    checkSocket(socket, 'socket');
    if (!(buffer instanceof Uint8Array)) throw new TypeError(`buffer must be a Buffer or Uint8Array, got ${describe(buffer)}`);
    if (buffer.byteLength === 0) throw new RangeError('buffer must not be empty');
    const handle = socket[handleOf]('recv');
    const association = this.#associationOf(socket, 'recv');
    const length = Math.min(buffer.byteLength, MAX_POOLED_BLOCK);
    const block = takeBlock(length);
    const operation = new Operation(this, 'recv', socket, takeSlot(), block, buffer);
    return this.#issued(operation, ov.issueRecv(handle, operation.slot, block, length), association.skipOnSuccess);
  }

  /** Overlapped WSASend of `data` (copied first; the completion says how many bytes went). */
  send(socket: Socket, data: Uint8Array): Operation {
    this.#live('send');
    checkSocket(socket, 'socket');
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Buffer or Uint8Array, got ${describe(data)}`);
    const handle = socket[handleOf]('send');
    const association = this.#associationOf(socket, 'send');
    const block = takeBlock(Math.max(data.byteLength, 1));
    block.bytes.set(data, 0);
    const operation = new Operation(this, 'send', socket, takeSlot(), block, null);
    return this.#issued(operation, ov.issueSend(handle, operation.slot, block, data.byteLength), association.skipOnSuccess);
  }

  /** AcceptEx on a listening socket: the completion's operation.accepted is the new Socket. */
  accept(listener: Socket): Operation {
    this.#live('accept');
    checkSocket(listener, 'listener');
    const handle = listener[handleOf]('accept');
    if (listener.type !== 'tcp') throw new SocketStateError('ERR_SOCKET_TYPE', 'accept needs a TCP socket; this one is UDP');
    const association = this.#associationOf(listener, 'accept');
    const acceptHandle = sys.createSocket(listener.family, 'tcp');
    const operation = new Operation(this, 'accept', listener, takeSlot(), null, null);
    operation.acceptHandle = acceptHandle;
    let rc: number;
    try {
      rc = ov.issueAccept(handle, acceptHandle, operation.slot);
    } catch (error) {
      sys.closeSocket(acceptHandle);
      returnSlot(operation.slot);
      throw error;
    }
    return this.#issued(operation, rc, association.skipOnSuccess);
  }

  /** ConnectEx to `address` (a literal of the socket's family); binds the socket to the wildcard address first if needed. */
  connect(socket: Socket, address: SocketAddressInput): Operation {
    this.#live('connect');
    checkSocket(socket, 'socket');
    const handle = socket[handleOf]('connect');
    if (socket.type !== 'tcp') throw new SocketStateError('ERR_SOCKET_TYPE', 'connect needs a TCP socket; this one is UDP');
    checkAddressInput(address);
    if (address.port === 0) throw new RangeError('address.port must be between 1 and 65535 to connect, got 0');
    if (literalFamily(address.address) !== socket.family) {
      throw new TypeError(`${JSON.stringify(address.address)} is not an ${socket.family === 'ipv4' ? 'IPv4' : 'IPv6'} address literal`);
    }
    const association = this.#associationOf(socket, 'connect');
    if (!isBound(handle)) socket.bind({ address: socket.family === 'ipv4' ? '0.0.0.0' : '::', port: 0 });
    const operation = new Operation(this, 'connect', socket, takeSlot(), null, null);
    let rc: number;
    try {
      rc = ov.issueConnect(handle, operation.slot, socket.family, address.address, address.port);
    } catch (error) {
      returnSlot(operation.slot);
      throw error;
    }
    return this.#issued(operation, rc, association.skipOnSuccess);
  }

  #issued(operation: Operation, rc: number, skipOnSuccess: boolean): Operation {
    if (rc === WSA_IO_PENDING || (rc === 0 && !skipOnSuccess)) {
      // The OS has the memory until the packet naming this OVERLAPPED is dequeued.
      this.#inFlight.set(operation.slot.key, operation);
    } else {
      // Skip mode (rc 0): no packet will come; the OVERLAPPED already holds the outcome.
      // Failed at once: no packet will come either.
      if (rc !== 0) operation.error = new WinsockError(SYSCALLS[operation.kind], rc);
      this.#ready.push(operation);
      // A waitAsync blocked on the port would never see it: wake it to report it.
      if (this.#waitingAsync) ov.postWake(this.#handle);
    }
    return operation;
  }

  /**
   * CancelIoEx for a pending operation. Its completion still comes, with
   * WSA_OPERATION_ABORTED unless it had already finished. False when there was
   * nothing to cancel (already finished, or its socket is closed, which cancels it).
   */
  cancel(operation: Operation): boolean {
    if (!(operation instanceof Operation)) throw new TypeError(`operation must be an Operation, got ${describe(operation)}`);
    if (operation.port !== this || operation.state !== 'pending' || !this.#inFlight.has(operation.slot.key)) return false;
    if (operation.socket.closed) return false;
    return ov.cancel(operation.socket[handleOf]('cancel'), operation.slot);
  }

  /** Completions available now, without waiting (at most `max`). */
  poll(max = BATCH): Completion[] {
    const port = this.#live('poll');
    checkMax(max);
    const out: Completion[] = [];
    this.#takeReady(out, max);
    if (out.length < max) {
      const count = ov.dequeue(port, this.#entries, Math.min(max - out.length, BATCH), this.#removed, 0);
      this.#process(this.#entries, count, out);
    }
    if (this.#closing) this.#finishClose();
    return out;
  }

  /**
   * Waits up to `timeoutMs` (default: forever) for at least one completion, blocking
   * this thread (and so the event loop); an empty array on timeout.
   */
  wait(timeoutMs: number = INFINITE, max = BATCH): Completion[] {
    const port = this.#live('wait');
    checkTimeout(timeoutMs);
    checkMax(max);
    if (this.#ready.length > 0) return this.poll(max);
    const out: Completion[] = [];
    const count = ov.dequeue(port, this.#entries, Math.min(max, BATCH), this.#removed, timeoutMs);
    this.#process(this.#entries, count, out);
    if (this.#closing) this.#finishClose();
    return out;
  }

  /**
   * The same wait on a worker thread: the event loop keeps running. One at a time
   * per port: a second call while one runs throws ERR_WAIT_IN_PROGRESS. A pending
   * waitAsync keeps the process alive (it is a libuv work item) until a completion
   * comes, the timeout passes, or wake()/close() ends it with what it has.
   */
  waitAsync(timeoutMs: number = INFINITE): Promise<Completion[]> {
    const port = this.#live('waitAsync');
    checkTimeout(timeoutMs);
    if (this.#waitingAsync) throw new SocketStateError('ERR_WAIT_IN_PROGRESS', 'waitAsync: another waitAsync is already running on this port');
    if (this.#ready.length > 0) return Promise.resolve(this.poll());
    this.#asyncEntries ??= new PinnedMemory(BATCH * OVERLAPPED_ENTRY_SIZE);
    this.#asyncRemoved ??= new PinnedMemory(8);
    const entries = this.#asyncEntries;
    const removed = this.#asyncRemoved;
    this.#waitingAsync = true;
    return new Promise((resolve, reject) => {
      ov.dequeueAsync(port, entries, BATCH, removed, timeoutMs, (error, count) => {
        this.#waitingAsync = false;
        const out: Completion[] = [];
        try {
          this.#process(entries, count, out);
          // Skip-mode completions that arrived meanwhile.
          if (!this.#closing) this.#takeReady(out, BATCH);
        } catch (processError) {
          error ??= processError as Error;
        }
        if (this.#closing) this.#finishClose();
        if (error !== null) reject(error);
        else resolve(out);
      });
    });
  }

  /** Ends a running waitAsync() early (it resolves with whatever it dequeued, maybe nothing). */
  wake(): void {
    ov.postWake(this.#live('wake'));
  }

  #takeReady(out: Completion[], max: number): void {
    if (this.#ready.length === 0) return;
    const ready = this.#ready;
    const taken = ready.length <= max - out.length ? ready.splice(0) : ready.splice(0, max - out.length);
    this.#processing++;
    try {
      for (const operation of taken) {
        const failedAtOnce = operation.error !== null;
        out.push(this.#complete(operation, failedAtOnce ? 0 : operation.slot.bytesTransferred, failedAtOnce ? -1 : operation.slot.status));
      }
    } finally {
      this.#processing--;
    }
  }

  #process(entries: PinnedMemory, count: number, out: Completion[]): void {
    this.#processing++;
    try {
      this.#processEntries(entries, count, out);
    } finally {
      this.#processing--;
    }
  }

  #processEntries(entries: PinnedMemory, count: number, out: Completion[]): void {
    const bytes = entries.bytes;
    for (let i = 0; i < count; i++) {
      const at = i * OVERLAPPED_ENTRY_SIZE;
      // Two 32-bit halves rather than readBigUInt64LE: no BigInt per completion.
      const overlapped = bytes.readUInt32LE(at + 8) + bytes.readUInt32LE(at + 12) * 0x1_0000_0000;
      if (overlapped === 0) {
        // A wake-up packet. One taken here by poll/wait was meant for a running waitAsync
        // (Wine lets a polling thread take it before the blocked worker): pass it on.
        if (this.#waitingAsync && entries === this.#entries) ov.postWake(this.#handle);
        continue;
      }
      const operation = this.#inFlight.get(overlapped);
      if (operation === undefined) continue; // cannot happen: every OVERLAPPED we issue is in #inFlight
      this.#inFlight.delete(overlapped);
      out.push(this.#complete(operation, bytes.readUInt32LE(at + 24), operation.slot.status, bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 0x1_0000_0000));
    }
  }

  /**
   * Settles one operation whose memory the OS has given back: reads its outcome,
   * finishes accept/connect, returns the memory to the pools. Runs exactly once per
   * operation because an operation leaves #inFlight/#ready before it gets here.
   * `status` is the NTSTATUS, or -1 when `operation.error` is already set.
   */
  #complete(operation: Operation, bytes: number, status: number, key = associations.get(operation.socket)?.key ?? 0): Completion {
    const slot = operation.slot;
    if (status !== -1 && status !== 0) operation.error = this.#errorOf(operation, status);
    if (operation.error === null) {
      try {
        if (operation.kind === 'recv') operation.target!.set(operation.block!.bytes.subarray(0, bytes), 0);
        else if (operation.kind === 'accept') this.#finishAccept(operation);
        else if (operation.kind === 'connect') this.#finishConnect(operation);
      } catch (error) {
        operation.error = error instanceof WinsockError ? error : new WinsockError(SYSCALLS[operation.kind], WSA_OPERATION_ABORTED);
      }
    }
    if (operation.kind === 'accept' && operation.accepted === null && operation.acceptHandle !== sys.INVALID_HANDLE) {
      // AcceptEx failed or was aborted: the socket it was filling is ours to close.
      try {
        sys.closeSocket(operation.acceptHandle);
      } catch {
        // Closing a socket nobody saw; nothing to report.
      }
    }
    operation.acceptHandle = sys.INVALID_HANDLE;
    operation.bytes = operation.error === null && (operation.kind === 'recv' || operation.kind === 'send') ? bytes : 0;
    operation.state = 'completed';
    if (operation.block !== null) returnBlock(operation.block);
    returnSlot(slot);
    operation.block = null;
    operation.target = null;
    const completion: Completion = { operation, bytes: operation.bytes, error: operation.error, key };
    const callback = operation[settled];
    if (callback !== null) {
      operation[settled] = null;
      callback(operation);
    }
    return completion;
  }

  #errorOf(operation: Operation, status: number): WinsockError {
    const syscall = SYSCALLS[operation.kind];
    // A closed socket's handle number may already name another socket: do not ask ws2_32 about it.
    if (operation.socket.closed) return new WinsockError(syscall, ov.statusErrno(status));
    let errno = ov.overlappedErrno(operation.socket[handleOf](syscall), operation.slot);
    if (errno === 0) errno = ov.statusErrno(status);
    return new WinsockError(syscall, errno);
  }

  #finishAccept(operation: Operation): void {
    const listener = operation.socket;
    const listenerHandle = listener[handleOf]('accept');
    ov.updateAcceptContext(operation.acceptHandle, listenerHandle);
    const addresses = ov.acceptedAddresses(listenerHandle, operation.slot);
    listener.markAccepted();
    operation.accepted = Socket.adoptNew(operation.acceptHandle, listener.family, 'tcp', listener.loopbackFastPath);
    operation.acceptHandle = sys.INVALID_HANDLE;
    operation.remoteAddress = addresses.remote;
  }

  #finishConnect(operation: Operation): void {
    ov.updateConnectContext(operation.socket[handleOf]('connect'));
    operation.socket.markConnected();
  }

  /**
   * Cancels every pending operation, waits for their aborted completions (so that
   * their memory is free to reuse), settles them, and closes the port. With a
   * waitAsync running, the last part happens when the worker returns.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    for (const operation of this.#inFlight.values()) {
      try {
        if (!operation.socket.closed) ov.cancel(operation.socket[handleOf]('cancel'), operation.slot);
      } catch {
        // Its completion comes anyway when the socket closes.
      }
    }
    if (this.#waitingAsync) {
      ov.postWake(this.#handle);
      return;
    }
    // Called from inside a completion's settlement: the caller finishes the close when it is done.
    if (this.#processing > 0) return;
    this.#finishClose();
  }

  #finishClose(): void {
    if (this.#closed || this.#processing > 0 || this.#waitingAsync) return;
    this.#closed = true;
    for (const operation of this.#ready.splice(0)) {
      const failedAtOnce = operation.error !== null;
      this.#complete(operation, failedAtOnce ? 0 : operation.slot.bytesTransferred, failedAtOnce ? -1 : operation.slot.status);
    }
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
      leaked.push(operation.slot);
      if (operation.block !== null) leaked.push(operation.block);
      operation.block = null;
      operation.error = new WinsockError(SYSCALLS[operation.kind], WSA_OPERATION_ABORTED);
      operation.state = 'completed';
      const callback = operation[settled];
      operation[settled] = null;
      callback?.(operation);
    }
    this.#inFlight.clear();
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

/** Memory whose operation never reported back before its port closed. */
const leaked: Array<OverlappedSlot | PinnedMemory> = [];

function isBound(handle: Handle): boolean {
  try {
    sys.localAddress(handle);
    return true;
  } catch (error) {
    if (error instanceof WinsockError && error.errno === WSAEINVAL) return false;
    throw error;
  }
}

function checkMax(max: unknown): void {
  if (typeof max !== 'number' || !Number.isInteger(max)) throw new TypeError(`max must be an integer, got ${describe(max)}`);
  if (max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
}

function checkTimeout(timeoutMs: unknown): void {
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs)) throw new TypeError(`timeoutMs must be an integer, got ${describe(timeoutMs)}`);
  if (timeoutMs < 0 || timeoutMs > INFINITE) throw new RangeError(`timeoutMs must be an integer between 0 and ${INFINITE}, got ${timeoutMs}`);
}

function checkSocket(socket: unknown, name: string): void {
  if (!(socket instanceof Socket)) throw new TypeError(`${name} must be a Socket, got ${describe(socket)}`);
}

