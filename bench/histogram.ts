// The latency histogram of the measuring side: HdrHistogram's bucket layout (Gil Tene's,
// as hdr-histogram-js implements it) for integer values from 1 to `highest` at 3
// significant digits, and only what the benchmark asks of it: record a value, the value at
// a percentile, and the recorded values in order. It is here so that the benchmark runs
// from an installed package with no dependency but koffi; test/pure/histogram.test.ts
// checks that it answers exactly as hdr-histogram-js (a dev dependency) does. Recording is
// arithmetic on one preallocated array: nothing is allocated per value.

/** Values have unit resolution up to 2 x 10^3, so 2048 sub-buckets, the lower half shared with the previous bucket. */
const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 2 ** SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_COUNT = 2 * SUB_BUCKET_HALF_COUNT;

/** An HdrHistogram of integer values from 1 to `highest`, 3 significant digits. */
export class Histogram {
  readonly #counts: Float64Array;
  #total = 0;

  constructor(highest: number) {
    if (!Number.isSafeInteger(highest) || highest < 2) throw new RangeError(`the histogram's highest value must be a safe integer of at least 2, got ${highest}`);
    // The k-th bucket covers 0 .. SUB_BUCKET_COUNT x 2^k in steps of 2^k.
    let buckets = 1;
    for (let untrackable = SUB_BUCKET_COUNT; untrackable <= highest; untrackable *= 2) buckets++;
    this.#counts = new Float64Array((buckets + 1) * SUB_BUCKET_HALF_COUNT);
  }

  /** How many values were recorded. */
  get count(): number {
    return this.#total;
  }

  /** Counts one value (a non-negative integer up to `highest`; a larger one throws). */
  record(value: number): void {
    const index = indexOf(value);
    if (!(index < this.#counts.length) || value < 0) throw new RangeError(`${value} is outside the histogram's range`);
    this.#counts[index]!++;
    this.#total++;
  }

  /**
   * The value that `percentile` % of the recorded values are at or below, as the highest
   * value of its bucket (for 0: the lowest value of the lowest bucket); 0 when empty.
   */
  valueAtPercentile(percentile: number): number {
    const exact = (Math.min(percentile, 100) / 100) * this.#total;
    // Rounded up, less one ulp so that floating-point error cannot skip a count.
    const wanted = Math.max(Math.ceil(exact - ulp(exact)), 1);
    let seen = 0;
    for (let index = 0; index < this.#counts.length; index++) {
      seen += this.#counts[index]!;
      if (seen >= wanted) {
        const value = valueAt(index);
        return percentile === 0 ? value : highestEquivalent(value);
      }
    }
    return 0;
  }

  /** Calls `visit` for each bucket that holds values, in increasing order: its highest value and its count. */
  forEachRecorded(visit: (highestValue: number, count: number) => void): void {
    for (let index = 0; index < this.#counts.length; index++) {
      const count = this.#counts[index]!;
      if (count !== 0) visit(highestEquivalent(valueAt(index)), count);
    }
  }
}

function bucketOf(value: number): number {
  return Math.max(Math.floor(Math.log2(value)) - SUB_BUCKET_HALF_COUNT_MAGNITUDE, 0);
}

function indexOf(value: number): number {
  const bucket = bucketOf(value);
  const subBucket = Math.floor(value / 2 ** bucket);
  return (bucket + 1) * SUB_BUCKET_HALF_COUNT + (subBucket - SUB_BUCKET_HALF_COUNT);
}

/** The lowest value of the bucket at `index`. */
function valueAt(index: number): number {
  let bucket = Math.floor(index / SUB_BUCKET_HALF_COUNT) - 1;
  let subBucket = (index % SUB_BUCKET_HALF_COUNT) + SUB_BUCKET_HALF_COUNT;
  if (bucket < 0) {
    subBucket -= SUB_BUCKET_HALF_COUNT;
    bucket = 0;
  }
  return subBucket * 2 ** bucket;
}

/** The highest value counted together with `value`. */
function highestEquivalent(value: number): number {
  const bucket = bucketOf(value);
  const subBucket = Math.floor(value / 2 ** bucket);
  const lowest = subBucket * 2 ** bucket;
  const size = 2 ** (subBucket >= SUB_BUCKET_COUNT ? bucket + 1 : bucket);
  return lowest + size - 1;
}

function ulp(x: number): number {
  return 2 ** (Math.floor(Math.log2(x)) - 52);
}
