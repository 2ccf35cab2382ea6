// Counting what a process asks of Winsock, from a Wine relay trace (WINEDEBUG=+pid,+relay
// with RelayInclude limited to ws2_32 and a few kernel32 completion-port functions): used
// by bench/count-calls.ts. Pure: text in, counts out, so that it runs (and is tested) on
// any Node.
//
// A relay line is `PPPP:TTTT:Call MODULE.function(arg,...) ret=...` or
// `PPPP:TTTT:Ret  MODULE.function() retval=XXXXXXXX ret=...` (process and thread ids in
// hex, with +pid). Only calls made by the program itself count: a relayed call made from
// inside another relayed call (kernel32 calling kernelbase, say) is the same request.

/** Functions of kernel32 (and kernelbase, where kernel32 forwards) that the trace includes. */
export const KERNEL32_FUNCTIONS = [
  'GetQueuedCompletionStatus',
  'GetQueuedCompletionStatusEx',
  'PostQueuedCompletionStatus',
  'CancelIoEx',
  'GetOverlappedResult',
  'OutputDebugStringA',
] as const;

/** The RelayInclude value: every ws2_32 export and the kernel32 functions above. */
export function relayInclude(): string {
  const kernel = KERNEL32_FUNCTIONS.flatMap((name) => [`kernel32.${name}`, `kernelbase.${name}`]);
  return ['ws2_32.*', ...kernel].join(';');
}

/** Winsock error codes worth a name in the table. */
const ERROR_NAMES: Readonly<Record<number, string>> = {
  997: 'WSA_IO_PENDING',
  10035: 'WSAEWOULDBLOCK',
  10054: 'WSAECONNRESET',
  10057: 'WSAENOTCONN',
};

export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? String(code);
}

/** ws2_32 functions whose int result is SOCKET_ERROR (-1) on failure. */
const SOCKET_ERROR_FUNCTIONS = new Set(['recv', 'send', 'WSARecv', 'WSASend', 'WSAPoll', 'select', 'ioctlsocket', 'WSAIoctl', 'setsockopt', 'getsockopt', 'recvfrom', 'sendto', 'WSARecvFrom', 'WSASendTo', 'shutdown']);

const COMPLETION_WAITS = new Set(['GetQueuedCompletionStatus', 'GetQueuedCompletionStatusEx']);

const LINE = /^([0-9a-f]+):([0-9a-f]+):(Call|Ret) +([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)\(([^)]*)\)(?: retval=([0-9a-f]+))?/;

/** One top-level relayed call, at its return, in trace order. */
export interface RelayCall {
  pid: string;
  /** The counting key: see ProcessCalls. */
  key: string;
  /** The function's name. */
  name: string;
  /** Its return value (NaN when the trace has none). */
  value: number;
  /** For OutputDebugStringA: the text, when the trace shows it. */
  text?: string;
}

/**
 * What one process called: `counts` by key. Keys are a function name (`recv`), a failed
 * call (`recv!`), WSAGetLastError by the code it returned (`WSAGetLastError=10035`), and a
 * completion-port wait by kind and outcome: `GetQueuedCompletionStatusEx wait+` (a timeout
 * other than 0 that returned something), `... wait-`, `... poll+`, `... poll-` (timeout 0).
 */
export interface ProcessCalls {
  pid: string;
  /** Whether this process listened (the sender) or not (the echo). */
  listened: boolean;
  /** In the order the process first made them. */
  counts: Map<string, number>;
}

interface Pending {
  module: string;
  name: string;
  timeout: number | null;
  text: string | undefined;
}

