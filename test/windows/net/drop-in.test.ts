// The net-compatible layer: createConnection/createServer with node:net's surface, and
// the libraries that sit on net.Socket running over it (node:http both ways, TLS).

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import { createConnection, createServer, serve, Socket, SocketStream } from '../../../src/index.ts';
import type { NodeSystemError, Server } from '../../../src/index.ts';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { linuxNodeOrSkip, startResetClients } from '../../support/linux-peer.ts';
import { exited } from '../../support/processes.ts';
import { SocketTracker } from '../../support/sockets.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Node's errno for a libuv error name on this platform (-4078 for ECONNREFUSED on Windows). */
function nodeErrno(code: string): number {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  throw new Error(`no errno for ${code}`);
}

function listening(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address()!.port));
  });
}

function closed(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An http.Agent whose connections are winsock-ffi's. */
class WinsockAgent extends http.Agent {
  created = 0;
  override createConnection(options: http.ClientRequestArgs): SocketStream {
    this.created++;
    return createConnection({ port: Number(options.port), host: options.host ?? 'localhost', noDelay: true });
  }
}

function get(agent: http.Agent, port: number, pathName = '/'): Promise<{ status: number; body: string; socket: SocketStream }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: pathName, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body, socket: request.socket as unknown as SocketStream }));
    });
    request.on('error', reject);
  });
}

