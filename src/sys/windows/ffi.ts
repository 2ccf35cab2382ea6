// The only module that talks to koffi. Every native function the package calls is
// declared once, in the tables below: its C prototype (from the Windows SDK) and the
// TypeScript type the rest of sys/windows calls it with. Libraries load on first use.
// Native memory is wrapped in PinnedMemory; its address is handed out only inside
// sys/windows (addressOf), never above it.

import koffi from 'koffi';
import type { LibraryHandle } from 'koffi';

/** A SOCKET or HANDLE value as the package stores it: a number (user-mode values fit in 53 bits). */
export type Handle = number;

/** INVALID_SOCKET / INVALID_HANDLE_VALUE once normalised by toHandle(). */
export const INVALID_HANDLE: Handle = -1;

/** An address in native memory. Opaque: only sys/windows makes or reads one. */
declare const pointerBrand: unique symbol;
export type Pointer = bigint & { readonly [pointerBrand]: true };

/** A memory cell koffi fills for an `_Out_` pointer parameter. */
type OutCell = unknown[];
type Bytes = Uint8Array | null;

// --- Declaring functions once ---------------------------------------------------

interface Declaration<F> {
  readonly prototype: string;
  /** Never set: carries the TypeScript signature. */
  readonly signature?: F;
}

function fn<F extends (...args: never[]) => unknown>(prototype: string): Declaration<F> {
  return { prototype };
}

/** A declared function, plus koffi's `.async` form that runs it on a libuv worker thread. */
type Bound<F> = F extends (...args: infer A) => infer R ? F & { async(...args: [...A, (error: unknown, result: R) => void]): void } : never;
type Library<T> = { readonly [K in keyof T]: T[K] extends Declaration<infer F> ? Bound<F> : never };

/** Loads `dll` on first use and binds every declaration of `table`. */
function lazyLibrary<T extends Record<string, Declaration<unknown>>>(dll: string, table: T): () => Library<T> {
  let loaded: Library<T> | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    requireWindows();
    const lib = koffi.load(dll);
    const out: Record<string, unknown> = {};
    for (const [name, declaration] of Object.entries(table)) out[name] = lib.func(declaration.prototype);
    loaded = out as Library<T>;
    return loaded;
  };
}

export function isWindows(): boolean {
  return process.platform === 'win32';
}

function requireWindows(): void {
  if (!isWindows()) {
    throw new Error(
      `winsock-ffi needs Windows: it calls ws2_32.dll, which ${process.platform} does not have ` +
        '(on Linux, run it with the Windows build of Node.js under Wine, as `npm test` does)',
    );
  }
}

