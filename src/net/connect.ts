// createConnection() / connect() with node:net's signatures: a SocketStream that is
// returned at once, 'connecting', and emits 'connect' and 'ready' when ConnectEx
// completes (or 'error' with Node's codes). Host names are resolved with node:dns
// (libuv's threadpool, as node:net does), literals at once.

import dns from 'node:dns';
import { literalFamily } from '../base/address.ts';
import type { AddressFamily } from '../base/address.ts';
import { checkHost, checkInteger, checkObject, checkOptionalBoolean, checkPort, describe } from '../core/checks.ts';
import { connectAsync } from '../async/run.ts';
import { AbortError } from '../core/errors.ts';
import { sockets } from '../core/socket-core.ts';
import { Socket } from '../socket.ts';
import { newConnectingStream } from '../stream.ts';
import type { ConnectingStream, SocketStream } from '../stream.ts';
import { toNodeError } from '../core/node-errors.ts';

export interface NetConnectOptions {
  /** The port to connect to (a number, or a string of digits as node:net takes). */
  readonly port?: number | string;
  /** Host name or address literal (default 'localhost'). */
  readonly host?: string;
  /** node:net's IPC form: not supported here (winsock-ffi is TCP only); throws. */
  readonly path?: string;
  /** 4, 6 or 0 (either): the address family to resolve `host` in. */
  readonly family?: number;
  /** setTimeout(timeout): 'timeout' after this many idle milliseconds. */
  readonly timeout?: number;
  /** TCP_NODELAY before connecting. */
  readonly noDelay?: boolean;
  /** SO_KEEPALIVE once connected. */
  readonly keepAlive?: boolean;
  /** Idle time before the first keep-alive probe, in milliseconds. */
  readonly keepAliveInitialDelay?: number;
  /** Destroys the connection (AbortError) when it fires. */
  readonly signal?: AbortSignal;
  /** Bind to this local address before connecting. */
  readonly localAddress?: string;
  /** Bind to this local port before connecting. */
  readonly localPort?: number;
  /** Ask for SIO_LOOPBACK_FAST_PATH before connecting (the server must ask too). */
  readonly loopbackFastPath?: boolean;
  readonly allowHalfOpen?: boolean;
  readonly highWaterMark?: number;
  /** Largest single receive (default 64 KiB). */
  readonly readSize?: number;
}

/**
 * node:net's createConnection: `(options[, connectListener])`, `(port[, host][, connectListener])`
 * or `(path[, connectListener])` (IPC paths are not supported: TypeError). Returns at once
 * a SocketStream in the 'connecting' state.
 */
