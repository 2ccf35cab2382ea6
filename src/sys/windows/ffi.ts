// The only module that talks to koffi. It declares every ws2_32, kernel32 and ntdll
// function and struct the package uses, loads them on first use, and hands typed
// functions to the rest of the package. Raw pointers never leave this file: native
// memory is wrapped in PinnedMemory, whose address stays private here.

import koffi from 'koffi';
import type { LibraryHandle } from 'koffi';
import { SOCKET_ERROR } from './constants.ts';

/** A SOCKET or HANDLE value as the rest of the package stores it. */
export type Handle = number;

/** The value koffi hands back for INVALID_SOCKET / INVALID_HANDLE_VALUE once normalised. */
export const INVALID_HANDLE: Handle = -1;

type NativeFunction = ReturnType<LibraryHandle['func']>;

const ADDRESS = Symbol('address');

/**
 * Native memory at a fixed address (koffi.alloc), for anything the OS keeps using
 * after the call returns: OVERLAPPED, WSABUF, AcceptEx buffers, completion entries.
 * `bytes` is a Buffer over the same memory, so reading and writing need no copy.
 * It stays valid until free(), which the owner calls exactly once.
 */
export class PinnedMemory {
  readonly size: number;
  readonly bytes: Buffer;
  /** A number naming this block that completion entries report back (its address). */
  readonly key: number;
  [ADDRESS]: bigint;
  #freed = false;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`pinned memory size must be a positive integer, got ${size}`);
    const pointer = koffi.alloc('uint8_t', size) as bigint;
    this[ADDRESS] = pointer;
    this.size = size;
    this.key = Number(pointer);
    this.bytes = Buffer.from(koffi.view(pointer, size));
    this.bytes.fill(0);
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** Releases the memory. Idempotent; the owner must be sure the OS is done with it. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    koffi.free(this[ADDRESS]);
  }
}

function addressOf(memory: PinnedMemory, offset = 0): bigint {
  if (memory.freed) throw new Error('internal error: pinned memory used after free');
  // Most calls pass offset 0: skip the two BigInts the sum would allocate.
  return offset === 0 ? memory[ADDRESS] : memory[ADDRESS] + BigInt(offset);
}

/** koffi returns uintptr_t as a number when it fits and as a bigint otherwise (~0). */
function normaliseHandle(value: number | bigint): Handle {
  if (typeof value === 'number') return value;
  if (value === 0xffffffffffffffffn) return INVALID_HANDLE;
  if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  throw new Error(`internal error: handle ${value} does not fit in a safe integer`);
}

export function isWindows(): boolean {
  return process.platform === 'win32';
}

interface Ws2 {
  WSAStartup: NativeFunction;
  WSACleanup: NativeFunction;
  WSAGetLastError: NativeFunction;
  WSASocketW: NativeFunction;
  closesocket: NativeFunction;
  bind: NativeFunction;
  listen: NativeFunction;
  accept: NativeFunction;
  connect: NativeFunction;
  send: NativeFunction;
  recv: NativeFunction;
  sendto: NativeFunction;
  recvfrom: NativeFunction;
  shutdown: NativeFunction;
  getsockopt: NativeFunction;
  setsockopt: NativeFunction;
  ioctlsocket: NativeFunction;
  WSAIoctl: NativeFunction;
  WSAIoctlPointer: NativeFunction;
  getsockname: NativeFunction;
  getpeername: NativeFunction;
  WSAPoll: NativeFunction;
  select: NativeFunction;
  GetAddrInfoW: NativeFunction;
  FreeAddrInfoW: NativeFunction;
  WSARecv: NativeFunction;
  WSASend: NativeFunction;
  WSAGetOverlappedResult: NativeFunction;
}

interface Kernel32 {
  FormatMessageW: NativeFunction;
  GetCurrentProcess: NativeFunction;
  GetProcessHandleCount: NativeFunction;
  CreateIoCompletionPort: NativeFunction;
  GetQueuedCompletionStatusEx: NativeFunction;
  PostQueuedCompletionStatus: NativeFunction;
  CancelIoEx: NativeFunction;
  SetFileCompletionNotificationModes: NativeFunction;
  CloseHandle: NativeFunction;
  QueryPerformanceCounter: NativeFunction;
  QueryPerformanceFrequency: NativeFunction;
  GetLastError: NativeFunction;
}

let ws2Table: Ws2 | undefined;
let kernel32Table: Kernel32 | undefined;
let ntdllLibrary: LibraryHandle | null | undefined;

