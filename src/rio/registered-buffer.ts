// RegisteredBuffer: memory registered with RIO (RIORegisterBuffer), and what the request
// queues may do with it.
//
// Ownership: a buffer owns its registration and its memory. A request that names a range
// of it pins it (pin(), from request-queue.ts) until the request's result is dequeued
// (unpin(), from completion-queue.ts); a range is in at most one pending request at a time
// (checkFree()), because RIO lets the OS read or write it until the completion. close()
// refuses new requests at once, and RIODeregisterBuffer runs only when no request uses the
// buffer: a deregistration under a pending request would let the OS write freed memory.
// Other modules reach a buffer's state only through `registeredBuffers` (core/internals.ts).

import { checkInteger } from '../core/checks.ts';
import { Internals } from '../core/internals.ts';
import { SocketStateError } from '../core/errors.ts';
import type { RioApi } from '../sys/index.ts';
import { closedError, rioApi } from './support.ts';

const UINT32_MAX = 0xffffffff;

/** What a buffer holds natively, for the finalizer (nothing here refers to the buffer). */
export interface NativeBuffer {
  readonly api: RioApi;
  readonly id: number;
  /** The registered memory: referenced until deregistration. */
  readonly memory: SharedArrayBuffer;
  deregistered: boolean;
}

/** What a buffer knows of a request that uses it (a request record, records.ts). */
export interface PendingRange {
  readonly kind: string;
  readonly offset: number;
  readonly length: number;
  /** Where it sits in the buffer's list of pending requests. */
  slot: number;
}

/** The working state behind a RegisteredBuffer. */
export interface BufferState {
  readonly native: NativeBuffer;
  closed: boolean;
  /** Requests in flight on this buffer. */
  readonly pending: PendingRange[];
}

/** The one way other modules reach a buffer's state; `of()` is also the brand check (a look-alike or a subclass made without the constructor is refused). */
export const registeredBuffers = new Internals<RegisteredBuffer, BufferState>('a RegisteredBuffer');

// Registered with the buffer as target and its state as the token: the held value must not refer to the buffer.
const bufferFinalizer = new FinalizationRegistry<NativeBuffer>((native) => {
  // Collected without close(): no request can be pending (a pending one refers to it).
  if (!native.deregistered) {
    native.deregistered = true;
    native.api.deregisterBuffer(native.id);
  }
});

/**
 * Memory registered with RIO (RIORegisterBuffer): requests send from and receive into
 * ranges of it, with no copy and no per-request locking of pages. The memory is a
 * SharedArrayBuffer's, which never moves and can never be detached, so `bytes` stays
 * valid memory even after close(); it is registered from construction until close() and
 * the completion of the last request that uses it.
 */
export class RegisteredBuffer {
  /** Bytes registered. */
  readonly size: number;
  /** The registered memory. Do not change a range while a request that sends it is pending, nor read one a receive has not completed. */
  readonly bytes: Buffer;
  readonly #state: BufferState;

  /** Allocates `size` bytes (1 to 2^32-1) and registers them. Throws ERR_RIO_UNAVAILABLE where the system has no RIO. */
  constructor(size: number) {
    checkInteger(size, 'size', 1, UINT32_MAX);
    const api = rioApi('RegisteredBuffer');
    const memory = new SharedArrayBuffer(size);
    this.bytes = Buffer.from(memory);
    this.size = size;
    const id = api.registerBuffer(this.bytes);
    this.#state = { native: { api, id, memory, deregistered: false }, closed: false, pending: [] };
    registeredBuffers.bind(this, this.#state);
    bufferFinalizer.register(this, this.#state.native, this.#state);
  }

  /** True once close() was called (the registration itself may last until pending requests complete). */
  get closed(): boolean {
    return this.#state.closed;
  }

  /** Requests that use this buffer and have not completed yet. */
  get pendingRequests(): number {
    return this.#state.pending.length;
  }

  /**
   * Refuses new requests from now on and deregisters the memory (RIODeregisterBuffer) as
   * soon as no request uses it: now, or when the last one's result is dequeued.
   * Idempotent.
   */
  close(): void {
    const state = this.#state;
    if (state.closed) return;
    state.closed = true;
    deregisterIfIdle(state);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The native registration, for a request about to name it; ERR_RIO_CLOSED once close() was called. */
export function usableNative(state: BufferState, operation: string): NativeBuffer {
  if (state.closed) throw closedError('registered buffer', operation);
  return state.native;
}

/** Throws ERR_RIO_BUFFER_BUSY when [offset, offset + length) overlaps a pending request's range. */
export function checkFree(state: BufferState, offset: number, length: number, operation: string): void {
  const end = offset + length;
  for (const other of state.pending) {
    if (other.offset < end && offset < other.offset + other.length) {
      throw new SocketStateError(
        'ERR_RIO_BUFFER_BUSY',
        `${operation}: bytes ${offset} to ${end} of the registered buffer overlap a pending ${other.kind} of bytes ${other.offset} to ${other.offset + other.length}; a range can be in one request at a time`,
      );
    }
  }
}

/** A request now uses the buffer. */
export function pin(state: BufferState, request: PendingRange): void {
  request.slot = state.pending.length;
  state.pending.push(request);
}

/** A request's result was dequeued (or it was never issued): the buffer is free of it. */
export function unpin(state: BufferState, request: PendingRange): void {
  const pending = state.pending;
  const last = pending.pop()!;
  if (last !== request) {
    pending[request.slot] = last;
    last.slot = request.slot;
  }
  request.slot = -1;
  if (state.closed) deregisterIfIdle(state);
}

function deregisterIfIdle(state: BufferState): void {
  const native = state.native;
  if (state.pending.length > 0 || native.deregistered) return;
  native.deregistered = true;
  bufferFinalizer.unregister(state);
  native.api.deregisterBuffer(native.id);
}
