// Bad (and borderline) arguments for the node:net drop-in, as a table: each case calls the
// same entry point with the same input on node:net and on winsock-ffi's drop-in, and the
// two outcomes must agree: both throw the same class, `code`, message, toString() and
// first stack line, or neither throws. Used by test/pure/net-argument-errors.test.ts (the
// machine's own node, where no case reaches Winsock) and by
// test/windows/net/argument-errors.test.ts (Windows node under Wine, against the node:net
// of the same process).

import { expect } from 'chai';
import net from 'node:net';
import { connect, createConnection, createServer, Server } from '../../src/index.ts';

/** The entry points a case may call: node:net's, or the drop-in's. */
export interface NetApi {
  readonly name: string;
  readonly createConnection: (...args: unknown[]) => Closable;
  readonly connect: (...args: unknown[]) => Closable;
  readonly createServer: (...args: unknown[]) => Closable;
  readonly Server: new (...args: unknown[]) => Closable;
}

/** What a case makes: a socket (destroyed afterwards) or a server (closed afterwards). */
export interface Closable {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy?(): unknown;
  close?(...args: unknown[]): unknown;
  listen?(...args: unknown[]): unknown;
  setTimeout?(...args: unknown[]): unknown;
  setNoDelay?(...args: unknown[]): unknown;
  setKeepAlive?(...args: unknown[]): unknown;
  getConnections?(...args: unknown[]): unknown;
}

export const nodeNet: NetApi = {
  name: 'node:net',
  createConnection: net.createConnection as unknown as NetApi['createConnection'],
  connect: net.connect as unknown as NetApi['connect'],
  createServer: net.createServer as unknown as NetApi['createServer'],
  Server: net.Server as unknown as NetApi['Server'],
};

export const dropIn: NetApi = {
  name: 'winsock-ffi',
  createConnection: createConnection as unknown as NetApi['createConnection'],
  connect: connect as unknown as NetApi['connect'],
  createServer: createServer as unknown as NetApi['createServer'],
  Server: Server as unknown as NetApi['Server'],
};

/**
 * What node:net does with the case: 'throws' (a bad argument), 'accepts' (no synchronous
 * error, though connecting or listening may fail later), or 'depends' on the Node version
 * (the check arrived in a later release), where only agreement is asserted.
 */
export type Expectation = 'throws' | 'accepts' | 'depends';

export interface ArgumentCase {
  readonly title: string;
  readonly node: Expectation;
  /** Calls the entry point; `keep` registers what it made for cleaning up (before anything that may throw). */
  readonly run: (api: NetApi, keep: (made: Closable) => Closable) => void;
  /** The case needs a listen() that succeeds, so it runs only where Winsock is (not in test/pure/). */
  readonly listens?: true;
}

/** A literal host, so that no case resolves a name unless it means to. */
const HOST = '127.0.0.1';

function connecting(api: NetApi, keep: (made: Closable) => Closable): Closable {
  return keep(api.createConnection({ port: 9, host: HOST }));
}

function server(api: NetApi, keep: (made: Closable) => Closable): Closable {
  return keep(api.createServer());
}

