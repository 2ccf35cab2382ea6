// One operation, one Promise: the Promise API's run path for every kind but sends (which
// queue per socket: async/sends.ts). Arguments arrive checked by the public layer.
//
// Hot path: one Promise per call and no closure per call. The issue function is a
// module-level function taking its arguments. A call without a signal or timeout keeps
// only its Promise's resolvers until it settles (what a pending receive holds on every
// idle connection); with one, a waiter is the abort listener itself (an EventListener
// object) and the timer's argument. An operation that finishes within the call
// (skip-on-success, or failed at once) settles in the caller's turn (receives: up to a
// number per loop turn, see engine.ts).

import type { SocketAddress } from '../base/address.ts';
import { abortedBy, WinsockError } from '../core/errors.ts';
import { acceptedCore, claimNewHandle } from '../core/socket-core.ts';
import type { SocketCore } from '../core/socket-core.ts';
import type { IoOperation } from '../iocp/operation.ts';
import type { Port } from '../iocp/port.ts';
import * as sys from '../sys/index.ts';
import { WSA_OPERATION_ABORTED, WSAETIMEDOUT } from '../sys/index.ts';
import { cancel, port, receiveMaySettleNow, track, untrack } from './engine.ts';

/** What recvFrom resolves with. */
export interface RecvFromResult {
  readonly bytes: number;
  readonly address: string;
  readonly port: number;
}

/** What a settled operation resolves with. Module-level functions: no closure per call. */
type Finish<T> = (operation: IoOperation) => T;
/** Issues one operation on the shared port. Module-level functions: no closure per call. */
type Issue<A, B> = (port: Port, core: SocketCore, a: A, b: B) => IoOperation;

/** The longest delay setTimeout keeps as given. */
const MAX_TIMER_MS = 0x7fffffff;

class Waiter<T> {
  readonly operation: IoOperation;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  readonly finish: Finish<T>;
  readonly signal: AbortSignal | undefined;
  /** connect's timeout: the error it rejects with. */
  readonly timeoutError: (() => Error) | undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  aborted = false;
  timedOut = false;

  constructor(operation: IoOperation, resolve: (value: T) => void, reject: (error: unknown) => void, finish: Finish<T>, signal: AbortSignal | undefined, timeoutError: (() => Error) | undefined) {
    this.operation = operation;
    this.resolve = resolve;
    this.reject = reject;
    this.finish = finish;
    this.signal = signal;
    this.timeoutError = timeoutError;
  }

  /** The signal fired (the waiter is its listener: no closure per call). */
  handleEvent(): void {
    this.aborted = true;
    cancel(this.operation);
  }
}

/**
 * Runs one operation on the shared port: a fired signal rejects before anything is
 * issued; once issued, the signal (or the timeout) cancels it, and the promise settles
 * when its completion arrives (so its memory is back in the pool).
 */
