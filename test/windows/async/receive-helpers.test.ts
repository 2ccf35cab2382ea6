// The Promise API's receive helpers: recvExactAsync (fill a buffer whole, or reject with
// the bytes that came) and chunks() (async iteration of what a connection receives).

import { expect } from 'chai';
import { AbortError, EndOfStreamError, Socket, SocketClosedError, SocketStateError, WinsockError } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import { pattern, sha256 } from '../../support/data.ts';
import { families, SocketTracker } from '../../support/sockets.ts';

async function pairAsync(tracker: SocketTracker): Promise<{ client: Socket; server: Socket }> {
  const fam = families[0]!;
  const listener = tracker.track(Socket.listen({ address: fam.loopback, port: 0 }));
  const [server, client] = await Promise.all([listener.acceptAsync(), Socket.connectAsync({ address: fam.loopback, port: listener.localAddress.port }, { noDelay: true })]);
  return { client: tracker.track(client), server: tracker.track(server) };
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What `promise` rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${String(value)}`),
    (error: unknown) => error,
  );
}

/** Reads `length` bytes with recvAsync (to see what a helper left in the socket). */
async function readText(socket: Socket, length: number): Promise<string> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = await socket.recvAsync(buffer.subarray(filled), { signal: AbortSignal.timeout(5000) });
    if (n === 0) break;
    filled += n;
  }
  return buffer.toString('utf8', 0, filled);
}

describe('Promise API receive helpers', function () {
  const tracker = new SocketTracker();
  afterEach(function () {
    tracker.closeAll();
  });

  describe('recvExactAsync', function () {
    it('fills the buffer from data that comes in pieces and resolves with that same buffer', async function () {
      const { client, server } = await pairAsync(tracker);
      const buffer = new Uint8Array(10);
      const receiving = server.recvExactAsync(buffer);
      for (const piece of ['ab', 'cde', 'fghi', 'j']) {
        await client.sendAsync(piece);
        await delay(10);
      }
      const result = await receiving;
      expect(result).to.equal(buffer);
      expect(Buffer.from(result).toString()).to.equal('abcdefghij');
      // Nothing past the buffer's end was taken from the socket.
      await client.sendAsync('next');
      expect(await readText(server, 4)).to.equal('next');
    });

    it('fills 3 MiB, which takes many receives, intact', async function () {
      const { client, server } = await pairAsync(tracker);
      const data = pattern(3 * 1024 * 1024, 5);
      const buffer = Buffer.alloc(data.length);
      const [received] = await Promise.all([server.recvExactAsync(buffer), client.sendAsync(data)]);
      expect(received).to.equal(buffer);
      expect(sha256(received)).to.equal(sha256(data));
    });

    it('an empty buffer resolves at once with it', async function () {
      const { server } = await pairAsync(tracker);
      const empty = Buffer.alloc(0);
      expect(await server.recvExactAsync(empty)).to.equal(empty);
    });

    it('rejects with EndOfStreamError carrying the bytes read when the stream ends first', async function () {
      const { client, server } = await pairAsync(tracker);
      const buffer = Buffer.alloc(8, 0x2e);
      const receiving = server.recvExactAsync(buffer);
      await client.sendAsync('abc');
      await delay(20);
      client.shutdown('send');
      const error = await rejection(receiving);
      expect(error).to.be.instanceOf(EndOfStreamError);
      const eos = error as EndOfStreamError;
      expect(eos.code).to.equal('ERR_END_OF_STREAM');
      expect(eos.name).to.equal('EndOfStreamError');
      expect(eos.bytesRead).to.equal(3);
      expect(eos.expected).to.equal(8);
      expect(Buffer.from(eos.partial).toString()).to.equal('abc');
      // partial is the front of the caller's buffer, not a copy.
      expect(eos.partial.buffer).to.equal(buffer.buffer);
      expect(eos.partial.byteOffset).to.equal(buffer.byteOffset);
      expect(eos.message).to.equal('recvExactAsync: the peer ended the stream after 3 of 8 bytes');
    });

    it('rejects with EndOfStreamError and 0 bytes on a stream that has ended already', async function () {
      const { client, server } = await pairAsync(tracker);
      client.shutdown('send');
      const error = (await rejection(server.recvExactAsync(Buffer.alloc(4)))) as EndOfStreamError;
      expect(error).to.be.instanceOf(EndOfStreamError);
      expect(error.bytesRead).to.equal(0);
      expect(error.partial.byteLength).to.equal(0);
    });

    it('a signal fired part-way rejects once with AbortError saying how many bytes came; nothing more is taken from the socket', async function () {
      const { client, server } = await pairAsync(tracker);
      const controller = new AbortController();
      const buffer = Buffer.alloc(8, 0x2e);
      let settled = 0;
      const receiving = server.recvExactAsync(buffer, { signal: controller.signal }).finally(() => settled++);
      await client.sendAsync('abc');
      await delay(50);
      controller.abort(new Error('enough'));
      const error = await rejection(receiving);
      expect(error).to.be.instanceOf(AbortError);
      expect((error as AbortError).code).to.equal('ABORT_ERR');
      expect(((error as AbortError).cause as Error).message).to.equal('enough');
      expect((error as { bytesRead?: number }).bytesRead).to.equal(3);
      expect(buffer.toString('utf8', 0, 3)).to.equal('abc');
      expect(buffer.subarray(3).every((byte) => byte === 0x2e)).to.equal(true);
      // The cancelled receive is gone: later data goes to the next call, whole.
      expect(pumpState().pending).to.equal(0);
      await client.sendAsync('defgh');
      expect(await readText(server, 5)).to.equal('defgh');
      await delay(20);
      expect(settled).to.equal(1);
    });

    it('an already fired signal rejects at once and takes nothing', async function () {
      const { client, server } = await pairAsync(tracker);
      await client.sendAsync('data');
      await delay(20);
      const error = await rejection(server.recvExactAsync(Buffer.alloc(4), { signal: AbortSignal.abort() }));
      expect(error).to.be.instanceOf(AbortError);
      expect((error as { bytesRead?: number }).bytesRead).to.equal(0);
      expect(await readText(server, 4)).to.equal('data');
    });

    it('closing the socket part-way rejects with WSA_OPERATION_ABORTED and the bytes that came', async function () {
      const { client, server } = await pairAsync(tracker);
      const receiving = server.recvExactAsync(Buffer.alloc(16));
      await client.sendAsync('12345');
      await delay(50);
      server.close();
      const error = await rejection(receiving);
      expect(error).to.be.instanceOf(WinsockError);
      expect((error as WinsockError).code).to.equal('WSA_OPERATION_ABORTED');
      expect((error as { bytesRead?: number }).bytesRead).to.equal(5);
    });

    it('refuses bad arguments and sockets with a rejection, before any native call', async function () {
      const { server } = await pairAsync(tracker);
      expect(await rejection(server.recvExactAsync('x' as unknown as Buffer))).to.be.instanceOf(TypeError);
      expect(await rejection(server.recvExactAsync(Buffer.alloc(4), { signal: 'no' as unknown as AbortSignal }))).to.be.instanceOf(TypeError);
      expect(await rejection(server.recvExactAsync(Buffer.alloc(4), 'no' as unknown as undefined))).to.be.instanceOf(TypeError);
      const udp = tracker.track(new Socket({ type: 'udp' }));
      const notTcp = await rejection(udp.recvExactAsync(Buffer.alloc(4)));
      expect(notTcp).to.be.instanceOf(SocketStateError);
      expect((notTcp as SocketStateError).code).to.equal('ERR_SOCKET_TYPE');
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      expect(((await rejection(listener.recvExactAsync(Buffer.alloc(4)))) as SocketStateError).code).to.equal('ERR_SOCKET_LISTENING');
      server.close();
      expect(await rejection(server.recvExactAsync(Buffer.alloc(4)))).to.be.instanceOf(SocketClosedError);
    });
  });

  describe('chunks()', function () {
    it('yields everything received until the end of the stream, each chunk a Buffer of its own of at most size bytes', async function () {
      const { client, server } = await pairAsync(tracker);
      const data = pattern(3 * 1024 * 1024 + 17, 9);
      const size = 200_000;
      const sending = (async () => {
        await client.sendAsync(data);
        client.shutdown('send');
      })();
      const chunks: Buffer[] = [];
      for await (const chunk of server.chunks(size)) {
        expect(chunk).to.be.instanceOf(Buffer);
        expect(chunk.length).to.be.within(1, size);
        chunks.push(chunk);
      }
      await sending;
      // Checked after the loop: no later receive wrote into a chunk already yielded.
      expect(sha256(Buffer.concat(chunks))).to.equal(sha256(data));
      expect(chunks.some((chunk) => chunk.length > 64 * 1024), 'receives grew past 64 KiB').to.equal(true);
      expect(server.closed).to.equal(false);
    });

    it('a size above 512 KiB still yields chunks of at most 512 KiB: receives grow no further (a larger Buffer is a VirtualAlloc of its own)', async function () {
      const { client, server } = await pairAsync(tracker);
      const data = pattern(8 * 1024 * 1024, 3);
      const sending = (async () => {
        await client.sendAsync(data);
        client.shutdown('send');
      })();
      const chunks: Buffer[] = [];
      for await (const chunk of server.chunks(4 * 1024 * 1024)) {
        expect(chunk.length).to.be.within(1, 512 * 1024);
        chunks.push(chunk);
      }
      await sending;
      expect(sha256(Buffer.concat(chunks))).to.equal(sha256(data));
    });

    it('small messages each come as their own small chunk, intact after later receives', async function () {
      const { client, server } = await pairAsync(tracker);
      const iterator = server.chunks(1024);
      const chunks: Buffer[] = [];
      for (const word of ['alpha', 'beta', 'gamma', 'delta']) {
        const next = iterator.next();
        await client.sendAsync(word);
        const result = await next;
        expect(result.done).to.equal(false);
        chunks.push(result.value!);
      }
      client.shutdown('send');
      expect((await iterator.next()).done).to.equal(true);
      expect((await iterator.next()).done).to.equal(true);
      expect(chunks.map((chunk) => chunk.toString())).to.deep.equal(['alpha', 'beta', 'gamma', 'delta']);
    });

    it('break leaves the socket open and loses no data', async function () {
      const { client, server } = await pairAsync(tracker);
      await client.sendAsync('first');
      let seen = '';
      for await (const chunk of server.chunks(64)) {
        seen = chunk.toString();
        break;
      }
      expect(seen).to.equal('first');
      expect(server.closed).to.equal(false);
      expect(pumpState().pending).to.equal(0);
      await client.sendAsync('second');
      expect(await readText(server, 6)).to.equal('second');
      await server.sendAsync('still open');
      expect(await readText(client, 10)).to.equal('still open');
    });

    it('an exception thrown in the loop body propagates, and the socket stays open', async function () {
      const { client, server } = await pairAsync(tracker);
      await client.sendAsync('boom');
      const error = await (async () => {
        for await (const chunk of server.chunks()) throw new Error(`got ${chunk.toString()}`);
      })().catch((e: unknown) => e);
      expect((error as Error).message).to.equal('got boom');
      await client.sendAsync('after');
      expect(await readText(server, 5)).to.equal('after');
    });

    it('return() while a next() is pending cancels that receive: the next() ends the iteration and later data stays in the socket', async function () {
      const { client, server } = await pairAsync(tracker);
      const iterator = server.chunks(64);
      const pending = iterator.next();
      await delay(30);
      expect(await iterator.return!()).to.deep.equal({ done: true, value: undefined });
      expect(await pending).to.deep.equal({ done: true, value: undefined });
      expect(pumpState().pending).to.equal(0);
      expect((await iterator.next()).done).to.equal(true);
      await client.sendAsync('later');
      expect(await readText(server, 5)).to.equal('later');
    });

    it('next() calls made together are served in order, one receive each', async function () {
      const { client, server } = await pairAsync(tracker);
      const iterator = server.chunks(64);
      const first = iterator.next();
      const second = iterator.next();
      await client.sendAsync('one');
      expect((await first).value?.toString()).to.equal('one');
      await client.sendAsync('two');
      expect((await second).value?.toString()).to.equal('two');
      await iterator.return!();
    });

    it('a fired signal rejects the pending next() with AbortError and ends the iteration; the socket keeps working', async function () {
      const { client, server } = await pairAsync(tracker);
      const controller = new AbortController();
      const iterator = server.chunks(64, { signal: controller.signal });
      const pending = iterator.next();
      setTimeout(() => controller.abort(new Error('stop')), 30);
      const error = await rejection(pending);
      expect(error).to.be.instanceOf(AbortError);
      expect(((error as AbortError).cause as Error).message).to.equal('stop');
      expect((await iterator.next()).done).to.equal(true);
      await client.sendAsync('more');
      expect(await readText(server, 4)).to.equal('more');
    });

    it('a failed receive rejects the iteration with its WinsockError', async function () {
      const { server } = await pairAsync(tracker);
      const iterator = server.chunks(64);
      const pending = iterator.next();
      await delay(20);
      server.close();
      const error = await rejection(pending);
      expect(error).to.be.instanceOf(WinsockError);
      expect((error as WinsockError).code).to.equal('WSA_OPERATION_ABORTED');
      expect((await iterator.next()).done).to.equal(true);
    });

    it('refuses bad arguments and sockets at once, before any native call', async function () {
      const { server } = await pairAsync(tracker);
      expect(() => server.chunks(0)).to.throw(RangeError);
      expect(() => server.chunks(2 ** 31)).to.throw(RangeError);
      expect(() => server.chunks(1.5)).to.throw(TypeError);
      expect(() => server.chunks('64' as unknown as number)).to.throw(TypeError);
      expect(() => server.chunks(64, { signal: 'no' as unknown as AbortSignal })).to.throw(TypeError);
      const udp = tracker.track(new Socket({ type: 'udp' }));
      expect(() => udp.chunks()).to.throw(SocketStateError);
      server.close();
      expect(() => server.chunks()).to.throw(SocketClosedError);
    });
  });
});
