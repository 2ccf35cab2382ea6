// The Promise API's engine: one port per process, created on first use, in one of two
// ways (asyncEngine() says which, and why):
//
// - 'event-loop' (the main thread of node.exe): sockets are associated with libuv's own
//   completion port and each operation's OVERLAPPED lives in a uv_async_t, so Node's
//   loop dequeues the completion and calls back on the main thread: no thread, no
//   threadpool, no wake-up. A pending operation holds the loop open through its handle
//   (uv_ref), unless its socket was unref()'d, as a pending net.Socket read does.
// - 'worker-pump' (worker threads, runtimes without libuv's exports, or
//   WINSOCK_FFI_ENGINE=worker-pump): a completion port of our own, waited on by a koffi
//   async call on a libuv threadpool thread, in slices of at most SLICE_MS, so it never
//   holds a thread (or process exit, or worker.terminate()) longer than that. Only
//   referenced operations keep it waiting; unreferenced ones are polled by an unref'd
//   timer.
//
// Either way an operation that finishes at once (skip-on-success, or failed) settles in
// the caller's turn. Hot path: one Promise per call, no closure per call; sends on one
// socket queue behind each other (net.Socket's write order) in a per-socket queue.

import type { SocketAddressInput } from '../address.ts';
import { checkSignal } from '../checks.ts';
import { SocketStateError, WinsockError } from '../errors.ts';
import type { RecvFromResult, Socket } from '../socket.ts';
import { isReferenced } from '../socket-internals.ts';
import { eventLoop, WSA_OPERATION_ABORTED, WSAENOBUFS, WSAETIMEDOUT } from '../sys/index.ts';
import { CompletionPort, context, newEventLoopPort, Operation, recvInto, referenceChanged, releaseForHandoff as releaseFromPort, sendCopied, sendGathered, settled } from './completion-port.ts';
import { MAX_POOLED_BLOCK } from './pools.ts';

/** Rejection of an async call whose AbortSignal fired, shaped like Node's own AbortError. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

export interface AsyncOptions {
  /** Cancels the native operation and rejects with AbortError when it fires. */
  readonly signal?: AbortSignal;
}

/** Which engine completes the Promise API's operations in this thread, and why. */
export interface AsyncEngine {
  readonly name: 'event-loop' | 'worker-pump';
  readonly reason: string;
}

/** The longest delay setTimeout keeps as given. */
const MAX_TIMER_MS = 0x7fffffff;
/** worker-pump: the longest a wait holds a threadpool thread (and exit) before it looks again. */
export const SLICE_MS = 50;
/** worker-pump: how often unreferenced operations are polled for. */
const UNREFERENCED_POLL_MS = 20;

let sharedPort: CompletionPort | null = null;
let engine: AsyncEngine | null = null;
/** Operations issued on the shared port and not yet settled. */
const pendingOperations = new Set<Operation>();
let pumping = false;
let drainScheduled = false;
let pollTimer: NodeJS.Timeout | null = null;

/** The shared port (created on first use, with the engine this thread can have). */
export function port(): CompletionPort {
  if (sharedPort !== null) return sharedPort;
  const unavailable = eventLoop.eventLoopUnavailableBecause();
  if (unavailable === null) {
    sharedPort = newEventLoopPort();
    engine = { name: 'event-loop', reason: "node.exe exports libuv and its layout checked out: completions arrive on Node's own loop" };
  } else {
    sharedPort = new CompletionPort();
    engine = { name: 'worker-pump', reason: unavailable };
  }
  return sharedPort;
}

/** Which engine the Promise API uses in this thread, and why (probes on first call). */
export function asyncEngine(): AsyncEngine {
  port();
  return engine!;
}

/** For tests: operations in flight, and whether the engine holds the loop open for them. */
export function pumpState(): { pending: number; waiting: boolean } {
  const waiting = engine?.name === 'event-loop' ? referencedCount() > 0 : pumping;
  return { pending: pendingOperations.size, waiting };
}

function referencedCount(): number {
  let count = 0;
  for (const operation of pendingOperations) if (operation.socket[isReferenced]) count++;
  return count;
}

