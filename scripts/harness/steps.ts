// Progress and failure reporting for scripts/test.ts: every failure names the step it
// happened in, so a red CI log says at once whether tests failed or provisioning did.

/** A failure of the harness itself (not of a test), tagged with the step it happened in. */
export class HarnessError extends Error {
  readonly step: string;

  constructor(step: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HarnessError';
    this.step = step;
  }
}

/** Prints a harness progress line, marked so it stands out from test output. */
export function say(message: string): void {
  process.stdout.write(`[npm test] ${message}\n`);
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
