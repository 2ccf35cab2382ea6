// Overlapped I/O that completes on Node's own event loop, with no thread.
//
// node.exe exports libuv. A uv_async_t embeds a uv_req_t of type UV_WAKEUP, which
// embeds an OVERLAPPED. A socket associated with the loop's completion port, whose
// WSARecv/WSASend/AcceptEx/ConnectEx is issued with that OVERLAPPED, completes through
// libuv itself: its GetQueuedCompletionStatusEx dequeues the packet, maps the OVERLAPPED
// back to the request and, for UV_WAKEUP, calls the handle's async callback on the main
// thread (uv__process_async_wakeup_req in libuv's src/win/async.c).
//
// Layout (libuv 1.x, Windows x64), each checked at start-up against libuv itself:
//   uv_handle_t: 0 data, 8 loop, 16 type, ..., 88 flags; uv_async_t then: 96 async_req
//   (uv_req_t: +0 data, +8 type, +64 OVERLAPPED), 208 async_cb, 216 async_sent; 224 bytes.
//   uv_loop_t: 56 iocp (HANDLE).
//
// Rules this module keeps:
// 1. While an operation is pending, async_sent is 1. uv_close on an async handle with
//    async_sent 0 finishes at once, while the kernel may still write the OVERLAPPED;
//    with 1, libuv waits for the completion first (and does not call async_cb for it).
// 2. No exception escapes a callback into libuv (Node would abort): it is rethrown on
//    the next tick, where Node reports it as any uncaught exception.
// 3. A handle holds the loop open only while its operation is pending and its owner
//    wants that (uv_ref/uv_unref), as a pending net.Socket read does.
// 4. Handle memory is freed only in libuv's close callback.
// 5. After each callback, Node drains the microtask and nextTick queues in this loop turn.
//    libuv calls our koffi callback directly, and koffi calls JavaScript with a plain
//    napi_call_function: no callback scope, so nothing runs the promise reactions it
//    queued. Up to Node 26.3 that went unnoticed, because Node drained the queues on every
//    loop turn as a side effect of its native immediates; 26.4 (nodejs/node#62969) skips
//    that drain when there is nothing to drain, and the reactions then waited for the next
//    timer or I/O, forever if there was none. An empty setImmediate, one per loop turn
//    however many completions it brings, runs in this turn's check phase through Node's
//    MakeCallback, which drains both queues, on every Node alike.
// Only the main thread uses this: a worker's loop must have no handle left when the
// worker ends (libuv aborts the process otherwise), which worker.terminate() cannot
// promise, so workers complete their I/O through a completion port of their own.

import { isMainThread } from 'node:worker_threads';
import { callbackAddress, libuv, nativeView, PinnedMemory, registerHandleCallback } from './ffi.ts';
import type { Handle } from './ffi.ts';
import { OverlappedSlot, SLOT_TAIL_BYTES } from './overlapped.ts';

const UV_ASYNC = 1;
const UV_REQ = 1;
const UV_WAKEUP = 17;
const UV_HANDLE_REF = 0x8;

const ASYNC_SIZE = 224;
const REQ_SIZE = 112;
const AT = {
  handleLoop: 8,
  handleType: 16,
  handleFlags: 88,
  request: 96,
  requestType: 104,
  overlapped: 160,
  asyncCallback: 208,
  asyncSent: 216,
  loopPort: 56,
} as const;

/** Set to 'worker-pump' (or anything but 'event-loop') to complete the Promise API's I/O on a worker thread instead. */
export const ENGINE_VARIABLE = 'WINSOCK_FFI_ENGINE';

/** One overlapped operation's memory, with its OVERLAPPED inside a uv_async_t on the main loop. */
export class LoopSlot extends OverlappedSlot {
  /** The uv_async_t's address (what libuv's callbacks name). */
  readonly handle: number;
  #pending = false;
  #referenced = false;
  #closing = false;