// SOCKET and HANDLE are uintptr_t; buffers used only for the length of a call are
// `void *` (koffi passes a Buffer's own memory); pinned memory is passed as its address.
export const ws2 = lazyLibrary('ws2_32.dll', {
  WSAStartup: fn<(version: number, data: Uint8Array) => number>('int __stdcall WSAStartup(uint16_t wVersionRequested, _Out_ uint8_t *lpWSAData)'),
  WSACleanup: fn<() => number>('int __stdcall WSACleanup()'),
  WSAGetLastError: fn<() => number>('int __stdcall WSAGetLastError()'),
  WSASocketW: fn<(af: number, type: number, protocol: number, info: Bytes, group: number, flags: number) => number | bigint>(
    'uintptr_t __stdcall WSASocketW(int af, int type, int protocol, void *lpProtocolInfo, uint32_t g, uint32_t dwFlags)',
  ),
  closesocket: fn<(s: Handle) => number>('int __stdcall closesocket(uintptr_t s)'),
  bind: fn<(s: Handle, name: Uint8Array, length: number) => number>('int __stdcall bind(uintptr_t s, void *name, int namelen)'),
  listen: fn<(s: Handle, backlog: number) => number>('int __stdcall listen(uintptr_t s, int backlog)'),
  accept: fn<(s: Handle, address: Bytes, length: Int32Array | null) => number | bigint>('uintptr_t __stdcall accept(uintptr_t s, void *addr, void *addrlen)'),
  connect: fn<(s: Handle, name: Uint8Array, length: number) => number>('int __stdcall connect(uintptr_t s, void *name, int namelen)'),
  send: fn<(s: Handle, data: Uint8Array, length: number, flags: number) => number>('int __stdcall send(uintptr_t s, void *buf, int len, int flags)'),
  recv: fn<(s: Handle, buffer: Uint8Array, length: number, flags: number) => number>('int __stdcall recv(uintptr_t s, void *buf, int len, int flags)'),
  sendto: fn<(s: Handle, data: Uint8Array, length: number, flags: number, to: Uint8Array, toLength: number) => number>(
    'int __stdcall sendto(uintptr_t s, void *buf, int len, int flags, void *to, int tolen)',
  ),
  recvfrom: fn<(s: Handle, buffer: Uint8Array, length: number, flags: number, from: Uint8Array, fromLength: Int32Array) => number>(
    'int __stdcall recvfrom(uintptr_t s, void *buf, int len, int flags, void *from, void *fromlen)',
  ),
  shutdown: fn<(s: Handle, how: number) => number>('int __stdcall shutdown(uintptr_t s, int how)'),
  getsockopt: fn<(s: Handle, level: number, name: number, value: Uint8Array, length: Int32Array) => number>(
    'int __stdcall getsockopt(uintptr_t s, int level, int optname, void *optval, void *optlen)',
  ),
  setsockopt: fn<(s: Handle, level: number, name: number, value: Bytes, length: number) => number>(
    'int __stdcall setsockopt(uintptr_t s, int level, int optname, void *optval, int optlen)',
  ),
  ioctlsocket: fn<(s: Handle, command: number, argument: Uint32Array) => number>('int __stdcall ioctlsocket(uintptr_t s, int32_t cmd, void *argp)'),
  WSAIoctl: fn<(s: Handle, code: number, input: Bytes, inputLength: number, output: Bytes, outputLength: number, returned: Uint32Array, overlapped: null, completion: null) => number>(
    'int __stdcall WSAIoctl(uintptr_t s, uint32_t code, void *inBuf, uint32_t inLen, void *outBuf, uint32_t outLen, void *bytesReturned, void *overlapped, void *completion)',
  ),
  // The same entry point, declared so that the output is read back as a function pointer.
  WSAIoctlPointer: fn<(s: Handle, code: number, input: Uint8Array, inputLength: number, output: OutCell, outputLength: number, returned: Uint32Array, overlapped: null, completion: null) => number>(
    'int __stdcall WSAIoctl(uintptr_t s, uint32_t code, void *inBuf, uint32_t inLen, _Out_ void **outBuf, uint32_t outLen, void *bytesReturned, void *overlapped, void *completion)',
  ),
  getsockname: fn<(s: Handle, name: Uint8Array, length: Int32Array) => number>('int __stdcall getsockname(uintptr_t s, void *name, void *namelen)'),
  getpeername: fn<(s: Handle, name: Uint8Array, length: Int32Array) => number>('int __stdcall getpeername(uintptr_t s, void *name, void *namelen)'),
  WSAPoll: fn<(records: Uint8Array, count: number, timeoutMs: number) => number>('int __stdcall WSAPoll(void *fdArray, uint32_t fds, int timeout)'),
  select: fn<(nfds: number, read: Bytes, write: Bytes, except: Bytes, timeout: Int32Array | null) => number>(
    'int __stdcall select(int nfds, void *readfds, void *writefds, void *exceptfds, void *timeout)',
  ),
  GetAddrInfoW: fn<(node: string, service: null, hints: Uint8Array, result: OutCell) => number>(
    'int __stdcall GetAddrInfoW(str16 pNodeName, str16 pServiceName, void *pHints, _Out_ void **ppResult)',
  ),
  FreeAddrInfoW: fn<(info: unknown) => void>('void __stdcall FreeAddrInfoW(void *pAddrInfo)'),
  // Overlapped (pinned WSABUFs, an OVERLAPPED, no count) or synchronous (a WSABUF array in a
  // Buffer for the call's duration, a count cell, no OVERLAPPED: sendv/recvv).
  WSARecv: fn<(s: Handle, buffers: Pointer | Uint8Array, count: number, received: Uint32Array | null, flags: Pointer | Uint32Array, overlapped: Pointer | null, routine: null) => number>(
    'int __stdcall WSARecv(uintptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesRecvd, void *lpFlags, void *lpOverlapped, void *lpCompletionRoutine)',
  ),
  WSASend: fn<(s: Handle, buffers: Pointer | Uint8Array, count: number, sent: Uint32Array | null, flags: number, overlapped: Pointer | null, routine: null) => number>(
    'int __stdcall WSASend(uintptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesSent, uint32_t dwFlags, void *lpOverlapped, void *lpCompletionRoutine)',
  ),
  WSARecvFrom: fn<(s: Handle, buffers: Pointer, count: number, received: null, flags: Pointer, from: Pointer, fromLength: Pointer, overlapped: Pointer, routine: null) => number>(
    'int __stdcall WSARecvFrom(uintptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesRecvd, void *lpFlags, void *lpFrom, void *lpFromlen, void *lpOverlapped, void *lpCompletionRoutine)',
  ),
  WSASendTo: fn<(s: Handle, buffers: Pointer, count: number, sent: null, flags: number, to: Pointer, toLength: number, overlapped: Pointer, routine: null) => number>(
    'int __stdcall WSASendTo(uintptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesSent, uint32_t dwFlags, void *lpTo, int iTolen, void *lpOverlapped, void *lpCompletionRoutine)',
  ),
  WSADuplicateSocketW: fn<(s: Handle, processId: number, info: Uint8Array) => number>(
    'int __stdcall WSADuplicateSocketW(uintptr_t s, uint32_t dwProcessId, void *lpProtocolInfo)',
  ),
  WSAGetOverlappedResult: fn<(s: Handle, overlapped: Pointer, transferred: Uint32Array, wait: number, flags: Uint32Array) => number>(
    'int __stdcall WSAGetOverlappedResult(uintptr_t s, void *lpOverlapped, _Out_ uint32_t *lpcbTransfer, int fWait, _Out_ uint32_t *lpdwFlags)',
  ),
});

