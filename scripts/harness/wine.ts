// Wine: installing it, the prefix, and running Windows node.exe with its output in a file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run, runChecked, succeeds } from './proc.ts';
import { say } from './steps.ts';

const APT_PACKAGES = ['wine', 'wine64'];
/** Written into the prefix once it is set up, so later runs skip winecfg. */
const PREFIX_READY_MARKER = '.winsock-ffi-ready';
const WINECFG_TIMEOUT_MS = 5 * 60_000;
const TAIL_INTERVAL_MS = 200;

/** Environment for every Wine command of the harness. */
export function wineEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WINEPREFIX: prefix,
    // Wine's debug channels are noise here (and silence Debian's "wine32 is missing" hint).
    WINEDEBUG: '-all',
    // No Mono (.NET) or Gecko (IE) in the prefix: Node does not need them, and on a machine
    // with a display Wine would otherwise offer to download them in a dialog that blocks the
    // run. Headless, it made no measurable difference to the time a new prefix takes.
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    ...extra,
  };
  // Wine passes the Linux environment on to Windows programs; Linux node's options must not
  // reach node.exe.
  delete env.NODE_OPTIONS;
  return env;
}

/** The Windows spelling of a Linux path, through Wine's Z: drive (mapped to /). */
export function windowsPath(linuxPath: string): string {
  return `Z:${path.resolve(linuxPath).replaceAll('/', '\\')}`;
}

function wineWorks(): boolean {
  // Debian's `wine` is a launcher script; without the wine64 package it runs nothing.
  const env = { ...process.env, WINEDEBUG: '-all' };
  return succeeds('wine', ['--version'], env) && succeeds('wineserver', ['--version'], env);
}

/** Makes sure 64-bit Wine is installed: with apt-get when running as root, else explains. */
export async function ensureWine(): Promise<void> {
  if (wineWorks()) return;
  const install = `apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Wine (64-bit) is not installed. As root, run:\n  apt-get update && ${install}\n` +
        '(or install Wine 8 or later, with wine64 and wineserver on PATH, from your distribution), then run npm test again.',
    );
  }
  if (!succeeds('apt-get', ['--version'])) {
    throw new Error('Wine (64-bit) is not installed and there is no apt-get here: install Wine 8 or later, with wine64.');
  }
  say(`installing Wine: apt-get update && ${install} (about a minute)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runChecked('apt-get', ['update'], { env });
  await runChecked('apt-get', ['install', '-y', '--no-install-recommends', ...APT_PACKAGES], { env });
  if (!wineWorks()) throw new Error(`\`${install}\` succeeded, but \`wine --version\` / \`wineserver --version\` still fail`);
}

/** Creates (once) a Wine prefix that reports Windows 10, or adopts an existing one. */
export async function ensureWinePrefix(prefix: string): Promise<void> {
  if (fs.existsSync(path.join(prefix, PREFIX_READY_MARKER))) return;
  if (fs.existsSync(prefix)) {
    // Made by hand or by an older harness: configure it in place rather than throw it away.
    say(`setting Windows 10 in the existing Wine prefix ${prefix}`);
    await setWindows10(prefix);
    markReady(prefix);
    return;
  }
  // Built beside the final path and renamed, so an interrupted creation is never taken for
  // a working prefix (a half-built one would fail in confusing ways).
  const partial = `${prefix}.partial`;
  await stopWineServer(partial); // in case an interrupted creation left Wine running there
  fs.rmSync(partial, { recursive: true, force: true });
  say(`creating the Wine prefix ${prefix} (once, about 10 s)`);
  await setWindows10(partial);
  // wineserver saves the registry when it exits: let it, before the folder moves.
  await runChecked('wineserver', ['-w'], { env: wineEnv(partial), capture: true, timeoutMs: WINECFG_TIMEOUT_MS });
  const systemRegistry = fs.readFileSync(path.join(partial, 'system.reg'), 'utf8');
  if (!systemRegistry.includes('"ProductName"="Microsoft Windows 10"')) {
    throw new Error(`\`wine winecfg -v win10\` ran, but the prefix ${partial} does not report Windows 10`);
  }
  markReady(partial);
  fs.renameSync(partial, prefix);
}

