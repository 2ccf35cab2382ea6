// Whether this system has Registered I/O (RIO, Windows 8 / Server 2012 and later), the
// function table every RIO object is made with, and the errors the RIO objects share.
//
// Owns nothing: the table is sys/windows/rio.ts's, asked for once there. Every RIO
// constructor takes the table through rioApi(), so that a system without RIO answers
// ERR_RIO_UNAVAILABLE, with the system's own answer as its cause, before anything is made.

import { SocketStateError, WinsockError } from '../core/errors.ts';
import { rio } from '../sys/index.ts';
import type { RioApi } from '../sys/index.ts';

/** Whether this system has Registered I/O: asks once, with a throw-away socket. False under Wine and before Windows 8. */
export function registeredIoSupported(): boolean {
  return rio.unavailableBecause() === null;
}

/**
 * Null when this system has Registered I/O, else the name of the error the system
 * answered the request for its function table with ('WSAEOPNOTSUPP' under Wine and
 * before Windows 8).
 */
export function registeredIoUnavailableBecause(): string | null {
  return rio.unavailableBecause();
}

/** The function table, or ERR_RIO_UNAVAILABLE with the system's answer as its cause. */
export function rioApi(operation: string): RioApi {
  try {
    return rio.api();
  } catch (error) {
    if (!(error instanceof WinsockError)) throw error;
    const unavailable = new SocketStateError(
      'ERR_RIO_UNAVAILABLE',
      `${operation}: this system has no Registered I/O (WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) answered ${error.code})`,
    );
    unavailable.cause = error;
    throw unavailable;
  }
}

/** ERR_RIO_CLOSED: a closed buffer or completion queue refuses every call. */
export function closedError(what: string, operation: string): SocketStateError {
  return new SocketStateError('ERR_RIO_CLOSED', `${operation}: the ${what} is closed`);
}
