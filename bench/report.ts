// The benchmark's outputs: the public row/JSON shape (documented in bench/README.md),
// the terminal table, the target ratios, and a self-contained HTML page with a
// latency-distribution plot per row (inline SVG, no external resources).
import { MODES, usesWinsockFfi } from './protocol.ts';
import type { Bucket, CModeName, ConnectionModeName, CThroughputModeName, ModeName, ThroughputModeName } from './protocol.ts';
import { median, medianIndex, meets, roundRatios, spread } from './verdicts.ts';

export interface Environment {
  /** The Windows version the benchmark processes saw (Wine reports the one its prefix is set to). */
  os: string;
  /** Wine's version, or null on real Windows. */
  wine: string | null;
  underWine: boolean;
  /** The machine that runs Wine, when under Wine. */
  host: string | null;
  cpu: string;
  cpuCount: number;
  node: string;
  koffi: string;
  fastPathSupported: boolean;
  messageSize: number;
  /** Rounds per row (--rounds): the rows ran interleaved, one round of every row after another. */
  rounds: number;
  /** The throughput table's transfer, when --throughput ran it. */
  throughput: { bytes: number; writeSize: number; readSize: number; runs: number } | null;
  /** The many-connections table's runs, when --connections ran it. */
  connections?: { counts: number[]; warmupSeconds: number; seconds: number; messageSize: number } | null;
  date: string;
}

/** One round of a latency row: one sender/echo pair (or one C reference run), as measured. */
export interface LatencyRound {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number | null;
  maxUs: number | null;
  stddevUs: number;
  roundTripsPerSec: number;
}

/**
 * One row of --json, the fields bench/README.md documents; numbers are null where there is
 * no figure. Each figure is the median of the row's rounds, except count (their sum) and
 * max (the largest).
 */
export interface Row {
  mode: ModeName | CModeName;
  fastPath: boolean;
  available: boolean;
  reason?: string;
  count: number;
  meanUs: number | null;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  maxUs: number | null;
  stddevUs: number | null;
  roundTripsPerSec: number | null;
  /** (first row's mean - this mean) / first row's mean: 0.4 = 40 % lower latency. */
  latencyReduction: number | null;
  /** The same with the standard deviation. */
  jitterReduction: number | null;
  /** Each round's figures, in the order the rounds ran; empty where there is no figure. */
  rounds: LatencyRound[];
}

/** One row of the throughput table (--json's `throughput`); mibPerSec is null where there is no figure. */
export interface ThroughputRow {
  mode: ThroughputModeName | CThroughputModeName;
  available: boolean;
  reason?: string;
  /** MiB (2^20 bytes) per second, timed by the receiver from its first received chunk to its last. */
  mibPerSec: number | null;
  /** mibPerSec / node:net's, when both were measured. */
  vsNodeNet: number | null;
  /** Each run's MiB/s, in the order they ran; mibPerSec is their median. */
  runs?: number[];
}

export interface Report {
  environment: Environment;
  /** Every target of the tables that ran, judged on this run's medians. */
  targets: Target[];
  /** The latency table; empty when only --throughput ran. */
  rows: Row[];
  /** The throughput table, when --throughput ran. */
  throughput?: ThroughputRow[];
  /** The many-connections table, when --connections ran. */
  connections?: ConnectionsRow[];
}

/** What the HTML plots need beyond a row: the sender's distribution, when it has one. */
export interface Distribution {
  percentiles: [number, number][];
  buckets: Bucket[];
}

export function unavailableRow(mode: ModeName | CModeName, fastPath: boolean, reason: string): Row {
  return {
    mode,
    fastPath,
    available: false,
    reason,
    count: 0,
    meanUs: null,
    p50Us: null,
    p99Us: null,
    p999Us: null,
    maxUs: null,
    stddevUs: null,
    roundTripsPerSec: null,
    latencyReduction: null,
    jitterReduction: null,
    rounds: [],
  };
}

/** A measured row from its rounds (at least one): medians, the summed count and the largest max. */
export function rowFromRounds(mode: ModeName | CModeName, fastPath: boolean, rounds: readonly LatencyRound[]): Row {
  const of = (pick: (round: LatencyRound) => number): number => median(rounds.map(pick));
  const optional = (pick: (round: LatencyRound) => number | null): number | null => {
    const values = rounds.map(pick).filter((value): value is number => value !== null);
    return values.length === 0 ? null : median(values);
  };
  const maxima = rounds.map((round) => round.maxUs).filter((value): value is number => value !== null);
  return {
    mode,
    fastPath,
    available: true,
    count: rounds.reduce((sum, round) => sum + round.count, 0),
    meanUs: of((round) => round.meanUs),
    p50Us: of((round) => round.p50Us),
    p99Us: of((round) => round.p99Us),
    p999Us: optional((round) => round.p999Us),
    maxUs: maxima.length === 0 ? null : Math.max(...maxima),
    stddevUs: of((round) => round.stddevUs),
    roundTripsPerSec: of((round) => round.roundTripsPerSec),
    latencyReduction: null,
    jitterReduction: null,
    rounds: [...rounds],
  };
}

/** Which round's distribution stands for the row in the plots: the one with the median mean. */
export function medianRound(rounds: readonly LatencyRound[]): number {
  return medianIndex(rounds.map((round) => round.meanUs));
}

/** Fills latencyReduction/jitterReduction against the first row (the baseline, node:net by default). */
export function withReductions(rows: Row[]): Row[] {
  const base = rows[0];
  return rows.map((row) => {
    if (!row.available || base === undefined || !base.available) return { ...row, latencyReduction: null, jitterReduction: null };
    const reduction = (baseValue: number | null, value: number | null): number | null =>
      baseValue === null || value === null || baseValue === 0 ? null : (baseValue - value) / baseValue;
    return { ...row, latencyReduction: reduction(base.meanUs, row.meanUs), jitterReduction: reduction(base.stddevUs, row.stddevUs) };
  });
}

export function rowLabel(row: Pick<Row, 'mode' | 'fastPath'>): string {
  if (row.mode.startsWith('c-')) return `${row.mode} (C reference)`;
  if (row.mode === 'node:net') return 'node:net';
  return `${row.mode}, fast path ${row.fastPath ? 'on' : 'off'}`;
}

// ---------------------------------------------------------------------------
// Targets: ratios of figures measured in this one run, each figure the median of its row's
// rounds. The targets are data: adding one is an entry in LATENCY_TARGETS or
// THROUGHPUT_TARGETS, nothing else.

/** A latency target's `top` may be this: the winsock-ffi row with the lowest mean, of every mode and fast-path setting. */
export const BEST_ROW = 'best winsock-ffi row';

