/**
 * Static scheduling: orders operators once so that, for every base signal,
 * its setters run before its incrementers, those before its readers, and its
 * updaters last (Nengo's rule). Operators are then grouped into levels
 * (longest path from a source), so that independent operators of the same
 * kind can be merged into one kernel. A cycle means an algebraic loop: a
 * recurrent path with no synapse; the error names the objects on it.
 */
import { BuildError } from '../errors.js';
import { access, type Op } from './ops.js';

export interface Schedule {
  /** Operators in execution order. */
  order: Op[];
  /** Level of each operator in `order` (non-decreasing). */
  levels: number[];
}

export function schedule(ops: readonly Op[]): Schedule {
  const n = ops.length;
  // Per base signal: which ops set / inc / read / update it.
  const sets = new Map<number, number[]>();
  const incs = new Map<number, number[]>();
  const reads = new Map<number, number[]>();
  const updates = new Map<number, number[]>();
  const push = (m: Map<number, number[]>, key: number, i: number): void => {
    const list = m.get(key);
    if (list) list.push(i);
    else m.set(key, [i]);
  };
  ops.forEach((op, i) => {
    const a = access(op);
    // An op that adds into what it reads in the same step is a loop of one (a passthrough Node
    // connected to itself without a synapse): Nengo's "Input graph has cycles". (An edge from an op
    // to itself is dropped below, so it is caught here.)
    for (const inc of a.incs) {
      for (const r of a.reads) {
        if (r.base === inc.base && r.start < inc.start + inc.size && inc.start < r.start + r.size) {
          throw new BuildError(
            `${op.owner}: reads ${r.name} and adds into it in the same step, a cycle; give the connection a synapse`,
            op.owner,
          );
        }
      }
    }
    for (const s of a.sets) push(sets, s.base.id, i);
    for (const s of a.incs) push(incs, s.base.id, i);
    for (const s of a.reads) if (!s.base.constant) push(reads, s.base.id, i);
    for (const s of a.updates) push(updates, s.base.id, i);
  });

  const succ: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  const addEdges = (from: number[] | undefined, to: number[] | undefined): void => {
    if (!from || !to) return;
    for (const a of from) for (const b of to) if (a !== b) succ[a]!.add(b);
  };
  const keys = new Set<number>([...sets.keys(), ...incs.keys(), ...reads.keys(), ...updates.keys()]);
  for (const k of keys) {
    const s = sets.get(k);
    const i = incs.get(k);
    const r = reads.get(k);
    const u = updates.get(k);
    addEdges(s, i);
    addEdges(s, r);
    addEdges(i, r);
    addEdges(s, u);
    addEdges(i, u);
    addEdges(r, u);
  }

  // Kahn's algorithm, taking ready ops in their original order (deterministic).
  const indeg = new Int32Array(n);
  for (let a = 0; a < n; a++) for (const b of succ[a]!) indeg[b]!++;
  const level = new Int32Array(n);
  const ready: number[] = [];
  for (let a = 0; a < n; a++) if (indeg[a] === 0) ready.push(a);
  const done: number[] = [];
  let head = 0;
  while (head < ready.length) {
    const a = ready[head++]!;
    done.push(a);
    for (const b of succ[a]!) {
      if (level[b]! < level[a]! + 1) level[b] = level[a]! + 1;
      if (--indeg[b]! === 0) ready.push(b);
    }
  }
  if (done.length < n) throw cycleError(ops, succ, indeg);
  // Stable sort by level keeps the original order inside a level.
  const order = done.slice().sort((x, y) => level[x]! - level[y]! || x - y);
  return { order: order.map((i) => ops[i]!), levels: order.map((i) => level[i]!) };
}

function cycleError(ops: readonly Op[], succ: Set<number>[], indeg: Int32Array): BuildError {
  // Walk the remaining graph until a node repeats: that is a cycle.
  const remaining = new Set<number>();
  for (let i = 0; i < ops.length; i++) if (indeg[i]! > 0) remaining.add(i);
  const start = remaining.values().next().value as number;
  const seen = new Map<number, number>();
  const path: number[] = [];
  let cur = start;
  while (!seen.has(cur)) {
    seen.set(cur, path.length);
    path.push(cur);
    let next = -1;
    for (const b of succ[cur]!)
      if (remaining.has(b)) {
        next = b;
        break;
      }
    if (next < 0) break;
    cur = next;
  }
  const cycle = seen.has(cur) ? path.slice(seen.get(cur)) : path;
  const owners: string[] = [];
  for (const i of cycle) {
    const o = ops[i]!.owner;
    if (owners[owners.length - 1] !== o) owners.push(o);
  }
  const names = [...new Set(owners)];
  return new BuildError(
    `Algebraic loop: ${names.join(' -> ')} -> back to the start, with no synapse anywhere on it. ` +
      'A recurrent path needs at least one connection with a synapse (e.g. synapse: 0.005) to delay it by a step.',
    names[0],
  );
}
