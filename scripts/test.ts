// `npm test`: type-check, then run the mocha suite (.mocharc.json) on Windows Node.js:
// natively on Windows (on the node at hand), and elsewhere under Wine on each supported
// major (NODE_MAJORS: 22, 24, 26, the newest patch of each), provisioning Wine, Windows
// node.exe and koffi's win32 module into a git-ignored cache first. Node 22 runs under the
// system's Wine (Debian 12: Wine 8); 24 and 26 need Wine 10, which on Debian 12 comes from
// a Debian trixie root (scripts/harness/trixie-root.ts). `--node 26` (or `--node 22,26`)
// runs only those majors; every other argument goes to mocha (`npm test -- --grep IOCP`).
// A line per Node gives its counts; the last line printed is `N passed, N failed, N skipped`.
// Before the Wine suite, on this node: test/pure/, then test/packed/ (the benchmark from a
// packed and installed package, `npx winsock-ffi bench --quick`, which runs Wine itself).
//
// Environment: WINSOCK_FFI_CACHE (cache folder, default .cache/ at the repo root),
// WINSOCK_FFI_TEST_TIMEOUT_S (whole mocha run, default 1800). The RIO test double
// (test/fixtures/rio-double) is built with MinGW-w64 into the cache and its path handed to
// the specs in WINSOCK_FFI_RIO_DOUBLE.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { typedocArgs } from './docs.ts';
import { buildRioDouble, RIO_DOUBLE_VARIABLE } from './harness/mingw.ts';
import { run } from './harness/proc.ts';
import { NODE_MAJORS } from './harness/packages.ts';
import { lockCache, provisionWindowsNode } from './harness/provision.ts';
import { HarnessError, say, step } from './harness/steps.ts';
import { readSummary, summaryLine } from './harness/summary.ts';
import type { Summary } from './harness/summary.ts';
import type { WineOutcome } from './harness/wine.ts';
import { runWineProgram, windowsPath } from './harness/wine.ts';

const DEFAULT_TIMEOUT_S = 1800;

const rootDir = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = path.resolve(rootDir, process.env.WINSOCK_FFI_CACHE || '.cache');

/**
 * The suite runs twice: whole, on the engine the Promise API picks by itself (Node's
 * event loop on node.exe's main thread), then its async parts again with the engine
 * forced to the worker pump (what worker threads and other runtimes get), so that both
 * paths are tested. Each run writes its own summary; the verdict adds them up.
 */
interface SuiteRun {
  readonly name: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly summaryFile: string;
}

/**
 * Which engine runs a spec follows from the folder it lives in, not from a list:
 *
 * - test/pure/: no Winsock. Runs on this machine's node first (pureTests), then under
 *   Windows node with the rest of the suite.
 * - test/harness/: the harness's own commands (npm run win), which start Windows node.exe
 *   under Wine: on this machine's node only, with test/pure/ (.mocharc.json leaves them
 *   out of the suite that runs on Windows node).
 * - test/windows/<subject>/: runs once, on the engine the Promise API picks by itself.
 * - test/windows/<subject>/ for each subject in BOTH_ENGINES below: runs again with
 *   WINSOCK_FFI_ENGINE=worker-pump. These are the subjects whose code goes through the
 *   Promise API's engine: the Promise API itself and its engine (async/), SocketStream
 *   (stream/), the node:net drop-in (net/), and a socket handed to a worker thread or
 *   another process (handoff/, which meets the worker pump in the worker anyway).
 *
 * A spec about the Promise API, directly or through a stream or the net layer, belongs in
 * one of these folders. Specs elsewhere (socket/, iocp/: a CompletionPort of one's own,
 * rio/, package/, robustness/) may await it in passing but are not about it: they run once.
 */
const BOTH_ENGINES = ['async', 'stream', 'net', 'handoff'] as const;

