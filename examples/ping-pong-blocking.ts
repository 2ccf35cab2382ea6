// Blocking ping-pong with the TCP loopback fast path requested, as the benchmark's
// `blocking` row runs it: two single-threaded processes, plain blocking send/recv,
// TCP_NODELAY on both ends. This process listens and sends 64-byte pings; a second
// node process (this same file, started with `echo PORT`) connects back and echoes them.
//
// Both ends must ask for the fast path: the listener before its first accept() (the
// accepted socket inherits it) and the client before it connects, which the
// `loopbackFastPath` option of Socket.listen / Socket.connect does in the right order.
// Where Windows lacks it (Windows 7, Wine) the option is a no-op and the run goes on.
//
//   node examples/ping-pong-blocking.ts        (after `npm run build`)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { poll, Socket } from 'winsock-ffi';

const ROUND_TRIPS = 1000;
const SIZE = 64;
/** No blocking call below may wait longer than this for the other process. */
const TIMEOUT_MS = 30_000;

if (process.argv[2] === 'echo') {
  // The echo process: connect back, then echo exactly ROUND_TRIPS messages.
  const port = Number(process.argv[3]);
  const socket = Socket.connect({ address: '127.0.0.1', port }, { noDelay: true, loopbackFastPath: true, timeoutMs: TIMEOUT_MS });
  try {
    socket.setReceiveTimeout(TIMEOUT_MS);
    const buffer = Buffer.alloc(SIZE);
    for (let i = 0; i < ROUND_TRIPS; i++) {
      socket.recvExact(buffer);
      socket.sendAll(buffer);
    }
  } finally {
    socket.close();
  }
} else {
  const listener = Socket.listen({ address: '127.0.0.1', port: 0 }, { loopbackFastPath: true });
  const peer = spawn(process.execPath, [fileURLToPath(import.meta.url), 'echo', String(listener.localAddress.port)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const peerExit = new Promise<number | null>((resolve) => peer.once('exit', resolve));

  // accept() blocks the thread; poll() first, so that a peer that never connects cannot hang us.
  const [ready] = poll([{ socket: listener, events: { readable: true } }], TIMEOUT_MS);
  if (!ready!.readable) throw new Error(`the echo process did not connect within ${TIMEOUT_MS} ms`);
  const socket = listener.accept();
  listener.close();
  try {
    socket.setNoDelay(true);
    socket.setReceiveTimeout(TIMEOUT_MS); // a blocking recv that times out throws WSAETIMEDOUT
    const ping = Buffer.alloc(SIZE, 'p');
    const pong = Buffer.alloc(SIZE);
    const start = performance.now();
    for (let i = 0; i < ROUND_TRIPS; i++) {
      ping.writeUInt32LE(i, 0);
      socket.sendAll(ping);
      socket.recvExact(pong);
      if (!pong.equals(ping)) throw new Error(`round trip ${i}: the echo differs`);
    }
    const meanUs = ((performance.now() - start) * 1000) / ROUND_TRIPS;
    console.log(
      `blocking ping-pong: ${ROUND_TRIPS} round trips of ${SIZE} bytes, mean ${meanUs.toFixed(0)} us; ` +
        `fast path ${socket.loopbackFastPath ? 'on' : 'not available here'}`,
    );
  } finally {
    socket.close();
  }
  const code = await peerExit;
  if (code !== 0) throw new Error(`the echo process exited with code ${code}`);
}
