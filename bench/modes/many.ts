// The many-connections table's rows (--connections): an echo server that accepts N
// connections and echoes on every one of them, and a client that opens N connections and
// runs round trips on each of them at once, both in the same I/O mode, in two processes.
// Each message carries its connection's number and its round trip's sequence number
// (bytes 8 to 15, after the QPC timestamp), and the client checks them in every echo:
// a lost, repeated or misrouted message fails the run.
//
//   node:net   net.createServer / net.connect; 'data' events, write() back
//   promise    acceptAsync loop, one recvAsync/sendAsync loop per connection (both ends)
//   stream     acceptAsync loop, toStream() piped into itself; the client as node:net's
//   iocp-poll  one CompletionPort per process for every socket (and the listener's AcceptEx),
//              poll() in a busy loop, skip-on-success
import net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { CompletionPort, Socket } from '#winsock-ffi';
import type { Completion, Operation } from '#winsock-ffi';
import type { ConnectionModeName } from '../protocol.ts';
import { Message } from '../recorder.ts';

const LOOPBACK = '127.0.0.1';
const CONNECT_TIMEOUT_MS = 60_000;
/** Connects in flight at once while the client opens its N connections (setup is not timed). */
const PARALLEL_CONNECTS = 64;
/** The busy-polling rows give the event loop a turn this often (timers: memory samples, the handshake). */
const YIELD_EVERY_MS = 20;
/** AcceptEx kept in flight by the iocp-poll echo server (libuv's simultaneous accepts). */
const SIMULTANEOUS_ACCEPTS = 32;
/** Completions taken per poll() in the iocp-poll rows. */
const POLL_BATCH = 256;
/** Where the connection's number and the round trip's sequence number sit in each message. */
const ID_OFFSET = 8;
const SEQ_OFFSET = 12;

/** What the echo server counts, for its report. */
export class EchoCounters {
  accepted = 0;
  /** Connections closed, cleanly or not. */
  closed = 0;
  closedCleanly = 0;
  bytes = 0;
  errorCount = 0;
  readonly errors: string[] = [];
  firstAcceptAt = 0;
  lastAcceptAt = 0;

  acceptedOne(): void {
    this.lastAcceptAt = performance.now();
    if (this.accepted++ === 0) this.firstAcceptAt = this.lastAcceptAt;
  }

  error(error: unknown): void {
    this.errorCount++;
    if (this.errors.length < 10) this.errors.push(error instanceof Error ? error.message : String(error));
  }
}

export interface EchoServer {
  readonly port: number;
  /** Resolves once `expected` connections were accepted and every one of them closed. */
  readonly finished: Promise<void>;
}

/** One client connection's message and its place in the sequence. */
export class Conn {
  readonly message: Message;
  readonly id: number;
  seq = -1;

  constructor(id: number, size: number) {
    this.id = id;
    this.message = new Message(size);
  }

  /** The next round trip's message: its numbers, then the timestamp. */
  next(): void {
    this.seq++;
    const bytes = this.message.bytes;
    bytes.writeUInt32LE(this.id, ID_OFFSET);
    bytes.writeUInt32LE(this.seq >>> 0, SEQ_OFFSET);
    this.message.stamp();
  }

  /** Throws unless the echo just received is this connection's current round trip. */
  verify(): void {
    const bytes = this.message.bytes;
    const id = bytes.readUInt32LE(ID_OFFSET);
    const seq = bytes.readUInt32LE(SEQ_OFFSET);
    if (id !== this.id || seq !== this.seq >>> 0) throw new Error(`connection ${this.id}, round trip ${this.seq}: the echo carried connection ${id}, round trip ${seq}`);
  }
}

/** Called for each answered (and checked) round trip; false stops that connection, with nothing in flight. */
export type OnRoundTrip = (message: Message) => boolean;

