// The import rules the README states, drawn from src/'s own imports: no cycle (type-only
// imports count exactly like value imports), no import up the layers below, and nothing
// outside src/sys/ reaching past src/sys/index.ts into src/sys/windows/. Every kind of
// import counts: `import`, `import type`, `export ... from`, `import x = require()`,
// `import()` calls and `import('...')` types, and `declare module '...'` augmentations.
// The checker (test/support/import-graph.ts) is fed a few in-memory files too, to show it
// catches what it must. Pure: runs on Linux node as well as under Wine.

import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkImports, importEdges } from '../support/import-graph.ts';
import type { ImportKind, ImportViolations, Layer } from '../support/import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The layers of src/, bottom to top (issue #17's target layout). A file may import a file
 * of a LOWER rank, or one in its own folder layer (src/iocp/x.ts → src/iocp/y.ts, and
 * src/sys/index.ts → src/sys/windows/*); never one of its own rank elsewhere (src/poll.ts →
 * src/platform.ts) nor a higher one. A `where` ending in '/' is a folder with everything
 * under it; otherwise one file. Every file of src/ must be in a layer: a new file or folder
 * is placed here, in the same change that adds it.
 */
const LAYERS: readonly Layer[] = [
  { rank: 0, where: 'src/base/' }, // pure helpers (values, address literals); import nothing above
  { rank: 1, where: 'src/sys/' }, // the platform layer: koffi, typed calls, WinsockError; src/sys/index.ts is the only way in
  { rank: 2, where: 'src/core/' }, // the socket core, argument checks, the option table, the one way to internals
  { rank: 3, where: 'src/iocp/' }, // the completion engine over the core
  { rank: 4, where: 'src/async/' }, // the Promise API's engine
  { rank: 5, where: 'src/stream.ts' }, // SocketStream over the core and async/
  { rank: 6, where: 'src/socket.ts' }, // the public Socket facade
  { rank: 7, where: 'src/completion-port.ts' }, // public features over Socket
  { rank: 7, where: 'src/poll.ts' },
  { rank: 7, where: 'src/platform.ts' },
  { rank: 7, where: 'src/rio/' },
  { rank: 8, where: 'src/net/' }, // the node:net drop-in
  { rank: 9, where: 'src/index.ts' }, // the published names
];

const RULES = { root: 'src', layers: LAYERS, sys: 'src/sys/', sysEntry: 'src/sys/index.ts' } as const;

/** Every .ts file under src/, keyed by its '/'-separated path from the repository root. */
function sources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (folder: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, folder), { withFileTypes: true })) {
      const relative = `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.ts')) files.set(relative, fs.readFileSync(path.join(ROOT, relative), 'utf8'));
    }
  };
  walk('src');
  return files;
}

/** The same check on in-memory files. */
function check(files: Record<string, string>): ImportViolations {
  return checkImports(new Map(Object.entries(files)), RULES);
}

/** Fails with every entry of `found`, one per line, under `title`. */
function expectNone(found: readonly string[], title: string): void {
  if (found.length > 0) expect.fail(`${title} (${found.length}):\n  ${found.join('\n  ')}`);
}

describe('import rules of src/', function () {
  this.timeout(60000); // loading the TypeScript parser under Wine takes a few seconds

  let violations: ImportViolations;
  before(function () {
    violations = checkImports(sources(), RULES);
  });

  it('reads src/: every relative import names a file that is there', function () {
    const files = sources();
    expect(files.size).to.be.greaterThan(10);
    expect(importEdges(files, 'src').edges.filter((edge) => edge.from === 'src/index.ts')).to.not.be.empty;
    expectNone(violations.unresolved, 'relative imports that name no file of src/');
  });

  it('has no import cycle, type-only imports included', function () {
    expectNone(violations.cycles, 'import cycles (the files of each, then the shortest loop through each file)');
  });

  it('places every file in a layer, and no import goes up the layers', function () {
    expectNone([...violations.unplaced, ...violations.upward], 'files in no layer, and imports up or sideways across the layers');
  });

  it('reaches src/sys/ only through src/sys/index.ts', function () {
    expectNone(violations.sysBypassed, 'imports past src/sys/index.ts');
  });

  describe('the checker itself, on in-memory files', function () {
    it('finds a cycle made of type-only imports, and names its files and the loop', function () {
      const found = check({
        'src/core/a.ts': "import type { B } from './b.ts';\nexport interface A { b: B }\n",
        'src/core/b.ts': "import type { C } from './c.ts';\nexport interface B { c: C }\n",
        'src/core/c.ts': "\nexport type { A as C } from './a.ts';\n",
        'src/core/d.ts': "import type { A } from './a.ts';\nexport type D = A;\n",
      });
      expect(found.cycles).to.deep.equal([
        'src/core/a.ts, src/core/b.ts, src/core/c.ts:\n    src/core/a.ts →(import type, line 1) src/core/b.ts →(import type, line 1) src/core/c.ts →(export type from, line 2) src/core/a.ts',
      ]);
      expect(found.upward).to.deep.equal([]);
    });

    it('finds a file that imports itself', function () {
      expect(check({ 'src/core/a.ts': "export const a = 1;\nexport type A = import('./a.ts').B;\nexport type B = number;\n" }).cycles).to.deep.equal([
        'src/core/a.ts:\n    src/core/a.ts →(import() type, line 2) src/core/a.ts',
      ]);
    });

    it('sees every kind of import: each of these closes a loop back to src/core/a.ts', function () {
      const kinds: [ImportKind, string][] = [
        ['import', "import { a } from './a.ts';"],
        ['import', "import './a.ts';"],
        ['import type', "import type { A } from './a.ts';"],
        ['export from', "export { a } from './a.ts';"],
        ['export from', "export * as all from './a.ts';"],
        ['export type from', "export type { A } from './a.ts';"],
        ['import = require', "import a = require('./a.ts');"],
        ['import()', "export const later = () => import('./a.ts');"],
        ['import() type', "export type Later = import('./a.ts').A;"],
        ['declare module', "declare module './a.ts' { interface A { more: true } }"],
        ['/// <reference>', '/// <reference path="./a.ts" />'],
      ];
      for (const [kind, line] of kinds) {
        const files = { 'src/core/a.ts': "import type { B } from './b.ts';\nexport const a = 1;\nexport interface A { b?: B }\n", 'src/core/b.ts': `${line}\nexport interface B {}\n` };
        expect(importEdges(new Map(Object.entries(files)), 'src').edges, line).to.deep.include({ from: 'src/core/b.ts', to: 'src/core/a.ts', kind, line: 1 });
        expect(check(files).cycles, line).to.deep.equal([`src/core/a.ts, src/core/b.ts:\n    src/core/a.ts →(import type, line 1) src/core/b.ts →(${kind}, line 1) src/core/a.ts`]);
      }
    });

    it('allows a lower rank and the same folder layer; finds an import up or sideways, a file in no layer, and an unresolved one', function () {
      const found = check({
        'src/base/values.ts': 'export const one = 1;\n',
        'src/sys/index.ts': "export * from './windows/net.ts';\nimport { one } from '../base/values.ts';\n",
        'src/sys/windows/net.ts': "import { one } from '../../base/values.ts';\nexport const two = one + 1;\n",
        'src/iocp/port.ts': "import { two } from '../sys/index.ts';\nimport { three } from './kinds.ts';\nimport type { Socket } from '../socket.ts';\n",
        'src/iocp/kinds.ts': 'export const three = 3;\n',
        'src/socket.ts': "import { three } from './iocp/kinds.ts';\nexport class Socket {}\n",
        'src/poll.ts': "import type { Socket } from './socket.ts';\nimport { x } from './platform.ts';\n",
        'src/platform.ts': 'export const x = 1;\n',
        'src/extra.ts': "import { gone } from './gone.ts';\nimport { y } from '../outside.ts';\nimport net from 'node:net';\n",
      });
      expect(found.upward).to.deep.equal([
        'src/iocp/port.ts:3 → src/socket.ts (import type): up from rank 3 (src/iocp/) to rank 6 (src/socket.ts)',
        'src/poll.ts:2 → src/platform.ts (import): sideways within rank 7 (src/poll.ts) to rank 7 (src/platform.ts)',
      ]);
      expect(found.unplaced).to.deep.equal(['src/extra.ts: in no layer of the table']);
      expect(found.unresolved).to.deep.equal(["src/extra.ts:1 import './gone.ts': no such file in src/"]);
      expect(found.sysBypassed).to.deep.equal([]);
      expect(found.cycles).to.deep.equal([]);
    });

    it('finds a file outside src/sys/ that reaches into src/sys/windows/, and lets src/sys/ itself do so', function () {
      const found = check({
        'src/sys/index.ts': "export { two } from './windows/net.ts';\n",
        'src/sys/windows/net.ts': "import type { Other } from './other.ts';\nexport const two = 2;\n",
        'src/sys/windows/other.ts': 'export interface Other {}\n',
        'src/core/options.ts': "import { two } from '../sys/windows/net.ts';\nimport { two as same } from '../sys/index.ts';\n",
      });
      expect(found.sysBypassed).to.deep.equal(['src/core/options.ts:1 → src/sys/windows/net.ts (import): outside src/sys/, only src/sys/index.ts is the way in']);
      expect(found.upward).to.deep.equal([]);
    });
  });
});
