// Scatter/gather with the synchronous calls: sendv/recvv (one WSASend/WSARecv with a
// WSABUF per buffer, read and written in place), on TCP and UDP, both families. The
// Promise API's form, sendAsync with an array, is in test/windows/async/send-arrays.test.ts.

import { expect } from 'chai';
import { Socket, SocketClosedError } from '../../../src/index.ts';
import { pattern, sha256 } from '../../support/data.ts';
import { expectWinsockError, families, SocketTracker, tcpPair } from '../../support/sockets.ts';

describe('scatter/gather: sendv / recvv', function () {
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
});
