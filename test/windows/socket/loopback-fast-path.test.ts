// SIO_LOOPBACK_FAST_PATH: "not supported" is reported as false (Windows 7, Wine), the
// ordering rules are enforced in JavaScript, and on real Windows a fast-path
// connection carries data.

import { expect } from 'chai';
import { Socket, SocketStateError, loopbackFastPathSupported } from '../../../src/index.ts';
import { underWine } from '../../support/env.ts';
import { realWindowsOnly } from '../../support/skip.ts';
import { families, recvText, SocketTracker, tcpPair, thrownBy } from '../../support/sockets.ts';


function expectTooLate(fn: () => unknown): void {
  const error = thrownBy(fn);
  expect(error).to.be.instanceOf(SocketStateError);
  expect((error as SocketStateError).code).to.equal('ERR_FAST_PATH_TOO_LATE');
}

describe('TCP loopback fast path', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  it('loopbackFastPathSupported() is false under Wine (WSAEOPNOTSUPP), and stable', function () {
    const supported = loopbackFastPathSupported();
    expect(supported).to.be.a('boolean');
    if (underWine) expect(supported).to.equal(false);
    expect(loopbackFastPathSupported()).to.equal(supported);
  });

  it('enableLoopbackFastPath() before connect returns what the system supports, without failing', function () {
    const socket = tracker.track(new Socket());
    expect(socket.enableLoopbackFastPath()).to.equal(loopbackFastPathSupported());
    expect(socket.loopbackFastPath).to.equal(loopbackFastPathSupported());
  });

  it('the connect and listen options ask for it and still connect when it is missing', function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, { loopbackFastPath: true }));
    const client = tracker.track(Socket.connect(listener.localAddress, { loopbackFastPath: true }));
    const server = tracker.track(listener.accept());
    expect(listener.loopbackFastPath).to.equal(loopbackFastPathSupported());
    expect(client.loopbackFastPath).to.equal(loopbackFastPathSupported());
    // Accepted sockets inherit the listener's setting.
    expect(server.loopbackFastPath).to.equal(listener.loopbackFastPath);
    client.sendAll('over loopback');
    expect(recvText(server, 13)).to.equal('over loopback');
  });

  for (const fam of families) {
    it(`echoes over a connection with the fast path on both ends (${fam.family})`, function () {
      realWindowsOnly(this, 'has no SIO_LOOPBACK_FAST_PATH');
      const listener = tracker.track(Socket.listen({ address: fam.loopback, port: 0 }, { loopbackFastPath: true }));
      const client = tracker.track(Socket.connect(listener.localAddress, { loopbackFastPath: true, noDelay: true }));
      const server = tracker.track(listener.accept());
      expect(listener.loopbackFastPath).to.equal(true);
      expect(client.loopbackFastPath).to.equal(true);
      expect(server.loopbackFastPath).to.equal(true);
      const message = Buffer.alloc(64, 0x41);
      const echo = Buffer.alloc(64);
      for (let i = 0; i < 100; i++) {
        message.writeUInt32LE(i, 0);
        client.sendAll(message);
        server.recvExact(echo);
        server.sendAll(echo);
        client.recvExact(echo);
        expect(echo.equals(message)).to.equal(true);
      }
    });
  }

  describe('ordering', function () {
    it('after connect() it throws ERR_FAST_PATH_TOO_LATE', function () {
      const { client } = tcpPair(tracker, families[0]!);
      expectTooLate(() => client.enableLoopbackFastPath());
      expect(client.loopbackFastPath).to.equal(false);
    });

    it('on an accepted socket it throws ERR_FAST_PATH_TOO_LATE', function () {
      const { server } = tcpPair(tracker, families[1]!);
      expectTooLate(() => server.enableLoopbackFastPath());
    });

    it('on a listener after its first accept() it throws ERR_FAST_PATH_TOO_LATE', function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      // Before any accept it is still allowed.
      expect(listener.enableLoopbackFastPath()).to.equal(loopbackFastPathSupported());
      tracker.track(Socket.connect(listener.localAddress));
      tracker.track(listener.accept());
      expectTooLate(() => listener.enableLoopbackFastPath());
    });

    it('on a bound, not yet connected socket it is still allowed', function () {
      const socket = tracker.track(new Socket());
      socket.bind({ address: '127.0.0.1', port: 0 });
      expect(socket.enableLoopbackFastPath()).to.equal(loopbackFastPathSupported());
    });

    it('on UDP it throws ERR_SOCKET_TYPE', function () {
      for (const fam of families) {
        const socket = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
        const error = thrownBy(() => socket.enableLoopbackFastPath());
        expect(error).to.be.instanceOf(SocketStateError);
        expect((error as SocketStateError).code).to.equal('ERR_SOCKET_TYPE');
      }
    });
  });
});
