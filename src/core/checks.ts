// Argument checks, in one place: every public entry point refuses bad input here,
// with TypeError for the wrong kind of value and RangeError for one out of range,
// before any native call. Pure TypeScript: no Winsock, so testable on any OS.

import { parseIPv4, parseIPv6 } from '../base/address.ts';
import type { AddressFamily, SocketAddressInput } from '../base/address.ts';
import { SocketStateError } from './errors.ts';
import { checkInteger, describe } from '../base/values.ts';

export { checkInteger, describe } from '../base/values.ts';

const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** An int32 of at least `min` (socket option values, sizes). */
export function checkInt32(value: unknown, name: string, min: number): number {
  return checkInteger(value, name, min, INT32_MAX);
}

/** A listen() backlog: 0 to 2^31-1. */
export function checkBacklog(value: unknown): number {
  return checkInt32(value, 'backlog', 0);
}

function checkMs(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer number of milliseconds, got ${describe(value)}`);
  if (value < min || value > UINT32_MAX) throw new RangeError(`${name} must be between ${min} and ${UINT32_MAX}, got ${value}`);
  return value;
}

/** A time limit that must be at least 1 ms (up to 2^32-1): connect timeouts, keep-alive timings. */
export function checkPositiveMs(value: unknown, name: string): number {
  return checkMs(value, name, 1);
}

/** A duration from 0 to 2^32-1 ms, where 0 has a meaning of its own (no timeout, or just look). */
export function checkMsOrZero(value: unknown, name: string): number {
  return checkMs(value, name, 0);
}

/** An options argument: an object (never null). */
export function checkObject(value: unknown, name = 'options'): void {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be an object, got ${describe(value)}`);
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** An optional boolean option: undefined or a boolean, never 'yes' or 1. */
export function checkOptionalBoolean(value: unknown, name: string): boolean | undefined {
  return value === undefined ? undefined : checkBoolean(value, name);
}

// The built-in getters of every typed array: a Uint8Array's own properties or a
// subclass may say anything, but native calls read and write the memory these describe.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
function builtinGetter(prototype: object, name: string): (this: unknown) => unknown {
  const getter = Object.getOwnPropertyDescriptor(prototype, name)?.get;
  if (getter === undefined) throw new Error(`internal error: no built-in ${name} getter`);
  return getter;
}
const viewBuffer = builtinGetter(typedArrayPrototype, 'buffer');
const viewByteOffset = builtinGetter(typedArrayPrototype, 'byteOffset');
const viewByteLength = builtinGetter(typedArrayPrototype, 'byteLength');
const bufferDetached = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached')?.get;

/** True when the view's ArrayBuffer was detached (transferred, or given to a worker). */
function isDetached(buffer: ArrayBufferLike): boolean {
  if (bufferDetached !== undefined) {
    try {
      return bufferDetached.call(buffer) === true;
    } catch {
      return false; // a SharedArrayBuffer: it cannot be detached
    }
  }
  // Before ArrayBuffer.prototype.detached (Node 20): a detached buffer refuses new views.
  if (!(buffer instanceof ArrayBuffer)) return false;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** Members of a view that this package reads or calls: an own property of that name shadows the built-in. */
const VIEW_MEMBERS = ['buffer', 'byteOffset', 'byteLength', 'length', 'subarray', 'set', 'constructor'] as const;

/** Whether `value` shadows a view member with an own property (a loop, not some(): no closure per call). */
function hasOwnViewMember(value: Uint8Array): boolean {
  for (const member of VIEW_MEMBERS) if (Object.hasOwn(value, member)) return true;
  return false;
}

/**
 * A Buffer or Uint8Array; `nonEmpty` for receives (a zero-length recv returns 0, which
 * reads as the end of the stream). A detached one is refused with a TypeError that says
 * so. Returns the view to use from then on: the value itself when it is a plain
 * Uint8Array or Buffer, else a plain Uint8Array over the same memory, so that a subclass
 * or an own property cannot make a native call read or write past the real bytes.
 */
export function checkBuffer(value: unknown, name: string, nonEmpty: boolean): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Buffer or Uint8Array, got ${describe(value)}`);
  const buffer = viewBuffer.call(value) as ArrayBufferLike;
  if (isDetached(buffer)) throw new TypeError(`${name} is detached: its ArrayBuffer was transferred, so it has no bytes to use`);
  const byteLength = viewByteLength.call(value) as number;
  if (nonEmpty && byteLength === 0) throw new RangeError(`${name} must not be empty`);
  const prototype = Object.getPrototypeOf(value) as unknown;
  if ((prototype === Uint8Array.prototype || prototype === Buffer.prototype) && !hasOwnViewMember(value)) return value;
  return new Uint8Array(buffer, viewByteOffset.call(value) as number, byteLength);
}

/** The most buffers sendv/recvv/sendAsync take in one call. */
export const MAX_BUFFERS = 1024;

/**
 * An array of Buffers / Uint8Arrays (sendv, recvv, sendAsync): its length and each
 * element read once, each checked as checkBuffer() does, the views written into `into`
 * (whose length is set to the count, which is returned). `needRoom` for receives: at
 * least one byte in all. The total must fit an int (2^31-1).
 */
export function checkBufferList(value: unknown, name: string, into: Uint8Array[], needRoom: boolean): number {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of Buffers or Uint8Arrays, got ${describe(value)}`);
  const count = (value as unknown[]).length;
  if (count > MAX_BUFFERS) throw new RangeError(`${name} must hold at most ${MAX_BUFFERS} buffers, got ${count}`);
  let total = 0;
  into.length = count;
  for (let i = 0; i < count; i++) {
    const view = checkBuffer((value as unknown[])[i], `${name}[${i}]`, false);
    into[i] = view;
    total += view.byteLength;
  }
  if (needRoom && total === 0) throw new RangeError(`${name} must hold at least one byte of room`);
  if (total > INT32_MAX) throw new RangeError(`${name} must hold at most ${INT32_MAX} bytes in all, got ${total}`);
  return count;
}

