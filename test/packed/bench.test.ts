// The benchmark as a user gets it: `npm pack` (prepack builds dist/, the shipped benchmark
// and the prebuilt C reference), the tarball installed into a new, empty project (so only
// the package's own dependency, koffi, is there: no tsx, no hdr-histogram-js), then
// `npx winsock-ffi bench --quick --json FILE` run there as a user would, from a shell
// without npm test's environment. The JSON must have every row of the seed's table, each
// with figures or n/a with the system's reason, and the C rows from the shipped
// reference.exe. On Linux the command runs the Windows side under Wine (the harness's
// provisioning, into the cache WINSOCK_FFI_CACHE names, as npm test's own); then Windows
// node.exe is also run directly under Wine against the installed package. On Windows it
// runs natively. Under Wine mocha there is no npm: `npm test` runs this folder on the
// Linux node as its own step (scripts/test.ts) before the Wine suite.

import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { C_MODES, MODES, usesWinsockFfi } from '../../bench/protocol.ts';
import type { Report, Row } from '../../bench/report.ts';
import { lockCache, provisionWindowsNode } from '../../scripts/harness/provision.ts';
import { npmCommand, run } from '../../scripts/harness/proc.ts';
import type { RunResult } from '../../scripts/harness/proc.ts';
import { runWine, windowsPath } from '../../scripts/harness/wine.ts';
import { underWine, wineName } from '../support/env.ts';
import { skipUnder } from '../support/skip.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The harness's cache (npm test's): Wine prefixes and Windows Node.js are there already. */
const CACHE = path.resolve(ROOT, process.env.WINSOCK_FFI_CACHE || '.cache');
const PACK_TIMEOUT_MS = 5 * 60_000;
/** `--quick` is about 1.5 minutes under Wine on two idle cores; this machine is shared. */
const BENCH_TIMEOUT_MS = 15 * 60_000;

/**
 * A user's environment: npm test's own npm variables (npm_config_local_prefix names this
 * repository, npm_package_* its package.json) and node options must not reach the
 * consumer's npx.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  env.WINSOCK_FFI_CACHE = CACHE;
  return env;
}

/** `npm <args>`, as proc.ts's npmCommand finds it. */
function npm(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  const { command, prefixArgs, shell } = npmCommand();
  return run(command, [...prefixArgs, ...args], { cwd, env, capture: true, timeoutMs, shell });
}

/** `npx <args>`: the npx of the same npm (npx-cli.js beside npm-cli.js), else the one on PATH. */
function npx(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, logFile: string, timeoutMs: number): Promise<RunResult> {
  const { command, prefixArgs, shell } = npmCommand();
  const npmCli = prefixArgs[0];
  const npxCli = npmCli === undefined ? undefined : path.join(path.dirname(npmCli), 'npx-cli.js');
  if (npxCli !== undefined && fs.existsSync(npxCli)) return run(command, [npxCli, ...args], { cwd, env, logFile, timeoutMs });
  return run(shell ? 'npx.cmd' : 'npx', args, { cwd, env, logFile, timeoutMs, shell });
}

function failure(what: string, result: RunResult): string {
  const how = result.timedOut ? 'timed out' : `exited with ${result.code ?? result.signal}`;
  return `${what} ${how}:\n${result.output.trim()}\n`;
}

/** The rows every system has: fast path off, not Registered I/O. They must have figures. */
function alwaysThere(row: Row): boolean {
  return !row.fastPath && row.mode !== 'rio-poll' && row.mode !== 'c-rio';
}

/** Checks a report's latency table: every row asked for, each with figures or n/a with a reason. */
function checkRows(report: Report, modes: readonly string[]): void {
  const expected = modes.flatMap((mode) => ((MODES as readonly string[]).includes(mode) && usesWinsockFfi(mode as (typeof MODES)[number]) ? [`${mode} off`, `${mode} on`] : [`${mode} off`]));
  expect(report.rows.map((row) => `${row.mode} ${row.fastPath ? 'on' : 'off'}`)).to.deep.equal(expected);
  for (const row of report.rows) {
    const name = `${row.mode}, fast path ${row.fastPath ? 'on' : 'off'}`;
    if (row.available) {
      expect(row.meanUs, name).to.be.a('number').and.greaterThan(0);
      expect(row.count, name).to.be.greaterThan(0);
      expect(row.rounds, name).to.have.length.greaterThan(0);
    } else {
      expect(row.reason, `${name} is n/a without a reason`).to.be.a('string').and.not.equal('');
      expect(row.reason, `${name} failed`).to.not.match(/^run failed/);
      expect(alwaysThere(row), `${name} is n/a: ${row.reason}`).to.equal(false);
    }
  }
}

describe('the benchmark from a packed and installed package (npx winsock-ffi bench)', function () {
  this.timeout(BENCH_TIMEOUT_MS + PACK_TIMEOUT_MS);
  let work: string | null = null;
  let consumer = '';
  let installed = '';

  before(async function () {
    skipUnder(this, underWine, `no npm under ${wineName}: npm test runs test/packed/ on the Linux node, as its own step before the Wine suite`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock-ffi-packed-bench-'));
    const packed = path.join(work, 'pack');
    fs.mkdirSync(packed);
    // prepack builds dist/ and the C reference; strict, so that a tarball without reference.exe fails here.
    const pack = await npm(['pack', '--pack-destination', packed], ROOT, { ...process.env, WINSOCK_FFI_REQUIRE_C: '1' }, PACK_TIMEOUT_MS);
    if (pack.code !== 0) throw new Error(failure('npm pack', pack));
    const tarballs = fs.readdirSync(packed).filter((name) => name.endsWith('.tgz'));
    expect(tarballs, 'npm pack made one tarball').to.have.lengthOf(1);

    consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }, null, 2)}\n`);
    // As a user installs it; koffi comes from npm's cache when it has it.
    const install = await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packed, tarballs[0]!)], consumer, userEnv(), PACK_TIMEOUT_MS);
    if (install.code !== 0) throw new Error(failure('npm install of the tarball', install));
    installed = path.join(consumer, 'node_modules', 'winsock-ffi');
  });

  after(function () {
    if (work !== null) fs.rmSync(work, { recursive: true, force: true, maxRetries: 5 });
  });

  it('installs with koffi as its only dependency, the built benchmark and the prebuilt C reference, and no sources', function () {
    const modules = fs.readdirSync(path.join(consumer, 'node_modules')).filter((name) => !name.startsWith('.'));
    expect(modules.sort()).to.deep.equal(['@koromix', 'koffi', 'winsock-ffi']);
    for (const file of ['dist/scripts/cli.js', 'dist/scripts/bench.js', 'dist/bench/sender.js', 'dist/bench/c/reference.exe', 'dist/bench/c/reference.c']) {
      expect(fs.existsSync(path.join(installed, file)), file).to.equal(true);
    }
    const shipped = fs.readdirSync(installed, { recursive: true, encoding: 'utf8' }).map((file) => file.replaceAll('\\', '/'));
    expect(shipped.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')), 'TypeScript sources').to.deep.equal([]);
    expect(shipped.filter((file) => /^(src|test|bench|scripts)\//.test(file)), 'folders outside dist/').to.deep.equal([]);
    const bin = process.platform === 'win32' ? 'winsock-ffi.cmd' : 'winsock-ffi';
    expect(fs.existsSync(path.join(consumer, 'node_modules', '.bin', bin)), `node_modules/.bin/${bin}`).to.equal(true);
  });

  it('npx winsock-ffi bench --quick --json FILE: every row of the seed table, with figures or n/a with the reason', async function () {
    const json = path.join(consumer, 'bench.json');
    const log = path.join(work!, 'npx-bench.log');
    const started = Date.now();
    const result = await npx(['winsock-ffi', 'bench', '--quick', '--json', json], consumer, userEnv(), log, BENCH_TIMEOUT_MS);
    const seconds = Math.round((Date.now() - started) / 1000);
    expect(result.code, failure(`npx winsock-ffi bench --quick (${seconds} s)`, result)).to.equal(0);
    expect(fs.existsSync(json), `${json}, after:\n${result.output}`).to.equal(true);
    const report = JSON.parse(fs.readFileSync(json, 'utf8')) as Report;
    checkRows(report, [...MODES, ...C_MODES]);
    // The C rows ran from the shipped reference.exe, not from a compiler.
    for (const mode of ['c-blocking', 'c-spin', 'c-iocp-wait', 'c-iocp-poll']) {
      expect(report.rows.find((row) => row.mode === mode)?.available, mode).to.equal(true);
    }
    expect(result.output).to.not.match(/building|MinGW/i);
    const koffi = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'koffi', 'package.json'), 'utf8')) as { version: string };
    expect(report.environment.koffi).to.equal(koffi.version);
    expect(report.environment.underWine).to.equal(process.platform !== 'win32');
    expect(report.targets.length).to.be.greaterThan(0);
    // The table itself is printed too.
    expect(result.output).to.match(/^node:net\s+[\d,]+\s+\d/m);
  });

  it('Windows node.exe run directly under Wine against the installed package (after npx added koffi\'s Windows module)', async function () {
    skipUnder(this, process.platform === 'win32', 'on Windows the npx run above already ran natively');
    const lock = await lockCache(CACHE);
    try {
      const windowsNode = await provisionWindowsNode(installed, CACHE, 22, lock);
      const json = path.join(consumer, 'direct.json');
      const log = path.join(work!, 'direct-bench.log');
      const cli = path.join('node_modules', 'winsock-ffi', 'dist', 'scripts', 'cli.js');
      const args = [windowsNode.nodeExe, cli, 'bench', '--quick', '--rounds', '1', '--modes', 'node:net,promise,c-iocp-wait', '--fast-path', 'off', '--json', windowsPath(json)];
      const result = await runWine(windowsNode.wine, 'wine', args, { cwd: consumer, env: windowsNode.env(), logFile: log, timeoutMs: BENCH_TIMEOUT_MS });
      expect(result.code, failure('node.exe dist/scripts/cli.js bench under Wine', result)).to.equal(0);
      const report = JSON.parse(fs.readFileSync(json, 'utf8')) as Report;
      expect(report.rows.map((row) => [row.mode, row.available])).to.deep.equal([
        ['node:net', true],
        ['promise', true],
        ['c-iocp-wait', true],
      ]);
      expect(report.environment.node).to.equal(`v${windowsNode.nodeVersion}`);
    } finally {
      lock.release();
    }
  });
});