export interface ClientConnections {
  /** Runs round trips on every connection at once until each one's onRoundTrip returns false. */
  run(onRoundTrip: OnRoundTrip): Promise<void>;
  /** Ends every connection (FIN) and waits for the echo's end on each: how many closed cleanly, and the first problem. */
  close(): Promise<{ clean: number; problem: string | null }>;
}

export interface ManyMode {
  /** Listens on 127.0.0.1 (ephemeral port) and echoes on the `expected` connections it accepts, `size`-byte buffers where the mode has them. */
  serve(expected: number, backlog: number, size: number, counters: EchoCounters): Promise<EchoServer>;
  /** Opens `n` connections to `port` (TCP_NODELAY), calling onConnected with the count so far. */
  open(port: number, n: number, size: number, onConnected: (count: number) => void): Promise<ClientConnections>;
}

/** Opens n connections with at most PARALLEL_CONNECTS in flight. */
async function openAll<T>(n: number, connect: (i: number) => Promise<T>, onConnected: (count: number) => void): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = await connect(i);
      onConnected(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_CONNECTS, n) }, worker));
  return out;
}

/** Tallies clean closes and keeps the first problem. */
function closeTally(results: (string | null)[]): { clean: number; problem: string | null } {
  let clean = 0;
  let problem: string | null = null;
  results.forEach((result, id) => {
    if (result === null) clean++;
    else problem ??= `connection ${id}: ${result}`;
  });
  return { clean, problem };
}

// --- Duplex clients (node:net, stream) -------------------------------------------------

/** Round trips over one Duplex: write the message, collect its echo from 'data' events (partial chunks accumulate). */
function duplexRun(s: Duplex, conn: Conn, onRoundTrip: OnRoundTrip): Promise<void> {
  const bytes = conn.message.bytes;
  const size = bytes.length;
  return new Promise<void>((resolve, reject) => {
    let got = 0;
    const finish = (error?: Error): void => {
      s.off('data', onData);
      s.off('error', finish);
      s.off('end', onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onEnd = (): void => finish(new Error(`connection ${conn.id}: the echo server ended the connection`));
    const onData = (chunk: Buffer): void => {
      if (got + chunk.length > size) {
        finish(new Error(`connection ${conn.id}: ${got + chunk.length} bytes came back for one ${size}-byte message`));
        return;
      }
      got += chunk.copy(bytes, got);
      if (got < size) return;
      got = 0;
      let more: boolean;
      try {
        conn.verify();
        more = onRoundTrip(conn.message);
      } catch (error) {
        finish(error as Error);
        return;
      }
      if (!more) {
        finish();
        return;
      }
      conn.next();
      s.write(bytes);
    };
    s.on('data', onData);
    s.on('error', finish);
    s.on('end', onEnd);
    conn.next();
    s.write(bytes);
  });
}

/** FIN, then the echo's end: null when clean, else what went wrong. */
function duplexClose(s: Duplex): Promise<string | null> {
  return new Promise((resolve) => {
    let ended = false;
    let failure: string | null = null;
    s.on('data', (chunk: Buffer) => {
      failure ??= `${chunk.length} unexpected bytes after the last round trip`;
    });
    s.on('end', () => {
      ended = true;
    });
    s.on('error', (error: Error) => {
      failure ??= error.message;
    });
    s.once('close', () => resolve(failure ?? (ended ? null : 'closed without the echo server ending it')));
    s.end();
  });
}

function duplexClients(streams: Duplex[], size: number): ClientConnections {
  const conns = streams.map((_, id) => new Conn(id, size));
  return {
    async run(onRoundTrip) {
      await Promise.all(streams.map((s, i) => duplexRun(s, conns[i]!, onRoundTrip)));
    },
    async close() {
      return closeTally(await Promise.all(streams.map(duplexClose)));
    },
  };
}

/** The echo side over one Duplex (net.Socket or SocketStream): counts bytes, pipes them back, tallies the close. */
function duplexEcho(s: Duplex, counters: EchoCounters, onClosed: () => void): void {
  let ended = false;
  let failed = false;
  s.on('data', (chunk: Buffer) => {
    counters.bytes += chunk.length;
  });
  s.on('end', () => {
    ended = true;
  });
  s.on('error', (error: Error) => {
    failed = true;
    counters.error(error);
  });
  s.once('close', () => {
    counters.closed++;
    if (ended && !failed) counters.closedCleanly++;
    onClosed();
  });
  s.pipe(s);
}

// --- node:net ---------------------------------------------------------------------------

const nodeNet: ManyMode = {
  async serve(expected, backlog, _size, counters) {
    const server = net.createServer({ noDelay: true });
    server.listen({ port: 0, host: LOOPBACK, backlog });
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('node:net server has no TCP address');
    const { promise: finished, resolve } = Promise.withResolvers<void>();
    server.on('connection', (socket: net.Socket) => {
      counters.acceptedOne();
      if (counters.accepted === expected) server.close();
      socket.setNoDelay(true);
      duplexEcho(socket, counters, () => {
        if (counters.closed === expected) resolve();
      });
    });
    return { port: address.port, finished };
  },

  async open(port, n, size, onConnected) {
    const sockets = await openAll(
      n,
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ port, host: LOOPBACK, noDelay: true });
          socket.once('error', reject);
          socket.once('connect', () => {
            socket.off('error', reject);
            resolve(socket);
          });
        }),
      onConnected,
    );
    return duplexClients(sockets, size);
  },
};