export const kernel32 = lazyLibrary('kernel32.dll', {
  FormatMessageW: fn<(flags: number, source: null, messageId: number, languageId: number, buffer: Uint8Array, size: number, args: null) => number>(
    'uint32_t __stdcall FormatMessageW(uint32_t dwFlags, void *lpSource, uint32_t dwMessageId, uint32_t dwLanguageId, void *lpBuffer, uint32_t nSize, void *Arguments)',
  ),
  GetCurrentProcess: fn<() => number | bigint>('uintptr_t __stdcall GetCurrentProcess()'),
  GetCurrentProcessId: fn<() => number>('uint32_t __stdcall GetCurrentProcessId()'),
  GetProcessHandleCount: fn<(process: number | bigint, count: OutCell) => number>('int __stdcall GetProcessHandleCount(uintptr_t hProcess, _Out_ uint32_t *pdwHandleCount)'),
  CreateIoCompletionPort: fn<(file: Handle | bigint, existing: Handle, key: number, threads: number) => number | bigint>(
    'uintptr_t __stdcall CreateIoCompletionPort(uintptr_t FileHandle, uintptr_t ExistingCompletionPort, uintptr_t CompletionKey, uint32_t NumberOfConcurrentThreads)',
  ),
  GetQueuedCompletionStatusEx: fn<(port: Handle, entries: Pointer, count: number, removed: Pointer, timeoutMs: number, alertable: number) => number>(
    'int __stdcall GetQueuedCompletionStatusEx(uintptr_t CompletionPort, void *lpCompletionPortEntries, uint32_t ulCount, void *ulNumEntriesRemoved, uint32_t dwMilliseconds, int fAlertable)',
  ),
  PostQueuedCompletionStatus: fn<(port: Handle, bytes: number, key: number, overlapped: Pointer | null) => number>(
    'int __stdcall PostQueuedCompletionStatus(uintptr_t CompletionPort, uint32_t dwNumberOfBytesTransferred, uintptr_t dwCompletionKey, void *lpOverlapped)',
  ),
  CancelIoEx: fn<(file: Handle, overlapped: Pointer | null) => number>('int __stdcall CancelIoEx(uintptr_t hFile, void *lpOverlapped)'),
  SetFileCompletionNotificationModes: fn<(file: Handle, flags: number) => number>('int __stdcall SetFileCompletionNotificationModes(uintptr_t FileHandle, uint8_t Flags)'),
  CloseHandle: fn<(handle: Handle) => number>('int __stdcall CloseHandle(uintptr_t hObject)'),
  QueryPerformanceCounter: fn<(cell: BigInt64Array) => number>('int __stdcall QueryPerformanceCounter(void *lpPerformanceCount)'),
  QueryPerformanceFrequency: fn<(frequency: OutCell) => number>('int __stdcall QueryPerformanceFrequency(_Out_ int64_t *lpFrequency)'),
  GetLastError: fn<() => number>('uint32_t __stdcall GetLastError()'),
});

