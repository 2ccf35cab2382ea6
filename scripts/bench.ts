// `npm run bench`: the loopback latency table of Microsoft's TCP Loopback Fast Path
// article, reproduced on this machine for node:net and each winsock-ffi I/O mode, with
// the C reference (bench/c/reference.c) beside them. Runs on any Node: the
// measuring processes run on Windows Node.js, natively on Windows and under Wine
// elsewhere (provisioned like `npm test`). See `npm run bench -- --help`. The same file,
// built into the package's dist/, is `npx winsock-ffi bench` (scripts/cli.ts); where
// its files and cache are follows from bench/layout.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';
import { buildPingPong, runBulk, runPingPong } from '../bench/c-reference.ts';
import type { Built } from '../bench/c-reference.ts';
import {
  BULK_READ_SIZE,
  BULK_WRITE_SIZE,
  C_MODES,
  C_THROUGHPUT_MODES,
  CONNECTION_MODES,
  MIN_CONNECTIONS_SIZE,
  DEFAULT_BULK_BYTES,
  DEFAULT_SIZE,
  isModeName,
  isThroughputModeName,
  MODES,
  QUICK_BULK_BYTES,
  THROUGHPUT_MODES,
  TIMESTAMP_BYTES,
  usesWinsockFfi,
} from '../bench/protocol.ts';
import type {
  CModeName,
  ConnectionModeName,
  ConnectionsArgs,
  ConnectionsFailure,
  ConnectionsResult,
  CThroughputModeName,
  FfiCostResult,
  ModeName,
  ProbeResult,
  SenderArgs,
  SenderFailure,
  SenderResult,
  ThroughputArgs,
  ThroughputFailure,
  ThroughputModeName,
  ThroughputResult,
} from '../bench/protocol.ts';
import {
  bytesText,
  connectionsCompleteness,
  connectionsRowFromRuns,
  connectionsLabel,
  connectionsMarkdownTable,
  connectionsTableLines,
  connectionsTargets,
  describeTarget,
  html,
  isFailed,
  markdownTable,
  medianRound,
  rowFromRounds,
  rowLabel,
  tableLines,
  targets,
  throughputLabel,
  throughputMarkdownTable,
  throughputTableLines,
  throughputTargets,
  unavailableRow,
  unavailableConnectionsRow,
  unavailableThroughputRow,
  withConnectionRatios,
  withReductions,
  withThroughputRatios,
} from '../bench/report.ts';
import type { ConnectionsRow, ConnectionsRun, Distribution, Environment, LatencyRound, Report, Row, Target, ThroughputRow } from '../bench/report.ts';
import { EXIT_ROW_FAILED, EXIT_TARGET_MISSED, exitDecision, median } from '../bench/verdicts.ts';
import { benchLayout, userCacheDir } from '../bench/layout.ts';
import { connectionsProgressText, latencyProgressText, StatusLine, throughputProgressText } from '../bench/status-line.ts';
import { nativeRunner, provisionWine } from '../bench/windows-node.ts';
import { NODE_MAJORS } from './harness/packages.ts';
import { HarnessError, setHarnessCommand } from './harness/steps.ts';
import type { WindowsRunner } from '../bench/windows-node.ts';

