// npm run bench:calls without Wine: counting a relay trace (bench/relay-count.ts). Pure:
// no koffi, so this runs on any node.

import { expect } from 'chai';
import { countMarkedWindow, countRecvWindow, relayInclude, sides, summarize, perRound } from '../../bench/relay-count.ts';

const trace = [
  '0020:0024:Call ws2_32.listen(000000dc,00000001) ret=1800590f2',
  '0020:0024:Ret  ws2_32.listen() retval=00000000 ret=1800590f2',
  '0030:0034:Call ws2_32.recv(000000e8,0611d900,00000040,00000000) ret=1800590f2',
  '0030:0034:Ret  ws2_32.recv() retval=ffffffff ret=1800590f2',
  '0020:0024:Call KERNEL32.OutputDebugStringA(05ed0000 "winsock-ffi bench: measure begins") ret=1800590f2',
  '0020:0024:Ret  KERNEL32.OutputDebugStringA() retval=00000000 ret=1800590f2',
  '0020:0024:Call ws2_32.WSASend(000000dc,0081e0a0,00000001,0081df60,00000000,00000000,00000000) ret=14047ff39',
  '0020:0024:Ret  ws2_32.WSASend() retval=00000000 ret=14047ff39',
  '0020:0024:Call ws2_32.WSARecv(000000dc,0081f830,00000001,0081f870,0081f868,0560e670,00000000) ret=14047f641',
  '0020:0024:Ret  ws2_32.WSARecv() retval=ffffffff ret=14047f641',
  '0020:0024:Call ws2_32.WSAGetLastError() ret=1800590f2',
  '0020:0024:Ret  ws2_32.WSAGetLastError() retval=000003e5 ret=1800590f2',
  '0020:0024:Call KERNEL32.GetQueuedCompletionStatusEx(000000b8,0081e890,00000001,0081e880,ffffffff,00000000) ret=140496517',
  // a relayed call made from inside another is not the program's own
  '0020:0024:Call ntdll.NtRemoveIoCompletionEx(000000b8,0081e890,00000001,0081e880,0081e800,00000000) ret=7bc0',
  '0030:0034:Call ws2_32.recv(000000e8,0611d900,00000040,00000000) ret=1800590f2',
  '0020:0024:Ret  ntdll.NtRemoveIoCompletionEx() retval=00000000 ret=7bc0',
  '0030:0034:Ret  ws2_32.recv() retval=00000040 ret=1800590f2',
  '0030:0034:Call ws2_32.send(000000e8,0611d900,00000040,00000000) ret=1800590f2',
  '0020:0024:Ret  KERNEL32.GetQueuedCompletionStatusEx() retval=00000001 ret=140496517',
  '0030:0034:Ret  ws2_32.send() retval=00000040 ret=1800590f2',
  '0020:0024:Call KERNEL32.GetQueuedCompletionStatusEx(000000b8,0081e890,00000001,0081e880,00000000,00000000) ret=140496517',
  '0020:0024:Ret  KERNEL32.GetQueuedCompletionStatusEx() retval=00000000 ret=140496517',
  '0020:0024:Call KERNEL32.OutputDebugStringA(05ed0000 "winsock-ffi bench: measure ends") ret=1800590f2',
  '0030:0034:Call ws2_32.recv(000000e8,0611d900,00000040,00000000) ret=1800590f2',
].join('\n');

describe('bench:calls relay counting (bench/relay-count.ts)', () => {
  it('includes every ws2_32 export and the completion-port functions', () => {
    expect(relayInclude().split(';')).to.include.members(['ws2_32.*', 'kernel32.GetQueuedCompletionStatusEx', 'kernel32.OutputDebugStringA']);
  });

  it('counts the top-level calls of both processes between the markers, by outcome', () => {
    const counted = countMarkedWindow(trace);
    if (typeof counted === 'string') throw new Error(counted);
    const found = sides(counted);
    if (typeof found === 'string') throw new Error(found);
    expect(Object.fromEntries(found.sender.counts)).to.deep.equal({
      WSASend: 1,
      'WSARecv!': 1,
      'WSAGetLastError=997': 1,
      'GetQueuedCompletionStatusEx wait+': 1,
      'GetQueuedCompletionStatusEx poll-': 1,
    });
    expect(Object.fromEntries(found.echo.counts)).to.deep.equal({ recv: 1, send: 1 });
    const summary = summarize(perRound(found.sender, 1));
    expect(summary.winsock).to.equal(3);
    expect(summary.winsockText).to.equal('WSASend 1, WSARecv 1 (1 failed), WSAGetLastError 1 (WSA_IO_PENDING)');
    expect(summary.completionText).to.equal('2: 1 waiting, delivered; 1 polling, empty');
  });

  it('says so when the markers are missing', () => {
    expect(countMarkedWindow(trace.split('\n').filter((line) => !line.includes('measure ends')).join('\n'))).to.be.a('string');
  });

  it('windows the C reference by the sender\'s successful recv calls', () => {
    const c = [
      '0020:0024:Call ws2_32.listen(000000dc,00000001) ret=1',
      '0020:0024:Ret  ws2_32.listen() retval=00000000 ret=1',
      ...[1, 2, 3].flatMap(() => [
        '0030:0034:Call ws2_32.recv(e8,0,40,0) ret=1',
        '0020:0024:Call ws2_32.send(dc,0,40,0) ret=1',
        '0020:0024:Ret  ws2_32.send() retval=00000040 ret=1',
        '0030:0034:Ret  ws2_32.recv() retval=00000040 ret=1',
        '0030:0034:Call ws2_32.send(e8,0,40,0) ret=1',
        '0030:0034:Ret  ws2_32.send() retval=00000040 ret=1',
        '0020:0024:Call ws2_32.recv(dc,0,40,0) ret=1',
        '0020:0024:Ret  ws2_32.recv() retval=00000040 ret=1',
      ]),
    ].join('\n');
    const counted = countRecvWindow(c, 1, 2);
    if (typeof counted === 'string') throw new Error(counted);
    const found = sides(counted);
    if (typeof found === 'string') throw new Error(found);
    expect(Object.fromEntries(found.sender.counts)).to.deep.equal({ send: 2, recv: 2 });
    expect(Object.fromEntries(found.echo.counts)).to.deep.equal({ recv: 2, send: 2 });
    expect(countRecvWindow(c, 2, 2)).to.be.a('string');
  });
});
