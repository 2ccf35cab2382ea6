// Handing a socket over: detach() gives the handle up for Socket.fromHandle() in a worker
// thread; duplicate(pid) / Socket.fromDuplicate() give a socket to another process. A
// socket that already did async I/O is on this thread's completion port: detach() and
// duplicate() take it off first (NtSetInformationFile FileReplaceCompletionInformation,
// Windows 8.1+), which Wine 8 cannot do (STATUS_NOT_IMPLEMENTED); there the handle keeps
// its synchronous calls elsewhere and its Promise API only here. It lives in
// test/windows/handoff/, so npm test runs it on both engines. Ownership on the way in: a handle a Socket here owns is never closed by
// a take-over that fails (one info taken twice, an info that names what it should not), and
// a new handle that cannot be claimed is closed, not leaked.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Socket, SocketClosedError, SocketStateError, WinsockError } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import * as sys from '../../../src/sys/index.ts';
import { exited } from '../../support/processes.ts';
import { underWine } from '../../support/env.ts';
import { realWindowsOnly, skipUnder } from '../../support/skip.ts';
import { families, isOpenSocket, outcomeOf, SocketTracker, staleClaims, tcpPair, thrownBy } from '../../support/sockets.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const NO_MOVE = 'cannot take a handle off its completion port (FileReplaceCompletionInformation: STATUS_NOT_IMPLEMENTED)';
/** node.exe under Wine takes seconds to start. */
const START_MS = 60000;

interface WorkerReport {
  engine?: string;
  received?: string;
  asyncError?: string;
  error?: string;
}

/**
 * A real worker thread that adopts `handle`, sends 'from the worker' and receives one
 * message with the Promise API (or, when that is refused, reports the code and sends
 * synchronously), then closes the socket.
 */