// --- The Promise API and the stream -----------------------------------------------------

/** acceptAsync in a loop (one at a time, as user code writes it) until `expected` connections came; each goes to `handle`. */
function acceptLoop(expected: number, backlog: number, counters: EchoCounters, handle: (socket: Socket, onClosed: () => void) => void): EchoServer {
  const listener = Socket.listen({ address: LOOPBACK, port: 0 }, { backlog });
  const { promise: finished, resolve, reject } = Promise.withResolvers<void>();
  const onClosed = (): void => {
    if (counters.closed === expected) resolve();
  };
  (async () => {
    try {
      while (counters.accepted < expected) {
        const socket = await listener.acceptAsync();
        counters.acceptedOne();
        socket.setNoDelay(true);
        handle(socket, onClosed);
      }
    } finally {
      listener.close();
    }
  })().catch(reject);
  return { port: listener.localAddress.port, finished };
}

/** The Promise API's echo on one connection: whatever one recvAsync returns goes straight back. */
async function promiseEcho(socket: Socket, buffer: Buffer, counters: EchoCounters, onClosed: () => void): Promise<void> {
  const size = buffer.length;
  try {
    for (;;) {
      const n = await socket.recvAsync(buffer);
      if (n === 0) break;
      counters.bytes += n;
      await socket.sendAsync(n === size ? buffer : buffer.subarray(0, n));
    }
    counters.closedCleanly++;
  } catch (error) {
    counters.error(error);
  } finally {
    socket.close();
    counters.closed++;
    onClosed();
  }
}

const connectAsync = (port: number): Promise<Socket> => Socket.connectAsync({ address: LOOPBACK, port }, { noDelay: true, timeoutMs: CONNECT_TIMEOUT_MS });