/** A latency target: `top`'s mean round trip over `bottom`'s, at most `limit`. Rows with the fast path off. */
export interface LatencyTargetSpec {
  name: string;
  top: ModeName | CModeName | typeof BEST_ROW;
  bottom: ModeName | CModeName;
  /** null: the ratio is printed without a target. */
  limit: number | null;
}

/** A throughput target: `top`'s MiB/s over `bottom`'s, at least `limit`. */
export interface ThroughputTargetSpec {
  name: string;
  top: ThroughputModeName | CThroughputModeName;
  bottom: ThroughputModeName | CThroughputModeName;
  limit: number | null;
}

/** The latency table's targets, in the order they are printed. */
export const LATENCY_TARGETS: readonly LatencyTargetSpec[] = [
  { name: 'best winsock-ffi row vs node:net (mean RTT)', top: BEST_ROW, bottom: 'node:net', limit: 0.5 },
  { name: 'blocking vs C blocking (mean RTT)', top: 'blocking', bottom: 'c-blocking', limit: 1.15 },
  { name: 'nonblocking-poll vs C spin (mean RTT, no target)', top: 'nonblocking-poll', bottom: 'c-spin', limit: null },
  { name: 'rio-poll vs C rio (mean RTT, no target)', top: 'rio-poll', bottom: 'c-rio', limit: null },
  { name: 'promise vs node:net (mean RTT)', top: 'promise', bottom: 'node:net', limit: 0.65 },
  { name: 'stream vs node:net (mean RTT)', top: 'stream', bottom: 'node:net', limit: 0.7 },
  // The async rows against the C IOCP floor: bench/c/reference.c's iocp modes make the
  // calls the library's iocp rows make (skip-on-success, one entry per dequeue).
  { name: 'iocp-wait vs C iocp-wait (mean RTT)', top: 'iocp-wait', bottom: 'c-iocp-wait', limit: 1.15 },
  { name: 'iocp-poll vs C iocp-poll (mean RTT, no target)', top: 'iocp-poll', bottom: 'c-iocp-poll', limit: null },
  { name: 'promise vs C iocp-wait (mean RTT)', top: 'promise', bottom: 'c-iocp-wait', limit: 1.3 },
];

/** The throughput table's targets, in the order they are printed. */
export const THROUGHPUT_TARGETS: readonly ThroughputTargetSpec[] = [
  { name: 'stream vs node:net (throughput)', top: 'stream', bottom: 'node:net', limit: 2.0 },
  { name: 'stream vs C bulk (throughput)', top: 'stream', bottom: 'c-bulk', limit: 0.75 },
  { name: 'promise vs node:net (throughput)', top: 'promise', bottom: 'node:net', limit: 2.0 },
];

/** A target judged on this run (--json's `targets`). */
export interface Target {
  name: string;
  /** e.g. "iocp-poll, fast path off / node:net" */
  between: string;
  /** top's median / bottom's median; null when not judged. */
  ratio: number | null;
  limit: number | null;
  /** The ratio must be at least the limit (a throughput), not at most (a latency). */
  atLeast?: boolean;
  /** null when there is nothing to compare (a row missing) or no limit (information only). */
  met: boolean | null;
  /** Why there is no ratio. */
  missing?: string;
  /** The ratio round by round (top's figure in round i / bottom's in round i): the spread noise gave it. */
  rounds: number[];
}

/** A row as a target sees it: its median figure and its rounds' figures, or why it has none. */
type Side = { label: string; figure: number; rounds: number[] } | { label: string; why: string };

function judge(name: string, top: Side, bottom: Side, limit: number | null, atLeast: boolean): Target {
  const base = { name, between: `${top.label} / ${bottom.label}`, limit, ...(atLeast ? { atLeast } : {}) };
  if ('why' in top) return { ...base, ratio: null, met: null, missing: top.why, rounds: [] };
  if ('why' in bottom) return { ...base, ratio: null, met: null, missing: bottom.why, rounds: [] };
  const ratio = top.figure / bottom.figure;
  return { ...base, ratio, met: meets(ratio, limit, atLeast), rounds: roundRatios(top.rounds, bottom.rounds) };
}

/** A row that the system offers but that did not produce figures. */
export function isFailed(row: { reason?: string }): boolean {
  return row.reason?.startsWith('run failed') === true;
}

/** Which latency rows a run is missing: rows of the full table this system offers that the run did not plan (--modes, --fast-path). */
export interface TargetScope {
  leftOut: readonly { mode: ModeName | CModeName; fastPath: boolean }[];
}

function latencySide(rows: readonly Row[], scope: TargetScope, mode: ModeName | CModeName, fastPath = false): Side {
  const row = rows.find((candidate) => candidate.mode === mode && candidate.fastPath === fastPath);
  const label = row !== undefined ? rowLabel(row) : mode;
  if (row !== undefined && row.available && row.meanUs !== null) return { label, figure: row.meanUs, rounds: row.rounds.map((round) => round.meanUs) };
  if (row !== undefined) return { label, why: `no ${mode} figure${row.reason !== undefined ? `: ${row.reason}` : ''}` };
  const leftOut = scope.leftOut.some((entry) => entry.mode === mode && entry.fastPath === fastPath);
  return { label, why: `no ${mode} figure: ${leftOut ? 'not run, left out by --modes or --fast-path' : 'not run'}` };
}

/**
 * The best winsock-ffi row: the lowest median mean of every winsock-ffi mode with the fast
 * path off and on. Judged only when all of them that the system offers ran: a best of some
 * rows says nothing about the rows left out (--modes, --fast-path) or failed.
 */
function bestSide(rows: readonly Row[], scope: TargetScope): Side {
  const label = BEST_ROW;
  const candidates = MODES.filter((mode) => usesWinsockFfi(mode)).flatMap((mode) => [false, true].map((fastPath) => ({ mode, fastPath })));
  const leftOut = candidates.filter((c) => scope.leftOut.some((entry) => entry.mode === c.mode && entry.fastPath === c.fastPath));
  const failed = rows.filter((row) => isFailed(row) && candidates.some((c) => c.mode === row.mode && c.fastPath === row.fastPath));
  if (leftOut.length > 0 || failed.length > 0) {
    const names = (list: readonly { mode: ModeName | CModeName; fastPath: boolean }[]): string => list.map((row) => rowLabel(row)).join('; ');
    const parts = [
      ...(leftOut.length > 0 ? [`${names(leftOut)} left out by --modes or --fast-path`] : []),
      ...(failed.length > 0 ? [`${names(failed)} failed`] : []),
    ];
    return { label, why: `it is about every winsock-ffi row this system offers, and ${parts.join(', ')}` };
  }
  const measured = rows.filter((row) => row.available && row.meanUs !== null && candidates.some((c) => c.mode === row.mode && c.fastPath === row.fastPath));
  const best = measured.reduce<Row | undefined>((a, b) => (a === undefined || b.meanUs! < a.meanUs! ? b : a), undefined);
  if (best === undefined) return { label, why: 'no winsock-ffi row figure' };
  return { label: rowLabel(best), figure: best.meanUs!, rounds: best.rounds.map((round) => round.meanUs) };
}

