// `npm run bench:calls`: counts the Winsock calls and the completion-port waits of one
// round trip, per row and per process (sender and echo), node:net included (libuv's own
// calls inside node.exe), under Wine's relay tracing. Under Wine a Winsock call costs a
// wineserver round trip, so these counts, not Wine's times, are what carries over to
// Windows.
//
// How: each row runs once through the bench's own programs (bench/sender.ts and
// bench/echo.ts, or reference.exe ping), `--warmup` round trips and then `--count`
// measured ones, under WINEDEBUG=+pid,+relay with the prefix's RelayInclude set to ws2_32
// and a few kernel32 completion-port functions (bench/relay-count.ts). Both processes
// trace into one file, in the order of time. Counted are the calls both processes make
// while the sender measures: between the two OutputDebugStringA markers that
// bench/sender.ts makes with `marker` set, or, for reference.exe, from the sender's
// warm-up's last successful recv to its last. Start-up, connection set-up, the warm-up and
// the tear-down stay out; so does the spinning of an echo that waits for a sender.
//
// With --throughput, the same per MiB of a one-way bulk transfer instead: each throughput
// row's bench/throughput.ts receives --mib MiB, marking its first and its last received
// chunk, and the calls of both processes between the marks are counted over the MiB
// received between them.
//
//   npm run bench:calls [-- --modes node:net,blocking --count 1000 --warmup 200 --markdown]
//   npm run bench:calls -- --throughput [--modes stream,promise --mib 16]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildPingPong } from './c-reference.ts';
import { MODES } from './protocol.ts';
import type { SenderArgs, ThroughputArgs, ThroughputResult } from './protocol.ts';
import { countMarkedWindow, countRecvWindow, formatCount, perRound, relayInclude, sides, summarize } from './relay-count.ts';
import type { Summary } from './relay-count.ts';
import { lockCache, provisionWindowsNode } from '../scripts/harness/provision.ts';
import type { ProvisionedWindowsNode } from '../scripts/harness/provision.ts';
import { say, setHarnessCommand } from '../scripts/harness/steps.ts';
import { runWine, windowsPath } from '../scripts/harness/wine.ts';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(rootDir, '.cache');
const workDir = path.join(cacheDir, 'bench-run', 'count-calls');

/** Rows that run here: the latency rows Wine has (no RIO) and the C reference's two. */
const ROWS = ['node:net', 'blocking', 'nonblocking-poll', 'iocp-wait', 'iocp-poll', 'promise', 'stream', 'c-blocking', 'c-spin'] as const;
type Row = (typeof ROWS)[number];

/** What the thread of each row sleeps in, for the table's last column. */
const SLEEPS_IN: Readonly<Record<Row, string>> = {
  'node:net': 'GetQueuedCompletionStatusEx (libuv)',
  blocking: 'recv',
  'nonblocking-poll': 'never (spins)',
  'iocp-wait': 'GetQueuedCompletionStatusEx',
  'iocp-poll': 'never (spins)',
  promise: 'GetQueuedCompletionStatusEx (libuv)',
  stream: 'GetQueuedCompletionStatusEx (libuv)',
  'c-blocking': 'recv',
  'c-spin': 'never (spins)',
};

/** Rows of the throughput table counted with --throughput (the C reference's bulk modes make no marks). */
const THROUGHPUT_ROWS = ['node:net', 'stream', 'promise', 'blocking'] as const;
type ThroughputRow = (typeof THROUGHPUT_ROWS)[number];

/** What the receiving thread of each throughput row sleeps in. */
const RECEIVER_SLEEPS_IN: Readonly<Record<ThroughputRow, string>> = {
  'node:net': 'GetQueuedCompletionStatusEx (libuv)',
  stream: 'GetQueuedCompletionStatusEx (libuv)',
  promise: 'GetQueuedCompletionStatusEx (libuv)',
  blocking: 'recv',
};

const MIB = 1024 * 1024;

