// Wine: which Wine runs a Windows program (the system's, or Wine 10 in a Debian trixie
// root, see trixie-root.ts), its prefix, and running Windows node.exe with its output in a
// file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { run, runChecked } from './proc.ts';
import type { RunOptions, RunResult } from './proc.ts';
import { say } from './steps.ts';

/** Written into the prefix once it is set up, so later runs skip winecfg. */
const PREFIX_READY_MARKER = '.winsock-ffi-ready';
const WINECFG_TIMEOUT_MS = 5 * 60_000;
const TAIL_INTERVAL_MS = 200;

/** One Wine installation, and how to start its programs. */
export interface Wine {
  /** Its version as `wine --version` gives it, without the "wine-" ("8.0", "10.0"). */
  readonly version: string;
  readonly major: number;
  /** Where it comes from, for messages ("the system's", "Debian trixie root in /var/cache/..."). */
  readonly origin: string;
  /** A short name for file names: its prefix lives in `wineprefix-<id>`. */
  readonly id: string;
  /** The command line that runs this Wine's `wine` or `wineserver` with `args`. */
  argv(program: 'wine' | 'wineserver', args: readonly string[]): [string, string[]];
  /** Variables this Wine needs besides the prefix's. */
  readonly extraEnv: Readonly<Record<string, string>>;
}

/** "Wine 10.0 (Debian trixie root in ...)". */
export function describeWine(wine: Wine): string {
  return `Wine ${wine.version} (${wine.origin})`;
}

/** Parses `wine --version` output ("wine-8.0 (Debian 8.0~repack-4)"); undefined when it is not one. */
export function parseWineVersion(output: string): { version: string; major: number } | undefined {
  const match = /wine-(\d+)\.(\d+)/.exec(output);
  if (match === null) return undefined;
  return { version: `${match[1]}.${match[2]}`, major: Number(match[1]) };
}

/** Runs one of a Wine's programs (wine, wineserver) like proc.ts's run(). */
export function runWine(wine: Wine, program: 'wine' | 'wineserver', args: readonly string[], options: RunOptions): Promise<RunResult> {
  const [command, argv] = wine.argv(program, args);
  return run(command, argv, options);
}

async function runWineChecked(wine: Wine, program: 'wine' | 'wineserver', args: readonly string[], options: RunOptions): Promise<string> {
  const [command, argv] = wine.argv(program, args);
  return runChecked(command, argv, options);
}

/** A Wine prefix of one Wine: the pair every Windows program of the harness runs in. */
export interface WinePrefix {
  readonly wine: Wine;
  readonly path: string;
}

