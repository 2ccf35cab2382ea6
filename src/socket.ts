// The public Socket: a facade over one socket core (src/core/socket-core.ts, which holds
// the handle and its state): synchronous calls, typed options (one line each over the
// table in src/core/options.ts), and the Promise API's entry points (src/async/).
// Arguments are checked here (src/core/checks.ts) before any native call, and only here;
// the calls themselves are the platform layer's (src/sys). Other modules reach a
// Socket's core only through the `sockets` registry.

import { setReferenced } from './async/engine.ts';
import { ChunkReader, recvExact } from './async/reads.ts';
import * as asyncIo from './async/run.ts';
import type { RecvFromResult } from './async/run.ts';
import { releaseForHandoff, sendAsync as queueSend } from './async/sends.ts';
import type { AddressFamily, SocketAddress, SocketAddressInput } from './base/address.ts';
import {
  checkAddressInput,
  checkBacklog,
  checkBoolean,
  checkBuffer,
  checkBufferList,
  checkFamily,
  checkInt32,
  checkInteger,
  checkInterface,
  checkMulticastGroup,
  checkObject,
  checkOptionalBoolean,
  checkOptionalFamily,
  checkPositiveMs,
  checkSignal,
  describe,
  requireTcp,
  requireUdp,
} from './core/checks.ts';
import type { CheckedAddress } from './core/checks.ts';
import { abortedBy, EndOfStreamError, SocketStateError, WinsockError } from './core/errors.ts';
import { getOption, OPTIONS, setKeepAlive, setLinger, setOption } from './core/options.ts';
import { resolveFor, resolveOne } from './core/resolve.ts';
import { acceptedCore, claimHandle, claimNewHandle, closeQuietly, createOwnedSocket, releaseHandle, requireDataSocket, SocketCore, sockets } from './core/socket-core.ts';
import { SocketStream } from './stream.ts';
import type { SocketStreamOptions } from './stream.ts';
import * as sys from './sys/index.ts';
import type { Handle, ShutdownHow, SocketType, TcpInfo } from './sys/index.ts';

export type { ShutdownHow, SocketType, TcpInfo, TcpState } from './sys/index.ts';
export type { RecvFromResult } from './async/run.ts';

export interface SocketOptions {
  /** 'ipv4' (default) or 'ipv6'. */
  readonly family?: AddressFamily;
  /** 'tcp' (default) or 'udp'. */
  readonly type?: SocketType;
  /**
   * WSA_FLAG_REGISTERED_IO (default false): the socket can take a Registered I/O request
   * queue (RequestQueue). Accepted sockets inherit it from their listener.
   */
  readonly registeredIo?: boolean;
  /**
   * IPV6_V6ONLY: true keeps an IPv6 socket to IPv6; false (the default, as node:net and
   * dgram choose) makes it dual-stack, so that a socket bound to `::` also takes IPv4,
   * seen as `::ffff:a.b.c.d`. Ignored for IPv4 sockets.
   */
  readonly ipv6Only?: boolean;
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
  /** IPV6_V6ONLY for an IPv6 socket (default false: dual-stack); see SocketOptions.ipv6Only. */
  readonly ipv6Only?: boolean;
}

/** Options of the Promise API's calls. */
export interface AsyncOptions {
  /** Cancels the native operation and rejects with AbortError when it fires. */
  readonly signal?: AbortSignal;
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
  /**
   * IPV6_V6ONLY for an IPv6 listener (default false, as node:net: a listener on `::`
   * also accepts IPv4 connections, from `::ffff:a.b.c.d`); see SocketOptions.ipv6Only.
   */
  readonly ipv6Only?: boolean;
}

export interface KeepAliveOptions {
  /** Idle time before the first probe, in milliseconds. */
  readonly idleMs: number;
  /** Time between unanswered probes, in milliseconds. */
  readonly intervalMs: number;
}

export interface SendToAsyncOptions extends AsyncOptions {}

/** SO_LINGER as getLinger() reads it. */
export interface Linger {
  readonly on: boolean;
  readonly seconds: number;
}

/** getOption() reads at most this many bytes (the largest Winsock option, WSAPROTOCOL_INFOW, is 628). */
const MAX_OPTION_SIZE = 4096;
/** sizeof(WSAPROTOCOL_INFOW): what duplicate() returns and fromDuplicate() takes. */
const PROTOCOL_INFO_SIZE = sys.constants.WSAPROTOCOL_INFOW_SIZE;
/** chunks() without a size: chunks of up to 64 KiB. */
const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** sendv/recvv's checked views, reused (emptied after each call). */
const vectorViews: Uint8Array[] = [];

/** Set only while Socket.#over constructs: the constructor wraps this core instead of making a socket. */
let wrapping: SocketCore | null = null;
/** The Socket over each core (one per core). */
const facades = new WeakMap<SocketCore, Socket>();
/** Socket.#over, for socketOver() below the class. */
let socketFor: (core: SocketCore) => Socket;

/**
 * A Winsock socket. Calls are synchronous and block the thread when the socket is
 * blocking (the default); see CompletionPort and the *Async methods for I/O that
 * does not. Every call after close() throws SocketClosedError.
 */
export class Socket {
  readonly family: AddressFamily;
  readonly type: SocketType;
  /** Everything the layers below know about this socket; the facade adds checks and the public shape. */
  readonly #core: SocketCore;

