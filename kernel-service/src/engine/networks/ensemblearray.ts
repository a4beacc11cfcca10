/**
 * EnsembleArray: an array of independent ensembles that together represent
 * one vector, each ensemble a slice of `ensDimensions` of its dimensions
 * (nengo/networks/ensemblearray.py, Nengo 4.1).
 *
 * Structure, as in Nengo:
 *   - `input`: passthrough Node of size nEnsembles * ensDimensions, with
 *     input[i*d:(i+1)*d] -> ensembles[i] (synapse null);
 *   - `ensembles[i]`: Ensemble(nNeurons, ensDimensions), label `${label}_${i}` (or `${i}`);
 *   - `output`: made by addOutput('output', null): ensembles[i] -> output[slice i]
 *     decoding the identity, synapse null;
 *   - `addOutput(name, fn)`: one more passthrough Node decoding fn from every
 *     ensemble (synapse null by default: filter downstream instead), kept in
 *     `outputs[name]` and set as attribute `name` (a name already taken is refused);
 *   - `addNeuronInput()` / `addNeuronOutput()`: Nodes of size
 *     nEnsembles * nNeurons wired to/from every ensemble's neurons.
 *
 * Ensemble parameters (radius, neuronType, intercepts, encoders, ...) go to
 * this network's config, so they apply to all its ensembles, as Nengo's
 * `self.config[Ensemble].update(ens_kwargs)`.
 */
import { ValidationError } from '../errors.js';
import { Network } from '../network.js';
import { isArrayLike, type ConnectionOptions, type Ensemble, type Node, type VectorLike } from '../objects.js';
import {
  checkOptions,
  definedOnly,
  ENSEMBLE_PARAMS,
  pickEnsembleParams,
  positiveInt,
  SUBNETWORK_OPTIONS,
  type EnsembleParams,
  type SubnetworkOptions,
} from './common.js';

export interface EnsembleArrayOptions extends SubnetworkOptions, EnsembleParams {
  /** Neurons in each sub-ensemble. */
  nNeurons: number;
  /** Number of sub-ensembles. */
  nEnsembles: number;
  /** Dimensions represented by each sub-ensemble (default 1). */
  ensDimensions?: number;
}
const ENSEMBLE_ARRAY_OPTIONS = ['nNeurons', 'nEnsembles', 'ensDimensions', ...SUBNETWORK_OPTIONS, ...ENSEMBLE_PARAMS] as const;

/** A function decoded from each sub-ensemble's vector. */
export type EnsembleFunction = (x: Float64Array) => VectorLike;

/** Options of the connections that addOutput makes (Nengo's `synapse` and `**conn_kwargs`). */
export interface AddOutputOptions {
  /** Synapse of each ensemble -> output connection (default null, as Nengo). */
  synapse?: ConnectionOptions['synapse'];
  solver?: ConnectionOptions['solver'];
  evalPoints?: ConnectionOptions['evalPoints'];
  scaleEvalPoints?: ConnectionOptions['scaleEvalPoints'];
  /** Transform of each ensemble's connection, from the function's output to its slice of the output node (same size). */
  transform?: ConnectionOptions['transform'];
}
const ADD_OUTPUT_OPTIONS = ['synapse', 'solver', 'evalPoints', 'scaleEvalPoints', 'transform'] as const;

export class EnsembleArrayNetwork extends Network {
  /** Neurons per sub-ensemble (Nengo's n_neurons_per_ensemble). */
  readonly nNeuronsPerEnsemble: number;
  readonly nEnsembles: number;
  /** Dimensions of each sub-ensemble (Nengo's dimensions_per_ensemble). */
  readonly dimensionsPerEnsemble: number;
  /** Passthrough node feeding all sub-ensembles (size `dimensions`). */
  readonly input: Node;
  /** Passthrough node gathering the decoded output of all sub-ensembles. */
  output: Node;
  /** Every output node made by addOutput, by name ('output' included). */
  readonly outputs: Record<string, Node> = {};
  /** Node feeding the neurons of all sub-ensembles (after addNeuronInput()). */
  neuronInput: Node | null = null;
  /** Node gathering the neural output of all sub-ensembles (after addNeuronOutput()). */
  neuronOutput: Node | null = null;

  constructor(opts: EnsembleArrayOptions) {
    if (opts !== null && typeof opts === 'object' && 'dimensions' in opts) {
      throw new ValidationError(
        "EnsembleArray: 'dimensions' is not an option; set the number of ensembles with 'nEnsembles' " +
          "and the dimensions of each ensemble with 'ensDimensions'",
      );
    }
    checkOptions(opts, ENSEMBLE_ARRAY_OPTIONS, 'EnsembleArray');
    super(definedOnly({ label: opts.label, seed: opts.seed, parent: opts.parent }));
    const what = `EnsembleArray${opts.label !== undefined ? ` '${opts.label}'` : ''}`;
    this.nNeuronsPerEnsemble = positiveInt(opts.nNeurons, 'nNeurons', what);
    this.nEnsembles = positiveInt(opts.nEnsembles, 'nEnsembles', what);
    this.dimensionsPerEnsemble = positiveInt(opts.ensDimensions ?? 1, 'ensDimensions', what);
    Object.assign(this.config.ensemble, pickEnsembleParams(opts));

    const d = this.dimensionsPerEnsemble;
    const prefix = opts.label === undefined ? '' : `${opts.label}_`;
    this.input = this.node(null, { sizeIn: this.dimensions, label: 'input' });
    for (let i = 0; i < this.nEnsembles; i++) {
      const e = this.ensemble({ nNeurons: this.nNeuronsPerEnsemble, dimensions: d, label: `${prefix}${i}` });
      this.connect(this.input.slice(i * d, (i + 1) * d), e, { synapse: null });
    }
    this.output = this.makeOutput('output', null, {});
  }

