// The published types compile in a consumer's project. `npm pack` (which builds dist/
// through prepack) makes the tarball users get; it is installed into a new project in the
// system's temporary folder, and tsc checks a small program that uses the public API, with
// skipLibCheck off, so that every .d.ts in the package is checked as the consumer's tsc
// sees it. Each of two TypeScripts (the project's own 7, and 5.9.3 from
// tools/typescript-5) checks two projects:
//   - module nodenext: an ES module consumer (.mts) and a CommonJS one (.cts, which
//     require()s the ES module package, as Node 22.12+ allows);
//   - module commonjs: a CommonJS consumer with the classic resolution, `node10` (main and
//     types, no exports) for TypeScript 5; TypeScript 7 removed node10 (TS5108) and resolves
//     a commonjs project as `bundler`.
// Both also include every .d.ts in the package's dist/, reached from the entry or not.
// The consumer's @types/node is the repository's (typeRoots): nothing else is downloaded
// but the package's own dependencies, from npm's cache when it has them. No npm under Wine:
// there the test is skipped, after it ran on the Linux node (npm test runs test/pure/ there
// first); natively on Windows it runs.

import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmCommand, run } from '../../scripts/harness/proc.ts';
import type { RunResult } from '../../scripts/harness/proc.ts';
import { underWine, wineName } from '../support/env.ts';
import { skipUnder } from '../support/skip.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** npm pack builds dist/ first (prepack); then an install and four tsc runs. */
const TIMEOUT_MS = 300_000;
const STEP_TIMEOUT_MS = 240_000;

/**
 * What a consumer writes, the same text as an ES module (.mts), a CommonJS module under
 * nodenext (.cts) and a CommonJS module under module commonjs (.ts). Never run: only
 * type-checked. Each @ts-expect-error must meet an error: were the package's types missing
 * or `any`, tsc would report the directive as unused (TS2578).
 */