  constructor(options: SocketOptions = {}) {
    const over = wrapping;
    wrapping = null;
    if (over !== null) {
      // Socket.#over: the core exists, its handle claimed already.
      this.#core = over;
    } else {
      checkObject(options);
      const family = checkFamily(options.family ?? 'ipv4');
      const type = options.type ?? 'tcp';
      if (type !== 'tcp' && type !== 'udp') throw new TypeError(`type must be 'tcp' or 'udp', got ${describe(type)}`);
      const ipv6Only = checkOptionalBoolean(options.ipv6Only, 'ipv6Only') ?? false;
      const registeredIo = checkOptionalBoolean(options.registeredIo, 'registeredIo') ?? false;
      const handle = createOwnedSocket(family, type, registeredIo);
      if (family === 'ipv6') {
        // Windows starts IPv6 sockets IPv6-only; node:net and dgram make them dual-stack
        // unless asked not to, and so does this package. Before bind(), or it is too late.
        try {
          sys.setRawIntOption(handle, sys.constants.IPPROTO_IPV6, sys.constants.IPV6_V6ONLY, ipv6Only ? 1 : 0);
        } catch (error) {
          releaseHandle(handle);
          closeQuietly(handle);
          throw error;
        }
      }
      this.#core = new SocketCore({ handle, family, type, registeredIo });
    }
    this.family = this.#core.family;
    this.type = this.#core.type;
    sockets.bind(this, this.#core);
    facades.set(this.#core, this);
  }

  static {
    socketFor = (core) => Socket.#over(core);
  }

  /** The public Socket over `core` (made once per core). */
  static #over(core: SocketCore): Socket {
    const existing = facades.get(core);
    if (existing !== undefined) return existing;
    wrapping = core;
    return new Socket();
  }

  /** A new Socket over a handle this package just claimed (fromHandle, fromDuplicate): its state is asked of the system. */
  static #adopt(handle: Handle): Socket {
    const { family, type } = sys.describeSocket(handle);
    const listening = type === 'tcp' && sys.getRawIntOption(handle, sys.constants.SOL_SOCKET, sys.constants.SO_ACCEPTCONN) !== 0;
    return Socket.#over(new SocketCore({ handle, family, type, fastPathTooLate: listening || sys.hasPeer(handle), listening, adopted: true }));
  }

  /**
   * Adopts an existing SOCKET (from another library, or inherited). The Socket owns
   * it from then on and closes it on close(). A handle this package already holds
   * (an open Socket's, or a pending acceptAsync's) is refused with ERR_SOCKET_OWNED.
   */
  static fromHandle(handle: bigint | number): Socket {
    if (typeof handle !== 'bigint' && typeof handle !== 'number') throw new TypeError(`handle must be a bigint or number, got ${describe(handle)}`);
    if (typeof handle === 'number' && (!Number.isSafeInteger(handle) || handle <= 0)) throw new RangeError(`handle must be a positive integer, got ${handle}`);
    if (typeof handle === 'bigint' && (handle <= 0n || handle > BigInt(Number.MAX_SAFE_INTEGER))) throw new RangeError(`handle ${handle} is not a valid SOCKET`);
    const value = Number(handle);
    claimHandle(value);
    try {
      return Socket.#adopt(value);
    } catch (error) {
      releaseHandle(value);
      throw error;
    }
  }

  /**
   * Takes over a socket another process duplicated for this one with `duplicate(pid)`
   * (the WSAPROTOCOL_INFOW bytes it returned): WSASocketW(FROM_PROTOCOL_INFO). The new
   * Socket owns its handle; the other process closes its own. An info is for one use: when
   * the handle the system gives is one this package already owns (the info was taken over
   * already, and the system answered with the same handle, as Wine does), it is refused with
   * ERR_SOCKET_OWNED and left to its owner; a handle that is not the socket the info
   * describes (no socket, or one of another family or type) is refused, and left
   * open, with WSAENOTSOCK or ERR_SOCKET_NOT_DUPLICATE.
   */
  static fromDuplicate(info: Uint8Array): Socket {
    const view = checkBuffer(info, 'info', true);
    if (view.byteLength !== PROTOCOL_INFO_SIZE) throw new RangeError(`info must be the ${PROTOCOL_INFO_SIZE} bytes duplicate() returned, got ${view.byteLength}`);
    // A copy: the handle is checked against the very bytes WSASocketW read.
    const bytes = Buffer.from(view);
    // Windows makes a new handle here. Wine's WSASocketW returns the handle number written
    // in the info as it is (its WSADuplicateSocketW made the handle in this process already):
    // the same info twice gives the same number, and an info forged, or made for another
    // process, names whatever has that number here. So this handle is closed on a failure
    // only once it is known to be the socket the info describes.
    const handle = sys.socketFromProtocolInfo(bytes);
    try {
      claimHandle(handle);
    } catch {
      throw new SocketStateError(
        'ERR_SOCKET_OWNED',
        `fromDuplicate: the system answered with handle ${handle}, which a Socket here (or a pending acceptAsync) already owns: this info was taken over already (an info is for one use); the handle stays with its owner`,
      );
    }
    let isTheDuplicate = false;
    try {
      // WSAENOTSOCK for a handle that is no socket.
      isTheDuplicate = sys.matchesProtocolInfo(handle, bytes);
      if (!isTheDuplicate) {
        throw new SocketStateError(
          'ERR_SOCKET_NOT_DUPLICATE',
          `fromDuplicate: handle ${handle}, which the system answered with, is not a socket of the family and type the info describes (was the info made for another process?); it is left open`,
        );
      }
      return Socket.#adopt(handle);
    } catch (error) {
      releaseHandle(handle);
      if (isTheDuplicate) closeQuietly(handle);
      throw error;
    }
  }

