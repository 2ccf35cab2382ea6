// The published package serves dist/ (Node does not strip types inside node_modules):
// `npm test` builds it first, and this checks that what it built loads on Windows node
// and exports what the sources export.

import { expect } from 'chai';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as source from '../src/index.ts';

const root = new URL('../', import.meta.url);
const packageJson = JSON.parse(fs.readFileSync(new URL('package.json', root), 'utf8')) as {
  main: string;
  types: string;
  exports: { '.': { types: string; default: string } };
  files: string[];
};

describe('the published package (dist/)', function () {
  it('package.json points at files the build produced', function () {
    for (const file of [packageJson.main, packageJson.types, packageJson.exports['.'].default, packageJson.exports['.'].types]) {
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
