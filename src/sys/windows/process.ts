// The process and the machine it runs on: process id, handle count, Wine or Windows and
// which version, and the performance counter the benchmark times with. No socket here.

import { isWindows, kernel32, ntdll } from './ffi.ts';

/** GetCurrentProcessId (the process a duplicated socket is meant for). */
export function currentProcessId(): number {
  return kernel32().GetCurrentProcessId();
}

/** GetProcessHandleCount for this process, or -1 when the system will not say; Wine 8 answers 0 (a stub). A diagnostic, so no error. */
export function processHandleCount(): number {
  const out = [0];
  const ok = kernel32().GetProcessHandleCount(kernel32().GetCurrentProcess(), out);
  return ok ? (out[0] as number) : -1;
}

/** Wine's version when the process runs under Wine (ntdll exports wine_get_version), else null. */
export function wineVersion(): string | null {
  return isWindows() ? (ntdll('wine_get_version')?.() ?? null) : null;
}

/** The Windows version the OS reports (RtlGetVersion does not lie about manifests). */
export function windowsVersion(): { major: number; minor: number; build: number } {
  // RTL_OSVERSIONINFOW: ULONG size, major, minor, build, platform; WCHAR csd[128]. 276 bytes.
  const info = Buffer.alloc(276);
  info.writeUInt32LE(276, 0);
  ntdll('RtlGetVersion')?.(info);
  return { major: info.readUInt32LE(4), minor: info.readUInt32LE(8), build: info.readUInt32LE(12) };
}

/** QueryPerformanceCounter into an 8-byte cell (no allocation per call). */
export function queryPerformanceCounter(cell: BigInt64Array): void {
  kernel32().QueryPerformanceCounter(cell);
}

export function queryPerformanceFrequency(): bigint {
  const out: unknown[] = [0n];
  kernel32().QueryPerformanceFrequency(out);
  return BigInt(out[0] as bigint | number);
}
