// Registered I/O. Wine has no RIO (its WSAIoctl answers WSAEOPNOTSUPP), so the binding's
// whole path runs here against the RIO test double (test/fixtures/rio-double, a MinGW DLL
// that implements RIO's documented function-table semantics over overlapped Winsock,
// built by the harness, path in WINSOCK_FFI_RIO_DOUBLE), taken through an internal seam
// instead of WSAIoctl. The layouts are checked against the SDK's numbers. What only the
// real table can show runs on real Windows and is skipped under Wine, with the reason.

import { expect } from 'chai';
import {
  CompletionQueue,
  RegisteredBuffer,
  registeredIoSupported,
  registeredIoUnavailableBecause,
  RequestQueue,
  RioResult,
  Socket,
  SocketClosedError,
  SocketStateError,
  WinsockError,
} from '../../../src/index.ts';
import type { RioRequestKind } from '../../../src/index.ts';
import * as sys from '../../../src/sys/index.ts';
import { underWine } from '../../support/env.ts';
import { realWindowsOnly, skipUnder } from '../../support/skip.ts';
import { thrownBy } from '../../support/sockets.ts';

const doublePath = process.env.WINSOCK_FFI_RIO_DOUBLE;
const NO_DOUBLE = 'the RIO test double was not built (no MinGW-w64; WINSOCK_FFI_RIO_DOUBLE is unset)';
const NO_RIO_UNDER_WINE = 'has no Registered I/O (WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) answers WSAEOPNOTSUPP)';
const WSA_OPERATION_ABORTED = 995;

/** The SDK's numbers (mswsock.h, mswsockdef.h), x64. */
const SDK = {
  RIO_BUF: { size: 16, BufferId: 0, Offset: 8, Length: 12 },
  RIORESULT: { size: 24, Status: 0, BytesTransferred: 4, SocketContext: 8, RequestContext: 16 },
  RIO_NOTIFICATION_COMPLETION: { size: 32, Type: 0, EventHandle: 8, NotifyReset: 16, IocpHandle: 8, CompletionKey: 16, Overlapped: 24 },
  RIO_EXTENSION_FUNCTION_TABLE: {
    size: 112,
    order: [
      'RIOReceive',
      'RIOReceiveEx',
      'RIOSend',
      'RIOSendEx',
      'RIOCloseCompletionQueue',
      'RIOCreateCompletionQueue',
      'RIOCreateRequestQueue',
      'RIODequeueCompletion',
      'RIODeregisterBuffer',
      'RIONotify',
      'RIORegisterBuffer',
      'RIOResizeCompletionQueue',
      'RIOResizeRequestQueue',
    ],
  },
};

interface Snapshot {
  kind: RioRequestKind;
  status: number;
  bytes: number;
  offset: number;
  length: number;
  context: unknown;
  queueContext: unknown;
}

/** Opens things in a test and closes them afterwards in RIO's order: sockets, completion queues, buffers. */
class Opened {
  sockets: Socket[] = [];
  queues: CompletionQueue[] = [];
  buffers: RegisteredBuffer[] = [];

  socket(socket: Socket): Socket {
    this.sockets.push(socket);
    return socket;
  }

  queue(queue: CompletionQueue): CompletionQueue {
    this.queues.push(queue);
    return queue;
  }

  buffer(buffer: RegisteredBuffer): RegisteredBuffer {
    this.buffers.push(buffer);
    return buffer;
  }

  closeAll(): void {
    for (const socket of this.sockets.splice(0)) socket.close();
    for (const queue of this.queues.splice(0)) queue.close();
    for (const buffer of this.buffers.splice(0)) buffer.close();
  }

  /** A listener, a connected client and the accepted server socket, all with WSA_FLAG_REGISTERED_IO. */
  pair(): { listener: Socket; client: Socket; server: Socket } {
    const listener = this.socket(new Socket({ registeredIo: true }));
    listener.bind({ address: '127.0.0.1', port: 0 });
    listener.listen();
    const client = this.socket(new Socket({ registeredIo: true }));
    client.connect(listener.localAddress);
    const server = this.socket(listener.accept());
    return { listener, client, server };
  }
}

/** Dequeues until `count` results came (copied out: the result objects are reused), or throws after `timeoutMs`. */
function collect(queue: CompletionQueue, count: number, timeoutMs = 5000): Snapshot[] {
  const out: Snapshot[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const n = queue.dequeue();
    for (let i = 0; i < n; i++) out.push(snapshot(queue.results[i]!));
    if (n === 0 && Date.now() > deadline) throw new Error(`only ${out.length} of ${count} results within ${timeoutMs} ms`);
  }
  return out;
}

function snapshot(result: RioResult): Snapshot {
  return {
    kind: result.kind,
    status: result.status,
    bytes: result.bytes,
    offset: result.offset,
    length: result.length,
    context: result.context,
    queueContext: result.queue?.context,
  };
}

