// `npm run win:modules -- DIR` (scripts/win-modules.ts) end to end, on the Linux node that
// runs npm test: DIR gets this checkout packed and installed with its runtime dependencies
// for win32-x64 (koffi's Windows module, not its Linux one), the checkout's own
// node_modules keeps its Linux tools (TypeScript 7's native binary), and a script in DIR
// that imports winsock-ffi runs on Windows Node.js under Wine (`npm run win`) from DIR's
// node_modules alone.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** npm pack (a build), an install from npm's cache or the registry, then Wine. */
const TIMEOUT_MS = 20 * 60_000;

/** Runs one of the package's scripts as `npm run NAME -- ...args` would, started in `from`. */
function script(file: string, args: readonly string[], from: string): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, INIT_CWD: from };
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', file), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: TIMEOUT_MS });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The script run in DIR: a loopback exchange, and where winsock-ffi and koffi were loaded from. */
const APP = `import { createRequire } from 'node:module';
import { Socket } from 'winsock-ffi';
const require = createRequire(import.meta.url);
const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
const client = Socket.connect({ address: '127.0.0.1', port: listener.localAddress.port });
const server = listener.accept();
client.sendAll('ping');
const buffer = Buffer.alloc(4);
server.recvExact(buffer);
for (const socket of [client, server, listener]) socket.close();
console.log(JSON.stringify({ got: buffer.toString(), winsockFfi: require.resolve('winsock-ffi'), koffi: require.resolve('koffi') }));
`;

describe('npm run win:modules (scripts/win-modules.ts)', function () {
  this.timeout(TIMEOUT_MS + 60_000);
  let dir = '';

  before(function () {
    if (process.platform === 'win32') this.skip(); // it is for preparing Windows modules elsewhere
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'winsock-ffi-win-modules-'));
  });

  after(() => {
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs the package and its win32-x64 runtime dependencies into DIR, leaving the checkout alone, and a script there runs under Wine', () => {
    const linuxTypeScript = path.join(ROOT, 'node_modules', '@typescript', 'typescript-linux-x64');
    const hadLinuxTypeScript = fs.existsSync(linuxTypeScript);
    const made = script('win-modules.ts', ['deploy'], dir);
    expect(made.code, `${made.stdout}\n${made.stderr}`).to.equal(0);
    const deploy = path.join(dir, 'deploy');
    const modules = path.join(deploy, 'node_modules');
    expect(fs.readdirSync(path.join(modules, '@koromix'))).to.deep.equal(['koffi-win32-x64']);
    expect(fs.existsSync(path.join(modules, 'winsock-ffi', 'dist', 'index.js'))).to.equal(true);
    expect(fs.existsSync(path.join(modules, 'mocha')), 'no devDependencies').to.equal(false);
    expect(JSON.parse(fs.readFileSync(path.join(deploy, 'package.json'), 'utf8'))).to.deep.include({ private: true, type: 'module' });
    expect(fs.existsSync(linuxTypeScript)).to.equal(hadLinuxTypeScript);
    expect(fs.existsSync(path.join(ROOT, 'node_modules', '@koromix', 'koffi-linux-x64'))).to.equal(true);

    fs.writeFileSync(path.join(deploy, 'app.mjs'), APP);
    const ran = script('win.ts', ['app.mjs'], deploy);
    expect(ran.code, ran.stderr).to.equal(0);
    const line = ran.stdout.split('\n').find((candidate) => candidate.startsWith('{'));
    const seen = JSON.parse(line ?? '{}') as { got?: string; winsockFfi?: string; koffi?: string };
    expect(seen.got).to.equal('ping');
    // Windows spells the folder Z:\tmp\...: compare the tail.
    expect(seen.winsockFfi).to.match(/deploy\\node_modules\\winsock-ffi\\dist\\index\.js$/);
    expect(seen.koffi).to.match(/deploy\\node_modules\\koffi\\/);
  });
});
