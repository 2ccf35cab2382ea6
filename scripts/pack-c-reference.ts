// At pack time (package.json "prepack", after the build): the C reference for the
// installed benchmark. Copies bench/c/reference.c to dist/bench/c/ and builds it there with
// MinGW-w64 as reference.exe (stripped; it needs only kernel32, msvcrt and ws2_32, which
// every Windows has), so that `npx winsock-ffi bench` on Windows gives the C rows without a
// compiler. MinGW-w64 is found or installed as the test suite's is (scripts/harness/mingw.ts).
//
// Without a compiler: `npm publish` fails (a published package must have it); `npm pack`
// warns and packs without it, and the installed benchmark then builds the source where it
// finds a compiler, else shows the C rows n/a with the reason. WINSOCK_FFI_REQUIRE_C=1
// makes `npm pack` strict too.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileReference } from '../bench/c-reference.ts';
import { ensureMingw } from './harness/mingw.ts';

const rootDir = fileURLToPath(new URL('..', import.meta.url));
const source = path.join(rootDir, 'bench', 'c', 'reference.c');
const target = path.join(rootDir, 'dist', 'bench', 'c');
const exe = path.join(target, 'reference.exe');

function log(message: string): void {
  process.stdout.write(`[pack] ${message}\n`);
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(rootDir, 'dist', 'scripts', 'bench.js'))) throw new Error('dist/scripts/bench.js is missing: run `npm run build` first');
  fs.mkdirSync(target, { recursive: true });
  fs.copyFileSync(source, path.join(target, 'reference.c'));
  fs.rmSync(exe, { force: true });
  const strict = process.env.npm_command === 'publish' || process.env.WINSOCK_FFI_REQUIRE_C === '1';
  let compiler: string | null;
  try {
    compiler = await ensureMingw();
  } catch (error) {
    if (strict) throw error;
    compiler = null;
    log((error as Error).message.split('\n')[0] ?? '');
  }
  if (compiler === null) {
    const what = 'no MinGW-w64 compiler (x86_64-w64-mingw32-gcc, or MinGW gcc on Windows) to build the C reference';
    if (strict) throw new Error(`${what}: a published package must ship dist/bench/c/reference.exe`);
    log(`WARNING: ${what}; packing without dist/bench/c/reference.exe (the installed benchmark builds it where it finds a compiler)`);
    return;
  }
  await compileReference(compiler, source, exe);
  log(`built dist/bench/c/reference.exe with ${compiler} (${Math.round(fs.statSync(exe).size / 1024)} KiB)`);
}

main().catch((error: unknown) => {
  process.stderr.write(`pack-c-reference: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
