/**
 * Cell source transformation. A model cell is JavaScript with top-level
 * `await`; its top-level declarations must outlive the cell (the next cell
 * sees `net`), and re-running a cell must not fail with "already declared".
 * So, as Node's REPL does, top-level `const`/`let`/`var` become assignments
 * to globals, function and class declarations are also set as globals, the
 * last expression becomes the cell's value, and the whole runs in an async
 * function. No line breaks are added or removed, so lines map one to one and
 * columns map back through the recorded edits.
 */
import { parse, type Node as AcornNode, type Pattern, type Program, type Statement, type ModuleDeclaration } from 'acorn';

export interface Edit {
  /** Offset in the original source. */
  pos: number;
  /** Characters of the original removed at pos. */
  remove: number;
  insert: string;
}

export interface Transformed {
  code: string;
  /** Names the cell declares at top level (variables and classes; functions separately). */
  names: string[];
  functions: string[];
  edits: Edit[];
  /** Offsets in the original at which each line starts. */
  lineStarts: number[];
  prefix: string;
}

export class CellSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'SyntaxError';
  }
}

type TopStatement = Statement | ModuleDeclaration;

function parseCell(source: string): Program {
  try {
    return parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowAwaitOutsideFunction: true,
      allowReturnOutsideFunction: false,
      locations: true,
    });
  } catch (err) {
    const e = err as Error & { loc?: { line: number; column: number } };
    const msg = e.message.replace(/ \(\d+:\d+\)$/, '');
    throw new CellSyntaxError(msg, e.loc?.line ?? 1, (e.loc?.column ?? 0) + 1);
  }
}

function patternNames(p: Pattern, out: string[]): void {
  switch (p.type) {
    case 'Identifier':
      out.push(p.name);
      break;
    case 'ObjectPattern':
      for (const prop of p.properties) patternNames(prop.type === 'RestElement' ? prop.argument : prop.value, out);
      break;
    case 'ArrayPattern':
      for (const el of p.elements) if (el) patternNames(el, out);
      break;
    case 'RestElement':
      patternNames(p.argument, out);
      break;
    case 'AssignmentPattern':
      patternNames(p.left, out);
      break;
    default:
      break;
  }
}

/** Edits that turn top-level declarations into assignments; collects the declared names. */
function declarationEdits(body: TopStatement[], edits: Edit[], names: string[], functions: string[]): void {
  for (const st of body) {
    if (st.type === 'VariableDeclaration') {
      edits.push({ pos: st.start, remove: st.kind.length, insert: 'void (' });
      for (const d of st.declarations) {
        patternNames(d.id, names);
        // `var x;` again keeps x (JavaScript's var); `let x;` is a fresh binding, undefined
        if (!d.init && st.kind === 'var' && d.id.type === 'Identifier')
          edits.push({ pos: d.id.end, remove: 0, insert: ` = typeof ${d.id.name} === 'undefined' ? undefined : ${d.id.name}` });
        else if (!d.init) edits.push({ pos: d.id.end, remove: 0, insert: ' = undefined' });
      }
      const last = st.declarations[st.declarations.length - 1]!;
      edits.push({ pos: last.end, remove: 0, insert: ')' });
    } else if (st.type === 'ClassDeclaration' && st.id) {
      names.push(st.id.name);
      edits.push({ pos: st.start, remove: 0, insert: `${st.id.name} = ` });
      edits.push({ pos: st.end, remove: 0, insert: ';' });
    } else if (st.type === 'FunctionDeclaration' && st.id) {
      functions.push(st.id.name);
    } else if (st.type === 'ImportDeclaration' || st.type.startsWith('Export')) {
      const n = st as AcornNode & { loc?: { start: { line: number; column: number } } };
      throw new CellSyntaxError(
        "cells cannot use 'import' or 'export' statements; the nefsim API is already global (use 'await import(...)' for other modules)",
        n.loc?.start.line ?? 1,
        (n.loc?.start.column ?? 0) + 1,
      );
    }
  }
}

function applyEdits(source: string, edits: Edit[]): string {
  const sorted = [...edits].sort((a, b) => a.pos - b.pos);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    out += source.slice(at, e.pos) + e.insert;
    at = e.pos + e.remove;
  }
  return out + source.slice(at);
}

