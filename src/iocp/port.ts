// Port: an I/O completion port and the overlapped operations issued on it, over socket
// cores. The public CompletionPort (src/completion-port.ts) and the Promise API
// (src/async/) both run on it; the Promise API's port is libuv's own (the event-loop
// engine) or one of our own waited on by a worker thread.
//
// Ownership of native memory: each operation takes an OverlappedSlot (OVERLAPPED,
// WSABUF, flag cells, address buffers) and, for recv/send, a pinned data block, from
// the process-wide pools. The port keeps the operation in #inFlight, keyed by its
// OVERLAPPED's address, from the moment the OS has the memory until the completion
// packet naming that OVERLAPPED is dequeued; only then does the memory go back to the
// pools. Operations that finish without a packet (failed at once, or succeeded at
// once on a socket in skip-on-success mode) wait in #ready and are reported by the
// next poll/wait. The user's buffers are never handed to the OS except a stream's own
// (recvInto, gathered sends), which stay referenced until the completion; so a
// cancelled or aborted operation can never write into memory the caller reuses.

import { SocketStateError, WinsockError, BufferDetachedError } from '../core/errors.ts';
import type { PortAssociation, SocketCore } from '../core/socket-core.ts';
import { createOwnedSocket } from '../core/socket-core.ts';
import * as sys from '../sys/index.ts';
import { eventLoop, INFINITE, overlapped as ov, WSA_IO_PENDING, WSA_OPERATION_ABORTED } from '../sys/index.ts';
import type { Handle, LoopSlot } from '../sys/index.ts';
import { associate } from './associations.ts';
import { kindOf } from './kinds.ts';
import type { KindRecord } from './kinds.ts';
import { IoOperation } from './operation.ts';
import type { InFlight } from './operation.ts';
import { MAX_POOLED_BLOCK, returnSlot, takeBlock, takeLoopSlot, takeSlot } from './pools.ts';
import { BATCH, CLOSE_DRAIN_MS, CompletionEntries, sliceBefore, WAIT_SLICE_MS } from './waiting.ts';

/**
 * A UDP datagram can carry at most 65,527 bytes (IPv6; 65,507 over IPv4): a receive
 * block this large never truncates, so a datagram bigger than the caller's buffer is
 * reported by the package (WSAEMSGSIZE with the sender), never dropped by the OS.
 */
const DATAGRAM_BLOCK = 64 * 1024;

/** A port's state (the public CompletionPort.state). */
export type PortState = 'open' | 'closing' | 'closed';

/** Scratch for sendCopied's piece lengths (no array per send). */
const pieceLengths: number[] = [];

/** Memory whose operation never reported back before its port closed: never freed (a leak beats a corruption). */
const leaked: unknown[] = [];

/** The Promise API's event-loop port, to which libuv's callbacks deliver. */
let loopPortInstance: Port | null = null;

export class Port {
  readonly #handle: Handle;
  /** Completions arrive through Node's event loop (libuv dequeues them): poll/wait are not ours to call. */
  readonly onEventLoop: boolean;
  readonly #inFlight = new Map<number, IoOperation>();
  #ready: IoOperation[] = [];
  readonly #entries = new CompletionEntries();
  // waitAsync writes into its own buffers: the worker thread may still be filling
  // them while the main thread polls.
  #asyncEntries: CompletionEntries | null = null;
  #waitingAsync = false;
  /**
   * The number of the running (or last) waitAsync. Its wake-up packets carry it as their
   * key, so a wake-up that arrives after its wait already returned (a leftover) is told
   * apart and ends no later wait.
   */
  #waitId = 0;
  /** What the finalizer frees if the port is collected without close() (own ports only). */
  readonly #native: NativePort | null = null;
  #state: PortState = 'open';
  /** Above 0 while completions are being settled: close() then waits for that to end. */
  #processing = 0;
  /**
   * The public CompletionPort over this port: referenced from here so that it lives as
   * long as the port does (a running waitAsync, a socket associated with it), as users expect.
   */
  owner: object | null = null;