/** mocha's spec globs for the worker-pump run (relative to the repo root, '/' on every OS). */
const WORKER_PUMP_SPECS = BOTH_ENGINES.map((subject) => `test/windows/${subject}/**/*.test.ts`);

/** The two runs on Node.js `major`, each with its own summary file. */
function suiteRuns(major: number, userArgs: readonly string[]): SuiteRun[] {
  const defaults = defaultMochaArgs();
  return [
    {
      name: 'event-loop engine (the whole suite)',
      args: [...defaults, ...userArgs],
      env: {},
      summaryFile: path.join(cacheDir, `test-summary-node${major}.json`),
    },
    {
      name: `worker-pump engine (test/windows/{${BOTH_ENGINES.join(',')}}/ again)`,
      // --no-config: .mocharc.json's spec glob would add every file back.
      args: ['--no-config', '--extension', 'ts', '--timeout', '20000', '--reporter', './test/support/summary-reporter.cjs', ...defaults, ...userArgs, ...WORKER_PUMP_SPECS],
      env: { WINSOCK_FFI_ENGINE: 'worker-pump' },
      summaryFile: path.join(cacheDir, `test-summary-node${major}-worker-pump.json`),
    },
  ];
}
/** Relative, so the same argument works for Linux and Windows node (cwd is the repo root). */
const MOCHA = path.join('node_modules', 'mocha', 'bin', 'mocha.js');

/** The runs on one Node.js: its name for the summary, and its two suite runs. */
interface NodeRuns {
  /** "Windows Node.js 26.10.0 under Wine 10.0 (...)", once known. */
  description: string;
  readonly major: number;
  readonly runs: SuiteRun[];
  /** mocha's exit code per run, once run. */
  readonly exits: number[];
}

async function main(): Promise<number> {
  const { majors, mochaArgs } = await step('read the command line', () => parseCommandLine(process.argv.slice(2)));
  await step('type check (tsc --noEmit)', typeCheck);
  await step('build dist/ (npm run build)', build);
  await step('API reference (npm run docs: typedoc, a warning fails)', apiReference);
  const timeoutMs = await step('read WINSOCK_FFI_TEST_TIMEOUT_S', testTimeoutMs);
  // On Windows the whole suite, test/pure/ included, runs natively below.
  if (process.platform !== 'win32') await step('pure logic and the harness commands on this node (test/pure/, test/harness/)', pureTests);
  // On Windows, test/packed/ runs natively with the rest of the suite.
  if (process.platform !== 'win32') await step('the packed benchmark: npm pack, install, npx winsock-ffi bench --quick under Wine (test/packed/)', () => packedTests(mochaArgs));
  fs.mkdirSync(cacheDir, { recursive: true });
  const nodes: NodeRuns[] = majors.map((major) => ({ description: `Node.js ${major}`, major, runs: suiteRuns(major, mochaArgs), exits: [] }));
  for (const node of nodes) for (const run of node.runs) fs.rmSync(run.summaryFile, { force: true }); // a stale summary must not pass for this run's

  if (process.platform === 'win32') await runNative(nodes[0]!, timeoutMs);
  else await runUnderWine(nodes, timeoutMs);
  return verdict(nodes);
}

/**
 * `--node 26` / `--node 22,26` / `--node=24` picks majors (default: all of NODE_MAJORS;
 * on Windows, the node at hand's, the only one there is); the rest goes to mocha.
 */
