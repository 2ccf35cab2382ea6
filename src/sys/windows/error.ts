// Failed calls: WinsockError, shaped like Node's system errors (`code`, `errno`,
// `syscall`, the system's own message), and the one helper every call site checks
// its return value with.

import { ERRORS, FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS, SOCKET_ERROR, WSA_OPERATION_ABORTED } from './constants.ts';
import { isWindows, kernel32, ws2 } from './ffi.ts';

export interface ErrorEndpoint {
  readonly address?: string;
  readonly port?: number;
}

const NAMES = new Map<number, string>(Object.entries(ERRORS).map(([name, errno]) => [errno, name]));

/** 'WSAECONNREFUSED' for 10061; `'WSA_UNKNOWN_<n>'` for a number ERRORS lacks. */
export function errorName(errno: number): string {
  return NAMES.get(errno) ?? `WSA_UNKNOWN_${errno}`;
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

/** WSAGetLastError(): read synchronously right after the failing call, on the same thread. */
export function lastError(): number {
  return ws2().WSAGetLastError();
}

/** GetLastError(), for kernel32 calls. */
export function lastSystemError(): number {
  return kernel32().GetLastError();
}

/**
 * socket2's `syscall!`: a Winsock return value, or a WinsockError with the last
 * Winsock error when it is SOCKET_ERROR.
 */
export function check(rc: number, syscall: string, endpoint?: ErrorEndpoint): number {
  if (rc === SOCKET_ERROR) throw new WinsockError(syscall, lastError(), endpoint);
  return rc;
}

/** The same for kernel32's BOOL results, with GetLastError. */
export function checkBool(ok: number, syscall: string): void {
  if (ok === 0) throw new WinsockError(syscall, lastSystemError());
}

/**
 * An overlapped call's outcome: 0 when it finished at once, WSA_IO_PENDING when its
 * completion comes later, or the error it failed with (no completion will come).
 */
export function issued(failed: boolean): number {
  return failed ? lastError() : 0;
}

const messageCache = new Map<number, string>();
const messageBuffer = Buffer.alloc(2048);

/** The system's own text for an error number (FormatMessageW), e.g. 'No connection could be made ...'. */
export function systemMessage(errno: number): string {
  const cached = messageCache.get(errno);
  if (cached !== undefined) return cached;
  let text = '';
  if (isWindows()) {
    const flags = FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS;
    const chars = kernel32().FormatMessageW(flags, null, errno >>> 0, 0, messageBuffer, messageBuffer.length / 2, null);
    text = messageBuffer.toString('utf16le', 0, chars * 2).trim();
  }
  if (text === '') text = `Winsock error ${errno}`;
  messageCache.set(errno, text);
  return text;
}

/**
 * NTSTATUS values a socket operation can end with, as the Winsock error each means.
 * Read when the socket is already closed: its handle may belong to someone else now,
 * so WSAGetOverlappedResult is out.
 */
const STATUS_ERRORS = new Map<number, number>([
  [0xc0000120, WSA_OPERATION_ABORTED], // STATUS_CANCELLED
  [0xc000020d, ERRORS.WSAECONNRESET], // STATUS_CONNECTION_RESET
  [0xc000013c, ERRORS.WSAECONNRESET], // STATUS_REMOTE_DISCONNECT
  [0xc0000236, ERRORS.WSAECONNREFUSED], // STATUS_CONNECTION_REFUSED
  [0xc0000241, ERRORS.WSAECONNABORTED], // STATUS_CONNECTION_ABORTED
  [0xc000013b, ERRORS.WSAECONNABORTED], // STATUS_LOCAL_DISCONNECT
  [0xc00000b5, ERRORS.WSAETIMEDOUT], // STATUS_IO_TIMEOUT
]);

/** The Winsock error for an NTSTATUS when the socket is gone: anything unknown reads as aborted. */
export function statusErrno(status: number): number {
  return STATUS_ERRORS.get(status >>> 0) ?? WSA_OPERATION_ABORTED;
}
