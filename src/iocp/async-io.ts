// The Promise API's engine: one completion port per process, created on first use,
// and a pump that collects its completions on a worker thread (waitAsync), so the
// event loop never blocks.
//
// Keeping the process alive: a waitAsync in flight is a libuv work item, which holds
// the event loop open. The pump therefore runs one only while some operation is
// pending, as a pending net.Socket read would. When the last pending operation
// settles on the main thread while a wait is in flight (a failure at once, or a
// completion taken by a main-thread poll), the pump posts an empty packet so the
// worker returns and the loop may end.

import type { SocketAddressInput } from '../address.ts';
import { checkSignal } from '../checks.ts';
import { WinsockError } from '../errors.ts';
import type { Socket } from '../socket.ts';
import { WSA_OPERATION_ABORTED, WSAENOBUFS, WSAETIMEDOUT } from '../sys/index.ts';
import { CompletionPort, Operation, settled } from './completion-port.ts';
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

/** The longest delay setTimeout keeps as given. */
const MAX_TIMER_MS = 0x7fffffff;

let sharedPort: CompletionPort | null = null;
let pendingCount = 0;
let pumping = false;
let drainScheduled = false;

/** The shared port (created on first use). */
export function port(): CompletionPort {
  sharedPort ??= new CompletionPort();
  return sharedPort;
}

/** For tests: operations in flight on the shared port, and whether its worker is waiting. */
export function pumpState(): { pending: number; waiting: boolean } {
  return { pending: pendingCount, waiting: pumping };
}

function pump(): void {
  const shared = sharedPort;
  if (shared === null) return;
  // Operations that finished without a packet never reach the worker: drain them here,
  // whether or not a wait is running.
  if (shared.readyCount > 0) scheduleDrain();
  if (pumping || pendingCount === 0 || shared.readyCount > 0) return;
  pumping = true;
  shared.waitAsync().then(
    () => {
      pumping = false;
      pump();
    },
    () => {
      // Cannot happen while the shared port is open; try again rather than strand operations.
      pumping = false;
      setImmediate(pump);
    },
  );
}

// Operations that settled without a packet are reported by a main-thread poll.
function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(() => {
    drainScheduled = false;
    sharedPort?.poll();
    pump();
  });
}

function onSettled(): void {
  pendingCount--;
  // Only a worker still blocked in the wait needs waking; while the wait's own
  // callback runs (the usual way operations settle) the port no longer counts as waiting.
  if (pendingCount === 0 && sharedPort !== null && sharedPort.waiting) sharedPort.wake();
}

/**
 * Runs one operation on the shared port: `start` issues it, `finish` turns the
 * completed operation into the result. A fired signal cancels the native operation;
 * the promise settles when its completion arrives (so its memory is back in the pool).
 */
function run<T>(start: (shared: CompletionPort) => Operation, finish: (operation: Operation) => T, options: AsyncOptions | undefined, onTimeout?: { ms: number; error: () => Error }): Promise<T> {
  const signal = checkSignal(options);
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  const shared = port();
  let operation: Operation;
  try {
    operation = start(shared);
  } catch (error) {
    return Promise.reject(error);
  }
  pendingCount++;
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // Only calls with a signal pay for the listener.
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = (): void => {
        aborted = true;
        shared.cancel(operation);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (onTimeout !== undefined) {
      // setTimeout holds at most 2^31-1 ms (beyond, Node fires after 1 ms): longer timeouts re-arm.
      const arm = (remainingMs: number): void => {
        timer = setTimeout(() => {
          if (remainingMs > MAX_TIMER_MS) {
            arm(remainingMs - MAX_TIMER_MS);
            return;
          }
          timedOut = true;
          shared.cancel(operation);
        }, Math.min(remainingMs, MAX_TIMER_MS));
      };
      arm(onTimeout.ms);
    }
    operation[settled] = (done) => {
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      onSettled();
      // An operation that finished despite the abort keeps its result: its data is not lost.
      if (done.error === null) {
        try {
          resolve(finish(done));
        } catch (error) {
          reject(error);
        }
      } else if (done.error.errno !== WSA_OPERATION_ABORTED) {
        // It failed on its own before the cancel took effect: that error is the news.
        reject(done.error);
      } else if (aborted) reject(new AbortError(undefined, { cause: signal?.reason }));
      else if (timedOut) reject(onTimeout!.error());
      else reject(done.error);
    };
    pump();
  });
}

