// Registered I/O (RIO, Windows 8 / Server 2012 and later), typed: where the function table
// comes from, the layouts of the structures RIO reads and writes, and one thin method per
// RIO function. Handles (RIO_BUFFERID, RIO_CQ, RIO_RQ) are numbers; memory RIO keeps
// using after a call returns is pinned (PinnedMemory, or a SharedArrayBuffer's backing
// store for registered buffers), and addresses never leave this module.
//
// The table comes from WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER,
// WSAID_MULTIPLE_RIO) on a socket made with WSA_FLAG_REGISTERED_IO. Tests can take it from
// the RIO test double instead (useTestDouble, internal): the same bytes, filled by a DLL
// that implements RIO's documented semantics over overlapped Winsock, so that the whole
// path runs where the system has no RIO (Wine). What the system offers is always probed
// on the system itself (unavailableBecause): the double never passes for real RIO.

import {
  RIO_CORRUPT_CQ,
  RIO_INVALID_BUFFERID,
  RIO_INVALID_QUEUE,
  RIO_IOCP_COMPLETION,
  RIO_MSG_COMMIT_ONLY,
  SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER,
  WSAEOPNOTSUPP,
} from './constants.ts';
import { check, checkNot, errnoIf, errorName, WinsockError } from './error.ts';
import { addressOf, bindRioTable, bufferAddress, RIO_FUNCTIONS, rioDouble, ws2, WSAID_MULTIPLE_RIO } from './ffi.ts';
import type { Handle, PinnedMemory, RioFunctions } from './ffi.ts';
import { closeSocket, createSocket } from './socket.ts';
import type { OverlappedSlot } from './overlapped.ts';

// --- Layouts (x64, mswsockdef.h / mswsock.h) -----------------------------------------

/** RIO_BUF: RIO_BUFFERID BufferId; ULONG Offset; ULONG Length. */
export const RIO_BUF = { size: 16, BufferId: 0, Offset: 8, Length: 12 } as const;
/** RIORESULT: LONG Status; ULONG BytesTransferred; ULONGLONG SocketContext, RequestContext. */
export const RIORESULT = { size: 24, Status: 0, BytesTransferred: 4, SocketContext: 8, RequestContext: 16 } as const;
/**
 * RIO_NOTIFICATION_COMPLETION: the Type enum, padded to 8, then a union of
 * Event { HANDLE EventHandle; BOOL NotifyReset } and Iocp { HANDLE IocpHandle; PVOID
 * CompletionKey; PVOID Overlapped }.
 */
export const RIO_NOTIFICATION_COMPLETION = {
  size: 32,
  Type: 0,
  EventHandle: 8,
  NotifyReset: 16,
  IocpHandle: 8,
  CompletionKey: 16,
  Overlapped: 24,
} as const;
/** RIO_EXTENSION_FUNCTION_TABLE: DWORD cbSize (padded to 8), then 13 function pointers. */
export const RIO_EXTENSION_FUNCTION_TABLE = { size: 8 + 8 * Object.keys(RIO_FUNCTIONS).length, cbSize: 0, functions: 8 } as const;
/** The table's function names, in its order. */
export const RIO_TABLE_ORDER: readonly string[] = Object.keys(RIO_FUNCTIONS);

/** Where a function table came from. */
export type RioSource = 'system' | 'test double';

/** uintptr_t results come back as numbers, or as bigints when they exceed 2^53. */
function rioHandle(value: number | bigint, syscall: string): number {
  if (typeof value === 'number') return value;
  if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  throw new Error(`internal error: ${syscall} returned ${value}, which does not fit in a safe integer`);
}

