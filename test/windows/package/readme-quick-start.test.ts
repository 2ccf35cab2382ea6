// The README's quick start must run as written: the ```ts quickstart block is extracted,
// pointed at this checkout instead of the published package, and run by this same
// node in a child process.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { underWine } from '../../support/env.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const readmePath = path.join(root, 'README.md');
const QUICKSTART_FENCE = /^```ts quickstart[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/m;

/** The code of the ```ts quickstart block; throws saying what is missing. */
function quickStart(): string {
  if (!fs.existsSync(readmePath)) throw new Error(`README.md not found at ${readmePath}`);
  const readme = fs.readFileSync(readmePath, 'utf8');
  const match = QUICKSTART_FENCE.exec(readme);
  if (match === null) throw new Error('README.md has no ```ts quickstart code block');
  return match[1]!;
}

describe('README quick start', function () {
  this.timeout(60_000);

  it('imports the package by its published name', function () {
    expect(quickStart()).to.match(/from 'winsock-ffi'/);
  });

  it('runs as written and prints what it says', async function () {
    const code = quickStart().replaceAll(`'winsock-ffi'`, `'${pathToFileURL(path.join(root, 'src', 'index.ts')).href}'`);
    // Inside the repository (under the git-ignored .cache/) so that package.json's
    // "type": "module" applies and node strips the types.
    const scratch = fs.mkdtempSync(path.join(root, '.cache', 'readme-'));
    try {
      const script = path.join(scratch, 'quickstart.ts');
      const output = path.join(scratch, 'output.txt');
      fs.writeFileSync(script, code);
      // stdout to a file, not a pipe: Windows node under Wine cannot write to pipes.
      const out = fs.openSync(output, 'w');
      let exitCode: number | null;
      try {
        exitCode = await new Promise<number | null>((resolve, reject) => {
          const child = spawn(process.execPath, [script], { stdio: ['ignore', out, out], cwd: root, windowsHide: true });
          child.once('error', reject);
          child.once('exit', resolve);
        });
      } finally {
        fs.closeSync(out);
      }
      const printed = fs.readFileSync(output, 'utf8').replaceAll('\r\n', '\n');
      expect(exitCode, printed).to.equal(0);
      const match = /^server got ping from port (\d+)\nfast path: (on|not available here)\n$/.exec(printed);
      expect(match, printed).to.not.equal(null);
      expect(Number(match![1])).to.be.within(1, 65535);
      if (underWine) expect(match![2]).to.equal('not available here');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