/** socket.ref()/unref(): its pending operations hold the loop open, or stop holding it. */
export function referenceChangedFor(socket: Socket): void {
  if (sharedPort === null) return;
  if (engine?.name === 'event-loop') sharedPort[referenceChanged](socket);
  else pump();
}

// --- worker-pump --------------------------------------------------------------------

function pump(): void {
  const shared = sharedPort;
  if (shared === null || engine?.name !== 'worker-pump' || shared.closed) return;
  // Operations that finished without a packet never reach the worker: drain them here.
  if (shared.readyCount > 0) scheduleDrain();
  if (pumping || pendingOperations.size === 0 || shared.readyCount > 0) return;
  if (referencedCount() === 0) {
    // Only unreferenced operations: look now and then, without holding the loop open.
    pollTimer ??= setTimeout(pollUnreferenced, UNREFERENCED_POLL_MS).unref();
    return;
  }
  pumping = true;
  shared.waitAsync(SLICE_MS).then(afterWait, afterWaitFailed);
}

function afterWait(): void {
  pumping = false;
  pump();
}

function afterWaitFailed(): void {
  // Cannot happen while the shared port is open; try again rather than strand operations.
  pumping = false;
  setImmediate(pump);
}

function pollUnreferenced(): void {
  pollTimer = null;
  if (sharedPort !== null && !sharedPort.closed && !pumping) sharedPort.poll();
  pump();
}

// Operations that settled without a packet are reported by a main-thread poll.
function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(drain);
}

function drain(): void {
  drainScheduled = false;
  if (sharedPort !== null && !sharedPort.closed) sharedPort.poll();
  pump();
}

function onSettled(operation: Operation): void {
  pendingOperations.delete(operation);
  // Only a worker still blocked in the wait needs waking; while the wait's own callback
  // runs (the usual way operations settle) the port no longer counts as waiting.
  if (engine?.name === 'worker-pump' && sharedPort !== null && sharedPort.waiting && referencedCount() === 0) sharedPort.wake();
}

// --- One operation, one Promise -----------------------------------------------------

/** What a settled operation resolves with. Module-level functions: no closure per call. */
type Finish<T> = (operation: Operation) => T;

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly finish: Finish<T>;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  timeout: { ms: number; error: () => Error } | undefined;
  aborted: boolean;
  timedOut: boolean;
}

/**
 * Runs one operation on the shared port: `operation` was just issued. A fired signal
 * cancels it; the promise settles when its completion arrives (so its memory is back in
 * the pool), or at once when it finished at once.
 */