const HELP = `${benchLayout.command} [options]

Latency rows: node:net (the baseline), then winsock-ffi's blocking, nonblocking-poll,
iocp-wait, iocp-poll, rio-poll, promise (recvAsync/sendAsync) and stream (toStream()),
each with the loopback fast path off and on (n/a with the reason where the system lacks
it), then the C reference c-blocking, c-spin, c-rio (Registered I/O, n/a with the
system's answer where it has none), c-iocp-wait and c-iocp-poll (overlapped I/O on a
completion port, waited on or polled).

Throughput rows (--throughput): one-way bulk transfer in MiB/s with node:net, stream,
promise, blocking and the C reference c-bulk (send/recv) and c-bulk-iocp (overlapped, on
a completion port). --throughput alone runs only this table;
with --modes, the latency rows given there run first.

  --modes LIST        comma-separated rows to run (default: all): ${[...MODES, ...C_MODES].join(', ')}
  --fast-path WHICH   off, on or both (default both)
  --rounds N          rounds per row (default 3): every row runs once per round, the
                      rows interleaved (A B C, A B C, ...), so that a noisy moment of a
                      shared machine falls on one round of several rows, not on all of one
                      row; each figure is the median of its rounds. Also the throughput
                      table's runs per row, unless --runs says otherwise, and the
                      many-connections table's runs per row at each N
  --check             exit with code ${EXIT_TARGET_MISSED} when a target is missed (without it the exit
                      code says only whether every row ran: 0, or ${EXIT_ROW_FAILED} when one failed)
  --count N           measured round trips per row, split evenly across its rounds
                      (default: sized per round from the warm-up rate to last
                      --seconds / --rounds)
  --seconds S         target measuring time per row, all rounds together, without
                      --count (default 10)
  --warmup N          warm-up round trips, at least, in each round (default 500; also at
                      least 1 s)
  --size BYTES        message size, at least ${TIMESTAMP_BYTES} (default ${DEFAULT_SIZE})
  --quick             about 1.5 s per row, all rounds together (--seconds 1.5, shorter
                      warm-up)
  --json FILE         write { environment, targets, rows, throughput? }
  --html FILE         write a self-contained page with the tables, latency plots and
                      the throughput chart
  --markdown          also print the table as Markdown
  --throughput        the throughput table (instead of the latency table, unless --modes
                      is also given)
  --throughput-modes LIST
                      comma-separated throughput rows (implies --throughput; default all):
                      ${[...THROUGHPUT_MODES, ...C_THROUGHPUT_MODES].join(', ')}
  --bytes N           bytes per throughput run, with an optional K, M or G (binary)
                      suffix (default 256M; --quick: 64M; at least 1M)
  --runs N            runs per throughput row, round robin; the median counts (default:
                      --rounds, 3)
  --connections LIST  the many-connections table at each N of LIST (e.g. 1,100,1000): N
                      concurrent ping-pong connections between two processes, rows
                      ${CONNECTION_MODES.join(', ')}; aggregate round trips/s, p50/p99 and
                      the echo server's memory per connection, each the median of
                      --rounds interleaved rounds. Alone, only this table; with --modes
                      and/or --throughput, those tables too
  --connections-modes LIST
                      comma-separated rows of that table (default all)
                      (--seconds: measured time per run, default 5; --quick: 1.5)
  --ffi-cost          instead: the cost of one FFI call into ws2_32 against one node:net write
  --node MAJOR        the Windows Node.js major to measure with under Wine: \${NODE_MAJORS.join(', ')}
                      (default \${DEFAULT_BENCH_NODE}; the newest patch; 24 and 26 need Wine 10, which
                      on Debian 12 comes from a trixie root built as root, as npm test does).
                      On Windows the node at hand runs, and --node must name its major.
  --help

Environment: WINSOCK_FFI_CACHE (cache folder, default ${benchLayout.installed ? `${userCacheDir()}, for Wine,
Windows Node.js and the run's files` : '.cache/ at the repository root'}).
Under Wine the figures are not Windows figures: compare the ratios within one run.`;

interface Options {
  modes: (ModeName | CModeName)[];
  fastPaths: boolean[];
  count: number | null;
  seconds: number;
  warmupCount: number;
  warmupSeconds: number;
  size: number;
  json: string | null;
  html: string | null;
  markdown: boolean;
  ffiCost: boolean;
  /** Rounds per latency row and per many-connections row at each N (--rounds). */
  rounds: number;
  /** --check: a missed target fails the run. */
  check: boolean;
  /** Throughput rows to run, in table order; empty without --throughput. */
  throughput: (ThroughputModeName | CThroughputModeName)[];
  bytes: number;
  runs: number;
  /** Connection counts of the many-connections table; empty without --connections. */
  connections: number[];
  connectionModes: ConnectionModeName[];
  /** Measured seconds per many-connections run (after its warm-up). */
  connectionSeconds: number;
  connectionWarmupSeconds: number;
  /** The Windows Node.js major under Wine. */
  node: number;
}

/** Under Wine without --node: the one major that every Wine the harness knows (8 and later) starts. */
const DEFAULT_BENCH_NODE = 22;

const rootDir = benchLayout.root;
const cacheDir = benchLayout.cacheDir;
const workDir = path.join(cacheDir, 'bench-run');
const isTty = process.stdout.isTTY === true;
const newStatusLine = (): StatusLine => new StatusLine((text) => process.stdout.write(text), isTty);

/** Starting node.exe twice under Wine and the echo's connection take a few seconds. */
const ROW_OVERHEAD_S = 120;
const PROGRESS_INTERVAL_MS = 250;
/** When nothing better is known, the round trip the C reference's count is sized for. */
const FALLBACK_RTT_US = 300;

/**
 * The command line, for node:util's parseArgs. Adding an option: an entry here, a line in
 * HELP, and its reading in parseOptions(). Adding a mode needs nothing here: --modes
 * takes whatever MODES and C_MODES (bench/protocol.ts) list.
 */
const CLI_OPTIONS = {
  modes: { type: 'string' },
  'fast-path': { type: 'string' },
  count: { type: 'string' },
  seconds: { type: 'string' },
  warmup: { type: 'string' },
  size: { type: 'string' },
  quick: { type: 'boolean' },
  json: { type: 'string' },
  html: { type: 'string' },
  markdown: { type: 'boolean' },
  'ffi-cost': { type: 'boolean' },
  throughput: { type: 'boolean' },
  'throughput-modes': { type: 'string' },
  bytes: { type: 'string' },
  runs: { type: 'string' },
  rounds: { type: 'string' },
  check: { type: 'boolean' },
  connections: { type: 'string' },
  'connections-modes': { type: 'string' },
  node: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/** Every row --modes can name, in table order. */
const ALL_MODES: readonly (ModeName | CModeName)[] = [...MODES, ...C_MODES];
/** Every row --throughput-modes can name, in table order. */
const ALL_THROUGHPUT_MODES: readonly (ThroughputModeName | CThroughputModeName)[] = [...THROUGHPUT_MODES, ...C_THROUGHPUT_MODES];
const MIB = 1024 * 1024;

const FAST_PATHS: Readonly<Record<string, boolean[]>> = { off: [false], on: [true], both: [false, true] };

/**
 * parseArgs, with this command's own messages for what it rejects: an unknown option, a
 * missing value (a value that starts with '-' must be given as --option=VALUE), a value
 * given to a flag, and any argument that is not an option.
 */
function parseArgv(argv: string[]) {
  const { tokens } = parseArgs({ args: argv, options: CLI_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'option-terminator') throw new Error('unknown option "--" (see --help)');
    if (token.kind === 'positional') throw new Error(`unknown option "${token.value}" (see --help)`);
    if (!Object.hasOwn(CLI_OPTIONS, token.name)) throw new Error(`unknown option "${token.rawName}" (see --help)`);
    const type = CLI_OPTIONS[token.name as keyof typeof CLI_OPTIONS].type;
    if (type === 'boolean') {
      if (token.value !== undefined) throw new Error(`${token.rawName} takes no value`);
    } else if (token.value === undefined) {
      throw new Error(`${token.rawName} needs a value`);
    } else if (!token.inlineValue && token.value.length > 1 && token.value.startsWith('-')) {
      // Most likely a forgotten value before the next option; strict parseArgs refuses it too.
      throw new Error(`${token.rawName} needs a value, got the option-like "${token.value}" (write ${token.rawName}=${token.value} if that is the value)`);
    }
  }
  // Nothing left for it to reject; strict for the typed values.
  return parseArgs({ args: argv, options: CLI_OPTIONS, strict: true, allowPositionals: false }).values;
}

/** --node: one of NODE_MAJORS; on Windows, only the running node's own major. */
function nodeMajor(text: string): number {
  const major = Number(text.replace(/^v/, ''));
  if (!(NODE_MAJORS as readonly number[]).includes(major)) throw new Error(`--node takes one supported Node.js major (${NODE_MAJORS.join(', ')}), got "${text}"`);
  const here = Number(process.versions.node.split('.')[0]);
  if (process.platform === 'win32' && major !== here) {
    throw new Error(`on Windows the benchmark runs on the node at hand (${process.version}); to measure Node.js ${major}, run it with that node`);
  }
  return major;
}

function positive(flag: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new Error(`${flag} needs a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  return n;
}

/** A comma-separated list of rows, returned in table order whatever order it was given in. */
function parseModes<T extends string>(text: string, all: readonly T[], flag: string): T[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!(all as readonly string[]).includes(name)) throw new Error(`unknown ${flag === '--modes' ? 'mode' : 'throughput mode'} "${name}"; ${flag} takes: ${all.join(', ')}`);
  }
  if (names.length === 0) throw new Error(`${flag} needs at least one row`);
  return all.filter((mode) => names.includes(mode));
}

