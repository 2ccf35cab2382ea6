// Run once per benchmark on the Windows side: what the system is (for the report's
// environment) and which rows can run here, each "no" with the reason the system gave.
//
//   node bench/probe.ts <result file>
import fs from 'node:fs';
import os from 'node:os';
import { loopbackFastPathSupported, Socket } from '../src/index.ts';
import { handleOf } from '../src/socket.ts';
import { SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER } from '../src/sys/windows/constants.ts';
import { errorName } from '../src/sys/windows/error-names.ts';
import { lastError, windowsVersion, wineVersion, wsaIoctl } from '../src/sys/windows/ffi.ts';
import { implementedModes, notImplemented } from './modes/index.ts';
import { MODES } from './protocol.ts';
import type { ProbeResult } from './protocol.ts';

const resultFile = process.argv[2];
if (resultFile === undefined) throw new Error('usage: node bench/probe.ts <result file>');

/** WSAID_MULTIPLE_RIO {8509e081-96dd-4005-b165-9e2ee8c79e3f}, as the GUID struct lays it out. */
function rioGuid(): Buffer {
  const guid = Buffer.alloc(16);
  guid.writeUInt32LE(0x8509e081, 0);
  guid.writeUInt16LE(0x96dd, 4);
  guid.writeUInt16LE(0x4005, 6);
  Buffer.from([0xb1, 0x65, 0x9e, 0x2e, 0xe8, 0xc7, 0x9e, 0x3f]).copy(guid, 8);
  return guid;
}

/** Whether the system hands out the RIO function table; null when it does, else the error's name. */
function rioUnavailableBecause(): string | null {
  const socket = new Socket();
  try {
    // RIO_EXTENSION_FUNCTION_TABLE: DWORD cbSize (padded to 8) and 13 function pointers.
    const table = Buffer.alloc(8 + 13 * 8);
    const bytes = new Uint32Array(1);
    const rc = wsaIoctl(socket[handleOf]('probe'), SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, rioGuid(), table, bytes);
    return rc === 0 ? null : errorName(lastError());
  } finally {
    socket.close();
  }
}

function modeAvailability(): ProbeResult['modes'] {
  const out = {} as ProbeResult['modes'];
  for (const mode of MODES) {
    if (implementedModes[mode] !== undefined) {
      out[mode] = { available: true, reason: null };
      continue;
    }
    let reason = notImplemented[mode] ?? 'not implemented yet';
    if (mode === 'rio-poll') {
      const rio = rioUnavailableBecause();
      reason += rio === null ? ' (this system does offer it)' : `; this system does not offer it either (WSAID_MULTIPLE_RIO: ${rio})`;
    }
    out[mode] = { available: false, reason };
  }
  return out;
}

const windows = windowsVersion();
const cpus = os.cpus();
// koffi's package.json is not in its "exports"; the benchmark runs from the repository.
const koffiVersion = (JSON.parse(fs.readFileSync(new URL('../node_modules/koffi/package.json', import.meta.url), 'utf8')) as { version: string }).version;
const fastPath = loopbackFastPathSupported();
const fastPathReason = fastPath ? null : 'WSAEOPNOTSUPP: this system has no TCP loopback fast path (SIO_LOOPBACK_FAST_PATH)';

const result: ProbeResult = {
  environment: {
    os: `Windows ${windows.major}.${windows.minor}.${windows.build}`,
    wine: wineVersion(),
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    node: process.version,
    koffi: koffiVersion,
  },
  fastPath: { supported: fastPath, reason: fastPathReason },
  modes: modeAvailability(),
};
fs.writeFileSync(resultFile, JSON.stringify(result));
