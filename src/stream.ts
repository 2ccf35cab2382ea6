// SocketStream: a stream.Duplex over a TCP Socket with net.Socket's surface, driven by
// the Promise API's engine, so that http, https, http2, TLS, undici, ws and protocol
// code written for net.Socket can use it. socket.toStream() makes one over a connected
// Socket; createConnection() (src/net/) makes one that is still connecting.
//
// One receive is pending at a time and only while the readable side wants data
// (backpressure); it lands straight in the Buffer that is pushed. Writes are read by the
// OS in place (queued ones gathered into one WSASend); a write's callback fires when the
// stack has taken every byte. Errors carry Node's codes (ECONNRESET, ...), with the
// Winsock name and number as winsockCode / winsockErrno.
//
// A write in flight keeps the connection watched, so that a peer that goes away ends the
// stream even when nobody reads (node:http pauses reading while it writes a response):
// while the readable side wants no data, a zero-byte receive (libuv's "zero read") waits
// for the peer's end or reset without consuming anything. Wine does not always complete a
// pending WSASend when the peer resets (Windows fails it with WSAECONNRESET), and Wine 8
// reports the reset to a receive as an orderly end: so when the end comes while a write
// is in flight, getpeername() says whether the peer is gone (WSAENOTCONN: the connection
// was reset) or only ended its side; and where no receive can watch (the peer's end
// already read, or data waiting that nobody asked for) a probe asks getpeername() every
// PEER_PROBE_MS until the write finishes. A peer found gone destroys the stream with
// ECONNRESET, which closes the socket and so settles the stuck send.

//
// The stream runs over the socket's core (src/core/socket-core.ts), below the public
// Socket: it is generic in the type of the socket it was made over, which it hands back
// as `socket` (a Socket, from toStream(), createConnection() or `new SocketStream(socket)`).

import { Duplex } from 'node:stream';
import { setReferenced } from './async/engine.ts';
import { cancelWatch, MAX_FRESH_RECEIVE, recvIntoAsync, recvIntoNow, watchAsync } from './async/run.ts';
import { sendChunksAsync } from './async/sends.ts';
import type { SocketAddress } from './base/address.ts';
import { checkBoolean, checkObject, requireTcp } from './core/checks.ts';
import { WinsockError } from './core/errors.ts';
import { Internals } from './core/internals.ts';
import { timerDuration, toNodeError, validateFunction } from './core/node-errors.ts';
import { OPTIONS, setKeepAlive, setLinger, setOption } from './core/options.ts';
import { claimStream, requireDataSocket, sockets } from './core/socket-core.ts';
import type { SocketCore } from './core/socket-core.ts';
import * as sys from './sys/index.ts';
import { WSA_OPERATION_ABORTED, WSAECONNRESET, WSAENOTCONN } from './sys/index.ts';

export interface SocketStreamOptions {
  /** Keep the writable side open after the peer ends its side (default false, as net.Socket). */
  readonly allowHalfOpen?: boolean;
  /**
   * Bytes buffered on each side before backpressure applies (default: Node's on the
   * readable side, 1 MiB on the writable side, so that writes queued meanwhile go out
   * together in one WSASend).
   */
  readonly highWaterMark?: number;
  /**
   * Size of every receive. Default: 64 KiB, doubling up to 512 KiB while receives come
   * back full (a bulk transfer then needs a sixteenth of the calls) and back to 64 KiB
   * when they do not.
   */
  readonly readSize?: number;
}

/** net.Socket's readyState. */
export type ReadyState = 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed';

/** What address() returns, as net.Socket's does. */
export interface NetAddressInfo {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
}

/** Receives start at this size and, while they come back full, grow up to MAX_FRESH_RECEIVE. */
const FIRST_READ_SIZE = 64 * 1024;
/**
 * Beyond this many open streams, a stream that has read everything waiting waits for
 * more with a zero-byte receive and takes a receive buffer only once data is there (as
 * libuv does beyond uv_active_tcp_streams_threshold): an idle connection then holds no
 * 64 KiB buffer. Below it, the buffer stays posted and a message costs one call less.
 */