const promise: ManyMode = {
  async serve(expected, backlog, size, counters) {
    return acceptLoop(expected, backlog, counters, (socket, onClosed) => {
      void promiseEcho(socket, Buffer.alloc(size), counters, onClosed);
    });
  },

  async open(port, n, size, onConnected) {
    const sockets = await openAll(n, () => connectAsync(port), onConnected);
    const conns = sockets.map((_, id) => new Conn(id, size));
    const runOne = async (socket: Socket, conn: Conn, onRoundTrip: OnRoundTrip): Promise<void> => {
      const bytes = conn.message.bytes;
      for (;;) {
        conn.next();
        // sendAsync copies the bytes before it returns its promise; resolved = all taken.
        await socket.sendAsync(bytes);
        let got = await socket.recvAsync(bytes);
        if (got === 0) throw new Error(`connection ${conn.id}: the echo server ended the connection`);
        while (got < size) {
          const more = await socket.recvAsync(bytes.subarray(got));
          if (more === 0) throw new Error(`connection ${conn.id}: the echo server ended the connection after ${got} of ${size} bytes`);
          got += more;
        }
        conn.verify();
        if (!onRoundTrip(conn.message)) return;
      }
    };
    const closeOne = async (socket: Socket): Promise<string | null> => {
      try {
        socket.shutdown('send');
        const n = await socket.recvAsync(Buffer.allocUnsafe(size));
        return n === 0 ? null : `${n} unexpected bytes after the last round trip`;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      } finally {
        socket.close();
      }
    };
    return {
      async run(onRoundTrip) {
        await Promise.all(sockets.map((socket, i) => runOne(socket, conns[i]!, onRoundTrip)));
      },
      async close() {
        return closeTally(await Promise.all(sockets.map(closeOne)));
      },
    };
  },
};

const stream: ManyMode = {
  async serve(expected, backlog, _size, counters) {
    return acceptLoop(expected, backlog, counters, (socket, onClosed) => duplexEcho(socket.toStream(), counters, onClosed));
  },

  async open(port, n, size, onConnected) {
    const streams = await openAll(n, async () => (await connectAsync(port)).toStream(), onConnected);
    return duplexClients(streams, size);
  },
};

// --- iocp-poll --------------------------------------------------------------------------

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface IocpEchoConnection {
  socket: Socket;
  buffer: Buffer;
}

