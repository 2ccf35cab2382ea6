// node:http over winsock-ffi, both ways, with the loopback fast path requested: the
// server is a plain http.Server fed by serve(), the client a plain http.get() whose
// Agent makes its connections with createConnection(). Five requests go over one
// keep-alive connection; then the agent and the server close and the process exits.
//
//   node examples/http.ts        (after `npm run build`)
import { once } from 'node:events';
import http from 'node:http';
import { createConnection, serve } from 'winsock-ffi';

const REQUESTS = 5;

// Server: node:http over winsock-ffi.
const httpServer = http.createServer((req, res) => res.end(`hello from ${req.url}`));
const server = serve(httpServer, { loopbackFastPath: true }).listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address()!;

// Client: an http.Agent whose connections are winsock-ffi's (keep-alive reuse works).
class WinsockAgent extends http.Agent {
  override createConnection(options: http.ClientRequestArgs) {
    return createConnection({ port: Number(options.port), host: options.host ?? 'localhost', loopbackFastPath: true });
  }
}
const agent = new WinsockAgent({ keepAlive: true });

function get(path: string): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ port, host: '127.0.0.1', path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ body, reused: request.reusedSocket }));
      res.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error(`GET ${path}: no answer within 10 s`)));
  });
}

let reused = 0;
for (let i = 0; i < REQUESTS; i++) {
  const response = await get(`/${i}`);
  if (response.body !== `hello from /${i}`) throw new Error(`GET /${i}: unexpected body ${JSON.stringify(response.body)}`);
  if (response.reused) reused++;
}

agent.destroy(); // closes the idle keep-alive connection
await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
console.log(`http: ${REQUESTS} GETs answered on 127.0.0.1:${port}, ${reused} of them on a reused keep-alive connection`);
