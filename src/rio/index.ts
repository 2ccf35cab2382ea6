// Registered I/O (RIO, Windows 8 / Server 2012 and later), the published face: RioResult,
// CompletionQueue and RequestQueue, plus what the other files of rio/ publish.
//
// Why these three share a file: their published types name each other (a CompletionQueue's
// results are RioResults, a RioResult names its RequestQueue, a RequestQueue its
// CompletionQueues), so no split of them into files is free of a type-level import cycle.
// They are thin faces: the work is in the cores below, one job per file:
//   support.ts           whether the system has RIO; the function table; shared errors
//   registered-buffer.ts RegisteredBuffer (published as is) and what requests do with it
//   records.ts           the records of requests in flight (RequestContext -> request)
//   completion-queue.ts  dequeue, RIONotify waits, resize, close order, corrupt queues
//   request-queue.ts     receives, sends, commit, resize, the per-queue limits
// Each face keeps its core in a private field; a module that is handed a published object
// reaches its core through core/internals.ts (`completionQueues` here, `registeredBuffers`
// in registered-buffer.ts), which is also the brand check.
//
// What this layer enforces, because a native misuse would corrupt memory or data: ranges
// inside one registered buffer, one pending request per range, deregistration only after
// the last result, sockets made with WSA_FLAG_REGISTERED_IO, queue limits before the
// native call, the documented close order (sockets, then completion queues, then
// buffers), one thread per queue, and ERR_RIO_CORRUPT_CQ, never a hang, for a corrupt
// queue. Results are dequeued into `results`, RioResult objects made once per completion
// queue and overwritten by each dequeue(): no allocation per result.

import { checkObject } from '../core/checks.ts';
import { sockets } from '../core/socket-core.ts';
import { Internals } from '../core/internals.ts';
import { WinsockError } from '../core/errors.ts';
import type { Socket } from '../socket.ts';
import { CompletionQueueCore } from './completion-queue.ts';
import type { CompletionNotification, CompletionQueueOptions } from './completion-queue.ts';
import type { RioRequestKind } from './records.ts';
import type { RegisteredBuffer } from './registered-buffer.ts';
import { RequestQueueCore } from './request-queue.ts';
import type { RequestOptions } from './request-queue.ts';

export { RegisteredBuffer } from './registered-buffer.ts';
export { registeredIoSupported, registeredIoUnavailableBecause } from './support.ts';
export type { CompletionNotification, CompletionQueueOptions } from './completion-queue.ts';
export type { RioRequestKind } from './records.ts';
export type { RequestOptions } from './request-queue.ts';

/** The one way other modules reach a completion queue's core; `of()` is also the brand check. */
const completionQueues = new Internals<CompletionQueue, CompletionQueueCore>('a CompletionQueue');

/** One dequeued completion. The objects in CompletionQueue.results are reused by every dequeue(). */
export class RioResult {
  /** What the request was. */
  kind: RioRequestKind = 'receive';
  /** The Winsock error it completed with (RIORESULT.Status), 0 for success. */
  status = 0;
  /** Bytes sent or received; for a receive, 0 with status 0 is the end of the stream. */
  bytes = 0;
  /** The request's buffer and range. */
  buffer: RegisteredBuffer | null = null;
  offset = 0;
  length = 0;
  /** The context given with the request. */
  context: unknown = undefined;
  /** The request queue it was issued on. */
  queue: RequestQueue | null = null;

  /** A WinsockError for a failed request (made when asked for), else null. */
  get error(): WinsockError | null {
    return this.status === 0 ? null : new WinsockError(this.kind === 'send' ? 'RIOSend' : 'RIOReceive', this.status);
  }
}

function newResult(): RioResult {
  return new RioResult();
}

/**
 * A RIO completion queue (RIOCreateCompletionQueue): the results of the requests of the
 * request queues that use it, taken with dequeue() into `results`.
 */
export class CompletionQueue {
  readonly notification: CompletionNotification;
  /** Reused by every dequeue(): entries [0, n) hold the n results the last call returned. */
  readonly results: readonly RioResult[];
  readonly #core: CompletionQueueCore;

  constructor(options: CompletionQueueOptions = {}) {
    const core = new CompletionQueueCore(options, newResult);
    this.#core = core;
    this.notification = core.notification;
    // The core fills these very objects: it made them with newResult.
    this.results = core.results as readonly RioResult[];
    completionQueues.bind(this, core);
  }