/** The latency table's targets (LATENCY_TARGETS) judged on `rows`, ratios of median means. */
export function targets(rows: readonly Row[], scope: TargetScope): Target[] {
  return LATENCY_TARGETS.map((spec) =>
    judge(spec.name, spec.top === BEST_ROW ? bestSide(rows, scope) : latencySide(rows, scope, spec.top), latencySide(rows, scope, spec.bottom), spec.limit, false),
  );
}

export function describeTarget(target: Target): string {
  if (target.ratio === null) return `${target.name}: ${target.limit === null ? 'not measured' : 'not judged'} (${target.missing ?? 'missing row'})`;
  const byRound = target.rounds.length > 1 ? ` (by round: ${target.rounds.map((r) => r.toFixed(2)).join(', ')})` : '';
  const ratio = `${target.ratio.toFixed(2)}x${byRound}`;
  if (target.limit === null) return `${target.name}: ${target.between} = ${ratio}`;
  return `${target.name}: ${target.between} = ${ratio}, target ${target.atLeast === true ? '>=' : '<='} ${target.limit}x: ${target.met === true ? 'met' : 'NOT met'}`;
}

// ---------------------------------------------------------------------------
// n/a reasons: a reason shared by several rows of a table (the fast path missing, on every
// "fast path on" row) is printed once, as a numbered note under the table; a reason of one
// row stays on that row.

/** How a table shows one row's n/a: its reason in place, or the number of the note that has it. */
export type NaCell = { reason: string; note: null } | { reason: string; note: number };

/** The n/a cell of each row (null for a row with figures), and the notes under the table, numbered from 1 in order of first use. */
export function naCells(rows: readonly { available: boolean; reason?: string }[]): { cells: (NaCell | null)[]; notes: string[] } {
  const uses = new Map<string, number>();
  for (const row of rows) if (!row.available) uses.set(row.reason ?? '', (uses.get(row.reason ?? '') ?? 0) + 1);
  const notes: string[] = [];
  const cells = rows.map((row): NaCell | null => {
    if (row.available) return null;
    const reason = row.reason ?? '';
    if ((uses.get(reason) ?? 0) < 2) return { reason, note: null };
    if (!notes.includes(reason)) notes.push(reason);
    return { reason, note: notes.indexOf(reason) + 1 };
  });
  return { cells, notes };
}

/** `n/a: reason`, or `n/a [2]` for a reason in note 2; `escape` applies to the reason. */
function naText(cell: NaCell, escape: (text: string) => string = (text) => text): string {
  return cell.note === null ? `n/a: ${escape(cell.reason)}` : `n/a [${cell.note}]`;
}

/** The notes as lines under a terminal table: a blank line, then `[1] reason` each; nothing without notes. */
function noteLines(notes: readonly string[]): string[] {
  return notes.length === 0 ? [] : ['', ...notes.map((reason, i) => `[${i + 1}] ${reason}`)];
}

/** The notes under a Markdown table: a blank line, then one paragraph each. */
function markdownNotes(notes: readonly string[]): string[] {
  return notes.flatMap((reason, i) => ['', `[${i + 1}] ${reason}`]);
}

/** The notes under an HTML table. */
function htmlNotes(notes: readonly string[]): string {
  return notes.map((reason, i) => `<p class="note">[${i + 1}] ${escapeHtml(reason)}</p>`).join('\n');
}

const markdownCell = (text: string): string => text.replaceAll('|', '\\|');

// ---------------------------------------------------------------------------
// Throughput

export function throughputLabel(row: Pick<ThroughputRow, 'mode'>): string {
  return row.mode.startsWith('c-') ? `${row.mode} (C reference)` : row.mode;
}

export function unavailableThroughputRow(mode: ThroughputModeName | CThroughputModeName, reason: string): ThroughputRow {
  return { mode, available: false, reason, mibPerSec: null, vsNodeNet: null, runs: [] };
}

/** Fills vsNodeNet: each row's MiB/s over node:net's. */
export function withThroughputRatios(rows: ThroughputRow[]): ThroughputRow[] {
  const base = rows.find((row) => row.mode === 'node:net' && row.available && row.mibPerSec !== null && row.mibPerSec > 0);
  return rows.map((row) => ({ ...row, vsNodeNet: base === undefined || row.mibPerSec === null ? null : row.mibPerSec / base.mibPerSec! }));
}

function throughputSide(rows: readonly ThroughputRow[], mode: ThroughputModeName | CThroughputModeName): Side {
  const row = rows.find((candidate) => candidate.mode === mode);
  const label = row !== undefined ? throughputLabel(row) : mode;
  if (row !== undefined && row.available && row.mibPerSec !== null) return { label, figure: row.mibPerSec, rounds: row.runs ?? [] };
  return { label, why: `no ${mode} figure${row?.reason !== undefined ? `: ${row.reason}` : row === undefined ? ': not run' : ''}` };
}

/** The throughput table's targets (THROUGHPUT_TARGETS) judged on `rows`, ratios of median MiB/s. */
export function throughputTargets(rows: readonly ThroughputRow[]): Target[] {
  return THROUGHPUT_TARGETS.map((spec) => judge(spec.name, throughputSide(rows, spec.top), throughputSide(rows, spec.bottom), spec.limit, true));
}

