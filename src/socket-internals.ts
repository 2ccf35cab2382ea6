// What the modules of this package share about Socket objects without importing the
// Socket class (which would make import cycles): the symbols of its internal members,
// a brand check, and who owns which handle. Nothing here is exported by the package.
//
// Ownership: every handle this package creates or adopts is claimed here from the
// moment it exists until closesocket, whether a Socket or a pending AcceptEx holds it.
// Windows reuses handle numbers at once, so a number that is claimed can never be
// adopted a second time, and a closed Socket's number is never used again by it.
// A claimed handle is closed only by its claimant. Refused claims: a handle the system
// made just now (claimNewHandle) is ours and closed; one that may not be new (fromHandle,
// and fromDuplicate, whose WSASocketW under Wine returns the number the info names) is
// left to whoever holds it.

import { SocketStateError } from './errors.ts';
import * as sys from './sys/index.ts';
import type { Handle } from './sys/index.ts';

/** @internal The live handle, or SocketClosedError naming the operation. */
export const handleOf: unique symbol = Symbol('winsock-ffi.handleOf');
/** @internal A hook close() runs with the live handle just before closesocket. */
export const beforeClose: unique symbol = Symbol('winsock-ffi.beforeClose');
/** @internal Marks a socket connected by ConnectEx (too late for the fast path). */
export const markConnected: unique symbol = Symbol('winsock-ffi.markConnected');
/** @internal Whether the socket's pending async operations keep the process alive (ref/unref). */
export const isReferenced: unique symbol = Symbol('winsock-ffi.isReferenced');
/** @internal Throws SocketStateError for a listener: streams and data calls need a connection. */
export const requireConnectable: unique symbol = Symbol('winsock-ffi.requireConnectable');
/** @internal On a listener: wraps a handle AcceptEx filled into a new connected Socket. */
export const adoptAccepted: unique symbol = Symbol('winsock-ffi.adoptAccepted');
/**
 * @internal True for a Socket over a handle made elsewhere (Socket.fromHandle, fromDuplicate):
 * its completion mode is unknown, so a completion port sets skip-on-success itself.
 */
export const wasAdopted: unique symbol = Symbol('winsock-ffi.wasAdopted');

const sockets = new WeakSet<object>();

/** @internal Called by the Socket constructor. */
export function brandSocket(socket: object): void {
  sockets.add(socket);
}

/** @internal True for Socket objects made by this package's constructor. */
export function isSocket(value: unknown): boolean {
  return typeof value === 'object' && value !== null && sockets.has(value);
}

const owned = new Set<Handle>();

/**
 * @internal Claims a handle for this package; throws ERR_SOCKET_OWNED when it is
 * claimed already (adopting it twice would close it twice).
 */
export function claimHandle(handle: Handle): void {
  if (owned.has(handle)) throw new SocketStateError('ERR_SOCKET_OWNED', `handle ${handle} already belongs to an open Socket`);
  owned.add(handle);
}

/** @internal Gives a handle up, right before it is closed. */
export function releaseHandle(handle: Handle): void {
  owned.delete(handle);
}

/**
 * @internal Claims a handle the system made just now (WSASocketW without an info, accept):
 * it is ours, whatever the claims say. A claim on its number already is a stale one: some
 * Socket's handle was closed behind its back and the system handed the number out again.
 * No Socket can take the new handle then, so it is closed (never left open and unowned),
 * and ERR_SOCKET_OWNED says why.
 */
export function claimNewHandle(handle: Handle, operation: string): void {
  if (!owned.has(handle)) {
    owned.add(handle);
    return;
  }
  try {
    sys.closeSocket(handle);
  } catch {
    // The error below is the one to report.
  }
  throw new SocketStateError(
    'ERR_SOCKET_OWNED',
    `${operation}: the system gave handle ${handle}, which a Socket here still counts as its own (was that Socket's handle closed behind its back, e.g. closesocket on socket.handle?); the new handle was closed`,
  );
}

/** @internal A handle this package created, claimed at once (closed if it cannot be). */
export function createOwnedSocket(family: Parameters<typeof sys.createSocket>[0], type: sys.SocketType, registeredIo = false, operation = 'socket'): Handle {
  const handle = sys.createSocket(family, type, registeredIo);
  claimNewHandle(handle, operation);
  return handle;
}

/** @internal Closes a claimed handle nobody else holds (a pending AcceptEx's socket, say). */
export function closeOwnedSocket(handle: Handle): void {
  releaseHandle(handle);
  sys.closeSocket(handle);
}

// A safety net only: a Socket dropped without close() still gives its handle back.
const finalizer = new FinalizationRegistry<Handle>((handle) => {
  if (!owned.has(handle)) return;
  try {
    closeOwnedSocket(handle);
  } catch {
    // Nothing to report to: the owner is gone.
  }
});

/** @internal Closes `handle` if `owner` is collected without close(). */
export function closeWhenCollected(owner: object, handle: Handle): void {
  finalizer.register(owner, handle, owner);
}

/** @internal close() was called: the finalizer must not close the handle again. */
export function forgetCollected(owner: object): void {
  finalizer.unregister(owner);
}

const streamed = new WeakSet<object>();

/** @internal True once toStream() made a stream, which owns the socket. */
export function isStreamed(socket: object): boolean {
  return streamed.has(socket);
}

/** @internal One stream per socket: two would race for the same bytes. Throws for the second. */
export function claimStream(socket: object): void {
  if (streamed.has(socket)) throw new SocketStateError('ERR_SOCKET_STREAMED', 'toStream: this socket already has a stream, which owns it');
  streamed.add(socket);
}