function requireWindows(): void {
  if (!isWindows()) {
    throw new Error(
      `winsock-ffi needs Windows: it calls ws2_32.dll, which ${process.platform} does not have ` +
        '(on Linux, run it with the Windows build of Node.js under Wine, as `npm test` does)',
    );
  }
}

// Declarations, with the C prototypes from the Windows SDK. SOCKET and HANDLE are
// uintptr_t; buffers passed for the length of one call are `void *` (koffi passes a
// Buffer's own memory); pinned memory is passed as its address.
function ws2(): Ws2 {
  if (ws2Table) return ws2Table;
  requireWindows();
  const lib = koffi.load('ws2_32.dll');
  const f = (proto: string): NativeFunction => lib.func(proto);
  ws2Table = {
    WSAStartup: f('int __stdcall WSAStartup(uint16_t wVersionRequested, _Out_ uint8_t *lpWSAData)'),
    WSACleanup: f('int __stdcall WSACleanup()'),
    WSAGetLastError: f('int __stdcall WSAGetLastError()'),
    WSASocketW: f('uintptr_t __stdcall WSASocketW(int af, int type, int protocol, void *lpProtocolInfo, uint32_t g, uint32_t dwFlags)'),
    closesocket: f('int __stdcall closesocket(uintptr_t s)'),
    bind: f('int __stdcall bind(uintptr_t s, void *name, int namelen)'),
    listen: f('int __stdcall listen(uintptr_t s, int backlog)'),
    accept: f('uintptr_t __stdcall accept(uintptr_t s, void *addr, void *addrlen)'),
    connect: f('int __stdcall connect(uintptr_t s, void *name, int namelen)'),
    send: f('int __stdcall send(uintptr_t s, void *buf, int len, int flags)'),
    recv: f('int __stdcall recv(uintptr_t s, void *buf, int len, int flags)'),
    sendto: f('int __stdcall sendto(uintptr_t s, void *buf, int len, int flags, void *to, int tolen)'),
    recvfrom: f('int __stdcall recvfrom(uintptr_t s, void *buf, int len, int flags, void *from, void *fromlen)'),
    shutdown: f('int __stdcall shutdown(uintptr_t s, int how)'),
    getsockopt: f('int __stdcall getsockopt(uintptr_t s, int level, int optname, void *optval, void *optlen)'),
    setsockopt: f('int __stdcall setsockopt(uintptr_t s, int level, int optname, void *optval, int optlen)'),
    ioctlsocket: f('int __stdcall ioctlsocket(uintptr_t s, int32_t cmd, void *argp)'),
    WSAIoctl: f(
      'int __stdcall WSAIoctl(uintptr_t s, uint32_t code, void *inBuf, uint32_t inLen, void *outBuf, uint32_t outLen, void *bytesReturned, void *overlapped, void *completion)',
    ),
    // The same entry point, declared so that the output is read back as a function pointer.
    WSAIoctlPointer: f(
      'int __stdcall WSAIoctl(uintptr_t s, uint32_t code, void *inBuf, uint32_t inLen, _Out_ void **outBuf, uint32_t outLen, void *bytesReturned, void *overlapped, void *completion)',
    ),
    getsockname: f('int __stdcall getsockname(uintptr_t s, void *name, void *namelen)'),
    getpeername: f('int __stdcall getpeername(uintptr_t s, void *name, void *namelen)'),
    WSAPoll: f('int __stdcall WSAPoll(void *fdArray, uint32_t fds, int timeout)'),
    select: f('int __stdcall select(int nfds, void *readfds, void *writefds, void *exceptfds, void *timeout)'),
    GetAddrInfoW: f('int __stdcall GetAddrInfoW(str16 pNodeName, str16 pServiceName, void *pHints, _Out_ void **ppResult)'),
    FreeAddrInfoW: f('void __stdcall FreeAddrInfoW(void *pAddrInfo)'),
    WSARecv: f(
      'int __stdcall WSARecv(uintptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesRecvd, void *lpFlags, void *lpOverlapped, void *lpCompletionRoutine)',
    ),
    WSASend: f(
      'int __stdcall WSASend(uintptr_t s, void *lpBuffers, uint32_t dwBufferCount, void *lpNumberOfBytesSent, uint32_t dwFlags, void *lpOverlapped, void *lpCompletionRoutine)',
    ),
    WSAGetOverlappedResult: f(
      'int __stdcall WSAGetOverlappedResult(uintptr_t s, void *lpOverlapped, _Out_ uint32_t *lpcbTransfer, int fWait, _Out_ uint32_t *lpdwFlags)',
    ),
  };
  return ws2Table;
}

