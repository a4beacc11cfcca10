/**
 * The execution plan: lays out every signal in one flat arena, schedules the
 * operators once, and merges the operators of each level by kind into
 * kernels, so a step is a short list of tight loops whatever the number of
 * ensembles. Nothing here allocates once the plan is made.
 */
import type { Model } from './builder/build.js';
import type { Op } from './builder/ops.js';
import { schedule } from './builder/schedule.js';
import {
  CopyKernel,
  DotIncKernel,
  ElementwiseIncKernel,
  SpreadIncKernel,
  EncodeKernel,
  IndexedCopyKernel,
  ResetKernel,
  SpikeDotIncKernel,
} from './kernels/basic.js';
import { LowpassKernel, GainFilterKernel, StateSpaceKernel } from './kernels/filters.js';
import { FuncKernel, HebbKernel, PESKernel, RLSKernel, VojaKernel, type FuncEntry } from './kernels/functions.js';
import type { Arena, Kernel, SpikeLists } from './kernels/kernel.js';
import { kernelMemory, wasmLifEnabled, type TableStep, type WasmKernels } from './kernels/lif-wasm.js';
import type { WasmTable } from './kernels/basic.js';
import type { WasmLif } from './kernels/neurons.js';
import { F32_ELT, F64_ELT } from './wasm.js';
import {
  AdaptiveLIFKernel,
  AdaptiveLIFRateKernel,
  IzhikevichKernel,
  LIFKernel,
  LIFRateKernel,
  RandomSpikingKernel,
  RectifiedLinearKernel,
  SigmoidKernel,
  SpikingRectifiedLinearKernel,
  TanhKernel,
} from './kernels/neurons.js';
import type { AdaptiveLIF, AdaptiveLIFRate, Izhikevich, LIF, LIFRate, RatesToSpikes, RectifiedLinear, Sigmoid, Tanh } from './neurons.js';

export interface PlanOptions {
  /** Merge operators of the same kind (default true; false gives one kernel per operator, for testing). */
  merge?: boolean;
  /** Precision of the arena (default float64). */
  dtype?: 'float64' | 'float32';
}

/**
 * How a partitioned run restricts a plan to one part: the operators (some
 * rewritten to read local replicas of cut signals) and the part each runs in.
 * Scheduling still uses the whole, unpartitioned operator list, so every part
 * runs its operators in the same global order as a single-part plan: sums
 * into a signal happen in the same order, and results are bit-identical.
 */
export interface PlanPart {
  /** The part this plan runs. */
  index: number;
  /** Part of each operator of `model.ops`. */
  partOf: Map<Op, number>;
  /** Replacement for an operator in this part (e.g. reading a replica), if any. */
  rewrite: Map<Op, Op>;
  /** Level-parallel: operators split between the parts, with this part's share at [index] (see Partitioning.shares). */
  shares?: Map<Op, (Op | undefined)[]>;
  /**
   * Level-parallel: the parts share the operators of every schedule level and
   * meet at a barrier after each level (Plan.levelEnds says where levels end).
   */
  levels?: boolean;
  /** Shared memory for the spike lists (level-parallel parts read each other's), of spikeListInts(model) int32s. */
  spikeMemory?: SharedArrayBuffer;
  /**
   * The kernels in WebAssembly over the shared arena (which is then
   * WebAssembly memory at byte 0), with the byte address of this part's
   * spike lists in it (the shared ones, for level-parallel parts).
   */
  wasm?: { kernels: WasmKernels; spikeByte: number };
}

/** Groups the scheduled operators: one group per (level, kind) when merging, else one per operator. */
export function scheduleGroups(ops: readonly Op[], merge: boolean): Op[][] {
  return scheduleLevelGroups(ops, merge).groups;
}

/** scheduleGroups, with the schedule level of each group. */
export function scheduleLevelGroups(ops: readonly Op[], merge: boolean): { groups: Op[][]; levelOf: number[] } {
  const { order, levels } = schedule(ops);
  const groups: Op[][] = [];
  const levelOf: number[] = [];
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j < order.length && levels[j] === levels[i]) j++;
    if (merge) {
      const byKind = new Map<string, Op[]>();
      for (let k = i; k < j; k++) {
        const op = order[k]!;
        const key = kernelKey(op);
        const list = byKind.get(key);
        if (list) list.push(op);
        else byKind.set(key, [op]);
      }
      for (const g of byKind.values()) {
        groups.push(g);
        levelOf.push(levels[i]!);
      }
    } else {
      for (let k = i; k < j; k++) {
        groups.push([order[k]!]);
        levelOf.push(levels[i]!);
      }
    }
    i = j;
  }
  return { groups, levelOf };
}

