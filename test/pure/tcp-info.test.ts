// SIO_TCP_INFO's TCP_INFO_v0 layout (mstcpip.h), decoded without Winsock: the offsets the
// decoder reads are checked against the struct laid out by C's rules for x64 (each field
// at the next multiple of its size, the whole padded to its largest field), computed here
// from the declaration itself, not copied from the decoder.

import { expect } from 'chai';
import { decodeTcpInfoV0, TCP_INFO_V0_SIZE } from '../../src/sys/windows/tcp-info.ts';
import type { TcpInfo } from '../../src/sys/windows/tcp-info.ts';

// typedef struct _TCP_INFO_v0 { ... } in declaration order: [name, C type, decoded as].
const FIELDS: ReadonlyArray<readonly [string, 'ULONG' | 'ULONG64' | 'BOOLEAN' | 'UCHAR' | 'TCPSTATE', keyof TcpInfo]> = [
  ['State', 'TCPSTATE', 'state'],
  ['Mss', 'ULONG', 'mss'],
  ['ConnectionTimeMs', 'ULONG64', 'connectionTimeMs'],
  ['TimestampsEnabled', 'BOOLEAN', 'timestampsEnabled'],
  ['RttUs', 'ULONG', 'rttUs'],
  ['MinRttUs', 'ULONG', 'minRttUs'],
  ['BytesInFlight', 'ULONG', 'bytesInFlight'],
  ['Cwnd', 'ULONG', 'congestionWindow'],
  ['SndWnd', 'ULONG', 'sendWindow'],
  ['RcvWnd', 'ULONG', 'receiveWindow'],
  ['RcvBuf', 'ULONG', 'receiveBuffer'],
  ['BytesOut', 'ULONG64', 'bytesOut'],
  ['BytesIn', 'ULONG64', 'bytesIn'],
  ['BytesReordered', 'ULONG', 'bytesReordered'],
  ['BytesRetrans', 'ULONG', 'bytesRetransmitted'],
  ['FastRetrans', 'ULONG', 'fastRetransmits'],
  ['DupAcksIn', 'ULONG', 'duplicateAcksIn'],
  ['TimeoutEpisodes', 'ULONG', 'timeoutEpisodes'],
  ['SynRetrans', 'UCHAR', 'synRetransmits'],
];
const SIZES = { TCPSTATE: 4, ULONG: 4, ULONG64: 8, BOOLEAN: 1, UCHAR: 1 } as const;

function layout(): { offsets: number[]; size: number } {
  let at = 0;
  let align = 1;
  const offsets: number[] = [];
  for (const [, type] of FIELDS) {
    const size = SIZES[type];
    at = Math.ceil(at / size) * size;
    offsets.push(at);
    at += size;
    align = Math.max(align, size);
  }
  return { offsets, size: Math.ceil(at / align) * align };
}

describe('SIO_TCP_INFO: TCP_INFO_v0 layout (pure)', function () {
  it('is 88 bytes on x64, as C lays it out', function () {
    expect(layout().size).to.equal(88);
    expect(TCP_INFO_V0_SIZE).to.equal(88);
  });

  it('reads every field at its C offset, with its width', function () {
    const { offsets } = layout();
    const bytes = Buffer.alloc(TCP_INFO_V0_SIZE, 0xee); // padding holds junk the decoder must ignore
    const expected: Record<string, unknown> = {};
    FIELDS.forEach(([, type, key], i) => {
      const at = offsets[i]!;
      // A value that fills the field's width (a 64-bit one above 2^32) and differs per field.
      switch (type) {
        case 'TCPSTATE':
          bytes.writeUInt32LE(4, at); // TCPSTATE_ESTABLISHED
          expected[key] = 'established';
          break;
        case 'ULONG':
          bytes.writeUInt32LE(0x01020300 + i, at);
          expected[key] = 0x01020300 + i;
          break;
        case 'ULONG64':
          bytes.writeUInt32LE(0x10 + i, at);
          bytes.writeUInt32LE(0x3, at + 4);
          expected[key] = 3 * 2 ** 32 + 0x10 + i;
          break;
        case 'BOOLEAN':
          bytes[at] = 1;
          expected[key] = true;
          break;
        case 'UCHAR':
          bytes[at] = 0x7f;
          expected[key] = 0x7f;
          break;
      }
    });
    expect(decodeTcpInfoV0(bytes)).to.deep.equal(expected);
  });

  it('names every TCPSTATE, and an unknown one by its number', function () {
    const bytes = Buffer.alloc(TCP_INFO_V0_SIZE);
    const names = ['closed', 'listen', 'syn-sent', 'syn-received', 'established', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'closing', 'last-ack', 'time-wait'];
    names.forEach((name, state) => {
      bytes.writeUInt32LE(state, 0);
      expect(decodeTcpInfoV0(bytes).state).to.equal(name);
    });
    bytes.writeUInt32LE(11, 0);
    expect(decodeTcpInfoV0(bytes).state).to.equal('unknown-11');
    expect(decodeTcpInfoV0(bytes).timestampsEnabled).to.equal(false);
  });

  it('refuses a buffer shorter than the struct', function () {
    expect(() => decodeTcpInfoV0(new Uint8Array(87))).to.throw(RangeError);
  });
});
