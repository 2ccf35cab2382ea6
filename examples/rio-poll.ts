// Ping-pong on Registered I/O (RIO), polled, as the benchmark's `rio-poll` row runs it,
// here with both ends in one thread. Each socket is made with `registeredIo: true` (the
// accepted one inherits it) and gets a request queue; both report to one completion
// queue, which dequeue() polls without ever waiting (RIODequeueCompletion). The bytes
// live in one registered buffer: the client sends from [0, 64) and receives into
// [64, 128); the server receives into [128, 192) and sends that range straight back.
// Where the system has no RIO (Windows 7, Wine) it says so and exits with code 0.
//
//   node examples/rio-poll.ts         (after `npm run build`)
import { CompletionQueue, RegisteredBuffer, registeredIoSupported, registeredIoUnavailableBecause, RequestQueue, Socket } from 'winsock-ffi';

const ROUND_TRIPS = 1000;
const SIZE = 64;
const TIMEOUT_MS = 10_000;
const PING = 0;
const PONG = SIZE;
const ECHO = 2 * SIZE;

if (!registeredIoSupported()) {
  console.log(`rio-poll: this system has no Registered I/O (${registeredIoUnavailableBecause()}); nothing to run`);
} else {
  const listener = new Socket({ registeredIo: true });
  listener.bind({ address: '127.0.0.1', port: 0 });
  listener.listen();
  const client = new Socket({ registeredIo: true });
  client.setNoDelay(true);
  client.connect(listener.localAddress);
  const server = listener.accept();
  listener.close();
  server.setNoDelay(true);

  const buffer = new RegisteredBuffer(3 * SIZE);
  const queue = new CompletionQueue({ size: 8 });
  const clientQueue = new RequestQueue(client, { completionQueue: queue, context: 'client' });
  const serverQueue = new RequestQueue(server, { completionQueue: queue, context: 'server' });
  const ping = buffer.bytes.subarray(PING, PING + SIZE);
  const pong = buffer.bytes.subarray(PONG, PONG + SIZE);
  ping.fill('p');
  try {
    const start = performance.now();
    let deadline = Date.now() + TIMEOUT_MS;
    let roundTrips = 0;
    let received = 0; // bytes of the current pong
    let pingPending = false; // the OS reads the ping range until its send completes
    let wantPing = true;
    serverQueue.receive(buffer, ECHO, SIZE);
    clientQueue.receive(buffer, PONG, SIZE);
    while (roundTrips < ROUND_TRIPS) {
      if (wantPing && !pingPending) {
        ping.writeUInt32LE(roundTrips, 0);
        clientQueue.send(buffer, PING, SIZE);
        pingPending = true;
        wantPing = false;
      }
      const count = queue.dequeue(); // never waits: 0 when nothing finished
      if (count === 0) {
        if (Date.now() > deadline) throw new Error(`no completion within ${TIMEOUT_MS} ms`);
        continue;
      }
      deadline = Date.now() + TIMEOUT_MS;
      for (let i = 0; i < count; i++) {
        const result = queue.results[i]!; // the same objects every time: read them now
        if (result.error !== null) throw result.error;
        const side = result.queue!.context;
        if (result.kind === 'send') {
          if (side === 'client') pingPending = false;
          else serverQueue.receive(buffer, ECHO, SIZE); // the echo range is free again
        } else if (result.bytes === 0) {
          throw new Error(`the ${side === 'client' ? 'server' : 'client'} closed the connection`);
        } else if (side === 'server') {
          serverQueue.send(buffer, ECHO, result.bytes); // straight back, from the registered buffer itself
        } else {
          received += result.bytes;
          if (received < SIZE) {
            clientQueue.receive(buffer, PONG + received, SIZE - received);
            continue;
          }
          if (!pong.equals(ping)) throw new Error(`round trip ${roundTrips}: the echo differs`);
          received = 0;
          roundTrips++;
          if (roundTrips < ROUND_TRIPS) {
            clientQueue.receive(buffer, PONG, SIZE);
            wantPing = true;
          }
        }
      }
    }
    const meanUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;
    console.log(`rio-poll ping-pong: ${ROUND_TRIPS} round trips of ${SIZE} bytes, mean ${meanUs.toFixed(0)} us`);
  } finally {
    // RIO's close order: the sockets (which end their request queues), the completion
    // queue (which collects what the closed sockets' requests still report), the buffer.
    for (const socket of [client, server]) socket.close();
    queue.close();
    buffer.close();
  }
}
