// The working state and behaviour behind a RIO CompletionQueue (RIOCreateCompletionQueue):
// dequeueing results, waiting for RIONotify (on the queue's own port or on Node's loop),
// resizing, and closing in RIO's documented order. The published class is a thin face
// over this core, in index.ts.
//
// Ownership: the core owns the native queue, its result memory, its notification memory
// and slot, and its own port ('port'); all are released by close(), or by the finalizer
// when the queue is collected unclosed. It counts the requests outstanding on it and knows
// the request queues that use it (their cores, through the Issuer view in records.ts, since
// request-queue.ts sits above). A dequeued result settles its record: the request queue's
// count, the buffer's pin, the record itself. One thread per queue: only the thread that
// made the queue ever touches it; a waitAsync waits for the notification on another thread
// (port) or on Node's loop, never inside the queue.
// A corrupt queue (RIO_CORRUPT_CQ) throws ERR_RIO_CORRUPT_CQ and refuses every later call
// but close(); what its pending requests hold stays allocated for good.

import { checkInteger, checkMsOrZero, checkObject, describe } from '../core/checks.ts';
import { SocketStateError, WinsockError } from '../core/errors.ts';
import { CLOSE_DRAIN_MS, sliceBefore } from '../iocp/waiting.ts';
import { constants, eventLoop, INFINITE, overlapped as ov, PinnedMemory, rio } from '../sys/index.ts';
import type { Handle, OverlappedSlot, RioApi } from '../sys/index.ts';
import { abandoned, freeRecord, records } from './records.ts';
import type { Issuer, RequestRecord, RioRequestKind } from './records.ts';
import type { RegisteredBuffer } from './registered-buffer.ts';
import { unpin } from './registered-buffer.ts';
import { closedError, rioApi } from './support.ts';

const { RIO_MAX_CQ_SIZE: MAX_QUEUE_SIZE } = constants;
const { WSAEALREADY } = constants.ERRORS;
const DEFAULT_QUEUE_SIZE = 1024;
/** The most results one dequeue() returns (the longest `results`); RIO's own bound, not the IOCP batch. */
const MAX_BATCH = 1024;

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

/** What a dequeue writes one result into: a published RioResult (index.ts), reused by every dequeue. */
export interface ResultSlot {
  kind: RioRequestKind;
  status: number;
  bytes: number;
  buffer: RegisteredBuffer | null;
  offset: number;
  length: number;
  context: unknown;
  /** The published RequestQueue (Issuer.owner). */
  queue: object | null;
}

export function corruptError(operation: string): SocketStateError {
  return new SocketStateError('ERR_RIO_CORRUPT_CQ', `${operation}: the completion queue is corrupt (RIODequeueCompletion returned RIO_CORRUPT_CQ); it refuses every call but close()`);
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

// Registered with the core as target and token: the core is reachable only through its
// published CompletionQueue (and what uses it), so both are collected together.
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

/** The state behind a CompletionQueue. index.ts's RequestQueue resolves a CompletionQueue to it through `completionQueues` (core/internals.ts) and hands it to request-queue.ts. */
export class CompletionQueueCore {
  #size: number;
  readonly notification: CompletionNotification;
  /** Reused by every dequeue(): entries [0, n) hold the n results the last call returned. */
  readonly results: readonly ResultSlot[];
  readonly #native: NativeQueue;
  #state: 'open' | 'corrupt' | 'closed' = 'open';
  /** Requests issued on this queue's request queues whose results have not been dequeued. */
  #outstanding = 0;
  /** Request queues that use it (a closed socket's, with nothing outstanding, is dropped now and then). */
  readonly #requestQueues = new Set<Issuer>();
  #pruneAt = 16;
  #waiter: Waiter | null = null;
  /** A waitAsync slice is out on a threadpool thread ('port'). */
  #slicing = false;
  #asyncEntries: PinnedMemory | null = null;
  #asyncRemoved: PinnedMemory | null = null;
  #entries: PinnedMemory | null = null;
  #removed: PinnedMemory | null = null;

  /** Checks the options and makes the native queue; `newResult` makes the published result objects. */
  constructor(options: CompletionQueueOptions, newResult: () => ResultSlot) {
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
    this.results = Array.from({ length: batch }, newResult);
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

  get size(): number {
    return this.#size;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  get corrupt(): boolean {
    return this.#state === 'corrupt';
  }

  get outstanding(): number {
    return this.#outstanding;
  }

  dequeue(max: number = this.results.length): number {
    this.usable('dequeue');
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
      result.queue = record.queue!.owner;
      this.#settle(record);
    }
    return count;
  }

  /** A request's result is in: its buffer range and its queue slot are free again. */
  #settle(record: RequestRecord): void {
    this.#outstanding--;
    record.queue!.settled(record.kind);
    unpin(record.bufferState!, record);
    freeRecord(record);
  }

  wait(timeoutMs: number = INFINITE): number {
    this.usable('wait');
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

  waitAsync(timeoutMs: number = INFINITE): Promise<number> {
    this.usable('waitAsync');
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
    const sliceMs = sliceBefore(deadline);
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

  resize(size: number): void {
    this.usable('resize');
    checkInteger(size, 'size', 1, MAX_QUEUE_SIZE);
    this.#native.api.resizeCompletionQueue(this.#native.handle, size);
    this.#size = size;
  }

  close(): void {
    if (this.#state === 'closed') return;
    for (const queue of this.#requestQueues) {
      if (!queue.closed) {
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

  /** Refuses a closed or corrupt queue (before any call on it, and before a request on it). */
  usable(operation: string): void {
    if (this.#state === 'closed') throw closedError('completion queue', operation);
    if (this.#state === 'corrupt') throw corruptError(operation);
  }

  #markCorrupt(): void {
    this.#state = 'corrupt';
  }

  /** The native handle and table, for a request queue being made; throws when closed or corrupt. */
  attach(requestQueue: Issuer, operation: string): { api: RioApi; handle: number } {
    this.usable(operation);
    const queues = this.#requestQueues;
    if (queues.size >= this.#pruneAt) {
      for (const other of queues) if (other.closed && other.outstanding === 0) queues.delete(other);
      this.#pruneAt = Math.max(16, 2 * queues.size);
    }
    queues.add(requestQueue);
    return { api: this.#native.api, handle: this.#native.handle };
  }

  /** A request queue could not be made after all. */
  detach(requestQueue: Issuer): void {
    this.#requestQueues.delete(requestQueue);
  }

  /** A request on it was issued. */
  issued(): void {
    this.#outstanding++;
  }
}