/** Multiply-adds a step in dense products below which a model without LIF neurons keeps the JavaScript kernels. */
const WASM_MIN_PRODUCTS = 10_000;

/**
 * Whether a model's arena lives in WebAssembly memory: with LIF neurons
 * (their step is WebAssembly), or with dense products big enough to gain
 * from the WebAssembly ones (1.3-2.5x a step on rate models). Not for
 * every model: each WebAssembly memory reserves about 10 GB of address
 * space, so one process holds only some 12,000 at once (a sweep that keeps
 * its simulators stalls there), and the kernels' module and wrappers add
 * about 0.5 ms to a tiny model's build.
 */
export function usesWasmArena(model: Model): boolean {
  if (spikeListInts(model) > 0) return true;
  let work = 0;
  for (const op of model.ops) if (op.kind === 'dotinc' || op.kind === 'encode') work += op.rows * op.cols;
  return work >= WASM_MIN_PRODUCTS;
}

/** Int32s of shared memory a level-parallel plan's spike lists need. */
export function spikeListInts(model: Model): number {
  let n = 0;
  for (const op of model.ops) if (op.kind === 'neurons' && op.type.kind === 'LIF') n += 1 + op.output.size;
  return n;
}

export class Plan {
  readonly arena: Arena;
  readonly kernels: Kernel[];
  /** Number of operators before merging. */
  readonly nOps: number;
  /** Level-parallel plans: kernels[levelEnds[l - 1] .. levelEnds[l]) make level l (the same levels in every part). */
  readonly levelEnds: Int32Array | undefined;

  /**
   * Lays out the model's signals (unless already laid out), allocates the
   * arena (or uses `arena`, e.g. shared memory of a partitioned run, which
   * the caller initialises) and makes the kernels.
   */
  constructor(
    readonly model: Model,
    opts: PlanOptions & { arena?: Arena; part?: PlanPart } = {},
  ) {
    const size = model.signals.totalSize > 0 ? model.signals.totalSize : model.signals.layout();
    // One thread: the arena (and the spike lists after it) live in WebAssembly memory, where the
    // LIF step and the products run as WebAssembly (kernels/lif-wasm.ts); see usesWasmArena.
    let wasm: WasmKernels | undefined;
    const elt = opts.dtype === 'float32' ? F32_ELT : F64_ELT;
    if (opts.arena) {
      if (opts.arena.length !== size) throw new Error(`internal: arena has ${opts.arena.length} values, the model needs ${size}`);
      this.arena = opts.arena;
    } else {
      const lifInts = spikeListInts(model);
      // room for the kernels' tables (at most LIF_OP_BYTES per op), the float32 scratch and the part list
      if (!opts.part && usesWasmArena(model) && wasmLifEnabled())
        wasm = kernelMemory(elt.bytes * size + 4 * lifInts, kernelTableBytes(model), elt);
      this.arena = wasm
        ? elt.f32
          ? new Float32Array(wasm.buffer, 0, size)
          : new Float64Array(wasm.buffer, 0, size)
        : elt.f32
          ? new Float32Array(size)
          : new Float64Array(size);
      model.signals.initialize(this.arena);
    }
    const sched = scheduleLevelGroups(model.ops, opts.merge ?? true);
    let groups = sched.groups;
    this.nOps = model.ops.length;
    const part = opts.part;
    if (part?.levels) {
      // Every part lays out the spike lists of all LIF operators alike, in shared memory.
      const spikes = part.wasm
        ? wasmSpikeLists(groups, part.wasm.kernels, part.wasm.spikeByte)
        : spikeLists(groups, part.spikeMemory ? { buffer: part.spikeMemory, byteOffset: 0 } : undefined);
      const kernels: Kernel[] = [];
      const ends: number[] = [];
      groups.forEach((g, i) => {
        const mine = g.flatMap((op) => {
          const share = part.shares?.get(op);
          if (share) return share[part.index] ? [share[part.index]!] : [];
          return part.partOf.get(op) === part.index ? [op] : [];
        });
        for (const sub of mine.length > 0 ? splitSpikeDecoders(mine, spikes) : [])
          kernels.push(makeKernel(sub, this.arena, model.dt, spikes));
        if (i === groups.length - 1 || sched.levelOf[i + 1] !== sched.levelOf[i]) ends.push(kernels.length);
      });
      this.kernels = kernels;
      this.levelEnds = Int32Array.from(ends);
      return;
    }
    if (part) {
      groups = groups
        .map((g) => g.filter((op) => part.partOf.get(op) === part.index).map((op) => part.rewrite.get(op) ?? op))
        .filter((g) => g.length > 0);
    }
    const spikes = wasm
      ? wasmSpikeLists(groups, wasm, elt.bytes * size)
      : part?.wasm
        ? wasmSpikeLists(groups, part.wasm.kernels, part.wasm.spikeByte)
        : spikeLists(groups);
    groups = groups.flatMap((g) => splitSpikeDecoders(g, spikes));
    this.kernels = groups.map((g) => makeKernel(g, this.arena, model.dt, spikes));
    this.levelEnds = undefined;
  }

