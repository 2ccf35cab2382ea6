// Argument checks (src/core/checks.ts): TypeError for the wrong kind, RangeError out of range,
// each value read once. No Winsock call: `npm test` runs test/pure/ on Linux node as well
// as under Wine. The checks of buffer lists, multicast groups and interfaces are in
// buffer-list-and-multicast-checks.test.ts; the Socket methods' own checks in
// test/windows/socket/argument-checks.test.ts.

import { expect } from 'chai';
import fc from 'fast-check';
import { checkAddressInput, checkBuffer, checkHost, checkInteger, checkMsOrZero, checkOptionalBoolean, checkPositiveMs, describe as describeValue } from '../../src/core/checks.ts';

describe('argument checks (pure)', function () {
  it('integers: TypeError for the wrong kind, RangeError out of range', function () {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          checkInteger(value, 'n', -5, 5);
          expect(Number.isInteger(value) && (value as number) >= -5 && (value as number) <= 5).to.equal(true);
        } catch (error) {
          const isInt = typeof value === 'number' && Number.isInteger(value);
          expect(error).to.be.instanceOf(isInt ? RangeError : TypeError);
        }
      }),
    );
  });

  it('the two millisecond ranges say what they accept', function () {
    expect(() => checkPositiveMs(0, 'timeoutMs')).to.throw(RangeError, /between 1 and 4294967295/);
    expect(checkMsOrZero(0, 'ms')).to.equal(0);
    expect(() => checkMsOrZero(2 ** 32, 'ms')).to.throw(RangeError);
    expect(() => checkPositiveMs(1.5, 'timeoutMs')).to.throw(TypeError, /milliseconds/);
  });

  it('hosts and addresses refuse NUL and empty strings', function () {
    expect(() => checkHost('127.0.0.1\0evil.example', 'host')).to.throw(TypeError, /NUL/);
    expect(() => checkHost('', 'host')).to.throw(TypeError);
    expect(() => checkAddressInput({ address: 'x', port: 70000 })).to.throw(RangeError);
    expect(() => checkAddressInput({ address: 'x', port: '80' })).to.throw(TypeError);
    expect(checkAddressInput({ address: 'localhost', port: 0 })).to.deep.equal({ address: 'localhost', port: 0 });
  });

  it('checkAddressInput reads each field once and returns its own plain snapshot', function () {
    const reads = { address: 0, port: 0 };
    const input = {
      get address() {
        return ++reads.address === 1 ? '127.0.0.1' : '';
      },
      get port() {
        return ++reads.port === 1 ? 0 : 70000;
      },
    };
    const snapshot = checkAddressInput(input);
    expect(snapshot).to.not.equal(input);
    expect(Object.getPrototypeOf(snapshot)).to.equal(Object.prototype);
    expect({ ...snapshot }).to.deep.equal({ address: '127.0.0.1', port: 0 });
    expect({ ...snapshot }).to.deep.equal({ address: '127.0.0.1', port: 0 }); // still, read again
    expect(reads).to.deep.equal({ address: 1, port: 1 });
  });

  it('checkBuffer refuses a detached buffer with a TypeError that says so', function () {
    const bytes = new Uint8Array(8);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    expect(bytes.byteLength).to.equal(0);
    expect(() => checkBuffer(bytes, 'data', false)).to.throw(TypeError, /^data is detached/);
    expect(() => checkBuffer(bytes, 'buffer', true)).to.throw(TypeError, /^buffer is detached/);
    const shared = new Uint8Array(new SharedArrayBuffer(4));
    expect(checkBuffer(shared, 'data', true)).to.equal(shared);
  });

  it('checkBuffer gives a view of the real bytes when a subclass or own property misstates them', function () {
    const plain = new Uint8Array(8);
    expect(checkBuffer(plain, 'data', false)).to.equal(plain);
    const buffer = Buffer.alloc(8);
    expect(checkBuffer(buffer, 'data', false)).to.equal(buffer);
    const lying = new Uint8Array(new ArrayBuffer(16), 4, 8);
    Object.defineProperty(lying, 'byteLength', { value: 4096 });
    const view = checkBuffer(lying, 'data', false);
    expect(view).to.not.equal(lying);
    expect([view.byteLength, view.byteOffset, view.buffer]).to.deep.equal([8, 4, lying.buffer]);
    class Bigger extends Uint8Array {
      override get byteLength(): number {
        return 4096;
      }
    }
    expect(checkBuffer(new Bigger(3), 'data', false).byteLength).to.equal(3);
    const empty = new Uint8Array(0);
    Object.defineProperty(empty, 'byteLength', { value: 10 });
    expect(() => checkBuffer(empty, 'buffer', true)).to.throw(RangeError, /must not be empty/);
  });

  it('optional booleans take undefined or a boolean, nothing else', function () {
    expect(checkOptionalBoolean(undefined, 'noDelay')).to.equal(undefined);
    expect(checkOptionalBoolean(true, 'noDelay')).to.equal(true);
    expect(() => checkOptionalBoolean('yes', 'noDelay')).to.throw(TypeError, /noDelay must be a boolean, got "yes"/);
    expect(() => checkOptionalBoolean(1, 'loopbackFastPath')).to.throw(TypeError);
  });

  it('buffers: only Uint8Array, and non-empty where asked', function () {
    expect(() => checkBuffer('text', 'data', false)).to.throw(TypeError, /Buffer or Uint8Array, got "text"/);
    expect(() => checkBuffer(Buffer.alloc(0), 'buffer', true)).to.throw(RangeError);
    expect(checkBuffer(Buffer.alloc(0), 'data', false).byteLength).to.equal(0);
    expect(describeValue(new Map())).to.equal('an instance of Map');
    expect(describeValue(12n)).to.equal('12n');
  });
});
