// The records of RIO requests in flight: what each request issued holds until its result
// is dequeued.
//
// Each request issued takes a record; its index is the RequestContext RIO reports back,
// so that a result finds what the request holds (its buffer range, its queue, the
// caller's context) without trusting anything else in the result. Records are reused.
// Ownership: request-queue.ts takes a record when it issues a request; completion-queue.ts
// frees it when the result is dequeued, or moves it to `abandoned` when the result can
// never come (its completion queue closed or broke): a record there, and the buffer it
// pins, are held for good (a leak beats a corruption).

import type { BufferState, RegisteredBuffer } from './registered-buffer.ts';

/** What a RIO request was. */
export type RioRequestKind = 'send' | 'receive';

/**
 * What a completion queue needs of the request queue that issued a request (the state
 * behind a RequestQueue, request-queue.ts, which sits above the completion queue).
 */
export interface Issuer {
  /** The published RequestQueue, reported as RioResult.queue. */
  readonly owner: object;
  /** Its socket is closed (which ends the native request queue). */
  readonly closed: boolean;
  /** Requests issued whose results have not been dequeued. */
  readonly outstanding: number;
  /** The completion queue (its state) that reports requests of one direction; compared by identity. */
  completionQueueFor(kind: RioRequestKind): object;
  /** A result of this queue was dequeued. */
  settled(kind: RioRequestKind): void;
}

export class RequestRecord {
  readonly index: number;
  inUse = false;
  kind: RioRequestKind = 'receive';
  queue: Issuer | null = null;
  /** The buffer, reported as RioResult.buffer, and its state, unpinned with the result. */
  buffer: RegisteredBuffer | null = null;
  bufferState: BufferState | null = null;
  offset = 0;
  length = 0;
  context: unknown = undefined;
  /** Where this record sits in its buffer's list of pending requests. */
  slot = -1;

  constructor(index: number) {
    this.index = index;
  }
}

/** Every record made, by index (the RequestContext). */
export const records: RequestRecord[] = [];
const freeRecords: RequestRecord[] = [];
/** Records of requests whose completion never came before their completion queue closed or broke: held for good. */
export const abandoned: RequestRecord[] = [];

export function takeRecord(): RequestRecord {
  const record = freeRecords.pop() ?? new RequestRecord(records.length);
  if (record.index === records.length) records.push(record);
  record.inUse = true;
  return record;
}

export function freeRecord(record: RequestRecord): void {
  record.inUse = false;
  record.queue = null;
  record.buffer = null;
  record.bufferState = null;
  record.context = undefined;
  freeRecords.push(record);
}
