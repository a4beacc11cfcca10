/**
 * Splitting a built model into parts that run on separate threads (the
 * nengo_mpi idea). The rule is derived from the operators themselves:
 *
 * - every operator that writes a signal (sets, increments or updates it) runs
 *   in the same part, and so does every operator that reads it, unless
 * - the signal is written only by synapses (filter updates): its readers see
 *   last step's value anyway, so they may run in another part, which receives
 *   a copy of the value once per step through shared memory. Cutting there
 *   adds no delay and changes no result.
 *
 * Operators joined by these rules form groups; groups are assigned to parts
 * by neuron count: in contiguous runs in model order where that balances the
 * parts as well as the greedy rule does (so each part's signals lie together
 * in the shared arena), else greedily (largest first, to the part with the
 * fewest neurons; between parts with as many, to the one with the least
 * other work); or to the part an object is pinned to.
 */
import type { Model } from '../engine/builder/build.js';
import { ValidationError } from '../engine/errors.js';
import { RatesToSpikes } from '../engine/neurons.js';
import { access, type Op } from '../engine/builder/ops.js';
import { Sig, type BaseSignal } from '../engine/builder/signals.js';
import { scheduleLevelGroups } from '../engine/plan.js';

export interface PartitionOptions {
  /** Requested number of parts. */
  parts: number;
  /** Object labels (or names) pinned to a part: { 'ensemble label': 1 }. */
  pin?: Record<string, number>;
  /** Share the operators of each schedule level when the model cannot be cut (default true). */
  levels?: boolean;
}

/** A signal cut between parts: written by synapses in `owner`, read in `readers`. */
export interface Cut {
  signal: BaseSignal;
  owner: number;
  /** Two buffers written alternately by the owner, one step apart. */
  buffers: [Sig, Sig];
  /** Replica of the signal in each reading part. */
  replicas: Map<number, Sig>;
}

export interface Partitioning {
  /**
   * 'cut': each part runs its own operators and parts meet once per step;
   * 'levels': the model could not be cut, so the parts share the operators
   * of every schedule level and meet after each level (see levelPartitioning).
   */
  mode: 'cut' | 'levels';
  /** Number of parts actually used (may be fewer than requested). */
  parts: number;
  /** Why fewer parts than requested, if so. */
  reason: string | undefined;
  partOf: Map<Op, number>;
  /** Per part: operators rewritten to read replicas. */
  rewrites: Map<Op, Op>[];
  /**
   * Level-parallel: operators split by rows between the parts, so that one
   * large product does not keep one part busy while the others wait. Part p
   * runs `shares.get(op)[p]` (nothing where that is undefined) instead of op.
   */
  shares: Map<Op, (Op | undefined)[]>;
  cuts: Cut[];
  neuronsPerPart: number[];
  /** Part that samples each base signal (its writer's part; 0 for constants). */
  signalPart: Map<BaseSignal, number>;
}

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(a: number): number {
    let r = a;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[a] !== r) {
      const next = this.parent[a]!;
      this.parent[a] = r;
      a = next;
    }
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a),
      rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/**
 * Partitions the model's operators and adds the signals cuts need (call
 * before the signals are laid out). Deterministic: the same model and
 * options give the same partitioning in every worker.
 */
