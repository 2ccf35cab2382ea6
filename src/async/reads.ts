// Receives that loop over the Promise API's one-operation receives (run.ts): recvExact,
// which fills a buffer whole, and ChunkReader, the async iterator of what a connection
// receives until the end of the stream. Arguments arrive checked by the public layer.
// Owns: a ChunkReader's receive buffer, which only its own pending receive writes into.

import { abortedBy, AbortError, EndOfStreamError } from '../core/errors.ts';
import type { SocketCore } from '../core/socket-core.ts';
import { MAX_FRESH_RECEIVE, recvAsync, recvIntoAsync } from './run.ts';

/**
 * Receives into `view` until it is full (one overlapped receive after another) and
 * resolves with `result`. The end of the stream first rejects with EndOfStreamError (the
 * bytes that came are `partial`); any other rejection says on `bytesRead` how many bytes
 * in all are in the front of the buffer.
 */
export async function recvExact<T>(core: SocketCore, view: Uint8Array, result: T, signal: AbortSignal | undefined): Promise<T> {
  // A fired signal rejects even an empty buffer's call, as every other call's.
  if (signal?.aborted) throw withFilled(abortedBy(signal), 0);
  const expected = view.byteLength;
  let filled = 0;
  while (filled < expected) {
    let bytes: number;
    try {
      bytes = await recvAsync(core, filled === 0 ? view : view.subarray(filled), signal);
    } catch (error) {
      throw withFilled(error, filled);
    }
    if (bytes === 0) throw new EndOfStreamError(filled, expected, view.subarray(0, filled), 'recvExactAsync');
    filled += bytes;
  }
  return result;
}

/** The failed receive's own `bytesRead` (what it brought before failing) added to what the earlier ones filled. */
function withFilled(error: unknown, filled: number): unknown {
  if (!(error instanceof Error)) return error;
  const own = (error as { bytesRead?: unknown }).bytesRead;
  const total = filled + (typeof own === 'number' ? own : 0);
  Object.defineProperty(error, 'bytesRead', { value: total, enumerable: true, configurable: true, writable: true });
  return error;
}

/** A chunk iterator's first receive is at most this large; it grows while receives come back full. */
const FIRST_CHUNK_RECEIVE = 64 * 1024;
/** The reason return() cancels a pending receive with, told apart from the caller's own signal. */
const STOPPED = Symbol('chunks() iteration ended by return()');
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * `socket.chunks(size)`: each next() is one receive of up to `size` bytes, straight into a
 * Buffer of the reader's own (the OS writes it; nobody sees it before the completion), and
 * yields a Buffer the caller keeps: that Buffer itself when the receive filled at least
 * half of it (the next receive gets a new one), else an exact-size copy (the buffer is
 * read into again). Receives start at 64 KiB (or `size`, when smaller) and double while
 * they come back full, up to `size` (at most MAX_FRESH_RECEIVE), as a stream's do.
 * Nothing is read ahead: between two next() calls no receive is pending, so leaving the
 * loop loses no data. return() with a next() pending (called by hand, or by a signal's
 * owner) cancels that receive and waits for it to settle; data that came all the same
 * goes to that next().
 */
export class ChunkReader implements AsyncIterableIterator<Buffer, undefined, undefined> {
  readonly #core: SocketCore;
  readonly #size: number;
  readonly #userSignal: AbortSignal | undefined;
  /** Cancels the pending receive on return(). */
  readonly #stop = new AbortController();
  /** The signal each receive gets: the caller's joined to #stop. */
  readonly #signal: AbortSignal;
  /** The next receive's size. */
  #receiveSize: number;
  /** The buffer the pending (or next) receive writes into; null once handed out. */
  #target: Buffer | null = null;
  /** The pending next()'s result while its receive is in flight. */
  #pending: Promise<IteratorResult<Buffer, undefined>> | null = null;
  #done = false;

  constructor(core: SocketCore, size: number, signal: AbortSignal | undefined) {
    this.#core = core;
    this.#size = size;
    this.#userSignal = signal;
    this.#signal = signal === undefined ? this.#stop.signal : AbortSignal.any([signal, this.#stop.signal]);
    this.#receiveSize = Math.min(size, FIRST_CHUNK_RECEIVE);
  }

  /** The next chunk (a Buffer the caller keeps), or done at the end of the stream; rejects when the receive fails. */
  next(): Promise<IteratorResult<Buffer, undefined>> {
    // A next() while one is pending waits its turn, as an async generator's does.
    if (this.#pending !== null) return this.#pending.then(this.#again, this.#again);
    if (this.#done) return Promise.resolve(DONE);
    if (this.#target === null || this.#target.byteLength !== this.#receiveSize) this.#target = Buffer.allocUnsafeSlow(this.#receiveSize);
    const pending = recvIntoAsync(this.#core, this.#target, this.#signal).then(this.#received, this.#failed);
    this.#pending = pending;
    return pending;
  }

  /** Ends the iteration, leaving the socket open; a pending receive is cancelled first and settled. */
  return(): Promise<IteratorResult<Buffer, undefined>> {
    const pending = this.#pending;
    this.#finish();
    if (pending === null) return Promise.resolve(DONE);
    this.#stop.abort(STOPPED);
    return pending.then(
      () => DONE,
      () => DONE,
    );
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** return(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  readonly #again = (): Promise<IteratorResult<Buffer, undefined>> => this.next();

  readonly #received = (bytes: number): IteratorResult<Buffer, undefined> => {
    this.#pending = null;
    const target = this.#target!;
    if (bytes === 0) {
      this.#finish();
      return DONE;
    }
    const length = target.byteLength;
    if (bytes === length) this.#receiveSize = Math.min(length * 2, this.#size, MAX_FRESH_RECEIVE);
    else if (bytes * 4 <= length) this.#receiveSize = Math.min(this.#size, FIRST_CHUNK_RECEIVE);
    let chunk: Buffer;
    if (bytes * 2 >= length) {
      // Mostly full: hand the buffer itself out; the next receive gets a new one.
      chunk = bytes === length ? target : target.subarray(0, bytes);
      this.#target = null;
    } else {
      chunk = Buffer.allocUnsafe(bytes);
      target.copy(chunk, 0, 0, bytes);
    }
    // Came after return(), which left the buffer to this receive: it is not needed again.
    if (this.#done) this.#target = null;
    return { done: false, value: chunk };
  };

  readonly #failed = (error: unknown): IteratorResult<Buffer, undefined> => {
    this.#pending = null;
    this.#finish();
    // Cancelled by return() (and not by the caller's signal): the iteration just ends.
    if (error instanceof AbortError && error.cause === STOPPED && this.#userSignal?.aborted !== true) return DONE;
    throw error;
  };

  #finish(): void {
    this.#done = true;
    if (this.#pending === null) this.#target = null;
  }
}
