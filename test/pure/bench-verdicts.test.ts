// The benchmark's verdicts without running it (issue #18, "verdicts noise cannot flip"):
// a row's figures are the median of its interleaved rounds, a target judges the ratio of
// two medians and shows it round by round, the best-row target is judged only when every
// row it is about ran, and --check turns a missed target into a non-zero exit code. Pure:
// bench/report.ts and bench/verdicts.ts load no koffi, so this runs on any node.

import { expect } from 'chai';
import {
  BEST_ROW,
  connectionsRowFromRuns,
  connectionsTableLines,
  connectionsTargets,
  describeTarget,
  LATENCY_TARGETS,
  medianRound,
  rowFromRounds,
  targets,
  THROUGHPUT_TARGETS,
  throughputTargets,
  unavailableConnectionsRow,
  unavailableRow,
  withConnectionRatios,
  withReductions,
} from '../../bench/report.ts';
import type { ConnectionsRun, LatencyRound, Row, Target, TargetScope, ThroughputRow } from '../../bench/report.ts';
import { EXIT_ROW_FAILED, EXIT_TARGET_MISSED, exitDecision, median, medianIndex, meets, roundRatios, spread } from '../../bench/verdicts.ts';
import { MODES, usesWinsockFfi } from '../../bench/protocol.ts';
import type { CModeName, ModeName } from '../../bench/protocol.ts';

const NOTHING_LEFT_OUT: TargetScope = { leftOut: [] };

/** A round with mean `meanUs` and the other figures derived from it. */
function round(meanUs: number, count = 1000): LatencyRound {
  return { count, meanUs, p50Us: meanUs * 0.9, p99Us: meanUs * 3, p999Us: meanUs * 5, maxUs: meanUs * 10, stddevUs: meanUs / 4, roundTripsPerSec: 1e6 / meanUs };
}

/** A measured row from its rounds' means. */
function measured(mode: ModeName | CModeName, means: number[], fastPath = false): Row {
  return rowFromRounds(mode, fastPath, means.map((mean) => round(mean)));
}

const NO_FAST_PATH = 'WSAEOPNOTSUPP: this system has no TCP loopback fast path (SIO_LOOPBACK_FAST_PATH)';
const NO_RIO = 'this system has no Registered I/O';

/**
 * The full latency table as Wine gives it: every mode with the fast path off measured from
 * `means` (500 µs by default), every "fast path on" row and RIO n/a, c-rio n/a.
 */
function wineTable(means: Partial<Record<ModeName | CModeName, number[]>>): Row[] {
  const rows: Row[] = [];
  for (const mode of MODES) {
    if (mode === 'rio-poll') {
      rows.push(unavailableRow(mode, false, NO_RIO), unavailableRow(mode, true, NO_RIO));
      continue;
    }
    rows.push(measured(mode, means[mode] ?? [500, 500, 500]));
    if (usesWinsockFfi(mode)) rows.push(unavailableRow(mode, true, NO_FAST_PATH));
  }
  rows.push(measured('c-blocking', means['c-blocking'] ?? [500, 500, 500]), measured('c-spin', means['c-spin'] ?? [500, 500, 500]), unavailableRow('c-rio', false, 'WSAEOPNOTSUPP'));
  return withReductions(rows);
}

