// The `promise` and `stream` rows: this library's Promise API (socket.recvAsync /
// socket.sendAsync, overlapped I/O on the shared completion port) and its toStream()
// Duplex on top of it, written the way a user would write efficient code with them:
// one message buffer reused for every send and receive, one await per send and per
// receive (a short receive loops until the message is whole). Both ends use the same
// API; the echo side of `promise` sends back whatever each recvAsync returned, the echo
// side of `stream` pipes the stream into itself (the classic net.Socket echo).
//
// What the library allocates per call (promises, its own bookkeeping, the stream's
// chunks) is part of what these rows measure.
import { once } from 'node:events';
import { Socket } from '#winsock-ffi';
import type { SocketStream } from '#winsock-ffi';
import type { Mode } from './mode.ts';
import { duplexRoundTrips, tails } from './mode.ts';
import { checkedListener, checkFastPath } from './winsock-sync.ts';

const LOOPBACK = '127.0.0.1';
/** Starting node.exe under Wine is slow; the sender is listening before the echo starts anyway. */
const CONNECT_TIMEOUT_MS = 60_000;

/** A listener on 127.0.0.1 (ephemeral port) whose one connection arrives through acceptAsync(). */
function asyncListener(fastPath: boolean): { port: number; accept(timeoutMs: number): Promise<Socket>; close(): void } {
  const listener = checkedListener(fastPath);
  return {
    port: listener.localAddress.port,
    async accept(timeoutMs) {
      let socket: Socket;
      try {
        socket = await listener.acceptAsync({ signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') throw new Error(`the echo process did not connect within ${timeoutMs} ms`);
        throw error;
      } finally {
        listener.close();
      }
      try {
        socket.setNoDelay(true);
        checkFastPath(socket, fastPath, 'accepted socket');
      } catch (error) {
        socket.close();
        throw error;
      }
      return socket;
    },
    close() {
      listener.close();
    },
  };
}

/** Socket.connectAsync (ConnectEx) to the sender, TCP_NODELAY, the fast path when asked for. */
async function connectAsync(port: number, fastPath: boolean): Promise<Socket> {
  const socket = await Socket.connectAsync({ address: LOOPBACK, port }, { noDelay: true, loopbackFastPath: fastPath, timeoutMs: CONNECT_TIMEOUT_MS });
  try {
    checkFastPath(socket, fastPath, 'connecting socket');
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

export const promise: Mode = {
  async sender(fastPath, message, clock) {
    const listener = asyncListener(fastPath);
    let socket: Socket | null = null;
    const bytes = message.bytes;
    const rest = tails(bytes);
    const size = bytes.length;
    return {
      port: listener.port,
      async accept(timeoutMs) {
        socket = await listener.accept(timeoutMs);
      },
      async run(rounds, onRoundTrip) {
        const s = socket;
        if (s === null) throw new Error('run() before accept()');
        for (let i = 0; i < rounds; i++) {
          message.stamp();
          // sendAsync copies the bytes before it returns its promise; resolved = all taken.
          await s.sendAsync(bytes);
          let got = await s.recvAsync(bytes);
          if (got === 0) throw new Error('the echo process closed the connection');
          while (got < size) {
            const more = await s.recvAsync(rest[got]!);
            if (more === 0) throw new Error(`the echo process closed the connection after ${got} of ${size} bytes`);
            got += more;
          }
          if (!onRoundTrip(clock.now() - message.ticks)) return;
        }
      },
      close() {
        listener.close();
        socket?.close();
      },
    };
  },

  async echo(port, fastPath, message) {
    const socket = await connectAsync(port, fastPath);
    const bytes = message.bytes;
    const size = bytes.length;
    try {
      // A byte-stream echo: whatever one recvAsync returns goes straight back.
      for (;;) {
        const n = await socket.recvAsync(bytes);
        if (n === 0) return;
        await socket.sendAsync(n === size ? bytes : bytes.subarray(0, n));
      }
    } finally {
      socket.close();
    }
  },
};

export const stream: Mode = {
  async sender(fastPath, message, clock) {
    const listener = asyncListener(fastPath);
    let duplex: SocketStream | null = null;
    return {
      port: listener.port,
      async accept(timeoutMs) {
        duplex = (await listener.accept(timeoutMs)).toStream();
      },
      // As the node:net row: write, then collect the echo from 'data' events (partial chunks accumulate).
      run(rounds, onRoundTrip) {
        const s = duplex;
        if (s === null) return Promise.reject(new Error('run() before accept()'));
        return duplexRoundTrips(s, message, clock, rounds, onRoundTrip);
      },
      close() {
        listener.close();
        // FIN; the echo ends its side in turn and both streams close (allowHalfOpen false).
        duplex?.end();
      },
    };
  },

  async echo(port, fastPath) {
    const duplex = (await connectAsync(port, fastPath)).toStream();
    duplex.pipe(duplex);
    await once(duplex, 'close');
  },
};
