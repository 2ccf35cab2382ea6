// createConnection() / connect() with node:net's signatures: a SocketStream that is
// returned at once, 'connecting', and emits 'connect' and 'ready' when ConnectEx
// completes (or 'error' with Node's codes). Host names are resolved with node:dns
// (libuv's threadpool, as node:net does), or the `lookup` option, literals at once.
//
// The arguments are read as node:net reads them (net.Socket's constructor, then
// Socket.prototype.connect and lookupAndConnect in Node's lib/net.js), in the same order
// and with the same checks, so a bad one throws what node:net throws for it: the same
// class, `code` and message (src/core/node-errors.ts builds them). What node:net accepts
// and coerces (noDelay: 1, a port of '80', port 0) is accepted here too; what it accepts
// and winsock-ffi cannot do (an IPC path, a file descriptor) fails through 'error'.

import dns from 'node:dns';
import type { LookupOneOptions } from 'node:dns';
import { getDefaultAutoSelectFamily, isIP, Socket as NetSocket } from 'node:net';
import type { BlockList } from 'node:net';
import { addAbortSignal } from 'node:stream';
import type { AddressFamily } from '../base/address.ts';
import { connectAsync } from '../async/run.ts';
import {
  invalidAddressFamily,
  invalidArgType,
  invalidArgValue,
  invalidIpAddress,
  ipBlocked,
  missingArgs,
  toNodeError,
  validateBoolean,
  validateFunction,
  validateHostName,
  validateInt32,
  validateInteger,
  validateNumber,
  validatePort,
  validateString,
} from '../core/node-errors.ts';
import { sockets } from '../core/socket-core.ts';
import { Socket } from '../socket.ts';
import { newConnectingStream } from '../stream.ts';
import type { ConnectingStream, SocketStream } from '../stream.ts';
import { checkBlockList, dnsFamily, normalizeArgs, unsupported } from './args.ts';
import type { NetOptions } from './args.ts';

export interface NetConnectOptions {
  /** The port to connect to (a number, or a string of digits as node:net takes). */
  readonly port?: number | string;
  /** Host name or address literal (default 'localhost'). */
  readonly host?: string;
  /** node:net's IPC form: not supported here (winsock-ffi is TCP only): 'error'. */
  readonly path?: string;
  /** 4, 6 or 0 (either), or 'IPv4' / 'IPv6': the address family to resolve `host` in. */
  readonly family?: number | string;
  /** getaddrinfo hints for resolving `host` (dns.ADDRCONFIG, dns.V4MAPPED, dns.ALL). */
  readonly hints?: number;
  /** Resolves `host` instead of dns.lookup, with dns.lookup's signature. */
  readonly lookup?: (hostname: string, options: LookupOneOptions, callback: (error: Error | null, address: string, family: number) => void) => void;
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
  /** Bind to this local address (a literal) before connecting. */
  readonly localAddress?: string;
  /** Bind to this local port before connecting. */
  readonly localPort?: number;
  /** Connections to the addresses this net.BlockList denies fail with ERR_IP_BLOCKED (Node 22.13+). */
  readonly blockList?: BlockList;
  /** Accepted and checked as node:net checks it; winsock-ffi connects to the first address. */
  readonly autoSelectFamily?: boolean;
  /** Accepted and checked as node:net checks it. */
  readonly autoSelectFamilyAttemptTimeout?: number;
  /** Ask for SIO_LOOPBACK_FAST_PATH before connecting (the server must ask too). */
  readonly loopbackFastPath?: boolean;
  readonly allowHalfOpen?: boolean;
  readonly highWaterMark?: number;
  readonly readableHighWaterMark?: number;
  readonly writableHighWaterMark?: number;
  /** The readable side's encoding: 'data' gives strings. */
  readonly encoding?: BufferEncoding;
  /** Largest single receive (default 64 KiB). */
  readonly readSize?: number;
}

/**
 * node:net's createConnection: `(options[, connectListener])`, `(port[, host][, connectListener])`
 * or `(path[, connectListener])` (IPC paths are not supported: 'error'). Returns at once
 * a SocketStream in the 'connecting' state. Bad arguments throw as node:net's do.
 */