  constructor() {
    const host = new PinnedMemory(ASYNC_SIZE + SLOT_TAIL_BYTES);
    super(host, AT.overlapped);
    this.handle = host.key;
    const rc = libuv().uv_async_init(loop().address, this.handle, callbacks().async);
    if (rc !== 0) {
      host.free();
      throw new Error(`uv_async_init failed with libuv error ${rc}`);
    }
    // uv_async_init leaves the handle active and referenced: an idle one must not hold the loop.
    libuv().uv_unref(this.handle);
    slots.set(this.handle, this);
  }

  /**
   * Marks an operation about to be issued on this slot (rule 1). Whether it holds the
   * loop open is set once it is known to be pending (setReferenced): libuv cannot see
   * its packet before the current JavaScript turn ends.
   */
  arm(): void {
    this.#pending = true;
    this.host.bytes[AT.asyncSent] = 1;
  }

  /** The operation issued after arm() will post no packet (it finished or failed at once). */
  disarm(): void {
    this.#pending = false;
    this.host.bytes[AT.asyncSent] = 0;
    this.setReferenced(false);
  }

  /** Whether the pending operation holds the loop open (net.Socket's ref/unref). */
  setReferenced(referenced: boolean): void {
    const want = referenced && this.#pending && !this.#closing;
    if (want === this.#referenced) return;
    this.#referenced = want;
    if (want) libuv().uv_ref(this.handle);
    else libuv().uv_unref(this.handle);
  }

  get pending(): boolean {
    return this.#pending;
  }

  /** libuv called back: the packet is dequeued and async_sent is 0 again. */
  completed(): void {
    this.#pending = false;
    this.setReferenced(false);
  }

  /** uv_close, then the memory is freed in the close callback (rule 4); waits for a pending completion first (rule 1). */
  override free(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.setReferenced(false);
    libuv().uv_close(this.handle, callbacks().close);
  }

  /** @internal The close callback ran: libuv is done with the handle. */
  released(): void {
    slots.delete(this.handle);
    super.free();
  }
}

const slots = new Map<number, LoopSlot>();
let onCompletion: ((slot: LoopSlot) => void) | null = null;

/** Who handles completions: the engine above (one per process). */
export function setCompletionHandler(handler: (slot: LoopSlot) => void): void {
  onCompletion = handler;
}

let drainScheduled = false;

function drained(): void {
  drainScheduled = false;
}

/** Rule 5: once per loop turn, whatever the callback did or threw. */
function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(drained);
}

function dispatch(handle: number): void {
  try {
    const slot = slots.get(handle);
    if (slot === undefined || !slot.pending) return; // a probe, or a closed slot's last packet
    slot.completed();
    scheduleDrain();
    onCompletion?.(slot);
  } catch (error) {
    // Rule 2: never into libuv.
    scheduleDrain();
    process.nextTick(() => {
      throw error;
    });
  }
}

function released(handle: number): void {
  try {
    const slot = slots.get(handle);
    if (slot !== undefined) slot.released();
    else probes.get(handle)?.free();
    probes.delete(handle);
  } catch (error) {
    scheduleDrain();
    process.nextTick(() => {
      throw error;
    });
  }
}

let registered: { async: unknown; close: unknown } | null = null;

function callbacks(): { async: unknown; close: unknown } {
  registered ??= { async: registerHandleCallback(dispatch), close: registerHandleCallback(released) };
  return registered;
}

let loopInfo: { address: number; port: Handle } | null = null;

function loop(): { address: number; port: Handle } {
  if (loopInfo === null) throw new Error('internal error: the event loop engine was used before eventLoopUnavailableBecause() said yes');
  return loopInfo;
}

/** The loop's completion port: sockets for this engine are associated with it. */
export function loopPort(): Handle {
  return loop().port;
}

const probes = new Map<number, PinnedMemory>();
let verdict: string | null | undefined;

/**
 * Null when the Promise API can complete on Node's own loop here, else why not: a worker
 * thread, the environment variable, a runtime without libuv's exports, or a libuv whose
 * layout is not the one this module knows (checked against libuv's own accessors).
 */
