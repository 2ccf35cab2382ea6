// Non-blocking ping-pong driven by poll() (WSAPoll), as the benchmark's
// `nonblocking-poll` row runs it, here with both ends in one thread: the client sends a
// 64-byte ping, the server side echoes what it reads, and poll() says which socket
// has something to read. trySend()/tryRecv() return -1 instead of throwing
// WSAEWOULDBLOCK, so the loop allocates nothing per message.
//
//   node examples/nonblocking-poll.ts        (after `npm run build`)
import { poll, Socket } from 'winsock-ffi';

const ROUND_TRIPS = 1000;
const SIZE = 64;
const TIMEOUT_MS = 10_000;

/** Sends every byte on a non-blocking socket, waiting with poll() while the send buffer is full. */
function sendAll(socket: Socket, data: Uint8Array): void {
  for (let sent = 0; sent < data.byteLength; ) {
    const n = socket.trySend(data.subarray(sent));
    if (n >= 0) {
      sent += n;
      continue;
    }
    const [ready] = poll([{ socket, events: { writable: true } }], TIMEOUT_MS);
    if (!ready!.writable && !ready!.error && !ready!.hangup) throw new Error(`not writable within ${TIMEOUT_MS} ms`);
  }
}

const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
const client = Socket.connect(listener.localAddress, { noDelay: true });
const server = listener.accept(); // connect() returned once the connection was queued
listener.close();
try {
  server.setNoDelay(true);
  client.setBlocking(false);
  server.setBlocking(false);

  const ping = Buffer.alloc(SIZE, 'p');
  const pong = Buffer.alloc(SIZE);
  const scratch = Buffer.alloc(64 * 1024);
  const watch = [
    { socket: server, events: { readable: true } },
    { socket: client, events: { readable: true } },
  ];
  const start = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    ping.writeUInt32LE(i, 0);
    sendAll(client, ping);
    let received = 0;
    while (received < SIZE) {
      const [serverReady, clientReady] = poll(watch, TIMEOUT_MS);
      if (!serverReady!.readable && !clientReady!.readable) throw new Error(`nothing to read within ${TIMEOUT_MS} ms`);
      if (serverReady!.readable) {
        // The echo side: whatever arrived goes straight back.
        const n = server.tryRecv(scratch);
        if (n === 0) throw new Error('the client closed the connection');
        if (n > 0) sendAll(server, scratch.subarray(0, n));
      }
      if (clientReady!.readable) {
        const n = client.tryRecv(pong.subarray(received));
        if (n === 0) throw new Error('the server side closed the connection');
        if (n > 0) received += n;
      }
    }
    if (!pong.equals(ping)) throw new Error(`round trip ${i}: the echo differs`);
  }
  const meanUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;
  console.log(`nonblocking-poll ping-pong: ${ROUND_TRIPS} round trips of ${SIZE} bytes, mean ${meanUs.toFixed(0)} us`);
} finally {
  for (const socket of [client, server]) socket.close();
}
