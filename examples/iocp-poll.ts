// Ping-pong on a CompletionPort (an I/O completion port) collected with poll(), as the
// benchmark's `iocp-poll` row runs it, here with both ends on one port in one thread.
// One overlapped receive is kept pending on each socket; poll() dequeues what
// finished without waiting (GetQueuedCompletionStatusEx with a 0 timeout), and each
// completion says which operation it was, how many bytes moved, and any error.
// port.wait(timeoutMs) would do the same but sleep until something finishes.
//
//   node examples/iocp-poll.ts        (after `npm run build`)
import { CompletionPort, Socket } from 'winsock-ffi';
import type { Operation } from 'winsock-ffi';

const ROUND_TRIPS = 1000;
const SIZE = 64;
const TIMEOUT_MS = 10_000;

const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
const client = Socket.connect(listener.localAddress, { noDelay: true });
const server = listener.accept();
listener.close();
server.setNoDelay(true);

const port = new CompletionPort();
const CLIENT = 1;
const SERVER = 2;
port.associate(client, CLIENT); // the key comes back with each of the socket's completions
port.associate(server, SERVER);

const ping = Buffer.alloc(SIZE, 'p');
const pong = Buffer.alloc(SIZE);
const scratch = Buffer.alloc(64 * 1024);
let received = 0;
let roundTrips = 0;
// The port copies received bytes into these buffers when it reports the completion,
// and copies sent data when send() is called, so both can be reused at once.
let serverRecv: Operation = port.recv(server, scratch);
let clientRecv: Operation = port.recv(client, pong);

try {
  const start = performance.now();
  let deadline = Date.now() + TIMEOUT_MS;
  ping.writeUInt32LE(0, 0);
  port.send(client, ping);
  while (roundTrips < ROUND_TRIPS) {
    const completions = port.poll(); // never waits: an empty array when nothing finished
    if (completions.length === 0) {
      if (Date.now() > deadline) throw new Error(`no completion within ${TIMEOUT_MS} ms`);
      continue;
    }
    deadline = Date.now() + TIMEOUT_MS;
    for (const { operation, bytes, error, key } of completions) {
      if (error !== null) throw error;
      if (operation.kind === 'send') continue; // a send finished: nothing to do
      if (bytes === 0) throw new Error(`${key === SERVER ? 'the client' : 'the server side'} closed the connection`);
      if (operation === serverRecv) {
        // The echo side: send back what arrived and receive again.
        port.send(server, scratch.subarray(0, bytes));
        serverRecv = port.recv(server, scratch);
      } else if (operation === clientRecv) {
        received += bytes;
        if (received === SIZE) {
          if (!pong.equals(ping)) throw new Error(`round trip ${roundTrips}: the echo differs`);
          received = 0;
          roundTrips++;
          if (roundTrips < ROUND_TRIPS) {
            ping.writeUInt32LE(roundTrips, 0);
            port.send(client, ping);
          }
        }
        clientRecv = port.recv(client, pong.subarray(received));
      }
    }
  }
  const meanUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;
  console.log(`iocp-poll ping-pong: ${ROUND_TRIPS} round trips of ${SIZE} bytes, mean ${meanUs.toFixed(0)} us`);
} finally {
  // close() cancels the receives still pending and collects them before it returns.
  port.close();
  for (const socket of [client, server]) socket.close();
}
