// The package's errors. WinsockError (a failed Winsock call, shaped like Node's system
// errors) is defined by the platform layer, which throws it; the rest are ours.

export { WinsockError } from './sys/index.ts';
export type { ErrorEndpoint } from './sys/index.ts';

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

/** recvExact() met the end of the stream before the buffer was full. */
export class EndOfStreamError extends Error {
  readonly code = 'ERR_END_OF_STREAM';
  readonly bytesRead: number;
  constructor(bytesRead: number, expected: number) {
    super(`recvExact: the peer ended the stream after ${bytesRead} of ${expected} bytes`);
    this.name = 'EndOfStreamError';
    this.bytesRead = bytesRead;
  }
}
