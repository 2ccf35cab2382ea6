// Socket options as a table (socket2's style): each spec says where the option lives
// (level and name, per family where they differ), how its value is checked and coded,
// and what the socket must be. Socket's option methods are one line each over
// getOption/setOption; the stream uses the same specs on its core. The few options
// whose values are structures (SO_LINGER, SIO_KEEPALIVE_VALS, memberships, the
// multicast interface) are functions below the table.

import type { AddressFamily } from '../base/address.ts';
import * as sys from '../sys/index.ts';
import { constants as c } from '../sys/index.ts';
import { checkBoolean, checkInt32, checkInteger, checkMsOrZero, checkPositiveMs, describe, requireTcp, requireUdp } from './checks.ts';
import { SocketStateError } from './errors.ts';
import type { SocketCore } from './socket-core.ts';

/** What the socket must be for the option to apply. */
type Requirement = 'tcp' | 'udp' | 'ipv6' | null;

/** How a value is checked (TypeError/RangeError naming the call) and turned into the OS's int, and back. */
interface Codec<T> {
  encode(value: unknown, operation: string): number;
  decode(raw: number): T;
}

export interface OptionSpec<T> {
  /** [level, name]; or one pair per family. */
  readonly at: readonly [number, number] | { readonly ipv4: readonly [number, number]; readonly ipv6: readonly [number, number] };
  readonly codec: Codec<T>;
  readonly requires: Requirement;
}

/** On/off: a boolean, sent as 1/0. */
const flag: Codec<boolean> = {
  encode: (value, operation) => (checkBoolean(value, `${operation}: on`) ? 1 : 0),
  decode: (raw) => raw !== 0,
};

/** A byte count from 0 to 2^31-1. */
const bytes: Codec<number> = {
  encode: (value) => checkInt32(value, 'bytes', 0),
  decode: (raw) => raw,
};

/** Milliseconds, 0 meaning none (a DWORD: read unsigned). */
const ms: Codec<number> = {
  encode: (value) => checkMsOrZero(value, 'ms'),
  decode: (raw) => raw >>> 0,
};

/** An integer in [min, max], named `name` in errors. */
function range(name: string, min: number, max: number): Codec<number> {
  return { encode: (value) => checkInteger(value, name, min, max), decode: (raw) => raw };
}

function spec<T>(at: OptionSpec<T>['at'], codec: Codec<T>, requires: Requirement = null): OptionSpec<T> {
  return { at, codec, requires };
}

export const OPTIONS = {
  /** TCP_NODELAY */
  noDelay: spec([c.IPPROTO_TCP, c.TCP_NODELAY], flag),
  /** SO_REUSEADDR */
  reuseAddress: spec([c.SOL_SOCKET, c.SO_REUSEADDR], flag),
  /** SO_EXCLUSIVEADDRUSE */
  exclusiveAddressUse: spec([c.SOL_SOCKET, c.SO_EXCLUSIVEADDRUSE], flag),
  /** SO_KEEPALIVE (timings: setKeepAlive below) */
  keepAlive: spec([c.SOL_SOCKET, c.SO_KEEPALIVE], flag),
  /** SO_RCVBUF */
  receiveBufferSize: spec([c.SOL_SOCKET, c.SO_RCVBUF], bytes),
  /** SO_SNDBUF */
  sendBufferSize: spec([c.SOL_SOCKET, c.SO_SNDBUF], bytes),
  /** SO_RCVTIMEO */
  receiveTimeout: spec([c.SOL_SOCKET, c.SO_RCVTIMEO], ms),
  /** SO_SNDTIMEO */
  sendTimeout: spec([c.SOL_SOCKET, c.SO_SNDTIMEO], ms),
  /** IPV6_V6ONLY */
  ipv6Only: spec([c.IPPROTO_IPV6, c.IPV6_V6ONLY], flag, 'ipv6'),
  /** SO_BROADCAST */
  broadcast: spec([c.SOL_SOCKET, c.SO_BROADCAST], flag, 'udp'),
  /** IP_MULTICAST_TTL / IPV6_MULTICAST_HOPS */
  multicastTTL: spec({ ipv4: [c.IPPROTO_IP, c.IP_MULTICAST_TTL], ipv6: [c.IPPROTO_IPV6, c.IPV6_MULTICAST_HOPS] }, range('ttl', 0, 255), 'udp'),
  /** IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP */
  multicastLoopback: spec({ ipv4: [c.IPPROTO_IP, c.IP_MULTICAST_LOOP], ipv6: [c.IPPROTO_IPV6, c.IPV6_MULTICAST_LOOP] }, flag, 'udp'),
  /** SO_REUSE_UNICASTPORT */
  reuseUnicastPort: spec([c.SOL_SOCKET, c.SO_REUSE_UNICASTPORT], flag),
  /** TCP_KEEPCNT */
  keepAliveProbes: spec([c.IPPROTO_TCP, c.TCP_KEEPCNT], range('count', 0, 255), 'tcp'),
  /** TCP_FASTOPEN */
  fastOpen: spec([c.IPPROTO_TCP, c.TCP_FASTOPEN], flag, 'tcp'),
} as const;