const HELP = `npm run bench:calls [-- options]

Counts the Winsock calls and completion-port waits per round trip of each row of the
latency table, sender and echo, under Wine's relay tracing (Wine only); with
--throughput, per MiB of each throughput row, receiver and sender.

  --modes LIST   rows, comma-separated (default: ${ROWS.join(',')};
                 with --throughput: ${THROUGHPUT_ROWS.join(',')})
  --count N      measured round trips, the calls of which are counted (default 1000)
  --warmup N     round trips before them, not counted (default 200)
  --throughput   count per MiB of the throughput rows instead (64 KiB writes and reads)
  --mib N        MiB each throughput row transfers under the trace (default 16)
  --node MAJOR   Windows Node.js major to run (default 22)
  --markdown     also print the table as Markdown
  --help
`;

interface Options {
  /** Latency rows, or with `throughput` the throughput rows. */
  rows: string[];
  throughput: boolean;
  mib: number;
  count: number;
  warmup: number;
  node: number;
  markdown: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      modes: { type: 'string' },
      count: { type: 'string' },
      warmup: { type: 'string' },
      throughput: { type: 'boolean' },
      mib: { type: 'string' },
      node: { type: 'string' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const throughput = values.throughput === true;
  const known: readonly string[] = throughput ? THROUGHPUT_ROWS : ROWS;
  const rows = values.modes === undefined ? [...known] : values.modes.split(',').map((name) => name.trim());
  for (const row of rows) if (!known.includes(row)) throw new Error(`--modes: unknown ${throughput ? 'throughput ' : ''}row ${row} (rows: ${known.join(', ')})`);
  const positive = (name: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name}: expected a positive whole number, got ${value}`);
    return parsed;
  };
  return {
    rows,
    throughput,
    mib: positive('--mib', values.mib, 16),
    count: positive('--count', values.count, 1000),
    warmup: positive('--warmup', values.warmup, 200),
    node: positive('--node', values.node, 22),
    markdown: values.markdown === true,
  };
}

interface Counted {
  row: string;
  sender: Summary | null;
  echo: Summary | null;
  reason?: string;
}

/** Runs `row` once for `count` measured round trips; the relay trace of both processes. */
async function traceOnce(windows: ProvisionedWindowsNode, row: Row, options: Options, count: number, cExe: string | null): Promise<string> {
  const dir = path.join(workDir, row.replace(':', '-'));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'trace.log');
  const env = windows.env({ WINEDEBUG: '+pid,+relay' });
  const timeoutMs = 120_000 + (options.warmup + count) * 50;
  if (row === 'c-blocking' || row === 'c-spin') {
    if (cExe === null) throw new Error('no C reference');
    const args = ['ping', row.slice('c-'.length), '--count', String(count), '--warmup', String(options.warmup), '--timeout', String(Math.floor(timeoutMs / 1000) - 10)];
    const outcome = await runWine(windows.wine, 'wine', [cExe, ...args], { cwd: rootDir, env, logFile, timeoutMs });
    if (outcome.code !== 0 || !outcome.output.includes(`${row} count=${count} `)) throw new Error(`reference.exe ping failed (code ${outcome.code ?? outcome.signal}); trace in ${logFile}`);
    return outcome.output;
  }
  const resultFile = path.join(dir, 'result.json');
  const args: SenderArgs = {
    mode: row,
    fastPath: false,
    size: 64,
    count,
    seconds: 1,
    warmupCount: options.warmup,
    warmupSeconds: 0,
    resultFile: windowsPath(resultFile),
    progressFile: windowsPath(path.join(dir, 'progress.txt')),
    echoErrorFile: windowsPath(path.join(dir, 'echo-error.txt')),
    marker: true,
  };
  const outcome = await runWine(windows.wine, 'wine', [windows.nodeExe, 'bench/sender.ts', JSON.stringify(args)], { cwd: rootDir, env, logFile, timeoutMs });
  const result = fs.existsSync(resultFile) ? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { error?: string; count?: number }) : null;
  if (outcome.code !== 0 || result === null || result.count !== count) {
    throw new Error(`bench/sender.ts failed (code ${outcome.code ?? outcome.signal}${result?.error !== undefined ? `: ${result.error}` : ''}); trace in ${logFile}`);
  }
  return fs.readFileSync(logFile, 'utf8');
}

/** Runs throughput row `row` once under the trace: the trace, and the MiB received between the two marks. */
async function traceThroughput(windows: ProvisionedWindowsNode, row: ThroughputRow, options: Options): Promise<{ trace: string; mib: number }> {
  const dir = path.join(workDir, `throughput-${row.replace(':', '-')}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'trace.log');
  const resultFile = path.join(dir, 'result.json');
  const args: ThroughputArgs = {
    mode: row,
    bytes: options.mib * MIB,
    writeSize: 64 * 1024,
    readSize: 64 * 1024,
    resultFile: windowsPath(resultFile),
    progressFile: windowsPath(path.join(dir, 'progress.txt')),
    senderErrorFile: windowsPath(path.join(dir, 'sender-error.txt')),
    marker: true,
  };
  const env = windows.env({ WINEDEBUG: '+pid,+relay' });
  const outcome = await runWine(windows.wine, 'wine', [windows.nodeExe, 'bench/throughput.ts', JSON.stringify(args)], { cwd: rootDir, env, logFile, timeoutMs: 120_000 + options.mib * 5_000 });
  const result = fs.existsSync(resultFile) ? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as Partial<ThroughputResult> & { error?: string }) : null;
  if (outcome.code !== 0 || result?.bytes === undefined || result.firstChunkBytes === undefined) {
    throw new Error(`bench/throughput.ts failed (code ${outcome.code ?? outcome.signal}${result?.error !== undefined ? `: ${result.error}` : ''}); trace in ${logFile}`);
  }
  return { trace: fs.readFileSync(logFile, 'utf8'), mib: (result.bytes - result.firstChunkBytes) / MIB };
}

