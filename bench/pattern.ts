// The bytes a throughput row sends, and the receiver's check of them. The stream carries
// a fixed pseudo-random sequence with a period of 65,521 bytes (a prime, so that no
// power-of-two write or read size lines up with it): a chunk lost, repeated or
// reordered no longer matches at its offset. Sending allocates only a view per write;
// checking is one memcmp per received chunk, cheap beside a Winsock call.

/** The pattern's period in bytes (prime). */
export const PATTERN_PERIOD = 65_521;
/** Longest piece handed out or compared at once; longer chunks are checked in pieces. */
const SPAN = 1024 * 1024;

export class Pattern {
  /** PATTERN_PERIOD + SPAN bytes: byte i is the stream's byte at any offset ≡ i (mod period). */
  readonly #bytes: Buffer;

  constructor() {
    this.#bytes = Buffer.allocUnsafe(PATTERN_PERIOD + SPAN);
    let state = 0x9e3779b9;
    for (let i = 0; i < PATTERN_PERIOD; i++) {
      // xorshift32: the same sequence in every process.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      this.#bytes[i] = state & 0xff;
    }
    for (let filled = PATTERN_PERIOD; filled < this.#bytes.length; ) {
      filled += this.#bytes.copy(this.#bytes, filled, 0, Math.min(PATTERN_PERIOD, this.#bytes.length - filled));
    }
  }

  /** The `length` bytes (at most 1 MiB) the stream carries from `offset` on: a view, never written to. */
  slice(offset: number, length: number): Buffer {
    if (length > SPAN) throw new RangeError(`a pattern slice is at most ${SPAN} bytes, asked for ${length}`);
    const start = offset % PATTERN_PERIOD;
    return this.#bytes.subarray(start, start + length);
  }

  /** Whether data[0, length) is what the stream carries from `offset` on. */
  matches(data: Uint8Array, length: number, offset: number): boolean {
    for (let done = 0; done < length; ) {
      const n = Math.min(SPAN, length - done);
      const start = (offset + done) % PATTERN_PERIOD;
      if (this.#bytes.compare(data, done, done + n, start, start + n) !== 0) return false;
      done += n;
    }
    return true;
  }
}
