// Registered I/O (RIO, Windows 8 / Server 2012 and later), typed: RegisteredBuffer,
// CompletionQueue and RequestQueue over the platform layer's RIO calls (sys/windows/rio.ts).
//
// What this layer enforces, because a native misuse would corrupt memory or data:
// - Every request names a range inside one registered buffer, and a range is in at most
//   one pending request at a time (RIO lets the OS read or write it until the completion).
// - A buffer is deregistered, and its memory let go, only once every request that uses
//   it has completed (its result dequeued): close() of a buffer in use defers both.
// - Request queues are made only on sockets created with WSA_FLAG_REGISTERED_IO
//   (`new Socket({ registeredIo: true })`), one per socket, and a request queue never has
//   more requests outstanding than it was created for (ERR_RIO_QUEUE_FULL, before the call).
// - The documented close order: sockets (which end their request queues), then completion
//   queues (close() refuses while a request queue on it has an open socket, then collects
//   what the closed sockets' requests report), then buffers.
// - One thread per queue: queues are JavaScript objects of one thread and no handle ever
//   leaves this module, so no second thread can reach a queue. A waitAsync() waits for the
//   notification on another thread (port) or on Node's loop, never inside the queue.
// - A corrupt completion queue (RIO_CORRUPT_CQ) throws ERR_RIO_CORRUPT_CQ and refuses every
//   later call; its pending requests keep their memory for good (a leak beats a corruption).
//
// Results are dequeued into `results`, an array of RioResult objects made once per
// completion queue and overwritten by each dequeue(): no allocation per result.

import { checkBoolean, checkInteger, checkMsOrZero, checkObject, describe, requireTcp } from './core/checks.ts';
import { SocketStateError, WinsockError } from './core/errors.ts';
import type { Socket } from './socket.ts';
import { sockets } from './core/socket-core.ts';
import { constants, eventLoop, INFINITE, overlapped as ov, PinnedMemory, rio, WSA_IO_PENDING } from './sys/index.ts';
import type { Handle, OverlappedSlot, RioApi } from './sys/index.ts';

const { RIO_MSG_DEFER, RIO_MSG_DONT_NOTIFY, RIO_MSG_WAITALL, RIO_MAX_CQ_SIZE: MAX_QUEUE_SIZE } = constants;
const { WSAEALREADY } = constants.ERRORS;
const UINT32_MAX = 0xffffffff;
const DEFAULT_QUEUE_SIZE = 1024;
const MAX_BATCH = 1024;
/** How long CompletionQueue.close() collects the completions of closed sockets' requests. */
const CLOSE_DRAIN_MS = 5000;
/** The longest one waitAsync slice holds a threadpool thread (port notification). */
const WAIT_SLICE_MS = 50;

/** Whether this system has Registered I/O: asks once, with a throw-away socket. False under Wine and before Windows 8. */
export function registeredIoSupported(): boolean {
  return rio.unavailableBecause() === null;
}

/**
 * Null when this system has Registered I/O, else the name of the error the system
 * answered the request for its function table with ('WSAEOPNOTSUPP' under Wine and
 * before Windows 8).
 */
export function registeredIoUnavailableBecause(): string | null {
  return rio.unavailableBecause();
}

/** The function table, or ERR_RIO_UNAVAILABLE with the system's answer as its cause. */
function rioApi(operation: string): RioApi {
  try {
    return rio.api();
  } catch (error) {
    if (!(error instanceof WinsockError)) throw error;
    const unavailable = new SocketStateError(
      'ERR_RIO_UNAVAILABLE',
      `${operation}: this system has no Registered I/O (WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) answered ${error.code})`,
    );
    unavailable.cause = error;
    throw unavailable;
  }
}

function closedError(what: string, operation: string): SocketStateError {
  return new SocketStateError('ERR_RIO_CLOSED', `${operation}: the ${what} is closed`);
}

function corruptError(operation: string): SocketStateError {
  return new SocketStateError('ERR_RIO_CORRUPT_CQ', `${operation}: the completion queue is corrupt (RIODequeueCompletion returned RIO_CORRUPT_CQ); it refuses every call but close()`);
}

// --- Requests in flight ------------------------------------------------------------------
//
// Each request issued takes a record; its index is the RequestContext RIO reports back,
// so that a result finds what the request holds (its buffer range, its queue, the
// caller's context) without trusting anything else in the result. Records are reused.

/** What a RIO request was. */
export type RioRequestKind = 'send' | 'receive';
type Kind = RioRequestKind;

/** @internal */
class RequestRecord {
  readonly index: number;
  inUse = false;
  kind: Kind = 'receive';
  queue: RequestQueue | null = null;
  buffer: RegisteredBuffer | null = null;
  offset = 0;
  length = 0;
  context: unknown = undefined;
  /** Where this record sits in its buffer's list of pending requests. */
  slot = -1;

