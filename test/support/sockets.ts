// Helpers shared by the Socket specs: loopback endpoints per family, connected
// pairs, and a tracker that closes whatever a test opened even when it fails.

import { expect } from 'chai';
import { Socket, WinsockError } from '../../src/index.ts';
import type { AddressFamily } from '../../src/index.ts';
import * as sys from '../../src/sys/index.ts';

export interface FamilyCase {
  readonly family: AddressFamily;
  readonly loopback: string;
  /** The wildcard address of the family. */
  readonly any: string;
}

export const families: readonly FamilyCase[] = [
  { family: 'ipv4', loopback: '127.0.0.1', any: '0.0.0.0' },
  { family: 'ipv6', loopback: '::1', any: '::' },
];

/** Collects sockets a test opens; closeAll() in afterEach closes them all. */
export class SocketTracker {
  readonly #sockets: Socket[] = [];

  track<T extends Socket>(socket: T): T {
    this.#sockets.push(socket);
    return socket;
  }

  closeAll(): void {
    for (const socket of this.#sockets.splice(0)) socket.close();
  }
}

export interface TcpPair {
  readonly listener: Socket;
  readonly client: Socket;
  readonly server: Socket;
}

/** A listener on the loopback address of `family` and one connection to it. */
export function tcpPair(tracker: SocketTracker, family: FamilyCase): TcpPair {
  const listener = tracker.track(Socket.listen({ address: family.loopback, port: 0 }));
  const client = tracker.track(Socket.connect({ address: family.loopback, port: listener.localAddress.port }));
  const server = tracker.track(listener.accept());
  return { listener, client, server };
}

/** Runs `fn`, which must throw, and returns what it threw. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail('expected the call to throw');
}

/** Runs `fn`, which must throw a WinsockError with `code` (and `syscall` when given). */
export function expectWinsockError(fn: () => unknown, code: string, syscall?: string): WinsockError {
  const error = thrownBy(fn);
  expect(error).to.be.instanceOf(WinsockError);
  const winsock = error as WinsockError;
  expect(winsock.code, winsock.message).to.equal(code);
  if (syscall !== undefined) expect(winsock.syscall).to.equal(syscall);
  return winsock;
}

/** Receives exactly `length` bytes and returns them as a string. */
export function recvText(socket: Socket, length: number): string {
  const buffer = Buffer.alloc(length);
  socket.recvExact(buffer);
  return buffer.toString('utf8');
}

/** Whether `handle` is an open socket now (SO_PROTOCOL_INFOW answers for it). */
export function isOpenSocket(handle: number): boolean {
  try {
    sys.describeSocket(handle);
    return true;
  } catch {
    return false;
  }
}

/** Handle numbers this package counts as owned while the system is free to hand them out again. */
export interface StaleClaims {
  readonly numbers: readonly number[];
  /** Closes the Sockets that hold the claims (their handles are gone: WSAENOTSOCK, ignored). */
  release(): void;
}

/**
 * `count` sockets adopted by Sockets and then closed behind those Sockets' backs, as a
 * library closing a handle it had handed over would: the package still counts their
 * numbers as owned, and the system hands them out again (Windows and Wine reuse freed
 * numbers at once). What the package creates next is likely to get one of them.
 */
export function staleClaims(count: number): StaleClaims {
  const numbers = Array.from({ length: count }, () => sys.createSocket('ipv4', 'tcp'));
  const sockets: Socket[] = [];
  try {
    for (const raw of numbers) sockets.push(Socket.fromHandle(raw));
  } catch (error) {
    // A number claimed already (a test before this one left a claim behind): nothing stale is left by this one.
    for (const socket of sockets) socket.close();
    for (const raw of numbers.slice(sockets.length)) sys.closeSocket(raw);
    throw error;
  }
  for (const raw of numbers) sys.closeSocket(raw);
  return {
    numbers,
    release() {
      for (const socket of sockets) {
        try {
          socket.close();
        } catch {
          // WSAENOTSOCK: the handle was closed behind its back.
        }
      }
    },
  };
}

/** Runs `fn` and returns what it returned or what it threw. */
export function outcomeOf<T>(fn: () => T): T | unknown {
  try {
    return fn();
  } catch (error) {
    return error;
  }
}
