// A real Winsock failure reads as words, not as a number: the system's own text where it
// has one (real Windows), Microsoft's short description from src/sys/windows/error-texts.ts
// where it has none (Wine's FormatMessageW has no text for WSAEADDRINUSE and most WSA
// codes). The table itself is checked in test/pure/winsock-error-texts.test.ts.

import { expect } from 'chai';
import { Socket } from '../../../src/index.ts';
import { underWine } from '../../support/env.ts';
import { expectWinsockError, SocketTracker } from '../../support/sockets.ts';

describe('Winsock error messages', function () {
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  it('binding a port twice is WSAEADDRINUSE, and its message says so in words', function () {
    const holder = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }, { exclusiveAddressUse: true }));
    const port = holder.localAddress.port;
    const second = tracker.track(new Socket({ family: 'ipv4', type: 'tcp' }));
    const error = expectWinsockError(() => second.bind({ address: '127.0.0.1', port }), 'WSAEADDRINUSE', 'bind');
    expect(error.errno).to.equal(10048);
    expect(error.message).to.match(new RegExp(`^bind WSAEADDRINUSE 127\\.0\\.0\\.1:${port}: \\S`));
    expect(error.message).to.not.match(/Winsock error/);
    // Wine has no text of its own for 10048: Microsoft's short description is the message.
    if (underWine) expect(error.message).to.equal(`bind WSAEADDRINUSE 127.0.0.1:${port}: Address already in use.`);
  });
});
