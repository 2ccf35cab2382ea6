// Linux-native peers for tests under Wine: a Linux node started from inside Wine with
// `start.exe /unix`, talking to the code under test over real loopback sockets, and
// the path translation between Wine's Z: drive and the Unix side.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnder } from './skip.ts';
import { underWine } from './env.ts';

/** Wine maps the Unix root to drive Z:. */
export function unixToWine(unixPath: string): string {
  return `Z:${unixPath.replaceAll('/', '\\')}`;
}

export function wineToUnix(windowsPath: string): string {
  if (!/^z:\\/i.test(windowsPath)) throw new Error(`${windowsPath} is not on Wine's Z: drive`);
  return windowsPath.slice(2).replaceAll('\\', '/');
}

/**
 * The Unix path of a Linux-native node (npm test passes its own as WINSOCK_FFI_LINUX_NODE);
 * skips the running test, with the reason, outside Wine or when there is none.
 */
export function linuxNodeOrSkip(ctx: Mocha.Context): string {
  skipUnder(ctx, !underWine, 'runs under Wine only: it starts a Linux-native node with `start.exe /unix`');
  const linuxNode = [process.env.WINSOCK_FFI_LINUX_NODE, '/usr/bin/node', '/usr/local/bin/node'].find(
    (candidate) => candidate !== undefined && candidate !== '' && fs.existsSync(unixToWine(candidate)),
  );
  skipUnder(ctx, linuxNode === undefined, 'no Linux-native node found (set WINSOCK_FFI_LINUX_NODE to its Unix path)');
  return linuxNode!;
}

/** Runs `script` (a Windows path of ours) with the Linux node, outside Wine. */
export function startLinuxNode(linuxNode: string, script: string, args: readonly string[]): ChildProcess {
  return spawn('start.exe', ['/unix', linuxNode, wineToUnix(script), ...args], { stdio: 'ignore' });
}

/** What test/fixtures/linux-reset-client.mjs reports. */
export interface ResetClientsResult {
  readonly platform: string;
  /** Connections that read what they wanted and then reset. */
  readonly resets: number;
  readonly errorCount: number;
  /** The first few problems (an error, or the server closing first). */
  readonly errors: readonly string[];
}

/**
 * Starts test/fixtures/linux-reset-client.mjs on the Linux node: `count` connections to
 * 127.0.0.1:`port`, `concurrency` at a time, each sending a request (`requestBytes` bytes,
 * or an HTTP GET with `http`), reading `readBytes` of the reply and then resetting (an
 * RST mid-response). `result()` waits for its report.
 */
export function startResetClients(
  linuxNode: string,
  options: { port: number; count: number; concurrency: number; readBytes: number; requestBytes?: number; http?: boolean },
): { child: ChildProcess; result(withinMs: number): Promise<ResetClientsResult> } {
  const resultUnix = `/tmp/winsock-ffi-reset-clients-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e9)}.json`;
  const script = path.join(fileURLToPath(new URL('../fixtures/', import.meta.url)), 'linux-reset-client.mjs');
  const args = [options.port, options.count, options.concurrency, options.readBytes, options.requestBytes ?? 100].map(String);
  const child = startLinuxNode(linuxNode, script, [...args, options.http === true ? 'http' : 'raw', resultUnix]);
  const result = async (withinMs: number): Promise<ResetClientsResult> => {
    const file = unixToWine(resultUnix);
    const deadline = Date.now() + withinMs;
    while (!fs.existsSync(file)) {
      if (Date.now() > deadline) throw new Error(`the Linux reset clients wrote no result within ${withinMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')) as ResetClientsResult;
    } finally {
      fs.rmSync(file, { force: true });
    }
  };
  return { child, result };
}
