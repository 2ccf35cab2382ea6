// MinGW-w64 for the Windows binaries the test suite needs: the RIO test double DLL
// (test/fixtures/rio-double/rio-double.c), which lets the binding's Registered I/O path
// run where the system has no RIO (Wine). Found on PATH; elsewhere than Windows installed
// with apt-get when running as root, as wine.ts installs Wine; built into the cache.
import fs from 'node:fs';
import path from 'node:path';
import { runChecked, succeeds } from './proc.ts';
import { harnessCommand, say } from './steps.ts';

const APT_PACKAGE = 'gcc-mingw-w64-x86-64';
const COMPILE_TIMEOUT_MS = 120_000;
const APT_TIMEOUT_MS = 10 * 60_000;

/** The source of the RIO test double, relative to the repository root. */
export const RIO_DOUBLE_SOURCE = path.join('test', 'fixtures', 'rio-double', 'rio-double.c');
/** Where the tests find the built DLL (a Windows path under Wine). */
export const RIO_DOUBLE_VARIABLE = 'WINSOCK_FFI_RIO_DOUBLE';

/** The MinGW-w64 compiler: x86_64-w64-mingw32-gcc, or on Windows a plain gcc (MinGW's); null when there is none. */
export function findMingw(): string | null {
  if (succeeds('x86_64-w64-mingw32-gcc', ['--version'])) return 'x86_64-w64-mingw32-gcc';
  if (process.platform === 'win32' && succeeds('gcc', ['--version'])) return 'gcc';
  return null;
}

/**
 * The compiler, installing Debian's gcc-mingw-w64-x86-64 first when it is missing and we
 * run as root with apt-get. Null on Windows without one (the caller decides); elsewhere a
 * missing compiler that cannot be installed throws, saying what to install.
 */
export async function ensureMingw(): Promise<string | null> {
  const found = findMingw();
  if (found !== null || process.platform === 'win32') return found;
  const install = `apt-get install -y --no-install-recommends ${APT_PACKAGE}`;
  if (process.getuid?.() !== 0 || !succeeds('apt-get', ['--version'])) {
    throw new Error(
      `MinGW-w64 (x86_64-w64-mingw32-gcc) is not installed; the RIO test double and the benchmark's C reference are built with it. As root, run:\n  ${install}\n` +
        `(or install MinGW-w64 for x86-64 from your distribution), then run ${harnessCommand()} again.`,
    );
  }
  say(`installing MinGW-w64: ${install} (for the RIO test double)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '--no-install-recommends', APT_PACKAGE];
  try {
    await runChecked('apt-get', args, { env, capture: true, timeoutMs: APT_TIMEOUT_MS });
  } catch {
    // A machine that never ran apt-get update has no package lists yet.
    await runChecked('apt-get', ['update'], { env, capture: true, timeoutMs: APT_TIMEOUT_MS });
    await runChecked('apt-get', args, { env, capture: true, timeoutMs: APT_TIMEOUT_MS });
  }
  const installed = findMingw();
  if (installed === null) throw new Error(`\`${install}\` succeeded, but x86_64-w64-mingw32-gcc still does not run`);
  return installed;
}

/**
 * Builds the RIO test double into `cacheDir` as rio-double.dll (again only when the source
 * is newer) and returns its path; null on Windows without a MinGW compiler.
 */
export async function buildRioDouble(rootDir: string, cacheDir: string): Promise<string | null> {
  const source = path.join(rootDir, RIO_DOUBLE_SOURCE);
  const dll = path.join(cacheDir, 'rio-double.dll');
  if (fs.existsSync(dll) && fs.statSync(dll).mtimeMs >= fs.statSync(source).mtimeMs) return dll;
  const compiler = await ensureMingw();
  if (compiler === null) return null;
  fs.mkdirSync(cacheDir, { recursive: true });
  // Built beside its final name and renamed: an interrupted build never passes for a fresh one.
  const partial = `${dll}.partial.dll`;
  try {
    await runChecked(compiler, ['-O2', '-Wall', '-Werror', '-shared', '-o', partial, source, '-lws2_32'], { capture: true, timeoutMs: COMPILE_TIMEOUT_MS });
    fs.renameSync(partial, dll);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  return dll;
}
