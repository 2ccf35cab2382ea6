// One run of the many-connections table, client side (run by scripts/bench.ts on Windows
// Node.js, natively or under Wine). Starts bench/connections-echo.ts (the echo server, a
// second single-threaded process in the same mode), opens `connections` connections to
// it, and runs round trips on all of them at once: a warm-up, then a measured window.
// Each connection then stops with nothing in flight; the echo server samples its memory
// with every connection open and idle; then every connection is ended and must close
// cleanly on both sides. Every echo is checked (its connection and sequence number), and
// the bytes the server echoed must equal the bytes of the round trips the client had
// answered: the run fails if anything is lost. Writes a ConnectionsResult (or
// ConnectionsFailure) into args.resultFile and progress lines into args.progressFile.
//
//   node bench/connections.ts '<ConnectionsArgs as JSON>'
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { manyModes } from './modes/many.ts';
import type { ConnectionsArgs, ConnectionsEchoReport, ConnectionsFailure, ConnectionsResult } from './protocol.ts';
import { Clock, nsPerTick, Progress, Recorder } from './recorder.ts';
import { siblingScript } from './layout.ts';

/** Starting node.exe under Wine takes a few seconds; this covers a slow, busy machine. */
const ECHO_START_TIMEOUT_MS = 60_000;
const HANDSHAKE_TIMEOUT_MS = 60_000;
const ECHO_EXIT_TIMEOUT_MS = 60_000;
/** listen() backlog: at least node:net's default (511), at least N. */
const MIN_BACKLOG = 511;
/** A warm-up longer than this means some connection is stalled (or starved): the run fails, saying how many. */
const WARMUP_LIMIT_S = 60;
/** How long the echo server may take to accept the N connections the client made. */
const ACCEPT_LIMIT_MS = 180_000;

