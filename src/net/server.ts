// createServer() with node:net's Server surface: listen() in its forms, 'listening',
// 'connection' (a SocketStream), 'close', 'error' with Node's codes, address(),
// close(), ref()/unref(), maxConnections and getConnections(). Connections come from
// AcceptEx on the Promise API's engine. serve.ts hands them to an http/https/http2
// server, which then runs over winsock-ffi.
//
// The arguments of the constructor and of listen() are read as net.Server reads them
// (Node's lib/net.js), in the same order and with the same checks, so a bad one throws
// what node:net throws for it (src/core/node-errors.ts builds the errors). What
// net.Server accepts and winsock-ffi cannot do (an IPC path, a file descriptor) is an
// 'error' event, as a listen failure is.

import dns from 'node:dns';
import { addAbortListener, EventEmitter } from 'node:events';
import type { BlockList } from 'node:net';
import { literalFamily, parseIPv6 } from '../base/address.ts';
import { WinsockError } from '../core/errors.ts';
import {
  hostNamesRefuseNullBytes,
  invalidArgType,
  invalidArgValue,
  serverAlreadyListen,
  serverNotRunning,
  toNodeError,
  validateAbortSignal,
  validateBoolean,
  validateNumber,
  validatePort,
} from '../core/node-errors.ts';
import { Socket } from '../socket.ts';
import type { NetAddressInfo, SocketStream } from '../stream.ts';
import { checkBlockList, isPipeName, normalizeArgs, toNumber, unsupported } from './args.ts';
import type { NetOptions } from './args.ts';

export interface ServerOptions {
  /** Keep a connection's writable side open after the peer ends its side (default false). */
  readonly allowHalfOpen?: boolean;
  /** TCP_NODELAY on every accepted connection. */
  readonly noDelay?: boolean;
  /** SO_KEEPALIVE on every accepted connection. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keep-alive probe, in milliseconds. */
  readonly keepAliveInitialDelay?: number;
  /** Connections from the addresses this net.BlockList denies are closed as they come (Node 22.13+). */
  readonly blockList?: BlockList;
  /** Ask for SIO_LOOPBACK_FAST_PATH on the listener (clients must ask too). */
  readonly loopbackFastPath?: boolean;
  /** SO_EXCLUSIVEADDRUSE on the listener: no other socket may bind its port. */
  readonly exclusiveAddressUse?: boolean;
  readonly highWaterMark?: number;
}

export interface ServerListenOptions {
  readonly port?: number | string;
  /** Default: '::' accepting IPv4 too (as node:net), or '0.0.0.0' where IPv6 is missing. */
  readonly host?: string;
  readonly backlog?: number;
  /** IPV6_V6ONLY on a '::' listener (default false: IPv4 clients are accepted too). */
  readonly ipv6Only?: boolean;
  /** Closes the server when it fires. */
  readonly signal?: AbortSignal;
  /** node:net's IPC form: not supported here ('error'). */
  readonly path?: string;
}

/** The options kept from the constructor, coerced as net.Server coerces them. */
interface Settings {
  readonly allowHalfOpen: boolean;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  readonly keepAliveInitialDelay: number;
  readonly highWaterMark: number | undefined;
  readonly blockList: BlockList | undefined;
  readonly loopbackFastPath: boolean;
  readonly exclusiveAddressUse: boolean;
}

export class Server extends EventEmitter {
  /** Connections beyond this many are closed as they come (Node emits 'drop' for them too). */
  maxConnections: number | undefined = undefined;
  readonly #options: Settings;
  #listener: Socket | null = null;
  readonly #connections = new Set<SocketStream>();
  #closing = false;
  #referenced = true;
  /** Counts listen() and close() calls: a host name lookup that finishes after a later one is dropped, as net.Server's _listeningId does. */
  #generation = 0;