function kernel32(): Kernel32 {
  if (kernel32Table) return kernel32Table;
  requireWindows();
  const lib = koffi.load('kernel32.dll');
  const f = (proto: string): NativeFunction => lib.func(proto);
  kernel32Table = {
    FormatMessageW: f(
      'uint32_t __stdcall FormatMessageW(uint32_t dwFlags, void *lpSource, uint32_t dwMessageId, uint32_t dwLanguageId, void *lpBuffer, uint32_t nSize, void *Arguments)',
    ),
    GetCurrentProcess: f('uintptr_t __stdcall GetCurrentProcess()'),
    GetProcessHandleCount: f('int __stdcall GetProcessHandleCount(uintptr_t hProcess, _Out_ uint32_t *pdwHandleCount)'),
    CreateIoCompletionPort: f(
      'uintptr_t __stdcall CreateIoCompletionPort(uintptr_t FileHandle, uintptr_t ExistingCompletionPort, uintptr_t CompletionKey, uint32_t NumberOfConcurrentThreads)',
    ),
    GetQueuedCompletionStatusEx: f(
      'int __stdcall GetQueuedCompletionStatusEx(uintptr_t CompletionPort, void *lpCompletionPortEntries, uint32_t ulCount, void *ulNumEntriesRemoved, uint32_t dwMilliseconds, int fAlertable)',
    ),
    PostQueuedCompletionStatus: f(
      'int __stdcall PostQueuedCompletionStatus(uintptr_t CompletionPort, uint32_t dwNumberOfBytesTransferred, uintptr_t dwCompletionKey, void *lpOverlapped)',
    ),
    CancelIoEx: f('int __stdcall CancelIoEx(uintptr_t hFile, void *lpOverlapped)'),
    SetFileCompletionNotificationModes: f('int __stdcall SetFileCompletionNotificationModes(uintptr_t FileHandle, uint8_t Flags)'),
    CloseHandle: f('int __stdcall CloseHandle(uintptr_t hObject)'),
    QueryPerformanceCounter: f('int __stdcall QueryPerformanceCounter(void *lpPerformanceCount)'),
    QueryPerformanceFrequency: f('int __stdcall QueryPerformanceFrequency(_Out_ int64_t *lpFrequency)'),
    GetLastError: f('uint32_t __stdcall GetLastError()'),
  };
  return kernel32Table;
}

function ntdll(): LibraryHandle | null {
  if (ntdllLibrary !== undefined) return ntdllLibrary;
  requireWindows();
  try {
    ntdllLibrary = koffi.load('ntdll.dll');
  } catch {
    ntdllLibrary = null;
  }
  return ntdllLibrary;
}

// ---------------------------------------------------------------------------
// Start-up and errors

let started = false;

/** WSAStartup once per process, on first use; WSACleanup when the process exits. */
export function ensureStarted(): void {
  if (started) return;
  const data = Buffer.alloc(512); // WSADATA is 408 bytes on x64
  const rc = ws2().WSAStartup(0x0202, data) as number;
  if (rc !== 0) throw new Error(`WSAStartup failed with Winsock error ${rc}`);
  started = true;
  process.once('exit', () => {
    ws2().WSACleanup();
  });
}

/** WSAGetLastError(): call synchronously right after the failing call. */
export function lastError(): number {
  return ws2().WSAGetLastError() as number;
}

/** GetLastError(), for kernel32 calls. */
export function lastSystemError(): number {
  return kernel32().GetLastError() as number;
}

const messageCache = new Map<number, string>();
const messageBuffer = Buffer.alloc(2048);

/** The system's own text for an error number (FormatMessageW), e.g. 'No connection could be made ...'. */
export function systemMessage(errno: number): string {
  const cached = messageCache.get(errno);
  if (cached !== undefined) return cached;
  let text = '';
  if (isWindows()) {
    const flags = 0x1000 | 0x200; // FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS
    const chars = kernel32().FormatMessageW(flags, null, errno >>> 0, 0, messageBuffer, messageBuffer.length / 2, null) as number;
    text = messageBuffer.toString('utf16le', 0, chars * 2).trim();
  }
  if (text === '') text = `Winsock error ${errno}`;
  messageCache.set(errno, text);
  return text;
}

// ---------------------------------------------------------------------------
// Sockets: each returns what the C function returns (SOCKET_ERROR = -1 on failure);
// the caller reads lastError() at once.

