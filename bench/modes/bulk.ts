// The throughput rows: a one-way bulk transfer over loopback TCP between two processes,
// the receiver measuring. Each mode is written the way a user would move bulk data with
// that API: writes of `writeSize` bytes with backpressure, a receive buffer (or the
// mode's own chunks) handed to the receiver's sink. No TCP_NODELAY (the C reference's
// bulk mode sets none either) and no fast path.
//
//   node:net   net.Socket.write(), waiting for 'drain' when it returns false; 'data' events
//   stream     socket.toStream() on both ends, the same write/'drain' loop; 'data' events
//   promise    await sendAsync() of each piece (one in flight); await recvAsync() into one buffer
//   blocking   Socket.sendAll() of each piece; Socket.recv() into one buffer
import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { poll, Socket } from '#winsock-ffi';
import type { Pattern } from '../pattern.ts';
import type { ThroughputModeName } from '../protocol.ts';

const LOOPBACK = '127.0.0.1';
const CONNECT_TIMEOUT_MS = 60_000;

/** Takes `length` received bytes of `data`; throws when they are not the expected ones. */
export type Sink = (data: Uint8Array, length: number) => void;

export interface BulkReceiver {
  /** The loopback port the sending process connects to. */
  readonly port: number;
  /** Waits (up to acceptTimeoutMs) for the sender, then hands every received chunk to `sink` until the end of the stream. */
  receive(acceptTimeoutMs: number, sink: Sink): Promise<void>;
  close(): void;
}

export interface BulkMode {
  /** Listens on 127.0.0.1 (ephemeral port); `readSize` is the receive buffer where the mode has one. */
  receiver(readSize: number): Promise<BulkReceiver>;
  /** Connects to `port`, sends `total` bytes of `pattern` in `writeSize` writes, ends the stream and waits for the receiver to close. */
  send(port: number, total: number, writeSize: number, pattern: Pattern): Promise<void>;
}

const noConnection = (timeoutMs: number): Error => new Error(`the sending process did not connect within ${timeoutMs} ms`);

/** 'data' events into the sink until the stream closes; a sink error destroys the stream with it. */
async function drainInto(stream: Duplex, sink: Sink): Promise<void> {
  stream.on('data', (chunk: Buffer) => {
    try {
      sink(chunk, chunk.length);
    } catch (error) {
      stream.destroy(error as Error);
    }
  });
  // Rejects with the stream's error, if any; the sender's FIN ends it (allowHalfOpen false).
  await once(stream, 'close');
}

/** The write loop of net.Socket and SocketStream alike: write, and wait for 'drain' when the buffer is full. */
async function writeAll(stream: Duplex, total: number, writeSize: number, pattern: Pattern): Promise<void> {
  // Reads the receiver's end of the stream, so that 'close' comes once both sides ended.
  stream.resume();
  for (let sent = 0; sent < total; ) {
    const n = Math.min(writeSize, total - sent);
    const ok = stream.write(pattern.slice(sent, n));
    sent += n;
    if (!ok) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'close');
}

const nodeNet: BulkMode = {
  async receiver() {
    const server = net.createServer();
    server.listen(0, LOOPBACK);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('node:net server has no TCP address');
    return {
      port: address.port,
      async receive(timeoutMs, sink) {
        const timer = setTimeout(() => server.emit('error', noConnection(timeoutMs)), timeoutMs);
        let socket: net.Socket;
        try {
          [socket] = (await once(server, 'connection')) as [net.Socket];
        } finally {
          clearTimeout(timer);
          server.close();
        }
        await drainInto(socket, sink);
      },
      close() {
        server.close();
      },
    };
  },
  async send(port, total, writeSize, pattern) {
    const socket = net.connect({ port, host: LOOPBACK });
    await once(socket, 'connect');
    await writeAll(socket, total, writeSize, pattern);
  },
};

