// Waiting and draining policy shared by every queue this package waits on (completion
// ports, the Promise API's pump, RIO completion queues): each constant declared once.

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
