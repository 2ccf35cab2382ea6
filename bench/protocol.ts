// What the orchestrator (scripts/bench.ts, any Node) and the benchmark processes
// (bench/*.ts, Windows Node) tell each other through files. Plain data only, so that
// both sides can import it without loading koffi.

/**
 * The rows of the table, in table order; node:net, the first, is the baseline. `promise`
 * and `stream` are the library's Promise API (recvAsync/sendAsync) and its toStream() Duplex.
 */
export const MODES = ['node:net', 'blocking', 'nonblocking-poll', 'iocp-wait', 'iocp-poll', 'rio-poll', 'promise', 'stream'] as const;
export type ModeName = (typeof MODES)[number];

/**
 * The C reference (bench/c/reference.c) in its ping-pong modes: c-rio is Registered I/O,
 * polled; c-iocp-wait and c-iocp-poll are overlapped WSASend/WSARecv on a completion port
 * (skip-on-success), GetQueuedCompletionStatusEx INFINITE or 0 in a spin, as the
 * iocp-wait and iocp-poll rows do.
 */
export const C_MODES = ['c-blocking', 'c-spin', 'c-rio', 'c-iocp-wait', 'c-iocp-poll'] as const;
export type CModeName = (typeof C_MODES)[number];

/** Rows that go through ws2_32 via this library and so run with the fast path off and on. */
export function usesWinsockFfi(mode: ModeName): boolean {
  return mode !== 'node:net';
}

export function isModeName(value: string): value is ModeName {
  return (MODES as readonly string[]).includes(value);
}

/** The timestamp is the first 8 bytes; the rest is padding up to --size. */
export const TIMESTAMP_BYTES = 8;
export const DEFAULT_SIZE = 64;

/** Arguments of bench/sender.ts, passed as one JSON string (paths in the child's own spelling). */
export interface SenderArgs {
  mode: ModeName;
  fastPath: boolean;
  size: number;
  /** Fixed number of measured round trips, or null to size the run from the warm-up rate. */
  count: number | null;
  /** With count null: measure for about this long. */
  seconds: number;
  /** Warm-up: at least this many round trips and at least this long. */
  warmupCount: number;
  warmupSeconds: number;
  resultFile: string;
  progressFile: string;
  /** Where the echo process writes its error, if any. */
  echoErrorFile: string;
  /**
   * Set by bench/count-calls.ts: call OutputDebugStringA right before and right after the
   * measured round trips, so that Wine's relay trace shows where they begin and end.
   */
  marker?: boolean;
}

/** The OutputDebugStringA texts of SenderArgs.marker. */
export const MARK_BEGIN = 'winsock-ffi bench: measure begins';
export const MARK_END = 'winsock-ffi bench: measure ends';

/** One point of the latency-distribution plot: `count` round trips in [fromUs, toUs). */
export interface Bucket {
  fromUs: number;
  toUs: number;
  count: number;
}

/** Written by bench/sender.ts into resultFile. */
export interface SenderResult {
  mode: ModeName;
  fastPath: boolean;
  count: number;
  warmupCount: number;
  meanUs: number;
  minUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  stddevUs: number;
  roundTripsPerSec: number;
  /** Wall time of the measured part. */
  elapsedSeconds: number;
  /** [percentile, latency µs] pairs for the percentile-spectrum plot. */
  percentiles: [number, number][];
  buckets: Bucket[];
}

/** Written by bench/sender.ts into resultFile when the row could not run to the end. */
export interface SenderFailure {
  mode: ModeName;
  fastPath: boolean;
  error: string;
}

/** Progress lines in progressFile: `<phase> <done> <total>`; total 0 while unknown. */
export type Phase = 'starting' | 'connect' | 'warmup' | 'measure' | 'done';

/** Written by bench/probe.ts: what the Windows side is and what it offers. */
export interface ProbeResult {
  environment: {
    os: string;
    wine: string | null;
    cpu: string;
    cpuCount: number;
    node: string;
    koffi: string;
  };
  fastPath: { supported: boolean; reason: string | null };
  /** Per mode: whether this build of the library and this system can run it. */
  modes: Record<ModeName, { available: boolean; reason: string | null }>;
}

/** Written by bench/ffi-cost.ts. */
export interface FfiCostResult {
  /** Runs per row; each row's figure is the median run's time per call. */
  runs: number;
  rows: { name: string; what: string; calls: number; nsPerCall: number }[];
}

/**
 * The rows of the throughput table (`--throughput`), in table order; node:net is the
 * baseline. One-way bulk transfer over loopback TCP between two processes.
 */
export const THROUGHPUT_MODES = ['node:net', 'stream', 'promise', 'blocking'] as const;
export type ThroughputModeName = (typeof THROUGHPUT_MODES)[number];
/** The C reference's row of the throughput table: `reference.exe bulk`. */
export const C_THROUGHPUT_MODE = 'c-bulk';
/**
 * The C reference's throughput rows, in table order: `reference.exe bulk` (blocking
 * send/recv) and `reference.exe bulk-iocp` (overlapped, on a completion port).
 */