/** The top-level relayed calls of every process in a relay trace, in the order they returned. */
export function parseRelayTrace(trace: string): RelayCall[] {
  const out: RelayCall[] = [];
  /** Per thread, the relayed calls that have not returned yet. */
  const stacks = new Map<string, Pending[]>();
  for (const line of trace.split('\n')) {
    const match = LINE.exec(line);
    if (match === null) continue;
    const [, pid, tid, kind, module, name, args, retval] = match as unknown as [string, string, string, string, string, string, string, string | undefined];
    const thread = `${pid}:${tid}`;
    let stack = stacks.get(thread);
    if (stack === undefined) {
      stack = [];
      stacks.set(thread, stack);
    }
    if (kind === 'Call') {
      const timeoutArg = COMPLETION_WAITS.has(name) ? args.split(',')[4] : undefined;
      const text = /"(.*)"/.exec(args)?.[1];
      stack.push({ module: module.toLowerCase(), name, timeout: timeoutArg === undefined ? null : Number.parseInt(timeoutArg, 16), text });
      // A marker returns nothing worth waiting for: take it at its call.
      if (stack.length === 1 && name === 'OutputDebugStringA') out.push({ pid, key: name, name, value: Number.NaN, ...(text !== undefined ? { text } : {}) });
      continue;
    }
    // Ret: pairs with the innermost call of its name on this thread.
    let index = stack.length - 1;
    while (index >= 0 && stack[index]!.name !== name) index--;
    if (index < 0) continue; // its Call was lost or came before the trace started
    const call = stack[index]!;
    stack.length = index;
    if (index > 0 || name === 'OutputDebugStringA') continue; // made from inside another relayed call, or taken at its call
    const value = retval === undefined ? Number.NaN : Number.parseInt(retval, 16);
    let key: string;
    if (name === 'WSAGetLastError') key = `WSAGetLastError=${value}`;
    else if (call.timeout !== null) key = `${name} ${call.timeout === 0 ? 'poll' : 'wait'}${value !== 0 ? '+' : '-'}`;
    else if (call.module === 'ws2_32' && SOCKET_ERROR_FUNCTIONS.has(name) && value === 0xffffffff) key = `${name}!`;
    else key = name;
    out.push({ pid, key, name, value });
  }
  return out;
}

/** Which processes called ws2_32.listen (the sender). */
function listeners(trace: string): Set<string> {
  const found = new Set<string>();
  for (const match of trace.matchAll(/^([0-9a-f]+):[0-9a-f]+:Call +ws2_32\.listen\(/gm)) found.add(match[1]!);
  return found;
}

/** Counts `calls` per process. */
export function countCalls(calls: readonly RelayCall[], listened: ReadonlySet<string>): ProcessCalls[] {
  const processes = new Map<string, ProcessCalls>();
  for (const call of calls) {
    let counted = processes.get(call.pid);
    if (counted === undefined) {
      counted = { pid: call.pid, listened: listened.has(call.pid), counts: new Map() };
      processes.set(call.pid, counted);
    }
    counted.counts.set(call.key, (counted.counts.get(call.key) ?? 0) + 1);
  }
  for (const pid of listened) if (!processes.has(pid)) processes.set(pid, { pid, listened: true, counts: new Map() });
  return [...processes.values()];
}

/**
 * The calls of every process made while the sender measured: between the sender's two
 * OutputDebugStringA markers (bench/sender.ts with `marker`). Both processes trace into
 * one file, so its order is the order in time.
 */
export function countMarkedWindow(trace: string): ProcessCalls[] | string {
  const calls = parseRelayTrace(trace);
  const marks = calls.flatMap((call, index) => (call.name === 'OutputDebugStringA' && (call.text === undefined || call.text.startsWith('winsock-ffi bench')) ? [index] : []));
  if (marks.length !== 2) return `expected the sender's 2 markers in the trace, found ${marks.length}`;
  return countCalls(calls.slice(marks[0]! + 1, marks[1]!), listeners(trace));
}

/**
 * The calls of every process from the end of the sender's `skip`-th successful `recv` to the
 * end of its (skip + rounds)-th: the measured round trips of a sender whose every round
 * trip ends in one successful recv (the C reference's ping).
 */
export function countRecvWindow(trace: string, skip: number, rounds: number): ProcessCalls[] | string {
  const calls = parseRelayTrace(trace);
  const listened = listeners(trace);
  let seen = 0;
  let from = -1;
  let to = -1;
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]!;
    if (!listened.has(call.pid) || call.key !== 'recv' || !(call.value > 0)) continue;
    seen++;
    if (seen === skip) from = i;
    if (seen === skip + rounds) {
      to = i;
      break;
    }
  }
  if (from < 0 || to < 0) return `the sender made ${seen} successful recv calls, fewer than ${skip + rounds}`;
  return countCalls(calls.slice(from + 1, to + 1), listened);
}