/** A throughput row's calls per MiB: the receiver is the process that listened. */
async function countThroughputRow(windows: ProvisionedWindowsNode, row: ThroughputRow, options: Options): Promise<Counted> {
  const { trace, mib } = await traceThroughput(windows, row, options);
  const counted = countMarkedWindow(trace);
  const found = typeof counted === 'string' ? counted : sides(counted);
  if (typeof found === 'string') return { row, sender: null, echo: null, reason: found };
  return { row, sender: summarize(perRound(found.sender, mib)), echo: summarize(perRound(found.echo, mib)) };
}

async function countRow(windows: ProvisionedWindowsNode, row: Row, options: Options, cExe: string | null): Promise<Counted> {
  const trace = await traceOnce(windows, row, options, options.count, cExe);
  const counted = row.startsWith('c-') ? countRecvWindow(trace, options.warmup, options.count) : countMarkedWindow(trace);
  const found = typeof counted === 'string' ? counted : sides(counted);
  if (typeof found === 'string') return { row, sender: null, echo: null, reason: found };
  return { row, sender: summarize(perRound(found.sender, options.count)), echo: summarize(perRound(found.echo, options.count)) };
}

/**
 * The table's rows. A latency row's first process is the sender (it listened), the second
 * the echo; a throughput row's first is the receiver (it listened), the second the sender.
 */
function tableRows(counted: readonly Counted[], throughput: boolean): string[][] {
  const out: string[][] = [];
  const names = throughput ? (['receiver', 'sender'] as const) : (['sender', 'echo'] as const);
  for (const entry of counted) {
    if (entry.sender === null || entry.echo === null) {
      out.push([entry.row, '', 'n/a', entry.reason ?? '', '', '']);
      continue;
    }
    for (const [index, summary] of [entry.sender, entry.echo].entries()) {
      out.push([
        index === 0 ? entry.row : '',
        names[index]!,
        formatCount(summary.winsock),
        summary.winsockText + (summary.otherText !== '' ? `; ${summary.otherText}` : ''),
        summary.completionText,
        throughput ? (index === 0 ? RECEIVER_SLEEPS_IN[entry.row as ThroughputRow] : '') : SLEEPS_IN[entry.row as Row],
      ]);
    }
  }
  return out;
}

