// The Promise API's engine: one port per thread, created on first use, in one of two
// ways (asyncEngine() says which, and why):
//
// - 'event-loop' (the main thread of node.exe): sockets are associated with libuv's own
//   completion port and each operation's OVERLAPPED lives in a uv_async_t, so Node's
//   loop dequeues the completion and calls back on the main thread: no thread, no
//   threadpool, no wake-up. A pending operation holds the loop open through its handle
//   (uv_ref), unless its socket was unref()'d, as a pending net.Socket read does.
// - 'worker-pump' (worker threads, runtimes without libuv's exports, or
//   WINSOCK_FFI_ENGINE=worker-pump): a completion port of our own, waited on by a koffi
//   async call on a libuv threadpool thread, in slices of at most WAIT_SLICE_MS, so it
//   never holds a thread (or process exit, or worker.terminate()) longer than that. Only
//   referenced operations keep it waiting; unreferenced ones are polled by an unref'd timer.
//
// Either way an operation that finishes at once (skip-on-success, or failed) settles in
// the caller's turn, up to IMMEDIATE_RECEIVES_PER_TURN receives per loop turn (fairness).

import type { SocketCore } from '../core/socket-core.ts';
import type { IoOperation } from '../iocp/operation.ts';
import { Port } from '../iocp/port.ts';
import { WAIT_SLICE_MS } from '../iocp/waiting.ts';
import { eventLoop } from '../sys/index.ts';

/** Which engine completes the Promise API's operations in this thread, and why. */
export interface AsyncEngine {
  readonly name: 'event-loop' | 'worker-pump';
  readonly reason: string;
}

/** worker-pump: how often unreferenced operations are polled for. */
const UNREFERENCED_POLL_MS = 20;

let sharedPort: Port | null = null;
let engine: AsyncEngine | null = null;
/** Operations issued on the shared port and not yet settled. */
const pendingOperations = new Set<IoOperation>();
let pumping = false;
let drainScheduled = false;
let pollTimer: NodeJS.Timeout | null = null;
/** Scratch for the main thread's polls: what they report settles through each operation's callback. */
const polled: IoOperation[] = [];

/** The shared port (created on first use, with the engine this thread can have). */
export function port(): Port {
  if (sharedPort !== null) return sharedPort;
  const unavailable = eventLoop.eventLoopUnavailableBecause();
  if (unavailable === null) {
    sharedPort = new Port(true);
    engine = { name: 'event-loop', reason: "node.exe exports libuv and its layout checked out: completions arrive on Node's own loop" };
  } else {
    sharedPort = new Port(false);
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
  for (const operation of pendingOperations) if (operation.core.referenced) count++;
  return count;
}

/** socket.ref()/unref(): sets whether its pending operations hold the loop open. */
export function setReferenced(core: SocketCore, referenced: boolean): void {
  core.referenced = referenced;
  if (sharedPort === null) return;
  if (engine?.name === 'event-loop') sharedPort.referenceChanged(core);
  else pump();
}

/** Cancels `operation` if it is the shared port's and still pending. */
export function cancel(operation: IoOperation): void {
  sharedPort?.cancel(operation);
}

/** An operation of the shared port now waits for its completion: it is tracked until it settles. */
export function track(operation: IoOperation): void {
  pendingOperations.add(operation);
  pump();
}

/**
 * A receive that finds its data already there settles in its caller's turn: no wait for
 * the loop. But a connection whose receives keep finding data that way goes round after
 * round in promise reactions while completions queued on the port for the others wait
 * for the loop: with 1,000 ping-pong connections on each side, a tenth of them made 10-30
 * times the round trips of the rest. So at most this many receives per loop turn settle
 * at once; later ones settle in the next turn, after what the loop delivers (the same
 * total; round trips per connection in 4 s: min 3-6, median 10-11, max 13-19, instead of
 * 1, 3-4 and 45-93). One connection never reaches it in ping-pong; in bulk it is one
 * extra turn per 64 receives.
 */
const IMMEDIATE_RECEIVES_PER_TURN = 64;
let immediateReceives = 0;

/** Whether a receive that finished within its call may settle now (false: in the next loop turn). */
export function receiveMaySettleNow(): boolean {
  if (immediateReceives === 0) setImmediate(loopTurned);
  return ++immediateReceives <= IMMEDIATE_RECEIVES_PER_TURN;
}

/** The event loop turned (an immediate scheduled with the turn's first such receive): the count starts again. */
function loopTurned(): void {
  immediateReceives = 0;
}

/** Called by every settle callback of the shared port's operations. */
export function untrack(operation: IoOperation): void {
  pendingOperations.delete(operation);
  // Only a worker still blocked in the wait needs waking; while the wait's own callback
  // runs (the usual way operations settle) the port no longer counts as waiting.
  if (engine?.name === 'worker-pump' && sharedPort !== null && sharedPort.waiting && referencedCount() === 0) sharedPort.wake();
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
  shared.waitAsync(WAIT_SLICE_MS).then(afterWait, afterWaitFailed);
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

function pollShared(): void {
  if (sharedPort !== null && !sharedPort.closed) sharedPort.poll(polled);
  polled.length = 0;
}

function pollUnreferenced(): void {
  pollTimer = null;
  if (!pumping) pollShared();
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
  pollShared();
  pump();
}
