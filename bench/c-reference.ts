// The C reference rows: bench/c/reference.c, the project's own C program (two
// single-threaded processes over loopback TCP: 64-byte QPC-stamped ping-pong with blocking
// send/recv, FIONBIO + busy recv, Registered I/O or overlapped I/O on a completion port,
// and one-way bulk throughput modes, blocking and overlapped), built with
// MinGW-w64 into the cache and run in the same session as the Node rows, so that the
// ratio blocking-row / C is measured on one machine at one time. `reference.exe --help`
// documents its command line and output; this file is its only caller.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureMingw } from '../scripts/harness/mingw.ts';
import { runChecked } from '../scripts/harness/proc.ts';
import type { CModeName, CThroughputModeName } from './protocol.ts';
import type { WindowsRunner } from './windows-node.ts';


export type Built = { exe: string } | { reason: string };

export interface CResult {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  stddevUs: number;
  roundTripsPerSec: number;
  /** Printed by bench/c/reference.c; absent from an older program's line. */
  p999Us?: number;
  maxUs?: number;
}

/** What `reference.exe bulk` is asked to do; its defaults where left out. */
export interface BulkOptions {
  /** Bytes to transfer one way (default 256 MiB). */
  bytes?: number;
  /** Bytes per application send() (default 64 KiB). */
  writeSize?: number;
  /** Receive buffer per recv() (default 64 KiB). */
  readSize?: number;
  /** SIO_LOOPBACK_FAST_PATH on both sockets; unavailable (with the reason) where the system lacks it. */
  fastPath?: boolean;
  /** Overlapped WSASend/WSARecv on a completion port (`reference.exe bulk-iocp`) instead of send/recv. */
  overlapped?: boolean;
}

/** The row each bulk command of reference.exe fills. */
const BULK_COMMANDS: Record<CThroughputModeName, string> = { 'c-bulk': 'bulk', 'c-bulk-iocp': 'bulk-iocp' };

/**
 * One bulk run: MiB/s (2^20 bytes per second) measured by the receiver with
 * QueryPerformanceCounter from its first recv() to its last, or why there is no figure.
 */
export interface BulkResult {
  available: boolean;
  reason?: string;
  mibPerSec?: number;
}

/** The source, relative to the repository root. */
const SOURCE = path.join('bench', 'c', 'reference.c');
/** Exit code of reference.exe when the system cannot run the mode (the reason is in its output). */
const EXIT_UNAVAILABLE = 3;

/** Where the C reference comes from, when not from the repository's bench/c/reference.c. */
export interface CReferenceFiles {
  /** The source to build (default: bench/c/reference.c under rootDir); null when there is none. */
  source?: string | null;
  /** An executable built when the package was packed: used as it is when it exists. */
  prebuilt?: string | null;
}

/**
 * The C reference's executable: the prebuilt one when `files.prebuilt` exists (an installed
 * package, built with MinGW-w64 at pack time), else the source built with MinGW-w64 into the
 * cache, named by the source's hash (built once per source). Or why there is none.
 */
export async function buildPingPong(rootDir: string, cacheDir: string, files: CReferenceFiles = {}): Promise<Built> {
  if (files.prebuilt != null && fs.existsSync(files.prebuilt)) return { exe: files.prebuilt };
  const shippedWithout = files.prebuilt != null ? ` (this package has no prebuilt ${path.basename(files.prebuilt)})` : '';
  const source = files.source === undefined ? path.resolve(rootDir, SOURCE) : files.source;
  if (source === null || !fs.existsSync(source)) return { reason: `the C reference ${source ?? SOURCE} is missing${shippedWithout}` };
  const hash = createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const exe = path.join(cacheDir, `c-reference-${hash}.exe`);
  if (fs.existsSync(exe)) return { exe };
  // The same MinGW-w64 as the test suite's RIO double: found, or installed with apt-get as root.
  let compiler: string | null;
  try {
    compiler = await ensureMingw();
  } catch (error) {
    return { reason: `${firstLine(error)}${shippedWithout}` };
  }
  if (compiler === null) return { reason: `no MinGW-w64 compiler (x86_64-w64-mingw32-gcc, or MinGW gcc on Windows) to build the C reference${shippedWithout}` };
  try {
    await compileReference(compiler, source, exe);
  } catch (error) {
    return { reason: `building ${source} failed: ${firstLine(error)}` };
  }
  return { exe };
}

/**
 * Compiles the C reference with MinGW-w64 `compiler` into `exe`: optimised, stripped,
 * linked only against Windows' own DLLs (kernel32, msvcrt, ws2_32). Built beside its final
 * name and renamed, so an interrupted build never passes for a finished one.
 */
