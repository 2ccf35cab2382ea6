// The working state and behaviour behind a RIO RequestQueue (RIOCreateRequestQueue): a
// socket's receives and sends, each naming a range of a RegisteredBuffer and reporting to
// a completion queue. The published class is a thin face over this core, in index.ts.
//
// Ownership: the native request queue belongs to the socket (closing the socket ends it;
// RIO has no call to close one), so the core owns only its counts of outstanding requests.
// Request queues are made only on sockets created with WSA_FLAG_REGISTERED_IO, one per
// socket, and never have more requests outstanding than they were made for
// (ERR_RIO_QUEUE_FULL, before the native call). Each request takes a record (records.ts),
// pins its buffer range (registered-buffer.ts) and counts on its completion queue, which
// settles all three when the result is dequeued.

import { checkBoolean, checkInteger, checkObject, requireTcp } from '../core/checks.ts';
import { SocketStateError, WinsockError } from '../core/errors.ts';
import type { SocketCore } from '../core/socket-core.ts';
import { constants, PinnedMemory, rio, WSA_IO_PENDING } from '../sys/index.ts';
import type { RioApi } from '../sys/index.ts';
import type { CompletionQueueCore } from './completion-queue.ts';
import { freeRecord, takeRecord } from './records.ts';
import type { Issuer, RioRequestKind } from './records.ts';
import { checkFree, pin, registeredBuffers, unpin, usableNative } from './registered-buffer.ts';
import type { RegisteredBuffer } from './registered-buffer.ts';

const { RIO_MSG_DEFER, RIO_MSG_DONT_NOTIFY, RIO_MSG_WAITALL } = constants;
const UINT32_MAX = 0xffffffff;

export interface RequestOptions {
  /** RIO_MSG_DEFER: queued, started by a later request without it or by commit(). */
  readonly defer?: boolean;
  /** RIO_MSG_DONT_NOTIFY: its result does not trigger the completion queue's notification. */
  readonly dontNotify?: boolean;
  /** RIO_MSG_WAITALL (receives on TCP): completes only once the range is full, the stream ends or it fails. */
  readonly waitAll?: boolean;
}

/** One 16-byte RIO_BUF the calls read during the call (JavaScript makes one call at a time). */
let scratchRioBuf: PinnedMemory | null = null;

function rioBuf(): PinnedMemory {
  scratchRioBuf ??= new PinnedMemory(rio.RIO_BUF.size);
  return scratchRioBuf;
}

/** The request queue of each socket that has one: one per socket. */
const requestQueues = new WeakMap<SocketCore, RequestQueueCore>();
let nextQueueId = 1;

/** The state behind a RequestQueue; completion queues see it as an Issuer (records.ts). */
export class RequestQueueCore implements Issuer {
  /** The published RequestQueue, reported as RioResult.queue. */
  readonly owner: object;
  readonly socket: SocketCore;
  readonly receiveQueue: CompletionQueueCore;
  readonly sendQueue: CompletionQueueCore;
  #maxReceive: number;
  #maxSend: number;
  #receives = 0;
  #sends = 0;
  readonly #api: RioApi;
  readonly #handle: number;
  readonly #id: number;

  /** The socket is checked to be a Socket and the completion queues resolved by the caller (index.ts); the rest is checked here. */
  constructor(owner: object, socket: SocketCore, receiveQueue: CompletionQueueCore, sendQueue: CompletionQueueCore, maxOutstandingReceive: number | undefined, maxOutstandingSend: number | undefined) {
    const maxReceive = maxOutstandingReceive === undefined ? 1 : checkInteger(maxOutstandingReceive, 'maxOutstandingReceive', 0, UINT32_MAX);
    const maxSend = maxOutstandingSend === undefined ? 1 : checkInteger(maxOutstandingSend, 'maxOutstandingSend', 0, UINT32_MAX);
    if (maxReceive === 0 && maxSend === 0) throw new RangeError('maxOutstandingReceive and maxOutstandingSend cannot both be 0');
    const handle = socket.live('RequestQueue');
    if (!socket.registeredIo) {
      throw new SocketStateError('ERR_RIO_SOCKET', 'RequestQueue: the socket was not created with WSA_FLAG_REGISTERED_IO; make it with new Socket({ registeredIo: true }), or accept it from such a listener');
    }
    if (requestQueues.has(socket)) throw new SocketStateError('ERR_RIO_SOCKET', 'RequestQueue: this socket has a request queue already (one per socket)');
    this.owner = owner;
    this.socket = socket;
    this.receiveQueue = receiveQueue;
    this.sendQueue = sendQueue;
    this.#maxReceive = maxReceive;
    this.#maxSend = maxSend;
    this.#id = nextQueueId++;
    const receiveNative = receiveQueue.attach(this, 'RequestQueue');
    let sendNative: { api: RioApi; handle: number };
    try {
      sendNative = sendQueue.attach(this, 'RequestQueue');
      if (sendNative.api !== receiveNative.api) throw new TypeError('RequestQueue: the two completion queues come from different RIO function tables');
      this.#api = receiveNative.api;
      this.#handle = this.#api.createRequestQueue(handle, maxReceive, maxSend, receiveNative.handle, sendNative.handle, this.#id);
    } catch (error) {
      receiveQueue.detach(this);
      sendQueue.detach(this);
      throw error;
    }
    requestQueues.set(socket, this);
  }

