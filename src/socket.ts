// The public Socket: one SOCKET handle, synchronous calls, typed options. Arguments are
// checked here, before any native call; the calls themselves live in sys/windows.

import { checkAddressInput, checkFamily, describe, literalFamily } from './address.ts';
import type { AddressFamily, SocketAddress, SocketAddressInput } from './address.ts';
import { EndOfStreamError, SocketClosedError, SocketStateError, WinsockError } from './errors.ts';
import {
  IPPROTO_TCP,
  SD_BOTH,
  SD_RECEIVE,
  SD_SEND,
  SOL_SOCKET,
  SO_EXCLUSIVEADDRUSE,
  SO_KEEPALIVE,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_SNDBUF,
  SO_SNDTIMEO,
  TCP_NODELAY,
  WSAEWOULDBLOCK,
} from './sys/windows/constants.ts';
import * as sys from './sys/windows/sys.ts';
import type { Handle, SocketType } from './sys/windows/sys.ts';
import * as asyncIo from './iocp/async-io.ts';
import type { AsyncOptions } from './iocp/async-io.ts';
import { toStream } from './stream.ts';
import type { SocketStream, SocketStreamOptions } from './stream.ts';

export type { SocketType } from './sys/windows/sys.ts';

export interface SocketOptions {
  /** 'ipv4' (default) or 'ipv6'. */
  readonly family?: AddressFamily;
  /** 'tcp' (default) or 'udp'. */
  readonly type?: SocketType;
}

export interface ConnectOptions {
  /** Set TCP_NODELAY before connecting (default false). */
  readonly noDelay?: boolean;
  /** Ask for SIO_LOOPBACK_FAST_PATH before connecting (default false); see `loopbackFastPath`. */
  readonly loopbackFastPath?: boolean;
  /** Give up with WSAETIMEDOUT after this many milliseconds (default: the system's own limit). */
  readonly timeoutMs?: number;
  /** Which family to use when `address` is a host name (default: the resolver's first answer). */
  readonly family?: AddressFamily;
}

export interface ConnectAsyncOptions extends ConnectOptions, AsyncOptions {}

export interface ListenOptions {
  /** listen() backlog (default SOMAXCONN). */
  readonly backlog?: number;
  /** Ask for SIO_LOOPBACK_FAST_PATH before any accept (default false). */
  readonly loopbackFastPath?: boolean;
  /** SO_EXCLUSIVEADDRUSE: no other socket may bind the same port (default false). */
  readonly exclusiveAddressUse?: boolean;
  /** SO_REUSEADDR (default false). */
  readonly reuseAddress?: boolean;
  /** Which family to use when `address` is a host name (default: the resolver's first answer). */
  readonly family?: AddressFamily;
}

export interface KeepAliveOptions {
  /** Idle time before the first probe, in milliseconds. */
  readonly idleMs: number;
  /** Time between unanswered probes, in milliseconds. */
  readonly intervalMs: number;
}

export type ShutdownHow = 'send' | 'receive' | 'both';

export interface RecvFromResult {
  readonly bytes: number;
  readonly address: string;
  readonly port: number;
}

/** getOption() reads at most this many bytes. */
const MAX_OPTION_SIZE = 4096;
/** SOMAXCONN: let the system choose the largest backlog. */
const SOMAXCONN = 0x7fffffff;
/** Windows' default TCP keep-alive timings, used when only one of them is given. */
const DEFAULT_KEEPALIVE_IDLE_MS = 2 * 60 * 60 * 1000;
const DEFAULT_KEEPALIVE_INTERVAL_MS = 1000;

/** Internal access to a live socket's handle for other modules of this package. */
export const handleOf: unique symbol = Symbol('winsock-ffi.handleOf');
/** Internal: a hook close() runs with the live handle before closesocket. */
export const beforeClose: unique symbol = Symbol('winsock-ffi.beforeClose');

// Handles owned by a live Socket: adopting one twice would close it twice.
const ownedHandles = new Set<Handle>();

