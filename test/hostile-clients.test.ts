// Servers against clients that misbehave: connections reset while they wait to be
// accepted, and (through serve()) node:http's own protections against slow clients.
// The servers run in a child process with no 'error' listener, as users write them, so
// a failure that escapes to the server shows as a dead process; the clients are
// Linux-native node, started from inside Wine, as the hostile world is.

import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited } from './support/processes.ts';
import { linuxNodeOrSkip, startLinuxNode, unixToWine } from './support/linux-peer.ts';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** node.exe under Wine takes seconds to start, and Linux clients are started through Wine too. */
const START_MS = 60000;

async function waitForFile(file: string, withinMs: number, what: string, child?: ChildProcess): Promise<string> {
  const deadline = Date.now() + withinMs;
  while (!fs.existsSync(file)) {
    if (child !== undefined && child.exitCode !== null) expect.fail(`${what}: the process exited with code ${child.exitCode} first`);
    if (Date.now() > deadline) expect.fail(`${what}: nothing written within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return fs.readFileSync(file, 'utf8');
}

describe('hostile clients', function () {
  this.timeout(4 * START_MS);
  const children: ChildProcess[] = [];
  const files: string[] = [];
  afterEach(function () {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
    for (const file of files.splice(0)) fs.rmSync(file, { force: true });
  });

  function tempName(name: string): string {
    return `winsock-ffi-${name}-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  }

  /** The server fixture in its own process; resolves with its port once it listens. */
  async function startServer(mode: 'net' | 'http'): Promise<{ child: ChildProcess; port: number }> {
    const ready = path.join(os.tmpdir(), tempName(`${mode}-server.json`));
    files.push(ready);
    const child = spawn(process.execPath, [path.join(fixtures, 'hostile-server.ts'), mode, ready], { stdio: 'ignore' });
    children.push(child);
    const { port } = JSON.parse(await waitForFile(ready, START_MS, 'the server', child)) as { port: number };
    return { child, port };
  }

  for (const mode of ['net', 'http'] as const) {
    it(`a ${mode === 'net' ? 'createServer()' : 'serve(http.createServer())'} server with no 'error' listener keeps serving through 300 Linux-native clients that reset as they connect`, async function () {
      const linuxNode = linuxNodeOrSkip(this);
      const { child: server, port } = await startServer(mode);
      const resultUnix = `/tmp/${tempName('reset-clients.json')}`;
      const resultFile = unixToWine(resultUnix);
      files.push(resultFile);
      children.push(startLinuxNode(linuxNode, path.join(fixtures, 'linux-reset-clients.mjs'), [String(port), '300', mode, resultUnix]));
      const result = JSON.parse(await waitForFile(resultFile, 3 * START_MS, 'the Linux clients')) as { resets?: number; answer?: string; error?: string };
      expect(result, `the server ${server.exitCode === null ? 'is running' : `exited with code ${server.exitCode}`}`).to.deep.equal({ resets: 300, answer: mode === 'net' ? 'pong' : 'ok' });
      expect(server.exitCode, 'the server process is still running').to.equal(null);
      server.kill();
      await exited(server, START_MS);
    });
  }
});
