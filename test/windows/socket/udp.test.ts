// UDP over loopback, both families: datagrams with sendTo/recvFrom, connected UDP,
// non-blocking receive, and what Windows reports for datagram-specific errors.

import { expect } from 'chai';
import { Socket, SocketStateError, poll } from '../../../src/index.ts';
import { expectWinsockError, families, SocketTracker } from '../../support/sockets.ts';

describe('UDP sockets', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  for (const fam of families) {
    describe(fam.family, function () {
      function boundUdp(): Socket {
        const socket = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
        socket.bind({ address: fam.loopback, port: 0 });
        return socket;
      }

      it('sendTo() and recvFrom() carry a datagram and name its sender', function () {
        const a = boundUdp();
        const b = boundUdp();
        expect(a.sendTo('hello', b.localAddress)).to.equal(5);
        const buffer = Buffer.alloc(64);
        const result = b.recvFrom(buffer);
        expect(result).to.deep.equal({ bytes: 5, address: fam.loopback, port: a.localAddress.port });
        expect(buffer.toString('utf8', 0, 5)).to.equal('hello');
        // And back, using the address recvFrom() reported.
        b.sendTo(Buffer.from([1, 2, 3]), { address: result.address, port: result.port });
        const back = a.recvFrom(buffer);
        expect(back.bytes).to.equal(3);
        expect(back.port).to.equal(b.localAddress.port);
      });

      it('keeps datagram boundaries', function () {
        const a = boundUdp();
        const b = boundUdp();
        a.sendTo('one', b.localAddress);
        a.sendTo('three', b.localAddress);
        const buffer = Buffer.alloc(64);
        expect(b.recvFrom(buffer).bytes).to.equal(3);
        expect(b.recvFrom(buffer).bytes).to.equal(5);
        expect(buffer.toString('utf8', 0, 5)).to.equal('three');
      });

      it('an empty datagram is delivered as 0 bytes', function () {
        const a = boundUdp();
        const b = boundUdp();
        expect(a.sendTo(new Uint8Array(0), b.localAddress)).to.equal(0);
        expect(b.recvFrom(Buffer.alloc(8)).bytes).to.equal(0);
      });

      it('a datagram larger than the buffer fails with WSAEMSGSIZE', function () {
        const a = boundUdp();
        const b = boundUdp();
        a.sendTo('twelve bytes', b.localAddress);
        expectWinsockError(() => b.recvFrom(Buffer.alloc(4)), 'WSAEMSGSIZE', 'recvfrom');
      });

      it('sendTo() from an unbound socket binds it implicitly', function () {
        const receiver = boundUdp();
        const sender = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
        sender.sendTo('x', receiver.localAddress);
        const from = receiver.recvFrom(Buffer.alloc(4));
        expect(from.port).to.equal(sender.localAddress.port);
      });

      it('connect() fixes the peer: send() and recv() then work without addresses', function () {
        const a = boundUdp();
        const b = boundUdp();
        a.connect(b.localAddress);
        expect(a.remoteAddress).to.deep.equal(b.localAddress);
        expect(a.send('via send')).to.equal(8);
        const buffer = Buffer.alloc(16);
        expect(b.recv(buffer)).to.equal(8);
        b.sendTo('reply', a.localAddress);
        expect(a.recv(buffer)).to.equal(5);
        expect(buffer.toString('utf8', 0, 5)).to.equal('reply');
      });

      it('non-blocking: tryRecv() returns -1 until a datagram is there', function () {
        const a = boundUdp();
        const b = boundUdp();
        b.setBlocking(false);
        const buffer = Buffer.alloc(16);
        expect(b.tryRecv(buffer)).to.equal(-1);
        expectWinsockError(() => b.recvFrom(buffer), 'WSAEWOULDBLOCK', 'recvfrom');
        a.sendTo('late', b.localAddress);
        expect(poll([{ socket: b, events: { readable: true } }], 5000)[0]!.readable).to.equal(true);
        expect(b.tryRecv(buffer)).to.equal(4);
        expect(b.tryRecv(buffer)).to.equal(-1);
      });

      it('non-blocking: trySend() on a connected UDP socket sends at once', function () {
        const a = boundUdp();
        const b = boundUdp();
        a.connect(b.localAddress);
        a.setBlocking(false);
        expect(a.trySend(Buffer.from('now'))).to.equal(3);
        expect(b.recvFrom(Buffer.alloc(8)).bytes).to.equal(3);
      });

      it('a receive timeout makes recvFrom() fail with WSAETIMEDOUT', function () {
        const socket = boundUdp();
        socket.setReceiveTimeout(50);
        expectWinsockError(() => socket.recvFrom(Buffer.alloc(8)), 'WSAETIMEDOUT', 'recvfrom');
      });

      it('bytesAvailable reports the queued datagram', function () {
        const a = boundUdp();
        const b = boundUdp();
        expect(b.bytesAvailable).to.equal(0);
        a.sendTo('1234567', b.localAddress);
        expect(poll([{ socket: b, events: { readable: true } }], 5000)[0]!.readable).to.equal(true);
        expect(b.bytesAvailable).to.equal(7);
      });

      it('TCP-only calls throw SocketStateError ERR_SOCKET_TYPE', function () {
        const socket = boundUdp();
        for (const call of [() => socket.listen(), () => socket.accept(), () => socket.enableLoopbackFastPath()]) {
          const attempt = (): unknown => call();
          expect(attempt).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
        }
      });

      it('sendTo() refuses an address of the other family before any native call', function () {
        const socket = boundUdp();
        const other = families.find((f) => f.family !== fam.family)!;
        expect(() => socket.sendTo('x', { address: other.loopback, port: 9 })).to.throw(TypeError);
        expect(() => socket.sendTo('x', { address: fam.loopback, port: 65536 })).to.throw(RangeError);
        expect(() => socket.sendTo(42 as unknown as string, { address: fam.loopback, port: 9 })).to.throw(TypeError);
      });
    });
  }
});
