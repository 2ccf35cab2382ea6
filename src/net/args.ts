// node:net's reading of the arguments of connect() and listen(), shared by connect.ts and
// server.ts: which form was used (options, port and host, or an IPC path), where the
// callback is, and the options node:net has that winsock-ffi does not support. Ports of
// normalizeArgs, isPipeName and toNumber in Node's lib/net.js, so that the same
// arguments mean the same thing here and fail with the same errors.

import { BlockList } from 'node:net';
import { invalidArgType, invalidArgValue } from '../core/node-errors.ts';
import type { NodeCodedError } from '../core/node-errors.ts';

/** Any options object, read as node:net reads it. */
export type NetOptions = Record<string, unknown>;

/** node:net's toNumber: the number, if it is one >= 0, else false. */
export function toNumber(value: unknown): number | false {
  const number = Number(value);
  return number >= 0 ? number : false;
}

/** A string that is not a number >= 0 names an IPC path ('80' is a port, '-1' and 'x' are paths). */
export function isPipeName(value: unknown): value is string {
  return typeof value === 'string' && toNumber(value) === false;
}

/**
 * node:net's normalizeArgs: `(options[, ...][, cb])`, `(path[, ...][, cb])` or
 * `([port][, host][, ...][, cb])` as `[options, cb]`. The options object is the caller's
 * own in the first form (read it, never write it).
 */
export function normalizeArgs(args: readonly unknown[]): [NetOptions, ((...a: unknown[]) => unknown) | null] {
  if (args.length === 0) return [{}, null];
  const first = args[0];
  let options: NetOptions;
  if (typeof first === 'object' && first !== null) options = first as NetOptions;
  else if (isPipeName(first)) options = { path: first };
  else {
    options = { port: first };
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const last = args[args.length - 1];
  return [options, typeof last === 'function' ? (last as (...a: unknown[]) => unknown) : null];
}

/** node:net's socketToDnsFamily: 'IPv4' and 'IPv6' as 4 and 6, anything else as it is. */
export function dnsFamily(family: unknown): unknown {
  return family === 'IPv4' ? 4 : family === 'IPv6' ? 6 : family;
}

/**
 * A `blockList` option, checked as node:net checks it where node:net has one (22.13+:
 * `net.BlockList.isBlockList`): undefined when absent or falsy, the BlockList otherwise.
 * On a Node without it the option is ignored, as that node:net ignores it.
 */
export function checkBlockList(value: unknown): BlockList | undefined {
  if (!value) return undefined;
  const isBlockList = (BlockList as unknown as { isBlockList?: (value: unknown) => boolean }).isBlockList;
  if (typeof isBlockList !== 'function') return undefined;
  if (!isBlockList.call(BlockList, value)) throw invalidArgType('options.blockList', 'net.BlockList', value);
  return value as BlockList;
}

/**
 * The error for a valid node:net option that winsock-ffi cannot honour (an IPC path, a
 * file descriptor): reported as node:net reports a path or descriptor it cannot use,
 * through 'error', not thrown.
 */
export function unsupported(name: string, value: unknown, what: string): NodeCodedError {
  return invalidArgValue(name, value, `is not supported by winsock-ffi, which ${what}; use node:net for it`);
}
