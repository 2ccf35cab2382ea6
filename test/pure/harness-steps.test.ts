// The harness's progress lines name the command they come from (issue #19: `npm run bench`
// printed its setup as `[npm test] ...`), and its advice tells the user to run that command
// again. Pure: scripts/harness/steps.ts only writes to stdout.

import { expect } from 'chai';
import { harnessCommand, say, setHarnessCommand } from '../../scripts/harness/steps.ts';

/** What say() writes to `stream` while `body` runs. */
function captured(body: () => void, stream: NodeJS.WriteStream = process.stdout): string {
  const chunks: string[] = [];
  const write = stream.write;
  stream.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof stream.write;
  try {
    body();
  } finally {
    stream.write = write;
  }
  return chunks.join('');
}

describe('harness progress lines (scripts/harness/steps.ts)', () => {
  afterEach(() => setHarnessCommand('npm test', 'npm test'));

  it('are tagged [npm test] unless a command names itself', () => {
    expect(captured(() => say('tsc --noEmit'))).to.equal('[npm test] tsc --noEmit\n');
    expect(harnessCommand()).to.equal('npm test');
  });

  it('carry the tag of the command that set it, and its advice names that command', () => {
    setHarnessCommand('bench', 'npm run bench');
    expect(captured(() => say('creating the Wine prefix'))).to.equal('[bench] creating the Wine prefix\n');
    expect(harnessCommand()).to.equal('npm run bench');
  });

  it('go to stderr for a command whose stdout is its program\'s (npm run win)', () => {
    setHarnessCommand('win', 'npm run win', 'stderr');
    let stderr = '';
    const stdout = captured(() => {
      stderr = captured(() => say('downloading Windows Node.js 26.10.0'), process.stderr);
    });
    expect(stdout).to.equal('');
    expect(stderr).to.equal('[win] downloading Windows Node.js 26.10.0\n');
  });
});