  /** Resets the arena to the signals' initial values. */
  reset(resetSeed?: number): void {
    this.model.signals.initialize(this.arena);
    for (const k of this.kernels) k.reset?.(resetSeed);
  }
}

function filterClass(op: Op & { kind: 'filter' }): 'gain' | 'lowpass' | 'statespace' {
  const f = op.filter;
  if (f.order === 0) return 'gain';
  if (f.order === 1 && f.D === 0) return 'lowpass';
  return 'statespace';
}

function kernelKey(op: Op): string {
  switch (op.kind) {
    case 'copy':
      return `copy:${op.srcIdx || op.dstIdx ? 'idx' : 'contig'}:${op.inc}`;
    case 'neurons':
      return `neurons:${op.type.kind}`;
    case 'filter':
      return `filter:${filterClass(op)}`;
    default:
      return op.kind;
  }
}

/** The LIF operators' spike lists: an id and a base per operator, by the offset of its output signal. */
interface SpikeListPlan extends SpikeLists {
  /** The WebAssembly LIF step over the arena's memory, and the byte offset of `list` in it. */
  wasm?: WasmLif & { kernels: WasmKernels };
  readonly byOp: Map<Op, number>;
  /** Output offset -> [id, size]. */
  readonly byOutput: Map<number, [number, number]>;
}

function spikeLists(groups: Op[][], memory?: { buffer: ArrayBufferLike; byteOffset: number }): SpikeListPlan {
  const byOp = new Map<Op, number>();
  const byOutput = new Map<number, [number, number]>();
  const bases: number[] = [];
  let total = 0;
  for (const g of groups) {
    for (const op of g) {
      if (op.kind !== 'neurons' || op.type.kind !== 'LIF') continue;
      const id = bases.length;
      byOp.set(op, id);
      byOutput.set(op.output.offset, [id, op.output.size]);
      bases.push(total);
      total += op.output.size;
    }
  }
  if (memory) {
    const { buffer, byteOffset } = memory;
    if (buffer.byteLength < byteOffset + 4 * (bases.length + total)) throw new Error('internal: spike list memory too small');
    const counts = new Int32Array(buffer, byteOffset, bases.length);
    const list = new Int32Array(buffer, byteOffset + 4 * bases.length, total);
    return { list, bases: Int32Array.from(bases), counts, byOp, byOutput };
  }
  return { list: new Int32Array(total), bases: Int32Array.from(bases), counts: new Int32Array(bases.length), byOp, byOutput };
}

/** Bytes the kernels' tables (at most 72 bytes per op, LIF_OP_BYTES), a float32 LIF step's scratch and the LIF step's part list need in WebAssembly memory. */
export function kernelTableBytes(model: Model): number {
  // and a spread op's arrays (start, yOff, kOff) and its table entry
  let spread = 0;
  for (const op of model.ops)
    if (op.kind === 'spread') spread += 4 * (op.spread.start.length + op.spread.yOff.length + (op.spread.kOff?.length ?? 0)) + 48;
  return 72 * model.ops.length + 16 * spikeListInts(model) + 112 + spread;
}