/** A comma-separated list of connection counts (1 to 100,000), in the order given, without repeats. */
function parseCounts(flag: string, text: string): number[] {
  const counts: number[] = [];
  for (const part of text.split(',').map((item) => item.trim()).filter((item) => item !== '')) {
    const n = Number(part.replaceAll('_', ''));
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new Error(`${flag} takes connection counts from 1 to 100000, got "${part}"`);
    if (!counts.includes(n)) counts.push(n);
  }
  if (counts.length === 0) throw new Error(`${flag} needs at least one connection count`);
  return counts;
}

/** A byte count with an optional K, M or G (binary) suffix, as bench/c/reference.c reads it. */
function parseBytes(flag: string, text: string): number {
  const match = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (match === null) throw new Error(`${flag} needs a positive integer with an optional K, M or G, got "${text}"`);
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const value = Number(match[1]) * scale;
  if (!Number.isSafeInteger(value) || value < MIB) throw new Error(`${flag} must be at least 1M (and a safe integer), got "${text}"`);
  return value;
}

function parseOptions(argv: string[]): Options {
  const values = parseArgv(argv);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const options: Options = {
    modes: values.modes !== undefined ? parseModes(values.modes, ALL_MODES, '--modes') : [...ALL_MODES],
    fastPaths: [false, true],
    count: values.count !== undefined ? positive('--count', values.count, true) : null,
    seconds: values.seconds !== undefined ? positive('--seconds', values.seconds, false) : 10,
    warmupCount: values.warmup !== undefined ? positive('--warmup', values.warmup, true) : 500,
    warmupSeconds: 1,
    size: DEFAULT_SIZE,
    json: values.json !== undefined ? path.resolve(values.json) : null,
    html: values.html !== undefined ? path.resolve(values.html) : null,
    markdown: values.markdown === true,
    ffiCost: values['ffi-cost'] === true,
    rounds: values.rounds !== undefined ? positive('--rounds', values.rounds, true) : 3,
    check: values.check === true,
    throughput: [],
    bytes: values.bytes !== undefined ? parseBytes('--bytes', values.bytes) : values.quick === true ? QUICK_BULK_BYTES : DEFAULT_BULK_BYTES,
    runs: values.runs !== undefined ? positive('--runs', values.runs, true) : values.rounds !== undefined ? positive('--rounds', values.rounds, true) : 3,
    connections: values.connections !== undefined ? parseCounts('--connections', values.connections) : [],
    connectionModes: values['connections-modes'] !== undefined ? parseModes(values['connections-modes'], CONNECTION_MODES, '--connections-modes') : [...CONNECTION_MODES],
    connectionSeconds: values.seconds !== undefined ? positive('--seconds', values.seconds, false) : values.quick === true ? 1.5 : 5,
    connectionWarmupSeconds: values.quick === true ? 0.5 : 1,
    node: values.node !== undefined ? nodeMajor(values.node) : process.platform === 'win32' ? Number(process.versions.node.split('.')[0]) : DEFAULT_BENCH_NODE,
  };
  if (values['throughput-modes'] !== undefined) {
    options.throughput = parseModes(values['throughput-modes'], ALL_THROUGHPUT_MODES, '--throughput-modes');
  } else if (values.throughput === true) {
    options.throughput = [...ALL_THROUGHPUT_MODES];
  }
  for (const flag of ['bytes', 'runs'] as const) {
    if (values[flag] !== undefined && options.throughput.length === 0) throw new Error(`--${flag} is for the throughput table: give it with --throughput`);
  }
  if (values['connections-modes'] !== undefined && options.connections.length === 0) throw new Error('--connections-modes needs --connections LIST (the connection counts)');
  // --throughput or --connections alone is that table alone; --modes adds latency rows to it.
  if ((options.throughput.length > 0 || options.connections.length > 0) && values.modes === undefined) options.modes = [];
  if (values['fast-path'] !== undefined) {
    const which = values['fast-path'];
    if (!Object.hasOwn(FAST_PATHS, which)) throw new Error(`--fast-path takes off, on or both, got "${which}"`);
    options.fastPaths = [...FAST_PATHS[which]!];
  }
  if (values.size !== undefined) {
    const size = positive('--size', values.size, true);
    if (size < TIMESTAMP_BYTES || size > 65536) throw new Error(`--size must be between ${TIMESTAMP_BYTES} and 65536`);
    options.size = size;
  }
  if (values.quick === true) {
    if (values.seconds === undefined) options.seconds = 1.5;
    options.warmupCount = Math.min(options.warmupCount, 100);
    options.warmupSeconds = 0.3;
  }
  if (options.connections.length > 0 && options.size < MIN_CONNECTIONS_SIZE) throw new Error(`--size must be at least ${MIN_CONNECTIONS_SIZE} with --connections (the message carries its connection and sequence numbers)`);
  if (options.size !== DEFAULT_SIZE && options.modes.some((mode) => mode.startsWith('c-'))) {
    // pingpong.c has 64 bytes built in.
    options.modes = options.modes.filter((mode) => !mode.startsWith('c-'));
    process.stdout.write(`note: the C reference only does ${DEFAULT_SIZE}-byte messages; its rows are left out with --size ${options.size}\n`);
  }
  return options;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

function lastProgress(file: string): { phase: string; done: number; total: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const line = text.trimEnd().split('\n').at(-1);
  const match = line === undefined ? null : /^(\w+) (\d+) (\d+)$/.exec(line);
  return match === null ? null : { phase: match[1]!, done: Number(match[2]), total: Number(match[3]) };
}

async function probe(runner: WindowsRunner): Promise<ProbeResult> {
  const resultFile = path.join(workDir, 'probe.json');
  const logFile = path.join(workDir, 'probe.log');
  const outcome = await runner.node('bench/probe.ts', [runner.path(resultFile)], logFile, ROW_OVERHEAD_S * 1000);
  const result = readJson<ProbeResult>(resultFile);
  if (outcome.code !== 0 || result === null) throw new Error(`bench/probe.ts failed (exit ${outcome.code ?? outcome.signal}${outcome.timedOut ? ', timed out' : ''}):\n${outcome.output.trim()}`);
  return result;
}

/** One round of one row: its figures, or the row as n/a or failed (then it runs no further round). */
type Measured = { round: LatencyRound; distribution: Distribution | null } | { row: Row; killed: boolean };

/** What one round of a row measures: its share of --seconds or --count. */
interface RoundShare {
  seconds: number;
  count: number | null;
}

async function measureRow(runner: WindowsRunner, options: Options, share: RoundShare, mode: ModeName, fastPath: boolean, position: string, status: StatusLine): Promise<Measured> {
  const id = `${mode.replace(':', '-')}-${fastPath ? 'fast' : 'normal'}`;
  const resultFile = path.join(workDir, `${id}.json`);
  const progressFile = path.join(workDir, `${id}.progress`);
  const logFile = path.join(workDir, `${id}.log`);
  for (const file of [resultFile, progressFile]) fs.rmSync(file, { force: true });
  const args: SenderArgs = {
    mode,
    fastPath,
    size: options.size,
    count: share.count,
    seconds: share.seconds,
    warmupCount: options.warmupCount,
    warmupSeconds: options.warmupSeconds,
    resultFile: runner.path(resultFile),
    progressFile: runner.path(progressFile),
    echoErrorFile: runner.path(path.join(workDir, `${id}.echo-error.txt`)),
  };
  const label = `${position} ${rowLabel({ mode, fastPath } as Row)}`;
  const timeoutMs = (ROW_OVERHEAD_S + options.warmupSeconds * 4 + (share.count === null ? share.seconds * 4 : share.count * 0.02)) * 1000;
  status.update(`${label}: starting`, 'starting');
  const ticker = setInterval(() => {
    const progress = lastProgress(progressFile);
    if (progress === null || progress.phase === 'done') return;
    const text = latencyProgressText(progress);
    status.update(`${label}: ${text.now}`, progress.phase, `${label}: ${text.opening}`);
  }, PROGRESS_INTERVAL_MS);
  let outcome;
  try {
    outcome = await runner.node('bench/sender.ts', [JSON.stringify(args)], logFile, timeoutMs);
  } finally {
    clearInterval(ticker);
  }
  const result = readJson<SenderResult | SenderFailure>(resultFile);
  if (outcome.code === 0 && result !== null && !('error' in result)) {
    const round: LatencyRound = {
      count: result.count,
      meanUs: result.meanUs,
      p50Us: result.p50Us,
      p99Us: result.p99Us,
      p999Us: result.p999Us,
      maxUs: result.maxUs,
      stddevUs: result.stddevUs,
      roundTripsPerSec: result.roundTripsPerSec,
    };
    status.done(`${label}: ${result.count.toLocaleString('en-US')} round trips, mean ${result.meanUs.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs`);
    return { round, distribution: { percentiles: result.percentiles, buckets: result.buckets } };
  }
  // A failed row is reported as such, with the cause; it never gets figures.
  const cause =
    result !== null && 'error' in result
      ? result.error
      : outcome.timedOut
        ? `timed out after ${Math.round(timeoutMs / 1000)} s`
        : `sender exited with code ${outcome.code ?? outcome.signal}: ${outcome.output.trim().split('\n')[0] ?? ''}`;
  status.done(`${label}: FAILED: ${cause} (log: ${logFile})`);
  return { row: unavailableRow(mode, fastPath, `run failed: ${cause}`), killed: outcome.timedOut };
}

/** C rows are compared with this Node row: each runs right after it in every round, and its count is sized from it. */
const C_PEERS: Record<CModeName, ModeName> = {
  'c-blocking': 'blocking',
  'c-spin': 'nonblocking-poll',
  'c-rio': 'rio-poll',
  'c-iocp-wait': 'iocp-wait',
  'c-iocp-poll': 'iocp-poll',
};

async function measureC(runner: WindowsRunner, share: RoundShare, mode: CModeName, built: Built, peerMeanUs: number | undefined, position: string, status: StatusLine): Promise<Measured> {
  if ('reason' in built) return { row: unavailableRow(mode, false, built.reason), killed: false };
  const count = share.count ?? Math.max(200, Math.round((share.seconds * 1e6) / (peerMeanUs ?? FALLBACK_RTT_US)));
  const label = `${position} ${mode} (C reference)`;
  // No count here: a mode the system lacks (c-rio under Wine) ends n/a without a round trip.
  status.update(`${label}: running`, 'measure');
  const timeoutMs = (ROW_OVERHEAD_S + count * 0.02) * 1000;
  const result = await runPingPong(runner, built.exe, mode, count, path.join(workDir, `${mode}.log`), timeoutMs);
  if ('reason' in result && result.unavailable === true) {
    // The system lacks what the mode needs (RIO under Wine): n/a with its answer, not a failure.
    status.done(`${label}: n/a: ${result.reason}`);
    return { row: unavailableRow(mode, false, result.reason), killed: false };
  }
  if ('reason' in result) {
    status.done(`${label}: FAILED: ${result.reason}`);
    return { row: unavailableRow(mode, false, `run failed: ${result.reason}`), killed: result.timedOut };
  }
  status.done(`${label}: ${result.count.toLocaleString('en-US')} round trips, mean ${result.meanUs.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs`);
  const round: LatencyRound = {
    count: result.count,
    meanUs: result.meanUs,
    p50Us: result.p50Us,
    p99Us: result.p99Us,
    p999Us: result.p999Us ?? null,
    maxUs: result.maxUs ?? null,
    stddevUs: result.stddevUs,
    roundTripsPerSec: result.roundTripsPerSec,
  };
  // The C reference prints summary figures only: no distribution to plot.
  return { round, distribution: null };
}

function hostDescription(): string | null {
  if (process.platform === 'win32') return null;
  let distribution = '';
  try {
    const release = fs.readFileSync('/etc/os-release', 'utf8');
    distribution = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1] ?? '';
  } catch {
    // Not every system has it.
  }
  return `${os.type()} ${os.release()}${distribution === '' ? '' : ` (${distribution})`}, ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'} x ${os.cpus().length}`;
}

