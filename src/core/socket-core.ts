// SocketCore: what every layer of the package knows about one socket, without the
// public Socket class above it. The engine (iocp/, async/), streams, RIO and the net
// layer take a core; Socket (src/socket.ts) is the public facade over one.
//
// Ownership: every handle this package creates or adopts is claimed here from the
// moment it exists until closesocket, whether a core or a pending AcceptEx holds it.
// Windows reuses handle numbers at once, so a number that is claimed can never be
// adopted a second time, and a closed core's number is never used again by it.
// A claimed handle is closed only by its claimant. Refused claims: a handle the system
// made just now (claimNewHandle) is ours and closed; one that may not be new (fromHandle,
// and fromDuplicate, whose WSASocketW under Wine returns the number the info names) is
// left to whoever holds it.
//
// A core cancels its own pending overlapped I/O when it closes (as a libuv handle
// does): closesocket should abort it, but Wine 8 forgets pending sends of a closed
// socket, so CancelIoEx runs first while the handle is still ours.

import type { AddressFamily } from '../base/address.ts';
import * as sys from '../sys/index.ts';
import type { Handle, SocketType } from '../sys/index.ts';
import { SocketClosedError, SocketStateError } from './errors.ts';
import { Internals } from './internals.ts';

/**
 * The completion port a core's handle belongs to (iocp/associations.ts makes it): a
 * handle belongs to one port for life, or until a handoff takes it off (Windows 8.1+).
 */
export interface PortAssociation {
  /** The port (iocp/port.ts's Port); opaque here. */
  readonly port: object;
  /** The key the port's completions carry for this socket. */
  readonly key: number;
  /** FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set: an operation that succeeds at once queues no packet. */
  skipOnSuccess: boolean;
}

/** How a core starts out: made here, or over a handle claimed already. */
export interface CoreInit {
  readonly handle: Handle;
  readonly family: AddressFamily;
  readonly type: SocketType;
  /** Connected already, or a listener that accepted: the fast path can no longer be asked for. */
  readonly fastPathTooLate?: boolean;
  readonly loopbackFastPath?: boolean;
  /** Made with WSA_FLAG_REGISTERED_IO (an accepted socket: its listener was). */
  readonly registeredIo?: boolean;
  /** An adopted handle that is listening already. */
  readonly listening?: boolean;
  /** Made elsewhere (fromHandle, fromDuplicate): its completion mode is unknown. */
  readonly adopted?: boolean;
}

export class SocketCore {
  readonly family: AddressFamily;
  readonly type: SocketType;
  #handle: Handle;
  /** Connected, or a listener that has accepted: enableLoopbackFastPath() comes too late. */
  fastPathTooLate: boolean;
  /** SIO_LOOPBACK_FAST_PATH took effect. */
  loopbackFastPath: boolean;
  /** The last FIONBIO set here (Windows cannot be asked). */
  blocking = true;
  /** Created with WSA_FLAG_REGISTERED_IO. */
  readonly registeredIo: boolean;
  /** Whether pending async operations keep the process alive (ref/unref). */
  referenced = true;
  /** listen() was called (or the adopted handle was listening): only accept calls make sense. */
  listening: boolean;
  /** Known to be bound (a UDP socket must be, for a receive to ever complete). */
  bound: boolean;
  /** Over a handle made elsewhere (fromHandle, fromDuplicate): its completion mode is unknown. */
  readonly adopted: boolean;
  /** detach() gave the handle away: every call is refused, close() does nothing. */
  detached = false;
  /** A stream owns the socket (toStream, createConnection): one per socket. */
  streamed = false;
  /** The completion port the handle belongs to, or null (see PortAssociation). */
  association: PortAssociation | null = null;
  /** Overlapped operations issued and not yet reported, on whatever port (a handoff waits for 0). */
  pending = 0;

  constructor(init: CoreInit) {
    this.#handle = init.handle;
    this.family = init.family;
    this.type = init.type;
    this.fastPathTooLate = init.fastPathTooLate ?? false;
    this.loopbackFastPath = init.loopbackFastPath ?? false;
    this.registeredIo = init.registeredIo ?? false;
    this.listening = init.listening ?? false;
    this.bound = this.fastPathTooLate || this.listening;
    this.adopted = init.adopted ?? false;
    closeWhenCollected(this, init.handle);
  }

  /** The live handle, or SocketClosedError naming `operation` (ERR_SOCKET_DETACHED after detach()). */
  live(operation: string): Handle {
    const handle = this.#handle;
    if (handle === sys.INVALID_HANDLE) {
      if (this.detached) throw new SocketStateError('ERR_SOCKET_DETACHED', `${operation}: the socket was detached; its handle belongs to whoever took it`);
      throw new SocketClosedError(operation);
    }
    return handle;
  }

  get closed(): boolean {
    return this.#handle === sys.INVALID_HANDLE;
  }

  /** Connected (connect or ConnectEx finished): too late for the fast path, and bound. */
  markConnected(): void {
    this.fastPathTooLate = true;
    this.bound = true;
  }

