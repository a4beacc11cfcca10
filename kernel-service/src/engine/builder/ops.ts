/**
 * Operators: the builder's output, before scheduling and merging. Each
 * operator declares the signals it sets, increments, reads and updates, as
 * Nengo's operators do; within a step, every signal is set, then
 * incremented, then read, and updated last (updates become visible next
 * step, which is how synapses give one step of delay and break loops).
 */
import type { Spread } from '../spread.js';
import type { NeuronType } from '../neurons.js';
import type { DiscreteFilter } from '../synapses.js';
import type { Sig } from './signals.js';

interface OpBase {
  /** The model object this operator belongs to (for error messages). */
  owner: string;
}

/** dst = value. */
export interface ResetOp extends OpBase {
  kind: 'reset';
  dst: Sig;
  value: number;
}

/** dst[dstIdx] (+)= src[srcIdx]; indices relative to the signals, or contiguous when absent. */
export interface CopyOp extends OpBase {
  kind: 'copy';
  src: Sig;
  dst: Sig;
  srcIdx: Int32Array | undefined;
  dstIdx: Int32Array | undefined;
  inc: boolean;
}

/** y += W x, W a rows x cols row-major matrix signal. */
export interface DotIncOp extends OpBase {
  kind: 'dotinc';
  W: Sig;
  rows: number;
  cols: number;
  x: Sig;
  y: Sig;
}

/** y += s * x elementwise (s has x's size, or size 1 for a scalar gain). */
export interface ElementwiseIncOp extends OpBase {
  kind: 'elementwise';
  s: Sig;
  x: Sig;
  y: Sig;
}

/**
 * y += a convolution of x, input by input (convolution.ts's Spread): each
 * nonzero x[i] adds x[i] times its kernel entries into the outputs it
 * reaches; the zeros (most of a spiking input) cost a test. K is the kernel.
 */
export interface SpreadIncOp extends OpBase {
  kind: 'spread';
  K: Sig;
  x: Sig;
  y: Sig;
  spread: Spread;
}

/** One neuron-model step: reads J, sets output, updates its state variables. */
export interface NeuronsOp extends OpBase {
  kind: 'neurons';
  type: NeuronType;
  J: Sig;
  output: Sig;
  states: Record<string, Sig>;
  /** The random stream of a random type (StochasticSpiking, PoissonSpiking). */
  seed?: number | undefined;
}

/**
 * A linear filter run as an update: output for the next step computed from
 * this step's input; `state` holds the filter's internal state (order x size).
 * With `sets`, the same computation scheduled as a set (Nengo's mode 'set',
 * that of a learning rule's synapses): this step's readers see the output
 * computed from this step's input.
 */
export interface FilterOp extends OpBase {
  kind: 'filter';
  filter: DiscreteFilter;
  input: Sig;
  output: Sig;
  state: Sig | undefined;
  sets?: true;
}

/** A JavaScript function of time (and input) writing the output, e.g. a Node function or a Process step. */
export interface FuncOp extends OpBase {
  kind: 'func';
  /** Writes `out` (a view of the output signal) from t and x (a view of the input, or null). */
  step: (t: number, x: Float64Array | null, out: Float64Array) => void;
  x: Sig | undefined;
  output: Sig | undefined;
  /** Reads time: true for Node functions and processes. */
  readsTime: boolean;
  /** A fresh `step`, for a reset (a process's state and random stream start again, as in Nengo). */
  restart?: (resetSeed?: number) => (t: number, x: Float64Array | null, out: Float64Array) => void;
}

/**
 * PES: W += k * outer(error, acts), before the step's readers of W (Nengo adds a step's delta at the
 * start of the next step); `error` is the rule's error one step late and `acts` the activities as
 * the step reads them, both from the step before.
 */
export interface PESOp extends OpBase {
  kind: 'pes';
  W: Sig;
  rows: number;
  cols: number;
  error: Sig;
  acts: Sig;
  /** -learning_rate * dt / n_neurons */
  k: number;
  /**
   * With a probe of the rule's delta, Nengo's structure instead: the op is an
   * updater that writes the change into `delta` from this step's error and
   * activities, and a copy adds it into W at the start of the next step.
   */
  delta?: Sig;
}

/**
 * y = b + W x: an ensemble's input current, its bias plus its encoders times
 * its input, in one pass (fuseEncoders makes it from the bias copy and the
 * encoders' dotinc when nothing else writes the current).
 */
export interface EncodeOp extends OpBase {
  kind: 'encode';
  b: Sig;
  W: Sig;
  rows: number;
  cols: number;
  x: Sig;
  y: Sig;
}

/**
 * BCM (rule 0) or Oja (rule 1) on a full weight matrix W (rows post neurons x cols pre neurons), with
 * the activities of the step before, as PES:
 *   BCM: W += alpha * outer(post * (post - theta), pre)
 *   Oja: W += alpha * (outer(post, pre) - beta * W * post^2)
 */
export interface HebbOp extends OpBase {
  kind: 'hebb';
  rule: 0 | 1;
  W: Sig;
  rows: number;
  cols: number;
  pre: Sig;
  post: Sig;
  /** BCM's threshold; the post signal again for Oja. */
  theta: Sig;
  /** learning_rate * dt */
  alpha: number;
  /** Oja's beta; 0 for BCM. */
  beta: number;
  /** As PESOp's: the change written here (an update), added into W by a copy at the next step's start. */
  delta?: Sig;
}