/** A listener whose one connection arrives through acceptAsync(), waiting at most timeoutMs. */
function listenAsync(): { port: number; accept(timeoutMs: number): Promise<Socket>; close(): void } {
  const listener = Socket.listen({ address: LOOPBACK, port: 0 }, { backlog: 1 });
  return {
    port: listener.localAddress.port,
    async accept(timeoutMs) {
      try {
        return await listener.acceptAsync({ signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') throw noConnection(timeoutMs);
        throw error;
      } finally {
        listener.close();
      }
    },
    close() {
      listener.close();
    },
  };
}

const stream: BulkMode = {
  async receiver() {
    const listener = listenAsync();
    return {
      port: listener.port,
      async receive(timeoutMs, sink) {
        const socket = await listener.accept(timeoutMs);
        await drainInto(socket.toStream(), sink); // its own receive sizes, as a user gets them (they grow to 1 MiB)
      },
      close() {
        listener.close();
      },
    };
  },
  async send(port, total, writeSize, pattern) {
    const socket = await Socket.connectAsync({ address: LOOPBACK, port }, { timeoutMs: CONNECT_TIMEOUT_MS });
    await writeAll(socket.toStream(), total, writeSize, pattern);
  },
};

/** Ends our side (FIN) and waits for the receiver to close its own, as the C reference's sender does. */
async function finishAsync(socket: Socket): Promise<void> {
  socket.shutdown('send');
  const scratch = Buffer.allocUnsafe(16);
  while ((await socket.recvAsync(scratch)) > 0);
}

const promise: BulkMode = {
  async receiver(readSize) {
    const listener = listenAsync();
    let socket: Socket | null = null;
    return {
      port: listener.port,
      async receive(timeoutMs, sink) {
        const s = (socket = await listener.accept(timeoutMs));
        const buffer = Buffer.allocUnsafe(readSize);
        for (;;) {
          const n = await s.recvAsync(buffer);
          if (n === 0) break;
          sink(buffer, n);
        }
        s.close();
      },
      close() {
        listener.close();
        socket?.close();
      },
    };
  },
  async send(port, total, writeSize, pattern) {
    const socket = await Socket.connectAsync({ address: LOOPBACK, port }, { timeoutMs: CONNECT_TIMEOUT_MS });
    try {
      for (let sent = 0; sent < total; ) {
        const n = Math.min(writeSize, total - sent);
        await socket.sendAsync(pattern.slice(sent, n));
        sent += n;
      }
      await finishAsync(socket);
    } finally {
      socket.close();
    }
  },
};

const blocking: BulkMode = {
  async receiver(readSize) {
    const listener = Socket.listen({ address: LOOPBACK, port: 0 }, { backlog: 1 });
    let socket: Socket | null = null;
    return {
      port: listener.localAddress.port,
      async receive(timeoutMs, sink) {
        try {
          const [ready] = poll([{ socket: listener, events: { readable: true } }], timeoutMs);
          if (ready === undefined || !ready.readable) throw noConnection(timeoutMs);
          socket = listener.accept();
        } finally {
          listener.close();
        }
        const buffer = Buffer.allocUnsafe(readSize);
        for (;;) {
          const n = socket.recv(buffer);
          if (n === 0) break;
          sink(buffer, n);
        }
        socket.close();
      },
      close() {
        listener.close();
        socket?.close();
      },
    };
  },
  async send(port, total, writeSize, pattern) {
    const socket = Socket.connect({ address: LOOPBACK, port });
    try {
      for (let sent = 0; sent < total; ) {
        const n = Math.min(writeSize, total - sent);
        socket.sendAll(pattern.slice(sent, n));
        sent += n;
      }
      socket.shutdown('send');
      const scratch = Buffer.allocUnsafe(16);
      while (socket.recv(scratch) > 0);
    } finally {
      socket.close();
    }
  },
};

export const bulkModes: Record<ThroughputModeName, BulkMode> = { 'node:net': nodeNet, stream, promise, blocking };
