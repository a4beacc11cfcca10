/**
 * AssociativeMemory (nengo/networks/assoc_mem.py, Nengo 4.1): a clean-up
 * memory. One 1-D ensemble per item measures how much the input matches
 * the item's input vector (intercepts Exponential(0.15, 0, 1), encoders
 * [1], eval points U(0, 1), 5000 of them, a bias of -threshold), and
 * decodes a steep step, 1 - exp(-15 x) for x > 0 (Nengo's filtered_step),
 * into `utilities`; outputs map the utilities onto output vectors.
 *
 * Structure, as Nengo's: bias node (1); `elem_input` and `elem_output`
 * passthrough nodes of one value an item; per item: bias -> ensemble
 * (-threshold), elem_input[i] -> ensemble, ensemble -> elem_output[i] (the
 * step function), no synapses; `input` node -> elem_input (input
 * vectors times input scales, no synapse); elem_output -> `output` node
 * (output vectors transposed, no synapse). Optional parts, as Nengo's
 * methods: addInputMapping, addOutputMapping, addDefaultOutputVector,
 * addWtaNetwork, addThresholdToOutputs (which re-routes the outputs made
 * so far through two thresholding EnsembleArrays, as Nengo removes and
 * remakes those connections).
 */
import { Choice, Exponential, Uniform, type Distribution } from '../dists.js';
import { ValidationError } from '../errors.js';
import { Network } from '../network.js';
import type { Connection, Ensemble, EnsembleOptions, Node } from '../objects.js';
import { EnsembleArrayNetwork } from './ensemblearray.js';
import { checkOptions, definedOnly, finiteNumber, positiveInt, SUBNETWORK_OPTIONS, type SubnetworkOptions } from './common.js';

/** Nengo's filtered_step: max(1 - exp(-(t - shift) scale), 0) * stepVal. */
export function filteredStep(t: number, shift = 0.5, scale = 50, stepVal = 1): number {
  return Math.max(-1 / Math.exp((t - shift) * scale) + 1, 0) * stepVal;
}

const EXP_SCALE = 0.15;
const N_EVAL_POINTS = 5000;
/** Nengo's am_ens_config and default_ens_config. */
const AM_ENSEMBLE: Omit<EnsembleOptions, 'nNeurons' | 'dimensions'> = {
  radius: 1,
  intercepts: new Exponential(EXP_SCALE, 0, 1),
  encoders: new Choice([[1]]),
  evalPoints: new Uniform(0, 1),
  nEvalPoints: N_EVAL_POINTS,
};
const INHIBIT_SCALE = 1.5;

export interface AssociativeMemoryOptions extends SubnetworkOptions {
  /** The vectors the input is compared against, one row an item. */
  inputVectors: VectorsLike;
  /** What each item produces (default: the input vectors). */
  outputVectors?: VectorsLike;
  /** Neurons per item (default 50). */
  nNeurons?: number;
  /** Match below which an item stays off: one for all (default 0.3) or one an item. */
  threshold?: number | ArrayLike<number>;
  /** Scale of each input vector: one for all (default 1) or one an item. */
  inputScales?: number | ArrayLike<number>;
  /** Add an `inhibit` node that silences the memory (default false). */
  inhibitable?: boolean;
}
const OPTIONS = ['inputVectors', 'outputVectors', 'nNeurons', 'threshold', 'inputScales', 'inhibitable', ...SUBNETWORK_OPTIONS] as const;

/** Vectors, one an item: rows (arrays or typed arrays), or one vector for a single item. */
export type VectorsLike = ArrayLike<ArrayLike<number>> | ArrayLike<number>;

const isList = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || ArrayBuffer.isView(v);

/**
 * Vectors, one an item: rows (arrays or typed arrays) of equal length, or
 * one vector of numbers for a single item (as Nengo's np.array(ndmin=2)).
 */