/** Spike lists at byte `at` of the kernels' WebAssembly memory, where the WebAssembly kernels use them. */
function wasmSpikeLists(groups: Op[][], kernels: WasmKernels, at: number): SpikeListPlan {
  const spikes = spikeLists(groups, { buffer: kernels.buffer, byteOffset: at });
  // a float32 arena's LIF step keeps its spiking neurons' voltages in f64 for its spike pass; every
  // LIF step lists the neurons whose refractory period ends within the step (lif-wasm.ts)
  const most = [...spikes.byOutput.values()].reduce((m, [, n]) => Math.max(m, n), 1);
  const scratchByte = kernels.elt.f32 ? kernels.place(new Int32Array(2 * most)) : 0;
  // the part list (n + 2 ints), then the part pass's spikes (n)
  const partsByte = kernels.place(new Int32Array(2 * most + 4));
  spikes.wasm = {
    lif: kernels.lif,
    listByte: at + 4 * spikes.counts.length,
    countByte: at,
    kernels,
    eltBytes: kernels.elt.bytes,
    scratchByte,
    partsByte,
    place: (table) => kernels.place(table),
  };
  return spikes;
}

/**
 * A kernel's table for its WebAssembly function (dot-wasm.ts), placed in the
 * kernels' memory: the first `fields` of each op's `stride` ints, arena
 * offsets turned into byte addresses except at the positions `counts` (rows,
 * cols), then what `extra` adds per op.
 */
function wasmTable(
  kernels: WasmKernels,
  step: TableStep,
  tb: Int32Array,
  stride: number,
  counts: number[],
  extra?: (k: number) => number[],
): WasmTable {
  const n = tb.length / stride;
  const fields = extra ? stride - 1 : stride; // with `extra`, the last field (an id) is replaced by it
  const e = kernels.elt.bytes;
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    for (let f = 0; f < fields; f++) out.push(counts.includes(f) ? tb[k * stride + f]! : e * tb[k * stride + f]!);
    if (extra) out.push(...extra(k));
  }
  kernels.warm(step);
  return { step, table: kernels.place(Int32Array.from(out)), n };
}

/**
 * A vector kernel's table for its WebAssembly function (dot-wasm.ts), placed
 * in the kernels' memory: each op's `stride` ints, arena offsets turned into
 * byte addresses except at the positions `counts`, then, with `params`, the
 * byte address of the op's `width` f64 parameters (placed there too).
 */
function vectorTable(
  kernels: WasmKernels,
  step: TableStep,
  tb: Int32Array,
  stride: number,
  counts: number[],
  params?: Float64Array,
  width = 0,
): WasmTable {
  const n = tb.length / stride;
  const at = params ? kernels.placeF64(params) : 0;
  const e = kernels.elt.bytes;
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    for (let f = 0; f < stride; f++) out.push(counts.includes(f) ? tb[k * stride + f]! : e * tb[k * stride + f]!);
    if (params) out.push(at + 8 * width * k);
  }
  kernels.warm(step);
  return { step, table: kernels.place(Int32Array.from(out)), n };
}

/** Is the op W x with x all of a LIF ensemble's output (so its spike list can stand for x)? */
function decodesSpikes(op: Op, spikes: SpikeListPlan): boolean {
  if (op.kind !== 'dotinc') return false;
  const e = spikes.byOutput.get(op.x.offset);
  return e !== undefined && e[1] === op.x.size && op.cols === op.x.size;
}

/** Splits a group of dotinc ops into the spike-driven ones and the rest (both independent, of one schedule level). */
function splitSpikeDecoders(g: Op[], spikes: SpikeListPlan): Op[][] {
  if (g[0]!.kind !== 'dotinc') return [g];
  const sp = g.filter((op) => decodesSpikes(op, spikes));
  if (sp.length === 0) return [g];
  if (sp.length === g.length) return [g];
  return [g.filter((op) => !decodesSpikes(op, spikes)), sp];
}