async function runFfiCost(runner: WindowsRunner): Promise<void> {
  const resultFile = path.join(workDir, 'ffi-cost.json');
  const logFile = path.join(workDir, 'ffi-cost.log');
  fs.rmSync(resultFile, { force: true });
  say('measuring the cost of single calls (bench/ffi-cost.ts) ...');
  const outcome = await runner.node('bench/ffi-cost.ts', [runner.path(resultFile)], logFile, ROW_OVERHEAD_S * 3 * 1000);
  const result = readJson<FfiCostResult>(resultFile);
  if (outcome.code !== 0 || result === null) throw new Error(`bench/ffi-cost.ts failed (exit ${outcome.code ?? outcome.signal}):\n${outcome.output.trim()}`);
  const width = Math.max(...result.rows.map((row) => row.name.length));
  say(`\nTime per call (median of ${result.runs} runs)${runner.underWine ? `, under Wine: not Windows figures, compare within the table` : ''}:\n`);
  for (const row of result.rows) {
    say(`  ${row.name.padEnd(width)}  ${(row.nsPerCall / 1000).toFixed(2).padStart(7)} µs  (${row.calls.toLocaleString('en-US')} calls)  ${row.what}`);
  }
  const ffi = result.rows.find((row) => row.name.includes('Socket.send'));
  const netWrite = result.rows.find((row) => row.name.includes('node:net'));
  if (ffi !== undefined && netWrite !== undefined) {
    say(`\none Socket.send = ${(ffi.nsPerCall / netWrite.nsPerCall).toFixed(2)}x one node:net write`);
  }
}