const ZERO_READ_STREAMS = 50;
/** Receive buffers kept for streams in zero-read mode between their receives (a receive that finishes at once gives its buffer back in the same turn, so a few serve many streams). */
const MAX_SPARE_TARGETS = 4;
/** The writable side buffers this much by default before write() returns false. */
const DEFAULT_WRITABLE_HIGH_WATER_MARK = 1024 * 1024;
/** How often a write in flight asks whether the peer is still there when no receive can tell. */
const PEER_PROBE_MS = 1000;

/** What createConnection() drives on a stream that is still connecting. */
export interface ConnectingStream {
  /** The Socket it made for the stream (its host name resolved): the stream owns it from now on. */
  attach(socket: object): void;
  /** The connect finished (null) or failed (the already Node-shaped error). */
  connected(error: Error | null): void;
}

/** Streams that started reading and are not destroyed yet: how many decides zero reads. */
let readingStreams = 0;
/** Receive buffers of FIRST_READ_SIZE that zero-read streams handed back after a small read. */
const spareTargets: Buffer[] = [];

/** Streams made by newConnectingStream(), and how to drive them. */
const connecting = new Internals<SocketStream, ConnectingStream>('a connecting SocketStream');
/** True only while newConnectingStream() constructs: the stream starts without a socket. */
let makingConnecting = false;

/**
 * node:net's options of the Duplex itself, which createConnection() hands on as net.Socket
 * does (its constructor checks them, with Node's errors). Unchecked here: Duplex checks them.
 */
export interface DuplexPassThrough {
  readonly highWaterMark?: unknown;
  readonly readableHighWaterMark?: unknown;
  readonly writableHighWaterMark?: unknown;
  readonly encoding?: unknown;
  readonly defaultEncoding?: unknown;
}
/** Set only while newConnectingStream() constructs. */
let passThrough: DuplexPassThrough = {};

/**
 * A stream still connecting (createConnection): its Socket comes later, through the
 * returned control. `duplex` goes to the Duplex underneath as it is.
 */
export function newConnectingStream<S extends object>(options: SocketStreamOptions, duplex: DuplexPassThrough = {}): { stream: SocketStream<S>; control: ConnectingStream } {
  makingConnecting = true;
  passThrough = duplex;
  let stream: SocketStream<S>;
  try {
    stream = new SocketStream<S>(undefined as unknown as S, options);
  } finally {
    makingConnecting = false;
    passThrough = {};
  }
  return { stream, control: connecting.of(stream, 'stream') };
}

export class SocketStream<S extends object = object> extends Duplex {
  /** The socket it was made over (the public Socket), handed back as `socket`. */
  #socket: S | null;
  #core: SocketCore | null;
  /** The size of the next receive. */
  #readSize: number;
  /** No readSize given: receives grow while they come back full. */
  readonly #growReads: boolean;
  #connecting: boolean;
  /** A receive into #target is in flight. */
  #reading = false;
  /** A zero-byte receive is in flight (see the top of the file). */
  #watching = false;
  /** _read was called while #watching: receive once the watch completes. */
  #readWanted = false;
  /** A write's WSASend is in flight. */
  #writing = false;
  /** The peer's end of the stream was read. */
  #readEnded = false;
  /** Data waits in the socket that the readable side has not asked for. */
  #unread = false;
  /** The peer probe (one timer for the stream's life, re-armed with refresh()) and whether it is armed. */
  #probe: NodeJS.Timeout | null = null;
  #probing = false;
  /** The Buffer the next receive fills; null once handed out. */
  #target: Buffer | null = null;
  /** Counted in readingStreams. */
  #counted = false;
  /** The last receive took everything that was waiting (or none came yet): in zero-read mode, wait for data first. */
  #caughtUp = true;
  #bytesRead = 0;
  #bytesWritten = 0;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #referenced = true;
  /** setNoDelay/setKeepAlive called while connecting: applied to each Socket an attempt makes (createConnection may try several addresses). */
  #early: Array<(core: SocketCore) => void> = [];
  /** Read once (getpeername/getsockname): they do not change while connected. */
  #peer: SocketAddress | null = null;
  #local: SocketAddress | null = null;

