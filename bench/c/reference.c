/*
 * winsock-ffi's C reference for `npm run bench`: what plain C on Winsock does on this
 * machine, so that the library's rows can be read as ratios of it.
 *
 *   ping MODE   round trips of SIZE-byte messages between two single-threaded
 *               processes over loopback TCP (TCP_NODELAY on both ends). This process
 *               listens, starts a copy of itself in `echo` mode, which connects and
 *               sends every message straight back. The first 8 bytes of each message
 *               carry this process's QueryPerformanceCounter value when it was sent;
 *               the round trip is measured when the echo has been read in full.
 *   bulk        one-way throughput: a copy of this program in `bulk-send` mode writes
 *               BYTES in WRITE_SIZE application writes; this process reads and counts
 *               them and reports MiB/s.
 *   bulk-iocp   the same transfer with overlapped WSASend/WSARecv on a completion port
 *               (skip-on-success, one operation in flight per side, pending ones
 *               collected with GetQueuedCompletionStatusEx INFINITE): the floor of the
 *               library's `promise` throughput row, which moves data the same way.
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -Wall -o reference.exe reference.c -lws2_32
 * Usage: reference.exe --help (the text is `usage_text` below; bench/c-reference.ts
 * parses the output described there).
 *
 * Ping-pong modes are a table of `transport_ops` (how to set up a connected socket, send
 * one message, receive one message). `blocking` and `spin` use send/recv; `rio` uses
 * Registered I/O, found at run time through WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_
 * POINTER, WSAID_MULTIPLE_RIO), and is reported unavailable where that ioctl fails (Wine,
 * Windows 7). `iocp-wait` and `iocp-poll` use overlapped WSASend/WSARecv on a completion
 * port with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (so an operation that completes within its
 * call costs no dequeue), completions taken one at a time with GetQueuedCompletionStatusEx,
 * INFINITE (the thread sleeps) or 0 in a busy loop: what bench/modes/iocp.ts does with the
 * library's CompletionPort (wait(INFINITE, 1) / poll(1), skip mode on), so that
 * iocp-wait / c-iocp-wait measures the library's own cost. A further mode is one more
 * table entry.
 *
 * Exit codes: 0 measured, 1 error (the message names the call and its WSAGetLastError()
 * code), 2 bad command line, 3 unavailable on this system (the reason is printed in the
 * mode's result format).
 */
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <mstcpip.h>
#include <windows.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_MEASURED = 0, EXIT_ERROR = 1, EXIT_USAGE = 2, EXIT_UNAVAILABLE = 3 };

/* ---- Declarations MinGW-w64's headers lack (Registered I/O, Windows 8+) -------------- */

#ifndef SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER
#define SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER _WSAIORW(IOC_WS2, 36)
#endif
#ifndef SIO_LOOPBACK_FAST_PATH
#define SIO_LOOPBACK_FAST_PATH _WSAIOW(IOC_VENDOR, 16)
#endif
#ifndef WSA_FLAG_NO_HANDLE_INHERIT
#define WSA_FLAG_NO_HANDLE_INHERIT 0x80
#endif
#ifndef WSA_FLAG_REGISTERED_IO
#define WSA_FLAG_REGISTERED_IO 0x100
#endif

static const GUID WSAID_MULTIPLE_RIO_ = {0x8509e081, 0x96dd, 0x4005, {0xb1, 0x65, 0x9e, 0x2e, 0xe8, 0xc7, 0x9e, 0x3f}};

typedef struct rio_buffer_id_ *RIO_BUFFERID_;
typedef struct rio_cq_ *RIO_CQ_;
typedef struct rio_rq_ *RIO_RQ_;
#define RIO_INVALID_BUFFERID_ ((RIO_BUFFERID_)(ULONG_PTR)0xFFFFFFFF)
#define RIO_INVALID_CQ_ ((RIO_CQ_)0)
#define RIO_INVALID_RQ_ ((RIO_RQ_)0)
#define RIO_CORRUPT_CQ_ 0xFFFFFFFF

typedef struct {
  RIO_BUFFERID_ BufferId;
  ULONG Offset;
  ULONG Length;
} RIO_BUF_;

typedef struct {
  LONG Status;
  ULONG BytesTransferred;
  ULONGLONG SocketContext;
  ULONGLONG RequestContext;
} RIORESULT_;

/* Same layout as RIO_EXTENSION_FUNCTION_TABLE; the entries not used here stay untyped. */
typedef struct {
  DWORD cbSize;
  BOOL(PASCAL *RIOReceive)(RIO_RQ_ rq, RIO_BUF_ *data, ULONG count, DWORD flags, PVOID context);
  void *RIOReceiveEx;
  BOOL(PASCAL *RIOSend)(RIO_RQ_ rq, RIO_BUF_ *data, ULONG count, DWORD flags, PVOID context);
  void *RIOSendEx;
  void(PASCAL *RIOCloseCompletionQueue)(RIO_CQ_ cq);
  RIO_CQ_(PASCAL *RIOCreateCompletionQueue)(DWORD size, void *notification);
  RIO_RQ_(PASCAL *RIOCreateRequestQueue)(SOCKET s, ULONG max_receives, ULONG max_receive_buffers, ULONG max_sends,
                                        ULONG max_send_buffers, RIO_CQ_ receive_cq, RIO_CQ_ send_cq, PVOID context);
  ULONG(PASCAL *RIODequeueCompletion)(RIO_CQ_ cq, RIORESULT_ *results, ULONG count);
  void(PASCAL *RIODeregisterBuffer)(RIO_BUFFERID_ id);
  void *RIONotify;
  RIO_BUFFERID_(PASCAL *RIORegisterBuffer)(PCHAR buffer, DWORD length);
  void *RIOResizeCompletionQueue;
  void *RIOResizeRequestQueue;
} rio_table;

/* ---- Errors ------------------------------------------------------------------------- */

static const char *g_role = "reference"; /* "reference[echo]" etc. in the started copy */
static HANDLE g_peer = NULL;             /* the copy this process started, if any */

static const char *wsa_name(int code) {
  switch (code) {
    case WSAEINTR: return "WSAEINTR";
    case WSAEFAULT: return "WSAEFAULT";
    case WSAEINVAL: return "WSAEINVAL";
    case WSAEWOULDBLOCK: return "WSAEWOULDBLOCK";
    case WSAENOTSOCK: return "WSAENOTSOCK";
    case WSAENOPROTOOPT: return "WSAENOPROTOOPT";
    case WSAEPROTONOSUPPORT: return "WSAEPROTONOSUPPORT";
    case WSAEOPNOTSUPP: return "WSAEOPNOTSUPP";
    case WSAEAFNOSUPPORT: return "WSAEAFNOSUPPORT";
    case WSAEADDRINUSE: return "WSAEADDRINUSE";
    case WSAECONNABORTED: return "WSAECONNABORTED";
    case WSAECONNRESET: return "WSAECONNRESET";
    case WSAENOBUFS: return "WSAENOBUFS";
    case WSAENOTCONN: return "WSAENOTCONN";
    case WSAETIMEDOUT: return "WSAETIMEDOUT";
    case WSAECONNREFUSED: return "WSAECONNREFUSED";
    case WSANOTINITIALISED: return "WSANOTINITIALISED";
    default: return NULL;
  }
}

