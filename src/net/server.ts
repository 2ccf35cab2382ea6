// createServer() with node:net's Server surface: listen() in its forms, 'listening',
// 'connection' (a SocketStream), 'close', 'error' with Node's codes, address(),
// close(), ref()/unref(), maxConnections and getConnections(). Connections come from
// AcceptEx on the Promise API's engine. serve.ts hands them to an http/https/http2
// server, which then runs over winsock-ffi.

import { EventEmitter } from 'node:events';
import { literalFamily } from '../base/address.ts';
import { checkBacklog, checkHost, checkInteger, checkObject, checkOptionalBoolean, describe } from '../core/checks.ts';
import { SocketStateError, WinsockError } from '../core/errors.ts';
import { Socket } from '../socket.ts';
import type { NetAddressInfo, SocketStream } from '../stream.ts';
import { toNodeError } from '../core/node-errors.ts';

export interface ServerOptions {
  /** Keep a connection's writable side open after the peer ends its side (default false). */
  readonly allowHalfOpen?: boolean;
  /** TCP_NODELAY on every accepted connection. */
  readonly noDelay?: boolean;
  /** SO_KEEPALIVE on every accepted connection. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keep-alive probe, in milliseconds. */
  readonly keepAliveInitialDelay?: number;
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
  /** node:net's IPC form: not supported here; throws. */
  readonly path?: string;
}

export class Server extends EventEmitter {
  /** Connections beyond this many are closed as they come (Node emits 'drop' for them too). */
  maxConnections: number | undefined = undefined;
  readonly #options: ServerOptions;
  #listener: Socket | null = null;
  readonly #connections = new Set<SocketStream>();
  #closing = false;
  #referenced = true;

