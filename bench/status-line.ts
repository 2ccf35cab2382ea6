// The benchmark's progress line (scripts/bench.ts), and the text it shows for each phase
// of a row. On a terminal the line rewrites itself as the row's progress file grows. Into a
// file or a pipe (CI logs, `npm run bench > out.txt`) every line stays, so it prints one
// line when a phase starts, saying what the phase will do ("measuring 8,657 round trips",
// not the "0%" of its first reading), then a line with the progress only every
// FILE_PROGRESS_INTERVAL_MS while the phase lasts, and the row's result when it ends.

/** How often a long phase prints its progress again when the output is not a terminal. */
export const FILE_PROGRESS_INTERVAL_MS = 10_000;

/** The last line of a row's progress file: `phase done total` (bench/recorder.ts's Progress). */
export interface ProgressReading {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
}

/** What the status line shows for a reading: `now` on a terminal and in periodic lines, `opening` when the phase starts. */
export interface ProgressText {
  readonly now: string;
  readonly opening: string;
}

const count = (n: number): string => n.toLocaleString('en-US');
const percent = (done: number, total: number): number => Math.min(100, Math.floor((100 * done) / Math.max(total, 1)));

/** A latency row's sender (bench/sender.ts): waiting for its echo, warming up, measuring. */
export function latencyProgressText(reading: ProgressReading): ProgressText {
  switch (reading.phase) {
    case 'measure':
      return {
        now: `measuring ${percent(reading.done, reading.total)}% (${count(reading.done)}/${count(reading.total)})`,
        opening: `measuring ${count(reading.total)} round trip${reading.total === 1 ? '' : 's'}`,
      };
    case 'warmup': {
      // The warm-up's total is its minimum; it also lasts a minimum time, so no percentage.
      const text = reading.done > 0 ? `warming up (${count(reading.done)} round trip${reading.done === 1 ? '' : 's'} so far)` : 'warming up';
      return { now: text, opening: 'warming up' };
    }
    default:
      return { now: 'waiting for the echo process', opening: 'waiting for the echo process' };
  }
}

/** A throughput row's receiver (bench/throughput.ts), in MiB. */
export function throughputProgressText(reading: ProgressReading): ProgressText {
  return {
    now: `receiving ${percent(reading.done, reading.total)}% (${count(reading.done)}/${count(reading.total)} MiB)`,
    opening: `receiving ${count(reading.total)} MiB`,
  };
}

/** A many-connections run (bench/connections.ts). */
export function connectionsProgressText(reading: ProgressReading): ProgressText {
  switch (reading.phase) {
    case 'connect':
      return {
        now: `connecting (${count(reading.done)}/${count(reading.total)})`,
        opening: `connecting ${count(reading.total)} connection${reading.total === 1 ? '' : 's'}`,
      };
    case 'warmup':
      return { now: 'warming up', opening: 'warming up' };
    case 'measure':
      return { now: 'measuring', opening: 'measuring' };
    case 'done':
      return { now: 'closing', opening: 'closing' };
    default:
      return { now: 'waiting for the echo server', opening: 'waiting for the echo server' };
  }
}

/** A status line that rewrites itself on a terminal, and prints what means something otherwise. */
export class StatusLine {
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #intervalMs: number;
  #phase = '';
  #printed = '';
  #printedAt = 0;

  /**
   * `write` receives whole output (with its line ends and, on a terminal, the escape codes
   * that rewrite the line); `tty` says whether it goes to a terminal.
   */
  constructor(write: (text: string) => void, tty: boolean, now: () => number = Date.now, intervalMs = FILE_PROGRESS_INTERVAL_MS) {
    this.#write = write;
    this.#tty = tty;
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  /**
   * Shows `text` for `phase`. Not on a terminal: prints `opening` (default `text`) when the
   * phase changes, and `text` again only once FILE_PROGRESS_INTERVAL_MS have passed since
   * the last line and it says something new.
   */
  update(text: string, phase: string, opening: string = text): void {
    if (this.#tty) {
      this.#write(`\r\x1b[K${text}`);
    } else if (phase !== this.#phase) {
      this.#print(opening);
    } else if (this.#now() - this.#printedAt >= this.#intervalMs && text !== this.#printed) {
      this.#print(text);
    }
    this.#phase = phase;
  }

  /** Ends the row with its result line; the next update starts afresh. */
  done(text: string): void {
    this.#write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`);
    this.#phase = '';
    this.#printed = '';
  }

  #print(text: string): void {
    this.#write(`${text}\n`);
    this.#printed = text;
    this.#printedAt = this.#now();
  }
}