/* "10045 WSAEOPNOTSUPP: The attempted operation is not supported for the type of object referenced." */
static void describe_error(int code, char *out, size_t cap) {
  char text[256] = "";
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)code, 0, text,
                           sizeof text, NULL);
  while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
  const char *name = wsa_name(code);
  snprintf(out, cap, "%d%s%s%s%s", code, name ? " " : "", name ? name : "", n ? ": " : "", text);
}

static void stop_peer(void) {
  if (g_peer != NULL && WaitForSingleObject(g_peer, 0) == WAIT_TIMEOUT) TerminateProcess(g_peer, EXIT_ERROR);
}

static void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fflush(stdout);
  fprintf(stderr, "%s: error: ", g_role);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  stop_peer();
  exit(EXIT_ERROR);
}

/* Call right after the failing Winsock call: reads WSAGetLastError() first. */
static void fail_wsa(const char *what) {
  int code = WSAGetLastError();
  char text[320];
  describe_error(code, text, sizeof text);
  fail("%s failed: %s", what, text);
}

static void usage_error(const char *format, ...);

/* ---- Time --------------------------------------------------------------------------- */

static LARGE_INTEGER g_frequency;

static LONGLONG ticks(void) {
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  return now.QuadPart;
}

static double ticks_to_us(LONGLONG t) { return (double)t * 1e6 / (double)g_frequency.QuadPart; }

static DWORD WINAPI watchdog(LPVOID seconds) {
  Sleep((DWORD)(ULONG_PTR)seconds * 1000);
  fflush(stdout);
  fprintf(stderr, "%s: error: did not finish within --timeout %lu s\n", g_role, (unsigned long)(ULONG_PTR)seconds);
  fflush(stderr);
  stop_peer();
  ExitProcess(EXIT_ERROR);
  return 0;
}

/* ---- Sockets ------------------------------------------------------------------------ */

/* A TCP socket the started copy does not inherit. */
static SOCKET new_socket(DWORD extra_flags, const char *what) {
  SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                        WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT | extra_flags);
  if (s == INVALID_SOCKET) fail_wsa(what);
  return s;
}

/*
 * SIO_LOOPBACK_FAST_PATH, before bind/connect (an accepted socket inherits it from its
 * listener). Returns 0, or 1 with the reason in `why` where the system lacks it
 * (WSAEOPNOTSUPP: Windows 7, Wine); any other failure is an error.
 */
static int enable_fast_path(SOCKET s, char *why, size_t cap) {
  int on = 1;
  DWORD returned = 0;
  if (WSAIoctl(s, SIO_LOOPBACK_FAST_PATH, &on, sizeof on, NULL, 0, &returned, NULL, NULL) == 0) return 0;
  int code = WSAGetLastError();
  if (code != WSAEOPNOTSUPP) {
    WSASetLastError(code);
    fail_wsa("WSAIoctl(SIO_LOOPBACK_FAST_PATH)");
  }
  char text[320];
  describe_error(code, text, sizeof text);
  snprintf(why, cap, "SIO_LOOPBACK_FAST_PATH: %s", text);
  return 1;
}

static void set_nodelay(SOCKET s) {
  int on = 1;
  if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&on, sizeof on) != 0) fail_wsa("setsockopt(TCP_NODELAY)");
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons((u_short)port);
  return address;
}

/* Binds `s` to 127.0.0.1 on a free port, listens, returns the port. */
static int listen_on_loopback(SOCKET s) {
  struct sockaddr_in address = loopback(0);
  int length = sizeof address;
  if (bind(s, (struct sockaddr *)&address, sizeof address) != 0) fail_wsa("bind(127.0.0.1:0)");
  if (listen(s, 1) != 0) fail_wsa("listen");
  if (getsockname(s, (struct sockaddr *)&address, &length) != 0) fail_wsa("getsockname");
  return ntohs(address.sin_port);
}

static void connect_to_loopback(SOCKET s, int port) {
  struct sockaddr_in address = loopback(port);
  if (connect(s, (struct sockaddr *)&address, sizeof address) != 0) fail_wsa("connect(127.0.0.1)");
}

/* Starts this program again with `arguments`, its stdout/stderr going where ours go. */
static void start_peer(const char *arguments) {
  char exe[MAX_PATH * 2];
  DWORD length = GetModuleFileNameA(NULL, exe, sizeof exe);
  if (length == 0 || length >= sizeof exe) fail("GetModuleFileNameA failed: %lu", GetLastError());
  char command[sizeof exe + 512];
  snprintf(command, sizeof command, "\"%s\" %s", exe, arguments);

  STARTUPINFOA startup;
  memset(&startup, 0, sizeof startup);
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  HANDLE self = GetCurrentProcess();
  HANDLE standard[3] = {GetStdHandle(STD_INPUT_HANDLE), GetStdHandle(STD_OUTPUT_HANDLE), GetStdHandle(STD_ERROR_HANDLE)};
  HANDLE inherited[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3; i++) {
    if (standard[i] != NULL && standard[i] != INVALID_HANDLE_VALUE &&
        !DuplicateHandle(self, standard[i], self, &inherited[i], 0, TRUE, DUPLICATE_SAME_ACCESS))
      inherited[i] = NULL;
  }
  startup.hStdInput = inherited[0];
  startup.hStdOutput = inherited[1];
  startup.hStdError = inherited[2];
  fflush(stdout);
  fflush(stderr);
  PROCESS_INFORMATION process;
  BOOL started = CreateProcessA(NULL, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &process);
  DWORD error = GetLastError();
  for (int i = 0; i < 3; i++)
    if (inherited[i] != NULL) CloseHandle(inherited[i]);
  if (!started) fail("CreateProcessA(%s) failed: %lu", command, error);
  CloseHandle(process.hThread);
  g_peer = process.hProcess;
}

/*
 * Accepts the started copy's connection with AcceptEx into a socket made here with
 * `socket_flags` (so that a RIO socket is surely one made with WSA_FLAG_REGISTERED_IO),
 * waiting on the peer process too: if it dies before connecting, that is the error.
 * With `fast_path`, SIO_LOOPBACK_FAST_PATH is set on this socket as on the listener.
 */
