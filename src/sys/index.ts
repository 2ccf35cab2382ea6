// The platform layer: the only way into sys/windows, and the only file that names it.
//
// Contract, for everything exported here (as mio's sys/mod.rs states its own):
// - Sockets are Handles (plain numbers). A function takes the handle it acts on and
//   trusts it: the layers above must never pass a closed or foreign handle.
// - Arguments are JavaScript values already checked by the caller (src/core/checks.ts):
//   this layer converts them, it does not validate them again.
// - A failed call throws WinsockError, shaped like Node's system errors, with the
//   system's own message. Calls whose failure is an outcome the caller handles return
//   it instead: issuing overlapped I/O and RIO requests (0, WSA_IO_PENDING or the error
//   number), would-block (-1), "not available" (the fast path, RIO). One idiom checks
//   every result; windows/error.ts describes it.
// - Native memory crosses this boundary only as PinnedMemory / OverlappedSlot objects
//   whose owners free them once; raw pointers and koffi never leave sys/windows.
// - Importing this module loads nothing: koffi binds each DLL on first use, and a
//   call on another OS throws a clear error. So pure code above it (addresses,
//   argument checks) runs and is tested with Linux node too.
// - Windows-only features are named functions (enableLoopbackFastPath,
//   setKeepAliveValues, the 'exclusiveAddressUse' option), so that a sys/unix twin
//   can answer them in its own way.

export type { Handle } from './windows/ffi.ts';
export { INVALID_HANDLE, isWindows, PinnedMemory, slabStats } from './windows/ffi.ts';
export type { ErrorEndpoint } from './windows/error.ts';
export { errorName, statusErrno, WinsockError } from './windows/error.ts';
// Named one by one, so that this list is the platform layer's surface.
export type { ShutdownHow, SocketType } from './windows/socket.ts';
export {
  accept,
  acceptQueued,
  bind,
  bytesAvailable,
  closeSocket,
  connect,
  connectWithTimeout,
  createSocket,
  hasPeer,
  isBound,
  listen,
  localAddress,
  recv,
  recvFrom,
  recvv,
  remoteAddress,
  send,
  sendTo,
  sendv,
  shutdown,
  tryRecv,
  trySend,
} from './windows/socket.ts';
export type { TcpInfo, TcpState } from './windows/options.ts';
export {
  enableLoopbackFastPath,
  getLinger,
  getRawIntOption,
  getRawOption,
  setBlocking,
  setKeepAliveValues,
  setLinger,
  setMembership,
  setMulticastInterface,
  setRawIntOption,
  setRawOption,
  tcpInfo,
} from './windows/options.ts';
export { describeSocket, duplicateSocket, matchesProtocolInfo, socketFromProtocolInfo } from './windows/handoff.ts';
export { resolve } from './windows/resolve.ts';
export type { PollRecord } from './windows/poll.ts';
export { poll } from './windows/poll.ts';
export { currentProcessId, processHandleCount, queryPerformanceCounter, queryPerformanceFrequency, windowsVersion, wineVersion } from './windows/process.ts';
/** WSAGetLastError, for the benchmark that times one FFI call. */
export { lastError } from './windows/error.ts';
/** The system's RIO function table (rio.api() is what callers use). */
export * as overlapped from './windows/overlapped.ts';
export type { OverlappedSlot } from './windows/overlapped.ts';
export * as eventLoop from './windows/event-loop.ts';
export type { LoopSlot } from './windows/event-loop.ts';
/** Registered I/O: the function table (the system's, or for tests the RIO test double's) and its calls. */
export * as rio from './windows/rio.ts';
export type { RioApi } from './windows/rio.ts';
/** Every Winsock number, for users' getOption/setOption (the package itself uses named functions). */
export * as constants from './windows/constants.ts';
export {
  ERROR_INVALID_PARAMETER,
  INFINITE,
  POLLERR,
  POLLHUP,
  POLLNVAL,
  POLLRDNORM,
  POLLWRNORM,
  SOMAXCONN,
  WSA_IO_PENDING,
  WSA_OPERATION_ABORTED,
  WSAECONNRESET,
  WSAEMSGSIZE,
  WSAENOBUFS,
  WSAENOTCONN,
  WSAETIMEDOUT,
  WSAEWOULDBLOCK,
} from './windows/constants.ts';
