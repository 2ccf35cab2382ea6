// Which Wine runs which Windows Node.js: the system's Wine where it is new enough (Debian
// 12's Wine 8 runs Node 22), else Wine 10 from the trixie root (trixie-root.ts).
import { run, runChecked, succeeds } from './proc.ts';
import { harnessCommand, say } from './steps.ts';
import { ensureTrixieWine, withoutRootAdvice } from './trixie-root.ts';
import { describeWine, parseWineVersion } from './wine.ts';
import type { Wine } from './wine.ts';

const APT_PACKAGES = ['wine', 'wine64'];

/**
 * The oldest Wine each Windows Node.js major is known to start under. Measured: Node 24
 * and 26 die at start under Wine 8 (V8's SegmentedTable::InitializeTable) and run under
 * Wine 10; Wine 9 was not tried, so it is not trusted.
 */
export function minimumWineFor(nodeMajor: number): number {
  return nodeMajor >= 24 ? 10 : 8;
}

/**
 * A Wine that can run Windows Node.js `nodeMajor`. `mounts` are the paths its programs must
 * see (used only when the Wine lives in the trixie root).
 */
export async function wineFor(nodeMajor: number, mounts: readonly string[]): Promise<Wine> {
  const needed = minimumWineFor(nodeMajor);
  const system = await systemWine();
  if (system !== undefined && system.major >= needed) return system;
  if (needed <= 8) {
    if (system === undefined) return installSystemWine();
    throw new Error(`${describeWine(system)} is too old for Windows Node.js ${nodeMajor}: install Wine ${needed} or later`);
  }
  if (process.getuid?.() !== 0) throw new Error(withoutRootAdvice(`Windows Node.js ${nodeMajor}`));
  if (system !== undefined) say(`${describeWine(system)} cannot run Windows Node.js ${nodeMajor} (it needs Wine ${needed}+): using the trixie root's`);
  return ensureTrixieWine(mounts);
}

/** The system's 64-bit Wine, or undefined when there is none that runs. */
async function systemWine(): Promise<Wine | undefined> {
  // Debian's `wine` is a launcher script; without the wine64 package it runs nothing.
  const env = { ...process.env, WINEDEBUG: '-all' };
  if (!succeeds('wineserver', ['--version'], env)) return undefined;
  const result = await run('wine', ['--version'], { env, capture: true, timeoutMs: 60_000 });
  const parsed = result.code === 0 ? parseWineVersion(result.output) : undefined;
  if (parsed === undefined) return undefined;
  return { ...parsed, origin: "the system's", id: `wine${parsed.major}`, argv: (program, args) => [program, [...args]], extraEnv: {} };
}

/** Installs the system's Wine with apt-get when running as root (Debian 12 gives Wine 8); else says what to install. */
async function installSystemWine(): Promise<Wine> {
  const install = `apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `Wine (64-bit) is not installed. As root, run:\n  apt-get update && ${install}\n` +
        `(or install Wine 8 or later, with wine64 and wineserver on PATH, from your distribution), then run ${harnessCommand()} again.`,
    );
  }
  if (!succeeds('apt-get', ['--version'])) {
    throw new Error('Wine (64-bit) is not installed and there is no apt-get here: install Wine 8 or later, with wine64.');
  }
  say(`installing Wine: apt-get update && ${install} (about a minute)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runChecked('apt-get', ['update'], { env });
  await runChecked('apt-get', ['install', '-y', '--no-install-recommends', ...APT_PACKAGES], { env });
  const installed = await systemWine();
  if (installed === undefined) throw new Error(`\`${install}\` succeeded, but \`wine --version\` / \`wineserver --version\` still fail`);
  return installed;
}