// libuv, as node.exe exports it: Node's own event loop. Pointers to libuv objects are
// uintptr_t, so they travel as plain numbers (no BigInt per call). process.execPath may
// not export these (another runtime, an embedder): the caller catches the load error.
export const libuv = lazyLibrary(process.execPath, {
  uv_version_string: fn<() => string>('const char *uv_version_string(void)'),
  uv_default_loop: fn<() => number>('uintptr_t uv_default_loop(void)'),
  uv_loop_size: fn<() => number>('size_t uv_loop_size(void)'),
  uv_handle_size: fn<(type: number) => number>('size_t uv_handle_size(int type)'),
  uv_req_size: fn<(type: number) => number>('size_t uv_req_size(int type)'),
  uv_async_init: fn<(loop: number, handle: number, callback: unknown) => number>('int uv_async_init(uintptr_t loop, uintptr_t handle, void *async_cb)'),
  uv_close: fn<(handle: number, callback: unknown) => void>('void uv_close(uintptr_t handle, void *close_cb)'),
  uv_ref: fn<(handle: number) => void>('void uv_ref(uintptr_t handle)'),
  uv_unref: fn<(handle: number) => void>('void uv_unref(uintptr_t handle)'),
  uv_handle_get_loop: fn<(handle: number) => number>('uintptr_t uv_handle_get_loop(uintptr_t handle)'),
  uv_handle_get_type: fn<(handle: number) => number>('int uv_handle_get_type(uintptr_t handle)'),
  uv_req_get_type: fn<(request: number) => number>('int uv_req_get_type(uintptr_t req)'),
  uv_req_get_data: fn<(request: number) => number>('uintptr_t uv_req_get_data(uintptr_t req)'),
});

/**
 * A JavaScript function libuv can call with one uintptr_t argument (a handle's address,
 * as a number): uv_async_cb and uv_close_cb. koffi keeps at most 8192 of these, so the
 * package registers one of each and dispatches by address.
 */
export function registerHandleCallback(callback: (handle: number) => void): unknown {
  handleCallbackType ??= koffi.pointer(koffi.proto('void winsock_ffi_handle_cb(uintptr_t handle)'));
  return koffi.register(callback, handleCallbackType);
}

let handleCallbackType: ReturnType<typeof koffi.pointer> | undefined;

/** The address of a registered callback, as a number (to compare with what libuv stored). */
export function callbackAddress(callback: unknown): number {
  return typeof callback === 'bigint' ? Number(callback) : Number(koffi.address(callback));
}

/** The Winsock extension functions, fetched with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) by GUID. */
export const EXTENSIONS = {
  AcceptEx: {
    guid: guid(0xb5367df1, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]),
    ...fn<(listener: Handle, accepted: Handle, output: Pointer, receiveLength: number, localLength: number, remoteLength: number, received: Pointer, overlapped: Pointer) => number>(
      'int __stdcall AcceptEx(uintptr_t sListenSocket, uintptr_t sAcceptSocket, void *lpOutputBuffer, uint32_t dwReceiveDataLength, uint32_t dwLocalAddressLength, uint32_t dwRemoteAddressLength, void *lpdwBytesReceived, void *lpOverlapped)',
    ),
  },
  GetAcceptExSockaddrs: {
    guid: guid(0xb5367df2, 0xcbac, 0x11cf, [0x95, 0xca, 0x00, 0x80, 0x5f, 0x48, 0xa1, 0x92]),
    ...fn<(output: Pointer, receiveLength: number, localLength: number, remoteLength: number, local: OutCell, localSize: OutCell, remote: OutCell, remoteSize: OutCell) => void>(
      'void __stdcall GetAcceptExSockaddrs(void *lpOutputBuffer, uint32_t dwReceiveDataLength, uint32_t dwLocalAddressLength, uint32_t dwRemoteAddressLength, _Out_ void **LocalSockaddr, _Out_ int *LocalSockaddrLength, _Out_ void **RemoteSockaddr, _Out_ int *RemoteSockaddrLength)',
    ),
  },
  ConnectEx: {
    guid: guid(0x25a207b9, 0xddf3, 0x4660, [0x8e, 0xe9, 0x76, 0xe5, 0x8c, 0x74, 0x06, 0x3e]),
    ...fn<(s: Handle, name: Pointer, length: number, sendBuffer: null, sendLength: number, sent: null, overlapped: Pointer) => number>(
      'int __stdcall ConnectEx(uintptr_t s, void *name, int namelen, void *lpSendBuffer, uint32_t dwSendDataLength, void *lpdwBytesSent, void *lpOverlapped)',
    ),
  },
};