function header(throughput: boolean): string[] {
  const per = throughput ? ' per MiB' : '';
  return ['row', 'process', `Winsock calls${per}`, 'by function', `GetQueuedCompletionStatus(Ex) calls${per}`, throughput ? 'receiver sleeps in' : 'sleeps in'];
}

function markdown(rows: readonly string[][], throughput: boolean): string {
  const head = header(throughput);
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 2 ? '---:' : '---')).join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map((cell, i) => (i === 0 && cell !== '' ? `\`${cell}\`` : cell)).join(' | ')} |`);
  return lines.join('\n');
}

function plain(rows: readonly string[][], throughput: boolean): string {
  const head = header(throughput);
  const widths = head.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  setHarnessCommand('bench:calls', 'npm run bench:calls');
  const options = parseOptions(process.argv.slice(2));
  if (process.platform === 'win32') {
    process.stderr.write('npm run bench:calls counts through Wine\'s relay tracing and runs only under Wine (Linux); on Windows, trace ws2_32 with ETW or API Monitor instead.\n');
    return 1;
  }
  if (!options.throughput) for (const row of options.rows) if (!(MODES as readonly string[]).includes(row) && !row.startsWith('c-')) throw new Error(`unknown row ${row}`);
  fs.mkdirSync(workDir, { recursive: true });
  const lock = await lockCache(cacheDir);
  try {
    const windows = await provisionWindowsNode(rootDir, cacheDir, options.node, lock);
    let cExe: string | null = null;
    if (!options.throughput && options.rows.some((row) => row.startsWith('c-'))) {
      const built = await buildPingPong(rootDir, cacheDir);
      if ('exe' in built) cExe = built.exe;
      else say(`the C rows are left out: ${built.reason}`);
    }
    const regEnv = windows.env();
    const reg = (args: string[]): Promise<unknown> => runWine(windows.wine, 'wine', ['reg', ...args], { cwd: rootDir, env: regEnv, capture: true, timeoutMs: 60_000 });
    await reg(['add', 'HKCU\\Software\\Wine\\Debug', '/v', 'RelayInclude', '/t', 'REG_SZ', '/d', relayInclude(), '/f']);
    const counted: Counted[] = [];
    try {
      for (const row of options.rows) {
        if (row.startsWith('c-') && cExe === null) continue;
        say(options.throughput ? `counting ${row} throughput: ${options.mib} MiB` : `counting ${row}: ${options.warmup} warm-up round trips, then ${options.count} counted`);
        try {
          counted.push(options.throughput ? await countThroughputRow(windows, row as ThroughputRow, options) : await countRow(windows, row as Row, options, cExe));
        } catch (error) {
          counted.push({ row, sender: null, echo: null, reason: error instanceof Error ? error.message : String(error) });
        }
      }
    } finally {
      // Relay tracing is off unless WINEDEBUG asks for it, but a later +relay by hand should see everything.
      await reg(['delete', 'HKCU\\Software\\Wine\\Debug', '/v', 'RelayInclude', '/f']);
      await windows.stopWine();
    }
    const rows = tableRows(counted, options.throughput);
    const out = (text: string): boolean => process.stdout.write(`${text}\n`);
    if (options.throughput) {
      out(`\nWinsock calls and completion-port waits per MiB (${windows.description}; ${options.mib} MiB one way in 64 KiB writes, 64 KiB reads where the row has a size;`);
      out('calls of both processes from the receiver\'s first chunk to its last, over the MiB received in between; below 0.02 left out):\n');
    } else {
      out(`\nWinsock calls and completion-port waits per round trip (${windows.description}; 64-byte ping-pong, TCP_NODELAY, fast path off;`);
      out(`calls of both processes while the sender measured ${options.count} round trips after ${options.warmup}, over ${options.count}; below 0.02 left out):\n`);
    }
    out(plain(rows, options.throughput));
    if (options.markdown) out(`\n${markdown(rows, options.throughput)}`);
    return counted.some((entry) => entry.sender === null) ? 1 : 0;
  } finally {
    lock.release();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm run bench:calls: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
