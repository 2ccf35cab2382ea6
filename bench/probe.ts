// Run once per benchmark on the Windows side: what the system is (for the report's
// environment) and which rows can run here, each "no" with the reason the system gave.
//
//   node bench/probe.ts <result file>
import fs from 'node:fs';
import os from 'node:os';
import koffi from 'koffi';
import { loopbackFastPathSupported } from '#winsock-ffi';
import { windowsVersion, wineVersion } from '#winsock-ffi/sys';
import { implementedModes, notImplemented } from './modes/index.ts';
import { MODES } from './protocol.ts';
import type { ProbeResult } from './protocol.ts';

const resultFile = process.argv[2];
if (resultFile === undefined) throw new Error('usage: node bench/probe.ts <result file>');

function modeAvailability(): ProbeResult['modes'] {
  const out = {} as ProbeResult['modes'];
  for (const mode of MODES) {
    const implemented = implementedModes[mode];
    if (implemented !== undefined) {
      // A mode the system may lack (rio-poll) is n/a with the system's own answer.
      const missing = implemented.unavailableBecause?.() ?? null;
      out[mode] = { available: missing === null, reason: missing };
      continue;
    }
    out[mode] = { available: false, reason: notImplemented[mode] ?? 'not implemented yet' };
  }
  return out;
}

const windows = windowsVersion();
const cpus = os.cpus();
// The version of the koffi the library loaded (the package's own, wherever npm put it).
const koffiVersion = koffi.version;
const fastPath = loopbackFastPathSupported();
const fastPathReason = fastPath ? null : 'WSAEOPNOTSUPP: this system has no TCP loopback fast path (SIO_LOOPBACK_FAST_PATH)';

const result: ProbeResult = {
  environment: {
    os: `Windows ${windows.major}.${windows.minor}.${windows.build}`,
    wine: wineVersion(),
    // Windows Node 26 under Wine 10 gets an empty os.cpus(): the count then comes from
    // availableParallelism(), and the model is unknown.
    cpu: cpus[0]?.model.trim() ?? 'unknown (os.cpus() is empty here)',
    cpuCount: cpus.length > 0 ? cpus.length : os.availableParallelism(),
    node: process.version,
    koffi: koffiVersion,
  },
  fastPath: { supported: fastPath, reason: fastPathReason },
  modes: modeAvailability(),
};
fs.writeFileSync(resultFile, JSON.stringify(result));
