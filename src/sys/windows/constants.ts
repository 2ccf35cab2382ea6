// Winsock and Win32 numbers (values from the Windows SDK headers), each declared once.
// Kept apart from the FFI declarations so that they can be named without loading koffi.
// The error numbers live in one name→number table, ERRORS, which error.ts also reads
// backwards for names, so an error's code and its number cannot disagree.

export const AF_INET = 2;
export const AF_INET6 = 23;
export const AF_UNSPEC = 0;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;

export const SOL_SOCKET = 0xffff;
export const SO_ACCEPTCONN = 0x0002;
export const SO_REUSEADDR = 0x0004;
export const SO_KEEPALIVE = 0x0008;
export const SO_BROADCAST = 0x0020;
export const SO_LINGER = 0x0080;
/** `~SO_REUSEADDR` as the signed int that setsockopt takes. */
export const SO_EXCLUSIVEADDRUSE = ~SO_REUSEADDR;
export const SO_SNDBUF = 0x1001;
export const SO_RCVBUF = 0x1002;
export const SO_SNDTIMEO = 0x1005;
export const SO_RCVTIMEO = 0x1006;
export const SO_ERROR = 0x1007;
export const SO_TYPE = 0x1008;
export const SO_PROTOCOL_INFOW = 0x2005;
export const SO_UPDATE_ACCEPT_CONTEXT = 0x700b;
export const SO_UPDATE_CONNECT_CONTEXT = 0x7010;
/** Windows 10+: share a local port between connecting sockets, as Linux's SO_REUSEPORT roughly does (ws2def.h). */
export const SO_REUSE_UNICASTPORT = 0x3007;

export const TCP_NODELAY = 0x0001;
// IPPROTO_TCP options from ws2ipdef.h (Windows 10 1607+ for TCP_FASTOPEN, 1709+ for the keep-alive ones).
export const TCP_KEEPIDLE = 3;
export const TCP_FASTOPEN = 15;
export const TCP_KEEPCNT = 16;
export const TCP_KEEPINTVL = 17;

// IPPROTO_IP options (ws2ipdef.h).
export const IP_MULTICAST_IF = 9;
export const IP_MULTICAST_TTL = 10;
export const IP_MULTICAST_LOOP = 11;
export const IP_ADD_MEMBERSHIP = 12;
export const IP_DROP_MEMBERSHIP = 13;

// IPPROTO_IPV6 options (ws2ipdef.h).
export const IPV6_MULTICAST_IF = 9;
export const IPV6_MULTICAST_HOPS = 10;
export const IPV6_MULTICAST_LOOP = 11;
export const IPV6_ADD_MEMBERSHIP = 12;
export const IPV6_DROP_MEMBERSHIP = 13;
export const IPV6_V6ONLY = 27;

export const FIONBIO = 0x8004667e;
export const FIONREAD = 0x4004667f;
export const SIO_KEEPALIVE_VALS = 0x98000004;
export const SIO_LOOPBACK_FAST_PATH = 0x98000010;
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006;
export const SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER = 0xc8000024;
/** _WSAIORW(IOC_VENDOR, 39) (mstcpip.h), Windows 10 1703+: TCP_INFO_v0/v1 for a connection. */
export const SIO_TCP_INFO = 0xd8000027;

export const SD_RECEIVE = 0;
export const SD_SEND = 1;
export const SD_BOTH = 2;

/** SOMAXCONN: let the system choose the largest backlog. */
export const SOMAXCONN = 0x7fffffff;

export const WSA_FLAG_OVERLAPPED = 0x01;
export const WSA_FLAG_NO_HANDLE_INHERIT = 0x80;
/** WSASocketW: the socket can take a Registered I/O request queue (Windows 8+). */
export const WSA_FLAG_REGISTERED_IO = 0x100;

// Registered I/O (mswsockdef.h): request flags, sentinel values, notification types.
export const RIO_MSG_DONT_NOTIFY = 0x1;
export const RIO_MSG_DEFER = 0x2;
export const RIO_MSG_WAITALL = 0x4;
export const RIO_MSG_COMMIT_ONLY = 0x8;
/** RIORegisterBuffer's failure value, (RIO_BUFFERID)(ULONG_PTR)0xFFFFFFFF. */
export const RIO_INVALID_BUFFERID = 0xffffffff;
/** RIOCreateCompletionQueue's and RIOCreateRequestQueue's failure value (RIO_INVALID_CQ, RIO_INVALID_RQ). */
export const RIO_INVALID_QUEUE = 0;
/** The largest completion queue, in entries. */
export const RIO_MAX_CQ_SIZE = 0x8000000;
/** What RIODequeueCompletion returns for a corrupt (or unknown) completion queue. */
export const RIO_CORRUPT_CQ = 0xffffffff;
export const RIO_EVENT_COMPLETION = 1;
export const RIO_IOCP_COMPLETION = 2;
/** WSASocketW's af/type/protocol when they come from a WSAPROTOCOL_INFOW (a duplicated socket). */
export const FROM_PROTOCOL_INFO = -1;
/** sizeof(WSAPROTOCOL_INFOW). */
export const WSAPROTOCOL_INFOW_SIZE = 628;
/** FILE_INFORMATION_CLASS FileReplaceCompletionInformation (Windows 8.1+): moves a handle to another completion port, or off any. */
export const FILE_REPLACE_COMPLETION_INFORMATION = 61;
/** NTSTATUS answers of a system without FileReplaceCompletionInformation (Wine 8; Windows before 8.1). */
export const STATUS_NOT_IMPLEMENTED = 0xc0000002;
export const STATUS_INVALID_INFO_CLASS = 0xc0000003;