function matrix(v: unknown, what: string): number[][] {
  const rows = isList(v) && v.length > 0 && typeof v[0] === 'number' ? [v] : v;
  if (
    !isList(rows) ||
    rows.length === 0 ||
    !Array.from(rows).every((r) => isList(r) && r.length > 0 && r.length === (rows[0] as ArrayLike<unknown>).length)
  )
    throw new ValidationError(`${what} must be a non-empty array of vectors (arrays or typed arrays) of equal length, or one vector`);
  return Array.from(rows as ArrayLike<ArrayLike<unknown>>, (r, i) =>
    Array.from(r, (x, j) => finiteNumber(x, `${what}[${i}][${j}]`, 'AssociativeMemory')),
  );
}

function perItem(v: number | ArrayLike<number>, n: number, what: string): number[] {
  if (typeof v === 'number') return new Array<number>(n).fill(finiteNumber(v, what, 'AssociativeMemory'));
  if (!isList(v)) throw new ValidationError(`AssociativeMemory: ${what} must be a number or one value an item (${n}), got ${typeof v}`);
  if (v.length !== n) throw new ValidationError(`AssociativeMemory: ${what} has ${v.length} values for ${n} items`);
  return Array.from(v, (x, i) => finiteNumber(x, `${what}[${i}]`, 'AssociativeMemory'));
}

export class AssociativeMemoryNetwork extends Network {
  readonly nItems: number;
  readonly biasNode: Node;
  /** One value an item: the input's match with each input vector. */
  readonly elemInput: Node;
  /** One value an item: the step of each item's match (Nengo's utilities). */
  readonly elemOutput: Node;
  readonly utilities: Node;
  readonly amEnsembles: Ensemble[];
  /** The node that silences the memory, when inhibitable. */
  readonly inhibit: Node | null;
  /** The input and output nodes, by name ('input' and 'output' first). */
  readonly inputs: Record<string, Node> = {};
  readonly outputs: Record<string, Node> = {};
  thresholdBias: EnsembleArrayNetwork | null = null;
  thresholdEnsembles: EnsembleArrayNetwork | null = null;
  /** thresholdEnsembles.output, after addThresholdToOutputs(). */
  thresholdedUtilities: Node | null = null;
  isWta = false;
  private outConns: Connection[] = [];
  private defaultVectorInhibitConns: Connection[] = [];

  constructor(opts: AssociativeMemoryOptions) {
    checkOptions(opts, OPTIONS, 'AssociativeMemory');
    super(definedOnly({ label: opts.label, seed: opts.seed, parent: opts.parent }));
    const inputs = matrix(opts.inputVectors, 'AssociativeMemory: inputVectors');
    const outputs = opts.outputVectors === undefined ? inputs : matrix(opts.outputVectors, 'AssociativeMemory: outputVectors');
    const n = (this.nItems = inputs.length);
    if (outputs.length !== n)
      throw new ValidationError(`AssociativeMemory: ${n} input vectors but ${outputs.length} output vectors; give one of each an item`);
    const nNeurons = positiveInt(opts.nNeurons ?? 50, 'nNeurons', this.name);
    const threshold = perItem(opts.threshold ?? 0.3, n, 'threshold');

    this.biasNode = this.node(1);
    this.elemInput = this.node(null, { sizeIn: n, label: 'element input' });
    this.elemOutput = this.node(null, { sizeIn: n, label: 'element output' });
    this.utilities = this.elemOutput;
    const prefix = opts.label === undefined ? '' : `${opts.label}_`;
    const step = (x: Float64Array): number => filteredStep(x[0]!, 0, 15);
    this.amEnsembles = [];
    for (let i = 0; i < n; i++) {
      const e = this.ensemble({ nNeurons, dimensions: 1, label: `${prefix}${i}`, ...AM_ENSEMBLE });
      this.amEnsembles.push(e);
      // (Nengo's am_ens_config: no synapse on the core connections)
      this.connect(this.biasNode, e, { transform: -threshold[i]!, synapse: null });
      this.connect(this.elemInput.slice(i, i + 1), e, { synapse: null });
      this.connect(e, this.elemOutput.slice(i, i + 1), { function: step, synapse: null });
    }
    if (opts.inhibitable === true) {
      this.inhibit = this.node(null, { sizeIn: 1, label: 'inhibit' });
      this.connect(this.inhibit, this.elemInput, { transform: Array.from({ length: n }, () => [-INHIBIT_SCALE]), synapse: null });
    } else this.inhibit = null;
    this.addInputMapping('input', inputs, opts.inputScales ?? 1);
    this.addOutputMapping('output', outputs);
  }

