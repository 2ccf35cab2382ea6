// Ping-pong on the Promise API, as the benchmark's `promise` row runs it, here with
// both ends in one process: recvAsync()/sendAsync() are overlapped WSARecv/WSASend
// whose completions Node's own event loop delivers, so the echo side and the client
// take turns on one thread without blocking it. The fast path is requested on both
// ends (a no-op where Windows lacks it).
//
//   node examples/promise.ts        (after `npm run build`)
import { Socket } from 'winsock-ffi';

const ROUND_TRIPS = 1000;
const SIZE = 64;

/** Reads exactly `buffer.length` bytes; false if the stream ended before any came. */
async function recvExact(socket: Socket, buffer: Buffer): Promise<boolean> {
  for (let got = 0; got < buffer.length; ) {
    const n = await socket.recvAsync(buffer.subarray(got));
    if (n === 0) {
      if (got === 0) return false;
      throw new Error(`the stream ended after ${got} of ${buffer.length} bytes`);
    }
    got += n;
  }
  return true;
}

/** The echo side: each message straight back, until the client ends its side. */
async function echo(socket: Socket): Promise<void> {
  const buffer = Buffer.alloc(SIZE);
  while (await recvExact(socket, buffer)) await socket.sendAsync(buffer);
}

const listener = Socket.listen({ address: '127.0.0.1', port: 0 }, { loopbackFastPath: true });
const [server, client] = await Promise.all([
  listener.acceptAsync(),
  Socket.connectAsync(listener.localAddress, { noDelay: true, loopbackFastPath: true, timeoutMs: 10_000 }),
]);
listener.close();
try {
  server.setNoDelay(true);
  const echoing = echo(server);
  const ping = Buffer.alloc(SIZE, 'p');
  const pong = Buffer.alloc(SIZE);
  const start = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    ping.writeUInt32LE(i, 0);
    await client.sendAsync(ping);
    if (!(await recvExact(client, pong))) throw new Error('the server side closed the connection');
    if (!pong.equals(ping)) throw new Error(`round trip ${i}: the echo differs`);
  }
  const meanUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;
  client.shutdown('send'); // the echo side reads the end of the stream and returns
  await echoing;
  console.log(
    `promise ping-pong: ${ROUND_TRIPS} round trips of ${SIZE} bytes, mean ${meanUs.toFixed(0)} us; ` +
      `fast path ${client.loopbackFastPath ? 'on' : 'not available here'}`,
  );
} finally {
  for (const socket of [client, server]) socket.close();
}