/** Runs the latency rows of `options.modes`, in rounds, and prints their table and targets. */
async function runLatency(runner: WindowsRunner, options: Options, probed: ProbeResult, c: CReference): Promise<{ rows: Row[]; targets: Target[]; distributions: Map<Row, Distribution>; dirty: boolean }> {
  // The plan, in table order: each winsock-ffi mode with the fast path off and on.
  type Entry = { mode: ModeName | CModeName; fastPath: boolean; reason: string | null };
  const planFor = (modes: readonly (ModeName | CModeName)[], fastPaths: readonly boolean[]): Entry[] => {
    const plan: Entry[] = [];
    for (const mode of modes) {
      if (!isModeName(mode)) {
        plan.push({ mode, fastPath: false, reason: null });
        continue;
      }
      const availability = probed.modes[mode];
      for (const fastPath of usesWinsockFfi(mode) ? fastPaths : [false]) {
        const reason = !availability.available ? availability.reason : fastPath && !probed.fastPath.supported ? (probed.fastPath.reason ?? 'not supported') : null;
        plan.push({ mode, fastPath, reason });
      }
    }
    return plan;
  };
  const plan = planFor(options.modes, options.fastPaths);
  // What a target may be about but this run leaves out: the full table's rows that this
  // system offers and that --modes, --fast-path (or --size, for the C rows) left out.
  const leftOut = planFor(ALL_MODES, [false, true]).filter(
    (entry) => entry.reason === null && !plan.some((planned) => planned.mode === entry.mode && planned.fastPath === entry.fastPath),
  );

  // Execution order within a round: the table's, except that each C row runs right after
  // the Node row it is compared with. Every round runs every row in this order, so rows that
  // a target compares are interleaved (A B A B ...) and see the same moments of a shared,
  // noisy machine; each row's figures are the median of its rounds.
  const toRun = plan.filter((entry) => entry.reason === null);
  const order: Entry[] = [];
  for (const entry of toRun) {
    if (!isModeName(entry.mode)) continue;
    order.push(entry);
    for (const cEntry of toRun) {
      if (!isModeName(cEntry.mode) && C_PEERS[cEntry.mode] === entry.mode && !entry.fastPath) order.push(cEntry);
    }
  }
  for (const entry of toRun) if (!order.includes(entry)) order.push(entry);

  const share: RoundShare = {
    seconds: options.seconds / options.rounds,
    count: options.count === null ? null : Math.max(1, Math.ceil(options.count / options.rounds)),
  };
  const status = newStatusLine();
  /** Rows that ended early: n/a (the system lacks what they need) or failed. They run no further round. */
  const ended = new Map<Entry, Row>();
  const rounds = new Map<Entry, LatencyRound[]>(order.map((entry) => [entry, []]));
  const roundDistributions = new Map<Entry, (Distribution | null)[]>(order.map((entry) => [entry, []]));
  const started = Date.now();
  let dirty = false;
  if (options.rounds > 1) say(`\n${order.length} rows x ${options.rounds} rounds, interleaved; each round measures about ${share.count === null ? `${Number(share.seconds.toFixed(2))} s` : `${share.count.toLocaleString('en-US')} round trips`} per row`);
  await inRounds(order, options.rounds, async (entry, _round, position) => {
    let measured: Measured;
    if (isModeName(entry.mode)) {
      measured = await measureRow(runner, options, share, entry.mode, entry.fastPath, position, status);
    } else {
      const built = await c.built();
      const peer = order.find((other) => other.mode === C_PEERS[entry.mode as CModeName] && !other.fastPath);
      measured = await measureC(runner, share, entry.mode, built, peer === undefined ? undefined : rounds.get(peer)!.at(-1)?.meanUs, position, status);
    }
    if ('row' in measured) {
      dirty ||= measured.killed;
      ended.set(entry, measured.row);
      return false;
    }
    rounds.get(entry)!.push(measured.round);
    roundDistributions.get(entry)!.push(measured.distribution);
    return true;
  });
  const distributions = new Map<Row, Distribution>();
  const rows = plan.map((entry) => {
    const measured = rounds.get(entry) ?? [];
    return ended.get(entry) ?? (measured.length > 0 ? rowFromRounds(entry.mode, entry.fastPath, measured) : unavailableRow(entry.mode, entry.fastPath, entry.reason ?? 'not run'));
  });

  // Reductions need the whole table; the plots show each row's median round.
  const finalRows = withReductions(rows);
  finalRows.forEach((row, i) => {
    const entry = plan[i]!;
    if (!row.available || ended.has(entry) || row.rounds.length === 0) return;
    const distribution = roundDistributions.get(entry)?.[medianRound(row.rounds)] ?? null;
    if (distribution !== null) distributions.set(row, distribution);
  });
  const judged = targets(finalRows, { leftOut });

  const ofRounds = options.rounds > 1 ? `, median of ${options.rounds} rounds` : '';
  say(`\nLoopback round trips, ${options.size}-byte messages${ofRounds} (${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 1000)} s):\n`);
  for (const line of tableLines(finalRows)) say(line);
  say('');
  for (const target of judged) say(describeTarget(target));
  if (options.markdown) say(`\n${markdownTable(finalRows)}`);
  return { rows: finalRows, targets: judged, distributions, dirty };
}