export function partitionModel(model: Model, opts: PartitionOptions): Partitioning {
  const ops = model.ops;
  const n = ops.length;
  const uf = new UnionFind(n);
  const writers = new Map<BaseSignal, number[]>();
  const readers = new Map<BaseSignal, number[]>();
  const onlyFilters = new Map<BaseSignal, boolean>();
  ops.forEach((op, i) => {
    const a = access(op);
    for (const s of [...a.sets, ...a.incs, ...a.updates]) {
      const list = writers.get(s.base);
      if (list) list.push(i);
      else writers.set(s.base, [i]);
      const filterUpdate = op.kind === 'filter' && a.updates.includes(s);
      onlyFilters.set(s.base, (onlyFilters.get(s.base) ?? true) && filterUpdate);
    }
    for (const s of a.reads) {
      if (s.base.constant) continue;
      const list = readers.get(s.base);
      if (list) list.push(i);
      else readers.set(s.base, [i]);
    }
  });
  for (const [base, ws] of writers) {
    for (let k = 1; k < ws.length; k++) uf.union(ws[0]!, ws[k]!);
    if (!onlyFilters.get(base)) for (const r of readers.get(base) ?? []) uf.union(ws[0]!, r);
  }

  // Groups, their neuron counts and pins.
  const groupOf = new Int32Array(n);
  const weight = new Map<number, number>();
  const pinnedTo = new Map<number, number>();
  const pins = opts.pin ?? {};
  for (let i = 0; i < n; i++) {
    const g = uf.find(i);
    groupOf[i] = g;
    const op = ops[i]!;
    weight.set(g, (weight.get(g) ?? 0) + neuronsOf(op));
    const pin = pinFor(op.owner, pins);
    if (pin !== undefined) {
      const prev = pinnedTo.get(g);
      if (prev !== undefined && prev !== pin) {
        throw new ValidationError(
          `${op.owner} is pinned to part ${pin} but must run with objects pinned to part ${prev} (they share signals without a synapse)`,
          op.owner,
        );
      }
      pinnedTo.set(g, pin);
    }
  }
  const groups = [...weight.keys()];
  const neuronGroups = groups.filter((g) => weight.get(g)! > 0).length;
  // what joins ensembles into one group, named in the reasons below (only when they are given)
  const joined = (): string => joinedBy(ops, groupOf, writers, readers, onlyFilters);
  if (neuronGroups <= 1 && opts.parts > 1 && pinnedTo.size === 0 && opts.levels !== false)
    return levelPartitioning(model, opts.parts, joined());
  const byGroups = Math.max(1, Math.min(opts.parts, Math.max(neuronGroups, 1)));
  let parts = byGroups;
  for (const p of pinnedTo.values()) {
    if (!Number.isInteger(p) || p < 0 || p >= opts.parts) throw new Error(`pinned part ${p} is out of range 0..${opts.parts - 1}`);
    parts = Math.max(parts, p + 1);
  }
  // said from the parts that run (a pin to a higher part raises them: the warning named too few)
  let reason: string | undefined;
  if (parts < opts.parts || parts > byGroups) {
    const groups =
      `the model splits into only ${neuronGroups} independent group${neuronGroups === 1 ? '' : 's'} of neurons ` +
      `(objects joined by connections without a synapse, or by learning rules built as Nengo's, must run together${joined()})`;
    const run = `${parts} part${parts === 1 ? '' : 's'}`;
    reason =
      parts > byGroups
        ? `${groups}; it runs with ${run} because a pin ` + 'names a higher part, so some parts have no neurons'
        : `${groups}, so it runs with ${run} instead of ${opts.parts}`;
  }

  // Greedy balance (unless contiguous runs balance as well, below): heaviest group first onto the part
  // with the fewest neurons; ties by first operator. Between parts with as many neurons, the one with
  // the least other work (opCost) gets
  // the group: groups without neurons (a constant Node's connections and their synapses, a probe's
  // filter and copy) all went to part 0 before, a tenth of a K = 1000 integrators part's step.
  // Groups without neurons that call a Node function still all run in part 0, as before: every
  // part loads its own copy of the model module, so Node functions that share state (a sensor
  // reading what an actuator wrote) must run in one thread to give one thread's results.
  const load = new Array<number>(parts).fill(0);
  const work = new Array<number>(parts).fill(0);
  const cost = new Map<number, number>();
  for (let i = 0; i < n; i++) cost.set(groupOf[i]!, (cost.get(groupOf[i]!) ?? 0) + opCost(ops[i]!));
  const partOfGroup = new Map<number, number>();
  const place = (g: number, p: number): void => {
    partOfGroup.set(g, p);
    load[p]! += weight.get(g)!;
    work[p]! += cost.get(g)!;
  };
  for (const [g, p] of pinnedTo) place(g, p);
  const calls = new Set<number>();
  for (let i = 0; i < n; i++) if (ops[i]!.kind === 'func') calls.add(groupOf[i]!);
  const leastLoaded = (): number => {
    let best = 0;
    for (let p = 1; p < parts; p++) if (load[p]! < load[best]! || (load[p] === load[best] && work[p]! < work[best]!)) best = p;
    return best;
  };
  const free = groups.filter((g) => !pinnedTo.has(g));
  for (const g of free) if (weight.get(g) === 0 && calls.has(g)) place(g, 0);
  // The groups with neurons. Contiguous runs of them in model order (the order of their signals in the
  // shared arena) where that balances as well: the greedy balance alternates equal groups between the
  // parts, so that neighbouring signals of different parts share cache lines, which the two cores then
  // pass back and forth every step (K = 1000 integrators in two parts: each part's kernels took 263-292
  // us a step against 152-210 us in two contiguous halves, P = 1 taking 410).
  const firstOp = new Map<number, number>();
  for (let i = n - 1; i >= 0; i--) firstOp.set(groupOf[i]!, i);
  const neuronGroupsFree = free.filter((g) => weight.get(g)! > 0);
  const greedy = new Map<number, number>();
  {
    const l = load.slice();
    const w = work.slice();
    for (const g of [...neuronGroupsFree].sort((a, b) => weight.get(b)! - weight.get(a)! || a - b)) {
      let best = 0;
      for (let p = 1; p < parts; p++) if (l[p]! < l[best]! || (l[p] === l[best] && w[p]! < w[best]!)) best = p;
      greedy.set(g, best);
      l[best]! += weight.get(g)!;
      w[best]! += cost.get(g)!;
    }
  }
  const contiguous =
    pinnedTo.size === 0
      ? contiguousRuns(
          [...neuronGroupsFree].sort((a, b) => firstOp.get(a)! - firstOp.get(b)!),
          (g) => weight.get(g)!,
          parts,
        )
      : new Map<number, number>();
  const loads = (assign: Map<number, number>): number[] => {
    const l = load.slice();
    for (const [g, p] of assign) l[p]! += weight.get(g)!;
    return l;
  };
  const chosen = contiguous.size > 0 && asBalanced(loads(contiguous), loads(greedy)) ? contiguous : greedy;
  for (const [g, p] of [...chosen].sort((a, b) => firstOp.get(a[0])! - firstOp.get(b[0])!)) place(g, p);
  // Groups without neurons (a constant Node's connections, a probe's filter): with the groups that read
  // what they write, or else with those that write what they read (a part of their own would only add
  // cut signals); failing both, where the least other work is.
  const opsOfGroup = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const list = opsOfGroup.get(groupOf[i]!);
    if (list) list.push(i);
    else opsOfGroup.set(groupOf[i]!, [i]);
  }
  for (const g of free) {
    if (partOfGroup.has(g)) continue;
    const votes = new Array<number>(parts).fill(0);
    for (const i of opsOfGroup.get(g) ?? []) {
      const a = access(ops[i]!);
      for (const sig of [...a.sets, ...a.incs, ...a.updates]) {
        for (const r of readers.get(sig.base) ?? []) {
          const q = partOfGroup.get(groupOf[r]!);
          if (q !== undefined && groupOf[r] !== g) votes[q]!++;
        }
      }
    }
    if (Math.max(...votes) === 0) {
      // nothing placed reads it (a probe's filter): with what it reads from
      for (const i of opsOfGroup.get(g) ?? []) {
        for (const sig of access(ops[i]!).reads) {
          for (const w of writers.get(sig.base) ?? []) {
            const q = partOfGroup.get(groupOf[w]!);
            if (q !== undefined && groupOf[w] !== g) votes[q]!++;
          }
        }
      }
    }
    const top = Math.max(...votes);
    place(g, top > 0 ? votes.indexOf(top) : leastLoaded());
  }
  const partOf = new Map<Op, number>();
  ops.forEach((op, i) => partOf.set(op, partOfGroup.get(groupOf[i]!)!));

  // Cuts: filter-written signals read in other parts get double buffers and replicas.
  const signalPart = new Map<BaseSignal, number>();
  for (const [base, ws] of writers) signalPart.set(base, partOf.get(ops[ws[0]!]!)!);
  const rewrites: Map<Op, Op>[] = Array.from({ length: parts }, () => new Map<Op, Op>());
  const cuts: Cut[] = [];
  for (const [base, ws] of writers) {
    if (!onlyFilters.get(base)) continue;
    const owner = partOf.get(ops[ws[0]!]!)!;
    const foreign = (readers.get(base) ?? []).filter((r) => partOf.get(ops[r]!) !== owner);
    if (foreign.length === 0) continue;
    const init = base.init;
    const buffers: [Sig, Sig] = [
      model.signals.add(`${base.name}.cut0`, base.size, init ? Float64Array.from(init) : undefined),
      model.signals.add(`${base.name}.cut1`, base.size, init ? Float64Array.from(init) : undefined),
    ];
    const replicas = new Map<number, Sig>();
    for (const r of foreign) {
      const op = ops[r]!;
      const q = partOf.get(op)!;
      let replica = replicas.get(q);
      if (!replica) {
        replica = model.signals.add(`${base.name}.replica${q}`, base.size, init ? Float64Array.from(init) : undefined);
        replicas.set(q, replica);
      }
      const current = rewrites[q]!.get(op) ?? op;
      rewrites[q]!.set(op, replaceReads(current, base, replica));
    }
    cuts.push({ signal: base, owner, buffers, replicas });
  }
  return { mode: 'cut', parts, reason, partOf, rewrites, shares: new Map(), cuts, neuronsPerPart: load, signalPart };
}

