// Fuzz: every function and method the package exports, called with fast-check's
// fc.anything() and with arguments shaped like the real ones (near misses included).
// Each call must return, or throw (or reject with) only TypeError, RangeError,
// WinsockError, SocketClosedError, SocketStateError or AbortError: never another error,
// never a hang, never a native fault (that would end the whole run). An async call
// must settle by itself, or, if it is legitimately waiting (a receive with nothing to
// receive), within SETTLE_MS of its sockets and ports being closed. Every socket,
// port and stream a run opens is closed before the next run.
//
// Kept bounded: RUNS runs per entry point (WINSOCK_FFI_FUZZ_RUNS to change it). No call
// may wait on a network: connections only go to loopback or wildcard literals, and no
// text reaches the resolver (a name that is not an address literal gets a NUL, which
// the argument checks refuse): even a '.invalid' name made a DNS query here that took
// 5 s when a packet was lost. The resolver's own paths are tested elsewhere.

import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import {
  AbortError,
  asyncEngine,
  BufferDetachedError,
  CompletionPort,
  EndOfStreamError,
  formatIPv4,
  formatIPv6,
  literalFamily,
  lookup,
  loopbackFastPathSupported,
  Operation,
  parseIPv4,
  parseIPv6,
  poll,
  processHandleCount,
  Socket,
  SocketClosedError,
  SocketStateError,
  SocketStream,
  WinsockError,
  wineVersion,
} from '../../../src/index.ts';
import { portStats } from '../../../src/iocp/port.ts';
import { underWine } from '../../support/env.ts';

const RUNS = Number(process.env.WINSOCK_FFI_FUZZ_RUNS ?? 200);

/** Open handles: the Wine process's Linux descriptors under Wine (GetProcessHandleCount is a stub there), else the handle count. */
function openHandles(): number {
  return underWine ? fs.readdirSync('Z:\\proc\\self\\fd').length : processHandleCount();
}
/** A synchronous call may not take longer than this (none of them waits on a network here). */
const SYNC_LIMIT_MS = 3000;
/** An async call that has not settled by itself after this long is taken as waiting. */
const QUIET_MS = 5;
/** After its sockets and ports are closed, a waiting async call must settle within this. */
const SETTLE_MS = 2000;

const ALLOWED = [TypeError, RangeError, WinsockError, SocketClosedError, SocketStateError, AbortError, EndOfStreamError] as const;