/** WSAID_MULTIPLE_RIO {8509e081-96dd-4005-b165-9e2ee8c79e3f}: the Registered I/O function table. */
export const WSAID_MULTIPLE_RIO = guid(0x8509e081, 0x96dd, 0x4005, [0xb1, 0x65, 0x9e, 0x2e, 0xe8, 0xc7, 0x9e, 0x3f]);

/**
 * Registered I/O: RIO_EXTENSION_FUNCTION_TABLE (mswsock.h) after its DWORD cbSize, one
 * function pointer each, in the table's order (this object's key order is that order).
 * RIO_RQ, RIO_CQ and RIO_BUFFERID are opaque pointer-sized values: uintptr_t, numbers here
 * (user-mode values fit in 53 bits; RIO_INVALID_BUFFERID is 0xFFFFFFFF). PRIO_BUF and
 * PRIORESULT point into pinned memory; PVOID contexts are uintptr_t; BOOL and INT are int.
 */
export const RIO_FUNCTIONS = {
  RIOReceive: fn<(rq: number, data: Pointer | null, count: number, flags: number, context: number) => number>(
    'int __stdcall RIOReceive(uintptr_t SocketQueue, void *pData, uint32_t DataBufferCount, uint32_t Flags, uintptr_t RequestContext)',
  ),
  RIOReceiveEx: fn<(rq: number, data: Pointer, count: number, local: Pointer | null, remote: Pointer | null, control: Pointer | null, flagsBuffer: Pointer | null, flags: number, context: number) => number>(
    'int __stdcall RIOReceiveEx(uintptr_t SocketQueue, void *pData, uint32_t DataBufferCount, void *pLocalAddress, void *pRemoteAddress, void *pControlContext, void *pFlags, uint32_t Flags, uintptr_t RequestContext)',
  ),
  RIOSend: fn<(rq: number, data: Pointer | null, count: number, flags: number, context: number) => number>(
    'int __stdcall RIOSend(uintptr_t SocketQueue, void *pData, uint32_t DataBufferCount, uint32_t Flags, uintptr_t RequestContext)',
  ),
  RIOSendEx: fn<(rq: number, data: Pointer, count: number, local: Pointer | null, remote: Pointer | null, control: Pointer | null, flagsBuffer: Pointer | null, flags: number, context: number) => number>(
    'int __stdcall RIOSendEx(uintptr_t SocketQueue, void *pData, uint32_t DataBufferCount, void *pLocalAddress, void *pRemoteAddress, void *pControlContext, void *pFlags, uint32_t Flags, uintptr_t RequestContext)',
  ),
  RIOCloseCompletionQueue: fn<(cq: number) => void>('void __stdcall RIOCloseCompletionQueue(uintptr_t CQ)'),
  RIOCreateCompletionQueue: fn<(size: number, notification: Pointer | null) => number | bigint>(
    'uintptr_t __stdcall RIOCreateCompletionQueue(uint32_t QueueSize, void *NotificationCompletion)',
  ),
  RIOCreateRequestQueue: fn<(s: Handle, maxReceive: number, maxReceiveBuffers: number, maxSend: number, maxSendBuffers: number, receiveCq: number, sendCq: number, context: number) => number | bigint>(
    'uintptr_t __stdcall RIOCreateRequestQueue(uintptr_t Socket, uint32_t MaxOutstandingReceive, uint32_t MaxReceiveDataBuffers, uint32_t MaxOutstandingSend, uint32_t MaxSendDataBuffers, uintptr_t ReceiveCQ, uintptr_t SendCQ, uintptr_t SocketContext)',
  ),
  RIODequeueCompletion: fn<(cq: number, results: Pointer, count: number) => number>('uint32_t __stdcall RIODequeueCompletion(uintptr_t CQ, void *Array, uint32_t ArraySize)'),
  RIODeregisterBuffer: fn<(id: number) => void>('void __stdcall RIODeregisterBuffer(uintptr_t BufferId)'),
  RIONotify: fn<(cq: number) => number>('int __stdcall RIONotify(uintptr_t CQ)'),
  RIORegisterBuffer: fn<(data: Pointer, length: number) => number | bigint>('uintptr_t __stdcall RIORegisterBuffer(void *DataBuffer, uint32_t DataLength)'),
  RIOResizeCompletionQueue: fn<(cq: number, size: number) => number>('int __stdcall RIOResizeCompletionQueue(uintptr_t CQ, uint32_t QueueSize)'),
  RIOResizeRequestQueue: fn<(rq: number, maxReceive: number, maxSend: number) => number>(
    'int __stdcall RIOResizeRequestQueue(uintptr_t RQ, uint32_t MaxOutstandingReceive, uint32_t MaxOutstandingSend)',
  ),
};

