// The arithmetic behind the benchmark's verdicts, kept apart from the I/O so that it can be
// tested on any node (test/pure/bench-verdicts.test.ts): the median of a row's rounds and
// their spread, a ratio judged against its limit, and the exit code with --check.
// The targets themselves (which rows, which limits) are data in bench/report.ts.

/** The median of `values` (the mean of the two middle ones for an even count). Throws on none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The index in `values` of the median value: the middle one for an odd count, the lower of
 * the two middle ones for an even count (an actual round, for what cannot be averaged, such
 * as a latency distribution). Ties keep the earlier round. Throws on none.
 */
export function medianIndex(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value || a.index - b.index);
  return order[(values.length - 1) >> 1]!.index;
}

/** The smallest and largest of `values`. Throws on none. */
export function spread(values: readonly number[]): { min: number; max: number } {
  if (values.length === 0) throw new Error('spread of no values');
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * `top / bottom` for each round that both rows ran: the ratio a target judges, round by
 * round, which shows how far noise moved it. The rows run in the same rounds (interleaved),
 * so the i-th values were measured at about the same moment.
 */
export function roundRatios(top: readonly number[], bottom: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(top.length, bottom.length); i++) {
    if (bottom[i]! !== 0) out.push(top[i]! / bottom[i]!);
  }
  return out;
}

/** Whether `ratio` meets `limit`: at most it (a latency), or at least it (a throughput). null: no limit. */
export function meets(ratio: number, limit: number | null, atLeast: boolean): boolean | null {
  if (limit === null) return null;
  return atLeast ? ratio >= limit : ratio <= limit;
}

/** The exit code of a benchmark run, and the targets --check holds against it. */
export interface ExitDecision {
  code: number;
  /** Names of the targets missed (met === false), whether or not --check was given. */
  missed: string[];
}

/** A row failed (it has no figures though the system offers it): exit code 1, as without --check. */
export const EXIT_ROW_FAILED = 1;
/** --check and every row ran, but at least one target was missed. */
export const EXIT_TARGET_MISSED = 2;

/**
 * The exit code: 1 when a row failed; otherwise, with `check`, 2 when any target was
 * missed; else 0. A target that could not be judged (a row not run or n/a, no limit) is
 * not missed: it never fails the run by itself.
 */
export function exitDecision(input: { rowFailed: boolean; check: boolean; targets: readonly { name: string; met: boolean | null }[] }): ExitDecision {
  const missed = input.targets.filter((target) => target.met === false).map((target) => target.name);
  if (input.rowFailed) return { code: EXIT_ROW_FAILED, missed };
  return { code: input.check && missed.length > 0 ? EXIT_TARGET_MISSED : 0, missed };
}