/**
 * One RIO function table, bound. Methods take handles and pinned memory, and follow
 * error.ts's idiom: setting up and resizing (registerBuffer, create*, resize*) fail with
 * a WinsockError; the calls that issue work whose result comes later (receive, send,
 * commit, notify) return 0 or the error number, and the caller decides (a request that
 * fails at once gets no completion; RIONotify's WSAEALREADY means one is armed). dequeue
 * returns a count, or RIO_CORRUPT_CQ. deregisterBuffer and closeCompletionQueue report
 * nothing: RIO's own functions return void.
 */
export class RioApi {
  readonly source: RioSource;
  readonly #f: RioFunctions;

  constructor(functions: RioFunctions, source: RioSource) {
    this.#f = functions;
    this.source = source;
  }

  /** RIORegisterBuffer over the backing store of `bytes` (a Buffer over a SharedArrayBuffer, never detached). */
  registerBuffer(bytes: Uint8Array): number {
    return checkNot(rioHandle(this.#f.RIORegisterBuffer(bufferAddress(bytes), bytes.byteLength), 'RIORegisterBuffer'), RIO_INVALID_BUFFERID, 'RIORegisterBuffer');
  }

  deregisterBuffer(id: number): void {
    this.#f.RIODeregisterBuffer(id);
  }

  /** RIOCreateCompletionQueue; `notification` holds an RIO_NOTIFICATION_COMPLETION, or null for a polled queue. */
  createCompletionQueue(size: number, notification: PinnedMemory | null): number {
    const cq = rioHandle(this.#f.RIOCreateCompletionQueue(size, notification === null ? null : addressOf(notification)), 'RIOCreateCompletionQueue');
    return checkNot(cq, RIO_INVALID_QUEUE, 'RIOCreateCompletionQueue');
  }

  closeCompletionQueue(cq: number): void {
    this.#f.RIOCloseCompletionQueue(cq);
  }

  /** RIOCreateRequestQueue with one data buffer per request (the Windows 8 rule). */
  createRequestQueue(socket: Handle, maxReceive: number, maxSend: number, receiveCq: number, sendCq: number, context: number): number {
    const rq = rioHandle(this.#f.RIOCreateRequestQueue(socket, maxReceive, 1, maxSend, 1, receiveCq, sendCq, context), 'RIOCreateRequestQueue');
    return checkNot(rq, RIO_INVALID_QUEUE, 'RIOCreateRequestQueue');
  }

  /** RIOReceive of the RIO_BUF at the start of `buf`: 0, or the Winsock error (no completion will come). */
  receive(rq: number, buf: PinnedMemory, flags: number, context: number): number {
    return errnoIf(this.#f.RIOReceive(rq, addressOf(buf), 1, flags, context) === 0);
  }

  /** RIOSend of the RIO_BUF at the start of `buf`: 0, or the Winsock error (no completion will come). */
  send(rq: number, buf: PinnedMemory, flags: number, context: number): number {
    return errnoIf(this.#f.RIOSend(rq, addressOf(buf), 1, flags, context) === 0);
  }

  /** RIO_MSG_COMMIT_ONLY: starts the deferred receives (or sends). 0, or the Winsock error. */
  commit(rq: number, send: boolean): number {
    const call = send ? this.#f.RIOSend : this.#f.RIOReceive;
    return errnoIf(call(rq, null, 0, RIO_MSG_COMMIT_ONLY, 0) === 0);
  }

  /** RIODequeueCompletion into `results` (RIORESULTs): how many, or RIO_CORRUPT_CQ. */
  dequeue(cq: number, results: PinnedMemory, count: number): number {
    return this.#f.RIODequeueCompletion(cq, addressOf(results), count);
  }

  /** RIONotify: 0, or the error number it returns itself (WSAEALREADY while one is pending). */
  notify(cq: number): number {
    return this.#f.RIONotify(cq);
  }

  resizeCompletionQueue(cq: number, size: number): void {
    checkNot(this.#f.RIOResizeCompletionQueue(cq, size), 0, 'RIOResizeCompletionQueue');
  }

  resizeRequestQueue(rq: number, maxReceive: number, maxSend: number): void {
    checkNot(this.#f.RIOResizeRequestQueue(rq, maxReceive, maxSend), 0, 'RIOResizeRequestQueue');
  }
}

/** Writes an RIO_BUF naming [offset, offset + length) of registered buffer `id` at the start of `buf`. */
export function writeRioBuf(buf: PinnedMemory, id: number, offset: number, length: number): void {
  const bytes = buf.bytes;
  // BufferId is pointer-sized: two 32-bit halves, no BigInt per request.
  bytes.writeUInt32LE(id % 0x1_0000_0000, RIO_BUF.BufferId);
  bytes.writeUInt32LE(Math.floor(id / 0x1_0000_0000), RIO_BUF.BufferId + 4);
  bytes.writeUInt32LE(offset, RIO_BUF.Offset);
  bytes.writeUInt32LE(length, RIO_BUF.Length);
}

/** Writes RIO_NOTIFICATION_COMPLETION { RIO_IOCP_COMPLETION, port, key, slot's OVERLAPPED } into `memory`. */
export function writePortNotification(memory: PinnedMemory, port: Handle, key: number, slot: OverlappedSlot): void {
  const bytes = memory.bytes;
  bytes.fill(0, 0, RIO_NOTIFICATION_COMPLETION.size);
  bytes.writeUInt32LE(RIO_IOCP_COMPLETION, RIO_NOTIFICATION_COMPLETION.Type);
  bytes.writeBigUInt64LE(BigInt(port), RIO_NOTIFICATION_COMPLETION.IocpHandle);
  bytes.writeBigUInt64LE(BigInt(key), RIO_NOTIFICATION_COMPLETION.CompletionKey);
  bytes.writeBigUInt64LE(slot.overlapped, RIO_NOTIFICATION_COMPLETION.Overlapped);
}

// --- Where the table comes from -------------------------------------------------------

const bytesReturnedCell = new Uint32Array(1);

/**
 * WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) into `table`
 * (an RIO_EXTENSION_FUNCTION_TABLE): 0 when the system filled it, else the Winsock error
 * it answered with (WSAEOPNOTSUPP under Wine and before Windows 8): "no RIO here" is an
 * answer, not a failure.
 */
export function fetchRioTable(handle: Handle, table: Uint8Array): number {
  const code = SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER >>> 0;
  return errnoIf(ws2().WSAIoctl(handle, code, WSAID_MULTIPLE_RIO, WSAID_MULTIPLE_RIO.byteLength, table, table.byteLength, bytesReturnedCell, null, null) !== 0);
}

/** The system's table, or the error its ioctl answered with. Probed once per process. */
let system: { api: RioApi } | { error: WinsockError } | undefined;

function probeSystem(): { api: RioApi } | { error: WinsockError } {
  if (system !== undefined) return system;
  const socket = createSocket('ipv4', 'tcp', true);
  try {
    const table = Buffer.alloc(RIO_EXTENSION_FUNCTION_TABLE.size);
    const errno = fetchRioTable(socket, table);
    if (errno !== 0) {
      system = { error: new WinsockError('WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO)', errno) };
    } else if (table.readUInt32LE(RIO_EXTENSION_FUNCTION_TABLE.cbSize) < RIO_EXTENSION_FUNCTION_TABLE.size) {
      // A shorter table than mswsock.h's: treat it as no RIO rather than read past it.
      system = { error: new WinsockError('WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO)', WSAEOPNOTSUPP) };
    } else {
      system = { api: new RioApi(bindRioTable(table), 'system') };
    }
  } finally {
    closeSocket(socket);
  }
  return system;
}

/**
 * Null when the system hands out the Registered I/O function table, else the name of the
 * error its ioctl answered with ('WSAEOPNOTSUPP' under Wine and before Windows 8). Always
 * the system's own answer, also while a test double is in use.
 */
export function unavailableBecause(): string | null {
  const probed = probeSystem();
  return 'api' in probed ? null : probed.error.code;
}

/** The system's answer as the error to throw when RIO is asked for and missing. */
export function unavailableError(): WinsockError | null {
  const probed = probeSystem();
  return 'api' in probed ? null : probed.error;
}

let substitute: RioApi | null = null;

/** The table to use: the test double's while one is installed, else the system's (throws the ioctl's WinsockError when it has none). */
export function api(): RioApi {
  if (substitute !== null) return substitute;
  const probed = probeSystem();
  if ('api' in probed) return probed.api;
  throw probed.error;
}

/** @internal What the RIO test double reports about itself (RioDoubleStats). */
export interface TestDoubleStats {
  readonly buffersLive: number;
  readonly buffersPending: number;
  readonly queuesOpen: number;
  readonly requestQueues: number;
  readonly requests: number;
  readonly violations: number;
  readonly notifications: number;
  readonly completions: number;
  readonly lastViolation: string;
}

/** @internal Controls of the RIO test double, for tests. */
export interface TestDouble {
  /** RioDoubleCorruptLastCompletionQueue: the newest completion queue is corrupt from now on. */
  corruptLastCompletionQueue(): void;
  stats(): TestDoubleStats;
  /** sizeof/offsetof of RIO_BUF, RIORESULT, RIO_NOTIFICATION_COMPLETION and the table, as the double's compiler laid them out. */
  layout(): number[];
  /** What RioDoubleGetTable wrote: the table's bytes (cbSize first). */
  readonly table: Buffer;
}

/**
 * @internal For tests only: from now on take the function table from the RIO test double
 * at `path` (test/fixtures/rio-double, built by the test harness) instead of from WSAIoctl.
 * Objects made before keep the table they were made with. useSystemTable() undoes it.
 */
export function useTestDouble(path: string): TestDouble {
  const library = rioDouble(path);
  const table = Buffer.alloc(RIO_EXTENSION_FUNCTION_TABLE.size);
  const returned = new Uint32Array(1);
  check(library.RioDoubleGetTable(table, table.length, returned), 'RioDoubleGetTable');
  if (returned[0] !== RIO_EXTENSION_FUNCTION_TABLE.size) throw new Error(`the RIO test double returned ${returned[0]} bytes of table, expected ${RIO_EXTENSION_FUNCTION_TABLE.size}`);
  substitute = new RioApi(bindRioTable(table), 'test double');
  return {
    table,
    corruptLastCompletionQueue: () => library.RioDoubleCorruptLastCompletionQueue(),
    stats: () => {
      // rio_double_stats: 8 LONGs, then char last_violation[200].
      const out = Buffer.alloc(8 * 4 + 200);
      if (library.RioDoubleStats(out, out.length) < 0) throw new Error('RioDoubleStats failed');
      const text = out.subarray(32);
      return {
        buffersLive: out.readInt32LE(0),
        buffersPending: out.readInt32LE(4),
        queuesOpen: out.readInt32LE(8),
        requestQueues: out.readInt32LE(12),
        requests: out.readInt32LE(16),
        violations: out.readInt32LE(20),
        notifications: out.readInt32LE(24),
        completions: out.readInt32LE(28),
        lastViolation: text.toString('latin1', 0, Math.max(0, text.indexOf(0))),
      };
    },
    layout: () => {
      const count = library.RioDoubleLayout(new Uint32Array(0), 0);
      const out = new Uint32Array(count);
      library.RioDoubleLayout(out, count);
      return [...out];
    },
  };
}

/** @internal For tests only: back to the system's table (see useTestDouble). */
export function useSystemTable(): void {
  substitute = null;
}

/** The name of a Winsock error number ('WSAENOBUFS'), for messages. */
export { errorName };
/** What RIODequeueCompletion returns for a corrupt queue. */
export { RIO_CORRUPT_CQ };
