// Node-shaped errors. Argument errors of the drop-in layer as node:net throws them (below:
// the builders of lib/internal/errors.js and the validators of lib/internal/validators.js).
// Errors of the net-compatible layer carry Node's codes, as libuv maps Winsock's
// (uv_translate_sys_error in libuv's src/win/error.c): code 'ECONNREFUSED', errno the
// libuv number Node reports on this platform, syscall, address and port. The Winsock
// name and number stay on the error as winsockCode / winsockErrno. The Socket API
// itself keeps its WSA codes.

import dns from 'node:dns';
import { format, getSystemErrorMap, inspect } from 'node:util';
import { WinsockError } from './errors.ts';

/** Winsock / Win32 error names and the libuv error each becomes. */
const LIBUV_NAMES: Readonly<Record<string, string>> = {
  WSAEACCES: 'EACCES',
  WSAEADDRINUSE: 'EADDRINUSE',
  WSAEADDRNOTAVAIL: 'EADDRNOTAVAIL',
  WSAEAFNOSUPPORT: 'EAFNOSUPPORT',
  WSAEWOULDBLOCK: 'EAGAIN',
  WSAEALREADY: 'EALREADY',
  ERROR_INVALID_HANDLE: 'EBADF',
  WSA_OPERATION_ABORTED: 'ECANCELED',
  WSAEINTR: 'ECANCELED',
  ERROR_CONNECTION_ABORTED: 'ECONNABORTED',
  WSAECONNABORTED: 'ECONNABORTED',
  ERROR_CONNECTION_REFUSED: 'ECONNREFUSED',
  WSAECONNREFUSED: 'ECONNREFUSED',
  ERROR_NETNAME_DELETED: 'ECONNRESET',
  WSAECONNRESET: 'ECONNRESET',
  WSAEFAULT: 'EFAULT',
  WSAEHOSTUNREACH: 'EHOSTUNREACH',
  ERROR_INVALID_PARAMETER: 'EINVAL',
  WSAEINVAL: 'EINVAL',
  WSAEPFNOSUPPORT: 'EINVAL',
  WSAEISCONN: 'EISCONN',
  WSAEMFILE: 'EMFILE',
  WSAEMSGSIZE: 'EMSGSIZE',
  WSAENETUNREACH: 'ENETUNREACH',
  WSAENOBUFS: 'ENOBUFS',
  WSAHOST_NOT_FOUND: 'ENOENT',
  WSANO_DATA: 'ENOENT',
  WSAENOTCONN: 'ENOTCONN',
  WSAENOTSOCK: 'ENOTSOCK',
  WSAESHUTDOWN: 'EPIPE',
  WSAEPROTONOSUPPORT: 'EPROTONOSUPPORT',
  WSAETIMEDOUT: 'ETIMEDOUT',
  WSAESOCKTNOSUPPORT: 'ESOCKTNOSUPPORT',
};

let libuvNumbers: Map<string, number> | null = null;

/** The errno Node reports for a libuv error name here (libuv numbers differ between Windows and Unix). */
function libuvErrno(name: string): number | undefined {
  if (libuvNumbers === null) {
    libuvNumbers = new Map();
    for (const [errno, [code]] of getSystemErrorMap()) libuvNumbers.set(code, errno);
  }
  return libuvNumbers.get(name);
}

/** A Node-style system error, with the Winsock facts kept beside. */
export interface NodeSystemError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  address?: string;
  port?: number;
  winsockCode?: string;
  winsockErrno?: number;
}

/**
 * A WinsockError as Node's own networking would have reported it ('connect
 * ECONNREFUSED 127.0.0.1:1'); any other error as it is. `syscall` names the call the
 * way node:net does ('connect', 'read', 'write') when given.
 */
export function toNodeError(error: unknown, syscall?: string): unknown {
  if (!(error instanceof WinsockError)) return error;
  const code = LIBUV_NAMES[error.code] ?? 'UNKNOWN';
  const call = syscall ?? error.syscall;
  const where = error.address !== undefined ? ` ${error.address}${error.port !== undefined ? `:${error.port}` : ''}` : '';
  const mapped = new Error(`${call} ${code}${where}`, { cause: error }) as NodeSystemError;
  mapped.code = code;
  const errno = libuvErrno(code);
  if (errno !== undefined) mapped.errno = errno;
  mapped.syscall = call;
  if (error.address !== undefined) mapped.address = error.address;
  if (error.port !== undefined) mapped.port = error.port;
  mapped.winsockCode = error.code;
  mapped.winsockErrno = error.errno;
  return mapped;
}

