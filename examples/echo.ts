// A TCP echo server and its clients on the Promise API, in one process: the server
// accepts with acceptAsync() and echoes with recvAsync()/sendAsync(); three clients
// connect with connectAsync(), send five lines each, check every echo and end their
// side; the server closes each connection at its end of stream. Nothing blocks the
// event loop, and the process exits by itself once the I/O is done.
//
//   node examples/echo.ts        (after `npm run build`; Node 22.18+ strips the types)
import { Socket } from 'winsock-ffi';

const CLIENTS = 3;
const MESSAGES = 5;

/** Echoes one connection until the client ends its side, then closes it. */
async function echo(connection: Socket): Promise<number> {
  const buffer = Buffer.alloc(64 * 1024);
  let echoed = 0;
  try {
    for (;;) {
      const n = await connection.recvAsync(buffer); // 0: the client ended its side
      if (n === 0) return echoed;
      // sendAsync keeps the bytes it was given until it resolves: the buffer is reused only after.
      await connection.sendAsync(buffer.subarray(0, n));
      echoed += n;
    }
  } finally {
    connection.close();
  }
}

/** Accepts `connections` connections, echoes them all at once, then closes the listener. */
async function serve(listener: Socket, connections: number): Promise<number> {
  const sessions: Promise<number>[] = [];
  try {
    for (let i = 0; i < connections; i++) sessions.push(echo(await listener.acceptAsync()));
    const echoed = await Promise.all(sessions);
    return echoed.reduce((sum, n) => sum + n, 0);
  } finally {
    listener.close();
  }
}

/** One client: each line is sent, then read back whole and compared. */
async function client(port: number, id: number): Promise<void> {
  const socket = await Socket.connectAsync({ address: '127.0.0.1', port }, { noDelay: true, timeoutMs: 10_000 });
  try {
    const reply = Buffer.alloc(256);
    for (let i = 0; i < MESSAGES; i++) {
      const line = `client ${id}, line ${i}\n`;
      const size = Buffer.byteLength(line);
      await socket.sendAsync(line);
      // TCP is a byte stream: the echo may come back in pieces.
      for (let got = 0; got < size; ) {
        const n = await socket.recvAsync(reply.subarray(got, size), { signal: AbortSignal.timeout(10_000) });
        if (n === 0) throw new Error(`client ${id}: the server closed the connection early`);
        got += n;
      }
      if (reply.toString('utf8', 0, size) !== line) throw new Error(`client ${id}: wrong echo ${JSON.stringify(reply.toString('utf8', 0, size))}`);
    }
    socket.shutdown('send'); // FIN: the server's recvAsync returns 0 and it closes its side
    if ((await socket.recvAsync(reply)) !== 0) throw new Error(`client ${id}: data after the last echo`);
  } finally {
    socket.close();
  }
}

const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
const { port } = listener.localAddress;
const server = serve(listener, CLIENTS);
await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(port, id)));
const echoed = await server;
console.log(`echo: ${CLIENTS} clients x ${MESSAGES} lines echoed on 127.0.0.1:${port} (${echoed} bytes)`);
