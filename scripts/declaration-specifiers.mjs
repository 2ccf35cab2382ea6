// After `tsc -p tsconfig.build.json`: the emitted .d.ts files keep the sources' `./x.ts`
// import specifiers (tsc rewrites them only in the JavaScript), which consumers on
// older TypeScript reject (TS2691) and which name files the package does not ship.
// Rewrites them to the `.js` files that dist/ has. Plain JavaScript: runs on any node.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(fileURLToPath(new URL('..', import.meta.url)), 'dist');
// `from './a.ts'`, `import('./a.ts')` and `import './a.ts'`, relative specifiers only.
const SPECIFIER = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)\.ts(['"])/g;

let rewritten = 0;
for (const entry of fs.readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
  const file = path.join(entry.parentPath, entry.name);
  const text = fs.readFileSync(file, 'utf8');
  const fixed = text.replace(SPECIFIER, (_match, head, stem, tail) => `${head}${stem}.js${tail}`);
  if (fixed !== text) {
    fs.writeFileSync(file, fixed);
    rewritten++;
  }
}
console.log(`declaration specifiers: rewrote ${rewritten} file(s) in dist/ to .js`);