const CONSUMER = `import * as http from 'node:http';
import * as https from 'node:https';
import {
  AbortError,
  agent,
  asyncEngine,
  BufferDetachedError,
  CompletionPort,
  constants,
  createConnection,
  createServer,
  EndOfStreamError,
  formatIPv4,
  literalFamily,
  Operation,
  parseIPv4,
  serve,
  Server,
  Socket,
  SocketClosedError,
  SocketStateError,
  SocketStream,
  undiciConnect,
  undiciConnector,
  WinsockError,
} from 'winsock-ffi';
import type {
  AddressFamily,
  AsyncEngine,
  Completion,
  ConnectionTarget,
  ErrorEndpoint,
  ListenOptions,
  NetAddressInfo,
  OperationKind,
  PortState,
  RecvFromResult,
  ServerOptions,
  SocketAddress,
  SocketAddressInput,
  SocketOptions,
  SocketStreamOptions,
  UndiciConnectOptions,
  UndiciConnector,
} from 'winsock-ffi';

export function blocking(): number {
  const options: SocketOptions = { family: 'ipv4', type: 'tcp' };
  const listenOptions: ListenOptions = { backlog: 16, loopbackFastPath: true };
  const listener: Socket = Socket.listen({ address: '127.0.0.1', port: 0 }, listenOptions);
  const local: SocketAddress = listener.localAddress;
  const client = new Socket(options);
  client.setNoDelay(true);
  client.connect(local);
  const server = listener.accept();
  client.sendAll('ping');
  const buffer = Buffer.alloc(4);
  server.recvExact(buffer);
  const received: number = server.recv(buffer);
  const level: number = constants.SOL_SOCKET;
  const family: AddressFamily | null = literalFamily(formatIPv4(parseIPv4('127.0.0.1') ?? new Uint8Array(4)));
  // @ts-expect-error recv() returns a number
  const wrong: string = server.recv(buffer);
  for (const socket of [client, server, listener]) socket.close();
  return received + level + (family === null ? 0 : 1) + wrong.length;
}

export async function promises(signal: AbortSignal): Promise<SocketStream> {
  const target: SocketAddressInput = { address: '::1', port: 8080 };
  const socket: Socket = await Socket.connectAsync(target, { noDelay: true, signal });
  const count: number = await socket.recvAsync(new Uint8Array(64), { signal });
  await socket.sendAsync([Buffer.from('a'), new Uint8Array(count)]);
  const datagram: RecvFromResult = await socket.recvFromAsync(new Uint8Array(16));
  const engine: AsyncEngine = asyncEngine();
  const name: 'event-loop' | 'worker-pump' = engine.name;
  const streamOptions: SocketStreamOptions = { highWaterMark: 65536 };
  const exact: Uint8Array = await socket.recvExactAsync(new Uint8Array(count), { signal });
  for await (const chunk of socket.chunks(1024, { signal })) {
    const own: Buffer = chunk;
    if (own.length > exact.length) break;
  }
  // @ts-expect-error chunks() takes a size, not a buffer
  socket.chunks(Buffer.alloc(4));
  const stream: SocketStream = socket.toStream(streamOptions);
  stream.write(\`\${name} \${datagram.address}:\${datagram.port}\`);
  return stream;
}

export function completionPort(socket: Socket): Completion[] {
  const port = new CompletionPort();
  port.associate(socket, 1);
  const operation: Operation = port.recv(socket, new Uint8Array(16));
  const kind: OperationKind = operation.kind;
  const completions: Completion[] = kind === 'recv' ? port.wait(100) : port.poll();
  for (const completion of completions) {
    const error: WinsockError | BufferDetachedError | null = completion.error;
    if (error instanceof WinsockError) console.log(error.code, error.errno, error.syscall);
  }
  port.close();
  const state: PortState = port.state;
  if (state === 'open') throw new Error('still open');
  // @ts-expect-error the constructor takes no argument (how the package makes its own event-loop port is internal)
  new CompletionPort(Symbol('EVENT_LOOP'));
  // @ts-expect-error Operations come only from a port: the constructor is private
  new Operation();
  return completions;
}

export function servers(): Server {
  const options: ServerOptions = { noDelay: true, loopbackFastPath: true };
  const server: Server = createServer(options, (connection: SocketStream) => connection.pipe(connection));
  server.listen(0, '127.0.0.1', () => {
    const address: NetAddressInfo | null = server.address();
    const client: SocketStream = createConnection({ port: address?.port ?? 0, host: '127.0.0.1', noDelay: true });
    client.end('hello');
  });
  const target: ConnectionTarget = http.createServer((_request, response) => response.end('ok'));
  serve(target, options).listen(8080);
  return server;
}

export function connectors(): [http.Agent, https.Agent, UndiciConnector] {
  const plain: http.Agent = agent({ keepAlive: true, maxSockets: 4, loopbackFastPath: true, readSize: 65536 });
  const secure: https.Agent = agent({ tls: true, keepAlive: true, ca: 'PEM', rejectUnauthorized: true });
  // @ts-expect-error tls is true or false
  agent({ tls: 'yes' });
  const connect: UndiciConnector = undiciConnector({ ca: 'PEM', timeout: 5000, allowH2: false, loopbackFastPath: true });
  const target: UndiciConnectOptions = { hostname: '127.0.0.1', protocol: 'http:', port: '8080' };
  undiciConnect(target, (error, socket) => {
    if (error === null) socket.end();
  });
  return [plain, secure, connect];
}

export function describeError(error: unknown): string {
  if (error instanceof WinsockError) return \`\${error.syscall} \${error.code} \${error.errno} \${error.address ?? ''}\`;
  if (error instanceof SocketClosedError) return error.code;
  if (error instanceof SocketStateError) return error.code;
  if (error instanceof EndOfStreamError) return \`\${error.code} after \${error.bytesRead} of \${error.expected} bytes: \${error.partial.byteLength}\`;
  if (error instanceof BufferDetachedError) return \`\${error.code}: \${error.bytesLost} bytes lost\`;
  if (error instanceof AbortError) return error.code;
  return String(error);
}

const endpoint: ErrorEndpoint = { address: '127.0.0.1', port: 1 };
export const refused: Error = new WinsockError('connect', 10061, endpoint);
`;

/** One TypeScript the consumer may have, found where the repository installed it. */
interface TypeScript {
  readonly name: string;
  /** The version it must be (the test checks that it runs the one it names). */
  readonly version: RegExp;
  /** The package.json whose `typescript` dependency it is. */
  readonly from: string;
}

const TYPESCRIPTS: readonly TypeScript[] = [
  { name: "TypeScript 7 (the project's own)", version: /^7\./, from: path.join(ROOT, 'package.json') },
  { name: 'TypeScript 5.9.3 (tools/typescript-5)', version: /^5\.9\.3$/, from: path.join(ROOT, 'tools', 'typescript-5', 'package.json') },
];

/** The consumer's tsconfig: strict, skipLibCheck off, the package's every .d.ts included. */
function tsconfig(compilerOptions: Record<string, unknown>, files: readonly string[]): string {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      ...compilerOptions,
    },
    files,
    include: ['node_modules/winsock-ffi/dist/**/*.d.ts'],
    // The default exclusion of node_modules would drop the line above.
    exclude: [],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The projects, by name: what each checks, and its tsconfig for each TypeScript major. */