function settle<T>(operation: Operation, finish: Finish<T>, signal: AbortSignal | undefined, timeout?: { ms: number; error: () => Error }): Promise<T> {
  if (operation.state === 'completed') {
    if (operation.error !== null) return Promise.reject(withRead(operation.error, operation));
    try {
      return Promise.resolve(finish(operation));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const waiter: Waiter<T> = { resolve, reject, finish, signal, onAbort: undefined, timer: undefined, timeout, aborted: false, timedOut: false };
  operation[context] = waiter;
  operation[settled] = settleWaiter;
  pendingOperations.add(operation);
  if (signal !== undefined) {
    // Only calls with a signal pay for the listener.
    waiter.onAbort = (): void => {
      waiter.aborted = true;
      sharedPort?.cancel(operation);
    };
    signal.addEventListener('abort', waiter.onAbort, { once: true });
  }
  if (timeout !== undefined) armTimeout(operation, waiter, timeout.ms);
  pump();
  return promise;
}

function armTimeout<T>(operation: Operation, waiter: Waiter<T>, remainingMs: number): void {
  // setTimeout holds at most 2^31-1 ms (beyond, Node fires after 1 ms): longer timeouts re-arm.
  waiter.timer = setTimeout(() => {
    if (remainingMs > MAX_TIMER_MS) {
      armTimeout(operation, waiter, remainingMs - MAX_TIMER_MS);
      return;
    }
    waiter.timedOut = true;
    sharedPort?.cancel(operation);
  }, Math.min(remainingMs, MAX_TIMER_MS));
}

function settleWaiter(operation: Operation): void {
  const waiter = operation[context] as Waiter<unknown>;
  operation[context] = null;
  if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
  if (waiter.timer !== undefined) clearTimeout(waiter.timer);
  onSettled(operation);
  const error = operation.error;
  // An operation that finished despite the abort keeps its result: its data is not lost.
  if (error === null) {
    try {
      waiter.resolve(waiter.finish(operation));
    } catch (finishError) {
      waiter.reject(finishError);
    }
  } else if (!(error instanceof WinsockError) || error.errno !== WSA_OPERATION_ABORTED) {
    // It failed on its own before the cancel took effect: that error is the news.
    waiter.reject(withRead(error, operation));
  } else if (waiter.aborted) waiter.reject(withRead(new AbortError(undefined, { cause: waiter.signal?.reason }), operation));
  else if (waiter.timedOut) waiter.reject(waiter.timeout!.error());
  else waiter.reject(withRead(error, operation));
}

/** A failed receive's rejection says how many bytes it had received (into the caller's buffer, or lost when that was detached). */
function withRead<E>(error: E, operation: Operation): E {
  if ((operation.kind === 'recv' || operation.kind === 'recvfrom') && error instanceof Error) Object.defineProperty(error, 'bytesRead', { value: operation.bytes, enumerable: true, configurable: true });
  return error;
}

function abortedBy(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}

const finishBytes: Finish<number> = (operation) => operation.bytes;
const finishAccepted: Finish<Socket> = (operation) => operation.accepted!;
const finishNothing: Finish<void> = () => undefined;
const finishFrom: Finish<RecvFromResult> = (operation) => {
  const from = operation.remoteAddress;
  return { bytes: operation.bytes, address: from?.address ?? '', port: from?.port ?? 0 };
};

/**
 * One overlapped WSARecvFrom: a datagram into `buffer`, with its sender. A datagram
 * larger than `buffer` rejects with WSAEMSGSIZE (its first bytes in `buffer`; the error
 * says how many as `bytesRead`, the datagram's size as `datagramBytes`, and the sender).
 */
export function recvFromAsync(socket: Socket, buffer: Uint8Array, options?: AsyncOptions): Promise<RecvFromResult> {
  return receiveDatagram(socket, buffer, options, finishFrom);
}

/**
 * recvAsync on a UDP socket: the same WSARecvFrom, resolving the byte count, so that a
 * datagram larger than `buffer` is reported (WSAEMSGSIZE, its first bytes delivered)
 * rather than cut short by the OS.
 */
export function recvDatagramAsync(socket: Socket, buffer: Uint8Array, options?: AsyncOptions): Promise<number> {
  return receiveDatagram(socket, buffer, options, finishBytes);
}

function receiveDatagram<T>(socket: Socket, buffer: Uint8Array, options: AsyncOptions | undefined, finish: Finish<T>): Promise<T> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  let operation: Operation;
  try {
    operation = port().recvFrom(socket, buffer);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finish, signal);
}

/** One overlapped WSASendTo of `data` (copied during the call) to `address` (a literal of the socket's family): the bytes sent. */
export function sendToAsync(socket: Socket, data: Uint8Array, address: SocketAddressInput, options?: AsyncOptions): Promise<number> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  let operation: Operation;
  try {
    operation = port().sendTo(socket, data, address);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finishBytes, signal);
}

/** One overlapped recv into `buffer`: the byte count, 0 at the end of the stream. */
export function recvAsync(socket: Socket, buffer: Uint8Array, options?: AsyncOptions): Promise<number> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  let operation: Operation;
  try {
    operation = port().recv(socket, buffer);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finishBytes, signal);
}

/**
 * For streams: one receive straight into `target` (no copy), a Buffer the caller
 * allocated and shows nobody until this settles; the byte count, 0 at the end of the stream.
 */
export function recvIntoAsync(socket: Socket, target: Buffer): Promise<number> {
  let operation: Operation;
  try {
    operation = port()[recvInto](socket, target);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finishBytes, undefined);
}

