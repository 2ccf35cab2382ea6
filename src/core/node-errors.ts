// Errors of the net-compatible layer carry Node's codes, as libuv maps Winsock's
// (uv_translate_sys_error in libuv's src/win/error.c): code 'ECONNREFUSED', errno the
// libuv number Node reports on this platform, syscall, address and port. The Winsock
// name and number stay on the error as winsockCode / winsockErrno. The Socket API
// itself keeps its WSA codes.

import { getSystemErrorMap } from 'node:util';
import { WinsockError } from './errors.ts';

/** Winsock / Win32 error names and the libuv error each becomes. */
const LIBUV_NAMES: Readonly<Record<string, string>> = {
  WSAEACCES: 'EACCES',
  WSAEADDRINUSE: 'EADDRINUSE',
  WSAEADDRNOTAVAIL: 'EADDRNOTAVAIL',
  WSAEAFNOSUPPORT: 'EAFNOSUPPORT',
  WSAEWOULDBLOCK: 'EAGAIN',
  WSAEALREADY: 'EALREADY',
  ERROR_INVALID_HANDLE: 'EBADF',
  WSA_OPERATION_ABORTED: 'ECANCELED',
  WSAEINTR: 'ECANCELED',
  ERROR_CONNECTION_ABORTED: 'ECONNABORTED',
  WSAECONNABORTED: 'ECONNABORTED',
  ERROR_CONNECTION_REFUSED: 'ECONNREFUSED',
  WSAECONNREFUSED: 'ECONNREFUSED',
  ERROR_NETNAME_DELETED: 'ECONNRESET',
  WSAECONNRESET: 'ECONNRESET',
  WSAEFAULT: 'EFAULT',
  WSAEHOSTUNREACH: 'EHOSTUNREACH',
  ERROR_INVALID_PARAMETER: 'EINVAL',
  WSAEINVAL: 'EINVAL',
  WSAEPFNOSUPPORT: 'EINVAL',
  WSAEISCONN: 'EISCONN',
  WSAEMFILE: 'EMFILE',
  WSAEMSGSIZE: 'EMSGSIZE',
  WSAENETUNREACH: 'ENETUNREACH',
  WSAENOBUFS: 'ENOBUFS',
  WSAHOST_NOT_FOUND: 'ENOENT',
  WSANO_DATA: 'ENOENT',
  WSAENOTCONN: 'ENOTCONN',
  WSAENOTSOCK: 'ENOTSOCK',
  WSAESHUTDOWN: 'EPIPE',
  WSAEPROTONOSUPPORT: 'EPROTONOSUPPORT',
  WSAETIMEDOUT: 'ETIMEDOUT',
  WSAESOCKTNOSUPPORT: 'ESOCKTNOSUPPORT',
};

let libuvNumbers: Map<string, number> | null = null;

/** The errno Node reports for a libuv error name here (libuv numbers differ between Windows and Unix). */
function libuvErrno(name: string): number | undefined {
  if (libuvNumbers === null) {
    libuvNumbers = new Map();
    for (const [errno, [code]] of getSystemErrorMap()) libuvNumbers.set(code, errno);
  }
  return libuvNumbers.get(name);
}

/** A Node-style system error, with the Winsock facts kept beside. */
export interface NodeSystemError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  winsockCode?: string;
  winsockErrno?: number;
}

/**
 * A WinsockError as Node's own networking would have reported it ('connect
 * ECONNREFUSED 127.0.0.1:1'); any other error as it is. `syscall` names the call the
 * way node:net does ('connect', 'read', 'write') when given.
 */
export function toNodeError(error: unknown, syscall?: string): unknown {
  if (!(error instanceof WinsockError)) return error;
  const code = LIBUV_NAMES[error.code] ?? 'UNKNOWN';
  const call = syscall ?? error.syscall;
  const where = error.address !== undefined ? ` ${error.address}${error.port !== undefined ? `:${error.port}` : ''}` : '';
  const mapped = new Error(`${call} ${code}${where}`, { cause: error }) as NodeSystemError;
  mapped.code = code;
  const errno = libuvErrno(code);
  if (errno !== undefined) mapped.errno = errno;
  mapped.syscall = call;
  if (error.address !== undefined) mapped.address = error.address;
  if (error.port !== undefined) mapped.port = error.port;
  mapped.winsockCode = error.code;
  mapped.winsockErrno = error.errno;
  return mapped;
}
