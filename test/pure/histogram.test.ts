// The benchmark's own histogram (bench/histogram.ts), which lets the installed package's
// benchmark run without hdr-histogram-js, answers exactly as hdr-histogram-js's
// Int32Histogram(1, 100e9, 3) did when the benchmark used it: the same percentiles and the
// same recorded buckets, for latencies from nanoseconds to a hundred seconds. Pure: runs
// on any node.

import { expect } from 'chai';
import fc from 'fast-check';
import * as hdr from 'hdr-histogram-js';
import { Histogram } from '../../bench/histogram.ts';

const HIGHEST = 100e9;
const PERCENTILES = [0, 0.1, 10, 33.3, 50, 75, 90, 99, 99.5, 99.9, 99.99, 99.999, 100];

/** Latencies in ns as the sender records them: mostly tens to hundreds of µs, a tail to seconds. */
const latency = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 10_000, max: 2_000_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 10_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 2_000_000, max: HIGHEST }) },
);

function both(values: readonly number[]): { ours: Histogram; theirs: hdr.Histogram } {
  const ours = new Histogram(HIGHEST);
  const theirs = new hdr.Int32Histogram(1, HIGHEST, 3);
  for (const value of values) {
    ours.record(value);
    theirs.recordValue(value);
  }
  return { ours, theirs };
}

function recorded(theirs: hdr.Histogram): [number, number][] {
  const out: [number, number][] = [];
  const iterator = (theirs as unknown as { recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } }).recordedValuesIterator;
  iterator.reset();
  while (iterator.hasNext()) {
    const value = iterator.next();
    out.push([value.valueIteratedTo, value.countAtValueIteratedTo]);
  }
  return out;
}

describe('the benchmark histogram (bench/histogram.ts) against hdr-histogram-js', function () {
  this.timeout(60_000);

  it('gives the same value at every percentile and the same recorded buckets', function () {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 3000 }), (values) => {
        const { ours, theirs } = both(values);
        expect(ours.count).to.equal(values.length);
        for (const p of PERCENTILES) expect(ours.valueAtPercentile(p), `p${p}`).to.equal(theirs.getValueAtPercentile(p));
        const mine: [number, number][] = [];
        ours.forEachRecorded((value, count) => mine.push([value, count]));
        expect(mine).to.deep.equal(recorded(theirs));
      }),
      { numRuns: 60 },
    );
  });

  it('agrees at bucket edges (powers of two, 2048 x 2^k, the highest value)', function () {
    const edges: number[] = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4097];
    for (let k = 12; k < 37; k++) edges.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
    edges.push(HIGHEST - 1, HIGHEST);
    const { ours, theirs } = both(edges);
    for (let p = 0; p <= 100; p += 2.5) expect(ours.valueAtPercentile(p), `p${p}`).to.equal(theirs.getValueAtPercentile(p));
    const mine: [number, number][] = [];
    ours.forEachRecorded((value, count) => mine.push([value, count]));
    expect(mine).to.deep.equal(recorded(theirs));
  });

  it('is 0 at every percentile when empty, and refuses a value beyond its range', function () {
    const empty = new Histogram(HIGHEST);
    expect(empty.valueAtPercentile(50)).to.equal(0);
    expect(() => empty.record(2 ** 40)).to.throw(RangeError);
    expect(() => empty.record(-1)).to.throw(RangeError);
  });
});