/**
 * The objects that join neurons of different ensembles into one group, for
 * the reasons a model is not cut as asked: '; here X, Y' ('' when none).
 * The union of partitionModel again, with each ensemble's operators of one
 * group joined first, so that a join is seen where another object's
 * operator (a connection without a synapse, a learning rule's filter in
 * Nengo's mode 'set') meets an ensemble's; in model order, the first three.
 */
function joinedBy(
  ops: readonly Op[],
  groupOf: Int32Array,
  writers: Map<BaseSignal, number[]>,
  readers: Map<BaseSignal, number[]>,
  onlyFilters: Map<BaseSignal, boolean>,
): string {
  const uf = new UnionFind(ops.length);
  const hasNeurons = ops.map((op) => neuronsOf(op) > 0);
  const names = new Set<string>();
  const union = (a: number, b: number): void => {
    const ra = uf.find(a),
      rb = uf.find(b);
    if (ra === rb) return;
    if (hasNeurons[ra] && hasNeurons[rb]) {
      const owners = [ops[a]!.owner, ops[b]!.owner];
      const others = owners.filter((o) => !o.startsWith('Ensemble '));
      // a learning rule's filters ('...learningRule.post') by the rule's name
      for (const o of others.length > 0 ? others : owners) names.add(o.replace(/(\.learningRule.*)\.(pre|post|theta)$/, '$1'));
    }
    uf.union(ra, rb);
    hasNeurons[uf.find(ra)] = hasNeurons[ra]! || hasNeurons[rb]!;
  };
  const first = new Map<string, number>();
  ops.forEach((op, i) => {
    if (!op.owner.startsWith('Ensemble ')) return;
    const key = `${groupOf[i]} ${op.owner}`;
    const f = first.get(key);
    if (f === undefined) first.set(key, i);
    else {
      const ra = uf.find(f),
        ri = uf.find(i);
      if (ra === ri) return;
      uf.union(ra, ri);
      hasNeurons[uf.find(ra)] = hasNeurons[ra]! || hasNeurons[ri]!;
    }
  });
  for (const [base, ws] of writers) {
    for (let k = 1; k < ws.length; k++) union(ws[0]!, ws[k]!);
    if (!onlyFilters.get(base)) for (const r of readers.get(base) ?? []) union(ws[0]!, r);
  }
  if (names.size === 0) return '';
  const list = [...names];
  const more = list.length > 3 ? ` and ${list.length - 3} more` : '';
  return `; here ${list.slice(0, 3).join(', ')}${more}`;
}

