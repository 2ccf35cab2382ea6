// Wine 10 for a Debian 12 machine: Windows Node.js 24 and later dies at start under
// Debian 12's Wine 8 (V8: "SegmentedTable::InitializeTable (subspace allocation)"), and
// Debian 12 cannot install trixie's Wine 10 beside its own libc. So the harness builds a
// minimal Debian trixie root with debootstrap, installs Wine there, and runs each Wine
// program in it with chroot, inside a mount namespace of its own (`unshare --mount`):
// /proc, /dev and the folders the run needs are mounted there at their own paths, so paths
// agree inside and out, and every mount goes away with the last process of the run.
// Building and entering the root both need root. Loopback traffic between the root and
// the host works: the network namespace is the same.
import fs from 'node:fs';
import path from 'node:path';
import { runChecked, succeeds } from './proc.ts';
import { harnessCommand, say } from './steps.ts';
import { parseWineVersion } from './wine.ts';
import type { Wine } from './wine.ts';

/** Where the root lives unless this variable names another folder. */
export const ROOT_VARIABLE = 'WINSOCK_FFI_WINE_ROOT';
/** Outside any checkout: every clone on the machine shares it (about 1.5 GB). */
const DEFAULT_ROOT = '/var/cache/winsock-ffi/trixie-wine';
const SUITE = 'trixie';
const MIRROR_VARIABLE = 'WINSOCK_FFI_DEBIAN_MIRROR';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const READY_MARKER = '.winsock-ffi-ready';
const BUILD_TIMEOUT_MS = 20 * 60_000;
/** Inside the root, for Wine's XDG_RUNTIME_DIR (unset, Wine warns on every start). */
const RUNTIME_DIR = '/run/user/0';

/**
 * The script that enters the root: $1 the root, $2 how many folders or files follow to
 * mount at their own paths, then those, then the command to run in the root, in the
 * caller's working directory. `unshare --mount` runs it in a new mount namespace with
 * private propagation, so nothing it mounts is seen outside or outlives it.
 */
const ENTER = `set -e
root=$1; count=$2; shift 2; here=$(pwd -P)
while [ "$count" -gt 0 ]; do
  source=$1; shift; count=$((count - 1))
  if [ -d "$source" ]; then mkdir -p "$root$source"
  else mkdir -p "$root$(dirname "$source")"; [ -e "$root$source" ] || : > "$root$source"; fi
  mount --bind "$source" "$root$source"
done
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$here" "$@"`;

/** The root's folder: ROOT_VARIABLE, else DEFAULT_ROOT. */
export function trixieRootDir(): string {
  const configured = process.env[ROOT_VARIABLE];
  return configured !== undefined && configured !== '' ? path.resolve(configured) : DEFAULT_ROOT;
}

/** What to do without root, word for word. */
export function withoutRootAdvice(what: string): string {
  return (
    `${what} needs Wine 10 or later. Either install Wine 10+ as the system's Wine (Debian 13 "trixie": ` +
    '`apt-get install --no-install-recommends wine wine64`; elsewhere your distribution\'s or WineHQ\'s packages), ' +
    `or run ${harnessCommand()} as root: it builds a Debian trixie root with Wine 10 in ${trixieRootDir()} once ` +
    `(debootstrap, about 3 minutes and 1.5 GB; ${ROOT_VARIABLE} names another folder) and enters it with chroot on every run, which needs root. ` +
    `Or use only Node 22 for now: ${harnessCommand()} -- --node 22`
  );
}

/** A command in the root, through ENTER; `mounts` are mounted at their own paths first. */
function enterArgv(root: string, mounts: readonly string[], command: readonly string[]): [string, string[]] {
  return ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', ENTER, 'enter-root', root, String(mounts.length), ...mounts, ...command]];
}

/**
 * Wine 10 from the trixie root, built first when it is not there. `mounts` are the folders
 * (and files) the Wine programs must see at their own paths: the checkout, the cache, the
 * Linux node the tests start as a native peer.
 */