  constructor(index: number) {
    this.index = index;
  }
}

const records: RequestRecord[] = [];
const freeRecords: RequestRecord[] = [];
/** Records of requests whose completion never came before their completion queue closed or broke: held for good. */
const abandoned: RequestRecord[] = [];

function takeRecord(): RequestRecord {
  const record = freeRecords.pop() ?? new RequestRecord(records.length);
  if (record.index === records.length) records.push(record);
  record.inUse = true;
  return record;
}

function freeRecord(record: RequestRecord): void {
  record.inUse = false;
  record.queue = null;
  record.buffer = null;
  record.context = undefined;
  freeRecords.push(record);
}

/** One 16-byte RIO_BUF the calls read during the call (JavaScript makes one call at a time). */
let scratchRioBuf: PinnedMemory | null = null;

function rioBuf(): PinnedMemory {
  scratchRioBuf ??= new PinnedMemory(rio.RIO_BUF.size);
  return scratchRioBuf;
}

// --- Registered buffers --------------------------------------------------------------------

/** @internal What a buffer holds natively, for the finalizer (nothing here refers to the buffer). */
interface NativeBuffer {
  readonly api: RioApi;
  readonly id: number;
  /** The registered memory: referenced until deregistration. */
  readonly memory: SharedArrayBuffer;
  deregistered: boolean;
}

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
  readonly #native: NativeBuffer;
  #closed = false;
  /** Requests in flight on this buffer. */
  readonly #pending: RequestRecord[] = [];

  /** Allocates `size` bytes (1 to 2^32-1) and registers them. Throws ERR_RIO_UNAVAILABLE where the system has no RIO. */
  constructor(size: number) {
    checkInteger(size, 'size', 1, UINT32_MAX);
    const api = rioApi('RegisteredBuffer');
    const memory = new SharedArrayBuffer(size);
    this.bytes = Buffer.from(memory);
    this.size = size;
    const id = api.registerBuffer(this.bytes);
    this.#native = { api, id, memory, deregistered: false };
    bufferFinalizer.register(this, this.#native, this);
  }

  /** True once close() was called (the registration itself may last until pending requests complete). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Requests that use this buffer and have not completed yet. */
  get pendingRequests(): number {
    return this.#pending.length;
  }

  /**
   * Refuses new requests from now on and deregisters the memory (RIODeregisterBuffer) as
   * soon as no request uses it: now, or when the last one's result is dequeued.
   * Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deregisterIfIdle();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Brand check that a subclass or a look-alike cannot pass. */
  static isBuffer(value: unknown): value is RegisteredBuffer {
    return typeof value === 'object' && value !== null && #native in value;
  }

  /** @internal */
  static nativeOf(buffer: RegisteredBuffer, operation: string): NativeBuffer {
    if (buffer.#closed) throw closedError('registered buffer', operation);
    return buffer.#native;
  }

  /** @internal Throws ERR_RIO_BUFFER_BUSY when [offset, offset + length) overlaps a pending request's range. */
  static checkFree(buffer: RegisteredBuffer, offset: number, length: number, operation: string): void {
    const end = offset + length;
    for (const other of buffer.#pending) {
      if (other.offset < end && offset < other.offset + other.length) {
        throw new SocketStateError(
          'ERR_RIO_BUFFER_BUSY',
          `${operation}: bytes ${offset} to ${end} of the registered buffer overlap a pending ${other.kind} of bytes ${other.offset} to ${other.offset + other.length}; a range can be in one request at a time`,
        );
      }
    }
  }

  /** @internal A request now uses the buffer. */
  static pin(buffer: RegisteredBuffer, record: RequestRecord): void {
    record.slot = buffer.#pending.length;
    buffer.#pending.push(record);
  }

  /** @internal A request's result was dequeued (or it was never issued): the buffer is free of it. */
  static unpin(buffer: RegisteredBuffer, record: RequestRecord): void {
    const pending = buffer.#pending;
    const last = pending.pop()!;
    if (last !== record) {
      pending[record.slot] = last;
      last.slot = record.slot;
    }
    record.slot = -1;
    if (buffer.#closed) buffer.#deregisterIfIdle();
  }

  #deregisterIfIdle(): void {
    if (this.#pending.length > 0 || this.#native.deregistered) return;
    this.#native.deregistered = true;
    bufferFinalizer.unregister(this);
    this.#native.api.deregisterBuffer(this.#native.id);
  }
}

// --- Completion queues -----------------------------------------------------------------

/** How a completion queue tells that results are waiting. */
export type CompletionNotification = 'none' | 'port' | 'event-loop';

export interface CompletionQueueOptions {
  /**
   * Entries (default 1024, at most 2^27): at least the sum of the maximum outstanding
   * requests of every request queue that uses it (RIOCreateRequestQueue fails with
   * WSAENOBUFS otherwise).
   */
  readonly size?: number;
  /**
   * 'none' (default): polled with dequeue(). 'port': RIONotify through a completion port
   * of the queue's own, waited on by wait() (blocking) or waitAsync() (a threadpool thread,
   * in slices of at most 50 ms). 'event-loop': RIONotify through Node's own event loop
   * (libuv's completion port, on node.exe's main thread), waited on by waitAsync().
   */
  readonly notification?: CompletionNotification;
  /** Results one dequeue() returns at most: the length of `results` (default the smaller of size and 1024). */
  readonly batch?: number;
}

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

/** What a completion queue holds natively, shared with the finalizer (nothing here refers to the queue). */
interface NativeQueue {
  readonly api: RioApi;
  readonly handle: number;
  readonly results: PinnedMemory;
  readonly notification: PinnedMemory | null;
  /** The OVERLAPPED RIONotify completes: a plain slot (port) or one inside a uv_async_t (event loop). */
  readonly slot: OverlappedSlot | null;
  /** The queue's own completion port ('port'). */
  readonly port: Handle | null;
  /** A RIONotify is pending: its packet may still come, naming the slot. */
  armed: boolean;
  closed: boolean;
}

/** Memory a notification may still name: never freed. */
const leakedSlots: OverlappedSlot[] = [];

function releaseNative(native: NativeQueue): void {
  native.closed = true;
  native.api.closeCompletionQueue(native.handle);
  native.results.free();
  if (native.slot instanceof eventLoop.LoopSlot) {
    // libuv frees it in its close callback, after the pending notification's packet if one is armed.
    native.slot.free();
  } else if (native.slot !== null) {
    if (native.armed) leakedSlots.push(native.slot);
    else native.slot.free();
  }
  native.notification?.free();
}

const queueFinalizer = new FinalizationRegistry<NativeQueue>((native) => {
  // Collected without close(): no request is pending and no waitAsync runs (both refer to it).
  if (native.closed) return;
  releaseNative(native);
  if (native.port !== null) ov.closePort(native.port);
});

/** The uv_async_t slot of an event-loop queue: libuv calls back on the main thread when RIONotify fires. */
class NotifySlot extends eventLoop.LoopSlot {
  readonly #onNotified: () => void;

  constructor(onNotified: () => void) {
    super();
    this.#onNotified = onNotified;
  }

  override completed(): void {
    super.completed();
    this.#onNotified();
  }
}

interface Waiter {
  readonly resolve: (count: number) => void;
  readonly reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

/**
 * A RIO completion queue (RIOCreateCompletionQueue): the results of the requests of the
 * request queues that use it, taken with dequeue() into `results`.
 */
export class CompletionQueue {
  #size: number;
  readonly notification: CompletionNotification;
  /** Reused by every dequeue(): entries [0, n) hold the n results the last call returned. */
  readonly results: readonly RioResult[];
  readonly #native: NativeQueue;
  #state: 'open' | 'corrupt' | 'closed' = 'open';
  /** Requests issued on this queue's request queues whose results have not been dequeued. */
  #outstanding = 0;
  /** Request queues that use it (a closed socket's, with nothing outstanding, is dropped now and then). */
  readonly #requestQueues = new Set<RequestQueue>();
  #pruneAt = 16;
  #waiter: Waiter | null = null;
  /** A waitAsync slice is out on a threadpool thread ('port'). */
  #slicing = false;
  #asyncEntries: PinnedMemory | null = null;
  #asyncRemoved: PinnedMemory | null = null;
  #entries: PinnedMemory | null = null;
  #removed: PinnedMemory | null = null;

  constructor(options: CompletionQueueOptions = {}) {
    checkObject(options);
    const { size: requestedSize, notification: requestedNotification, batch: requestedBatch } = options;
    const size = requestedSize === undefined ? DEFAULT_QUEUE_SIZE : checkInteger(requestedSize, 'size', 1, MAX_QUEUE_SIZE);
    const notification = requestedNotification ?? 'none';
    if (notification !== 'none' && notification !== 'port' && notification !== 'event-loop') {
      throw new TypeError(`notification must be 'none', 'port' or 'event-loop', got ${describe(notification)}`);
    }
    const batch = requestedBatch === undefined ? Math.min(size, MAX_BATCH) : checkInteger(requestedBatch, 'batch', 1, MAX_BATCH);
    if (notification === 'event-loop') {
      const why = eventLoop.eventLoopUnavailableBecause();
      if (why !== null) throw new SocketStateError('ERR_RIO_EVENT_LOOP', `CompletionQueue: notification through Node's event loop is not possible here: ${why}`);
    }
    const api = rioApi('CompletionQueue');
    this.#size = size;
    this.notification = notification;
    this.results = Array.from({ length: batch }, () => new RioResult());
    const results = new PinnedMemory(batch * rio.RIORESULT.size);
    let port: Handle | null = null;
    let slot: OverlappedSlot | null = null;
    let memory: PinnedMemory | null = null;
    try {
      if (notification === 'port') {
        port = ov.createPort();
        slot = new ov.OverlappedSlot();
      } else if (notification === 'event-loop') {
        // Held by event-loop.ts for as long as libuv knows the handle: it must not hold the queue.
        const self = new WeakRef(this);
        slot = new NotifySlot(() => {
          const queue = self.deref();
          if (queue !== undefined) queue.#notified();
        });
      }
      if (slot !== null) {
        memory = new PinnedMemory(rio.RIO_NOTIFICATION_COMPLETION.size);
        rio.writePortNotification(memory, port ?? eventLoop.loopPort(), 0, slot);
      }
      const handle = api.createCompletionQueue(size, memory);
      this.#native = { api, handle, results, notification: memory, slot, port, armed: false, closed: false };
    } catch (error) {
      results.free();
      memory?.free();
      slot?.free();
      if (port !== null) ov.closePort(port);
      throw error;
    }
    queueFinalizer.register(this, this.#native, this);
  }

  /** Entries (see resize()). */
  get size(): number {
    return this.#size;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** True once RIODequeueCompletion reported the queue corrupt. */
  get corrupt(): boolean {
    return this.#state === 'corrupt';
  }

  /** Requests whose results have not been dequeued yet. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /**
   * RIODequeueCompletion: takes up to `max` results (default results.length) into
   * `results` and returns how many; 0 when none is waiting. Never blocks.
   */
  dequeue(max: number = this.results.length): number {
    this.#usable('dequeue');
    if (max !== this.results.length) checkInteger(max, 'max', 1, this.results.length);
    return this.#dequeue(max);
  }

  #dequeue(max: number): number {
    const native = this.#native;
    const count = native.api.dequeue(native.handle, native.results, max);
    if (count === rio.RIO_CORRUPT_CQ) {
      this.#markCorrupt();
      throw corruptError('dequeue');
    }
    const bytes = native.results.bytes;
    const results = this.results;
    for (let i = 0; i < count; i++) {
      const at = i * rio.RIORESULT.size;
      const index = bytes.readUInt32LE(at + rio.RIORESULT.RequestContext) + bytes.readUInt32LE(at + rio.RIORESULT.RequestContext + 4) * 0x1_0000_0000;
      const record = records[index];
      // A context this queue never issued: RIO's memory is not what it should be.
      if (record === undefined || !record.inUse || record.queue?.completionQueueFor(record.kind) !== this) {
        this.#markCorrupt();
        throw new SocketStateError('ERR_RIO_CORRUPT_CQ', `dequeue: RIODequeueCompletion returned a result for request ${index}, which this queue has not issued; the queue refuses every call but close() from now on`);
      }
      const result = results[i]!;
      result.kind = record.kind;
      result.status = bytes.readInt32LE(at + rio.RIORESULT.Status);
      result.bytes = bytes.readUInt32LE(at + rio.RIORESULT.BytesTransferred);
      result.buffer = record.buffer;
      result.offset = record.offset;
      result.length = record.length;
      result.context = record.context;
      result.queue = record.queue;
      this.#settle(record);
    }
    return count;
  }

  /** A request's result is in: its buffer range and its queue slot are free again. */
  #settle(record: RequestRecord): void {
    this.#outstanding--;
    record.queue!.settled(record.kind);
    RegisteredBuffer.unpin(record.buffer!, record);
    freeRecord(record);
  }

  /**
   * 'port' notification only: waits up to `timeoutMs` (default: forever), blocking this
   * thread, for results, and dequeues them into `results`. Returns how many (0 on timeout).
   */
  wait(timeoutMs: number = INFINITE): number {
    this.#usable('wait');
    checkMsOrZero(timeoutMs, 'timeoutMs');
    if (this.notification !== 'port') throw new SocketStateError('ERR_RIO_NOTIFICATION', `wait: this completion queue was made with notification '${this.notification}'; wait() needs 'port'`);
    if (this.#waiter !== null) throw new SocketStateError('ERR_WAIT_IN_PROGRESS', 'wait: a waitAsync is running on this completion queue');
    const deadline = timeoutMs === INFINITE ? Infinity : Date.now() + timeoutMs;
    this.#entries ??= new PinnedMemory(ov.OVERLAPPED_ENTRY_SIZE);
    this.#removed ??= new PinnedMemory(8);
    for (;;) {
      const count = this.#dequeue(this.results.length);
      if (count > 0) return count;
      const left = deadline - Date.now();
      if (left <= 0) return 0;
      this.#arm('wait');
      // The packet may be a stale one, from a notification armed by an earlier wait that
      // timed out and fired since: then the queue is looked at again and re-armed.
      if (ov.dequeue(this.#native.port!, this.#entries, 1, this.#removed, deadline === Infinity ? INFINITE : Math.ceil(left)) > 0) this.#native.armed = false;
      if (this.#state !== 'open') return 0;
    }
  }

  /**
   * Waits without blocking the event loop for results, and dequeues them into `results`:
   * resolves with how many (0 when `timeoutMs` passes first, or the queue is closed). One
   * at a time per queue. With 'event-loop' notification, Node's loop delivers RIONotify's
   * completion on this thread; with 'port', a threadpool thread waits on the queue's port
   * in slices of at most 50 ms. The queue itself is only ever touched on this thread.
   */
  waitAsync(timeoutMs: number = INFINITE): Promise<number> {
    this.#usable('waitAsync');
    checkMsOrZero(timeoutMs, 'timeoutMs');
    if (this.notification === 'none') throw new SocketStateError('ERR_RIO_NOTIFICATION', "waitAsync: this completion queue was made with notification 'none'; poll it with dequeue()");
    if (this.#waiter !== null) throw new SocketStateError('ERR_WAIT_IN_PROGRESS', 'waitAsync: another waitAsync is already running on this completion queue');
    const count = this.#dequeue(this.results.length);
    if (count > 0 || timeoutMs === 0) return Promise.resolve(count);
    const deadline = timeoutMs === INFINITE ? Infinity : Date.now() + timeoutMs;
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: null };
      this.#waiter = waiter;
      try {
        this.#arm('waitAsync');
      } catch (error) {
        this.#waiter = null;
        throw error;
      }
      if (this.notification === 'event-loop') {
        (this.#native.slot as NotifySlot).setReferenced(true);
        if (deadline !== Infinity) waiter.timer = setTimeout(() => this.#endWait(waiter), timeoutMs);
      } else {
        this.#slice(waiter, deadline);
      }
    });
  }

  /** 'port': one slice of waiting on a threadpool thread. */
  #slice(waiter: Waiter, deadline: number): void {
    this.#asyncEntries ??= new PinnedMemory(ov.OVERLAPPED_ENTRY_SIZE);
    this.#asyncRemoved ??= new PinnedMemory(8);
    const sliceMs = deadline === Infinity ? WAIT_SLICE_MS : Math.max(0, Math.min(deadline - Date.now(), WAIT_SLICE_MS));
    const port = this.#native.port!;
    this.#slicing = true;
    ov.dequeueAsync(port, this.#asyncEntries, 1, this.#asyncRemoved, sliceMs, (error, removed) => {
      this.#slicing = false;
      if (this.#state === 'closed') {
        // close() ran meanwhile: the port and the entry memory were left for this moment.
        this.#finishClose();
        if (this.#waiter === waiter) this.#endWait(waiter);
        return;
      }
      if (this.#waiter !== waiter) return;
      if (error !== null) {
        this.#waiter = null;
        waiter.reject(error);
        return;
      }
      // RIONotify's packet names the slot's OVERLAPPED (a wake-up from close() names none).
      const entry = this.#asyncEntries!.bytes;
      if (removed > 0 && (entry.readUInt32LE(8) !== 0 || entry.readUInt32LE(12) !== 0)) this.#native.armed = false;
      this.#afterNotification(waiter, deadline);
    });
  }

  /** The notification came (or a slice ended): dequeue, or wait on for the time left. */
  #afterNotification(waiter: Waiter, deadline: number): void {
    let count: number;
    try {
      count = this.#state === 'open' ? this.#dequeue(this.results.length) : 0;
    } catch (error) {
      this.#clearWaiter(waiter);
      waiter.reject(error);
      return;
    }
    if (count > 0 || this.#state !== 'open' || Date.now() >= deadline) {
      this.#clearWaiter(waiter);
      waiter.resolve(count);
      return;
    }
    try {
      this.#arm('waitAsync');
    } catch (error) {
      this.#clearWaiter(waiter);
      waiter.reject(error);
      return;
    }
    if (this.notification === 'port') this.#slice(waiter, deadline);
  }

  /** 'event-loop': libuv delivered RIONotify's completion on this thread. */
  #notified(): void {
    this.#native.armed = false;
    const waiter = this.#waiter;
    if (waiter === null || this.#state === 'closed') return;
    this.#afterNotification(waiter, Infinity);
  }

  /** A timeout passed, or the queue closed: the wait resolves with what is there. */
  #endWait(waiter: Waiter): void {
    if (this.#waiter !== waiter) return;
    let count = 0;
    try {
      if (this.#state === 'open') count = this.#dequeue(this.results.length);
    } catch (error) {
      this.#clearWaiter(waiter);
      waiter.reject(error);
      return;
    }
    this.#clearWaiter(waiter);
    waiter.resolve(count);
  }

  #clearWaiter(waiter: Waiter): void {
    if (waiter.timer !== null) clearTimeout(waiter.timer);
    if (this.#waiter === waiter) this.#waiter = null;
    if (this.#native.slot instanceof NotifySlot) this.#native.slot.setReferenced(false);
  }

  /** RIONotify, unless one is pending already. */
  #arm(operation: string): void {
    const native = this.#native;
    if (native.armed) return;
    const slot = native.slot;
    if (slot instanceof NotifySlot) slot.arm();
    const rc = native.api.notify(native.handle);
    if (rc === 0 || rc === WSAEALREADY) {
      native.armed = true;
      return;
    }
    if (slot instanceof NotifySlot) slot.disarm();
    throw new WinsockError(`${operation}: RIONotify`, rc);
  }

  /** RIOResizeCompletionQueue: at least what its request queues reserve and what it holds. */
  resize(size: number): void {
    this.#usable('resize');
    checkInteger(size, 'size', 1, MAX_QUEUE_SIZE);
    this.#native.api.resizeCompletionQueue(this.#native.handle, size);
    this.#size = size;
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
    if (this.#state === 'closed') return;
    for (const queue of this.#requestQueues) {
      if (!queue.socket.closed) {
        throw new SocketStateError(
          'ERR_RIO_CLOSE_ORDER',
          'close: a request queue on this completion queue still has an open socket; close the sockets first (RIO closes request queues with their sockets, then completion queues, then buffers)',
        );
      }
    }
    if (this.#state === 'open' && this.#outstanding > 0) this.#drain();
    for (const record of records) {
      if (record.inUse && record.queue !== null && record.queue.completionQueueFor(record.kind) === this) {
        // Never completed: the OS may still write its buffer. Hold it all for good.
        record.inUse = false;
        abandoned.push(record);
      }
    }
    this.#outstanding = 0;
    this.#state = 'closed';
    queueFinalizer.unregister(this);
    releaseNative(this.#native);
    const waiter = this.#waiter;
    if (this.#slicing) {
      ov.postWake(this.#native.port!, 0); // the slice returns now and finishes the close
    } else {
      this.#finishClose();
      if (waiter !== null) this.#endWait(waiter);
    }
  }

  /** Collects what is still in flight, for closed sockets' requests: their aborted results. */
  #drain(): void {
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    const pause = new Int32Array(new SharedArrayBuffer(4));
    while (this.#outstanding > 0 && Date.now() < deadline) {
      let count: number;
      try {
        count = this.#dequeue(this.results.length);
      } catch {
        return; // corrupt: nothing more will come out of it
      }
      if (count === 0) Atomics.wait(pause, 0, 0, 1);
    }
  }

  /** What outlives the native queue until no waitAsync slice uses it: the port and its entry memory. */
  #finishClose(): void {
    if (this.#native.port !== null) ov.closePort(this.#native.port);
    this.#entries?.free();
    this.#removed?.free();
    this.#asyncEntries?.free();
    this.#asyncRemoved?.free();
    this.#entries = this.#removed = this.#asyncEntries = this.#asyncRemoved = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #usable(operation: string): void {
    if (this.#state === 'closed') throw closedError('completion queue', operation);
    if (this.#state === 'corrupt') throw corruptError(operation);
  }

  #markCorrupt(): void {
    this.#state = 'corrupt';
  }

  /** @internal The native handle and table, for a request queue being made; throws when closed or corrupt. */
  static attach(queue: CompletionQueue, requestQueue: RequestQueue, operation: string): { api: RioApi; handle: number } {
    queue.#usable(operation);
    const queues = queue.#requestQueues;
    if (queues.size >= queue.#pruneAt) {
      for (const other of queues) if (other.closed && other.receivesOutstanding + other.sendsOutstanding === 0) queues.delete(other);
      queue.#pruneAt = Math.max(16, 2 * queues.size);
    }
    queues.add(requestQueue);
    return { api: queue.#native.api, handle: queue.#native.handle };
  }

  /** @internal A request queue could not be made after all. */
  static detach(queue: CompletionQueue, requestQueue: RequestQueue): void {
    queue.#requestQueues.delete(requestQueue);
  }

  /** @internal Before a request on it: refuses a closed or corrupt queue. */
  static beforeRequest(queue: CompletionQueue, operation: string): void {
    queue.#usable(operation);
  }

  /** @internal A request on it was issued. */
  static issued(queue: CompletionQueue): void {
    queue.#outstanding++;
  }
}

// --- Request queues ----------------------------------------------------------------------

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

export interface RequestOptions {
  /** RIO_MSG_DEFER: queued, started by a later request without it or by commit(). */
  readonly defer?: boolean;
  /** RIO_MSG_DONT_NOTIFY: its result does not trigger the completion queue's notification. */
  readonly dontNotify?: boolean;
  /** RIO_MSG_WAITALL (receives on TCP): completes only once the range is full, the stream ends or it fails. */
  readonly waitAll?: boolean;
}

const requestQueues = new WeakMap<Socket, RequestQueue>();
let nextQueueId = 1;

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
  #maxReceive: number;
  #maxSend: number;
  #receives = 0;
  #sends = 0;
  readonly #api: RioApi;
  readonly #handle: number;
  readonly #id: number;

  constructor(socket: Socket, options: RequestQueueOptions) {
    sockets.of(socket, 'socket');
    checkObject(options);
    const { completionQueue, receiveQueue: receive, sendQueue: send, maxOutstandingReceive, maxOutstandingSend, context } = options;
    const receiveQueue = receive ?? completionQueue;
    const sendQueue = send ?? completionQueue;
    for (const [value, name] of [
      [receiveQueue, 'receiveQueue (or completionQueue)'],
      [sendQueue, 'sendQueue (or completionQueue)'],
    ] as const) {
      if (!(value instanceof CompletionQueue)) throw new TypeError(`${name} must be a CompletionQueue, got ${describe(value)}`);
    }
    const maxReceive = maxOutstandingReceive === undefined ? 1 : checkInteger(maxOutstandingReceive, 'maxOutstandingReceive', 0, UINT32_MAX);
    const maxSend = maxOutstandingSend === undefined ? 1 : checkInteger(maxOutstandingSend, 'maxOutstandingSend', 0, UINT32_MAX);
    if (maxReceive === 0 && maxSend === 0) throw new RangeError('maxOutstandingReceive and maxOutstandingSend cannot both be 0');
    const handle = sockets.of(socket, 'socket').live('RequestQueue');
    if (!socket.registeredIo) {
      throw new SocketStateError('ERR_RIO_SOCKET', 'RequestQueue: the socket was not created with WSA_FLAG_REGISTERED_IO; make it with new Socket({ registeredIo: true }), or accept it from such a listener');
    }
    if (requestQueues.has(socket)) throw new SocketStateError('ERR_RIO_SOCKET', 'RequestQueue: this socket has a request queue already (one per socket)');
    this.socket = socket;
    this.context = context;
    this.receiveQueue = receiveQueue!;
    this.sendQueue = sendQueue!;
    this.#maxReceive = maxReceive;
    this.#maxSend = maxSend;
    this.#id = nextQueueId++;
    const receiveNative = CompletionQueue.attach(this.receiveQueue, this, 'RequestQueue');
    let sendNative: { api: RioApi; handle: number };
    try {
      sendNative = CompletionQueue.attach(this.sendQueue, this, 'RequestQueue');
      if (sendNative.api !== receiveNative.api) throw new TypeError('RequestQueue: the two completion queues come from different RIO function tables');
      this.#api = receiveNative.api;
      this.#handle = this.#api.createRequestQueue(handle, maxReceive, maxSend, receiveNative.handle, sendNative.handle, this.#id);
    } catch (error) {
      CompletionQueue.detach(this.receiveQueue, this);
      CompletionQueue.detach(this.sendQueue, this);
      throw error;
    }
    requestQueues.set(socket, this);
  }

  /** True once its socket is closed (which ends the native request queue). */
  get closed(): boolean {
    return this.socket.closed;
  }

  get maxOutstandingReceive(): number {
    return this.#maxReceive;
  }

  get maxOutstandingSend(): number {
    return this.#maxSend;
  }

  /** Receives issued whose results have not been dequeued. */
  get receivesOutstanding(): number {
    return this.#receives;
  }

  /** Sends issued whose results have not been dequeued. */
  get sendsOutstanding(): number {
    return this.#sends;
  }

  /**
   * RIOReceive into `buffer[offset, offset + length)`. Its result comes through the
   * receive completion queue, with `context`. Throws ERR_RIO_QUEUE_FULL when
   * maxOutstandingReceive receives are outstanding, ERR_RIO_BUFFER_BUSY when the range
   * overlaps a pending request's.
   */
  receive(buffer: RegisteredBuffer, offset: number, length: number, context?: unknown, options?: RequestOptions): void {
    this.#request('receive', buffer, offset, length, context, options);
  }

  /**
   * RIOSend of `buffer[offset, offset + length)`. The OS reads the bytes until the result
   * comes (through the send completion queue, with `context`): do not change them before.
   * Throws ERR_RIO_QUEUE_FULL when maxOutstandingSend sends are outstanding,
   * ERR_RIO_BUFFER_BUSY when the range overlaps a pending request's.
   */
  send(buffer: RegisteredBuffer, offset: number, length: number, context?: unknown, options?: RequestOptions): void {
    this.#request('send', buffer, offset, length, context, options);
  }

  #request(kind: Kind, buffer: RegisteredBuffer, offset: number, length: number, context: unknown, options: RequestOptions | undefined): void {
    const syscall = kind === 'send' ? 'RIOSend' : 'RIOReceive';
    sockets.of(this.socket, 'socket').live(kind);
    if (!RegisteredBuffer.isBuffer(buffer)) throw new TypeError(`buffer must be a RegisteredBuffer, got ${describe(buffer)}`);
    const native = RegisteredBuffer.nativeOf(buffer, kind);
    if (native.api !== this.#api) throw new TypeError(`${kind}: the buffer was registered with another RIO function table than this queue's`);
    const size = buffer.size;
    checkInteger(offset, 'offset', 0, size - 1);
    checkInteger(length, 'length', 1, size - offset);
    const flags = options === undefined ? 0 : requestFlags(options, kind, this.socket);
    const completionQueue = kind === 'send' ? this.sendQueue : this.receiveQueue;
    CompletionQueue.beforeRequest(completionQueue, kind);
    const outstanding = kind === 'send' ? this.#sends : this.#receives;
    const max = kind === 'send' ? this.#maxSend : this.#maxReceive;
    if (outstanding >= max) {
      throw new SocketStateError('ERR_RIO_QUEUE_FULL', `${kind}: the request queue is full: ${outstanding} ${kind}s outstanding, its maximum (maxOutstanding${kind === 'send' ? 'Send' : 'Receive'}); dequeue their results first`);
    }
    RegisteredBuffer.checkFree(buffer, offset, length, kind);
    const record = takeRecord();
    record.kind = kind;
    record.queue = this;
    record.buffer = buffer;
    record.offset = offset;
    record.length = length;
    record.context = context;
    RegisteredBuffer.pin(buffer, record);
    const scratch = rioBuf();
    rio.writeRioBuf(scratch, native.id, offset, length);
    const rc = kind === 'send' ? this.#api.send(this.#handle, scratch, flags, record.index) : this.#api.receive(this.#handle, scratch, flags, record.index);
    if (rc !== 0 && rc !== WSA_IO_PENDING) {
      RegisteredBuffer.unpin(buffer, record);
      freeRecord(record);
      throw new WinsockError(syscall, rc);
    }
    if (kind === 'send') this.#sends++;
    else this.#receives++;
    CompletionQueue.issued(completionQueue);
  }

  /** RIO_MSG_COMMIT_ONLY: starts the deferred receives and sends now. */
  commit(): void {
    sockets.of(this.socket, 'socket').live('commit');
    for (const send of [false, true]) {
      CompletionQueue.beforeRequest(send ? this.sendQueue : this.receiveQueue, 'commit');
      const rc = this.#api.commit(this.#handle, send);
      if (rc !== 0) throw new WinsockError(send ? 'RIOSend' : 'RIOReceive', rc);
    }
  }

  /** RIOResizeRequestQueue: new maximums, no lower than what is outstanding. */
  resize(maxOutstandingReceive: number, maxOutstandingSend: number): void {
    sockets.of(this.socket, 'socket').live('resize');
    checkInteger(maxOutstandingReceive, 'maxOutstandingReceive', this.#receives, UINT32_MAX);
    checkInteger(maxOutstandingSend, 'maxOutstandingSend', this.#sends, UINT32_MAX);
    if (maxOutstandingReceive === 0 && maxOutstandingSend === 0) throw new RangeError('maxOutstandingReceive and maxOutstandingSend cannot both be 0');
    this.#api.resizeRequestQueue(this.#handle, maxOutstandingReceive, maxOutstandingSend);
    this.#maxReceive = maxOutstandingReceive;
    this.#maxSend = maxOutstandingSend;
  }

  /** @internal The completion queue of one direction. */
  completionQueueFor(kind: Kind): CompletionQueue {
    return kind === 'send' ? this.sendQueue : this.receiveQueue;
  }

  /** @internal A result of this queue was dequeued. */
  settled(kind: Kind): void {
    if (kind === 'send') this.#sends--;
    else this.#receives--;
  }
}

/** RIO_MSG_* from a request's options, each read once. */
function requestFlags(options: RequestOptions, kind: Kind, socket: Socket): number {
  checkObject(options);
  const { defer, dontNotify, waitAll } = options;
  let flags = 0;
  if (defer !== undefined && checkBoolean(defer, 'defer')) flags |= RIO_MSG_DEFER;
  if (dontNotify !== undefined && checkBoolean(dontNotify, 'dontNotify')) flags |= RIO_MSG_DONT_NOTIFY;
  if (waitAll !== undefined && checkBoolean(waitAll, 'waitAll')) {
    if (kind === 'send') throw new TypeError('waitAll applies to receives only');
    requireTcp(socket, 'receive with waitAll');
    flags |= RIO_MSG_WAITALL;
  }
  return flags;
}