function parseCommandLine(argv: readonly string[]): { majors: number[]; mochaArgs: string[] } {
  const mochaArgs: string[] = [];
  let asked: number[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let value: string | undefined;
    if (arg === '--node') value = argv[++i] ?? '';
    else if (arg.startsWith('--node=')) value = arg.slice('--node='.length);
    else {
      mochaArgs.push(arg);
      continue;
    }
    const majors = value.split(',').map((part) => part.trim().replace(/^v/, ''));
    const known = NODE_MAJORS.map(String);
    const unknown = majors.filter((major) => !known.includes(major));
    if (value === '' || unknown.length > 0) {
      throw new Error(`--node takes a comma-separated list of supported Node.js majors (${known.join(', ')}), got "${value}"`);
    }
    asked = [...new Set([...(asked ?? []), ...majors.map(Number)])].sort((x, y) => x - y);
  }
  if (process.platform === 'win32') {
    const here = Number(process.versions.node.split('.')[0]);
    if (asked !== undefined && !asked.every((major) => major === here)) {
      throw new Error(`on Windows npm test runs on the node at hand (${process.version}); to test Node.js ${asked.join(', ')}, run it with that node (nvm-windows, fnm, volta)`);
    }
    return { majors: [here], mochaArgs };
  }
  return { majors: asked ?? [...NODE_MAJORS], mochaArgs };
}

const TSC = path.join(rootDir, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Address parsing, argument checks and SOCKADDR encoding need no Winsock: they run on
 * the machine's own node first, so a mistake there shows without Wine. Under Wine they
 * run again with the rest (the spec glob covers test/pure/). test/harness/ runs here only:
 * it starts Wine itself (before runUnderWine takes the cache lock, which it needs too).
 */
async function pureTests(): Promise<void> {
  say(`mocha test/pure and test/harness on ${process.execPath} ${process.version}`);
  const specs = [path.join('test', 'pure', '**', '*.test.ts'), path.join('test', 'harness', '**', '*.test.ts')];
  const args = ['--import', 'tsx', MOCHA, '--no-config', '--extension', 'ts', '--reporter', 'dot', ...specs];
  const result = await run(process.execPath, args, { cwd: rootDir });
  if (result.code !== 0) throw new Error(`the pure tests failed (mocha exit code ${result.code ?? result.signal})`);
}

/**
 * The benchmark from the packed package (test/packed/): it needs npm, which Wine has not,
 * and runs Wine itself (through the installed package's harness, on this cache), so it
 * runs here, on this node, before the Wine suite takes the cache. Its specs skip under
 * Wine; on Windows they run natively with the rest. Takes the user's mocha arguments, so
 * that `npm test -- --grep IOCP` leaves it out.
 */
async function packedTests(mochaArgs: readonly string[]): Promise<void> {
  say(`mocha test/packed on ${process.execPath} ${process.version} (about 3 minutes)`);
  const args = ['--import', 'tsx', MOCHA, '--no-config', '--extension', 'ts', '--timeout', '1200000', ...defaultMochaArgs(), ...mochaArgs, path.join('test', 'packed', '**', '*.test.ts')];
  const result = await run(process.execPath, args, { cwd: rootDir, env: { ...process.env, WINSOCK_FFI_CACHE: cacheDir } });
  if (result.code !== 0) throw new Error(`the packed benchmark's tests failed (mocha exit code ${result.code ?? result.signal})`);
}

async function typeCheck(): Promise<void> {
  say('tsc --noEmit');
  const result = await run(process.execPath, [TSC, '--noEmit', '-p', path.join(rootDir, 'tsconfig.json')], { cwd: rootDir });
  if (result.code !== 0) throw new Error(`tsc found errors (exit code ${result.code ?? result.signal})`);
}

/**
 * The JavaScript the published package serves (the library, then the benchmark that ships
 * with it: tsconfig.bench.json); test/windows/package/ loads it on Windows node.
 */
async function build(): Promise<void> {
  say('tsc -p tsconfig.build.json, then scripts/declaration-specifiers.mjs, then tsc -p tsconfig.bench.json');
  fs.rmSync(path.join(rootDir, 'dist'), { recursive: true, force: true }); // no stale files from renamed sources
  const result = await run(process.execPath, [TSC, '-p', path.join(rootDir, 'tsconfig.build.json')], { cwd: rootDir });
  if (result.code !== 0) throw new Error(`tsc could not build dist/ (exit code ${result.code ?? result.signal})`);
  const rewrite = await run(process.execPath, [path.join(rootDir, 'scripts', 'declaration-specifiers.mjs')], { cwd: rootDir });
  if (rewrite.code !== 0) throw new Error(`scripts/declaration-specifiers.mjs failed (exit code ${rewrite.code ?? rewrite.signal})`);
  const bench = await run(process.execPath, [TSC, '-p', path.join(rootDir, 'tsconfig.bench.json')], { cwd: rootDir });
  if (bench.code !== 0) throw new Error(`tsc could not build the shipped benchmark into dist/ (exit code ${bench.code ?? bench.signal})`);
}

/**
 * The same as `npm run docs`, on this machine's node (no Wine needed): typedoc.json makes
 * every typedoc warning an error, so an undocumented export in a public signature, a
 * broken {@link} or an internal leaking into the public API fails the run here.
 */
async function apiReference(): Promise<void> {
  say('typedoc --options typedoc.json (into docs/api/)');
  const result = await run(process.execPath, typedocArgs(), { cwd: rootDir });
  if (result.code !== 0) throw new Error(`typedoc failed or warned (exit code ${result.code ?? result.signal})`);
}

function testTimeoutMs(): number {
  const raw = process.env.WINSOCK_FFI_TEST_TIMEOUT_S;
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_S * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`expected a positive number of seconds, got "${raw}"`);
  return seconds * 1000;
}