  /**
   * node:net's Server: `(options[, connectionListener])` or `(connectionListener)`.
   * A connectionListener that is not a function is ignored, as there.
   */
  constructor(options?: ServerOptions | ((socket: SocketStream) => void), connectionListener?: (socket: SocketStream) => void) {
    super();
    let given: NetOptions;
    if (typeof options === 'function') {
      given = {};
      this.on('connection', options);
    } else if (options == null || typeof options === 'object') {
      given = (options ?? {}) as NetOptions;
      if (typeof connectionListener === 'function') this.on('connection', connectionListener);
    } else {
      throw invalidArgType('options', 'Object', options);
    }
    // Each option read once, here.
    const { keepAliveInitialDelay, highWaterMark, allowHalfOpen, noDelay, keepAlive, blockList, loopbackFastPath, exclusiveAddressUse } = given;
    let keepAliveDelay = 0;
    if (keepAliveInitialDelay !== undefined) {
      validateNumber(keepAliveInitialDelay, 'options.keepAliveInitialDelay');
      keepAliveDelay = Math.max(keepAliveInitialDelay, 0);
    }
    let readWriteMark: number | undefined;
    if (highWaterMark !== undefined) {
      validateNumber(highWaterMark, 'options.highWaterMark');
      // A negative one means Node's default.
      if (highWaterMark >= 0) readWriteMark = highWaterMark;
    }
    const blocked = checkBlockList(blockList);
    // Ours.
    if (loopbackFastPath !== undefined) validateBoolean(loopbackFastPath, 'options.loopbackFastPath');
    if (exclusiveAddressUse !== undefined) validateBoolean(exclusiveAddressUse, 'options.exclusiveAddressUse');
    this.#options = {
      allowHalfOpen: Boolean(allowHalfOpen),
      noDelay: Boolean(noDelay),
      keepAlive: Boolean(keepAlive),
      keepAliveInitialDelay: keepAliveDelay,
      highWaterMark: readWriteMark,
      blockList: blocked,
      loopbackFastPath: loopbackFastPath === true,
      exclusiveAddressUse: exclusiveAddressUse === true,
    };
  }

  /** True once listening, until close(). */
  get listening(): boolean {
    return this.#listener !== null && !this.#closing;
  }

  /**
   * node:net's forms: `listen(port[, host][, backlog][, callback])`, `listen(options[, callback])`
   * and `listen([callback])` (an ephemeral port on every address). 'listening' follows
   * (the callback is added for it); a failure is an 'error' event, as with node:net. Bad
   * arguments throw as net.Server.listen()'s do.
   */
  listen(port?: number | string | null, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number | string | null, host?: string, callback?: () => void): this;
  listen(port?: number | string | null, backlog?: number, callback?: () => void): this;
  listen(port?: number | string | null, callback?: () => void): this;
  listen(options: ServerListenOptions, callback?: () => void): this;
  listen(callback?: () => void): this;
  listen(...args: unknown[]): this {
    const [normalized, callback] = normalizeArgs(args);
    if (this.listening) throw serverAlreadyListen();
    if (callback !== null) this.once('listening', callback);
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    const options = (normalized._handle || normalized.handle || normalized) as NetOptions;
    // Each option read once, here.
    const { port: portOption, host, backlog, ipv6Only, signal, fd, path, readableAll, writableAll } = options;
    const generation = ++this.#generation;
    if (signal !== undefined) {
      validateAbortSignal(signal, 'options.signal');
      if (signal.aborted) process.nextTick(() => this.close());
      else {
        const disposable = addAbortListener(signal, () => this.close());
        this.once('close', () => disposable[Symbol.dispose]());
      }
    }
    if (typeof fd === 'number' && fd >= 0) return this.#fail(unsupported('options.fd', fd, 'listens on sockets of its own'));
    let port = portOption;
    if (args.length === 0 || typeof args[0] === 'function' || (port === undefined && 'port' in options) || port === null) port = 0;
    if (typeof port === 'number' || typeof port === 'string') {
      const portNumber = validatePort(port, 'options.port');
      const rawBacklog = backlog || backlogFromArgs;
      // As libuv's listen() gets it: an int32; a negative one is 0 here (Winsock takes none).
      const backlogNumber = rawBacklog ? Math.max(Number(rawBacklog) | 0, 0) : undefined;
      const v6Only = ipv6Only === true;
      if (host) this.#lookupAndListen(host, portNumber, backlogNumber, v6Only, generation);
      else this.#start(undefined, portNumber, backlogNumber, v6Only);
      return this;
    }
    if (path && isPipeName(path)) {
      if (path[0] === '\0' && (readableAll || writableAll)) {
        throw invalidArgValue('options', options, 'can not set readableAll or writableAllt to true when path is abstract unix socket');
      }
      return this.#fail(unsupported('options.path', path, 'listens on TCP only'));
    }
    if (!('port' in options || 'path' in options)) throw invalidArgValue('options', options, 'must have the property "port" or "path"');
    throw invalidArgValue('options', options);
  }

  /** A listen that cannot be: its 'error' on the next tick, as node:net reports a listen failure. */
  #fail(error: Error): this {
    process.nextTick(() => this.emit('error', error));
    return this;
  }

  /**
   * A host to listen on, as net.Server's lookupAndListen: a name through dns.lookup (its
   * first address that is not IPv6 link-local), a literal on the next tick (when
   * dns.lookup would answer for it), so that a listen() or close() before then supersedes
   * this one, as there. dns.lookup's own checks of the name come first, and throw.
   */
  #lookupAndListen(host: unknown, port: number, backlog: number | undefined, ipv6Only: boolean, generation: number): void {
    if (typeof host === 'string' && literalFamily(host) !== null) {
      process.nextTick(() => {
        if (generation === this.#generation) this.#start(host, port, backlog, ipv6Only);
      });
      return;
    }
    if (typeof host !== 'string') throw invalidArgType('hostname', 'string', host);
    if (host.includes('\0') && hostNamesRefuseNullBytes()) throw invalidArgValue('hostname', host, 'must be a string without null bytes');
    dns.lookup(host, { all: true }, (error, addresses) => {
      if (generation !== this.#generation) return;
      if (error) {
        this.emit('error', error);
        return;
      }
      const chosen = addresses.find((entry) => !isIpv6LinkLocal(entry.address)) ?? addresses[0];
      if (chosen === undefined) {
        this.emit('error', Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host }));
        return;
      }
      this.#start(chosen.address, port, backlog, ipv6Only);
    });
  }

  /** Binds and listens (a failure is 'error' on the next tick), then accepts. */
  #start(host: string | undefined, port: number, backlog: number | undefined, ipv6Only: boolean): void {
    this.#closing = false;
    let socket: Socket;
    try {
      socket = this.#bind(host, port, backlog, ipv6Only);
    } catch (error) {
      this.#fail(toNodeError(error, 'listen') as Error);
      return;
    }
    this.#listener = socket;
    if (!this.#referenced) socket.unref();
    process.nextTick(() => {
      if (this.#listener === socket) this.emit('listening');
    });
    void this.#acceptLoop(socket);
  }

  #bind(host: string | undefined, port: number, backlog: number | undefined, ipv6Only: boolean): Socket {
    const options = {
      ...(backlog !== undefined ? { backlog } : {}),
      ...(this.#options.loopbackFastPath ? { loopbackFastPath: true } : {}),
      ...(this.#options.exclusiveAddressUse ? { exclusiveAddressUse: true } : {}),
    };
    const address = host ?? '::';
    if (literalFamily(address) === 'ipv6' && (address === '::' || address === '::0')) {
      // Dual stack, as node:net: IPV6_V6ONLY off before bind, so IPv4 clients come too.
      try {
        return Socket.listen({ address: '::', port }, { ...options, ipv6Only });
      } catch (error) {
        // No IPv6 here (no socket of that family could be made): node:net falls back to the IPv4 wildcard.
        if (host === undefined && error instanceof WinsockError && error.syscall === 'socket') return Socket.listen({ address: '0.0.0.0', port }, options);
        throw error;
      }
    }
    return Socket.listen({ address, port }, options);
  }

  /**
   * Accepts until the listener closes, and never stops before: as libuv's
   * uv__process_tcp_accept_req, a failure of one incoming connection (reset or aborted
   * while it waited, AcceptEx's WSAECONNRESET, ERROR_NETNAME_DELETED, WSAENOTCONN under
   * Wine, or any failure setting up the accepted socket) drops that connection and
   * accepts the next, unreported. Only a failure of the listener itself (no socket could
   * be made for the next connection: out of handles or buffers) is an 'error', as
   * node:net reports it, and accepting goes on after a pause.
   */
  async #acceptLoop(listener: Socket): Promise<void> {
    for (;;) {
      let socket: Socket;
      try {
        socket = await listener.acceptAsync();
      } catch (error) {
        if (listener.closed || this.#listener !== listener) break;
        if (isConnectionFailure(error)) {
          // One turn of the loop per failure, never a spin on microtasks.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        this.#report('error', toNodeError(error, 'accept'));
        await pause(LISTENER_RETRY_MS, this.#referenced);
        continue;
      }
      if (listener.closed || this.#listener !== listener) {
        socket.close();
        break;
      }
      this.#admit(socket);
    }
  }

  /** Hands an accepted connection on ('connection', or 'drop' past maxConnections); one that failed meanwhile is closed unreported. */
  #admit(socket: Socket): void {
    let stream: SocketStream;
    try {
      if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
        const local = socket.localAddress;
        const remote = socket.remoteAddress;
        socket.close();
        this.#report('drop', { localAddress: local.address, localPort: local.port, localFamily: local.family === 'ipv4' ? 'IPv4' : 'IPv6', remoteAddress: remote.address, remotePort: remote.port, remoteFamily: remote.family === 'ipv4' ? 'IPv4' : 'IPv6' });
        return;
      }
      const blockList = this.#options.blockList;
      if (blockList !== undefined) {
        // As net.Server: a connection from a denied address is closed before anyone sees it.
        const remote = socket.remoteAddress;
        if (blockList.check(remote.address, remote.family)) {
          socket.close();
          return;
        }
      }
      if (this.#options.noDelay) socket.setNoDelay(true);
      const highWaterMark = this.#options.highWaterMark;
      stream = socket.toStream({
        allowHalfOpen: this.#options.allowHalfOpen,
        ...(highWaterMark !== undefined && Number.isFinite(highWaterMark) ? { highWaterMark: Math.floor(highWaterMark) } : {}),
      });
    } catch {
      // Reset before it could be set up (its addresses or options fail with WSAENOTCONN,
      // WSAECONNRESET): a failure of that connection alone, dropped as libuv drops it.
      socket.close();
      return;
    }
    try {
      if (this.#options.keepAlive) stream.setKeepAlive(true, this.#options.keepAliveInitialDelay);
    } catch {
      stream.destroy(); // the stream owns the socket now
      return;
    }
    this.#connections.add(stream);
    stream.once('close', () => {
      this.#connections.delete(stream);
      this.#maybeClosed();
    });
    this.#report('connection', stream);
  }

  /**
   * Emits outside the accept loop's promise chain, so that a listener that throws, or an
   * 'error' nobody listens for, is an uncaught exception as with node:net, not the silent
   * end of accepting.
   */
  #report(event: string, value: unknown): void {
    try {
      this.emit(event, value);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  /** The address listened on, as node:net's Server.address(); null when not listening. */
  address(): NetAddressInfo | null {
    if (this.#listener === null || this.#listener.closed) return null;
    const local = this.#listener.localAddress;
    return { address: local.address, family: local.family === 'ipv4' ? 'IPv4' : 'IPv6', port: local.port };
  }

  /**
   * Stops accepting; 'close' comes once every connection has closed too (they are left
   * open, as node:net leaves them). As net.Server.close(): `callback` (ignored unless a
   * function) is called on 'close', with ERR_SERVER_NOT_RUNNING when the server was not
   * listening, and a server with nothing to wait for emits 'close' on the next tick.
   */
  close(callback?: (error?: Error) => void): this {
    this.#generation++; // a host name lookup still running is dropped
    const running = this.listening;
    if (typeof callback === 'function') {
      if (running) this.once('close', () => callback());
      else {
        const error = serverNotRunning();
        this.once('close', () => callback(error));
      }
    }
    if (running) {
      this.#closing = true;
      this.#listener!.close(); // the pending AcceptEx aborts and the accept loop ends
    }
    this.#maybeClosed();
    return this;
  }

  /** As net.Server's _emitCloseIfDrained: 'close' once neither a listener nor a connection is left. */
  #maybeClosed(): void {
    if (this.listening || this.#connections.size > 0) return;
    this.#listener = null;
    process.nextTick(() => this.emit('close'));
  }

  /** How many connections are open, through `callback(null, count)` as node:net (process.nextTick checks `callback`, as there). */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    process.nextTick(callback, null, this.#connections.size);
    return this;
  }

  /** The listener keeps the process alive again (the default). */
  ref(): this {
    this.#referenced = true;
    if (this.#listener !== null && !this.#listener.closed) this.#listener.ref();
    return this;
  }

  /** An idle listener no longer keeps the process alive. */
  unref(): this {
    this.#referenced = false;
    if (this.#listener !== null && !this.#listener.closed) this.#listener.unref();
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.listening) return;
    await new Promise<void>((resolve) => this.close(() => resolve()));
  }
}

/** fe80::/10, which net.Server's lookupAndListen passes over when a name has other addresses. */
function isIpv6LinkLocal(address: string): boolean {
  const bytes = parseIPv6(address)?.bytes;
  return bytes !== undefined && bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;
}

/** After a failure of the listener itself, accepting resumes this much later. */
const LISTENER_RETRY_MS = 100;

/**
 * Whether an accept failed for that one connection, not for the listener: every
 * failure except that of making the socket for it (WSASocketW: out of handles or
 * buffers). Those come from AcceptEx itself or from setting up the accepted socket.
 */
function isConnectionFailure(error: unknown): boolean {
  return error instanceof WinsockError && error.syscall !== 'socket';
}

/** Resolves after `ms`; holds the process open only when the server does. */
function pause(ms: number, referenced: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!referenced) timer.unref();
  });
}

/** node:net's createServer([options][, connectionListener]); its arguments are checked as net.Server's are. */
export function createServer(options?: ServerOptions | ((socket: SocketStream) => void), connectionListener?: (socket: SocketStream) => void): Server {
  return new Server(options, connectionListener);
}
