// undici's connector over winsock-ffi: `new Agent({ connect: undiciConnect })` (or
// undiciConnector(options) for TLS and connection options) makes every undici connection
// a winsock-ffi stream, TLS through tls.connect({ socket }) over it (secure.ts). It does
// what undici's own buildConnector does (keep-alive, TCP_NODELAY, a connect timeout, a
// TLS session cache, ALPN) without importing undici: its types are declared here.

import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { literalFamily } from '../base/address.ts';
import { checkInteger, checkObject, checkOptionalBoolean, describe } from '../core/checks.ts';
import { WinsockError } from '../core/errors.ts';
import { toNodeError } from '../core/node-errors.ts';
import { WSAETIMEDOUT } from '../sys/index.ts';
import { createConnection } from './connect.ts';
import { secureOver } from './secure.ts';

/** What undici hands a connector: its `buildConnector.Options`. */
export interface UndiciConnectOptions {
  /** The host to connect to (an IPv6 literal without brackets). */
  readonly hostname: string;
  /** host[:port] as in the URL; gives the TLS server name when `servername` is absent. */
  readonly host?: string;
  /** 'http:' or 'https:'. */
  readonly protocol: string;
  /** The port as text; '' for the protocol's default. */
  readonly port: string;
  /** The TLS server name (SNI) the Client was given. */
  readonly servername?: string;
  /** The local address to bind before connecting. */
  readonly localAddress?: string | null;
  /** An IPC path: not supported (winsock-ffi connects over TCP). */
  readonly socketPath?: string | null;
  /** A connection to upgrade to TLS (a proxy's CONNECT tunnel): TLS runs over it as it is. */
  readonly httpSocket?: Duplex;
}

/** undici's connector callback: `(null, socket)` or `(error, null)`. */
export type UndiciConnectCallback = (...args: [null, net.Socket | tls.TLSSocket] | [Error, null]) => void;

/** A connector for undici's Agent, Client and Pool (`connect` option). */
export type UndiciConnector = (options: UndiciConnectOptions, callback: UndiciConnectCallback) => void;

