// Child processes in tests: Windows node.exe runs a fixture with its output going to
// files (never a pipe: under Wine that fails with EBADF).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { skipUnder } from './skip.ts';

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

/**
 * Windows Node.js 23 to 25 can die at exit, after the program's work is done, with
 * "Assertion failed: !(handle->flags & UV_HANDLE_CLOSING), file src\win\async.c": Node
 * calls uv_async_send() on a handle it has begun to close (nodejs/node#56645), and the
 * process ends with STATUS_STACK_BUFFER_OVERRUN. Measured here: 2 of 15 runs of the
 * threadpool fixture on Windows Node 24.21.0 under Wine 10, none of 15 of a plain script,
 * none of 12 on 26.10.0, never on 22. Not this package's: it makes no uv_async_send().
 */
const NODE_EXIT_RACE_STATUS = 0xc0000409;
const NODE_EXIT_RACE_TEXT = 'Assertion failed: !(handle->flags & UV_HANDLE_CLOSING), file src\\win\\async.c';

/**
 * The child's exit code, as exited(); when the child hit Node's exit race instead (its
 * stderr, in `stderrFile`, shows that assertion and the code is Windows' for it), the test
 * is skipped with that reason rather than failed: whatever the child did before exiting is
 * then for the caller to have checked already, or not at all.
 */
export async function exitCodeOrSkip(ctx: Mocha.Context, child: ChildProcess, withinMs: number, stderrFile: string): Promise<number | null> {
  const code = await exited(child, withinMs);
  if (code === NODE_EXIT_RACE_STATUS) {
    let stderr = '';
    try {
      stderr = fs.readFileSync(stderrFile, 'utf8');
    } catch {
      // No stderr: not the race we know.
    }
    if (stderr.includes(NODE_EXIT_RACE_TEXT)) {
      skipUnder(ctx, true, `Windows Node.js ${process.versions.node} hit its own exit race (nodejs/node#56645: uv_async_send on a closing handle) as the child exited`);
    }
  }
  return code;
}