async function inWorker(handle: bigint): Promise<WorkerReport> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../../../src/index.ts', import.meta.url).href)}).then(async ({ asyncEngine, Socket }) => {
      const socket = Socket.fromHandle(workerData.handle);
      const report = { engine: asyncEngine().name };
      try {
        await socket.sendAsync('from the worker');
        const buffer = Buffer.alloc(64);
        const n = await socket.recvAsync(buffer);
        report.received = buffer.toString('utf8', 0, n);
      } catch (error) {
        report.asyncError = error.code ?? String(error);
        socket.sendAll('from the worker');
      }
      socket.close();
      parentPort.postMessage(report);
    }).catch((error) => parentPort.postMessage({ error: String(error) }));`;
  const worker = new Worker(code, { eval: true, workerData: { handle } });
  try {
    return await new Promise<WorkerReport>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

/** What test/fixtures/duplicate-child.ts writes. */
interface ChildReport {
  engine?: string;
  sent?: string;
  asyncError?: string;
  /** 'twice': what the second Socket.fromDuplicate() of the same info gave ('distinct' for a second handle, else the error's code). */
  second?: string;
  error?: string;
}

/** Reads exactly `length` bytes without blocking the event loop (the worker or child needs it). */
async function readText(socket: Socket, length: number): Promise<string> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = await socket.recvAsync(buffer.subarray(filled));
    if (n === 0) break;
    filled += n;
  }
  return buffer.toString('utf8', 0, filled);
}

describe('handing a socket to a worker thread or another process', function () {
  this.timeout(90000);
  const tracker = new SocketTracker();
  const children: ChildProcess[] = [];
  const files: string[] = [];
  afterEach(function () {
    tracker.closeAll();
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
    for (const file of files.splice(0)) fs.rmSync(file, { force: true });
  });

  /** A connected pair; `warm` makes `server` do async I/O first (so it is on this thread's completion port). */
  async function pair(warm: boolean): Promise<{ client: Socket; server: Socket }> {
    const { client, server } = tcpPair(tracker, families[0]!);
    if (warm) {
      await server.sendAsync('warm');
      expect(await readText(client, 4)).to.equal('warm');
    }
    return { client, server };
  }

  describe('detach()', function () {
    it('returns the handle; the Socket then refuses every call (ERR_SOCKET_DETACHED) and close() leaves the handle open', async function () {
      const { client, server } = await pair(false);
      const number = server.handle;
      const handle = server.detach();
      expect(handle).to.equal(number);
      expect(server.closed).to.equal(true);
      expect(String(server)).to.include('detached');
      for (const call of [() => server.send('x'), () => server.handle, () => server.localAddress, () => server.detach(), () => server.duplicate(process.pid)]) {
        expect(call).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_DETACHED');
      }
      expect(await server.recvAsync(Buffer.alloc(4)).catch((e: unknown) => e)).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_DETACHED');
      server.close();
      // Still open: adopt it again and use it.
      const again = tracker.track(Socket.fromHandle(handle));
      client.sendAll('still open');
      expect(await readText(again, 10)).to.equal('still open');
    });

    it('is refused while operations are pending or sends queued (ERR_SOCKET_BUSY), once a stream owns the socket, and for Registered I/O', async function () {
      const { client, server } = await pair(false);
      const receiving = server.recvAsync(Buffer.alloc(8));
      expect(() => server.detach()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_BUSY');
      expect(() => server.duplicate(process.pid)).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_BUSY');
      client.sendAll('go');
      expect(await receiving).to.equal(2);
      // A send stuck behind a peer that does not read, and one queued behind it.
      const stuck = client.sendAsync(Buffer.alloc(64 * 1024 * 1024)).catch((e: unknown) => e);
      const queued = client.sendAsync('queued').catch((e: unknown) => e);
      expect(() => client.detach()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_BUSY');
      client.close();
      expect(await stuck).to.be.instanceOf(Error);
      expect(await queued).to.be.instanceOf(Error);
      const streamed = (await pair(false)).server;
      const stream = streamed.toStream();
      expect(() => streamed.detach()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_STREAMED');
      stream.destroy();
      // A Registered I/O socket stays with its queues (RIO's close order is kept in this thread).
      const rio = tracker.track(new Socket({ registeredIo: true }));
      expect(() => rio.detach()).to.throw(SocketStateError).with.property('code', 'ERR_SOCKET_REGISTERED_IO');
      expect(rio.closed).to.equal(false);
      for (let i = 0; i < 100 && pumpState().pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    });

    it('a socket that did async I/O here keeps working when this thread adopts it again', async function () {
      const { client, server } = await pair(true);
      const again = tracker.track(Socket.fromHandle(server.detach()));
      client.sendAll('back again');
      expect(await readText(again, 10)).to.equal('back again');
      await again.sendAsync('and out');
      expect(await readText(client, 7)).to.equal('and out');
    });

    it('a real worker thread takes over a socket that did no async I/O here and uses the Promise API', async function () {
      const { client, server } = await pair(false);
      const working = inWorker(server.detach());
      expect(await readText(client, 15)).to.equal('from the worker');
      client.sendAll('to the worker');
      expect(await working).to.deep.equal({ engine: 'worker-pump', received: 'to the worker' });
    });

    it('a real worker thread takes over a socket that already did async I/O here and uses the Promise API', async function () {
      realWindowsOnly(this, NO_MOVE);
      const { client, server } = await pair(true);
      const working = inWorker(server.detach());
      expect(await readText(client, 15)).to.equal('from the worker');
      client.sendAll('to the worker');
      expect(await working).to.deep.equal({ engine: 'worker-pump', received: 'to the worker' });
    });

    it('where the system cannot move it, the worker gets ERR_SOCKET_ASSOCIATED from the Promise API and its synchronous calls work', async function () {
      skipUnder(this, !underWine, 'the path for systems without FileReplaceCompletionInformation (Wine 8 and 10); Windows 8.1+ moves the handle');
      const { client, server } = await pair(true);
      const report = await inWorker(server.detach());
      expect(report).to.deep.equal({ engine: 'worker-pump', asyncError: 'ERR_SOCKET_ASSOCIATED' });
      expect(await readText(client, 15)).to.equal('from the worker');
    });
  });

  describe("acceptAsync's socket, claimed from birth", function () {
    it('is closed, not leaked, when its new number is still claimed (an old handle closed behind its Socket\'s back)', async function () {
      const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
      // One accept first, so that the engine's port exists and the listener is on it.
      const [first, peer] = await Promise.all([listener.acceptAsync(), Socket.connectAsync(listener.localAddress)]);
      tracker.track(first);
      tracker.track(peer);
      const stale = staleClaims(8);
      let outcome: unknown;
      try {
        // AcceptEx's socket is made (and claimed) before acceptAsync returns.
        const accepting = listener.acceptAsync();
        outcome = await Promise.race([accepting.catch((error: unknown) => error), new Promise((resolve) => setTimeout(resolve, 200, 'pending'))]);
        if (outcome === 'pending') {
          // It got a number no Socket claimed: nothing to check. Let it end.
          tracker.track(await Socket.connectAsync(listener.localAddress));
          tracker.track(await accepting);
        } else {
          expect(outcome).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_OWNED');
          expect(stale.numbers.filter(isOpenSocket)).to.deep.equal([]);
        }
      } finally {
        stale.release();
      }
      skipUnder(this, outcome === 'pending', 'the system did not hand a freed handle number out again at once');
      // The listener still accepts.
      const [next, client] = await Promise.all([listener.acceptAsync(), Socket.connectAsync(listener.localAddress)]);
      tracker.track(next);
      tracker.track(client);
      client.sendAll('accepted');
      expect(await readText(next, 8)).to.equal('accepted');
    });
  });

  describe('duplicate() / Socket.fromDuplicate()', function () {
    function tempFile(name: string): string {
      const file = path.join(os.tmpdir(), `winsock-ffi-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
      files.push(file, `${file}.tmp`);
      return file;
    }

    /** Starts the child, duplicates `socket` for it, waits for its report ('twice': the child takes the info over a second time too). */
    async function toChild(socket: Socket, mode?: 'twice'): Promise<ChildReport> {
      const infoFile = tempFile('info');
      const resultFile = tempFile('result.json');
      const child = spawn(process.execPath, [path.join(fixtures, 'duplicate-child.ts'), infoFile, resultFile, ...(mode === undefined ? [] : [mode])], { stdio: 'ignore' });
      children.push(child);
      const info = socket.duplicate(child.pid!);
      expect(info).to.be.instanceOf(Buffer).with.property('length', 628);
      fs.writeFileSync(`${infoFile}.tmp`, info);
      fs.renameSync(`${infoFile}.tmp`, infoFile);
      expect(await exited(child, START_MS)).to.equal(0);
      return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ChildReport;
    }

    it('a real child process takes over a socket and sends on it with the Promise API', async function () {
      const { client, server } = await pair(false);
      const report = await toChild(server);
      server.close(); // ours; the child's handle was its own
      expect(report.error).to.equal(undefined);
      expect(report.asyncError).to.equal(undefined);
      expect(report.sent).to.match(/^from child \d+ on \d+$/);
      expect(await readText(client, report.sent!.length)).to.equal(report.sent);
      // The child closed its handle and we closed ours: the connection ends.
      expect(await client.recvAsync(Buffer.alloc(4))).to.equal(0);
    });

    it('a socket that already did async I/O here goes to a child process, which uses the Promise API', async function () {
      realWindowsOnly(this, NO_MOVE);
      const { client, server } = await pair(true);
      const report = await toChild(server);
      server.close();
      expect(report.error).to.equal(undefined);
      expect(report.asyncError).to.equal(undefined);
      expect(await readText(client, report.sent!.length)).to.equal(report.sent);
    });

    it('within this process too: the duplicate is a second handle to the same connection', async function () {
      const { client, server } = await pair(false);
      const copy = tracker.track(Socket.fromDuplicate(server.duplicate(process.pid)));
      expect(copy.handle).to.not.equal(server.handle);
      expect(copy.remoteAddress).to.deep.equal(server.remoteAddress);
      server.close();
      copy.sendAll('via the copy');
      expect(await readText(client, 12)).to.equal('via the copy');
    });

    it('the same info taken over twice: the second is refused, and the first Socket keeps its handle', async function () {
      const { client, server } = await pair(false);
      const info = server.duplicate(process.pid);
      const first = tracker.track(Socket.fromDuplicate(info));
      server.close();
      const again = outcomeOf(() => Socket.fromDuplicate(info));
      if (underWine) {
        // Wine's WSASocketW returns the handle number the info names: the first Socket's.
        expect(again).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_OWNED');
      } else if (again instanceof Socket) {
        tracker.track(again);
        expect(again.handle).to.not.equal(first.handle);
      } else {
        // Windows takes an info once: its WSASocketW refuses the second.
        expect(again).to.be.instanceOf(Error);
      }
      first.sendAll('still open');
      expect(await readText(client, 10)).to.equal('still open');
      await first.sendAsync('and async');
      expect(await readText(client, 9)).to.equal('and async');
    });

    it('a child that takes the same info over twice keeps the first socket', async function () {
      const { client, server } = await pair(false);
      const report = await toChild(server, 'twice');
      server.close();
      expect(report.error).to.equal(undefined);
      expect(report.asyncError).to.equal(undefined);
      if (underWine) expect(report.second).to.equal('ERR_SOCKET_OWNED');
      else expect(report.second).to.be.a('string');
      expect(await readText(client, report.sent!.length)).to.equal(report.sent);
    });

    // Wine's WSADuplicateSocketW makes the handle in the target process itself and writes its
    // number into the info (dwServiceFlags3, marked by 0xff00ff00 in dwServiceFlags4); its
    // WSASocketW then returns that number unchecked. An info that was forged, or made for
    // another process, names whatever that number is here.
    const FORGERY = "Windows' WSASocketW makes a new descriptor from an info (Microsoft's WSADuplicateSocket documentation): only Wine's returns a handle number the info names";

    /** A genuine info for this process, its handle number replaced by `handle` (Wine's layout). */
    function forgedFor(handle: number): { forged: Buffer; genuine: Buffer } {
      const genuine = tracker.track(new Socket()).duplicate(process.pid);
      const forged = Buffer.from(genuine);
      forged.writeUInt32LE(handle, 8);
      return { forged, genuine };
    }

    it('an info that names a handle that is no socket is refused, and that handle stays open', function () {
      skipUnder(this, !underWine, FORGERY);
      const port = sys.overlapped.createPort();
      try {
        const { forged, genuine } = forgedFor(port);
        const error = thrownBy(() => Socket.fromDuplicate(forged));
        expect(error).to.be.instanceOf(WinsockError).with.property('code', 'WSAENOTSOCK');
        // Still open: a packet can be posted to it.
        sys.overlapped.postWake(port);
        // The genuine info's handle, taken over so that it does not leak.
        tracker.track(Socket.fromDuplicate(genuine));
      } finally {
        sys.overlapped.closePort(port);
      }
    });

    it('an info that names a socket of another kind than it describes is refused, and that socket stays open', function () {
      skipUnder(this, !underWine, FORGERY);
      // No Socket owns this UDP socket; the info describes a TCP one.
      const raw = sys.createSocket('ipv4', 'udp');
      let outcome: unknown;
      try {
        const { forged, genuine } = forgedFor(raw);
        outcome = outcomeOf(() => Socket.fromDuplicate(forged));
        expect(outcome).to.be.instanceOf(SocketStateError).with.property('code', 'ERR_SOCKET_NOT_DUPLICATE');
        expect(sys.describeSocket(raw)).to.deep.equal({ family: 'ipv4', type: 'udp' });
        tracker.track(Socket.fromDuplicate(genuine));
      } finally {
        // Adopted after all (the failure this test looks for): its Socket owns it and closes it.
        if (outcome instanceof Socket) outcome.close();
        else sys.closeSocket(raw);
      }
    });

    it('check their arguments before any native call', function () {
      const socket = tracker.track(new Socket());
      for (const pid of [0, -1, 2 ** 32]) expect(() => socket.duplicate(pid)).to.throw(RangeError);
      for (const pid of [1.5, '12', null, 12n]) expect(() => socket.duplicate(pid as number)).to.throw(TypeError);
      expect(() => Socket.fromDuplicate(Buffer.alloc(100))).to.throw(RangeError);
      expect(() => Socket.fromDuplicate('info' as unknown as Buffer)).to.throw(TypeError);
      // The right size, but no duplicated socket in it.
      expect(() => Socket.fromDuplicate(Buffer.alloc(628))).to.throw(WinsockError);
      const closed = new Socket();
      closed.close();
      expect(() => closed.duplicate(process.pid)).to.throw(SocketClosedError);
      expect(() => closed.detach()).to.throw(SocketClosedError);
    });
  });
});