static SOCKET accept_peer(SOCKET listener, DWORD socket_flags, int fast_path) {
  LPFN_ACCEPTEX accept_ex = NULL;
  GUID accept_ex_id = WSAID_ACCEPTEX;
  DWORD bytes = 0;
  if (WSAIoctl(listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_ex_id, sizeof accept_ex_id, &accept_ex,
               sizeof accept_ex, &bytes, NULL, NULL) != 0)
    fail_wsa("WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER, WSAID_ACCEPTEX)");
  SOCKET s = new_socket(socket_flags, "WSASocket(accepting socket)");
  char why[512];
  if (fast_path && enable_fast_path(s, why, sizeof why)) fail("%s (accepting socket)", why);

  enum { ADDRESS_SPACE = sizeof(struct sockaddr_in) + 16 };
  char addresses[2 * ADDRESS_SPACE];
  OVERLAPPED overlapped;
  memset(&overlapped, 0, sizeof overlapped);
  overlapped.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (overlapped.hEvent == NULL) fail("CreateEventW failed: %lu", GetLastError());
  if (!accept_ex(listener, s, addresses, 0, ADDRESS_SPACE, ADDRESS_SPACE, &bytes, &overlapped)) {
    if (WSAGetLastError() != ERROR_IO_PENDING) fail_wsa("AcceptEx");
    HANDLE waits[2] = {overlapped.hEvent, g_peer};
    DWORD which = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
    if (which == WAIT_OBJECT_0 + 1) {
      DWORD code = 0;
      GetExitCodeProcess(g_peer, &code);
      fail("the peer process exited with code %lu before it connected", code);
    }
    if (which != WAIT_OBJECT_0) fail("WaitForMultipleObjects(AcceptEx, peer) failed: %lu", GetLastError());
    DWORD flags = 0;
    if (!WSAGetOverlappedResult(listener, &overlapped, &bytes, FALSE, &flags)) fail_wsa("AcceptEx (completion)");
  }
  CloseHandle(overlapped.hEvent);
  if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&listener, sizeof listener) != 0)
    fail_wsa("setsockopt(SO_UPDATE_ACCEPT_CONTEXT)");
  return s;
}

/* Waits for the started copy to exit (it does once we close); an error if it failed. */
static void join_peer(void) {
  if (WaitForSingleObject(g_peer, 10 * 1000) != WAIT_OBJECT_0) fail("the peer process did not exit within 10 s");
  DWORD code = 0;
  GetExitCodeProcess(g_peer, &code);
  CloseHandle(g_peer);
  g_peer = NULL;
  if (code != EXIT_MEASURED) fail("the peer process exited with code %lu", code);
}

/* ---- Ping-pong transports ----------------------------------------------------------- */

typedef struct transport transport;

typedef struct {
  const char *name;  /* on the command line */
  const char *about; /* in the usage text */
  DWORD socket_flags; /* extra WSASocket flags both sockets need */
  /* Whether this system has what the mode needs, tried on a fresh socket made with
     socket_flags: 0, or 1 with the reason in `why`. NULL: always there. */
  int (*probe)(SOCKET s, char *why, size_t cap);
  /* Connected socket: set up t->send_buffer / t->receive_buffer of t->size bytes each. */
  void (*attach)(transport *t);
  /* Sends t->size bytes of t->send_buffer (errors end the program). */
  void (*send_message)(transport *t);
  /* Receives exactly t->size bytes into t->receive_buffer: 1, or 0 when the peer closed
     the connection before the first byte of the message (a close mid-message is an error). */
  int (*receive_message)(transport *t);
  /* Before closesocket(), optional: waits for sends still in flight. */
  void (*drain)(transport *t);
  /* After closesocket(): frees what attach set up. */
  void (*detach)(transport *t);
} transport_ops;

struct transport {
  const transport_ops *ops;
  SOCKET s;
  int size;
  char *send_buffer;
  char *receive_buffer;
  /* rio */
  RIO_CQ_ cq;
  RIO_RQ_ rq;
  RIO_BUFFERID_ buffer_id;
  int sends_pending;
  /* iocp-wait / iocp-poll */
  HANDLE port;
  OVERLAPPED send_overlapped;
  OVERLAPPED receive_overlapped;
  int send_pending;
  int receive_pending;
  DWORD received; /* bytes of the last receive, once it completed */
};

/* blocking / spin: send() and recv(); spin sets FIONBIO and retries on WSAEWOULDBLOCK. */

static int is_spin(const transport *t) { return strcmp(t->ops->name, "spin") == 0; }

static void plain_attach(transport *t) {
  t->send_buffer = calloc(1, (size_t)t->size);
  t->receive_buffer = calloc(1, (size_t)t->size);
  if (t->send_buffer == NULL || t->receive_buffer == NULL) fail("out of memory");
  if (is_spin(t)) {
    u_long on = 1;
    if (ioctlsocket(t->s, FIONBIO, &on) != 0) fail_wsa("ioctlsocket(FIONBIO)");
  }
}

static void plain_send(transport *t) {
  int spin = is_spin(t);
  for (int sent = 0; sent < t->size;) {
    int n = send(t->s, t->send_buffer + sent, t->size - sent, 0);
    if (n == SOCKET_ERROR) {
      if (spin && WSAGetLastError() == WSAEWOULDBLOCK) continue;
      fail_wsa("send");
    }
    sent += n;
  }
}

static int plain_receive(transport *t) {
  int spin = is_spin(t);
  for (int got = 0; got < t->size;) {
    int n = recv(t->s, t->receive_buffer + got, t->size - got, 0);
    if (n == SOCKET_ERROR) {
      if (spin && WSAGetLastError() == WSAEWOULDBLOCK) continue;
      fail_wsa("recv");
    }
    if (n == 0) {
      if (got == 0) return 0;
      fail("the peer closed the connection after %d of %d bytes of a message", got, t->size);
    }
    got += n;
  }
  return 1;
}

static void plain_detach(transport *t) {
  free(t->send_buffer);
  free(t->receive_buffer);
}

/*
 * rio: Registered I/O with a polled completion queue (RIODequeueCompletion in a busy
 * loop, no notification), one request queue per socket, one registered buffer holding
 * the send half and the receive half.
 */

static rio_table g_rio;
enum { RIO_SEND = 1, RIO_RECEIVE = 2 };

static int rio_probe(SOCKET s, char *why, size_t cap) {
  GUID id = WSAID_MULTIPLE_RIO_;
  DWORD returned = 0;
  memset(&g_rio, 0, sizeof g_rio);
  g_rio.cbSize = sizeof g_rio;
  if (WSAIoctl(s, SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &g_rio, sizeof g_rio, &returned, NULL,
               NULL) == 0)
    return 0;
  char text[320];
  describe_error(WSAGetLastError(), text, sizeof text);
  snprintf(why, cap, "WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) failed: %s", text);
  return 1;
}