function allowed(error: unknown): boolean {
  return ALLOWED.some((kind) => error instanceof kind);
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}: ${error.message}\n${error.stack ?? ''}`;
  return `a thrown ${typeof error}: ${String(error)}`;
}

// --- Values --------------------------------------------------------------------

const anything = fc.anything({
  maxDepth: 2,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
});

/** A Uint8Array whose ArrayBuffer has been transferred away. */
function detachedBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  return bytes;
}

/** A Uint8Array whose own byteLength and length say more than it has. */
function misstatedBytes(length: number, claimed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  Object.defineProperty(bytes, 'byteLength', { value: claimed });
  Object.defineProperty(bytes, 'length', { value: claimed });
  return bytes;
}

class Overstated extends Uint8Array {
  override get byteLength(): number {
    return 1 << 20;
  }
}

const bytesLike = fc.oneof(
  { arbitrary: anything, weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 64 }).map((n) => Buffer.alloc(n, 0x61)), weight: 2 },
  { arbitrary: fc.string({ maxLength: 16 }), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 8 }).map(detachedBytes), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 8 }).map((n) => misstatedBytes(n, 1 << 16)), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => new Overstated(n)), weight: 1 },
  { arbitrary: fc.constantFrom(new Uint16Array(4), new Int8Array(4), new Uint8ClampedArray(4), new DataView(new ArrayBuffer(4)), new ArrayBuffer(4)), weight: 1 },
);

/** Literals that never leave the machine. */
const LOCAL_HOSTS = ['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1', 'fe80::1%1', '255.255.255.255', '0:0:0:0:0:0:0:1'];

/** Text that is not an address literal gets a NUL: refused by the checks, it never reaches the resolver. */
function neverResolved(value: unknown): unknown {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) return value;
  if (literalFamily(value) !== null) return value;
  return `${value}\0`;
}

const hostLike = fc.oneof(
  { arbitrary: fc.constantFrom(...LOCAL_HOSTS), weight: 4 },
  { arbitrary: fc.string({ maxLength: 12 }).map(neverResolved), weight: 2 },
  // (Not 'fe80::1%eth0': the resolver takes interface names, and a connect would wait on a real link.)
  { arbitrary: fc.constantFrom('', 'local\0host', '999.1.1.1', 'fe80::1%no-such-interface', '::ffff:1.2.3.4.5').map(neverResolved), weight: 1 },
  { arbitrary: anything.map(neverResolved), weight: 1 },
);

/** Ports: the run's listener's port (so some connects succeed), edges, and anything. */
function portLike(listenerPort: () => number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constant(null).map(() => listenerPort()), weight: 3 },
    { arbitrary: fc.constantFrom(0, 1, 65535, 65536, -1, 1.5, Number.NaN, '80'), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: 65535 }), weight: 1 },
    { arbitrary: anything, weight: 1 },
  );
}

function addressLike(listenerPort: () => number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.record({ address: hostLike, port: portLike(listenerPort) }), weight: 4 },
    { arbitrary: fc.record({ address: hostLike, port: portLike(listenerPort) }, { requiredKeys: [] }), weight: 1 },
    { arbitrary: anything.map(neverResolved), weight: 1 },
  );
}

const booleanLike = fc.oneof({ arbitrary: fc.boolean(), weight: 3 }, { arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: anything, weight: 1 });
const familyLike = fc.oneof(fc.constantFrom('ipv4', 'ipv6', undefined, 'IPv4', 'ipv5'), anything);
/** Milliseconds that never mean "wait forever" for a call that would then wait. */
const shortMs = fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constantFrom(0, -1, 1.5, Number.NaN, 2 ** 32, '10'), anything);

function signalLike(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 3 },
    { arbitrary: fc.constant(null).map(() => new AbortController().signal), weight: 2 },
    { arbitrary: fc.constant(null).map(() => AbortSignal.abort(new Error('fired'))), weight: 2 },
    { arbitrary: fc.constant(null).map(() => AbortSignal.timeout(2)), weight: 1 },
    { arbitrary: anything, weight: 1 },
  );
}

const asyncOptionsLike = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fc.record({ signal: signalLike() }, { requiredKeys: [] }), weight: 3 },
  { arbitrary: anything, weight: 1 },
);

const connectOptionsLike = fc.oneof(
  { arbitrary: fc.record({ noDelay: booleanLike, loopbackFastPath: booleanLike, timeoutMs: fc.oneof(fc.constant(undefined), shortMs), family: familyLike, signal: signalLike() }, { requiredKeys: [] }), weight: 4 },
  { arbitrary: anything, weight: 1 },
);

const listenOptionsLike = fc.oneof(
  {
    arbitrary: fc.record(
      { backlog: fc.oneof(fc.constant(undefined), fc.integer({ min: -2, max: 200 }), anything), exclusiveAddressUse: booleanLike, reuseAddress: booleanLike, loopbackFastPath: booleanLike, family: familyLike },
      { requiredKeys: [] },
    ),
    weight: 4,
  },
  { arbitrary: anything, weight: 1 },
);

const streamOptionsLike = fc.oneof(
  {
    arbitrary: fc.record(
      { allowHalfOpen: booleanLike, highWaterMark: fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 1 << 20 }), anything), readSize: fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 1 << 16 }), fc.constantFrom(1.5, '10')) },
      { requiredKeys: [] },
    ),
    weight: 4,
  },
  { arbitrary: anything, weight: 1 },
);

const integerLike = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 4, 2 ** 31, -(2 ** 31) - 1, 1.5, Number.NaN, Infinity), anything);

/** Arrays of buffers for sendv/recvv/sendAsync, and anything. */
const bytesListLike = fc.oneof({ arbitrary: fc.array(bytesLike, { maxLength: 4 }), weight: 4 }, { arbitrary: anything, weight: 1 });
/** Multicast groups of either family, near misses, and text that never reaches the resolver. */
const groupLike = fc.oneof(fc.constantFrom('239.255.1.2', 'ff02::1:3', '224.0.0.1', '10.0.0.1', '::1', '240.0.0.1'), hostLike);
/** Multicast interfaces: an IPv4 address, an IPv6 index, or anything. */
const interfaceLike = fc.oneof(fc.constantFrom(undefined, '127.0.0.1', '0.0.0.0', 0, 1), integerLike, hostLike);

// --- What a run opens, and closes ---------------------------------------------------

type State = 'tcp' | 'udp' | 'client' | 'server' | 'listener' | 'closed';
const STATES: readonly State[] = ['tcp', 'udp', 'client', 'server', 'listener', 'closed'];

/** Everything one run opens; close() closes it all, whatever state it was left in. */
class Scope {
  readonly #sockets: Socket[] = [];
  readonly #ports: CompletionPort[] = [];
  readonly #streams: SocketStream[] = [];
  #listener: Socket | null = null;

  /** Remembers anything closable the call returned. */
  adopt(value: unknown): void {
    if (value instanceof SocketStream) this.#streams.push(value);
    else if (value instanceof Socket) this.#sockets.push(value);
    else if (value instanceof CompletionPort) this.#ports.push(value);
  }

  /** A non-blocking listener on 127.0.0.1 (the run's own, so its backlog never fills up across runs). */
  listener(): Socket {
    if (this.#listener === null) {
      this.#listener = this.socket(Socket.listen({ address: '127.0.0.1', port: 0 }));
      this.#listener.setBlocking(false);
    }
    return this.#listener;
  }

  listenerPort(): number {
    return this.listener().localAddress.port;
  }

  socket<T extends Socket>(socket: T): T {
    this.#sockets.push(socket);
    return socket;
  }

  port(): CompletionPort {
    const port = new CompletionPort();
    this.#ports.push(port);
    return port;
  }

  /** A socket in `state`; the connected ones and the listener do not block (a blocking call would hang the run). */
  make(state: State): Socket {
    switch (state) {
      case 'tcp':
        return this.socket(new Socket());
      case 'udp': {
        const udp = this.socket(new Socket({ type: 'udp' }));
        udp.bind({ address: '127.0.0.1', port: 0 });
        udp.setBlocking(false);
        return udp;
      }
      case 'client':
      case 'server': {
        const listener = this.listener();
        const client = this.socket(Socket.connect(listener.localAddress));
        let server: Socket | null = null;
        for (let i = 0; i < 100 && server === null; i++) {
          try {
            server = this.socket(listener.accept());
          } catch (error) {
            if (!(error instanceof WinsockError && error.code === 'WSAEWOULDBLOCK')) throw error;
          }
        }
        if (server === null) throw new Error('fixture: the connection never came');
        client.setBlocking(false);
        server.setBlocking(false);
        return state === 'client' ? client : server;
      }
      case 'listener':
        return this.listener();
      case 'closed': {
        const socket = new Socket();
        socket.close();
        return socket;
      }
    }
  }

  close(): void {
    for (const stream of this.#streams.splice(0)) stream.destroy();
    for (const port of this.#ports.splice(0)) port.close();
    for (const socket of this.#sockets.splice(0)) socket.close();
    this.#listener = null;
  }
}

type Outcome = { settled: true; ok: true; value: unknown } | { settled: true; ok: false; error: unknown } | { settled: false };

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve({ settled: false }), ms)));
  const outcome = await Promise.race([promise.then((value): Outcome => ({ settled: true, ok: true, value }), (error: unknown): Outcome => ({ settled: true, ok: false, error })), late]);
  clearTimeout(timer);
  return outcome;
}

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** One call in its own scope: the verdict on what it returned or threw, and everything closed after it. */
async function exercise(label: string, call: (scope: Scope) => unknown): Promise<void> {
  const scope = new Scope();
  try {
    let result: unknown;
    const started = Date.now();
    const inTime = (): void => {
      expect(Date.now() - started, `${label}: the call blocked this thread`).to.be.below(SYNC_LIMIT_MS);
    };
    try {
      result = call(scope);
    } catch (error) {
      inTime();
      expect(allowed(error), `${label} threw ${describeError(error)}`).to.equal(true);
      return;
    }
    inTime();
    if (!isThenable(result)) {
      scope.adopt(result);
      return;
    }
    let outcome = await settleWithin(result, QUIET_MS);
    if (!outcome.settled) {
      // Waiting, as it may: closing what it waits on must end it.
      scope.close();
      outcome = await settleWithin(result, SETTLE_MS);
      expect(outcome.settled, `${label}: still pending ${SETTLE_MS} ms after its sockets and ports were closed`).to.equal(true);
    }
    if (outcome.settled && outcome.ok) scope.adopt(outcome.value);
    if (outcome.settled && !outcome.ok) expect(allowed(outcome.error), `${label} rejected with ${describeError(outcome.error)}`).to.equal(true);
  } finally {
    scope.close();
  }
}

/** fc.assert over `args`, each run one exercise(). */
async function fuzz<T extends unknown[]>(label: string, args: fc.Arbitrary<T>, call: (scope: Scope, ...args: T) => unknown, runs = RUNS): Promise<void> {
  await fc.assert(
    fc.asyncProperty(args, async (values) => {
      await exercise(label, (scope) => call(scope, ...values));
    }),
    { numRuns: runs },
  );
}

/** Up to `max` arguments of anything (the extra ones must be ignored). */
const anyArgs = (max: number): fc.Arbitrary<unknown[]> => fc.array(anything, { maxLength: max });

// --- The suite ------------------------------------------------------------------------

describe('fuzz: the public API refuses bad input with the documented errors only', function () {
  this.timeout(120_000);
  let handlesBefore = 0;
  let portsBefore = 0;
  before(function () {
    handlesBefore = openHandles();
    portsBefore = portStats.opened - portStats.closed;
  });

  describe('module functions', function () {
    it('address helpers', async function () {
      for (const [name, fn] of Object.entries({ parseIPv4, parseIPv6, literalFamily, formatIPv4, formatIPv6 })) {
        await fuzz(name, fc.tuple(fc.oneof(anything, bytesLike, hostLike), fc.oneof(anything, integerLike)), (_scope, a, b) => (fn as (...args: unknown[]) => unknown)(a, b), 200);
      }
    });

    it('lookup(host, family)', async function () {
      await fuzz('lookup', fc.tuple(hostLike, familyLike), (_scope, host, family) => lookup(host as string, family as 'ipv4'));
    });

    it('poll(requests, timeoutMs)', async function () {
      const request = fc.record(
        { state: fc.constantFrom(...STATES), bogusSocket: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: anything, weight: 1 }), events: fc.oneof(fc.record({ readable: booleanLike, writable: booleanLike }, { requiredKeys: [] }), anything) },
        { requiredKeys: ['state'] },
      );
      const requests = fc.oneof({ arbitrary: fc.array(request, { maxLength: 3 }), weight: 4 }, { arbitrary: anything.map((value) => ({ raw: value })), weight: 1 });
      // -1 waits forever: that wait must not be one this suite can start on idle sockets.
      const timeout = fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom(-2, 1.5, 2 ** 31, '5', null), anything).filter((ms) => ms !== -1 && !(typeof ms === 'number' && ms > 50 && ms <= 0x7fffffff));
      await fuzz('poll', fc.tuple(requests, timeout), (scope, list, ms) => {
        const built = Array.isArray(list)
          ? list.map((r) => ({ socket: r.bogusSocket === null || r.bogusSocket === undefined ? scope.make(r.state) : r.bogusSocket, events: r.events }))
          : (list as { raw: unknown }).raw;
        return poll(built as never, ms as number);
      });
    });

    it('functions that take no arguments ignore any they are given', async function () {
      for (const [name, fn] of Object.entries({ loopbackFastPathSupported, processHandleCount, wineVersion, asyncEngine })) {
        await fuzz(name, anyArgs(3), (_scope, ...args) => (fn as (...a: unknown[]) => unknown)(...args), 20);
      }
    });

    it('error constructors', async function () {
      const constructors = { WinsockError, SocketClosedError, SocketStateError, EndOfStreamError, BufferDetachedError, AbortError } as Record<string, new (...args: unknown[]) => Error>;
      for (const [name, Kind] of Object.entries(constructors)) {
        await fuzz(`new ${name}`, fc.tuple(fc.oneof(anything, fc.string()), fc.oneof(integerLike, anything), anything), (_scope, a, b, c) => new Kind(a, b, c), 50);
      }
    });
  });

  describe('Socket', function () {
    it('new Socket(options)', async function () {
      const options = fc.oneof(fc.record({ family: familyLike, type: fc.oneof(fc.constantFrom('tcp', 'udp', 'sctp', undefined), anything), ipv6Only: booleanLike }, { requiredKeys: [] }), anything);
      await fuzz('new Socket', fc.tuple(options), (_scope, o) => new Socket(o as object));
    });

    it('Socket.fromHandle(handle)', async function () {
      // A positive integer could name a handle this process holds for something else
      // (and the run would then close it): those become numbers no handle has.
      const foreignSafe = (value: unknown): unknown => {
        if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return 2 ** 52 + (value % 4096) * 4;
        if (typeof value === 'bigint' && value > 0n) return 2n ** 52n + (value % 4096n) * 4n;
        return value;
      };
      const handle = fc.oneof(anything.map(foreignSafe), fc.constantFrom(0, -4, 0n, 2 ** 53, 2n ** 64n - 1n, 1.5, 'ff'), fc.constant('owned'));
      await fuzz('Socket.fromHandle', fc.tuple(handle), (scope, h) => Socket.fromHandle(h === 'owned' ? scope.make('tcp').handle : (h as number)));
    });

    it('Socket.connect(address, options)', async function () {
      await fuzz('Socket.connect', fc.tuple(fc.constant(null), connectOptionsLike, fc.nat()), (scope, _unused, options, seed) => {
        const address = fc.sample(addressLike(() => scope.listenerPort()), { numRuns: 1, seed })[0];
        return Socket.connect(address as never, options as object);
      });
    });

    it('Socket.connectAsync(address, options)', async function () {
      await fuzz('Socket.connectAsync', fc.tuple(connectOptionsLike, fc.nat()), (scope, options, seed) => {
        const address = fc.sample(addressLike(() => scope.listenerPort()), { numRuns: 1, seed })[0];
        return Socket.connectAsync(address as never, options as object);
      });
    });

    it('Socket.listen(address, options)', async function () {
      await fuzz('Socket.listen', fc.tuple(listenOptionsLike, fc.nat()), (_scope, options, seed) => {
        const address = fc.sample(addressLike(() => 0), { numRuns: 1, seed })[0];
        return Socket.listen(address as never, options as object);
      });
    });

    // Every instance method and getter, on a socket in each state, with anything.
    const methods: Record<string, fc.Arbitrary<unknown[]>> = {
      bind: fc.tuple(fc.nat()).map(([seed]) => [{ seed }]),
      listen: fc.tuple(fc.oneof(fc.constant(undefined), integerLike)),
      accept: anyArgs(1),
      connect: fc.tuple(fc.nat()).map(([seed]) => [{ seed }]),
      send: fc.tuple(bytesLike),
      sendAll: fc.tuple(bytesLike),
      trySend: fc.tuple(bytesLike),
      recv: fc.tuple(bytesLike),
      tryRecv: fc.tuple(bytesLike),
      recvExact: fc.tuple(bytesLike),
      sendTo: fc.tuple(bytesLike, fc.nat()).map(([data, seed]) => [data, { seed }]),
      recvFrom: fc.tuple(bytesLike),
      shutdown: fc.tuple(fc.oneof(fc.constantFrom('send', 'receive', 'both', undefined, 'SEND'), anything)),
      close: anyArgs(1),
      ref: anyArgs(1),
      unref: anyArgs(1),
      recvAsync: fc.tuple(bytesLike, asyncOptionsLike),
      recvExactAsync: fc.tuple(bytesLike, asyncOptionsLike),
      sendAsync: fc.tuple(fc.oneof(bytesLike, bytesListLike), asyncOptionsLike),
      acceptAsync: fc.tuple(asyncOptionsLike),
      toStream: fc.tuple(fc.oneof(fc.constant(undefined), streamOptionsLike)),
      setNoDelay: fc.tuple(booleanLike),
      getNoDelay: anyArgs(1),
      setReuseAddress: fc.tuple(booleanLike),
      getReuseAddress: anyArgs(1),
      setExclusiveAddressUse: fc.tuple(booleanLike),
      getExclusiveAddressUse: anyArgs(1),
      setKeepAlive: fc.tuple(booleanLike, fc.oneof(fc.constant(undefined), fc.record({ idleMs: fc.oneof(fc.constant(undefined), integerLike), intervalMs: fc.oneof(fc.constant(undefined), integerLike) }, { requiredKeys: [] }), anything)),
      getKeepAlive: anyArgs(1),
      getReceiveBufferSize: anyArgs(1),
      setReceiveBufferSize: fc.tuple(integerLike),
      getSendBufferSize: anyArgs(1),
      setSendBufferSize: fc.tuple(integerLike),
      setReceiveTimeout: fc.tuple(integerLike),
      getReceiveTimeout: anyArgs(1),
      setSendTimeout: fc.tuple(integerLike),
      getSendTimeout: anyArgs(1),
      setBlocking: fc.tuple(booleanLike),
      getOption: fc.tuple(integerLike, integerLike, fc.oneof(fc.constant(undefined), integerLike)),
      setOption: fc.tuple(integerLike, integerLike, fc.oneof(integerLike, fc.boolean(), bytesLike)),
      enableLoopbackFastPath: anyArgs(1),
      [Symbol.dispose.toString()]: anyArgs(1),
      sendv: fc.tuple(bytesListLike),
      recvv: fc.tuple(bytesListLike),
      recvFromAsync: fc.tuple(bytesLike, asyncOptionsLike),
      sendToAsync: fc.tuple(bytesLike, fc.nat(), asyncOptionsLike).map(([data, seed, options]) => [data, { seed }, options]),
      setIpv6Only: fc.tuple(booleanLike),
      getIpv6Only: anyArgs(1),
      setBroadcast: fc.tuple(booleanLike),
      getBroadcast: anyArgs(1),
      addMembership: fc.tuple(groupLike, interfaceLike),
      dropMembership: fc.tuple(groupLike, interfaceLike),
      setMulticastTTL: fc.tuple(integerLike),
      getMulticastTTL: anyArgs(1),
      setMulticastLoopback: fc.tuple(booleanLike),
      getMulticastLoopback: anyArgs(1),
      setMulticastInterface: fc.tuple(interfaceLike),
      setLinger: fc.tuple(booleanLike, fc.oneof(fc.constant(undefined), integerLike)),
      getLinger: anyArgs(1),
      setReuseUnicastPort: fc.tuple(booleanLike),
      getReuseUnicastPort: anyArgs(1),
      setKeepAliveProbes: fc.tuple(integerLike),
      getKeepAliveProbes: anyArgs(1),
      setTcpFastOpen: fc.tuple(booleanLike),
      getTcpFastOpen: anyArgs(1),
      tcpInfo: anyArgs(1),
    };
    for (const [name, args] of Object.entries(methods)) {
      it(`socket.${name}(...)`, async function () {
        await fuzz(`socket.${name}`, fc.tuple(fc.constantFrom(...STATES), args), (scope, state, values) => {
          const socket = scope.make(state);
          // Address arguments are drawn with the run's own listener port.
          const resolved = values.map((value) => (typeof value === 'object' && value !== null && 'seed' in value && Object.keys(value).length === 1 ? fc.sample(addressLike(() => scope.listenerPort()), { numRuns: 1, seed: (value as { seed: number }).seed })[0] : value));
          const method = name === Symbol.dispose.toString() ? socket[Symbol.dispose] : (socket as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
          return method.apply(socket, resolved);
        });
      });
    }

    it('socket.chunks(...) and its first next()', async function () {
      await fuzz('socket.chunks', fc.tuple(fc.constantFrom(...STATES), fc.oneof(fc.constant(undefined), integerLike), asyncOptionsLike), (scope, state, size, options) => {
        const iterator = scope.make(state).chunks(size as number, options as object);
        return iterator.next();
      });
    });

    it('socket.detach() and socket.duplicate(pid), their handle taken over again (and so closed)', async function () {
      await fuzz('socket.detach', fc.tuple(fc.constantFrom(...STATES), anyArgs(1)), (scope, state, args) => {
        const socket = scope.make(state);
        const handle = (socket.detach as (...a: unknown[]) => bigint)(...args);
        return scope.socket(Socket.fromHandle(handle));
      });
      // Only this process's own pid or numbers no process has: a duplicate must not land in another process.
      const pid = fc.oneof(fc.constant(process.pid), fc.constantFrom(0, -1, 2 ** 32, 1.5, '1', null), anything.filter((value) => !(typeof value === 'number' && Number.isInteger(value) && value > 0)));
      await fuzz('socket.duplicate', fc.tuple(fc.constantFrom(...STATES), pid), (scope, state, id) => {
        const info = scope.make(state).duplicate(id as number);
        return Socket.fromDuplicate(info);
      });
    });

    it('Socket.fromDuplicate(info)', async function () {
      const info = fc.oneof(bytesLike, fc.uint8Array({ minLength: 628, maxLength: 628 }), fc.constant(null).map(() => Buffer.alloc(628)));
      await fuzz('Socket.fromDuplicate', fc.tuple(info), (_scope, bytes) => Socket.fromDuplicate(bytes as Uint8Array));
    });

    it('getters', async function () {
      const getters = ['handle', 'closed', 'loopbackFastPath', 'localAddress', 'remoteAddress', 'blocking', 'bytesAvailable', 'family', 'type'] as const;
      await fuzz('socket getters', fc.tuple(fc.constantFrom(...STATES), fc.constantFrom(...getters)), (scope, state, getter) => scope.make(state)[getter], 200);
    });
  });

  describe('CompletionPort', function () {
    it('new CompletionPort(anything)', async function () {
      await fuzz('new CompletionPort', anyArgs(2), (_scope, ...args) => new (CompletionPort as unknown as new (...a: unknown[]) => CompletionPort)(...args), 50);
    });

    it('Operation objects come only from a port: new Operation() always throws', async function () {
      await fuzz('new Operation', anyArgs(5), (_scope, ...args) => {
        new (Operation as unknown as new (...a: unknown[]) => Operation)(...args);
        throw new Error('new Operation() returned an Operation');
      }, 50);
    });

    /** A port's own argument or a socket in some state. */
    const target = fc.oneof({ arbitrary: fc.constantFrom(...STATES).map((state) => ({ state })), weight: 4 }, { arbitrary: anything.map((raw) => ({ raw })), weight: 1 });
    /** Milliseconds for wait(): never long enough to hold this thread for real. */
    const waitMs = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constantFrom(-1, 1.5, 2 ** 32, '5', null), anything).filter((ms) => ms !== undefined && !(typeof ms === 'number' && Number.isInteger(ms) && ms > 20 && ms <= 0xffffffff));
    const methods: Record<string, fc.Arbitrary<unknown[]>> = {
      associate: fc.tuple(target, fc.oneof(fc.constant(undefined), integerLike)),
      setSkipCompletionOnSuccess: fc.tuple(target),
      recv: fc.tuple(target, bytesLike),
      send: fc.tuple(target, bytesLike),
      recvFrom: fc.tuple(target, bytesLike),
      sendTo: fc.tuple(target, bytesLike, fc.nat()).map(([t, data, seed]) => [t, data, { seed }]),
      accept: fc.tuple(target),
      connect: fc.tuple(target, fc.nat()).map(([t, seed]) => [t, { seed }]),
      cancel: fc.tuple(fc.oneof(fc.constant('own'), fc.constant('foreign'), fc.constant('fake'), anything)),
      poll: fc.tuple(fc.oneof(fc.constant(undefined), integerLike)),
      wait: fc.tuple(waitMs, fc.oneof(fc.constant(undefined), integerLike)),
      waitAsync: fc.tuple(fc.oneof(fc.constant(undefined), integerLike)),
      wake: anyArgs(1),
      close: anyArgs(1),
    };
    for (const [name, args] of Object.entries(methods)) {
      it(`port.${name}(...)`, async function () {
        await fuzz(`port.${name}`, fc.tuple(fc.boolean(), args), (scope, closedPort, values) => {
          const port = scope.port();
          if (closedPort && name !== 'close') port.close();
          const resolved = values.map((value) => {
            if (typeof value === 'object' && value !== null && 'state' in value) return scope.make((value as { state: State }).state);
            if (typeof value === 'object' && value !== null && 'raw' in value) return (value as { raw: unknown }).raw;
            if (typeof value === 'object' && value !== null && 'seed' in value && Object.keys(value).length === 1) return fc.sample(addressLike(() => scope.listenerPort()), { numRuns: 1, seed: (value as { seed: number }).seed })[0];
            if (value === 'own' || value === 'foreign') {
              const owner = value === 'own' ? port : scope.port();
              try {
                return owner.recv(scope.make('server'), Buffer.alloc(8));
              } catch {
                return undefined;
              }
            }
            if (value === 'fake') return Object.create(Operation.prototype) as unknown;
            return value;
          });
          return (port as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!.apply(port, resolved);
        });
      });
    }
  });

  describe('SocketStream', function () {
    it('new SocketStream(socket, options)', async function () {
      await fuzz('new SocketStream', fc.tuple(fc.oneof(fc.constantFrom(...STATES).map((state) => ({ state })), anything.map((raw) => ({ raw }))), fc.oneof(fc.constant(undefined), streamOptionsLike)), (scope, which, options) => {
        const socket = 'state' in which ? scope.make(which.state) : which.raw;
        return new SocketStream(socket as Socket, options as object);
      });
    });
  });

  it('closed every socket and port it opened', function () {
    // The shared worker-pump port, if this run made it, stays open for the process.
    expect(portStats.opened - portStats.closed, 'completion ports of our own still open').to.be.at.most(portsBefore + 1);
    // Other parts of the process may open a few handles meanwhile.
    expect(openHandles(), 'handles (Linux descriptors under Wine)').to.be.at.most(handlesBefore + 16);
  });
});
