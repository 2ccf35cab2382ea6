// The benchmark's progress output (bench/status-line.ts) without running it (issue #19):
// into a file it must say something on every line it leaves (no "measuring 0% (0/8,657)",
// no "warming up (0 round trips)"), print the progress of a long phase now and then, and
// on a terminal rewrite one line. Pure: no koffi, runs on any node.

import { expect } from 'chai';
import {
  connectionsProgressText,
  FILE_PROGRESS_INTERVAL_MS,
  latencyProgressText,
  StatusLine,
  throughputProgressText,
} from '../../bench/status-line.ts';

/** A StatusLine writing into an array, on a clock the test moves. */
function recorded(tty: boolean): { status: StatusLine; output: string[]; advance(ms: number): void } {
  const output: string[] = [];
  let now = 1_000_000;
  const status = new StatusLine((text) => output.push(text), tty, () => now);
  return { status, output, advance: (ms) => (now += ms) };
}

describe('bench progress text (bench/status-line.ts)', () => {
  it('a latency row opens its measuring phase with the number of round trips, not 0%', () => {
    const text = latencyProgressText({ phase: 'measure', done: 0, total: 8657 });
    expect(text.opening).to.equal('measuring 8,657 round trips');
    expect(text.now).to.equal('measuring 0% (0/8,657)');
    expect(latencyProgressText({ phase: 'measure', done: 4400, total: 8657 }).now).to.equal('measuring 50% (4,400/8,657)');
    expect(latencyProgressText({ phase: 'measure', done: 1, total: 1 }).opening).to.equal('measuring 1 round trip');
  });

  it('the warm-up never says "0 round trips"', () => {
    expect(latencyProgressText({ phase: 'warmup', done: 0, total: 500 })).to.deep.equal({ now: 'warming up', opening: 'warming up' });
    const later = latencyProgressText({ phase: 'warmup', done: 340, total: 500 });
    expect(later.now).to.equal('warming up (340 round trips so far)');
    expect(later.opening).to.equal('warming up');
    expect(latencyProgressText({ phase: 'starting', done: 0, total: 0 }).now).to.equal('waiting for the echo process');
  });

  it('throughput and many-connections runs open with what they will do', () => {
    expect(throughputProgressText({ phase: 'measure', done: 0, total: 256 })).to.deep.equal({ now: 'receiving 0% (0/256 MiB)', opening: 'receiving 256 MiB' });
    expect(throughputProgressText({ phase: 'measure', done: 300, total: 256 }).now).to.equal('receiving 100% (300/256 MiB)');
    expect(connectionsProgressText({ phase: 'connect', done: 12, total: 1000 })).to.deep.equal({ now: 'connecting (12/1,000)', opening: 'connecting 1,000 connections' });
    expect(connectionsProgressText({ phase: 'done', done: 0, total: 0 }).now).to.equal('closing');
    expect(connectionsProgressText({ phase: 'starting', done: 0, total: 0 }).now).to.equal('waiting for the echo server');
  });
});

describe('bench status line (bench/status-line.ts)', () => {
  it('into a file: one opening line per phase, the progress again only after the interval, then the result', () => {
    const { status, output, advance } = recorded(false);
    status.update('row: starting', 'starting');
    status.update('row: starting', 'starting');
    status.update('row: warming up', 'warmup');
    status.update('row: warming up (20 round trips so far)', 'warmup');
    status.update('row: measuring 0% (0/8,657)', 'measure', 'row: measuring 8,657 round trips');
    advance(FILE_PROGRESS_INTERVAL_MS - 1);
    status.update('row: measuring 40% (3,463/8,657)', 'measure', 'row: measuring 8,657 round trips');
    advance(1);
    status.update('row: measuring 41% (3,550/8,657)', 'measure', 'row: measuring 8,657 round trips');
    status.update('row: measuring 42% (3,636/8,657)', 'measure', 'row: measuring 8,657 round trips');
    status.done('row: 8,657 round trips, mean 100.0 µs');
    expect(output).to.deep.equal([
      'row: starting\n',
      'row: warming up\n',
      'row: measuring 8,657 round trips\n',
      'row: measuring 41% (3,550/8,657)\n',
      'row: 8,657 round trips, mean 100.0 µs\n',
    ]);
  });

  it('into a file: the same text is not printed again, even after the interval', () => {
    const { status, output, advance } = recorded(false);
    status.update('row: measuring', 'measure');
    advance(FILE_PROGRESS_INTERVAL_MS * 3);
    status.update('row: measuring', 'measure');
    expect(output).to.deep.equal(['row: measuring\n']);
  });

  it('into a file: after done(), the next row opens afresh even in the same phase', () => {
    const { status, output } = recorded(false);
    status.update('a: running', 'measure');
    status.done('a: n/a: no RIO');
    status.update('b: running', 'measure');
    expect(output).to.deep.equal(['a: running\n', 'a: n/a: no RIO\n', 'b: running\n']);
  });

  it('on a terminal: every update rewrites the line, done() ends it', () => {
    const { status, output } = recorded(true);
    status.update('row: measuring 0% (0/10)', 'measure', 'row: measuring 10 round trips');
    status.update('row: measuring 50% (5/10)', 'measure', 'row: measuring 10 round trips');
    status.done('row: 10 round trips');
    expect(output).to.deep.equal(['\r\x1b[Krow: measuring 0% (0/10)', '\r\x1b[Krow: measuring 50% (5/10)', '\r\x1b[Krow: 10 round trips\n']);
  });
});
