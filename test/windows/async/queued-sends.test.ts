// What the README says about sendAsync's data: no snapshot. A send queued behind
// earlier ones on the same socket copies its bytes when its turn comes (as
// net.Socket.write keeps the caller's Buffer), so a change made meanwhile is what goes out.

import { expect } from 'chai';
import { Socket } from '../../../src/index.ts';
import { families, SocketTracker, tcpPair } from '../../support/sockets.ts';

describe('sendAsync data', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  it('a sendAsync queued behind a stuck one copies its bytes when its turn comes, not when it is called', async function () {
    this.timeout(60_000);
    const { client, server } = tcpPair(tracker, families[0]!);
    const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
    let bigDone = false;
    const first = client.sendAsync(big).then(() => (bigDone = true));
    const data = Buffer.from('XXXX');
    const queued = client.sendAsync(data);
    await new Promise((resolve) => setImmediate(resolve));
    expect(bigDone, 'the first send should still be waiting for the peer to read').to.equal(false);
    data.write('YYYY'); // after the call, before its turn
    // Read everything; the last four bytes are the queued send's.
    const tail = await drain(server, big.byteLength + 4);
    await Promise.all([first, queued]);
    expect(tail).to.equal('YYYY');
  });
});

/** Receives `total` bytes with recvAsync; returns the last four as text. */
async function drain(socket: Socket, total: number): Promise<string> {
  const chunk = Buffer.alloc(256 * 1024);
  const last = Buffer.alloc(4);
  let received = 0;
  while (received < total) {
    const n = await socket.recvAsync(chunk);
    if (n === 0) throw new Error(`the stream ended after ${received} of ${total} bytes`);
    // Keep the last 4 bytes seen.
    const combined = Buffer.concat([last, chunk.subarray(0, n)]);
    combined.copy(last, 0, combined.byteLength - 4);
    received += n;
  }
  return last.toString('latin1');
}
