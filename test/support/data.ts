// Test data shared by the transfer specs: reproducible byte patterns, and a SHA-256
// to compare what was sent with what arrived without printing megabytes on failure.
import { createHash } from 'node:crypto';

/** `size` bytes of a pattern that depends on `seed`: different seeds give different data. */
export function pattern(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed * 7 + (i >>> 9)) & 0xff;
  return data;
}

/** The SHA-256 of `data`, as hex. */
export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
