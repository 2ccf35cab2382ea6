// Sends: one queue per socket, so that sends go out in call order (net.Socket's write
// order) whatever finishes when. Most sends finish within the call and never queue.
// A job's data is released as soon as it settles; an abort cancels the job's WSASend
// in flight, or takes a waiting job out of the queue at once.

import { abortedBy, SocketStateError, WinsockError } from '../core/errors.ts';
import type { SocketCore } from '../core/socket-core.ts';
import { releaseForHandoff as releaseFromPort } from '../iocp/associations.ts';
import type { IoOperation } from '../iocp/operation.ts';
import { MAX_POOLED_BLOCK } from '../iocp/pools.ts';
import { WSA_OPERATION_ABORTED, WSAENOBUFS } from '../sys/index.ts';
import { cancel, port, track, untrack } from './engine.ts';

/** One sendAsync / stream write. It is its own abort listener (an EventListener object): no closure per call. */
class SendJob {
  readonly queue: SendQueue;
  /** The data, as one or more Buffers; released (null) as soon as the job settles, so an aborted job does not keep it alive. */
  chunks: readonly Uint8Array[] | null;
  /** Where the next byte to send is: chunks[index][offset]. */
  index = 0;
  offset = 0;
  /** Bytes the stack has taken so far (an error's bytesWritten). */
  sent = 0;
  /** In place (a stream's writes, gathered into one WSASend) or copied into pinned memory piece by piece (sendAsync). */
  readonly inPlace: boolean;
  /** The promise's settlers; a job that finishes within the call needs none (no-ops then). */
  resolve: () => void = noop;
  reject: (error: unknown) => void = noop;
  readonly signal: AbortSignal | undefined;
  /** Listening to `signal` (only while queued). */
  listening = false;
  /** The WSASend in flight for this job, while its turn runs. */
  operation: IoOperation | null = null;
  done = false;

  constructor(queue: SendQueue, chunks: readonly Uint8Array[], inPlace: boolean, signal: AbortSignal | undefined) {
    this.queue = queue;
    this.chunks = chunks;
    this.inPlace = inPlace;
    this.signal = signal;
  }

  /** The signal fired. */
  handleEvent(): void {
    abortSend(this.queue, this);
  }
}

/** Sends of one socket: the job whose turn it is, then the ones waiting, in call order. */
interface SendQueue {
  readonly core: SocketCore;
  readonly jobs: SendJob[];
}

function noop(): void {}

const sendQueues = new WeakMap<SocketCore, SendQueue>();
/** A gathered WSASend takes at most this many Buffers. */
const MAX_GATHER = 64;

/**
 * Sends every byte of `data`, in pieces of at most 256 KiB, after any send already
 * queued on the socket. A piece is copied into pinned memory when its turn comes (as
 * net.Socket.write takes the caller's Buffer), so the caller must not change `data`
 * until the promise settles. An array goes out in order, its pieces copied back to back
 * into one pinned block and sent as one WSASend with a WSABUF each (up to 64 of them and
 * 256 KiB a time). On failure or abort, the error's `bytesWritten` says how many bytes
 * of `data` the stack had taken.
 */
export function sendAsync(core: SocketCore, data: Uint8Array | readonly Uint8Array[], signal: AbortSignal | undefined): Promise<void> {
  return send(core, data instanceof Uint8Array ? [data] : data, false, signal);
}

/**
 * Before the socket's handle leaves it (detach, duplicate): ERR_SOCKET_BUSY while
 * sends are queued or operations pending; then off its completion port (see
 * completion-port.ts). Returns whether the handle is free of any port of ours.
 */
export function releaseForHandoff(core: SocketCore, operation: string): boolean {
  const queue = sendQueues.get(core);
  if (queue !== undefined && queue.jobs.length > 0) {
    throw new SocketStateError('ERR_SOCKET_BUSY', `${operation}: the socket has sends queued; let them settle (or abort them) first`);
  }
  return releaseFromPort(core, operation);
}

/**
 * For streams: one WSASend of all of `chunks` (up to 64 at a time), read by the OS in
 * place. The stream owns them until this settles, as net.Socket's own writes do.
 */
export function sendChunksAsync(core: SocketCore, chunks: readonly Uint8Array[]): Promise<void> {
  return send(core, chunks, true, undefined);
}