/**
 * Voja on a post ensemble's scaled encoders E (rows neurons x cols dimensions), as Nengo's: an
 * updater, from the values the step read, of the change that a copy adds into E at the start of
 * the next step, before the encoders are read:
 *   delta = alpha * L * (outer(scale * post, x) - post * E)
 */
export interface VojaOp extends OpBase {
  kind: 'voja';
  E: Sig;
  rows: number;
  cols: number;
  /** The connection's decoded output, as the post ensemble receives it. */
  x: Sig;
  /** The post activities, filtered. */
  post: Sig;
  /** The learning signal L (one value). */
  learn: Sig;
  /** gain / radius, a neuron. */
  scale: Sig;
  delta: Sig;
  /** learning_rate * dt */
  alpha: number;
}

/**
 * RLS (Nengo's SimRLS), an updater of the inverse correlation estimate P (cols x cols) and of
 * the change `delta` (rows x cols) of W, from this step's filtered pre activities r and error e:
 *   Pr = P r; k = 1 / (1 + r . Pr); P -= k Pr Pr^T; delta = -k outer(e, Pr)
 * A copy adds delta into W at the start of the next step.
 */
export interface RLSOp extends OpBase {
  kind: 'rls';
  P: Sig;
  rows: number;
  cols: number;
  pre: Sig;
  error: Sig;
  delta: Sig;
}

export type Op =
  ResetOp | CopyOp | DotIncOp | ElementwiseIncOp | SpreadIncOp | NeuronsOp | FilterOp | FuncOp | PESOp | HebbOp | VojaOp | RLSOp | EncodeOp;

export interface Access {
  sets: Sig[];
  incs: Sig[];
  reads: Sig[];
  updates: Sig[];
}

/** The signals an operator sets, increments, reads and updates. */
export function access(op: Op): Access {
  switch (op.kind) {
    case 'reset':
      return { sets: [op.dst], incs: [], reads: [], updates: [] };
    case 'copy':
      return op.inc
        ? { sets: [], incs: [op.dst], reads: [op.src], updates: [] }
        : { sets: [op.dst], incs: [], reads: [op.src], updates: [] };
    case 'dotinc':
      return { sets: [], incs: [op.y], reads: [op.W, op.x], updates: [] };
    case 'elementwise':
      return { sets: [], incs: [op.y], reads: [op.s, op.x], updates: [] };
    case 'spread':
      return { sets: [], incs: [op.y], reads: [op.K, op.x], updates: [] };
    case 'neurons':
      return { sets: [op.output, ...Object.values(op.states)], incs: [], reads: [op.J], updates: [] };
    case 'filter':
      if (op.sets) return { sets: [op.output], incs: [], reads: [op.input], updates: op.state ? [op.state] : [] };
      return { sets: [], incs: [], reads: [op.input], updates: op.state ? [op.output, op.state] : [op.output] };
    case 'func':
      return { sets: op.output ? [op.output] : [], incs: [], reads: op.x ? [op.x] : [], updates: [] };
    case 'pes':
      if (op.delta) return { sets: [], incs: [], reads: [op.error, op.acts], updates: [op.delta] };
      return { sets: [], incs: [op.W], reads: [op.error, op.acts], updates: [] };
    case 'hebb':
      // (Oja reads W for its forgetting term)
      if (op.delta) return { sets: [], incs: [], reads: [op.pre, op.post, op.theta, op.W], updates: [op.delta] };
      return { sets: [], incs: [op.W], reads: [op.pre, op.post, op.theta], updates: [] };
    case 'rls':
      return { sets: [], incs: [], reads: [op.pre, op.error], updates: [op.delta, op.P] };
    case 'voja':
      return { sets: [], incs: [], reads: [op.x, op.post, op.E, op.learn, op.scale], updates: [op.delta] };
    case 'encode':
      return { sets: [op.y], incs: [], reads: [op.b, op.W, op.x], updates: [] };
  }
}

/**
 * Fuses each "J = bias" copy with the one dotinc that adds encoders times
 * input into J, when those two are J's only writers: one pass over J instead
 * of two. The sums are the same (bias + W x, added once), so results do not
 * change. In place.
 */
export function fuseEncoders(ops: Op[]): void {
  const writers = new Map<Sig['base'], Op[]>();
  for (const op of ops) {
    const a = access(op);
    for (const s of [...a.sets, ...a.incs, ...a.updates]) {
      const list = writers.get(s.base);
      if (list) list.push(op);
      else writers.set(s.base, [op]);
    }
  }
  const whole = (s: Sig): boolean => s.start === 0 && s.size === s.base.size;
  const replaced = new Map<Op, Op>();
  const dropped = new Set<Op>();
  for (const op of ops) {
    if (op.kind !== 'copy' || op.inc || op.srcIdx || op.dstIdx || !whole(op.dst)) continue;
    const ws = writers.get(op.dst.base)!;
    if (ws.length !== 2) continue;
    const d = ws[0] === op ? ws[1]! : ws[0]!;
    if (d.kind !== 'dotinc' || !whole(d.y) || d.y.base !== op.dst.base || d.rows !== op.dst.size || op.src.size !== op.dst.size) continue;
    replaced.set(d, { kind: 'encode', b: op.src, W: d.W, rows: d.rows, cols: d.cols, x: d.x, y: d.y, owner: d.owner });
    dropped.add(op);
  }
  if (dropped.size === 0) return;
  const out = ops.filter((op) => !dropped.has(op)).map((op) => replaced.get(op) ?? op);
  ops.length = 0;
  ops.push(...out);
}
