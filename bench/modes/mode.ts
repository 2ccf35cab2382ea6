// What every I/O mode of the benchmark provides: a sender side that runs round trips
// and an echo side that answers them, both over one loopback TCP connection with
// TCP_NODELAY, in two separate single-threaded processes.
import type { Duplex } from 'node:stream';
import type { Clock, Message } from '../recorder.ts';

/** The sender's half of a connection, set up by Mode.sender(). */
export interface SenderSide {
  /** The loopback port the echo process connects to. */
  readonly port: number;
  /** Waits for the echo process to connect; throws after timeoutMs. */
  accept(timeoutMs: number): Promise<void>;
  /**
   * Runs up to `rounds` round trips of `message`: stamp, send, wait for the echo,
   * then onRoundTrip(latency in QPC ticks). Stops early when onRoundTrip returns false.
   * Allocates nothing per round trip beyond what the mode's own I/O calls allocate.
   */
  run(rounds: number, onRoundTrip: (ticks: number) => boolean): Promise<void>;
  /** Closes the connection: the echo process sees the end of the stream and exits. */
  close(): void;
}

export interface Mode {
  /** Listens on 127.0.0.1 (ephemeral port), asking for the fast path when `fastPath`. */
  sender(fastPath: boolean, message: Message, clock: Clock): Promise<SenderSide>;
  /** Connects to `port` and echoes every message until the sender closes. */
  echo(port: number, fastPath: boolean, message: Message): Promise<void>;
  /** For a mode the system may lack (RIO): null when it can run here, else the system's answer. */
  unavailableBecause?(): string | null;
}

/** A connected socket driven synchronously: the JS thread waits inside the native calls. */
export interface SyncConnection {
  /** Sends the whole message. */
  send(): void;
  /** Fills the whole message; false when the peer closed before sending anything more. */
  receive(): boolean;
  close(): void;
}

export interface SyncListener {
  readonly port: number;
  /** The echo's connection, waiting up to timeoutMs for it. */
  accept(timeoutMs: number): SyncConnection;
  close(): void;
}

/** The parts a synchronous mode supplies; syncMode() makes a Mode out of them. */
export interface SyncEndpoints {
  listen(fastPath: boolean, message: Message): SyncListener;
  connect(port: number, fastPath: boolean, message: Message): SyncConnection;
}

/** A Mode whose round trips are plain blocking (or spinning) loops on the JS thread. */
export function syncMode(endpoints: SyncEndpoints): Mode {
  return {
    async sender(fastPath, message, clock) {
      const listener = endpoints.listen(fastPath, message);
      let connection: SyncConnection | null = null;
      return {
        port: listener.port,
        async accept(timeoutMs) {
          try {
            connection = listener.accept(timeoutMs);
          } finally {
            listener.close();
          }
        },
        async run(rounds, onRoundTrip) {
          const c = connection;
          if (c === null) throw new Error('run() before accept()');
          for (let i = 0; i < rounds; i++) {
            message.stamp();
            c.send();
            if (!c.receive()) throw new Error('the echo process closed the connection');
            if (!onRoundTrip(clock.now() - message.ticks)) return;
          }
        },
        close() {
          listener.close();
          connection?.close();
        },
      };
    },
    async echo(port, fastPath, message) {
      const connection = endpoints.connect(port, fastPath, message);
      try {
        while (connection.receive()) connection.send();
      } finally {
        connection.close();
      }
    },
  };
}

/** Views of `bytes` from every offset, so that refilling after a short read allocates nothing. */
export function tails(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset++) out.push(bytes.subarray(offset));
  return out;
}

/**
 * Round trips over a stream.Duplex (a net.Socket or a SocketStream), as the node:net
 * and stream rows run them: write the message, collect its echo from 'data' events
 * (partial chunks accumulate), repeat.
 */
export function duplexRoundTrips(s: Duplex, message: Message, clock: Clock, rounds: number, onRoundTrip: (ticks: number) => boolean): Promise<void> {
  const bytes = message.bytes;
  const size = bytes.length;
  return new Promise<void>((resolve, reject) => {
    let done = 0;
    let got = 0;
    const finish = (error?: Error): void => {
      s.off('data', onData);
      s.off('error', finish);
      s.off('end', onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onEnd = (): void => finish(new Error('the echo process closed the connection'));
    const onData = (chunk: Buffer): void => {
      got += chunk.copy(bytes, got);
      if (got < size) return;
      got = 0;
      done++;
      if (!onRoundTrip(clock.now() - message.ticks) || done >= rounds) {
        finish();
        return;
      }
      message.stamp();
      s.write(bytes);
    };
    s.on('data', onData);
    s.on('error', finish);
    s.on('end', onEnd);
    if (rounds <= 0) {
      finish();
      return;
    }
    // The buffer is rewritten only after its echo came back, so the pending write never sees it change.
    message.stamp();
    s.write(bytes);
  });
}