// A safety net only: a Socket dropped without close() still gives its handle back.
const finalizer = new FinalizationRegistry<Handle>((handle) => {
  if (!ownedHandles.delete(handle)) return;
  try {
    sys.closeSocket(handle);
  } catch {
    // Nothing to report to: the owner is gone.
  }
});

type State = 'new' | 'bound' | 'listening' | 'connected';

// Set just before `new Socket()` by Socket.#wrap, so that the constructor adopts a handle.
let adoption: { handle: Handle; family: AddressFamily; type: SocketType } | null = null;

/**
 * A Winsock socket. Calls are synchronous and block the thread when the socket is
 * blocking (the default); see CompletionPort and the *Async methods for I/O that
 * does not. Every call after close() throws SocketClosedError.
 */
export class Socket {
  readonly family: AddressFamily;
  readonly type: SocketType;
  #handle: Handle;
  #state: State = 'new';
  #hasAccepted = false;
  #streamed = false;
  #blocking = true;
  #loopbackFastPath = false;

  constructor(options: SocketOptions = {}) {
    if (adoption !== null) {
      // Socket.#wrap: take over an existing handle instead of creating one.
      const { handle, family, type } = adoption;
      adoption = null;
      this.family = family;
      this.type = type;
      this.#handle = handle;
      this.#own();
      return;
    }
    if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
    const family = checkFamily(options.family ?? 'ipv4');
    const type = options.type ?? 'tcp';
    if (type !== 'tcp' && type !== 'udp') throw new TypeError(`type must be 'tcp' or 'udp', got ${describe(type)}`);
    this.family = family;
    this.type = type;
    this.#handle = sys.createSocket(family, type);
    this.#own();
  }

  /**
   * Adopts an existing SOCKET (from another library, or inherited). The Socket owns
   * it from then on and closes it on close().
   */
  static fromHandle(handle: bigint | number): Socket {
    if (typeof handle !== 'bigint' && typeof handle !== 'number') throw new TypeError(`handle must be a bigint or number, got ${describe(handle)}`);
    if (typeof handle === 'number' && (!Number.isSafeInteger(handle) || handle <= 0)) throw new RangeError(`handle must be a positive integer, got ${handle}`);
    if (typeof handle === 'bigint' && (handle <= 0n || handle > BigInt(Number.MAX_SAFE_INTEGER))) throw new RangeError(`handle ${handle} is not a valid SOCKET`);
    const value = Number(handle);
    if (ownedHandles.has(value)) throw new SocketStateError('ERR_SOCKET_OWNED', `handle ${value} already belongs to an open Socket`);
    const { family, type } = sys.describeSocket(value);
    const socket = Socket.#wrap(value, family, type);
    if (sys.hasPeer(value)) socket.#state = 'connected';
    return socket;
  }

