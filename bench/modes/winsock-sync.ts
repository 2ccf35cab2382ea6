// The `blocking` and `nonblocking-poll` rows: this library's synchronous Socket, with
// send/recv that wait in the kernel, or with FIONBIO and a busy trySend/tryRecv loop.
import { poll, Socket } from '#winsock-ffi';
import type { Message } from '../recorder.ts';
import { syncMode, tails } from './mode.ts';
import type { Mode, SyncConnection, SyncListener } from './mode.ts';

const LOOPBACK = '127.0.0.1';

export function checkFastPath(socket: Socket, wanted: boolean, side: string): void {
  // The orchestrator only asks for it where the probe found it; if it still did not
  // take, the row would silently measure the normal path.
  if (wanted && !socket.loopbackFastPath) throw new Error(`${side}: SIO_LOOPBACK_FAST_PATH was asked for but did not take`);
}

/** A blocking listener on 127.0.0.1 whose accepted socket (TCP_NODELAY) goes to `wrap`. */
export function blockingListener(fastPath: boolean, message: Message, wrap: (socket: Socket, message: Message) => SyncConnection): SyncListener {
  return listening(checkedListener(fastPath), fastPath, message, wrap);
}

/** A listener on 127.0.0.1 (ephemeral port, backlog 1) whose fast path is as asked; closed again if not. */
export function checkedListener(fastPath: boolean): Socket {
  return checkedListening(Socket.listen({ address: LOOPBACK, port: 0 }, { loopbackFastPath: fastPath, backlog: 1 }), fastPath);
}

/** `listener` when its fast path is as asked; else it is closed and the check's error thrown. */
function checkedListening(listener: Socket, fastPath: boolean): Socket {
  try {
    checkFastPath(listener, fastPath, 'listener');
  } catch (error) {
    listener.close();
    throw error;
  }
  return listener;
}

/**
 * A SyncListener over `listener`, already listening on 127.0.0.1 (this takes it over and
 * closes it on failure): checks the fast path, and hands each accepted socket (TCP_NODELAY) to `wrap`.
 */
export function listening(listener: Socket, fastPath: boolean, message: Message, wrap: (socket: Socket, message: Message) => SyncConnection): SyncListener {
  checkedListening(listener, fastPath);
  return {
    port: listener.localAddress.port,
    accept(timeoutMs) {
      const [ready] = poll([{ socket: listener, events: { readable: true } }], timeoutMs);
      if (ready === undefined || !ready.readable) throw new Error(`the echo process did not connect within ${timeoutMs} ms`);
      const socket = listener.accept();
      try {
        socket.setNoDelay(true);
        checkFastPath(socket, fastPath, 'accepted socket');
        return wrap(socket, message);
      } catch (error) {
        socket.close();
        throw error;
      }
    },
    close() {
      listener.close();
    },
  };
}

/** A blocking socket connected to 127.0.0.1:port with TCP_NODELAY. */
export function connectSocket(port: number, fastPath: boolean): Socket {
  const socket = Socket.connect({ address: LOOPBACK, port }, { noDelay: true, loopbackFastPath: fastPath });
  try {
    checkFastPath(socket, fastPath, 'connecting socket');
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}

/** send/recv on a blocking socket: the thread sleeps in recv until the echo arrives. */
function blockingConnection(socket: Socket, message: Message): SyncConnection {
  const bytes = message.bytes;
  const rest = tails(bytes);
  const size = bytes.length;
  return {
    send() {
      let sent = socket.send(bytes);
      while (sent < size) sent += socket.send(rest[sent]!);
    },
    receive() {
      let got = socket.recv(bytes);
      if (got === 0) return false;
      while (got < size) {
        const more = socket.recv(rest[got]!);
        if (more === 0) throw new Error(`the peer closed the connection after ${got} of ${size} bytes`);
        got += more;
      }
      return true;
    },
    close() {
      socket.close();
    },
  };
}

/** FIONBIO, then spin on trySend/tryRecv: no sleeping, the core stays busy. */
function spinningConnection(socket: Socket, message: Message): SyncConnection {
  socket.setBlocking(false);
  const bytes = message.bytes;
  const rest = tails(bytes);
  const size = bytes.length;
  return {
    send() {
      let sent = 0;
      while (sent < size) {
        const n = socket.trySend(rest[sent]!);
        if (n > 0) sent += n;
      }
    },
    receive() {
      let got = 0;
      while (got < size) {
        const n = socket.tryRecv(rest[got]!);
        if (n === 0) {
          if (got === 0) return false;
          throw new Error(`the peer closed the connection after ${got} of ${size} bytes`);
        }
        if (n > 0) got += n;
      }
      return true;
    },
    close() {
      socket.close();
    },
  };
}

export const blocking: Mode = syncMode({
  listen: (fastPath, message) => blockingListener(fastPath, message, blockingConnection),
  connect: (port, fastPath, message) => blockingConnection(connectSocket(port, fastPath), message),
});

export const nonblockingPoll: Mode = syncMode({
  listen: (fastPath, message) => blockingListener(fastPath, message, spinningConnection),
  connect: (port, fastPath, message) => spinningConnection(connectSocket(port, fastPath), message),
});