/** The C reference, built once on first use by whichever table needs it first. */
interface CReference {
  built(): Promise<Built>;
}

/** One run of a throughput row: its MiB/s, or why there is none. */
type BulkRun = { mibPerSec: number } | { reason: string; killed: boolean };

async function measureThroughput(runner: WindowsRunner, options: Options, mode: ThroughputModeName, label: string, status: StatusLine): Promise<BulkRun> {
  const id = `throughput-${mode.replace(':', '-')}`;
  const resultFile = path.join(workDir, `${id}.json`);
  const progressFile = path.join(workDir, `${id}.progress`);
  const logFile = path.join(workDir, `${id}.log`);
  for (const file of [resultFile, progressFile]) fs.rmSync(file, { force: true });
  const args: ThroughputArgs = {
    mode,
    bytes: options.bytes,
    writeSize: BULK_WRITE_SIZE,
    readSize: BULK_READ_SIZE,
    resultFile: runner.path(resultFile),
    progressFile: runner.path(progressFile),
    senderErrorFile: runner.path(path.join(workDir, `${id}.sender-error.txt`)),
  };
  const timeoutMs = bulkTimeoutMs(options.bytes);
  status.update(`${label}: starting`, 'starting');
  const ticker = setInterval(() => {
    const progress = lastProgress(progressFile);
    if (progress === null || progress.phase !== 'measure') return;
    const text = throughputProgressText(progress);
    status.update(`${label}: ${text.now}`, 'measure', `${label}: ${text.opening}`);
  }, PROGRESS_INTERVAL_MS);
  let outcome;
  try {
    outcome = await runner.node('bench/throughput.ts', [JSON.stringify(args)], logFile, timeoutMs);
  } finally {
    clearInterval(ticker);
  }
  const result = readJson<ThroughputResult | ThroughputFailure>(resultFile);
  if (outcome.code === 0 && result !== null && !('error' in result)) {
    status.done(`${label}: ${bytesText(result.bytes)} in ${result.seconds.toFixed(2)} s, ${result.mibPerSec.toFixed(1)} MiB/s`);
    return { mibPerSec: result.mibPerSec };
  }
  const cause =
    result !== null && 'error' in result
      ? result.error
      : outcome.timedOut
        ? `timed out after ${Math.round(timeoutMs / 1000)} s`
        : `receiver exited with code ${outcome.code ?? outcome.signal}: ${outcome.output.trim().split('\n')[0] ?? ''}`;
  status.done(`${label}: FAILED: ${cause} (log: ${logFile})`);
  return { reason: cause, killed: outcome.timedOut };
}

async function measureBulkC(runner: WindowsRunner, options: Options, mode: CThroughputModeName, built: Built, label: string, status: StatusLine): Promise<BulkRun> {
  if ('reason' in built) return { reason: built.reason, killed: false };
  status.update(`${label}: transferring ${bytesText(options.bytes)}`, 'measure');
  const timeoutMs = bulkTimeoutMs(options.bytes);
  const bulk = { bytes: options.bytes, writeSize: BULK_WRITE_SIZE, readSize: BULK_READ_SIZE, overlapped: mode === 'c-bulk-iocp' };
  const result = await runBulk(runner, built.exe, bulk, path.join(workDir, `throughput-${mode}.log`), timeoutMs);
  if (result.available && result.mibPerSec !== undefined) {
    status.done(`${label}: ${result.mibPerSec.toFixed(1)} MiB/s`);
    return { mibPerSec: result.mibPerSec };
  }
  const reason = result.reason ?? 'unavailable';
  status.done(`${label}: FAILED: ${reason}`);
  return { reason, killed: reason.includes(`timed out after ${Math.round(timeoutMs / 1000)} s`) };
}

/** Time allowed for one throughput run: the start-up overhead plus the transfer at a crawl of 1 MiB/s. */
function bulkTimeoutMs(bytes: number): number {
  return (ROW_OVERHEAD_S + bytes / MIB) * 1000;
}

/** Where a run stands in its table: runs started so far, out of `total`. */
interface RoundsProgress {
  done: number;
  readonly total: number;
}

/**
 * Measures every entry of `order` once per round, the entries interleaved (A B C, A B C,
 * ...), so that a noisy moment of a shared machine falls on one round of several rows,
 * not on all of one row. `measure` gets the run's place for the status line ("[4/9]
 * round 2/3,") and says whether the entry goes on: one that ended (n/a, or failed) runs
 * no further round. The latency, throughput and many-connections tables all run this way.
 */
async function inRounds<E>(
  order: readonly E[],
  rounds: number,
  measure: (entry: E, round: number, position: string) => Promise<boolean>,
  progress: RoundsProgress = { done: 0, total: order.length * rounds },
): Promise<void> {
  const ended = new Set<E>();
  for (let round = 0; round < rounds; round++) {
    for (const entry of order) {
      progress.done++;
      if (ended.has(entry)) continue;
      const position = `[${progress.done}/${progress.total}]${rounds > 1 ? ` round ${round + 1}/${rounds},` : ''}`;
      if (!(await measure(entry, round, position))) ended.add(entry);
    }
  }
}

/**
 * Runs the throughput rows of `options.throughput` in `options.runs` rounds, interleaved
 * (every row once per round, so that a noisy moment of a shared machine does not fall on
 * one row only), and prints their table (the median run per row) and targets. A row that
 * fails once is reported failed, with the cause, and not run again.
 */
