// TLS over a winsock-ffi connection, for the connectors (agent.ts, undici.ts):
// tls.connect({ socket }) does the handshake over our stream; this module makes the
// TLSSocket pass on what it cannot pass on by itself. Node wraps a stream that is not a
// net.Socket in a JS stream handle, which has no ref/unref, setNoDelay or setKeepAlive:
// without help, an idle keep-alive TLS connection that http.Agent or undici unref()s
// would still hold the process open, and setNoDelay would not reach the socket.

import * as tls from 'node:tls';
import type { Socket } from '../socket.ts';
import type { SocketStream } from '../stream.ts';

const { ref, unref, setNoDelay, setKeepAlive } = tls.TLSSocket.prototype;

/**
 * A TLSSocket over `raw` (connecting or connected) made by `connect` (tls.connect, or an
 * https.Agent's createConnection), with `options.timeout` applied to it (tls.connect
 * leaves the timeout of a socket it was given to the caller).
 */
export function secureOver(raw: SocketStream<Socket>, options: tls.ConnectionOptions, connect: (options: tls.ConnectionOptions) => tls.TLSSocket = tls.connect): tls.TLSSocket {
  // A SocketStream has net.Socket's surface; tls.connect's types name net.Socket's class.
  const secure = connect({ ...options, socket: raw as unknown as tls.ConnectionOptions['socket'] });
  // Own methods on this one object (ours: it was just made here), calling the TLSSocket's own first.
  secure.ref = function refBoth(this: tls.TLSSocket) {
    raw.ref();
    return ref.call(this);
  };
  secure.unref = function unrefBoth(this: tls.TLSSocket) {
    raw.unref();
    return unref.call(this);
  };
  secure.setNoDelay = function setNoDelayBoth(this: tls.TLSSocket, noDelay?: boolean) {
    raw.setNoDelay(noDelay);
    return setNoDelay.call(this, noDelay);
  };
  secure.setKeepAlive = function setKeepAliveBoth(this: tls.TLSSocket, enable?: boolean, initialDelay?: number) {
    raw.setKeepAlive(enable, initialDelay);
    return setKeepAlive.call(this, enable, initialDelay);
  };
  if (options.timeout !== undefined && options.timeout > 0) secure.setTimeout(options.timeout);
  return secure;
}