  /** Total dimensions represented: nEnsembles * dimensionsPerEnsemble. */
  get dimensions(): number {
    return this.nEnsembles * this.dimensionsPerEnsemble;
  }

  /** The sub-ensembles (Nengo's ea_ensembles; the same list as `ensembles`). */
  get eaEnsembles(): Ensemble[] {
    return this.ensembles;
  }

  /**
   * Adds a passthrough Node `name` that gathers `fn` decoded from every
   * sub-ensemble: one function for all (output size nEnsembles * |fn(x)|),
   * one function per sub-ensemble, or null for the identity.
   */
  addOutput(name: string, fn: EnsembleFunction | readonly EnsembleFunction[] | null, opts: AddOutputOptions = {}): Node {
    checkOptions(opts, ADD_OUTPUT_OPTIONS, `${this.name}.addOutput`);
    if (typeof name !== 'string' || name.length === 0) throw new ValidationError(`${this.name}.addOutput: name must be a non-empty string`);
    // Nengo 4.1 refuses a name that is already an attribute (it would be overwritten)
    if (name in this) {
      throw new ValidationError(`${this.name}: cannot add output '${name}'; there is already an attribute with this name`);
    }
    return this.makeOutput(name, fn, opts);
  }

  private makeOutput(name: string, fn: EnsembleFunction | readonly EnsembleFunction[] | null, opts: AddOutputOptions): Node {
    const d = this.dimensionsPerEnsemble;
    const n = this.nEnsembles;
    let fns: (EnsembleFunction | undefined)[];
    if (fn === null || fn === undefined) {
      fns = new Array<undefined>(n).fill(undefined);
    } else if (typeof fn === 'function') {
      fns = new Array<EnsembleFunction>(n).fill(fn);
    } else if (Array.isArray(fn) && fn.every((f) => typeof f === 'function')) {
      if (fn.length !== n) {
        throw new ValidationError(`${this.name}.addOutput('${name}'): give one function per ensemble (${n}), got ${fn.length}`);
      }
      fns = [...fn];
    } else {
      throw new ValidationError(`${this.name}.addOutput('${name}'): function must be a function, an array of functions, or null`);
    }
    // Output size of each ensemble's function, from a call on a zero vector (as Nengo).
    const sizes = fns.map((f, i) => (f === undefined ? d : functionSize(f, d, `${this.name}.addOutput('${name}') function ${i}`)));
    const total = sizes.reduce((s, k) => s + k, 0);
    const output = this.node(null, { sizeIn: total, label: name });
    const connOpts = definedOnly({
      synapse: opts.synapse === undefined ? null : opts.synapse,
      solver: opts.solver,
      evalPoints: opts.evalPoints,
      scaleEvalPoints: opts.scaleEvalPoints,
      transform: opts.transform,
    });
    let start = 0;
    for (let i = 0; i < n; i++) {
      const f = fns[i];
      const stop = start + sizes[i]!;
      this.connect(this.ensembles[i]!, output.slice(start, stop), f === undefined ? connOpts : { ...connOpts, function: f });
      start = stop;
    }
    this.outputs[name] = output;
    // Nengo's setattr(self, name, output): also reachable as ea[name] (typed access: ea.outputs[name])
    (this as unknown as Record<string, unknown>)[name] = output;
    return output;
  }

  /** Adds (once) `neuronInput`, a Node whose slice i drives the neurons of sub-ensemble i directly. */
  addNeuronInput(): Node {
    if (this.neuronInput !== null) return this.neuronInput;
    this.checkNotDirect('give neuron input to');
    const k = this.nNeuronsPerEnsemble;
    const node = this.node(null, { sizeIn: k * this.nEnsembles, label: 'neuron_input' });
    this.ensembles.forEach((e, i) => this.connect(node.slice(i * k, (i + 1) * k), e.neurons, { synapse: null }));
    this.neuronInput = node;
    return node;
  }

  /** Adds (once) `neuronOutput`, a Node gathering the neural activity of all sub-ensembles. */
  addNeuronOutput(): Node {
    if (this.neuronOutput !== null) return this.neuronOutput;
    this.checkNotDirect('get neuron output from');
    const k = this.nNeuronsPerEnsemble;
    const node = this.node(null, { sizeIn: k * this.nEnsembles, label: 'neuron_output' });
    this.ensembles.forEach((e, i) => this.connect(e.neurons, node.slice(i * k, (i + 1) * k), { synapse: null }));
    this.neuronOutput = node;
    return node;
  }

  private checkNotDirect(action: string): void {
    if (this.ensembles[0]!.neuronType.kind === 'Direct') {
      throw new ValidationError(`${this.name}: the ensembles use Direct neurons; cannot ${action} Direct neurons`);
    }
  }
}

function functionSize(f: EnsembleFunction, d: number, what: string): number {
  let y: VectorLike;
  try {
    y = f(new Float64Array(d));
  } catch (err) {
    throw new ValidationError(`${what}: calling it on a zero vector failed: ${(err as Error).message}`);
  }
  if (typeof y === 'number') return 1;
  if (isArrayLike(y)) return y.length;
  throw new ValidationError(`${what} must return a number or an array of numbers`);
}

/** Creates an EnsembleArray network (Nengo's nengo.networks.EnsembleArray). */
export function EnsembleArray(opts: EnsembleArrayOptions): EnsembleArrayNetwork {
  return new EnsembleArrayNetwork(opts);
}
export type EnsembleArray = EnsembleArrayNetwork;
