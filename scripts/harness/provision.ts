// Windows Node.js under Wine, ready to run: the one provisioning sequence shared by
// `npm test` (scripts/test.ts) and `npm run bench` (bench/windows-node.ts). Each stage is
// a named step, so a failure says which one broke.
import path from 'node:path';
import { acquireCacheLock } from './lock.ts';
import type { CacheLock } from './lock.ts';
import { ensureKoffiWin32, ensureWindowsNode, koffiDirectory, newestWindowsNode } from './packages.ts';
import { say, step } from './steps.ts';
import { describeWine, ensureWinePrefix, stopWineServer, wineEnv } from './wine.ts';
import type { Wine, WinePrefix } from './wine.ts';
import { wineFor } from './wines.ts';

export interface ProvisionedWindowsNode {
  /** Linux path of the Windows node.exe (run it with `prefix.wine`). */
  readonly nodeExe: string;
  /** Its Windows Node.js version ("26.10.0"). */
  readonly nodeVersion: string;
  /** The Wine that runs it, and its prefix, set up to report Windows 10. */
  readonly prefix: WinePrefix;
  readonly wine: Wine;
  /** "Windows Node.js 26.10.0 under Wine 10.0 (...)". */
  readonly description: string;
  /** The environment for a Wine command in this prefix (wineEnv), with `extra` added. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** `wineserver -k` in the prefix: ends every Wine process the run left behind. */
  stopWine(): Promise<void>;
}

/**
 * Takes the cache lock: one user of the cache's Wine prefixes at a time, since a run ends
 * with `wineserver -k`, which would kill another run's node.exe. The caller owns it until
 * release() or exit.
 */
export function lockCache(cacheDir: string): Promise<CacheLock> {
  return step('lock the cache', () => acquireCacheLock(cacheDir));
}

/**
 * Makes sure of a Wine that runs Windows Node.js `major` (the system's, or the trixie
 * root's: wines.ts), the newest node.exe of that major, koffi's win32 module in
 * node_modules and a Windows 10 prefix for that Wine, all in `cacheDir` (the trixie root
 * outside it). Hold the cache lock (lockCache) first; when its previous holder was killed,
 * that run's Wine processes in this prefix are stopped first. `mounts`: paths besides the
 * checkout and the cache that the Windows programs must see (the trixie root mounts them).
 */
export async function provisionWindowsNode(
  rootDir: string,
  cacheDir: string,
  major: number,
  lock: CacheLock,
  mounts: readonly string[] = [],
): Promise<ProvisionedWindowsNode> {
  // The Linux node is there for tests that start it from inside Wine as a native peer; koffi's
  // node_modules, for an installed package whose koffi npm hoisted out of the package.
  const koffiDir = koffiDirectory(rootDir);
  const koffiModules = koffiDir === undefined ? [] : [path.dirname(koffiDir)];
  const wine = await step(`find or install a Wine for Windows Node.js ${major}`, () => wineFor(major, [rootDir, cacheDir, process.execPath, ...koffiModules, ...mounts]));
  const nodeVersion = await step(`find the newest Windows Node.js ${major}`, () => newestWindowsNode(cacheDir, major));
  const nodeExe = await step(`download Windows Node.js ${nodeVersion}`, () => ensureWindowsNode(cacheDir, nodeVersion));
  await step('install @koromix/koffi-win32-x64', () => ensureKoffiWin32(rootDir, cacheDir));
  const prefix: WinePrefix = { wine, path: path.join(cacheDir, `wineprefix-${wine.id}`) };
  if (lock.previousRunWasKilled) {
    // Its node.exe (and sockets it held) could still be alive and disturb this run.
    say(`the previous run was killed before it could stop Wine: stopping its leftovers in ${prefix.path}`);
    await step('stop leftover Wine processes (wineserver -k)', () => stopWineServer(prefix));
  }
  await step(`set up the Wine prefix for ${describeWine(wine)}`, () => ensureWinePrefix(prefix));
  return {
    nodeExe,
    nodeVersion,
    prefix,
    wine,
    description: `Windows Node.js ${nodeVersion} under ${describeWine(wine)}`,
    env: (extra = {}) => wineEnv(prefix, extra),
    stopWine: () => stopWineServer(prefix),
  };
}