export async function compileReference(compiler: string, source: string, exe: string): Promise<void> {
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  const partial = `${exe}.partial.exe`;
  try {
    await runChecked(compiler, ['-O2', '-Wall', '-s', '-o', partial, source, '-lws2_32'], { capture: true, timeoutMs: 120_000 });
    fs.renameSync(partial, exe);
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** The C program's own account of a failed run: its first `error:` line, else its first line. */
function failureText(output: string): string {
  const lines = output.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  return lines.find((line) => line.includes('error:')) ?? lines[0] ?? '';
}

/** reference.exe's own --timeout, a little before ours, so that it stops its peer process itself. */
function programTimeoutSeconds(timeoutMs: number): number {
  return Math.max(1, Math.floor((timeoutMs * 0.9) / 1000));
}

/**
 * Parses the ping result line:
 * `c-blocking count=N mean_us=.. p50_us=.. p99_us=.. stddev_us=.. rtt_per_s=.. p999_us=.. max_us=.. ...`.
 */
export function parsePingPong(output: string, mode: CModeName): CResult | null {
  const line = output.split(/\r?\n/).find((candidate) => candidate.startsWith(`${mode} `));
  if (line === undefined) return null;
  const field = (name: string): number => {
    const match = new RegExp(`\\b${name}=([0-9.]+)`).exec(line);
    return match === null ? Number.NaN : Number(match[1]);
  };
  const result: CResult = {
    count: field('count'),
    meanUs: field('mean_us'),
    p50Us: field('p50_us'),
    p99Us: field('p99_us'),
    stddevUs: field('stddev_us'),
    roundTripsPerSec: field('rtt_per_s'),
  };
  if (!Object.values(result).every(Number.isFinite)) return null;
  const p999Us = field('p999_us');
  const maxUs = field('max_us');
  if (Number.isFinite(p999Us)) result.p999Us = p999Us;
  if (Number.isFinite(maxUs)) result.maxUs = maxUs;
  return result;
}

/** Runs `reference.exe ping` for `count` measured round trips in `mode`; the result or why there is none. */
export async function runPingPong(
  runner: WindowsRunner,
  exe: string,
  mode: CModeName,
  count: number,
  logFile: string,
  timeoutMs: number,
): Promise<CResult | { reason: string; timedOut: boolean; unavailable?: boolean }> {
  const cMode = mode.slice('c-'.length);
  const args = ['ping', cMode, '--count', String(count), '--timeout', String(programTimeoutSeconds(timeoutMs))];
  const outcome = await runner.exe(exe, args, logFile, timeoutMs);
  const parsed = outcome.code === 0 ? parsePingPong(outcome.output, mode) : null;
  if (parsed !== null) return parsed;
  if (outcome.code === EXIT_UNAVAILABLE) {
    const line = outcome.output.split(/\r?\n/).find((candidate) => candidate.startsWith(`${mode} unavailable: `));
    if (line !== undefined) return { reason: line.slice(`${mode} unavailable: `.length).trim(), timedOut: false, unavailable: true };
  }
  const how = outcome.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : `exited with code ${outcome.code ?? outcome.signal}`;
  return { reason: `c-reference.exe ping ${cMode} ${how}: ${failureText(outcome.output)}`.trim(), timedOut: outcome.timedOut };
}

/** Parses the JSON line of a bulk mode (`bulk` unless named); null when there is none or it is not one. */
export function parseBulk(output: string, command = 'bulk'): BulkResult | null {
  for (const line of output.split(/\r?\n/)) {
    if (!line.startsWith(`{"mode":"${command}"`)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return null;
    }
    if (typeof parsed !== 'object' || parsed === null) return null;
    const record = parsed as Record<string, unknown>;
    if (record.available === true && typeof record.mib_per_s === 'number' && Number.isFinite(record.mib_per_s)) {
      return { available: true, mibPerSec: record.mib_per_s };
    }
    if (record.available === false) return { available: false, reason: typeof record.reason === 'string' ? record.reason : 'unavailable' };
    return null;
  }
  return null;
}

/**
 * Runs `reference.exe bulk` (or `bulk-iocp` with `overlapped`): a one-way transfer over loopback TCP between two processes,
 * measured by the receiver. A failed run does not reject: `available: false` says why (the
 * fast path missing, a Winsock error with its code, a timeout). Rejects with a RangeError
 * only for sizes that are not positive integers.
 */
export async function runBulk(runner: WindowsRunner, exe: string, options: BulkOptions, logFile: string, timeoutMs: number): Promise<BulkResult> {
  const command = BULK_COMMANDS[options.overlapped === true ? 'c-bulk-iocp' : 'c-bulk'];
  const args = [command, '--timeout', String(programTimeoutSeconds(timeoutMs))];
  const size = (flag: string, value: number | undefined): void => {
    if (value === undefined) return;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`runBulk: ${flag} must be a positive integer, got ${value}`);
    args.push(flag, String(value));
  };
  size('--bytes', options.bytes);
  size('--write-size', options.writeSize);
  size('--read-size', options.readSize);
  if (options.fastPath === true) args.push('--fast-path');
  const outcome = await runner.exe(exe, args, logFile, timeoutMs);
  if (outcome.code === 0 || outcome.code === EXIT_UNAVAILABLE) {
    const parsed = parseBulk(outcome.output, command);
    if (parsed !== null) return parsed;
  }
  const how = outcome.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : `exited with code ${outcome.code ?? outcome.signal}`;
  return { available: false, reason: `c-reference.exe ${command} ${how}: ${failureText(outcome.output)}`.trim() };
}
