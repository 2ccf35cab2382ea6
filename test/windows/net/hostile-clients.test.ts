// Servers against clients that misbehave: connections reset while they wait to be
// accepted, and (through serve()) node:http's own protections against slow clients.
// The servers run in a child process with no 'error' listener, as users write them, so
// a failure that escapes to the server shows as a dead process; the clients are
// Linux-native node, started from inside Wine, as the hostile world is.

import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastify from 'fastify';
import { serve, SocketStream } from '../../../src/index.ts';
import type { Server } from '../../../src/index.ts';
import { exited } from '../../support/processes.ts';
import { linuxNodeOrSkip, startLinuxNode, unixToWine } from '../../support/linux-peer.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
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

  describe('serve() gives node:http what its own listen() gives it', function () {
    this.timeout(START_MS);
    const servers: http.Server[] = [];
    afterEach(async function () {
      for (const server of servers.splice(0)) {
        server.closeAllConnections();
        if (server.listening) await new Promise((resolve) => server.close(resolve));
      }
    });

    /** An http.Server behind serve(), listening on 127.0.0.1; resolves once its own 'listening' came. */
    async function served(options: http.ServerOptions, handler: http.RequestListener = (_request, response) => response.end('ok')): Promise<{ httpServer: http.Server; server: Server; port: number }> {
      const httpServer = http.createServer(options, handler);
      servers.push(httpServer);
      const server = serve(httpServer);
      const listening = once(httpServer, 'listening');
      server.listen(0, '127.0.0.1');
      await listening;
      return { httpServer, server, port: server.address()!.port };
    }

    it('a slowloris of 20 Linux-native clients is cut off by headersTimeout with 408, as with http.Server.listen()', async function () {
      const linuxNode = linuxNodeOrSkip(this);
      const { port } = await served({ headersTimeout: 2000, requestTimeout: 3000, connectionsCheckingInterval: 250 });
      const resultUnix = `/tmp/${tempName('slow-clients.json')}`;
      const resultFile = unixToWine(resultUnix);
      files.push(resultFile);
      // One header line every 300 ms, forever: only the server's headersTimeout ends them.
      children.push(startLinuxNode(linuxNode, path.join(fixtures, 'linux-slow-clients.mjs'), [String(port), '20', '300', '60000', resultUnix]));
      const result = JSON.parse(await waitForFile(resultFile, 2 * START_MS, 'the slow clients')) as { closed: number; open: number; statuses: Record<string, number>; maxCloseMs: number };
      expect(result.open, 'connections the server left open').to.equal(0);
      expect(result.statuses).to.deep.equal({ 408: 20 });
      expect(result.maxCloseMs, 'ms until the last was cut off').to.be.below(30000);
    });

    it("'listening', listening, address() and getConnections() on the http.Server itself", async function () {
      const { httpServer, server, port } = await served({});
      expect(httpServer.listening).to.equal(true);
      expect(httpServer.address()).to.deep.equal({ address: '127.0.0.1', family: 'IPv4', port });
      expect(server.address()).to.deep.equal(httpServer.address());
      const agent = new http.Agent({ keepAlive: true });
      try {
        expect(await get(port, agent)).to.equal('ok');
        const count = await new Promise<number>((resolve, reject) => httpServer.getConnections((error, n) => (error ? reject(error) : resolve(n))));
        expect(count).to.equal(1);
      } finally {
        agent.destroy();
      }
    });

    it("the http.Server's close() ends an idle keep-alive connection and calls back at once, as after its own listen()", async function () {
      const { httpServer, server, port } = await served({ keepAliveTimeout: 60000 });
      const agent = new http.Agent({ keepAlive: true });
      try {
        const connections: string[] = [];
        httpServer.on('connection', (socket: unknown) => connections.push(socket instanceof SocketStream ? 'winsock-ffi' : 'other'));
        expect(await get(port, agent)).to.equal('ok');
        const idle = Object.values(agent.freeSockets).flat()[0]!;
        const clientClosed = once(idle, 'close');
        const started = Date.now();
        await new Promise<void>((resolve, reject) => httpServer.close((error) => (error ? reject(error) : resolve())));
        await clientClosed;
        expect(Date.now() - started, 'ms close() took').to.be.below(5000);
        expect(connections).to.deep.equal(['winsock-ffi']);
        expect(httpServer.listening).to.equal(false);
        expect(server.listening).to.equal(false);
      } finally {
        agent.destroy();
      }
    });

    it('closeIdleConnections() ends idle keep-alive connections', async function () {
      const { httpServer, port } = await served({ keepAliveTimeout: 60000 });
      const agent = new http.Agent({ keepAlive: true });
      try {
        expect(await get(port, agent)).to.equal('ok');
        const idle = Object.values(agent.freeSockets).flat()[0]!;
        const clientClosed = once(idle, 'close');
        httpServer.closeIdleConnections();
        await clientClosed;
      } finally {
        agent.destroy();
      }
    });

    it("the http.Server's own listen() goes through winsock-ffi after serve(), and close() on serve()'s Server closes it", async function () {
      const httpServer = http.createServer({ keepAliveTimeout: 60000 }, (request, response) => response.end(request.socket instanceof SocketStream ? 'winsock-ffi' : 'node:net'));
      servers.push(httpServer);
      const server = serve(httpServer);
      await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const port = (httpServer.address() as AddressInfo).port;
      expect(server.address()!.port).to.equal(port);
      const agent = new http.Agent({ keepAlive: true });
      try {
        expect(await get(port, agent)).to.equal('winsock-ffi');
        const idle = Object.values(agent.freeSockets).flat()[0]!;
        const clientClosed = once(idle, 'close');
        const serverClosed = once(httpServer, 'close');
        server.close();
        await Promise.all([clientClosed, serverClosed]);
        expect(httpServer.listening).to.equal(false);
      } finally {
        agent.destroy();
      }
    });

    it('fastify runs behind serve() (its serverFactory): a request, then a prompt close() with a keep-alive connection open', async function () {
      const app = fastify({
        serverFactory: (handler) => {
          const httpServer = http.createServer({ keepAliveTimeout: 60000 }, handler);
          serve(httpServer);
          return httpServer;
        },
      });
      app.get('/', async (request) => ({ transport: request.raw.socket instanceof SocketStream ? 'winsock-ffi' : 'node:net' }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const port = (app.server.address() as AddressInfo).port;
      const agent = new http.Agent({ keepAlive: true });
      try {
        expect(JSON.parse(await get(port, agent))).to.deep.equal({ transport: 'winsock-ffi' });
        const started = Date.now();
        await app.close();
        expect(Date.now() - started, 'ms app.close() took').to.be.below(5000);
        expect(app.server.listening).to.equal(false);
      } finally {
        agent.destroy();
      }
    });
  });
});

/** GET / over node:http with `agent`; resolves with the body. */
function get(port: number, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}
