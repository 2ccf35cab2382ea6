// npm's `prepare` script: builds dist/ (`npm run build`) when it is missing or older than
// the sources, and does nothing otherwise.
//
// It is what makes an install from git work (`npm install git+https://...` or
// `git+file:///path/to/clone`): npm clones the repository, installs its dependencies and
// devDependencies, runs `prepare` (not `prepack`), then packs the package's "files". dist/
// is not in git, so without this the installed package would have no code. In a clone,
// `npm install` / `npm ci` run it too: a fresh clone gets dist/ at once, and a later
// install rebuilds only when a source changed. `npm pack` and `npm publish` build through
// `prepack` anyway, whatever this finds.
//
// Plain JavaScript: it runs on whatever node runs npm, before anything else is set up.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = path.join(root, 'dist', 'index.js');

/** The newest modification time of the files dist/ is built from. */
function newestSource() {
  let newest = 0;
  const sources = [path.join(root, 'tsconfig.json'), path.join(root, 'tsconfig.build.json')];
  for (const entry of fs.readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) sources.push(path.join(entry.parentPath, entry.name));
  }
  for (const file of sources) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  return newest;
}

function upToDate() {
  try {
    return fs.statSync(built).mtimeMs >= newestSource();
  } catch {
    return false; // no dist/index.js
  }
}

function typescriptInstalled() {
  try {
    createRequire(path.join(root, 'package.json')).resolve('typescript/package.json');
    return true;
  } catch {
    return false;
  }
}

if (upToDate()) {
  process.exit(0);
}
if (!typescriptInstalled()) {
  // `npm install --omit=dev` in a clone: nothing can build, and failing the install would
  // not help. Say so; the package cannot be imported until `npm run build` has run.
  console.warn('winsock-ffi prepare: dist/ is missing or stale and TypeScript (a devDependency) is not installed: run `npm install` and `npm run build`');
  process.exit(0);
}
console.log('winsock-ffi prepare: building dist/ (npm run build)');
// The npm that runs this script (npm_execpath), so that the same npm runs the build.
const npmCli = process.env.npm_execpath;
const [command, args, shell] =
  npmCli !== undefined && /\.c?js$/.test(npmCli)
    ? [process.execPath, [npmCli, 'run', 'build'], false]
    : [process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], process.platform === 'win32'];
const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', shell });
if (result.error !== undefined) throw result.error;
process.exit(result.status ?? 1);
