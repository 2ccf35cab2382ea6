'use strict';
// Mocha reporter: the usual Spec output, then skips grouped by reason and one
// machine-checkable line `N passed, N failed, N skipped`. Also writes the counts as
// JSON (path in WINSOCK_FFI_SUMMARY_FILE) so that scripts/test.ts can check that
// tests really ran without parsing Windows node's output.
// CommonJS because Mocha loads reporters with require().

const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { Spec, Base } = Mocha.reporters;
const { EVENT_HOOK_END, EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING } =
  Mocha.Runner.constants;
const { HOOK_TYPE_BEFORE_ALL } = Mocha.Suite.constants;

const NO_REASON = 'no reason given';
/** How the reason of every skip made by realWindowsOnly() (test/support/skip.ts) begins. */
const NEEDS_REAL_WINDOWS = 'needs real Windows: ';

/**
 * @typedef {object} Summary
 * @property {number} passed
 * @property {number} failed Failed tests and failed hooks.
 * @property {number} skipped
 * @property {Record<string, number>} skipReasons Skip count per reason.
 * @property {string[]} skippedWithoutReason Full titles of skips that gave no reason.
 * @property {string[]} failures Full titles of what failed.
 */

/**
 * A skip reason recorded by test/support/skip.ts (`skipReason` on the runnable), if any.
 * @param {unknown} runnable
 * @returns {string | undefined}
 */
function ownReason(runnable) {
  if (runnable === null || typeof runnable !== 'object') return undefined;
  const reason = /** @type {{ skipReason?: unknown }} */ (runnable).skipReason;
  return typeof reason === 'string' && reason !== '' ? reason : undefined;
}

class SummaryReporter extends Spec {
  /**
   * @param {Mocha.Runner} runner
   * @param {Mocha.MochaOptions} [options]
   */
  constructor(runner, options) {
    super(runner, options);

    let passed = 0;
    let failed = 0;
    /** @type {Map<string, string[]>} reason -> full titles */
    const skipsByReason = new Map();
    /** @type {string[]} */
    const failures = [];
    // A skip in a `before` hook marks the whole suite pending, but the helper can only
    // tag one runnable (the suite's first test, or the hook): remember the reason per suite.
    /** @type {WeakMap<Mocha.Suite, string>} */
    const suiteReasons = new WeakMap();

    /** @param {Mocha.Test} test */
    const reasonFor = (test) => {
      const own = ownReason(test);
      if (own !== undefined) return own;
      for (let suite = test.parent; suite !== undefined; suite = suite.parent) {
        const inherited = suiteReasons.get(suite);
        if (inherited !== undefined) return inherited;
      }
      return NO_REASON;
    };

    runner.on(EVENT_HOOK_END, (/** @type {Mocha.Hook} */ hook) => {
      const suite = hook.parent;
      if (!hook.isPending() || suite === undefined) return;
      if (!suite.getHooks(HOOK_TYPE_BEFORE_ALL).includes(hook)) return;
      const reason = ownReason(hook) ?? ownReason(hook.ctx?.currentTest);
      if (reason !== undefined) suiteReasons.set(suite, reason);
    });
    runner.on(EVENT_TEST_PASS, () => {
      passed++;
    });
    // Fires for hooks too, so a failed before/after hook counts as a failure.
    runner.on(EVENT_TEST_FAIL, (/** @type {Mocha.Runnable} */ runnable) => {
      failed++;
      failures.push(runnable.fullTitle());
    });
    runner.on(EVENT_TEST_PENDING, (/** @type {Mocha.Test} */ test) => {
      const reason = reasonFor(test);
      const titles = skipsByReason.get(reason) ?? [];
      titles.push(test.fullTitle());
      skipsByReason.set(reason, titles);
    });

    // Registered after Spec's own RUN_END listener, so this prints after its epilogue.
    runner.once(EVENT_RUN_END, () => {
      /** @type {Summary} */
      const summary = {
        passed,
        failed,
        skipped: [...skipsByReason.values()].reduce((n, titles) => n + titles.length, 0),
        skipReasons: Object.fromEntries([...skipsByReason].map(([reason, titles]) => [reason, titles.length])),
        skippedWithoutReason: skipsByReason.get(NO_REASON) ?? [],
        failures,
      };
      printSkips(skipsByReason);
      Base.consoleLog(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
      writeSummaryFile(summary);
    });
  }
}

/** @param {Map<string, string[]>} skipsByReason */
function printSkips(skipsByReason) {
  const log = Base.consoleLog;
  if (skipsByReason.size === 0) {
    log('Skipped: none');
    return;
  }
  log('Skipped:');
  const rows = [...skipsByReason].sort(([ra, a], [rb, b]) => b.length - a.length || ra.localeCompare(rb));
  const width = String(rows[0]?.[1].length ?? 0).length;
  for (const [reason, titles] of rows) {
    log(Base.color('pending', `  ${String(titles.length).padStart(width)}  ${reason}`));
  }
  const realWindows = rows.filter(([reason]) => reason.startsWith(NEEDS_REAL_WINDOWS)).reduce((n, [, titles]) => n + titles.length, 0);
  if (realWindows > 0) log(Base.color('pending', `  (${realWindows} of them only real Windows can run: realWindowsOnly in test/support/skip.ts)`));
  const unexplained = skipsByReason.get(NO_REASON);
  if (unexplained !== undefined) {
    // Every skip should say why (skipUnder or realWindowsOnly in test/support/skip.ts); name the ones that don't.
    log(Base.color('fail', `  ! ${unexplained.length} skipped without a reason (use skipUnder or realWindowsOnly from test/support/skip.ts):`));
    for (const title of unexplained) log(Base.color('fail', `      - ${title}`));
  }
}

/** @param {Summary} summary */
function writeSummaryFile(summary) {
  const file = process.env.WINSOCK_FFI_SUMMARY_FILE;
  if (file === undefined || file === '') return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
}

module.exports = SummaryReporter;