const connectCases: ArgumentCase[] = [
  // The forms of the arguments.
  { title: 'createConnection()', node: 'throws', run: (api, keep) => void keep(api.createConnection()) },
  { title: 'createConnection(undefined)', node: 'throws', run: (api, keep) => void keep(api.createConnection(undefined)) },
  { title: 'createConnection(null)', node: 'throws', run: (api, keep) => void keep(api.createConnection(null)) },
  { title: 'createConnection({})', node: 'throws', run: (api, keep) => void keep(api.createConnection({})) },
  { title: 'createConnection({ host }) without a port', node: 'throws', run: (api, keep) => void keep(api.createConnection({ host: HOST })) },
  { title: 'createConnection(true)', node: 'throws', run: (api, keep) => void keep(api.createConnection(true)) },
  { title: 'createConnection(a function)', node: 'throws', run: (api, keep) => void keep(api.createConnection(() => undefined)) },
  { title: 'createConnection(70000)', node: 'throws', run: (api, keep) => void keep(api.createConnection(70000)) },
  { title: 'createConnection(-1)', node: 'throws', run: (api, keep) => void keep(api.createConnection(-1)) },
  { title: "createConnection('70000', host)", node: 'throws', run: (api, keep) => void keep(api.createConnection('70000', HOST)) },
  { title: 'createConnection(1.5, host)', node: 'throws', run: (api, keep) => void keep(api.createConnection(1.5, HOST)) },
  { title: 'connect({ port: -1 }) (connect is createConnection)', node: 'throws', run: (api, keep) => void keep(api.connect({ port: -1, host: HOST })) },
  // options.port.
  ...(
    [
      ['a string that is not a number', '80x'],
      ['an empty string', ''],
      ['a blank string', '  '],
      ['a long string', 'x'.repeat(40)],
      ["a string with a '", "it's"],
      ['a float', 1.5],
      ['a negative number', -1],
      ['65536', 65536],
      ['2^40', 2 ** 40],
      ['NaN', Number.NaN],
      ['Infinity', Infinity],
      ['-0.5', -0.5],
    ] as const
  ).map(([what, port]): ArgumentCase => ({ title: `port: ${what}`, node: 'throws', run: (api, keep) => void keep(api.createConnection({ port, host: HOST })) })),
  ...(
    [
      ['an object', {}],
      ['an array', [80]],
      ['true', true],
      ['null', null],
      ['a bigint', 80n],
      ['a symbol', Symbol('port')],
      ['a Map', new Map()],
      ['an object without a prototype', Object.create(null) as object],
    ] as const
  ).map(([what, port]): ArgumentCase => ({ title: `port: ${what}`, node: 'throws', run: (api, keep) => void keep(api.createConnection({ port, host: HOST })) })),
  { title: "port: '80' (a string of digits) is a port", node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: '9', host: HOST })) },
  { title: "port: '0x50' is a port, as Number() reads it", node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: '0x50', host: HOST })) },
  { title: 'port: 0 is accepted (the connect fails later)', node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 0, host: HOST })) },
  // options.host, family, hints, lookup.
  { title: 'host: a number (options.host or, before Node 22.15, hostname)', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 5 })) },
  { title: 'host: an object', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: {} })) },
  { title: 'host: true', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: true })) },
  { title: 'host: a bad host and a bad port (which comes first depends on the Node)', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 'x', host: 5 })) },
  { title: 'host: a name with a NUL byte (refused since Node 22.23 / 24)', node: 'depends', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 'local\0host' })) },
  { title: "host: '' means localhost", node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 9, host: '' })) },
  { title: 'createConnection(port, a non-string host) ignores the host', node: 'accepts', run: (api, keep) => void keep(api.createConnection(9, 5)) },
  { title: 'family: 5, with a name', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 'localhost', family: 5 })) },
  { title: "family: '4', with a name", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 'localhost', family: '4' })) },
  { title: 'family: 5, with a literal (not looked at)', node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 9, host: HOST, family: 5 })) },
  { title: "family: 'IPv4' is 4", node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 9, host: 'localhost', family: 'IPv4' })) },
  { title: "hints: 'x', with a name", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 'localhost', hints: 'x' })) },
  { title: 'hints: unknown flags, with a name', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 'localhost', hints: 0x7fff0000 })) },
  { title: 'lookup: a number, with a name', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: 'localhost', lookup: 5 })) },
  // Local address and port.
  { title: 'localAddress: not an address', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, localAddress: 'abc' })) },
  { title: 'localAddress: a number', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, localAddress: 5 })) },
  { title: 'localPort: a string', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, localPort: '80' })) },
  { title: 'localPort: an object', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, localPort: {} })) },
  // Timeouts and keep-alive.
  { title: 'timeout: -1', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, timeout: -1 })) },
  { title: "timeout: '1000'", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, timeout: '1000' })) },
  { title: 'timeout: Infinity', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, timeout: Infinity })) },
  { title: 'timeout: an object', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, timeout: {} })) },
  { title: 'timeout: a bad timeout comes before a bad port', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: -1, host: HOST, timeout: 'x' })) },
  { title: 'timeout: NaN is no timeout', node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 9, host: HOST, timeout: Number.NaN })) },
  { title: "keepAliveInitialDelay: '1000'", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, keepAliveInitialDelay: '1000' })) },
  { title: 'keepAliveInitialDelay: null', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, keepAliveInitialDelay: null })) },
  { title: "noDelay: 'yes', keepAlive: 1, allowHalfOpen: 'x' are coerced", node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 9, host: HOST, noDelay: 'yes', keepAlive: 1, allowHalfOpen: 'x' })) },
  // The stream's own options.
  { title: "highWaterMark: 'x'", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, highWaterMark: 'x' })) },
  { title: 'highWaterMark: -1', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, highWaterMark: -1 })) },
  { title: 'readableHighWaterMark: 1.5', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, readableHighWaterMark: 1.5 })) },
  { title: 'writableHighWaterMark: -5', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, writableHighWaterMark: -5 })) },
  { title: "encoding: 'nope'", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, encoding: 'nope' })) },
  { title: 'objectMode: true', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, objectMode: true })) },
  { title: 'readableObjectMode: true', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, readableObjectMode: true })) },
  { title: 'signal: a plain object', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, signal: {} })) },
  { title: "signal: 'abort'", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, signal: 'abort' })) },
  { title: 'autoSelectFamily: 1', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, autoSelectFamily: 1 })) },
  { title: 'autoSelectFamilyAttemptTimeout: 0', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, autoSelectFamilyAttemptTimeout: 0 })) },
  { title: 'autoSelectFamilyAttemptTimeout: 1.5', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, autoSelectFamilyAttemptTimeout: 1.5 })) },
  { title: 'blockList: not a BlockList (checked since Node 22.13)', node: 'depends', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, blockList: { check: () => false } })) },
  { title: "fd: '3'", node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, fd: '3' })) },
  { title: 'fd: -1', node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 80, host: HOST, fd: -1 })) },
  { title: 'path: a number', node: 'throws', run: (api, keep) => void keep(api.createConnection({ path: 5 })) },
  { title: 'a connectListener that is not a function is ignored', node: 'accepts', run: (api, keep) => void keep(api.createConnection({ port: 9, host: HOST }, 'listener')) },
];