/** Spins on dequeue() for `ms` and returns how many results came. */
function dequeueFor(queue: CompletionQueue, ms: number): number {
  let total = 0;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) total += queue.dequeue();
  return total;
}

function expectState(fn: () => unknown, code: string): void {
  const error = thrownBy(fn);
  expect(error, String(error)).to.be.instanceOf(SocketStateError);
  expect((error as SocketStateError).code, (error as Error).message).to.equal(code);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Registered I/O', function () {
  describe('layouts', function () {
    it("RIO_BUF, RIORESULT, RIO_NOTIFICATION_COMPLETION and the function table match the SDK's sizes, offsets and order", function () {
      const { RIO_BUF, RIORESULT, RIO_NOTIFICATION_COMPLETION, RIO_EXTENSION_FUNCTION_TABLE, RIO_TABLE_ORDER } = sys.rio;
      expect({ ...RIO_BUF }).to.deep.equal(SDK.RIO_BUF);
      expect({ ...RIORESULT }).to.deep.equal(SDK.RIORESULT);
      expect({ ...RIO_NOTIFICATION_COMPLETION }).to.deep.equal(SDK.RIO_NOTIFICATION_COMPLETION);
      expect(RIO_EXTENSION_FUNCTION_TABLE.size).to.equal(SDK.RIO_EXTENSION_FUNCTION_TABLE.size);
      expect(RIO_EXTENSION_FUNCTION_TABLE.functions).to.equal(8); // DWORD cbSize, padded to pointer alignment
      expect([...RIO_TABLE_ORDER]).to.deep.equal(SDK.RIO_EXTENSION_FUNCTION_TABLE.order);
      expect(sys.constants.WSA_FLAG_REGISTERED_IO).to.equal(0x100);
      expect(sys.constants.SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER).to.equal(0xc8000024);
      expect(sys.constants.RIO_CORRUPT_CQ).to.equal(0xffffffff);
      expect(sys.constants.RIO_INVALID_BUFFERID).to.equal(0xffffffff);
      expect(sys.constants.RIO_MAX_CQ_SIZE).to.equal(0x8000000);
      expect([sys.constants.RIO_MSG_DONT_NOTIFY, sys.constants.RIO_MSG_DEFER, sys.constants.RIO_MSG_WAITALL, sys.constants.RIO_MSG_COMMIT_ONLY]).to.deep.equal([1, 2, 4, 8]);
      expect([sys.constants.RIO_EVENT_COMPLETION, sys.constants.RIO_IOCP_COMPLETION]).to.deep.equal([1, 2]);
    });
  });

  describe('what the system offers', function () {
    it('registeredIoSupported() asks the system once and is stable; under Wine it is false, with WSAEOPNOTSUPP as the reason', function () {
      const supported = registeredIoSupported();
      expect(registeredIoSupported()).to.equal(supported);
      expect(registeredIoUnavailableBecause() === null).to.equal(supported);
      if (underWine) {
        expect(supported).to.equal(false);
        expect(registeredIoUnavailableBecause()).to.equal('WSAEOPNOTSUPP');
      }
    });

    it("without RIO, every class refuses with ERR_RIO_UNAVAILABLE, the system's answer as its cause, before touching anything", function () {
      skipUnder(this, registeredIoSupported(), 'this system has Registered I/O');
      sys.rio.useSystemTable();
      const error = thrownBy(() => new RegisteredBuffer(64)) as SocketStateError & { cause?: unknown };
      expect(error).to.be.instanceOf(SocketStateError);
      expect(error.code).to.equal('ERR_RIO_UNAVAILABLE');
      expect(error.cause).to.be.instanceOf(WinsockError);
      expect((error.cause as WinsockError).code).to.equal(registeredIoUnavailableBecause());
      expectState(() => new CompletionQueue(), 'ERR_RIO_UNAVAILABLE');
    });
  });

  describe('on the RIO test double', function () {
    let testDouble: ReturnType<typeof sys.rio.useTestDouble>;
    const opened = new Opened();

    before(function () {
      skipUnder(this, doublePath === undefined || doublePath === '', NO_DOUBLE);
      testDouble = sys.rio.useTestDouble(doublePath!);
    });

    after(function () {
      sys.rio.useSystemTable();
    });

    afterEach(function () {
      opened.closeAll();
    });

    it("the double's compiler lays out the SDK's declarations exactly as the binding reads them, and it hands out a whole table", function () {
      const { RIO_BUF, RIORESULT, RIO_NOTIFICATION_COMPLETION, RIO_EXTENSION_FUNCTION_TABLE } = sys.rio;
      const tableOffsets = SDK.RIO_EXTENSION_FUNCTION_TABLE.order.map((_, i) => RIO_EXTENSION_FUNCTION_TABLE.functions + 8 * i);
      expect(testDouble.layout()).to.deep.equal([
        RIO_BUF.size,
        RIO_BUF.BufferId,
        RIO_BUF.Offset,
        RIO_BUF.Length,
        RIORESULT.size,
        RIORESULT.Status,
        RIORESULT.BytesTransferred,
        RIORESULT.SocketContext,
        RIORESULT.RequestContext,
        RIO_NOTIFICATION_COMPLETION.size,
        RIO_NOTIFICATION_COMPLETION.Type,
        RIO_NOTIFICATION_COMPLETION.EventHandle,
        RIO_NOTIFICATION_COMPLETION.NotifyReset,
        RIO_NOTIFICATION_COMPLETION.IocpHandle,
        RIO_NOTIFICATION_COMPLETION.CompletionKey,
        RIO_NOTIFICATION_COMPLETION.Overlapped,
        RIO_EXTENSION_FUNCTION_TABLE.size,
        RIO_EXTENSION_FUNCTION_TABLE.cbSize,
        ...tableOffsets,
      ]);
      expect(testDouble.table.readUInt32LE(0)).to.equal(112);
      for (const offset of tableOffsets) expect(testDouble.table.readBigUInt64LE(offset)).to.not.equal(0n);
      expect(sys.rio.api().source).to.equal('test double');
      // The double never passes for the system's RIO.
      if (underWine) expect(registeredIoSupported()).to.equal(false);
    });

    it('sockets made with registeredIo carry WSA_FLAG_REGISTERED_IO, accepted ones inherit it, and a request queue refuses any other socket', function () {
      const { listener, client, server } = opened.pair();
      expect([listener.registeredIo, client.registeredIo, server.registeredIo]).to.deep.equal([true, true, true]);
      const plain = opened.socket(new Socket());
      expect(plain.registeredIo).to.equal(false);
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      expectState(() => new RequestQueue(plain, { completionQueue: queue }), 'ERR_RIO_SOCKET');
      new RequestQueue(client, { completionQueue: queue });
      expectState(() => new RequestQueue(client, { completionQueue: queue }), 'ERR_RIO_SOCKET'); // one per socket
      expect(thrownBy(() => new Socket({ registeredIo: 'yes' as unknown as boolean }))).to.be.instanceOf(TypeError);
    });

    it('a send and a receive move the bytes through the registered memory and report status, bytes, range and contexts', function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(4096));
      const queue = opened.queue(new CompletionQueue({ size: 16 }));
      const sender = new RequestQueue(client, { completionQueue: queue, context: 'client' });
      const receiver = new RequestQueue(server, { completionQueue: queue, context: { side: 'server' } });
      receiver.receive(buffer, 1000, 100, 'the receive');
      buffer.bytes.write('registered I/O', 10, 'latin1');
      sender.send(buffer, 10, 14, 42);
      expect([sender.sendsOutstanding, receiver.receivesOutstanding]).to.deep.equal([1, 1]);
      const results = collect(queue, 2);
      const send = results.find((r) => r.kind === 'send')!;
      const receive = results.find((r) => r.kind === 'receive')!;
      expect(send).to.deep.equal({ kind: 'send', status: 0, bytes: 14, offset: 10, length: 14, context: 42, queueContext: 'client' });
      expect(receive).to.deep.equal({ kind: 'receive', status: 0, bytes: 14, offset: 1000, length: 100, context: 'the receive', queueContext: { side: 'server' } });
      expect(buffer.bytes.toString('latin1', 1000, 1014)).to.equal('registered I/O');
      expect([sender.sendsOutstanding, receiver.receivesOutstanding, queue.outstanding]).to.deep.equal([0, 0, 0]);
      expect(queue.dequeue()).to.equal(0);
    });

    it('dequeue() overwrites the same result objects (no allocation per result) and gives a socket\'s results in the order they completed', function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(1024));
      const queue = opened.queue(new CompletionQueue({ size: 16, batch: 2 }));
      const sender = new RequestQueue(client, { completionQueue: queue, maxOutstandingSend: 4 });
      new RequestQueue(server, { completionQueue: queue, maxOutstandingReceive: 1 });
      const objects = [...queue.results];
      expect(objects).to.have.length(2);
      for (let i = 0; i < 4; i++) sender.send(buffer, 100 * i, 10, i);
      const results = collect(queue, 4);
      expect(results.map((r) => r.context)).to.deep.equal([0, 1, 2, 3]);
      expect(queue.results).to.have.length(2);
      expect(queue.results[0]).to.equal(objects[0]);
      expect(queue.results[1]).to.equal(objects[1]);
      expect(queue.results[0]).to.be.instanceOf(RioResult);
      expect(thrownBy(() => queue.dequeue(3))).to.be.instanceOf(RangeError); // more than results.length
    });

    it('a full request queue refuses the next request with ERR_RIO_QUEUE_FULL before the native call; the double itself answers WSAENOBUFS', function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(1024));
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      const receiver = new RequestQueue(server, { completionQueue: queue, maxOutstandingReceive: 2, maxOutstandingSend: 1 });
      receiver.receive(buffer, 0, 10, 'a');
      receiver.receive(buffer, 10, 10, 'b');
      const before = testDouble.stats().requests;
      expectState(() => receiver.receive(buffer, 20, 10, 'c'), 'ERR_RIO_QUEUE_FULL');
      expect(testDouble.stats().requests).to.equal(before); // refused in TypeScript
      // The documented native behaviour, straight through the table: RIOReceive fails with WSAENOBUFS.
      const api = sys.rio.api();
      const cq = api.createCompletionQueue(4, null);
      const rq = api.createRequestQueue(Number(client.handle), 1, 1, cq, cq, 0);
      const id = api.registerBuffer(Buffer.from(new SharedArrayBuffer(64)));
      const buf = new sys.PinnedMemory(16);
      try {
        sys.rio.writeRioBuf(buf, id, 0, 8);
        expect(api.receive(rq, buf, 0, 1)).to.equal(0);
        sys.rio.writeRioBuf(buf, id, 8, 8);
        expect(sys.errorName(api.receive(rq, buf, 0, 2))).to.equal('WSAENOBUFS');
        // A completion queue too small for a request queue's maximums: WSAENOBUFS at creation.
        const small = api.createCompletionQueue(1, null);
        const other = opened.socket(new Socket({ registeredIo: true }));
        expect(() => api.createRequestQueue(Number(other.handle), 1, 1, small, small, 0)).to.throw(WinsockError, /WSAENOBUFS/);
        api.closeCompletionQueue(small);
      } finally {
        client.close(); // ends rq; its receive completes aborted into cq, which closes next
        const deadline = Date.now() + 5000;
        const results = new sys.PinnedMemory(24);
        while (api.dequeue(cq, results, 1) === 0 && Date.now() < deadline);
        api.closeCompletionQueue(cq);
        api.deregisterBuffer(id);
        results.free();
        buf.free();
      }
    });

    it('bad arguments get TypeError or RangeError before any native call', function () {
      const { client } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(100));
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      const requests = new RequestQueue(client, { completionQueue: queue });
      const before = testDouble.stats();
      const fake = Object.create(RegisteredBuffer.prototype) as RegisteredBuffer;
      const cases: [() => unknown, typeof TypeError | typeof RangeError][] = [
        [() => new RegisteredBuffer(0), RangeError],
        [() => new RegisteredBuffer(1.5), TypeError],
        [() => new RegisteredBuffer(2 ** 32), RangeError],
        [() => new CompletionQueue({ size: 0 }), RangeError],
        [() => new CompletionQueue({ size: 0x8000001 }), RangeError],
        [() => new CompletionQueue({ notification: 'events' as 'port' }), TypeError],
        [() => new CompletionQueue({ batch: 0 }), RangeError],
        [() => new CompletionQueue(null as unknown as object), TypeError],
        [() => new RequestQueue({} as Socket, { completionQueue: queue }), TypeError],
        [() => new RequestQueue(client, {}), TypeError],
        [() => new RequestQueue(client, { completionQueue: queue, maxOutstandingReceive: -1 }), RangeError],
        [() => new RequestQueue(client, { completionQueue: queue, maxOutstandingReceive: 0, maxOutstandingSend: 0 }), RangeError],
        [() => requests.send(fake, 0, 1), TypeError],
        [() => requests.send({} as RegisteredBuffer, 0, 1), TypeError],
        [() => requests.send(buffer, -1, 1), RangeError],
        [() => requests.send(buffer, 100, 1), RangeError],
        [() => requests.send(buffer, 0, 0), RangeError],
        [() => requests.send(buffer, 90, 11), RangeError],
        [() => requests.send(buffer, 0, 1.5), TypeError],
        [() => requests.send(buffer, 0, 1, null, { defer: 1 as unknown as boolean }), TypeError],
        [() => requests.send(buffer, 0, 1, null, { waitAll: true }), TypeError],
        [() => queue.dequeue(0), RangeError],
        [() => queue.wait(-1), RangeError],
        [() => queue.wait(0.5), TypeError],
      ];
      for (const [fn, type] of cases) expect(fn).to.throw(type);
      const after = testDouble.stats();
      expect([after.requests, after.buffersLive, after.queuesOpen]).to.deep.equal([before.requests, before.buffersLive, before.queuesOpen]);
      expect(requests.sendsOutstanding).to.equal(0);
    });

    it('a range of a registered buffer is in one request at a time (ERR_RIO_BUFFER_BUSY), and free again once its result is dequeued', function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(256));
      const queue = opened.queue(new CompletionQueue({ size: 16 }));
      const receiver = new RequestQueue(server, { completionQueue: queue, maxOutstandingReceive: 4 });
      const sender = new RequestQueue(client, { completionQueue: queue, maxOutstandingSend: 4 });
      receiver.receive(buffer, 100, 50, 'pending');
      expectState(() => receiver.receive(buffer, 149, 10), 'ERR_RIO_BUFFER_BUSY');
      expectState(() => sender.send(buffer, 90, 11), 'ERR_RIO_BUFFER_BUSY');
      receiver.receive(buffer, 150, 10, 'adjacent'); // touching is not overlapping
      sender.send(buffer, 0, 100, 'before it');
      expect(buffer.pendingRequests).to.equal(3);
      collect(queue, 3); // the send's, and both receives' (the 100 bytes reach both)
      expect(buffer.pendingRequests).to.equal(0);
      receiver.receive(buffer, 100, 50, 'again');
      expect(buffer.pendingRequests).to.equal(1);
    });

    it('a buffer closed while a request uses it refuses new requests at once but stays registered until that result is dequeued', function () {
      const { client, server } = opened.pair();
      const buffer = new RegisteredBuffer(128);
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      const receiver = new RequestQueue(server, { completionQueue: queue });
      const sender = new RequestQueue(client, { completionQueue: queue });
      const live = testDouble.stats().buffersLive;
      receiver.receive(buffer, 0, 64, 'in flight');
      buffer.close();
      expect(buffer.closed).to.equal(true);
      expectState(() => sender.send(buffer, 64, 8), 'ERR_RIO_CLOSED');
      expect(testDouble.stats().buffersLive).to.equal(live); // still registered: the receive may write it
      const other = opened.buffer(new RegisteredBuffer(8));
      other.bytes.write('late', 'latin1');
      sender.send(other, 0, 4);
      const results = collect(queue, 2);
      expect(results.find((r) => r.kind === 'receive')?.bytes).to.equal(4);
      expect(buffer.bytes.toString('latin1', 0, 4)).to.equal('late'); // the memory outlives the registration
      const stats = testDouble.stats();
      expect(stats.buffersLive).to.equal(live); // the closed one went, `other` came
      expect(stats.violations, stats.lastViolation).to.equal(0);
      buffer.close(); // idempotent
    });

    it('closed objects refuse every call: ERR_RIO_CLOSED for buffers and completion queues, ERR_SOCKET_CLOSED for a closed socket\'s request queue', function () {
      const { client } = opened.pair();
      const buffer = new RegisteredBuffer(16);
      const queue = new CompletionQueue({ size: 4, notification: 'port' });
      const requests = new RequestQueue(client, { completionQueue: queue });
      client.close();
      expect(requests.closed).to.equal(true);
      expect(thrownBy(() => requests.send(buffer, 0, 1))).to.be.instanceOf(SocketClosedError);
      expect(thrownBy(() => requests.receive(buffer, 0, 1))).to.be.instanceOf(SocketClosedError);
      expect(thrownBy(() => requests.commit())).to.be.instanceOf(SocketClosedError);
      queue.close();
      buffer.close();
      expect(queue.closed).to.equal(true);
      for (const call of [() => queue.dequeue(), () => queue.wait(0), () => queue.waitAsync(0), () => queue.resize(8)]) expectState(call, 'ERR_RIO_CLOSED');
      const other = opened.socket(new Socket({ registeredIo: true }));
      expectState(() => new RequestQueue(other, { completionQueue: queue }), 'ERR_RIO_CLOSED');
      queue.close(); // idempotent
    });

    it('the documented close order: a completion queue refuses to close while a socket of its request queues is open, then a closed socket\'s pending receive reports WSA_OPERATION_ABORTED', function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = new CompletionQueue({ size: 8 });
      const receiver = new RequestQueue(server, { completionQueue: queue, maxOutstandingReceive: 2 });
      new RequestQueue(client, { completionQueue: queue });
      receiver.receive(buffer, 0, 32, 'first');
      receiver.receive(buffer, 32, 32, 'second');
      expectState(() => queue.close(), 'ERR_RIO_CLOSE_ORDER');
      expect(queue.closed).to.equal(false);
      server.close();
      const results = collect(queue, 2);
      expect(results.map((r) => [r.context, r.status, r.bytes])).to.have.deep.members([
        ['first', WSA_OPERATION_ABORTED, 0],
        ['second', WSA_OPERATION_ABORTED, 0],
      ]);
      expectState(() => queue.close(), 'ERR_RIO_CLOSE_ORDER'); // the client's socket is still open
      client.close();
      queue.close();
      expect(queue.closed).to.equal(true);
      const stats = testDouble.stats();
      expect([stats.buffersPending, stats.requests]).to.deep.equal([0, 0]);
    });

    it('close() collects the aborted results of closed sockets\' requests before RIOCloseCompletionQueue, so that their buffers deregister', function () {
      const { server } = opened.pair();
      const buffer = new RegisteredBuffer(64);
      const queue = new CompletionQueue({ size: 8 });
      const receiver = new RequestQueue(server, { completionQueue: queue });
      receiver.receive(buffer, 0, 64);
      buffer.close(); // deferred: the receive is pending
      const live = testDouble.stats().buffersLive;
      opened.closeAll(); // the sockets: the receive is aborted, its result waits in the queue
      queue.close();
      const stats = testDouble.stats();
      expect(stats.buffersLive).to.equal(live - 1);
      expect([stats.buffersPending, stats.requests, stats.violations]).to.deep.equal([0, 0, 0]);
    });

    it('a corrupt completion queue is an error from dequeue, wait and waitAsync, never a hang, and it still closes', async function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = new CompletionQueue({ size: 8, notification: 'port' });
      const receiver = new RequestQueue(server, { completionQueue: queue });
      const sender = new RequestQueue(client, { completionQueue: queue });
      receiver.receive(buffer, 0, 32, 'lost');
      testDouble.corruptLastCompletionQueue();
      const started = Date.now();
      expectState(() => queue.dequeue(), 'ERR_RIO_CORRUPT_CQ');
      expect(queue.corrupt).to.equal(true);
      expectState(() => queue.wait(10_000), 'ERR_RIO_CORRUPT_CQ');
      expectState(() => queue.waitAsync(10_000), 'ERR_RIO_CORRUPT_CQ');
      expectState(() => sender.send(buffer, 32, 8), 'ERR_RIO_CORRUPT_CQ');
      expect(Date.now() - started).to.be.below(2000);
      opened.closeAll();
      queue.close(); // the lost receive's buffer stays registered for good (the OS might still write it)
      expect(queue.closed).to.equal(true);
    });

    it('notification through a completion port: wait() times out with 0, then wakes on RIONotify; waitAsync() waits on a threadpool thread', async function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = opened.queue(new CompletionQueue({ size: 8, notification: 'port' }));
      const receiver = new RequestQueue(server, { completionQueue: queue });
      const sender = new RequestQueue(client, { completionQueue: queue });
      receiver.receive(buffer, 32, 32, 'wanted');
      const started = Date.now();
      expect(queue.wait(100)).to.equal(0);
      expect(Date.now() - started).to.be.at.least(90);
      sender.send(buffer, 0, 5, 'send', { dontNotify: true });
      let seen = 0;
      const contexts: unknown[] = [];
      while (seen < 2) {
        const n = queue.wait(5000);
        expect(n).to.be.above(0);
        for (let i = 0; i < n; i++) contexts.push(queue.results[i]!.context);
        seen += n;
      }
      expect(contexts).to.have.members(['send', 'wanted']);
      receiver.receive(buffer, 32, 32, 'async');
      const waiting = queue.waitAsync(5000);
      expectState(() => queue.waitAsync(), 'ERR_WAIT_IN_PROGRESS');
      expectState(() => queue.wait(0), 'ERR_WAIT_IN_PROGRESS');
      await sleep(50);
      sender.send(buffer, 0, 5, 'second send');
      let n = await waiting;
      const got = queue.results.slice(0, n).map((r) => r.context);
      while (got.length < 2) {
        n = await queue.waitAsync(5000);
        got.push(...queue.results.slice(0, n).map((r) => r.context));
      }
      expect(got).to.have.members(['async', 'second send']);
      expect(await queue.waitAsync(50)).to.equal(0);
      expect(testDouble.stats().notifications).to.be.above(0);
    });

    it("notification through Node's event loop: waitAsync() resolves on this thread when RIONotify fires, and with 0 on timeout", async function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = opened.queue(new CompletionQueue({ size: 8, notification: 'event-loop' }));
      expect(thrownBy(() => queue.wait(0))).to.be.instanceOf(SocketStateError);
      const receiver = new RequestQueue(server, { completionQueue: queue });
      const sender = new RequestQueue(client, { completionQueue: queue });
      receiver.receive(buffer, 32, 32, 'event-loop receive');
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      try {
        expect(await queue.waitAsync(100)).to.equal(0);
        setTimeout(() => sender.send(buffer, 0, 7, 'event-loop send'), 50);
        const contexts: unknown[] = [];
        while (contexts.length < 2) {
          const n = await queue.waitAsync(5000);
          expect(n).to.be.above(0);
          contexts.push(...queue.results.slice(0, n).map((r) => r.context));
        }
        expect(contexts).to.have.members(['event-loop receive', 'event-loop send']);
      } finally {
        clearInterval(ticker);
      }
      expect(ticks, 'the event loop ran while waiting').to.be.above(5);
      // Closing with a wait out resolves it with 0.
      receiver.receive(buffer, 32, 32);
      const pending = queue.waitAsync();
      opened.sockets.forEach((socket) => socket.close());
      queue.close();
      expect(await pending).to.equal(0);
    });

    it('RIO_MSG_DEFER holds requests until commit() (RIO_MSG_COMMIT_ONLY) or a request without it', function () {
      const listener = opened.socket(new Socket());
      listener.bind({ address: '127.0.0.1', port: 0 });
      listener.listen();
      const client = opened.socket(new Socket({ registeredIo: true }));
      client.connect(listener.localAddress);
      const peer = opened.socket(listener.accept());
      peer.setBlocking(false);
      const buffer = opened.buffer(new RegisteredBuffer(64));
      buffer.bytes.write('abcdef', 'latin1');
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      const sender = new RequestQueue(client, { completionQueue: queue, maxOutstandingSend: 3 });
      sender.send(buffer, 0, 2, 'ab', { defer: true });
      sender.send(buffer, 2, 2, 'cd', { defer: true });
      const into = Buffer.alloc(16);
      expect(dequeueFor(queue, 100)).to.equal(0);
      expect(peer.tryRecv(into)).to.equal(-1); // nothing was sent
      sender.commit();
      expect(collect(queue, 2).map((r) => r.context)).to.deep.equal(['ab', 'cd']);
      sender.send(buffer, 4, 2, 'ef', { defer: true });
      expect(dequeueFor(queue, 50)).to.equal(0);
      sender.send(buffer, 6, 1, 'nul'); // without defer: starts the deferred one too
      expect(collect(queue, 2).map((r) => r.context)).to.deep.equal(['ef', 'nul']);
      let received = '';
      const deadline = Date.now() + 5000;
      while (received.length < 7 && Date.now() < deadline) {
        const n = peer.tryRecv(into);
        if (n > 0) received += into.toString('latin1', 0, n);
      }
      expect(received).to.equal('abcdef\0');
    });

    it('RIO_MSG_WAITALL: a receive completes only once its range is full; without it, with what came', function () {
      const listener = opened.socket(new Socket());
      listener.bind({ address: '127.0.0.1', port: 0 });
      listener.listen();
      const client = opened.socket(new Socket({ registeredIo: true }));
      client.connect(listener.localAddress);
      const peer = opened.socket(listener.accept());
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      const receiver = new RequestQueue(client, { completionQueue: queue });
      receiver.receive(buffer, 0, 8, 'all', { waitAll: true });
      peer.sendAll('1234');
      expect(dequeueFor(queue, 200)).to.equal(0);
      peer.sendAll('5678');
      expect(collect(queue, 1)[0]).to.include({ context: 'all', status: 0, bytes: 8 });
      expect(buffer.bytes.toString('latin1', 0, 8)).to.equal('12345678');
      receiver.receive(buffer, 8, 8, 'some');
      peer.sendAll('xy');
      expect(collect(queue, 1)[0]).to.include({ context: 'some', bytes: 2 });
      peer.shutdown('send');
      receiver.receive(buffer, 16, 8, 'end');
      expect(collect(queue, 1)[0]).to.include({ context: 'end', status: 0, bytes: 0 }); // the end of the stream
    });

    it('resize(): RIOResizeRequestQueue raises a request queue\'s maximum, RIOResizeCompletionQueue a queue\'s size', function () {
      const { client } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = opened.queue(new CompletionQueue({ size: 2 }));
      const receiver = new RequestQueue(client, { completionQueue: queue, maxOutstandingReceive: 1, maxOutstandingSend: 1 });
      receiver.receive(buffer, 0, 8);
      expectState(() => receiver.receive(buffer, 8, 8), 'ERR_RIO_QUEUE_FULL');
      expect(() => receiver.resize(2, 1)).to.throw(WinsockError, /WSAENOBUFS/); // 2 + 1 do not fit in 2 entries
      queue.resize(4);
      expect(queue.size).to.equal(4);
      receiver.resize(2, 1);
      expect(receiver.maxOutstandingReceive).to.equal(2);
      receiver.receive(buffer, 8, 8);
      expect(receiver.receivesOutstanding).to.equal(2);
      expect(() => receiver.resize(1, 1)).to.throw(RangeError); // below what is outstanding
      expect(() => queue.resize(2)).to.throw(WinsockError, /WSAEINVAL/); // below what the request queue reserves
    });

    it('the loopback fast path works on RIO sockets with the same ordering rules', function () {
      const listener = opened.socket(new Socket({ registeredIo: true }));
      const fastPath = listener.enableLoopbackFastPath();
      if (underWine) expect(fastPath).to.equal(false);
      listener.bind({ address: '127.0.0.1', port: 0 });
      listener.listen();
      const client = opened.socket(new Socket({ registeredIo: true }));
      expect(client.enableLoopbackFastPath()).to.equal(fastPath);
      client.connect(listener.localAddress);
      const server = opened.socket(listener.accept());
      expect(server.loopbackFastPath).to.equal(fastPath);
      expectState(() => client.enableLoopbackFastPath(), 'ERR_FAST_PATH_TOO_LATE');
      const buffer = opened.buffer(new RegisteredBuffer(16));
      const queue = opened.queue(new CompletionQueue({ size: 4 }));
      new RequestQueue(server, { completionQueue: queue }).receive(buffer, 8, 8);
      buffer.bytes.write('fast', 'latin1');
      new RequestQueue(client, { completionQueue: queue }).send(buffer, 0, 4);
      expect(collect(queue, 2).map((r) => r.bytes)).to.deep.equal([4, 4]);
      expect(buffer.bytes.toString('latin1', 8, 12)).to.equal('fast');
    });

    it('a thousand round trips leave nothing behind and the double saw no misuse (two threads in a queue, a buffer deregistered in use)', function () {
      const { client, server } = opened.pair();
      const buffer = new RegisteredBuffer(128);
      const queue = new CompletionQueue({ size: 8 });
      const a = new RequestQueue(client, { completionQueue: queue });
      const b = new RequestQueue(server, { completionQueue: queue });
      for (let i = 0; i < 1000; i++) {
        b.receive(buffer, 64, 64, i);
        buffer.bytes.writeUInt32LE(i, 0);
        a.send(buffer, 0, 4, i);
        collect(queue, 2);
        expect(buffer.bytes.readUInt32LE(64)).to.equal(i);
      }
      opened.closeAll();
      queue.close();
      buffer.close();
      const stats = testDouble.stats();
      expect([stats.buffersPending, stats.requests, stats.violations], stats.lastViolation).to.deep.equal([0, 0, 0]);
    });
  });

  describe('on the real table (Windows 8+)', function () {
    const opened = new Opened();

    beforeEach(function () {
      realWindowsOnly(this, NO_RIO_UNDER_WINE);
      skipUnder(this, !registeredIoSupported(), `needs Registered I/O: this system answers ${registeredIoUnavailableBecause()}`);
      sys.rio.useSystemTable();
    });

    afterEach(function () {
      opened.closeAll();
    });

    it("the system's table is whole and registeredIoSupported() says so", function () {
      expect(registeredIoSupported()).to.equal(true);
      expect(registeredIoUnavailableBecause()).to.equal(null);
      expect(sys.rio.api().source).to.equal('system');
    });

    it('round trips over TCP loopback, polled, with the fast path where the system has it', function () {
      const listener = opened.socket(new Socket({ registeredIo: true }));
      const fastPath = listener.enableLoopbackFastPath();
      listener.bind({ address: '127.0.0.1', port: 0 });
      listener.listen();
      const client = opened.socket(new Socket({ registeredIo: true }));
      expect(client.enableLoopbackFastPath()).to.equal(fastPath);
      client.connect(listener.localAddress);
      const server = opened.socket(listener.accept());
      const buffer = opened.buffer(new RegisteredBuffer(256));
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      const a = new RequestQueue(client, { completionQueue: queue });
      const b = new RequestQueue(server, { completionQueue: queue });
      for (let i = 0; i < 100; i++) {
        b.receive(buffer, 128, 64, 'receive');
        buffer.bytes.writeUInt32LE(i, 0);
        a.send(buffer, 0, 64, 'send');
        const results = collect(queue, 2);
        expect(results.every((r) => r.status === 0 && r.bytes === 64)).to.equal(true);
        expect(buffer.bytes.readUInt32LE(128)).to.equal(i);
      }
    });

    it("RIONotify through Node's event loop and through a completion port", async function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      for (const notification of ['event-loop', 'port'] as const) {
        const queue = opened.queue(new CompletionQueue({ size: 8, notification }));
        opened.queues.splice(opened.queues.indexOf(queue), 1);
        opened.queues.unshift(queue);
        const receiver = new RequestQueue(notification === 'port' ? client : server, { completionQueue: queue });
        receiver.receive(buffer, 32, 32, notification);
        setTimeout(() => (notification === 'port' ? server : client).sendAll('notified'), 20);
        const n = await queue.waitAsync(5000);
        expect(n).to.equal(1);
        expect(queue.results[0]!.context).to.equal(notification);
      }
    });

    it('a closed socket ends its request queue: its pending receive reports an error, and the close order holds', function () {
      const { client, server } = opened.pair();
      const buffer = opened.buffer(new RegisteredBuffer(64));
      const queue = opened.queue(new CompletionQueue({ size: 8 }));
      new RequestQueue(server, { completionQueue: queue }).receive(buffer, 0, 64, 'pending');
      new RequestQueue(client, { completionQueue: queue });
      expectState(() => queue.close(), 'ERR_RIO_CLOSE_ORDER');
      server.close();
      const [result] = collect(queue, 1);
      expect(result!.status).to.not.equal(0);
    });
  });
});
