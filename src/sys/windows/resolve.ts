// Name resolution: GetAddrInfoW, walked and freed here, so that only SocketAddresses
// leave sys/.

import type { AddressFamily, SocketAddress } from '../../base/address.ts';
import { AF_UNSPEC, SOCK_DGRAM, SOCK_STREAM } from './constants.ts';
import { checkErrno } from './error.ts';
import { readNative, ws2 } from './ffi.ts';
import { decodeSockaddr, familyToAf } from './sockaddr.ts';
import { ensureStarted } from './socket.ts';
import type { SocketType } from './socket.ts';

/** GetAddrInfoW: the addresses a host name resolves to, in resolver order (it returns its error itself, not through WSAGetLastError). */
export function resolve(host: string, family: AddressFamily | null, type: SocketType): SocketAddress[] {
  ensureStarted();
  // ADDRINFOW on x64: int flags, family, socktype, protocol; size_t addrlen;
  // wchar_t *canonname; sockaddr *addr; ADDRINFOW *next. 48 bytes.
  const hints = Buffer.alloc(48);
  hints.writeInt32LE(family === null ? AF_UNSPEC : familyToAf(family), 4);
  hints.writeInt32LE(type === 'tcp' ? SOCK_STREAM : SOCK_DGRAM, 8);
  const out: unknown[] = [null];
  checkErrno(ws2().GetAddrInfoW(host, null, hints, out), 'getaddrinfo', { address: host });
  const head = out[0];
  const addresses: SocketAddress[] = [];
  try {
    let node = head;
    while (node !== null && node !== undefined && node !== 0n) {
      const record = readNative(node, 48);
      const addrLength = Number(record.readBigUInt64LE(16));
      const addrPointer = record.readBigUInt64LE(32);
      if (addrPointer !== 0n && addrLength > 0) {
        const address = decodeSockaddr(readNative(addrPointer, addrLength));
        if (address !== null) addresses.push(address);
      }
      const next = record.readBigUInt64LE(40);
      node = next === 0n ? null : next;
    }
  } finally {
    ws2().FreeAddrInfoW(head);
  }
  return addresses;
}