const mibs = (value: number | null): string => (value === null ? '' : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const times = (value: number | null): string => (value === null ? '' : `${value.toFixed(2)}x`);

/** 268435456 → "256 MiB", 65536 → "64 KiB". */
export function bytesText(bytes: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} bytes`;
}

const THROUGHPUT_COLUMNS = ['Mode', 'MiB/s', 'vs node:net', 'MiB/s by round'] as const;

function throughputCells(row: ThroughputRow): string[] {
  return [throughputLabel(row), mibs(row.mibPerSec), times(row.vsNodeNet), (row.runs ?? []).map(mibs).join(' ')];
}

export function throughputTableLines(rows: ThroughputRow[]): string[] {
  const cells = rows.map((row) => (row.available ? throughputCells(row) : [throughputLabel(row)]));
  const widths = THROUGHPUT_COLUMNS.map((title, i) => Math.max(title.length, ...cells.map((c) => (i === 0 || c.length > 1 ? (c[i] ?? '').length : 0))));
  const format = (values: readonly string[]): string => values.map((value, i) => (i === 0 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!))).join('  ');
  const lines = [format(THROUGHPUT_COLUMNS), widths.map((w) => '-'.repeat(w)).join('  ')];
  const na = naCells(rows);
  rows.forEach((row, i) => {
    const cell = na.cells[i];
    lines.push(cell === null || cell === undefined ? format(cells[i]!) : `${throughputLabel(row).padEnd(widths[0]!)}  ${naText(cell)}`);
  });
  return [...lines, ...noteLines(na.notes)];
}

export function throughputMarkdownTable(rows: ThroughputRow[]): string {
  const head = `| ${THROUGHPUT_COLUMNS.join(' | ')} |\n|${THROUGHPUT_COLUMNS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  const na = naCells(rows);
  const body = rows.map((row, i) => {
    const cell = na.cells[i];
    return cell === null || cell === undefined ? `| ${throughputCells(row).join(' | ')} |` : `| ${throughputLabel(row)} | ${naText(cell, markdownCell)} | | |`;
  });
  return [head, ...body, ...markdownNotes(na.notes)].join('\n');
}

// ---------------------------------------------------------------------------
// Terminal table

const us = (value: number | null): string => (value === null ? '' : value >= 100 ? value.toFixed(0) : value.toFixed(1));
const percent = (value: number | null): string => {
  if (value === null) return '';
  const rounded = Math.round(value * 100);
  return `${rounded === 0 ? 0 : rounded}%`; // no "-0%"
};
const rate = (value: number | null): string => (value === null ? '' : Math.round(value).toLocaleString('en-US'));

const COLUMNS = ['Mode', 'Count', 'Mean µs', 'RTT/s', 'Lat. red.', 'Jitter red.', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'stddev µs', 'mean µs by round'] as const;

/** A measured row's cells after its label, in COLUMNS order. */
function latencyCells(row: Row): string[] {
  return [
    row.count.toLocaleString('en-US'),
    us(row.meanUs),
    rate(row.roundTripsPerSec),
    percent(row.latencyReduction),
    percent(row.jitterReduction),
    us(row.p50Us),
    us(row.p99Us),
    us(row.p999Us),
    us(row.maxUs),
    us(row.stddevUs),
    row.rounds.map((round) => us(round.meanUs)).join(' '),
  ];
}

export function tableLines(rows: Row[]): string[] {
  const cells = rows.map((row) =>
    row.available
      ? [rowLabel(row), ...latencyCells(row)]
      : [rowLabel(row)],
  );
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...cells.filter((c) => c.length > 1).map((c) => (c[i] ?? '').length)));
  const format = (values: readonly string[]): string => values.map((value, i) => (i === 0 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!))).join('  ');
  const lines = [format(COLUMNS), widths.map((w) => '-'.repeat(w)).join('  ')];
  const na = naCells(rows);
  rows.forEach((row, i) => {
    const cell = na.cells[i];
    lines.push(cell === null || cell === undefined ? format(cells[i]!) : `${rowLabel(row).padEnd(widths[0]!)}  ${naText(cell)}`);
  });
  return [...lines, ...noteLines(na.notes)];
}

