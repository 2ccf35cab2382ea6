// poll() over WSAPoll: readiness of several sockets at once.

import { checkInteger, checkOptionalBoolean, describe } from './core/checks.ts';
import { sockets as socketCores } from './core/socket-core.ts';
import type { Socket } from './socket.ts';
import * as sys from './sys/index.ts';
import { POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLWRNORM } from './sys/index.ts';

export interface PollEvents {
  /** Wake when data (or a connection, for a listener, or the end of stream) can be read. */
  readonly readable?: boolean;
  /** Wake when a send would not block (or a non-blocking connect has finished). */
  readonly writable?: boolean;
}

export interface PollRequest {
  readonly socket: Socket;
  readonly events: PollEvents;
}

export interface PollResult {
  readonly socket: Socket;
  readonly readable: boolean;
  readonly writable: boolean;
  /** The peer closed or reset the connection (POLLHUP). */
  readonly hangup: boolean;
  /** An error is pending on the socket (POLLERR); a recv or send will report it. */
  readonly error: boolean;
}

/**
 * WSAPoll: waits up to `timeoutMs` (-1: forever, 0: just look) for any of the
 * sockets to be ready; returns one result per request, in order.
 */
export function poll(requests: readonly PollRequest[], timeoutMs: number): PollResult[] {
  if (!Array.isArray(requests)) throw new TypeError(`requests must be an array, got ${describe(requests)}`);
  const count = requests.length;
  if (count === 0) throw new RangeError('poll needs at least one socket');
  checkInteger(timeoutMs, 'timeoutMs (-1 waits forever)', -1, 0x7fffffff);
  // Each request, its socket and its events read once: what was checked is what is polled and reported.
  const sockets: Socket[] = [];
  const records: sys.PollRecord[] = [];
  for (let i = 0; i < count; i++) {
    const request: unknown = requests[i];
    if (typeof request !== 'object' || request === null) throw new TypeError(`requests[${i}] must be { socket: Socket, events }, got ${describe(request)}`);
    const { socket, events } = request as { socket?: unknown; events?: unknown };
    const core = socketCores.of(socket, `requests[${i}].socket`);
    if (typeof events !== 'object' || events === null) throw new TypeError(`requests[${i}].events must be an object { readable?, writable? }, got ${describe(events)}`);
    const { readable, writable } = events as PollEvents;
    const mask = (checkOptionalBoolean(readable, `requests[${i}].events.readable`) === true ? POLLRDNORM : 0) | (checkOptionalBoolean(writable, `requests[${i}].events.writable`) === true ? POLLWRNORM : 0);
    if (mask === 0) throw new RangeError(`requests[${i}].events asks for nothing: set readable and/or writable`);
    sockets.push(socket as Socket);
    records.push({ handle: core.live('poll'), events: mask, revents: 0 });
  }
  sys.poll(records, timeoutMs);
  return records.map((record, i) => {
    if ((record.revents & POLLNVAL) !== 0) throw new Error(`poll: requests[${i}] is not a valid socket (POLLNVAL)`);
    return {
      socket: sockets[i]!,
      readable: (record.revents & POLLRDNORM) !== 0,
      writable: (record.revents & POLLWRNORM) !== 0,
      hangup: (record.revents & POLLHUP) !== 0,
      error: (record.revents & POLLERR) !== 0,
    };
  });
}
