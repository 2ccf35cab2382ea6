// The many-connections table's echo server (started by bench/connections.ts, with
// --expose-gc): listens on loopback in the row's mode, tells the client its port through
// a file, accepts `connections` connections and echoes on each until the client ends it.
// It measures its own memory: RSS after listen() and a memory-reducing full GC, before any
// connection; RSS with every connection open and idle (on the client's signal, after the
// same GC); and the largest RSS sampled every 100 ms while every connection was open. Its
// report goes into a file when every connection has closed.
//
//   node --expose-gc bench/connections-echo.ts '{"mode":...,"connections":...,"size":...,"backlog":...,"prefix":...}'
import fs from 'node:fs';
import { EchoCounters, manyModes } from './modes/many.ts';
import type { ConnectionModeName, ConnectionsEchoReport } from './protocol.ts';

interface EchoArgs {
  mode: ConnectionModeName;
  connections: number;
  size: number;
  backlog: number;
  /** Files: PREFIX.port.json (written), PREFIX.quiet (read), PREFIX.memory.json, PREFIX.report.json, PREFIX.error.txt (written). */
  prefix: string;
}

const SAMPLE_EVERY_MS = 100;
const args = JSON.parse(process.argv[2] ?? '') as EchoArgs;

/**
 * A memory-reducing full GC (V8's "last resort" collection, as under memory pressure),
 * the same for every row. A regular gc() leaves the young generation's pages as traffic
 * last touched them: a server that allocated more while echoing (more round trips, or
 * more bytes per round trip) kept megabytes more resident with the same connections
 * open, which the table then charged to each connection. This one gives those pages
 * back, so that what stays is what the connections hold.
 */
function fullGc(): void {
  const gc = (globalThis as { gc?: (options?: object) => void }).gc;
  if (gc === undefined) throw new Error('bench/connections-echo.ts needs --expose-gc');
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

async function main(): Promise<void> {
  const mode = manyModes[args.mode];
  if (mode === undefined) throw new Error(`mode ${args.mode} has no many-connections implementation`);
  const counters = new EchoCounters();
  const server = await mode.serve(args.connections, args.backlog, args.size, counters);
  fullGc();
  const rssBeforeBytes = process.memoryUsage.rss();
  let rssPeakBytes = rssBeforeBytes;
  let rssIdleBytes: number | null = null;
  let acceptedAll = false;
  const sampler = setInterval(() => {
    if (!acceptedAll && counters.accepted === args.connections) {
      acceptedAll = true;
      fs.writeFileSync(`${args.prefix}.accepted`, JSON.stringify({ accepted: counters.accepted }));
    }
    if (counters.accepted === args.connections && counters.closed === 0) rssPeakBytes = Math.max(rssPeakBytes, process.memoryUsage.rss());
    if (rssIdleBytes === null && fs.existsSync(`${args.prefix}.quiet`)) {
      // The client has nothing in flight any more: every connection is open and idle.
      fullGc();
      rssIdleBytes = process.memoryUsage.rss();
      rssPeakBytes = Math.max(rssPeakBytes, rssIdleBytes);
      fs.writeFileSync(`${args.prefix}.memory.json`, JSON.stringify({ rssIdleBytes, accepted: counters.accepted }));
    }
  }, SAMPLE_EVERY_MS);
  fs.writeFileSync(`${args.prefix}.port.json`, JSON.stringify({ port: server.port }));
  try {
    await server.finished;
  } finally {
    clearInterval(sampler);
  }
  const errors = counters.errorCount > counters.errors.length ? [...counters.errors, `and ${counters.errorCount - counters.errors.length} more`] : counters.errors;
  const report: ConnectionsEchoReport = {
    accepted: counters.accepted,
    closedCleanly: counters.closedCleanly,
    bytes: counters.bytes,
    errors,
    rssBeforeBytes,
    rssIdleBytes,
    rssPeakBytes,
    acceptSeconds: (counters.lastAcceptAt - counters.firstAcceptAt) / 1000,
  };
  fs.writeFileSync(`${args.prefix}.report.json`, JSON.stringify(report));
}

main().catch((error: unknown) => {
  fs.writeFileSync(`${args.prefix}.error.txt`, error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
