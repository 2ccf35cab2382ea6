// Every script in examples/ runs as a user would run it: its own node process, the
// package imported by its name ('winsock-ffi', which node resolves through package.json's
// "exports" to the dist/ that `npm test` builds first), and it must end by itself with
// exit code 0 after its bounded exchange on 127.0.0.1.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCodeOrSkip } from '../../support/processes.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const examplesDir = path.join(root, 'examples');
/** Generous: under Wine every Winsock call is a wineserver round trip, on a shared 2-core machine. */
const EXIT_WITHIN_MS = 150_000;

const examples = fs
  .readdirSync(examplesDir)
  .filter((file) => file.endsWith('.ts'))
  .sort();

describe('examples/', function () {
  this.timeout(EXIT_WITHIN_MS + 10_000);

  it('are there (echo, blocking ping-pong, one per benchmark mode, http)', function () {
    for (const name of ['echo.ts', 'ping-pong-blocking.ts', 'nonblocking-poll.ts', 'iocp-poll.ts', 'promise.ts', 'stream.ts', 'http.ts']) {
      expect(examples, name).to.include(name);
    }
  });

  it('import the package by its name, never the sources', function () {
    for (const file of examples) {
      const text = fs.readFileSync(path.join(examplesDir, file), 'utf8');
      expect(text, file).to.match(/from 'winsock-ffi'/);
      expect(text, file).to.not.match(/from '\.{1,2}\//);
    }
  });

  for (const file of examples) {
    it(`${file} runs and exits by itself with code 0`, async function () {
      const scratch = fs.mkdtempSync(path.join(root, '.cache', 'example-'));
      try {
        // Output to a file, never a pipe: Windows node under Wine cannot write to pipes.
        const outputFile = path.join(scratch, 'output.txt');
        const out = fs.openSync(outputFile, 'w');
        let code: number | null;
        try {
          const child = spawn(process.execPath, [path.join(examplesDir, file)], { cwd: root, stdio: ['ignore', out, out], windowsHide: true });
          try {
            code = await exitCodeOrSkip(this, child, EXIT_WITHIN_MS, outputFile);
          } catch (error) {
            child.kill();
            throw error;
          }
        } finally {
          fs.closeSync(out);
        }
        const output = fs.readFileSync(outputFile, 'utf8');
        expect(code, output).to.equal(0);
        expect(output.trim(), 'it prints what it did').to.not.equal('');
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    });
  }
});
