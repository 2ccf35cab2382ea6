// `npm run docs`: the API reference of the public entry (src/index.ts) into the
// git-ignored docs/api/, by typedoc with typedoc.json (@internal members left out, every
// warning an error). Extra arguments go to typedoc (`npm run docs -- --out /tmp/api`).
//
// typedoc 0.28 supports TypeScript 5.0 to 6.0, not the native TypeScript 7 that type-checks
// and builds the project, so it comes with a TypeScript 6 of its own from
// tools/typedoc/package.json (installed by `npm install` through a file: devDependency).
// `npm test` runs the same through typedocArgs() before the Wine suite.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from './harness/proc.ts';

const rootDir = fileURLToPath(new URL('..', import.meta.url));

/** The node arguments that run typedoc, resolved from tools/typedoc so that it gets its own TypeScript. */
export function typedocArgs(extra: readonly string[] = []): string[] {
  const fromTools = createRequire(path.join(rootDir, 'tools', 'typedoc', 'package.json'));
  let manifest: string;
  try {
    manifest = fromTools.resolve('typedoc/package.json');
  } catch {
    throw new Error('typedoc is not installed: run `npm install` (it comes from tools/typedoc through a file: devDependency)');
  }
  // The TypeScript that typedoc itself imports, found from where typedoc is.
  const typedocTypeScript = createRequire(manifest)('typescript/package.json') as { version: string };
  if (!typedocTypeScript.version.startsWith('6.')) {
    throw new Error(`typedoc would load TypeScript ${typedocTypeScript.version}, expected its own 6.x from tools/typedoc`);
  }
  const bin = path.join(path.dirname(manifest), 'bin', 'typedoc');
  return [bin, '--options', path.join(rootDir, 'typedoc.json'), ...extra];
}

async function main(): Promise<number> {
  const result = await run(process.execPath, typedocArgs(process.argv.slice(2)), { cwd: rootDir });
  return result.code ?? 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm run docs: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