function lineStartsOf(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** The cell as a script for a session: `(async () => { ...; return lastExpression; })()`. */
export function transformCell(source: string): Transformed {
  const program = parseCell(source);
  const edits: Edit[] = [];
  const names: string[] = [];
  const functions: string[] = [];
  const body = program.body as TopStatement[];
  declarationEdits(body, edits, names, functions);
  const last = body[body.length - 1];
  if (last && last.type === 'ExpressionStatement') {
    // Around the statement (less its semicolon), not its expression: acorn keeps no parentheses, so
    // the expression of `(a + b)` starts after the '(' and `return (` there would split it.
    const end = source.charCodeAt(last.end - 1) === 59 /* ; */ ? last.end - 1 : last.end;
    edits.push({ pos: last.start, remove: 0, insert: 'return (' });
    edits.push({ pos: end, remove: 0, insert: ')' });
  }
  const prefix = `(async () => {${functions.map((f) => `globalThis.${f} = ${f};`).join(' ')}`;
  const code = prefix + applyEdits(source, edits) + '\n})()';
  return { code, names, functions, edits, lineStarts: lineStartsOf(source), prefix };
}

/** The cell as statements inside a module's async function (for runs): declarations become assignments to `let`s declared once. */
export function transformForModule(source: string): { code: string; names: string[]; functions: string[] } {
  const program = parseCell(source);
  const edits: Edit[] = [];
  const names: string[] = [];
  const functions: string[] = [];
  declarationEdits(program.body as TopStatement[], edits, names, functions);
  // A session runs cells in sloppy mode, where `net = ...` without a declaration makes a global;
  // the run's module is strict, so such top-level assignments become declared names there too.
  for (const st of program.body) if (st.type === 'ExpressionStatement') assignedNames(st.expression, names);
  return { code: applyEdits(source, edits), names: [...new Set(names)], functions };
}

/** Identifiers assigned by an expression statement's plain assignments (`a = b = 1`, `a = 1, b = 2`). */
function assignedNames(e: AcornNode, into: string[]): void {
  const node = e as AcornNode & { left?: AcornNode & { name?: string }; right?: AcornNode; operator?: string; expressions?: AcornNode[] };
  if (node.type === 'AssignmentExpression' && node.operator === '=') {
    if (node.left?.type === 'Identifier' && node.left.name !== undefined) into.push(node.left.name);
    if (node.right) assignedNames(node.right, into);
  } else if (node.type === 'SequenceExpression') {
    for (const x of node.expressions ?? []) assignedNames(x, into);
  } else if (node.type === 'ParenthesizedExpression') {
    const inner = (node as unknown as { expression?: AcornNode }).expression;
    if (inner) assignedNames(inner, into);
  }
}

/**
 * Maps a position (1-based line and column) in the transformed code back to
 * the cell source: lines are the same; on the line, every edit before the
 * column shifts it.
 */
export function mapPosition(
  t: Pick<Transformed, 'edits' | 'lineStarts' | 'prefix'>,
  line: number,
  column: number,
): { line: number; column: number } {
  const lineStart = t.lineStarts[line - 1];
  if (lineStart === undefined) return { line: Math.min(line, t.lineStarts.length), column: 1 };
  const lineEnd = t.lineStarts[line] ?? Infinity;
  if (line === 1) column -= t.prefix.length;
  if (column < 1) return { line, column: 1 };
  const onLine = t.edits.filter((e) => e.pos >= lineStart && e.pos < lineEnd).sort((a, b) => a.pos - b.pos);
  // Walk the line in generated coordinates.
  let gen = 0; // generated column offset from line start (0-based)
  let orig = lineStart; // original offset
  const target = column - 1;
  for (const e of onLine) {
    const plain = e.pos - orig;
    if (gen + plain > target) break;
    gen += plain;
    orig = e.pos;
    if (gen + e.insert.length > target) return { line, column: orig - lineStart + 1 };
    gen += e.insert.length;
    orig += e.remove;
  }
  return { line, column: orig - lineStart + (target - gen) + 1 };
}
