// agent(): an http.Agent (or, with `tls: true`, an https.Agent) whose connections are
// winsock-ffi streams (createConnection), TLS through tls.connect({ socket }) over them
// (secure.ts). Everything else is Node's own Agent: keep-alive pooling, maxSockets,
// maxFreeSockets, scheduling, timeouts, TLS session reuse.

import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import { checkInteger, checkObject, checkOptionalBoolean, describe } from '../core/checks.ts';
import type { Socket } from '../socket.ts';
import type { SocketStream } from '../stream.ts';
import { createConnection } from './connect.ts';
import type { NetConnectOptions } from './connect.ts';
import { secureOver } from './secure.ts';

/** What agent() adds to an Agent's options, for the winsock-ffi connections it makes. */
export interface WinsockConnectionOptions {
  /** Ask for SIO_LOOPBACK_FAST_PATH before connecting (the server must ask too; see Socket.enableLoopbackFastPath). */
  readonly loopbackFastPath?: boolean;
  /** Largest single receive of each connection (default: 64 KiB, growing to 512 KiB while receives come back full). */
  readonly readSize?: number;
}

/** agent()'s options for node:http: http.AgentOptions (keepAlive, maxSockets, timeout, noDelay, ...) and winsock-ffi's. */
export interface HttpAgentOptions extends http.AgentOptions, WinsockConnectionOptions {
  /** Absent or false: an http.Agent. */
  readonly tls?: false;
}

/** agent()'s options for node:https: https.AgentOptions (its TLS options too: ca, rejectUnauthorized, servername, ...) and winsock-ffi's. */
export interface HttpsAgentOptions extends https.AgentOptions, WinsockConnectionOptions {
  /** An https.Agent: TLS over each winsock-ffi connection. */
  readonly tls: true;
}

/** An Agent's extra options, checked. */
interface Extras {
  readonly loopbackFastPath: boolean | undefined;
  readonly readSize: number | undefined;
}

/**
 * An http.Agent whose connections are winsock-ffi's, or with `tls: true` an https.Agent
 * (TLS over them). The options are Node's Agent options, which work as there (keepAlive,
 * maxSockets, maxFreeSockets, timeout, scheduling; for TLS also its TLS options and
 * maxCachedSessions), plus `loopbackFastPath` and `readSize`.
 */
export function agent(options?: HttpAgentOptions): http.Agent;
export function agent(options: HttpsAgentOptions): https.Agent;
export function agent(options: HttpAgentOptions | HttpsAgentOptions = {}): http.Agent | https.Agent {
  checkObject(options);
  const { tls: secure, loopbackFastPath, readSize, ...agentOptions } = options;
  if (secure !== undefined && typeof secure !== 'boolean') throw new TypeError(`tls must be a boolean, got ${describe(secure)}`);
  if ((agentOptions as { lookup?: unknown }).lookup !== undefined) {
    throw new TypeError('agent: a custom lookup is not supported: winsock-ffi resolves host names with node:dns lookup()');
  }
  const extras: Extras = {
    loopbackFastPath: checkOptionalBoolean(loopbackFastPath, 'loopbackFastPath'),
    readSize: readSize === undefined ? undefined : checkInteger(readSize, 'readSize', 1, 0xffffffff),
  };
  return secure === true ? new WinsockHttpsAgent(agentOptions, extras) : new WinsockHttpAgent(agentOptions, extras);
}

class WinsockHttpAgent extends http.Agent {
  readonly #extras: Extras;

  constructor(options: http.AgentOptions, extras: Extras) {
    super(options);
    this.#extras = extras;
  }

  /** A winsock-ffi connection for Node's Agent (returned at once, connecting, as net.createConnection's). */
  override createConnection(options: http.ClientRequestArgs): Duplex {
    return connectionFor(options, this.#extras, 80, true);
  }
}

class WinsockHttpsAgent extends https.Agent {
  readonly #extras: Extras;

  constructor(options: https.AgentOptions, extras: Extras) {
    super(options);
    this.#extras = extras;
  }

  /** TLS over a winsock-ffi connection, through https.Agent's own createConnection (its TLS session cache). */
  override createConnection(options: https.RequestOptions): Duplex {
    // tls.connect leaves the timeout of a socket it is given to the caller: secureOver() sets it on the TLSSocket.
    const raw = connectionFor(options, this.#extras, 443, false);
    return secureOver(raw, options as tls.ConnectionOptions, (withSocket) => super.createConnection(withSocket) as tls.TLSSocket);
  }
}

/** The winsock-ffi connection for the options Node's Agent hands to createConnection (a request's, merged with the Agent's). */
function connectionFor(options: http.ClientRequestArgs, extras: Extras, defaultPort: number, withTimeout: boolean): SocketStream<Socket> {
  const { port, host, family, localAddress, localPort, socketPath, timeout, noDelay, keepAlive, keepAliveInitialDelay } = options as http.ClientRequestArgs & NetConnectOptions;
  if (socketPath !== undefined && socketPath !== null) {
    throw new TypeError(`agent: socketPath (${describe(socketPath)}) is not supported: winsock-ffi connects over TCP; use node:http's own agent for IPC`);
  }
  return createConnection({
    port: port ?? defaultPort,
    host: host ?? undefined,
    family: family ?? undefined,
    localAddress: localAddress ?? undefined,
    localPort: localPort ?? undefined,
    timeout: withTimeout ? (timeout ?? undefined) : undefined,
    noDelay,
    keepAlive,
    keepAliveInitialDelay,
    loopbackFastPath: extras.loopbackFastPath,
    readSize: extras.readSize,
  });
}
