// Linux-native peers for tests under Wine: a Linux node started from inside Wine with
// `start.exe /unix`, talking to the code under test over real loopback sockets, and
// the path translation between Wine's Z: drive and the Unix side.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
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
