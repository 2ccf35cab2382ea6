// Child processes in tests: Windows node.exe runs a fixture with its output going to
// files (never a pipe: under Wine that fails with EBADF).
import type { ChildProcess } from 'node:child_process';

/** Resolves with the child's exit code; rejects when it has not exited within `withinMs`. */
export function exited(child: ChildProcess, withinMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`child did not exit within ${withinMs} ms`)), withinMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}