static void rio_attach(transport *t) {
  DWORD length = 2 * (DWORD)t->size;
  char *memory = VirtualAlloc(NULL, length, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (memory == NULL) fail("VirtualAlloc(%lu) failed: %lu", (unsigned long)length, GetLastError());
  t->send_buffer = memory;
  t->receive_buffer = memory + t->size;
  t->buffer_id = g_rio.RIORegisterBuffer(memory, length);
  if (t->buffer_id == RIO_INVALID_BUFFERID_) fail_wsa("RIORegisterBuffer");
  t->cq = g_rio.RIOCreateCompletionQueue(8, NULL);
  if (t->cq == RIO_INVALID_CQ_) fail_wsa("RIOCreateCompletionQueue");
  t->rq = g_rio.RIOCreateRequestQueue(t->s, 1, 1, 1, 1, t->cq, t->cq, NULL);
  if (t->rq == RIO_INVALID_RQ_) fail_wsa("RIOCreateRequestQueue");
  t->sends_pending = 0;
}

/* Dequeues completions: until a receive completes (its byte count is returned), or
   until no send is pending (returns -1). */
static long rio_poll(transport *t, int until_receive) {
  RIORESULT_ results[4];
  for (;;) {
    ULONG n = g_rio.RIODequeueCompletion(t->cq, results, 4);
    if (n == RIO_CORRUPT_CQ_) fail("RIODequeueCompletion: the completion queue is corrupt");
    long received = -1;
    for (ULONG i = 0; i < n; i++) {
      if (results[i].Status != 0) {
        WSASetLastError(results[i].Status);
        fail_wsa(results[i].RequestContext == RIO_SEND ? "RIOSend (completion)" : "RIOReceive (completion)");
      }
      if (results[i].RequestContext == RIO_SEND) {
        if (results[i].BytesTransferred != (ULONG)t->size)
          fail("RIOSend completed %lu of %d bytes", results[i].BytesTransferred, t->size);
        t->sends_pending--;
      } else {
        received = (long)results[i].BytesTransferred;
      }
    }
    if (until_receive ? received >= 0 : t->sends_pending == 0) return received;
  }
}

static void rio_send(transport *t) {
  /* The send half is reused: the previous send must have completed (it has, in practice,
     once its echo came back, but its completion may still be queued). */
  if (t->sends_pending > 0) rio_poll(t, 0);
  RIO_BUF_ buffer = {t->buffer_id, 0, (ULONG)t->size};
  if (!g_rio.RIOSend(t->rq, &buffer, 1, 0, (PVOID)(ULONG_PTR)RIO_SEND)) fail_wsa("RIOSend");
  t->sends_pending++;
}

static int rio_receive(transport *t) {
  for (int got = 0; got < t->size;) {
    RIO_BUF_ buffer = {t->buffer_id, (ULONG)(t->size + got), (ULONG)(t->size - got)};
    if (!g_rio.RIOReceive(t->rq, &buffer, 1, 0, (PVOID)(ULONG_PTR)RIO_RECEIVE)) fail_wsa("RIOReceive");
    long n = rio_poll(t, 1);
    if (n == 0) {
      if (got == 0) return 0;
      fail("the peer closed the connection after %d of %d bytes of a message", got, t->size);
    }
    got += (int)n;
  }
  return 1;
}

static void rio_drain(transport *t) {
  if (t->sends_pending > 0) rio_poll(t, 0);
}

static void rio_detach(transport *t) {
  /* The socket (and so its request queue) is closed by now. */
  g_rio.RIOCloseCompletionQueue(t->cq);
  g_rio.RIODeregisterBuffer(t->buffer_id);
  VirtualFree(t->send_buffer, 0, MEM_RELEASE);
}

/*
 * iocp-wait / iocp-poll: overlapped WSASend/WSARecv on a completion port of the socket's
 * own, as bench/modes/iocp.ts does with the library's CompletionPort, so that the ratio
 * iocp-wait / c-iocp-wait compares like with like:
 *
 * - The socket is in FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode (and only that flag, as
 *   the library sets it): an operation that completes within its call queues no packet
 *   and costs no dequeue. On loopback a send nearly always does; a receive does when the
 *   echo is already there.
 * - One receive outstanding at a time, of what the message still lacks; a send is issued
 *   and not waited for (its completion, if it pends, is taken with the next receive's).
 * - Completions are taken one per call, GetQueuedCompletionStatusEx(count 1), as the
 *   library's rows do (port.wait(INFINITE, 1) / port.poll(1)): iocp-wait with an INFINITE
 *   timeout (the thread sleeps in the kernel, Wine's server under Wine), iocp-poll with a
 *   timeout of 0 called again at once while it dequeues nothing (busy).
 *
 * So a round trip costs each end one WSASend, one WSARecv and (when the receive pends)
 * one dequeue, the calls the library makes; what the library adds is its own JavaScript
 * and FFI cost per call.
 */

static int is_iocp_poll(const transport *t) { return strcmp(t->ops->name, "iocp-poll") == 0; }

/*
 * The bytes an overlapped WSASend/WSARecv moved when it returned 0 (done within the
 * call): taken from the OVERLAPPED (InternalHigh), as the library does, not from the
 * call's lpNumberOfBytes argument (passed NULL): Wine 8 can return 0 without filling
 * that in (seen with 64 KiB transfers), and Microsoft advises NULL with an OVERLAPPED.
 */
static DWORD overlapped_done(const OVERLAPPED *overlapped) { return (DWORD)overlapped->InternalHigh; }

/* Bytes a completed overlapped operation moved; its error ends the program. */
static DWORD overlapped_bytes(transport *t, OVERLAPPED *overlapped, DWORD bytes, const char *what) {
  /* Internal holds the operation's NTSTATUS: 0 (STATUS_SUCCESS) or the failure, which
     WSAGetOverlappedResult turns into its Winsock code. */
  if (overlapped->Internal == 0) return bytes;
  DWORD flags = 0;
  if (!WSAGetOverlappedResult(t->s, overlapped, &bytes, FALSE, &flags)) fail_wsa(what);
  return bytes;
}

static void iocp_attach(transport *t) {
  t->send_buffer = calloc(1, (size_t)t->size);
  t->receive_buffer = calloc(1, (size_t)t->size);
  if (t->send_buffer == NULL || t->receive_buffer == NULL) fail("out of memory");
  t->port = CreateIoCompletionPort((HANDLE)t->s, NULL, 0, 1);
  if (t->port == NULL) fail("CreateIoCompletionPort failed: %lu", GetLastError());
  if (!SetFileCompletionNotificationModes((HANDLE)t->s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
    fail("SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) failed: %lu", GetLastError());
  t->send_pending = 0;
  t->receive_pending = 0;
}

/* Dequeues one completion (waiting, or polling in a busy loop) and settles it. */
static void iocp_collect(transport *t) {
  OVERLAPPED_ENTRY entry;
  ULONG removed = 0;
  if (is_iocp_poll(t)) {
    while (!GetQueuedCompletionStatusEx(t->port, &entry, 1, &removed, 0, FALSE)) {
      if (GetLastError() != WAIT_TIMEOUT) fail("GetQueuedCompletionStatusEx(0) failed: %lu", GetLastError());
    }
  } else if (!GetQueuedCompletionStatusEx(t->port, &entry, 1, &removed, INFINITE, FALSE)) {
    fail("GetQueuedCompletionStatusEx(INFINITE) failed: %lu", GetLastError());
  }
  if (removed != 1) fail("GetQueuedCompletionStatusEx returned %lu entries", (unsigned long)removed);
  if (entry.lpOverlapped == &t->send_overlapped) {
    DWORD sent = overlapped_bytes(t, &t->send_overlapped, entry.dwNumberOfBytesTransferred, "WSASend (completion)");
    if (sent != (DWORD)t->size) fail("WSASend completed %lu of %d bytes", (unsigned long)sent, t->size);
    t->send_pending = 0;
  } else if (entry.lpOverlapped == &t->receive_overlapped) {
    t->received = overlapped_bytes(t, &t->receive_overlapped, entry.dwNumberOfBytesTransferred, "WSARecv (completion)");
    t->receive_pending = 0;
  } else {
    fail("GetQueuedCompletionStatusEx returned an unknown OVERLAPPED");
  }
}

static void iocp_send(transport *t) {
  /* The buffer is reused: the previous send has completed by now (its echo came back, or
     the echo side received what it echoes), but its completion may still be queued. */
  while (t->send_pending) iocp_collect(t);
  WSABUF buffer = {(ULONG)t->size, t->send_buffer};
  memset(&t->send_overlapped, 0, sizeof t->send_overlapped);
  if (WSASend(t->s, &buffer, 1, NULL, 0, &t->send_overlapped, NULL) == 0) {
    /* Done within the call: no packet (skip mode); the count is in the OVERLAPPED. */
    DWORD sent = overlapped_done(&t->send_overlapped);
    if (sent != (DWORD)t->size) fail("WSASend sent %lu of %d bytes", (unsigned long)sent, t->size);
    return;
  }
  if (WSAGetLastError() != WSA_IO_PENDING) fail_wsa("WSASend");
  t->send_pending = 1;
}

static int iocp_receive(transport *t) {
  for (int got = 0; got < t->size;) {
    WSABUF buffer = {(ULONG)(t->size - got), t->receive_buffer + got};
    DWORD n, flags = 0;
    memset(&t->receive_overlapped, 0, sizeof t->receive_overlapped);
    if (WSARecv(t->s, &buffer, 1, NULL, &flags, &t->receive_overlapped, NULL) == 0) {
      n = overlapped_done(&t->receive_overlapped);
    } else {
      if (WSAGetLastError() != WSA_IO_PENDING) fail_wsa("WSARecv");
      t->receive_pending = 1;
      while (t->receive_pending) iocp_collect(t);
      n = t->received;
    }
    if (n == 0) {
      if (got == 0) return 0;
      fail("the peer closed the connection after %d of %d bytes of a message", got, t->size);
    }
    got += (int)n;
  }
  return 1;
}

static void iocp_drain(transport *t) {
  while (t->send_pending) iocp_collect(t);
}

static void iocp_detach(transport *t) {
  /* The socket is closed by now, and nothing of ours is in flight. */
  CloseHandle(t->port);
  free(t->send_buffer);
  free(t->receive_buffer);
}

static const transport_ops TRANSPORTS[] = {
    {"blocking", "blocking send/recv", 0, NULL, plain_attach, plain_send, plain_receive, NULL, plain_detach},
    {"spin", "FIONBIO, send/recv retried at once on WSAEWOULDBLOCK (busy)", 0, NULL, plain_attach, plain_send,
     plain_receive, NULL, plain_detach},
    {"rio", "Registered I/O, completion queue polled in a busy loop (Windows 8+)", WSA_FLAG_REGISTERED_IO, rio_probe,
     rio_attach, rio_send, rio_receive, rio_drain, rio_detach},
    {"iocp-wait", "overlapped WSASend/WSARecv, GetQueuedCompletionStatusEx(INFINITE) (skip-on-success)", 0, NULL,
     iocp_attach, iocp_send, iocp_receive, iocp_drain, iocp_detach},
    {"iocp-poll", "the same, GetQueuedCompletionStatusEx(0) called in a busy loop", 0, NULL, iocp_attach, iocp_send,
     iocp_receive, iocp_drain, iocp_detach},
};

static const transport_ops *find_transport(const char *name) {
  for (size_t i = 0; i < sizeof TRANSPORTS / sizeof TRANSPORTS[0]; i++)
    if (strcmp(TRANSPORTS[i].name, name) == 0) return &TRANSPORTS[i];
  return NULL;
}

/* ---- Options ------------------------------------------------------------------------ */

typedef struct {
  const char *command;
  const transport_ops *transport;
  long long count;
  long long warmup;
  long long size;
  long long bytes;
  long long write_size;
  long long read_size;
  long long timeout;
  long long port;
  int fast_path;
  int overlapped; /* bulk-iocp / bulk-iocp-send */
} options;

static const char usage_synopsis[] =
    "usage: reference.exe ping MODE [--count N] [--warmup N] [--size BYTES] [--fast-path] [--timeout S]\n"
    "       reference.exe bulk|bulk-iocp [--bytes N] [--write-size N] [--read-size N] [--fast-path] [--timeout S]\n"
    "       reference.exe --help\n";

static const char usage_text[] =
    "\n"
    "ping MODE    round trips over loopback TCP between this process and a copy of it that\n"
    "             echoes (TCP_NODELAY on both). MODE:\n"
    "%s"
    "  --count N      measured round trips (default 20000)\n"
    "  --warmup N     round trips before measuring, not counted (default 100)\n"
    "  --size BYTES   message size, at least 8: the first 8 bytes carry the sender's\n"
    "                 QueryPerformanceCounter value (default 64)\n"
    "  Prints one line (times in microseconds, population standard deviation, nearest-rank\n"
    "  percentiles):\n"
    "    c-MODE count=N mean_us=X p50_us=X p99_us=X stddev_us=X rtt_per_s=X p999_us=X max_us=X\n"
    "           min_us=X size=N warmup=N fast_path=on|off\n"
    "  or, exit code 3, when this system cannot run it:   c-MODE unavailable: REASON\n"
    "\n"
    "bulk         one-way throughput over loopback TCP: a copy of this program connects and\n"
    "             sends BYTES in application writes of WRITE_SIZE; this process receives and\n"
    "             counts them (Nagle and socket buffers left at their defaults).\n"
    "  --bytes N        bytes to transfer (default 256M)\n"
    "  --write-size N   bytes per send() (default 64K)\n"
    "  --read-size N    buffer per recv() (default 64K)\n"
    "  Prints one JSON line. mib_per_s = (bytes - bytes of the first recv) / (time of the\n"
    "  last recv - time of the first recv), so it runs from the first byte received to the\n"
    "  last; accept_to_last_mib_per_s runs from accept() returning to the last byte:\n"
    "    {\"mode\":\"bulk\",\"available\":true,\"bytes\":N,\"write_size\":N,\"read_size\":N,\n"
    "     \"fast_path\":false,\"timed_from\":\"first-byte\",\"seconds\":X,\"mib_per_s\":X,\n"
    "     \"accept_to_last_seconds\":X,\"accept_to_last_mib_per_s\":X,\"recv_calls\":N}\n"
    "  or, exit code 3:   {\"mode\":\"bulk\",\"available\":false,\"reason\":\"...\"}\n"
    "\n"
    "bulk-iocp    the same transfer, both ends with overlapped WSASend/WSARecv on a completion\n"
    "             port of the socket's own (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: a call that\n"
    "             completes at once is used at once; one that pends is collected with\n"
    "             GetQueuedCompletionStatusEx, INFINITE), one operation in flight per side.\n"
    "             The same options and line, with \"mode\":\"bulk-iocp\", recv_calls counting\n"
    "             WSARecv calls and \"dequeue_calls\":N the receiver's dequeues.\n"
    "\n"
    "Both:\n"
    "  --fast-path    SIO_LOOPBACK_FAST_PATH on both sockets (before connect/listen); where\n"
    "                 the system answers WSAEOPNOTSUPP (Windows 7, Wine) the run is reported\n"
    "                 unavailable with that reason (exit code 3) instead of failing\n"
    "  --timeout S    give up (exit code 1) after S seconds (default 0: never)\n"
    "  Sizes take a K, M or G suffix (KiB, MiB, GiB).\n"
    "\n"
    "Exit codes: 0 measured, 1 error (with the call and its WSAGetLastError() code on\n"
    "stderr), 2 bad command line, 3 unavailable on this system.\n"
    "\n"
    "Started by the above (not for direct use):\n"
    "  reference.exe echo MODE --port P [--size BYTES] [--fast-path]\n"
    "  reference.exe bulk-send --port P [--bytes N] [--write-size N] [--fast-path]\n"
    "  reference.exe bulk-iocp-send --port P [--bytes N] [--write-size N] [--fast-path]\n";

static void print_usage(FILE *to) {
  char modes[1024] = "";
  for (size_t i = 0; i < sizeof TRANSPORTS / sizeof TRANSPORTS[0]; i++) {
    char line[200];
    snprintf(line, sizeof line, "               %-9s %s\n", TRANSPORTS[i].name, TRANSPORTS[i].about);
    strncat(modes, line, sizeof modes - strlen(modes) - 1);
  }
  fputs(usage_synopsis, to);
  fprintf(to, usage_text, modes);
}

static void usage_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "%s: ", g_role);
  vfprintf(stderr, format, args);
  fputs("\n", stderr);
  va_end(args);
  fputs(usage_synopsis, stderr);
  fputs("(reference.exe --help explains the modes, options and output)\n", stderr);
  exit(EXIT_USAGE);
}

/* "65536", "64K", "256M", "1G" (binary multiples). */
static long long parse_size(const char *flag, const char *text, long long minimum, long long maximum) {
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (end == text || errno != 0) usage_error("%s wants a number, got \"%s\"", flag, text);
  long long scale = 1;
  switch (*end) {
    case 'k': case 'K': scale = 1LL << 10; end++; break;
    case 'm': case 'M': scale = 1LL << 20; end++; break;
    case 'g': case 'G': scale = 1LL << 30; end++; break;
    default: break;
  }
  if (*end != '\0') usage_error("%s wants a number (with an optional K, M or G), got \"%s\"", flag, text);
  if (value < minimum / scale || value > maximum / scale || value * scale < minimum)
    usage_error("%s must be between %lld and %lld, got %s", flag, minimum, maximum, text);
  return value * scale;
}

static options parse_options(int argc, char **argv) {
  options o;
  memset(&o, 0, sizeof o);
  o.count = 20000;
  o.warmup = 100;
  o.size = 64;
  o.bytes = 256LL << 20;
  o.write_size = 64LL << 10;
  o.read_size = 64LL << 10;
  if (argc < 2) usage_error("no command");
  o.command = argv[1];
  if (strcmp(o.command, "--help") == 0 || strcmp(o.command, "-h") == 0 || strcmp(o.command, "help") == 0) {
    print_usage(stdout);
    exit(EXIT_MEASURED);
  }
  int ping = strcmp(o.command, "ping") == 0, echo = strcmp(o.command, "echo") == 0;
  o.overlapped = strcmp(o.command, "bulk-iocp") == 0 || strcmp(o.command, "bulk-iocp-send") == 0;
  int bulk = strcmp(o.command, "bulk") == 0 || strcmp(o.command, "bulk-iocp") == 0;
  int bulk_send = strcmp(o.command, "bulk-send") == 0 || strcmp(o.command, "bulk-iocp-send") == 0;
  if (!ping && !echo && !bulk && !bulk_send) usage_error("unknown command \"%s\"", o.command);
  int i = 2;
  if (ping || echo) {
    if (argc < 3 || argv[2][0] == '-') usage_error("%s needs a MODE", o.command);
    o.transport = find_transport(argv[2]);
    if (o.transport == NULL) usage_error("unknown mode \"%s\"", argv[2]);
    i = 3;
  }
  for (; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--fast-path") == 0) {
      o.fast_path = 1;
      continue;
    }
    if (strcmp(flag, "--help") == 0) {
      print_usage(stdout);
      exit(EXIT_MEASURED);
    }
    if (i + 1 >= argc) usage_error("%s needs a value", flag);
    const char *value = argv[++i];
    if ((ping) && strcmp(flag, "--count") == 0) o.count = parse_size(flag, value, 1, 100000000);
    else if (ping && strcmp(flag, "--warmup") == 0) o.warmup = parse_size(flag, value, 0, 100000000);
    else if ((ping || echo) && strcmp(flag, "--size") == 0) o.size = parse_size(flag, value, 8, 1 << 20);
    else if ((bulk || bulk_send) && strcmp(flag, "--bytes") == 0) o.bytes = parse_size(flag, value, 1, 1LL << 50);
    else if ((bulk || bulk_send) && strcmp(flag, "--write-size") == 0)
      o.write_size = parse_size(flag, value, 1, 1 << 30);
    else if (bulk && strcmp(flag, "--read-size") == 0) o.read_size = parse_size(flag, value, 1, 1 << 30);
    else if ((echo || bulk_send) && strcmp(flag, "--port") == 0) o.port = parse_size(flag, value, 1, 65535);
    else if (strcmp(flag, "--timeout") == 0) o.timeout = parse_size(flag, value, 0, 1000000);
    else usage_error("unknown option \"%s\" for %s", flag, o.command);
  }
  if ((echo || bulk_send) && o.port == 0) usage_error("%s needs --port", o.command);
  return o;
}