/** One overlapped recv into `buffer`: the byte count, 0 at the end of the stream. */
export function recvAsync(socket: Socket, buffer: Uint8Array, options?: AsyncOptions): Promise<number> {
  return run((shared) => shared.recv(socket, buffer), (operation) => operation.bytes, options);
}

/**
 * One overlapped recv of up to `maxBytes`, into a new Buffer of exactly the size
 * received (empty at the end of the stream). For the stream adapter.
 */
export function recvChunk(socket: Socket, scratch: Buffer, options?: AsyncOptions): Promise<Buffer> {
  return run(
    (shared) => shared.recv(socket, scratch),
    (operation) => {
      // One Buffer per chunk, without the subarray view Buffer.from(scratch.subarray()) also made.
      const chunk = Buffer.allocUnsafe(operation.bytes);
      scratch.copy(chunk, 0, 0, operation.bytes);
      return chunk;
    },
    options,
  );
}

// The last sendAsync queued on each socket: a send waits for the one before it, so two
// calls made back to back cannot interleave their pieces (net.Socket's write order).
const sendQueues = new WeakMap<Socket, Promise<void>>();

/**
 * Sends every byte of `data`, in pieces of at most 256 KiB, one after the other,
 * after any sendAsync already queued on the socket.
 */
export function sendAsync(socket: Socket, data: Uint8Array, options?: AsyncOptions): Promise<void> {
  const signal = checkSignal(options);
  const before = sendQueues.get(socket);
  let sending: Promise<void>;
  let result: Promise<void>;
  if (before === undefined || signal === undefined) {
    sending = before === undefined ? sendAll(socket, data, options) : before.then(() => sendAll(socket, data, options));
    result = sending;
  } else {
    // While it waits for the sends ahead (maybe forever, behind a peer that does not
    // read), an abort rejects it at once; its turn then starts nothing, and the sends
    // behind it still wait for the ones ahead. Once its turn has come, run() handles
    // the abort as for any operation.
    let waiting = true;
    let rejectEarly: (error: Error) => void = () => undefined;
    const abortedWhileWaiting = new Promise<never>((_resolve, reject) => {
      rejectEarly = reject;
    });
    const onAbort = (): void => {
      if (waiting) rejectEarly(new AbortError(undefined, { cause: signal.reason }));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    sending = before.then(() => {
      waiting = false;
      signal.removeEventListener('abort', onAbort);
      return sendAll(socket, data, options);
    });
    result = Promise.race([sending, abortedWhileWaiting]);
  }
  const tail = sending.catch(() => undefined);
  sendQueues.set(socket, tail);
  void tail.then(() => {
    if (sendQueues.get(socket) === tail) sendQueues.delete(socket);
  });
  return result;
}

async function sendAll(socket: Socket, data: Uint8Array, options: AsyncOptions | undefined): Promise<void> {
  let offset = 0;
  do {
    const piece = data.subarray(offset, offset + MAX_POOLED_BLOCK);
    const sent = await run((shared) => shared.send(socket, piece), (operation) => operation.bytes, options);
    if (sent === 0 && piece.byteLength > 0) throw new WinsockError('WSASend', WSAENOBUFS); // nothing was taken
    offset += sent;
  } while (offset < data.byteLength);
}

/** AcceptEx on the shared port: the next connection. */
export function acceptAsync(listener: Socket, options?: AsyncOptions): Promise<Socket> {
  return run((shared) => shared.accept(listener), (operation) => operation.accepted!, options);
}

/** ConnectEx on the shared port; `timeoutMs` cancels it and rejects with WSAETIMEDOUT. */
export function connectAsync(socket: Socket, address: SocketAddressInput, timeoutMs: number | undefined, options?: AsyncOptions): Promise<void> {
  const timeout =
    timeoutMs === undefined ? undefined : { ms: timeoutMs, error: () => new WinsockError('connect', WSAETIMEDOUT, { address: address.address, port: address.port }) };
  return run(
    (shared) => shared.connect(socket, address),
    () => undefined,
    options,
    timeout,
  ).catch((error: unknown) => {
    // Name the call and the target as the synchronous connect() does.
    if (error instanceof WinsockError && error.syscall === 'ConnectEx') throw new WinsockError('connect', error.errno, { address: address.address, port: address.port });
    throw error;
  });
}
