/**
 * InputGatedMemory (nengo/networks/workingmemory.py, Nengo 4.1): a gated
 * working memory. An integrator `mem` (an EnsembleArray with recurrent
 * feedback) holds a vector; `diff` computes input - memory and feeds it into
 * `mem`, so the memory follows the input while the gate is 0. A gate of 1
 * inhibits `diff`'s neurons (-10 into every neuron), so the memory holds;
 * a reset of 1 inhibits `mem`'s neurons (-3), clearing it.
 *
 * Structure, as Nengo's: mem.output -> mem.input (feedback,
 * recurrentSynapse); mem.output -> diff.input (-1, default synapse);
 * diff.output -> mem.input (differenceGain, differenceSynapse); gate ->
 * diff's neurons and reset -> mem's neurons, no synapse.
 */
import { Network } from '../network.js';
import type { Node } from '../objects.js';
import { toSynapse, type Synapse } from '../synapses.js';
import { EnsembleArrayNetwork } from './ensemblearray.js';
import { checkOptions, definedOnly, finiteNumber, labelOr, positiveInt, SUBNETWORK_OPTIONS, type SubnetworkOptions } from './common.js';

export interface InputGatedMemoryOptions extends SubnetworkOptions {
  /** Neurons per dimension, in each of mem and diff. */
  nNeurons: number;
  dimensions: number;
  /** Strength of mem's recurrent connection (default 1: a perfect integrator). */
  feedback?: number;
  /** Strength of diff -> mem (default 1). */
  differenceGain?: number;
  /** Synapse of mem's recurrent connection (default 0.1; null: none). */
  recurrentSynapse?: Synapse | number | null;
  /** Synapse of diff -> mem (default, and null as in Nengo: recurrentSynapse). */
  differenceSynapse?: Synapse | number | null;
}
const OPTIONS = [
  'nNeurons',
  'dimensions',
  'feedback',
  'differenceGain',
  'recurrentSynapse',
  'differenceSynapse',
  ...SUBNETWORK_OPTIONS,
] as const;

export class InputGatedMemoryNetwork extends Network {
  readonly dimensions: number;
  readonly mem: EnsembleArrayNetwork;
  readonly diff: EnsembleArrayNetwork;
  /** 0: the memory follows the input; 1: it holds (passthrough Node, size 1). */
  readonly gate: Node;
  /** 1: the memory is cleared (passthrough Node, size 1). */
  readonly reset: Node;
  /** diff.input. */
  readonly input: Node;
  /** mem.output. */
  readonly output: Node;

  constructor(opts: InputGatedMemoryOptions) {
    checkOptions(opts, OPTIONS, 'InputGatedMemory');
    super(definedOnly({ label: labelOr(opts.label, 'Input gated memory'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    const n = positiveInt(opts.nNeurons, 'nNeurons', what);
    const d = (this.dimensions = positiveInt(opts.dimensions, 'dimensions', what));
    const feedback = finiteNumber(opts.feedback ?? 1, 'feedback', what);
    const gain = finiteNumber(opts.differenceGain ?? 1, 'differenceGain', what);
    const recurrent = toSynapse(opts.recurrentSynapse === undefined ? 0.1 : opts.recurrentSynapse, `${what} recurrentSynapse`);
    const difference = opts.differenceSynapse == null ? recurrent : toSynapse(opts.differenceSynapse, `${what} differenceSynapse`);
    const total = n * d;
    const column = (v: number): number[][] => Array.from({ length: total }, () => [v]);

    this.mem = new EnsembleArrayNetwork({ nNeurons: n, nEnsembles: d, label: 'mem', parent: this });
    this.connect(this.mem.output, this.mem.input, { transform: feedback, synapse: recurrent });
    this.diff = new EnsembleArrayNetwork({ nNeurons: n, nEnsembles: d, label: 'diff', parent: this });
    this.connect(this.mem.output, this.diff.input, { transform: -1 });
    this.connect(this.diff.output, this.mem.input, { transform: gain, synapse: difference });
    this.gate = this.node(null, { sizeIn: 1 });
    this.connect(this.gate, this.diff.addNeuronInput(), { transform: column(-10), synapse: null });
    this.reset = this.node(null, { sizeIn: 1 });
    this.connect(this.reset, this.mem.addNeuronInput(), { transform: column(-3), synapse: null });
    this.input = this.diff.input;
    this.output = this.mem.output;
  }
}

/** Creates an InputGatedMemory network (Nengo's nengo.networks.InputGatedMemory). */
export function InputGatedMemory(opts: InputGatedMemoryOptions): InputGatedMemoryNetwork {
  return new InputGatedMemoryNetwork(opts);
}
export type InputGatedMemory = InputGatedMemoryNetwork;
