// The public CompletionPort and Operation: an I/O completion port of your own, overlapped
// recv/send/accept/connect/recvFrom/sendTo issued on it, and their completions collected
// by poll() (no wait), wait() (blocks the thread) or waitAsync() (waits on a worker
// thread). A facade over the engine's Port (src/iocp/port.ts), which owns the operations
// and their memory until their completions are dequeued; this layer checks arguments
// (before any native call) and speaks in Sockets.

import type { SocketAddress, SocketAddressInput } from './base/address.ts';
import { literalFamily } from './base/address.ts';
import { checkAddressInput, checkBuffer, checkInteger, checkMsOrZero, requireTcp, requireUdp } from './core/checks.ts';
import type { BufferDetachedError, WinsockError } from './core/errors.ts';
import { Internals } from './core/internals.ts';
import { sockets } from './core/socket-core.ts';
import type { SocketCore } from './core/socket-core.ts';
import type { IoOperation, OperationKind } from './iocp/operation.ts';
import { Port } from './iocp/port.ts';
import type { PortState } from './iocp/port.ts';
import { BATCH } from './iocp/waiting.ts';
import { socketOver } from './socket.ts';
import type { Socket } from './socket.ts';
import { INFINITE } from './sys/index.ts';

export type { OperationKind } from './iocp/operation.ts';
export type { PortState } from './iocp/port.ts';

/** What poll/wait/waitAsync report for each finished operation. */
export interface Completion {
  readonly operation: Operation;
  /** Bytes moved (0 for accept/connect; 0 for a successful recv is the end of the stream), also when the operation failed or was cancelled part-way. */
  readonly bytes: number;
  /** Null on success; WSA_OPERATION_ABORTED after cancel() or close. */
  readonly error: WinsockError | BufferDetachedError | null;
  /** The key given to associate() for the operation's socket. */
  readonly key: number;
}

/** Every Operation a port made, and the engine's operation behind it: cancel() takes nothing else. */
const operations = new Internals<Operation, IoOperation>('an Operation from a CompletionPort');
/** True only while a port makes an Operation: the constructor refuses any other caller. */
let making = false;
/** Operation's private constructor, for operationOver() (set by the class's static block). */
let construct: (operation: IoOperation, socket: Socket) => Operation;

/**
 * One overlapped operation; its outcome is filled in when its completion is reported.
 * Only a CompletionPort makes them (recv, send, accept, connect, recvFrom, sendTo):
 * `new Operation()` throws a TypeError.
 */
export class Operation {
  readonly #operation: IoOperation;
  /** The socket the operation runs on (the listener, for accept). */
  readonly socket: Socket;
  #accepted: Socket | null = null;

  static {
    construct = (operation, socket) => new Operation(operation, socket);
  }

  /** Operations come only from a CompletionPort (recv, send, accept, connect, recvFrom, sendTo). */
  // Private, so that the published type offers no constructor; the check below refuses plain JavaScript callers.
  private constructor(operation: IoOperation, socket: Socket) {
    if (!making) throw new TypeError('Operation objects come from a CompletionPort (recv, send, accept, connect): they cannot be constructed');
    this.#operation = operation;
    this.socket = socket;
    operations.bind(this, operation);
  }

  get kind(): OperationKind {
    return this.#operation.kind;
  }

  /** 'pending' until the completion is reported (by poll/wait/waitAsync or close). */
  get state(): 'pending' | 'completed' {
    return this.#operation.completed ? 'completed' : 'pending';
  }

  /** Bytes received or sent. */
  get bytes(): number {
    return this.#operation.bytes;
  }

  /**
   * Null when the operation succeeded. A BufferDetachedError (a TypeError) when a
   * receive's buffer was detached or shrunk while it was pending (`bytes` says how many were lost).
   */
  get error(): WinsockError | BufferDetachedError | null {
    return this.#operation.error;
  }