const iocpPoll: ManyMode = {
  async serve(expected, backlog, size, counters) {
    const listener = Socket.listen({ address: LOOPBACK, port: 0 }, { backlog });
    const port = new CompletionPort();
    port.associate(listener, 0);
    const connections: (IocpEchoConnection | undefined)[] = [];
    const drop = (key: number, clean: boolean): void => {
      connections[key]!.socket.close();
      connections[key] = undefined;
      counters.closed++;
      if (clean) counters.closedCleanly++;
    };
    const onRecv = (completion: Completion): void => {
      const key = completion.key;
      const connection = connections[key]!;
      if (completion.error !== null) {
        counters.error(completion.error);
        drop(key, false);
      } else if (completion.bytes === 0) {
        drop(key, true);
      } else {
        counters.bytes += completion.bytes;
        // WSASend copies the data into pinned memory before it returns: the buffer is free again.
        port.send(connection.socket, completion.bytes === size ? connection.buffer : connection.buffer.subarray(0, completion.bytes));
        port.recv(connection.socket, connection.buffer);
      }
    };
    // Several AcceptEx in flight, as libuv keeps for a listener: one at a time, the accepts fell
    // behind the completions of thousands of busy connections.
    let acceptsPosted = 0;
    const postAccept = (): void => {
      if (acceptsPosted >= expected) return;
      acceptsPosted++;
      port.accept(listener);
    };
    const loop = async (): Promise<void> => {
      for (let i = 0; i < SIMULTANEOUS_ACCEPTS; i++) postAccept();
      let lastYield = performance.now();
      while (counters.accepted < expected || counters.closed < expected) {
        const completions = port.poll(POLL_BATCH);
        for (let i = 0; i < completions.length; i++) {
          const completion = completions[i]!;
          const operation: Operation = completion.operation;
          if (operation.kind === 'accept') {
            if (completion.error !== null) throw completion.error;
            const socket = operation.accepted!;
            counters.acceptedOne();
            const key = counters.accepted;
            socket.setNoDelay(true);
            port.associate(socket, key);
            port.setSkipCompletionOnSuccess(socket);
            const connection = { socket, buffer: Buffer.alloc(size) };
            connections[key] = connection;
            port.recv(socket, connection.buffer);
            postAccept();
            if (counters.accepted === expected) listener.close();
          } else if (operation.kind === 'recv') {
            onRecv(completion);
          } else if (completion.error !== null) {
            if (connections[completion.key] !== undefined) counters.error(completion.error);
          } else if (completion.bytes !== size) {
            counters.error(new Error(`WSASend sent ${completion.bytes} of ${size} bytes`));
          }
        }
        if (performance.now() - lastYield >= YIELD_EVERY_MS) {
          await yieldTurn();
          lastYield = performance.now();
        }
      }
    };
    const finished = loop().finally(() => {
      listener.close();
      port.close();
    });
    return { port: listener.localAddress.port, finished };
  },

  async open(port, n, size, onConnected) {
    // Blocking connects, one at a time: the echo process accepts them meanwhile.
    const sockets: Socket[] = [];
    for (let i = 0; i < n; i++) {
      sockets.push(Socket.connect({ address: LOOPBACK, port }, { noDelay: true }));
      onConnected(i + 1);
      if (i % 64 === 63) await yieldTurn();
    }
    const completionPort = new CompletionPort();
    sockets.forEach((socket, key) => {
      completionPort.associate(socket, key);
      completionPort.setSkipCompletionOnSuccess(socket);
    });
    const conns = sockets.map((_, id) => new Conn(id, size));
    /** Polls until no operation is in flight; `onRecv` handles each receive's completion. */
    const pump = async (inFlight: number, onRecv: (completion: Completion) => number): Promise<void> => {
      let lastYield = performance.now();
      while (inFlight > 0) {
        const completions = completionPort.poll(POLL_BATCH);
        for (let i = 0; i < completions.length; i++) {
          const completion = completions[i]!;
          inFlight--;
          if (completion.operation.kind === 'recv') {
            inFlight += onRecv(completion);
          } else {
            if (completion.error !== null) throw completion.error;
            if (completion.bytes !== size) throw new Error(`connection ${completion.key}: WSASend sent ${completion.bytes} of ${size} bytes`);
          }
        }
        if (performance.now() - lastYield >= YIELD_EVERY_MS) {
          await yieldTurn();
          lastYield = performance.now();
        }
      }
    };
    /** Sends the connection's next message and posts the receive of its echo: two operations. */
    const start = (key: number): number => {
      const conn = conns[key]!;
      conn.next();
      completionPort.send(sockets[key]!, conn.message.bytes);
      completionPort.recv(sockets[key]!, conn.message.bytes);
      return 2;
    };
    const got = new Array<number>(n).fill(0);
    return {
      async run(onRoundTrip) {
        let inFlight = 0;
        for (let key = 0; key < n; key++) inFlight += start(key);
        await pump(inFlight, (completion) => {
          const key = completion.key;
          const conn = conns[key]!;
          if (completion.error !== null) throw completion.error;
          if (completion.bytes === 0) throw new Error(`connection ${key}: the echo server ended the connection`);
          got[key]! += completion.bytes;
          if (got[key]! < size) {
            completionPort.recv(sockets[key]!, conn.message.bytes.subarray(got[key]));
            return 1;
          }
          got[key] = 0;
          conn.verify();
          return onRoundTrip(conn.message) ? start(key) : 0;
        });
      },
      async close() {
        const results = new Array<string | null>(n).fill('not closed');
        const scratch = sockets.map(() => Buffer.allocUnsafe(size));
        sockets.forEach((socket, key) => {
          socket.shutdown('send');
          completionPort.recv(socket, scratch[key]!);
        });
        await pump(n, (completion) => {
          const key = completion.key;
          results[key] = completion.error !== null ? completion.error.message : completion.bytes === 0 ? null : `${completion.bytes} unexpected bytes after the last round trip`;
          return 0;
        });
        completionPort.close();
        for (const socket of sockets) socket.close();
        return closeTally(results);
      },
    };
  },
};

export const manyModes: Record<ConnectionModeName, ManyMode> = { 'node:net': nodeNet, promise, stream, 'iocp-poll': iocpPoll };
