// One `npm test` at a time per cache folder: runs share the Wine prefix, and each run
// ends with `wineserver -k`, which would kill a concurrent run's node.exe. The lock
// also serialises unpacking into the cache and node_modules.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { say } from './steps.ts';

const POLL_MS = 1000;
/** A lock folder without an owner file older than this is a crash between mkdir and write. */
const OWNERLESS_GRACE_MS = 10_000;

export interface CacheLock {
  release(): void;
  /** The previous holder died without releasing it: its Wine processes may still be running. */
  previousRunWasKilled: boolean;
}

/** Waits for and takes the cache lock (released at the latest when this process exits). */
export async function acquireCacheLock(cacheDir: string): Promise<CacheLock> {
  const lockDir = path.join(cacheDir, 'npm-test.lock');
  const ownerFile = path.join(lockDir, 'pid');
  let announced = false;
  let previousRunWasKilled = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir); // atomic: exactly one process creates it
      fs.writeFileSync(ownerFile, String(process.pid));
      const release = (): void => {
        fs.rmSync(lockDir, { recursive: true, force: true });
        process.off('exit', release);
      };
      process.on('exit', release);
      return { release, previousRunWasKilled };
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const owner = lockOwner(ownerFile);
    if (owner === undefined ? isOlderThan(lockDir, OWNERLESS_GRACE_MS) : !isAlive(owner)) {
      // Left by a run that was killed: take it over.
      fs.rmSync(lockDir, { recursive: true, force: true });
      previousRunWasKilled = true;
      continue;
    }
    if (!announced) {
      say(`waiting for another run (npm test, npm run bench or npm run win; pid ${owner ?? '?'}) that uses ${cacheDir}`);
      announced = true;
    }
    await sleep(POLL_MS);
  }
}

function lockOwner(ownerFile: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(ownerFile, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM'); // exists, but belongs to another user
  }
}

function isOlderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return true; // vanished: the next mkdir decides
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
