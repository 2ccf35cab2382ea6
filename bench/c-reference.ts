// The C reference rows: ../shared/tools/pingpong.c (two single-threaded processes,
// blocking send/recv or FIONBIO + busy recv, 64-byte QPC-stamped messages), built with
// MinGW-w64 into the cache and run in the same session as the Node rows, so that the
// ratio blocking-row / C is measured on one machine at one time.
import fs from 'node:fs';
import path from 'node:path';
import { runChecked, succeeds } from '../scripts/harness/proc.ts';
import type { CModeName } from './protocol.ts';
import type { WindowsRunner } from './windows-node.ts';

const COMPILERS = ['x86_64-w64-mingw32-gcc', 'gcc'];
const APT_PACKAGE = 'gcc-mingw-w64-x86-64';

export type Built = { exe: string } | { reason: string };

export interface CResult {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  stddevUs: number;
  roundTripsPerSec: number;
}

function findCompiler(): string | null {
  for (const compiler of COMPILERS) {
    // Plain `gcc` only counts on Windows, where it is MinGW's; on Linux it builds Linux programs.
    if (compiler === 'gcc' && process.platform !== 'win32') continue;
    if (succeeds(compiler, ['--version'])) return compiler;
  }
  return null;
}

/** Installs MinGW-w64 with apt-get when running as root (as scripts/harness does for Wine). */
async function installCompiler(say: (line: string) => void): Promise<void> {
  if (process.platform === 'win32' || process.getuid?.() !== 0 || !succeeds('apt-get', ['--version'])) return;
  say(`installing ${APT_PACKAGE} (apt-get) to build the C reference`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = ['install', '-y', '--no-install-recommends', APT_PACKAGE];
  try {
    await runChecked('apt-get', install, { env, capture: true, timeoutMs: 10 * 60_000 });
  } catch {
    await runChecked('apt-get', ['update'], { env, capture: true, timeoutMs: 10 * 60_000 });
    await runChecked('apt-get', install, { env, capture: true, timeoutMs: 10 * 60_000 });
  }
}

/** Builds pingpong.exe into the cache (again only when the source is newer). */
export async function buildPingPong(rootDir: string, cacheDir: string, say: (line: string) => void): Promise<Built> {
  const source = path.resolve(rootDir, '..', 'shared', 'tools', 'pingpong.c');
  if (!fs.existsSync(source)) return { reason: `the C reference ${source} is not on this machine` };
  const exe = path.join(cacheDir, 'pingpong.exe');
  if (fs.existsSync(exe) && fs.statSync(exe).mtimeMs >= fs.statSync(source).mtimeMs) return { exe };
  let compiler = findCompiler();
  if (compiler === null) {
    try {
      await installCompiler(say);
    } catch (error) {
      return { reason: `could not install ${APT_PACKAGE}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
    }
    compiler = findCompiler();
  }
  if (compiler === null) return { reason: `no MinGW-w64 compiler (x86_64-w64-mingw32-gcc; Debian package ${APT_PACKAGE}) to build the C reference` };
  try {
    await runChecked(compiler, ['-O2', '-o', exe, source, '-lws2_32'], { capture: true, timeoutMs: 120_000 });
  } catch (error) {
    return { reason: `building ${source} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
  return { exe };
}

/** Parses pingpong.c's one result line: `c-blocking count=N mean_us=.. p50_us=.. p99_us=.. stddev_us=.. rtt_per_s=..`. */
export function parsePingPong(output: string, mode: CModeName): CResult | null {
  const line = output.split(/\r?\n/).find((candidate) => candidate.startsWith(`${mode} `));
  if (line === undefined) return null;
  const field = (name: string): number => {
    const match = new RegExp(`\\b${name}=([0-9.]+)`).exec(line);
    return match === null ? Number.NaN : Number(match[1]);
  };
  const result = {
    count: field('count'),
    meanUs: field('mean_us'),
    p50Us: field('p50_us'),
    p99Us: field('p99_us'),
    stddevUs: field('stddev_us'),
    roundTripsPerSec: field('rtt_per_s'),
  };
  return Object.values(result).every(Number.isFinite) ? result : null;
}

/** Runs pingpong.exe for `count` round trips in `mode`; the result or why there is none. */
export async function runPingPong(runner: WindowsRunner, exe: string, mode: CModeName, count: number, logFile: string, timeoutMs: number): Promise<CResult | { reason: string; timedOut: boolean }> {
  const outcome = await runner.exe(exe, [String(count), mode === 'c-spin' ? 'spin' : 'blocking'], logFile, timeoutMs);
  const parsed = outcome.code === 0 ? parsePingPong(outcome.output, mode) : null;
  if (parsed !== null) return parsed;
  const how = outcome.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : `exited with code ${outcome.code ?? outcome.signal}`;
  return { reason: `pingpong.exe ${how}: ${outcome.output.trim().split('\n')[0] ?? ''}`.trim(), timedOut: outcome.timedOut };
}