function where(spec: OptionSpec<unknown>, family: AddressFamily): readonly [number, number] {
  const at = spec.at;
  return 'ipv4' in at ? at[family] : at;
}

function requireFor(core: SocketCore, spec: OptionSpec<unknown>, operation: string): void {
  if (spec.requires === 'tcp') requireTcp(core, operation);
  else if (spec.requires === 'udp') requireUdp(core, operation);
  else if (spec.requires === 'ipv6') requireFamily(core, operation, 'ipv6');
}

/** getsockopt for `spec`, decoded. */
export function getOption<T>(core: SocketCore, spec: OptionSpec<T>, operation: string): T {
  const handle = core.live(operation);
  requireFor(core, spec, operation);
  const [level, name] = where(spec, core.family);
  return spec.codec.decode(sys.getRawIntOption(handle, level, name));
}

/** setsockopt for `spec`: the value checked (before any native call), then coded. */
export function setOption<T>(core: SocketCore, spec: OptionSpec<T>, value: unknown, operation: string): void {
  const handle = core.live(operation);
  requireFor(core, spec, operation);
  const raw = spec.codec.encode(value, operation);
  const [level, name] = where(spec, core.family);
  sys.setRawIntOption(handle, level, name, raw);
}

export function requireFamily(core: SocketCore, operation: string, family: AddressFamily): void {
  if (core.family !== family) throw new SocketStateError('ERR_SOCKET_FAMILY', `${operation} needs an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} socket; this one is ${core.family === 'ipv4' ? 'IPv4' : 'IPv6'}`);
}

// --- Options whose values are structures ----------------------------------------------

/** Windows' default TCP keep-alive timings, used when only one of them is given. */
const DEFAULT_KEEPALIVE_IDLE_MS = 2 * 60 * 60 * 1000;
const DEFAULT_KEEPALIVE_INTERVAL_MS = 1000;

/** SO_KEEPALIVE; with timings, SIO_KEEPALIVE_VALS (idle time before the first probe, interval between probes, in ms). */
export function setKeepAlive(core: SocketCore, on: unknown, timings: unknown, operation: string): void {
  const handle = core.live(operation);
  checkBoolean(on, 'on');
  if (timings === undefined) {
    sys.setRawIntOption(handle, c.SOL_SOCKET, c.SO_KEEPALIVE, on ? 1 : 0);
    return;
  }
  if (typeof timings !== 'object' || timings === null) throw new TypeError(`timings must be an object { idleMs?, intervalMs? }, got ${describe(timings)}`);
  // Only undefined means "the default": null is refused like any other non-number.
  const { idleMs, intervalMs } = timings as { idleMs?: unknown; intervalMs?: unknown };
  sys.setKeepAliveValues(
    handle,
    on as boolean,
    idleMs === undefined ? DEFAULT_KEEPALIVE_IDLE_MS : checkPositiveMs(idleMs, 'idleMs'),
    intervalMs === undefined ? DEFAULT_KEEPALIVE_INTERVAL_MS : checkPositiveMs(intervalMs, 'intervalMs'),
  );
}

/** SO_LINGER: with `on`, close() waits up to `seconds` (0-65535) for unsent data; `on` with 0 resets the connection at close. */
export function setLinger(core: SocketCore, on: unknown, seconds: unknown, operation: string): void {
  const handle = core.live(operation);
  checkBoolean(on, `${operation}: on`);
  checkInteger(seconds, 'seconds', 0, 0xffff);
  requireTcp(core, operation);
  sys.setLinger(handle, on as boolean, seconds as number);
}