/** Environment for every Wine command of the harness. */
export function wineEnv(prefix: WinePrefix, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...prefix.wine.extraEnv,
    WINEPREFIX: prefix.path,
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

/** Creates (once) a Wine prefix that reports Windows 10, or adopts an existing one. */
export async function ensureWinePrefix(prefix: WinePrefix): Promise<void> {
  if (fs.existsSync(path.join(prefix.path, PREFIX_READY_MARKER))) return;
  if (fs.existsSync(prefix.path)) {
    // Made by hand or by an older harness: configure it in place rather than throw it away.
    say(`setting Windows 10 in the existing Wine prefix ${prefix.path}`);
    await setWindows10(prefix);
    markReady(prefix.path);
    return;
  }
  // Built beside the final path and renamed, so an interrupted creation is never taken for
  // a working prefix (a half-built one would fail in confusing ways).
  const partial: WinePrefix = { wine: prefix.wine, path: `${prefix.path}.partial` };
  await stopWineServer(partial); // in case an interrupted creation left Wine running there
  fs.rmSync(partial.path, { recursive: true, force: true });
  say(`creating the Wine prefix ${prefix.path} with ${describeWine(prefix.wine)} (once, about 10 s)`);
  await setWindows10(partial);
  // wineserver saves the registry when it exits: let it, before the folder moves.
  await runWineChecked(partial.wine, 'wineserver', ['-w'], { env: wineEnv(partial), capture: true, timeoutMs: WINECFG_TIMEOUT_MS });
  const systemRegistry = fs.readFileSync(path.join(partial.path, 'system.reg'), 'utf8');
  if (!systemRegistry.includes('"ProductName"="Microsoft Windows 10"')) {
    throw new Error(`\`wine winecfg -v win10\` ran, but the prefix ${partial.path} does not report Windows 10`);
  }
  markReady(partial.path);
  fs.renameSync(partial.path, prefix.path);
}

async function setWindows10(prefix: WinePrefix): Promise<void> {
  // A new Wine 8 prefix reports Windows 7, where node.exe refuses to start ("Node.js is only
  // supported on Windows 8.1, Windows Server 2012 R2, or higher"). Wine 10's already says 10.
  fs.mkdirSync(path.dirname(prefix.path), { recursive: true });
  await runWineChecked(prefix.wine, 'wine', ['winecfg', '-v', 'win10'], {
    env: wineEnv(prefix),
    logFile: `${prefix.path}-winecfg.log`,
    timeoutMs: WINECFG_TIMEOUT_MS,
  });
  fs.rmSync(`${prefix.path}-winecfg.log`, { force: true });
}

function markReady(prefixPath: string): void {
  fs.writeFileSync(path.join(prefixPath, PREFIX_READY_MARKER), `${new Date().toISOString()}\n`);
}

export interface WineProgram {
  /** The Wine, and the prefix, it runs in. */
  prefix: WinePrefix;
  /** Linux path of the Windows executable. */
  exe: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Receives the program's stdout, and its stderr too unless errorFile is given (one file keeps their order). */
  logFile: string;
  /** When given, receives the program's stderr, copied to our stderr (stdout's file to our stdout). */
  errorFile?: string;
  timeoutMs: number;
}

export interface WineOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the harness itself was interrupted and stopped the program. */
  interruptedBy: NodeJS.Signals | undefined;
}

/** A file a Windows program writes, copied to one of our streams as it grows. */
function tailInto(file: string, into: NodeJS.WriteStream): { writeFd: number; pump(): void; close(): void } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const writeFd = fs.openSync(file, 'w');
  const readFd = fs.openSync(file, 'r');
  const copy = Buffer.alloc(64 * 1024);
  let copied = 0;
  return {
    writeFd,
    pump() {
      for (;;) {
        const bytes = fs.readSync(readFd, copy, 0, copy.length, copied);
        if (bytes === 0) return;
        copied += bytes;
        into.write(Buffer.from(copy.subarray(0, bytes)));
      }
    },
    close() {
      fs.closeSync(writeFd);
      fs.closeSync(readFd);
    },
  };
}

/**
 * Runs a Windows program under Wine with stdout/stderr going to a file, not a pipe (Windows
 * node.exe under Wine dies with `open EBADF` on a pipe), and copies the file to our stdout
 * while it grows so progress is visible live (with `errorFile`, stderr to its own file,
 * copied to our stderr).
 */
export async function runWineProgram(program: WineProgram): Promise<WineOutcome> {
  const out = tailInto(program.logFile, process.stdout);
  const err = program.errorFile === undefined ? null : tailInto(program.errorFile, process.stderr);
  const pump = (): void => {
    out.pump();
    err?.pump();
  };

  let timedOut = false;
  let interruptedBy: NodeJS.Signals | undefined;
  try {
    // Own process group, so a timeout or Ctrl-C can stop node.exe and whatever it spawned.
    const [command, argv] = program.prefix.wine.argv('wine', [program.exe, ...program.args]);
    const child = spawn(command, argv, {
      cwd: program.cwd,
      env: program.env,
      stdio: ['ignore', out.writeFd, err?.writeFd ?? out.writeFd],
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
    out.close();
    err?.close();
  }
}

/**
 * `wineserver -k`: ends every Wine process of the prefix, so nothing (a stuck node.exe
 * child, Wine's services) outlives the run and keeps CI waiting.
 */
export async function stopWineServer(prefix: WinePrefix): Promise<void> {
  if (!fs.existsSync(prefix.path)) return;
  // Exits with 1 when no wineserver is running, which is fine.
  const result = await runWine(prefix.wine, 'wineserver', ['-k'], { env: wineEnv(prefix), capture: true, timeoutMs: 60_000 });
  const output = result.output.trim();
  if (output !== '') process.stdout.write(`${output}\n`);
}