  /** accept: the new connection (owned by the caller once the operation completed). */
  get accepted(): Socket | null {
    const core = this.#operation.accepted;
    if (this.#accepted === null && core !== null) this.#accepted = socketOver(core);
    return this.#accepted;
  }

  /** accept: the peer's address, from GetAcceptExSockaddrs; recvfrom: the datagram's sender. */
  get remoteAddress(): SocketAddress | null {
    return this.#operation.remoteAddress;
  }
}

/** The public Operation over an engine operation just issued. */
function operationOver(operation: IoOperation, socket: Socket): Operation {
  making = true;
  try {
    const made = construct(operation, socket);
    operation.context = made;
    return made;
  } finally {
    making = false;
  }
}

function completionOf(operation: IoOperation): Completion {
  return { operation: operation.context as Operation, bytes: operation.bytes, error: operation.error, key: operation.key };
}

function checkMax(max: unknown): void {
  checkInteger(max, 'max', 1, Number.MAX_SAFE_INTEGER);
}

/** A literal of the socket's family: the port does not resolve names. */
function checkLiteral(core: SocketCore, host: string): void {
  if (literalFamily(host) !== core.family) throw new TypeError(`${JSON.stringify(host)} is not an ${core.family === 'ipv4' ? 'IPv4' : 'IPv6'} address literal`);
}

export class CompletionPort {
  readonly #port = new Port(false);
  /** Scratch for poll/wait: engine operations before they become Completions. */
  readonly #out: IoOperation[] = [];

  /**
   * A new completion port of your own: its completions are collected by poll(), wait()
   * or waitAsync().
   */
  constructor() {
    this.#port.owner = this;
  }

  /** 'open'; 'closing' once close() was called while operations or a waitAsync were still out; 'closed'. */
  get state(): PortState {
    return this.#port.state;
  }

  /** True once close() was called: the port takes no more calls (it may still be collecting what was in flight). */
  get closed(): boolean {
    return this.#port.closed;
  }

  /** Operations issued and not yet reported. */
  get pendingCount(): number {
    return this.#port.pendingCount;
  }

  /** Operations that finished without a packet and wait for the next poll/wait. */
  get readyCount(): number {
    return this.#port.readyCount;
  }

  /** True while a waitAsync() is running on a worker thread. */
  get waiting(): boolean {
    return this.#port.waiting;
  }

  /** Routes `socket`'s completions to this port, tagged with `key` (a uint32, default 0). */
  associate(socket: Socket, key = 0): void {
    this.#port.requireOpen('associate');
    const core = sockets.of(socket, 'socket');
    checkInteger(key, 'key', 0, 0xffffffff);
    this.#port.associate(core, key);
  }

  /**
   * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS for `socket`: an operation that succeeds at
   * once queues no packet; the port reports it from the next poll/wait instead.
   */
  setSkipCompletionOnSuccess(socket: Socket): void {
    this.#port.requireOpen('setSkipCompletionOnSuccess');
    this.#port.setSkipCompletionOnSuccess(sockets.of(socket, 'socket'));
  }

