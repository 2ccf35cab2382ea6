// The import graph of a set of TypeScript files, read with the TypeScript compiler's
// parser, and the rules that test/pure/imports.test.ts holds src/ to: no cycle (type-only
// imports count), no import up the layers, and only src/sys/ itself past src/sys/index.ts.
// Pure: it takes the files' text, so the spec can feed it a few in-memory files as well.
//
// The parser is TypeScript 5.9.3's (tools/typescript-5): the TypeScript 7 the project
// builds with is a native compiler and has no ts.createSourceFile in JavaScript.
import path from 'node:path';
import ts from 'winsock-ffi-typescript-5/node_modules/typescript/lib/typescript.js';

/** How a file names another; every kind counts the same for the rules. */
export type ImportKind =
  | 'import'
  | 'import type'
  | 'export from'
  | 'export type from'
  | 'import = require'
  | 'import()'
  | 'import() type'
  | 'declare module'
  | '/// <reference>';

/** One relative import, resolved: `from` names `to` (both paths as the files map keys them). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: ImportKind;
  /** 1-based line of the import in `from`. */
  readonly line: number;
}

/** A layer of src/: a folder (ending in '/', its subfolders included) or one file. */
export interface Layer {
  readonly rank: number;
  readonly where: string;
}

/** Everything wrong with a set of files; every list empty when the rules hold. */
export interface ImportViolations {
  /** Relative imports naming no file of the set (inside the checked folder). */
  readonly unresolved: string[];
  /** Each strongly connected group of files, one line: its files, then one cycle through them. */
  readonly cycles: string[];
  /** Files that no layer of the table holds. */
  readonly unplaced: string[];
  /** Imports to a higher rank, or to the same rank outside the importer's own folder layer. */
  readonly upward: string[];
  /** Imports of src/sys/ from outside it, other than through src/sys/index.ts. */
  readonly sysBypassed: string[];
}

/**
 * The relative imports of every file in `files` (keys are '/'-separated paths such as
 * 'src/socket.ts'; values the text). Bare specifiers (node:*, packages) are not edges.
 * `root` is the folder checked (e.g. 'src'): a relative import that leaves it is not an
 * edge either, and one that stays in it but names no file is returned as unresolved.
 */
export function importEdges(files: ReadonlyMap<string, string>, root: string): { edges: ImportEdge[]; unresolved: string[] } {
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  for (const [file, text] of files) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const add = (specifier: string, kind: ImportKind, at: ts.Node | number): void => {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) return;
      const position = typeof at === 'number' ? at : at.getStart(source);
      const line = source.getLineAndCharacterOfPosition(position).line + 1;
      const target = resolve(file, specifier, files);
      if (target === undefined) {
        const named = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
        if (named.startsWith(`${root}/`)) unresolved.push(`${file}:${line} ${kind} '${specifier}': no such file in ${root}/`);
        return;
      }
      edges.push({ from: file, to: target, kind, line });
    };
    for (const reference of source.referencedFiles) add(reference.fileName, '/// <reference>', reference.pos);
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node.moduleSpecifier.text, node.importClause?.isTypeOnly === true ? 'import type' : 'import', node);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node.moduleSpecifier.text, node.isTypeOnly ? 'export type from' : 'export from', node);
      } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
        add(node.moduleReference.expression.text, 'import = require', node);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        add(node.argument.literal.text, 'import() type', node);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const [first] = node.arguments;
        if (first !== undefined && ts.isStringLiteralLike(first)) add(first.text, 'import()', node);
      } else if (ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)) {
        add(node.name.text, 'declare module', node); // an augmentation names the module it augments
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { edges, unresolved };
}

/** The file `specifier` names from `file`, if it is in `files` (a '.js' name may stand for its '.ts'). */
function resolve(file: string, specifier: string, files: ReadonlyMap<string, string>): string | undefined {
  const named = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
  const candidates = [named, named.replace(/\.(m|c)?js$/, '.$1ts'), `${named}.ts`, `${named}/index.ts`];
  return candidates.find((candidate) => files.has(candidate));
}

/** The layer holding `file`: the longest `where` that is the file itself or a folder above it. */
export function layerOf(file: string, layers: readonly Layer[]): Layer | undefined {
  let best: Layer | undefined;
  for (const layer of layers) {
    const holds = layer.where.endsWith('/') ? file.startsWith(layer.where) : file === layer.where;
    if (holds && (best === undefined || layer.where.length > best.where.length)) best = layer;
  }
  return best;
}

