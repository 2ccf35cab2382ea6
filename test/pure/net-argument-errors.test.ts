// The node:net drop-in's argument errors, compared with node:net's on the node at hand:
// the table of test/support/net-argument-cases.ts, fast-check's arbitrary values for the
// arguments people get wrong most (port, timeout, host, family), and the checks of the
// options that only winsock-ffi has. No Winsock call: every bad argument throws before
// one, and the drop-in loads no DLL until a socket is made, so this runs on Linux node
// against Linux's node:net first, then under Wine against Windows node's.

import { expect } from 'chai';
import fc from 'fast-check';
import http from 'node:http';
import { createConnection, createServer, serve } from '../../src/index.ts';
import { describeReceived, invalidArgType, outOfRange } from '../../src/core/node-errors.ts';
import { defineArgumentCases, dropIn, nodeNet, outcomeOf } from '../support/net-argument-cases.ts';
import type { ArgumentCase } from '../support/net-argument-cases.ts';

/** node:net's outcome and the drop-in's for one generated case. */
function compare(testCase: ArgumentCase): void {
  const expected = outcomeOf(nodeNet, testCase);
  const actual = outcomeOf(dropIn, testCase);
  expect(actual, testCase.title).to.deep.equal(expected);
}

/** A thrown error's class, code and message. */
function thrownBy(fn: () => unknown): { class: unknown; code: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    const e = error as Error & { code?: unknown };
    return { class: e.constructor, code: e.code, message: e.message };
  }
  throw new Error('expected a throw');
}

describe('node:net drop-in: argument errors as node:net gives them (pure)', function () {
  describe('the table of cases', function () {
    defineArgumentCases(false);
  });

  describe('arbitrary values', function () {
    it('port: whatever the value, the same error as node:net, or none', function () {
      fc.assert(
        fc.property(fc.anything({ withBigInt: true, withNullPrototype: true }), (port) => {
          compare({ title: `port ${describeReceived(port)}`, node: 'depends', run: (api, keep) => void keep(api.createConnection({ port, host: '127.0.0.1' })) });
        }),
        { numRuns: 150 },
      );
    });

    it('createConnection(port, host): whatever the first argument, the same error as node:net, or none', function () {
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: -70000, max: 140000 }), fc.double(), fc.string(), fc.constantFrom(true, false, null, undefined)), (port) => {
          if (typeof port === 'string' && Number.isNaN(Number(port))) return; // an IPC path: node:net would make a socket file
          compare({ title: `createConnection(${describeReceived(port)})`, node: 'depends', run: (api, keep) => void keep(api.createConnection(port, '127.0.0.1')) });
        }),
        { numRuns: 150 },
      );
    });

    it('timeout: whatever the value, the same error as node:net, or none', function () {
      fc.assert(
        fc.property(fc.anything({ withBigInt: true }), (timeout) => {
          if (typeof timeout === 'number' && timeout > 2 ** 31 - 1) return; // cut to 2^31-1 with a warning, by both: noise in the output
          compare({ title: `timeout ${describeReceived(timeout)}`, node: 'depends', run: (api, keep) => void keep(api.createConnection({ port: 9, host: '127.0.0.1', timeout })) });
        }),
        { numRuns: 150 },
      );
    });

    it('host (truthy, not a string) and family (with a name): the same error as node:net', function () {
      fc.assert(
        fc.property(fc.anything({ withBigInt: true }), (value) => {
          if (!value || typeof value === 'string') return;
          compare({ title: `host ${describeReceived(value)}`, node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 9, host: value })) });
          if (value !== 4 && value !== 6) compare({ title: `family ${describeReceived(value)}`, node: 'throws', run: (api, keep) => void keep(api.createConnection({ port: 9, host: 'localhost', family: value })) });
        }),
        { numRuns: 100 },
      );
    });

    it("listen's port: whatever the value node:net refuses, the same error", function () {
      fc.assert(
        fc.property(fc.anything({ withBigInt: true, withNullPrototype: true }), (port) => {
          if (port === undefined || port === null) return; // an ephemeral port: a listen that works, which needs Winsock
          const valid = (typeof port === 'number' || (typeof port === 'string' && port.trim() !== '')) && +port === +port >>> 0 && +port <= 0xffff;
          if (valid) return;
          compare({ title: `listen port ${describeReceived(port)}`, node: 'throws', run: (api, keep) => void keep(api.createServer()).listen!({ port }) });
        }),
        { numRuns: 150 },
      );
    });
  });

  describe("the drop-in's own options and functions, in Node's words", function () {
    it('loopbackFastPath, readSize, exclusiveAddressUse: ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE', function () {
      expect(thrownBy(() => createConnection({ port: 80, host: '127.0.0.1', loopbackFastPath: 'yes' as unknown as boolean }))).to.deep.equal({
        class: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'The "options.loopbackFastPath" property must be of type boolean. Received type string (\'yes\')',
      });
      expect(thrownBy(() => createConnection({ port: 80, host: '127.0.0.1', readSize: 0 }))).to.deep.equal({
        class: RangeError,
        code: 'ERR_OUT_OF_RANGE',
        message: 'The value of "options.readSize" is out of range. It must be >= 1 && <= 4294967295. Received 0',
      });
      expect(thrownBy(() => createServer({ exclusiveAddressUse: 1 as unknown as boolean }))).to.deep.equal({
        class: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'The "options.exclusiveAddressUse" property must be of type boolean. Received type number (1)',
      });
    });

    it('serve(): a target without emit() and bad options, as Node words them', function () {
      expect(thrownBy(() => serve(5 as unknown as http.Server))).to.deep.equal({
        class: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'The "target" argument must be an instance of EventEmitter. Received type number (5)',
      });
      expect(thrownBy(() => serve({} as unknown as http.Server)).message).to.equal('The "target" argument must be an instance of EventEmitter. Received an instance of Object');
      expect(thrownBy(() => serve(http.createServer(), 'x' as unknown as object))).to.deep.equal({
        class: TypeError,
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'The "options" argument must be of type object. Received type string (\'x\')',
      });
    });

    it('errors are shaped as Node\'s: the base class itself, code as an own property, "[code]" in toString() and the stack', function () {
      const error = invalidArgType('options.port', ['number', 'string'], null);
      expect(error.constructor).to.equal(TypeError);
      expect(error).to.be.instanceOf(TypeError);
      expect(error.name).to.equal('TypeError');
      expect(Object.keys(error)).to.deep.equal(['code']);
      expect(String(error)).to.equal('TypeError [ERR_INVALID_ARG_TYPE]: The "options.port" property must be one of type number or string. Received null');
      expect(error.stack!.split('\n')[0]).to.equal(String(error));
      // Large integers are grouped as Node groups them.
      expect(outOfRange('n', '>= 0', 2 ** 40).message).to.equal('The value of "n" is out of range. It must be >= 0. Received 1_099_511_627_776');
    });
  });
});