function defaultMochaArgs(): string[] {
  const args: string[] = [];
  // Under Wine, node.exe writes to a file and cannot see that we are on a terminal: tell it.
  if (process.stdout.isTTY) args.push('--color');
  // A forgotten `.only` would silently shrink the CI run to one test.
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') args.push('--forbid-only');
  return args;
}

/** On Windows: mocha on the current node, once per run. */
async function runNative(node: NodeRuns, timeoutMs: number): Promise<void> {
  node.description = `Windows Node.js ${process.versions.node} (this machine's)`;
  // Windows without MinGW: the specs that need the double skip, saying so.
  const rioDouble = await step('build the RIO test double (MinGW-w64)', () => buildRioDouble(rootDir, cacheDir));
  if (rioDouble === null) say('no MinGW-w64 gcc here: the Registered I/O specs that need the test double are skipped');
  for (const suite of node.runs) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...suite.env, WINSOCK_FFI_SUMMARY_FILE: suite.summaryFile };
    if (rioDouble !== null) env[RIO_DOUBLE_VARIABLE] = rioDouble;
    if (!process.features.typescript) {
      // Node older than 22.18 cannot strip types itself; tsx loads the .ts specs instead.
      env.NODE_OPTIONS = [env.NODE_OPTIONS, '--import tsx'].filter((part) => part !== undefined && part !== '').join(' ');
    }
    say(`mocha on ${process.execPath} ${process.version}: ${suite.name}`);
    const result = await step(`run mocha: ${suite.name}`, () => run(process.execPath, [MOCHA, ...suite.args], { cwd: rootDir, env, timeoutMs }));
    if (result.timedOut) throw new HarnessError('run mocha', `timed out after ${timeoutMs / 1000} s`);
    node.exits.push(result.code ?? 1);
  }
}

