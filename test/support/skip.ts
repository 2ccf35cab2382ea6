// Skips that name their reason: the summary reporter groups and counts them.

/** Skips the running test (or the hook's suite) when `condition` holds, recording `reason`. */
export function skipUnder(ctx: Mocha.Context, condition: boolean, reason: string): void {
  if (!condition) return;
  const test = (ctx.currentTest ?? ctx.test) as (Mocha.Runnable & { skipReason?: string }) | undefined;
  if (test !== undefined) test.skipReason = reason;
  ctx.skip();
}

/** The reason used for everything that only real Windows can show. */
export function needsRealWindows(what: string): string {
  return `needs real Windows: ${what}`;
}