/** A zero-byte receive has nowhere to write: one empty Buffer serves them all. */
const NOTHING = Buffer.alloc(0);
/** Zero-byte receives in flight, by socket (a stream has at most one), for cancelWatch(). */
const watches = new WeakMap<Socket, Operation>();

/**
 * For streams: one zero-byte WSARecv (libuv's "zero read"). It consumes nothing and
 * resolves 0 once there is something to read (data, or the end of the stream); it rejects
 * when the connection fails (WSAECONNRESET, ...). It watches a connection whose reader
 * wants no data now. Nothing is allocated per call beyond the operation itself.
 */
export function watchAsync(socket: Socket): Promise<number> {
  let operation: Operation;
  try {
    operation = port()[recvInto](socket, NOTHING);
  } catch (error) {
    return Promise.reject(error);
  }
  if (operation.state !== 'completed') watches.set(socket, operation);
  return settle(operation, finishWatch, undefined);
}

const finishWatch: Finish<number> = (operation) => {
  watches.delete(operation.socket);
  return 0;
};

/** Cancels the socket's pending watchAsync(), if any: it then rejects with WSA_OPERATION_ABORTED. */
export function cancelWatch(socket: Socket): void {
  const operation = watches.get(socket);
  if (operation === undefined) return;
  watches.delete(socket);
  if (operation.state === 'pending') sharedPort?.cancel(operation);
}

/** AcceptEx on the shared port: the next connection. */
export function acceptAsync(listener: Socket, options?: AsyncOptions): Promise<Socket> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  let operation: Operation;
  try {
    operation = port().accept(listener);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finishAccepted, signal);
}

/** ConnectEx on the shared port; `timeoutMs` cancels it and rejects with WSAETIMEDOUT. */
export function connectAsync(socket: Socket, address: SocketAddressInput, timeoutMs: number | undefined, options?: AsyncOptions): Promise<void> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  const endpoint = { address: address.address, port: address.port };
  const timeout = timeoutMs === undefined ? undefined : { ms: timeoutMs, error: () => new WinsockError('connect', WSAETIMEDOUT, endpoint) };
  let operation: Operation;
  try {
    operation = port().connect(socket, address);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finishNothing, signal, timeout).catch((error: unknown) => {
    // Name the call and the target as the synchronous connect() does.
    if (error instanceof WinsockError && error.syscall === 'ConnectEx') throw new WinsockError('connect', error.errno, endpoint);
    throw error;
  });
}

// --- Sends: one queue per socket ----------------------------------------------------

interface SendJob {
  /** The data, as one or more Buffers; released (null) as soon as the job settles, so an aborted job does not keep it alive. */
  chunks: readonly Uint8Array[] | null;
  /** Where the next byte to send is: chunks[index][offset]. */
  index: number;
  offset: number;
  /** Bytes the stack has taken so far (an error's bytesWritten). */
  sent: number;
  /** In place (a stream's writes, gathered into one WSASend) or copied into pinned memory piece by piece (sendAsync). */
  readonly inPlace: boolean;
  /** The promise's settlers; a job that finishes within the call needs none (no-ops then). */
  resolve: () => void;
  reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The WSASend in flight for this job, while its turn runs. */
  operation: Operation | null;
  done: boolean;
}

/** Sends of one socket: the job whose turn it is, then the ones waiting, in call order. */
interface SendQueue {
  readonly socket: Socket;
  readonly jobs: SendJob[];
}

const sendQueues = new WeakMap<Socket, SendQueue>();
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
export function sendAsync(socket: Socket, data: Uint8Array | readonly Uint8Array[], options?: AsyncOptions): Promise<void> {
  return send(socket, data instanceof Uint8Array ? [data] : data, false, checkSignal(options));
}

/**
 * @internal Before the socket's handle leaves it (detach, duplicate): ERR_SOCKET_BUSY while
 * sends are queued or operations pending; then off its completion port (see
 * completion-port.ts). Returns whether the handle is free of any port of ours.
 */
