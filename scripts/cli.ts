#!/usr/bin/env node
// `winsock-ffi`, the package's command (package.json "bin", built into dist/scripts/cli.js):
//
//   npx winsock-ffi bench [options]    the benchmark (scripts/bench.ts), as `npm run bench`
//
// On Windows the benchmark's processes run on this node with the installed package's
// dist/; elsewhere on Windows Node.js under Wine, provisioned into a per-user cache as
// `npm test` does (bench/layout.ts says where). Nothing here needs more than koffi.

const USAGE = `Usage: npx winsock-ffi <command> [options]

Commands:
  bench [options]   the loopback latency table (node:net, every winsock-ffi I/O mode with
                    the fast path off and on, Registered I/O, the C reference) measured on
                    this machine; --throughput and --connections for the other tables.
                    npx winsock-ffi bench --help lists every option.

On Windows it runs on this node. On Linux it runs the Windows side under Wine with
Windows Node.js, both set up on first use (Wine from apt-get when run as root).`;

const [command, ...rest] = process.argv.slice(2);

if (command === 'bench') {
  if (process.platform === 'win32' && !rest.includes('--help') && !rest.includes('-h')) await checkKoffi();
  // scripts/bench.ts reads its options from process.argv and runs when imported.
  process.argv.splice(2, 1);
  await import('./bench.ts');
} else if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
  process.stdout.write(`${USAGE}\n`);
} else {
  process.stderr.write(`winsock-ffi: unknown command "${command}"\n\n${USAGE}\n`);
  process.exitCode = 1;
}

/**
 * On Windows the benchmark loads koffi in every process: say at once, and how to fix it,
 * when its Windows module is missing (a node_modules installed by npm on Linux has only
 * Linux's, e.g. when running Windows node.exe under Wine against it).
 */
async function checkKoffi(): Promise<void> {
  try {
    await import('koffi');
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(
      `winsock-ffi bench: koffi does not load on this Windows node (${reason}).\n` +
        "koffi's native module comes in one npm package per platform, and npm installs only the one for the\n" +
        'machine that ran it: @koromix/koffi-win32-x64 is needed here. Run `npm install` on Windows; to prepare\n' +
        'node_modules from Linux, `npm install --os=win32 --cpu=x64`, or run `npx winsock-ffi bench` once on\n' +
        'Linux, which adds it beside koffi.\n',
    );
    process.exit(1);
  }
}