/** The table as Markdown, for the README. */
export function markdownTable(rows: Row[]): string {
  const head = `| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  const na = naCells(rows);
  const body = rows.map((row, i) => {
    const cell = na.cells[i];
    return cell === null || cell === undefined
      ? `| ${[rowLabel(row), ...latencyCells(row)].join(' | ')} |`
      : `| ${rowLabel(row)} | ${naText(cell, markdownCell)} ${'| '.repeat(COLUMNS.length - 2)}|`;
  });
  return [head, ...body, ...markdownNotes(na.notes)].join('\n');
}

// ---------------------------------------------------------------------------
// HTML

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** Round, readable tick values (1, 2, 5 × 10^k) across [low, high] on a log axis. */
function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(low)); exponent <= Math.ceil(Math.log10(high)); exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * 10 ** exponent;
      if (value >= low && value <= high) ticks.push(value);
    }
  }
  return ticks;
}

const tickLabel = (value: number): string => (value >= 1000 ? `${value / 1000}k` : String(value));

/** One row's histogram: share of round trips per logarithmic latency bucket, on a shared axis. */
function histogramSvg(buckets: Bucket[], lowUs: number, highUs: number, color: string, meanUs: number | null, p99Us: number | null): string {
  const width = 560;
  const height = 150;
  const left = 44;
  const bottom = 24;
  const plotW = width - left - 10;
  const plotH = height - bottom - 8;
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const maxShare = Math.max(...buckets.map((b) => b.count / total), 1e-9);
  const x = (value: number): number => left + (Math.log(value / lowUs) / Math.log(highUs / lowUs)) * plotW;
  const y = (share: number): number => 8 + plotH - (share / maxShare) * plotH;
  const parts: string[] = [];
  for (const b of buckets) {
    if (b.count === 0) continue;
    const x0 = x(Math.max(b.fromUs, lowUs));
    const x1 = Math.max(x(Math.min(b.toUs, highUs)), x0 + 1);
    const share = b.count / total;
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y(share).toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${(8 + plotH - y(share)).toFixed(1)}" fill="${color}"><title>${b.fromUs.toFixed(1)}–${b.toUs.toFixed(1)} µs: ${b.count} (${(share * 100).toFixed(2)} %)</title></rect>`);
  }
  for (const tick of logTicks(lowUs, highUs)) {
    parts.push(`<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="8" y2="${8 + plotH}" class="grid"/><text x="${x(tick).toFixed(1)}" y="${height - 8}" class="tick">${tickLabel(tick)}</text>`);
  }
  const marker = (value: number | null, label: string): string =>
    value === null ? '' : `<line x1="${x(value).toFixed(1)}" x2="${x(value).toFixed(1)}" y1="8" y2="${8 + plotH}" class="marker"/><text x="${(x(value) + 3).toFixed(1)}" y="18" class="mlabel">${label}</text>`;
  parts.push(marker(meanUs, 'mean'), marker(p99Us, 'p99'));
  parts.push(`<text x="${left - 6}" y="14" class="axis" text-anchor="end">${(maxShare * 100).toFixed(0)}%</text><text x="${left - 6}" y="${8 + plotH}" class="axis" text-anchor="end">0</text>`);
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="latency histogram">${parts.join('')}</svg>`;
}

/** All rows' percentile spectra on one chart: latency against 1/(1-p), the HDR-histogram view. */
function spectrumSvg(series: { label: string; color: string; points: [number, number][] }[], lowUs: number, highUs: number): string {
  const width = 860;
  const height = 320;
  const left = 52;
  const bottom = 34;
  const plotW = width - left - 250;
  const plotH = height - bottom - 10;
  const maxNines = 5; // up to 99.999 %
  const xOf = (percentile: number): number => left + (Math.min(Math.log10(1 / Math.max(1 - percentile / 100, 10 ** -maxNines)), maxNines) / maxNines) * plotW;
  const yOf = (value: number): number => 10 + plotH - (Math.log(value / lowUs) / Math.log(highUs / lowUs)) * plotH;
  const parts: string[] = [];
  for (const [p, label] of [[0, '0%'], [90, '90%'], [99, '99%'], [99.9, '99.9%'], [99.99, '99.99%'], [99.999, '99.999%']] as const) {
    parts.push(`<line x1="${xOf(p).toFixed(1)}" x2="${xOf(p).toFixed(1)}" y1="10" y2="${10 + plotH}" class="grid"/><text x="${xOf(p).toFixed(1)}" y="${height - 16}" class="tick">${label}</text>`);
  }
  for (const tick of logTicks(lowUs, highUs)) {
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${yOf(tick).toFixed(1)}" y2="${yOf(tick).toFixed(1)}" class="grid"/><text x="${left - 6}" y="${(yOf(tick) + 4).toFixed(1)}" class="axis" text-anchor="end">${tickLabel(tick)}</text>`);
  }
  series.forEach((s, i) => {
    const points = s.points.filter(([p]) => p < 100).map(([p, v]) => `${xOf(p).toFixed(1)},${yOf(Math.max(v, lowUs)).toFixed(1)}`);
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"><title>${escapeHtml(s.label)}</title></polyline>`);
    parts.push(`<rect x="${left + plotW + 16}" y="${14 + i * 18}" width="12" height="12" fill="${s.color}"/><text x="${left + plotW + 32}" y="${24 + i * 18}" class="legend">${escapeHtml(s.label)}</text>`);
  });
  parts.push(`<text x="${left + plotW / 2}" y="${height - 2}" class="axis" text-anchor="middle">percentile</text><text x="12" y="${10 + plotH / 2}" class="axis" transform="rotate(-90 12 ${10 + plotH / 2})" text-anchor="middle">round trip, µs</text>`);
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="latency by percentile">${parts.join('')}</svg>`;
}

/** Round, readable tick values (1, 2, 5 × 10^k steps) from 0 to at least `high` on a linear axis. */
function linearTicks(high: number): number[] {
  const rough = high / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let value = 0; value < high + step; value += step) ticks.push(value);
  return ticks;
}

/** The throughput table as horizontal bars, MiB/s on a linear axis from 0; n/a rows keep their place. */
function throughputSvg(rows: ThroughputRow[], colorOf: Map<ThroughputRow, string>): string {
  const width = 860;
  const rowH = 30;
  const top = 10;
  const left = 200;
  const bottom = 34;
  const plotW = width - left - 90;
  const height = top + rows.length * rowH + bottom;
  const highest = Math.max(1, ...rows.map((row) => row.mibPerSec ?? 0));
  const ticks = linearTicks(highest);
  const axisMax = ticks.at(-1)!;
  const x = (value: number): number => left + (value / axisMax) * plotW;
  const parts: string[] = [];
  for (const tick of ticks) {
    parts.push(`<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${top}" y2="${top + rows.length * rowH}" class="grid"/><text x="${x(tick).toFixed(1)}" y="${height - 18}" class="tick">${tick}</text>`);
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + rowH / 2 + 4}" class="legend" text-anchor="end">${escapeHtml(throughputLabel(row))}</text>`);
    if (!row.available || row.mibPerSec === null) {
      parts.push(`<text x="${left + 6}" y="${y + rowH / 2 + 4}" class="axis">n/a</text>`);
      return;
    }
    const barW = Math.max(x(row.mibPerSec) - left, 1);
    const ratio = row.vsNodeNet === null ? '' : `, ${times(row.vsNodeNet)} node:net`;
    parts.push(`<rect x="${left}" y="${y + 5}" width="${barW.toFixed(1)}" height="${rowH - 10}" fill="${colorOf.get(row) ?? '#999'}"><title>${escapeHtml(throughputLabel(row))}: ${mibs(row.mibPerSec)} MiB/s${ratio}</title></rect>`);
    parts.push(`<text x="${(left + barW + 6).toFixed(1)}" y="${y + rowH / 2 + 4}" class="mlabel">${mibs(row.mibPerSec)}</text>`);
  });
  parts.push(`<text x="${left + plotW / 2}" y="${height - 2}" class="axis" text-anchor="middle">MiB/s</text>`);
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="throughput in MiB/s per row">${parts.join('')}</svg>`;
}

export function html(report: Report, distributions: Map<Row, Distribution>, notes: string[]): string {
  const { environment: env, rows } = report;
  const measured = rows.filter((row) => row.available && row.meanUs !== null);
  const withDistribution = measured.filter((row) => distributions.has(row));
  const allBuckets = withDistribution.flatMap((row) => distributions.get(row)!.buckets.filter((b) => b.count > 0));
  const lowUs = Math.max(1, Math.min(...allBuckets.map((b) => b.fromUs), ...measured.map((r) => r.p50Us ?? Infinity)) * 0.9);
  const highUs = Math.max(...allBuckets.map((b) => b.toUs), ...measured.map((r) => r.maxUs ?? r.p99Us ?? 0)) * 1.1;
  const colorOf = new Map(measured.map((row, i) => [row, PALETTE[i % PALETTE.length]!]));

  const cell = (value: string, numeric = true): string => `<td${numeric ? ' class="num"' : ''}>${escapeHtml(value)}</td>`;
  const latencyNa = naCells(rows);
  const tableRows = rows
    .map((row, i) => {
      const na = latencyNa.cells[i];
      if (na !== null && na !== undefined) return `<tr class="na"><td>${escapeHtml(rowLabel(row))}</td><td colspan="${COLUMNS.length - 1}">${naText(na, escapeHtml)}</td></tr>`;
      const swatch = `<span class="swatch" style="background:${colorOf.get(row) ?? '#999'}"></span>`;
      return `<tr><td>${swatch}${escapeHtml(rowLabel(row))}</td>${latencyCells(row).map((v) => cell(v)).join('')}</tr>`;
    })
    .join('\n');
  const plots = measured
    .map((row) => {
      const distribution = distributions.get(row);
      const body =
        distribution === undefined
          ? '<p class="note">the C reference (bench/c/reference.c) prints summary statistics only: no distribution to plot.</p>'
          : histogramSvg(distribution.buckets, lowUs, highUs, colorOf.get(row)!, row.meanUs, row.p99Us);
      const means = row.rounds.map((round) => round.meanUs);
      const range = means.length > 1 ? ` (rounds ${us(spread(means).min)}–${us(spread(means).max)})` : '';
      const which = means.length > 1 && distribution !== undefined ? `; plotted: round ${medianRound(row.rounds) + 1} of ${means.length}, the one with the median mean` : '';
      return `<figure><figcaption>${escapeHtml(rowLabel(row))}: mean ${us(row.meanUs)} µs${range}, p99 ${us(row.p99Us)} µs, stddev ${us(row.stddevUs)} µs${which}</figcaption>${body}</figure>`;
    })
    .join('\n');
  const spectrum = spectrumSvg(
    withDistribution.map((row) => ({ label: rowLabel(row), color: colorOf.get(row)!, points: distributions.get(row)!.percentiles })),
    lowUs,
    highUs,
  );
  const targetItem = (t: Target): string => `<li class="${t.met === true ? 'met' : t.met === false ? 'missed' : ''}">${escapeHtml(describeTarget(t))}</li>`;
  const hasLatency = rows.length > 0;
  const throughput = report.throughput ?? null;
  const connectionRows = report.connections ?? null;
  const targetItems = report.targets
    .map(targetItem)
    .concat((connectionRows !== null ? connectionsCompleteness(connectionRows) : []).map((line) => `<li>${escapeHtml(line)}</li>`))
    .join('\n');
  const throughputColor = new Map((throughput ?? []).filter((row) => row.available).map((row, i) => [row, PALETTE[i % PALETTE.length]!]));
  const throughputNa = naCells(throughput ?? []);
  const throughputRows = (throughput ?? [])
    .map((row, i) => {
      const na = throughputNa.cells[i];
      if (na !== null && na !== undefined) return `<tr class="na"><td>${escapeHtml(throughputLabel(row))}</td><td colspan="${THROUGHPUT_COLUMNS.length - 1}">${naText(na, escapeHtml)}</td></tr>`;
      const swatch = `<span class="swatch" style="background:${throughputColor.get(row) ?? '#999'}"></span>`;
      return `<tr><td>${swatch}${escapeHtml(throughputLabel(row))}</td>${throughputCells(row).slice(1).map((v) => cell(v)).join('')}</tr>`;
    })
    .join('\n');
  const setup = env.throughput;
  const throughputSection =
    throughput === null
      ? ''
      : `<h2>Throughput</h2>
