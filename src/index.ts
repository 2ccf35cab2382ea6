// winsock-ffi: Winsock for Node.js through koffi, with no compile step.
//
// The layers, bottom to top:
//   sys/windows/ffi.ts   koffi: every native function declared once, loaded on first use
//   sys/ (index.ts)      the platform layer: typed socket and overlapped calls, WinsockError
//   socket.ts            the public Socket (checks.ts, resolve.ts, address.ts beside it)
//   iocp/                the completion engine: CompletionPort, pools, the shared pump
//   socket's *Async, stream.ts   the Promise API and streams on top of the engine
//   rio/                 Registered I/O: registered buffers, completion and request queues
//   net/                 node:net's createConnection/createServer over the streams
// Importing this module loads no DLL: on an OS without Winsock the first native call
// throws, while the pure helpers (address parsing and formatting) work everywhere.

export { Socket } from './socket.ts';
export type { ConnectAsyncOptions, ConnectOptions, KeepAliveOptions, ListenOptions, RecvFromResult, ShutdownHow, SocketOptions, SocketType } from './socket.ts';
export type { Linger, SendToAsyncOptions, TcpInfo, TcpState } from './socket.ts';
export { lookup } from './resolve.ts';
export { poll } from './poll.ts';
export type { PollEvents, PollRequest, PollResult } from './poll.ts';
export { WinsockError, SocketClosedError, SocketStateError, EndOfStreamError, BufferDetachedError } from './errors.ts';
export type { ErrorEndpoint } from './errors.ts';
export { formatIPv4, formatIPv6, parseIPv4, parseIPv6, literalFamily } from './address.ts';
export type { AddressFamily, ParsedIPv6, SocketAddress, SocketAddressInput } from './address.ts';
export { loopbackFastPathSupported, processHandleCount, wineVersion } from './platform.ts';
export { constants } from './sys/index.ts';
export { CompletionPort, Operation } from './iocp/completion-port.ts';
export type { Completion, OperationKind, PortState } from './iocp/completion-port.ts';
export { AbortError, asyncEngine } from './iocp/async-io.ts';
export type { AsyncEngine, AsyncOptions } from './iocp/async-io.ts';
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
export type { NodeSystemError } from './net/errors.ts';
