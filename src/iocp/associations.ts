// Which completion port each socket's handle belongs to, and handing a handle off.
//
// A handle belongs to one port until it is detached (Windows 8.1+ can take a handle off
// its port; before that, and under Wine 8, an association is for the handle's life). The
// association lives on the core (core.association), so the core cancels its own pending
// I/O when it closes, and a handoff can see whether anything is pending (core.pending).

import { SocketStateError, WinsockError } from '../core/errors.ts';
import type { PortAssociation, SocketCore } from '../core/socket-core.ts';
import { ERROR_INVALID_PARAMETER, overlapped as ov } from '../sys/index.ts';
import type { Handle } from '../sys/index.ts';

/**
 * Handles detached while the system could not take them off this thread's port, by
 * handle: if this thread adopts one again, its association is known. Checked only after
 * CreateIoCompletionPort refused the handle, so a reused handle number is never misread.
 */
const stillAssociated = new Map<Handle, PortAssociation>();

/**
 * Associates `core` with `port` (whose handle is `portHandle`) under `key`. `skipOnSuccess`
 * says whether the port wants FILE_SKIP_COMPLETION_PORT_ON_SUCCESS from the start.
 */
export function associate(core: SocketCore, port: object, portHandle: Handle, key: number, skipOnSuccess: boolean, operation: string): PortAssociation {
  const handle = core.live(operation);
  const existing = core.association;
  if (existing !== null) {
    if (existing.port === port && existing.key === key) return existing;
    throw new SocketStateError('ERR_SOCKET_ASSOCIATED', `${operation}: the socket already belongs to a completion port (Windows cannot move it)`);
  }
  try {
    ov.associate(handle, portHandle, key);
  } catch (error) {
    const kept = stillAssociated.get(handle);
    if (!(error instanceof WinsockError) || error.errno !== ERROR_INVALID_PARAMETER) throw error;
    // The handle is on a completion port already: one this thread left it on when the
    // socket was detached where the system could not take it off, or another's.
    if (kept === undefined || kept.port !== port || kept.key !== key) {
      throw new SocketStateError(
        'ERR_SOCKET_ASSOCIATED',
        `${operation}: this handle already belongs to another completion port (it did async I/O before it was detached or duplicated, and this system cannot move it: that needs FileReplaceCompletionInformation, Windows 8.1+, which Wine 8 lacks); use its synchronous calls here`,
      );
    }
    stillAssociated.delete(handle);
    core.association = kept;
    return kept;
  }
  // A handle that was associated before (one detached where the system could take it off
  // its port, or whatever another library did) may be in skip-on-success mode for good:
  // the mode cannot be cleared, so an adopted socket is put in it, and that is known.
  const skip = skipOnSuccess || core.adopted;
  if (skip) ov.setSkipCompletionOnSuccess(handle);
  const association: PortAssociation = { port, key, skipOnSuccess: skip };
  core.association = association;
  return association;
}

/**
 * Before a socket's handle leaves its core (detach, duplicate): refuses when operations
 * are pending (ERR_SOCKET_BUSY), then takes the handle off its completion port if it has
 * one, so that a port in another thread or process can take it. Where the system cannot
 * (Wine 8; Windows before 8.1), the handle stays on this thread's port: remembered, in
 * case this thread adopts it again; elsewhere the Promise API then refuses it
 * (ERR_SOCKET_ASSOCIATED) and its synchronous calls still work. Returns whether the
 * handle is free of any port of ours.
 */
export function releaseForHandoff(core: SocketCore, operation: string): boolean {
  const handle = core.live(operation);
  const association = core.association;
  if (association === null) return true;
  if (core.pending > 0) throw new SocketStateError('ERR_SOCKET_BUSY', `${operation}: the socket has async operations pending; let them settle (or abort them) first`);
  const released = ov.releaseFromPort(handle);
  if (!released) stillAssociated.set(handle, association);
  core.association = null;
  return released;
}