/** The RIO functions bound to the pointers of one RIO_EXTENSION_FUNCTION_TABLE. */
export type RioFunctions = { readonly [K in keyof typeof RIO_FUNCTIONS]: (typeof RIO_FUNCTIONS)[K] extends Declaration<infer F> ? F : never };

/**
 * Binds the 13 function pointers of an RIO_EXTENSION_FUNCTION_TABLE held in `table`
 * (cbSize at 0, padded to 8, then one 8-byte pointer each). Throws when one is null.
 */
export function bindRioTable(table: Uint8Array): RioFunctions {
  const view = Buffer.from(table.buffer, table.byteOffset, table.byteLength);
  const out: Record<string, unknown> = {};
  Object.entries(RIO_FUNCTIONS).forEach(([name, declaration], i) => {
    const pointer = view.readBigUInt64LE(8 + 8 * i);
    if (pointer === 0n) throw new Error(`the RIO function table has no ${name}`);
    out[name] = koffi.decode(pointer, koffi.proto(declaration.prototype));
  });
  return out as RioFunctions;
}

/**
 * @internal The RIO test double's exports (test/fixtures/rio-double/rio-double.c): its
 * RIO_EXTENSION_FUNCTION_TABLE as the ioctl would return it, and controls for tests.
 */
export const RIO_DOUBLE = {
  RioDoubleGetTable: fn<(table: Uint8Array, size: number, returned: Uint32Array) => number>('int RioDoubleGetTable(void *output, uint32_t size, void *returned)'),
  RioDoubleCorruptLastCompletionQueue: fn<() => void>('void RioDoubleCorruptLastCompletionQueue(void)'),
  RioDoubleStats: fn<(out: Uint8Array, size: number) => number>('int RioDoubleStats(void *out, uint32_t size)'),
  RioDoubleLayout: fn<(out: Uint32Array, count: number) => number>('int RioDoubleLayout(void *out, uint32_t count)'),
};

const rioDoubles = new Map<string, () => Library<typeof RIO_DOUBLE>>();

/** @internal The RIO test double DLL at `path`, loaded once. */
export function rioDouble(path: string): Library<typeof RIO_DOUBLE> {
  let loader = rioDoubles.get(path);
  if (loader === undefined) {
    loader = lazyLibrary(path, RIO_DOUBLE);
    rioDoubles.set(path, loader);
  }
  return loader();
}

/** A GUID as the struct lays it out: Data1 (LE u32), Data2, Data3 (LE u16), Data4[8]. */
export function guid(data1: number, data2: number, data3: number, data4: readonly number[]): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeUInt32LE(data1, 0);
  bytes.writeUInt16LE(data2, 4);
  bytes.writeUInt16LE(data3, 6);
  Buffer.from(data4).copy(bytes, 8);
  return bytes;
}

/** Binds a function pointer fetched with WSAIoctlPointer to its declaration. */
export function bindPointer<F>(pointer: unknown, declaration: { readonly prototype: string; readonly signature?: F }): F {
  return koffi.decode(pointer, koffi.proto(declaration.prototype)) as F;
}

// ntdll: facts about the system. Bound one by one, as wine_get_version exists only under Wine.
const NTDLL = {
  wine_get_version: fn<() => string>('str __cdecl wine_get_version()'),
  RtlGetVersion: fn<(info: Uint8Array) => number>('int32_t __stdcall RtlGetVersion(void *info)'),
  NtSetInformationFile: fn<(file: Handle, ioStatus: Uint8Array, information: Uint8Array, length: number, informationClass: number) => number>(
    'int32_t __stdcall NtSetInformationFile(uintptr_t FileHandle, void *IoStatusBlock, void *FileInformation, uint32_t Length, int FileInformationClass)',
  ),
};
type Ntdll = typeof NTDLL;

