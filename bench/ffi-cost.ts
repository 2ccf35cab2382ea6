// The second, small benchmark: where a round trip's time goes. The cost of one call
// through koffi into ws2_32 (a call that stays in user space, and calls that reach the
// socket layer) against one node:net write of the same 64 bytes. Run by
// `npm run bench -- --ffi-cost` on Windows Node.js; writes a FfiCostResult.
//
//   node bench/ffi-cost.ts <result file>
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { Socket } from '#winsock-ffi';
import { lastError, queryPerformanceCounter } from '#winsock-ffi/sys';
import type { FfiCostResult } from './protocol.ts';

const resultFile = process.argv[2];
if (resultFile === undefined) throw new Error('usage: node bench/ffi-cost.ts <result file>');

const RUNS = 5;
const CHEAP_CALLS = 200_000;
const SOCKET_CALLS = 20_000;
/** Writes per batch before the event loop gets to drain the peer. */
const BATCH = 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median over RUNS of the time per call of `body` (which makes `calls` calls). */
function timeSync(calls: number, body: (calls: number) => void): number {
  body(Math.min(calls, 1000)); // warm-up: let the JIT and koffi settle
  const perCall: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    body(calls);
    perCall.push(((performance.now() - start) * 1e6) / calls);
  }
  return median(perCall);
}

/**
 * The same for calls that queue data to a peer: timed in batches of BATCH, with the
 * event loop let through between batches (untimed) so the peer drains and no batch
 * meets a full buffer. Only the synchronous cost of each call is counted.
 */
async function timeBatched(calls: number, oneCall: () => void): Promise<number> {
  const perCall: number[] = [];
  for (let run = -1; run < RUNS; run++) {
    let elapsed = 0;
    for (let done = 0; done < calls; done += BATCH) {
      const start = performance.now();
      for (let i = 0; i < BATCH; i++) oneCall();
      elapsed += performance.now() - start;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (run >= 0) perCall.push((elapsed * 1e6) / calls); // run -1 is the warm-up
  }
  return median(perCall);
}

async function main(): Promise<FfiCostResult> {
  // A node:net server in this process that reads and discards everything.
  const server = net.createServer((peer) => {
    peer.setNoDelay(true);
    peer.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const message = Buffer.alloc(64, 0x5a);
  const rows: FfiCostResult['rows'] = [];

  rows.push({
    name: 'koffi → ws2_32 WSAGetLastError',
    what: 'user space, no arguments: the FFI crossing itself',
    calls: CHEAP_CALLS,
    nsPerCall: timeSync(CHEAP_CALLS, (n) => {
      for (let i = 0; i < n; i++) lastError();
    }),
  });
  const qpcCell = new BigInt64Array(1);
  rows.push({
    name: 'koffi → kernel32 QueryPerformanceCounter',
    what: 'user space, one pointer argument (the benchmark clock)',
    calls: CHEAP_CALLS,
    nsPerCall: timeSync(CHEAP_CALLS, (n) => {
      for (let i = 0; i < n; i++) queryPerformanceCounter(qpcCell);
    }),
  });

  const client = Socket.connect({ address: '127.0.0.1', port }, { noDelay: true });
  rows.push({
    name: 'Socket.bytesAvailable (ioctlsocket FIONREAD)',
    what: 'one ws2_32 call that asks the socket layer',
    calls: SOCKET_CALLS,
    nsPerCall: timeSync(SOCKET_CALLS, (n) => {
      for (let i = 0; i < n; i++) void client.bytesAvailable;
    }),
  });
  const empty = Buffer.alloc(64);
  client.setBlocking(false);
  rows.push({
    name: 'Socket.tryRecv, nothing to read (recv + WSAGetLastError)',
    what: 'the idle spin of nonblocking-poll: two ws2_32 calls',
    calls: SOCKET_CALLS,
    nsPerCall: timeSync(SOCKET_CALLS, (n) => {
      for (let i = 0; i < n; i++) client.tryRecv(empty);
    }),
  });
  client.setBlocking(true);
  rows.push({
    name: 'Socket.send, 64 bytes (send)',
    what: 'one ws2_32 send on a blocking socket, peer draining',
    calls: SOCKET_CALLS,
    nsPerCall: await timeBatched(SOCKET_CALLS, () => client.send(message)),
  });
  client.close();

  const netClient = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(netClient, 'connect');
  rows.push({
    name: 'node:net socket.write, 64 bytes',
    what: 'synchronous part of one libuv write (WSASend), peer draining',
    calls: SOCKET_CALLS,
    nsPerCall: await timeBatched(SOCKET_CALLS, () => {
      netClient.write(message);
    }),
  });
  netClient.destroy();
  server.close();
  return { runs: RUNS, rows };
}

main().then(
  (result) => fs.writeFileSync(resultFile, JSON.stringify(result)),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