  /** Entries (see resize()). */
  get size(): number {
    return this.#core.size;
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /** True once RIODequeueCompletion reported the queue corrupt. */
  get corrupt(): boolean {
    return this.#core.corrupt;
  }

  /** Requests whose results have not been dequeued yet. */
  get outstanding(): number {
    return this.#core.outstanding;
  }

  /**
   * RIODequeueCompletion: takes up to `max` results (default results.length) into
   * `results` and returns how many; 0 when none is waiting. Never blocks.
   */
  dequeue(max?: number): number {
    return this.#core.dequeue(max);
  }

  /**
   * 'port' notification only: waits up to `timeoutMs` (default: forever), blocking this
   * thread, for results, and dequeues them into `results`. Returns how many (0 on timeout).
   */
  wait(timeoutMs?: number): number {
    return this.#core.wait(timeoutMs);
  }

  /**
   * Waits without blocking the event loop for results, and dequeues them into `results`:
   * resolves with how many (0 when `timeoutMs` passes first, or the queue is closed). One
   * at a time per queue. With 'event-loop' notification, Node's loop delivers RIONotify's
   * completion on this thread; with 'port', a threadpool thread waits on the queue's port
   * in slices of at most 50 ms. The queue itself is only ever touched on this thread.
   */
  waitAsync(timeoutMs?: number): Promise<number> {
    return this.#core.waitAsync(timeoutMs);
  }

  /** RIOResizeCompletionQueue: at least what its request queues reserve and what it holds. */
  resize(size: number): void {
    this.#core.resize(size);
  }

  /**
   * Closes the queue, in RIO's documented order: throws ERR_RIO_CLOSE_ORDER while a
   * request queue that uses it has an open socket (close the sockets first); then collects
   * the results the closed sockets' requests still report (for up to 5 s), so that their
   * buffers are free again; then RIOCloseCompletionQueue. A request that never reported
   * keeps its buffer registered and its memory for good. A running waitAsync resolves
   * with 0. Idempotent.
   */
  close(): void {
    this.#core.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface RequestQueueOptions {
  /** The completion queue of both directions (or give receiveQueue and sendQueue). */
  readonly completionQueue?: CompletionQueue;
  /** The completion queue of receives. */
  readonly receiveQueue?: CompletionQueue;
  /** The completion queue of sends. */
  readonly sendQueue?: CompletionQueue;
  /** Receives that can be outstanding at once (default 1). */
  readonly maxOutstandingReceive?: number;
  /** Sends that can be outstanding at once (default 1). */
  readonly maxOutstandingSend?: number;
  /** Reported with every result of this queue, as RioResult.queue.context. */
  readonly context?: unknown;
}

/**
 * A socket's RIO request queue (RIOCreateRequestQueue): its receives and sends, each
 * naming a range of a RegisteredBuffer and reporting to a completion queue. The socket
 * must have been created with `registeredIo: true`; the queue ends when the socket closes.
 */
export class RequestQueue {
  readonly socket: Socket;
  readonly context: unknown;
  readonly receiveQueue: CompletionQueue;
  readonly sendQueue: CompletionQueue;
  readonly #core: RequestQueueCore;

  constructor(socket: Socket, options: RequestQueueOptions) {
    const socketCore = sockets.of(socket, 'socket');
    checkObject(options);
    const { completionQueue, receiveQueue: receive, sendQueue: send, maxOutstandingReceive, maxOutstandingSend, context } = options;
    const receiveQueue = receive ?? completionQueue;
    const sendQueue = send ?? completionQueue;
    const receiveCore = completionQueues.of(receiveQueue, 'receiveQueue (or completionQueue)');
    const sendCore = completionQueues.of(sendQueue, 'sendQueue (or completionQueue)');
    this.socket = socket;
    this.context = context;
    this.receiveQueue = receiveQueue!;
    this.sendQueue = sendQueue!;
    this.#core = new RequestQueueCore(this, socketCore, receiveCore, sendCore, maxOutstandingReceive, maxOutstandingSend);
  }

  /** True once its socket is closed (which ends the native request queue). */
  get closed(): boolean {
    return this.socket.closed;
  }

  get maxOutstandingReceive(): number {
    return this.#core.maxOutstandingReceive;
  }

  get maxOutstandingSend(): number {
    return this.#core.maxOutstandingSend;
  }

  /** Receives issued whose results have not been dequeued. */
  get receivesOutstanding(): number {
    return this.#core.receivesOutstanding;
  }

  /** Sends issued whose results have not been dequeued. */
  get sendsOutstanding(): number {
    return this.#core.sendsOutstanding;
  }

  /**
   * RIOReceive into `buffer[offset, offset + length)`. Its result comes through the
   * receive completion queue, with `context`. Throws ERR_RIO_QUEUE_FULL when
   * maxOutstandingReceive receives are outstanding, ERR_RIO_BUFFER_BUSY when the range
   * overlaps a pending request's.
   */
  receive(buffer: RegisteredBuffer, offset: number, length: number, context?: unknown, options?: RequestOptions): void {
    this.#core.request('receive', buffer, offset, length, context, options);
  }

  /**
   * RIOSend of `buffer[offset, offset + length)`. The OS reads the bytes until the result
   * comes (through the send completion queue, with `context`): do not change them before.
   * Throws ERR_RIO_QUEUE_FULL when maxOutstandingSend sends are outstanding,
   * ERR_RIO_BUFFER_BUSY when the range overlaps a pending request's.
   */
  send(buffer: RegisteredBuffer, offset: number, length: number, context?: unknown, options?: RequestOptions): void {
    this.#core.request('send', buffer, offset, length, context, options);
  }

  /** RIO_MSG_COMMIT_ONLY: starts the deferred receives and sends now. */
  commit(): void {
    this.#core.commit();
  }

  /** RIOResizeRequestQueue: new maximums, no lower than what is outstanding. */
  resize(maxOutstandingReceive: number, maxOutstandingSend: number): void {
    this.#core.resize(maxOutstandingReceive, maxOutstandingSend);
  }
}
