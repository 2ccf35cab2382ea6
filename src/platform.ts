// What the running system offers, probed once.

import { Socket } from './socket.ts';
import * as sys from './sys/index.ts';

let fastPathSupported: boolean | undefined;

/**
 * Whether this system has the TCP loopback fast path (SIO_LOOPBACK_FAST_PATH): asks
 * once on a throw-away socket. False on Windows 7 and under Wine (WSAEOPNOTSUPP).
 */
export function loopbackFastPathSupported(): boolean {
  if (fastPathSupported === undefined) {
    const probe = new Socket({ family: 'ipv4', type: 'tcp' });
    try {
      fastPathSupported = probe.enableLoopbackFastPath();
    } finally {
      probe.close();
    }
  }
  return fastPathSupported;
}

/** Wine's version when the process runs under Wine, else null. */
export function wineVersion(): string | null {
  return sys.wineVersion();
}

/** GetProcessHandleCount for this process (Wine 8 answers 0: it is a stub there). */
export function processHandleCount(): number {
  return sys.processHandleCount();
}
