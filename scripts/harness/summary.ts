// The JSON written by test/support/summary-reporter.cjs at the end of a mocha run.
import fs from 'node:fs';

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  /** Skip count per reason. */
  skipReasons: Record<string, number>;
}

/** Reads and checks the summary; undefined when mocha wrote none (it died before the end). */
export function readSummary(file: string): Summary | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed: unknown = JSON.parse(text);
  if (!isSummary(parsed)) throw new Error(`${file} is not a summary written by test/support/summary-reporter.cjs`);
  return parsed;
}

export function summaryLine(summary: Summary): string {
  return `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
}

function isSummary(value: unknown): value is Summary {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  const isCount = (key: string): boolean => Number.isSafeInteger(record[key]) && (record[key] as number) >= 0;
  return (
    isCount('passed') &&
    isCount('failed') &&
    isCount('skipped') &&
    typeof record.skipReasons === 'object' &&
    record.skipReasons !== null
  );
}
