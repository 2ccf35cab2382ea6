// The `iocp-wait` and `iocp-poll` rows: overlapped WSARecv/WSASend on this library's
// CompletionPort, completions collected with wait() (GetQueuedCompletionStatusEx,
// INFINITE: the thread sleeps) or poll() (timeout 0, spinning). Sockets are in
// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode, as a latency-minded IOCP program would
// set them: an operation that completes at once costs no packet and no dequeue.
//
// The bench's own loop allocates nothing per message; the CompletionPort API does
// (an Operation per call, a Completion and an array per poll/wait): that is part of
// what these rows measure.
import { CompletionPort, Socket } from '#winsock-ffi';
import type { Completion, Operation } from '#winsock-ffi';
import type { Message } from '../recorder.ts';
import { syncMode, tails } from './mode.ts';
import type { Mode, SyncConnection } from './mode.ts';
import { blockingListener, connectSocket } from './winsock-sync.ts';

type Collect = (port: CompletionPort) => Completion[];

const INFINITE = 0xffffffff;
// One completion per call: a send that finished at once (skip mode) is then handed back
// from the port's ready list alone, without an extra GetQueuedCompletionStatusEx(0)
// that a larger batch would add to look for more. With one socket and at most one
// receive outstanding, a batch would have nothing else to collect.
const collectWaiting: Collect = (port) => port.wait(INFINITE, 1);
const collectPolling: Collect = (port) => port.poll(1);

/** One socket on its own completion port; send() issues, receive() collects until the message is whole. */
function iocpConnection(socket: Socket, message: Message, collect: Collect): SyncConnection {
  const port = new CompletionPort();
  port.associate(socket);
  port.setSkipCompletionOnSuccess(socket);
  const bytes = message.bytes;
  const rest = tails(bytes);
  const size = bytes.length;
  let recvOp: Operation | null = null;
  let received = 0;

  /** Takes one batch of completions; returns false when the peer ended the stream. */
  const drain = (): boolean => {
    const completions = collect(port);
    let open = true;
    for (let i = 0; i < completions.length; i++) {
      const completion = completions[i]!;
      if (completion.error !== null) throw completion.error;
      if (completion.operation === recvOp) {
        recvOp = null;
        if (completion.bytes === 0) open = false;
        received += completion.bytes;
      } else {
        if (completion.bytes !== size) throw new Error(`WSASend sent ${completion.bytes} of ${size} bytes`);
      }
    }
    return open;
  };

  return {
    send() {
      // WSASend copies the message into pinned memory before it returns.
      port.send(socket, bytes);
    },
    receive() {
      received = 0;
      while (received < size) {
        if (recvOp === null) recvOp = port.recv(socket, rest[received]!);
        if (!drain()) {
          if (received === 0) return false;
          throw new Error(`the peer closed the connection after ${received} of ${size} bytes`);
        }
      }
      return true;
    },
    close() {
      // Cancels whatever is still in flight and waits for it before the socket goes.
      port.close();
      socket.close();
    },
  };
}

function iocpMode(collect: Collect): Mode {
  const wrap = (socket: Socket, message: Message): SyncConnection => iocpConnection(socket, message, collect);
  return syncMode({
    listen: (fastPath, message) => blockingListener(fastPath, message, wrap),
    connect: (port, fastPath, message) => wrap(connectSocket(port, fastPath), message),
  });
}

export const iocpWait: Mode = iocpMode(collectWaiting);
export const iocpPoll: Mode = iocpMode(collectPolling);