function makeKernel(ops: Op[], a: Arena, dt: number, spikes: SpikeListPlan): Kernel {
  const first = ops[0]!;
  switch (first.kind) {
    case 'reset': {
      const tb = new Int32Array(ops.length * 2);
      const vals = new Float64Array(ops.length);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'reset' };
        tb[2 * k] = op.dst.offset;
        tb[2 * k + 1] = op.dst.size;
        vals[k] = op.value;
      });
      const w = spikes.wasm?.kernels;
      return new ResetKernel(a, tb, vals, w && vectorTable(w, w.reset, tb, 2, [1], vals, 1));
    }
    case 'copy': {
      if (first.srcIdx || first.dstIdx) {
        const src: number[] = [],
          dst: number[] = [];
        for (const o of ops) {
          const op = o as Op & { kind: 'copy' };
          const n = op.srcIdx ? op.srcIdx.length : op.dstIdx ? op.dstIdx.length : op.src.size;
          for (let i = 0; i < n; i++) {
            src.push(op.src.offset + (op.srcIdx ? op.srcIdx[i]! : i));
            dst.push(op.dst.offset + (op.dstIdx ? op.dstIdx[i]! : i));
          }
        }
        return new IndexedCopyKernel(a, Int32Array.from(src), Int32Array.from(dst), first.inc, ops.length);
      }
      const tb = new Int32Array(ops.length * 3);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'copy' };
        if (op.src.size !== op.dst.size) throw new Error(`internal: copy size mismatch in ${op.owner}`);
        tb[3 * k] = op.src.offset;
        tb[3 * k + 1] = op.dst.offset;
        tb[3 * k + 2] = op.src.size;
      });
      const w = spikes.wasm?.kernels;
      // the WebAssembly copy moves pairs of elements: a copy onto an overlapping range stays in JavaScript's order
      const overlaps = ops.some((o) => {
        const op = o as Op & { kind: 'copy' };
        return op.src.offset < op.dst.offset + op.dst.size && op.dst.offset < op.src.offset + op.src.size;
      });
      return new CopyKernel(a, tb, first.inc, w && !overlaps ? vectorTable(w, first.inc ? w.copyinc : w.copy, tb, 3, [2]) : undefined);
    }
    case 'dotinc': {
      if (decodesSpikes(first, spikes)) {
        const tb = new Int32Array(ops.length * 6);
        ops.forEach((o, k) => {
          const op = o as Op & { kind: 'dotinc' };
          tb.set([op.W.offset, op.rows, op.cols, op.x.offset, op.y.offset, spikes.byOutput.get(op.x.offset)![0]], 6 * k);
        });
        const w = spikes.wasm;
        if (w) {
          // the WebAssembly table: [W, rows, cols, x, y] in bytes, then the op's spike list and count
          const list = (k: number): number[] => [w.listByte + 4 * spikes.bases[tb[6 * k + 5]!]!, w.countByte + 4 * tb[6 * k + 5]!];
          return new SpikeDotIncKernel(a, tb, spikes, wasmTable(w.kernels, w.kernels.sdot, tb, 6, [1, 2], list));
        }
        return new SpikeDotIncKernel(a, tb, spikes);
      }
      const tb = new Int32Array(ops.length * 5);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'dotinc' };
        tb.set([op.W.offset, op.rows, op.cols, op.x.offset, op.y.offset], 5 * k);
      });
      const w = spikes.wasm?.kernels;
      return new DotIncKernel(a, tb, w && wasmTable(w, w.dot, tb, 5, [1, 2]));
    }
    case 'spread': {
      const entries = ops.map((o) => {
        const op = o as Op & { kind: 'spread' };
        return { K: op.K.offset, x: op.x.offset, y: op.y.offset, n: op.x.size, spread: op.spread };
      });
      const w = spikes.wasm?.kernels;
      if (!w) return new SpreadIncKernel(a, entries);
      // the WebAssembly table (dot-wasm.ts spreadBody): byte offsets and addresses, the op's arrays placed beside it
      const e = w.elt.bytes;
      const tb: number[] = [];
      for (const { K, x, y, n, spread: s } of entries) {
        const kOff = s.kOff ? w.place(s.kOff) : 0;
        tb.push(e * K, e * x, e * y, n, w.place(s.start), w.place(s.yOff), kOff, s.run, e * s.yStride, e * s.kStride);
      }
      w.warm(w.spread);
      return new SpreadIncKernel(a, entries, { step: w.spread, table: w.place(Int32Array.from(tb)), n: entries.length });
    }
    case 'elementwise': {
      const tb = new Int32Array(ops.length * 5);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'elementwise' };
        tb.set([op.s.offset, op.s.size, op.x.offset, op.y.offset, op.x.size], 5 * k);
      });
      const w = spikes.wasm?.kernels;
      return new ElementwiseIncKernel(a, tb, w && vectorTable(w, w.ewinc, tb, 5, [1, 4]));
    }
    case 'neurons': {
      if (first.type.kind === 'AdaptiveLIF') {
        // three states: a table of six, [J, output, voltage, refractoryTime, adaptation, n]
        const tb = new Int32Array(ops.length * 6);
        const params: number[] = [];
        ops.forEach((o, k) => {
          const op = o as Op & { kind: 'neurons' };
          const s = op.states;
          tb.set(
            [op.J.offset, op.output.offset, s['voltage']!.offset, s['refractoryTime']!.offset, s['adaptation']!.offset, op.J.size],
            6 * k,
          );
          const t = op.type as AdaptiveLIF;
          params.push(t.tauRc, t.tauRef, t.minVoltage, t.amplitude, t.tauN, t.incN);
        });
        return new AdaptiveLIFKernel(a, tb, Float64Array.from(params), dt);
      }
      const tb = new Int32Array(ops.length * 5);
      const params: number[] = [];
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'neurons' };
        const s = Object.values(op.states);
        tb.set([op.J.offset, op.output.offset, s[0]?.offset ?? 0, s[1]?.offset ?? 0, op.J.size], 5 * k);
        const t = op.type;
        switch (t.kind) {
          case 'LIF': {
            const l = t as LIF;
            params.push(l.tauRc, l.tauRef, l.minVoltage, l.amplitude);
            break;
          }
          case 'LIFRate': {
            const l = t as LIFRate;
            params.push(l.tauRc, l.tauRef, l.amplitude);
            break;
          }
          case 'RectifiedLinear':
          case 'SpikingRectifiedLinear':
            params.push((t as RectifiedLinear).amplitude);
            break;
          case 'AdaptiveLIFRate': {
            const l = t as AdaptiveLIFRate;
            params.push(l.tauRc, l.tauRef, l.amplitude, l.tauN, l.incN);
            break;
          }
          case 'Sigmoid':
            params.push((t as Sigmoid).tauRef);
            break;
          case 'Tanh':
            params.push((t as Tanh).tauRef);
            break;
          case 'Izhikevich': {
            const z = t as Izhikevich;
            params.push(z.tauRecovery, z.coupling, z.resetVoltage, z.resetRecovery);
            break;
          }
          case 'RegularSpiking':
            params.push((t as RatesToSpikes).amplitude);
            break;
          case 'StochasticSpiking':
          case 'PoissonSpiking':
            params.push((t as RatesToSpikes).amplitude, t.negative ? 1 : 0);
            break;
          default:
            throw new Error(`internal: no kernel for neuron type ${t.kind}`);
        }
      });
      const p = Float64Array.from(params);
      switch (first.type.kind) {
        case 'LIF': {
          // state order: voltage, refractoryTime
          ops.forEach((o, k) => {
            const op = o as Op & { kind: 'neurons' };
            tb[5 * k + 2] = op.states['voltage']!.offset;
            tb[5 * k + 3] = op.states['refractoryTime']!.offset;
          });
          return new LIFKernel(
            a,
            tb,
            p,
            dt,
            spikes,
            Int32Array.from(ops, (op) => spikes.byOp.get(op)!),
            spikes.wasm,
          );
        }
        case 'LIFRate':
          return new LIFRateKernel(a, tb, p);
        case 'RectifiedLinear':
          return new RectifiedLinearKernel(a, tb, p);
        case 'SpikingRectifiedLinear':
          return new SpikingRectifiedLinearKernel(a, tb, p, dt);
        case 'Sigmoid':
          return new SigmoidKernel(a, tb, p);
        case 'AdaptiveLIFRate':
          // its one state, adaptation, is the table's first
          return new AdaptiveLIFRateKernel(a, tb, p, dt);
        case 'Tanh':
          return new TanhKernel(a, tb, p);
        case 'Izhikevich':
          // state order: voltage, recovery
          return new IzhikevichKernel(a, tb, p, dt);
        case 'RegularSpiking':
          // SpikingRectifiedLinear's integrate-and-count on the base type's rate, not rectified
          return new SpikingRectifiedLinearKernel(a, tb, p, dt, false);
        case 'StochasticSpiking':
        case 'PoissonSpiking': {
          const seeds = ops.map((o) => (o as Op & { kind: 'neurons' }).seed!);
          return new RandomSpikingKernel(a, tb, p, dt, seeds, first.type.kind === 'PoissonSpiking' ? 1 : 0);
        }
        default:
          throw new Error(`internal: no kernel for neuron type ${first.type.kind}`);
      }
    }
    case 'filter': {
      const cls = filterClass(first);
      if (cls === 'lowpass' || cls === 'gain') {
        const tb = new Int32Array(ops.length * 3);
        const params: number[] = [];
        ops.forEach((o, k) => {
          const op = o as Op & { kind: 'filter' };
          tb.set([op.input.offset, op.output.offset, op.input.size], 3 * k);
          const f = op.filter;
          if (cls === 'gain') params.push(f.D);
          else params.push(f.A[0]!, f.C[0]! * f.B[0]!);
        });
        const p = Float64Array.from(params);
        const w = spikes.wasm?.kernels;
        return cls === 'gain'
          ? new GainFilterKernel(a, tb, p, w && vectorTable(w, w.gain, tb, 3, [2], p, 1))
          : new LowpassKernel(a, tb, p, w && vectorTable(w, w.lowpass, tb, 3, [2], p, 2));
      }
      const tb = new Int32Array(ops.length * 6);
      const params: number[] = [];
      let maxOrder = 1;
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'filter' };
        const f = op.filter;
        maxOrder = Math.max(maxOrder, f.order);
        tb.set([op.input.offset, op.output.offset, op.state!.offset, op.input.size, f.order, params.length], 6 * k);
        params.push(...f.A, ...f.B, ...f.C, f.D);
      });
      return new StateSpaceKernel(a, tb, Float64Array.from(params), maxOrder);
    }
    case 'func': {
      const entries: FuncEntry[] = ops.map((o) => {
        const op = o as Op & { kind: 'func' };
        return {
          step: op.step,
          ...(op.restart ? { restart: op.restart } : {}),
          // With a float32 arena, functions see Float32Array views (indexing works the same).
          x: op.x ? (a.subarray(op.x.offset, op.x.offset + op.x.size) as Float64Array) : null,
          out: op.output ? (a.subarray(op.output.offset, op.output.offset + op.output.size) as Float64Array) : new Float64Array(0),
          owner: op.owner,
        };
      });
      return new FuncKernel(entries);
    }
    case 'encode': {
      const tb = new Int32Array(ops.length * 6);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'encode' };
        tb.set([op.b.offset, op.W.offset, op.rows, op.cols, op.x.offset, op.y.offset], 6 * k);
      });
      const w = spikes.wasm?.kernels;
      return new EncodeKernel(a, tb, w && wasmTable(w, w.enc, tb, 6, [2, 3]));
    }
    case 'pes': {
      const tb = new Int32Array(ops.length * 6);
      const p = new Float64Array(ops.length);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'pes' };
        tb.set([op.W.offset, op.rows, op.cols, op.error.offset, op.acts.offset, op.delta ? op.delta.offset : -1], 6 * k);
        p[k] = op.k;
      });
      return new PESKernel(a, tb, p);
    }
    case 'hebb': {
      const tb = new Int32Array(ops.length * 8);
      const p = new Float64Array(ops.length * 2);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'hebb' };
        tb.set(
          [op.W.offset, op.rows, op.cols, op.pre.offset, op.post.offset, op.theta.offset, op.rule, op.delta ? op.delta.offset : -1],
          8 * k,
        );
        p[2 * k] = op.alpha;
        p[2 * k + 1] = op.beta;
      });
      return new HebbKernel(a, tb, p);
    }
    case 'rls': {
      const tb = new Int32Array(ops.length * 6);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'rls' };
        tb.set([op.P.offset, op.rows, op.cols, op.pre.offset, op.error.offset, op.delta.offset], 6 * k);
      });
      return new RLSKernel(a, tb);
    }
    case 'voja': {
      const tb = new Int32Array(ops.length * 8);
      const p = new Float64Array(ops.length);
      ops.forEach((o, k) => {
        const op = o as Op & { kind: 'voja' };
        tb.set([op.E.offset, op.rows, op.cols, op.x.offset, op.post.offset, op.learn.offset, op.scale.offset, op.delta.offset], 8 * k);
        p[k] = op.alpha;
      });
      return new VojaKernel(a, tb, p);
    }
  }
}
