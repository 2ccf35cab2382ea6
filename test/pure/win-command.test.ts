// `npm run win`'s command line (scripts/harness/win-command.ts): its own options before the
// script, everything after the script for the script. Pure.

import { expect } from 'chai';
import { DEFAULT_WIN_NODE, parseWinCommandLine } from '../../scripts/harness/win-command.ts';

describe('npm run win: command line (scripts/harness/win-command.ts)', () => {
  it('takes the script and passes everything after it on, options included', () => {
    expect(parseWinCommandLine(['x.ts', '--node', '24', '-v'])).to.deep.equal({ help: false, major: DEFAULT_WIN_NODE, timeoutMs: null, script: 'x.ts', args: ['--node', '24', '-v'] });
  });

  it('reads --node and --timeout before the script, in both spellings', () => {
    expect(parseWinCommandLine(['--node', '26', '--timeout=1.5', 'x.mjs'])).to.deep.include({ major: 26, timeoutMs: 1500, script: 'x.mjs' });
    expect(parseWinCommandLine(['--node=v24', '--timeout', '60', 'x.ts', 'a'])).to.deep.include({ major: 24, timeoutMs: 60_000, args: ['a'] });
  });

  it('takes a script that starts with "-" after --', () => {
    expect(parseWinCommandLine(['--', '-odd.ts', 'a'])).to.deep.include({ script: '-odd.ts', args: ['a'] });
  });

  it('answers --help', () => {
    expect(parseWinCommandLine(['--help'])).to.deep.equal({ help: true });
    expect(parseWinCommandLine(['-h', 'x.ts'])).to.deep.equal({ help: true });
  });

  it('refuses what it cannot run, saying why', () => {
    expect(() => parseWinCommandLine([])).to.throw(/no script given/);
    expect(() => parseWinCommandLine(['--node', '20', 'x.ts'])).to.throw(/--node takes one supported Node.js major \(22, 24, 26\), got "20"/);
    expect(() => parseWinCommandLine(['--node'])).to.throw(/--node needs a value/);
    expect(() => parseWinCommandLine(['--timeout', '0', 'x.ts'])).to.throw(/--timeout needs a positive number/);
    expect(() => parseWinCommandLine(['--verbose', 'x.ts'])).to.throw(/unknown option "--verbose" before the script/);
  });

  it('on Windows runs the node at hand: its major by default, no other', () => {
    expect(parseWinCommandLine(['x.ts'], 24)).to.deep.include({ major: 24 });
    expect(parseWinCommandLine(['--node', '24', 'x.ts'], 24)).to.deep.include({ major: 24 });
    expect(() => parseWinCommandLine(['--node', '22', 'x.ts'], 24)).to.throw(/runs on the node at hand/);
  });
});