async function setWindows10(prefix: string): Promise<void> {
  // A new Wine 8 prefix reports Windows 7, where node.exe refuses to start ("Node.js is only
  // supported on Windows 8.1, Windows Server 2012 R2, or higher").
  fs.mkdirSync(path.dirname(prefix), { recursive: true });
  await runChecked('wine', ['winecfg', '-v', 'win10'], {
    env: wineEnv(prefix),
    logFile: `${prefix}-winecfg.log`,
    timeoutMs: WINECFG_TIMEOUT_MS,
  });
  fs.rmSync(`${prefix}-winecfg.log`, { force: true });
}

function markReady(prefix: string): void {
  fs.writeFileSync(path.join(prefix, PREFIX_READY_MARKER), `${new Date().toISOString()}\n`);
}

export interface WineProgram {
  /** Linux path of the Windows executable. */
  exe: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Receives the program's stdout and stderr (one file, so their order is kept). */
  logFile: string;
  timeoutMs: number;
}

export interface WineOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the harness itself was interrupted and stopped the program. */
  interruptedBy: NodeJS.Signals | undefined;
}

/**
 * Runs a Windows program under Wine with stdout/stderr going to a file, not a pipe (Windows
 * node.exe under Wine dies with `open EBADF` on a pipe), and copies the file to our stdout
 * while it grows so progress is visible live.
 */
export async function runWineProgram(program: WineProgram): Promise<WineOutcome> {
  fs.mkdirSync(path.dirname(program.logFile), { recursive: true });
  const writeFd = fs.openSync(program.logFile, 'w');
  const readFd = fs.openSync(program.logFile, 'r');
  const copy = Buffer.alloc(64 * 1024);
  let copied = 0;
  const pump = (): void => {
    for (;;) {
      const bytes = fs.readSync(readFd, copy, 0, copy.length, copied);
      if (bytes === 0) return;
      copied += bytes;
      process.stdout.write(Buffer.from(copy.subarray(0, bytes)));
    }
  };

  let timedOut = false;
  let interruptedBy: NodeJS.Signals | undefined;
  try {
    // Own process group, so a timeout or Ctrl-C can stop node.exe and whatever it spawned.
    const child = spawn('wine', [program.exe, ...program.args], {
      cwd: program.cwd,
      env: program.env,
      stdio: ['ignore', writeFd, writeFd],
      detached: true,
    });
    const stopChild = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      interruptedBy = signal;
      stopChild();
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const signal of signals) process.on(signal, onSignal);
    const ticker = setInterval(pump, TAIL_INTERVAL_MS);
    const timer = setTimeout(() => {
      timedOut = true;
      stopChild();
    }, program.timeoutMs);
    try {
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
      });
      return { code, signal, timedOut, interruptedBy };
    } finally {
      clearInterval(ticker);
      clearTimeout(timer);
      for (const signal of signals) process.off(signal, onSignal);
    }
  } finally {
    pump();
    fs.closeSync(writeFd);
    fs.closeSync(readFd);
  }
}

/**
 * `wineserver -k`: ends every Wine process of the prefix, so nothing (a stuck node.exe
 * child, Wine's services) outlives the run and keeps CI waiting.
 */
export async function stopWineServer(prefix: string): Promise<void> {
  if (!fs.existsSync(prefix)) return;
  // Exits with 1 when no wineserver is running, which is fine.
  const result = await run('wineserver', ['-k'], { env: wineEnv(prefix), capture: true, timeoutMs: 60_000 });
  const output = result.output.trim();
  if (output !== '') process.stdout.write(`${output}\n`);
}
