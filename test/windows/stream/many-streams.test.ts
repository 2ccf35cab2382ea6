// Beyond 50 open streams, an idle stream waits for data with a zero-byte receive and
// holds no receive buffer (as libuv does): the data, the end and a reset still arrive.

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Socket } from '../../../src/index.ts';
import type { SocketStream } from '../../../src/index.ts';
import { pattern, sha256 } from '../../support/data.ts';
import { skipUnder } from '../../support/skip.ts';
import { SocketTracker } from '../../support/sockets.ts';

/** More than the 50 streams beyond which idle streams hold no receive buffer. */
const STREAMS = 80;
const READ_BUFFER = 64 * 1024;

async function streamPairs(tracker: SocketTracker, made: SocketStream[], n: number): Promise<Array<{ a: SocketStream<Socket>; b: SocketStream<Socket> }>> {
  const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, { backlog: n }));
  const pairs: Array<{ a: SocketStream<Socket>; b: SocketStream<Socket> }> = [];
  for (let i = 0; i < n; i++) {
    const [server, client] = await Promise.all([listener.acceptAsync(), Socket.connectAsync({ address: '127.0.0.1', port: listener.localAddress.port })]);
    tracker.track(server);
    tracker.track(client);
    const pair = { a: server.toStream(), b: client.toStream() };
    made.push(pair.a, pair.b);
    pairs.push(pair);
  }
  return pairs;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** ArrayBuffer memory still referenced: a full collection first, so garbage does not count. */
const externalAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().external;
};

describe('many streams (zero-byte receives)', function () {
  const tracker = new SocketTracker();
  const made: SocketStream[] = [];
  afterEach(() => {
    for (const stream of made.splice(0)) stream.destroy();
    tracker.closeAll();
  });

  it(`${STREAMS} idle streams hold no 64 KiB receive buffer each, and every one still gets its messages in order`, async function () {
    const before = externalAfterGc();
    const pairs = await streamPairs(tracker, made, STREAMS);
    for (const { a, b } of pairs) {
      a.on('data', (chunk: Buffer) => a.write(chunk)); // echo
      b.pause();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const grown = externalAfterGc() - before;
    // Each of 2 x 80 streams reading into its own buffer would be 10 MiB; the first 50 still do.
    expect(grown, `external memory grew by ${grown} bytes`).to.be.below((50 + 20) * READ_BUFFER);

    // Ten round trips on every connection at once, each message naming its connection and turn.
    await Promise.all(
      pairs.map(async ({ b }, id) => {
        b.resume();
        let pending = Buffer.alloc(0);
        for (let turn = 0; turn < 10; turn++) {
          const message = Buffer.from(`${id}:${turn};`);
          b.write(message);
          while (pending.length < message.length) {
            const [chunk] = (await once(b, 'data')) as [Buffer];
            pending = Buffer.concat([pending, chunk]);
          }
          expect(pending.subarray(0, message.length).toString()).to.equal(message.toString());
          pending = pending.subarray(message.length);
        }
        expect(pending.length).to.equal(0);
      }),
    );
  });

  it(`${STREAMS} streams woken at once share a few receive buffers instead of taking a fresh 64 KiB each`, async function () {
    skipUnder(
      this,
      process.env.WINSOCK_FFI_ENGINE === 'worker-pump',
      "the worker pump settles a receive through its port's queue in a later turn, never within the call: there each woken stream still takes a buffer of its own",
    );
    const pairs = await streamPairs(tracker, made, STREAMS);
    let echoed = 0;
    let allEchoed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allEchoed = resolve));
    for (const { a, b } of pairs) {
      a.on('data', (chunk: Buffer) => a.write(chunk)); // echo
      b.on('data', () => {
        if (++echoed === STREAMS) allEchoed();
      });
    }
    // Every stream caught up and idle (zero-byte receives), garbage collected.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = externalAfterGc();
    // One small message on every connection at once: each echo stream, then each client
    // stream, wakes and receives. Without a collection in between, every fresh 64 KiB
    // buffer taken and dropped would still count.
    for (const { b } of pairs) b.write('x');
    await done;
    const grown = process.memoryUsage().external - before;
    expect(grown, `external memory grew by ${grown} bytes`).to.be.below(16 * READ_BUFFER);
  });

  it('an idle stream in zero-read mode sees bulk data intact, the end of the stream, and a reset', async function () {
    const pairs = await streamPairs(tracker, made, STREAMS);
    const idle = pairs.slice(-3); // made last: beyond the threshold
    // Bulk data after a quiet time: 4 MiB arrive intact.
    const data = pattern(4 * 1024 * 1024, 9);
    const hash = createHash('sha256');
    let bytes = 0;
    idle[0]!.a.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    idle[0]!.b.end(data);
    await once(idle[0]!.a, 'end');
    expect({ bytes, hash: hash.digest('hex') }).to.deep.equal({ bytes: data.length, hash: sha256(data) });

    // The peer's end alone.
    idle[1]!.a.resume();
    idle[1]!.b.end();
    await once(idle[1]!.a, 'end');

    // A reset (SO_LINGER 0): the stream closes (with ECONNRESET, or Wine 8's orderly end).
    const errors: Error[] = [];
    idle[2]!.a.on('error', (error: Error) => errors.push(error));
    idle[2]!.a.resume();
    const closed = new Promise((resolve) => idle[2]!.a.once('close', resolve));
    idle[2]!.b.resetAndDestroy();
    await closed;
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code).filter((code) => code !== 'ECONNRESET')).to.deep.equal([]);
  });
});