async function runThroughput(runner: WindowsRunner, options: Options, c: CReference): Promise<{ rows: ThroughputRow[]; targets: Target[]; dirty: boolean }> {
  const status = newStatusLine();
  const started = Date.now();
  const figures = new Map<ThroughputModeName | CThroughputModeName, number[]>(options.throughput.map((mode) => [mode, []]));
  const failures = new Map<ThroughputModeName | CThroughputModeName, string>();
  let dirty = false;
  say(`\nthroughput: ${bytesText(options.bytes)} one way per run, ${bytesText(BULK_WRITE_SIZE)} writes, ${options.runs} run${options.runs === 1 ? '' : 's'} per row in interleaved rounds (the median counts)`);
  await inRounds(options.throughput, options.runs, async (mode, _round, position) => {
    const label = `${position} ${throughputLabel({ mode })} throughput`;
    const result = isThroughputModeName(mode) ? await measureThroughput(runner, options, mode, label, status) : await measureBulkC(runner, options, mode, await c.built(), label, status);
    if ('mibPerSec' in result) {
      figures.get(mode)!.push(result.mibPerSec);
      return true;
    }
    dirty ||= result.killed;
    // A C reference that could not be built is n/a, not a failed run.
    failures.set(mode, !isThroughputModeName(mode) && 'reason' in (await c.built()) ? result.reason : `run failed: ${result.reason}`);
    return false;
  });
  const rows: ThroughputRow[] = options.throughput.map((mode) => {
    const failure = failures.get(mode);
    if (failure !== undefined) return unavailableThroughputRow(mode, failure);
    const runs = figures.get(mode)!;
    return { mode, available: true, mibPerSec: median(runs), vsNodeNet: null, runs };
  });
  const finalRows = withThroughputRatios(rows);
  say(`\nLoopback throughput, one way, ${bytesText(options.bytes)} in ${bytesText(BULK_WRITE_SIZE)} writes, median of ${options.runs} (${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 1000)} s):\n`);
  for (const line of throughputTableLines(finalRows)) say(line);
  say('');
  const judged = throughputTargets(finalRows);
  for (const target of judged) say(describeTarget(target));
  if (options.markdown) say(`\n${throughputMarkdownTable(finalRows)}`);
  return { rows: finalRows, targets: judged, dirty };
}

/** One run (round) of a many-connections row: its figures, or why it failed and whether a process had to be killed. */
async function measureConnections(
  runner: WindowsRunner,
  options: Options,
  mode: ConnectionModeName,
  connections: number,
  label: string,
  status: StatusLine,
): Promise<{ run: ConnectionsRun } | { reason: string; killed: boolean }> {
  const id = `connections-${mode.replace(':', '-')}-${connections}`;
  const resultFile = path.join(workDir, `${id}.json`);
  const progressFile = path.join(workDir, `${id}.progress`);
  const logFile = path.join(workDir, `${id}.log`);
  for (const file of [resultFile, progressFile]) fs.rmSync(file, { force: true });
  const args: ConnectionsArgs = {
    mode,
    connections,
    size: options.size,
    warmupSeconds: options.connectionWarmupSeconds,
    seconds: options.connectionSeconds,
    resultFile: runner.path(resultFile),
    progressFile: runner.path(progressFile),
    echoPrefix: runner.path(path.join(workDir, `${id}.echo`)),
  };
  // Start-up, then setup and teardown at a crawl of 20 ms per connection, then the run itself (x4).
  const timeoutMs = (ROW_OVERHEAD_S + connections * 0.02 + (options.connectionWarmupSeconds + options.connectionSeconds) * 4) * 1000;
  status.update(`${label}: starting`, 'starting');
  const ticker = setInterval(() => {
    const progress = lastProgress(progressFile);
    if (progress === null) return;
    const text = connectionsProgressText(progress);
    status.update(`${label}: ${text.now}`, progress.phase, `${label}: ${text.opening}`);
  }, PROGRESS_INTERVAL_MS);
  let outcome;
  try {
    outcome = await runner.node('bench/connections.ts', [JSON.stringify(args)], logFile, timeoutMs);
  } finally {
    clearInterval(ticker);
  }
  const result = readJson<ConnectionsResult | ConnectionsFailure>(resultFile);
  if (outcome.code === 0 && result !== null && !('error' in result)) {
    const echo = result.echo;
    const perConnection = (rss: number | null): number | null => (rss === null ? null : (rss - echo.rssBeforeBytes) / connections);
    const run: ConnectionsRun = {
      roundTrips: result.roundTrips,
      answered: result.answered,
      closedCleanly: result.closedCleanly,
      roundTripsPerSec: result.roundTripsPerSec,
      meanUs: result.meanUs,
      p50Us: result.p50Us,
      p99Us: result.p99Us,
      rssBeforeBytes: echo.rssBeforeBytes,
      rssIdleBytes: echo.rssIdleBytes,
      memoryPerConnectionBytes: perConnection(echo.rssIdleBytes),
      peakPerConnectionBytes: perConnection(echo.rssPeakBytes),
      connectSeconds: result.connectSeconds,
      acceptSeconds: echo.acceptSeconds,
    };
    status.done(`${label}: ${Math.round(result.roundTripsPerSec).toLocaleString('en-US')} round trips/s, p50 ${result.p50Us.toFixed(0)} µs, p99 ${result.p99Us.toFixed(0)} µs, ${((run.memoryPerConnectionBytes ?? 0) / 1024).toFixed(1)} KiB per connection`);
    return { run };
  }
  const cause =
    result !== null && 'error' in result
      ? result.error
      : outcome.timedOut
        ? `timed out after ${Math.round(timeoutMs / 1000)} s`
        : `client exited with code ${outcome.code ?? outcome.signal}: ${outcome.output.trim().split('\n')[0] ?? ''}`;
  status.done(`${label}: FAILED: ${cause} (log: ${logFile})`);
  return { reason: cause, killed: outcome.timedOut };
}

/**
 * Runs the many-connections table: at each N of options.connections, the rows in
 * `options.rounds` interleaved rounds (every row once per round, as the latency and
 * throughput rows are, so that a noisy moment falls on one round of several rows), and
 * prints the table (each figure the median of its rounds) and its targets. A row that
 * fails once is reported failed, with the cause, and not run again.
 */
