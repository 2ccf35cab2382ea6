// Ping-pong through streams, as the benchmark's `stream` row runs it, here with both
// ends in one process: socket.toStream() makes a stream.Duplex with net.Socket's
// behaviour (backpressure, end() sends FIN, destroy() closes the socket), so the echo
// side is a plain pipe() of the stream into itself, and the client writes and reads
// with the usual stream calls.
//
//   node examples/stream.ts        (after `npm run build`)
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { Socket } from 'winsock-ffi';

const ROUND_TRIPS = 1000;
const SIZE = 64;

const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
const [server, client] = await Promise.all([
  listener.acceptAsync(),
  Socket.connectAsync(listener.localAddress, { noDelay: true, timeoutMs: 10_000 }),
]);
listener.close();
server.setNoDelay(true);

// Each stream owns its socket from here on: destroying the stream closes it.
const echoSide = server.toStream();
echoSide.pipe(echoSide); // everything read is written back; the client's end() ends it too

const stream = client.toStream();
const pong = Buffer.alloc(SIZE);
let filled = 0;
let expected = Buffer.alloc(0);
let roundTripDone: () => void = () => {};
stream.on('data', (chunk: Buffer) => {
  // TCP is a byte stream: a message may come back in pieces.
  if (filled + chunk.length > SIZE) throw new Error('more bytes came back than were sent');
  chunk.copy(pong, filled);
  filled += chunk.length;
  if (filled < SIZE) return;
  filled = 0;
  if (!pong.equals(expected)) throw new Error('the echo differs');
  roundTripDone();
});

const start = performance.now();
for (let i = 0; i < ROUND_TRIPS; i++) {
  const done = new Promise<void>((resolve) => (roundTripDone = resolve));
  // A written Buffer must not change before its callback, as with net.Socket: a new one per message.
  expected = Buffer.alloc(SIZE, 'p');
  expected.writeUInt32LE(i, 0);
  stream.write(expected);
  await done;
}
const meanUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;

stream.end(); // FIN; the echo side ends in turn, and both streams close their sockets
await Promise.all([finished(stream), once(echoSide, 'close')]);
console.log(`stream ping-pong: ${ROUND_TRIPS} round trips of ${SIZE} bytes, mean ${meanUs.toFixed(0)} us`);