function target(list: Target[], name: string): Target {
  const found = list.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no target "${name}" in ${list.map((t) => t.name).join(', ')}`);
  return found;
}

const BEST = 'best winsock-ffi row vs node:net (mean RTT)';
const PROMISE = 'promise vs node:net (mean RTT)';
const BLOCKING = 'blocking vs C blocking (mean RTT)';

describe('bench verdicts: median and spread of rounds', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3])).to.equal(3);
    expect(median([900, 300, 310])).to.equal(310);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(() => median([])).to.throw(/no values/);
  });

  it('points at an actual round for the median: the lower middle one, the earlier of ties', () => {
    expect(medianIndex([900, 300, 310])).to.equal(2);
    expect(medianIndex([4, 1, 3, 2])).to.equal(3); // 2, the lower of 2 and 3
    expect(medianIndex([5, 5, 5])).to.equal(1);
    expect(medianIndex([7, 5, 5])).to.equal(2); // sorted 5 (i1), 5 (i2), 7: the middle is round 2
  });

  it('gives the spread as min and max', () => {
    expect(spread([310, 900, 300])).to.deep.equal({ min: 300, max: 900 });
  });

  it('pairs the rounds of two rows for the per-round ratio', () => {
    expect(roundRatios([200, 300, 400], [400, 300, 200])).to.deep.equal([0.5, 1, 2]);
    expect(roundRatios([1, 2, 3], [1, 2])).to.deep.equal([1, 1]); // only rounds both ran
  });

  it('judges a ratio at most (latency) or at least (throughput) its limit, and nothing without one', () => {
    expect(meets(0.8, 0.8, false)).to.equal(true);
    expect(meets(0.81, 0.8, false)).to.equal(false);
    expect(meets(1.5, 1.5, true)).to.equal(true);
    expect(meets(1.49, 1.5, true)).to.equal(false);
    expect(meets(3, null, false)).to.equal(null);
  });
});

describe('bench verdicts: a row from its rounds', () => {
  it('takes the median of each figure, the sum of the counts and the largest max, and keeps every round', () => {
    const rounds = [round(300, 100), round(900, 50), round(310, 120)];
    const row = rowFromRounds('node:net', false, rounds);
    expect(row.available).to.equal(true);
    expect(row.meanUs).to.equal(310);
    expect(row.p50Us).to.equal(310 * 0.9);
    expect(row.p99Us).to.equal(310 * 3);
    expect(row.stddevUs).to.equal(310 / 4);
    expect(row.count).to.equal(270);
    expect(row.maxUs).to.equal(9000);
    expect(row.rounds).to.deep.equal(rounds);
    expect(medianRound(row.rounds)).to.equal(2); // the round whose mean is the median: the one plotted
  });

  it('leaves p99.9 and max null when the C reference did not print them', () => {
    const row = rowFromRounds('c-blocking', false, [{ ...round(160), p999Us: null, maxUs: null }]);
    expect(row.p999Us).to.equal(null);
    expect(row.maxUs).to.equal(null);
  });

  it('gives unavailable rows no rounds', () => {
    expect(unavailableRow('rio-poll', false, NO_RIO).rounds).to.deep.equal([]);
  });
});

describe('bench verdicts: targets over interleaved rounds', () => {
  it('has one target per entry of the target tables, each named once', () => {
    const judged = targets(wineTable({}), NOTHING_LEFT_OUT);
    expect(judged.map((t) => t.name)).to.deep.equal(LATENCY_TARGETS.map((spec) => spec.name));
    expect(new Set(judged.map((t) => t.name)).size).to.equal(judged.length);
    expect(throughputTargets([]).map((t) => t.name)).to.deep.equal(THROUGHPUT_TARGETS.map((spec) => spec.name));
  });

  it('judges the ratio of the medians, so one noisy round of either row does not flip it', () => {
    // Round 2 of node:net and round 3 of promise fell on a noisy moment.
    const rows = wineTable({ 'node:net': [300, 900, 310], promise: [190, 200, 700] });
    const promise = target(targets(rows, NOTHING_LEFT_OUT), PROMISE);
    expect(promise.ratio).to.be.closeTo(200 / 310, 1e-12);
    expect(promise.limit).to.equal(0.65);
    expect(promise.met).to.equal(true);
    // Round by round, the same ratio as measured: round 3 alone would have missed it.
    expect(promise.rounds.map((r) => Number(r.toFixed(3)))).to.deep.equal([0.633, 0.222, 2.258]);
    expect(describeTarget(promise)).to.equal(
      'promise vs node:net (mean RTT): promise, fast path off / node:net = 0.65x (by round: 0.63, 0.22, 2.26), target <= 0.65x: met',
    );
  });

  it('says NOT met when the medians miss, whatever one round says', () => {
    const rows = wineTable({ blocking: [190, 120, 185], 'c-blocking': [160, 158, 400] });
    const blocking = target(targets(rows, NOTHING_LEFT_OUT), BLOCKING);
    expect(blocking.ratio).to.be.closeTo(185 / 160, 1e-12);
    expect(blocking.met).to.equal(false);
    expect(describeTarget(blocking)).to.match(/target <= 1\.15x: NOT met$/);
  });

  it('does not judge a target whose row is n/a, and says why', () => {
    const rio = target(targets(wineTable({}), NOTHING_LEFT_OUT), 'rio-poll vs C rio (mean RTT, no target)');
    expect(rio.ratio).to.equal(null);
    expect(rio.met).to.equal(null);
    expect(rio.missing).to.include(NO_RIO);
  });

  it('judges a throughput target on the median runs, at least its limit', () => {
    const rows: ThroughputRow[] = [
      { mode: 'node:net', available: true, mibPerSec: 300, vsNodeNet: null, runs: [300, 150, 320] },
      { mode: 'stream', available: true, mibPerSec: 630, vsNodeNet: null, runs: [630, 620, 200] },
    ];
    const [stream] = throughputTargets(rows);
    expect(stream!.ratio).to.equal(2.1);
    expect(stream!.atLeast).to.equal(true);
    expect(stream!.met).to.equal(true);
    expect(stream!.rounds.map((r) => Number(r.toFixed(2)))).to.deep.equal([2.1, 4.13, 0.63]);
    expect(describeTarget(stream!)).to.match(/target >= 2x: met$/);
  });
});

describe('bench verdicts: the best-row target', () => {
  it('is judged on the full table: the lowest median mean of the winsock-ffi rows, n/a rows of the system aside', () => {
    const rows = wineTable({ 'node:net': [320, 320, 320], 'nonblocking-poll': [100, 400, 150], 'iocp-poll': [140, 140, 140] });
    const best = target(targets(rows, NOTHING_LEFT_OUT), BEST);
    expect(best.between).to.equal('iocp-poll, fast path off / node:net');
    expect(best.ratio).to.be.closeTo(140 / 320, 1e-12);
    expect(best.met).to.equal(true);
  });

  it('is not judged when --modes left out rows it is about, and says which', () => {
    // npm run bench -- --modes node:net,blocking,promise,stream
    const kept = new Set<string>(['node:net', 'blocking', 'promise', 'stream']);
    const rows = wineTable({ blocking: [150, 150, 150] }).filter((row) => kept.has(row.mode));
    const leftOut = ['nonblocking-poll', 'iocp-wait', 'iocp-poll'].map((mode) => ({ mode: mode as ModeName, fastPath: false }));
    const judged = targets(rows, { leftOut });
    const best = target(judged, BEST);
    expect(best.ratio).to.equal(null);
    expect(best.met).to.equal(null);
    expect(best.missing).to.match(/^it is about every winsock-ffi row this system offers, and /);
    expect(best.missing).to.include('nonblocking-poll, fast path off; iocp-wait, fast path off; iocp-poll, fast path off left out');
    expect(describeTarget(best)).to.equal(
      'best winsock-ffi row vs node:net (mean RTT): not judged (it is about every winsock-ffi row this system offers, and ' +
        'nonblocking-poll, fast path off; iocp-wait, fast path off; iocp-poll, fast path off left out by --modes or --fast-path)',
    );
    // The targets about rows that did run are judged as usual.
    expect(target(judged, PROMISE).met).to.not.equal(null);
  });

  it('is not judged when one of its rows failed', () => {
    const rows = wineTable({}).map((row) => (row.mode === 'iocp-wait' && !row.fastPath ? unavailableRow('iocp-wait', false, 'run failed: timed out after 120 s') : row));
    const best = target(targets(rows, NOTHING_LEFT_OUT), BEST);
    expect(best.met).to.equal(null);
    expect(best.missing).to.include('iocp-wait, fast path off failed');
  });

  it('is about the fast-path rows too where the system has them', () => {
    // Real Windows with --fast-path off: the "on" rows exist there, so the best is unknown.
    const rows = wineTable({}).filter((row) => !row.fastPath);
    const leftOut = MODES.filter((mode) => usesWinsockFfi(mode) && mode !== 'rio-poll').map((mode) => ({ mode: mode as ModeName, fastPath: true }));
    expect(target(targets(rows, { leftOut }), BEST).met).to.equal(null);
    // Under Wine the same run leaves out nothing the system has: judged.
    expect(target(targets(rows, NOTHING_LEFT_OUT), BEST).met).to.not.equal(null);
  });

  it('names its kind of row in the data, not a mode', () => {
    expect(LATENCY_TARGETS.filter((spec) => spec.top === BEST_ROW).map((spec) => spec.name)).to.deep.equal([BEST]);
  });
});

describe('bench verdicts: the exit code and --check', () => {
  const met = { name: 'a', met: true };
  const missed = { name: 'b', met: false };
  const notJudged = { name: 'c', met: null };

  it('without --check, is 0 whatever the targets say (as before), 1 when a row failed', () => {
    expect(exitDecision({ rowFailed: false, check: false, targets: [met, missed] })).to.deep.equal({ code: 0, missed: ['b'] });
    expect(exitDecision({ rowFailed: true, check: false, targets: [met] }).code).to.equal(EXIT_ROW_FAILED);
  });

  it('with --check, is non-zero when a target is missed, 0 when every judged target is met', () => {
    expect(exitDecision({ rowFailed: false, check: true, targets: [met, missed, notJudged] })).to.deep.equal({ code: EXIT_TARGET_MISSED, missed: ['b'] });
    expect(EXIT_TARGET_MISSED).to.not.equal(0);
    expect(exitDecision({ rowFailed: false, check: true, targets: [met, notJudged] }).code).to.equal(0);
    expect(exitDecision({ rowFailed: false, check: true, targets: [] }).code).to.equal(0);
  });

  it('with --check, a failed row still exits 1, the cause that comes first', () => {
    expect(exitDecision({ rowFailed: true, check: true, targets: [missed] }).code).to.equal(EXIT_ROW_FAILED);
  });

  it('decides on the targets as judged from the rounds', () => {
    const judged = targets(wineTable({ 'node:net': [300, 300, 300], promise: [290, 280, 100] }), NOTHING_LEFT_OUT);
    expect(target(judged, PROMISE).met).to.equal(false); // 280 / 300 = 0.93 > 0.8: the one fast round does not save it
    expect(exitDecision({ rowFailed: false, check: true, targets: judged }).missed).to.include(PROMISE);
    expect(exitDecision({ rowFailed: false, check: true, targets: judged }).code).to.equal(EXIT_TARGET_MISSED);
  });
});

describe('bench verdicts: the many-connections table in rounds', () => {
  const N = 1000;
  /** A run with `rate` round trips/s and `kib` KiB per connection (RSS after listen() 100 MiB). */
  const run = (rate: number, kib: number | null): ConnectionsRun => ({
    roundTrips: rate * 5,
    answered: rate * 6,
    closedCleanly: N,
    roundTripsPerSec: rate,
    meanUs: 1e6 / rate,
    p50Us: 1e6 / rate,
    p99Us: 3e6 / rate,
    rssBeforeBytes: 100 * 2 ** 20,
    rssIdleBytes: kib === null ? null : 100 * 2 ** 20 + kib * 1024 * N,
    memoryPerConnectionBytes: kib === null ? null : kib * 1024,
    peakPerConnectionBytes: kib === null ? null : 2 * kib * 1024,
    connectSeconds: 1,
    acceptSeconds: 1,
  });
  const table = (net: ConnectionsRun[], promise: ConnectionsRun[]) =>
    withConnectionRatios([connectionsRowFromRuns('node:net', N, net), connectionsRowFromRuns('promise', N, promise)]);
  const named = (judged: Target[], what: string): Target => judged.find((t) => t.name === `promise vs node:net at 1,000 connections (${what})`)!;

  it('each figure is the median of the rounds, the counts are totals, every run kept in round order', () => {
    const row = connectionsRowFromRuns('promise', N, [run(3000, 6), run(1000, 4), run(2000, 9)]);
    expect(row.roundTripsPerSec).to.equal(2000);
    expect(row.memoryPerConnectionBytes).to.equal(6 * 1024);
    expect(row.p99Us).to.equal(1500);
    expect(row.answered).to.equal(36000);
    expect(row.closedCleanly).to.equal(N);
    expect(row.runs.map((r) => r.roundTripsPerSec)).to.deep.equal([3000, 1000, 2000]);
  });

  it('one noisy round does not flip the memory verdict: the ratio of medians is judged, shown round by round', () => {
    // Round 2's node:net sample came out low (RSS fell while it ran): alone it would say 1.7x.
    const judged = connectionsTargets(table([run(1000, 5), run(1000, 3), run(1000, 5.5)], [run(1500, 4.5), run(1500, 5.1), run(1500, 4.8)]));
    const memory = named(judged, 'memory per connection');
    expect(memory.ratio).to.be.closeTo(4.8 / 5, 1e-9);
    expect(memory.met).to.equal(true);
    expect(memory.rounds.map((r) => Number(r.toFixed(2)))).to.deep.equal([0.9, 1.7, 0.87]);
    expect(describeTarget(memory)).to.include('(by round: 0.90, 1.70, 0.87)');
    const rate = named(judged, 'aggregate round trips/s');
    expect(rate.ratio).to.equal(1.5);
    expect(rate.met).to.equal(true);
  });

  it('a baseline memory figure at or below 0 is not judged, and says why', () => {
    const judged = connectionsTargets(table([run(1000, -1)], [run(1500, 4)]));
    const memory = named(judged, 'memory per connection');
    expect(memory.met).to.equal(null);
    expect(memory.missing).to.match(/node:net's figure is -1024, not above 0/);
  });

  it('a failed row is not judged; the table shows each round', () => {
    const rows = withConnectionRatios([connectionsRowFromRuns('node:net', N, [run(1000, 5), run(1200, 4)]), unavailableConnectionsRow('promise', N, 'run failed in round 2: timed out')]);
    expect(named(connectionsTargets(rows), 'aggregate round trips/s').missing).to.equal('no promise figure (run failed in round 2: timed out)');
    const lines = connectionsTableLines(rows);
    expect(lines[0]).to.match(/RTT\/s by round\s+KiB\/conn by round$/);
    expect(lines[2]).to.match(/1,000 1,200\s+5\.0 4\.0$/);
  });

  it('needs at least one run', () => {
    expect(() => connectionsRowFromRuns('promise', N, [])).to.throw(/at least one run/);
  });
});