/**
 * Whether the parts' loads of a contiguous split are as good as the greedy
 * split's: the largest within 2%, and no part left empty that greedy fills
 * (an idle part still meets the others every step).
 */
function asBalanced(contiguous: number[], greedy: number[]): boolean {
  if (Math.max(...contiguous) > 1.02 * Math.max(...greedy)) return false;
  const used = (loads: number[]): number => loads.filter((l) => l > 0).length;
  return used(contiguous) >= used(greedy);
}

/**
 * Items (in memory order) split into `parts` contiguous runs of about equal
 * weight: each goes to the part in whose share its middle falls.
 */
function contiguousRuns<T>(items: readonly T[], weightOf: (item: T) => number, parts: number): Map<T, number> {
  const total = items.reduce((a, x) => a + weightOf(x), 0);
  const out = new Map<T, number>();
  let before = 0;
  for (const x of items) {
    const w = weightOf(x);
    out.set(x, total > 0 ? Math.min(parts - 1, Math.floor(((before + w / 2) / total) * parts)) : 0);
    before += w;
  }
  return out;
}

/** The neurons an operator steps: a spiking wrapper's op (RegularSpiking...) steps those its base type's op steps. */
function neuronsOf(op: Op): number {
  return op.kind === 'neurons' && !(op.type instanceof RatesToSpikes) ? op.J.size : 0;
}