<p>One-way bulk transfer over loopback TCP between two processes: ${setup === null ? '' : `${escapeHtml(bytesText(setup.bytes))} in ${escapeHtml(bytesText(setup.writeSize))} application writes, `}timed by the receiver from its first received chunk to its last, every byte checked (the C reference counts them). MiB = 2<sup>20</sup> bytes.${setup === null ? '' : ` Each row ran ${setup.runs} time${setup.runs === 1 ? '' : 's'}, round robin with the others; the figure is the median run.`}</p>
<table><tr>${THROUGHPUT_COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>
${throughputRows}
</table>
${htmlNotes(throughputNa.notes)}
${throughputSvg(throughput, throughputColor)}`;
  const latencySections = !hasLatency
    ? ''
    : `<h2>Latency by percentile</h2>
${spectrum}
<h2>Latency distribution per row</h2>
<p class="note">Share of round trips per latency bucket; round trip in µs on a logarithmic axis shared by all rows; dashed lines: mean and p99.</p>
${plots}`;
  const title = hasLatency
    ? throughput !== null
      ? 'TCP loopback latency and throughput'
      : 'TCP loopback round-trip latency'
    : throughput !== null
      ? 'TCP loopback throughput'
      : 'TCP loopback, many connections';
  const envItems: [string, string][] = [
    ['Date', env.date],
    ['Windows', env.os + (env.wine !== null ? ' (as reported by the Wine prefix)' : '')],
    ['Wine', env.wine ?? 'no (real Windows)'],
    ...(env.host !== null ? [['Host', env.host] as [string, string]] : []),
    ['CPU', `${env.cpu} (${env.cpuCount} logical)`],
    ['Node.js', env.node],
    ['koffi', env.koffi],
    ['TCP loopback fast path', env.fastPathSupported ? 'supported' : 'not supported here'],
    ...(hasLatency ? [['Message', `${env.messageSize} bytes, one in flight, TCP_NODELAY`] as [string, string]] : []),
    ...(setup !== null ? [['Bulk transfer', `${bytesText(setup.bytes)}, ${bytesText(setup.writeSize)} writes, ${bytesText(setup.readSize)} receive buffers`] as [string, string]] : []),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>winsock-ffi ${escapeHtml(title.replace('TCP ', '').toLowerCase())}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #e3e3e3;text-align:left;white-space:nowrap}
th{background:#f4f4f4;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
tr.na td{color:#888;white-space:normal}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.env td:first-child{color:#666}.note{color:#777;font-style:italic}.warn{background:#fff6e0;border:1px solid #f0d58a;padding:8px 12px;border-radius:4px}
li.met::marker{content:"✓ ";color:#2a8a2a}li.missed::marker{content:"✗ ";color:#c0392b}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:2px}
svg text{font:11px system-ui,sans-serif;fill:#555}.tick{text-anchor:middle}.grid{stroke:#eee}.marker{stroke:#333;stroke-dasharray:3 3}.mlabel{fill:#333}.legend{fill:#222}
</style></head><body>
<h1>${escapeHtml(title)}: winsock-ffi vs node:net</h1>
${hasLatency ? `<p>Two single-threaded processes (sender and echo, same I/O mode), ${env.messageSize}-byte messages carrying a QueryPerformanceCounter timestamp, one message in flight, so round trips per second is the reciprocal of the mean. Reductions are against the first row.${env.rounds > 1 ? ` Every row ran ${env.rounds} rounds, interleaved (one round of every row, then the next); each figure is the median of its rounds (count: their sum; max: the largest), and the last column lists each round's mean.` : ''}</p>` : ''}
${env.wine !== null ? `<p class="warn">Measured under Wine ${escapeHtml(env.wine)} on ${escapeHtml(env.host ?? 'Linux')}: every Winsock call goes through Wine, so these are not Windows figures. Compare ratios within this run, not absolute times.</p>` : ''}
<table class="env">${envItems.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${hasLatency ? `<h2>Results</h2>
<table><tr>${COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>
${tableRows}
</table>
${htmlNotes(latencyNa.notes)}` : ''}
${throughputSection}
${connectionRows !== null ? connectionsHtml(connectionRows, env.connections ?? null) : ''}
<h2>Targets (ratios of this run's medians; by round: the same ratio in each round)</h2>
<ul>${targetItems}</ul>
${notes.length > 0 ? `<ul class="note">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
${latencySections}
</body></html>
`;
}

// ---------------------------------------------------------------------------
// Many connections (--connections): N concurrent ping-pong connections between two
// processes. Targets at 100 and 1,000 connections: promise at least 1.3x node:net's
// aggregate round trips per second, and promise's memory per connection at most node:net's.

/** One run (round) of a many-connections row: what bench/connections.ts and its echo server measured. */
export interface ConnectionsRun {
  /** Round trips completed inside the measured window, over every connection. */
  roundTrips: number;
  /** Round trips answered over the whole run (each checked); the echo server echoed exactly their bytes. */
  answered: number;
  /** Connections that closed cleanly on both sides: N, or the run failed. */
  closedCleanly: number;
  roundTripsPerSec: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  rssBeforeBytes: number;
  rssIdleBytes: number | null;
  memoryPerConnectionBytes: number | null;
  peakPerConnectionBytes: number | null;
  connectSeconds: number;
  acceptSeconds: number;
}

/**
 * One row of the many-connections table (--json's `connections`): one mode at one N,
 * measured in rounds interleaved with the other rows at that N (as the latency and
 * throughput rows are); each figure is the median of its rounds' (`runs`, in round order).
 */
export interface ConnectionsRow {
  mode: ConnectionModeName;
  connections: number;
  available: boolean;
  reason?: string;
  /** Each round's figures, in round order (empty when the row failed). */
  runs: ConnectionsRun[];
  /** Round trips completed inside the measured windows, over every connection and every round. */
  roundTrips: number;
  /** Round trips answered over every round (each checked); the echo servers echoed exactly their bytes. */
  answered: number;
  /** Connections that closed cleanly on both sides (the client's FIN, the echo's FIN, no error) in every round: N when the row has figures. */
  closedCleanly: number;
  /** Aggregate round trips per second over every connection: roundTrips / the measured window. */
  roundTripsPerSec: number | null;
  /** roundTripsPerSec / node:net's at the same N. */
  vsNodeNet: number | null;
  /** Per round trip (send to echo received, one connection), over every connection's round trips. */
  meanUs: number | null;
  p50Us: number | null;
  p99Us: number | null;
  /** The echo (server) process's RSS after listen() and a memory-reducing full GC, before any connection. */
  rssBeforeBytes: number | null;
  /** Its RSS with every connection open and idle (a receive pending on each), after the same GC. */
  rssIdleBytes: number | null;
  /** (rssIdleBytes - rssBeforeBytes) / connections. */
  memoryPerConnectionBytes: number | null;
  /** memoryPerConnectionBytes / node:net's at the same N. */
  memoryVsNodeNet: number | null;
  /** The largest RSS sampled every 100 ms while every connection was open (no forced GC), minus rssBeforeBytes, over N. */
  peakPerConnectionBytes: number | null;
  /** Client side: from the first connect to the last connection up. */
  connectSeconds: number | null;
  /** Echo side: from the first accepted connection to the last. */
  acceptSeconds: number | null;
}

export function connectionsLabel(row: Pick<ConnectionsRow, 'mode'>): string {
  return row.mode;
}

export function unavailableConnectionsRow(mode: ConnectionModeName, connections: number, reason: string): ConnectionsRow {
  return {
    mode,
    connections,
    available: false,
    reason,
    runs: [],
    roundTrips: 0,
    answered: 0,
    closedCleanly: 0,
    roundTripsPerSec: null,
    vsNodeNet: null,
    meanUs: null,
    p50Us: null,
    p99Us: null,
    rssBeforeBytes: null,
    rssIdleBytes: null,
    memoryPerConnectionBytes: null,
    memoryVsNodeNet: null,
    peakPerConnectionBytes: null,
    connectSeconds: null,
    acceptSeconds: null,
  };
}

/** The row of `mode` at `connections` from its rounds' runs (at least one): each figure the median of the runs'. */
export function connectionsRowFromRuns(mode: ConnectionModeName, connections: number, runs: readonly ConnectionsRun[]): ConnectionsRow {
  if (runs.length === 0) throw new Error('a many-connections row needs at least one run');
  const mid = (value: (run: ConnectionsRun) => number): number => median(runs.map(value));
  // Memory is null where the echo server could not sample it: the median of the rounds that did.
  const midOrNull = (value: (run: ConnectionsRun) => number | null): number | null => {
    const known = runs.map(value).filter((figure): figure is number => figure !== null);
    return known.length === 0 ? null : median(known);
  };
  return {
    mode,
    connections,
    available: true,
    runs: [...runs],
    roundTrips: runs.reduce((sum, run) => sum + run.roundTrips, 0),
    answered: runs.reduce((sum, run) => sum + run.answered, 0),
    closedCleanly: Math.min(...runs.map((run) => run.closedCleanly)),
    roundTripsPerSec: mid((run) => run.roundTripsPerSec),
    vsNodeNet: null,
    meanUs: mid((run) => run.meanUs),
    p50Us: mid((run) => run.p50Us),
    p99Us: mid((run) => run.p99Us),
    rssBeforeBytes: mid((run) => run.rssBeforeBytes),
    rssIdleBytes: midOrNull((run) => run.rssIdleBytes),
    memoryPerConnectionBytes: midOrNull((run) => run.memoryPerConnectionBytes),
    memoryVsNodeNet: null,
    peakPerConnectionBytes: midOrNull((run) => run.peakPerConnectionBytes),
    connectSeconds: mid((run) => run.connectSeconds),
    acceptSeconds: mid((run) => run.acceptSeconds),
  };
}

/** Fills vsNodeNet and memoryVsNodeNet against node:net's row at the same N. */
export function withConnectionRatios(rows: ConnectionsRow[]): ConnectionsRow[] {
  return rows.map((row) => {
    const base = rows.find((other) => other.mode === 'node:net' && other.connections === row.connections && other.available);
    const ratio = (value: number | null, baseValue: number | null | undefined): number | null =>
      value === null || baseValue === null || baseValue === undefined || baseValue <= 0 ? null : value / baseValue;
    return { ...row, vsNodeNet: ratio(row.roundTripsPerSec, base?.roundTripsPerSec), memoryVsNodeNet: ratio(row.memoryPerConnectionBytes, base?.memoryPerConnectionBytes) };
  });
}

/** The connection counts the targets are judged at. */
export const CONNECTION_TARGET_COUNTS = [100, 1000] as const;
/** At least this N must also run to the end with nothing lost. */
export const CONNECTION_COMPLETE_COUNT = 5000;

/** At each N of CONNECTION_TARGET_COUNTS that ran: promise >= 1.3x node:net's round trips/s, and memory per connection <= node:net's. */
export function connectionsTargets(rows: ConnectionsRow[]): Target[] {
  const out: Target[] = [];
  for (const n of CONNECTION_TARGET_COUNTS) {
    const promise = rows.find((row) => row.mode === 'promise' && row.connections === n);
    const net = rows.find((row) => row.mode === 'node:net' && row.connections === n);
    if (promise === undefined && net === undefined) continue;
    const at = `${n.toLocaleString('en-US')} connections`;
    const side = (row: ConnectionsRow | undefined, label: string, figure: (row: ConnectionsRow | ConnectionsRun) => number | null, baseline: boolean): Side => {
      const value = row === undefined ? null : figure(row);
      if (row === undefined || value === null) return { label, why: `no ${label} figure${row?.reason !== undefined ? ` (${row.reason})` : ''}` };
      // A baseline at or below 0 (RSS can fall while connections open) gives no ratio to judge.
      if (baseline && value <= 0) return { label, why: `${label}'s figure is ${value.toFixed(0)}, not above 0` };
      // The rounds' own figures, for the ratio round by round (none when a round has no
      // figure: the rounds of the two rows would no longer pair up).
      const rounds = row.runs.map(figure);
      return { label, figure: value, rounds: rounds.every((round) => round !== null) ? (rounds as number[]) : [] };
    };
    const judgeOn = (what: string, figure: (row: ConnectionsRow | ConnectionsRun) => number | null, limit: number, atLeast: boolean): Target =>
      judge(`promise vs node:net at ${at} (${what})`, side(promise, 'promise', figure, false), side(net, 'node:net', figure, true), limit, atLeast);
    out.push(judgeOn('aggregate round trips/s', (row) => row.roundTripsPerSec, 1.3, true));
    out.push(judgeOn('memory per connection', (row) => row.memoryPerConnectionBytes, 1, false));
  }
  return out;
}

