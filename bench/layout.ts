// Where the benchmark's files are: in the repository (TypeScript run as it is, `npm run
// bench`) or in an installed package (`npx winsock-ffi bench`: the JavaScript that
// tsconfig.bench.json builds into dist/, beside the library's own dist/). The two differ
// in the root, the scripts' names, how they reach the library, where the C reference comes
// from and where the cache is; everything else is the same code.
//
// How the scripts reach the library: through package.json's "imports", `#winsock-ffi` and
// `#winsock-ffi/sys`, which are the sources (src/) by default and the package's dist/ under
// the condition WINSOCK_FFI_DIST_CONDITION. Every Windows process the installed benchmark
// starts gets that condition (and its children inherit it through process.execArgv), so
// the installed benchmark measures exactly the installed dist/; without it a shipped script
// fails to start (src/ is not shipped) rather than measure something else.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package.json "imports" condition that maps `#winsock-ffi` to dist/. */
export const WINSOCK_FFI_DIST_CONDITION = 'winsock-ffi-dist';

export interface BenchLayout {
  /** True in an installed package (built JavaScript), false in the repository (TypeScript). */
  readonly installed: boolean;
  /** The package's root: the repository, or node_modules/winsock-ffi. */
  readonly root: string;
  /** The cache: Wine prefixes, Windows Node.js, the C reference's build, the run's files. */
  readonly cacheDir: string;
  /** A benchmark script named as in the repository ('bench/sender.ts'), relative to `root`, as this layout has it. */
  script(name: string): string;
  /** Node options every Windows process of the benchmark starts with. */
  readonly nodeArgs: readonly string[];
  /** The C reference's source (null when this layout has none). */
  readonly cSource: string | null;
  /** The C reference built when the package was packed, when there is one. */
  readonly cPrebuilt: string | null;
  /** How the user runs the benchmark here, for messages: 'npm run bench --' or 'npx winsock-ffi bench'. */
  readonly command: string;
}

/** This file is bench/layout.ts in the repository and dist/bench/layout.js when installed. */
const here = fileURLToPath(import.meta.url);
const installed = here.endsWith('.js');

/**
 * The installed package's default cache: per user, outside the package (so that it is
 * shared by projects and outlives a reinstall): $XDG_CACHE_HOME/winsock-ffi, else
 * ~/.cache/winsock-ffi; on Windows %LOCALAPPDATA%\winsock-ffi.
 */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(os.homedir(), 'AppData', 'Local'), 'winsock-ffi');
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
  return path.join(xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'winsock-ffi');
}

function layout(): BenchLayout {
  const root = path.resolve(path.dirname(here), installed ? '../..' : '..');
  const configured = process.env.WINSOCK_FFI_CACHE;
  // WINSOCK_FFI_CACHE: relative to the repository there (as npm test reads it), to the current folder for a user.
  const cacheDir =
    configured !== undefined && configured !== '' ? path.resolve(installed ? process.cwd() : root, configured) : installed ? userCacheDir() : path.join(root, '.cache');
  if (!installed) {
    return {
      installed,
      root,
      cacheDir,
      script: (name) => name,
      nodeArgs: [],
      cSource: path.join(root, 'bench', 'c', 'reference.c'),
      cPrebuilt: null,
      command: 'npm run bench --',
    };
  }
  return {
    installed,
    root,
    cacheDir,
    script: (name) => path.join('dist', name.replace(/\.ts$/, '.js')),
    nodeArgs: [`--conditions=${WINSOCK_FFI_DIST_CONDITION}`],
    cSource: path.join(root, 'dist', 'bench', 'c', 'reference.c'),
    cPrebuilt: path.join(root, 'dist', 'bench', 'c', 'reference.exe'),
    command: 'npx winsock-ffi bench',
  };
}

export const benchLayout: BenchLayout = layout();

/**
 * The path of a script beside `importMetaUrl`'s file, in the same language: './echo' from
 * bench/sender.ts is bench/echo.ts, and from dist/bench/sender.js dist/bench/echo.js.
 */
export function siblingScript(importMetaUrl: string, stem: string): string {
  const self = fileURLToPath(importMetaUrl);
  return path.join(path.dirname(self), `${stem}${path.extname(self)}`);
}