describe('net-compatible layer', function () {
  this.timeout(60000);
  const tracker = new SocketTracker();
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async function () {
    tracker.closeAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function track<T extends Server | http.Server | tls.Server | SocketStream>(thing: T): T {
    cleanups.push(() => {
      if (thing instanceof SocketStream) thing.destroy();
      else if (thing.listening) return new Promise<void>((resolve) => (thing as { close(cb: () => void): void }).close(() => resolve()));
    });
    return thing;
  }

  it('createConnection returns a connecting stream that emits connect and ready, with net.Socket\'s properties', async function () {
    const server = track(createServer((socket) => socket.pipe(socket)));
    const port = await listening(server);
    const client = track(createConnection(port, '127.0.0.1'));
    expect(client.connecting).to.equal(true);
    expect(client.pending).to.equal(true);
    expect(client.readyState).to.equal('opening');
    const events: string[] = [];
    client.once('connect', () => events.push('connect'));
    await once(client, 'ready');
    expect(events).to.deep.equal(['connect']);
    expect(client.connecting).to.equal(false);
    expect(client.readyState).to.equal('open');
    expect(client.remoteAddress).to.equal('127.0.0.1');
    expect(client.remotePort).to.equal(port);
    expect(client.remoteFamily).to.equal('IPv4');
    expect(client.localFamily).to.equal('IPv4');
    expect(client.address()).to.deep.equal({ address: '127.0.0.1', family: 'IPv4', port: client.localPort });
    expect(client.socket).to.be.instanceOf(Socket);
    client.write('ping');
    const [echo] = (await once(client, 'data')) as [Buffer];
    expect(echo.toString()).to.equal('ping');
    expect(client.bytesWritten).to.equal(4);
    expect(client.bytesRead).to.equal(4);
    expect(client.setNoDelay()).to.equal(client);
    expect(client.setKeepAlive(true, 1000)).to.equal(client);
  });

  it('writes made while connecting go out once connected', async function () {
    const server = track(createServer((socket) => socket.pipe(socket)));
    const port = await listening(server);
    const client = track(createConnection({ port, host: '127.0.0.1' }));
    client.write('early');
    const [echo] = (await once(client, 'data')) as [Buffer];
    expect(echo.toString()).to.equal('early');
  });

  it('a refused connection errors with Node\'s code and errno, keeping the Winsock ones', async function () {
    const probe = Socket.listen({ address: '127.0.0.1', port: 0 });
    const port = probe.localAddress.port;
    probe.close();
    const client = createConnection({ port, host: '127.0.0.1' });
    const closing = new Promise((resolve) => client.once('close', resolve)); // 'close' follows 'error' in the same tick
    const [error] = (await once(client, 'error').catch((e: unknown) => [e])) as [NodeSystemError];
    expect(error.code).to.equal('ECONNREFUSED');
    expect(error.errno).to.equal(nodeErrno('ECONNREFUSED'));
    expect(error.syscall).to.equal('connect');
    expect(error.address).to.equal('127.0.0.1');
    expect(error.port).to.equal(port);
    expect(error.message).to.equal(`connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(error.winsockCode).to.equal('WSAECONNREFUSED');
    expect(error.winsockErrno).to.equal(10061);
    await closing;
    expect(client.destroyed).to.equal(true);
  });

  it('a name with several addresses: each is tried in turn until one connects (::1 refused, then 127.0.0.1), options carried to the socket that connects', async function () {
    const server = track(createServer((socket) => socket.end('hello')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const asked: unknown[] = [];
    // As 'localhost' resolves on Windows and Wine 10: IPv6 first, where nothing listens.
    const lookup = (host: string, options: { all?: boolean }, callback: (error: Error | null, addresses: Array<{ address: string; family: number }>) => void): void => {
      asked.push(options.all);
      callback(null, [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ]);
    };
    const client = track(createConnection({ port, host: 'localhost', lookup: lookup as never, noDelay: true }));
    client.setKeepAlive(true, 5000); // while connecting: applies to the socket that connects
    await once(client, 'connect');
    expect(asked).to.deep.equal([true]);
    expect(client.remoteAddress).to.equal('127.0.0.1');
    expect(client.socket!.getNoDelay()).to.equal(true);
    expect(client.socket!.getKeepAlive()).to.equal(true);
    let text = '';
    for await (const chunk of client) text += String(chunk);
    expect(text).to.equal('hello');
  });

  it('every address of a name refused: an AggregateError with code ECONNREFUSED and each attempt, as node:net', async function () {
    const probe = Socket.listen({ address: '127.0.0.1', port: 0 });
    const port = probe.localAddress.port;
    probe.close();
    const lookup = (_host: string, _options: unknown, callback: (error: Error | null, addresses: Array<{ address: string; family: number }>) => void): void =>
      callback(null, [
        { address: '::1', family: 6 },
        { address: '127.0.0.1', family: 4 },
      ]);
    const client = createConnection({ port, host: 'localhost', lookup: lookup as never });
    const [error] = (await once(client, 'error').catch((e: unknown) => [e])) as [AggregateError & { code: string }];
    expect(error).to.be.instanceOf(AggregateError);
    expect(error.code).to.equal('ECONNREFUSED');
    expect(error.errors.map((e: NodeSystemError) => `${e.code} ${e.address}`)).to.deep.equal(['ECONNREFUSED ::1', 'ECONNREFUSED 127.0.0.1']);
  });

  it('setTimeout emits timeout after idle time and refreshes on activity', async function () {
    const server = track(createServer(() => undefined));
    const port = await listening(server);
    const client = track(createConnection({ port, host: '127.0.0.1', timeout: 150 }));
    expect(client.timeout).to.equal(150);
    const started = Date.now();
    await once(client, 'timeout');
    expect(Date.now() - started).to.be.at.least(100);
    expect(client.destroyed).to.equal(false); // 'timeout' only tells, as net.Socket's
    client.setTimeout(0);
    expect(client.timeout).to.equal(undefined);
  });

  it('node:http server fed by serve(): remoteAddress, keep-alive reuse through an Agent whose createConnection is ours', async function () {
    const httpServer = http.createServer((request, response) => {
      response.end(`${request.socket.remoteAddress} ${request.socket.remotePort} ${request.url}`);
    });
    // Node's Agent reuses a socket only when the server's keep-alive hint exceeds its 1 s margin.
    httpServer.keepAliveTimeout = 5000;
    const server = track(serve(httpServer, { loopbackFastPath: true, noDelay: true }));
    const port = await listening(server);
    const agent = new WinsockAgent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const first = await get(agent, port, '/one');
    const second = await get(agent, port, '/two');
    expect(first.status).to.equal(200);
    const [address, remotePort, url] = first.body.split(' ');
    expect(address).to.equal('127.0.0.1');
    expect(Number(remotePort)).to.equal(first.socket.localPort);
    expect(url).to.equal('/one');
    expect(second.body.endsWith('/two')).to.equal(true);
    expect(second.socket).to.equal(first.socket);
    expect(agent.created).to.equal(1);
  });

  it('req.setTimeout fires on a response that does not come', async function () {
    const httpServer = http.createServer(() => undefined); // never answers
    const server = track(serve(httpServer));
    const port = await listening(server);
    const agent = new WinsockAgent();
    cleanups.push(() => agent.destroy());
    const request = http.get({ host: '127.0.0.1', port, agent });
    request.on('error', () => undefined);
    request.setTimeout(200);
    await once(request, 'timeout');
    request.destroy();
  });

  it("the server's keepAliveTimeout closes an idle connection", async function () {
    const httpServer = http.createServer((_request, response) => response.end('ok'));
    httpServer.keepAliveTimeout = 300;
    const server = track(serve(httpServer));
    const port = await listening(server);
    const agent = new WinsockAgent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const { socket } = await get(agent, port);
    const started = Date.now();
    if (!socket.destroyed) await once(socket, 'close');
    expect(Date.now() - started).to.be.below(5000);
  });

  it('node:http client through createConnection against a node:http server on node:net', async function () {
    const httpServer = http.createServer((_request, response) => response.end('from node:net'));
    track(httpServer);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const { port } = httpServer.address() as { port: number };
    const agent = new WinsockAgent();
    cleanups.push(() => agent.destroy());
    const response = await get(agent, port);
    expect(response.body).to.equal('from node:net');
  });

  it('TLS runs over our socket: tls.connect({ socket }) to a tls.Server fed by serve()', async function () {
    const key = fs.readFileSync(path.join(fixtures, 'tls-key.pem'));
    const cert = fs.readFileSync(path.join(fixtures, 'tls-cert.pem'));
    const tlsServer = tls.createServer({ key, cert }, (secure) => secure.end('secret'));
    const server = track(serve(tlsServer));
    const port = await listening(server);
    const raw = track(createConnection({ port, host: '127.0.0.1' }));
    const secure = tls.connect({ socket: raw, ca: cert, servername: 'localhost' });
    let text = '';
    secure.setEncoding('utf8');
    secure.on('data', (chunk: string) => (text += chunk));
    await once(secure, 'end');
    expect(secure.authorized).to.equal(true);
    expect(text).to.equal('secret');
    secure.destroy();
  });

  it('undici runs over our socket: an Agent whose connect returns a createConnection stream', async function () {
    const httpServer = http.createServer((request, response) => response.end(`undici ${request.method} ${request.url}`));
    const server = track(serve(httpServer));
    const port = await listening(server);
    let connects = 0;
    const dispatcher = new UndiciAgent({
      connect(options, callback) {
        connects++;
        const socket = createConnection({ port: Number(options.port), host: options.hostname, noDelay: true, loopbackFastPath: true });
        // A SocketStream stands in for net.Socket (undici's types name net.Socket).
        socket.once('connect', () => callback(null, socket as unknown as import('node:net').Socket));
        socket.once('error', (error) => callback(error, null));
      },
    });
    cleanups.push(() => dispatcher.close());
    for (const pathName of ['/a', '/b']) {
      const response = await undiciRequest(`http://127.0.0.1:${port}${pathName}`, { dispatcher });
      expect(response.statusCode).to.equal(200);
      expect(await response.body.text()).to.equal(`undici GET ${pathName}`);
      // undici frees the connection a moment after the body ends: a request sent at once
      // would find it still busy and open another one, whatever the transport.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(connects).to.equal(1); // keep-alive: the second request reused the connection
  });

  it('ws runs over our socket both ways: a WebSocketServer behind serve(), a client with createConnection', async function () {
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer });
    wss.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(`echo ${data.toString()}`)));
    const server = track(serve(httpServer));
    cleanups.push(() => wss.close());
    const port = await listening(server);
    // ws hands createConnection to node:http (its types leave the option out).
    const options = {
      createConnection: (connectOptions: { port?: number | string; host?: string }) => createConnection({ port: Number(connectOptions.port), host: connectOptions.host ?? '127.0.0.1' }),
    } as unknown as WebSocket.ClientOptions;
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, options);
    await once(client, 'open');
    client.send('hello');
    const [message] = (await once(client, 'message')) as [Buffer];
    expect(message.toString()).to.equal('echo hello');
    client.close();
    await once(client, 'close');
  });

  it('http2 (cleartext) runs over our socket both ways: an http2 server behind serve(), a client session on createConnection', async function () {
    const h2Server = http2.createServer();
    h2Server.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${String(headers[':path'])}`);
    });
    const server = track(serve(h2Server));
    const port = await listening(server);
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => createConnection({ port, host: '127.0.0.1' }) as unknown as import('node:stream').Duplex });
    cleanups.push(() => session.destroy());
    const request = session.request({ ':path': '/h2' });
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    await once(request, 'end');
    expect(body).to.equal('h2 /h2');
    session.close();
  });

  it('Server: address(), getConnections, maxConnections, close waits for connections, listen errors are Node-shaped', async function () {
    const server = track(createServer());
    const port = await listening(server);
    expect(server.address()).to.deep.equal({ address: '127.0.0.1', family: 'IPv4', port });
    expect(server.listening).to.equal(true);
    const accepted: SocketStream[] = [];
    server.on('connection', (socket: SocketStream) => accepted.push(socket));
    const client = track(createConnection({ port, host: '127.0.0.1' }));
    await once(client, 'connect');
    while (accepted.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const count = await new Promise<number>((resolve) => server.getConnections((_error, n) => resolve(n)));
    expect(count).to.equal(1);
    server.maxConnections = 1;
    const dropped = once(server, 'drop');
    const extra = track(createConnection({ port, host: '127.0.0.1' }));
    extra.on('error', () => undefined);
    await dropped;
    // close(): no more connections; 'close' only once the open one has closed.
    let closedEvent = false;
    server.close(() => (closedEvent = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closedEvent).to.equal(false);
    accepted[0]!.destroy();
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closedEvent).to.equal(true);
    // A second server on the same port: EADDRINUSE as an 'error' event.
    const holder = track(createServer({ exclusiveAddressUse: true }));
    const heldPort = await listening(holder);
    const second = createServer();
    second.listen(heldPort, '127.0.0.1');
    const [error] = (await once(second, 'error')) as [NodeSystemError];
    expect(error.code).to.equal('EADDRINUSE');
    expect(error.winsockCode).to.equal('WSAEADDRINUSE');
  });

  it('a server listening on the default address accepts IPv4 and IPv6 clients, as node:net', async function () {
    const server = track(createServer((socket) => socket.end(socket.remoteFamily)));
    await new Promise<void>((resolve) => server.listen(0, resolve));
    const { port, family } = server.address()!;
    expect(family).to.equal('IPv6');
    for (const host of ['127.0.0.1', '::1']) {
      const client = track(createConnection({ port, host }));
      const [data] = (await once(client, 'data')) as [Buffer];
      expect(data.toString()).to.equal(host === '::1' ? 'IPv6' : 'IPv6'); // a dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d
    }
  });

  it('a listening Socket is async-iterable: for await accepts until the listener closes', async function () {
    const listener = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    const port = listener.localAddress.port;
    const clients = [0, 1, 2].map(() => tracker.track(Socket.connect({ address: '127.0.0.1', port })));
    const seen: Socket[] = [];
    const loop = (async () => {
      for await (const connection of listener) {
        seen.push(tracker.track(connection));
        if (seen.length === 3) setTimeout(() => listener.close(), 10);
      }
    })();
    await loop;
    expect(seen).to.have.length(3);
    expect(clients).to.have.length(3);
    // Breaking out of the loop ends it too.
    const second = tracker.track(Socket.listen({ address: '127.0.0.1', port: 0 }));
    tracker.track(Socket.connect(second.localAddress));
    for await (const connection of second) {
      tracker.track(connection);
      break;
    }
  });

  it('node:http behind serve(): each of 100 connections whose Linux-native client resets mid-response closes within seconds', async function () {
    this.timeout(180000);
    const linuxNode = linuxNodeOrSkip(this);
    const connections = 100;
    const closeWithinMs = 10000; // generous against a noisy machine: the requirement is 5 s
    const reply = Buffer.alloc(4 * 1024 * 1024, 0x62);
    const httpServer = http.createServer((_request, response) => response.end(reply));
    const outcomes: Array<Promise<number>> = [];
    const sockets: SocketStream[] = [];
    httpServer.on('connection', (socket: SocketStream) => {
      sockets.push(socket);
      const accepted = Date.now();
      outcomes.push(new Promise((resolve) => socket.once('close', () => resolve(Date.now() - accepted))));
    });
    const server = track(serve(httpServer));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
    });
    const port = await listening(server);
    const clients = startResetClients(linuxNode, { port, count: connections, concurrency: 10, readBytes: 64 * 1024, http: true });
    const report = await clients.result(90000);
    expect(report.platform).to.equal('linux');
    expect(report.errors).to.deep.equal([]);
    expect(report.resets).to.equal(connections);
    expect(outcomes).to.have.length(connections);
    // node:http never calls destroy() here: each connection must close by itself. Wait for
    // the events, bounded only for the failing case.
    const all = Promise.all(outcomes);
    const bound = new Promise<'stuck'>((resolve) => setTimeout(resolve, closeWithinMs, 'stuck').unref());
    const settled = await Promise.race([all, bound]);
    const open = sockets.filter((socket) => !socket.destroyed).length;
    expect(settled, `${open} of ${connections} connections still open ${closeWithinMs} ms after the last client reset`).to.not.equal('stuck');
    const times = (await all).sort((x, y) => x - y);
    console.log(`      ${connections}/${connections} closed; after their accept: median ${times[times.length >> 1]} ms, max ${times.at(-1)} ms`);
  });

  it('unref() on both ends of an idle connection and on the server lets the process exit', async function () {
    const out = path.join(os.tmpdir(), `winsock-ffi-net-unref-${process.pid}-${Date.now()}.txt`);
    const child = spawn(process.execPath, [path.join(fixtures, 'net-unref-exit.ts'), out], { stdio: 'ignore' });
    try {
      expect(await exited(child, 60000)).to.equal(0);
      expect(fs.readFileSync(out, 'utf8')).to.equal('connected');
    } finally {
      if (child.exitCode === null) child.kill();
      fs.rmSync(out, { force: true });
    }
  });
});