export function eventLoopUnavailableBecause(): string | null {
  if (verdict !== undefined) return verdict;
  verdict = probe();
  return verdict;
}

function probe(): string | null {
  const forced = process.env[ENGINE_VARIABLE];
  if (forced !== undefined && forced !== '' && forced !== 'event-loop') return `${ENGINE_VARIABLE}=${forced} asks for the worker pump`;
  if (!isMainThread) return 'a worker thread: a worker must end with no handle on its loop, which worker.terminate() cannot promise';
  let uv: ReturnType<typeof libuv>;
  try {
    uv = libuv();
  } catch (error) {
    return `${process.execPath} does not export libuv (${(error as Error).message})`;
  }
  try {
    const version = uv.uv_version_string();
    if (!version.startsWith('1.')) return `libuv ${version}: only libuv 1.x layouts are known`;
    const failures: string[] = [];
    const expect = (what: string, actual: unknown, wanted: unknown): void => {
      if (actual !== wanted) failures.push(`${what} is ${String(actual)}, expected ${String(wanted)}`);
    };
    expect('uv_handle_size(UV_ASYNC)', Number(uv.uv_handle_size(UV_ASYNC)), ASYNC_SIZE);
    expect('uv_req_size(UV_REQ)', Number(uv.uv_req_size(UV_REQ)), REQ_SIZE);
    const address = uv.uv_default_loop();
    // A probe handle: every offset this module writes or reads, confirmed by libuv.
    const memory = new PinnedMemory(ASYNC_SIZE);
    const handle = memory.key;
    memory.bytes.fill(0xab);
    const rc = uv.uv_async_init(address, handle, callbacks().async);
    if (rc !== 0) {
      memory.free();
      return `uv_async_init failed with libuv error ${rc}`;
    }
    const bytes = memory.bytes;
    const u64 = (at: number): number => bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 0x1_0000_0000;
    expect('handle->loop', u64(AT.handleLoop), address);
    expect('uv_handle_get_loop()', uv.uv_handle_get_loop(handle), address);
    expect('handle->type', bytes.readUInt32LE(AT.handleType), UV_ASYNC);
    expect('uv_handle_get_type()', uv.uv_handle_get_type(handle), UV_ASYNC);
    expect('req.data', u64(AT.request), handle);
    expect('uv_req_get_data()', uv.uv_req_get_data(handle + AT.request), handle);
    expect('req.type', bytes.readUInt32LE(AT.requestType), UV_WAKEUP);
    expect('uv_req_get_type()', uv.uv_req_get_type(handle + AT.request), UV_WAKEUP);
    expect('OVERLAPPED.Internal after init', u64(AT.overlapped), 0);
    expect('async_cb', u64(AT.asyncCallback), callbackAddress(callbacks().async));
    expect('async_sent', bytes[AT.asyncSent], 0);
    uv.uv_unref(handle);
    expect('the REF flag after uv_unref', bytes.readUInt32LE(AT.handleFlags) & UV_HANDLE_REF, 0);
    // async_sent is 0: the close finishes in this loop iteration and frees the probe.
    probes.set(handle, memory);
    uv.uv_close(handle, callbacks().close);
    // uv_loop_t.iocp, read through a view of the loop's first bytes.
    const port = readLoopPort(address);
    if (port === 0) failures.push('loop->iocp is 0');
    if (failures.length > 0) return `libuv ${version} does not have the layout this package knows: ${failures.join('; ')}`;
    loopInfo = { address, port };
    return null;
  } catch (error) {
    return `libuv probe failed: ${(error as Error).message}`;
  }
}

function readLoopPort(address: number): Handle {
  const view = nativeView(address, AT.loopPort + 8);
  return view.readUInt32LE(AT.loopPort) + view.readUInt32LE(AT.loopPort + 4) * 0x1_0000_0000;
}

