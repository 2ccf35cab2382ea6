// The measuring side of a sender: QueryPerformanceCounter timestamps carried in the
// message, an HDR histogram, exact running mean/stddev/max, and progress lines. Nothing
// here allocates per round trip: the timestamp is written by QPC straight into the
// message through a typed-array view, read back as two uint32 halves (no BigInt), and
// the histogram (bench/histogram.ts: HdrHistogram's layout, answering as hdr-histogram-js
// does) records with arithmetic on one preallocated array.
import fs from 'node:fs';
import { queryPerformanceCounter, queryPerformanceFrequency } from '#winsock-ffi/sys';
import { Histogram } from './histogram.ts';
import type { Bucket, Phase } from './protocol.ts';

const TWO_TO_32 = 2 ** 32;
/** Progress is written this many times per phase at most (a string per line, not per message). */
const PROGRESS_STEPS = 50;

/** QPC ticks → nanoseconds; QPC runs at 10 MHz on current Windows and under Wine. */
export const nsPerTick = 1e9 / Number(queryPerformanceFrequency());

/** A message buffer of `size` bytes whose first 8 bytes can take a QPC value in place. */
export class Message {
  readonly bytes: Buffer;
  readonly #stamp: BigInt64Array;
  readonly #halves: Uint32Array;

  constructor(size: number) {
    // Its own ArrayBuffer, so the views are 8-byte aligned (Buffer.alloc may share a pool).
    const backing = new ArrayBuffer(size);
    this.bytes = Buffer.from(backing);
    this.#stamp = new BigInt64Array(backing, 0, 1);
    this.#halves = new Uint32Array(backing, 0, 2);
  }

  /** Writes the current QPC value into the first 8 bytes. */
  stamp(): void {
    queryPerformanceCounter(this.#stamp);
  }

  /** The QPC value in the first 8 bytes, as a double (exact below 2^53 ticks: 28 years at 10 MHz). */
  get ticks(): number {
    return this.#halves[0]! + this.#halves[1]! * TWO_TO_32;
  }
}

/** A clock read through a cell of its own (for "now"), allocation-free. */
export class Clock {
  readonly #cell = new Message(8);

  now(): number {
    this.#cell.stamp();
    return this.#cell.ticks;
  }
}

export class Progress {
  readonly #fd: number;
  #phase: Phase = 'starting';
  #total = 0;
  #every = 1;

  constructor(file: string) {
    this.#fd = fs.openSync(file, 'w');
  }

  /** Starts a phase of `total` steps (0 while the total is unknown). */
  begin(phase: Phase, total: number): void {
    this.#phase = phase;
    this.#total = total;
    this.#every = Math.max(1, Math.floor(total / PROGRESS_STEPS));
    this.#write(0);
  }

  /** Called per round trip; writes a line only every total/50 steps. */
  tick(done: number): void {
    if (done % this.#every === 0) this.#write(done);
  }

  #write(done: number): void {
    fs.writeSync(this.#fd, `${this.#phase} ${done} ${this.#total}\n`);
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}

/** Round-trip latencies in nanoseconds. */
export class Recorder {
  // 1 ns to 100 s at 3 significant digits; a stall beyond 100 s is a failure, not a latency.
  readonly histogram = new Histogram(100e9);
  count = 0;
  #mean = 0;
  /** Welford's running sum of squared deviations: exact enough, no cancellation. */
  #m2 = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  record(ns: number): void {
    const value = Math.round(ns);
    this.histogram.record(value);
    this.count++;
    const delta = value - this.#mean;
    this.#mean += delta / this.count;
    this.#m2 += delta * (value - this.#mean);
    if (value > this.#max) this.#max = value;
    if (value < this.#min) this.#min = value;
  }

  get meanNs(): number {
    return this.#mean;
  }

  /** Population standard deviation, as the C reference (bench/c/reference.c) computes it. */
  get stddevNs(): number {
    return this.count === 0 ? 0 : Math.sqrt(this.#m2 / this.count);
  }

  get maxNs(): number {
    return this.#max;
  }

  get minNs(): number {
    return this.count === 0 ? 0 : this.#min;
  }

  percentileNs(percentile: number): number {
    // The histogram answers with its bucket's highest equivalent value, which can lie
    // a little above the exact maximum.
    return Math.min(this.histogram.valueAtPercentile(percentile), this.#max);
  }

  /** Percentile spectrum for the plot: 0 .. 99.999, denser towards the tail. */
  percentiles(): [number, number][] {
    const points: [number, number][] = [];
    for (const p of [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]) {
      points.push([p, (p === 100 ? this.#max : this.percentileNs(p)) / 1000]);
    }
    return points;
  }

  /**
   * Counts in logarithmic buckets (about 12 per doubling) from the smallest to the
   * largest value seen, for the distribution plot.
   */
  buckets(): Bucket[] {
    const out: Bucket[] = [];
    if (this.count === 0) return out;
    const perDoubling = 12;
    const ratio = 2 ** (1 / perDoubling);
    let from = this.minNs;
    let to = from * ratio;
    let count = 0;
    this.histogram.forEachRecorded((at, counted) => {
      while (at >= to) {
        out.push({ fromUs: from / 1000, toUs: to / 1000, count });
        from = to;
        to = from * ratio;
        count = 0;
      }
      count += counted;
    });
    out.push({ fromUs: from / 1000, toUs: to / 1000, count });
    return out;
  }
}