  /** `onEventLoop`: libuv's own port (one per thread, the Promise API's); else a port of our own. */
  constructor(onEventLoop: boolean) {
    this.onEventLoop = onEventLoop;
    if (onEventLoop) {
      if (loopPortInstance !== null) throw new Error('internal error: a second event-loop port');
      this.#handle = eventLoop.loopPort();
      loopPortInstance = this;
    } else {
      // libuv's port is libuv's; a port of our own is closed by the finalizer if it is dropped.
      this.#handle = ov.createPort();
      portStats.opened++;
      this.#native = { handle: this.#handle, memory: [this.#entries] };
      portFinalizer.register(this, this.#native, this);
    }
  }

  static {
    // Completions from libuv's callback: the slot names the operation by its OVERLAPPED.
    eventLoop.setCompletionHandler((slot: LoopSlot) => {
      const port = loopPortInstance;
      if (port === null) return;
      const operation = port.#inFlight.get(slot.key);
      if (operation === undefined) return;
      port.#inFlight.delete(slot.key);
      port.#processing++;
      try {
        port.#complete(operation, slot.bytesTransferred, slot.status);
      } finally {
        port.#processing--;
      }
      if (port.#state === 'closing') port.#finishClose();
    });
  }

  get state(): PortState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state !== 'open';
  }

  /** Operations issued and not yet reported. */
  get pendingCount(): number {
    return this.#inFlight.size + this.#ready.length;
  }

  /** Operations that finished without a packet and wait for the next poll/wait. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** True while a waitAsync() is running on a worker thread. */
  get waiting(): boolean {
    return this.#waitingAsync;
  }

  /** ERR_PORT_CLOSED naming `operation` once close() was called: before anything else is looked at. */
  requireOpen(operation: string): void {
    this.#open(operation);
  }

  /** The port's handle while it is open; ERR_PORT_CLOSED naming `operation` after close(). */
  #open(operation: string): Handle {
    if (this.#state !== 'open') throw new SocketStateError('ERR_PORT_CLOSED', `${operation}: the completion port is closed`);
    return this.#handle;
  }

  /** poll/wait/waitAsync/wake: libuv dequeues the event-loop port's completions, nobody else may. */
  #collectable(operation: string): Handle {
    if (this.onEventLoop) throw new Error(`internal error: ${operation} on the event-loop port`);
    return this.#open(operation);
  }

  /** Routes `core`'s completions to this port, tagged with `key`. */
  associate(core: SocketCore, key: number, operation = 'associate'): PortAssociation {
    // On the event loop, an operation that finishes at once settles at once: no packet for it.
    return associate(core, this, this.#open(operation), key, this.onEventLoop, operation);
  }

  /** The core's association with this port, made on first use. */
  #associationOf(core: SocketCore, operation: string): PortAssociation {
    const existing = core.association;
    if (existing === null) return this.associate(core, 0, operation);
    if (existing.port !== this) throw new SocketStateError('ERR_SOCKET_ASSOCIATED', `${operation}: the socket belongs to another completion port`);
    return existing;
  }

  /** FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: an operation that succeeds at once queues no packet; the next poll/wait reports it. */
  setSkipCompletionOnSuccess(core: SocketCore): void {
    this.#open('setSkipCompletionOnSuccess');
    const handle = core.live('setSkipCompletionOnSuccess');
    const association = this.#associationOf(core, 'setSkipCompletionOnSuccess');
    ov.setSkipCompletionOnSuccess(handle);
    association.skipOnSuccess = true;
  }

  // --- One method per kind; each builds its in-flight state and takes the one start path,
  // which checks the port and the socket and gives the state's memory back if it refuses. ---

  /** Overlapped WSARecv into `target` through a pinned block (up to 256 KiB per operation), copied out at completion. */
  recv(core: SocketCore, target: Uint8Array): IoOperation {
    return this.#start(core, { kind: 'recv', block: takeBlock(Math.min(target.byteLength, MAX_POOLED_BLOCK)), target }, 'recv');
  }