const PROJECTS = [
  {
    name: 'module nodenext: an ES module (.mts) and a CommonJS (.cts) consumer',
    config: (_major: number) => tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, ['consumer.mts', 'consumer.cts']),
  },
  {
    name: 'module commonjs: a CommonJS (.ts) consumer, moduleResolution node10 on TypeScript 5 (removed in 7: its default there, bundler)',
    config: (major: number) => tsconfig({ module: 'commonjs', ...(major < 7 ? { moduleResolution: 'node10' } : {}) }, ['consumer.ts']),
  },
] as const;

/** `npm <args>` in `cwd`, its output captured (shown when it fails). */
async function npm(args: readonly string[], cwd: string): Promise<RunResult> {
  const { command, prefixArgs, shell } = npmCommand();
  return run(command, [...prefixArgs, ...args], { cwd, capture: true, timeoutMs: STEP_TIMEOUT_MS, shell });
}

function failure(what: string, result: RunResult): string {
  const how = result.timedOut ? 'timed out' : `exited with ${result.code ?? result.signal}`;
  return `${what} ${how}:\n${result.output.trim()}\n`;
}

describe('the published types compile in a consumer project (npm pack, skipLibCheck: false)', function () {
  this.timeout(TIMEOUT_MS);
  let work: string | null = null;
  let consumer = '';
  /** The .d.ts files the tarball installed, relative to the package with forward slashes. */
  let declarations: string[] = [];

  before(async function () {
    skipUnder(this, underWine, `no npm under ${wineName}: the published types are checked on the Linux node, which runs test/pure/ before the Wine suite`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock-ffi-consumer-'));
    const packed = path.join(work, 'pack');
    fs.mkdirSync(packed);
    // prepack builds dist/ (npm run build) before packing it.
    const pack = await npm(['pack', '--pack-destination', packed], ROOT);
    if (pack.code !== 0) throw new Error(failure('npm pack', pack));
    const tarballs = fs.readdirSync(packed).filter((name) => name.endsWith('.tgz'));
    expect(tarballs, 'npm pack made one tarball').to.have.lengthOf(1);

    consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '0.0.0', private: true }, null, 2)}\n`);
    // No install scripts: koffi's native part is of no use to tsc (and its win32 package
    // does not install on Linux). --prefix: this project, whatever npm test's npm set.
    const install = await npm(
      ['install', '--prefix', consumer, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', path.join(packed, tarballs[0]!)],
      consumer,
    );
    if (install.code !== 0) throw new Error(failure('npm install of the tarball', install));
    const dist = path.join(consumer, 'node_modules', 'winsock-ffi', 'dist');
    declarations = fs
      .readdirSync(dist, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.d.ts'))
      .map((file) => file.replaceAll('\\', '/'))
      .sort();
    expect(declarations, 'the tarball ships dist/index.d.ts').to.include('index.d.ts');
    for (const extension of ['mts', 'cts', 'ts']) fs.writeFileSync(path.join(consumer, `consumer.${extension}`), CONSUMER);
  });

  after(function () {
    if (work !== null) fs.rmSync(work, { recursive: true, force: true, maxRetries: 5 });
  });

  for (const typescript of TYPESCRIPTS) {
    for (const [index, project] of PROJECTS.entries()) {
      it(`${typescript.name}, ${project.name}`, async function () {
        let manifest: string;
        try {
          manifest = createRequire(typescript.from).resolve('typescript/package.json');
        } catch {
          throw new Error(`no typescript installed for ${typescript.from}: run \`npm install\``);
        }
        const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string };
        expect(version, `${manifest}: run \`npm install\``).to.match(typescript.version);
        const major = Number.parseInt(version, 10);
        const config = `tsconfig.${major}.${index}.json`;
        fs.writeFileSync(path.join(consumer, config), project.config(major));
        const tsc = path.join(path.dirname(manifest), 'bin', 'tsc');
        const result = await run(process.execPath, [tsc, '-p', config, '--listFiles'], { cwd: consumer, capture: true, timeoutMs: STEP_TIMEOUT_MS });
        // --listFiles prints every file read, one absolute path a line: the rest is what tsc had to say.
        const lines = result.output.split(/\r?\n/).map((line) => line.trim());
        const isListed = (line: string) => path.isAbsolute(line) && /\.[cm]?ts$/.test(line);
        const said = lines.filter((line) => line !== '' && !isListed(line)).join('\n');
        expect(result.code, failure(`tsc ${version} -p ${config}`, { ...result, output: said })).to.equal(0);
        // Every .d.ts the tarball ships was part of the check.
        const listed = lines.filter(isListed).map((line) => line.replaceAll('\\', '/'));
        const unchecked = declarations.filter((file) => !listed.some((line) => line.endsWith(`/node_modules/winsock-ffi/dist/${file}`)));
        expect(unchecked, 'declarations tsc did not read').to.deep.equal([]);
      });
    }
  }
});
