// Winsock and Win32 numbers used by this package (values from the Windows SDK headers).
// Kept apart from the FFI declarations so that code above the FFI layer can name
// them without importing koffi.

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

export const TCP_NODELAY = 0x0001;
export const IPV6_V6ONLY = 27;

export const FIONBIO = 0x8004667e;
export const FIONREAD = 0x4004667f;
export const SIO_KEEPALIVE_VALS = 0x98000004;
export const SIO_LOOPBACK_FAST_PATH = 0x98000010;
export const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006;
export const SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER = 0xc8000024;

export const SD_RECEIVE = 0;
export const SD_SEND = 1;
export const SD_BOTH = 2;

export const WSA_FLAG_OVERLAPPED = 0x01;
export const WSA_FLAG_NO_HANDLE_INHERIT = 0x80;

export const POLLRDNORM = 0x0100;
export const POLLRDBAND = 0x0200;
export const POLLWRNORM = 0x0010;
export const POLLERR = 0x0001;
export const POLLHUP = 0x0002;
export const POLLNVAL = 0x0004;

export const SOCKET_ERROR = -1;

export const WSAEINTR = 10004;
export const WSAEINVAL = 10022;
export const WSAEWOULDBLOCK = 10035;
export const WSAEINPROGRESS = 10036;
export const WSAEALREADY = 10037;
export const WSAENOTSOCK = 10038;
export const WSAEMSGSIZE = 10040;
export const WSAEOPNOTSUPP = 10045;
export const WSAEISCONN = 10056;
export const WSAENOTCONN = 10057;
export const WSAETIMEDOUT = 10060;
export const WSA_IO_PENDING = 997;
export const WSA_OPERATION_ABORTED = 995;
export const ERROR_NOT_FOUND = 1168;
export const WAIT_TIMEOUT = 258;

export const INFINITE = 0xffffffff;
export const FILE_SKIP_COMPLETION_PORT_ON_SUCCESS = 0x1;
export const FILE_SKIP_SET_EVENT_ON_HANDLE = 0x2;

export const FORMAT_MESSAGE_FROM_SYSTEM = 0x1000;
export const FORMAT_MESSAGE_IGNORE_INSERTS = 0x200;