/** For each row at CONNECTION_COMPLETE_COUNT connections or more: whether it ran to the end with nothing lost. */
export function connectionsCompleteness(rows: ConnectionsRow[]): string[] {
  return rows
    .filter((row) => row.connections >= CONNECTION_COMPLETE_COUNT)
    .map((row) => {
      const at = `${row.connections.toLocaleString('en-US')} connections, ${connectionsLabel(row)}`;
      if (!row.available) return `${at}: NOT run to the end: ${row.reason ?? ''}`;
      return `${at}: ran to the end, nothing lost (${row.answered.toLocaleString('en-US')} round trips answered and checked, ${row.closedCleanly.toLocaleString('en-US')} of ${row.connections.toLocaleString('en-US')} connections closed cleanly on both sides)`;
    });
}

const kib = (bytes: number | null): string => (bytes === null ? '' : (bytes / 1024).toFixed(1));
const secs = (value: number | null): string => (value === null ? '' : value.toFixed(2));

const CONNECTION_COLUMNS = ['Mode', 'Conns', 'RTT/s', 'vs node:net', 'p50 µs', 'p99 µs', 'KiB/conn', 'mem vs node:net', 'peak KiB/conn', 'connect s', 'accept s', 'RTT/s by round', 'KiB/conn by round'] as const;