export function wsaSocket(af: number, type: number, protocol: number, flags: number): Handle {
  ensureStarted();
  return normaliseHandle(ws2().WSASocketW(af, type, protocol, null, 0, flags) as number | bigint);
}

export function closeSocket(s: Handle): number {
  return ws2().closesocket(s) as number;
}

export function bind(s: Handle, sockaddr: Uint8Array, length: number): number {
  return ws2().bind(s, sockaddr, length) as number;
}

export function listen(s: Handle, backlog: number): number {
  return ws2().listen(s, backlog) as number;
}

/** accept(); `sockaddr` receives the peer address, `lengthCell` is an int32 in/out. */
export function accept(s: Handle, sockaddr: Uint8Array | null, lengthCell: Int32Array | null): Handle {
  return normaliseHandle(ws2().accept(s, sockaddr, lengthCell) as number | bigint);
}

export function connect(s: Handle, sockaddr: Uint8Array, length: number): number {
  return ws2().connect(s, sockaddr, length) as number;
}

export function send(s: Handle, data: Uint8Array, length: number, flags: number): number {
  return ws2().send(s, data, length, flags) as number;
}

export function recv(s: Handle, buffer: Uint8Array, length: number, flags: number): number {
  return ws2().recv(s, buffer, length, flags) as number;
}

export function sendTo(s: Handle, data: Uint8Array, length: number, flags: number, sockaddr: Uint8Array, sockaddrLength: number): number {
  return ws2().sendto(s, data, length, flags, sockaddr, sockaddrLength) as number;
}

export function recvFrom(s: Handle, buffer: Uint8Array, length: number, flags: number, sockaddr: Uint8Array, lengthCell: Int32Array): number {
  return ws2().recvfrom(s, buffer, length, flags, sockaddr, lengthCell) as number;
}

export function shutdown(s: Handle, how: number): number {
  return ws2().shutdown(s, how) as number;
}

export function getSockOpt(s: Handle, level: number, name: number, value: Uint8Array, lengthCell: Int32Array): number {
  return ws2().getsockopt(s, level, name, value, lengthCell) as number;
}

export function setSockOpt(s: Handle, level: number, name: number, value: Uint8Array | null, length: number): number {
  return ws2().setsockopt(s, level, name, value, length) as number;
}

/** ioctlsocket(); `argument` is the u_long cell the command reads or writes. */
export function ioctlSocket(s: Handle, command: number, argument: Uint32Array): number {
  return ws2().ioctlsocket(s, command | 0, argument) as number;
}

/** WSAIoctl() without overlapped I/O. */
export function wsaIoctl(s: Handle, code: number, input: Uint8Array | null, output: Uint8Array | null, bytesReturned: Uint32Array): number {
  return ws2().WSAIoctl(s, code >>> 0, input, input?.byteLength ?? 0, output, output?.byteLength ?? 0, bytesReturned, null, null) as number;
}

export function getSockName(s: Handle, sockaddr: Uint8Array, lengthCell: Int32Array): number {
  return ws2().getsockname(s, sockaddr, lengthCell) as number;
}

export function getPeerName(s: Handle, sockaddr: Uint8Array, lengthCell: Int32Array): number {
  return ws2().getpeername(s, sockaddr, lengthCell) as number;
}

/** WSAPoll over an array of WSAPOLLFD records (16 bytes each: SOCKET, events, revents). */
export function wsaPoll(records: Uint8Array, count: number, timeoutMs: number): number {
  return ws2().WSAPoll(records, count, timeoutMs) as number;
}

/** select(); fd_set and timeval are laid out by the caller (u_int count + SOCKET[64]; two longs). */
export function select(readSet: Uint8Array | null, writeSet: Uint8Array | null, exceptSet: Uint8Array | null, timeval: Int32Array | null): number {
  return ws2().select(0, readSet, writeSet, exceptSet, timeval) as number;
}

/**
 * GetAddrInfoW(host) for one family (AF_INET, AF_INET6 or AF_UNSPEC): returns the
 * SOCKADDR bytes of every answer, in the order the resolver gave them, or throws
 * the resolver's error number (it does not use WSAGetLastError).
 */