/** A multicast group: a literal of `family` in 224.0.0.0/4 (IPv4) or ff00::/8 (IPv6). */
export function checkMulticastGroup(value: unknown, family: AddressFamily, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} multicast address, got ${describe(value)}`);
  const first = family === 'ipv4' ? parseIPv4(value)?.[0] : parseIPv6(value)?.bytes[0];
  if (first === undefined) throw new TypeError(`${name} must be an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address literal, got ${describe(value)}`);
  const multicast = family === 'ipv4' ? first >= 224 && first <= 239 : first === 0xff;
  if (!multicast) throw new RangeError(`${name} must be a multicast address (${family === 'ipv4' ? '224.0.0.0/4' : 'ff00::/8'}), got ${value}`);
  return value;
}

/**
 * A multicast interface: for IPv4 a local IPv4 address literal (undefined: '0.0.0.0', the
 * system's choice), for IPv6 an interface index (undefined: 0, the system's choice).
 */
export function checkInterface(value: unknown, family: AddressFamily, name: string): string | number {
  if (family === 'ipv4') {
    if (value === undefined) return '0.0.0.0';
    if (typeof value !== 'string' || parseIPv4(value) === null) throw new TypeError(`${name} must be a local IPv4 address, got ${describe(value)}`);
    return value;
  }
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw new TypeError(`${name} must be an interface index (a number) for IPv6, got ${describe(value)}`);
  return checkInteger(value, name, 0, UINT32_MAX);
}

/** A port for bind/connect/sendTo (0 lets the OS choose when binding). */
export function checkPort(port: unknown, name = 'port'): number {
  return checkInteger(port, name, 0, 65535);
}

export function checkFamily(family: unknown): AddressFamily {
  if (family !== 'ipv4' && family !== 'ipv6') throw new TypeError(`family must be 'ipv4' or 'ipv6', got ${describe(family)}`);
  return family;
}

/** A `family` option: undefined (null: any family) or 'ipv4' / 'ipv6'. */
export function checkOptionalFamily(family: unknown): AddressFamily | null {
  return family === undefined ? null : checkFamily(family);
}

/** A host name or address text: non-empty, no NUL (the C side would cut the string there). */
export function checkHost(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string, got ${describe(value)}`);
  if (value.includes('\0')) throw new TypeError(`${name} must not contain NUL characters`);
  return value;
}

declare const checked: unique symbol;

/** What checkAddressInput() returns: a plain object of our own, whose fields were read once and checked. */
export interface CheckedAddress extends SocketAddressInput {
  readonly [checked]: true;
}

/**
 * `{ address, port }` (shape and port; the address may be a host name). Reads each
 * field once and returns a plain snapshot: callers use it and never the caller's
 * object again, so a getter cannot change a value after it was checked.
 */
export function checkAddressInput(value: unknown, name = 'address'): CheckedAddress {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be an object { address, port }, got ${describe(value)}`);
  const { address, port } = value as { address?: unknown; port?: unknown };
  const snapshot = { address: checkHost(address, `${name}.address`), port: checkPort(port, `${name}.port`) };
  return snapshot as CheckedAddress;
}

/** The `signal` of an async call's options, if any. */
export function checkSignal(options: { readonly signal?: AbortSignal } | undefined): AbortSignal | undefined {
  if (options === undefined) return undefined;
  checkObject(options);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  return signal;
}

/** Calls only a TCP socket can make (listen, accept, streams, the fast path). */
export function requireTcp(socket: { readonly type: string }, operation: string): void {
  if (socket.type !== 'tcp') throw new SocketStateError('ERR_SOCKET_TYPE', `${operation} needs a TCP socket; this one is UDP`);
}

/** Calls only a UDP socket can make (datagrams to an address, multicast, broadcast). */
export function requireUdp(socket: { readonly type: string }, operation: string): void {
  if (socket.type !== 'udp') throw new SocketStateError('ERR_SOCKET_TYPE', `${operation} needs a UDP socket; this one is TCP`);
}