  /**
   * WSARecv straight into `target` (no copy): only for a Buffer the package allocated,
   * which the operation keeps referenced and nobody sees before the completion.
   */
  recvInto(core: SocketCore, target: Uint8Array): IoOperation {
    return this.#start(core, { kind: 'recv', block: null, target }, 'recv');
  }

  /** Overlapped WSASend of `data`, copied first into pinned memory. */
  send(core: SocketCore, data: Uint8Array): IoOperation {
    const block = takeBlock(Math.max(data.byteLength, 1));
    block.bytes.set(data, 0);
    return this.#start(core, { kind: 'send', block, length: data.byteLength, pieces: null, held: null }, 'send');
  }

  /**
   * One WSASend of `chunks` from `chunks[index][offset]` on, at most `maxBytes` and
   * `maxChunks` pieces, copied back to back into one pinned block, a WSABUF each (no
   * concatenation in JavaScript). Empty chunks are skipped; there is at least one byte.
   */
  sendCopied(core: SocketCore, chunks: readonly Uint8Array[], index: number, offset: number, maxBytes: number, maxChunks: number): IoOperation {
    pieceLengths.length = 0;
    let total = 0;
    for (let i = index; i < chunks.length && pieceLengths.length < maxChunks && total < maxBytes; i++) {
      const start = i === index ? offset : 0;
      const length = Math.min(chunks[i]!.byteLength - start, maxBytes - total);
      if (length <= 0) continue;
      pieceLengths.push(length);
      total += length;
    }
    const block = takeBlock(Math.max(total, 1));
    let at = 0;
    for (let i = index, piece = 0; piece < pieceLengths.length; i++) {
      const start = i === index ? offset : 0;
      if (chunks[i]!.byteLength - start <= 0) continue;
      const length = pieceLengths[piece++]!;
      block.bytes.set(chunks[i]!.subarray(start, start + length), at);
      at += length;
    }
    return this.#start(core, { kind: 'send', block, length: total, pieces: pieceLengths, held: null }, 'send');
  }

  /** One WSASend of `chunks` (non-empty Buffers), read by the OS where they are: for a stream, which owns its queued writes until their callback. */
  sendGathered(core: SocketCore, chunks: readonly Uint8Array[]): IoOperation {
    return this.#start(core, { kind: 'send', block: null, length: 0, pieces: null, held: chunks }, 'send');
  }

  /**
   * Overlapped WSARecvFrom of one datagram into `target`: the operation's remoteAddress
   * is the sender. A datagram larger than `target` completes with WSAEMSGSIZE, its first
   * bytes delivered (the OS never truncates: the receive lands in a 64 KiB block first).
   */
  recvFrom(core: SocketCore, target: Uint8Array): IoOperation {
    return this.#start(core, { kind: 'recvfrom', block: takeBlock(DATAGRAM_BLOCK), target, length: target.byteLength }, 'recvFrom');
  }

  /** Overlapped WSASendTo of one datagram (`data`, copied first) to `host` (a literal of the socket's family). */
  sendTo(core: SocketCore, data: Uint8Array, host: string, port: number): IoOperation {
    const block = takeBlock(Math.max(data.byteLength, 1));
    block.bytes.set(data, 0);
    return this.#start(core, { kind: 'sendto', block, length: data.byteLength, host, port }, 'sendTo');
  }

  /** AcceptEx on a listening socket: the operation's `accepted` is the new connection's core. */
  accept(listener: SocketCore): IoOperation {
    this.#open('accept');
    listener.live('accept');
    this.#associationOf(listener, 'accept');
    // Claimed from birth: until it is wrapped or closed, no one may adopt this handle.
    const acceptHandle = createOwnedSocket(listener.family, 'tcp', listener.registeredIo, 'acceptAsync');
    return this.#start(listener, { kind: 'accept', acceptHandle }, 'accept');
  }

