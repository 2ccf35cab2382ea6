// Pinned memory: small blocks share slabs (one koffi.alloc and Buffer per 16 KiB, not per
// block); every block is its own, zeroed when handed out, and reused once freed.

import { expect } from 'chai';
import fc from 'fast-check';
import * as sys from '../../../src/sys/index.ts';

describe('pinned memory', function () {
  it('blocks of any size never overlap, start zeroed, and keep their bytes until freed', function () {
    fc.assert(
      fc.property(fc.array(fc.record({ size: fc.integer({ min: 1, max: 3000 }), keep: fc.boolean() }), { minLength: 1, maxLength: 200 }), (plan) => {
        const live: Array<{ memory: sys.PinnedMemory; fill: number }> = [];
        plan.forEach(({ size, keep }, i) => {
          const memory = new sys.PinnedMemory(size);
          expect(memory.bytes.length).to.equal(size);
          expect(memory.bytes.every((byte) => byte === 0)).to.equal(true);
          const fill = (i % 255) + 1;
          memory.bytes.fill(fill);
          if (keep) live.push({ memory, fill });
          else memory.free();
        });
        // Distinct addresses, no block's bytes overwritten by another.
        const ranges = live.map(({ memory }) => [memory.key, memory.key + memory.size] as const).sort((x, y) => x[0] - y[0]);
        for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).to.be.at.least(ranges[i - 1]![1]);
        for (const { memory, fill } of live) expect(memory.bytes.every((byte) => byte === fill)).to.equal(true);
        for (const { memory } of live) memory.free();
      }),
      { numRuns: 50 },
    );
  });

  it('a freed small block is handed out again (no new slab per block)', function () {
    const first = new sys.PinnedMemory(64);
    const key = first.key;
    first.bytes.fill(7);
    first.free();
    const again = new sys.PinnedMemory(64);
    expect(again.key).to.equal(key);
    expect(again.bytes.every((byte) => byte === 0)).to.equal(true);
    const slabs = sys.slabStats.slabs;
    const many = Array.from({ length: 1000 }, () => new sys.PinnedMemory(48));
    // 1000 blocks of 64 bytes fit in four 16 KiB slabs.
    expect(sys.slabStats.slabs - slabs).to.be.at.most(4);
    for (const memory of many) memory.free();
    again.free();
  });
});
