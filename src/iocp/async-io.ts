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
import { WinsockError } from '../errors.ts';
import type { Socket } from '../socket.ts';
import { isReferenced } from '../socket-internals.ts';
import { eventLoop, WSA_OPERATION_ABORTED, WSAENOBUFS, WSAETIMEDOUT } from '../sys/index.ts';
import { CompletionPort, context, EVENT_LOOP, Operation, referenceChanged, settled } from './completion-port.ts';
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
    sharedPort = new CompletionPort(EVENT_LOOP);
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
type Finish<T> = (operation: Operation, waiter: Waiter<T>) => T;

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
  /** recvChunk: the Buffer the data is copied into. */
  target: Buffer | null;
}

/**
 * Runs one operation on the shared port: `operation` was just issued. A fired signal
 * cancels it; the promise settles when its completion arrives (so its memory is back in
 * the pool), or at once when it finished at once.
 */
function settle<T>(operation: Operation, finish: Finish<T>, signal: AbortSignal | undefined, target: Buffer | null, timeout?: { ms: number; error: () => Error }): Promise<T> {
  if (operation.state === 'completed') {
    if (operation.error !== null) return Promise.reject(operation.error);
    try {
      return Promise.resolve(finish(operation, { target } as Waiter<T>));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const waiter: Waiter<T> = { resolve, reject, finish, signal, onAbort: undefined, timer: undefined, timeout, aborted: false, timedOut: false, target };
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
      waiter.resolve(waiter.finish(operation, waiter));
    } catch (finishError) {
      waiter.reject(finishError);
    }
  } else if (error.errno !== WSA_OPERATION_ABORTED) {
    // It failed on its own before the cancel took effect: that error is the news.
    waiter.reject(error);
  } else if (waiter.aborted) waiter.reject(new AbortError(undefined, { cause: waiter.signal?.reason }));
  else if (waiter.timedOut) waiter.reject(waiter.timeout!.error());
  else waiter.reject(error);
}

function abortedBy(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}

const finishBytes: Finish<number> = (operation) => operation.bytes;
const finishAccepted: Finish<Socket> = (operation) => operation.accepted!;
const finishNothing: Finish<void> = () => undefined;
const finishChunk: Finish<Buffer> = (operation, waiter) => waiter.target!.subarray(0, operation.bytes);

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
  return settle(operation, finishBytes, signal, null);
}

/**
 * One overlapped recv of up to `size` bytes into a new Buffer that is handed out as it
 * is (a view of exactly the bytes received; empty at the end of the stream). For streams.
 */
export function recvChunk(socket: Socket, size: number, options?: AsyncOptions): Promise<Buffer> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  const target = Buffer.allocUnsafe(Math.min(size, MAX_POOLED_BLOCK));
  let operation: Operation;
  try {
    operation = port().recv(socket, target);
  } catch (error) {
    return Promise.reject(error);
  }
  return settle(operation, finishChunk, signal, target);
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
  return settle(operation, finishAccepted, signal, null);
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
  return settle(operation, finishNothing, signal, null, timeout).catch((error: unknown) => {
    // Name the call and the target as the synchronous connect() does.
    if (error instanceof WinsockError && error.syscall === 'ConnectEx') throw new WinsockError('connect', error.errno, endpoint);
    throw error;
  });
}

// --- Sends: one queue per socket ----------------------------------------------------

interface SendJob {
  /** Released (null) as soon as the job settles: an aborted job must not keep its data alive. */
  data: Uint8Array | null;
  offset: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
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

/**
 * Sends every byte of `data`, in pieces of at most 256 KiB, after any sendAsync already
 * queued on the socket. A piece is copied into pinned memory when its turn comes (as
 * net.Socket.write takes the caller's Buffer), so the caller must not change `data`
 * until the promise settles. On failure or abort, the error's `bytesWritten` says how
 * many bytes of `data` the stack had taken.
 */
export function sendAsync(socket: Socket, data: Uint8Array, options?: AsyncOptions): Promise<void> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(withBytes(abortedBy(signal), 0));
  let queue = sendQueues.get(socket);
  if (queue === undefined || queue.jobs.length === 0) {
    // Nothing ahead: try the whole send now; most small sends finish in this call.
    let offset = 0;
    try {
      do {
        const operation = port().send(socket, data.subarray(offset, offset + MAX_POOLED_BLOCK));
        if (operation.state !== 'completed') {
          queue ??= newQueue(socket);
          return enqueue(queue, data, offset, signal, operation);
        }
        if (operation.error !== null) return Promise.reject(withBytes(operation.error, offset));
        if (operation.bytes === 0 && data.byteLength > 0) return Promise.reject(withBytes(new WinsockError('WSASend', WSAENOBUFS), offset));
        offset += operation.bytes;
      } while (offset < data.byteLength);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }
  return enqueue(queue, data, 0, signal, null);
}

function newQueue(socket: Socket): SendQueue {
  const queue: SendQueue = { socket, jobs: [] };
  sendQueues.set(socket, queue);
  return queue;
}

function enqueue(queue: SendQueue, data: Uint8Array, offset: number, signal: AbortSignal | undefined, inFlight: Operation | null): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const job: SendJob = { data, offset, resolve, reject, signal, onAbort: undefined, operation: null, done: false };
  queue.jobs.push(job);
  if (signal !== undefined) {
    job.onAbort = (): void => abortSend(queue, job);
    signal.addEventListener('abort', job.onAbort, { once: true });
  }
  if (inFlight !== null) watch(queue, job, inFlight);
  return promise;
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
  finishJob(job, withBytes(abortedBy(job.signal!), job.offset));
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
  if (operation.error !== null) {
    const aborted = operation.error.errno === WSA_OPERATION_ABORTED && job.signal?.aborted === true;
    // The bytes a cancelled or failed WSASend still moved count as sent.
    job.offset += operation.bytes;
    finishJob(job, withBytes(aborted ? abortedBy(job.signal!) : operation.error, job.offset));
  } else {
    job.offset += operation.bytes;
    if (operation.bytes === 0) finishJob(job, withBytes(new WinsockError('WSASend', WSAENOBUFS), job.offset));
  }
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
    const data = job.data!;
    if (job.offset >= data.byteLength) {
      queue.jobs.shift();
      finishJob(job, null);
      continue;
    }
    let operation: Operation;
    try {
      operation = port().send(queue.socket, data.subarray(job.offset, job.offset + MAX_POOLED_BLOCK));
    } catch (error) {
      queue.jobs.shift();
      finishJob(job, error);
      continue;
    }
    if (operation.state !== 'completed') {
      watch(queue, job, operation);
      return;
    }
    if (operation.error !== null) {
      queue.jobs.shift();
      finishJob(job, withBytes(operation.error, job.offset));
    } else if (operation.bytes === 0) {
      queue.jobs.shift();
      finishJob(job, withBytes(new WinsockError('WSASend', WSAENOBUFS), job.offset));
    } else job.offset += operation.bytes;
  }
}

function finishJob(job: SendJob, error: unknown): void {
  if (job.done) return;
  job.done = true;
  job.data = null;
  if (job.onAbort !== undefined) job.signal!.removeEventListener('abort', job.onAbort);
  if (error === null) job.resolve();
  else job.reject(error);
}

/** The bytes of the call's data that the stack took before the error: on the error, as `bytesWritten`. */
function withBytes<E>(error: E, bytes: number): E {
  if (error instanceof Error) Object.defineProperty(error, 'bytesWritten', { value: bytes, enumerable: true, configurable: true });
  return error;
}