const socketCases: ArgumentCase[] = [
  { title: "socket.setTimeout('1000')", node: 'throws', run: (api, keep) => void connecting(api, keep).setTimeout!('1000') },
  { title: 'socket.setTimeout(-1)', node: 'throws', run: (api, keep) => void connecting(api, keep).setTimeout!(-1) },
  { title: 'socket.setTimeout(NaN)', node: 'throws', run: (api, keep) => void connecting(api, keep).setTimeout!(Number.NaN) },
  { title: 'socket.setTimeout()', node: 'throws', run: (api, keep) => void connecting(api, keep).setTimeout!() },
  { title: 'socket.setTimeout(1000, a string)', node: 'throws', run: (api, keep) => void connecting(api, keep).setTimeout!(1000, 'callback') },
  { title: 'socket.setTimeout(0, a number)', node: 'throws', run: (api, keep) => void connecting(api, keep).setTimeout!(0, 5) },
  { title: 'socket.setTimeout(1000, a function)', node: 'accepts', run: (api, keep) => void connecting(api, keep).setTimeout!(1000, () => undefined) },
  { title: "socket.setNoDelay('x') coerces", node: 'accepts', run: (api, keep) => void connecting(api, keep).setNoDelay!('x') },
  { title: "socket.setKeepAlive('x', 'y') coerces", node: 'accepts', run: (api, keep) => void connecting(api, keep).setKeepAlive!('x', 'y') },
];

