// What a call of the Promise API (and a send on a CompletionPort) reports when it does not
// simply succeed: byte counts kept on abort and cancel, aborted queued sends let go of
// their data, calls in a state where they could never complete are refused up front, and
// a buffer detached under a pending receive is reported, never silently dropped.

import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AbortError, BufferDetachedError, CompletionPort, Socket, SocketStateError, WinsockError } from '../../../src/index.ts';
import type { Completion } from '../../../src/index.ts';
import { SocketTracker } from '../../support/sockets.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** A connected pair over IPv4 loopback, made with the blocking calls. */
function pair(tracker: SocketTracker): { client: Socket; server: Socket } {
  const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
  const client = tracker.track(Socket.connect(listener.localAddress));
  const server = tracker.track(listener.accept());
  return { client, server };
}

/** Reads what `socket` has until it stays quiet for a while; the byte count. */
async function drain(socket: Socket): Promise<number> {
  const buffer = Buffer.alloc(1024 * 1024);
  let total = 0;
  socket.setBlocking(false);
  for (let quiet = 0; quiet < 20; ) {
    const n = socket.tryRecv(buffer);
    if (n > 0) {
      total += n;
      quiet = 0;
    } else {
      quiet++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  return total;
}

describe('Promise API and CompletionPort: aborted, failed and refused calls', function () {
  this.timeout(30000);
  const tracker = new SocketTracker();
  afterEach(() => tracker.closeAll());

  it('sendAsync aborted part-way rejects with bytesWritten: exactly what the peer then reads', async function () {
    const { client, server } = pair(tracker);
    const controller = new AbortController();
    // Far more than the kernel buffers hold: part of it goes, the rest waits for a reader that is not there.
    const sending = client.sendAsync(Buffer.alloc(16 * 1024 * 1024, 7), { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const error = (await sending.catch((e: unknown) => e)) as AbortError & { bytesWritten?: number };
    expect(error).to.be.instanceOf(AbortError);
    expect(error.bytesWritten).to.be.a('number');
    expect(await drain(server)).to.equal(error.bytesWritten);
  });

  it('CompletionPort: a send cancelled part-way reports the bytes it moved', async function () {
    const { client, server } = pair(tracker);
    const port = new CompletionPort();
    try {
      const operation = port.send(client, Buffer.alloc(16 * 1024 * 1024, 9));
      await new Promise((resolve) => setTimeout(resolve, 200));
      port.cancel(operation);
      let completions: Completion[] = [];
      for (let i = 0; i < 100 && completions.length === 0; i++) completions = await port.waitAsync(100);
      expect(completions).to.have.length(1);
      const [completion] = completions;
      expect(completion!.error?.code).to.equal('WSA_OPERATION_ABORTED');
      expect(completion!.bytes).to.equal(operation.bytes);
      expect(await drain(server)).to.equal(completion!.bytes);
    } finally {
      port.close();
    }
  });

  it('an aborted sendAsync queued behind a stuck one lets go of its data at once', async function () {
    const { client } = pair(tracker);
    const stuck = client.sendAsync(Buffer.alloc(32 * 1024 * 1024, 1)).catch(() => undefined);
    const refs: Array<WeakRef<Buffer>> = [];
    const rejections: Array<Promise<unknown>> = [];
    // In a plain function: a suspended async frame would itself keep the last Buffer in a register.
    const queueAborted = (i: number): void => {
      const controller = new AbortController();
      const data = Buffer.alloc(64 * 1024, i);
      refs.push(new WeakRef(data));
      rejections.push(client.sendAsync(data, { signal: controller.signal }).catch((e: unknown) => e));
      controller.abort();
    };
    for (let i = 0; i < 200; i++) queueAborted(i);
    for (const rejection of rejections) expect(await rejection).to.be.instanceOf(AbortError);
    // Let the promises' reactions go, then collect: none of the data may still be held.
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    expect(refs.map((ref, i) => (ref.deref() !== undefined ? i : -1)).filter((i) => i >= 0)).to.deep.equal([]);
    client.close();
    await stuck;
  });

  it('calls that could never complete are refused up front with SocketStateError', async function () {
    const bound = tracker.track(new Socket());
    bound.bind({ address: '127.0.0.1', port: 0 });
    const notListening = await bound.acceptAsync().catch((e: unknown) => e);
    expect(notListening).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_NOT_LISTENING');

    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    for (const call of [() => listener.recvAsync(Buffer.alloc(4)), () => listener.sendAsync('x')]) {
      expect(await call().catch((e: unknown) => e)).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_LISTENING');
    }
    expect(() => listener.toStream()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_LISTENING');

    const udp = tracker.track(new Socket({ type: 'udp' }));
    expect(await udp.recvAsync(Buffer.alloc(4)).catch((e: unknown) => e)).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_NOT_BOUND');
    // Once bound, it works.
    udp.bind({ address: '127.0.0.1', port: 0 });
    const sender = tracker.track(new Socket({ type: 'udp' }));
    const buffer = Buffer.alloc(16);
    const receiving = udp.recvAsync(buffer);
    sender.sendTo('datagram', udp.localAddress);
    expect(buffer.toString('utf8', 0, await receiving)).to.equal('datagram');
  });

  it('a buffer detached under a pending recvAsync gives BufferDetachedError saying how many bytes were lost', async function () {
    const { client, server } = pair(tracker);
    const memory = new ArrayBuffer(16);
    const receiving = server.recvAsync(new Uint8Array(memory));
    // Transferring the ArrayBuffer detaches it under the pending receive.
    structuredClone(memory, { transfer: [memory] });
    client.sendAll('hello');
    const error = (await receiving.catch((e: unknown) => e)) as BufferDetachedError & { bytesRead?: number };
    expect(error).to.be.instanceOf(BufferDetachedError);
    expect(error).to.be.instanceOf(TypeError);
    expect(error.bytesLost).to.equal(5);
    expect(error.bytesRead).to.equal(5);
    expect(error.message).to.include('5 bytes');
    // The socket goes on working.
    const buffer = Buffer.alloc(8);
    const next = server.recvAsync(buffer);
    client.sendAll('again');
    expect(buffer.toString('utf8', 0, await next)).to.equal('again');
  });

  it('a failed recvAsync says bytesRead (0 when nothing came)', async function () {
    const { server } = pair(tracker);
    const controller = new AbortController();
    const receiving = server.recvAsync(Buffer.alloc(8), { signal: controller.signal });
    controller.abort();
    const error = (await receiving.catch((e: unknown) => e)) as AbortError & { bytesRead?: number };
    expect(error).to.be.instanceOf(AbortError);
    expect(error.bytesRead).to.equal(0);
    expect(error).to.not.be.instanceOf(WinsockError);
  });
});
