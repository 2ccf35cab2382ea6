// Child processes for Linux-side tools (tsc, npm, tar, apt-get, wine helpers). Windows
// node.exe under Wine must never get pipes: run it with `logFile` (as the benchmark does)
// or with runWineProgram in wine.ts, which also copies its log to our stdout live.
import { spawn, spawnSync } from 'node:child_process';
import type { StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) and fail after this long. */
  timeoutMs?: number;
  /** Collect stdout+stderr instead of passing them through (they are shown on failure). */
  capture?: boolean;
  /**
   * Send stdout+stderr to this file instead (its text becomes the output). For Wine
   * programs: the wineserver they start lives on with their stdio, so pipes would stay open.
   */
  logFile?: string;
  /**
   * Run `command` and `args` as one command line through the shell (for a `.cmd` such as
   * npm.cmd on Windows, which Node no longer starts without one); each argument is quoted.
   */
  shell?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
}

/** Runs a command without a shell and resolves when it exits; never rejects on exit codes. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const logFd = options.logFile === undefined ? undefined : fs.openSync(options.logFile, 'w');
  const stdio: StdioOptions =
    logFd !== undefined ? ['ignore', logFd, logFd] : options.capture === true ? ['ignore', 'pipe', 'pipe'] : 'inherit';
  return new Promise<RunResult>((resolve, reject) => {
    const spawnOptions = { cwd: options.cwd, env: options.env ?? process.env, stdio };
    const child = options.shell === true ? spawn(shellCommandLine(command, args), { ...spawnOptions, shell: true }) : spawn(command, args, spawnOptions);
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'exit', not 'close': with a log file there are no pipes whose closing to wait for.
    child.on(logFd === undefined ? 'close' : 'exit', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      const output =
        options.logFile === undefined ? Buffer.concat(chunks).toString('utf8') : fs.readFileSync(options.logFile, 'utf8');
      resolve({ code, signal, output, timedOut });
    });
  }).finally(() => {
    if (logFd !== undefined) fs.closeSync(logFd);
  });
}

/**
 * One command line for the shell: an argument with anything beyond letters, digits and
 * `_ . / \ : = @ + , -` is put in double quotes (cmd.exe and sh both read those; the
 * arguments passed here hold no quote, `%` or `$` of their own).
 */
function shellCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map((part) => (/^[\w./\\:=@+,-]+$/.test(part) ? part : `"${part}"`)).join(' ');
}

/** Like run(), but throws (with the captured output) unless the command exits with 0. */
export async function runChecked(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code === 0) return result.output;
  const how = result.timedOut
    ? `timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)} s`
    : result.signal !== null
      ? `was killed by ${result.signal}`
      : `exited with code ${result.code}`;
  const output = result.output.trim();
  throw new Error(`\`${[command, ...args].join(' ')}\` ${how}${output === '' ? '' : `:\n${output}`}`);
}

/** True when the command can be started and exits with 0 (used to probe for installed tools). */
export function succeeds(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', env: env ?? process.env, timeout: 30_000 });
  return result.error === undefined && result.status === 0;
}

/**
 * How to invoke npm: the npm that runs `npm test` (npm_execpath) when there is one, so the
 * same npm and configuration fetch the tarballs; otherwise whatever `npm` is on PATH. On
 * Windows that is npm.cmd, which Node starts only through a shell (`shell` says so, for
 * run()); the npm that comes with this node.exe is tried first (the installer, nvm-windows,
 * fnm and volta put it beside node.exe), run by node itself.
 */
export function npmCommand(): { command: string; prefixArgs: string[]; shell: boolean } {
  const execPath = process.env.npm_execpath;
  if (execPath !== undefined && /\.c?js$/.test(execPath)) {
    return { command: process.execPath, prefixArgs: [execPath], shell: false };
  }
  if (process.platform === 'win32') {
    const bundled = path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'bin', 'npm-cli.js');
    if (fs.existsSync(bundled)) return { command: process.execPath, prefixArgs: [bundled], shell: false };
    return { command: 'npm.cmd', prefixArgs: [], shell: true };
  }
  return { command: 'npm', prefixArgs: [], shell: false };
}
