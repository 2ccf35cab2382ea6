// Scatter/gather: sendv/recvv (one synchronous WSASend/WSARecv with a WSABUF per buffer,
// read and written in place) and sendAsync with an array (one overlapped WSASend with a
// WSABUF per piece, the pieces copied back to back into pinned memory when their turn
// comes, never concatenated). npm test runs this file on both engines.

import { expect } from 'chai';
import { AbortError, Socket, SocketClosedError, WinsockError } from '../../../src/index.ts';
import { pumpState } from '../../../src/iocp/async-io.ts';
import { pattern, sha256 } from '../../support/data.ts';
import { expectWinsockError, families, SocketTracker, tcpPair } from '../../support/sockets.ts';

describe('scatter/gather', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  for (const fam of families) {
    describe(`sendv / recvv on TCP (${fam.family})`, function () {
      it('sendv() sends the buffers in order, skipping empty ones; recvv() fills its buffers in order', function () {
        const { client, server } = tcpPair(tracker, fam);
        const parts = [Buffer.from('alpha,'), Buffer.alloc(0), new Uint8Array(Buffer.from('beta,')), Buffer.from('gamma').subarray(1)];
        expect(client.sendv(parts)).to.equal(15);
        const first = Buffer.alloc(3);
        const second = Buffer.alloc(4);
        const third = Buffer.alloc(64);
        let got = 0;
        const all: Buffer[] = [];
        while (got < 15) {
          const n = server.recvv([first, Buffer.alloc(0), second, third]);
          expect(n).to.be.greaterThan(0);
          all.push(Buffer.concat([first, second, third]).subarray(0, n));
          got += n;
        }
        expect(Buffer.concat(all).toString()).to.equal('alpha,beta,amma');
      });

      it('sendv() of 64 buffers goes out whole; recvv() returns 0 at the end of the stream', function () {
        const { client, server } = tcpPair(tracker, fam);
        // Small enough for the kernel's buffers: this thread sends all of it before it reads.
        const pieces = Array.from({ length: 64 }, (_, i) => pattern(500 + i, i));
        const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
        expect(client.sendv(pieces)).to.equal(total);
        client.shutdown('send');
        const received: Buffer[] = [];
        const a = Buffer.alloc(1000);
        const b = Buffer.alloc(5000);
        for (;;) {
          const n = server.recvv([a, b]);
          if (n === 0) break;
          received.push(Buffer.concat([a, b]).subarray(0, n));
        }
        expect(sha256(Buffer.concat(received))).to.equal(sha256(Buffer.concat(pieces)));
      });
    });

    describe(`sendv / recvv on UDP (${fam.family})`, function () {
      it('sendv() makes one datagram of its buffers; recvv() scatters one datagram, WSAEMSGSIZE when it does not fit', function () {
        const a = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
        const b = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
        a.bind({ address: fam.loopback, port: 0 });
        b.bind({ address: fam.loopback, port: 0 });
        a.connect(b.localAddress);
        b.connect(a.localAddress);
        expect(a.sendv([Buffer.from('one'), Buffer.from('-'), Buffer.from('datagram')])).to.equal(12);
        expect(a.sendv([])).to.equal(0); // an empty datagram, as send('') makes
        const head = Buffer.alloc(4);
        const tail = Buffer.alloc(20);
        expect(b.recvv([head, tail])).to.equal(12);
        expect(head.toString() + tail.toString('utf8', 0, 8)).to.equal('one-datagram');
        expect(b.recvv([head])).to.equal(0);
        a.sendv([Buffer.alloc(10, 1), Buffer.alloc(10, 2)]);
        expectWinsockError(() => b.recvv([Buffer.alloc(5), Buffer.alloc(5)]), 'WSAEMSGSIZE', 'WSARecv');
      });
    });
  }

  it('sendv / recvv check their arguments before any native call', function () {
    const { client } = tcpPair(tracker, families[0]!);
    expect(() => client.sendv(Buffer.from('x') as unknown as Uint8Array[])).to.throw(TypeError, /array/);
    expect(() => client.sendv(['text'] as unknown as Uint8Array[])).to.throw(TypeError, /buffers\[0\]/);
    expect(() => client.sendv([Buffer.alloc(1), null] as unknown as Uint8Array[])).to.throw(TypeError, /buffers\[1\]/);
    expect(() => client.sendv(Array.from({ length: 1025 }, () => Buffer.alloc(1)))).to.throw(RangeError);
    expect(() => client.recvv([])).to.throw(RangeError);
    expect(() => client.recvv([Buffer.alloc(0)])).to.throw(RangeError);
    const closed = tracker.track(new Socket());
    closed.close();
    expect(() => closed.sendv([Buffer.alloc(1)])).to.throw(SocketClosedError);
    expect(() => closed.recvv([Buffer.alloc(1)])).to.throw(SocketClosedError);
    expect(client.sendv(Array.from({ length: 1024 }, () => Buffer.from('x')))).to.equal(1024);
  });

  describe('sendAsync with an array', function () {
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
});