  /** Creates a TCP socket, applies the options in the order Windows needs, and connects. */
  static connect(address: SocketAddressInput, options: ConnectOptions = {}): Socket {
    checkAddressInput(address);
    checkOptionsObject(options);
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    const target = resolveOne(address, options.family === undefined ? null : checkFamily(options.family));
    const socket = new Socket({ family: target.family, type: 'tcp' });
    try {
      if (options.noDelay === true) socket.setNoDelay(true);
      // The fast path must be asked for before connect(); it is a request, not a
      // requirement, so an unsupported system just connects normally.
      if (options.loopbackFastPath === true) socket.enableLoopbackFastPath();
      socket.#connectTo(target, timeoutMs);
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /**
   * connect() that does not block: ConnectEx on the shared completion port. Rejects
   * with WSAETIMEDOUT after `timeoutMs`, with AbortError when `signal` fires.
   */
  static async connectAsync(address: SocketAddressInput, options: ConnectAsyncOptions = {}): Promise<Socket> {
    checkAddressInput(address);
    checkOptionsObject(options);
    // Before the resolver and the new socket: a bad or fired signal starts nothing.
    const signal = asyncIo.checkSignal(options);
    if (signal?.aborted) throw new asyncIo.AbortError(undefined, { cause: signal.reason });
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    const target = resolveOne(address, options.family === undefined ? null : checkFamily(options.family));
    const socket = new Socket({ family: target.family, type: 'tcp' });
    try {
      if (options.noDelay === true) socket.setNoDelay(true);
      if (options.loopbackFastPath === true) socket.enableLoopbackFastPath();
      await asyncIo.connectAsync(socket, target, timeoutMs, options);
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** Creates a TCP socket, applies the options, binds and listens. */
  static listen(address: SocketAddressInput, options: ListenOptions = {}): Socket {
    checkAddressInput(address);
    checkOptionsObject(options);
    const backlog = options.backlog ?? SOMAXCONN;
    checkBacklog(backlog);
    const target = resolveOne(address, options.family === undefined ? null : checkFamily(options.family));
    const socket = new Socket({ family: target.family, type: 'tcp' });
    try {
      if (options.exclusiveAddressUse === true) socket.setExclusiveAddressUse(true);
      if (options.reuseAddress === true) socket.setReuseAddress(true);
      if (options.loopbackFastPath === true) socket.enableLoopbackFastPath();
      socket.bind(target);
      socket.listen(backlog);
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** The raw SOCKET handle. Throws once the socket is closed: the number may be reused. */
  get handle(): bigint {
    return BigInt(this[handleOf]('handle'));
  }

  get closed(): boolean {
    return this.#handle === sys.INVALID_HANDLE;
  }

  /** True once enableLoopbackFastPath() (or the matching option) took effect. */
  get loopbackFastPath(): boolean {
    return this.#loopbackFastPath;
  }

  /** @internal The live handle, or SocketClosedError naming `operation`. */
  [handleOf](operation: string): Handle {
    const handle = this.#handle;
    if (handle === sys.INVALID_HANDLE) throw new SocketClosedError(operation);
    return handle;
  }

  /** @internal Marks the socket connected (used by the completion-port paths). */
  markConnected(): void {
    this.#state = 'connected';
  }

  /** @internal Marks a listener as having accepted (the fast path can no longer be enabled). */
  markAccepted(): void {
    this.#hasAccepted = true;
  }

  /** @internal Wraps a handle this package just created (accept). */
  static adoptNew(handle: Handle, family: AddressFamily, type: SocketType, loopbackFastPath: boolean): Socket {
    const socket = Socket.#wrap(handle, family, type);
    socket.#state = 'connected';
    socket.#loopbackFastPath = loopbackFastPath;
    return socket;
  }

  static #wrap(handle: Handle, family: AddressFamily, type: SocketType): Socket {
    adoption = { handle, family, type };
    return new Socket();
  }

  #own(): void {
    ownedHandles.add(this.#handle);
    finalizer.register(this, this.#handle, this);
  }

  /** bind(): `address` must be a literal of this socket's family or a host name. */
  bind(address: SocketAddressInput): void {
    const handle = this[handleOf]('bind');
    checkAddressInput(address);
    const target = this.#resolveForMe(address);
    sys.bind(handle, this.family, target.address, target.port);
    if (this.#state === 'new') this.#state = 'bound';
  }

  /** listen(backlog = SOMAXCONN). */
  listen(backlog: number = SOMAXCONN): void {
    const handle = this[handleOf]('listen');
    checkBacklog(backlog);
    this.#requireTcp('listen');
    sys.listen(handle, backlog);
    this.#state = 'listening';
  }

  /** accept(): the next connection, as a blocking Socket. */
  accept(): Socket {
    const handle = this[handleOf]('accept');
    this.#requireTcp('accept');
    const accepted = sys.accept(handle);
    this.#hasAccepted = true;
    // Accepted sockets inherit the listener's options, the fast path among them.
    const socket = Socket.adoptNew(accepted, this.family, this.type, this.#loopbackFastPath);
    // They inherit its FIONBIO mode too; the contract is a blocking Socket.
    if (!this.#blocking) {
      try {
        sys.setBlocking(accepted, true);
      } catch (error) {
        socket.close();
        throw error;
      }
    }
    return socket;
  }

  /** connect(): `address` must be a literal of this socket's family or a host name. */
  connect(address: SocketAddressInput): void {
    this[handleOf]('connect');
    checkAddressInput(address);
    this.#connectTo(this.#resolveForMe(address), undefined);
  }

  #connectTo(target: SocketAddress, timeoutMs: number | undefined): void {
    const handle = this[handleOf]('connect');
    if (timeoutMs === undefined) {
      try {
        sys.connect(handle, this.family, target.address, target.port);
      } catch (error) {
        // A non-blocking connect goes on in the background: from here on it is too
        // late for options that must precede connect (the fast path).
        if (error instanceof WinsockError && error.errno === WSAEWOULDBLOCK) this.#state = 'connected';
        throw error;
      }
    } else {
      try {
        sys.connectWithTimeout(handle, this.family, target.address, target.port, timeoutMs);
      } finally {
        if (this.#blocking) sys.setBlocking(handle, true);
      }
    }
    this.#state = 'connected';
  }

  /** send() once: returns how many bytes the stack took (maybe fewer than given). */
  send(data: Uint8Array | string): number {
    const handle = this[handleOf]('send');
    return sys.send(handle, toBytes(data));
  }

  /** Sends every byte of `data`, calling send() as often as it takes. */
  sendAll(data: Uint8Array | string): void {
    const handle = this[handleOf]('sendAll');
    this.#requireBlocking('sendAll');
    let bytes = toBytes(data);
    let sent = sys.send(handle, bytes);
    while (sent < bytes.byteLength) {
      bytes = bytes.subarray(sent);
      sent = sys.send(handle, bytes);
    }
  }

  /**
   * send() once on a non-blocking socket: -1 when it would block, instead of a
   * WSAEWOULDBLOCK error, so that poll loops allocate nothing.
   */
  trySend(data: Uint8Array): number {
    const handle = this[handleOf]('trySend');
    checkBuffer(data, 'data', false);
    return sys.trySend(handle, data);
  }

  /** recv() once into `buffer`: the number of bytes read; 0 is the orderly end of the stream. */
  recv(buffer: Uint8Array): number {
    const handle = this[handleOf]('recv');
    checkBuffer(buffer, 'buffer', true);
    return sys.recv(handle, buffer);
  }

  /** recv() on a non-blocking socket: -1 when nothing is there yet instead of WSAEWOULDBLOCK. */
  tryRecv(buffer: Uint8Array): number {
    const handle = this[handleOf]('tryRecv');
    checkBuffer(buffer, 'buffer', true);
    return sys.tryRecv(handle, buffer);
  }

  /** Fills `buffer` completely; EndOfStreamError if the peer ends the stream first. */
  recvExact(buffer: Uint8Array): void {
    const handle = this[handleOf]('recvExact');
    checkBuffer(buffer, 'buffer', true);
    this.#requireBlocking('recvExact');
    let filled = sys.recv(handle, buffer);
    while (filled < buffer.byteLength) {
      if (filled === 0) throw new EndOfStreamError(0, buffer.byteLength);
      const more = sys.recv(handle, buffer.subarray(filled));
      if (more === 0) throw new EndOfStreamError(filled, buffer.byteLength);
      filled += more;
    }
  }

  /** sendto(): one datagram to `address` (a literal of this socket's family or a host name). */
  sendTo(data: Uint8Array | string, address: SocketAddressInput): number {
    const handle = this[handleOf]('sendTo');
    const bytes = toBytes(data);
    checkAddressInput(address);
    const target = this.#resolveForMe(address);
    return sys.sendTo(handle, bytes, this.family, target.address, target.port);
  }

  /** recvfrom(): one datagram into `buffer` and who sent it. */
  recvFrom(buffer: Uint8Array): RecvFromResult {
    const handle = this[handleOf]('recvFrom');
    checkBuffer(buffer, 'buffer', true);
    const { bytes, from } = sys.recvFrom(handle, buffer);
    return { bytes, address: from?.address ?? '', port: from?.port ?? 0 };
  }

  /** shutdown(): 'send' sends FIN, 'receive' refuses further data, 'both' does both. */
  shutdown(how: ShutdownHow = 'both'): void {
    const handle = this[handleOf]('shutdown');
    const code = how === 'send' ? SD_SEND : how === 'receive' ? SD_RECEIVE : how === 'both' ? SD_BOTH : -1;
    if (code === -1) throw new TypeError(`how must be 'send', 'receive' or 'both', got ${describe(how)}`);
    sys.shutdown(handle, code);
  }

  /** closesocket(). Idempotent; afterwards every call throws SocketClosedError. */
  close(): void {
    const handle = this.#handle;
    if (handle === sys.INVALID_HANDLE) return;
    // Forget the handle first: even if closesocket fails, the number is no longer ours.
    this.#handle = sys.INVALID_HANDLE;
    ownedHandles.delete(handle);
    finalizer.unregister(this);
    const cancelPending = this[beforeClose];
    if (cancelPending !== null) {
      this[beforeClose] = null;
      cancelPending(handle);
    }
    sys.closeSocket(handle);
  }

  /**
   * @internal Set by a completion port: cancels the socket's pending overlapped I/O
   * with the still-valid handle just before closesocket (Wine leaves pending sends
   * of a closed socket hanging forever otherwise).
   */
  [beforeClose]: ((handle: Handle) => void) | null = null;

  [Symbol.dispose](): void {
    this.close();
  }

  // --- Promise API (overlapped I/O on the shared completion port) ------------

  /** One overlapped recv into `buffer`: the byte count, 0 at the end of the stream. */
  async recvAsync(buffer: Uint8Array, options?: AsyncOptions): Promise<number> {
    this[handleOf]('recvAsync');
    checkBuffer(buffer, 'buffer', true);
    return asyncIo.recvAsync(this, buffer, options);
  }

  /** Sends every byte of `data` with overlapped sends; resolves when the stack has taken it all. */
  async sendAsync(data: Uint8Array | string, options?: AsyncOptions): Promise<void> {
    this[handleOf]('sendAsync');
    return asyncIo.sendAsync(this, toBytes(data), options);
  }

  /** AcceptEx: the next connection, without blocking the event loop. */
  async acceptAsync(options?: AsyncOptions): Promise<Socket> {
    this[handleOf]('acceptAsync');
    this.#requireTcp('acceptAsync');
    return asyncIo.acceptAsync(this, options);
  }

  /**
   * A stream.Duplex over this connected TCP socket, with net.Socket's behaviour:
   * backpressure, end() sends FIN, destroy() closes the socket. The stream owns the
   * socket from then on.
   */
  toStream(options?: SocketStreamOptions): SocketStream {
    this[handleOf]('toStream');
    this.#requireTcp('toStream');
    // Two streams would race for the same bytes: the first one owns the socket.
    if (this.#streamed) throw new SocketStateError('ERR_SOCKET_STREAMED', 'toStream: this socket already has a stream, which owns it');
    const stream = toStream(this, options);
    this.#streamed = true;
    return stream;
  }

  /** getsockname(). */
  get localAddress(): SocketAddress {
    return sys.localAddress(this[handleOf]('localAddress'));
  }

  /** getpeername(). */
  get remoteAddress(): SocketAddress {
    return sys.remoteAddress(this[handleOf]('remoteAddress'));
  }

  // --- Options -------------------------------------------------------------

  /** TCP_NODELAY: send small segments at once instead of coalescing them (Nagle off). */
  setNoDelay(on = true): void {
    this.#setBool('setNoDelay', IPPROTO_TCP, TCP_NODELAY, on);
  }

  /** TCP_NODELAY. */
  getNoDelay(): boolean {
    return sys.getIntOption(this[handleOf]('getNoDelay'), IPPROTO_TCP, TCP_NODELAY) !== 0;
  }

  /** SO_REUSEADDR: allow binding a port another socket has bound (Windows semantics: even an active one). */
  setReuseAddress(on = true): void {
    this.#setBool('setReuseAddress', SOL_SOCKET, SO_REUSEADDR, on);
  }

  /** SO_REUSEADDR. */
  getReuseAddress(): boolean {
    return sys.getIntOption(this[handleOf]('getReuseAddress'), SOL_SOCKET, SO_REUSEADDR) !== 0;
  }

  /** SO_EXCLUSIVEADDRUSE: no other socket may bind this address, SO_REUSEADDR or not. Set before bind(). */
  setExclusiveAddressUse(on = true): void {
    this.#setBool('setExclusiveAddressUse', SOL_SOCKET, SO_EXCLUSIVEADDRUSE, on);
  }

  /** SO_EXCLUSIVEADDRUSE. */
  getExclusiveAddressUse(): boolean {
    return sys.getIntOption(this[handleOf]('getExclusiveAddressUse'), SOL_SOCKET, SO_EXCLUSIVEADDRUSE) !== 0;
  }

  /**
   * SO_KEEPALIVE; with timings, SIO_KEEPALIVE_VALS (idle time before the first probe
   * and the interval between probes, in milliseconds).
   */
  setKeepAlive(on: boolean, timings?: Partial<KeepAliveOptions>): void {
    const handle = this[handleOf]('setKeepAlive');
    if (typeof on !== 'boolean') throw new TypeError(`on must be a boolean, got ${describe(on)}`);
    if (timings === undefined) {
      sys.setIntOption(handle, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
      return;
    }
    if (typeof timings !== 'object' || timings === null) throw new TypeError(`timings must be an object { idleMs?, intervalMs? }, got ${describe(timings)}`);
    const idleMs = timings.idleMs ?? DEFAULT_KEEPALIVE_IDLE_MS;
    const intervalMs = timings.intervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
    checkU32Ms(idleMs, 'idleMs', 1);
    checkU32Ms(intervalMs, 'intervalMs', 1);
    sys.setKeepAliveValues(handle, on, idleMs, intervalMs);
  }

  /** SO_KEEPALIVE. */
  getKeepAlive(): boolean {
    return sys.getIntOption(this[handleOf]('getKeepAlive'), SOL_SOCKET, SO_KEEPALIVE) !== 0;
  }

  /** SO_RCVBUF, in bytes. */
  getReceiveBufferSize(): number {
    return sys.getIntOption(this[handleOf]('getReceiveBufferSize'), SOL_SOCKET, SO_RCVBUF);
  }

  /** SO_RCVBUF, in bytes (0 lets the stack buffer dynamically). */
  setReceiveBufferSize(bytes: number): void {
    const handle = this[handleOf]('setReceiveBufferSize');
    checkInt32(bytes, 'bytes', 0);
    sys.setIntOption(handle, SOL_SOCKET, SO_RCVBUF, bytes);
  }

  /** SO_SNDBUF, in bytes. */
  getSendBufferSize(): number {
    return sys.getIntOption(this[handleOf]('getSendBufferSize'), SOL_SOCKET, SO_SNDBUF);
  }

  /** SO_SNDBUF, in bytes (0 sends straight from the caller's buffer). */
  setSendBufferSize(bytes: number): void {
    const handle = this[handleOf]('setSendBufferSize');
    checkInt32(bytes, 'bytes', 0);
    sys.setIntOption(handle, SOL_SOCKET, SO_SNDBUF, bytes);
  }

  /**
   * SO_RCVTIMEO, in milliseconds (0 = wait forever). A blocking recv() that times out
   * throws WSAETIMEDOUT; Microsoft documents the socket's state as undefined after
   * that, so close it.
   */
  setReceiveTimeout(ms: number): void {
    const handle = this[handleOf]('setReceiveTimeout');
    checkU32Ms(ms, 'ms', 0);
    sys.setIntOption(handle, SOL_SOCKET, SO_RCVTIMEO, ms);
  }

  /** SO_RCVTIMEO, in milliseconds (0 = none). */
  getReceiveTimeout(): number {
    return sys.getIntOption(this[handleOf]('getReceiveTimeout'), SOL_SOCKET, SO_RCVTIMEO) >>> 0;
  }

  /** SO_SNDTIMEO, in milliseconds (0 = wait forever). */
  setSendTimeout(ms: number): void {
    const handle = this[handleOf]('setSendTimeout');
    checkU32Ms(ms, 'ms', 0);
    sys.setIntOption(handle, SOL_SOCKET, SO_SNDTIMEO, ms);
  }

  /** SO_SNDTIMEO, in milliseconds (0 = none). */
  getSendTimeout(): number {
    return sys.getIntOption(this[handleOf]('getSendTimeout'), SOL_SOCKET, SO_SNDTIMEO) >>> 0;
  }

  /** FIONBIO: false makes send/recv/accept/connect fail with WSAEWOULDBLOCK instead of waiting. */
  setBlocking(on: boolean): void {
    const handle = this[handleOf]('setBlocking');
    if (typeof on !== 'boolean') throw new TypeError(`on must be a boolean, got ${describe(on)}`);
    sys.setBlocking(handle, on);
    this.#blocking = on;
  }

  /** Whether the socket blocks (Windows cannot be asked; this is the last FIONBIO set here). */
  get blocking(): boolean {
    return this.#blocking;
  }

  /** FIONREAD: bytes that a recv() would return now without blocking. */
  get bytesAvailable(): number {
    return sys.bytesAvailable(this[handleOf]('bytesAvailable'));
  }

  /** getsockopt() for any option: up to `size` bytes of its raw value. */
  getOption(level: number, name: number, size = 4): Buffer {
    const handle = this[handleOf]('getOption');
    checkInt32(level, 'level', -0x80000000);
    checkInt32(name, 'name', -0x80000000);
    if (typeof size !== 'number' || !Number.isInteger(size)) throw new TypeError(`size must be an integer, got ${describe(size)}`);
    // The largest option value Winsock has (WSAPROTOCOL_INFOW) is 628 bytes.
    if (size < 1 || size > MAX_OPTION_SIZE) throw new RangeError(`size must be between 1 and ${MAX_OPTION_SIZE}, got ${size}`);
    return sys.getOption(handle, level, name, size);
  }

  /** setsockopt() for any option: a number is sent as a 4-byte int, bytes as they are. */
  setOption(level: number, name: number, value: number | boolean | Uint8Array): void {
    const handle = this[handleOf]('setOption');
    checkInt32(level, 'level', -0x80000000);
    checkInt32(name, 'name', -0x80000000);
    if (typeof value === 'boolean') value = value ? 1 : 0;
    if (typeof value === 'number') {
      checkInt32(value, 'value', -0x80000000);
      sys.setIntOption(handle, level, name, value);
    } else if (value instanceof Uint8Array) {
      // An empty value would reach setsockopt as a NULL pointer (WSAEFAULT).
      if (value.byteLength === 0) throw new RangeError('value must not be empty');
      sys.setOption(handle, level, name, value);
    } else {
      throw new TypeError(`value must be a number, boolean or Uint8Array, got ${describe(value)}`);
    }
  }

  /**
   * SIO_LOOPBACK_FAST_PATH: asks Windows 8 / Server 2012 and later to carry this
   * TCP connection's loopback traffic on a short path that skips most of the stack.
   * Both ends must ask, the connecting socket before connect() and the listener
   * before its first accept(). Returns false when the system does not have it
   * (WSAEOPNOTSUPP: Windows 7, Wine). Microsoft now marks the ioctl deprecated.
   */
  enableLoopbackFastPath(): boolean {
    const handle = this[handleOf]('enableLoopbackFastPath');
    this.#requireTcp('enableLoopbackFastPath');
    if (this.#state === 'connected') {
      throw new SocketStateError('ERR_FAST_PATH_TOO_LATE', 'enableLoopbackFastPath: the socket is already connected; ask before connect() (or on the listener before accept())');
    }
    if (this.#hasAccepted) {
      throw new SocketStateError('ERR_FAST_PATH_TOO_LATE', 'enableLoopbackFastPath: the listener has already accepted connections; ask before the first accept()');
    }
    this.#loopbackFastPath = sys.enableLoopbackFastPath(handle);
    return this.#loopbackFastPath;
  }

  #setBool(operation: string, level: number, name: number, on: boolean): void {
    const handle = this[handleOf](operation);
    if (typeof on !== 'boolean') throw new TypeError(`${operation}: on must be a boolean, got ${describe(on)}`);
    sys.setIntOption(handle, level, name, on ? 1 : 0);
  }

  /** Loops that must not stop half-way cannot run on a non-blocking socket: WSAEWOULDBLOCK would lose the progress. */
  #requireBlocking(operation: string): void {
    if (!this.#blocking) throw new SocketStateError('ERR_SOCKET_NONBLOCKING', `${operation} needs a blocking socket; use trySend/tryRecv with poll() on a non-blocking one`);
  }

  #requireTcp(operation: string): void {
    if (this.type !== 'tcp') throw new SocketStateError('ERR_SOCKET_TYPE', `${operation} needs a TCP socket; this one is UDP`);
  }

  /** A literal of this socket's family, or a host name resolved in it. */
  #resolveForMe(input: SocketAddressInput): SocketAddress {
    const literal = literalFamily(input.address);
    if (literal !== null) {
      if (literal !== this.family) {
        throw new TypeError(`${JSON.stringify(input.address)} is an ${literal === 'ipv4' ? 'IPv4' : 'IPv6'} address but this socket is ${this.family === 'ipv4' ? 'IPv4' : 'IPv6'}`);
      }
      return { family: literal, address: input.address, port: input.port };
    }
    return resolveOne(input, this.family);
  }

  get [Symbol.toStringTag](): string {
    return `Socket ${this.family} ${this.type}${this.closed ? ' (closed)' : ''}`;
  }
}

/** A literal as it is, or the resolver's first answer for a host name (in `family` if given). */
export function resolveOne(input: SocketAddressInput, family: AddressFamily | null): SocketAddress {
  const literal = literalFamily(input.address);
  if (literal !== null) {
    if (family !== null && literal !== family) throw new TypeError(`${JSON.stringify(input.address)} is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
    return { family: literal, address: input.address, port: input.port };
  }
  const [first] = sys.resolve(input.address, family, 'tcp');
  if (first === undefined) throw new TypeError(`${JSON.stringify(input.address)} resolved to no ${family ?? 'IP'} address`);
  return { family: first.family, address: first.address, port: input.port };
}

/** Resolves a host name with GetAddrInfoW: every address, in the resolver's order. */
export function lookup(host: string, family?: AddressFamily): SocketAddress[] {
  if (typeof host !== 'string' || host === '') throw new TypeError(`host must be a non-empty string, got ${describe(host)}`);
  return sys.resolve(host, family === undefined ? null : checkFamily(family), 'tcp').map((a) => ({ family: a.family, address: a.address, port: 0 }));
}

function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  checkBuffer(data, 'data', false);
  return data;
}

function checkBuffer(buffer: unknown, name: string, nonEmpty: boolean): void {
  if (!(buffer instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer or Uint8Array, got ${describe(buffer)}`);
  // A zero-length recv() returns 0, which would read as the end of the stream.
  if (nonEmpty && buffer.byteLength === 0) throw new RangeError(`${name} must not be empty`);
}

function checkInt32(value: unknown, name: string, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (value < min || value > 0x7fffffff) throw new RangeError(`${name} must be between ${min} and ${0x7fffffff}, got ${value}`);
}

function checkU32Ms(value: unknown, name: string, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer number of milliseconds, got ${describe(value)}`);
  if (value < min || value > 0xffffffff) throw new RangeError(`${name} must be between ${min} and ${0xffffffff}, got ${value}`);
}

function checkTimeout(value: unknown, name: string): void {
  checkU32Ms(value, name, 1);
}

function checkOptionsObject(options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
}

function checkBacklog(backlog: unknown): void {
  checkInt32(backlog, 'backlog', 0);
}
