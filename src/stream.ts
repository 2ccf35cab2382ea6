// socket.toStream(): a stream.Duplex over a connected TCP socket, driven by the
// Promise API's engine, so that stream.pipeline and protocol code written for
// net.Socket can use it. One receive is pending at a time and only while the readable
// side wants data (backpressure); it lands straight in the Buffer that is pushed. Writes
// are read by the OS in place (queued ones gathered into one WSASend); a write's
// callback fires when the stack has taken every byte.

import { Duplex } from 'node:stream';
import { checkBoolean, checkObject, checkSocket, requireTcp } from './checks.ts';
import { recvIntoAsync, sendChunksAsync } from './iocp/async-io.ts';
import type { Socket } from './socket.ts';
import { claimStream, handleOf, requireConnectable } from './socket-internals.ts';

export interface SocketStreamOptions {
  /** Keep the writable side open after the peer ends its side (default false, as net.Socket). */
  readonly allowHalfOpen?: boolean;
  /** Bytes buffered on each side before backpressure applies (default 64 KiB). */
  readonly highWaterMark?: number;
  /** Largest single recv (default 64 KiB). */
  readonly readSize?: number;
}

const DEFAULT_READ_SIZE = 64 * 1024;

export class SocketStream extends Duplex {
  /** The socket underneath; the stream owns it and closes it on destroy. */
  readonly socket: Socket;
  readonly #readSize: number;
  #reading = false;
  /** The Buffer the next receive fills; null once handed out. */
  #target: Buffer | null = null;

  constructor(socket: Socket, options: SocketStreamOptions = {}) {
    checkSocket(socket, 'socket');
    socket[handleOf]('toStream');
    socket[requireConnectable]('toStream');
    requireTcp(socket, 'toStream');
    checkObject(options);
    if (options.allowHalfOpen !== undefined) checkBoolean(options.allowHalfOpen, 'allowHalfOpen');
    const readSize = options.readSize ?? DEFAULT_READ_SIZE;
    if (!Number.isInteger(readSize) || readSize < 1) throw new RangeError(`readSize must be a positive integer, got ${String(readSize)}`);
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      emitClose: true,
      autoDestroy: true,
      decodeStrings: true,
    });
    // Two streams would race for the same bytes: the first one owns the socket.
    claimStream(socket);
    this.socket = socket;
    this.#readSize = readSize;
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    // The OS writes straight into a Buffer of ours (no copy), handed out once filled.
    this.#target ??= Buffer.allocUnsafeSlow(this.#readSize);
    recvIntoAsync(this.socket, this.#target).then(this.#onRead, this.#onReadError);
  }

  // Bound once: no closure per read.
  readonly #onRead = (bytes: number): void => {
    this.#reading = false;
    const target = this.#target!;
    if (this.destroyed) return;
    // 0 bytes is the peer's FIN; push() asks for more by calling _read again.
    if (bytes === 0) {
      this.push(null);
      return;
    }
    if (bytes * 4 <= target.byteLength) {
      // A small read would pin a whole read buffer per chunk: copy it out and read into the same buffer again.
      this.push(Buffer.copyBytesFrom(target, 0, bytes));
    } else {
      this.#target = null;
      this.push(bytes === target.byteLength ? target : target.subarray(0, bytes));
    }
  };

  readonly #onReadError = (error: unknown): void => {
    this.#reading = false;
    if (this.destroyed) return;
    // The socket was closed under the stream: like a net.Socket whose handle is gone, just close.
    if (this.socket.closed) this.destroy();
    else this.destroy(error as Error);
  };

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // The stream owns `chunk` until the callback: the OS reads it in place, as libuv does for net.Socket.
    sendChunksAsync(this.socket, [chunk]).then(callback as () => void, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    // Writes queued behind a slow one go out as one WSASend with a WSABUF each.
    sendChunksAsync(
      this.socket,
      chunks.map((entry) => entry.chunk),
    ).then(callback as () => void, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.socket.shutdown('send'); // FIN: the peer's reads end
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Closing aborts the pending recv/send; their memory stays with the completion
    // port until the aborted completions arrive, and their results are ignored here.
    try {
      this.socket.close();
    } catch (closeError) {
      error ??= closeError as Error;
    }
    callback(error);
  }
}
