// Errors shaped like Node's system errors: `code`, `errno`, `syscall`, and the
// system's own message.

import { errorName } from './sys/windows/error-names.ts';
import { systemMessage } from './sys/windows/ffi.ts';

export interface ErrorEndpoint {
  readonly address?: string;
  readonly port?: number;
}

/** A Winsock call failed: `code` 'WSAECONNREFUSED', `errno` 10061, `syscall` 'connect'. */
export class WinsockError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly address?: string;
  readonly port?: number;

  constructor(syscall: string, errno: number, endpoint?: ErrorEndpoint) {
    const code = errorName(errno);
    const where = endpoint?.address !== undefined ? ` ${endpoint.address}${endpoint.port !== undefined ? `:${endpoint.port}` : ''}` : '';
    super(`${syscall} ${code}${where}: ${systemMessage(errno)}`);
    this.name = 'WinsockError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (endpoint?.address !== undefined) this.address = endpoint.address;
    if (endpoint?.port !== undefined) this.port = endpoint.port;
  }
}

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
