// SIO_TCP_INFO's output, TCP_INFO_v0 (mstcpip.h, Windows 10 1703+), decoded in TypeScript.
// No native call here, so the layout is tested on any OS (test/pure/).
//
// typedef struct _TCP_INFO_v0 {        offset (x64, natural alignment)
//   TCPSTATE State;                     0
//   ULONG Mss;                          4
//   ULONG64 ConnectionTimeMs;           8
//   BOOLEAN TimestampsEnabled;          16 (then 3 bytes of padding)
//   ULONG RttUs;                        20
//   ULONG MinRttUs;                     24
//   ULONG BytesInFlight;                28
//   ULONG Cwnd;                         32
//   ULONG SndWnd;                       36
//   ULONG RcvWnd;                       40
//   ULONG RcvBuf;                       44
//   ULONG64 BytesOut;                   48
//   ULONG64 BytesIn;                    56
//   ULONG BytesReordered;               64
//   ULONG BytesRetrans;                 68
//   ULONG FastRetrans;                  72
//   ULONG DupAcksIn;                    76
//   ULONG TimeoutEpisodes;              80
//   UCHAR SynRetrans;                   84 (then padding to 88)
// } TCP_INFO_v0;

/** sizeof(TCP_INFO_v0) on x64. */
export const TCP_INFO_V0_SIZE = 88;

/** A connection's TCPSTATE (mstcpip.h), by name. */
export type TcpState =
  | 'closed'
  | 'listen'
  | 'syn-sent'
  | 'syn-received'
  | 'established'
  | 'fin-wait-1'
  | 'fin-wait-2'
  | 'close-wait'
  | 'closing'
  | 'last-ack'
  | 'time-wait';

/** TCPSTATE, in enum order. */
const TCP_STATES: readonly TcpState[] = [
  'closed',
  'listen',
  'syn-sent',
  'syn-received',
  'established',
  'fin-wait-1',
  'fin-wait-2',
  'close-wait',
  'closing',
  'last-ack',
  'time-wait',
];

/** What SIO_TCP_INFO reports about a TCP connection (TCP_INFO_v0). */
export interface TcpInfo {
  readonly state: TcpState | `unknown-${number}`;
  /** Maximum segment size, in bytes. */
  readonly mss: number;
  /** How long the connection has existed, in milliseconds. */
  readonly connectionTimeMs: number;
  readonly timestampsEnabled: boolean;
  /** Smoothed round-trip time, in microseconds. */
  readonly rttUs: number;
  readonly minRttUs: number;
  readonly bytesInFlight: number;
  /** Congestion window, in bytes. */
  readonly congestionWindow: number;
  readonly sendWindow: number;
  readonly receiveWindow: number;
  readonly receiveBuffer: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
  readonly bytesReordered: number;
  readonly bytesRetransmitted: number;
  readonly fastRetransmits: number;
  readonly duplicateAcksIn: number;
  /** Retransmission timeouts (RTO episodes). */
  readonly timeoutEpisodes: number;
  readonly synRetransmits: number;
}

/** A ULONG64 as a number (exact below 2^53, which byte counts and milliseconds stay under). */
function u64(view: Buffer, at: number): number {
  return view.readUInt32LE(at) + view.readUInt32LE(at + 4) * 0x1_0000_0000;
}

/** Decodes a TCP_INFO_v0; `bytes` must hold at least TCP_INFO_V0_SIZE bytes. */
export function decodeTcpInfoV0(bytes: Uint8Array): TcpInfo {
  if (bytes.byteLength < TCP_INFO_V0_SIZE) throw new RangeError(`TCP_INFO_v0 is ${TCP_INFO_V0_SIZE} bytes, got ${bytes.byteLength}`);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const state = view.readUInt32LE(0);
  return {
    state: TCP_STATES[state] ?? `unknown-${state}`,
    mss: view.readUInt32LE(4),
    connectionTimeMs: u64(view, 8),
    timestampsEnabled: view[16] !== 0,
    rttUs: view.readUInt32LE(20),
    minRttUs: view.readUInt32LE(24),
    bytesInFlight: view.readUInt32LE(28),
    congestionWindow: view.readUInt32LE(32),
    sendWindow: view.readUInt32LE(36),
    receiveWindow: view.readUInt32LE(40),
    receiveBuffer: view.readUInt32LE(44),
    bytesOut: u64(view, 48),
    bytesIn: u64(view, 56),
    bytesReordered: view.readUInt32LE(64),
    bytesRetransmitted: view.readUInt32LE(68),
    fastRetransmits: view.readUInt32LE(72),
    duplicateAcksIn: view.readUInt32LE(76),
    timeoutEpisodes: view.readUInt32LE(80),
    synRetransmits: view[84]!,
  };
}
