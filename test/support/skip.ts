// Skips that name their reason: the summary reporter groups and counts them.
import { underWine, underWineBefore, wineName } from './env.ts';

/** How every real-Windows-only skip's reason begins; only realWindowsOnly() writes it. */
const NEEDS_REAL_WINDOWS = 'needs real Windows: ';

/** Skips the running test (or the hook's suite) when `condition` holds, recording `reason`. */
export function skipUnder(ctx: Mocha.Context, condition: boolean, reason: string): void {
  if (reason.startsWith(NEEDS_REAL_WINDOWS)) {
    throw new Error(`a skip for what only real Windows can do goes through realWindowsOnly(), not skipUnder(): "${reason}"`);
  }
  skip(ctx, condition, reason);
}

/**
 * The one marker of a test (or, from a `before`/`beforeEach` hook, of a suite) that only
 * real Windows can run. On real Windows it does nothing. Under Wine it skips the rest of
 * the test with the reason "needs real Windows: Wine 8.0 <wineCannot>", which the summary
 * reporter counts with the other skips. Call it where the part Wine can check ends: often
 * the test's first line, sometimes after the checks of what Wine answers instead.
 *
 * `wineCannot` says what Wine lacks, following its name: "has no SIO_TCP_INFO
 * (WSAEOPNOTSUPP)". `orWine: 10` runs the test under Wine 10 and later as well, for what
 * a newer Wine has.
 *
 *     it('tcpInfo() reports an established connection', function () {
 *       realWindowsOnly(this, 'has no SIO_TCP_INFO (WSAEOPNOTSUPP)');
 *       ...
 *     });
 */
export function realWindowsOnly(ctx: Mocha.Context, wineCannot: string, options: { readonly orWine?: number } = {}): void {
  const skipped = options.orWine === undefined ? underWine : underWineBefore(options.orWine);
  skip(ctx, skipped, `${NEEDS_REAL_WINDOWS}${wineName} ${wineCannot}`);
}

function skip(ctx: Mocha.Context, condition: boolean, reason: string): void {
  if (!condition) return;
  const test = (ctx.currentTest ?? ctx.test) as (Mocha.Runnable & { skipReason?: string }) | undefined;
  if (test !== undefined) test.skipReason = reason;
  ctx.skip();
}