let ntdllLibrary: LibraryHandle | null | undefined;
const ntdllBound = new Map<keyof Ntdll, unknown>();

/** An ntdll function, or null where ntdll or the function is missing. */
export function ntdll<K extends keyof Ntdll>(name: K): (Ntdll[K] extends Declaration<infer F> ? F : never) | null {
  if (!ntdllBound.has(name)) {
    requireWindows();
    if (ntdllLibrary === undefined) {
      try {
        ntdllLibrary = koffi.load('ntdll.dll');
      } catch {
        ntdllLibrary = null;
      }
    }
    let bound: unknown = null;
    try {
      bound = ntdllLibrary?.func(NTDLL[name].prototype) ?? null;
    } catch {
      // Not exported here (wine_get_version on Windows).
    }
    ntdllBound.set(name, bound);
  }
  return ntdllBound.get(name) as (Ntdll[K] extends Declaration<infer F> ? F : never) | null;
}

// --- Values koffi hands back -----------------------------------------------------

/** koffi returns uintptr_t as a number when it fits and as a bigint otherwise (~0). */
export function toHandle(value: number | bigint): Handle {
  if (typeof value === 'number') return value;
  if (value === 0xffffffffffffffffn) return INVALID_HANDLE;
  if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  throw new Error(`internal error: handle ${value} does not fit in a safe integer`);
}

/** A Buffer over native memory someone else owns (libuv's loop), for reading a field. */
export function nativeView(address: number, length: number): Buffer {
  return Buffer.from(koffi.view(BigInt(address), length));
}

/** Copies `length` bytes of native memory at `pointer` (from a list the OS allocated). */
export function readNative(pointer: unknown, length: number): Buffer {
  return Buffer.from(Buffer.from(koffi.view(pointer, length)));
}

// --- Pinned memory ---------------------------------------------------------------

const ADDRESS = Symbol('address');

// Small blocks (an OVERLAPPED, a WSABUF, a libuv handle, a ping-pong message) are carved
// out of shared slabs: each koffi.alloc needs its own koffi.view and Buffer, about 900
// bytes of bookkeeping whatever the size, which with many connections each waiting on a
// receive was most of their memory. A slab is never given back to the system; its
// blocks are reused by later blocks of the same size class.
const SLAB_BYTES = 16 * 1024;
const MIN_SLAB_CLASS_SHIFT = 4;
const MAX_SLAB_CLASS_SHIFT = 10;

/** One koffi.alloc shared by blocks of one size class. */
interface Slab {
  readonly pointer: Pointer;
  readonly bytes: Buffer;
}

/** Per size class (16 bytes to 1 KiB, powers of two): free places as slab and offset, and the slab being cut. */
interface SlabClass {
  readonly size: number;
  readonly freeSlabs: Slab[];
  readonly freeOffsets: number[];
  current: Slab | null;
  next: number;
}

const slabClasses: SlabClass[] = [];
for (let shift = MIN_SLAB_CLASS_SHIFT; shift <= MAX_SLAB_CLASS_SHIFT; shift++) {
  slabClasses.push({ size: 1 << shift, freeSlabs: [], freeOffsets: [], current: null, next: SLAB_BYTES });
}

/** The size class for `size` bytes, or null when it gets an allocation of its own. */
function slabClassOf(size: number): SlabClass | null {
  if (size > 1 << MAX_SLAB_CLASS_SHIFT) return null;
  let shift = MIN_SLAB_CLASS_SHIFT;
  while (1 << shift < size) shift++;
  return slabClasses[shift - MIN_SLAB_CLASS_SHIFT]!;
}

/** Counters for tests: slabs allocated, and blocks living in them. */
export const slabStats = { slabs: 0, blocksInUse: 0 };

/**
 * Native memory at a fixed address (koffi.alloc), for anything the OS keeps using
 * after the call returns: OVERLAPPED, WSABUF, AcceptEx buffers, completion entries.
 * `bytes` is a Buffer over the same memory, so reading and writing need no copy.
 * It stays valid until free(), which the owner calls exactly once. Blocks up to 1 KiB
 * share slabs (see above); larger ones are allocations of their own.
 */
