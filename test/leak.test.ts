// Handles must not leak: thousands of open/close cycles leave the process with as
// many handles as before. Real Windows counts them (GetProcessHandleCount); Wine 8
// stubs that call, so there the evidence is that socket handle values stay small
// (Wine reuses a freed value at once) and that the Wine process's Linux descriptor
// count, visible at Z:\proc\self\fd, does not grow.

import { expect } from 'chai';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Socket, processHandleCount } from '../src/index.ts';
import { underWine } from './support/env.ts';

const CYCLES = 10_000;
const CONNECTION_CYCLES = 500;
// Handles other parts of the process (Node, mocha, the GC) may open meanwhile.
const HANDLE_SLACK = 64;
const WINE_FD_DIRECTORY = 'Z:\\proc\\self\\fd';

function wineDescriptorCount(): number {
  return fs.readdirSync(WINE_FD_DIRECTORY).length;
}

interface Watch {
  readonly handleCount: number;
  readonly descriptors: number;
}

/** The handle measure used here: descriptors under Wine, the handle count on Windows. */
function openHandles(): number {
  return underWine ? wineDescriptorCount() : processHandleCount();
}

function snapshot(): Watch {
  return { handleCount: processHandleCount(), descriptors: underWine ? wineDescriptorCount() : 0 };
}

function expectNoGrowth(before: Watch, firstHandle: number, highestHandle: number): void {
  const after = snapshot();
  if (underWine) {
    expect(after.handleCount, 'GetProcessHandleCount is a stub under Wine 8').to.equal(0);
    expect(highestHandle, `highest socket handle seen (first was ${firstHandle})`).to.be.at.most(firstHandle * 4 + 256);
    expect(after.descriptors, 'Linux descriptors of the Wine process').to.be.at.most(before.descriptors + HANDLE_SLACK);
  } else {
    expect(before.handleCount).to.be.greaterThan(0);
    expect(after.handleCount, 'process handle count').to.be.at.most(before.handleCount + HANDLE_SLACK);
  }
}

describe('handle leaks', function () {
  this.timeout(120_000);

  it('the measure is not blind: open sockets show in it', function () {
    // Before the tests that rely on it. Other handles may come and go meanwhile, hence the margins.
    const before = openHandles();
    const sockets = Array.from({ length: 50 }, () => new Socket());
    const during = openHandles();
    for (const socket of sockets) socket.close();
    const after = openHandles();
    expect(during, `before ${before}`).to.be.at.least(before + 45);
    expect(after, `with 50 open ${during}`).to.be.at.most(during - 45);
  });

  it(`${CYCLES} open/close cycles (both families, TCP and UDP) do not grow the handle count`, function () {
    const before = snapshot();
    let first = 0;
    let highest = 0;
    for (let i = 0; i < CYCLES; i++) {
      const socket = new Socket({ family: i % 2 === 0 ? 'ipv4' : 'ipv6', type: i % 3 === 0 ? 'udp' : 'tcp' });
      const handle = Number(socket.handle);
      if (i === 0) first = handle;
      if (handle > highest) highest = handle;
      if (i % 2 === 0) socket.close();
      else socket[Symbol.dispose]();
    }
    expectNoGrowth(before, first, highest);
  });

  it(`${CONNECTION_CYCLES} connect/accept/exchange/close cycles and failed listens do not either`, function () {
    const listener = Socket.listen({ address: '127.0.0.1', port: 0 });
    try {
      const before = snapshot();
      const byte = Buffer.alloc(1);
      let first = 0;
      let highest = 0;
      for (let i = 0; i < CONNECTION_CYCLES; i++) {
        const client = Socket.connect(listener.localAddress, { noDelay: i % 2 === 0 });
        const server = listener.accept();
        const handle = Math.max(Number(client.handle), Number(server.handle));
        if (i === 0) first = handle;
        if (handle > highest) highest = handle;
        client.send(byte);
        server.recv(byte);
        client.close();
        server.close();
        // A failing Socket.listen (port in use) must close the socket it created.
        try {
          Socket.listen(listener.localAddress);
          expect.fail('listening on a port in use succeeded');
        } catch (error) {
          expect((error as { code?: string }).code).to.equal('WSAEADDRINUSE');
        }
      }
      expectNoGrowth(before, first, highest);
    } finally {
      listener.close();
    }
  });

  it('a Socket dropped without close() gives its handle back once collected', async function () {
    // The FinalizationRegistry safety net. gc() without --expose-gc on the command line.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const before = openHandles();
    (() => {
      for (let i = 0; i < 50; i++) new Socket({ type: i % 2 === 0 ? 'tcp' : 'udp' });
    })();
    const during = openHandles();
    expect(during).to.be.at.least(before + 45);
    let after = during;
    for (let attempt = 0; attempt < 50 && after > before + 5; attempt++) {
      gc();
      await sleep(20); // finalizers run as tasks after the collection
      after = openHandles();
    }
    expect(after, `handles before ${before}, with 50 dropped sockets ${during}`).to.be.at.most(before + 5);
  });
});