/**
 * Checks `files` (the whole of folder `root`, e.g. 'src') against the rules:
 * - no cycle, whatever kind of import makes it;
 * - each file is in a layer, and imports only files of a lower rank or of its own folder layer;
 * - only files under `sys` (e.g. 'src/sys/') import files under it other than `sysEntry`.
 */
export function checkImports(files: ReadonlyMap<string, string>, options: { root: string; layers: readonly Layer[]; sys: string; sysEntry: string }): ImportViolations {
  const { edges, unresolved } = importEdges(files, options.root);
  const show = (edge: ImportEdge): string => `${edge.from}:${edge.line} → ${edge.to} (${edge.kind})`;
  const upward: string[] = [];
  const sysBypassed: string[] = [];
  for (const edge of edges) {
    const from = layerOf(edge.from, options.layers);
    const to = layerOf(edge.to, options.layers);
    if (from !== undefined && to !== undefined && from.where !== to.where && to.rank >= from.rank) {
      const how = to.rank === from.rank ? `sideways within rank ${from.rank}` : `up from rank ${from.rank}`;
      upward.push(`${show(edge)}: ${how} (${from.where}) to rank ${to.rank} (${to.where})`);
    }
    if (edge.to.startsWith(options.sys) && edge.to !== options.sysEntry && !edge.from.startsWith(options.sys)) {
      sysBypassed.push(`${show(edge)}: outside ${options.sys}, only ${options.sysEntry} is the way in`);
    }
  }
  const unplaced = [...files.keys()].filter((file) => layerOf(file, options.layers) === undefined).map((file) => `${file}: in no layer of the table`);
  return { unresolved, cycles: cycles([...files.keys()], edges), unplaced, upward, sysBypassed };
}

/**
 * Every cycle among `nodes`, by strongly connected group (Tarjan): one entry per group,
 * its files sorted, then for each file of the group the shortest loop through it (the
 * same loop once), with the kind and line of each import, so that a reader sees where to
 * cut: "a.ts, b.ts: a.ts →(import type, line 3) b.ts →(import, line 1) a.ts".
 */
export function cycles(nodes: readonly string[], edges: readonly ImportEdge[]): string[] {
  const out = new Map<string, ImportEdge[]>(nodes.map((node) => [node, []]));
  for (const edge of edges) out.get(edge.from)?.push(edge);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const connect = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const { to } of out.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      groups.push(group);
    }
  };
  for (const node of [...nodes].sort()) if (!index.has(node)) connect(node);
  const found: string[] = [];
  for (const group of groups) {
    const members = new Set(group);
    const sorted = [...group].sort();
    if (group.length === 1 && !(out.get(sorted[0]!) ?? []).some((edge) => edge.to === sorted[0])) continue;
    const loops = new Map<string, string>();
    for (const start of sorted) {
      const loop = shortestCycle(start, members, out);
      // The same loop found from another of its files: keep it once, written from its smallest file.
      const smallest = loop.reduce((best, edge, i) => (edge.from < loop[best]!.from ? i : best), 0);
      const rotated = [...loop.slice(smallest), ...loop.slice(0, smallest)];
      const text = `${rotated.map((edge) => `${edge.from} →(${edge.kind}, line ${edge.line})`).join(' ')} ${rotated[0]!.from}`;
      loops.set(text, text);
    }
    found.push(`${sorted.join(', ')}:\n    ${[...loops.values()].join('\n    ')}`);
  }
  return found.sort();
}

/** The shortest path from `start` back to itself through `members` (breadth first). */
function shortestCycle(start: string, members: ReadonlySet<string>, out: ReadonlyMap<string, ImportEdge[]>): ImportEdge[] {
  const cameBy = new Map<string, ImportEdge>();
  const queue: string[] = [start];
  for (let at = 0; at < queue.length; at++) {
    const node = queue[at]!;
    for (const edge of out.get(node) ?? []) {
      if (!members.has(edge.to)) continue;
      if (edge.to === start) {
        const path: ImportEdge[] = [edge];
        for (let back = node; back !== start; back = cameBy.get(back)!.from) path.unshift(cameBy.get(back)!);
        return path;
      }
      if (!cameBy.has(edge.to)) {
        cameBy.set(edge.to, edge);
        queue.push(edge.to);
      }
    }
  }
  throw new Error(`${start} is in a strongly connected group but no cycle goes through it`);
}
