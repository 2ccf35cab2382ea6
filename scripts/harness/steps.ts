// Progress and failure reporting for the commands that provision Windows Node.js under
// Wine (npm test, npm run bench, npm run win): every failure names the step it happened in,
// so a red CI log says at once whether tests failed or provisioning did, and every progress
// line names the command it comes from.

/** A failure of the harness itself (not of a test), tagged with the step it happened in. */
export class HarnessError extends Error {
  readonly step: string;

  constructor(step: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HarnessError';
    this.step = step;
  }
}

/** The command that uses the harness: its tag on progress lines and how advice names it. */
let command: { tag: string; rerun: string; to: 'stdout' | 'stderr' } = { tag: 'npm test', rerun: 'npm test', to: 'stdout' };

/**
 * Names the command that uses the harness, once at its start: `tag` marks its progress
 * lines (`[bench] ...`), `rerun` is how messages tell the user to run it again
 * (`npm run bench`), `to` is where the lines go (stderr for a command whose stdout is its
 * program's, as `npm run win`). Without a call: `npm test`, on stdout.
 */
export function setHarnessCommand(tag: string, rerun: string, to: 'stdout' | 'stderr' = 'stdout'): void {
  command = { tag, rerun, to };
}

/** How to run the current command again ("npm test", "npm run bench"), for advice in messages. */
export function harnessCommand(): string {
  return command.rerun;
}

/** Prints a harness progress line, marked so it stands out from the command's own output. */
export function say(message: string): void {
  process[command.to].write(`[${command.tag}] ${message}\n`);
}

/** Runs one named step; any error it throws becomes a HarnessError naming that step. */
export async function step<T>(name: string, body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new HarnessError(name, message, { cause: error });
  }
}