export function run<A, B, T>(issue: Issue<A, B>, core: SocketCore, a: A, b: B, finish: Finish<T>, signal: AbortSignal | undefined, timeout?: { ms: number; error: () => Error }): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  let operation: IoOperation;
  try {
    operation = issue(port(), core, a, b);
  } catch (error) {
    return Promise.reject(error);
  }
  if (operation.completed) {
    const kind = operation.kind;
    if ((kind === 'recv' || kind === 'recvfrom') && !receiveMaySettleNow()) return settleNextTurn(operation, finish);
    if (operation.error !== null) return Promise.reject(withRead(operation.error, operation));
    try {
      return Promise.resolve(finish(operation));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  if (signal === undefined && timeout === undefined) return awaitPlain(operation, finish);
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const waiter = new Waiter(operation, resolve, reject, finish, signal, timeout?.error);
  operation.context = waiter;
  operation.onSettled = settleWaiter;
  // Only calls with a signal pay for the listener.
  signal?.addEventListener('abort', waiter, { once: true });
  if (timeout !== undefined) armTimeout(waiter, timeout.ms);
  track(operation);
  return promise;
}

/** The promise of an operation without a signal or timeout: its resolvers are all it keeps (no Waiter); its plain settle function settles it. */
function plainPromise<T>(operation: IoOperation, finish: Finish<T>): Promise<T> {
  const resolvers = Promise.withResolvers<T>();
  operation.context = resolvers;
  operation.onSettled = plainSettler(finish);
  return resolvers.promise;
}

/** Issued and pending, nothing can cancel it but a close: it settles when its completion comes. */
function awaitPlain<T>(operation: IoOperation, finish: Finish<T>): Promise<T> {
  const promise = plainPromise(operation, finish);
  track(operation);
  return promise;
}

/** Finished receives whose settling waits for the next loop turn (see receiveMaySettleNow), in call order. */
let nextTurn: IoOperation[] = [];

/** Settles `operation` (finished, its memory back in the pools) in the next loop turn. */
function settleNextTurn<T>(operation: IoOperation, finish: Finish<T>): Promise<T> {
  const promise = plainPromise(operation, finish);
  if (nextTurn.push(operation) === 1) setImmediate(settleTurn);
  return promise;
}

function settleTurn(): void {
  const operations = nextTurn;
  nextTurn = [];
  for (const operation of operations) {
    const settle = operation.onSettled!;
    operation.onSettled = null;
    settle(operation);
  }
}

function armTimeout<T>(waiter: Waiter<T>, remainingMs: number): void {
  // setTimeout holds at most 2^31-1 ms (beyond, Node fires after 1 ms): longer timeouts re-arm.
  waiter.timer = setTimeout(onTimer, Math.min(remainingMs, MAX_TIMER_MS), waiter, remainingMs);
}

function onTimer<T>(waiter: Waiter<T>, remainingMs: number): void {
  if (remainingMs > MAX_TIMER_MS) {
    armTimeout(waiter, remainingMs - MAX_TIMER_MS);
    return;
  }
  waiter.timedOut = true;
  cancel(waiter.operation);
}

function settleWaiter(operation: IoOperation): void {
  const waiter = operation.context as Waiter<unknown>;
  operation.context = null;
  waiter.signal?.removeEventListener('abort', waiter);
  if (waiter.timer !== undefined) clearTimeout(waiter.timer);
  untrack(operation);
  const error = operation.error;
  // An operation that finished despite the abort keeps its result: its data is not lost.
  if (error === null) resolveWith(operation, waiter.finish, waiter.resolve, waiter.reject);
  else if (!(error instanceof WinsockError) || error.errno !== WSA_OPERATION_ABORTED) {
    // It failed on its own before the cancel took effect: that error is the news.
    waiter.reject(withRead(error, operation));
  } else if (waiter.aborted) waiter.reject(withRead(abortedBy(waiter.signal!), operation));
  else if (waiter.timedOut) waiter.reject(waiter.timeoutError!());
  else waiter.reject(withRead(error, operation));
}

/** The settle function of a call without signal or timeout, one per finish function (made once: no closure per call). */
const plainSettlers = new Map<Finish<unknown>, (operation: IoOperation) => void>();

function plainSettler<T>(finish: Finish<T>): (operation: IoOperation) => void {
  let settle = plainSettlers.get(finish);
  if (settle === undefined) {
    settle = (operation) => {
      const { resolve, reject } = operation.context as PromiseWithResolvers<T>;
      operation.context = null;
      untrack(operation);
      const error = operation.error;
      // Failed, or aborted by the socket's close: data that came is said on bytesRead.
      if (error !== null) reject(withRead(error, operation));
      else resolveWith(operation, finish, resolve, reject);
    };
    plainSettlers.set(finish, settle);
  }
  return settle;
}

/** A succeeded operation's result, or the error its finish function threw. */
function resolveWith<T>(operation: IoOperation, finish: Finish<T>, resolve: (value: T) => void, reject: (error: unknown) => void): void {
  try {
    resolve(finish(operation));
  } catch (finishError) {
    reject(finishError);
  }
}

/** A failed receive's rejection says how many bytes it had received (into the caller's buffer, or lost when that was detached). */
function withRead<E>(error: E, operation: IoOperation): E {
  const kind = operation.kind;
  if ((kind === 'recv' || kind === 'recvfrom') && error instanceof Error) Object.defineProperty(error, 'bytesRead', { value: operation.bytes, enumerable: true, configurable: true });
  return error;
}

// --- The kinds' issue and finish functions ------------------------------------------

const issueRecv: Issue<Uint8Array, undefined> = (shared, core, buffer) => shared.recv(core, buffer);
const issueRecvInto: Issue<Uint8Array, undefined> = (shared, core, target) => shared.recvInto(core, target);
const issueRecvFrom: Issue<Uint8Array, undefined> = (shared, core, buffer) => shared.recvFrom(core, buffer);
const issueSendTo: Issue<Uint8Array, SocketAddress> = (shared, core, data, to) => shared.sendTo(core, data, to.address, to.port);
const issueAccept: Issue<undefined, undefined> = (shared, core) => shared.accept(core);
const issueConnect: Issue<SocketAddress, undefined> = (shared, core, to) => shared.connect(core, to.address, to.port);

const finishBytes: Finish<number> = (operation) => operation.bytes;
const finishAccepted: Finish<SocketCore> = (operation) => operation.accepted!;
const finishNothing: Finish<void> = () => undefined;
const finishFrom: Finish<RecvFromResult> = (operation) => {
  const from = operation.remoteAddress;
  return { bytes: operation.bytes, address: from?.address ?? '', port: from?.port ?? 0 };
};

/** One overlapped recv into `buffer` (through a pinned block): the byte count, 0 at the end of the stream. */
export function recvAsync(core: SocketCore, buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
  return run(issueRecv, core, buffer, undefined, finishBytes, signal);
}

/**
 * One overlapped WSARecvFrom: a datagram into `buffer`, with its sender. A datagram
 * larger than `buffer` rejects with WSAEMSGSIZE (its first bytes in `buffer`; the error
 * says how many as `bytesRead`, the datagram's size as `datagramBytes`, and the sender).
 */
export function recvFromAsync(core: SocketCore, buffer: Uint8Array, signal: AbortSignal | undefined): Promise<RecvFromResult> {
  return run(issueRecvFrom, core, buffer, undefined, finishFrom, signal);
}

/** recvAsync on a UDP socket: the same WSARecvFrom, resolving the byte count (a datagram too large is reported, never cut short). */
export function recvDatagramAsync(core: SocketCore, buffer: Uint8Array, signal: AbortSignal | undefined): Promise<number> {
  return run(issueRecvFrom, core, buffer, undefined, finishBytes, signal);
}

/** One overlapped WSASendTo of `data` (copied during the call) to `to` (a literal of the socket's family): the bytes sent. */
export function sendToAsync(core: SocketCore, data: Uint8Array, to: SocketAddress, signal: AbortSignal | undefined): Promise<number> {
  return run(issueSendTo, core, data, to, finishBytes, signal);
}

/**
 * The next connection's core: one already waiting is taken at once (acceptWaiting), else
 * AcceptEx on the shared port.
 */
export function acceptAsync(listener: SocketCore, signal: AbortSignal | undefined): Promise<SocketCore> {
  if (signal?.aborted) return Promise.reject(abortedBy(signal));
  let waiting: SocketCore | null;
  try {
    waiting = acceptWaiting(listener);
  } catch (error) {
    return Promise.reject(error);
  }
  if (waiting !== null) return Promise.resolve(waiting);
  return run(issueAccept, listener, undefined, undefined, finishAccepted, signal);
}

/**
 * A connection already in the listener's queue, accepted now without blocking
 * (sys.acceptQueued), or null when none waits. An AcceptEx completes through the event
 * loop, one loop turn per connection: an accept loop on a busy server fell behind its
 * clients (1,000 connections arriving while 700 others ping-pong took a minute under
 * Wine), and accept() of a queued connection is cheaper than AcceptEx on Windows too. Not
 * for a Registered I/O listener, whose connections need AcceptEx's WSA_FLAG_REGISTERED_IO socket.
 */
function acceptWaiting(listener: SocketCore): SocketCore | null {
  if (listener.registeredIo) return null;
  const accepted = sys.acceptQueued(listener.live('acceptAsync'), listener.blocking);
  if (accepted === null) return null;
  claimNewHandle(accepted, 'acceptAsync');
  return acceptedCore(listener, accepted, true);
}

/** ConnectEx on the shared port; `timeoutMs` cancels it and rejects with WSAETIMEDOUT. Errors name 'connect' and the target, as connect() does. */
export function connectAsync(core: SocketCore, to: SocketAddress, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<void> {
  const endpoint = { address: to.address, port: to.port };
  const timeout = timeoutMs === undefined ? undefined : { ms: timeoutMs, error: () => new WinsockError('connect', WSAETIMEDOUT, endpoint) };
  return run(issueConnect, core, to, undefined, finishNothing, signal, timeout).catch((error: unknown) => {
    if (error instanceof WinsockError && error.syscall === 'ConnectEx') throw new WinsockError('connect', error.errno, endpoint);
    throw error;
  });
}

/**
 * The largest fresh Buffer a stream or chunk reader receives into: growing receives stop
 * here. Below the heap's large-block threshold (about 1 MiB on 64-bit Windows and under
 * Wine), beyond which every allocation is a VirtualAlloc of its own whose pages all
 * fault in afresh: the bench's stream moved 183-188 MiB/s under Wine with 1 MiB
 * receives, 232-293 with 512 KiB ones. 504 KiB moved more still (253-329 MiB/s against
 * 219-255 on Node 26, interleaved runs), but with it the suite's 8 MiB stream echo failed
 * in 2 of 3 clean-clone runs (a WSASend completing with success and 0 bytes, reported as
 * WSAENOBUFS), never with 512 KiB: 512 stays until that is understood.
 */
export const MAX_FRESH_RECEIVE = 512 * 1024;

/**
 * For streams and chunk readers: one receive straight into `target` (no copy), a Buffer the
 * caller allocated and shows nobody until this settles; the byte count, 0 at the end of the stream.
 */
export function recvIntoAsync(core: SocketCore, target: Buffer, signal?: AbortSignal): Promise<number> {
  return run(issueRecvInto, core, target, undefined, finishBytes, signal);
}

/**
 * recvIntoAsync for a receive expected to find its data waiting (a stream's, after a
 * zero-byte receive said data came): one that succeeded within the call gives its byte
 * count now, so that the caller copies it out and can receive into the same buffer
 * again in this turn; else the promise, as recvIntoAsync. A failure rejects, as there.
 */
export function recvIntoNow(core: SocketCore, target: Buffer): number | Promise<number> {
  let operation: IoOperation;
  try {
    operation = port().recvInto(core, target);
  } catch (error) {
    return Promise.reject(error);
  }
  if (!operation.completed) return awaitPlain(operation, finishBytes);
  if (operation.error !== null) return Promise.reject(withRead(operation.error, operation));
  return operation.bytes;
}

/** A zero-byte receive has nowhere to write: one empty Buffer serves them all. */
const NOTHING = Buffer.alloc(0);
/** Zero-byte receives in flight, by socket (a stream has at most one), for cancelWatch(). */
const watches = new WeakMap<SocketCore, IoOperation>();

const finishWatch: Finish<number> = (operation) => {
  watches.delete(operation.core);
  return 0;
};

/**
 * For streams: one zero-byte WSARecv (libuv's "zero read"). It consumes nothing and
 * resolves 0 once there is something to read (data, or the end of the stream); it rejects
 * when the connection fails (WSAECONNRESET, ...). It watches a connection whose reader
 * wants no data now.
 */
export function watchAsync(core: SocketCore): Promise<number> {
  return run(issueWatch, core, undefined, undefined, finishWatch, undefined);
}

const issueWatch: Issue<undefined, undefined> = (shared, core) => {
  const operation = shared.recvInto(core, NOTHING);
  if (!operation.completed) watches.set(core, operation);
  return operation;
};

/** Cancels the socket's pending watchAsync(), if any: it then rejects with WSA_OPERATION_ABORTED. */
export function cancelWatch(core: SocketCore): void {
  const operation = watches.get(core);
  if (operation === undefined) return;
  watches.delete(core);
  if (!operation.completed) cancel(operation);
}
