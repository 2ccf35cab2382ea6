// The published package serves dist/ (Node does not strip types inside node_modules):
// `npm test` builds it first, and this checks that what it built loads on Windows node
// and exports what the sources export.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as source from '../../../src/index.ts';
import { NODE_MAJORS } from '../../../scripts/harness/packages.ts';
import { exited } from '../../support/processes.ts';

const root = new URL('../../../', import.meta.url);
const packageJson = JSON.parse(fs.readFileSync(new URL('package.json', root), 'utf8')) as {
  main: string;
  types: string;
  exports: { '.': { types: string; default: string } };
  files: string[];
  bin: Record<string, string>;
  engines: { node: string };
};

describe('the published package (dist/)', function () {
  it('package.json points at files the build produced', function () {
    // bin: `npx winsock-ffi bench`, the benchmark built with the package (tsconfig.bench.json).
    for (const file of [packageJson.main, packageJson.types, packageJson.exports['.'].default, packageJson.exports['.'].types, packageJson.bin['winsock-ffi']!]) {
      const at = fileURLToPath(new URL(file, root));
      expect(fs.existsSync(at), `${file} is missing: run \`npm run build\` (npm test does)`).to.equal(true);
    }
    expect(packageJson.files).to.include('dist');
  });

  it('dist/index.js loads as plain JavaScript and exports the same names as src/index.ts', async function () {
    const built = (await import(new URL(packageJson.exports['.'].default, root).href)) as Record<string, unknown>;
    expect(Object.keys(built).sort()).to.deep.equal(Object.keys(source).sort());
  });

  it('the published types name .js files and hide the internals (no .ts specifier, no @internal member)', function () {
    const dist = fileURLToPath(new URL('dist/', root));
    const declarations = fs
      .readdirSync(dist, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.d.ts'))
      .map((file) => ({ file, text: fs.readFileSync(`${dist}/${file}`, 'utf8') }));
    expect(declarations.length).to.be.greaterThan(5);
    for (const { file, text } of declarations) {
      expect(text, `${file} imports a .ts file`).to.not.match(/(?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*\.ts['"]/);
      expect(text, `${file} publishes an @internal member`).to.not.include('@internal');
    }
    const socket = declarations.find((entry) => entry.file.replaceAll('\\', '/') === 'socket.d.ts')!.text;
    for (const name of ['adoptNew', 'markConnected', 'markAccepted', 'handleOf', 'beforeClose']) expect(socket, name).to.not.include(name);
  });

  it('the built Socket works: a loopback echo through dist/', async function () {
    const built = (await import(new URL(packageJson.exports['.'].default, root).href)) as typeof source;
    const listener = built.Socket.listen({ address: '127.0.0.1', port: 0 });
    const client = built.Socket.connect(listener.localAddress);
    const server = listener.accept();
    try {
      client.sendAll('dist');
      const buffer = Buffer.alloc(4);
      server.recvExact(buffer);
      expect(buffer.toString()).to.equal('dist');
    } finally {
      for (const socket of [client, server, listener]) socket.close();
    }
  });
});

describe('the published package for CommonJS and debuggers', function () {
  this.timeout(60_000);
  const rootDir = fileURLToPath(root);

  it('engines.node names exactly the majors npm test runs on (22 from 22.12, for require(esm); 24; 26), and this node is one of them', function () {
    // CommonJS code can require() this ES module package only from Node 22.12 on.
    expect(packageJson.engines.node).to.equal(NODE_MAJORS.map((major) => (major === 22 ? '^22.12.0' : `^${major}.0.0`)).join(' || '));
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    expect((NODE_MAJORS as readonly number[]).includes(major), process.version).to.equal(true);
    if (major === 22) expect(minor, process.version).to.be.at.least(12);
  });

  it("require('winsock-ffi') from a CommonJS program loads dist/index.js through exports and works", async function () {
    const scratch = fs.mkdtempSync(path.join(rootDir, '.cache', 'require-'));
    try {
      const result = path.join(scratch, 'result.json');
      const errors = path.join(scratch, 'stderr.txt');
      // Output to files, never pipes (Windows node under Wine).
      const err = fs.openSync(errors, 'w');
      let code: number | null;
      try {
        const child = spawn(process.execPath, [path.join(rootDir, 'test', 'fixtures', 'require-package.cjs'), result], {
          cwd: rootDir,
          stdio: ['ignore', 'ignore', err],
          windowsHide: true,
        });
        code = await exited(child, 50_000);
      } finally {
        fs.closeSync(err);
      }
      const stderr = fs.readFileSync(errors, 'utf8');
      expect(code, stderr).to.equal(0);
      // No "ExperimentalWarning: ... require() of ES modules" on the node this targets.
      expect(stderr).to.equal('');
      const seen = JSON.parse(fs.readFileSync(result, 'utf8')) as { resolved: string; names: string[]; echoed: string };
      expect(path.resolve(seen.resolved)).to.equal(path.resolve(rootDir, packageJson.exports['.'].default));
      expect(seen.names).to.deep.equal(Object.keys(source).sort());
      expect(seen.echoed).to.equal('cjs');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("every library file in dist/ names its source map, and every map carries its sources (sourcesContent equal to src/)", function () {
    // The package ships dist/ only, not src/: the maps embed the TypeScript
    // (tsconfig.build.json's inlineSources), so a debugger shows it from an installed copy.
    // Not the benchmark that ships beside it (dist/bench/, dist/scripts/: tsconfig.bench.json),
    // a tool whose plain tsc output is kept without maps, which would add half its size.
    const dist = path.join(rootDir, 'dist');
    const scripts = fs
      .readdirSync(dist, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.js') && !/^(bench|scripts)[\\/]/.test(file));
    expect(scripts.length).to.be.greaterThan(5);
    for (const script of scripts) {
      const at = path.join(dist, script);
      const reference = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(at, 'utf8'));
      expect(reference, `${script} has no sourceMappingURL`).to.not.equal(null);
      const mapFile = path.resolve(path.dirname(at), reference![1]!);
      expect(mapFile.startsWith(dist + path.sep), `${script}'s map is outside dist/`).to.equal(true);
      expect(fs.existsSync(mapFile), `${script}'s map ${reference![1]} is missing`).to.equal(true);
      const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: (string | null)[] };
      expect(map.sources.length, script).to.be.greaterThan(0);
      expect(map.sourcesContent, `${script}'s map embeds no sources`).to.be.an('array').with.lengthOf(map.sources.length);
      for (const [index, name] of map.sources.entries()) {
        const original = path.resolve(path.dirname(mapFile), map.sourceRoot ?? '', name);
        expect(map.sourcesContent![index], `${script}: ${name}`).to.equal(fs.readFileSync(original, 'utf8'));
      }
    }
    expect(packageJson.files).to.include('dist');
  });
});
