// Scatter/gather on the Promise API: sendAsync with an array (one overlapped WSASend with
// a WSABUF per piece, the pieces copied back to back into pinned memory when their turn
// comes, never concatenated). It lives in test/windows/async/, so npm test runs it on both
// engines. The synchronous sendv/recvv are in test/windows/socket/sendv-recvv.test.ts.

import { expect } from 'chai';
import { AbortError, Socket, SocketClosedError, WinsockError } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import { pattern, sha256 } from '../../support/data.ts';
import { families, SocketTracker, tcpPair } from '../../support/sockets.ts';

describe('scatter/gather: sendAsync with an array', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  it('sends every piece in order, as one stream with the sends around it', async function () {
    const { client, server } = tcpPair(tracker, families[0]!);
    const pieces = Array.from({ length: 150 }, (_, i) => pattern(1 + ((i * 7919) % 40000), i));
    const before = pattern(300 * 1024, 1000);
    const after = Buffer.from('after');
    const reading = (async () => {
      const received: Buffer[] = [];
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = await server.recvAsync(buffer);
        if (n === 0) return Buffer.concat(received);
        received.push(Buffer.from(buffer.subarray(0, n)));
      }
    })();
    await Promise.all([client.sendAsync(before), client.sendAsync(pieces), client.sendAsync([]), client.sendAsync([Buffer.alloc(0), after])]);
    client.shutdown('send');
    expect(sha256(await reading)).to.equal(sha256(Buffer.concat([before, ...pieces, after])));
    expect(pumpState().pending).to.equal(0);
  });

  it('an abort says how many bytes of the array the stack took', async function () {
    const { client } = tcpPair(tracker, families[0]!);
    // The peer never reads: the send stays pending until aborted.
    const pieces = Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024, 7));
    const controller = new AbortController();
    const sending = client.sendAsync(pieces, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = (await sending.then(() => expect.fail('should have been aborted'), (e: unknown) => e)) as AbortError & { bytesWritten: number };
    expect(error).to.be.instanceOf(AbortError);
    expect(error.bytesWritten).to.be.a('number').within(0, 64 * 1024 * 1024 - 1);
    for (let i = 0; i < 100 && pumpState().pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pumpState().pending).to.equal(0);
  });

  it('checks the array before anything is sent', async function () {
    const { client } = tcpPair(tracker, families[0]!);
    for (const bad of [[Buffer.from('a'), 'b'], [42], Array.from({ length: 1025 }, () => Buffer.alloc(1))]) {
      const error = await client.sendAsync(bad as Uint8Array[]).then(() => null, (e: unknown) => e);
      expect(error instanceof TypeError || error instanceof RangeError, String(error)).to.equal(true);
    }
    const closed = tracker.track(new Socket());
    closed.close();
    expect(await closed.sendAsync([Buffer.alloc(1)]).catch((e: unknown) => e)).to.be.instanceOf(SocketClosedError);
    expect(await tracker.track(new Socket()).sendAsync([Buffer.alloc(1)]).catch((e: unknown) => e)).to.be.instanceOf(WinsockError);
  });
});