/** Rough cost of an operator in a step, for balancing a level between parts. */
function opCost(op: Op): number {
  switch (op.kind) {
    case 'neurons':
      return 8 * op.J.size; // a LIF neuron costs about as much as 8 multiply-adds
    case 'dotinc':
    case 'encode':
      return op.rows * op.cols;
    case 'pes':
      return 2 * op.rows * op.cols;
    case 'hebb':
      return 3 * op.rows * op.cols;
    case 'voja':
      return 3 * op.rows * op.cols;
    case 'rls':
      return 3 * op.cols * op.cols + op.rows * op.cols;
    case 'func':
      return 1000;
    case 'copy':
      return op.srcIdx ? op.srcIdx.length : op.dstIdx ? op.dstIdx.length : op.src.size;
    case 'reset':
      return op.dst.size;
    case 'elementwise':
      return op.x.size;
    case 'spread':
      // the terms of a whole input, of which a spiking one (the reason for this op) sends a tenth or less
      return op.x.size + (op.spread.yOff.length * op.spread.run) / 10;
    case 'filter':
      return op.input.size * Math.max(1, op.filter.order);
  }
}

/**
 * Level-parallel partitioning, for a model whose neurons all hang together
 * without synapses between them (a CircularConvolution, one big ensemble
 * array): within each level of the schedule the operators are independent,
 * so the parts share each level's operators, balanced by cost, and meet at a
 * barrier after every level. Operators that increment one signal stay
 * together, in schedule order, and Node functions (their state lives in one
 * thread) all run in part 0, so every sum is taken in the same order as in
 * one thread: results stay bit-identical. A cluster of matrix products into
 * one signal that would take more than its share of a level (the output
 * transform of a CircularConvolution, about a tenth of its step) is split
 * by rows of that signal instead: each element still gets the same
 * increments in the same order, each a dot product of one row (see
 * splitByRows). Part 0 samples the probes.
 */
