// One row of the throughput table, receiving side (run by scripts/bench.ts on Windows
// Node.js, natively or under Wine). Listens on loopback, starts bench/throughput-sender.ts
// as a second single-threaded process in the same mode, and receives its one-way
// transfer, checking every byte against the sender's pattern (bench/pattern.ts). Timed
// as the C reference's bulk mode does: QueryPerformanceCounter from the first received
// chunk to the last, the first chunk's bytes not counted. Writes a ThroughputResult (or
// ThroughputFailure) as JSON into args.resultFile and progress lines (in MiB) into
// args.progressFile; prints nothing on success.
//
//   node bench/throughput.ts '<ThroughputArgs as JSON>'
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { bulkModes } from './modes/bulk.ts';
import type { Sink } from './modes/bulk.ts';
import { Pattern } from './pattern.ts';
import { MARK_BEGIN, MARK_END } from './protocol.ts';
import type { ThroughputArgs, ThroughputFailure, ThroughputResult } from './protocol.ts';
import { Clock, nsPerTick, Progress } from './recorder.ts';
import { siblingScript } from './layout.ts';
import { relayMarker } from './relay-marker.ts';

/** Starting node.exe under Wine takes a few seconds; this covers a slow, busy machine. */
const ACCEPT_TIMEOUT_MS = 60_000;
const SENDER_EXIT_TIMEOUT_MS = 15_000;
const MIB = 1024 * 1024;

const args = JSON.parse(process.argv[2] ?? '') as ThroughputArgs;
let senderFailure: string | null = null;

async function main(): Promise<ThroughputResult> {
  const mode = bulkModes[args.mode];
  if (mode === undefined) throw new Error(`mode ${args.mode} has no throughput implementation`);
  const progress = new Progress(args.progressFile);
  progress.begin('starting', 0);
  const clock = new Clock();
  const pattern = new Pattern();
  const total = args.bytes;
  const receiver = await mode.receiver(args.readSize);
  const mark = args.marker === true ? await relayMarker() : null;

  fs.rmSync(args.senderErrorFile, { force: true });
  const senderScript = siblingScript(import.meta.url, 'throughput-sender');
  const senderArgs = JSON.stringify({ mode: args.mode, port: receiver.port, bytes: total, writeSize: args.writeSize, errorFile: args.senderErrorFile });
  // stdio 'ignore': under Wine, node.exe dies on pipes; the sender reports errors in its file.
  const sender = spawn(process.execPath, [...process.execArgv, senderScript, senderArgs], { stdio: 'ignore', windowsHide: true });
  const senderExit = new Promise<number | null>((resolve) => {
    sender.once('exit', (code) => resolve(code));
    sender.once('error', () => resolve(-1));
  });

  let received = 0;
  let chunks = 0;
  let firstChunkBytes = 0;
  let firstAt = 0;
  let lastAt = 0;
  let reportedMib = 0;
  const sink: Sink = (data, length) => {
    if (chunks === 0) {
      firstAt = clock.now();
      firstChunkBytes = length;
      progress.begin('measure', Math.ceil(total / MIB));
      mark?.(MARK_BEGIN);
    }
    chunks++;
    if (received + length > total) throw new Error(`received more than the ${total} bytes sent`);
    if (!pattern.matches(data, length, received)) throw new Error(`the ${length} bytes received at offset ${received} are not the ones sent`);
    received += length;
    if (received === total) {
      lastAt = clock.now();
      mark?.(MARK_END);
    }
    const mib = Math.floor(received / MIB);
    if (mib !== reportedMib) {
      reportedMib = mib;
      progress.tick(mib);
    }
  };

  try {
    await receiver.receive(ACCEPT_TIMEOUT_MS, sink);
    if (received !== total) throw new Error(`the sender ended the stream after ${received} of ${total} bytes`);
    const seconds = ((lastAt - firstAt) * nsPerTick) / 1e9;
    if (seconds <= 0) throw new Error(`all ${total} bytes came in one chunk: no interval to time (use more --bytes)`);
    progress.begin('done', Math.ceil(total / MIB));
    progress.close();
    return { mode: args.mode, bytes: received, firstChunkBytes, chunks, seconds, mibPerSec: (received - firstChunkBytes) / MIB / seconds };
  } finally {
    receiver.close();
    const timer = setTimeout(() => sender.kill(), SENDER_EXIT_TIMEOUT_MS);
    const code = await senderExit;
    clearTimeout(timer);
    if (code !== 0 && fs.existsSync(args.senderErrorFile)) {
      process.exitCode = 1;
      senderFailure = fs.readFileSync(args.senderErrorFile, 'utf8').trim();
    } else if (code !== 0) {
      process.exitCode = 1;
      senderFailure = `exited with code ${code}`;
    }
  }
}

main().then(
  (result) => {
    if (senderFailure !== null) {
      fail(new Error(`sending process failed: ${senderFailure}`));
      return;
    }
    fs.writeFileSync(args.resultFile, JSON.stringify(result));
  },
  (error: unknown) => fail(error),
);

function fail(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const reason = senderFailure !== null && !text.startsWith('Error: sending process failed') ? `${firstLine(text)} (sending process: ${firstLine(senderFailure)})` : firstLine(text);
  const failure: ThroughputFailure = { mode: args.mode, error: reason };
  fs.writeFileSync(args.resultFile, JSON.stringify(failure));
  process.stderr.write(`${text}\n`);
  process.exitCode = 1;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/^Error: /, '');
}