function connectionCells(row: ConnectionsRow): string[] {
  return [
    connectionsLabel(row),
    row.connections.toLocaleString('en-US'),
    rate(row.roundTripsPerSec),
    times(row.vsNodeNet),
    us(row.p50Us),
    us(row.p99Us),
    kib(row.memoryPerConnectionBytes),
    times(row.memoryVsNodeNet),
    kib(row.peakPerConnectionBytes),
    secs(row.connectSeconds),
    secs(row.acceptSeconds),
    row.runs.map((run) => rate(run.roundTripsPerSec)).join(' '),
    row.runs.map((run) => kib(run.memoryPerConnectionBytes) || '?').join(' '),
  ];
}

export function connectionsTableLines(rows: ConnectionsRow[]): string[] {
  const cells = rows.map((row) => (row.available ? connectionCells(row) : [connectionsLabel(row), row.connections.toLocaleString('en-US')]));
  const widths = CONNECTION_COLUMNS.map((title, i) => Math.max(title.length, ...cells.map((c) => (c[i] ?? '').length)));
  const format = (values: readonly string[]): string => values.map((value, i) => (i === 0 ? value.padEnd(widths[i]!) : value.padStart(widths[i]!))).join('  ');
  const lines = [format(CONNECTION_COLUMNS), widths.map((w) => '-'.repeat(w)).join('  ')];
  const na = naCells(rows);
  rows.forEach((row, i) => {
    const cell = na.cells[i];
    lines.push(cell === null || cell === undefined ? format(cells[i]!) : `${format(cells[i]!)}  ${naText(cell)}`);
  });
  return [...lines, ...noteLines(na.notes)];
}

export function connectionsMarkdownTable(rows: ConnectionsRow[]): string {
  const head = `| ${CONNECTION_COLUMNS.join(' | ')} |\n|${CONNECTION_COLUMNS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`;
  const na = naCells(rows);
  const body = rows.map((row, i) => {
    const cell = na.cells[i];
    return cell === null || cell === undefined
      ? `| ${connectionCells(row).join(' | ')} |`
      : `| ${connectionsLabel(row)} | ${row.connections.toLocaleString('en-US')} | ${naText(cell, markdownCell)} ${'| '.repeat(CONNECTION_COLUMNS.length - 3)}|`;
  });
  return [head, ...body, ...markdownNotes(na.notes)].join('\n');
}

function connectionsHtml(rows: ConnectionsRow[], setup: Environment['connections'] | null): string {
  const cell = (value: string): string => `<td class="num">${escapeHtml(value)}</td>`;
  const connectionsNa = naCells(rows);
  const body = rows
    .map((row, i) => {
      const na = connectionsNa.cells[i];
      if (na !== null && na !== undefined) return `<tr class="na"><td>${escapeHtml(connectionsLabel(row))}</td>${cell(row.connections.toLocaleString('en-US'))}<td colspan="${CONNECTION_COLUMNS.length - 2}">${naText(na, escapeHtml)}</td></tr>`;
      const [label, ...rest] = connectionCells(row);
      return `<tr><td>${escapeHtml(label!)}</td>${rest.map(cell).join('')}</tr>`;
    })
    .join('\n');
  const span = setup === null || setup === undefined ? '' : ` ${setup.messageSize}-byte messages; after every connection is up, ${setup.warmupSeconds} s of warm-up, then ${setup.seconds} s measured.`;
  return `<h2>Many connections</h2>
<p>N concurrent ping-pong connections between two single-threaded processes (a client and an echo server, same I/O mode), each connection doing its own round trips, one message in flight per connection.${escapeHtml(span)} RTT/s is the aggregate over every connection; p50 and p99 are per round trip. KiB/conn is the echo server's RSS with every connection open and idle minus its RSS after listen(), each after a memory-reducing full GC (V8's last-resort collection), over N; peak KiB/conn uses the largest RSS sampled every 100 ms under load instead. Every echo is checked and every connection must close cleanly on both sides, or the row fails.</p>
<table><tr>${CONNECTION_COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>
${body}
</table>
${htmlNotes(connectionsNa.notes)}`;
}
