// Pools of pinned memory for overlapped I/O, shared by every completion port in the
// process: a steady stream of operations takes blocks from here and gives them back,
// so it allocates no native memory per operation.

import { eventLoop, overlapped, PinnedMemory } from '../sys/index.ts';
import type { LoopSlot, OverlappedSlot } from '../sys/index.ts';

/**
 * Data blocks come in powers of two from 64 bytes to this; sends are cut to it. Small
 * classes keep a pending small receive (a ping-pong message, a header) from holding a
 * whole page: with many connections each waiting on one, that is most of their memory.
 */
export const MAX_POOLED_BLOCK = 256 * 1024;
const MIN_BLOCK_SHIFT = 6;
const MAX_BLOCK_SHIFT = 18;
/** Idle data memory kept for reuse; beyond this, returned blocks are freed. */
const MAX_IDLE_DATA_BYTES = 64 * 1024 * 1024;
/** Idle OVERLAPPED slots kept for reuse. */
const MAX_IDLE_SLOTS = 4096;

const idleSlots: OverlappedSlot[] = [];
const idleBlocks: PinnedMemory[][] = [];
for (let shift = MIN_BLOCK_SHIFT; shift <= MAX_BLOCK_SHIFT; shift++) idleBlocks.push([]);
let idleDataBytes = 0;

/** Counters for tests: native blocks allocated and freed since the process started. */
export const poolStats = { slotsAllocated: 0, slotsFreed: 0, blocksAllocated: 0, blocksFreed: 0 };

export function takeSlot(): OverlappedSlot {
  const slot = idleSlots.pop();
  if (slot !== undefined) {
    slot.reset();
    return slot;
  }
  poolStats.slotsAllocated++;
  return new overlapped.OverlappedSlot();
}

const idleLoopSlots: LoopSlot[] = [];

/** A slot whose OVERLAPPED completes on Node's event loop (main thread only). */
export function takeLoopSlot(): LoopSlot {
  const slot = idleLoopSlots.pop();
  if (slot !== undefined) {
    slot.reset();
    return slot;
  }
  poolStats.slotsAllocated++;
  return new eventLoop.LoopSlot();
}

/** Gives a slot back; the caller guarantees the OS no longer uses it. */
export function returnSlot(slot: OverlappedSlot): void {
  const idle: OverlappedSlot[] = slot instanceof eventLoop.LoopSlot ? idleLoopSlots : idleSlots;
  if (idle.length < MAX_IDLE_SLOTS) {
    idle.push(slot);
    return;
  }
  poolStats.slotsFreed++;
  slot.free();
}

function classOf(size: number): number {
  let shift = MIN_BLOCK_SHIFT;
  while (1 << shift < size) shift++;
  return shift - MIN_BLOCK_SHIFT;
}

/** A block of at least `size` bytes (a power of two up to MAX_POOLED_BLOCK; exact beyond). */
export function takeBlock(size: number): PinnedMemory {
  if (size > MAX_POOLED_BLOCK) {
    poolStats.blocksAllocated++;
    return new PinnedMemory(size);
  }
  const index = classOf(size);
  const block = idleBlocks[index]!.pop();
  if (block !== undefined) {
    idleDataBytes -= block.size;
    return block;
  }
  poolStats.blocksAllocated++;
  return new PinnedMemory(1 << (index + MIN_BLOCK_SHIFT));
}

/** Gives a block back; the caller guarantees the OS no longer uses it. */
export function returnBlock(block: PinnedMemory): void {
  const pooled = block.size <= MAX_POOLED_BLOCK && (block.size & (block.size - 1)) === 0 && block.size >= 1 << MIN_BLOCK_SHIFT;
  if (pooled && idleDataBytes + block.size <= MAX_IDLE_DATA_BYTES) {
    idleBlocks[classOf(block.size)]!.push(block);
    idleDataBytes += block.size;
    return;
  }
  poolStats.blocksFreed++;
  block.free();
}
