// Waiting and draining, shared: the policy of every queue this package waits on
// (completion ports, the Promise API's pump, RIO completion queues), each constant
// declared once, and the completion entries a port dequeues into.

import { overlapped as ov, PinnedMemory } from '../sys/index.ts';
import type { Handle } from '../sys/index.ts';

const { OVERLAPPED_ENTRY_SIZE } = ov;

/** The longest one wait holds a libuv threadpool thread (and so process exit or worker.terminate()) before it looks again. */
export const WAIT_SLICE_MS = 50;
/** How long a close waits for the aborted completions of what it cancelled before it leaks their memory (a leak beats a corruption). */
export const CLOSE_DRAIN_MS = 5000;
/** Entries dequeued per GetQueuedCompletionStatusEx / RIODequeueCompletion call. */
export const BATCH = 256;

/** The next wait slice before `deadline` (a Date.now() time, or Infinity): at most WAIT_SLICE_MS. */
export function sliceBefore(deadline: number): number {
  return deadline === Infinity ? WAIT_SLICE_MS : Math.max(0, Math.min(deadline - Date.now(), WAIT_SLICE_MS));
}

/**
 * The OVERLAPPED_ENTRY array one GetQueuedCompletionStatusEx call fills, and its count
 * cell, pinned: the OS writes them only during a dequeue call (a waitAsync's worker
 * thread, for the entries a waitAsync uses), so a port keeps one for its own thread and
 * one for its waitAsync. Reading an entry allocates nothing (no BigInt).
 */
export class CompletionEntries {
  readonly #entries = new PinnedMemory(BATCH * OVERLAPPED_ENTRY_SIZE);
  readonly #removed = new PinnedMemory(8);

  /** Waits up to `timeoutMs` (0: just look) on `port` for at most `max` entries (up to BATCH): how many came. */
  dequeue(port: Handle, max: number, timeoutMs: number): number {
    return ov.dequeue(port, this.#entries, Math.min(max, BATCH), this.#removed, timeoutMs);
  }

  /** The same wait on a libuv threadpool thread; `callback` gets the count, on this thread. */
  dequeueAsync(port: Handle, timeoutMs: number, callback: (error: Error | null, count: number) => void): void {
    ov.dequeueAsync(port, this.#entries, BATCH, this.#removed, timeoutMs, callback);
  }

  /** Entry `i`'s OVERLAPPED address; 0 for a wake-up packet. */
  overlapped(i: number): number {
    return this.#u64(i * OVERLAPPED_ENTRY_SIZE + 8);
  }

  /** Entry `i`'s completion key. */
  key(i: number): number {
    return this.#u64(i * OVERLAPPED_ENTRY_SIZE);
  }

  /** Entry `i`'s byte count. */
  bytes(i: number): number {
    return this.#entries.bytes.readUInt32LE(i * OVERLAPPED_ENTRY_SIZE + 24);
  }

  free(): void {
    this.#entries.free();
    this.#removed.free();
  }

  /** Two 32-bit halves rather than readBigUInt64LE: no BigInt per completion. */
  #u64(at: number): number {
    const bytes = this.#entries.bytes;
    return bytes.readUInt32LE(at) + bytes.readUInt32LE(at + 4) * 0x1_0000_0000;
  }
}
