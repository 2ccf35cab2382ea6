// The ready-made connectors, each with the real library: agent() under node:http and
// node:https (keep-alive reuse, maxSockets, timeouts, TLS options, errors), and
// undiciConnect / undiciConnector() under undici's Agent and Client (request(), fetch(),
// plain and TLS, errors). Servers are node:http/https on node:net and behind serve().

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import { Agent as UndiciAgent, Client as UndiciClient, fetch as undiciFetch, request as undiciRequest } from 'undici';
import { agent, serve, SocketStream, undiciConnect, undiciConnector } from '../../../src/index.ts';
import type { NodeSystemError, UndiciConnectOptions } from '../../../src/index.ts';
import { pumpState } from '../../../src/async/engine.ts';
import { exited } from '../../support/processes.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const key = fs.readFileSync(path.join(fixtures, 'tls-key.pem'));
const cert = fs.readFileSync(path.join(fixtures, 'tls-cert.pem'));

/** Node's errno for a libuv error name on this platform (-4078 for ECONNREFUSED on Windows). */
function nodeErrno(code: string): number {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  throw new Error(`no errno for ${code}`);
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds (polling every 10 ms), failing after `ms`. */
async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) expect.fail(`${what}: not within ${ms} ms`);
    await delay(10);
  }
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly request: http.ClientRequest;
  readonly socket: net.Socket;
}