/* ---- ping / echo -------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least `p` of the samples at or below it. */
static double percentile(const double *sorted, long long n, double p) {
  long long rank = (long long)ceil(p * (double)n);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

static int run_ping(const options *o) {
  const transport_ops *ops = o->transport;
  char label[64], why[512];
  snprintf(label, sizeof label, "c-%s", ops->name);

  SOCKET listener = new_socket(ops->socket_flags, "WSASocket(listening socket)");
  if (ops->probe != NULL && ops->probe(listener, why, sizeof why)) {
    printf("%s unavailable: %s\n", label, why);
    return EXIT_UNAVAILABLE;
  }
  if (o->fast_path && enable_fast_path(listener, why, sizeof why)) {
    printf("%s unavailable: %s\n", label, why);
    return EXIT_UNAVAILABLE;
  }
  int port = listen_on_loopback(listener);
  char arguments[256];
  snprintf(arguments, sizeof arguments, "echo %s --port %d --size %lld%s", ops->name, port, o->size,
           o->fast_path ? " --fast-path" : "");
  start_peer(arguments);

  transport t;
  memset(&t, 0, sizeof t);
  t.ops = ops;
  t.size = (int)o->size;
  t.s = accept_peer(listener, ops->socket_flags, o->fast_path);
  closesocket(listener);
  set_nodelay(t.s);
  ops->attach(&t);

  double *samples = malloc(sizeof(double) * (size_t)o->count);
  if (samples == NULL) fail("out of memory for %lld samples", o->count);
  long long total = o->warmup + o->count;
  for (long long i = 0; i < total; i++) {
    LONGLONG sent = ticks();
    memcpy(t.send_buffer, &sent, sizeof sent);
    ops->send_message(&t);
    if (!ops->receive_message(&t)) fail("the echo process closed the connection after %lld round trips", i);
    LONGLONG echoed;
    memcpy(&echoed, t.receive_buffer, sizeof echoed);
    LONGLONG now = ticks();
    if (echoed != sent) fail("round trip %lld: the echo carries another timestamp than the message sent", i);
    if (i >= o->warmup) samples[i - o->warmup] = ticks_to_us(now - sent);
  }

  /* Close our sending side; the echo process sees the end, closes, and exits. */
  if (shutdown(t.s, SD_SEND) != 0) fail_wsa("shutdown(SD_SEND)");
  if (ops->receive_message(&t)) fail("the echo process sent more than it was sent");
  closesocket(t.s);
  ops->detach(&t);
  join_peer();

  long long n = o->count;
  double sum = 0, squares = 0;
  for (long long i = 0; i < n; i++) sum += samples[i];
  double mean = sum / (double)n;
  for (long long i = 0; i < n; i++) squares += (samples[i] - mean) * (samples[i] - mean);
  qsort(samples, (size_t)n, sizeof(double), compare_doubles);
  printf("%s count=%lld mean_us=%.2f p50_us=%.2f p99_us=%.2f stddev_us=%.2f rtt_per_s=%.0f p999_us=%.2f "
         "max_us=%.2f min_us=%.2f size=%lld warmup=%lld fast_path=%s\n",
         label, n, mean, percentile(samples, n, 0.5), percentile(samples, n, 0.99), sqrt(squares / (double)n),
         1e6 / mean, percentile(samples, n, 0.999), samples[n - 1], samples[0], o->size, o->warmup,
         o->fast_path ? "on" : "off");
  free(samples);
  return EXIT_MEASURED;
}

static int run_echo(const options *o) {
  const transport_ops *ops = o->transport;
  char why[512];
  transport t;
  memset(&t, 0, sizeof t);
  t.ops = ops;
  t.size = (int)o->size;
  t.s = new_socket(ops->socket_flags, "WSASocket");
  if (ops->probe != NULL && ops->probe(t.s, why, sizeof why)) fail("%s", why);
  if (o->fast_path && enable_fast_path(t.s, why, sizeof why)) fail("%s", why);
  set_nodelay(t.s);
  connect_to_loopback(t.s, (int)o->port);
  ops->attach(&t);
  while (ops->receive_message(&t)) {
    memcpy(t.send_buffer, t.receive_buffer, (size_t)t.size);
    ops->send_message(&t);
  }
  if (ops->drain != NULL) ops->drain(&t);
  if (shutdown(t.s, SD_SEND) != 0) fail_wsa("shutdown(SD_SEND)");
  closesocket(t.s);
  ops->detach(&t);
  return EXIT_MEASURED;
}

/* ---- bulk / bulk-send --------------------------------------------------------------- */

static void print_json_string(const char *text) {
  putchar('"');
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') printf("\\%c", *c);
    else if (*c < 0x20) printf("\\u%04x", *c);
    else putchar(*c);
  }
  putchar('"');
}

