// Where the benchmark finds its files and its cache (bench/layout.ts): the repository's
// TypeScript here; an installed package's dist/ and per-user cache are exercised by
// test/packed/. Pure: runs on any node.

import { expect } from 'chai';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchLayout, siblingScript, userCacheDir } from '../../bench/layout.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the benchmark layout (bench/layout.ts)', function () {
  it('in the repository: the TypeScript scripts as named, the sources of the library, the C source, no prebuilt C', function () {
    expect(benchLayout.installed).to.equal(false);
    expect(path.resolve(benchLayout.root)).to.equal(path.resolve(ROOT));
    expect(benchLayout.script('bench/sender.ts')).to.equal('bench/sender.ts');
    expect(benchLayout.nodeArgs).to.deep.equal([]);
    expect(benchLayout.cSource).to.equal(path.join(benchLayout.root, 'bench', 'c', 'reference.c'));
    expect(benchLayout.cPrebuilt).to.equal(null);
    expect(benchLayout.cacheDir).to.equal(path.resolve(ROOT, process.env.WINSOCK_FFI_CACHE || '.cache'));
    expect(benchLayout.command).to.equal('npm run bench --');
  });

  it("a script's sibling in the same language (the echo beside the sender)", function () {
    const at = (...parts: string[]): string => pathToFileURL(path.join(ROOT, ...parts)).href;
    expect(siblingScript(at('bench', 'sender.ts'), 'echo')).to.equal(path.join(ROOT, 'bench', 'echo.ts'));
    expect(siblingScript(at('dist', 'bench', 'sender.js'), 'echo')).to.equal(path.join(ROOT, 'dist', 'bench', 'echo.js'));
  });

  it("an installed package's cache: $XDG_CACHE_HOME/winsock-ffi, else ~/.cache/winsock-ffi; %LOCALAPPDATA%\\winsock-ffi on Windows", function () {
    expect(userCacheDir({ XDG_CACHE_HOME: '/var/tmp/xdg' }, 'linux')).to.equal(path.join('/var/tmp/xdg', 'winsock-ffi'));
    expect(userCacheDir({}, 'linux')).to.equal(path.join(os.homedir(), '.cache', 'winsock-ffi'));
    // The XDG spec: a relative path is invalid and ignored.
    expect(userCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux')).to.equal(path.join(os.homedir(), '.cache', 'winsock-ffi'));
    expect(userCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local', XDG_CACHE_HOME: '/ignored' }, 'win32')).to.equal(path.join('C:\\Users\\u\\AppData\\Local', 'winsock-ffi'));
  });
});
