// Each kind of overlapped operation, described once (libuv's request kinds, CPython's
// register-a-finish-function): the call that issues it, whether it receives, what
// success means (run once the OS is done with the memory) and what is given back
// whatever the outcome. Adding a kind means adding a record here, its in-flight state
// in operation.ts, and its public method.

import { BufferDetachedError, WinsockError } from '../core/errors.ts';
import { acceptedCore, closeOwnedSocket } from '../core/socket-core.ts';
import { INVALID_HANDLE, overlapped as ov, WSAEMSGSIZE } from '../sys/index.ts';
import type { Handle, PinnedMemory } from '../sys/index.ts';
import type { InFlight, IoOperation, OperationKind, StateOf } from './operation.ts';
import { returnBlock } from './pools.ts';

export interface KindRecord<S extends InFlight = InFlight> {
  /** The Winsock call, as errors name it. */
  readonly syscall: string;
  /** A receive: data that came before a failure or cancel is still delivered, and a rejection says how much (bytesRead). */
  readonly receives: boolean;
  /** Whether the completion's byte count is reported (recv/send) or 0 (accept/connect). */
  readonly countsBytes: boolean;
  /** The slot's address buffer served this operation only (AcceptEx, ConnectEx): freed with the operation, not kept with the slot. */
  readonly addressesOnce: boolean;
  /** Issues the call on `handle`: 0 (done at once), WSA_IO_PENDING, or the errno it failed with; may throw before the OS has anything. */
  issue(operation: IoOperation, state: S, handle: Handle): number;
  /** Success (or a receive's partial data): may throw the operation's error. */
  onSuccess(operation: IoOperation, state: S, bytes: number): void;
  /** Whatever the outcome (also when the issue itself failed): gives back what only a failure leaves over (AcceptEx's socket). */
  onDiscard(state: S): void;
  /** The OS is done with the state's memory: pinned blocks back to the pool, the caller's buffers let go. */
  release(state: S): void;
  /** The OS may still write to the state's memory (its port closed first): all of it goes to `leaked`, referenced for good. */
  leak(state: S, leaked: unknown[]): void;
}

const nothing = (): void => undefined;

/** release for the kinds whose memory is a pinned block and the caller's buffer. */
function releaseBlock(state: { block: PinnedMemory | null; target?: Uint8Array | null; held?: readonly Uint8Array[] | null }): void {
  if (state.block !== null) returnBlock(state.block);
  state.block = null;
  if (state.target !== undefined) state.target = null;
  if (state.held !== undefined) state.held = null;
}

/** leak for the same kinds: the block, and the buffers the OS reads or writes in place. */
function leakBlock(state: { block: PinnedMemory | null; target?: Uint8Array | null; held?: readonly Uint8Array[] | null }, leaked: unknown[]): void {
  if (state.block !== null) leaked.push(state.block);
  if (state.target != null) leaked.push(state.target);
  if (state.held != null) leaked.push(...state.held);
  state.block = null;
}

const recv: KindRecord<StateOf<'recv'>> = {
  syscall: 'WSARecv',
  receives: true,
  countsBytes: true,
  addressesOnce: false,
  issue(operation, state, handle) {
    // Without a block the OS writes into the target itself (a Buffer only the package sees until the completion).
    if (state.block === null) return ov.issueRecvInto(handle, operation.slot, state.target!);
    return ov.issueRecv(handle, operation.slot, state.block, Math.min(state.target!.byteLength, state.block.size));
  },
  onSuccess(_operation, state, bytes) {
    const { block, target } = state;
    if (block === null || bytes === 0) return;
    // The caller's buffer may have been detached (transferred) or shrunk meanwhile: say so, never lose bytes silently.
    if (target!.byteLength < bytes) throw new BufferDetachedError('WSARecv', bytes, target!.byteLength);
    // Buffer#copy copies natively: no subarray view per completion.
    block.bytes.copy(target!, 0, 0, bytes);
  },
  onDiscard: nothing,
  release: releaseBlock,
  leak: leakBlock,
};

