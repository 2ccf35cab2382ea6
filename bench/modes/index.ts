// Which I/O modes this build of the benchmark can run. A mode missing here is reported
// by the probe with the reason below, never measured.
import type { ModeName } from '../protocol.ts';
import type { Mode } from './mode.ts';
import { promise, stream } from './async.ts';
import { iocpPoll, iocpWait } from './iocp.ts';
import { nodeNet } from './node-net.ts';
import { rioPoll } from './rio.ts';
import { blocking, nonblockingPoll } from './winsock-sync.ts';

export const implementedModes: Partial<Record<ModeName, Mode>> = {
  'node:net': nodeNet,
  blocking,
  'nonblocking-poll': nonblockingPoll,
  'iocp-wait': iocpWait,
  'iocp-poll': iocpPoll,
  'rio-poll': rioPoll,
  promise,
  stream,
};

/** Why a mode has no implementation in this build. */
export const notImplemented: Partial<Record<ModeName, string>> = {};
