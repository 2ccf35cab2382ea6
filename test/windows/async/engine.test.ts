// The Promise API's engine: which one runs, that it never holds libuv's threadpool, and
// that a process with operations pending still ends at once however it ends. It lives in
// test/windows/async/, so npm test runs it twice: on the engine Node's main thread picks
// (the event loop), and with WINSOCK_FFI_ENGINE=worker-pump, which the fixtures inherit.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { asyncEngine, Socket } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import { exitCodeOrSkip } from '../../support/processes.ts';
import { SocketTracker } from '../../support/sockets.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const forcedPump = process.env.WINSOCK_FFI_ENGINE === 'worker-pump';
/** node.exe under Wine takes seconds to start: generous, since a hang is what is tested. */
const START_MS = 60000;
/** How soon after its trigger a child must be gone. */
const ENDS_WITHIN_MS = 5000;

interface Event {
  event: string;
  at: number;
  thread: string;
  engine?: string;
  ms?: number;
}

function readEvents(file: string): Event[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Event);
}

describe(`Promise API engine (${forcedPump ? 'worker pump, forced' : 'as chosen'})`, function () {
  this.timeout(90000);
  const tracker = new SocketTracker();
  const children: ChildProcess[] = [];
  const files: string[] = [];
  afterEach(function () {
    tracker.closeAll();
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
    for (const file of files.splice(0)) fs.rmSync(file, { force: true });
  });

  function tempFile(name: string): string {
    const file = path.join(os.tmpdir(), `winsock-ffi-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`);
    files.push(file);
    return file;
  }

  /** Each fixture's stderr goes to a file (never a pipe under Wine), read by exitCode(). */
  const stderrFiles = new Map<ChildProcess, string>();

  function startFixture(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const stderr = tempFile(`${script}.stderr`);
    const fd = fs.openSync(stderr, 'w');
    try {
      const child = spawn(process.execPath, [path.join(fixtures, script), ...args], { stdio: ['ignore', 'ignore', fd], env });
      children.push(child);
      stderrFiles.set(child, stderr);
      return child;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The fixture's exit code; the test is skipped, with the reason, if Node's own exit race ended it (see exitCodeOrSkip). */
  function exitCode(ctx: Mocha.Context, child: ChildProcess): Promise<number | null> {
    return exitCodeOrSkip(ctx, child, START_MS, stderrFiles.get(child)!);
  }

  it('names the engine it runs and why: Node\'s event loop on the main thread, unless told otherwise', function () {
    const engine = asyncEngine();
    expect(engine.name).to.equal(forcedPump ? 'worker-pump' : 'event-loop');
    expect(engine.reason).to.be.a('string').and.not.equal('');
    if (forcedPump) expect(engine.reason).to.include('WINSOCK_FFI_ENGINE');
  });

  it('a worker thread gets the worker pump, and its Promise API works', async function () {
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(new URL('../../../src/index.ts', import.meta.url).href)}).then(async ({ asyncEngine, Socket }) => {
        const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
        const [server, client] = await Promise.all([listener.acceptAsync(), Socket.connectAsync(listener.localAddress)]);
        await client.sendAsync('from the worker');
        const buffer = Buffer.alloc(64);
        const n = await server.recvAsync(buffer);
        for (const s of [client, server, listener]) s.close();
        parentPort.postMessage({ engine: asyncEngine().name, text: buffer.toString('utf8', 0, n) });
      }, (error) => parentPort.postMessage({ error: String(error) }));`;
    const worker = new Worker(code, { eval: true });
    const message = await new Promise<{ engine?: string; text?: string; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(message).to.deep.equal({ engine: 'worker-pump', text: 'from the worker' });
  });

  it('unref() lets a pending receive stop holding the process; ref() takes it back', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const client = tracker.track(Socket.connect(listener.localAddress));
    const server = tracker.track(listener.accept());
    const buffer = Buffer.alloc(8);
    const pending = server.recvAsync(buffer);
    await new Promise((resolve) => setImmediate(resolve));
    expect(pumpState()).to.deep.equal({ pending: 1, waiting: true });
    expect(server.unref()).to.equal(server);
    // The worker pump notices on its next slice (at most 50 ms).
    for (let i = 0; i < 50 && pumpState().waiting; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pumpState()).to.deep.equal({ pending: 1, waiting: false });
    server.ref();
    for (let i = 0; i < 50 && !pumpState().waiting; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pumpState()).to.deep.equal({ pending: 1, waiting: true });
    client.sendAll('unref');
    expect(buffer.toString('utf8', 0, await pending)).to.equal('unref');
    // An unreferenced receive still completes: the data is not lost.
    server.unref();
    const again = server.recvAsync(buffer);
    client.sendAll('later');
    expect(buffer.toString('utf8', 0, await again)).to.equal('later');
  });

  it('with UV_THREADPOOL_SIZE=1 and 50 idle connections awaiting recvAsync, fs and dns still complete at once', async function () {
    const out = tempFile('threadpool.json');
    const child = startFixture('threadpool.ts', [out], { ...process.env, UV_THREADPOOL_SIZE: '1' });
    expect(await exitCode(this, child)).to.equal(0);
    const result = JSON.parse(fs.readFileSync(out, 'utf8')) as { engine: string; fsMs: number; dnsMs: number };
    expect(result.engine).to.equal(forcedPump ? 'worker-pump' : 'event-loop');
    // A held threadpool thread shows as seconds, or forever; a 50 ms slice of the pump at most as that.
    expect(result.fsMs, 'fs.readFile ms').to.be.below(1000);
    expect(result.dnsMs, 'dns.lookup ms').to.be.below(2000);
  });

  for (const [scenario, code] of [
    ['exit', 7],
    ['throw', 1],
    ['rejection', 1],
    ['unref', 0],
    ['wait-async-exit', 7],
  ] as const) {
    it(`with a receive pending, ${scenario === 'unref' ? 'unref() lets the process exit by itself' : scenario === 'wait-async-exit' ? 'process.exit() ends at once even with a user CompletionPort.waitAsync() pending' : `${scenario === 'exit' ? 'process.exit(7)' : scenario === 'throw' ? 'an uncaught exception' : 'an unhandled rejection'} ends the process at once`}`, async function () {
      const out = tempFile(`exit-${scenario}.jsonl`);
      const child = startFixture('engine-exit.ts', [scenario, out]);
      expect(await exitCode(this, child)).to.equal(code);
      const gone = Date.now();
      const events = readEvents(out);
      expect(events.find((e) => e.event === 'pending')?.engine).to.equal(forcedPump ? 'worker-pump' : 'event-loop');
      const trigger = events.find((e) => e.event === 'trigger');
      expect(trigger, 'the child reached its trigger').to.not.equal(undefined);
      expect(gone - trigger!.at, 'ms from trigger to exit').to.be.below(ENDS_WITHIN_MS);
    });
  }

  it('I/O whose every step awaits the last completes and exits in a process with no timer to wake the loop (Node 26.4+ makes no microtask checkpoint of its own)', async function () {
    const out = tempFile('chained-io.json');
    // Before the fix this child hung on Node 26 (stalled with reactions queued), and the test failed here.
    const child = startFixture('chained-io.ts', [out]);
    expect(await exitCode(this, child), 'exit code').to.equal(0);
    const result = JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(result).to.deep.equal({
      engine: forcedPump ? 'worker-pump' : 'event-loop',
      promiseEcho: true,
      concurrentEchoes: 300,
      streamPipe: true,
      nextTick: true,
    });
  });

  it('a pending receive keeps the process alive, as a pending net.Socket read does', async function () {
    const out = tempFile('exit-alive.jsonl');
    const child = startFixture('engine-exit.ts', ['alive', out]);
    // Wait for the trigger, then some more: the child must still be there.
    for (let i = 0; i < 600 && !(fs.existsSync(out) && readEvents(out).some((e) => e.event === 'trigger')); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(readEvents(out).some((e) => e.event === 'trigger')).to.equal(true);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(child.exitCode).to.equal(null);
  });

  it('worker.terminate() returns at once while the worker has a receive pending', async function () {
    const out = tempFile('exit-worker.jsonl');
    const child = startFixture('engine-exit.ts', ['worker-terminate', out]);
    expect(await exitCode(this, child)).to.equal(0);
    const events = readEvents(out);
    expect(events.find((e) => e.event === 'pending' && e.thread === 'worker')?.engine).to.equal('worker-pump');
    const terminated = events.find((e) => e.event === 'terminated');
    expect(terminated, 'terminate() returned').to.not.equal(undefined);
    expect(terminated!.ms!, 'ms terminate() took').to.be.below(ENDS_WITHIN_MS);
  });
});