  /**
   * A stream over `socket`, which must be a connected TCP Socket; the stream owns it
   * from then on and closes it when destroyed.
   */
  constructor(socket: S, options: SocketStreamOptions = {}) {
    const isConnecting = makingConnecting;
    const duplex = passThrough;
    let core: SocketCore | null = null;
    if (!isConnecting) {
      core = sockets.of(socket, 'socket');
      core.live('toStream');
      requireDataSocket(core, 'toStream');
      requireTcp(core, 'toStream');
    }
    checkObject(options);
    if (options.allowHalfOpen !== undefined) checkBoolean(options.allowHalfOpen, 'allowHalfOpen');
    const readSize = options.readSize;
    if (readSize !== undefined && (!Number.isInteger(readSize) || readSize < 1)) throw new RangeError(`readSize must be a positive integer, got ${String(readSize)}`);
    const highWaterMark = duplex.highWaterMark ?? options.highWaterMark;
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      ...(highWaterMark != null
        ? { highWaterMark: highWaterMark as number }
        : {
            ...(duplex.readableHighWaterMark != null ? { readableHighWaterMark: duplex.readableHighWaterMark as number } : {}),
            writableHighWaterMark: (duplex.writableHighWaterMark ?? DEFAULT_WRITABLE_HIGH_WATER_MARK) as number,
          }),
      ...(duplex.encoding != null ? { encoding: duplex.encoding as BufferEncoding } : {}),
      ...(duplex.defaultEncoding != null ? { defaultEncoding: duplex.defaultEncoding as BufferEncoding } : {}),
      emitClose: true,
      autoDestroy: true,
      decodeStrings: true,
    });
    // Two streams would race for the same bytes: the first one owns the socket.
    if (core !== null) claimStream(core);
    this.#socket = isConnecting ? null : socket;
    this.#core = core;
    if (isConnecting) connecting.bind(this, { attach: (made) => this.#attach(made as S), connected: (error) => this.#connected(error) });
    this.#readSize = readSize ?? FIRST_READ_SIZE;
    this.#growReads = readSize === undefined;
    this.#connecting = isConnecting;
    this.once('end', this.#onEnd);
    // Read from the start, as net.Socket does: the peer's FIN or a reset is noticed even
    // before anyone reads (data waits in the readable buffer, up to highWaterMark).
    if (!isConnecting) this.read(0);
  }

  /**
   * The Socket underneath (the stream owns it: use it for options, not for I/O). Null
   * only while createConnection() is still resolving the host name.
   */
  get socket(): S | null {
    return this.#socket;
  }

  /** The socket's core, for a call that needs it now (an internal error before createConnection() attached it). */
  #coreFor(operation: string): SocketCore {
    if (this.#core === null) throw new Error(`internal error: ${operation} before the socket exists`);
    return this.#core;
  }

  /** The core while the socket is open, else null. */
  #open(): SocketCore | null {
    return this.#core !== null && !this.#core.closed ? this.#core : null;
  }

  /** createConnection(): the Socket it made for this stream (for the next address to try), before connecting it. */
  #attach(socket: S): void {
    const core = sockets.of(socket, 'socket');
    claimStream(core);
    // A failed attempt's socket: closed here, its replacement takes over.
    if (this.#core !== null && this.#core !== core) this.#core.close();
    this.#socket = socket;
    this.#core = core;
    this.#peer = null;
    this.#local = null;
    if (!this.#referenced) setReferenced(core, false);
    for (const apply of this.#early) apply(core);
  }

  /** createConnection(): the connect finished (error null) or failed. */
  #connected(error: Error | null): void {
    this.#connecting = false;
    this.#early = [];
    if (this.destroyed) return;
    if (error !== null) {
      this.destroy(error);
      return;
    }
    this.#refreshTimer();
    this.emit('connect');
    this.emit('ready');
    this.read(0);
  }

  // --- net.Socket's properties -------------------------------------------------

  /** True until the connection is established. */
  get connecting(): boolean {
    return this.#connecting;
  }

  /** True while not connected yet (connecting) or once destroyed, as net.Socket's. */
  get pending(): boolean {
    return this.#connecting || this.destroyed;
  }

  get readyState(): ReadyState {
    if (this.#connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Bytes received so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes written so far, including those still queued. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** The idle timeout set with setTimeout(), in milliseconds; undefined when none. */
  get timeout(): number | undefined {
    return this.#timeoutMs === 0 ? undefined : this.#timeoutMs;
  }

  get remoteAddress(): string | undefined {
    return this.#peerAddress()?.address;
  }

  get remotePort(): number | undefined {
    return this.#peerAddress()?.port;
  }

  get remoteFamily(): 'IPv4' | 'IPv6' | undefined {
    const peer = this.#peerAddress();
    return peer === null ? undefined : familyName(peer);
  }

  get localAddress(): string | undefined {
    return this.#localAddress()?.address;
  }

  get localPort(): number | undefined {
    return this.#localAddress()?.port;
  }

  get localFamily(): 'IPv4' | 'IPv6' | undefined {
    const local = this.#localAddress();
    return local === null ? undefined : familyName(local);
  }

  /** The local address, as net.Socket.address() gives it ({} before connecting, as Node). */
  address(): NetAddressInfo | Record<string, never> {
    const local = this.#localAddress();
    return local === null ? {} : { address: local.address, family: familyName(local), port: local.port };
  }

  #peerAddress(): SocketAddress | null {
    const core = this.#open();
    if (this.#peer === null && !this.#connecting && core !== null) {
      try {
        this.#peer = sys.remoteAddress(core.live('remoteAddress'));
      } catch {
        return null; // not connected (any more)
      }
    }
    return this.#peer;
  }

  #localAddress(): SocketAddress | null {
    const core = this.#open();
    if (this.#local === null && core !== null) {
      try {
        this.#local = sys.localAddress(core.live('localAddress'));
      } catch {
        return null; // not bound yet
      }
    }
    return this.#local;
  }

  // --- net.Socket's methods ----------------------------------------------------

  /**
   * Emits 'timeout' after `ms` milliseconds without reads or writes (0 turns it off);
   * the stream stays open, as net.Socket's does. `callback` is added as a 'timeout'
   * listener (removed by a 0). The arguments are checked as net.Socket.setTimeout()'s
   * (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE); a destroyed stream ignores the call, as
   * there. Longer than 2^31-1 ms is cut to that, with Node's TimeoutOverflowWarning.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.destroyed) return this;
    const duration = timerDuration(ms, 'msecs');
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timeoutMs = duration;
    if (duration > 0) {
      this.#timer = setTimeout(this.#onTimeout, duration);
      if (!this.#referenced) this.#timer.unref();
    }
    if (callback !== undefined) {
      validateFunction(callback, 'callback');
      if (duration === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }

  readonly #onTimeout = (): void => {
    this.#timer = null;
    if (this.destroyed) return;
    this.emit('timeout');
  };

  /** Activity: the idle timer starts again. */
  #refreshTimer(): void {
    if (this.#timeoutMs === 0 || this.destroyed) return;
    if (this.#timer !== null) this.#timer.refresh();
    else {
      this.#timer = setTimeout(this.#onTimeout, this.#timeoutMs);
      if (!this.#referenced) this.#timer.unref();
    }
  }

  /** TCP_NODELAY (default true, as net.Socket.setNoDelay()). */
  setNoDelay(noDelay = true): this {
    const on = Boolean(noDelay);
    const apply = (core: SocketCore): void => {
      if (!core.closed) setOption(core, OPTIONS.noDelay, on, 'setNoDelay');
    };
    if (this.#connecting) this.#early.push(apply);
    if (this.#core !== null) apply(this.#core);
    return this;
  }

  /**
   * SO_KEEPALIVE; a positive `initialDelay` (ms) sets the idle time before the first probe
   * (SIO_KEEPALIVE_VALS). Never throws for its arguments, as net.Socket's: both are coerced.
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const on = Boolean(enable);
    const delay = Math.min(Math.floor(Number(initialDelay)) || 0, 0xffffffff);
    const apply = (core: SocketCore): void => {
      if (!core.closed) setKeepAlive(core, on, delay > 0 ? { idleMs: delay } : undefined, 'setKeepAlive');
    };
    if (this.#connecting) this.#early.push(apply);
    if (this.#core !== null) apply(this.#core);
    return this;
  }

  /** Pending I/O and the idle timer keep the process alive again (the default). */
  ref(): this {
    this.#referenced = true;
    const core = this.#open();
    if (core !== null) setReferenced(core, true);
    this.#timer?.ref();
    return this;
  }

  /** Neither pending I/O nor the idle timer keeps the process alive, as net.Socket.unref(). */
  unref(): this {
    this.#referenced = false;
    const core = this.#open();
    if (core !== null) setReferenced(core, false);
    this.#timer?.unref();
    return this;
  }

  /** Ends the writable side, then destroys the stream once the writes are out. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes the connection with a reset (RST) instead of a FIN, as net.Socket.resetAndDestroy(). */
  resetAndDestroy(): this {
    const core = this.#open();
    if (core !== null) {
      try {
        // SO_LINGER on, 0 seconds: closesocket aborts the connection.
        setLinger(core, true, 0, 'resetAndDestroy');
      } catch {
        // Closing still ends the connection, with a FIN.
      }
    }
    this.destroy();
    return this;
  }

  // --- Duplex ------------------------------------------------------------------

  override _read(): void {
    if (this.#connecting) {
      this.once('connect', () => this._read());
      return;
    }
    // One receive at a time: a watch in flight hands over to the receive when it completes.
    if (this.#watching) this.#readWanted = true;
    else this.#receive();
  }

  /** `afterWatch`: a zero-byte receive just said something came (see the end). */
  #receive(afterWatch = false): void {
    if (this.#reading) return;
    const core = this.#coreFor('read');
    if (!this.#counted) {
      this.#counted = true;
      readingStreams++;
    }
    if (this.#caughtUp && readingStreams > ZERO_READ_STREAMS) {
      // Many streams: wait for data with no buffer posted (a zero read); #onWatch receives then.
      this.#readWanted = true;
      if (!this.#watching) {
        this.#watching = true;
        watchAsync(core).then(this.#onWatch, this.#onWatchError);
      }
      return;
    }
    this.#reading = true;
    this.#unread = false;
    // The OS writes straight into a Buffer of ours (no copy), handed out once filled.
    if (this.#target === null || this.#target.byteLength !== this.#readSize) {
      this.#target = (this.#readSize === FIRST_READ_SIZE ? spareTargets.pop() : undefined) ?? Buffer.allocUnsafeSlow(this.#readSize);
    }
    if (!afterWatch) {
      recvIntoAsync(core, this.#target).then(this.#onRead, this.#onReadError);
      return;
    }
    // A watch said data came, so this receive almost always finishes at once. Taken now,
    // its buffer is copied out and back among the spares before the next stream woken in
    // this turn needs one: a hundred streams woken together share a few buffers instead
    // of taking a fresh 64 KiB each (which, dropped, stayed in the process heap: 220 KiB
    // per connection after traffic with 100 streams). Only here: once per watch, so a
    // bulk transfer never becomes a loop of receives that never lets the event loop turn.
    const received = recvIntoNow(core, this.#target);
    if (typeof received === 'number') this.#onRead(received);
    else received.then(this.#onRead, this.#onReadError);
  }

  // Bound once: no closure per read.
  readonly #onRead = (bytes: number): void => {
    this.#reading = false;
    const target = this.#target!;
    if (this.destroyed) return;
    // 0 bytes is the peer's FIN; push() asks for more by calling _read again.
    if (bytes === 0) {
      // Under Wine 8 a reset reads as an end too, and a send in flight may then never
      // complete: a peer that is gone ends the stream with the error Windows reports.
      if (this.#writing && this.#peerGone()) {
        this.destroy(peerResetError());
        return;
      }
      this.#readEnded = true;
      this.push(null);
      // As net.Socket: 'end' comes even when nobody is reading.
      this.read(0);
      // The peer only ended its side: watch the write in flight with the probe.
      if (this.#writing && !this.destroyed) this.#armProbe();
      return;
    }
    this.#bytesRead += bytes;
    this.#refreshTimer();
    if (this.#growReads) {
      // A full receive means more was waiting: ask for more next time; a small one, less.
      if (bytes === target.byteLength) this.#readSize = Math.min(this.#readSize * 2, MAX_FRESH_RECEIVE);
      else if (bytes * 4 <= target.byteLength) this.#readSize = FIRST_READ_SIZE;
    }
    this.#caughtUp = bytes < target.byteLength;
    let more: boolean;
    if (bytes * 4 <= target.byteLength) {
      // A small read would pin a whole read buffer per chunk: copy it out and read into the same buffer again.
      more = this.push(Buffer.copyBytesFrom(target, 0, bytes));
      // In zero-read mode the stream holds no buffer between receives (see ZERO_READ_STREAMS).
      if (readingStreams > ZERO_READ_STREAMS && this.#target === target) {
        this.#target = null;
        if (target.byteLength === FIRST_READ_SIZE && spareTargets.length < MAX_SPARE_TARGETS) spareTargets.push(target);
      }
    } else {
      this.#target = null;
      more = this.push(bytes === target.byteLength ? target : target.subarray(0, bytes));
    }
    // The readable side is full: no receive until it is read from, so a write in flight needs a watch.
    if (!more) this.#watch();
  };

  readonly #onReadError = (error: unknown): void => {
    this.#reading = false;
    this.#failed(error);
  };

  /** A receive (or watch) failed: the stream ends with the error (a closed socket: just closes). */
  #failed(error: unknown): void {
    if (this.destroyed) return;
    // The socket was closed under the stream: like a net.Socket whose handle is gone, just close.
    if (this.#open() === null) this.destroy();
    else this.destroy(toNodeError(error, 'read') as Error);
  }

  /**
   * While a write is in flight and the readable side wants no data: a zero-byte receive,
   * which completes when the peer sends, ends or resets, and consumes nothing.
   */
  #watch(): void {
    if (!this.#writing || this.#reading || this.#watching || this.#readEnded || this.#unread || this.#connecting || this.destroyed) return;
    const core = this.#open();
    if (core === null) return;
    this.#watching = true;
    watchAsync(core).then(this.#onWatch, this.#onWatchError);
  }

  readonly #watchLater = (): void => this.#watch();

  readonly #onWatch = (): void => {
    this.#watching = false;
    if (this.destroyed) return;
    if (this.#readWanted) {
      this.#readWanted = false;
      // Something came (data, the end or a reset): this receive finds it at once.
      this.#caughtUp = false;
      this.#receive(true);
      return;
    }
    if (!this.#writing || this.#reading) return;
    let waiting: number;
    try {
      waiting = sys.bytesAvailable(this.#coreFor('bytesAvailable').live('bytesAvailable'));
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (waiting > 0) {
      // Data nobody asked for: it stays in the socket (backpressure), so only the probe can tell whether the peer goes.
      this.#unread = true;
      this.#armProbe();
    } else {
      // Nothing to read, yet the watch completed: the peer's end (or a reset read as one). Read it.
      this.#receive();
    }
  };

  readonly #onWatchError = (error: unknown): void => {
    this.#watching = false;
    // Cancelled by us once the writes were done (see #afterWrite): nothing happened to the connection.
    if (error instanceof WinsockError && error.errno === WSA_OPERATION_ABORTED && this.#open() !== null) {
      if (this.destroyed) return;
      if (this.#readWanted) {
        this.#readWanted = false;
        this.#receive();
      } else this.#watch();
      return;
    }
    this.#failed(error);
  };

  /** getpeername() fails with WSAENOTCONN: the connection is gone (reset), not merely ended by the peer. */
  #peerGone(): boolean {
    try {
      sys.remoteAddress(this.#coreFor('remoteAddress').live('remoteAddress'));
      return false;
    } catch (error) {
      return error instanceof WinsockError && error.errno === WSAENOTCONN;
    }
  }

  #armProbe(): void {
    if (this.#probing || this.destroyed) return;
    this.#probing = true;
    if (this.#probe === null) {
      this.#probe = setTimeout(this.#onProbe, PEER_PROBE_MS);
      // The write in flight holds the loop open (unless unref'd); the probe never does.
      this.#probe.unref();
    } else this.#probe.refresh();
  }

  readonly #onProbe = (): void => {
    this.#probing = false;
    // Only while a write is in flight that no receive watches.
    if (this.destroyed || !this.#writing || !(this.#readEnded || this.#unread)) return;
    if (this.#peerGone()) this.destroy(peerResetError());
    else this.#armProbe();
  };

  /** The peer ended its side; without allowHalfOpen Duplex ends ours too. */
  readonly #onEnd = (): void => {
    this.#refreshTimer();
  };

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    if (this.#connecting) {
      // Written before the connection is up: sent once it is, as net.Socket does.
      this.once('connect', () => this._writev(chunks, callback));
      return;
    }
    const buffers = chunks.map((entry) => entry.chunk);
    for (const buffer of buffers) this.#bytesWritten += buffer.byteLength;
    // The stream owns the chunks until the callback: the OS reads them in place (one
    // WSASend with a WSABUF each), as libuv does for net.Socket.
    this.#writing = true;
    sendChunksAsync(this.#coreFor('write'), buffers).then(this.#afterWrite(callback), (error: unknown) => {
      this.#writing = false;
      callback(toNodeError(error, 'write') as Error);
    });
    // Keep the peer watched while the write is in flight (see the top of the file): after
    // this turn's microtasks, so that a send that finished at once needs no watch.
    if (this.#readEnded || this.#unread) this.#armProbe();
    else if (!this.#reading && !this.#watching) queueMicrotask(this.#watchLater);
  }

  #afterWrite(callback: (error?: Error | null) => void): () => void {
    return () => {
      this.#writing = false;
      this.#refreshTimer();
      callback();
      // No further write started from the callback: a watch only for this one is not needed any more
      // (one that waits for data for the readable side stays).
      if (!this.#writing && this.#watching && !this.#readWanted && !this.destroyed) cancelWatch(this.#core!);
    };
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.#connecting) {
      this.once('connect', () => this._final(callback));
      return;
    }
    if (this.#open() === null) {
      // The socket was closed under the stream (its close sent the FIN): nothing to end, just close.
      callback();
      this.destroy();
      return;
    }
    try {
      sys.shutdown(this.#coreFor('end').live('end'), 'send'); // FIN: the peer's reads end
      callback();
    } catch (error) {
      callback(toNodeError(error, 'shutdown') as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#counted) {
      this.#counted = false;
      readingStreams--;
    }
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#probe !== null) clearTimeout(this.#probe);
    this.#probe = null;
    this.#connecting = false;
    // Closing aborts the pending recv/send; their memory stays with the completion
    // port until the aborted completions arrive, and their results are ignored here.
    try {
      this.#core?.close();
    } catch (closeError) {
      error ??= closeError as Error;
    }
    callback(error);
  }
}

/** A peer found gone while a write was in flight: the error Windows fails that WSASend with. */
function peerResetError(): Error {
  return toNodeError(new WinsockError('WSASend', WSAECONNRESET), 'write') as Error;
}

function familyName(address: SocketAddress): 'IPv4' | 'IPv6' {
  return address.family === 'ipv4' ? 'IPv4' : 'IPv6';
}
