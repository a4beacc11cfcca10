/**
 * Operators: the builder's output, before scheduling and merging. Each
 * operator declares the signals it sets, increments, reads and updates, as
 * Nengo's operators do; within a step, every signal is set, then
 * incremented, then read, and updated last (updates become visible next
 * step, which is how synapses give one step of delay and break loops).
 */
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

/** One neuron-model step: reads J, sets output, updates its state variables. */
export interface NeuronsOp extends OpBase {
  kind: 'neurons';
  type: NeuronType;
  J: Sig;
  output: Sig;
  states: Record<string, Sig>;
}

/**
 * A linear filter run as an update: output for the next step computed from
 * this step's input; `state` holds the filter's internal state (order x size).
 */
export interface FilterOp extends OpBase {
  kind: 'filter';
  filter: DiscreteFilter;
  input: Sig;
  output: Sig;
  state: Sig | undefined;
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
}

/** PES: W += k * outer(error, acts), as an update (visible next step). */
export interface PESOp extends OpBase {
  kind: 'pes';
  W: Sig;
  rows: number;
  cols: number;
  error: Sig;
  acts: Sig;
  /** -learning_rate * dt / n_neurons */
  k: number;
}

export type Op = ResetOp | CopyOp | DotIncOp | ElementwiseIncOp | NeuronsOp | FilterOp | FuncOp | PESOp;

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
    case 'neurons':
      return { sets: [op.output, ...Object.values(op.states)], incs: [], reads: [op.J], updates: [] };
    case 'filter':
      return { sets: [], incs: [], reads: [op.input], updates: op.state ? [op.output, op.state] : [op.output] };
    case 'func':
      return { sets: op.output ? [op.output] : [], incs: [], reads: op.x ? [op.x] : [], updates: [] };
    case 'pes':
      return { sets: [], incs: [], reads: [op.error, op.acts], updates: [op.W] };
  }
}
