// Windows Node.js under Wine, ready to run: the one provisioning sequence shared by
// `npm test` (scripts/test.ts) and `npm run bench` (bench/windows-node.ts). Each stage is
// a named step, so a failure says which one broke.
import path from 'node:path';
import { acquireCacheLock } from './lock.ts';
import { ensureKoffiWin32, ensureWindowsNode, WINDOWS_NODE_VERSION } from './packages.ts';
import { say, step } from './steps.ts';
import { ensureWine, ensureWinePrefix, stopWineServer, wineEnv } from './wine.ts';

export interface ProvisionedWindowsNode {
  /** Linux path of the Windows node.exe (run it with `wine`). */
  readonly nodeExe: string;
  /** Its Windows Node.js version (WINDOWS_NODE_VERSION). */
  readonly nodeVersion: string;
  /** The Wine prefix, set up to report Windows 10. */
  readonly prefix: string;
  /** The environment for a Wine command in this prefix (wineEnv), with `extra` added. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `wineserver -k` in the prefix: ends every Wine process the run left behind. */
  stopWine(): Promise<void>;
  /** Releases the cache lock now (it is released anyway when this process exits). */
  release(): void;
}

/**
 * Takes the cache lock (one user of the Wine prefix at a time: a run ends with
 * `wineserver -k`, which would kill another run's node.exe), then makes sure of Wine,
 * Windows node.exe, koffi's win32 module in node_modules and a Windows 10 prefix, all in
 * `cacheDir`. When the previous holder of the lock was killed, its Wine processes are
 * stopped first. The caller owns the lock until release() or exit.
 */
export async function provisionWindowsNode(rootDir: string, cacheDir: string): Promise<ProvisionedWindowsNode> {
  const lock = await step('lock the cache', () => acquireCacheLock(cacheDir));
  await step('install Wine', ensureWine);
  const nodeExe = await step('download Windows Node.js', () => ensureWindowsNode(cacheDir, WINDOWS_NODE_VERSION));
  await step('install @koromix/koffi-win32-x64', () => ensureKoffiWin32(rootDir, cacheDir));
  const prefix = path.join(cacheDir, 'wineprefix');
  if (lock.previousRunWasKilled) {
    // Its node.exe (and sockets it held) could still be alive and disturb this run.
    say('the previous run was killed before it could stop Wine: stopping its leftovers');
    await step('stop leftover Wine processes (wineserver -k)', () => stopWineServer(prefix));
  }
  await step('set up the Wine prefix', () => ensureWinePrefix(prefix));
  return {
    nodeExe,
    nodeVersion: WINDOWS_NODE_VERSION,
    prefix,
    env: (extra = {}) => wineEnv(prefix, extra),
    stopWine: () => stopWineServer(prefix),
    release: () => lock.release(),
  };
}
