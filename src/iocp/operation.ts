// IoOperation: one overlapped operation, from issue until its completion is reported.
//
// Ownership: the operation holds its OVERLAPPED slot and its kind's in-flight state
// (pinned blocks, the caller's buffers the OS reads or writes in place, AcceptEx's
// socket). Its port keeps it referenced, keyed by the OVERLAPPED's address, from the
// moment the OS has the memory until the packet naming it is dequeued (mio's rule: the
// port owns an operation until it gives it back); only then does the memory go back to
// the pools, exactly once.

import type { SocketAddress } from '../base/address.ts';
import type { BufferDetachedError, WinsockError } from '../core/errors.ts';
import type { SocketCore } from '../core/socket-core.ts';
import type { Handle, OverlappedSlot, PinnedMemory } from '../sys/index.ts';

/** The kinds, as the public Operation names them. */
export type OperationKind = 'recv' | 'send' | 'accept' | 'connect' | 'recvfrom' | 'sendto';

/** What each kind keeps while the OS has the operation: a discriminated union on `kind`. */
export type InFlight =
  | {
      readonly kind: 'recv';
      /** Where the OS writes: a pinned block copied to `target` at completion, or null when the OS writes into `target` itself. */
      block: PinnedMemory | null;
      target: Uint8Array | null;
    }
  | {
      readonly kind: 'send';
      /** The bytes copied into pinned memory, or null when the OS reads `held` in place. */
      block: PinnedMemory | null;
      /** How many bytes of `block` to send. */
      readonly length: number;
      /** Pieces copied back to back into `block`, a WSABUF each: their lengths (read during the issue only). */
      pieces: readonly number[] | null;
      /** A gathered send's Buffers, kept referenced until the completion. */
      held: readonly Uint8Array[] | null;
    }
  | {
      readonly kind: 'recvfrom';
      block: PinnedMemory | null;
      target: Uint8Array | null;
      /** The target's length when issued (a shorter target now was detached or shrunk). */
      readonly length: number;
    }
  | {
      readonly kind: 'sendto';
      block: PinnedMemory | null;
      readonly length: number;
      /** The destination, a literal of the socket's family. */
      readonly host: string;
      readonly port: number;
    }
  | {
      readonly kind: 'accept';
      /** The socket AcceptEx fills, claimed at birth, not yet wrapped in a core. */
      acceptHandle: Handle;
    }
  | { readonly kind: 'connect'; readonly host: string; readonly port: number };

/** The in-flight state of kind `K`. */
export type StateOf<K extends OperationKind> = Extract<InFlight, { readonly kind: K }>;

export class IoOperation {
  /** The socket the operation runs on (the listener, for accept). */
  readonly core: SocketCore;
  /** The port that issued it (iocp/port.ts's Port). */
  readonly port: object;
  readonly slot: OverlappedSlot;
  /** Its kind's in-flight state; memory in it is released (nulled) once the OS is done. */
  readonly state: InFlight;
  completed = false;
  /** Bytes received or sent (also when it failed or was cancelled part-way). */
  bytes = 0;
  /** Null on success. */
  error: WinsockError | BufferDetachedError | null = null;
  /** The key its socket's association carries. */
  key = 0;
  /** accept: the new connection's core (owned by whoever takes the result). */
  accepted: SocketCore | null = null;
  /** accept: the peer's address; recvfrom: the datagram's sender. */
  remoteAddress: SocketAddress | null = null;
  /** Called once when it settles, by whoever waits for it (the Promise API, a send queue, the public port). */
  onSettled: ((operation: IoOperation) => void) | null = null;
  /** What that waiter keeps with it. */
  context: unknown = null;

  constructor(port: object, core: SocketCore, slot: OverlappedSlot, state: InFlight) {
    this.port = port;
    this.core = core;
    this.slot = slot;
    this.state = state;
  }

  get kind(): OperationKind {
    return this.state.kind;
  }
}