export const C_THROUGHPUT_MODES = [C_THROUGHPUT_MODE, 'c-bulk-iocp'] as const;
export type CThroughputModeName = (typeof C_THROUGHPUT_MODES)[number];

export function isThroughputModeName(value: string): value is ThroughputModeName {
  return (THROUGHPUT_MODES as readonly string[]).includes(value);
}

/** Application write size of every throughput row, the C reference's default. */
export const BULK_WRITE_SIZE = 64 * 1024;
/** Receive buffer per recv where the mode has one (the C reference's default). */
export const BULK_READ_SIZE = 64 * 1024;
export const DEFAULT_BULK_BYTES = 256 * 1024 * 1024;
export const QUICK_BULK_BYTES = 64 * 1024 * 1024;

/** Arguments of bench/throughput.ts (the receiver), passed as one JSON string. */
export interface ThroughputArgs {
  mode: ThroughputModeName;
  bytes: number;
  writeSize: number;
  readSize: number;
  resultFile: string;
  progressFile: string;
  /** Where the sending process writes its error, if any. */
  senderErrorFile: string;
  /**
   * Set by bench/count-calls.ts: call OutputDebugStringA (MARK_BEGIN, MARK_END) right after
   * the first received chunk and right after the last, the interval the row is timed over.
   */
  marker?: boolean;
}

/** Written by bench/throughput.ts into resultFile. */
export interface ThroughputResult {
  mode: ThroughputModeName;
  /** Bytes received, equal to the bytes sent, content checked against the sender's pattern. */
  bytes: number;
  /** Bytes of the first chunk, received at the start of the timed interval and so not counted. */
  firstChunkBytes: number;
  chunks: number;
  /** From the first received chunk to the last. */
  seconds: number;
  /** (bytes - firstChunkBytes) / 2^20 / seconds. */
  mibPerSec: number;
}

export interface ThroughputFailure {
  mode: ThroughputModeName;
  error: string;
}

/**
 * The rows of the many-connections table (`--connections`), in table order; node:net is
 * the baseline. N concurrent ping-pong connections between two processes, each doing its
 * own round trips of the 64-byte message.
 */
export const CONNECTION_MODES = ['node:net', 'promise', 'stream', 'iocp-poll'] as const;
export type ConnectionModeName = (typeof CONNECTION_MODES)[number];

/** The smallest --size with --connections: the timestamp, the connection's number and the round trip's (bench/modes/many.ts). */
export const MIN_CONNECTIONS_SIZE = 16;

export function isConnectionModeName(value: string): value is ConnectionModeName {
  return (CONNECTION_MODES as readonly string[]).includes(value);
}

/** Arguments of bench/connections.ts (the client side, which starts the echo server), as one JSON string. */
export interface ConnectionsArgs {
  mode: ConnectionModeName;
  connections: number;
  size: number;
  /** After every connection is up: round trips that are not counted, then the measured window. */
  warmupSeconds: number;
  seconds: number;
  resultFile: string;
  progressFile: string;
  /** Files of the handshake with the echo server (its port, its memory samples, its report, its error). */
  echoPrefix: string;
}

/** Written by bench/connections-echo.ts when it exits: what the echo (server) process saw. */
export interface ConnectionsEchoReport {
  accepted: number;
  /** Connections that ended with the client's FIN and closed without an error. */
  closedCleanly: number;
  /** Bytes received and sent back, over every connection. */
  bytes: number;
  errors: string[];
  /** RSS after listen() and a memory-reducing full GC, before any connection. */
  rssBeforeBytes: number;
  /** RSS with every connection open and idle (a receive pending on each), after the same GC; null if never sampled. */
  rssIdleBytes: number | null;
  /** The largest RSS sampled (every 100 ms) while every connection was open. */
  rssPeakBytes: number;
  /** From the first accepted connection to the last. */
  acceptSeconds: number;
}

/** Written by bench/connections.ts into resultFile. */
export interface ConnectionsResult {
  mode: ConnectionModeName;
  connections: number;
  /** Round trips completed inside the measured window, over every connection. */
  roundTrips: number;
  /** Round trips over the whole run (warm-up and the last ones included); each was answered and checked. */
  answered: number;
  /** Connections the client saw end cleanly (its FIN, the echo's FIN, no error). */
  closedCleanly: number;
  seconds: number;
  roundTripsPerSec: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** From the first connect to the last connection up, client side. */
  connectSeconds: number;
  echo: ConnectionsEchoReport;
}

export interface ConnectionsFailure {
  mode: ConnectionModeName;
  connections: number;
  error: string;
}