  /** The 'input' node (of addInputMapping('input', ...)). */
  get input(): Node {
    return this.inputs['input']!;
  }
  /** The 'output' node (of addOutputMapping('output', ...)). */
  get output(): Node {
    return this.outputs['output']!;
  }

  private checkName(name: string): void {
    if (typeof name !== 'string' || name.length === 0) throw new ValidationError(`${this.name}: a mapping needs a non-empty name`);
    // (as Nengo's hasattr: the network's own attributes are taken too; 'input' and 'output' are the mappings')
    if (name in this.inputs || name in this.outputs || (name !== 'input' && name !== 'output' && name in this))
      throw new ValidationError(`${this.name}: name '${name}' already exists as a node in the associative memory`);
  }

  /** A node `name` whose input is compared against `inputVectors` (scaled by inputScales), item by item. */
  addInputMapping(name: string, inputVectors: VectorsLike, inputScales: number | ArrayLike<number> = 1): Node {
    this.checkName(name);
    const vectors = matrix(inputVectors, `${this.name}.addInputMapping('${name}') inputVectors`);
    if (vectors.length !== this.nItems)
      throw new ValidationError(`${this.name}.addInputMapping('${name}'): ${vectors.length} vectors for ${this.nItems} items`);
    const scales = perItem(inputScales, this.nItems, 'inputScales');
    const node = this.node(null, { sizeIn: vectors[0]!.length, label: name });
    this.inputs[name] = node;
    this.connect(node, this.elemInput, { synapse: null, transform: vectors.map((row, i) => row.map((x) => x * scales[i]!)) });
    return node;
  }

  /** A node `name` that gives the output vector of each active item (weighted by its utility). */
  addOutputMapping(name: string, outputVectors: VectorsLike): Node {
    this.checkName(name);
    const vectors = matrix(outputVectors, `${this.name}.addOutputMapping('${name}') outputVectors`);
    if (vectors.length !== this.nItems)
      throw new ValidationError(`${this.name}.addOutputMapping('${name}'): ${vectors.length} vectors for ${this.nItems} items`);
    const d = vectors[0]!.length;
    const node = this.node(null, { sizeIn: d, label: name });
    this.outputs[name] = node;
    const T = Array.from({ length: d }, (_, r) => vectors.map((row) => row[r]!));
    const from = this.thresholdEnsembles ? this.thresholdEnsembles.output : this.elemOutput;
    this.outConns.push(this.connect(from, node, { synapse: null, transform: T }));
    return node;
  }

  /** An ensemble that gives `outputVector` on output `outputName` when no item is active (above minActivationValue). */
  addDefaultOutputVector(outputVector: readonly number[], outputName = 'output', nNeurons = 50, minActivationValue = 0.5): Ensemble {
    const output = this.outputs[outputName];
    if (!output) throw new ValidationError(`${this.name}.addDefaultOutputVector: there is no output '${outputName}'`);
    const e = this.ensemble({
      nNeurons: positiveInt(nNeurons, 'nNeurons', this.name),
      dimensions: 1,
      label: `Default ${outputName} vector`,
      ...AM_ENSEMBLE,
    });
    this.connect(this.biasNode, e, { synapse: null });
    const tr = [new Array<number>(this.nItems).fill(-(1 / finiteNumber(minActivationValue, 'minActivationValue', this.name)))];
    const from = this.thresholdEnsembles ? this.thresholdEnsembles.output : this.elemOutput;
    this.defaultVectorInhibitConns.push(this.connect(from, e, { transform: tr }));
    this.connect(e, output, { transform: outputVector.map((x) => [x]), synapse: null });
    if (this.inhibit) this.connect(this.inhibit, e, { transform: -INHIBIT_SCALE, synapse: null });
    return e;
  }

