// Interop with Windows node:net in the same Wine (or Windows): a Socket client against a
// net server and a net client against a Socket server. Socket calls are synchronous, so
// the net side runs in a child process (stdio 'ignore': Windows node under Wine cannot
// write to pipes) and reports through files; one in-process test instead drives a
// non-blocking Socket from the event loop.

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Socket, poll } from '../../../src/index.ts';
import { families, SocketTracker } from '../../support/sockets.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures');

function startFixture(name: string, args: string[]): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(fixtures, name), ...args], { stdio: 'ignore', windowsHide: true });
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  return { child, exit };
}

async function waitForFile(file: string, exit: Promise<number | null>): Promise<string> {
  let exited: number | null | undefined;
  void exit.then((code) => (exited = code));
  for (let waited = 0; waited < 30_000; waited += 20) {
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    if (exited !== undefined) throw new Error(`the fixture exited with code ${exited} before writing ${file}`);
    await sleep(20);
  }
  throw new Error(`the fixture did not write ${file} within 30 s`);
}

describe('interop with node:net', function () {
  this.timeout(60_000);
  const tracker = new SocketTracker();
  let scratch: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock-ffi-interop-'));
  });
  afterEach(() => {
    tracker.closeAll();
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  for (const fam of families) {
    it(`a Socket client talks to a node:net server (${fam.family})`, async function () {
      const portFile = path.join(scratch, 'port');
      const server = startFixture('net-echo-server.ts', [fam.loopback, portFile]);
      children.push(server.child);
      const port = Number(await waitForFile(portFile, server.exit));
      const client = tracker.track(Socket.connect({ address: fam.loopback, port }, { noDelay: true }));
      client.setReceiveTimeout(20_000); // a broken fixture fails the test instead of hanging it
      const reply = Buffer.alloc(5);
      for (const word of ['hello', 'again']) {
        client.sendAll(word);
        client.recvExact(reply);
        expect(reply.toString()).to.equal(word.toUpperCase());
      }
      client.shutdown('send');
      expect(client.recv(reply)).to.equal(0); // the server ended its side in answer
      client.close();
      expect(await server.exit).to.equal(0);
    });

    it(`a node:net client talks to a Socket server (${fam.family})`, async function () {
      const listener = tracker.track(Socket.listen({ address: fam.loopback, port: 0 }));
      const resultFile = path.join(scratch, 'result');
      const client = startFixture('net-client.ts', [fam.loopback, String(listener.localAddress.port), 'ping from net', resultFile]);
      children.push(client.child);
      const [pending] = poll([{ socket: listener, events: { readable: true } }], 30_000);
      expect(pending!.readable, 'the net client connected').to.equal(true);
      const server = tracker.track(listener.accept());
      server.setReceiveTimeout(20_000);
      expect(server.remoteAddress.address).to.equal(fam.loopback);
      // The client sends its message and half-closes: read to the end of the stream.
      const received: Buffer[] = [];
      const buffer = Buffer.alloc(64);
      for (let n = server.recv(buffer); n > 0; n = server.recv(buffer)) received.push(Buffer.from(buffer.subarray(0, n)));
      expect(Buffer.concat(received).toString()).to.equal('ping from net');
      server.sendAll('pong from Socket');
      server.shutdown('send');
      expect(await client.exit).to.equal(0);
      expect(fs.readFileSync(resultFile, 'utf8')).to.equal('pong from Socket');
    });
  }

  it('a non-blocking Socket and a net server share one event loop', async function () {
    const server = net.createServer((connection) => {
      connection.on('data', (chunk: Buffer) => connection.write(chunk));
      connection.on('end', () => connection.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const client = tracker.track(new Socket());
      client.setBlocking(false);
      try {
        client.connect({ address: '127.0.0.1', port });
      } catch (error) {
        expect((error as { code?: string }).code).to.equal('WSAEWOULDBLOCK');
      }
      // Yield to the event loop until the connection is writable (net accepts meanwhile).
      while (!poll([{ socket: client, events: { writable: true } }], 0)[0]!.writable) await nextTurn();
      const message = Buffer.from('round trip through libuv');
      let sent = 0;
      while (sent < message.length) {
        const n = client.trySend(message.subarray(sent));
        if (n > 0) sent += n;
        else await nextTurn();
      }
      const echo = Buffer.alloc(message.length);
      let got = 0;
      while (got < echo.length) {
        const n = client.tryRecv(echo.subarray(got));
        if (n > 0) got += n;
        else if (n === 0) expect.fail('the server ended the stream early');
        else await nextTurn();
      }
      expect(echo.toString()).to.equal(message.toString());
      client.shutdown('send');
      let end = client.tryRecv(echo);
      while (end === -1) {
        await nextTurn();
        end = client.tryRecv(echo);
      }
      expect(end).to.equal(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