/** Every count over `rounds`. */
export function perRound(calls: ProcessCalls, rounds: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, count] of calls.counts) if (count / rounds >= 0.02) out.set(key, count / rounds);
  return out;
}

/** The sender (the process that listened) and the echo (one other process that made Winsock calls). */
export function sides(processes: readonly ProcessCalls[]): { sender: ProcessCalls; echo: ProcessCalls } | string {
  const sender = processes.find((calls) => calls.listened);
  if (sender === undefined) return 'no process called ws2_32.listen in the trace';
  const others = processes.filter((calls) => calls !== sender && [...calls.counts.keys()].some((key) => /^(recv|send|WSARecv|WSASend)/.test(key)));
  if (others.length !== 1) return `expected one echo process in the trace, found ${others.length}`;
  return { sender, echo: others[0]! };
}

/** One process's calls per round trip, summed up for the table. */
export interface Summary {
  /** ws2_32 calls per round trip, failed ones included. */
  winsock: number;
  /** By function: `recv 1`, `WSARecv 1 (0.98 failed)`, `WSAGetLastError 1 (WSA_IO_PENDING)`. */
  winsockText: string;
  /** GetQueuedCompletionStatus(Ex) calls per round trip, and how many of them delivered something. */
  completionCalls: number;
  completionText: string;
  /** The other kernel32 calls counted (PostQueuedCompletionStatus, CancelIoEx, ...). */
  otherText: string;
}

const fmt = (value: number): string => (Math.abs(value - Math.round(value)) < 0.005 ? String(Math.round(value)) : value.toFixed(2));

export function summarize(perTrip: ReadonlyMap<string, number>): Summary {
  const winsock = new Map<string, { calls: number; failed: number; codes: Map<string, number> }>();
  let completionCalls = 0;
  const completion: string[] = [];
  const other: string[] = [];
  const entry = (name: string): { calls: number; failed: number; codes: Map<string, number> } => {
    let found = winsock.get(name);
    if (found === undefined) {
      found = { calls: 0, failed: 0, codes: new Map() };
      winsock.set(name, found);
    }
    return found;
  };
  for (const [key, value] of perTrip) {
    const waitMatch = /^(GetQueuedCompletionStatus(?:Ex)?) (wait|poll)([+-])$/.exec(key);
    if (waitMatch !== null) {
      completionCalls += value;
      completion.push(`${fmt(value)} ${waitMatch[2] === 'wait' ? 'waiting' : 'polling'}, ${waitMatch[3] === '+' ? 'delivered' : 'empty'}`);
      continue;
    }
    if (key.startsWith('WSAGetLastError=')) {
      const found = entry('WSAGetLastError');
      found.calls += value;
      const code = errorName(Number(key.slice('WSAGetLastError='.length)));
      found.codes.set(code, (found.codes.get(code) ?? 0) + value);
      continue;
    }
    if ((KERNEL32_FUNCTIONS as readonly string[]).includes(key)) {
      other.push(`${key} ${fmt(value)}`);
      continue;
    }
    const failed = key.endsWith('!');
    const found = entry(failed ? key.slice(0, -1) : key);
    found.calls += value;
    if (failed) found.failed += value;
  }
  let total = 0;
  const parts: string[] = [];
  for (const [name, found] of winsock) {
    total += found.calls;
    const notes: string[] = [];
    if (found.failed > 0) notes.push(`${fmt(found.failed)} failed`);
    if (found.codes.size > 0) notes.push([...found.codes].map(([code, count]) => (found.codes.size === 1 ? code : `${fmt(count)} ${code}`)).join(', '));
    parts.push(`${name} ${fmt(found.calls)}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`);
  }
  return {
    winsock: total,
    winsockText: parts.join(', '),
    completionCalls,
    completionText: completion.length > 0 ? `${fmt(completionCalls)}: ${completion.join('; ')}` : '0',
    otherText: other.join(', '),
  };
}

export { fmt as formatCount };
