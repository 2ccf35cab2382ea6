// Sockets that change owner: WSADuplicateSocketW for another process,
// WSASocketW(FROM_PROTOCOL_INFO) to take such a copy here, and SO_PROTOCOL_INFOW to say
// what a handle made elsewhere (inherited, adopted, handed over) is.

import type { AddressFamily } from '../../base/address.ts';
import { AF_INET, AF_INET6, FROM_PROTOCOL_INFO, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_PROTOCOL_INFOW, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED, WSAPROTOCOL_INFOW_SIZE } from './constants.ts';
import { check, checkSocket } from './error.ts';
import { ws2 } from './ffi.ts';
import type { Handle } from './ffi.ts';
import { getRawOption } from './options.ts';
import { ensureStarted } from './socket.ts';
import type { SocketType } from './socket.ts';

// WSAPROTOCOL_INFOW (628 bytes): iAddressFamily at offset 76, iSocketType at 88.
const INFO_FAMILY = 76;
const INFO_TYPE = 88;

/** WSADuplicateSocketW: a WSAPROTOCOL_INFOW (628 bytes) from which process `processId` can make its own handle. */
export function duplicateSocket(handle: Handle, processId: number): Buffer {
  const info = Buffer.alloc(WSAPROTOCOL_INFOW_SIZE);
  check(ws2().WSADuplicateSocketW(handle, processId >>> 0, info), 'WSADuplicateSocketW');
  return info;
}

/** WSASocketW(FROM_PROTOCOL_INFO) over a WSADuplicateSocketW result meant for this process: overlapped, not inherited. */
export function socketFromProtocolInfo(info: Uint8Array): Handle {
  ensureStarted();
  return checkSocket(ws2().WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, info, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT), 'WSASocketW');
}

/** The family and type of an existing socket (SO_PROTOCOL_INFOW). */
export function describeSocket(handle: Handle): { family: AddressFamily; type: SocketType } {
  const info = getRawOption(handle, SOL_SOCKET, SO_PROTOCOL_INFOW, WSAPROTOCOL_INFOW_SIZE);
  const af = info.readInt32LE(INFO_FAMILY);
  const socketType = info.readInt32LE(INFO_TYPE);
  if (af !== AF_INET && af !== AF_INET6) throw new TypeError(`handle ${handle} is a socket of address family ${af}; only IPv4 and IPv6 are supported`);
  if (socketType !== SOCK_STREAM && socketType !== SOCK_DGRAM) throw new TypeError(`handle ${handle} is a socket of type ${socketType}; only TCP and UDP are supported`);
  return { family: af === AF_INET ? 'ipv4' : 'ipv6', type: socketType === SOCK_STREAM ? 'tcp' : 'udp' };
}

/**
 * Whether `handle` is a socket of the kind `info` (a WSAPROTOCOL_INFOW) describes: the same
 * address family and type as its own SO_PROTOCOL_INFOW. (Not the protocol: a socket made
 * from an info with protocol 0 gets the type's own.) Throws WinsockError when the handle is
 * no socket (WSAENOTSOCK).
 */
export function matchesProtocolInfo(handle: Handle, info: Uint8Array): boolean {
  const own = getRawOption(handle, SOL_SOCKET, SO_PROTOCOL_INFOW, WSAPROTOCOL_INFOW_SIZE);
  const given = Buffer.from(info.buffer, info.byteOffset, info.byteLength);
  return own.readInt32LE(INFO_FAMILY) === given.readInt32LE(INFO_FAMILY) && own.readInt32LE(INFO_TYPE) === given.readInt32LE(INFO_TYPE);
}