const serverCases: ArgumentCase[] = [
  { title: 'createServer(a number)', node: 'throws', run: (api, keep) => void keep(api.createServer(5)) },
  { title: 'createServer(a string)', node: 'throws', run: (api, keep) => void keep(api.createServer('x')) },
  { title: 'createServer(true)', node: 'throws', run: (api, keep) => void keep(api.createServer(true)) },
  { title: 'new Server(a number)', node: 'throws', run: (api, keep) => void keep(new api.Server(5)) },
  { title: "createServer({ keepAliveInitialDelay: 'x' })", node: 'throws', run: (api, keep) => void keep(api.createServer({ keepAliveInitialDelay: 'x' })) },
  { title: "createServer({ highWaterMark: '16' })", node: 'throws', run: (api, keep) => void keep(api.createServer({ highWaterMark: '16' })) },
  { title: 'createServer({ blockList: not a BlockList }) (checked since Node 22.13)', node: 'depends', run: (api, keep) => void keep(api.createServer({ blockList: 5 })) },
  { title: 'createServer(options, a connectionListener that is not a function) ignores it', node: 'accepts', run: (api, keep) => void keep(api.createServer({}, 'listener')) },
  { title: 'createServer(null)', node: 'accepts', run: (api, keep) => void keep(api.createServer(null)) },
  // listen().
  { title: "listen({ port: 'x' })", node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: 'x' }) },
  { title: 'listen(70000)', node: 'throws', run: (api, keep) => void server(api, keep).listen!(70000) },
  { title: 'listen(-1)', node: 'throws', run: (api, keep) => void server(api, keep).listen!(-1) },
  { title: 'listen(1.5)', node: 'throws', run: (api, keep) => void server(api, keep).listen!(1.5) },
  { title: 'listen({ port: 65536 })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: 65536 }) },
  { title: 'listen({ port: NaN })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: Number.NaN }) },
  { title: "listen({ port: ' ' })", node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: ' ' }) },
  { title: 'listen({})', node: 'throws', run: (api, keep) => void server(api, keep).listen!({}) },
  { title: 'listen({ host }) without a port', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ host: HOST, backlog: 5 }) },
  { title: 'listen({ port: true })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: true }) },
  { title: 'listen({ port: an object })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: { value: 80 } }) },
  { title: 'listen(true)', node: 'throws', run: (api, keep) => void server(api, keep).listen!(true) },
  { title: 'listen({ port: 0, host: a number })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: 0, host: 5 }) },
  { title: 'listen({ port: 0, host: an object })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: 0, host: {} }) },
  { title: 'listen({ port: 0, host: a name with a NUL byte }) (refused since Node 22.23 / 24)', node: 'depends', run: (api, keep) => void server(api, keep).listen!({ port: 0, host: 'local\0host' }) },
  { title: 'listen({ port: 0, signal: a number })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: 0, signal: 5 }) },
  { title: 'listen({ port: 0, signal: a plain object })', node: 'throws', run: (api, keep) => void server(api, keep).listen!({ port: 0, signal: {} }) },
  {
    title: 'listen() twice, on every address',
    node: 'throws',
    listens: true,
    run: (api, keep) => {
      const made = server(api, keep);
      made.listen!(0);
      made.listen!(0);
    },
  },
  {
    title: 'listen(port, host) twice in one tick: the second supersedes the first',
    node: 'accepts',
    run: (api, keep) => {
      const made = server(api, keep);
      made.listen!(0, HOST);
      made.listen!(0, HOST);
    },
  },
  { title: "listen(0, host, a backlog of 'x') ignores it", node: 'accepts', run: (api, keep) => void server(api, keep).listen!(0, HOST, 'x') },
  { title: 'listen(0, host, a negative backlog)', node: 'accepts', run: (api, keep) => void server(api, keep).listen!(0, HOST, -5) },
  { title: "listen({ port: '0', host, backlog: 'x' })", node: 'accepts', run: (api, keep) => void server(api, keep).listen!({ port: '0', host: HOST, backlog: 'x' }) },
  { title: 'listen(null, callback)', node: 'accepts', run: (api, keep) => void server(api, keep).listen!(null, () => undefined) },
  { title: 'getConnections() without a callback', node: 'throws', run: (api, keep) => void server(api, keep).getConnections!() },
  { title: 'getConnections(a number)', node: 'throws', run: (api, keep) => void server(api, keep).getConnections!(5) },
  { title: 'close(a number) ignores it', node: 'accepts', run: (api, keep) => void server(api, keep).close!(5) },
];

export const ARGUMENT_CASES: readonly ArgumentCase[] = [...connectCases, ...socketCases, ...serverCases];

/** What a call did, in the terms compared: how it failed, or that it did not. */
export type Outcome = { readonly threw: false } | { readonly threw: true; readonly class: unknown; readonly className: string; readonly code: unknown; readonly message: unknown; readonly text: string; readonly stackHead: string };

/** Runs one case on one API; cleans up what it made, whatever happens. */
export function outcomeOf(api: NetApi, testCase: ArgumentCase): Outcome {
  const made: Closable[] = [];
  const keep = (thing: Closable): Closable => {
    // Failures after the call (a refused connect, a listen that cannot be) are not the point here.
    thing.on('error', () => undefined);
    made.push(thing);
    return thing;
  };
  try {
    testCase.run(api, keep);
    return { threw: false };
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return {
      threw: true,
      class: e.constructor,
      className: e.constructor?.name,
      code: e.code,
      message: e.message,
      text: String(e),
      stackHead: String(e.stack).split('\n')[0]!,
    };
  } finally {
    for (const thing of made) {
      if (typeof thing.destroy === 'function') thing.destroy();
      else if (typeof thing.close === 'function') thing.close();
    }
  }
}

/** The comparison both suites make, one `it` per case; `withWinsock` false leaves out the cases that need a listen() that succeeds. */
export function defineArgumentCases(withWinsock: boolean): void {
  for (const testCase of ARGUMENT_CASES) {
    if (testCase.listens === true && !withWinsock) continue;
    it(`${testCase.title}: ${testCase.node === 'accepts' ? 'accepted, as by node:net' : 'the same error as node:net'}`, function () {
      const expected = outcomeOf(nodeNet, testCase);
      if (testCase.node !== 'depends') expect(expected.threw, `node:net ${testCase.node} this (${process.version}): ${JSON.stringify(expected)}`).to.equal(testCase.node === 'throws');
      const actual = outcomeOf(dropIn, testCase);
      expect(actual).to.deep.equal(expected);
      if (actual.threw && expected.threw) {
        // The same class itself, not a look-alike: a plain TypeError / RangeError / Error.
        expect(actual.class).to.equal(expected.class);
        expect(['TypeError', 'RangeError', 'Error']).to.include(actual.className);
      }
    });
  }
}