// --- Argument errors, as node:net throws them ---------------------------------------
//
// The drop-in layer (src/net/, SocketStream's net.Socket methods) refuses bad arguments
// with the errors node:net gives for the same input: the same class (a plain TypeError,
// RangeError or Error: `error.constructor` is the base class, as Node's are), the same
// `code` and the same message, which Node builds from the argument's name and the value
// received (lib/internal/errors.js). The builders below are ports of those, the validators
// ports of lib/internal/validators.js; the entry points call them in node:net's order
// (lib/net.js), so that the first bad argument is the one reported.

type ErrorClass = ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor;

/** A Node-style error: `code` ('ERR_SOCKET_BAD_PORT') beside the message. */
export interface NodeCodedError extends Error {
  code: string;
}

const nodeErrorClasses = new Map<ErrorClass, new (message: string) => Error>();

/**
 * As Node's NodeError classes: a subclass of `Base` whose `constructor` reads as `Base`
 * and whose toString() is 'TypeError [ERR_X]: message'.
 */
function nodeErrorClass(Base: ErrorClass): new (message: string) => Error {
  let made = nodeErrorClasses.get(Base);
  if (made === undefined) {
    const NodeError = class NodeError extends (Base as ErrorConstructor) {};
    Object.defineProperties(NodeError.prototype, {
      constructor: { get: () => Base, enumerable: false, configurable: true },
      toString: {
        value(this: NodeCodedError) {
          return `${this.name} [${this.code}]: ${this.message}`;
        },
        writable: true,
        enumerable: false,
        configurable: true,
      },
    });
    made = NodeError;
    nodeErrorClasses.set(Base, made);
  }
  return made;
}

/** A `Base` error with Node's `code`; its stack starts 'TypeError [ERR_X]: message', as Node's do. */
export function nodeError(Base: ErrorClass, code: string, message: string): NodeCodedError {
  const error = new (nodeErrorClass(Base))(message) as NodeCodedError;
  error.code = code;
  // The stack's first line is written when it is first read: read it once with the code in the name.
  Object.defineProperty(error, 'name', { value: `${error.name} [${code}]`, writable: true, enumerable: false, configurable: true });
  void error.stack;
  delete (error as { name?: string }).name;
  return error;
}

/**
 * Whether this Node names an object's type by `constructor.name` only when that is a
 * non-empty string (Node 26), rather than whenever `constructor` has a `name` (before):
 * asked once, of Node itself, through an argument check of its own that throws before
 * doing anything (process.nextTick's check of its callback).
 */
let readsConstructorNameOnce: boolean | undefined;
function constructorNameRule(): boolean {
  if (readsConstructorNameOnce === undefined) {
    let message = '';
    try {
      process.nextTick({ constructor: { name: '' } } as unknown as () => void);
    } catch (error) {
      message = (error as Error).message;
    }
    readsConstructorNameOnce = !message.endsWith('an instance of ');
  }
  return readsConstructorNameOnce;
}

/** How Node describes a value it did not expect (lib/internal/errors.js determineSpecificType). */
export function describeReceived(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'number':
      if (value === 0) return 1 / value === -Infinity ? 'type number (-0)' : 'type number (0)';
      if (Number.isNaN(value)) return 'type number (NaN)';
      if (value === Infinity) return 'type number (Infinity)';
      if (value === -Infinity) return 'type number (-Infinity)';
      return `type number (${value})`;
    case 'boolean':
      return value ? 'type boolean (true)' : 'type boolean (false)';
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${value.name}`;
    case 'object': {
      if (constructorNameRule()) {
        const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
        if (typeof name === 'string' && name !== '') return `an instance of ${name}`;
      } else {
        const constructor = (value as { constructor?: { name?: unknown } }).constructor;
        if (constructor && 'name' in constructor) return `an instance of ${String(constructor.name)}`;
      }
      return inspect(value, { depth: -1 });
    }
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` : `type string ('${shown}')`;
    }
    default: {
      let shown = inspect(value, { colors: false });
      if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
      return `type ${typeof value} (${shown})`;
    }
  }
}

/** 'A', 'A or B', 'A, B, or C' (lib/internal/errors.js formatList). */
function formatList(items: readonly string[], type = 'and'): string {
  switch (items.length) {
    case 0:
      return '';
    case 1:
      return items[0]!;
    case 2:
      return `${items[0]} ${type} ${items[1]}`;
    default:
      return `${items.slice(0, -1).join(', ')}, ${type} ${items[items.length - 1]}`;
  }
}