  /** ConnectEx to `host` (a literal of the socket's family); binds the socket to the wildcard address first if needed. */
  connect(core: SocketCore, host: string, port: number): IoOperation {
    this.#open('connect');
    const handle = core.live('connect');
    this.#associationOf(core, 'connect');
    if (!sys.isBound(handle)) {
      sys.bind(handle, core.family, core.family === 'ipv4' ? '0.0.0.0' : '::', 0);
      core.bound = true;
    }
    return this.#start(core, { kind: 'connect', host, port }, 'connect');
  }

  /**
   * The one start path: the socket's association, a new operation holding `state`, its
   * kind's issue call, and then where its completion will come from. When the issue
   * throws, nothing is in flight: the state's memory goes back and the error stands.
   */
  #start(core: SocketCore, state: InFlight, operationName: string): IoOperation {
    const kind = kindOf(state);
    let operation: IoOperation | undefined;
    let association: PortAssociation;
    let rc: number;
    try {
      this.#open(operationName);
      const handle = core.live(operationName);
      association = this.#associationOf(core, operationName);
      operation = new IoOperation(this, core, this.onEventLoop ? takeLoopSlot() : takeSlot(), state);
      operation.key = association.key;
      if (this.onEventLoop) (operation.slot as LoopSlot).arm();
      rc = kind.issue(operation, state, handle);
    } catch (error) {
      // Nothing was issued: what was taken for it goes back (AcceptEx's socket is closed).
      if (operation !== undefined && this.onEventLoop) (operation.slot as LoopSlot).disarm();
      kind.onDiscard(state);
      kind.release(state);
      if (operation !== undefined) giveBackSlot(kind, operation);
      throw error;
    }
    // Issued: from here the OS may own the memory, and only its completion gives it back.
    return this.#issued(operation, rc, association);
  }

  #issued(operation: IoOperation, rc: number, association: PortAssociation): IoOperation {
    operation.core.pending++;
    if (rc === WSA_IO_PENDING || (rc === 0 && !association.skipOnSuccess)) {
      // The OS has the memory until the packet naming this OVERLAPPED is dequeued.
      this.#inFlight.set(operation.slot.key, operation);
      // Pending on the event loop: it holds the loop open, as a pending net.Socket read does, unless unref()'d.
      if (this.onEventLoop) (operation.slot as LoopSlot).setReferenced(operation.core.referenced);
    } else if (this.onEventLoop) {
      // No packet will come: settle now, in the caller's turn (its Promise resolves at once).
      (operation.slot as LoopSlot).disarm();
      if (rc !== 0) operation.error = new WinsockError(kindOf(operation.state).syscall, rc);
      this.#processing++;
      try {
        this.#completeReady(operation);
      } finally {
        this.#processing--;
      }
    } else {
      // Skip mode (rc 0): no packet will come; the OVERLAPPED already holds the outcome.
      // Failed at once: no packet will come either.
      if (rc !== 0) operation.error = new WinsockError(kindOf(operation.state).syscall, rc);
      this.#ready.push(operation);
      // A waitAsync blocked on the port would never see it: wake it to report it.
      if (this.#waitingAsync) ov.postWake(this.#handle, this.#waitId);
    }
    return operation;
  }

  /** socket.ref()/unref() changed: its pending operations on the event loop follow. */
  referenceChanged(core: SocketCore): void {
    if (!this.onEventLoop) return;
    for (const operation of this.#inFlight.values()) {
      if (operation.core === core) (operation.slot as LoopSlot).setReferenced(core.referenced);
    }
  }

  /**
   * CancelIoEx for a pending operation. Its completion still comes, with
   * WSA_OPERATION_ABORTED unless it had already finished. False when there was
   * nothing to cancel (already finished, or its socket is closed, which cancels it).
   */
  cancel(operation: IoOperation): boolean {
    if (operation.port !== this || operation.completed || !this.#inFlight.has(operation.slot.key)) return false;
    if (operation.core.closed) return false;
    return ov.cancel(operation.core.live('cancel'), operation.slot);
  }

  /** Completions available now, without waiting (at most `max`), appended to `out`. */
  poll(out: IoOperation[], max = BATCH): IoOperation[] {
    const port = this.#collectable('poll');
    this.#takeReady(out, max);
    if (out.length < max) {
      const count = this.#entries.dequeue(port, max - out.length, 0);
      this.#process(this.#entries, count, out);
    }
    return out;
  }

  /**
   * Waits up to `timeoutMs` (INFINITE: forever) for at least one completion, blocking
   * this thread (and so the event loop); nothing on timeout.
   */
  wait(out: IoOperation[], timeoutMs: number, max = BATCH): IoOperation[] {
    const port = this.#collectable('wait');
    if (this.#ready.length > 0) return this.poll(out, max);
    const deadline = timeoutMs === INFINITE ? Infinity : Date.now() + timeoutMs;
    let waitMs = timeoutMs;
    for (;;) {
      const count = this.#entries.dequeue(port, max, waitMs);
      const passedOn = this.#process(this.#entries, count, out);
      // Dequeued nothing but leftover wake-ups (no one can wake this wait: it blocks the
      // thread that would call wake()): wait on for the time left.
      if (count === 0 || out.length > 0 || passedOn > 0 || this.#ready.length > 0 || this.#state !== 'open') return out;
      const left = deadline - Date.now();
      if (left <= 0) return out;
      waitMs = deadline === Infinity ? INFINITE : Math.ceil(left);
    }
  }

  /**
   * The same wait on a worker thread: the event loop keeps running. One at a time
   * per port (ERR_WAIT_IN_PROGRESS). It runs on a libuv threadpool thread (a koffi async
   * call), in slices of at most WAIT_SLICE_MS, so it never holds that thread,
   * process.exit() or worker.terminate() longer than one slice.
   */
  waitAsync(timeoutMs: number): Promise<IoOperation[]> {
    const port = this.#collectable('waitAsync');
    if (this.#waitingAsync) throw new SocketStateError('ERR_WAIT_IN_PROGRESS', 'waitAsync: another waitAsync is already running on this port');
    if (this.#ready.length > 0) return Promise.resolve(this.poll([]));
    if (this.#asyncEntries === null) {
      this.#asyncEntries = new CompletionEntries();
      this.#native?.memory.push(this.#asyncEntries);
    }
    const entries = this.#asyncEntries;
    const deadline = timeoutMs === INFINITE ? Infinity : Date.now() + timeoutMs;
    this.#waitingAsync = true;
    this.#waitId++; // its wake-ups carry this number
    return new Promise((resolve, reject) => {
      const slice = (): void => {
        entries.dequeueAsync(port, sliceBefore(deadline), (error, count) => {
          // Nothing yet and time left: wait again (a wake() or close() posts a packet, so count > 0).
          if (error === null && count === 0 && this.#state === 'open' && Date.now() < deadline) {
            slice();
            return;
          }
          this.#waitingAsync = false;
          const out: IoOperation[] = [];
          let woken = 0;
          try {
            woken = this.#process(entries, count, out);
            // Skip-mode completions that arrived meanwhile.
            if (this.#state === 'open') this.#takeReady(out, BATCH);
          } catch (processError) {
            error ??= processError as Error;
          }
          // Only leftover wake-ups, meant for an earlier wait: this one goes on.
          if (error === null && out.length === 0 && woken === 0 && this.#state === 'open' && Date.now() < deadline) {
            this.#waitingAsync = true;
            slice();
            return;
          }
          if (this.#state === 'closing') this.#finishClose();
          if (error !== null) reject(error);
          else resolve(out);
        });
      };
      slice();
    });
  }

  /** Ends a running waitAsync() early; with none running it does nothing (a wake-up is not kept). */
  wake(): void {
    const port = this.#collectable('wake');
    if (this.#waitingAsync) ov.postWake(port, this.#waitId);
  }

  #takeReady(out: IoOperation[], max: number): void {
    if (this.#ready.length === 0) return;
    const ready = this.#ready;
    const taken = ready.length <= max - out.length ? ready.splice(0) : ready.splice(0, max - out.length);
    this.#processing++;
    try {
      for (const operation of taken) out.push(this.#completeReady(operation));
    } finally {
      this.#processing--;
    }
    if (this.#state === 'closing') this.#finishClose();
  }

  /** An operation that finished without a packet: failed at once, or succeeded at once in skip mode. */
  #completeReady(operation: IoOperation): IoOperation {
    const slot = operation.slot;
    return operation.error !== null ? this.#complete(operation, 0, -1) : this.#complete(operation, slot.bytesTransferred, slot.status);
  }

  /**
   * Reports the dequeued entries into `out`. Returns how many wake-up packets were for
   * the running waitAsync: the ones this (waitAsync's) call was woken by, or, taken
   * by poll/wait on this thread, the ones passed on to it. Leftover wake-ups are dropped.
   */
  #process(entries: CompletionEntries, count: number, out: IoOperation[]): number {
    let wakes = 0;
    this.#processing++;
    try {
      for (let i = 0; i < count; i++) {
        const overlapped = entries.overlapped(i);
        const key = entries.key(i);
        if (overlapped === 0) {
          // A wake-up packet, keyed with the number of the waitAsync it was posted for.
          if (key !== this.#waitId) continue; // for a wait that has returned already
          if (entries !== this.#entries) wakes++;
          else if (this.#waitingAsync) {
            // Taken by poll/wait, but meant for the running waitAsync (Wine lets a polling
            // thread take it before the blocked worker): pass it on.
            ov.postWake(this.#handle, key);
            wakes++;
          }
          continue;
        }
        const operation = this.#inFlight.get(overlapped);
        if (operation === undefined) continue; // cannot happen: every OVERLAPPED we issue is in #inFlight
        this.#inFlight.delete(overlapped);
        operation.key = key;
        out.push(this.#complete(operation, entries.bytes(i), operation.slot.status));
      }
    } finally {
      this.#processing--;
    }
    if (this.#state === 'closing') this.#finishClose();
    return wakes;
  }

  /**
   * Settles one operation whose memory the OS has given back: reads its outcome, runs
   * its kind's onSuccess/onDiscard, returns the memory to the pools. Runs exactly once
   * per operation because an operation leaves #inFlight/#ready before it gets here.
   * `status` is the NTSTATUS, or -1 when `operation.error` is already set.
   */
  #complete(operation: IoOperation, bytes: number, status: number): IoOperation {
    const kind = kindOf(operation.state);
    if (status !== -1 && status !== 0) operation.error = this.#errorOf(operation, status);
    // The count stands on failure too: a send cancelled part-way says what the stack took.
    // (A truncated datagram's onSuccess lowers it to what reached the caller's buffer.)
    operation.bytes = kind.countsBytes ? bytes : 0;
    // A receive cancelled after data came keeps the data: it is copied out all the same.
    if (operation.error === null || (kind.receives && bytes > 0)) {
      try {
        kind.onSuccess(operation, operation.state, bytes);
      } catch (error) {
        operation.error = error instanceof WinsockError || error instanceof BufferDetachedError ? error : new WinsockError(kind.syscall, WSA_OPERATION_ABORTED);
      }
    }
    // The OS is done with the memory: it goes back to the pools.
    kind.onDiscard(operation.state);
    kind.release(operation.state);
    giveBackSlot(kind, operation);
    return settle(operation);
  }

  #errorOf(operation: IoOperation, status: number): WinsockError {
    const syscall = kindOf(operation.state).syscall;
    // A closed socket's handle number may already name another socket: do not ask ws2_32 about it.
    if (operation.core.closed) return new WinsockError(syscall, sys.statusErrno(status));
    let errno = ov.overlappedErrno(operation.core.live(syscall), operation.slot);
    if (errno === 0) errno = sys.statusErrno(status);
    return new WinsockError(syscall, errno);
  }

  /**
   * Cancels every pending operation, waits for their aborted completions (so that
   * their memory is free to reuse), settles them, and closes the port. With a
   * waitAsync running, the last part happens when the worker returns.
   */
  close(): void {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    for (const operation of this.#inFlight.values()) {
      try {
        if (!operation.core.closed) ov.cancel(operation.core.live('cancel'), operation.slot);
      } catch {
        // Its completion comes anyway when the socket closes.
      }
    }
    if (this.#waitingAsync) {
      ov.postWake(this.#handle, this.#waitId);
      return;
    }
    this.#finishClose();
  }

  /** Event loop: what is still in flight settles through libuv's callbacks, which finish the close. */
  #finishLoopClose(): void {
    if (this.#inFlight.size > 0) return;
    this.#state = 'closed';
    if (loopPortInstance === this) loopPortInstance = null;
    this.#entries.free();
  }

  #finishClose(): void {
    // Called from inside a completion's settlement, or with a waitAsync out: whoever is
    // running finishes the close when it is done.
    if (this.#state !== 'closing' || this.#processing > 0 || this.#waitingAsync) return;
    if (this.onEventLoop) {
      this.#finishLoopClose();
      return;
    }
    this.#processing++;
    try {
      for (const operation of this.#ready.splice(0)) this.#completeReady(operation);
      const deadline = Date.now() + CLOSE_DRAIN_MS;
      const discard: IoOperation[] = [];
      while (this.#inFlight.size > 0 && Date.now() < deadline) {
        const count = this.#entries.dequeue(this.#handle, BATCH, WAIT_SLICE_MS);
        this.#process(this.#entries, count, discard);
        discard.length = 0;
      }
      // Anything still in flight has memory the OS may yet write to: it is never freed
      // (a leak beats a corruption); the operations settle as aborted all the same.
      for (const operation of this.#inFlight.values()) {
        kindOf(operation.state).leak(operation.state, leaked);
        leaked.push(operation.slot);
        operation.bytes = 0;
        operation.key = 0;
        operation.error = new WinsockError(kindOf(operation.state).syscall, WSA_OPERATION_ABORTED);
        settle(operation);
      }
      this.#inFlight.clear();
    } finally {
      this.#processing--;
    }
    this.#state = 'closed';
    if (this.#native !== null) {
      portFinalizer.unregister(this);
      portStats.closed++;
    }
    ov.closePort(this.#handle);
    this.#entries.free();
    this.#asyncEntries?.free();
  }
}

/** The OS is done with the operation's slot: back to the pool, without an address buffer that served this operation only. */
function giveBackSlot(kind: KindRecord, operation: IoOperation): void {
  if (kind.addressesOnce) operation.slot.releaseAddresses();
  returnSlot(operation.slot);
}

/** Marks the operation completed and tells whoever waits for it (once). */
function settle(operation: IoOperation): IoOperation {
  operation.completed = true;
  operation.core.pending--;
  const callback = operation.onSettled;
  if (callback !== null) {
    operation.onSettled = null;
    callback(operation);
  }
  return operation;
}

/** What a port of our own holds natively, for the finalizer: nothing here refers to the port. */
interface NativePort {
  readonly handle: Handle;
  /** The entry buffers of poll/wait/waitAsync (the OS writes them only during a dequeue call). */
  readonly memory: CompletionEntries[];
}

/** For tests: ports of our own opened, and closed by close() or by the finalizer. */
export const portStats = { opened: 0, closed: 0, collected: 0 };

// A safety net only, as for sockets: a port dropped without close() gives back its
// handle and its entry buffers once collected. No dequeue can be running then: a
// waitAsync keeps its port reachable through its callback until it returns. Nor can a
// socket it serves be alive: every associated core refers to its port. Operations
// still in flight (their sockets dropped too) keep their memory for good, as close()
// does with those it could not collect: it is not held here, so it is never freed
// while the OS may still write to it.
const portFinalizer = new FinalizationRegistry<NativePort>((native) => {
  portStats.collected++;
  portStats.closed++;
  try {
    ov.closePort(native.handle);
  } catch {
    // Nothing to report to: the owner is gone.
  }
  for (const memory of native.memory) memory.free();
});
