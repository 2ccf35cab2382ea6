// The benchmark's tables without running it (issue #19): a reason shared by several n/a
// rows (the fast path missing, on every "fast path on" row) is printed once, as a numbered
// note under the table, while a reason of one row stays on its row; in the terminal, the
// Markdown and the HTML tables alike. Pure: bench/report.ts loads no koffi.

import { expect } from 'chai';
import {
  connectionsMarkdownTable,
  connectionsTableLines,
  html,
  markdownTable,
  naCells,
  rowFromRounds,
  tableLines,
  throughputMarkdownTable,
  throughputTableLines,
  unavailableConnectionsRow,
  unavailableRow,
  unavailableThroughputRow,
  withReductions,
} from '../../bench/report.ts';
import type { ConnectionsRow, Environment, Report, Row, ThroughputRow } from '../../bench/report.ts';

const NO_FAST_PATH = 'WSAEOPNOTSUPP: this system has no TCP loopback fast path (SIO_LOOPBACK_FAST_PATH)';
const NO_RIO = 'this system has no Registered I/O: WSAIoctl(...) answered WSAEOPNOTSUPP';
const C_NO_RIO = 'WSAIoctl(SIO_GET_MULTIPLE_EXTENSION_FUNCTION_POINTER, WSAID_MULTIPLE_RIO) failed: 10045 WSAEOPNOTSUPP';

function measured(mode: Row['mode'], meanUs: number): Row {
  return rowFromRounds(mode, false, [{ count: 100, meanUs, p50Us: meanUs, p99Us: meanUs * 2, p999Us: meanUs * 3, maxUs: meanUs * 4, stddevUs: meanUs / 5, roundTripsPerSec: 1e6 / meanUs }]);
}

/** The shape of a run under Wine: measured rows, the fast path n/a on three rows, RIO n/a on two, c-rio with a reason of its own. */
function wineRows(): Row[] {
  return withReductions([
    measured('node:net', 300),
    measured('blocking', 150),
    unavailableRow('blocking', true, NO_FAST_PATH),
    unavailableRow('iocp-wait', true, NO_FAST_PATH),
    unavailableRow('rio-poll', false, NO_RIO),
    unavailableRow('rio-poll', true, NO_RIO),
    unavailableRow('promise', true, NO_FAST_PATH),
    unavailableRow('c-rio', false, C_NO_RIO),
  ]);
}

describe('bench tables: n/a reasons (bench/report.ts)', () => {
  it('naCells numbers each shared reason once, in order of first use, and leaves a single reason in place', () => {
    const { cells, notes } = naCells([
      { available: true },
      { available: false, reason: 'a' },
      { available: false, reason: 'b' },
      { available: false, reason: 'a' },
      { available: false, reason: 'c' },
      { available: false, reason: 'b' },
    ]);
    expect(notes).to.deep.equal(['a', 'b']);
    expect(cells).to.deep.equal([null, { reason: 'a', note: 1 }, { reason: 'b', note: 2 }, { reason: 'a', note: 1 }, { reason: 'c', note: null }, { reason: 'b', note: 2 }]);
  });

  it('the terminal table prints a shared reason once, under the table, and a single one on its row', () => {
    const lines = tableLines(wineRows());
    const text = lines.join('\n');
    expect(text.split(NO_FAST_PATH)).to.have.length(2); // once
    expect(text.split(NO_RIO)).to.have.length(2);
    const row = (label: string): string => lines.find((line) => line.startsWith(label))!;
    expect(row('blocking, fast path on')).to.match(/ n\/a \[1\]$/);
    expect(row('iocp-wait, fast path on')).to.match(/ n\/a \[1\]$/);
    expect(row('promise, fast path on')).to.match(/ n\/a \[1\]$/);
    expect(row('rio-poll, fast path off')).to.match(/ n\/a \[2\]$/);
    expect(row('rio-poll, fast path on')).to.match(/ n\/a \[2\]$/);
    expect(row('c-rio (C reference)')).to.match(new RegExp(` n/a: ${C_NO_RIO.replace(/[()]/g, '\\$&')}$`));
    expect(lines.slice(-3)).to.deep.equal(['', `[1] ${NO_FAST_PATH}`, `[2] ${NO_RIO}`]);
  });

  it('a table without shared reasons has no notes', () => {
    const lines = tableLines(withReductions([measured('node:net', 300), unavailableRow('c-rio', false, C_NO_RIO)]));
    expect(lines).to.have.length(4);
    expect(lines.at(-1)).to.match(/n\/a: WSAIoctl/);
  });

  it('the Markdown table puts the notes below it, each a paragraph, and keeps its columns', () => {
    const table = markdownTable(wineRows());
    const lines = table.split('\n');
    const columns = lines[0]!.split('|').length;
    for (const line of lines.filter((candidate) => candidate.startsWith('|'))) expect(line.split('|').length, line).to.equal(columns);
    expect(lines.find((line) => line.startsWith('| blocking, fast path on |'))).to.include('| n/a [1] |');
    expect(lines.slice(-4)).to.deep.equal(['', `[1] ${NO_FAST_PATH}`, '', `[2] ${NO_RIO}`]);
    expect(table.split(NO_FAST_PATH)).to.have.length(2);
  });

  it('the throughput table does the same, terminal and Markdown', () => {
    const rows: ThroughputRow[] = [
      { mode: 'node:net', available: true, mibPerSec: 300, vsNodeNet: 1, runs: [300] },
      unavailableThroughputRow('c-bulk', 'no MinGW-w64 compiler'),
      unavailableThroughputRow('c-bulk-iocp', 'no MinGW-w64 compiler'),
    ];
    const lines = throughputTableLines(rows);
    expect(lines.filter((line) => line.endsWith('n/a [1]'))).to.have.length(2);
    expect(lines.slice(-2)).to.deep.equal(['', '[1] no MinGW-w64 compiler']);
    const markdown = throughputMarkdownTable(rows).split('\n');
    const columns = markdown[0]!.split('|').length;
    for (const line of markdown.filter((candidate) => candidate.startsWith('|'))) expect(line.split('|').length, line).to.equal(columns);
    expect(markdown.at(-1)).to.equal('[1] no MinGW-w64 compiler');
  });

  it('the many-connections table does the same', () => {
    const rows: ConnectionsRow[] = [unavailableConnectionsRow('promise', 100, 'run failed: timed out'), unavailableConnectionsRow('stream', 100, 'run failed: timed out')];
    const lines = connectionsTableLines(rows);
    expect(lines.filter((line) => line.endsWith('n/a [1]'))).to.have.length(2);
    expect(lines.at(-1)).to.equal('[1] run failed: timed out');
    expect(connectionsMarkdownTable(rows).split('\n').at(-1)).to.equal('[1] run failed: timed out');
  });

  it('the HTML page notes a shared reason once under its table', () => {
    const environment: Environment = {
      os: 'Windows 10.0.18362',
      wine: '8.0',
      underWine: true,
      host: 'Linux',
      cpu: 'cpu',
      cpuCount: 2,
      node: 'v22.22.2',
      koffi: '3.3.4',
      fastPathSupported: false,
      messageSize: 64,
      rounds: 1,
      throughput: null,
      date: '2026-12-06T00:00:00.000Z',
    };
    const report: Report = { environment, targets: [], rows: wineRows() };
    const page = html(report, new Map(), []);
    expect(page.split(NO_FAST_PATH)).to.have.length(2);
    expect(page).to.include('<p class="note">[1] ');
    expect(page.match(/>n\/a \[1\]</g)).to.have.length(3);
  });
});