  /** True once its socket is closed (which ends the native request queue). */
  get closed(): boolean {
    return this.socket.closed;
  }

  get maxOutstandingReceive(): number {
    return this.#maxReceive;
  }

  get maxOutstandingSend(): number {
    return this.#maxSend;
  }

  get receivesOutstanding(): number {
    return this.#receives;
  }

  get sendsOutstanding(): number {
    return this.#sends;
  }

  get outstanding(): number {
    return this.#receives + this.#sends;
  }

  /** RIOReceive or RIOSend of `buffer[offset, offset + length)`, every argument checked first. */
  request(kind: RioRequestKind, buffer: RegisteredBuffer, offset: number, length: number, context: unknown, options: RequestOptions | undefined): void {
    const syscall = kind === 'send' ? 'RIOSend' : 'RIOReceive';
    this.socket.live(kind);
    const bufferState = registeredBuffers.of(buffer, 'buffer');
    const native = usableNative(bufferState, kind);
    if (native.api !== this.#api) throw new TypeError(`${kind}: the buffer was registered with another RIO function table than this queue's`);
    const size = buffer.size;
    checkInteger(offset, 'offset', 0, size - 1);
    checkInteger(length, 'length', 1, size - offset);
    const flags = options === undefined ? 0 : requestFlags(options, kind, this.socket);
    const completionQueue = this.completionQueueFor(kind);
    completionQueue.usable(kind);
    const outstanding = kind === 'send' ? this.#sends : this.#receives;
    const max = kind === 'send' ? this.#maxSend : this.#maxReceive;
    if (outstanding >= max) {
      throw new SocketStateError('ERR_RIO_QUEUE_FULL', `${kind}: the request queue is full: ${outstanding} ${kind}s outstanding, its maximum (maxOutstanding${kind === 'send' ? 'Send' : 'Receive'}); dequeue their results first`);
    }
    checkFree(bufferState, offset, length, kind);
    const record = takeRecord();
    record.kind = kind;
    record.queue = this;
    record.buffer = buffer;
    record.bufferState = bufferState;
    record.offset = offset;
    record.length = length;
    record.context = context;
    pin(bufferState, record);
    const scratch = rioBuf();
    rio.writeRioBuf(scratch, native.id, offset, length);
    const rc = kind === 'send' ? this.#api.send(this.#handle, scratch, flags, record.index) : this.#api.receive(this.#handle, scratch, flags, record.index);
    if (rc !== 0 && rc !== WSA_IO_PENDING) {
      unpin(bufferState, record);
      freeRecord(record);
      throw new WinsockError(syscall, rc);
    }
    if (kind === 'send') this.#sends++;
    else this.#receives++;
    completionQueue.issued();
  }

  commit(): void {
    this.socket.live('commit');
    for (const send of [false, true]) {
      (send ? this.sendQueue : this.receiveQueue).usable('commit');
      const rc = this.#api.commit(this.#handle, send);
      if (rc !== 0) throw new WinsockError(send ? 'RIOSend' : 'RIOReceive', rc);
    }
  }

  resize(maxOutstandingReceive: number, maxOutstandingSend: number): void {
    this.socket.live('resize');
    checkInteger(maxOutstandingReceive, 'maxOutstandingReceive', this.#receives, UINT32_MAX);
    checkInteger(maxOutstandingSend, 'maxOutstandingSend', this.#sends, UINT32_MAX);
    if (maxOutstandingReceive === 0 && maxOutstandingSend === 0) throw new RangeError('maxOutstandingReceive and maxOutstandingSend cannot both be 0');
    this.#api.resizeRequestQueue(this.#handle, maxOutstandingReceive, maxOutstandingSend);
    this.#maxReceive = maxOutstandingReceive;
    this.#maxSend = maxOutstandingSend;
  }

  /** The completion queue of one direction. */
  completionQueueFor(kind: RioRequestKind): CompletionQueueCore {
    return kind === 'send' ? this.sendQueue : this.receiveQueue;
  }

  /** A result of this queue was dequeued. */
  settled(kind: RioRequestKind): void {
    if (kind === 'send') this.#sends--;
    else this.#receives--;
  }
}

/** RIO_MSG_* from a request's options, each read once. */
function requestFlags(options: RequestOptions, kind: RioRequestKind, socket: SocketCore): number {
  checkObject(options);
  const { defer, dontNotify, waitAll } = options;
  let flags = 0;
  if (defer !== undefined && checkBoolean(defer, 'defer')) flags |= RIO_MSG_DEFER;
  if (dontNotify !== undefined && checkBoolean(dontNotify, 'dontNotify')) flags |= RIO_MSG_DONT_NOTIFY;
  if (waitAll !== undefined && checkBoolean(waitAll, 'waitAll')) {
    if (kind === 'send') throw new TypeError('waitAll applies to receives only');
    requireTcp(socket, 'receive with waitAll');
    flags |= RIO_MSG_WAITALL;
  }
  return flags;
}
