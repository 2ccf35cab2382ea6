// `npm run win:modules -- DIR [--cpu x64|arm64]`: a folder whose node_modules runs on
// Windows, made from Linux (or any OS) without touching this checkout's own node_modules.
//
// `npm install --os=win32 --cpu=x64` in the checkout itself would swap koffi's Linux module
// for the Windows one, and also skip every other Linux-only native package of the dev
// tools: TypeScript 7's @typescript/typescript-linux-x64 (tsc then fails with "Unable to
// resolve @typescript/typescript-linux-x64"), esbuild's (tsx). So this packs the checkout
// (`npm pack`: prepack builds dist/), copies the tarball into DIR and installs it there
// with the package's runtime dependencies only (`--omit=dev`) for win32: DIR/node_modules
// then holds winsock-ffi, koffi and @koromix/koffi-win32-<cpu>, nothing for Linux. DIR
// gets a package.json (private, "type": "module") when it has none; one it has (a copy of
// an application) gains winsock-ffi as a dependency on the copied tarball, so that a later
// `npm ci --os=win32 --cpu=x64` there gives the same tree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { npmCommand, runChecked } from './harness/proc.ts';
import { HarnessError, setHarnessCommand, say, step } from './harness/steps.ts';

const HELP = `npm run win:modules -- DIR [--cpu x64|arm64]

Makes DIR (created when missing; relative to the folder npm was started in) a folder whose
node_modules runs on Windows: this checkout packed (npm pack, which builds dist/) and
installed there with its runtime dependencies for win32 only (koffi and
@koromix/koffi-win32-<cpu>), without touching the checkout's own node_modules. DIR gets a
package.json ("type": "module") when it has none. Copy DIR to a Windows machine, or run a
script in it under Wine here: npm run win -- DIR/app.mjs.

  --cpu CPU   x64 (default) or arm64
  --help`;

const NPM_TIMEOUT_MS = 10 * 60_000;
const rootDir = fileURLToPath(new URL('..', import.meta.url));

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

async function npm(args: readonly string[], cwd: string): Promise<string> {
  const command = npmCommand();
  return runChecked(command.command, [...command.prefixArgs, ...args], { cwd, capture: true, timeoutMs: NPM_TIMEOUT_MS, shell: command.shell });
}

async function main(): Promise<number> {
  setHarnessCommand('win:modules', 'npm run win:modules');
  const { values, positionals } = await step('read the command line', () =>
    parseArgs({ args: process.argv.slice(2), options: { cpu: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true }),
  );
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new HarnessError('read the command line', `expected one folder, got ${positionals.length} arguments (see --help)`);
  const cpu = values.cpu ?? 'x64';
  if (cpu !== 'x64' && cpu !== 'arm64') throw new HarnessError('read the command line', `--cpu takes x64 or arm64, got "${cpu}"`);
  // npm runs scripts in the package's folder; INIT_CWD is where the user started npm.
  const dir = path.resolve(process.env.INIT_CWD ?? process.cwd(), positionals[0]!);
  if (dir === path.resolve(rootDir)) throw new HarnessError('read the command line', 'DIR must not be this checkout: its node_modules holds the Linux dev tools');

  const manifest = readJson(path.join(rootDir, 'package.json'));
  const tarballName = `${String(manifest.name)}-${String(manifest.version)}.tgz`;
  const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock-ffi-pack-'));
  try {
    say(`npm pack (builds dist/) in ${rootDir}`);
    await step('npm pack', () => npm(['pack', '--pack-destination', packDir], rootDir));
    fs.mkdirSync(dir, { recursive: true });
    const ownManifest = path.join(dir, 'package.json');
    if (!fs.existsSync(ownManifest)) {
      fs.writeFileSync(ownManifest, `${JSON.stringify({ name: 'winsock-ffi-windows-modules', private: true, type: 'module' }, null, 2)}\n`);
    }
    fs.copyFileSync(path.join(packDir, tarballName), path.join(dir, tarballName));
  } finally {
    fs.rmSync(packDir, { recursive: true, force: true });
  }

  say(`npm install --os=win32 --cpu=${cpu} --omit=dev ./${tarballName} in ${dir}`);
  await step(`npm install for win32-${cpu}`, () => npm(['install', '--os=win32', `--cpu=${cpu}`, '--omit=dev', '--no-audit', '--no-fund', `./${tarballName}`], dir));

  const koffiVersion = String(readJson(path.join(dir, 'node_modules', 'koffi', 'package.json')).version);
  const nativeManifest = path.join(dir, 'node_modules', '@koromix', `koffi-win32-${cpu}`, 'package.json');
  if (!fs.existsSync(nativeManifest) || readJson(nativeManifest).version !== koffiVersion) {
    throw new HarnessError('check the result', `${dir}/node_modules has no @koromix/koffi-win32-${cpu}@${koffiVersion} after the install`);
  }
  const installed = String(readJson(path.join(dir, 'node_modules', 'winsock-ffi', 'package.json')).version);
  process.stdout.write(
    `${dir}/node_modules: winsock-ffi ${installed} (this checkout), koffi ${koffiVersion}, @koromix/koffi-win32-${cpu} ${koffiVersion}\n` +
      `Copy ${dir} to Windows, or run a script in it here: npm run win -- ${path.join(dir, 'app.mjs')}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const where = error instanceof HarnessError ? `step "${error.step}" failed: ` : '';
    process.stderr.write(`npm run win:modules: ${where}${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