function send(core: SocketCore, chunks: readonly Uint8Array[], inPlace: boolean, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(withBytes(abortedBy(signal), 0));
  let queue = sendQueues.get(core);
  if (queue === undefined) {
    queue = { core, jobs: [] };
    sendQueues.set(core, queue);
  }
  const job = new SendJob(queue, chunks, inPlace, signal);
  if (queue.jobs.length === 0) {
    // Nothing ahead: send now; most sends finish within this call and need no queue entry.
    try {
      while (!job.done) {
        const operation = issuePiece(queue, job);
        if (operation === null) return Promise.resolve();
        if (!operation.completed) return wait(queue, job, operation);
        const error = pieceDone(job, operation);
        if (error !== null) return Promise.reject(error);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }
  return wait(queue, job, null);
}

/** Queues `job` (its promise settles when it is sent or fails); `inFlight` is its WSASend already issued. */
function wait(queue: SendQueue, job: SendJob, inFlight: IoOperation | null): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  job.resolve = resolve;
  job.reject = reject;
  queue.jobs.push(job);
  if (job.signal !== undefined) {
    job.listening = true;
    job.signal.addEventListener('abort', job, { once: true });
  }
  if (inFlight !== null) watch(queue, job, inFlight);
  return promise;
}

/** The job's next WSASend, or null when it has nothing left to send. */
function issuePiece(queue: SendQueue, job: SendJob): IoOperation | null {
  const chunks = job.chunks!;
  // Skip what is sent, and empty chunks (a zero-length WSABUF points nowhere).
  while (job.index < chunks.length && job.offset >= chunks[job.index]!.byteLength) {
    job.index++;
    job.offset = 0;
  }
  if (job.index >= chunks.length) {
    // An empty sendAsync still makes one (empty) WSASend, as send() of 0 bytes does.
    if (job.sent > 0 || job.inPlace || chunks.some((chunk) => chunk.byteLength > 0)) return null;
    job.index = chunks.length;
    return port().send(queue.core, chunks[0] ?? new Uint8Array(0));
  }
  const first = chunks[job.index]!;
  if (!job.inPlace) {
    if (chunks.length === 1) {
      // Most sends are one piece sent whole: no subarray for those.
      const whole = job.offset === 0 && first.byteLength <= MAX_POOLED_BLOCK;
      return port().send(queue.core, whole ? first : first.subarray(job.offset, job.offset + MAX_POOLED_BLOCK));
    }
    return port().sendCopied(queue.core, chunks, job.index, job.offset, MAX_POOLED_BLOCK, MAX_GATHER);
  }
  const pieces: Uint8Array[] = [job.offset === 0 ? first : first.subarray(job.offset)];
  for (let i = job.index + 1; i < chunks.length && pieces.length < MAX_GATHER; i++) if (chunks[i]!.byteLength > 0) pieces.push(chunks[i]!);
  return port().sendGathered(queue.core, pieces);
}

/** Moves the job's cursor past what a finished WSASend took; the error to settle it with, or null to go on. */
function pieceDone(job: SendJob, operation: IoOperation): unknown {
  let bytes = operation.bytes;
  job.sent += bytes;
  const chunks = job.chunks!;
  while (bytes > 0 && job.index < chunks.length) {
    const left = chunks[job.index]!.byteLength - job.offset;
    if (bytes < left) {
      job.offset += bytes;
      bytes = 0;
    } else {
      bytes -= left;
      job.index++;
      job.offset = 0;
    }
  }
  if (operation.error !== null) {
    const aborted = operation.error instanceof WinsockError && operation.error.errno === WSA_OPERATION_ABORTED && job.signal?.aborted === true;
    return finishJob(job, withBytes(aborted ? abortedBy(job.signal!) : operation.error, job.sent));
  }
  const remaining = job.index < chunks.length;
  if (operation.bytes === 0 && remaining) return finishJob(job, withBytes(new WinsockError('WSASend', WSAENOBUFS), job.sent)); // nothing was taken
  // The signal fired after this piece finished but before its completion came (CancelIoEx
  // then has nothing to cancel): the rest is not sent, as if the piece had been cancelled.
  if (remaining && job.signal?.aborted === true) return finishJob(job, withBytes(abortedBy(job.signal), job.sent));
  if (!remaining) finishJob(job, null);
  return null;
}

/** An abort: the job in its turn cancels its WSASend; a job still waiting rejects at once and lets go of its data. */
function abortSend(queue: SendQueue, job: SendJob): void {
  if (job.done) return;
  if (job.operation !== null) {
    cancel(job.operation);
    return;
  }
  const at = queue.jobs.indexOf(job);
  if (at > 0) queue.jobs.splice(at, 1);
  job.reject(finishJob(job, withBytes(abortedBy(job.signal!), job.sent)));
}

function watch(queue: SendQueue, job: SendJob, operation: IoOperation): void {
  job.operation = operation;
  operation.context = queue;
  operation.onSettled = sendSettled;
  track(operation);
}

function sendSettled(operation: IoOperation): void {
  const queue = operation.context as SendQueue;
  operation.context = null;
  untrack(operation);
  const job = queue.jobs[0]!;
  job.operation = null;
  settleJob(job, pieceDone(job, operation));
  advance(queue);
}

/** Runs the queue's jobs, in order, until one goes pending or none is left. */
function advance(queue: SendQueue): void {
  while (queue.jobs.length > 0) {
    const job = queue.jobs[0]!;
    if (job.done) {
      queue.jobs.shift();
      continue;
    }
    let operation: IoOperation | null;
    try {
      operation = issuePiece(queue, job);
    } catch (error) {
      settleJob(job, finishJob(job, queue.core.closed ? closedUnder(job) : error));
      continue;
    }
    if (operation === null) {
      settleJob(job, finishJob(job, null));
      continue;
    }
    if (!operation.completed) {
      watch(queue, job, operation);
      return;
    }
    settleJob(job, pieceDone(job, operation));
  }
}

/**
 * A send the socket was closed under, between two of its WSASends or before its turn
 * came: it ends as one whose WSASend the close aborted (WSA_OPERATION_ABORTED, with
 * bytesWritten), so that a close rejects every send made before it the same way, whenever
 * it falls.
 */
function closedUnder(job: SendJob): WinsockError {
  return withBytes(new WinsockError('WSASend', WSA_OPERATION_ABORTED), job.sent);
}

/** Marks the job done (once) and lets go of its data; returns `error` for the caller to settle with. */
function finishJob(job: SendJob, error: unknown): unknown {
  if (job.done) return null;
  job.done = true;
  job.chunks = null;
  if (job.listening) job.signal!.removeEventListener('abort', job);
  return error ?? null;
}

/** Settles a queued job's promise once it is done. */
function settleJob(job: SendJob, error: unknown): void {
  if (!job.done) return;
  if (error !== null) job.reject(error);
  else job.resolve();
}

/** The bytes of the call's data that the stack took before the error: on the error, as `bytesWritten`. */
function withBytes<E>(error: E, bytes: number): E {
  if (error instanceof Error) Object.defineProperty(error, 'bytesWritten', { value: bytes, enumerable: true, configurable: true });
  return error;
}