export class PinnedMemory {
  readonly size: number;
  readonly bytes: Buffer;
  /** A number naming this block that completion entries report back (its address). */
  readonly key: number;
  readonly [ADDRESS]: Pointer;
  /** The slab it was cut from (and where), or null for an allocation of its own. */
  readonly #slab: Slab | null;
  readonly #offset: number;
  #freed = false;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`pinned memory size must be a positive integer, got ${size}`);
    this.size = size;
    const sizeClass = slabClassOf(size);
    if (sizeClass === null) {
      const pointer = koffi.alloc('uint8_t', size) as Pointer;
      this[ADDRESS] = pointer;
      this.bytes = Buffer.from(koffi.view(pointer, size));
      this.#slab = null;
      this.#offset = 0;
    } else {
      let slab = sizeClass.freeSlabs.pop();
      let offset: number;
      if (slab !== undefined) offset = sizeClass.freeOffsets.pop()!;
      else {
        if (sizeClass.current === null || sizeClass.next + sizeClass.size > SLAB_BYTES) {
          const pointer = koffi.alloc('uint8_t', SLAB_BYTES) as Pointer;
          sizeClass.current = { pointer, bytes: Buffer.from(koffi.view(pointer, SLAB_BYTES)) };
          sizeClass.next = 0;
          slabStats.slabs++;
        }
        slab = sizeClass.current;
        offset = sizeClass.next;
        sizeClass.next += sizeClass.size;
      }
      slabStats.blocksInUse++;
      this[ADDRESS] = (offset === 0 ? slab.pointer : slab.pointer + BigInt(offset)) as Pointer;
      this.bytes = slab.bytes.subarray(offset, offset + size);
      this.#slab = slab;
      this.#offset = offset;
    }
    this.key = Number(this[ADDRESS]);
    this.bytes.fill(0);
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** Releases the memory (a slab's block: for the next block of its size). Idempotent; the owner must be sure the OS is done with it. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (this.#slab === null) {
      koffi.free(this[ADDRESS]);
      return;
    }
    const sizeClass = slabClassOf(this.size)!;
    sizeClass.freeSlabs.push(this.#slab);
    sizeClass.freeOffsets.push(this.#offset);
    slabStats.blocksInUse--;
  }
}

/** The address of `memory[offset]`, for a native call. Only sys/windows calls this. */
export function addressOf(memory: PinnedMemory, offset = 0): Pointer {
  if (memory.freed) throw new Error('internal error: pinned memory used after free');
  // Most calls pass offset 0: skip the two BigInts the sum would allocate.
  return offset === 0 ? memory[ADDRESS] : ((memory[ADDRESS] + BigInt(offset)) as Pointer);
}

/**
 * The address of a JavaScript Buffer's bytes. V8 never moves an ArrayBuffer's backing
 * store, so the address holds while the Buffer is referenced and its ArrayBuffer is not
 * detached: only buffers the package allocated itself and keeps referenced until the
 * completion (receives), or that a stream owns until its write callback (sends), are
 * handed to the OS this way.
 */
export function bufferAddress(buffer: Uint8Array): Pointer {
  return koffi.address(buffer) as Pointer;
}

/**
 * Writes `pointer` as a 64-bit little-endian address at `bytes[at]`. In two 32-bit halves
 * of one Number (x64 user addresses are below 2^47, exact in a double): Buffer's
 * writeBigUInt64LE makes several BigInts per call, and the hot paths point a WSABUF per
 * operation.
 */
export function writePointer(bytes: Buffer, at: number, pointer: Pointer): void {
  const value = Number(pointer);
  const high = Math.floor(value / 0x1_0000_0000);
  bytes.writeUInt32LE(value - high * 0x1_0000_0000, at);
  bytes.writeUInt32LE(high, at + 4);
}

/** Where `pointer` falls inside `memory`, or -1 when it is outside [0, size - length]. */
export function offsetWithin(memory: PinnedMemory, pointer: unknown, length: number): number {
  const value = typeof pointer === 'bigint' ? pointer : BigInt((pointer as number | null) ?? 0);
  if (value === 0n) return -1;
  const at = Number(value - memory[ADDRESS]);
  return at < 0 || at + length > memory.size ? -1 : at;
}