export function createConnection(options: NetConnectOptions, connectListener?: () => void): SocketStream<Socket>;
export function createConnection(port: number | string, host?: string, connectListener?: () => void): SocketStream<Socket>;
export function createConnection(port: number | string, connectListener?: () => void): SocketStream<Socket>;
export function createConnection(...args: unknown[]): SocketStream<Socket> {
  const [options, listener] = normalize(args);
  const checked = checkOptions(options);
  const { stream, control } = newConnectingStream<Socket>({
    ...(checked.allowHalfOpen !== undefined ? { allowHalfOpen: checked.allowHalfOpen } : {}),
    ...(checked.highWaterMark !== undefined ? { highWaterMark: checked.highWaterMark } : {}),
    ...(checked.readSize !== undefined ? { readSize: checked.readSize } : {}),
  });
  if (listener !== undefined) stream.once('connect', listener);
  if (checked.timeout !== undefined) stream.setTimeout(checked.timeout);
  if (checked.noDelay === true) stream.setNoDelay(true);
  if (checked.keepAlive === true) stream.setKeepAlive(true, checked.keepAliveInitialDelay ?? 0);
  const signal = checked.signal;
  if (signal !== undefined) {
    if (signal.aborted) process.nextTick(() => stream.destroy(new AbortError(undefined, { cause: signal.reason })));
    else {
      const onAbort = (): void => {
        stream.destroy(new AbortError(undefined, { cause: signal.reason }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  void run(stream, control, checked);
  return stream;
}

/**
 * node:net's connect(): the same as {@link createConnection}, with the same three forms.
 * A function of its own (not an alias) so that the API reference lists it as one.
 */
export function connect(options: NetConnectOptions, connectListener?: () => void): SocketStream<Socket>;
export function connect(port: number | string, host?: string, connectListener?: () => void): SocketStream<Socket>;
export function connect(port: number | string, connectListener?: () => void): SocketStream<Socket>;
export function connect(...args: unknown[]): SocketStream<Socket> {
  return (createConnection as (...forwarded: unknown[]) => SocketStream<Socket>)(...args);
}

interface Checked {
  readonly port: number;
  readonly host: string;
  readonly family: AddressFamily | null;
  readonly timeout: number | undefined;
  readonly noDelay: boolean | undefined;
  readonly keepAlive: boolean | undefined;
  readonly keepAliveInitialDelay: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly loopbackFastPath: boolean | undefined;
  readonly allowHalfOpen: boolean | undefined;
  readonly highWaterMark: number | undefined;
  readonly readSize: number | undefined;
}

function normalize(args: unknown[]): [NetConnectOptions, (() => void) | undefined] {
  const last = args[args.length - 1];
  const listener = typeof last === 'function' ? (last as () => void) : undefined;
  const rest = listener === undefined ? args : args.slice(0, -1);
  const [first, second] = rest;
  if (typeof first === 'object' && first !== null) return [first as NetConnectOptions, listener];
  if (typeof first === 'string' && !/^[0-9]+$/.test(first)) return [{ path: first }, listener];
  if (typeof first === 'number' || typeof first === 'string') {
    return [{ port: first, ...(typeof second === 'string' ? { host: second } : {}) }, listener];
  }
  throw new TypeError(`createConnection needs options, a port or a path, got ${describe(first)}`);
}

function checkOptions(options: NetConnectOptions): Checked {
  checkObject(options);
  // Each field read once.
  const { port, host, path, family, timeout, noDelay, keepAlive, keepAliveInitialDelay, signal, localAddress, localPort, loopbackFastPath, allowHalfOpen, highWaterMark, readSize } =
    options;
  if (path !== undefined) {
    throw new TypeError('createConnection: IPC paths (AF_UNIX, named pipes) are not supported: winsock-ffi connects over TCP; use node:net for them');
  }
  const portNumber = typeof port === 'string' && /^[0-9]+$/.test(port) ? Number(port) : port;
  checkInteger(portNumber, 'port', 1, 65535);
  const hostName = host === undefined ? 'localhost' : checkHost(host, 'host');
  if (family !== undefined && family !== 0 && family !== 4 && family !== 6) throw new TypeError(`family must be 4, 6 or 0, got ${describe(family)}`);
  if (timeout !== undefined) checkInteger(timeout, 'timeout', 0, Number.MAX_SAFE_INTEGER);
  if (keepAliveInitialDelay !== undefined) checkInteger(keepAliveInitialDelay, 'keepAliveInitialDelay', 0, 0xffffffff);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  if (localAddress !== undefined) checkHost(localAddress, 'localAddress');
  if (localPort !== undefined) checkPort(localPort, 'localPort');
  if (readSize !== undefined) checkInteger(readSize, 'readSize', 1, 0xffffffff);
  return {
    port: portNumber as number,
    host: hostName,
    family: family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : null,
    timeout,
    noDelay: checkOptionalBoolean(noDelay, 'noDelay'),
    keepAlive: checkOptionalBoolean(keepAlive, 'keepAlive'),
    keepAliveInitialDelay,
    signal,
    localAddress,
    localPort,
    loopbackFastPath: checkOptionalBoolean(loopbackFastPath, 'loopbackFastPath'),
    allowHalfOpen: checkOptionalBoolean(allowHalfOpen, 'allowHalfOpen'),
    highWaterMark,
    readSize,
  };
}

/** Resolves, makes the Socket, applies what must precede connect, then ConnectEx. */
async function run(stream: SocketStream<Socket>, control: ConnectingStream, options: Checked): Promise<void> {
  let socket: Socket | null = null;
  try {
    const target = await resolve(options.host, options.family);
    if (stream.destroyed) return;
    socket = new Socket({ family: target.family, type: 'tcp' });
    control.attach(socket);
    // The fast path must be asked for before connect; unsupported systems just connect.
    if (options.loopbackFastPath === true) socket.enableLoopbackFastPath();
    if (options.localAddress !== undefined || options.localPort !== undefined) {
      socket.bind({ address: options.localAddress ?? (target.family === 'ipv4' ? '0.0.0.0' : '::'), port: options.localPort ?? 0 });
    }
    await connectAsync(sockets.of(socket, 'socket'), { family: target.family, address: target.address, port: options.port }, undefined, undefined);
    control.connected(null);
  } catch (error) {
    if (stream.destroyed) return;
    control.connected(toNodeError(error, 'connect') as Error);
  }
}

function resolve(host: string, family: AddressFamily | null): Promise<{ family: AddressFamily; address: string }> {
  const literal = literalFamily(host);
  if (literal !== null) return Promise.resolve({ family: literal, address: host });
  return new Promise((resolvePromise, reject) => {
    dns.lookup(host, { family: family === 'ipv4' ? 4 : family === 'ipv6' ? 6 : 0 }, (error, address, resolvedFamily) => {
      if (error !== null) reject(error);
      else resolvePromise({ family: resolvedFamily === 6 ? 'ipv6' : 'ipv4', address });
    });
  });
}
