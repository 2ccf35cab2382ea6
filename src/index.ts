// winsock-ffi: Winsock for Node.js through koffi, with no compile step.

if (process.platform !== 'win32') {
  throw new Error(
    `winsock-ffi needs Windows: it calls ws2_32.dll, which ${process.platform} does not have. ` +
      'On Linux, run your program with the Windows build of Node.js under Wine.',
  );
}

export { Socket, lookup } from './socket.ts';
export type { ConnectAsyncOptions, ConnectOptions, KeepAliveOptions, ListenOptions, RecvFromResult, ShutdownHow, SocketOptions, SocketType } from './socket.ts';
export { poll } from './poll.ts';
export type { PollEvents, PollRequest, PollResult } from './poll.ts';
export { WinsockError, SocketClosedError, SocketStateError, EndOfStreamError } from './errors.ts';
export type { ErrorEndpoint } from './errors.ts';
export { formatIPv4, formatIPv6, parseIPv4, parseIPv6, literalFamily } from './address.ts';
export type { AddressFamily, ParsedIPv6, SocketAddress, SocketAddressInput } from './address.ts';
export { loopbackFastPathSupported, processHandleCount, wineVersion } from './platform.ts';
export * as constants from './sys/windows/constants.ts';
export { CompletionPort, Operation } from './iocp/completion-port.ts';
export type { Completion, OperationKind } from './iocp/completion-port.ts';
export { AbortError } from './iocp/async-io.ts';
export type { AsyncOptions } from './iocp/async-io.ts';
export { SocketStream } from './stream.ts';
export type { SocketStreamOptions } from './stream.ts';