export function getAddrInfo(host: string, family: number, socketType: number): { errno: number; addresses: Buffer[] } {
  ensureStarted();
  // ADDRINFOW on x64: int flags, family, socktype, protocol; size_t addrlen;
  // wchar_t *canonname; sockaddr *addr; ADDRINFOW *next. 48 bytes.
  const hints = Buffer.alloc(48);
  hints.writeInt32LE(family, 4);
  hints.writeInt32LE(socketType, 8);
  const out: unknown[] = [null];
  const errno = ws2().GetAddrInfoW(host, null, hints, out) as number;
  if (errno !== 0) return { errno, addresses: [] };
  const head = out[0];
  const addresses: Buffer[] = [];
  try {
    let node = head;
    while (node !== null && node !== undefined && node !== 0n) {
      const record = Buffer.from(koffi.view(node, 48));
      const addrLength = Number(record.readBigUInt64LE(16));
      const addrPointer = record.readBigUInt64LE(32);
      if (addrPointer !== 0n && addrLength > 0) addresses.push(Buffer.from(Buffer.from(koffi.view(addrPointer, addrLength))));
      const next = record.readBigUInt64LE(40);
      node = next === 0n ? null : next;
    }
  } finally {
    ws2().FreeAddrInfoW(head);
  }
  return { errno: 0, addresses };
}

// ---------------------------------------------------------------------------
// Overlapped I/O and completion ports. OVERLAPPED, WSABUF and data buffers are
// PinnedMemory: the OS writes to them after the call returns.

/** Reads a function pointer with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER or ..._MULTIPLE_...). */
export function extensionFunction(s: Handle, code: number, guid: Uint8Array, prototype: string): { errno: number; fn: NativeFunction | null } {
  const out: unknown[] = [null];
  const bytes = new Uint32Array(1);
  const rc = ws2().WSAIoctlPointer(s, code >>> 0, guid, guid.byteLength, out, 8, bytes, null, null) as number;
  if (rc === SOCKET_ERROR) return { errno: lastError(), fn: null };
  return { errno: 0, fn: koffi.decode(out[0], koffi.proto(prototype)) as NativeFunction };
}

/** Calls a function obtained by extensionFunction, replacing PinnedMemory arguments by their addresses. */
export function callExtension(fn: NativeFunction, ...args: unknown[]): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg instanceof PinnedMemory) args[i] = addressOf(arg);
    else if (Array.isArray(arg) && arg[0] instanceof PinnedMemory) args[i] = addressOf(arg[0], arg[1] as number);
  }
  return fn(...args) as number;
}

export function wsaRecv(s: Handle, wsabufs: PinnedMemory, count: number, flagsCell: PinnedMemory, overlapped: PinnedMemory): number {
  return ws2().WSARecv(s, addressOf(wsabufs), count, null, addressOf(flagsCell), addressOf(overlapped), null) as number;
}

export function wsaSend(s: Handle, wsabufs: PinnedMemory, count: number, overlapped: PinnedMemory): number {
  return ws2().WSASend(s, addressOf(wsabufs), count, null, 0, addressOf(overlapped), null) as number;
}

/** Fills a WSABUF (u_long len; char *buf) at `offset` of `wsabufs` to point at `data[dataOffset, +length)`. */
export function setWsaBuf(wsabufs: PinnedMemory, offset: number, data: PinnedMemory, dataOffset: number, length: number): void {
  wsabufs.bytes.writeUInt32LE(length, offset);
  wsabufs.bytes.writeBigUInt64LE(addressOf(data, dataOffset), offset + 8);
}

/** The Winsock error of a finished overlapped operation (0 when it succeeded). */
export function overlappedError(s: Handle, overlapped: PinnedMemory): number {
  const transferred = new Uint32Array(1);
  const flags = new Uint32Array(1);
  const ok = ws2().WSAGetOverlappedResult(s, addressOf(overlapped), transferred, 0, flags) as number;
  return ok ? 0 : lastError();
}

export function createIoCompletionPort(file: Handle, existing: Handle, key: number, threads: number): Handle {
  const result = normaliseHandle(kernel32().CreateIoCompletionPort(file === INVALID_HANDLE ? 0xffffffffffffffffn : file, existing, key, threads) as number | bigint);
  return result === 0 ? INVALID_HANDLE : result;
}

/** GetQueuedCompletionStatusEx into `entries` (OVERLAPPED_ENTRY, 32 bytes each); `removed` gets the count. */
export function getQueuedCompletionStatusEx(port: Handle, entries: PinnedMemory, count: number, removed: PinnedMemory, timeoutMs: number): number {
  return kernel32().GetQueuedCompletionStatusEx(port, addressOf(entries), count, addressOf(removed), timeoutMs >>> 0, 0) as number;
}