export function releaseForHandoff(socket: Socket, operation: string): boolean {
  const queue = sendQueues.get(socket);
  if (queue !== undefined && queue.jobs.length > 0) {
    throw new SocketStateError('ERR_SOCKET_BUSY', `${operation}: the socket has sends queued; let them settle (or abort them) first`);
  }
  return releaseFromPort(socket, operation);
}

/**
 * For streams: one WSASend of all of `chunks` (up to 64 at a time), read by the OS in
 * place. The stream owns them until this settles, as net.Socket's own writes do.
 */
export function sendChunksAsync(socket: Socket, chunks: readonly Uint8Array[]): Promise<void> {
  return send(socket, chunks, true, undefined);
}

function send(socket: Socket, chunks: readonly Uint8Array[], inPlace: boolean, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(withBytes(abortedBy(signal), 0));
  let queue = sendQueues.get(socket);
  if (queue === undefined) {
    queue = { socket, jobs: [] };
    sendQueues.set(socket, queue);
  }
  const job: SendJob = { chunks, index: 0, offset: 0, sent: 0, inPlace, resolve: noop, reject: noop, signal, onAbort: undefined, operation: null, done: false };
  if (queue.jobs.length === 0) {
    // Nothing ahead: send now; most sends finish within this call and need no queue entry.
    try {
      while (!job.done) {
        const operation = issuePiece(queue, job);
        if (operation === null) return Promise.resolve();
        if (operation.state !== 'completed') return wait(queue, job, operation);
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

function noop(): void {}

/** Queues `job` (its promise settles when it is sent or fails); `inFlight` is its WSASend already issued. */
function wait(queue: SendQueue, job: SendJob, inFlight: Operation | null): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  job.resolve = resolve;
  job.reject = reject;
  queue.jobs.push(job);
  if (job.signal !== undefined) {
    job.onAbort = (): void => abortSend(queue, job);
    job.signal.addEventListener('abort', job.onAbort, { once: true });
  }
  if (inFlight !== null) watch(queue, job, inFlight);
  return promise;
}

/** The job's next WSASend, or null when it has nothing left to send. */
function issuePiece(queue: SendQueue, job: SendJob): Operation | null {
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
    return port().send(queue.socket, chunks[0] ?? new Uint8Array(0));
  }
  const first = chunks[job.index]!;
  if (!job.inPlace) {
    if (chunks.length === 1) return port().send(queue.socket, first.subarray(job.offset, job.offset + MAX_POOLED_BLOCK));
    return port()[sendCopied](queue.socket, chunks, job.index, job.offset, MAX_POOLED_BLOCK, MAX_GATHER);
  }
  const pieces: Uint8Array[] = [job.offset === 0 ? first : first.subarray(job.offset)];
  for (let i = job.index + 1; i < chunks.length && pieces.length < MAX_GATHER; i++) if (chunks[i]!.byteLength > 0) pieces.push(chunks[i]!);
  return port()[sendGathered](queue.socket, pieces);
}

/** Moves the job's cursor past what a finished WSASend took; the error to settle it with, or null to go on. */
function pieceDone(job: SendJob, operation: Operation): unknown {
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
    sharedPort?.cancel(job.operation);
    return;
  }
  const at = queue.jobs.indexOf(job);
  if (at > 0) queue.jobs.splice(at, 1);
  job.reject(finishJob(job, withBytes(abortedBy(job.signal!), job.sent)));
}

function watch(queue: SendQueue, job: SendJob, operation: Operation): void {
  job.operation = operation;
  operation[context] = queue;
  operation[settled] = sendSettled;
  pendingOperations.add(operation);
  pump();
}

function sendSettled(operation: Operation): void {
  const queue = operation[context] as SendQueue;
  operation[context] = null;
  onSettled(operation);
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
    let operation: Operation | null;
    try {
      operation = issuePiece(queue, job);
    } catch (error) {
      settleJob(job, finishJob(job, queue.socket.closed ? closedUnder(job) : error));
      continue;
    }
    if (operation === null) {
      settleJob(job, finishJob(job, null));
      continue;
    }
    if (operation.state !== 'completed') {
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
  if (job.onAbort !== undefined) job.signal!.removeEventListener('abort', job.onAbort);
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