const args = JSON.parse(process.argv[2] ?? '') as ConnectionsArgs;
let echoFailure: string | null = null;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `file` to appear (and parse), failing early when the echo process has exited. */
async function waitForFile<T>(file: string, what: string, timeoutMs: number, exited: () => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    } catch {
      // Not there yet (or half written).
    }
    if (exited()) throw new Error(`the echo process exited before ${what}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function main(): Promise<ConnectionsResult> {
  const mode = manyModes[args.mode];
  if (mode === undefined) throw new Error(`mode ${args.mode} has no many-connections implementation`);
  const n = args.connections;
  const progress = new Progress(args.progressFile);
  progress.begin('starting', 0);
  const prefix = args.echoPrefix;
  for (const suffix of ['port.json', 'accepted', 'quiet', 'memory.json', 'report.json', 'error.txt']) fs.rmSync(`${prefix}.${suffix}`, { force: true });

  const echoScript = siblingScript(import.meta.url, 'connections-echo');
  const echoArgs = JSON.stringify({ mode: args.mode, connections: n, size: args.size, backlog: Math.max(MIN_BACKLOG, n), prefix });
  // stdio 'ignore': under Wine, node.exe dies on pipes; the echo reports errors in its file.
  const echo = spawn(process.execPath, [...process.execArgv, '--expose-gc', echoScript, echoArgs], { stdio: 'ignore', windowsHide: true });
  let echoExited = false;
  const echoExit = new Promise<number | null>((resolve) => {
    echo.once('exit', (code) => resolve(code));
    echo.once('error', () => resolve(-1));
  }).finally(() => {
    echoExited = true;
  });

  try {
    const { port } = await waitForFile<{ port: number }>(`${prefix}.port.json`, 'listening port', ECHO_START_TIMEOUT_MS, () => echoExited);

    progress.begin('connect', n);
    const connectStart = performance.now();
    const set = await mode.open(port, n, args.size, (count) => progress.tick(count));
    const connectSeconds = (performance.now() - connectStart) / 1000;
    // The round trips start once the echo server has accepted all N: how fast it accepts is
    // its own column (accept s), and the table is about N established connections at work.
    await waitForFile(`${prefix}.accepted`, 'every connection accepted', ACCEPT_LIMIT_MS, () => echoExited);

    const clock = new Clock();
    const recorder = new Recorder();
    progress.begin('warmup', 0);
    // Warm-up: at least warmupSeconds, and until every connection has had a round trip
    // answered, so that the measured window sees all N at work (with thousands of
    // connections under Wine, one round on all of them can take seconds).
    const warmupEnd = clock.now() + (args.warmupSeconds * 1e9) / nsPerTick;
    const windowTicks = (args.seconds * 1e9) / nsPerTick;
    const warmed = new Uint8Array(n);
    let warmedCount = 0;
    let measureFrom = Number.POSITIVE_INFINITY;
    let measureTo = Number.POSITIVE_INFINITY;
    let answered = 0;
    const warmupLimit = clock.now() + (WARMUP_LIMIT_S * 1e9) / nsPerTick;
    await set.run((message) => {
      answered++;
      const now = clock.now();
      if (now >= measureTo) return false;
      if (now >= measureFrom) {
        recorder.record((now - message.ticks) * nsPerTick);
        return true;
      }
      const id = message.bytes.readUInt32LE(8);
      if (warmed[id] === 0) {
        warmed[id] = 1;
        warmedCount++;
      }
      if (now > warmupLimit && warmedCount < n) {
        const waiting: number[] = [];
        for (let i = 0; i < n && waiting.length < 5; i++) if (warmed[i] === 0) waiting.push(i);
        throw new Error(`after ${WARMUP_LIMIT_S} s and ${answered} round trips answered, ${n - warmedCount} of ${n} connections had had none answered (connections ${waiting.join(', ')}, ...)`);
      }
      if (warmedCount === n && now >= warmupEnd) {
        measureFrom = now;
        measureTo = now + windowTicks;
        progress.begin('measure', 0);
      }
      return true;
    });
    if (recorder.count === 0) throw new Error('no round trip completed inside the measured window');

    // Every connection is idle now: let the echo server sample its memory, then end them all.
    progress.begin('done', 0);
    fs.writeFileSync(`${prefix}.quiet`, '');
    await waitForFile(`${prefix}.memory.json`, 'memory sample', HANDSHAKE_TIMEOUT_MS, () => echoExited);
    const closed = await set.close();
    const timer = setTimeout(() => echo.kill(), ECHO_EXIT_TIMEOUT_MS);
    const code = await echoExit;
    clearTimeout(timer);
    if (code !== 0) throw new Error(`the echo process exited with code ${code}`);
    const report = JSON.parse(fs.readFileSync(`${prefix}.report.json`, 'utf8')) as ConnectionsEchoReport;

    // Nothing lost: every connection accepted, every round trip answered, every connection closed cleanly on both sides.
    if (report.accepted !== n) throw new Error(`the echo server accepted ${report.accepted} of ${n} connections`);
    if (report.errors.length > 0) throw new Error(`the echo server saw errors: ${report.errors.join('; ')}`);
    if (report.bytes !== answered * args.size) throw new Error(`the echo server echoed ${report.bytes} bytes for the ${answered} round trips (${answered * args.size} bytes) the client had answered`);
    if (report.closedCleanly !== n) throw new Error(`the echo server saw ${report.closedCleanly} of ${n} connections close cleanly`);
    if (closed.clean !== n) throw new Error(`the client saw ${closed.clean} of ${n} connections close cleanly (${closed.problem ?? ''})`);

    const seconds = ((measureTo - measureFrom) * nsPerTick) / 1e9;
    return {
      mode: args.mode,
      connections: n,
      roundTrips: recorder.count,
      answered,
      closedCleanly: closed.clean,
      seconds,
      roundTripsPerSec: recorder.count / seconds,
      meanUs: recorder.meanNs / 1000,
      p50Us: recorder.percentileNs(50) / 1000,
      p99Us: recorder.percentileNs(99) / 1000,
      maxUs: recorder.maxNs / 1000,
      connectSeconds,
      echo: report,
    };
  } finally {
    progress.close();
    if (!echoExited) {
      // Only on a failure: the echo server would wait for connections this process no longer runs.
      echo.kill();
      await echoExit;
    }
    if (fs.existsSync(`${prefix}.error.txt`)) {
      process.exitCode = 1;
      echoFailure = fs.readFileSync(`${prefix}.error.txt`, 'utf8').trim();
    }
  }
}

main().then(
  (result) => {
    if (echoFailure !== null) {
      fail(new Error(`echo process failed: ${echoFailure}`));
      return;
    }
    fs.writeFileSync(args.resultFile, JSON.stringify(result));
    // Sockets the client no longer needs may still hold handles: do not wait for finalizers.
    process.exit(0);
  },
  (error: unknown) => fail(error),
);

function fail(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const reason = echoFailure !== null && !text.startsWith('Error: echo process failed') ? `${firstLine(text)} (echo process: ${firstLine(echoFailure)})` : firstLine(text);
  const failure: ConnectionsFailure = { mode: args.mode, connections: args.connections, error: reason };
  fs.writeFileSync(args.resultFile, JSON.stringify(failure));
  process.stderr.write(`${text}\n`);
  process.exit(1);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/^Error: /, '');
}
