// `npm run win -- [--node 22|24|26] [--timeout S] FILE [ARGS...]`: runs any script on the
// harness's Windows Node.js, the one `npm test` and `npm run bench` use (see --help, in
// scripts/harness/win-command.ts). On Linux it provisions like they do
// (scripts/harness/provision.ts: Wine, node.exe, koffi's win32 module, a Windows 10 prefix,
// under the cache lock), starts node.exe by its absolute path in that prefix with the
// script's stdout and stderr in files, copies them to ours while they grow, stops Wine and
// exits with the script's exit code. On Windows it runs the script on the node at hand.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './harness/proc.ts';
import { lockCache, provisionWindowsNode } from './harness/provision.ts';
import { HarnessError, setHarnessCommand, step } from './harness/steps.ts';
import { parseWinCommandLine, WIN_HELP } from './harness/win-command.ts';
import { runWineProgram, windowsPath } from './harness/wine.ts';

const rootDir = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = path.resolve(rootDir, process.env.WINSOCK_FFI_CACHE || '.cache');
/** setTimeout's largest delay: "no limit" for runWineProgram. */
const NO_TIMEOUT_MS = 2 ** 31 - 1;
/** Exit code after --timeout, as GNU timeout gives. */
const EXIT_TIMED_OUT = 124;

/** The exit code a shell would show for a process that ended with `code` or `signal`. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal !== null ? 128 + (os.constants.signals[signal] ?? 0) : 1;
}

async function main(): Promise<number> {
  setHarnessCommand('win', 'npm run win', 'stderr');
  const native = process.platform === 'win32';
  const command = await step('read the command line', () => parseWinCommandLine(process.argv.slice(2), native ? Number(process.versions.node.split('.')[0]) : undefined));
  if (command.help) {
    process.stdout.write(`${WIN_HELP}\n`);
    return 0;
  }
  // npm runs scripts in the package's folder; INIT_CWD is where the user started npm.
  const cwd = path.resolve(process.env.INIT_CWD ?? process.cwd());
  const script = path.resolve(cwd, command.script);
  if (!fs.existsSync(script)) throw new HarnessError('find the script', `${script} does not exist`);
  const timeoutMs = command.timeoutMs ?? NO_TIMEOUT_MS;

  if (native) {
    // Node before 22.18 cannot strip types: tsx (a devDependency of this package) loads .ts.
    const loader = process.features.typescript ? [] : ['--import', import.meta.resolve('tsx')];
    const result = await run(process.execPath, [...loader, script, ...command.args], { cwd, timeoutMs });
    if (result.timedOut) {
      process.stderr.write(`npm run win: timed out after ${timeoutMs / 1000} s; killed\n`);
      return EXIT_TIMED_OUT;
    }
    return exitCodeOf(result.code, result.signal);
  }

  fs.mkdirSync(cacheDir, { recursive: true });
  const lock = await lockCache(cacheDir);
  try {
    // The script's folder and the working folder must be visible to Wine in the trixie root too.
    const windowsNode = await provisionWindowsNode(rootDir, cacheDir, command.major, lock, [cwd, path.dirname(script)]);
    const runDir = path.join(cacheDir, 'win-run');
    const logFile = path.join(runDir, `stdout-${process.pid}.log`);
    const errorFile = path.join(runDir, `stderr-${process.pid}.log`);
    try {
      const outcome = await step(`run ${command.script} on ${windowsNode.description}`, () =>
        runWineProgram({
          prefix: windowsNode.prefix,
          // Absolute (Wine fails with c0000135 on a relative exe path), and the script as Windows spells it.
          exe: windowsNode.nodeExe,
          args: [windowsPath(script), ...command.args],
          cwd,
          env: windowsNode.env(),
          logFile,
          errorFile,
          timeoutMs,
        }),
      );
      if (outcome.interruptedBy !== undefined) return 128 + (os.constants.signals[outcome.interruptedBy] ?? 0);
      if (outcome.timedOut) {
        process.stderr.write(`npm run win: timed out after ${timeoutMs / 1000} s; killed\n`);
        return EXIT_TIMED_OUT;
      }
      return exitCodeOf(outcome.code, outcome.signal);
    } finally {
      // Nothing the script started outlives it (as after npm test), and no log stays behind.
      await step('stop Wine (wineserver -k)', () => windowsNode.stopWine());
      for (const file of [logFile, errorFile]) fs.rmSync(file, { force: true });
    }
  } finally {
    lock.release();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const where = error instanceof HarnessError ? `step "${error.step}" failed: ` : '';
    process.stderr.write(`npm run win: ${where}${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