  /** closesocket(), after cancelling the socket's own pending I/O. Idempotent. */
  close(): void {
    const handle = this.#handle;
    if (handle === sys.INVALID_HANDLE) return;
    // Forget the handle first: even if closesocket fails, the number is no longer ours.
    this.#handle = sys.INVALID_HANDLE;
    forgetCollected(this);
    if (this.association !== null) {
      try {
        sys.overlapped.cancelAll(handle);
      } catch {
        // closesocket aborts them anyway (on Windows).
      }
    }
    releaseHandle(handle);
    sys.closeSocket(handle);
  }

  /** Gives the handle away (detach): from here on every call is refused and close() does nothing. */
  giveAway(): Handle {
    const handle = this.live('detach');
    this.#handle = sys.INVALID_HANDLE;
    this.detached = true;
    this.association = null;
    forgetCollected(this);
    releaseHandle(handle);
    return handle;
  }
}

/**
 * The public Socket objects and their cores: the one way modules of this package get
 * from a Socket they were handed to its core (`sockets.of(socket, 'socket')` checks
 * that it is one of ours).
 */
export const sockets = new Internals<object, SocketCore>('a Socket');

/** Data calls on a listener would wait forever: a listener only accepts. */
export function requireDataSocket(core: SocketCore, operation: string): void {
  if (core.listening) throw new SocketStateError('ERR_SOCKET_LISTENING', `${operation}: this socket is listening; send and receive on the sockets acceptAsync() gives`);
}

/** One stream per socket: two would race for the same bytes. Throws for the second. */
export function claimStream(core: SocketCore): void {
  if (core.streamed) throw new SocketStateError('ERR_SOCKET_STREAMED', 'toStream: this socket already has a stream, which owns it');
  core.streamed = true;
}

// --- Handle ownership ------------------------------------------------------------------

const owned = new Set<Handle>();

/** Claims a handle; throws ERR_SOCKET_OWNED when it is claimed already (adopting it twice would close it twice). */
export function claimHandle(handle: Handle): void {
  if (owned.has(handle)) throw new SocketStateError('ERR_SOCKET_OWNED', `handle ${handle} already belongs to an open Socket`);
  owned.add(handle);
}

/** Gives a handle up, right before it is closed or handed away. */
export function releaseHandle(handle: Handle): void {
  owned.delete(handle);
}

/**
 * Claims a handle the system made just now (WSASocketW without an info, accept): it is
 * ours, whatever the claims say. A claim on its number already is a stale one: some
 * Socket's handle was closed behind its back and the system handed the number out again.
 * No Socket can take the new handle then, so it is closed (never left open and unowned),
 * and ERR_SOCKET_OWNED says why.
 */
export function claimNewHandle(handle: Handle, operation: string): void {
  if (!owned.has(handle)) {
    owned.add(handle);
    return;
  }
  closeQuietly(handle);
  throw new SocketStateError(
    'ERR_SOCKET_OWNED',
    `${operation}: the system gave handle ${handle}, which a Socket here still counts as its own (was that Socket's handle closed behind its back, e.g. closesocket on socket.handle?); the new handle was closed`,
  );
}

/** A handle this package created, claimed at once (closed if it cannot be). */
export function createOwnedSocket(family: AddressFamily, type: SocketType, registeredIo = false, operation = 'socket'): Handle {
  const handle = sys.createSocket(family, type, registeredIo);
  claimNewHandle(handle, operation);
  return handle;
}

/** Closes a claimed handle nobody else holds (a pending AcceptEx's socket, say). */
export function closeOwnedSocket(handle: Handle): void {
  releaseHandle(handle);
  sys.closeSocket(handle);
}

/** closesocket for a handle of ours that failed to become a Socket: the error that made it fail is the one to report. */
export function closeQuietly(handle: Handle): void {
  try {
    sys.closeSocket(handle);
  } catch {
    // Nothing more to do with it.
  }
}

// A safety net only: a core dropped without close() still gives its handle back.
const finalizer = new FinalizationRegistry<Handle>((handle) => {
  if (!owned.has(handle)) return;
  try {
    closeOwnedSocket(handle);
  } catch {
    // Nothing to report to: the owner is gone.
  }
});

/** Closes `handle` if `owner` is collected without close(). */
function closeWhenCollected(owner: SocketCore, handle: Handle): void {
  finalizer.register(owner, handle, owner);
}

function forgetCollected(owner: SocketCore): void {
  finalizer.unregister(owner);
}

/**
 * A new connected core over `handle`, which the caller has claimed (accept's or AcceptEx's
 * socket). Accepted sockets inherit the listener's options, the fast path among them;
 * AcceptEx's socket was created here, blocking. One that accept() gave while the listener
 * was non-blocking (`nonBlocking`) inherited that mode too: it is made blocking, the
 * contract of every accepted socket, and closed if that fails.
 */
export function acceptedCore(listener: SocketCore, handle: Handle, nonBlocking = false): SocketCore {
  listener.fastPathTooLate = true;
  const core = new SocketCore({ handle, family: listener.family, type: listener.type, fastPathTooLate: true, loopbackFastPath: listener.loopbackFastPath, registeredIo: listener.registeredIo });
  if (nonBlocking) {
    try {
      sys.setBlocking(handle, true);
    } catch (error) {
      core.close();
      throw error;
    }
  }
  return core;
}
