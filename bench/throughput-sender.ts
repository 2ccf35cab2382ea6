// One row of the throughput table, sending side: started by bench/throughput.ts, connects
// to it and sends `bytes` bytes of the pattern (bench/pattern.ts) in `writeSize` writes,
// in the same mode, then ends the stream and waits for the receiver to close.
// Errors go into errorFile (stdio is ignored: under Wine node.exe cannot have pipes).
//
//   node bench/throughput-sender.ts '{"mode":...,"port":...,"bytes":...,"writeSize":...,"errorFile":...}'
import fs from 'node:fs';
import { bulkModes } from './modes/bulk.ts';
import { Pattern } from './pattern.ts';
import type { ThroughputModeName } from './protocol.ts';

interface SenderArgs {
  mode: ThroughputModeName;
  port: number;
  bytes: number;
  writeSize: number;
  errorFile: string;
}

const args = JSON.parse(process.argv[2] ?? '') as SenderArgs;

async function main(): Promise<void> {
  const mode = bulkModes[args.mode];
  if (mode === undefined) throw new Error(`mode ${args.mode} has no throughput implementation`);
  await mode.send(args.port, args.bytes, args.writeSize, new Pattern());
}

main().catch((error: unknown) => {
  fs.writeFileSync(args.errorFile, error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
