// The node:net drop-in's arguments, against node:net in the same Windows node process:
// the table of test/support/net-argument-cases.ts (all of it here, listens included: the
// same table runs on Linux node in test/pure/net-argument-errors.test.ts), and what the
// table cannot show: the options node:net has and winsock-ffi cannot do fail through
// 'error', and the ones it does (signal, blockList) fail as node:net's do.

import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { inspect } from 'node:util';
import { createConnection, createServer } from '../../../src/index.ts';
import type { NodeCodedError } from '../../../src/core/node-errors.ts';
import { defineArgumentCases } from '../../support/net-argument-cases.ts';
import { skipUnder } from '../../support/skip.ts';

/** The first 'error' of an emitter, with its class, code and message. */
async function firstError(emitter: NodeJS.EventEmitter): Promise<{ class: unknown; code: unknown; message: string; name: string }> {
  const [error] = (await once(emitter, 'error')) as [NodeCodedError];
  return { class: error.constructor, code: error.code, message: error.message, name: error.name };
}

const hasBlockList = typeof (net.BlockList as unknown as { isBlockList?: unknown }).isBlockList === 'function';

describe('node:net drop-in: arguments as node:net takes them', function () {
  describe('the table of cases, against node:net in this process', function () {
    defineArgumentCases(true);
  });

  it('an IPC path is not supported: an ERR_INVALID_ARG_VALUE through \'error\', not a throw (node:net too reports a path it cannot use there)', async function () {
    const pipe = '\\\\.\\pipe\\winsock-ffi-no-such-pipe';
    const client = createConnection(pipe);
    const clientError = await firstError(client);
    expect(clientError.class).to.equal(TypeError);
    expect(clientError.code).to.equal('ERR_INVALID_ARG_VALUE');
    expect(clientError.message).to.equal(`The property 'options.path' is not supported by winsock-ffi, which connects over TCP only; use node:net for it. Received ${inspect(pipe)}`);
    const server = createServer();
    server.listen(pipe);
    const serverError = await firstError(server);
    expect(serverError.code).to.equal('ERR_INVALID_ARG_VALUE');
    expect(serverError.message).to.match(/^The property 'options\.path' is not supported by winsock-ffi, which listens on TCP only/);
    expect(server.listening).to.equal(false);
  });

  it('an aborted signal destroys the connection with the AbortError node:net gives', async function () {
    const reference = net.createConnection({ port: 9, host: '127.0.0.1', signal: AbortSignal.abort('why') });
    const ours = createConnection({ port: 9, host: '127.0.0.1', signal: AbortSignal.abort('why') });
    const [expected, actual] = await Promise.all([firstError(reference), firstError(ours)]);
    expect(actual).to.deep.equal(expected);
    expect(actual.code).to.equal('ABORT_ERR');
  });

  it('a signal on listen() closes the server when it fires', async function () {
    const controller = new AbortController();
    const server = createServer();
    server.listen({ port: 0, host: '127.0.0.1', signal: controller.signal });
    await once(server, 'listening');
    controller.abort();
    await once(server, 'close');
    expect(server.listening).to.equal(false);
  });

  it('close(callback) on a server that is not listening: ERR_SERVER_NOT_RUNNING on \'close\', as net.Server', async function () {
    const outcome = async (server: { close(cb: (error?: Error) => void): unknown; once(event: string, listener: () => void): unknown }): Promise<unknown> => {
      let closeEvent = false;
      server.once('close', () => (closeEvent = true));
      const error = await new Promise<Error | undefined>((resolve) => server.close(resolve));
      const coded = error as NodeCodedError;
      return { class: coded.constructor, code: coded.code, message: coded.message, text: String(coded), closeEvent };
    };
    expect(await outcome(createServer())).to.deep.equal(await outcome(net.createServer()));
  });

  it('blockList: a connection to a denied address fails with ERR_IP_BLOCKED, as node:net\'s', async function () {
    skipUnder(this, !hasBlockList, `Node ${process.version} has no blockList option (22.13+)`);
    const blockList = new net.BlockList();
    blockList.addAddress('127.0.0.1');
    const reference = net.createConnection({ port: 9, host: '127.0.0.1', blockList });
    const ours = createConnection({ port: 9, host: '127.0.0.1', blockList });
    const [expected, actual] = await Promise.all([firstError(reference), firstError(ours)]);
    expect(actual).to.deep.equal(expected);
    expect(actual.code).to.equal('ERR_IP_BLOCKED');
  });

  it('blockList on a server: a connection from a denied address is closed before \'connection\'', async function () {
    skipUnder(this, !hasBlockList, `Node ${process.version} has no blockList option (22.13+)`);
    const blockList = new net.BlockList();
    blockList.addAddress('127.0.0.1');
    let connections = 0;
    const server = createServer({ blockList }, () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = net.createConnection({ port: server.address()!.port, host: '127.0.0.1' });
      client.on('error', () => undefined);
      client.resume();
      await once(client, 'close');
      expect(connections).to.equal(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
