// The `rio-poll` row: Registered I/O on both ends. Each end has one socket made with
// WSA_FLAG_REGISTERED_IO (the accepted one inherits it from the listener), one registered
// buffer (the send half, then the receive half), a polled completion queue and a request
// queue of one receive and one send; it spins on RIODequeueCompletion (dequeue()) until
// the request it waits for has completed, as the article's RIO rows do and as the C
// reference's `rio` mode does. The fast path, when asked for, is set on the sockets in the
// same order as the other rows (listener before listen, client before connect).
//
// Where the system has no RIO (Wine, Windows 7) the probe reports the row n/a with the
// system's answer: the RIO test double of the test suite is never used here.
import { CompletionQueue, RegisteredBuffer, registeredIoUnavailableBecause, RequestQueue, Socket } from '#winsock-ffi';
import type { Message } from '../recorder.ts';
import { syncMode } from './mode.ts';
import type { Mode, SyncConnection, SyncListener } from './mode.ts';
import { checkFastPath, listening } from './winsock-sync.ts';

const LOOPBACK = '127.0.0.1';

/** One RIO socket: its buffer, completion queue and request queue, driven by spinning on dequeue(). */
function rioConnection(socket: Socket, message: Message): SyncConnection {
  const size = message.bytes.length;
  const buffer = new RegisteredBuffer(2 * size);
  const queue = new CompletionQueue({ size: 2, batch: 2 });
  const requests = new RequestQueue(socket, { completionQueue: queue, maxOutstandingReceive: 1, maxOutstandingSend: 1 });
  const results = queue.results;
  let sendPending = false;
  let receivePending = false;
  let received = 0;

  /** One dequeue: notes what completed; throws on a failed request. */
  const take = (): void => {
    const count = queue.dequeue();
    for (let i = 0; i < count; i++) {
      const result = results[i]!;
      if (result.status !== 0) throw result.error!;
      if (result.kind === 'send') {
        if (result.bytes !== size) throw new Error(`RIOSend sent ${result.bytes} of ${size} bytes`);
        sendPending = false;
      } else {
        receivePending = false;
        received = result.bytes;
      }
    }
  };

  return {
    send() {
      // The send half is reused: its previous send must have completed (its completion may
      // still be queued even though the echo came back).
      while (sendPending) take();
      message.bytes.copy(buffer.bytes, 0);
      requests.send(buffer, 0, size);
      sendPending = true;
    },
    receive() {
      let got = 0;
      while (got < size) {
        requests.receive(buffer, size + got, size - got);
        receivePending = true;
        while (receivePending) take();
        if (received === 0) {
          if (got === 0) return false;
          throw new Error(`the peer closed the connection after ${got} of ${size} bytes`);
        }
        got += received;
      }
      buffer.bytes.copy(message.bytes, 0, size, 2 * size);
      return true;
    },
    close() {
      // RIO's close order: the socket (and with it the request queue), the completion
      // queue (which collects what was still in flight), then the buffer.
      socket.close();
      queue.close();
      buffer.close();
    },
  };
}

function rioListener(fastPath: boolean, message: Message): SyncListener {
  // Socket.listen has no registeredIo option: made by hand, then the blocking rows' listener.
  const listener = new Socket({ registeredIo: true });
  try {
    if (fastPath) listener.enableLoopbackFastPath();
    listener.bind({ address: LOOPBACK, port: 0 });
    listener.listen(1);
  } catch (error) {
    listener.close();
    throw error;
  }
  return listening(listener, fastPath, message, rioConnection);
}

function rioConnect(port: number, fastPath: boolean, message: Message): SyncConnection {
  const socket = new Socket({ registeredIo: true });
  try {
    socket.setNoDelay(true);
    if (fastPath) socket.enableLoopbackFastPath();
    checkFastPath(socket, fastPath, 'connecting socket');
    socket.connect({ address: LOOPBACK, port });
    return rioConnection(socket, message);
  } catch (error) {
    socket.close();
    throw error;
  }
}

export const rioPoll: Mode = {
  ...syncMode({ listen: rioListener, connect: rioConnect }),
  unavailableBecause() {
    const reason = registeredIoUnavailableBecause();
    return reason === null ? null : `this system has no Registered I/O: WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) answered ${reason}`;
  },
};
