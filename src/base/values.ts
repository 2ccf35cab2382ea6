// How unexpected values are named in error messages, and the integer check every
// range check builds on. No imports: address.ts, which the platform layer itself
// uses, checks its arguments with these without importing checks.ts (whose imports
// reach the platform layer: that would be an import cycle). checks.ts re-exports them.

/** How an unexpected value is named in a message: '"text"', '12n', 'null', 'an instance of Map'. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return `an instance of ${typeof name === 'string' && name !== '' ? name : 'Object'}`;
}

/** An integer in [min, max]: TypeError for anything else (NaN, 1.5, '1'), RangeError outside. */
export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (value < min || value > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}
