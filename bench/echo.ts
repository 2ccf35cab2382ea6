// One row of the benchmark, echo side: started by bench/sender.ts, connects to it and
// sends every message straight back, in the same I/O mode, until the sender closes.
// Errors go into errorFile (stdio is ignored: under Wine node.exe cannot have pipes).
//
//   node bench/echo.ts '{"mode":...,"port":...,"fastPath":...,"size":...,"errorFile":...}'
import fs from 'node:fs';
import { implementedModes } from './modes/index.ts';
import type { ModeName } from './protocol.ts';
import { Message } from './recorder.ts';

interface EchoArgs {
  mode: ModeName;
  port: number;
  fastPath: boolean;
  size: number;
  errorFile: string;
}

const args = JSON.parse(process.argv[2] ?? '') as EchoArgs;

async function main(): Promise<void> {
  const mode = implementedModes[args.mode];
  if (mode === undefined) throw new Error(`mode ${args.mode} is not implemented in this build`);
  await mode.echo(args.port, args.fastPath, new Message(args.size));
}

main().catch((error: unknown) => {
  fs.writeFileSync(args.errorFile, error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