function levelPartitioning(model: Model, parts: number, joined: string): Partitioning {
  const { groups, levelOf } = scheduleLevelGroups(model.ops, true);
  const partOf = new Map<Op, number>();
  const shares = new Map<Op, (Op | undefined)[]>();
  const neurons = new Array<number>(parts).fill(0);
  // The operators of each level, in schedule order (a level spans one group per kind).
  const levels: Op[][] = [];
  groups.forEach((g, gi) => {
    if (gi === 0 || levelOf[gi] !== levelOf[gi - 1]) levels.push([]);
    levels[levels.length - 1]!.push(...g);
  });
  for (const ops of levels) {
    const load = new Array<number>(parts).fill(0);
    // Clusters: operators of the level that write overlapping parts of a signal (increments into
    // one sum, of any kind) run in one part, which runs them in schedule order, as one thread does.
    // Writes into disjoint ranges of one signal (e.g. each ensemble of an array decoding into its
    // own elements of the array's output) don't meet, and may run in different parts.
    const clusters = overlapClusters(ops);
    const costed = clusters
      .filter((c) => c.length > 0)
      .map((c, i) => ({ c, i, cost: c.reduce((x, op) => x + opCost(op), 0), func: c.some((op) => op.kind === 'func') }));
    costed.sort((x, y) => y.cost - x.cost || x.i - y.i);
    const levelCost = costed.reduce((x, k) => x + k.cost, 0);
    const whole: typeof costed = [];
    for (const k of costed) {
      const split = k.cost > levelCost / parts ? splitByRows(k.c, parts) : null;
      if (!split) {
        whole.push(k);
        continue;
      }
      k.c.forEach((op, j) => {
        partOf.set(op, 0);
        shares.set(op, split[j]!);
        split[j]!.forEach((sub, p) => {
          if (sub) load[p]! += opCost(sub);
        });
      });
    }
    // The clusters run whole: greedily, heaviest first onto the least loaded part (Node functions in
    // part 0), or in contiguous runs of schedule order where that balances as well. Greedy alternates
    // equal clusters between the parts, so that neighbouring signals of different parts share cache
    // lines that both cores write (as in cut mode, see partitionModel).
    const greedy = new Map<(typeof costed)[number], number>();
    const gLoad = load.slice();
    for (const k of whole) {
      let best = 0;
      if (!k.func) for (let p = 1; p < parts; p++) if (gLoad[p]! < gLoad[best]!) best = p;
      gLoad[best]! += k.cost;
      greedy.set(k, best);
    }
    const contiguous = contiguousRuns(
      whole.filter((k) => !k.func).sort((x, y) => x.i - y.i),
      (k) => k.cost,
      parts,
    );
    for (const k of whole) if (k.func) contiguous.set(k, 0);
    const cLoad = load.slice();
    for (const [k, p] of contiguous) cLoad[p]! += k.cost;
    const chosen = asBalanced(cLoad, gLoad) ? contiguous : greedy;
    for (const [k, p] of chosen) {
      load[p]! += k.cost;
      for (const op of k.c) {
        partOf.set(op, p);
        neurons[p]! += neuronsOf(op);
      }
    }
  }
  const signalPart = new Map<BaseSignal, number>();
  for (const op of model.ops) {
    const a = access(op);
    for (const x of [...a.sets, ...a.incs, ...a.updates]) signalPart.set(x.base, 0);
  }
  return {
    mode: 'levels',
    parts,
    reason:
      'the model has no synapse to cut at (its neurons are one group: a single ensemble, or ensembles joined by ' +
      `connections without synapses or by learning rules built as Nengo's${joined}), so the ` +
      `${parts} parts share the operators of each step, meeting after each level of the schedule`,
    partOf,
    rewrites: Array.from({ length: parts }, () => new Map<Op, Op>()),
    shares,
    cuts: [],
    neuronsPerPart: neurons,
    signalPart,
  };
}