/** Elsewhere: for each Node, provision, then mocha on Windows node.exe under Wine, once per run. */
async function runUnderWine(nodes: readonly NodeRuns[], timeoutMs: number): Promise<void> {
  const lock = await lockCache(cacheDir); // released when we exit
  const rioDouble = await step('build the RIO test double (MinGW-w64)', () => buildRioDouble(rootDir, cacheDir));
  for (const node of nodes) {
    const windowsNode = await provisionWindowsNode(rootDir, cacheDir, node.major, lock);
    node.description = windowsNode.description;
    try {
      for (const [index, suite] of node.runs.entries()) {
        const logFile = path.join(cacheDir, `test-output-node${node.major}${index === 0 ? '' : `-${index}`}.log`);
        say(`mocha on ${windowsNode.description}: ${suite.name} (output also in ${logFile})`);
        const outcome: WineOutcome = await step(`run mocha on Node.js ${node.major} under Wine: ${suite.name}`, () =>
          runWineProgram({
            prefix: windowsNode.prefix,
            exe: windowsNode.nodeExe,
            args: [MOCHA, ...suite.args],
            cwd: rootDir,
            env: windowsNode.env({
              ...suite.env,
              WINSOCK_FFI_UNDER_WINE: '1',
              // The Linux node running this harness: a test starts it from inside Wine as a native peer.
              WINSOCK_FFI_LINUX_NODE: process.execPath,
              WINSOCK_FFI_SUMMARY_FILE: windowsPath(suite.summaryFile),
              ...(rioDouble === null ? {} : { [RIO_DOUBLE_VARIABLE]: windowsPath(rioDouble) }),
              // Mocha's colours, when not asked for with --color above, are only escape-code noise in a log.
              ...(process.stdout.isTTY || process.env.FORCE_COLOR !== undefined ? {} : { NO_COLOR: '1' }),
            }),
            logFile,
            timeoutMs,
          }),
        );
        if (outcome.interruptedBy !== undefined) {
          throw new HarnessError('run mocha under Wine', `interrupted by ${outcome.interruptedBy}`);
        }
        if (outcome.timedOut) {
          throw new HarnessError('run mocha under Wine', `timed out after ${timeoutMs / 1000} s (WINSOCK_FFI_TEST_TIMEOUT_S); killed`);
        }
        node.exits.push(outcome.code ?? 1);
      }
    } finally {
      await step('stop Wine (wineserver -k)', () => windowsNode.stopWine());
    }
  }
}

/**
 * Checks the runs as a whole, prints a line per Node (its runs added up) and the summary
 * line (everything added up) last. Returns the exit code.
 */
async function verdict(nodes: readonly NodeRuns[]): Promise<number> {
  const problems: string[] = [];
  const total: Summary = { passed: 0, failed: 0, skipped: 0, skipReasons: {} };
  const lines: string[] = [];
  for (const node of nodes) {
    const ofNode: Summary = { passed: 0, failed: 0, skipped: 0, skipReasons: {} };
    for (const [index, suite] of node.runs.entries()) {
      const mochaExit = node.exits[index]!;
      const summary = await step(`read the test summary: ${suite.name}`, () => readSummary(suite.summaryFile));
      if (summary === undefined) {
        throw new HarnessError(
          'read the test summary',
          `mocha (${suite.name}) on ${node.description} exited with code ${mochaExit} and wrote no ${suite.summaryFile}: it stopped before the end of the run ` +
            '(a spec that fails to load, a crash), or the run no longer uses test/support/summary-reporter.cjs',
        );
      }
      if (mochaExit !== 0) problems.push(`mocha (${suite.name}) on ${node.description} exited with code ${mochaExit}`);
      if (summary.failed > 0) problems.push(`${summary.failed} failed (${suite.name}) on ${node.description}`);
      for (const into of [ofNode, total]) {
        into.passed += summary.passed;
        into.failed += summary.failed;
        into.skipped += summary.skipped;
      }
    }
    if (ofNode.passed + ofNode.failed === 0) problems.push(`no test ran on ${node.description}`);
    lines.push(`${node.description}: ${summaryLine(ofNode)}`);
  }
  for (const problem of problems) process.stderr.write(`npm test: FAILED: ${problem}\n`);
  process.stdout.write(`\n${lines.join('\n')}\n${summaryLine(total)}\n`);
  return problems.length === 0 ? 0 : 1;
}
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof HarnessError) {
      process.stderr.write(`npm test: step "${error.step}" failed: ${error.message}\n`);
    } else {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`npm test: harness error: ${detail}\n`);
    }
    process.exit(1);
  },
);