/** '1_000_000' for '1000000' (Node's way of printing large integers in range errors). */
function addNumericalSeparator(value: string): string {
  let result = '';
  let i = value.length;
  const start = value[0] === '-' ? 1 : 0;
  for (; i >= start + 4; i -= 3) result = `_${value.slice(i - 3, i)}${result}`;
  return `${value.slice(0, i)}${result}`;
}

const TYPE_NAMES = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol'];
const CLASS_NAME = /^[A-Z][a-zA-Z0-9]*$/;

/** ERR_INVALID_ARG_TYPE: 'The "options.port" property must be one of type number or string. Received ...'. */
export function invalidArgType(name: string, expected: string | readonly string[], actual: unknown): NodeCodedError {
  const wanted = typeof expected === 'string' ? [expected] : expected;
  let message = 'The ';
  if (name.endsWith(' argument')) message += `${name} `;
  else message += `"${name}" ${name.includes('.') ? 'property' : 'argument'} `;
  message += 'must be ';
  const types: string[] = [];
  const instances: string[] = [];
  const other: string[] = [];
  for (const value of wanted) {
    if (TYPE_NAMES.includes(value)) types.push(value.toLowerCase());
    else if (CLASS_NAME.test(value)) instances.push(value);
    else other.push(value);
  }
  if (instances.length > 0) {
    const objectAt = types.indexOf('object');
    if (objectAt !== -1) {
      types.splice(objectAt, 1);
      instances.push('Object');
    }
  }
  if (types.length > 0) {
    message += `${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types, 'or')}`;
    if (instances.length > 0 || other.length > 0) message += ' or ';
  }
  if (instances.length > 0) {
    message += `an instance of ${formatList(instances, 'or')}`;
    if (other.length > 0) message += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 1) message += `one of ${formatList(other, 'or')}`;
    else {
      if (other[0]!.toLowerCase() !== other[0]) message += 'an ';
      message += other[0];
    }
  }
  message += `. Received ${describeReceived(actual)}`;
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', message);
}

/** ERR_INVALID_ARG_VALUE: "The property 'options.family' must be one of: 0, 4, 6. Received 5". */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): NodeCodedError {
  let inspected = inspect(value);
  if (inspected.length > 128) inspected = `${inspected.slice(0, 128)}...`;
  return nodeError(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${inspected}`);
}

/** ERR_OUT_OF_RANGE: 'The value of "msecs" is out of range. It must be a non-negative finite number. Received -1'. */
export function outOfRange(name: string, range: string, input: unknown): NodeCodedError {
  let received: string;
  if (typeof input === 'number' && Number.isInteger(input) && Math.abs(input) > 2 ** 32) received = addNumericalSeparator(String(input));
  else if (typeof input === 'bigint') {
    received = String(input);
    if (input > 2n ** 32n || input < -(2n ** 32n)) received = addNumericalSeparator(received);
    received += 'n';
  } else received = inspect(input);
  return nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${received}`);
}

