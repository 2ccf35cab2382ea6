// WSAPoll over a set of sockets: readiness for the non-blocking model.

import { check } from './error.ts';
import { ws2 } from './ffi.ts';
import type { Handle } from './ffi.ts';

/** One WSAPOLLFD record's worth of input and output. */
export interface PollRecord {
  handle: Handle;
  events: number;
  revents: number;
}

/** WSAPoll over `records`, filling in each `revents`; returns how many are ready. */
export function poll(records: PollRecord[], timeoutMs: number): number {
  // WSAPOLLFD: SOCKET fd; short events; short revents (16 bytes with padding).
  const array = Buffer.alloc(16 * records.length);
  records.forEach((record, i) => {
    array.writeBigUInt64LE(BigInt(record.handle), 16 * i);
    array.writeInt16LE(record.events, 16 * i + 8);
  });
  const ready = check(ws2().WSAPoll(array, records.length, timeoutMs), 'WSAPoll');
  records.forEach((record, i) => {
    record.revents = array.readUInt16LE(16 * i + 10);
  });
  return ready;
}