  /** Creates a TCP socket, applies the options in the order Windows needs, and connects. */
  static connect(address: SocketAddressInput, options: ConnectOptions = {}): Socket {
    const input = checkAddressInput(address);
    const settings = checkConnectOptions(options);
    const { socket, target } = Socket.#beforeConnect(input, settings);
    try {
      socket.#connectTo(target, settings.timeoutMs);
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
    const input = checkAddressInput(address);
    checkObject(options);
    // Before the resolver and the new socket: a bad or fired signal starts nothing.
    const signal = checkSignal(options);
    if (signal?.aborted) throw abortedBy(signal);
    const settings = checkConnectOptions(options);
    const { socket, target } = Socket.#beforeConnect(input, settings);
    try {
      await asyncIo.connectAsync(socket.#core, target, settings.timeoutMs, signal);
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** The target resolved once, and a new TCP socket of its family with the options that must precede connect(). */
  static #beforeConnect(address: CheckedAddress, settings: ConnectSettings): { socket: Socket; target: SocketAddress } {
    const target = resolveOne(address, settings.family);
    const socket = new Socket({ family: target.family, type: 'tcp', ipv6Only: settings.ipv6Only });
    try {
      if (settings.noDelay === true) socket.setNoDelay(true);
      // The fast path must be asked for before connect(); it is a request, not a
      // requirement, so an unsupported system just connects normally.
      if (settings.loopbackFastPath === true) socket.enableLoopbackFastPath();
      return { socket, target };
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /** Creates a TCP socket, applies the options, binds and listens. */
  static listen(address: SocketAddressInput, options: ListenOptions = {}): Socket {
    const input = checkAddressInput(address);
    checkObject(options);
    // Each option read once: what was checked is what is used.
    const { backlog: requestedBacklog, exclusiveAddressUse: exclusive, reuseAddress: reuse, loopbackFastPath: fastPath, family, ipv6Only: v6Only } = options;
    const backlog = requestedBacklog === undefined ? sys.SOMAXCONN : checkBacklog(requestedBacklog);
    const exclusiveAddressUse = checkOptionalBoolean(exclusive, 'exclusiveAddressUse');
    const reuseAddress = checkOptionalBoolean(reuse, 'reuseAddress');
    const loopbackFastPath = checkOptionalBoolean(fastPath, 'loopbackFastPath');
    const ipv6Only = checkOptionalBoolean(v6Only, 'ipv6Only');
    const target = resolveOne(input, checkOptionalFamily(family));
    const socket = new Socket({ family: target.family, type: 'tcp', ipv6Only });
    try {
      if (exclusiveAddressUse === true) socket.setExclusiveAddressUse(true);
      if (reuseAddress === true) socket.setReuseAddress(true);
      if (loopbackFastPath === true) socket.enableLoopbackFastPath();
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
    return BigInt(this.#core.live('handle'));
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /** True once enableLoopbackFastPath() (or the matching option) took effect. */
  get loopbackFastPath(): boolean {
    return this.#core.loopbackFastPath;
  }

  /** True for a socket created with WSA_FLAG_REGISTERED_IO (the registeredIo option), which can take a RequestQueue. */
  get registeredIo(): boolean {
    return this.#core.registeredIo;
  }

  /**
   * Gives up the handle and returns it, for `Socket.fromHandle()` in a worker thread (or
   * any code that takes a SOCKET); a non-blocking socket is made blocking again first, as
   * fromHandle() takes it to be. From then on this Socket refuses every call
   * (ERR_SOCKET_DETACHED) and close() does not close the handle. Refused while async
   * operations are pending (ERR_SOCKET_BUSY), a stream owns the socket, or it was made for
   * Registered I/O (ERR_SOCKET_REGISTERED_IO: RIO's close order is kept here). A socket that
   * did async I/O is taken off this thread's completion port first (Windows 8.1+), so
   * that the Promise API works where it goes; where the system cannot do that (Wine 8),
   * the handle keeps working there with synchronous calls, and its Promise API only in
   * this thread.
   */
  detach(): bigint {
    const core = this.#core;
    const handle = core.live('detach');
    if (core.streamed) throw new SocketStateError('ERR_SOCKET_STREAMED', 'detach: a stream owns this socket');
    // Its request queue and completion queue stay in this thread, which must see it close.
    if (core.registeredIo) throw new SocketStateError('ERR_SOCKET_REGISTERED_IO', 'detach: a Registered I/O socket stays in the thread of its queues');
    releaseForHandoff(core, 'detach');
    // fromHandle() takes a socket as blocking (Windows cannot be asked): make it so.
    if (!core.blocking) sys.setBlocking(handle, true);
    return BigInt(core.giveAway());
  }

  /**
   * WSADuplicateSocketW for process `processId`: the WSAPROTOCOL_INFOW bytes that
   * process passes to `Socket.fromDuplicate()` to get its own handle to this socket.
   * Refused while async operations are pending (ERR_SOCKET_BUSY). This Socket stays
   * open: close it once the other process has taken the socket. As with detach(), a
   * socket that did async I/O is taken off this thread's completion port first (every
   * handle to a socket shares one), where the system can (Windows 8.1+).
   */
  duplicate(processId: number): Buffer {
    const handle = this.#core.live('duplicate');
    checkInteger(processId, 'processId', 1, 0xffffffff);
    releaseForHandoff(this.#core, 'duplicate');
    return sys.duplicateSocket(handle, processId);
  }

  /**
   * Pending async operations of this socket keep the process alive again (the
   * default), as net.Socket.ref() does. Returns the socket.
   */
  ref(): this {
    this.#core.live('ref');
    setReferenced(this.#core, true);
    return this;
  }

  /**
   * Pending async operations of this socket no longer keep the process alive: a
   * script whose only work left is an idle recvAsync exits, as with net.Socket.unref().
   * Returns the socket.
   */
  unref(): this {
    this.#core.live('unref');
    setReferenced(this.#core, false);
    return this;
  }

  /** bind(): `address` must be a literal of this socket's family or a host name. */
  bind(address: SocketAddressInput): void {
    const handle = this.#core.live('bind');
    const target = resolveFor(this.family, checkAddressInput(address));
    sys.bind(handle, this.family, target.address, target.port);
    this.#core.bound = true;
  }

  /** listen(backlog = SOMAXCONN). */
  listen(backlog: number = sys.SOMAXCONN): void {
    const handle = this.#core.live('listen');
    checkBacklog(backlog);
    requireTcp(this, 'listen');
    sys.listen(handle, backlog);
    this.#core.listening = true;
  }

  /** accept(): the next connection, as a blocking Socket. */
  accept(): Socket {
    const handle = this.#core.live('accept');
    requireTcp(this, 'accept');
    const accepted = sys.accept(handle);
    claimNewHandle(accepted, 'accept');
    return Socket.#over(acceptedCore(this.#core, accepted, !this.#core.blocking));
  }

  /** connect(): `address` must be a literal of this socket's family or a host name. */
  connect(address: SocketAddressInput): void {
    this.#core.live('connect');
    this.#connectTo(resolveFor(this.family, checkAddressInput(address)), undefined);
  }

  #connectTo(target: SocketAddress, timeoutMs: number | undefined): void {
    const handle = this.#core.live('connect');
    if (timeoutMs === undefined) {
      try {
        sys.connect(handle, this.family, target.address, target.port);
      } catch (error) {
        // A non-blocking connect goes on in the background: from here on it is too
        // late for options that must precede connect (the fast path).
        if (error instanceof WinsockError && error.errno === sys.WSAEWOULDBLOCK) this.#core.fastPathTooLate = true;
        throw error;
      }
    } else {
      try {
        sys.connectWithTimeout(handle, this.family, target.address, target.port, timeoutMs);
      } finally {
        if (this.#core.blocking) sys.setBlocking(handle, true);
      }
    }
    this.#core.fastPathTooLate = true;
    this.#core.bound = true;
  }

  /** send() once: returns how many bytes the stack took (maybe fewer than given). */
  send(data: Uint8Array | string): number {
    const handle = this.#core.live('send');
    return sys.send(handle, toBytes(data));
  }

  /** Sends every byte of `data`, calling send() as often as it takes. */
  sendAll(data: Uint8Array | string): void {
    const handle = this.#core.live('sendAll');
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
    const handle = this.#core.live('trySend');
    return sys.trySend(handle, checkBuffer(data, 'data', false));
  }

  /** recv() once into `buffer`: the number of bytes read; 0 is the orderly end of the stream. */
  recv(buffer: Uint8Array): number {
    const handle = this.#core.live('recv');
    return sys.recv(handle, checkBuffer(buffer, 'buffer', true));
  }

  /** recv() on a non-blocking socket: -1 when nothing is there yet instead of WSAEWOULDBLOCK. */
  tryRecv(buffer: Uint8Array): number {
    const handle = this.#core.live('tryRecv');
    return sys.tryRecv(handle, checkBuffer(buffer, 'buffer', true));
  }

  /** Fills `buffer` completely; EndOfStreamError (with `bytesRead` and `partial`) if the peer ends the stream first. */
  recvExact(buffer: Uint8Array): void {
    const handle = this.#core.live('recvExact');
    const view = checkBuffer(buffer, 'buffer', true);
    this.#requireBlocking('recvExact');
    let filled = sys.recv(handle, view);
    while (filled < view.byteLength) {
      if (filled === 0) throw new EndOfStreamError(0, view.byteLength, view.subarray(0, 0));
      const more = sys.recv(handle, view.subarray(filled));
      if (more === 0) throw new EndOfStreamError(filled, view.byteLength, view.subarray(0, filled));
      filled += more;
    }
  }

  /** sendto(): one datagram to `address` (a literal of this socket's family or a host name). */
  sendTo(data: Uint8Array | string, address: SocketAddressInput): number {
    const handle = this.#core.live('sendTo');
    const bytes = toBytes(data);
    const target = resolveFor(this.family, checkAddressInput(address));
    const sent = sys.sendTo(handle, bytes, this.family, target.address, target.port);
    this.#core.bound = true; // sendto() binds an unbound socket
    return sent;
  }

  /** recvfrom(): one datagram into `buffer` and who sent it. */
  recvFrom(buffer: Uint8Array): RecvFromResult {
    const handle = this.#core.live('recvFrom');
    const { bytes, from } = sys.recvFrom(handle, checkBuffer(buffer, 'buffer', true));
    return { bytes, address: from?.address ?? '', port: from?.port ?? 0 };
  }

  /**
   * One WSASend of several buffers, a WSABUF each, read where they are (no concatenation):
   * the bytes sent (on a blocking socket, all of them unless it fails; on UDP, one datagram).
   */
  sendv(buffers: readonly Uint8Array[]): number {
    const handle = this.#core.live('sendv');
    const count = checkBufferList(buffers, 'buffers', vectorViews, false);
    try {
      return sys.sendv(handle, vectorViews, count);
    } finally {
      vectorViews.length = 0;
    }
  }

  /**
   * One WSARecv into several buffers, a WSABUF each, filled in order: the bytes received
   * (0 is the end of the stream; on UDP one datagram, WSAEMSGSIZE when it did not fit).
   */
  recvv(buffers: readonly Uint8Array[]): number {
    const handle = this.#core.live('recvv');
    const count = checkBufferList(buffers, 'buffers', vectorViews, true);
    try {
      return sys.recvv(handle, vectorViews, count);
    } finally {
      vectorViews.length = 0;
    }
  }

  /** shutdown(): 'send' sends FIN, 'receive' refuses further data, 'both' does both. */
  shutdown(how: ShutdownHow = 'both'): void {
    const handle = this.#core.live('shutdown');
    if (how !== 'send' && how !== 'receive' && how !== 'both') throw new TypeError(`how must be 'send', 'receive' or 'both', got ${describe(how)}`);
    sys.shutdown(handle, how);
  }

  /** closesocket(). Idempotent; afterwards every call throws SocketClosedError. */
  close(): void {
    // The core cancels its own pending overlapped I/O first (Wine leaves pending sends of a closed socket hanging otherwise).
    this.#core.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // --- Promise API (overlapped I/O on the shared completion port) ------------

  // Not `async` functions: one Promise per call, not two; a bad argument still rejects.

  /**
   * One overlapped recv into `buffer`: the byte count, 0 at the end of the stream. A
   * rejection says on `bytesRead` how many bytes had come. On a UDP socket, one datagram
   * (through WSARecvFrom, as recvFromAsync): one larger than `buffer` rejects with
   * WSAEMSGSIZE, its first bytes in `buffer`.
   */
  recvAsync(buffer: Uint8Array, options?: AsyncOptions): Promise<number> {
    try {
      this.#core.live('recvAsync');
      const view = checkBuffer(buffer, 'buffer', true);
      requireDataSocket(this.#core, 'recvAsync');
      if (this.type === 'udp' && !this.#core.bound) {
        // Nothing can arrive on an unbound UDP socket: the receive would wait forever.
        this.#core.bound = sys.isBound(this.#core.live('recvAsync'));
        if (!this.#core.bound) throw new SocketStateError('ERR_SOCKET_NOT_BOUND', 'recvAsync: this UDP socket is not bound; bind() it (or send from it) first');
      }
      // UDP: one datagram, as recvFromAsync receives it; one larger than `buffer` is reported, never cut short.
      const signal = checkSignal(options);
      if (this.type === 'udp') return asyncIo.recvDatagramAsync(this.#core, view, signal);
      return asyncIo.recvAsync(this.#core, view, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Receives until `buffer` is full (one overlapped recv after another) and resolves with
   * `buffer` itself, as asyncio's readexactly() returns all the bytes asked for; an empty
   * buffer resolves at once. If the peer ends the stream first it rejects with
   * EndOfStreamError (`code` 'ERR_END_OF_STREAM', like asyncio's IncompleteReadError):
   * `bytesRead` bytes came, `partial` is the front of `buffer` that holds them, of
   * `expected`. Any other rejection (an error, the signal) says on `bytesRead` how many
   * bytes in all are in the front of `buffer`. TCP only.
   */
  recvExactAsync<T extends Uint8Array>(buffer: T, options?: AsyncOptions): Promise<T> {
    try {
      this.#core.live('recvExactAsync');
      const view = checkBuffer(buffer, 'buffer', false);
      requireTcp(this, 'recvExactAsync');
      requireDataSocket(this.#core, 'recvExactAsync');
      return recvExact(this.#core, view, buffer, checkSignal(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * An async iterator over what this TCP socket receives: `for await (const chunk of
   * socket.chunks(size))` yields chunks of 1 to `size` bytes (default 64 KiB) until the end
   * of the stream. Each chunk is a new Buffer of its own, which the iterator never touches
   * again: keep it as long as you like. Nothing is read ahead, so leaving the loop early
   * (break, throw) loses no data and leaves the socket open; return() called while a
   * next() is pending cancels that receive. A failed receive rejects the iteration (its
   * WinsockError), as does `signal` (AbortError); the socket stays open either way.
   */
  chunks(size: number = DEFAULT_CHUNK_SIZE, options?: AsyncOptions): AsyncIterableIterator<Buffer, undefined, undefined> {
    this.#core.live('chunks');
    checkInt32(size, 'size', 1);
    requireTcp(this, 'chunks');
    requireDataSocket(this.#core, 'chunks');
    return new ChunkReader(this.#core, size, checkSignal(options));
  }

  /**
   * Sends every byte of `data` with overlapped sends; resolves when the stack has taken
   * it all. An array of buffers goes out in order as one WSASend with a WSABUF each (its
   * pieces copied when their turn comes, never concatenated). A rejection says on
   * `bytesWritten` how many bytes the stack had taken.
   */
  sendAsync(data: Uint8Array | string | readonly Uint8Array[], options?: AsyncOptions): Promise<void> {
    try {
      this.#core.live('sendAsync');
      let bytes: Uint8Array | Uint8Array[];
      if (Array.isArray(data)) {
        const views: Uint8Array[] = [];
        checkBufferList(data, 'data', views, false);
        bytes = views;
      } else {
        bytes = toBytes(data as Uint8Array | string);
      }
      requireDataSocket(this.#core, 'sendAsync');
      return queueSend(this.#core, bytes, checkSignal(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One overlapped WSARecvFrom: a datagram into `buffer`, resolving `{ bytes, address,
   * port }` as recvFrom() returns. A datagram larger than `buffer` rejects with a
   * WinsockError WSAEMSGSIZE (as recvFrom() throws), its first bytes in `buffer`:
   * `bytesRead` says how many, `datagramBytes` the datagram's size, `address`/`port`
   * the sender.
   */
  recvFromAsync(buffer: Uint8Array, options?: AsyncOptions): Promise<RecvFromResult> {
    try {
      this.#core.live('recvFromAsync');
      const view = checkBuffer(buffer, 'buffer', true);
      requireUdp(this, 'recvFromAsync');
      if (!this.#core.bound) {
        // Nothing can arrive on an unbound UDP socket: the receive would wait forever.
        this.#core.bound = sys.isBound(this.#core.live('recvFromAsync'));
        if (!this.#core.bound) throw new SocketStateError('ERR_SOCKET_NOT_BOUND', 'recvFromAsync: this UDP socket is not bound; bind() it (or send from it) first');
      }
      return asyncIo.recvFromAsync(this.#core, view, checkSignal(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One overlapped WSASendTo: a datagram to `address` (a literal of this socket's family,
   * or a host name, resolved first as sendTo() does), copied during the call. Resolves
   * with the bytes sent.
   */
  sendToAsync(data: Uint8Array | string, address: SocketAddressInput, options?: SendToAsyncOptions): Promise<number> {
    try {
      this.#core.live('sendToAsync');
      const bytes = toBytes(data);
      requireUdp(this, 'sendToAsync');
      const checked = checkAddressInput(address);
      const signal = checkSignal(options);
      const target = resolveFor(this.family, checked);
      const sending = asyncIo.sendToAsync(this.#core, bytes, target, signal);
      this.#core.bound = true; // WSASendTo binds an unbound socket
      return sending;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** AcceptEx: the next connection, without blocking the event loop. */
  acceptAsync(options?: AsyncOptions): Promise<Socket> {
    try {
      this.#core.live('acceptAsync');
      requireTcp(this, 'acceptAsync');
      // AcceptEx on a socket that is not listening would never complete.
      if (!this.#core.listening) throw new SocketStateError('ERR_SOCKET_NOT_LISTENING', 'acceptAsync: this socket is not listening; call listen() first');
      return asyncIo.acceptAsync(this.#core, checkSignal(options)).then(socketOver);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * A listening socket is async-iterable: `for await (const connection of listener)`
   * accepts (AcceptEx) until the listener is closed or the loop breaks.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Socket, void, undefined> {
    for (;;) {
      let accepted: Socket;
      try {
        accepted = await this.acceptAsync();
      } catch (error) {
        // Closed under the loop (the pending AcceptEx aborted): the iteration ends.
        if (this.closed) return;
        throw error;
      }
      yield accepted;
    }
  }

  /**
   * A stream.Duplex over this connected TCP socket, with net.Socket's behaviour:
   * backpressure, end() sends FIN, destroy() closes the socket. The stream owns the
   * socket from then on.
   */
  toStream(options?: SocketStreamOptions): SocketStream<Socket> {
    if (options === undefined) return new SocketStream(this);
    this.#core.live('toStream');
    requireTcp(this, 'toStream');
    checkObject(options);
    // Each option read once here; the stream gets a plain copy.
    const { allowHalfOpen, highWaterMark, readSize } = options;
    return new SocketStream(this, { allowHalfOpen, highWaterMark, readSize });
  }

  /** getsockname(). */
  get localAddress(): SocketAddress {
    return sys.localAddress(this.#core.live('localAddress'));
  }

  /** getpeername(). */
  get remoteAddress(): SocketAddress {
    return sys.remoteAddress(this.#core.live('remoteAddress'));
  }

  // --- Options (the table in core/options.ts: level, name, codec, requirement, range) ---

  /** TCP_NODELAY: send small segments at once instead of coalescing them (Nagle off). */
  setNoDelay(on = true): void { setOption(this.#core, OPTIONS.noDelay, on, 'setNoDelay'); }
  /** TCP_NODELAY. */
  getNoDelay(): boolean { return getOption(this.#core, OPTIONS.noDelay, 'getNoDelay'); }

  /** SO_REUSEADDR: allow binding a port another socket has bound (Windows semantics: even an active one). */
  setReuseAddress(on = true): void { setOption(this.#core, OPTIONS.reuseAddress, on, 'setReuseAddress'); }
  /** SO_REUSEADDR. */
  getReuseAddress(): boolean { return getOption(this.#core, OPTIONS.reuseAddress, 'getReuseAddress'); }

  /** SO_EXCLUSIVEADDRUSE: no other socket may bind this address, SO_REUSEADDR or not. Set before bind(). */
  setExclusiveAddressUse(on = true): void { setOption(this.#core, OPTIONS.exclusiveAddressUse, on, 'setExclusiveAddressUse'); }
  /** SO_EXCLUSIVEADDRUSE. */
  getExclusiveAddressUse(): boolean { return getOption(this.#core, OPTIONS.exclusiveAddressUse, 'getExclusiveAddressUse'); }

  /**
   * SO_KEEPALIVE; with timings, SIO_KEEPALIVE_VALS (idle time before the first probe
   * and the interval between probes, in milliseconds).
   */
  setKeepAlive(on: boolean, timings?: Partial<KeepAliveOptions>): void { setKeepAlive(this.#core, on, timings, 'setKeepAlive'); }
  /** SO_KEEPALIVE. */
  getKeepAlive(): boolean { return getOption(this.#core, OPTIONS.keepAlive, 'getKeepAlive'); }

  /** SO_RCVBUF, in bytes. */
  getReceiveBufferSize(): number { return getOption(this.#core, OPTIONS.receiveBufferSize, 'getReceiveBufferSize'); }
  /** SO_RCVBUF, in bytes (0 lets the stack buffer dynamically). */
  setReceiveBufferSize(bytes: number): void { setOption(this.#core, OPTIONS.receiveBufferSize, bytes, 'setReceiveBufferSize'); }

  /** SO_SNDBUF, in bytes. */
  getSendBufferSize(): number { return getOption(this.#core, OPTIONS.sendBufferSize, 'getSendBufferSize'); }
  /** SO_SNDBUF, in bytes (0 sends straight from the caller's buffer). */
  setSendBufferSize(bytes: number): void { setOption(this.#core, OPTIONS.sendBufferSize, bytes, 'setSendBufferSize'); }

  /**
   * SO_RCVTIMEO, in milliseconds (0 = wait forever). A blocking recv() that times out
   * throws WSAETIMEDOUT; Microsoft documents the socket's state as undefined after
   * that, so close it.
   */
  setReceiveTimeout(ms: number): void { setOption(this.#core, OPTIONS.receiveTimeout, ms, 'setReceiveTimeout'); }
  /** SO_RCVTIMEO, in milliseconds (0 = none). */
  getReceiveTimeout(): number { return getOption(this.#core, OPTIONS.receiveTimeout, 'getReceiveTimeout'); }

  /** SO_SNDTIMEO, in milliseconds (0 = wait forever). */
  setSendTimeout(ms: number): void { setOption(this.#core, OPTIONS.sendTimeout, ms, 'setSendTimeout'); }
  /** SO_SNDTIMEO, in milliseconds (0 = none). */
  getSendTimeout(): number { return getOption(this.#core, OPTIONS.sendTimeout, 'getSendTimeout'); }

  /** IPV6_V6ONLY: true keeps this IPv6 socket to IPv6, false makes it dual-stack (the default here). Set before bind()/connect(). */
  setIpv6Only(on: boolean): void { setOption(this.#core, OPTIONS.ipv6Only, on, 'setIpv6Only'); }
  /** IPV6_V6ONLY. */
  getIpv6Only(): boolean { return getOption(this.#core, OPTIONS.ipv6Only, 'getIpv6Only'); }

  /** SO_BROADCAST: allow sendTo() to a broadcast address (UDP). */
  setBroadcast(on: boolean): void { setOption(this.#core, OPTIONS.broadcast, on, 'setBroadcast'); }
  /** SO_BROADCAST. */
  getBroadcast(): boolean { return getOption(this.#core, OPTIONS.broadcast, 'getBroadcast'); }

  /**
   * IP_ADD_MEMBERSHIP / IPV6_ADD_MEMBERSHIP: receive the datagrams sent to multicast
   * `group` (a literal of this socket's family) on an interface: for IPv4 a local address
   * (default '0.0.0.0', the system's choice), for IPv6 an interface index (default 0).
   */
  addMembership(group: string, iface?: string | number): void {
    this.#membership('addMembership', true, group, iface);
  }

  /** IP_DROP_MEMBERSHIP / IPV6_DROP_MEMBERSHIP: leave a group joined with addMembership() (same arguments). */
  dropMembership(group: string, iface?: string | number): void {
    this.#membership('dropMembership', false, group, iface);
  }

  #membership(operation: string, join: boolean, group: string, iface: string | number | undefined): void {
    const handle = this.#core.live(operation);
    requireUdp(this, operation);
    const address = checkMulticastGroup(group, this.family, 'group');
    sys.setMembership(handle, this.family, join, address, checkInterface(iface, this.family, 'iface'));
  }

  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS: how many hops multicast datagrams sent from here may travel (0-255; default 1). */
  setMulticastTTL(ttl: number): void { setOption(this.#core, OPTIONS.multicastTTL, ttl, 'setMulticastTTL'); }
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS. */
  getMulticastTTL(): number { return getOption(this.#core, OPTIONS.multicastTTL, 'getMulticastTTL'); }

  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP: whether multicast sent from here is also delivered on this host (default true). */
  setMulticastLoopback(on: boolean): void { setOption(this.#core, OPTIONS.multicastLoopback, on, 'setMulticastLoopback'); }
  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP. */
  getMulticastLoopback(): boolean { return getOption(this.#core, OPTIONS.multicastLoopback, 'getMulticastLoopback'); }

  /** IP_MULTICAST_IF / IPV6_MULTICAST_IF: the interface multicast goes out on: a local IPv4 address, or an IPv6 interface index (0: the system's choice). */
  setMulticastInterface(iface: string | number): void {
    const handle = this.#core.live('setMulticastInterface');
    requireUdp(this, 'setMulticastInterface');
    sys.setMulticastInterface(handle, this.family, checkInterface(iface, this.family, 'iface'));
  }

  /** SO_LINGER: with `on`, close() waits up to `seconds` (0-65535) for unsent data; `on` with 0 resets the connection at close. */
  setLinger(on: boolean, seconds = 0): void { setLinger(this.#core, on, seconds, 'setLinger'); }

  /** SO_LINGER. */
  getLinger(): Linger {
    const handle = this.#core.live('getLinger');
    requireTcp(this, 'getLinger');
    return sys.getLinger(handle);
  }

  /** SO_REUSE_UNICASTPORT (Windows 10+): connecting sockets may share a local port, chosen at connect() (set before bind/connect). */
  setReuseUnicastPort(on: boolean): void { setOption(this.#core, OPTIONS.reuseUnicastPort, on, 'setReuseUnicastPort'); }
  /** SO_REUSE_UNICASTPORT. */
  getReuseUnicastPort(): boolean { return getOption(this.#core, OPTIONS.reuseUnicastPort, 'getReuseUnicastPort'); }

  /** TCP_KEEPCNT (Windows 10 1703+): unanswered keep-alive probes before the connection is dropped (0-255). */
  setKeepAliveProbes(count: number): void { setOption(this.#core, OPTIONS.keepAliveProbes, count, 'setKeepAliveProbes'); }
  /** TCP_KEEPCNT. */
  getKeepAliveProbes(): number { return getOption(this.#core, OPTIONS.keepAliveProbes, 'getKeepAliveProbes'); }

  /** TCP_FASTOPEN (Windows 10 1607+): TCP Fast Open on a listener or before connect() (Windows sends data in the SYN only with ConnectEx). */
  setTcpFastOpen(on: boolean): void { setOption(this.#core, OPTIONS.fastOpen, on, 'setTcpFastOpen'); }
  /** TCP_FASTOPEN. */
  getTcpFastOpen(): boolean { return getOption(this.#core, OPTIONS.fastOpen, 'getTcpFastOpen'); }

  /**
   * SIO_TCP_INFO (Windows 10 1703+): the connection's TCP_INFO_v0 (state, RTT,
   * congestion window, retransmissions, ...). WSAEOPNOTSUPP where the system lacks it
   * (older Windows, Wine).
   */
  tcpInfo(): TcpInfo {
    const handle = this.#core.live('tcpInfo');
    requireTcp(this, 'tcpInfo');
    return sys.tcpInfo(handle);
  }

  /** FIONBIO: false makes send/recv/accept/connect fail with WSAEWOULDBLOCK instead of waiting. */
  setBlocking(on: boolean): void {
    const handle = this.#core.live('setBlocking');
    checkBoolean(on, 'on');
    sys.setBlocking(handle, on);
    this.#core.blocking = on;
  }

  /** Whether the socket blocks (Windows cannot be asked; this is the last FIONBIO set here). */
  get blocking(): boolean {
    return this.#core.blocking;
  }

  /** FIONREAD: bytes that a recv() would return now without blocking. */
  get bytesAvailable(): number {
    return sys.bytesAvailable(this.#core.live('bytesAvailable'));
  }

  /** getsockopt() for any option: up to `size` bytes of its raw value. */
  getOption(level: number, name: number, size = 4): Buffer {
    const handle = this.#core.live('getOption');
    checkInt32(level, 'level', -0x80000000);
    checkInt32(name, 'name', -0x80000000);
    checkInteger(size, 'size', 1, MAX_OPTION_SIZE);
    return sys.getRawOption(handle, level, name, size);
  }

  /** setsockopt() for any option: a number is sent as a 4-byte int, bytes as they are. */
  setOption(level: number, name: number, value: number | boolean | Uint8Array): void {
    const handle = this.#core.live('setOption');
    checkInt32(level, 'level', -0x80000000);
    checkInt32(name, 'name', -0x80000000);
    if (typeof value === 'boolean') value = value ? 1 : 0;
    if (typeof value === 'number') {
      checkInt32(value, 'value', -0x80000000);
      sys.setRawIntOption(handle, level, name, value);
    } else if (value instanceof Uint8Array) {
      // An empty value would reach setsockopt as a NULL pointer (WSAEFAULT).
      if (value.byteLength === 0) throw new RangeError('value must not be empty');
      sys.setRawOption(handle, level, name, value);
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
    const handle = this.#core.live('enableLoopbackFastPath');
    requireTcp(this, 'enableLoopbackFastPath');
    if (this.#core.fastPathTooLate) {
      throw new SocketStateError(
        'ERR_FAST_PATH_TOO_LATE',
        'enableLoopbackFastPath: too late, the socket is connected or has accepted connections; ask before connect() (or on the listener before its first accept())',
      );
    }
    this.#core.loopbackFastPath = sys.enableLoopbackFastPath(handle);
    return this.#core.loopbackFastPath;
  }

  /** Loops that must not stop half-way cannot run on a non-blocking socket: WSAEWOULDBLOCK would lose the progress. */
  #requireBlocking(operation: string): void {
    if (!this.#core.blocking) throw new SocketStateError('ERR_SOCKET_NONBLOCKING', `${operation} needs a blocking socket; use trySend/tryRecv with poll() on a non-blocking one`);
  }

  get [Symbol.toStringTag](): string {
    return `Socket ${this.family} ${this.type}${this.#core.detached ? ' (detached)' : this.closed ? ' (closed)' : ''}`;
  }
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : checkBuffer(data, 'data', false);
}

/** Connect options as checked: each read once from the caller's object. */
interface ConnectSettings {
  readonly noDelay: boolean | undefined;
  readonly loopbackFastPath: boolean | undefined;
  readonly timeoutMs: number | undefined;
  readonly family: AddressFamily | null;
  readonly ipv6Only: boolean | undefined;
}

/** Connect options: checked whole before anything is created; the snapshot is used from then on. */
function checkConnectOptions(options: ConnectOptions): ConnectSettings {
  checkObject(options);
  const { noDelay, loopbackFastPath, timeoutMs, family, ipv6Only } = options;
  return {
    noDelay: checkOptionalBoolean(noDelay, 'noDelay'),
    loopbackFastPath: checkOptionalBoolean(loopbackFastPath, 'loopbackFastPath'),
    timeoutMs: timeoutMs === undefined ? undefined : checkPositiveMs(timeoutMs, 'timeoutMs'),
    family: checkOptionalFamily(family),
    ipv6Only: checkOptionalBoolean(ipv6Only, 'ipv6Only'),
  };
}

/**
 * @internal The public Socket over `core`: the one it was made with, or (for a core the
 * engine made, an accepted connection's) a new one, made once.
 */
export function socketOver(core: SocketCore): Socket {
  return socketFor(core);
}
