// One row of the benchmark, sender side (run by scripts/bench.ts on Windows Node.js,
// natively or under Wine). Listens on loopback, starts bench/echo.ts as a second
// single-threaded process in the same mode, warms up, then times `count` round trips.
// Writes a SenderResult (or SenderFailure) as JSON into args.resultFile and progress
// lines into args.progressFile; prints nothing on success (stdout may be a file that
// the orchestrator copies to the terminal).
//
//   node bench/sender.ts '<SenderArgs as JSON>'
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { implementedModes } from './modes/index.ts';
import { MARK_BEGIN, MARK_END } from './protocol.ts';
import { relayMarker } from './relay-marker.ts';
import type { SenderArgs, SenderFailure, SenderResult } from './protocol.ts';
import { Clock, Message, nsPerTick, Progress, Recorder } from './recorder.ts';
import { siblingScript } from './layout.ts';

/** Starting node.exe under Wine takes a few seconds; this covers a slow, busy machine. */
const ACCEPT_TIMEOUT_MS = 60_000;
const ECHO_EXIT_TIMEOUT_MS = 15_000;
/** Bounds on a count sized from the warm-up rate. */
const MIN_COUNT = 200;
const MAX_COUNT = 5_000_000;

const args = JSON.parse(process.argv[2] ?? '') as SenderArgs;

async function main(): Promise<SenderResult> {
  const mode = implementedModes[args.mode];
  if (mode === undefined) throw new Error(`mode ${args.mode} is not implemented in this build`);
  const progress = new Progress(args.progressFile);
  progress.begin('starting', 0);
  const clock = new Clock();
  const message = new Message(args.size);
  const side = await mode.sender(args.fastPath, message, clock);

  fs.rmSync(args.echoErrorFile, { force: true });
  const echoScript = siblingScript(import.meta.url, 'echo');
  const echoArgs = JSON.stringify({ mode: args.mode, port: side.port, fastPath: args.fastPath, size: args.size, errorFile: args.echoErrorFile });
  // stdio 'ignore': under Wine, node.exe dies on pipes; the echo reports errors in its file.
  const echo = spawn(process.execPath, [...process.execArgv, echoScript, echoArgs], { stdio: 'ignore', windowsHide: true });
  const echoExit = new Promise<number | null>((resolve) => {
    echo.once('exit', (code) => resolve(code));
    echo.once('error', () => resolve(-1));
  });

  try {
    await side.accept(ACCEPT_TIMEOUT_MS);

    progress.begin('warmup', args.warmupCount);
    let warmed = 0;
    const warmupStart = clock.now();
    const warmupTicks = (args.warmupSeconds * 1e9) / nsPerTick;
    // The rate that sizes the run comes from the warm-up's second half, once the JIT has
    // settled; the first half runs slower and would make the run too short.
    let halfwayCount = -1;
    let halfwayAt = 0;
    await side.run(Number.POSITIVE_INFINITY, () => {
      warmed++;
      progress.tick(warmed);
      const elapsed = clock.now() - warmupStart;
      if (halfwayCount < 0 && elapsed >= warmupTicks / 2 && warmed >= args.warmupCount / 2) {
        halfwayCount = warmed;
        halfwayAt = elapsed;
      }
      return warmed < args.warmupCount || elapsed < warmupTicks;
    });
    const warmupEnd = clock.now() - warmupStart;
    const rateTicks = halfwayCount > 0 && warmed > halfwayCount ? (warmed - halfwayCount) / (warmupEnd - halfwayAt) : warmed / warmupEnd;
    const perSecond = (rateTicks * 1e9) / nsPerTick;
    const count = args.count ?? Math.min(MAX_COUNT, Math.max(MIN_COUNT, Math.round(perSecond * args.seconds)));

    progress.begin('measure', count);
    const recorder = new Recorder();
    let done = 0;
    const mark = args.marker === true ? await relayMarker() : null;
    mark?.(MARK_BEGIN);
    const start = clock.now();
    await side.run(count, (ticks) => {
      recorder.record(ticks * nsPerTick);
      done++;
      progress.tick(done);
      return true;
    });
    mark?.(MARK_END);
    const elapsedSeconds = ((clock.now() - start) * nsPerTick) / 1e9;
    if (done !== count) throw new Error(`ran ${done} of ${count} round trips`);
    progress.begin('done', count);
    progress.close();

    const meanUs = recorder.meanNs / 1000;
    return {
      mode: args.mode,
      fastPath: args.fastPath,
      count,
      warmupCount: warmed,
      meanUs,
      minUs: recorder.minNs / 1000,
      p50Us: recorder.percentileNs(50) / 1000,
      p99Us: recorder.percentileNs(99) / 1000,
      p999Us: recorder.percentileNs(99.9) / 1000,
      maxUs: recorder.maxNs / 1000,
      stddevUs: recorder.stddevNs / 1000,
      // One message in flight at a time, so the rate is the reciprocal of the mean round trip.
      roundTripsPerSec: 1e6 / meanUs,
      elapsedSeconds,
      percentiles: recorder.percentiles(),
      buckets: recorder.buckets(),
    };
  } finally {
    side.close();
    const timer = setTimeout(() => echo.kill(), ECHO_EXIT_TIMEOUT_MS);
    const code = await echoExit;
    clearTimeout(timer);
    if (code !== 0 && fs.existsSync(args.echoErrorFile)) {
      // The echo's own error explains a sender failure better than "connection closed".
      process.exitCode = 1;
      echoFailure = fs.readFileSync(args.echoErrorFile, 'utf8').trim();
    }
  }
}

let echoFailure: string | null = null;

main().then(
  (result) => {
    if (echoFailure !== null) {
      fail(new Error(`echo process failed: ${echoFailure}`));
      return;
    }
    fs.writeFileSync(args.resultFile, JSON.stringify(result));
  },
  (error: unknown) => fail(error),
);

function fail(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const reason = echoFailure !== null && !text.startsWith('Error: echo process failed') ? `${firstLine(text)} (echo process: ${firstLine(echoFailure)})` : firstLine(text);
  const failure: SenderFailure = { mode: args.mode, fastPath: args.fastPath, error: reason };
  fs.writeFileSync(args.resultFile, JSON.stringify(failure));
  process.stderr.write(`${text}\n`);
  process.exitCode = 1;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/^Error: /, '');
}
