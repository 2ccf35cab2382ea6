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
//   npm run bench:calls [-- --modes node:net,blocking --count 1000 --warmup 200 --markdown]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildPingPong } from './c-reference.ts';
import { MODES } from './protocol.ts';
import type { SenderArgs } from './protocol.ts';
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

const HELP = `npm run bench:calls [-- options]

Counts the Winsock calls and completion-port waits per round trip of each row of the
latency table, sender and echo, under Wine's relay tracing (Wine only).

  --modes LIST   rows, comma-separated (default: ${ROWS.join(',')})
  --count N      measured round trips, the calls of which are counted (default 1000)
  --warmup N     round trips before them, not counted (default 200)
  --node MAJOR   Windows Node.js major to run (default 22)
  --markdown     also print the table as Markdown
  --help
`;

interface Options {
  rows: Row[];
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
      node: { type: 'string' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const rows = values.modes === undefined ? [...ROWS] : values.modes.split(',').map((name) => name.trim());
  for (const row of rows) if (!(ROWS as readonly string[]).includes(row)) throw new Error(`--modes: unknown row ${row} (rows: ${ROWS.join(', ')})`);
  const positive = (name: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0) throw new Error(`${name}: expected a positive whole number, got ${value}`);
    return parsed;
  };
  return {
    rows: rows as Row[],
    count: positive('--count', values.count, 1000),
    warmup: positive('--warmup', values.warmup, 200),
    node: positive('--node', values.node, 22),
    markdown: values.markdown === true,
  };
}

interface Counted {
  row: Row;
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

async function countRow(windows: ProvisionedWindowsNode, row: Row, options: Options, cExe: string | null): Promise<Counted> {
  const trace = await traceOnce(windows, row, options, options.count, cExe);
  const counted = row.startsWith('c-') ? countRecvWindow(trace, options.warmup, options.count) : countMarkedWindow(trace);
  const found = typeof counted === 'string' ? counted : sides(counted);
  if (typeof found === 'string') return { row, sender: null, echo: null, reason: found };
  return { row, sender: summarize(perRound(found.sender, options.count)), echo: summarize(perRound(found.echo, options.count)) };
}

function tableRows(counted: readonly Counted[]): string[][] {
  const out: string[][] = [];
  for (const entry of counted) {
    if (entry.sender === null || entry.echo === null) {
      out.push([entry.row, '', 'n/a', entry.reason ?? '', '', '']);
      continue;
    }
    for (const [side, summary] of [['sender', entry.sender], ['echo', entry.echo]] as const) {
      out.push([
        side === 'sender' ? entry.row : '',
        side,
        formatCount(summary.winsock),
        summary.winsockText + (summary.otherText !== '' ? `; ${summary.otherText}` : ''),
        summary.completionText,
        SLEEPS_IN[entry.row],
      ]);
    }
  }
  return out;
}

const HEADER = ['row', 'process', 'Winsock calls', 'by function', 'GetQueuedCompletionStatus(Ex) calls', 'sleeps in'];

function markdown(rows: readonly string[][]): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `| ${HEADER.map((_, i) => (i === 2 ? '---:' : '---')).join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map((cell, i) => (i === 0 && cell !== '' ? `\`${cell}\`` : cell)).join(' | ')} |`);
  return lines.join('\n');
}

function plain(rows: readonly string[][]): string {
  const widths = HEADER.map((head, i) => Math.max(head.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEADER), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  setHarnessCommand('bench:calls', 'npm run bench:calls');
  const options = parseOptions(process.argv.slice(2));
  if (process.platform === 'win32') {
    process.stderr.write('npm run bench:calls counts through Wine\'s relay tracing and runs only under Wine (Linux); on Windows, trace ws2_32 with ETW or API Monitor instead.\n');
    return 1;
  }
  for (const row of options.rows) if (!(MODES as readonly string[]).includes(row) && !row.startsWith('c-')) throw new Error(`unknown row ${row}`);
  fs.mkdirSync(workDir, { recursive: true });
  const lock = await lockCache(cacheDir);
  try {
    const windows = await provisionWindowsNode(rootDir, cacheDir, options.node, lock);
    let cExe: string | null = null;
    if (options.rows.some((row) => row.startsWith('c-'))) {
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
        say(`counting ${row}: ${options.warmup} warm-up round trips, then ${options.count} counted`);
        try {
          counted.push(await countRow(windows, row, options, cExe));
        } catch (error) {
          counted.push({ row, sender: null, echo: null, reason: error instanceof Error ? error.message : String(error) });
        }
      }
    } finally {
      // Relay tracing is off unless WINEDEBUG asks for it, but a later +relay by hand should see everything.
      await reg(['delete', 'HKCU\\Software\\Wine\\Debug', '/v', 'RelayInclude', '/f']);
      await windows.stopWine();
    }
    const rows = tableRows(counted);
    const out = (text: string): boolean => process.stdout.write(`${text}\n`);
    out(`\nWinsock calls and completion-port waits per round trip (${windows.description}; 64-byte ping-pong, TCP_NODELAY, fast path off;`);
    out(`calls of both processes while the sender measured ${options.count} round trips after ${options.warmup}, over ${options.count}; below 0.02 left out):\n`);
    out(plain(rows));
    if (options.markdown) out(`\n${markdown(rows)}`);
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