export async function ensureTrixieWine(mounts: readonly string[]): Promise<Wine> {
  const root = trixieRootDir();
  if (process.getuid?.() !== 0) throw new Error(withoutRootAdvice('Windows Node.js 24 and later'));
  if (!fs.existsSync(path.join(root, READY_MARKER))) await build(root);
  configure(root);
  const versionText = await runChecked(...enterArgv(root, [], ['wine', '--version']), { cwd: '/', capture: true, timeoutMs: 60_000 });
  const parsed = parseWineVersion(versionText);
  if (parsed === undefined) throw new Error(`wine --version in the trixie root ${root} printed "${versionText.trim()}"`);
  // Unique, in order, and never the root itself (a folder mounted over itself hides nothing but is pointless).
  const unique = [...new Set(mounts.map((mount) => path.resolve(mount)))].filter((mount) => mount !== '/');
  return {
    ...parsed,
    origin: `Debian trixie root in ${root}, entered with chroot`,
    id: `trixie-wine${parsed.major}`,
    argv: (program, args) => enterArgv(root, unique, [program, ...args]),
    extraEnv: { XDG_RUNTIME_DIR: RUNTIME_DIR },
  };
}

/** debootstrap, then Wine inside, into a folder beside `root` that is renamed when whole. */
async function build(root: string): Promise<void> {
  if (!succeeds('unshare', ['--version']) || !succeeds('chroot', ['--version'])) {
    throw new Error('unshare (util-linux) and chroot (coreutils) are needed to build and enter the trixie root');
  }
  await ensureDebootstrap();
  const partial = `${root}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(root), { recursive: true });
  const mirror = debianMirror();
  say(`building a Debian ${SUITE} root with Wine 10 in ${root} (once, about 3 minutes and 1.5 GB): debootstrap from ${mirror}`);
  await runChecked('debootstrap', ['--variant=minbase', '--include=ca-certificates', SUITE, partial, mirror], {
    logFile: `${partial}-debootstrap.log`,
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  configure(partial);
  say(`installing Wine in the ${SUITE} root: apt-get install wine wine64`);
  const install = 'export DEBIAN_FRONTEND=noninteractive; apt-get update && apt-get install -y --no-install-recommends wine wine64 && apt-get clean';
  await runChecked(...enterArgv(partial, [], ['/bin/sh', '-c', install]), {
    cwd: '/', // the root has none of the host's folders yet
    logFile: `${partial}-apt.log`,
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  fs.writeFileSync(path.join(partial, READY_MARKER), `${new Date().toISOString()}\n`);
  for (const log of ['debootstrap', 'apt']) fs.rmSync(`${partial}-${log}.log`, { force: true });
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(partial, root);
}

/**
 * What debootstrap leaves out and the runs need, made sure of on every use (so a root made
 * by an older harness gets it too): the host's DNS servers for apt, an /etc/hosts (minbase
 * has none, and without it "localhost" does not resolve), Wine's XDG_RUNTIME_DIR.
 */
function configure(root: string): void {
  const etc = path.join(root, 'etc');
  if (fs.existsSync('/etc/resolv.conf')) fs.copyFileSync('/etc/resolv.conf', path.join(etc, 'resolv.conf'));
  const hosts = path.join(etc, 'hosts');
  if (!fs.existsSync(hosts)) fs.writeFileSync(hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  fs.mkdirSync(path.join(root, RUNTIME_DIR), { recursive: true, mode: 0o700 });
}

async function ensureDebootstrap(): Promise<void> {
  if (succeeds('debootstrap', ['--version'])) return;
  if (!succeeds('apt-get', ['--version'])) throw new Error('debootstrap is not installed and there is no apt-get here to install it');
  say('installing debootstrap: apt-get install debootstrap');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runChecked('apt-get', ['update'], { env, capture: true, timeoutMs: BUILD_TIMEOUT_MS });
  await runChecked('apt-get', ['install', '-y', '--no-install-recommends', 'debootstrap'], { env, capture: true, timeoutMs: BUILD_TIMEOUT_MS });
}

/** The machine's own Debian mirror (its apt sources), so the root comes from where its packages come from. */
function debianMirror(): string {
  const configured = process.env[MIRROR_VARIABLE];
  if (configured !== undefined && configured !== '') return configured;
  const sources: string[] = [];
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    try {
      sources.push(fs.readFileSync(file, 'utf8'));
    } catch {
      // Not there on this machine.
    }
  }
  const text = sources.join('\n');
  const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
  const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text);
  return deb822?.[1] ?? oneLine?.[1] ?? DEFAULT_MIRROR;
}
