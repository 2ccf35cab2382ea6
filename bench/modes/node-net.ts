// The `node:net` row: what a Node.js user would write instead of this library (libuv's
// IOCP loop underneath). Same message, same timestamp clock, same TCP_NODELAY; Node's
// own per-message allocations ('data' Buffers, write requests) are part of what it costs.
import net from 'node:net';
import { once } from 'node:events';
import type { Mode } from './mode.ts';
import { duplexRoundTrips } from './mode.ts';

const LOOPBACK = '127.0.0.1';

export const nodeNet: Mode = {
  async sender(_fastPath, message, clock) {
    const server = net.createServer({ noDelay: true });
    server.listen(0, LOOPBACK);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('node:net server has no TCP address');
    let socket: net.Socket | null = null;

    return {
      port: address.port,
      async accept(timeoutMs) {
        const timer = setTimeout(() => server.emit('error', new Error(`the echo process did not connect within ${timeoutMs} ms`)), timeoutMs);
        try {
          const [connection] = (await once(server, 'connection')) as [net.Socket];
          connection.setNoDelay(true);
          socket = connection;
        } finally {
          clearTimeout(timer);
          server.close();
        }
      },
      run(rounds, onRoundTrip) {
        const s = socket;
        if (s === null) return Promise.reject(new Error('run() before accept()'));
        return duplexRoundTrips(s, message, clock, rounds, onRoundTrip);
      },
      close() {
        server.close();
        socket?.end();
      },
    };
  },

  async echo(port) {
    const socket = net.connect({ port, host: LOOPBACK, noDelay: true });
    await once(socket, 'connect');
    socket.setNoDelay(true);
    // A byte-stream echo: whatever arrives goes straight back, as libuv hands it over.
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('end', () => socket.end());
    await once(socket, 'close');
  },
};