/** ERR_SOCKET_BAD_PORT: "Port should be >= 0 and < 65536. Received type string ('80x')." */
export function socketBadPort(name: string, port: unknown, allowZero = true): NodeCodedError {
  return nodeError(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeReceived(port)}.`);
}

/** ERR_MISSING_ARGS: 'The "options" or "port" or "path" argument must be specified'. */
export function missingArgs(...names: Array<string | readonly string[]>): NodeCodedError {
  const wrap = (name: string): string => `"${name}"`;
  const listed = names.map((name) => (typeof name === 'string' ? wrap(name) : name.map(wrap).join(' or ')));
  return nodeError(TypeError, 'ERR_MISSING_ARGS', `The ${formatList(listed)} argument${names.length > 1 ? 's' : ''} must be specified`);
}

/** ERR_INVALID_IP_ADDRESS: 'Invalid IP address: 300.1.1.1'. */
export function invalidIpAddress(address: unknown): NodeCodedError {
  return nodeError(TypeError, 'ERR_INVALID_IP_ADDRESS', format('Invalid IP address: %s', address));
}

/** ERR_IP_BLOCKED: a connection to an address the `blockList` option denies. */
export function ipBlocked(address: string): NodeCodedError {
  return nodeError(Error, 'ERR_IP_BLOCKED', `IP(${address}) is blocked by net.BlockList`);
}

/** ERR_INVALID_ADDRESS_FAMILY: a custom `lookup` answered with a family that is neither 4 nor 6. */
export function invalidAddressFamily(family: unknown, host: unknown, port: unknown): NodeCodedError & { host: unknown; port: unknown } {
  const error = nodeError(RangeError, 'ERR_INVALID_ADDRESS_FAMILY', `Invalid address family: ${String(family)} ${String(host)}:${String(port)}`) as NodeCodedError & { host: unknown; port: unknown };
  error.host = host;
  error.port = port;
  return error;
}

/** ERR_SERVER_ALREADY_LISTEN: listen() on a server that is listening. */
export function serverAlreadyListen(): NodeCodedError {
  return nodeError(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
}

/** ERR_SERVER_NOT_RUNNING: close(callback) on a server that is not listening. */
export function serverNotRunning(): NodeCodedError {
  return nodeError(Error, 'ERR_SERVER_NOT_RUNNING', 'Server is not running.');
}

// --- Node's validators (lib/internal/validators.js) -----------------------------------

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value);
}

export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'Function', value);
}

/** A number (NaN included), in [min, max] where given. */
export function validateNumber(value: unknown, name: string, min?: number, max?: number): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if ((min !== undefined && value < min) || (max !== undefined && value > max) || ((min !== undefined || max !== undefined) && Number.isNaN(value))) {
    throw outOfRange(name, `${min !== undefined ? `>= ${min}` : ''}${min !== undefined && max !== undefined ? ' && ' : ''}${max !== undefined ? `<= ${max}` : ''}`, value);
  }
}

/** An integer in [min, max] (default: the safe integers). */
export function validateInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

/** An int32 in [min, max]. */
export function validateInt32(value: unknown, name: string, min = -2147483648, max = 2147483647): asserts value is number {
  validateInteger(value, name, min, max);
}

/** undefined, or something with `aborted` (Node checks no more than that). */
export function validateAbortSignal(signal: unknown, name: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) throw invalidArgType(name, 'AbortSignal', signal);
}

export function validateOneOf<T>(value: unknown, name: string, oneOf: readonly T[]): asserts value is T {
  if (!oneOf.includes(value as T)) {
    const allowed = oneOf.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
    throw invalidArgValue(name, value, `must be one of: ${allowed}`);
  }
}

/**
 * A port: a number or a non-blank string of one, an integer from 0 to 65535 ('0x50' and
 * ' 80 ' pass, as in Node). Returns it as a number.
 */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff ||
    (+port === 0 && !allowZero)
  ) {
    throw socketBadPort(name, port, allowZero);
  }
  return +port | 0;
}

/** Node's largest timer delay (2^31-1 ms); a longer one is cut to it, with a warning, as Node's timers do. */
export const TIMEOUT_MAX = 2 ** 31 - 1;

/** A timer duration (lib/internal/timers.js getTimerDuration): a finite number >= 0, at most TIMEOUT_MAX. */
export function timerDuration(msecs: unknown, name: string): number {
  validateNumber(msecs, name);
  if (msecs < 0 || !Number.isFinite(msecs)) throw outOfRange(name, 'a non-negative finite number', msecs);
  if (msecs > TIMEOUT_MAX) {
    process.emitWarning(`${msecs} does not fit into a 32-bit signed integer.\nTimer duration was truncated to ${TIMEOUT_MAX}.`, 'TimeoutOverflowWarning');
    return TIMEOUT_MAX;
  }
  return msecs;
}

/**
 * Whether this Node refuses host names with NUL bytes ("must be a string without null
 * bytes": net.connect's host and dns.lookup's hostname; Windows node 22.23.3 and 24.21.0
 * do, 22.22.2 does not). Asked once,
 * of dns.lookup itself: it checks the name before its options, and an impossible family
 * makes an older one throw before any lookup starts.
 */
let refusesNullBytes: boolean | undefined;
export function hostNamesRefuseNullBytes(): boolean {
  if (refusesNullBytes === undefined) {
    let message = '';
    try {
      dns.lookup('\0', { family: 7 as 4 }, () => undefined);
    } catch (error) {
      message = (error as Error).message;
    }
    refusesNullBytes = message.startsWith("The argument 'hostname'");
  }
  return refusesNullBytes;
}

/** A host name: a string, and without NUL bytes where this Node refuses them (validateStringWithoutNullBytes). */
export function validateHostName(value: unknown, name: string): asserts value is string {
  validateString(value, name);
  if (value.includes('\0') && hostNamesRefuseNullBytes()) throw invalidArgValue(name, value, 'must be a string without null bytes');
}
