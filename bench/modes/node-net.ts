// The `node:net` row: what a Node.js user would write instead of this library (libuv's
// IOCP loop underneath). Same message, same timestamp clock, same TCP_NODELAY; Node's
// own per-message allocations ('data' Buffers, write requests) are part of what it costs.
import net from 'node:net';
import { once } from 'node:events';
import type { Mode } from './mode.ts';

const LOOPBACK = '127.0.0.1';

export const nodeNet: Mode = {
  async sender(_fastPath, message, clock) {
    const server = net.createServer({ noDelay: true });
    server.listen(0, LOOPBACK);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('node:net server has no TCP address');
    let socket: net.Socket | null = null;
    const bytes = message.bytes;
    const size = bytes.length;

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
        return new Promise<void>((resolve, reject) => {
          let done = 0;
          let got = 0;
          const finish = (error?: Error): void => {
            s.off('data', onData);
            s.off('error', finish);
            s.off('end', onEnd);
            if (error === undefined) resolve();
            else reject(error);
          };
          const onEnd = (): void => finish(new Error('the echo process closed the connection'));
          const onData = (chunk: Buffer): void => {
            got += chunk.copy(bytes, got);
            if (got < size) return;
            got = 0;
            done++;
            if (!onRoundTrip(clock.now() - message.ticks) || done >= rounds) {
              finish();
              return;
            }
            message.stamp();
            s.write(bytes);
          };
          s.on('data', onData);
          s.on('error', finish);
          s.on('end', onEnd);
          if (rounds <= 0) {
            finish();
            return;
          }
          // The buffer is rewritten only after its echo came back, so the pending write never sees it change.
          message.stamp();
          s.write(bytes);
        });
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
