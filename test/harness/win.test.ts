// `npm run win` (scripts/win.ts) end to end, on the Linux node that runs npm test (it is
// about starting Windows node.exe under Wine, so it cannot run under Wine itself: npm test
// runs test/harness/ with test/pure/ before the Wine suite, and .mocharc.json leaves it
// out of that suite). A script with type annotations runs on Windows Node.js 22; its
// stdout and stderr arrive on the command's own, and its exit code is the command's.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WIN = path.join(ROOT, 'scripts', 'win.ts');
/** A first run on a fresh machine provisions Wine and node.exe (npm test does the same later). */
const PROVISION_TIMEOUT_MS = 20 * 60_000;

/** Runs `npm run win -- ...args` as npm would, started in `from`; its exit code, stdout and stderr. */
function win(args: readonly string[], from: string): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, INIT_CWD: from };
  const result = spawnSync(process.execPath, ['--import', 'tsx', WIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: PROVISION_TIMEOUT_MS });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run win (scripts/win.ts)', function () {
  this.timeout(PROVISION_TIMEOUT_MS + 60_000);

  before(function () {
    if (process.platform === 'win32') this.skip(); // there it only runs the node at hand
  });

  it('runs a .ts script on Windows Node.js under Wine, relays its stdout and stderr, and exits with its code', () => {
    const result = win(['test/fixtures/win-run.ts', '3', 'two words', '--not-an-option-of-win'], ROOT);
    expect(result.code, result.stderr).to.equal(3);
    const line = result.stdout.split('\n').find((candidate) => candidate.startsWith('win-run stdout '));
    expect(line, result.stdout).to.not.equal(undefined);
    const seen = JSON.parse(line!.slice('win-run stdout '.length)) as { platform: string; node: string; args: string[] };
    expect(seen.platform).to.equal('win32');
    expect(seen.node).to.match(/^v22\./);
    expect(seen.args).to.deep.equal(['two words', '--not-an-option-of-win']);
    expect(result.stdout).to.not.include('win-run stderr');
    expect(result.stderr).to.include('win-run stderr\n');
  });

  it('finds a relative script from the folder npm was started in, and exits with 0 on success', () => {
    const result = win(['win-run.ts', '0'], path.join(ROOT, 'test', 'fixtures'));
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.include('win-run stdout {"platform":"win32"');
  });

  it('says so, with exit code 1, when the script does not exist', () => {
    const result = win(['no-such-script.ts'], ROOT);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`${path.join(ROOT, 'no-such-script.ts')} does not exist`);
  });
});