  /** Overlapped WSARecv into `buffer` (up to 256 KiB per operation). */
  recv(socket: Socket, buffer: Uint8Array): Operation {
    this.#port.requireOpen('recv');
    const core = sockets.of(socket, 'socket');
    const target = checkBuffer(buffer, 'buffer', true);
    return operationOver(this.#port.recv(core, target), socket);
  }

  /** Overlapped WSASend of `data` (copied first; the completion says how many bytes went). */
  send(socket: Socket, data: Uint8Array): Operation {
    this.#port.requireOpen('send');
    const core = sockets.of(socket, 'socket');
    const bytes = checkBuffer(data, 'data', false);
    return operationOver(this.#port.send(core, bytes), socket);
  }

  /**
   * Overlapped WSARecvFrom of one datagram into `buffer`: the completion's
   * operation.remoteAddress is the sender. A datagram larger than `buffer` completes
   * with WSAEMSGSIZE, its first `buffer.length` bytes delivered (the OS never truncates:
   * the receive lands in a 64 KiB block first).
   */
  recvFrom(socket: Socket, buffer: Uint8Array): Operation {
    this.#port.requireOpen('recvFrom');
    const core = sockets.of(socket, 'socket');
    const target = checkBuffer(buffer, 'buffer', true);
    core.live('recvFrom');
    requireUdp(core, 'recvFrom');
    return operationOver(this.#port.recvFrom(core, target), socket);
  }

  /** Overlapped WSASendTo of one datagram (`data`, copied first) to `address` (a literal of the socket's family). */
  sendTo(socket: Socket, data: Uint8Array, address: SocketAddressInput): Operation {
    this.#port.requireOpen('sendTo');
    const core = sockets.of(socket, 'socket');
    const bytes = checkBuffer(data, 'data', false);
    core.live('sendTo');
    requireUdp(core, 'sendTo');
    const { address: host, port } = checkAddressInput(address);
    checkLiteral(core, host);
    return operationOver(this.#port.sendTo(core, bytes, host, port), socket);
  }

  /** AcceptEx on a listening socket: the completion's operation.accepted is the new Socket. */
  accept(listener: Socket): Operation {
    this.#port.requireOpen('accept');
    const core = sockets.of(listener, 'listener');
    core.live('accept');
    requireTcp(core, 'accept');
    return operationOver(this.#port.accept(core), listener);
  }

  /** ConnectEx to `address` (a literal of the socket's family); binds the socket to the wildcard address first if needed. */
  connect(socket: Socket, address: SocketAddressInput): Operation {
    this.#port.requireOpen('connect');
    const core = sockets.of(socket, 'socket');
    core.live('connect');
    requireTcp(core, 'connect');
    // A snapshot: the caller's object is not read again.
    const { address: host, port } = checkAddressInput(address);
    if (port === 0) throw new RangeError('address.port must be between 1 and 65535 to connect, got 0');
    checkLiteral(core, host);
    return operationOver(this.#port.connect(core, host, port), socket);
  }

  /**
   * CancelIoEx for a pending operation. Its completion still comes, with
   * WSA_OPERATION_ABORTED unless it had already finished. False when there was
   * nothing to cancel (already finished, or its socket is closed, which cancels it).
   */
  cancel(operation: Operation): boolean {
    return this.#port.cancel(operations.of(operation, 'operation'));
  }

  /** Completions available now, without waiting (at most `max`). */
  poll(max = BATCH): Completion[] {
    this.#port.requireOpen('poll');
    checkMax(max);
    return this.#report(this.#port.poll(this.#out, max));
  }

  /**
   * Waits up to `timeoutMs` (default: forever) for at least one completion, blocking
   * this thread (and so the event loop); an empty array on timeout.
   */
  wait(timeoutMs: number = INFINITE, max = BATCH): Completion[] {
    this.#port.requireOpen('wait');
    checkMsOrZero(timeoutMs, 'timeoutMs');
    checkMax(max);
    return this.#report(this.#port.wait(this.#out, timeoutMs, max));
  }

  /**
   * The same wait on a worker thread: the event loop keeps running. One at a time
   * per port: a second call while one runs throws ERR_WAIT_IN_PROGRESS. It runs on a
   * libuv threadpool thread (a koffi async call), in slices of at most 50 ms, so it
   * never holds that thread, process.exit() or worker.terminate() longer than one
   * slice. A pending waitAsync keeps the process alive until a completion comes, the
   * timeout passes, or wake()/close() ends it with what it has.
   */
  waitAsync(timeoutMs: number = INFINITE): Promise<Completion[]> {
    this.#port.requireOpen('waitAsync');
    checkMsOrZero(timeoutMs, 'timeoutMs');
    return this.#port.waitAsync(timeoutMs).then(completionsOf);
  }

  /**
   * Ends a running waitAsync() early (it resolves with whatever it dequeued, maybe
   * nothing). With no waitAsync running it does nothing: a wake-up is not kept for
   * the next wait.
   */
  wake(): void {
    this.#port.wake();
  }

  /**
   * Cancels every pending operation, waits for their aborted completions (so that
   * their memory is free to reuse), settles them, and closes the port. With a
   * waitAsync running, the last part happens when the worker returns.
   */
  close(): void {
    this.#port.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #report(out: IoOperation[]): Completion[] {
    const completions = completionsOf(out);
    out.length = 0;
    return completions;
  }
}

function completionsOf(out: IoOperation[]): Completion[] {
  return out.map(completionOf);
}
