// How the orchestrator (Linux or Windows Node) starts the benchmark's Windows programs:
// on Windows, with the current node; elsewhere, with Windows Node.js under Wine,
// provisioned by the same provisionWindowsNode() as `npm test`. Every program writes its
// output to a file, never a pipe: Windows node.exe under Wine dies with EBADF on a pipe.
// The scripts are found through the layout (bench/layout.ts): the repository's TypeScript
// or an installed package's dist/.
import path from 'node:path';
import type { BenchLayout } from './layout.ts';
import { run } from '../scripts/harness/proc.ts';
import { lockCache, provisionWindowsNode } from '../scripts/harness/provision.ts';
import { runWine, windowsPath } from '../scripts/harness/wine.ts';

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The program's stdout and stderr. */
  output: string;
}

export interface WindowsRunner {
  /** How the Windows program spells one of our paths. */
  path(localPath: string): string;
  /** Runs `script` (named as in the repository, 'bench/sender.ts'; see BenchLayout.script) on Windows Node.js. */
  node(script: string, args: readonly string[], logFile: string, timeoutMs: number): Promise<Outcome>;
  /** Runs a Windows executable. */
  exe(file: string, args: readonly string[], logFile: string, timeoutMs: number): Promise<Outcome>;
  /** Whether the programs run under Wine. */
  readonly underWine: boolean;
  /** Which Windows Node.js runs them, and where ("Windows Node.js 26.10.0 under Wine 10.0 (...)"). */
  readonly description: string;
  /** Called once at the end; `dirty` when a program had to be killed. */
  finish(dirty: boolean): Promise<void>;
}

/** On Windows: the current node, with tsx loaded when it must run TypeScript and cannot strip types itself. */
export function nativeRunner(layout: BenchLayout): WindowsRunner {
  const rootDir = layout.root;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!layout.installed && !process.features.typescript) {
    env.NODE_OPTIONS = [env.NODE_OPTIONS, '--import tsx'].filter((part) => part !== undefined && part !== '').join(' ');
  }
  const start = async (command: string, args: readonly string[], logFile: string, timeoutMs: number): Promise<Outcome> => {
    const result = await run(command, args, { cwd: rootDir, env, logFile, timeoutMs });
    return { code: result.code, signal: result.signal, timedOut: result.timedOut, output: result.output };
  };
  return {
    underWine: false,
    description: `Windows Node.js ${process.versions.node} (this machine's)`,
    path: (localPath) => path.resolve(localPath),
    node: (script, args, logFile, timeoutMs) => start(process.execPath, [...layout.nodeArgs, layout.script(script), ...args], logFile, timeoutMs),
    exe: (file, args, logFile, timeoutMs) => start(file, args, logFile, timeoutMs),
    finish: async () => {},
  };
}

/**
 * Elsewhere: a Wine that runs Windows Node.js `major`, its node.exe, koffi's win32 module
 * and a Windows 10 prefix in the cache (the same cache and lock as `npm test`, so the two
 * never share Wine at once: `npm test` ends with `wineserver -k`, which would kill a
 * running benchmark).
 */
export async function provisionWine(layout: BenchLayout, major: number): Promise<WindowsRunner> {
  const { root: rootDir, cacheDir } = layout;
  const lock = await lockCache(cacheDir);
  const windowsNode = await provisionWindowsNode(rootDir, cacheDir, major, lock);
  const env = windowsNode.env();
  const start = async (file: string, args: readonly string[], logFile: string, timeoutMs: number): Promise<Outcome> => {
    const result = await runWine(windowsNode.wine, 'wine', [file, ...args], { cwd: rootDir, env, logFile, timeoutMs });
    return { code: result.code, signal: result.signal, timedOut: result.timedOut, output: result.output };
  };
  return {
    underWine: true,
    description: windowsNode.description,
    path: windowsPath,
    node: (script, args, logFile, timeoutMs) => start(windowsNode.nodeExe, [...layout.nodeArgs, layout.script(script), ...args], logFile, timeoutMs),
    exe: start,
    async finish(dirty) {
      // Only after a kill: a killed sender can leave its echo process behind in the prefix.
      if (dirty) await windowsNode.stopWine();
      lock.release();
    },
  };
}
