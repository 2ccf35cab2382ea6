// Failed calls: WinsockError, shaped like Node's system errors (`code`, `errno`,
// `syscall`, the system's own message, or Microsoft's text from error-texts.ts where the
// system has none), and the one idiom every native call in sys/windows checks its result with.
//
// The idiom. What a failure means to the caller picks one of two ways:
//
// 1. Failure is an error: check*(result, syscall) returns the result and throws
//    WinsockError otherwise. Which check* is keyed by how the call signals failure:
//
//      check        SOCKET_ERROR (Winsock's int calls)            WSAGetLastError
//      checkSocket  INVALID_SOCKET (WSASocketW, accept)           WSAGetLastError
//      checkNot     a failure value of its own (FALSE from a      WSAGetLastError
//                   Winsock BOOL, RIO_INVALID_BUFFERID, ...)
//      checkBool    FALSE (kernel32's BOOL calls)                 GetLastError
//      checkHandle  NULL or INVALID_HANDLE_VALUE (kernel32)       GetLastError
//      checkErrno   non-zero, the error number itself             its own result
//                   (WSAStartup, GetAddrInfoW, the RIO double)
//
// 2. Failure is an outcome the caller handles: errnoIf(failed) returns 0 or the
//    Winsock error number, and never throws. Issuing overlapped I/O (0, WSA_IO_PENDING,
//    or the error: then no completion comes), issuing RIO requests, an operation's final
//    result, a feature probe's "not here". When one error is an outcome and every other
//    is an error (WSAEWOULDBLOCK of a non-blocking call, WSAEOPNOTSUPP where a feature is
//    missing, WAIT_TIMEOUT of a wait), failedWith(failed, errno, syscall) says whether the
//    call failed with that one and throws WinsockError for any other; systemFailedWith is
//    its kernel32 twin.
//
// Nothing else in sys/windows reads WSAGetLastError or GetLastError. `new WinsockError`
// is written by hand only for an error number the code already holds (a timeout it
// measured itself, SO_ERROR, an error a probe kept).

import { ERRORS, FORMAT_MESSAGE_FROM_SYSTEM, FORMAT_MESSAGE_IGNORE_INSERTS, SOCKET_ERROR, WSA_OPERATION_ABORTED } from './constants.ts';
import { WSA_ERROR_TEXTS } from './error-texts.ts';
import { INVALID_HANDLE, isWindows, kernel32, toHandle, ws2 } from './ffi.ts';
import type { Handle } from './ffi.ts';

export interface ErrorEndpoint {
  readonly address?: string;
  readonly port?: number;
}

// ERRORS' names first: 6 and 87 are ERROR_INVALID_HANDLE and ERROR_INVALID_PARAMETER
// there, the Win32 errors that winsock2.h's WSA_INVALID_HANDLE and WSA_INVALID_PARAMETER
// are defined as.
const NAMES = new Map<number, string>([...WSA_ERROR_TEXTS.map(([name, errno]) => [errno, name] as const), ...Object.entries(ERRORS).map(([name, errno]) => [errno, name] as const)]);
const TEXTS = new Map<number, string>(WSA_ERROR_TEXTS.map(([, errno, text]) => [errno, text]));

/** 'WSAECONNREFUSED' for 10061; `'WSA_UNKNOWN_<n>'` for a number neither ERRORS nor Microsoft's list has. */
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
function lastSystemError(): number {
  return kernel32().GetLastError();
}

// --- 1. Failure is an error ----------------------------------------------------------

/** socket2's `syscall!`: Winsock's int result, or a WinsockError when it is SOCKET_ERROR. */
export function check(rc: number, syscall: string, endpoint?: ErrorEndpoint): number {
  if (rc === SOCKET_ERROR) throw new WinsockError(syscall, lastError(), endpoint);
  return rc;
}

/** A SOCKET result (WSASocketW, accept) as a Handle, or a WinsockError when it is INVALID_SOCKET. */
export function checkSocket(value: number | bigint, syscall: string): Handle {
  const handle = toHandle(value);
  if (handle === INVALID_HANDLE) throw new WinsockError(syscall, lastError());
  return handle;
}

/** A Winsock result with a failure value of its own (FALSE, RIO_INVALID_BUFFERID, RIO_INVALID_CQ): the value, or a WinsockError. */
export function checkNot(value: number, failure: number, syscall: string): number {
  if (value === failure) throw new WinsockError(syscall, lastError());
  return value;
}

/** A kernel32 BOOL result: a WinsockError with GetLastError when it is FALSE. */
export function checkBool(ok: number | boolean, syscall: string): void {
  if (!ok) throw new WinsockError(syscall, lastSystemError());
}

/** A kernel32 HANDLE result as a Handle, or a WinsockError when it is NULL or INVALID_HANDLE_VALUE. */
export function checkHandle(value: number | bigint, syscall: string): Handle {
  const handle = toHandle(value);
  if (handle === 0 || handle === INVALID_HANDLE) throw new WinsockError(syscall, lastSystemError());
  return handle;
}

/** A call that returns its error number itself (0: success), as WSAStartup and GetAddrInfoW do. */
export function checkErrno(errno: number, syscall: string, endpoint?: ErrorEndpoint): void {
  if (errno !== 0) throw new WinsockError(syscall, errno, endpoint);
}

// --- 2. Failure is an outcome the caller handles --------------------------------------

/**
 * 0 when the call succeeded, else its Winsock error number. For an overlapped call: 0
 * when it finished at once, WSA_IO_PENDING when its completion comes later, or the error
 * it failed with (no completion will come).
 */
export function errnoIf(failed: boolean): number {
  return failed ? lastError() : 0;
}

/**
 * For a call where one Winsock error is an outcome: true when it failed with `errno`,
 * false when it succeeded; any other failure throws WinsockError.
 */
export function failedWith(failed: boolean, errno: number, syscall: string, endpoint?: ErrorEndpoint): boolean {
  if (!failed) return false;
  const actual = lastError();
  if (actual === errno) return true;
  throw new WinsockError(syscall, actual, endpoint);
}

/** failedWith for kernel32 calls (GetLastError). */
export function systemFailedWith(failed: boolean, errno: number, syscall: string): boolean {
  if (!failed) return false;
  const actual = lastSystemError();
  if (actual === errno) return true;
  throw new WinsockError(syscall, actual);
}

const messageCache = new Map<number, string>();
const messageBuffer = Buffer.alloc(2048);

/**
 * The text for an error number: the system's own (FormatMessageW, e.g. 'No connection
 * could be made ...') when it has one, else Microsoft's short description from
 * error-texts.ts ('Address already in use.': Wine has no text for most WSA codes), else
 * 'Winsock error <n>'.
 */
export function systemMessage(errno: number): string {
  const cached = messageCache.get(errno);
  if (cached !== undefined) return cached;
  let text = '';
  if (isWindows()) {
    const flags = FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS;
    const chars = kernel32().FormatMessageW(flags, null, errno >>> 0, 0, messageBuffer, messageBuffer.length / 2, null);
    text = messageBuffer.toString('utf16le', 0, chars * 2).trim();
  }
  if (text === '') text = TEXTS.get(errno) ?? `Winsock error ${errno}`;
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
