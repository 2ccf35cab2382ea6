// socket.toStream(): a stream.Duplex over a connected TCP socket, driven by the
// Promise API, so that stream.pipeline and protocol code written for net.Socket can
// use it. One recv is pending at a time and only while the readable side wants data
// (backpressure); a write's callback fires when the stack has taken every byte.

import { Duplex } from 'node:stream';
import { checkBoolean, checkObject, checkSocket, requireTcp } from './checks.ts';
import { recvChunk, sendAsync } from './iocp/async-io.ts';
import type { Socket } from './socket.ts';
import { claimStream, handleOf } from './socket-internals.ts';

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

  constructor(socket: Socket, options: SocketStreamOptions = {}) {
    checkSocket(socket, 'socket');
    socket[handleOf]('toStream');
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
    recvChunk(this.socket, this.#readSize).then(
      (chunk) => {
        this.#reading = false;
        if (this.destroyed) return;
        // An empty chunk is the peer's FIN; push() asks for more by calling _read again.
        this.push(chunk.byteLength === 0 ? null : chunk);
      },
      (error: unknown) => {
        this.#reading = false;
        if (this.destroyed) return;
        // The socket was closed under the stream: like a net.Socket whose handle is gone, just close.
        if (this.socket.closed) this.destroy();
        else this.destroy(error as Error);
      },
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    sendAsync(this.socket, chunk).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    // Small writes queued behind a slow one go out as one send.
    const data = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((entry) => entry.chunk));
    sendAsync(this.socket, data).then(() => callback(), callback);
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