/** The same call on a koffi worker thread, so the event loop stays free; `done` gets the BOOL result. */
export function getQueuedCompletionStatusExAsync(
  port: Handle,
  entries: PinnedMemory,
  count: number,
  removed: PinnedMemory,
  timeoutMs: number,
  done: (error: unknown, ok: number) => void,
): void {
  kernel32().GetQueuedCompletionStatusEx.async(port, addressOf(entries), count, addressOf(removed), timeoutMs >>> 0, 0, done);
}

export function postQueuedCompletionStatus(port: Handle, bytes: number, key: number, overlapped: PinnedMemory | null): number {
  return kernel32().PostQueuedCompletionStatus(port, bytes, key, overlapped === null ? null : addressOf(overlapped)) as number;
}

export function cancelIoEx(file: Handle, overlapped: PinnedMemory | null): number {
  return kernel32().CancelIoEx(file, overlapped === null ? null : addressOf(overlapped)) as number;
}

export function setFileCompletionNotificationModes(file: Handle, flags: number): number {
  return kernel32().SetFileCompletionNotificationModes(file, flags) as number;
}

export function closeHandle(handle: Handle): number {
  return kernel32().CloseHandle(handle) as number;
}

// ---------------------------------------------------------------------------
// Process and machine facts

/** QueryPerformanceCounter into an 8-byte cell (no allocation per call). */
export function queryPerformanceCounter(cell: BigInt64Array): void {
  kernel32().QueryPerformanceCounter(cell);
}

export function queryPerformanceFrequency(): bigint {
  const out = [0n];
  kernel32().QueryPerformanceFrequency(out);
  return BigInt(out[0] as bigint | number);
}

/** GetProcessHandleCount for this process; Wine 8 answers 0 (a stub). */
export function processHandleCount(): number {
  const out = [0];
  const ok = kernel32().GetProcessHandleCount(kernel32().GetCurrentProcess(), out) as number;
  return ok ? (out[0] as number) : -1;
}

/** Wine's version string when running under Wine (ntdll exports wine_get_version), else null. */
export function wineVersion(): string | null {
  const lib = ntdll();
  if (lib === null) return null;
  try {
    const fn = lib.func('str __cdecl wine_get_version()');
    return fn() as string;
  } catch {
    return null;
  }
}

/** The Windows version the OS reports (RtlGetVersion does not lie about manifests). */
export function windowsVersion(): { major: number; minor: number; build: number } {
  const lib = ntdll();
  // RTL_OSVERSIONINFOW: ULONG size, major, minor, build, platform; WCHAR csd[128]. 276 bytes.
  const info = Buffer.alloc(276);
  info.writeUInt32LE(276, 0);
  if (lib !== null) {
    const RtlGetVersion = lib.func('int32_t __stdcall RtlGetVersion(void *info)');
    RtlGetVersion(info);
  }
  return { major: info.readUInt32LE(4), minor: info.readUInt32LE(8), build: info.readUInt32LE(12) };
}

// ---------------------------------------------------------------------------
// Completion-port helpers (src/iocp)

/**
 * GetAcceptExSockaddrs over an AcceptEx output buffer held in `block` from `offset`:
 * where, inside `block`, the local and remote SOCKADDRs were written (offsets and
 * lengths), so that the caller reads them from `block.bytes` without seeing a pointer.
 */
export function acceptExSockaddrs(
  fn: NativeFunction,
  block: PinnedMemory,
  offset: number,
  localLength: number,
  remoteLength: number,
): { localOffset: number; localLength: number; remoteOffset: number; remoteLength: number } {
  const localPointer: unknown[] = [null];
  const remotePointer: unknown[] = [null];
  const localSize = [0];
  const remoteSize = [0];
  const base = addressOf(block, offset);
  fn(base, 0, localLength, remoteLength, localPointer, localSize, remotePointer, remoteSize);
  const start = addressOf(block);
  const within = (pointer: unknown, size: number): number => {
    const value = typeof pointer === 'bigint' ? pointer : BigInt((pointer as number | null) ?? 0);
    const at = Number(value - start);
    if (value === 0n || at < 0 || at + size > block.size) throw new Error('internal error: GetAcceptExSockaddrs pointed outside its buffer');
    return at;
  };
  return {
    localOffset: within(localPointer[0], localSize[0] as number),
    localLength: localSize[0] as number,
    remoteOffset: within(remotePointer[0], remoteSize[0] as number),
    remoteLength: remoteSize[0] as number,
  };
}

/** The opaque type of a function obtained by extensionFunction (no koffi type leaks out). */
export type ExtensionFunction = NativeFunction;