export function createConnection(options: NetConnectOptions, connectListener?: () => void): SocketStream<Socket>;
export function createConnection(port: number | string, host?: string, connectListener?: () => void): SocketStream<Socket>;
export function createConnection(port: number | string, connectListener?: () => void): SocketStream<Socket>;
export function createConnection(...args: unknown[]): SocketStream<Socket> {
  const [options, listener] = normalizeArgs(args);
  return connectWith(options, listener);
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

/** What the connect needs once the arguments are checked. */
interface Target {
  readonly port: number;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly loopbackFastPath: boolean;
  readonly blockList: BlockList | undefined;
}

function connectWith(options: NetOptions, listener: ((...a: unknown[]) => unknown) | null): SocketStream<Socket> {
  // Each option read once, here.
  const {
    objectMode,
    readableObjectMode,
    writableObjectMode,
    keepAliveInitialDelay,
    highWaterMark,
    readableHighWaterMark,
    writableHighWaterMark,
    encoding,
    defaultEncoding,
    fd,
    typeOfService,
    signal,
    blockList,
    timeout,
    port,
    path,
    host: hostOption,
    localAddress,
    localPort,
    autoSelectFamily,
    autoSelectFamilyAttemptTimeout,
    lookup,
    family,
    hints,
    allowHalfOpen,
    noDelay,
    keepAlive,
    loopbackFastPath,
    readSize,
  } = options;

  // net.Socket's constructor.
  if (objectMode) throw invalidArgValue('options.objectMode', objectMode, 'is not supported');
  if (readableObjectMode || writableObjectMode) {
    throw invalidArgValue(`options.${readableObjectMode ? 'readableObjectMode' : 'writableObjectMode'}`, readableObjectMode || writableObjectMode, 'is not supported');
  }
  let keepAliveDelay = 0;
  if (keepAliveInitialDelay !== undefined) {
    validateNumber(keepAliveInitialDelay, 'options.keepAliveInitialDelay');
    keepAliveDelay = Math.max(keepAliveInitialDelay, 0);
  }
  // Ours, checked before the stream that uses it is made.
  if (readSize !== undefined) validateInteger(readSize, 'options.readSize', 1, 0xffffffff);
  // The Duplex underneath checks its own options (highWaterMark, encoding) as net.Socket's
  // does, and then its signal: stream.addAbortSignal() is what Duplex's constructor calls.
  const { stream, control } = newConnectingStream<Socket>(
    { allowHalfOpen: Boolean(allowHalfOpen), ...(readSize !== undefined ? { readSize: readSize as number } : {}) },
    { highWaterMark, readableHighWaterMark, writableHighWaterMark, encoding, defaultEncoding },
  );
  if (signal) addAbortSignal(signal as AbortSignal, stream);
  let failure: Error | null = null;
  if (fd !== undefined) {
    validateInt32(fd, 'fd', 0);
    failure = unsupported('options.fd', fd, 'connects sockets of its own');
  }
  if (typeOfService !== undefined && checksTypeOfService()) validateInt32(typeOfService, 'options.typeOfService', 0, 255);
  const blocked = checkBlockList(blockList);
  // connect() itself.
  if (timeout) stream.setTimeout(timeout as number);
  if (listener !== null) stream.once('connect', listener);
  // Socket.prototype.connect.
  if (port === undefined && path == null) throw missingArgs(['options', 'port', 'path']);
  if (path) {
    validateString(path, 'options.path');
    failure ??= unsupported('options.path', path, 'connects over TCP only');
  }
  // lookupAndConnect.
  const host = hostOption || 'localhost';
  if (nodeNetChecksHost()) validateHostName(host, 'options.host');
  if (localAddress && !isIP(localAddress as string)) throw invalidIpAddress(localAddress);
  if (localPort) validateNumber(localPort, 'options.localPort');
  let portNumber = 0;
  if (port !== undefined) {
    if (typeof port !== 'number' && typeof port !== 'string') throw invalidArgType('options.port', ['number', 'string'], port);
    portNumber = validatePort(port);
  }
  if (autoSelectFamily != null) validateBoolean(autoSelectFamily, 'options.autoSelectFamily');
  if (autoSelectFamilyAttemptTimeout != null) validateInt32(autoSelectFamilyAttemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
  // Ours.
  if (loopbackFastPath !== undefined) validateBoolean(loopbackFastPath, 'options.loopbackFastPath');

  if (failure !== null) {
    const error = failure;
    process.nextTick(() => stream.destroy(error));
    return stream;
  }
  if (noDelay) stream.setNoDelay(true);
  if (keepAlive) stream.setKeepAlive(true, keepAliveDelay);
  const target: Target = {
    port: portNumber,
    localAddress: localAddress ? (localAddress as string) : undefined,
    localPort: localPort ? (localPort as number) : undefined,
    loopbackFastPath: loopbackFastPath === true,
    blockList: blocked,
  };
  // As node:net: isIP() of whatever host is (a Node that does not check host's type first coerces it here, and throws what that coercion throws).
  const literal = isIP(host as string);
  if (literal !== 0) {
    // An address literal: no lookup, the connect starts on the next tick (as node:net's).
    process.nextTick(() => {
      if (!stream.destroyed) void connectInTurn(stream, control, [{ family: literal === 6 ? 'ipv6' : 'ipv4', address: host as string }], target);
    });
    return stream;
  }
  if (lookup != null) validateFunction(lookup, 'options.lookup');
  // dns.lookup checks the name, family and hints before it starts (and throws, as under node:net).
  const lookupOptions: { family: unknown; hints: unknown; all?: boolean } = { family: dnsFamily(family), hints: hints || 0 };
  if (process.platform !== 'win32' && lookupOptions.family !== 4 && lookupOptions.family !== 6 && lookupOptions.hints === 0) lookupOptions.hints = dns.ADDRCONFIG;
  // As node:net with autoSelectFamily (its default since Node 20): every address of the
  // name, tried in turn until one connects ('localhost' is ::1 first on Windows and Wine 10,
  // while many servers listen on 127.0.0.1 only). Unlike node:net, an attempt is not cut
  // short after autoSelectFamilyAttemptTimeout: the next address is tried when one fails.
  const tryAll = (autoSelectFamily ?? getDefaultAutoSelectFamily()) === true && lookupOptions.family !== 4 && lookupOptions.family !== 6;
  if (tryAll) lookupOptions.all = true;
  const resolve = (lookup ?? dns.lookup) as (host: unknown, options: unknown, callback: (error: Error | null, address: unknown, family?: unknown) => void) => void;
  resolve(host, lookupOptions, (error, address, addressFamily) => {
    // A custom lookup may answer at once: go on from the next tick, when the caller has the stream.
    process.nextTick(() => {
      if (stream.destroyed) return;
      if (error) {
        stream.destroy(error);
        return;
      }
      const answers = tryAll && Array.isArray(address) ? (address as Array<{ address: unknown; family: unknown }>) : [{ address, family: addressFamily }];
      const candidates: Array<{ family: AddressFamily; address: string }> = [];
      for (const answer of answers) {
        if (typeof answer.address !== 'string' || !isIP(answer.address)) {
          stream.destroy(invalidIpAddress(answer.address));
          return;
        }
        if (answer.family !== 4 && answer.family !== 6) {
          stream.destroy(invalidAddressFamily(answer.family, hostOption, port));
          return;
        }
        candidates.push({ family: answer.family === 6 ? 'ipv6' : 'ipv4', address: answer.address });
      }
      if (candidates.length === 0) stream.destroy(invalidIpAddress(undefined));
      else void connectInTurn(stream, control, candidates, target);
    });
  });
  return stream;
}

/** Tries each address until one connects; when every one fails, the first's error (several: an AggregateError with its code, as node:net's). */
async function connectInTurn(stream: SocketStream<Socket>, control: ConnectingStream, candidates: ReadonlyArray<{ family: AddressFamily; address: string }>, target: Target): Promise<void> {
  const errors: Error[] = [];
  for (const candidate of candidates) {
    const error = await attempt(stream, control, candidate.family, candidate.address, target);
    if (stream.destroyed) return;
    if (error === null) {
      control.connected(null);
      return;
    }
    errors.push(error);
  }
  if (stream.destroyed) return;
  if (errors.length === 1) control.connected(errors[0]!);
  else control.connected(Object.assign(new AggregateError(errors, ''), { code: (errors[0] as NodeJS.ErrnoException).code }));
}

/**
 * Whether this node:net checks `host` itself, before the other options ('The
 * "options.host" property must be of type string': nodejs/node#57198, in 23.10 and
 * backported to 22), rather than leaving it to dns.lookup after them ('The "hostname"
 * argument ...': Node 20 and the 22 releases before the backport). Asked
 * once, of node:net: a net.Socket connecting to host 1 throws before it resolves or
 * connects anything, and is destroyed at once (its TCP handle was never opened).
 */
let checksHost: boolean | undefined;
function nodeNetChecksHost(): boolean {
  if (checksHost === undefined) {
    const probe = new NetSocket();
    let message = '';
    try {
      probe.connect({ port: 1, host: 1 as unknown as string });
    } catch (error) {
      message = (error as Error).message;
    } finally {
      probe.destroy();
    }
    checksHost = message.includes('"options.host"');
  }
  return checksHost;
}

/** Whether this node:net checks a `typeOfService` option (Node 24+, which has socket.setTypeOfService). */
function checksTypeOfService(): boolean {
  return typeof (NetSocket.prototype as { setTypeOfService?: unknown }).setTypeOfService === 'function';
}

/** Makes a Socket for the stream, applies what must precede connect (the fast path, a local address), then ConnectEx: null when connected, else the Node-shaped error. */
async function attempt(stream: SocketStream<Socket>, control: ConnectingStream, family: AddressFamily, address: string, target: Target): Promise<Error | null> {
  let socket: Socket | null = null;
  try {
    if (target.blockList?.check(address, family) === true) {
      stream.destroy(ipBlocked(address));
      return null;
    }
    socket = new Socket({ family, type: 'tcp' });
    control.attach(socket);
    // The fast path must be asked for before connect; unsupported systems just connect.
    if (target.loopbackFastPath) socket.enableLoopbackFastPath();
    if (target.localAddress !== undefined || target.localPort !== undefined) {
      socket.bind({ address: target.localAddress ?? (family === 'ipv4' ? '0.0.0.0' : '::'), port: target.localPort ?? 0 });
    }
    await connectAsync(sockets.of(socket, 'socket'), { family, address, port: target.port }, undefined, undefined);
    return null;
  } catch (error) {
    return toNodeError(error, 'connect') as Error;
  }
}