  constructor(options: ServerOptions = {}, connectionListener?: (socket: SocketStream) => void) {
    super();
    checkObject(options);
    const { allowHalfOpen, noDelay, keepAlive, keepAliveInitialDelay, loopbackFastPath, exclusiveAddressUse, highWaterMark } = options;
    this.#options = {
      allowHalfOpen: checkOptionalBoolean(allowHalfOpen, 'allowHalfOpen'),
      noDelay: checkOptionalBoolean(noDelay, 'noDelay'),
      keepAlive: checkOptionalBoolean(keepAlive, 'keepAlive'),
      keepAliveInitialDelay: keepAliveInitialDelay === undefined ? undefined : checkInteger(keepAliveInitialDelay, 'keepAliveInitialDelay', 0, 0xffffffff),
      loopbackFastPath: checkOptionalBoolean(loopbackFastPath, 'loopbackFastPath'),
      exclusiveAddressUse: checkOptionalBoolean(exclusiveAddressUse, 'exclusiveAddressUse'),
      highWaterMark,
    } as ServerOptions;
    if (connectionListener !== undefined) {
      if (typeof connectionListener !== 'function') throw new TypeError(`connectionListener must be a function, got ${describe(connectionListener)}`);
      this.on('connection', connectionListener);
    }
  }

  /** True once listening, until close(). */
  get listening(): boolean {
    return this.#listener !== null && !this.#closing;
  }

  /**
   * node:net's forms: `listen(port[, host][, backlog][, callback])`, `listen(options[, callback])`
   * and `listen([callback])` (an ephemeral port on every address). 'listening' follows
   * (the callback is added for it); a failure is an 'error' event, as with node:net.
   */
  listen(port?: number | string | ServerListenOptions | (() => void), host?: string | number | (() => void), backlog?: number | (() => void), callback?: () => void): this {
    const args = [port, host, backlog, callback].filter((arg) => arg !== undefined);
    const last = args[args.length - 1];
    const listener = typeof last === 'function' ? (last as () => void) : undefined;
    const rest = listener === undefined ? args : args.slice(0, -1);
    let options: ServerListenOptions;
    if (typeof rest[0] === 'object' && rest[0] !== null) options = rest[0] as ServerListenOptions;
    else {
      const [p, h, b] = rest as [number | string | undefined, string | number | undefined, number | undefined];
      options = typeof h === 'number' ? { port: p, backlog: h } : { port: p, ...(h !== undefined ? { host: h } : {}), ...(b !== undefined ? { backlog: b } : {}) };
    }
    if (this.#listener !== null && !this.#closing) throw new SocketStateError('ERR_SERVER_ALREADY_LISTEN', 'listen: the server is already listening; close() it first');
    const { port: rawPort, host: rawHost, backlog: rawBacklog, ipv6Only, path } = options;
    if (path !== undefined) throw new TypeError('listen: IPC paths are not supported: winsock-ffi listens on TCP; use node:net for them');
    const portNumber = rawPort === undefined ? 0 : typeof rawPort === 'string' && /^[0-9]+$/.test(rawPort) ? Number(rawPort) : rawPort;
    checkInteger(portNumber, 'port', 0, 65535);
    const hostName = rawHost === undefined ? undefined : checkHost(rawHost, 'host');
    const backlogNumber = rawBacklog === undefined ? undefined : checkBacklog(rawBacklog);
    const v6Only = checkOptionalBoolean(ipv6Only, 'ipv6Only') ?? false;
    if (listener !== undefined) this.once('listening', listener);
    this.#closing = false;
    let socket: Socket;
    try {
      socket = this.#bind(hostName, portNumber as number, backlogNumber, v6Only);
    } catch (error) {
      process.nextTick(() => this.emit('error', toNodeError(error, 'listen')));
      return this;
    }
    this.#listener = socket;
    if (!this.#referenced) socket.unref();
    process.nextTick(() => {
      if (this.#listener === socket) this.emit('listening');
    });
    void this.#acceptLoop(socket);
    return this;
  }

  #bind(host: string | undefined, port: number, backlog: number | undefined, ipv6Only: boolean): Socket {
    const options = {
      ...(backlog !== undefined ? { backlog } : {}),
      ...(this.#options.loopbackFastPath === true ? { loopbackFastPath: true } : {}),
      ...(this.#options.exclusiveAddressUse === true ? { exclusiveAddressUse: true } : {}),
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
      if (this.#options.noDelay === true) socket.setNoDelay(true);
      stream = socket.toStream({
        ...(this.#options.allowHalfOpen !== undefined ? { allowHalfOpen: this.#options.allowHalfOpen } : {}),
        ...(this.#options.highWaterMark !== undefined ? { highWaterMark: this.#options.highWaterMark } : {}),
      });
    } catch {
      // Reset before it could be set up (its addresses or options fail with WSAENOTCONN,
      // WSAECONNRESET): a failure of that connection alone, dropped as libuv drops it.
      socket.close();
      return;
    }
    try {
      if (this.#options.keepAlive === true) stream.setKeepAlive(true, this.#options.keepAliveInitialDelay ?? 0);
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
   * open, as node:net leaves them). `callback` gets ERR_SERVER_NOT_RUNNING when the
   * server was not listening.
   */
  close(callback?: (error?: Error) => void): this {
    if (callback !== undefined) {
      if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${describe(callback)}`);
      if (this.#listener === null || this.#closing) {
        const error = Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' });
        process.nextTick(() => callback(error));
        return this;
      }
      this.once('close', () => callback());
    }
    if (this.#listener === null || this.#closing) return this;
    this.#closing = true;
    this.#listener.close(); // the pending AcceptEx aborts and the accept loop ends
    this.#maybeClosed();
    return this;
  }

  #maybeClosed(): void {
    if (!this.#closing || this.#listener === null || this.#connections.size > 0) return;
    this.#listener = null;
    process.nextTick(() => this.emit('close'));
  }

  /** How many connections are open, through `callback(null, count)` as node:net. */
  getConnections(callback: (error: Error | null, count: number) => void): this {
    const count = this.#connections.size;
    process.nextTick(() => callback(null, count));
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

/** node:net's createServer([options][, connectionListener]). */
export function createServer(options?: ServerOptions | ((socket: SocketStream) => void), connectionListener?: (socket: SocketStream) => void): Server {
  if (typeof options === 'function') return new Server({}, options);
  return new Server(options ?? {}, connectionListener);
}
