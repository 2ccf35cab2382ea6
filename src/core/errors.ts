// The package's errors. WinsockError (a failed Winsock call, shaped like Node's system
// errors) is defined by the platform layer, which throws it; the rest are ours.

export { WinsockError } from '../sys/index.ts';
export type { ErrorEndpoint } from '../sys/index.ts';

/** Any call on a closed Socket: the handle number may already belong to another socket. */
export class SocketClosedError extends Error {
  readonly code = 'ERR_SOCKET_CLOSED';
  constructor(operation: string) {
    super(`${operation}: the socket is closed`);
    this.name = 'SocketClosedError';
  }
}

/** A call made in the wrong state, e.g. the fast path asked for after connect. */
export class SocketStateError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SocketStateError';
    this.code = code;
  }
}

/**
 * recvExact() or recvExactAsync() met the end of the stream before the buffer was full, as
 * asyncio's IncompleteReadError: `bytesRead` bytes came, the first bytes of the buffer
 * (`partial`, a view of it), of the `expected` byte length.
 */
export class EndOfStreamError extends Error {
  readonly code = 'ERR_END_OF_STREAM';
  readonly bytesRead: number;
  /** The buffer's byte length: what was asked for. */
  readonly expected: number;
  /** The bytes that came: the first `bytesRead` bytes of the buffer (a view, not a copy). */
  readonly partial: Uint8Array;
  constructor(bytesRead: number, expected: number, partial: Uint8Array = new Uint8Array(0), operation = 'recvExact') {
    super(`${String(operation)}: the peer ended the stream after ${bytesRead} of ${expected} bytes`);
    this.name = 'EndOfStreamError';
    this.bytesRead = bytesRead;
    this.expected = expected;
    this.partial = partial;
  }
}

/**
 * A receive completed into a buffer that was detached (transferred) or shrunk while it
 * was pending: the bytes that came could not be delivered. `bytesLost` says how many.
 */
export class BufferDetachedError extends TypeError {
  readonly code = 'ERR_BUFFER_DETACHED';
  readonly syscall: string;
  readonly bytesLost: number;
  constructor(syscall: string, bytesLost: number, byteLength: number) {
    super(`${syscall}: the buffer was detached or shrunk to ${byteLength} bytes while the receive was pending; the ${bytesLost} bytes received are lost`);
    this.name = 'BufferDetachedError';
    this.syscall = syscall;
    this.bytesLost = bytesLost;
  }
}

/** Rejection of an async call whose AbortSignal fired, shaped like Node's own AbortError. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** The AbortError for `signal`, its reason as the cause. */
export function abortedBy(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}