const send: KindRecord<StateOf<'send'>> = {
  syscall: 'WSASend',
  receives: false,
  countsBytes: true,
  addressesOnce: false,
  issue(operation, state, handle) {
    if (state.held !== null) return ov.issueSendGathered(handle, operation.slot, state.held);
    const pieces = state.pieces;
    if (pieces === null) return ov.issueSend(handle, operation.slot, state.block!, state.length);
    state.pieces = null;
    return ov.issueSendPieces(handle, operation.slot, state.block!, pieces);
  },
  onSuccess: nothing,
  onDiscard: nothing,
  release: releaseBlock,
  leak: leakBlock,
};

const recvfrom: KindRecord<StateOf<'recvfrom'>> = {
  syscall: 'WSARecvFrom',
  receives: true,
  countsBytes: true,
  addressesOnce: false,
  issue(operation, state, handle) {
    return ov.issueRecvFrom(handle, operation.slot, state.block!, state.block!.size);
  },
  onSuccess(operation, state, bytes) {
    const { block, target, length } = state;
    const from = ov.receivedFrom(operation.slot);
    operation.remoteAddress = from;
    const room = target!.byteLength;
    if (room < Math.min(bytes, length)) throw new BufferDetachedError('WSARecvFrom', bytes, room);
    if (bytes > 0) block!.bytes.copy(target!, 0, 0, Math.min(bytes, room));
    if (bytes <= room) return;
    // The block holds any datagram whole: one larger than the caller's buffer is
    // reported as Windows' own recvfrom() does (WSAEMSGSIZE), with its first part
    // in the buffer, the count of bytes delivered and who sent it.
    operation.bytes = room;
    const error = new WinsockError('WSARecvFrom', WSAEMSGSIZE, from ?? undefined);
    Object.defineProperty(error, 'datagramBytes', { value: bytes, enumerable: true, configurable: true });
    throw error;
  },
  onDiscard: nothing,
  release: releaseBlock,
  leak: leakBlock,
};

const sendto: KindRecord<StateOf<'sendto'>> = {
  syscall: 'WSASendTo',
  receives: false,
  countsBytes: true,
  addressesOnce: false,
  issue(operation, state, handle) {
    return ov.issueSendTo(handle, operation.slot, state.block!, state.length, operation.core.family, state.host, state.port);
  },
  onSuccess: nothing,
  onDiscard: nothing,
  release: releaseBlock,
  leak: leakBlock,
};

const accept: KindRecord<StateOf<'accept'>> = {
  syscall: 'AcceptEx',
  receives: false,
  countsBytes: false,
  addressesOnce: true,
  issue(operation, state, handle) {
    return ov.issueAccept(handle, state.acceptHandle, operation.slot);
  },
  onSuccess(operation, state) {
    const listener = operation.core;
    const listenerHandle = listener.live('accept');
    ov.updateAcceptContext(state.acceptHandle, listenerHandle);
    const addresses = ov.acceptedAddresses(listenerHandle, operation.slot);
    operation.accepted = acceptedCore(listener, state.acceptHandle);
    state.acceptHandle = INVALID_HANDLE;
    operation.remoteAddress = addresses.remote;
  },
  onDiscard(state) {
    // AcceptEx failed, was aborted or never issued: the socket it was filling is ours to close.
    if (state.acceptHandle === INVALID_HANDLE) return;
    try {
      closeOwnedSocket(state.acceptHandle);
    } catch {
      // Closing a socket nobody saw; nothing to report.
    }
    state.acceptHandle = INVALID_HANDLE;
  },
  // Only the OVERLAPPED slot (the port's) and the address buffers in it.
  release: nothing,
  leak: nothing,
};

const connect: KindRecord<StateOf<'connect'>> = {
  syscall: 'ConnectEx',
  receives: false,
  countsBytes: false,
  addressesOnce: true,
  issue(operation, state, handle) {
    return ov.issueConnect(handle, operation.slot, operation.core.family, state.host, state.port);
  },
  onSuccess(operation) {
    ov.updateConnectContext(operation.core.live('connect'));
    operation.core.markConnected();
  },
  onDiscard: nothing,
  release: nothing,
  leak: nothing,
};

const KINDS: { readonly [K in OperationKind]: KindRecord<StateOf<K>> } = { recv, send, recvfrom, sendto, accept, connect };

/** The record of the kind of `state` (an operation's, or one not issued yet). */
export function kindOf(state: InFlight): KindRecord {
  // The union's kind picks its own record: the cast only forgets which one.
  return KINDS[state.kind] as KindRecord;
}
