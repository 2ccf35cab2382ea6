// Overlapped UDP: recvFromAsync / sendToAsync (WSARecvFrom / WSASendTo) on the Promise
// API's engine, both families, on loopback and against a Linux-native peer; and
// CompletionPort.recvFrom / sendTo on a port of one's own. It lives in
// test/windows/async/, so npm test runs it on both engines (the event loop, then the
// worker pump).

import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortError, CompletionPort, Socket, SocketClosedError, SocketStateError, WinsockError } from '../../../src/index.ts';
import type { Completion } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import { families, SocketTracker } from '../../support/sockets.ts';
import type { FamilyCase } from '../../support/sockets.ts';
import { linuxNodeOrSkip, startLinuxNode, unixToWine } from '../../support/linux-peer.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** The size of datagram `i` (as test/fixtures/linux-udp-peer.mjs computes it): the largest, the smallest, then spread over [1, max]. */
function sizeOf(i: number, max: number): number {
  if (i === 0) return max;
  if (i === 1) return 0;
  if (i === 2) return 1;
  return (((i * 2654435761) >>> 0) % max) + 1;
}

/** The bytes of datagram `i` (as the fixture makes them). */
function payload(i: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let k = 0; k < size; k++) data[k] = (k * 31 + i * 7 + (k >>> 8)) & 0xff;
  return data;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${String(value)}`),
    (error: unknown) => error,
  );
}

describe('UDP Promise API (recvFromAsync / sendToAsync)', function () {
  this.timeout(60000);
  const tracker = new SocketTracker();
  const children: ChildProcess[] = [];
  afterEach(function () {
    tracker.closeAll();
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
  });

  function boundUdp(fam: FamilyCase, address = fam.loopback): Socket {
    const socket = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
    socket.bind({ address, port: 0 });
    return socket;
  }

  for (const fam of families) {
    describe(fam.family, function () {
      it('recvFromAsync resolves { bytes, address, port } as recvFrom() does; sendToAsync resolves the bytes sent', async function () {
        const a = boundUdp(fam);
        const b = boundUdp(fam);
        const buffer = Buffer.alloc(64);
        const receiving = b.recvFromAsync(buffer);
        expect(await a.sendToAsync('hello', b.localAddress)).to.equal(5);
        expect(await receiving).to.deep.equal({ bytes: 5, address: fam.loopback, port: a.localAddress.port });
        expect(buffer.toString('utf8', 0, 5)).to.equal('hello');
        // A datagram already waiting: the receive completes at once.
        await a.sendToAsync(Buffer.from([1, 2, 3]), b.localAddress);
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await b.recvFromAsync(buffer)).to.deep.equal({ bytes: 3, address: fam.loopback, port: a.localAddress.port });
        // An empty datagram is one too.
        await a.sendToAsync(new Uint8Array(0), b.localAddress);
        expect((await b.recvFromAsync(buffer)).bytes).to.equal(0);
      });

      it('300 datagrams echoed one at a time, sizes 0 to the whole buffer, each intact and from the right sender', async function () {
        const bufferSize = 8192;
        const a = boundUdp(fam);
        const b = boundUdp(fam);
        const echoing = (async () => {
          const buffer = Buffer.alloc(bufferSize);
          for (let i = 0; i < 300; i++) {
            const from = await b.recvFromAsync(buffer);
            expect(from.address).to.equal(fam.loopback);
            expect(from.port).to.equal(a.localAddress.port);
            await b.sendToAsync(buffer.subarray(0, from.bytes), from);
          }
        })();
        const buffer = Buffer.alloc(bufferSize);
        for (let i = 0; i < 300; i++) {
          const sent = payload(i, sizeOf(i, bufferSize));
          const replying = a.recvFromAsync(buffer);
          expect(await a.sendToAsync(sent, b.localAddress)).to.equal(sent.length);
          const reply = await replying;
          expect(reply.port).to.equal(b.localAddress.port);
          expect(reply.bytes, `datagram ${i}`).to.equal(sent.length);
          expect(buffer.subarray(0, reply.bytes).equals(sent), `datagram ${i}`).to.equal(true);
        }
        await echoing;
        expect(pumpState().pending).to.equal(0);
      });

      it('16 receives pending at once take one datagram each', async function () {
        const a = boundUdp(fam);
        const b = boundUdp(fam);
        const buffers = Array.from({ length: 16 }, () => Buffer.alloc(16));
        const receiving = buffers.map((buffer) => b.recvFromAsync(buffer));
        await Promise.all(Array.from({ length: 16 }, (_, i) => a.sendToAsync(`datagram ${i}`, b.localAddress)));
        const results = await Promise.all(receiving);
        const texts = results.map((result, i) => buffers[i]!.toString('utf8', 0, result.bytes)).sort();
        expect(texts).to.deep.equal(Array.from({ length: 16 }, (_, i) => `datagram ${i}`).sort());
      });

      it('a datagram larger than the buffer rejects with WSAEMSGSIZE: its first bytes delivered, bytesRead, datagramBytes and the sender said', async function () {
        const a = boundUdp(fam);
        const b = boundUdp(fam);
        const big = payload(7, 300);
        // Pending when it comes.
        const small = Buffer.alloc(100);
        const pending = b.recvFromAsync(small);
        await a.sendToAsync(big, b.localAddress);
        for (const error of [await rejection(pending)]) {
          expect(error).to.be.instanceOf(WinsockError);
          expect(error).to.include({ code: 'WSAEMSGSIZE', syscall: 'WSARecvFrom', bytesRead: 100, datagramBytes: 300, address: fam.loopback, port: a.localAddress.port });
          expect(small.equals(big.subarray(0, 100))).to.equal(true);
        }
        // Already waiting when asked for.
        await a.sendToAsync(big, b.localAddress);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const tiny = Buffer.alloc(10);
        expect(await rejection(b.recvFromAsync(tiny))).to.include({ code: 'WSAEMSGSIZE', bytesRead: 10, datagramBytes: 300 });
        expect(tiny.equals(big.subarray(0, 10))).to.equal(true);
        // The datagram after it is untouched.
        await a.sendToAsync('next', b.localAddress);
        expect(await b.recvFromAsync(small)).to.include({ bytes: 4 });
      });

      it('recvAsync on a connected UDP socket takes one datagram the same way: one too large rejects with WSAEMSGSIZE, its first bytes kept', async function () {
        const a = boundUdp(fam);
        const b = boundUdp(fam);
        a.connect(b.localAddress);
        b.connect(a.localAddress);
        const big = payload(3, 200);
        const small = Buffer.alloc(50);
        const pending = b.recvAsync(small);
        a.send(big);
        expect(await rejection(pending)).to.include({ code: 'WSAEMSGSIZE', bytesRead: 50, datagramBytes: 200 });
        expect(small.equals(big.subarray(0, 50))).to.equal(true);
        a.send(big);
        await new Promise((resolve) => setTimeout(resolve, 20));
        small.fill(0);
        expect(await rejection(b.recvAsync(small))).to.include({ code: 'WSAEMSGSIZE', bytesRead: 50, datagramBytes: 200 });
        expect(small.equals(big.subarray(0, 50))).to.equal(true);
        a.send('fits');
        expect(await b.recvAsync(small)).to.equal(4);
        expect(small.toString('utf8', 0, 4)).to.equal('fits');
      });

      it('an AbortSignal cancels a pending recvFromAsync; the socket keeps receiving', async function () {
        const a = boundUdp(fam);
        const b = boundUdp(fam);
        const controller = new AbortController();
        const buffer = Buffer.alloc(16, 0x11);
        const receiving = b.recvFromAsync(buffer, { signal: controller.signal });
        setTimeout(() => controller.abort(new Error('enough')), 20);
        const error = await rejection(receiving);
        expect(error).to.be.instanceOf(AbortError);
        expect(((error as AbortError).cause as Error).message).to.equal('enough');
        expect(buffer.every((byte) => byte === 0x11)).to.equal(true);
        expect(await rejection(b.recvFromAsync(buffer, { signal: AbortSignal.abort() }))).to.be.instanceOf(AbortError);
        await a.sendToAsync('after', b.localAddress);
        expect(await b.recvFromAsync(buffer)).to.deep.equal({ bytes: 5, address: fam.loopback, port: a.localAddress.port });
        expect(pumpState().pending).to.equal(0);
      });

      it('closing the socket rejects a pending recvFromAsync with WSA_OPERATION_ABORTED; later calls get SocketClosedError', async function () {
        const b = boundUdp(fam);
        const receiving = b.recvFromAsync(Buffer.alloc(8));
        b.close();
        expect(await rejection(receiving)).to.be.instanceOf(WinsockError).with.property('code', 'WSA_OPERATION_ABORTED');
        expect(await rejection(b.recvFromAsync(Buffer.alloc(8)))).to.be.instanceOf(SocketClosedError);
        expect(await rejection(b.sendToAsync('x', { address: fam.loopback, port: 9 }))).to.be.instanceOf(SocketClosedError);
      });

      it('sendToAsync binds an unbound socket, as sendTo() does, and a datagram too large for UDP fails with WSAEMSGSIZE', async function () {
        const receiver = boundUdp(fam);
        const sender = tracker.track(new Socket({ family: fam.family, type: 'udp' }));
        await sender.sendToAsync('x', receiver.localAddress);
        expect((await receiver.recvFromAsync(Buffer.alloc(4))).port).to.equal(sender.localAddress.port);
        // The reply reaches the sender's receive: it is bound now.
        const back = sender.recvFromAsync(Buffer.alloc(4));
        await receiver.sendToAsync('y', sender.localAddress);
        expect((await back).bytes).to.equal(1);
        expect(await rejection(sender.sendToAsync(Buffer.alloc(70000), receiver.localAddress))).to.be.instanceOf(WinsockError).with.property('code', 'WSAEMSGSIZE');
      });
    });
  }

  it('dual-stack: an IPv6 socket on :: receives IPv4 datagrams from ::ffff:127.0.0.1 and answers them', async function () {
    const v6 = boundUdp(families[1]!, '::');
    const v4 = boundUdp(families[0]!);
    const receiving = v6.recvFromAsync(Buffer.alloc(16));
    await v4.sendToAsync('over v4', { address: '127.0.0.1', port: v6.localAddress.port });
    const from = await receiving;
    expect(from).to.deep.equal({ bytes: 7, address: '::ffff:127.0.0.1', port: v4.localAddress.port });
    const back = v4.recvFromAsync(Buffer.alloc(16));
    await v6.sendToAsync('over v6', from);
    expect(await back).to.deep.equal({ bytes: 7, address: '127.0.0.1', port: v6.localAddress.port });
  });

  it('refuses what cannot work before any native call', async function () {
    const tcp = tracker.track(new Socket());
    expect(await rejection(tcp.recvFromAsync(Buffer.alloc(4)))).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
    expect(await rejection(tcp.sendToAsync('x', { address: '127.0.0.1', port: 9 }))).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_TYPE');
    const unbound = tracker.track(new Socket({ type: 'udp' }));
    expect(await rejection(unbound.recvFromAsync(Buffer.alloc(4)))).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_NOT_BOUND');
    const udp = boundUdp(families[0]!);
    expect(await rejection(udp.recvFromAsync(Buffer.alloc(0)))).to.be.instanceOf(RangeError);
    expect(await rejection(udp.recvFromAsync('x' as unknown as Buffer))).to.be.instanceOf(TypeError);
    expect(await rejection(udp.recvFromAsync(Buffer.alloc(4), { signal: 1 as unknown as AbortSignal }))).to.be.instanceOf(TypeError);
    expect(await rejection(udp.sendToAsync(42 as unknown as Buffer, { address: '127.0.0.1', port: 9 }))).to.be.instanceOf(TypeError);
    expect(await rejection(udp.sendToAsync('x', { address: '::1', port: 9 }))).to.be.instanceOf(TypeError);
    expect(await rejection(udp.sendToAsync('x', { address: '127.0.0.1', port: 70000 }))).to.be.instanceOf(RangeError);
    expect(await rejection(udp.sendToAsync('x', { address: '127.0.0.1', port: 9 }, { signal: AbortSignal.abort() }))).to.be.instanceOf(AbortError);
    expect(pumpState().pending).to.equal(0);
  });

  it('CompletionPort.recvFrom / sendTo on a port of your own: the completion names the sender', async function () {
    const port = new CompletionPort();
    try {
      const a = boundUdp(families[0]!);
      const b = boundUdp(families[0]!);
      const buffer = Buffer.alloc(32);
      const receive = port.recvFrom(b, buffer);
      const send = port.sendTo(a, Buffer.from('via a port'), b.localAddress);
      const seen: Completion[] = [];
      for (let i = 0; i < 100 && seen.length < 2; i++) seen.push(...port.wait(100));
      expect(seen.map((c) => c.operation).sort((x, y) => x.kind.localeCompare(y.kind))).to.deep.equal([receive, send]);
      expect(send.bytes).to.equal(10);
      expect(receive.kind).to.equal('recvfrom');
      expect(receive.bytes).to.equal(10);
      expect(receive.remoteAddress).to.deep.equal(a.localAddress);
      expect(buffer.toString('utf8', 0, 10)).to.equal('via a port');
      expect(() => port.recvFrom(tracker.track(new Socket()), buffer)).to.throw(SocketStateError);
      expect(() => port.sendTo(a, Buffer.from('x'), { address: '::1', port: 1 })).to.throw(TypeError);
    } finally {
      port.close();
    }
  });

  it('against a Linux-native peer (outside Wine): 300 datagrams each way, sizes 0 to the buffer, truncation, abort', async function () {
    this.timeout(120000);
    const linuxNode = linuxNodeOrSkip(this);
    const count = 300;
    const bufferSize = 8192;
    const socket = boundUdp(families[0]!);
    const resultUnix = `/tmp/winsock-ffi-linux-udp-${process.pid}-${Date.now()}.json`;
    const peer = startLinuxNode(linuxNode, path.join(fixtures, 'linux-udp-peer.mjs'), [String(socket.localAddress.port), String(count), String(bufferSize), resultUnix]);
    children.push(peer);
    const resultFile = unixToWine(resultUnix);
    try {
      const buffer = Buffer.alloc(bufferSize);
      let peerPort = 0;
      for (let i = 0; i < count; i++) {
        const from = await socket.recvFromAsync(buffer);
        expect(from.address).to.equal('127.0.0.1');
        if (i === 0) peerPort = from.port;
        expect(from.port).to.equal(peerPort);
        const expected = payload(i, sizeOf(i, bufferSize));
        expect(from.bytes, `datagram ${i}`).to.equal(expected.length);
        expect(buffer.subarray(0, from.bytes).equals(expected), `datagram ${i}`).to.equal(true);
        expect(await socket.sendToAsync(buffer.subarray(0, from.bytes), from)).to.equal(from.bytes);
      }
      // One datagram larger than the buffer: reported, not lost.
      const error = (await rejection(socket.recvFromAsync(buffer))) as WinsockError & { bytesRead: number; datagramBytes: number };
      expect(error).to.be.instanceOf(WinsockError);
      expect(error).to.include({ code: 'WSAEMSGSIZE', bytesRead: bufferSize, datagramBytes: bufferSize + 100, address: '127.0.0.1', port: peerPort });
      expect(buffer.equals(payload(count, bufferSize + 100).subarray(0, bufferSize))).to.equal(true);
      await socket.sendToAsync(JSON.stringify({ bytesRead: error.bytesRead, datagramBytes: error.datagramBytes }), { address: '127.0.0.1', port: peerPort });
      // An aborted receive, then the socket still works: 'done' goes out, 'bye' comes back.
      const controller = new AbortController();
      const aborted = socket.recvFromAsync(buffer, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      expect(await rejection(aborted)).to.be.instanceOf(AbortError);
      const bye = socket.recvFromAsync(buffer);
      await socket.sendToAsync('done', { address: '127.0.0.1', port: peerPort });
      const last = await bye;
      expect(buffer.toString('utf8', 0, last.bytes)).to.equal('bye');

      const deadline = Date.now() + 30000;
      while (!fs.existsSync(resultFile)) {
        if (Date.now() > deadline) expect.fail('the Linux peer wrote no result');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { platform: string; port: number; echoed: number; mismatches: unknown[]; truncation: unknown; error?: string };
      expect(result.error).to.equal(undefined);
      expect(result.platform).to.equal('linux'); // really outside Wine
      expect(result.port).to.equal(peerPort);
      expect(result.mismatches).to.deep.equal([]);
      expect(result.echoed).to.equal(count);
      expect(result.truncation).to.deep.equal({ bytesRead: bufferSize, datagramBytes: bufferSize + 100 });
    } finally {
      fs.rmSync(resultFile, { force: true });
    }
  });
});
