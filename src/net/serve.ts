// serve(): an http, https, http2, tls or net server fed with the connections winsock-ffi
// accepts, and given everything its own listen() gives it. node:http starts its
// connection tracking (headersTimeout, requestTimeout, closeIdleConnections(), close()
// ending idle keep-alive connections) on its own 'listening' event; net.Server's
// listening, address(), close(), ref()/unref() and getConnections() read the _handle,
// _connectionKey and _connections that its listen() sets (lib/net.js). serve() sets
// them as that listen() would, with a handle that stands for the winsock-ffi listener,
// counts the connections it hands over as net.Server's own accept does, and routes the
// target's listen() to winsock-ffi, so frameworks that call server.listen() and
// server.close() themselves (fastify, express) run over it unchanged.

import net from 'node:net';
import { invalidArgType } from '../core/node-errors.ts';
import type { SocketStream } from '../stream.ts';
import { Server } from './server.ts';
import type { ServerOptions } from './server.ts';

/** One thing that accepts 'connection' events: an http, https, http2 or net Server. */
export interface ConnectionTarget {
  emit(event: 'connection', socket: SocketStream): boolean;
}

/** What net.Server calls on its _handle (libuv's TCP handle): close, getsockname, ref, unref. */
interface ListenerHandle {
  close(): void;
  getsockname(out: Record<string, unknown>): number;
  ref(): void;
  unref(): void;
}

/** The state net.Server.listen() sets and net.Server's other methods read. */
interface NetServerState {
  _handle: object | null;
  _connectionKey?: string;
  _connections: number;
  _emitCloseIfDrained?(): void;
  listen(...args: unknown[]): unknown;
  close(callback?: (error?: Error) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}

/** A Server whose listening is also its target's (a net.Server or a subclass of it). */
class ServedServer extends Server {
  readonly #target: NetServerState;
  readonly #handle: ListenerHandle;
  /** close()'s callback, passed on when the target's close() reaches the handle. */
  #closeCallback: ((error?: Error) => void) | undefined;
  #errorsToTarget = false;

  constructor(target: net.Server, options: ServerOptions | undefined) {
    super(options);
    const state = target as unknown as NetServerState;
    this.#target = state;
    this.#handle = {
      // The target's close() (http.Server's runs closeIdleConnections() first) ends here.
      close: () => {
        const callback = this.#closeCallback;
        this.#closeCallback = undefined;
        super.close(callback);
      },
      getsockname: (out) => {
        Object.assign(out, this.address());
        return 0;
      },
      ref: () => void this.ref(),
      unref: () => void this.unref(),
    };
    this.on('connection', (socket: SocketStream) => {
      if (state._handle === this.#handle) {
        // As net.Server's own accept: the target's close() emits 'close' once these are gone.
        state._connections++;
        socket.once('close', () => {
          state._connections--;
          state._emitCloseIfDrained?.();
        });
      }
      state.emit('connection', socket);
    });
    this.on('listening', () => {
      // A target that listens by its own listen() too keeps its own state.
      if (state._handle !== null && state._handle !== this.#handle) return;
      const address = this.address();
      if (address === null) return;
      state._handle = this.#handle;
      state._connectionKey = `${address.family === 'IPv6' ? 6 : 4}:${address.address}:${address.port}`;
      state.emit('listening');
    });
    state.listen = (...args: unknown[]) => {
      // Listening through the target: its users listen for 'error' there, as with its own listen().
      if (!this.#errorsToTarget) {
        this.#errorsToTarget = true;
        this.on('error', (error: Error) => state.emit('error', error));
      }
      (this.listen as (...a: unknown[]) => unknown)(...args);
      return target;
    };
  }

  /** Closes as the target's own close() would: for http, idle keep-alive connections end too. */
  override close(callback?: (error?: Error) => void): this {
    if (this.#target._handle !== this.#handle) return super.close(callback);
    this.#closeCallback = typeof callback === 'function' ? callback : undefined; // ignored otherwise, as net.Server's close() ignores it
    this.#target.close();
    return this;
  }
}

/**
 * Feeds `target` (an http.Server, https.Server, http2 server, tls.Server or net.Server)
 * with connections accepted by winsock-ffi: `serve(http.createServer(handler), { loopbackFastPath: true }).listen(8080)`.
 * A net.Server target (every one of those) then listens through winsock-ffi whichever
 * listen() is called, the returned Server's or its own, and gets what its own listen()
 * gives it: 'listening', `listening`, `address()`, connection tracking (node:http's
 * headersTimeout, requestTimeout, closeIdleConnections()), `getConnections()`, and
 * `close()` that stops accepting and, for http, ends idle keep-alive connections.
 */
export function serve(target: ConnectionTarget, options?: ServerOptions): Server {
  if (typeof target !== 'object' || target === null || typeof (target as { emit?: unknown }).emit !== 'function') {
    // Anything with emit() will do; Node's words for what is expected: an EventEmitter.
    throw invalidArgType('target', 'EventEmitter', target);
  }
  if (target instanceof net.Server) return new ServedServer(target, options);
  return new Server(options, (socket) => target.emit('connection', socket));
}