export const POLLRDNORM = 0x0100;
export const POLLRDBAND = 0x0200;
export const POLLWRNORM = 0x0010;
export const POLLERR = 0x0001;
export const POLLHUP = 0x0002;
export const POLLNVAL = 0x0004;

export const SOCKET_ERROR = -1;

export const INFINITE = 0xffffffff;
export const FILE_SKIP_COMPLETION_PORT_ON_SUCCESS = 0x1;
export const FILE_SKIP_SET_EVENT_ON_HANDLE = 0x2;

export const FORMAT_MESSAGE_FROM_SYSTEM = 0x1000;
export const FORMAT_MESSAGE_IGNORE_INSERTS = 0x200;

/** Error numbers from Winsock and the Win32 calls the overlapped paths make, by name. */
export const ERRORS = {
  ERROR_INVALID_HANDLE: 6,
  ERROR_NETNAME_DELETED: 64,
  ERROR_INVALID_PARAMETER: 87,
  WAIT_TIMEOUT: 258,
  WSA_OPERATION_ABORTED: 995,
  WSA_IO_INCOMPLETE: 996,
  WSA_IO_PENDING: 997,
  ERROR_NOT_FOUND: 1168,
  ERROR_CONNECTION_REFUSED: 1225,
  ERROR_CONNECTION_INVALID: 1229,
  ERROR_CONNECTION_ABORTED: 1236,
  WSAEINTR: 10004,
  WSAEBADF: 10009,
  WSAEACCES: 10013,
  WSAEFAULT: 10014,
  WSAEINVAL: 10022,
  WSAEMFILE: 10024,
  WSAEWOULDBLOCK: 10035,
  WSAEINPROGRESS: 10036,
  WSAEALREADY: 10037,
  WSAENOTSOCK: 10038,
  WSAEDESTADDRREQ: 10039,
  WSAEMSGSIZE: 10040,
  WSAEPROTOTYPE: 10041,
  WSAENOPROTOOPT: 10042,
  WSAEPROTONOSUPPORT: 10043,
  WSAESOCKTNOSUPPORT: 10044,
  WSAEOPNOTSUPP: 10045,
  WSAEPFNOSUPPORT: 10046,
  WSAEAFNOSUPPORT: 10047,
  WSAEADDRINUSE: 10048,
  WSAEADDRNOTAVAIL: 10049,
  WSAENETDOWN: 10050,
  WSAENETUNREACH: 10051,
  WSAENETRESET: 10052,
  WSAECONNABORTED: 10053,
  WSAECONNRESET: 10054,
  WSAENOBUFS: 10055,
  WSAEISCONN: 10056,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETOOMANYREFS: 10059,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
  WSAELOOP: 10062,
  WSAENAMETOOLONG: 10063,
  WSAEHOSTDOWN: 10064,
  WSAEHOSTUNREACH: 10065,
  WSASYSNOTREADY: 10091,
  WSAVERNOTSUPPORTED: 10092,
  WSANOTINITIALISED: 10093,
  WSAEDISCON: 10101,
  WSATYPE_NOT_FOUND: 10109,
  WSAHOST_NOT_FOUND: 11001,
  WSATRY_AGAIN: 11002,
  WSANO_RECOVERY: 11003,
  WSANO_DATA: 11004,
} as const;

export const {
  ERROR_INVALID_PARAMETER,
  WAIT_TIMEOUT,
  WSA_OPERATION_ABORTED,
  WSA_IO_PENDING,
  ERROR_NOT_FOUND,
  WSAEINVAL,
  WSAEWOULDBLOCK,
  WSAENOTSOCK,
  WSAEMSGSIZE,
  WSAEOPNOTSUPP,
  WSAECONNABORTED,
  WSAECONNRESET,
  WSAENOBUFS,
  WSAENOTCONN,
  WSAETIMEDOUT,
  WSAECONNREFUSED,
} = ERRORS;