  /** Mutual inhibition between the items (winner take all); a second call does nothing (Nengo warns). */
  addWtaNetwork(inhibitScale = 1.5, inhibitSynapse = 0.005): void {
    if (this.isWta) return;
    const n = this.nItems;
    const T = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => ((i === j ? 1 : 0) - 1) * inhibitScale));
    this.connect(this.elemOutput, this.elemInput, { synapse: inhibitSynapse, transform: T });
    this.isWta = true;
  }

  /**
   * Thresholded outputs: two EnsembleArrays (intercepts U(0.5, 1), encoders
   * [1], eval points U(0.75, 1.1)) that turn each utility into 0 or 1, and
   * the outputs made so far re-routed from them; a second call does nothing
   * (Nengo warns).
   */
  addThresholdToOutputs(nNeurons = 50, inhibitScale = 10): void {
    if (this.thresholdEnsembles) return;
    const n = this.nItems;
    const params = {
      nNeurons: positiveInt(nNeurons, 'nNeurons', this.name),
      nEnsembles: n,
      radius: 1,
      intercepts: new Uniform(0.5, 1),
      encoders: new Choice([[1]]),
      evalPoints: new Uniform(0.75, 1.1),
      nEvalPoints: N_EVAL_POINTS,
      parent: this as Network,
    };
    this.thresholdBias = new EnsembleArrayNetwork({ ...params, label: 'thresh_bias' });
    this.thresholdEnsembles = new EnsembleArrayNetwork({ ...params, label: 'thresh_ens' });
    this.thresholdedUtilities = this.thresholdEnsembles.output;
    const ones = Array.from({ length: n }, () => [1]);
    this.connect(this.biasNode, this.thresholdBias.input, { transform: ones, synapse: null });
    this.connect(this.biasNode, this.thresholdEnsembles.input, { transform: ones, synapse: null });
    this.connect(this.elemOutput, this.thresholdBias.input, { transform: -inhibitScale });
    this.connect(this.thresholdBias.output, this.thresholdEnsembles.input, { transform: -inhibitScale });
    const from = this.thresholdEnsembles.output;
    const reroute = (c: Connection): Connection => {
      const made = this.connect(from, c.post, { transform: transformOf(c), synapse: c.synapse });
      this.connections.splice(this.connections.indexOf(c), 1);
      return made;
    };
    this.defaultVectorInhibitConns = this.defaultVectorInhibitConns.map(reroute);
    this.outConns = this.outConns.map(reroute);
    if (this.inhibit)
      for (const e of this.thresholdEnsembles.ensembles) this.connect(this.inhibit, e, { transform: -INHIBIT_SCALE, synapse: null });
  }
}

/** A connection's transform as the options take it. */
function transformOf(c: Connection): number | number[] | number[][] | Distribution {
  const T = c.transform;
  if (T.kind === 'dense' && T.dist) return T.dist; // sampled again from the new connection's seed
  if (T.kind === 'scalar') return T.value;
  if (T.kind === 'elementwise') return Array.from(T.values);
  if (T.kind === 'dense') return Array.from({ length: T.rows }, (_, r) => Array.from(T.values.subarray(r * T.cols, (r + 1) * T.cols)));
  throw new Error('internal: an associative memory output with a sparse or convolution transform');
}

/** Creates an AssociativeMemory network (Nengo's nengo.networks.AssociativeMemory). */
export function AssociativeMemory(opts: AssociativeMemoryOptions): AssociativeMemoryNetwork {
  return new AssociativeMemoryNetwork(opts);
}
export type AssociativeMemory = AssociativeMemoryNetwork;