async function runConnections(runner: WindowsRunner, options: Options): Promise<{ rows: ConnectionsRow[]; dirty: boolean }> {
  const status = newStatusLine();
  const started = Date.now();
  const rows: ConnectionsRow[] = [];
  let dirty = false;
  const rounds = options.rounds;
  const progress: RoundsProgress = { done: 0, total: options.connections.length * options.connectionModes.length * rounds };
  say(
    `\nmany connections: ${options.connections.map((n) => n.toLocaleString('en-US')).join(', ')} connections; ${options.connectionWarmupSeconds} s warm-up, then ${options.connectionSeconds} s measured per run; ${rounds} run${rounds === 1 ? '' : 's'} per row in interleaved rounds (the median counts)`,
  );
  for (const connections of options.connections) {
    const runs = new Map<ConnectionModeName, ConnectionsRun[]>(options.connectionModes.map((mode) => [mode, []]));
    const failures = new Map<ConnectionModeName, string>();
    await inRounds(
      options.connectionModes,
      rounds,
      async (mode, round, position) => {
        const label = `${position} ${connectionsLabel({ mode })}, ${connections.toLocaleString('en-US')} connection${connections === 1 ? '' : 's'}`;
        const measured = await measureConnections(runner, options, mode, connections, label, status);
        if ('run' in measured) {
          runs.get(mode)!.push(measured.run);
          return true;
        }
        dirty ||= measured.killed;
        failures.set(mode, `run failed${rounds > 1 ? ` in round ${round + 1}` : ''}: ${measured.reason}`);
        return false;
      },
      progress,
    );
    for (const mode of options.connectionModes) {
      const failure = failures.get(mode);
      rows.push(failure !== undefined ? unavailableConnectionsRow(mode, connections, failure) : connectionsRowFromRuns(mode, connections, runs.get(mode)!));
    }
  }
  const finalRows = withConnectionRatios(rows);
  say(
    `\nMany connections: ${options.size}-byte ping-pong on every connection at once, aggregate over the connections, median of ${rounds} (${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 1000)} s):\n`,
  );
  for (const line of connectionsTableLines(finalRows)) say(line);
  say('');
  say('KiB/conn: (the echo server\'s RSS with every connection open and idle, after a memory-reducing full GC) - (its RSS after listen(), after the same GC), over N.');
  say('');
  for (const target of connectionsTargets(finalRows)) say(describeTarget(target));
  for (const line of connectionsCompleteness(finalRows)) say(line);
  if (options.markdown) say(`\n${connectionsMarkdownTable(finalRows)}`);
  return { rows: finalRows, dirty };
}

async function main(): Promise<number> {
  setHarnessCommand('bench', 'npm run bench');
  const options = parseOptions(process.argv.slice(2));
  fs.mkdirSync(workDir, { recursive: true });
  say(process.platform === 'win32' ? `Windows Node.js ${process.version} (this process)` : `provisioning Wine and Windows Node.js ${options.node} (as npm test does) ...`);
  const runner = process.platform === 'win32' ? nativeRunner(benchLayout) : await provisionWine(benchLayout, options.node);
  say(`measuring with ${runner.description}`);
  let dirty = false;
  try {
    if (options.ffiCost) {
      await runFfiCost(runner);
      return 0;
    }
    const probed = await probe(runner);
    const environment: Environment = {
      os: probed.environment.os,
      wine: probed.environment.wine,
      underWine: probed.environment.wine !== null,
      host: probed.environment.wine !== null ? hostDescription() : null,
      cpu: probed.environment.cpu,
      cpuCount: probed.environment.cpuCount,
      node: probed.environment.node,
      koffi: probed.environment.koffi,
      fastPathSupported: probed.fastPath.supported,
      messageSize: options.size,
      rounds: options.rounds,
      throughput: options.throughput.length > 0 ? { bytes: options.bytes, writeSize: BULK_WRITE_SIZE, readSize: BULK_READ_SIZE, runs: options.runs } : null,
      ...(options.connections.length > 0
        ? { connections: { counts: options.connections, warmupSeconds: options.connectionWarmupSeconds, seconds: options.connectionSeconds, messageSize: options.size } }
        : {}),
      date: new Date().toISOString(),
    };
    say(`${environment.os}${environment.wine !== null ? ` under Wine ${environment.wine} on ${environment.host ?? 'Linux'}` : ''}; Node.js ${environment.node}; ${environment.cpu} x ${environment.cpuCount}`);
    say(`TCP loopback fast path: ${probed.fastPath.supported ? 'supported' : `not supported (${probed.fastPath.reason ?? ''})`}`);
    if (environment.wine !== null) say('Under Wine: these are not Windows figures; compare the ratios within this run.');

    let built: Promise<Built> | null = null;
    const c: CReference = { built: () => (built ??= buildPingPong(rootDir, cacheDir, { source: benchLayout.cSource, prebuilt: benchLayout.cPrebuilt })) };

    let latency: { rows: Row[]; targets: Target[]; distributions: Map<Row, Distribution> } = { rows: [], targets: [], distributions: new Map() };
    if (options.modes.length > 0) {
      const measured = await runLatency(runner, options, probed, c);
      dirty ||= measured.dirty;
      latency = measured;
    }
    let throughput: ThroughputRow[] | null = null;
    let throughputJudged: Target[] = [];
    if (options.throughput.length > 0) {
      const measured = await runThroughput(runner, options, c);
      dirty ||= measured.dirty;
      throughput = measured.rows;
      throughputJudged = measured.targets;
    }
    let connections: ConnectionsRow[] | null = null;
    let connectionsJudged: Target[] = [];
    if (options.connections.length > 0) {
      const measured = await runConnections(runner, options);
      dirty ||= measured.dirty;
      connections = measured.rows;
      connectionsJudged = connectionsTargets(measured.rows);
    }
    const judged = [...latency.targets, ...throughputJudged, ...connectionsJudged];
    const report: Report = { environment, targets: judged, rows: latency.rows, ...(throughput !== null ? { throughput } : {}), ...(connections !== null ? { connections } : {}) };

    const notes =
      environment.wine !== null ? [`Measured under Wine ${environment.wine}: every Winsock call goes through Wine, so these are not Windows figures.`] : [];
    if (options.json !== null) {
      fs.mkdirSync(path.dirname(options.json), { recursive: true });
      fs.writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
      say(`\nwrote ${options.json}`);
    }
    if (options.html !== null) {
      fs.mkdirSync(path.dirname(options.html), { recursive: true });
      fs.writeFileSync(options.html, html(report, latency.distributions, notes));
      say(`wrote ${options.html}`);
    }
    const decision = exitDecision({ rowFailed: latency.rows.some(isFailed) || (throughput ?? []).some(isFailed) || (connections ?? []).some(isFailed), check: options.check, targets: judged });
    if (options.check) {
      const notJudged = judged.filter((target) => target.limit !== null && target.met === null).length;
      const verdict = decision.missed.length > 0 ? `${decision.missed.length} target${decision.missed.length === 1 ? '' : 's'} missed (${decision.missed.join('; ')})` : 'every target judged was met';
      say(`\n--check: ${verdict}${notJudged > 0 ? `, ${notJudged} not judged` : ''}; exit code ${decision.code}${decision.code === EXIT_ROW_FAILED ? ' (a row failed)' : ''}`);
    }
    return decision.code;
  } finally {
    await runner.finish(dirty);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const where = error instanceof HarnessError ? `step "${error.step}" failed: ` : '';
    process.stderr.write(`${benchLayout.command.replace(/ --$/, '')}: ${where}${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