/*
 * bulk-iocp / bulk-iocp-send: the same transfer with overlapped WSARecv / WSASend on a
 * completion port of the socket's own, one operation in flight per side (the receiver's
 * one 64 KiB buffer, the sender's one 64 KiB write), as the library's `promise` row moves
 * bulk data (one recvAsync, one sendAsync at a time). The socket is in
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode, as the library's sockets are: an operation
 * that completes within its call (a receive with data already buffered, a send with room
 * in the socket buffer) is used at once and queues no packet; one that pends is collected
 * with GetQueuedCompletionStatusEx(count 1, INFINITE).
 */
typedef struct {
  SOCKET s;
  HANDLE port;
  OVERLAPPED overlapped;
  long long dequeues; /* GetQueuedCompletionStatusEx calls */
} bulk_port;

static void bulk_port_open(bulk_port *b, SOCKET s) {
  memset(b, 0, sizeof *b);
  b->s = s;
  b->port = CreateIoCompletionPort((HANDLE)s, NULL, 0, 1);
  if (b->port == NULL) fail("CreateIoCompletionPort failed: %lu", GetLastError());
  if (!SetFileCompletionNotificationModes((HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
    fail("SetFileCompletionNotificationModes(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) failed: %lu", GetLastError());
}

/*
 * After WSASend/WSARecv returned `rc` on b->overlapped: the bytes it moved once it is
 * done, or SOCKET_ERROR with its code in WSAGetLastError(), as send()/recv() report.
 */
static int bulk_port_finish(bulk_port *b, int rc) {
  /* Done within the call: no packet (skip mode); the count is in the OVERLAPPED. */
  if (rc == 0) return (int)overlapped_done(&b->overlapped);
  if (WSAGetLastError() != WSA_IO_PENDING) return SOCKET_ERROR;
  OVERLAPPED_ENTRY entry;
  ULONG removed = 0;
  b->dequeues++;
  if (!GetQueuedCompletionStatusEx(b->port, &entry, 1, &removed, INFINITE, FALSE) || removed != 1)
    fail("GetQueuedCompletionStatusEx(INFINITE) failed: %lu", GetLastError());
  if (entry.lpOverlapped != &b->overlapped) fail("GetQueuedCompletionStatusEx returned an unknown OVERLAPPED");
  DWORD bytes = entry.dwNumberOfBytesTransferred;
  /* Internal holds the NTSTATUS: 0 is success; WSAGetOverlappedResult gives a failure's code. */
  if (b->overlapped.Internal != 0) {
    DWORD flags = 0;
    if (!WSAGetOverlappedResult(b->s, &b->overlapped, &bytes, FALSE, &flags)) return SOCKET_ERROR;
  }
  return (int)bytes;
}

/* recv() with `b` NULL, else an overlapped WSARecv completed through b's port. */
static int bulk_recv(SOCKET s, bulk_port *b, char *buffer, int length) {
  if (b == NULL) return recv(s, buffer, length, 0);
  WSABUF piece = {(ULONG)length, buffer};
  DWORD flags = 0;
  memset(&b->overlapped, 0, sizeof b->overlapped);
  return bulk_port_finish(b, WSARecv(s, &piece, 1, NULL, &flags, &b->overlapped, NULL));
}

/* send() with `b` NULL, else an overlapped WSASend completed through b's port. */
static int bulk_send(SOCKET s, bulk_port *b, char *buffer, int length) {
  if (b == NULL) return send(s, buffer, length, 0);
  WSABUF piece = {(ULONG)length, buffer};
  memset(&b->overlapped, 0, sizeof b->overlapped);
  return bulk_port_finish(b, WSASend(s, &piece, 1, NULL, 0, &b->overlapped, NULL));
}

static int run_bulk(const options *o) {
  char why[512];
  const char *mode = o->overlapped ? "bulk-iocp" : "bulk";
  SOCKET listener = new_socket(0, "WSASocket(listening socket)");
  if (o->fast_path && enable_fast_path(listener, why, sizeof why)) {
    printf("{\"mode\":\"%s\",\"available\":false,\"reason\":", mode);
    print_json_string(why);
    printf("}\n");
    return EXIT_UNAVAILABLE;
  }
  int port = listen_on_loopback(listener);
  char arguments[256];
  snprintf(arguments, sizeof arguments, "%s --port %d --bytes %lld --write-size %lld%s",
           o->overlapped ? "bulk-iocp-send" : "bulk-send", port, o->bytes, o->write_size,
           o->fast_path ? " --fast-path" : "");
  start_peer(arguments);

  char *buffer = malloc((size_t)o->read_size);
  if (buffer == NULL) fail("out of memory for a %lld-byte read buffer", o->read_size);
  SOCKET s = accept_peer(listener, 0, o->fast_path);
  LONGLONG accepted = ticks();
  closesocket(listener);
  bulk_port overlapped, *b = NULL;
  if (o->overlapped) bulk_port_open(b = &overlapped, s);
  long long total = 0, first = 0, calls = 0;
  LONGLONG first_at = 0, last_at = 0;
  int chunk = (int)o->read_size;
  for (;;) {
    int n = bulk_recv(s, b, buffer, chunk);
    LONGLONG now = ticks();
    if (n == SOCKET_ERROR) fail_wsa(b == NULL ? "recv" : "WSARecv");
    if (n == 0) break;
    if (calls++ == 0) {
      first = n;
      first_at = now;
    }
    total += n;
    last_at = now;
    if (total > o->bytes) fail("received more than the %lld bytes sent", o->bytes);
  }
  closesocket(s);
  if (b != NULL) CloseHandle(b->port);
  if (total != o->bytes) fail("the sender closed the connection after %lld of %lld bytes", total, o->bytes);
  join_peer();
  free(buffer);

  const double mib = 1024.0 * 1024.0;
  double seconds = ticks_to_us(last_at - first_at) / 1e6;
  double from_accept = ticks_to_us(last_at - accepted) / 1e6;
  /* One recv only (a tiny --bytes): no interval to time from the first byte. */
  double rate = seconds > 0 ? (double)(total - first) / mib / seconds : 0;
  printf("{\"mode\":\"%s\",\"available\":true,\"bytes\":%lld,\"write_size\":%lld,\"read_size\":%lld,"
         "\"fast_path\":%s,\"timed_from\":\"first-byte\",\"seconds\":%.6f,\"mib_per_s\":%.2f,"
         "\"accept_to_last_seconds\":%.6f,\"accept_to_last_mib_per_s\":%.2f,\"recv_calls\":%lld",
         mode, total, o->write_size, o->read_size, o->fast_path ? "true" : "false", seconds, rate, from_accept,
         from_accept > 0 ? (double)total / mib / from_accept : 0, calls);
  if (b != NULL) printf(",\"dequeue_calls\":%lld", b->dequeues);
  printf("}\n");
  return EXIT_MEASURED;
}

static int run_bulk_send(const options *o) {
  char why[512];
  SOCKET s = new_socket(0, "WSASocket");
  if (o->fast_path && enable_fast_path(s, why, sizeof why)) fail("%s", why);
  char *buffer = malloc((size_t)o->write_size);
  if (buffer == NULL) fail("out of memory for a %lld-byte write buffer", o->write_size);
  for (long long i = 0; i < o->write_size; i++) buffer[i] = (char)(i * 31 + 7);
  connect_to_loopback(s, (int)o->port);
  bulk_port overlapped, *b = NULL;
  if (o->overlapped) bulk_port_open(b = &overlapped, s);
  for (long long left = o->bytes; left > 0;) {
    int want = (int)(left < o->write_size ? left : o->write_size);
    for (int sent = 0; sent < want;) {
      int n = bulk_send(s, b, buffer + sent, want - sent);
      if (n == SOCKET_ERROR) fail_wsa(b == NULL ? "send" : "WSASend");
      sent += n;
    }
    left -= want;
  }
  /* Graceful end: the receiver reads to the end, closes, and we see that. */
  if (shutdown(s, SD_SEND) != 0) fail_wsa("shutdown(SD_SEND)");
  char drain[16];
  int n = bulk_recv(s, b, drain, sizeof drain);
  if (n == SOCKET_ERROR && WSAGetLastError() != WSAECONNRESET) fail_wsa("recv (waiting for the receiver to close)");
  closesocket(s);
  if (b != NULL) CloseHandle(b->port);
  free(buffer);
  return EXIT_MEASURED;
}

/* ---- main --------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  if (argc >= 2 && (strcmp(argv[1], "echo") == 0 || strcmp(argv[1], "bulk-send") == 0 ||
                    strcmp(argv[1], "bulk-iocp-send") == 0)) {
    static char role[64];
    snprintf(role, sizeof role, "reference[%s]", argv[1]);
    g_role = role;
  }
  options o = parse_options(argc, argv);
  WSADATA data;
  int started = WSAStartup(MAKEWORD(2, 2), &data);
  if (started != 0) {
    WSASetLastError(started);
    fail_wsa("WSAStartup");
  }
  QueryPerformanceFrequency(&g_frequency);
  if (o.timeout > 0) {
    HANDLE thread = CreateThread(NULL, 0, watchdog, (LPVOID)(ULONG_PTR)o.timeout, 0, NULL);
    if (thread == NULL) fail("CreateThread(watchdog) failed: %lu", GetLastError());
    CloseHandle(thread);
  }
  int code;
  if (strcmp(o.command, "ping") == 0) code = run_ping(&o);
  else if (strcmp(o.command, "echo") == 0) code = run_echo(&o);
  else if (strcmp(o.command, "bulk") == 0 || strcmp(o.command, "bulk-iocp") == 0) code = run_bulk(&o);
  else code = run_bulk_send(&o);
  fflush(stdout);
  WSACleanup();
  return code;
}
