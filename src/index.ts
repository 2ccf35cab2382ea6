// winsock-ffi: Winsock for Node.js through koffi, with no compile step.
//
// The layers, bottom to top (ARCHITECTURE.md; test/pure/imports.test.ts enforces them):
//   base/          pure helpers: values, addresses (used by every layer, sys/ included)
//   sys/           the platform layer: koffi, typed Winsock calls, WinsockError (sys/index.ts the way in)
//   core/          the socket core (handle, state, ownership, port association), checks, errors, options
//   iocp/          the completion engine: operations, their kinds, associations, the port, pools
//   async/         the Promise API's engine: one port per thread, the run path, send queues
//   stream.ts      SocketStream over a core
//   socket.ts      the public Socket, a facade over a core
//   completion-port.ts, poll.ts, platform.ts, rio/   public features over Sockets
//   net/           node:net's createConnection/createServer/serve over the streams, and connectors
//                  for node:http/https (agent) and undici (undiciConnect)
// Importing this module loads no DLL: on an OS without Winsock the first native call
// throws, while the pure helpers (address parsing and formatting) work everywhere.

export { Socket } from './socket.ts';
export type { AsyncOptions, ConnectAsyncOptions, ConnectOptions, KeepAliveOptions, ListenOptions, RecvFromResult, ShutdownHow, SocketOptions, SocketType } from './socket.ts';
export type { Linger, SendToAsyncOptions, TcpInfo, TcpState } from './socket.ts';
export { lookup } from './core/resolve.ts';
export { poll } from './poll.ts';
export type { PollEvents, PollRequest, PollResult } from './poll.ts';
export { AbortError, WinsockError, SocketClosedError, SocketStateError, EndOfStreamError, BufferDetachedError } from './core/errors.ts';
export type { ErrorEndpoint } from './core/errors.ts';
export { formatIPv4, formatIPv6, parseIPv4, parseIPv6, literalFamily } from './base/address.ts';
export type { AddressFamily, ParsedIPv6, SocketAddress, SocketAddressInput } from './base/address.ts';
export { loopbackFastPathSupported, processHandleCount, wineVersion } from './platform.ts';
export { constants } from './sys/index.ts';
export { CompletionPort, Operation } from './completion-port.ts';
export type { Completion, OperationKind, PortState } from './completion-port.ts';
export { asyncEngine } from './async/engine.ts';
export type { AsyncEngine } from './async/engine.ts';
export { CompletionQueue, RegisteredBuffer, registeredIoSupported, registeredIoUnavailableBecause, RequestQueue, RioResult } from './rio/index.ts';
export type { CompletionNotification, CompletionQueueOptions, RequestOptions, RequestQueueOptions, RioRequestKind } from './rio/index.ts';
export { SocketStream } from './stream.ts';
export type { NetAddressInfo, ReadyState, SocketStreamOptions } from './stream.ts';
export { connect, createConnection } from './net/connect.ts';
export type { NetConnectOptions } from './net/connect.ts';
export { createServer, Server } from './net/server.ts';
export type { ServerListenOptions, ServerOptions } from './net/server.ts';
export { serve } from './net/serve.ts';
export type { ConnectionTarget } from './net/serve.ts';
export { agent } from './net/agent.ts';
export type { HttpAgentOptions, HttpsAgentOptions, WinsockConnectionOptions } from './net/agent.ts';
export { undiciConnect, undiciConnector } from './net/undici.ts';
export type { UndiciConnectCallback, UndiciConnectOptions, UndiciConnector, UndiciConnectorOptions } from './net/undici.ts';
export type { NodeSystemError } from './core/node-errors.ts';