/**
 * A cluster of matrix products (y += W x) that increment one signal, split
 * into `parts` bands of that signal's elements: per operator, the share of
 * each part (its rows in the band, undefined if none), or null when the
 * cluster is not only such products or is too small to split. Every row is
 * computed as before (a row's dot product does not depend on the other
 * rows), and each element's increments keep their order; but a spike-driven
 * product of one row sums differently from one of many, so no share may be
 * cut down to a single row.
 */
function splitByRows(ops: Op[], parts: number): (Op | undefined)[][] | null {
  const products: (Op & { kind: 'dotinc' })[] = [];
  for (const op of ops) {
    if (op.kind !== 'dotinc' || op.y.size !== op.rows || op.W.size !== op.rows * op.cols) return null;
    products.push(op);
  }
  const lo = Math.min(...products.map((op) => op.y.start)),
    hi = Math.max(...products.map((op) => op.y.start + op.rows));
  if (hi - lo < 8 * parts) return null;
  const bands = Array.from({ length: parts + 1 }, (_, p) => lo + Math.round(((hi - lo) * p) / parts));
  const out: (Op | undefined)[][] = [];
  for (const op of products) {
    const subs: (Op | undefined)[] = [];
    for (let p = 0; p < parts; p++) {
      const r0 = Math.max(bands[p]!, op.y.start) - op.y.start,
        r1 = Math.min(bands[p + 1]!, op.y.start + op.rows) - op.y.start;
      if (r1 <= r0) {
        subs.push(undefined);
        continue;
      }
      if (r1 - r0 === 1 && op.rows > 1) return null;
      subs.push({
        ...op,
        W: new Sig(op.W.base, op.W.start + r0 * op.cols, (r1 - r0) * op.cols),
        y: new Sig(op.y.base, op.y.start + r0, r1 - r0),
        rows: r1 - r0,
      });
    }
    out.push(subs);
  }
  return out;
}

/** The operators grouped so that any two writing overlapping ranges of a base signal share a group (schedule order kept). */
function overlapClusters(ops: Op[]): Op[][] {
  const parent = ops.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const writes = new Map<BaseSignal, { lo: number; hi: number; op: number }[]>();
  ops.forEach((op, i) => {
    const a = access(op);
    for (const x of [...a.sets, ...a.incs, ...a.updates]) {
      let list = writes.get(x.base);
      if (!list) writes.set(x.base, (list = []));
      list.push({ lo: x.start, hi: x.start + Math.max(1, x.size), op: i });
    }
  });
  for (const list of writes.values()) {
    list.sort((x, y) => x.lo - y.lo);
    // a sweep: each range joins the group of the ranges before it that it overlaps
    let reach = -Infinity,
      last = -1;
    for (const w of list) {
      if (w.lo < reach) parent[find(w.op)] = find(last);
      if (w.hi > reach) {
        reach = w.hi;
        last = w.op;
      }
    }
  }
  const byRoot = new Map<number, Op[]>();
  ops.forEach((op, i) => {
    const r = find(i);
    let c = byRoot.get(r);
    if (!c) byRoot.set(r, (c = []));
    c.push(op);
  });
  return [...byRoot.values()];
}

function pinFor(owner: string, pins: Record<string, number>): number | undefined {
  for (const [label, part] of Object.entries(pins)) {
    if (owner === label || owner.endsWith(` '${label}'`)) return part;
  }
  return undefined;
}

/** A copy of `op` whose reads of `base` go to `replica` instead (views keep their offsets). */
function replaceReads(op: Op, base: BaseSignal, replica: Sig): Op {
  const reads = new Set(access(op).reads.filter((s) => s.base === base));
  const copy: Record<string, unknown> = { ...op };
  for (const [key, value] of Object.entries(op)) {
    if (value instanceof Sig && reads.has(value)) copy[key] = new Sig(replica.base, value.start, value.size);
  }
  return copy as unknown as Op;
}