/** undiciConnector()'s options: TLS options for https (ca, cert, key, rejectUnauthorized, servername, ...), and the connection's. */
export interface UndiciConnectorOptions extends Omit<tls.ConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'lookup' | 'timeout' | 'session'> {
  /** Milliseconds to connect (and for https, finish the handshake) before failing with ETIMEDOUT; 0: no limit (default 10,000, as undici). */
  readonly timeout?: number;
  /** SO_KEEPALIVE (default true, as undici). */
  readonly keepAlive?: boolean;
  /** Idle time before the first keep-alive probe, in milliseconds (default 60,000, as undici). */
  readonly keepAliveInitialDelay?: number;
  /** TCP_NODELAY (default true, as undici). */
  readonly noDelay?: boolean;
  /** TLS sessions kept for resumption, one per server name (default 100, as undici; 0: none). */
  readonly maxCachedSessions?: number;
  /** Offer HTTP/2 by ALPN over TLS (default false, as undici). */
  readonly allowH2?: boolean;
  /** Ask for SIO_LOOPBACK_FAST_PATH before connecting (the server must ask too). */
  readonly loopbackFastPath?: boolean;
  /** Largest single receive of each connection (default: 64 KiB, growing to 512 KiB). */
  readonly readSize?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_KEEP_ALIVE_DELAY_MS = 60_000;
const DEFAULT_MAX_CACHED_SESSIONS = 100;

/**
 * A connector for undici (`new Agent({ connect: undiciConnector({ ca }) })`) whose
 * connections are winsock-ffi's, TLS over them for https. Errors reach undici Node-style
 * (`connect ECONNREFUSED 127.0.0.1:1`, code, errno, syscall, address, port).
 */
export function undiciConnector(options: UndiciConnectorOptions = {}): UndiciConnector {
  checkObject(options);
  const { timeout, keepAlive, keepAliveInitialDelay, noDelay, maxCachedSessions, allowH2, loopbackFastPath, readSize, ...tlsOptions } = options;
  const connectTimeout = timeout === undefined ? DEFAULT_TIMEOUT_MS : checkInteger(timeout, 'timeout', 0, 0x7fffffff);
  const connection = {
    keepAlive: checkOptionalBoolean(keepAlive, 'keepAlive') ?? true,
    keepAliveInitialDelay: keepAliveInitialDelay === undefined ? DEFAULT_KEEP_ALIVE_DELAY_MS : checkInteger(keepAliveInitialDelay, 'keepAliveInitialDelay', 0, 0xffffffff),
    noDelay: checkOptionalBoolean(noDelay, 'noDelay') ?? true,
    loopbackFastPath: checkOptionalBoolean(loopbackFastPath, 'loopbackFastPath'),
    readSize: readSize === undefined ? undefined : checkInteger(readSize, 'readSize', 1, 0xffffffff),
  };
  const sessions = new SessionCache(maxCachedSessions === undefined ? DEFAULT_MAX_CACHED_SESSIONS : checkInteger(maxCachedSessions, 'maxCachedSessions', 0, 0x7fffffff));
  const ALPNProtocols = (checkOptionalBoolean(allowH2, 'allowH2') ?? false) ? ['http/1.1', 'h2'] : ['http/1.1'];

  return function connect(target: UndiciConnectOptions, callback: UndiciConnectCallback): void {
    checkObject(target, 'connect options');
    if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${describe(callback)}`);
    const { hostname: name, host, protocol, port: portText, servername, localAddress, socketPath, httpSocket } = target;
    if (socketPath !== undefined && socketPath !== null) throw new TypeError('undiciConnector: socketPath (IPC) is not supported: winsock-ffi connects over TCP');
    if (protocol !== 'http:' && protocol !== 'https:') throw new TypeError(`undiciConnector: protocol must be 'http:' or 'https:', got ${describe(protocol)}`);
    if (typeof name !== 'string' || name === '') throw new TypeError(`undiciConnector: hostname must be a non-empty string, got ${describe(name)}`);
    const hostname = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
    const secure = protocol === 'https:';
    const port = portText === undefined || portText === '' ? (secure ? 443 : 80) : portText;
    if (!secure && httpSocket !== undefined) throw new TypeError('undiciConnector: httpSocket (a connection to upgrade) is for https only');

    // A proxy tunnel to upgrade: TLS over that connection, no new one.
    const raw =
      httpSocket === undefined
        ? createConnection({ port, host: hostname, localAddress: localAddress ?? undefined, ...connection })
        : null;
    let socket: Duplex;
    let sessionKey = '';
    if (secure) {
      const serverName = servername || (tlsOptions.servername as string | undefined) || serverNameOf(host) || '';
      sessionKey = serverName || hostname;
      const settings: tls.ConnectionOptions = { ...tlsOptions, servername: serverName, session: sessions.get(sessionKey), ALPNProtocols, host: hostname, port: Number(port) };
      const upgraded = raw === null ? tls.connect({ ...settings, socket: httpSocket }) : secureOver(raw, settings);
      upgraded.on('session', (session: Buffer) => sessions.set(sessionKey, session));
      socket = upgraded;
    } else {
      socket = raw!;
    }

    let timer: NodeJS.Timeout | undefined;
    const settle = (error: Error | null): void => {
      if (timer !== undefined) clearTimeout(timer);
      socket.off(secure ? 'secureConnect' : 'connect', onConnect);
      socket.off('error', onError);
      if (error === null) callback(null, socket as net.Socket);
      else callback(error, null);
    };
    const onConnect = (): void => settle(null);
    const onError = (error: Error): void => {
      if (secure) sessions.delete(sessionKey);
      // Nobody listens to this socket any more: an error it might still report goes nowhere.
      socket.on('error', ignore);
      socket.destroy();
      settle(error);
    };
    socket.once(secure ? 'secureConnect' : 'connect', onConnect);
    socket.once('error', onError);
    if (connectTimeout > 0) {
      timer = setTimeout(() => onError(toNodeError(new WinsockError('connect', WSAETIMEDOUT, { address: hostname, port: Number(port) }), 'connect') as Error), connectTimeout);
    }
  };
}

/** undiciConnect's connector, made on its first call. */
let defaults: UndiciConnector | null = null;

/**
 * A connector for undici with undici's defaults: `new Agent({ connect: undiciConnect })`.
 * undiciConnector(options) makes one with TLS and connection options.
 */
export function undiciConnect(options: UndiciConnectOptions, callback: UndiciConnectCallback): void {
  defaults ??= undiciConnector();
  defaults(options, callback);
}

function ignore(): void {}

/** The TLS server name for a URL's host (host[:port], [v6]:port): none for an IP literal (RFC 6066), as undici. */
function serverNameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  if (host.startsWith('[')) return undefined;
  const name = host.includes(':') ? host.slice(0, host.indexOf(':')) : host;
  return literalFamily(name) === null ? name : undefined;
}

/** TLS sessions by server name, the oldest dropped beyond `max`. */
class SessionCache {
  readonly #max: number;
  readonly #sessions = new Map<string, Buffer>();

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): Buffer | undefined {
    return this.#sessions.get(key);
  }

  set(key: string, session: Buffer): void {
    if (this.#max === 0) return;
    this.#sessions.delete(key);
    if (this.#sessions.size >= this.#max) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(key, session);
  }

  delete(key: string): void {
    this.#sessions.delete(key);
  }
}