/** One request through `through`; resolves once the body has been read. */
function call(module: typeof http | typeof https, through: http.Agent, port: number, options: http.RequestOptions = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = module.request({ host: '127.0.0.1', port, path: '/', agent: through, ...options }, (response) => {
      // Taken now: a keep-alive response lets go of its socket when it ends.
      const socket = response.socket;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: text, request, socket }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** What a request through `through` fails with. */
function failure(module: typeof http | typeof https, through: http.Agent, port: number): Promise<NodeSystemError> {
  return new Promise((resolve, reject) => {
    const request = module.get({ host: '127.0.0.1', port, path: '/', agent: through }, () => reject(new Error('expected the request to fail')));
    request.on('error', (error) => resolve(error as NodeSystemError));
  });
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectRefused(error: NodeSystemError, port: number): void {
  expect(error.code).to.equal('ECONNREFUSED');
  expect(error.errno).to.equal(nodeErrno('ECONNREFUSED'));
  expect(error.syscall).to.equal('connect');
  expect(error.address).to.equal('127.0.0.1');
  expect(error.port).to.equal(port);
  expect(error.message).to.equal(`connect ECONNREFUSED 127.0.0.1:${port}`);
}

/**
 * The answer every test server gives: who asked (the client's port is the connection's
 * name). A TLS server behind serve() sees no remotePort ('undefined'): its TLSSocket wraps
 * a stream that is not a net.Socket.
 */
function answer(request: http.IncomingMessage, response: http.ServerResponse): void {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => (body += chunk));
  request.on('end', () => response.end(`${request.method} ${request.url} ${request.socket.remotePort}${body === '' ? '' : ` ${body}`}`));
}

type Kind = 'node:net' | 'serve()';
const KINDS: readonly Kind[] = ['node:net', 'serve()'];

describe('connectors', function () {
  this.timeout(60000);
  const cleanups: Array<() => unknown> = [];
  afterEach(async function () {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An http or https server on node:net or behind serve(), listening on 127.0.0.1; its port and what it saw. */
  async function server(kind: Kind, secure: boolean, handler = answer): Promise<{ port: number; connections: number; server: http.Server }> {
    const made: http.Server = secure ? https.createServer({ key, cert }, handler) : http.createServer(handler);
    // Node's Agent reuses a connection only when the server's keep-alive hint exceeds its 1 s margin.
    made.keepAliveTimeout = 10_000;
    const seen = { port: 0, connections: 0, server: made };
    (made as NodeJS.EventEmitter).on(secure ? 'secureConnection' : 'connection', () => seen.connections++);
    const listener = kind === 'serve()' ? serve(made) : made;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    seen.port = (made.address() as net.AddressInfo).port;
    cleanups.push(() => {
      made.closeAllConnections();
      return new Promise<void>((resolve) => made.close(() => resolve()));
    });
    return seen;
  }

  describe('agent() for node:http and node:https', function () {
    for (const kind of KINDS) {
      it(`an http.Agent whose connections are winsock-ffi streams; keep-alive reuses the connection (server on ${kind})`, async function () {
        const target = await server(kind, false);
        const through = agent({ keepAlive: true });
        cleanups.push(() => through.destroy());
        expect(through).to.be.instanceOf(http.Agent);
        expect(through).to.not.be.instanceOf(https.Agent);
        const first = await call(http, through, target.port, { path: '/one' });
        const second = await call(http, through, target.port, { path: '/two', method: 'POST' }, 'payload');
        expect(first.socket).to.be.instanceOf(SocketStream);
        expect(first.body).to.equal(`GET /one ${first.socket.localPort}`);
        expect(second.body).to.equal(`POST /two ${first.socket.localPort} payload`);
        expect(second.socket).to.equal(first.socket);
        expect(second.request.reusedSocket).to.equal(true);
        expect(target.connections).to.equal(1);
      });

      it(`agent({ tls: true, ca }) is an https.Agent: TLS over winsock-ffi connections, keep-alive reuse (server on ${kind})`, async function () {
        const target = await server(kind, true);
        const pendingBefore = pumpState().pending;
        const through = agent({ tls: true, keepAlive: true, ca: cert });
        cleanups.push(() => through.destroy());
        expect(through).to.be.instanceOf(https.Agent);
        const first = await call(https, through, target.port, { path: '/secret' });
        const second = await call(https, through, target.port, { path: '/again' });
        const secure = first.socket as tls.TLSSocket;
        expect(secure).to.be.instanceOf(tls.TLSSocket);
        expect(secure.authorized).to.equal(true);
        expect(first.body).to.match(/^GET \/secret \S+$/);
        expect(second.body).to.match(/^GET \/again \S+$/);
        expect(second.socket).to.equal(secure);
        expect(second.request.reusedSocket).to.equal(true);
        expect(target.connections).to.equal(1);
        if (kind === 'node:net') {
          // The idle connection in the pool is winsock-ffi's: its receive is pending on the engine.
          expect(pumpState().pending).to.be.greaterThan(pendingBefore);
          through.destroy();
          await eventually(() => pumpState().pending === pendingBefore, 'the connection closed with the agent');
        }
      });
    }

    it('maxSockets passes through: three requests at once share the one connection allowed', async function () {
      const target = await server('serve()', false);
      const through = agent({ keepAlive: true, maxSockets: 1 });
      cleanups.push(() => through.destroy());
      expect(through.maxSockets).to.equal(1);
      const answers = await Promise.all([1, 2, 3].map((n) => call(http, through, target.port, { path: `/${n}` })));
      expect(new Set(answers.map((one) => one.body.split(' ')[2])).size).to.equal(1);
      expect(target.connections).to.equal(1);
    });

    it('without keepAlive each request gets a connection of its own, closed after it', async function () {
      const target = await server('node:net', false);
      const through = agent();
      cleanups.push(() => through.destroy());
      const first = await call(http, through, target.port);
      const second = await call(http, through, target.port);
      expect(first.socket).to.be.instanceOf(SocketStream);
      expect(second.socket).to.not.equal(first.socket);
      expect(target.connections).to.equal(2);
      await eventually(() => first.socket.destroyed && second.socket.destroyed, 'both connections closed');
    });

    it("the Agent's timeout reaches the connection: a request with no answer times out", async function () {
      const target = await server('serve()', false, () => undefined);
      for (const through of [agent({ timeout: 300 }), agent({ tls: true, timeout: 300, ca: cert })]) {
        cleanups.push(() => through.destroy());
        const secure = through instanceof https.Agent;
        const port = secure ? (await server('node:net', true, () => undefined)).port : target.port;
        const request = (secure ? https : http).get({ host: '127.0.0.1', port, agent: through });
        request.on('error', () => undefined);
        const started = Date.now();
        await once(request, 'timeout');
        expect(Date.now() - started).to.be.within(200, 5000);
        request.destroy();
      }
    });

    it('TLS options pass through: without the CA the self-signed certificate is refused', async function () {
      const target = await server('node:net', true);
      const through = agent({ tls: true });
      cleanups.push(() => through.destroy());
      const error = await failure(https, through, target.port);
      expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
      const lax = agent({ tls: true, rejectUnauthorized: false });
      cleanups.push(() => lax.destroy());
      expect((await call(https, lax, target.port)).status).to.equal(200);
    });

    it("a refused connection fails the request with Node's error (http and https)", async function () {
      const port = await deadPort();
      for (const [module, through] of [
        [http, agent()],
        [https, agent({ tls: true, ca: cert })],
      ] as const) {
        cleanups.push(() => through.destroy());
        expectRefused(await failure(module, through, port), port);
      }
    });

    it('refuses bad options at once, before any native call; a socketPath request throws', function () {
      expect(() => agent('x' as never)).to.throw(TypeError);
      expect(() => agent({ tls: 'yes' } as never)).to.throw(TypeError, /tls must be a boolean/);
      expect(() => agent({ loopbackFastPath: 1 } as never)).to.throw(TypeError);
      expect(() => agent({ readSize: 0 })).to.throw(RangeError);
      expect(() => agent({ lookup: () => undefined } as never)).to.throw(TypeError, /lookup/);
      const through = agent();
      cleanups.push(() => through.destroy());
      expect(() => http.get({ socketPath: 'C:\\pipe', agent: through })).to.throw(TypeError, /socketPath/);
    });

    it('a process whose keep-alive connections (http and https) sit idle in the pool exits by itself', async function () {
      await exitsWithIdleConnections('agent');
    });
  });

  describe('undiciConnect / undiciConnector() for undici', function () {
    for (const kind of KINDS) {
      it(`request() and fetch() through an Agent whose connect is undiciConnect, over one keep-alive connection (server on ${kind})`, async function () {
        const target = await server(kind, false);
        const dispatcher = new UndiciAgent({ connect: undiciConnect });
        cleanups.push(() => dispatcher.close());
        const response = await undiciRequest(`http://127.0.0.1:${target.port}/a`, { dispatcher });
        expect(response.statusCode).to.equal(200);
        const [, , clientPort] = (await response.body.text()).split(' ');
        // undici frees the connection a moment after the body ends.
        await delay(20);
        const fetched = await undiciFetch(`http://127.0.0.1:${target.port}/b`, { dispatcher, method: 'POST', body: 'sent' });
        expect(await fetched.text()).to.equal(`POST /b ${clientPort} sent`);
        expect(target.connections).to.equal(1);
      });
    }

    it("Node's own fetch() takes such an Agent as its dispatcher", async function () {
      const target = await server('serve()', false);
      const dispatcher = new UndiciAgent({ connect: undiciConnect });
      cleanups.push(() => dispatcher.close());
      // Node's RequestInit names its own bundled undici's Dispatcher type.
      const init = { method: 'POST', body: 'to node', dispatcher } as unknown as RequestInit;
      const response = await fetch(`http://127.0.0.1:${target.port}/n`, init);
      expect(response.status).to.equal(200);
      expect(await response.text()).to.match(/^POST \/n \d+ to node$/);
      expect(target.connections).to.equal(1);
    });

    it('a Client to a local server, its connection a winsock-ffi stream', async function () {
      const target = await server('node:net', false);
      const sockets: unknown[] = [];
      const client = new UndiciClient(`http://127.0.0.1:${target.port}`, {
        connect: (options, callback) =>
          undiciConnect(options, (...args) => {
            sockets.push(args[1]);
            callback(...args);
          }),
      });
      cleanups.push(() => client.close());
      const { statusCode, body } = await client.request({ path: '/c', method: 'GET' });
      expect(statusCode).to.equal(200);
      expect(await body.text()).to.match(/^GET \/c \d+$/);
      expect(sockets).to.have.length(1);
      expect(sockets[0]).to.be.instanceOf(SocketStream);
    });

    for (const kind of KINDS) {
      it(`https through undiciConnector({ ca }): TLS over a winsock-ffi connection, kept alive (server on ${kind})`, async function () {
        const target = await server(kind, true);
        const dispatcher = new UndiciAgent({ connect: undiciConnector({ ca: cert }) });
        cleanups.push(() => dispatcher.close());
        const response = await undiciRequest(`https://127.0.0.1:${target.port}/s`, { dispatcher });
        expect(response.statusCode).to.equal(200);
        expect(await response.body.text()).to.match(/^GET \/s \S+$/);
        await delay(20);
        const fetched = await undiciFetch(`https://127.0.0.1:${target.port}/t`, { dispatcher });
        expect(await fetched.text()).to.match(/^GET \/t \S+$/);
        expect(target.connections).to.equal(1);
      });
    }

    it('a second connection to the same server resumes the TLS session the first one got', async function () {
      const target = await server('node:net', true);
      const resumed: boolean[] = [];
      (target.server as NodeJS.EventEmitter).on('secureConnection', (socket: tls.TLSSocket) => resumed.push(socket.isSessionReused()));
      const connect = undiciConnector({ ca: cert });
      for (let i = 0; i < 2; i++) {
        const client = new UndiciClient(`https://localhost:${target.port}`, { connect });
        const { body } = await client.request({ path: '/', method: 'GET' });
        await body.text();
        await client.close();
      }
      expect(resumed).to.deep.equal([false, true]);
    });

    it("a refused connection rejects request() with Node's error, and fetch() with it as the cause", async function () {
      const port = await deadPort();
      const dispatcher = new UndiciAgent({ connect: undiciConnector({ ca: cert }) });
      cleanups.push(() => dispatcher.close());
      for (const scheme of ['http', 'https']) {
        const error = (await undiciRequest(`${scheme}://127.0.0.1:${port}/`, { dispatcher }).catch((e: unknown) => e)) as NodeSystemError;
        expectRefused(error, port);
        const fetchError = (await undiciFetch(`${scheme}://127.0.0.1:${port}/`, { dispatcher }).catch((e: unknown) => e)) as TypeError;
        expect(fetchError).to.be.instanceOf(TypeError);
        expect(fetchError.message).to.equal('fetch failed');
        expectRefused(fetchError.cause as NodeSystemError, port);
      }
    });

    it('a TLS handshake that does not finish within the timeout fails with ETIMEDOUT', async function () {
      // Accepts and says nothing: the connection is made, the handshake never ends.
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as net.AddressInfo;
      cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
      cleanups.push(() => {
        for (const socket of silentSockets) socket.destroy();
      });
      const silentSockets: net.Socket[] = [];
      silent.on('connection', (socket) => silentSockets.push(socket));
      const dispatcher = new UndiciAgent({ connect: undiciConnector({ ca: cert, timeout: 300 }) });
      cleanups.push(() => dispatcher.close());
      const started = Date.now();
      const error = (await undiciRequest(`https://127.0.0.1:${port}/`, { dispatcher }).catch((e: unknown) => e)) as NodeSystemError;
      expect(Date.now() - started).to.be.within(250, 5000);
      expect(error.code).to.equal('ETIMEDOUT');
      expect(error.syscall).to.equal('connect');
      expect(error.message).to.equal(`connect ETIMEDOUT 127.0.0.1:${port}`);
    });

    it('refuses bad options at once, and a connect call it cannot serve, before any native call', function () {
      expect(() => undiciConnector(null as never)).to.throw(TypeError);
      expect(() => undiciConnector({ timeout: -1 })).to.throw(RangeError);
      expect(() => undiciConnector({ keepAlive: 'yes' } as never)).to.throw(TypeError);
      expect(() => undiciConnector({ maxCachedSessions: 1.5 })).to.throw(TypeError);
      expect(() => undiciConnector({ readSize: 0 })).to.throw(RangeError);
      const target: UndiciConnectOptions = { hostname: '127.0.0.1', protocol: 'http:', port: '1' };
      const never = (): void => expect.fail('the callback must not be called');
      expect(() => undiciConnect({ ...target, protocol: 'ftp:' }, never)).to.throw(TypeError, /protocol/);
      expect(() => undiciConnect({ ...target, socketPath: '/tmp/s' }, never)).to.throw(TypeError, /socketPath/);
      expect(() => undiciConnect({ ...target, hostname: '' }, never)).to.throw(TypeError, /hostname/);
      expect(() => undiciConnect(target, 'x' as never)).to.throw(TypeError, /callback/);
    });

    it('a process whose keep-alive connections (http and https) sit idle in the pool exits by itself', async function () {
      await exitsWithIdleConnections('undici');
    });
  });

  /** Runs test/fixtures/connectors-exit.ts in `mode` against servers here that keep idle connections for minutes; it must exit by itself. */
  async function exitsWithIdleConnections(mode: 'agent' | 'undici'): Promise<void> {
    const plain = await server('node:net', false);
    const secure = await server('node:net', true);
    plain.server.keepAliveTimeout = secure.server.keepAliveTimeout = 600_000;
    const out = path.join(os.tmpdir(), `winsock-ffi-connectors-exit-${process.pid}-${Date.now()}.txt`);
    const child = spawn(process.execPath, [path.join(fixtures, 'connectors-exit.ts'), out, mode, String(plain.port), String(secure.port), path.join(fixtures, 'tls-cert.pem')], { stdio: 'ignore' });
    try {
      expect(await exited(child, 40_000)).to.equal(0);
      expect(fs.readFileSync(out, 'utf8')).to.match(/^GET \/ \d+ GET \/ \d+$/);
      expect(plain.connections + secure.connections).to.equal(2);
    } finally {
      if (child.exitCode === null) child.kill();
      fs.rmSync(out, { force: true });
    }
  }
});
