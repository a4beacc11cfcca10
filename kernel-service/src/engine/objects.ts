/**
 * The objects a model is made of, with Nengo's names and defaults: Node,
 * Ensemble (and its Neurons), Connection, Probe, slices of them (ObjView),
 * and the learning rule a connection carries. They only describe the model;
 * the builder turns them into signals and operators.
 */
import { isDistribution, type Distribution } from './dists.js';
import { ConvolutionBase } from './convolution.js';
import { checkKnownOptions, ValidationError } from './errors.js';
import type { Network } from './network.js';
import { LIF, NeuronType } from './neurons.js';
import { Process, SynapseProcess } from './processes.js';
import type { Solver } from './solvers.js';
import { Lowpass, Synapse, toSynapse } from './synapses.js';
import { LearningRuleType } from './learning.js';

let nextId = 1;

/**
 * Starts object ids from 1 again: loading a model file (runs/model.ts) does,
 * so that its unlabeled objects get the same names (`Ensemble #3`) however
 * many models the process loaded before. Not part of the package's API; ids
 * only need to be unique within one network (nothing keys on them across
 * builds).
 */
export function resetObjectIds(to = 1): void {
  nextId = to;
}

/** The id the next object gets (to start again from there: resetObjectIds(mark)). */
export function objectIdMark(): number {
  return nextId;
}

/** Values a Node function or a connection function may return. */
export type VectorLike = number | ArrayLike<number>;
export type NodeFunction = (t: number, x: Float64Array) => VectorLike | null | undefined | void;
/** A Synapse filters the node's input (sizeOut = sizeIn), as a Synapse is a Process in Nengo. */
export type NodeOutput = VectorLike | NodeFunction | Process | Synapse | null;
/**
 * A function computed across a connection: a function of the decoded vector
 * (called once per eval point with one array that is refilled between calls:
 * copy it to keep it), or explicit targets per eval point.
 */
export type ConnectionFunction = ((x: Float64Array) => VectorLike) | ArrayLike<number>[] | Float64Array;

export abstract class NefObject {
  readonly id: number;
  label: string | undefined;
  seed: number | undefined;
  /** The network this object was created in. */
  readonly network: Network;
  abstract readonly typeName: string;
  constructor(network: Network, label: string | undefined, seed: number | undefined) {
    this.id = nextId++;
    this.network = network;
    if (label !== undefined && typeof label !== 'string') {
      throw new ValidationError(`label must be a string, got ${typeof label}`);
    }
    this.label = label;
    if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
      throw new ValidationError(`${label ?? 'object'}: seed must be an integer in [0, 2^32), got ${String(seed)}`);
    }
    this.seed = seed;
  }
  /** How errors and summaries name this object: its label, or its type and id. */
  get name(): string {
    return this.label !== undefined ? `${this.typeName} '${this.label}'` : `${this.typeName} #${this.id}`;
  }
  toString(): string {
    return this.name;
  }
  /** How a notebook cell (Node's inspect) shows it: its name, as Nengo's repr, not every field. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `<${this.name}>`;
  }
}

/** Something with an input and/or output vector that connections and probes can attach to. */
export interface Port {
  readonly sizeIn: number;
  readonly sizeOut: number;
  readonly name: string;
}

export interface NodeOptions {
  label?: string;
  seed?: number;
  sizeIn?: number;
  sizeOut?: number;
}
const NODE_OPTIONS = ['label', 'seed', 'sizeIn', 'sizeOut'] as const;

/**
 * Provides non-neural input or computes arbitrary functions: a constant, an
 * array, a function of t (or of t and its input x, given sizeIn), a Process,
 * or null for a passthrough node that outputs its input without delay.
 */
export class Node extends NefObject implements Port {
  readonly typeName = 'Node';
  readonly output: NodeOutput;
  readonly sizeIn: number;
  readonly sizeOut: number;

  constructor(network: Network, output: NodeOutput, opts: NodeOptions = {}) {
    checkKnownOptions(opts, NODE_OPTIONS, 'Node');
    super(network, opts.label, opts.seed);
    const sizeIn = opts.sizeIn;
    if (sizeIn !== undefined && (!Number.isInteger(sizeIn) || sizeIn < 0)) {
      throw new ValidationError(`${this.name}: sizeIn must be a non-negative integer, got ${String(sizeIn)}`, this.label);
    }
    this.output = output;
    if (output === null || output === undefined) {
      if (sizeIn === undefined) {
        throw new ValidationError(`${this.name}: a passthrough node (output null) needs sizeIn`, this.label);
      }
      if (opts.sizeOut !== undefined && opts.sizeOut !== sizeIn) {
        throw new ValidationError(
          `${this.name}: a passthrough node has sizeOut = sizeIn (${sizeIn}), got sizeOut ${opts.sizeOut}`,
          this.label,
        );
      }
      this.output = null;
      this.sizeIn = sizeIn;
      this.sizeOut = sizeIn;
    } else if (typeof output === 'function') {
      if (output.length >= 2 && sizeIn === undefined) {
        throw new ValidationError(`${this.name}: the function takes (t, x); give sizeIn, the length of x (e.g. { sizeIn: 2 })`, this.label);
      }
      // the reverse: an input the function would never see (Nengo refuses it too); a function whose x has a
      // default, or that gathers its arguments ((t, x = ...) =>, (...args) =>), may read it
      if (sizeIn !== undefined && sizeIn > 0 && declaresOnlyT(output)) {
        throw new ValidationError(
          `${this.name}: the function takes only t, but the node has sizeIn ${sizeIn}: write it as (t, x) => ... to use its input`,
          this.label,
        );
      }
      this.sizeIn = sizeIn ?? 0;
      this.sizeOut = opts.sizeOut ?? this.probeFunctionSize(output);
    } else if (output instanceof Process) {
      this.sizeIn = sizeIn ?? 0;
      this.sizeOut = opts.sizeOut ?? output.defaultSizeOut;
    } else if (typeof output === 'number' || isArrayLike(output)) {
      const values = toVector(output, `${this.name} output`);
      if (sizeIn !== undefined && sizeIn !== 0) {
        throw new ValidationError(`${this.name}: a constant node takes no input (sizeIn must be 0)`, this.label);
      }
      if (opts.sizeOut !== undefined && opts.sizeOut !== values.length) {
        throw new ValidationError(`${this.name}: output has ${values.length} values but sizeOut is ${opts.sizeOut}`, this.label);
      }
      this.output = values;
      this.sizeIn = 0;
      this.sizeOut = values.length;
    } else if ((output as unknown) instanceof Synapse) {
      // a Synapse is a Process in Nengo: the node filters its input, without delay (default size 1)
      const process = new SynapseProcess(output as unknown as Synapse);
      this.output = process;
      this.sizeIn = sizeIn ?? 1;
      this.sizeOut = opts.sizeOut ?? this.sizeIn;
      if (this.sizeIn === 0 || this.sizeOut !== this.sizeIn)
        throw new ValidationError(
          `${this.name}: a synapse as the output filters the node's input: sizeIn must be at least 1 and sizeOut equal to it ` +
            `(sizeIn ${this.sizeIn}, sizeOut ${this.sizeOut})`,
          this.label,
        );
    } else {
      const o = output as unknown;
      const what =
        o === null || typeof o !== 'object' ? typeof o : ((o as { constructor?: { name?: string } }).constructor?.name ?? 'object');
      throw new ValidationError(`${this.name}: output must be a number, an array, a function, a Process or null, got ${what}`, this.label);
    }
  }

  private probeFunctionSize(fn: NodeFunction): number {
    let y: unknown;
    try {
      y = fn(0, new Float64Array(this.sizeIn));
    } catch (err) {
      throw new ValidationError(`${this.name}: calling its function at t = 0 failed: ${(err as Error).message}`, this.label);
    }
    if (y === undefined || y === null) return 0;
    return toVector(y as VectorLike, `${this.name} output at t = 0`).length;
  }

  slice(start: number, stop?: number): ObjView {
    return new ObjView(this, rangeIndices(start, stop, this.sizeOut, this.name));
  }
  select(indices: ArrayLike<number>): ObjView {
    return new ObjView(this, checkIndices(indices, this.sizeOut, this.name));
  }
}

/** Per-neuron state distributions (or arrays) to start from, e.g. { voltage: new Uniform(0, 1) }. */
export type InitialState = Record<string, Distribution | ArrayLike<number>>;

export interface EnsembleOptions {
  nNeurons: number;
  dimensions: number;
  label?: string;
  seed?: number;
  radius?: number;
  neuronType?: NeuronType;
  maxRates?: Distribution | ArrayLike<number>;
  intercepts?: Distribution | ArrayLike<number>;
  encoders?: Distribution | ArrayLike<number> | ArrayLike<number>[];
  normalizeEncoders?: boolean;
  evalPoints?: Distribution | ArrayLike<number> | ArrayLike<number>[];
  nEvalPoints?: number;
  gain?: Distribution | ArrayLike<number>;
  bias?: Distribution | ArrayLike<number>;
  initialState?: InitialState;
  /**
   * A process (e.g. new WhiteNoise()) whose output, one value per neuron,
   * is added to the neurons' input current every step (Nengo's
   * Ensemble.noise); in a Direct ensemble, one value a dimension, added to
   * the represented value. Unseeded, it gets a seed drawn from the
   * ensemble's.
   */
  noise?: Process;
}
export const ENSEMBLE_OPTIONS = [
  'nNeurons',
  'dimensions',
  'label',
  'seed',
  'radius',
  'neuronType',
  'maxRates',
  'intercepts',
  'encoders',
  'normalizeEncoders',
  'evalPoints',
  'nEvalPoints',
  'gain',
  'bias',
  'initialState',
  'noise',
] as const;

/** A group of neurons that collectively represent a vector. Defaults as in Nengo (see the builder). */
export class Ensemble extends NefObject implements Port {
  readonly typeName = 'Ensemble';
  readonly nNeurons: number;
  readonly dimensions: number;
  readonly radius: number;
  readonly neuronType: NeuronType;
  readonly maxRates: Distribution | ArrayLike<number> | undefined;
  readonly intercepts: Distribution | ArrayLike<number> | undefined;
  readonly encoders: Distribution | ArrayLike<number> | ArrayLike<number>[] | undefined;
  readonly normalizeEncoders: boolean;
  readonly evalPoints: Distribution | ArrayLike<number> | ArrayLike<number>[] | undefined;
  readonly nEvalPoints: number | undefined;
  readonly gain: Distribution | ArrayLike<number> | undefined;
  readonly bias: Distribution | ArrayLike<number> | undefined;
  readonly initialState: InitialState | undefined;
  /** Added to the neurons' input current every step (see EnsembleOptions.noise). */
  readonly noise: Process | undefined;
  readonly neurons: Neurons;

  constructor(network: Network, opts: EnsembleOptions) {
    checkKnownOptions(opts, ENSEMBLE_OPTIONS, 'Ensemble');
    super(network, opts.label, opts.seed);
    if (!Number.isInteger(opts.nNeurons) || opts.nNeurons < 1) {
      throw new ValidationError(`${this.name}: nNeurons must be a positive integer, got ${String(opts.nNeurons)}`, this.label);
    }
    if (!Number.isInteger(opts.dimensions) || opts.dimensions < 1) {
      throw new ValidationError(`${this.name}: dimensions must be a positive integer, got ${String(opts.dimensions)}`, this.label);
    }
    const radius = opts.radius ?? 1;
    if (!(radius > 0) || !Number.isFinite(radius)) {
      throw new ValidationError(`${this.name}: radius must be a positive number, got ${String(opts.radius)}`, this.label);
    }
    if (opts.nEvalPoints !== undefined && (!Number.isInteger(opts.nEvalPoints) || opts.nEvalPoints < 1)) {
      throw new ValidationError(`${this.name}: nEvalPoints must be a positive integer, got ${String(opts.nEvalPoints)}`, this.label);
    }
    if ((opts.gain === undefined) !== (opts.bias === undefined)) {
      throw new ValidationError(`${this.name}: give both gain and bias, or neither`, this.label);
    }
    this.nNeurons = opts.nNeurons;
    this.dimensions = opts.dimensions;
    this.radius = radius;
    if (opts.neuronType !== undefined && !(opts.neuronType instanceof NeuronType))
      throw new ValidationError(
        `${this.name}: neuronType must be a neuron type such as new LIF(), got ${describe(opts.neuronType)}`,
        this.label,
      );
    this.neuronType = opts.neuronType ?? new LIF();
    this.maxRates = opts.maxRates;
    this.intercepts = opts.intercepts;
    this.encoders = opts.encoders;
    this.normalizeEncoders = opts.normalizeEncoders ?? true;
    this.evalPoints = opts.evalPoints;
    this.nEvalPoints = opts.nEvalPoints;
    this.gain = opts.gain;
    this.bias = opts.bias;
    this.initialState = opts.initialState;
    if (opts.noise !== undefined && !(opts.noise instanceof Process)) {
      throw new ValidationError(`${this.name}: noise must be a Process such as new WhiteNoise(), got ${describe(opts.noise)}`, this.label);
    }
    this.noise = opts.noise;
    if (opts.initialState !== undefined) {
      for (const key of Object.keys(opts.initialState)) {
        if (!this.neuronType.stateNames.includes(key)) {
          throw new ValidationError(
            `${this.name}: ${this.neuronType.kind} neurons have no state '${key}' (they have: ${this.neuronType.stateNames.join(', ') || 'none'})`,
            this.label,
          );
        }
      }
    }
    this.neurons = new Neurons(this);
  }
  get sizeIn(): number {
    return this.dimensions;
  }
  get sizeOut(): number {
    return this.dimensions;
  }
  slice(start: number, stop?: number): ObjView {
    return new ObjView(this, rangeIndices(start, stop, this.dimensions, this.name));
  }
  select(indices: ArrayLike<number>): ObjView {
    return new ObjView(this, checkIndices(indices, this.dimensions, this.name));
  }
}

/** The neurons of an ensemble, as a target for neuron-level connections and probes. */
export class Neurons implements Port {
  readonly ensemble: Ensemble;
  constructor(ensemble: Ensemble) {
    this.ensemble = ensemble;
  }
  get sizeIn(): number {
    return this.ensemble.nNeurons;
  }
  get sizeOut(): number {
    return this.ensemble.nNeurons;
  }
  get name(): string {
    return `${this.ensemble.name}.neurons`;
  }
  toString(): string {
    return this.name;
  }
  slice(start: number, stop?: number): ObjView {
    return new ObjView(this, rangeIndices(start, stop, this.sizeOut, this.name));
  }
  select(indices: ArrayLike<number>): ObjView {
    return new ObjView(this, checkIndices(indices, this.sizeOut, this.name));
  }
}

/** A slice of a Node, Ensemble or Neurons (Nengo's ObjView): `ens.slice(0, 2)`, `node.select([0, 2])`. */
export class ObjView implements Port {
  readonly obj: Node | Ensemble | Neurons;
  readonly indices: Int32Array;
  constructor(obj: Node | Ensemble | Neurons, indices: Int32Array) {
    this.obj = obj;
    this.indices = indices;
  }
  get sizeIn(): number {
    return this.indices.length;
  }
  get sizeOut(): number {
    return this.indices.length;
  }
  get name(): string {
    return `${this.obj.name}[${describeIndices(this.indices)}]`;
  }
  toString(): string {
    return this.name;
  }
}

/**
 * A learning rule of a connection, as the target of the error connection.
 * `key` is its place when the connection was given several (as Nengo's
 * `learning_rule_type` list or dict): the index in the list, or the dict's
 * key; undefined for a single rule.
 */
export class LearningRule implements Port {
  readonly connection: Connection;
  readonly ruleType: LearningRuleType;
  readonly key: number | string | undefined;
  constructor(connection: Connection, ruleType: LearningRuleType, key?: number | string) {
    this.connection = connection;
    this.ruleType = ruleType;
    this.key = key;
  }
  get sizeIn(): number {
    return this.ruleType.errorSize(this.connection);
  }
  get sizeOut(): number {
    return 0;
  }
  get name(): string {
    return `${this.connection.name}.learningRule${ruleSuffix(this.key)}`;
  }
  toString(): string {
    return this.name;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `<${this.name}: ${this.ruleType.toString()}>`;
  }
}

/**
 * For a connection's list or dict of learning rules where one rule belongs:
 * "the N learning rules of 'conn'; pick one, such as conn.learningRule[0]"
 * (to which the caller adds what for), else undefined.
 */
function severalRules(x: unknown): string | undefined {
  const rules: unknown[] = Array.isArray(x) ? x : isPlainObject(x) ? Object.values(x) : [];
  if (rules.length === 0 || !rules.every((r) => r instanceof LearningRule)) return undefined;
  const first = Array.isArray(x) ? '[0]' : ruleSuffix(Object.keys(x as object)[0]!);
  return `the ${rules.length} learning rules of ${shortName((rules[0] as LearningRule).connection)}; pick one, such as conn.learningRule${first},`;
}

/** An object literal, also one made in a notebook cell's own realm (whose Object.prototype is another). */
function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** How a rule's key reads after `learningRule`: [0], .name, or ['a name'] (a key that is not an identifier). */
function ruleSuffix(key: number | string | undefined): string {
  if (key === undefined) return '';
  if (typeof key === 'number') return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** What `learningRule` may be given: one rule, a list, or a dict of named rules (as Nengo's `learning_rule_type`). */
export type LearningRuleSpec = LearningRuleType | readonly LearningRuleType[] | { readonly [key: string]: LearningRuleType };

/** `conn.learningRule` for a given spec: one LearningRule, a list or a dict of them, in the spec's shape. */
export type LearningRuleOf<R> = R extends LearningRuleType
  ? LearningRule
  : R extends readonly LearningRuleType[]
    ? LearningRule[]
    : R extends { readonly [key: string]: LearningRuleType }
      ? Record<string, LearningRule>
      : LearningRule | LearningRule[] | Record<string, LearningRule> | undefined;

export type PreTarget = Node | Ensemble | Neurons | ObjView;
export type PostTarget = Node | Ensemble | Neurons | ObjView | LearningRule;

export interface ConnectionOptions {
  label?: string;
  seed?: number;
  function?: ConnectionFunction;
  transform?: number | ArrayLike<number> | ArrayLike<number>[] | Dense | Distribution | Sparse | ConvolutionBase;
  synapse?: Synapse | number | null;
  solver?: Solver;
  evalPoints?: Distribution | ArrayLike<number> | ArrayLike<number>[];
  scaleEvalPoints?: boolean;
  /** One rule, or several as a list or a dict of named rules (Nengo's `learning_rule_type`). */
  learningRule?: LearningRuleSpec;
}
export const CONNECTION_OPTIONS = [
  'label',
  'seed',
  'function',
  'transform',
  'synapse',
  'solver',
  'evalPoints',
  'scaleEvalPoints',
  'learningRule',
] as const;

/** Transform as given: a scalar gain, a vector of per-element gains, or a matrix (rows = post size). */
export type Transform =
  | { kind: 'scalar'; value: number }
  | { kind: 'elementwise'; values: Float64Array }
  /** rows x cols, row-major; from a Distribution (`dist`), the build samples the values from the connection's seed. */
  | { kind: 'dense'; values: Float64Array; rows: number; cols: number; dist?: Distribution }
  /** nnz entries: transform[row[k], col[k]] += data[k] (repeats add up, as scipy's). */
  | { kind: 'sparse'; rows: number; cols: number; row: Int32Array; col: Int32Array; data: Float64Array | Distribution }
  /** A Convolution or ConvolutionTranspose (a sparse matrix with shared values: see convolution.ts). */
  | { kind: 'conv'; conv: ConvolutionBase };

export interface DenseOptions {
  /**
   * The matrix (rows of numbers), a Distribution sampled at build from the
   * connection's seed (as Nengo's Dense.sample), or, for a square shape, a
   * number (that times the identity) or a vector (its diagonal). Default 1.
   */
  init?: number | ArrayLike<number> | ArrayLike<number>[] | Distribution;
}

/**
 * A dense transform of a given shape (Nengo `Dense`): [rows, columns] =
 * [size of the post, size of the pre output or function]. A Distribution
 * given as a connection's `transform` is a Dense of the shape the
 * connection needs, as in Nengo.
 */
export class Dense {
  readonly rows: number;
  readonly cols: number;
  /**
   * Row-major values; or, as Nengo keeps them (its build multiplies
   * elementwise), a number times the identity or a diagonal; or the
   * Distribution the build samples the matrix from.
   */
  readonly init: Float64Array | { scalar: number } | { diagonal: Float64Array } | Distribution;
  constructor(shape: readonly [number, number], opts: DenseOptions = {}) {
    checkKnownOptions(opts, ['init'], 'Dense');
    const [rows, cols] = shape ?? [];
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows! < 1 || cols! < 1)
      throw new ValidationError(`Dense: shape must be [rows, columns] of positive integers, got ${JSON.stringify(shape)}`);
    this.rows = rows!;
    this.cols = cols!;
    const init = opts.init ?? 1;
    if (isDistribution(init)) {
      this.init = init;
      return;
    }
    const square = (what: string): void => {
      if (rows !== cols) throw new ValidationError(`Dense: ${what} init needs a square shape, got ${rows}x${cols}; give the matrix`);
    };
    if (typeof init === 'number') {
      square('a number as');
      if (!Number.isFinite(init)) throw new ValidationError(`Dense: init must be finite, got ${init}`);
      this.init = { scalar: init };
      return;
    } else if (isArrayLike(init) && init.length > 0 && isArrayLike((init as ArrayLike<unknown>)[0])) {
      const m = init as unknown as ArrayLike<ArrayLike<number>>;
      const values = new Float64Array(this.rows * this.cols);
      if (m.length !== rows) throw new ValidationError(`Dense: init has ${m.length} rows for shape ${rows}x${cols}`);
      for (let i = 0; i < this.rows; i++) {
        const row = toVector(m[i]!, `Dense init row ${i}`);
        if (row.length !== cols) throw new ValidationError(`Dense: init row ${i} has ${row.length} values for ${cols} columns`);
        values.set(row, i * this.cols);
      }
      this.init = values;
    } else if (isArrayLike(init)) {
      square('a vector (the diagonal) as');
      const diag = toVector(init as ArrayLike<number>, 'Dense init');
      if (diag.length !== rows) throw new ValidationError(`Dense: init has ${diag.length} diagonal values for shape ${rows}x${cols}`);
      this.init = { diagonal: diag };
      return;
    } else throw new ValidationError(`Dense: init must be a matrix, a number, a vector or a Distribution, got ${describe(init)}`);
  }
}

export interface SparseOptions {
  /** The (row, column) of each nonzero entry. */
  indices: ArrayLike<ArrayLike<number>>;
  /** Their values: one for all (default 1; a number or an array of one), one each, or a Distribution sampled at build from the connection's seed, as Nengo. */
  init?: number | ArrayLike<number> | Distribution;
}

/**
 * A sparse transform (Nengo's nengo.transforms.Sparse): a rows x cols
 * matrix with values only at `indices`. Between nodes or neurons it is
 * applied entry by entry (its weights, as Nengo's weights signal, are the
 * values in the order given); on a decoded connection it is folded into the
 * decoders, as every transform there is.
 */
export class Sparse {
  readonly rows: number;
  readonly cols: number;
  readonly row: Int32Array;
  readonly col: Int32Array;
  /** The values, or the Distribution the build samples them from. */
  readonly data: Float64Array | Distribution;
  constructor(shape: readonly [number, number], opts: SparseOptions) {
    checkKnownOptions(opts, ['indices', 'init'], 'Sparse');
    const [rows, cols] = shape ?? [];
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows! < 1 || cols! < 1)
      throw new ValidationError(`Sparse: shape must be [rows, columns] of positive integers, got ${JSON.stringify(shape)}`);
    const idx = opts.indices;
    if (!isArrayLike(idx)) throw new ValidationError('Sparse: indices must be an array of [row, column] pairs');
    const nnz = idx.length;
    this.rows = rows!;
    this.cols = cols!;
    this.row = new Int32Array(nnz);
    this.col = new Int32Array(nnz);
    for (let k = 0; k < nnz; k++) {
      const pair = idx[k];
      const r = pair?.[0],
        c = pair?.[1];
      if (
        !isArrayLike(pair) ||
        pair.length !== 2 ||
        !Number.isInteger(r) ||
        !Number.isInteger(c) ||
        r! < 0 ||
        c! < 0 ||
        r! >= rows! ||
        c! >= cols!
      )
        throw new ValidationError(`Sparse: index ${k} must be a [row, column] pair inside ${rows}x${cols}, got ${JSON.stringify(pair)}`);
      this.row[k] = r!;
      this.col[k] = c!;
    }
    const init = opts.init ?? 1;
    if (typeof init === 'number') {
      if (!Number.isFinite(init)) throw new ValidationError(`Sparse: init must be finite, got ${init}`);
      this.data = new Float64Array(nnz).fill(init);
    } else if (typeof init === 'object' && init !== null && typeof (init as Distribution).sample === 'function' && !('length' in init)) {
      this.data = init as Distribution;
    } else {
      const values = toVector(init as ArrayLike<number>, 'Sparse init');
      // one value is every entry's, as Nengo's SparseMatrix broadcasts an array of size 1
      if (values.length === 1) this.data = new Float64Array(nnz).fill(values[0]!);
      else if (values.length !== nnz) throw new ValidationError(`Sparse: init has ${values.length} values for ${nnz} indices`);
      else this.data = values;
    }
  }
}

/**
 * Connects two objects. From an ensemble the connection is decoded: it
 * computes `function` (default identity) of the represented vector with
 * decoders found by `solver` (default LstsqL2). `transform` maps the function
 * output to the post object; `synapse` (default Lowpass(0.005)) filters it.
 */
export class Connection<R extends LearningRuleSpec | undefined = LearningRuleSpec | undefined> extends NefObject {
  readonly typeName = 'Connection';
  readonly pre: PreTarget;
  readonly post: PostTarget;
  readonly function: ConnectionFunction | undefined;
  readonly transform: Transform;
  readonly synapse: Synapse | null;
  readonly solver: Solver | undefined;
  readonly evalPoints: Distribution | ArrayLike<number> | ArrayLike<number>[] | undefined;
  readonly scaleEvalPoints: boolean;
  /** Size of the function's output (the transform's input). */
  readonly sizeMid: number;
  /**
   * The learning rule(s), in the shape given: one LearningRule, a list or a
   * dict of them (Nengo's `conn.learning_rule`); the target of an error
   * connection and of rule probes.
   */
  readonly learningRule: LearningRuleOf<R>;
  /** Every learning rule of this connection, in the order given (a dict's in its keys' order). */
  readonly learningRules: readonly LearningRule[];

  constructor(network: Network, pre: PreTarget, post: PostTarget, opts: ConnectionOptions = {}) {
    checkKnownOptions(opts, CONNECTION_OPTIONS, 'Connection', {
      weights: "'weights: true' is an option of the solver: solver: new LstsqL2({ weights: true }).",
    });
    super(network, opts.label, opts.seed);
    if (!isPre(pre)) {
      throw new ValidationError(`${this.name}: pre must be a Node, Ensemble, Neurons or a slice of one, got ${describe(pre)}`, this.label);
    }
    const several = severalRules(post);
    if (several) throw new ValidationError(`${this.name}: post is ${several} to connect to`, this.label);
    if (!isPost(post)) {
      throw new ValidationError(
        `${this.name}: post must be a Node, Ensemble, Neurons, a slice of one, or a learning rule, got ${describe(post)}`,
        this.label,
      );
    }
    this.pre = pre;
    this.post = post;
    if (this.label === undefined) this.label = `${shortName(pre)} -> ${shortName(post)}`;
    if (pre.sizeOut === 0) {
      throw new ValidationError(`${this.name}: pre ${pre.name} has no output (size 0)`, this.label);
    }
    const preObj = pre instanceof ObjView ? pre.obj : pre;
    if (opts.function !== undefined && preObj instanceof Neurons) {
      throw new ValidationError(
        `${this.name}: a function cannot be computed on a connection from neurons; connect from the ensemble instead`,
        this.label,
      );
    }
    // (a solver on a connection from a node or neurons has no effect, as in Nengo: the build warns when it asks for weights)
    if (opts.evalPoints !== undefined && !(preObj instanceof Ensemble)) {
      throw new ValidationError(`${this.name}: evalPoints apply only to connections from an ensemble (as in Nengo)`, this.label);
    }
    this.function = opts.function;
    if (opts.solver !== undefined) {
      const sv = opts.solver as Partial<Solver> | null;
      if (sv === null || typeof sv !== 'object' || typeof sv.solve !== 'function' || typeof sv.key !== 'function')
        throw new ValidationError(`${this.name}: solver must be a solver such as new LstsqL2(), got ${describe(opts.solver)}`, this.label);
    }
    this.solver = opts.solver;
    this.evalPoints = opts.evalPoints;
    this.scaleEvalPoints = opts.scaleEvalPoints ?? true;
    this.sizeMid = this.functionSize(pre);
    const target = post.sizeIn;
    // what the transform multiplies, in messages: the function's output, or what the pre gives
    const mid =
      opts.function !== undefined ? `the function output has ${this.sizeMid} dimensions` : `${shortName(pre)} gives ${this.sizeMid} values`;
    this.transform = parseTransform(opts.transform ?? 1, this.sizeMid, target, this.name, post.name, mid);
    this.synapse = toSynapse(opts.synapse === undefined ? new Lowpass(0.005) : opts.synapse, `${this.name} synapse`);
    if (this.transform.kind === 'sparse' || this.transform.kind === 'conv') {
      // as Nengo's builder: decoders, and learning, need a dense transform
      const which = this.transform.kind === 'sparse' ? 'a sparse transform' : `a ${this.transform.conv.typeName} transform`;
      const preObj = pre instanceof ObjView ? pre.obj : pre;
      if (preObj instanceof Ensemble && preObj.neuronType.kind !== 'Direct')
        throw new ValidationError(
          `${this.name}: ${which} on a decoded connection is not supported (as in Nengo); connect from the ensemble's neurons, or give a dense transform`,
          this.label,
        );
      if (opts.learningRule !== undefined)
        throw new ValidationError(`${this.name}: learning needs a dense transform, not ${which}`, this.label);
    }
    const [rules, shaped] = this.learningRulesOf(opts.learningRule);
    this.learningRules = rules;
    this.learningRule = shaped as LearningRuleOf<R>;
  }

  /** Size of what this connection delivers to post. */
  get sizeOut(): number {
    return this.post.sizeIn;
  }

  /** The rules given, checked and made LearningRules: flat, and in the shape given. */
  private learningRulesOf(spec: unknown): [LearningRule[], LearningRule | LearningRule[] | Record<string, LearningRule> | undefined] {
    if (spec === undefined) return [[], undefined];
    const made = (t: unknown, key: number | string | undefined): LearningRule => {
      const where = key === undefined ? 'learningRule' : `learningRule${ruleSuffix(key)}`;
      if (!(t instanceof LearningRuleType))
        throw new ValidationError(`${this.name}: ${where} must be a learning rule such as new PES(), got ${describe(t)}`, this.label);
      t.validate(this);
      return new LearningRule(this, t, key);
    };
    // (a class, PES for new PES(), is told as one rule)
    if (spec instanceof LearningRuleType || typeof spec === 'function') {
      const r = made(spec, undefined);
      return [[r], r];
    }
    if (Array.isArray(spec)) {
      const list = spec.map((t: unknown, i) => made(t, i));
      return [list, list];
    }
    if (isPlainObject(spec)) {
      const dict: Record<string, LearningRule> = {};
      for (const [k, t] of Object.entries(spec)) dict[k] = made(t, k);
      return [Object.values(dict), dict];
    }
    throw new ValidationError(
      `${this.name}: learningRule must be a learning rule such as new PES(), a list of them or a dict of named ones, got ${describe(spec)}`,
      this.label,
    );
  }

  /**
   * Shape [rows, cols] of the weights a build gives this connection (what
   * sim.weights(conn) and a 'weights' probe give, row-major), or null when it
   * has none: a node's (or a Direct ensemble's) output through a scalar or
   * elementwise transform, not learned. From an ensemble with neurons, the
   * decoders times the transform [size out x pre neurons], or with a weight
   * solver [post neurons x pre neurons].
   */
  get weightsShape(): [number, number] | null {
    const pre = this.pre instanceof ObjView ? this.pre.obj : this.pre;
    if (pre instanceof Ensemble && pre.neuronType.kind !== 'Direct') {
      const post = this.post instanceof ObjView ? this.post.obj : this.post;
      if (this.solver?.weights && post instanceof Ensemble) return [post.nNeurons, pre.nNeurons];
      return [this.sizeOut, pre.nNeurons];
    }
    if (this.learningRules.some((r) => r.ruleType.modifies !== 'encoders')) return [this.sizeOut, this.sizeMid];
    if (this.transform.kind === 'dense') return [this.transform.rows, this.transform.cols];
    // Nengo's weights signal of a sparse transform: the values, in the order given
    if (this.transform.kind === 'sparse') return [1, this.transform.row.length];
    // a convolution's kernel, kernelSize + [channels / groups, nFilters], as a matrix of nFilters columns
    if (this.transform.kind === 'conv') {
      const shape = this.transform.conv.kernelShape;
      const cols = shape[shape.length - 1]!;
      return [shape.reduce((a, b) => a * b, 1) / cols, cols];
    }
    return null;
  }
  get sizeIn(): number {
    return this.pre.sizeOut;
  }

  private functionSize(pre: PreTarget): number {
    const f = this.function;
    if (f === undefined) return pre.sizeOut;
    if (typeof f === 'function') {
      let y: unknown;
      try {
        y = f(new Float64Array(pre.sizeOut));
      } catch (err) {
        throw new ValidationError(`${this.name}: calling its function on a zero vector failed: ${(err as Error).message}`, this.label);
      }
      const v = toVector(y as VectorLike, `${this.name} function output`);
      return v.length;
    }
    // explicit targets, one row per eval point
    if (f instanceof Float64Array) {
      throw new ValidationError(`${this.name}: explicit function targets must be given as an array of rows (number[][])`, this.label);
    }
    if (f.length === 0) throw new ValidationError(`${this.name}: function targets are empty`, this.label);
    const first = f[0]!;
    return isArrayLike(first) ? first.length : 1;
  }
}

export type ProbeTarget = Node | Ensemble | Neurons | ObjView | Connection | LearningRule;

export interface ProbeOptions {
  label?: string;
  seed?: number;
  attr?: string;
  synapse?: Synapse | number | null;
  sampleEvery?: number;
  /**
   * Solver of a decoded-output probe of an ensemble (Nengo's Probe.solver);
   * default: the network config's connection solver (unless it solves for
   * weights), else LstsqL2().
   */
  solver?: Solver;
}
const PROBE_OPTIONS = ['label', 'seed', 'attr', 'synapse', 'sampleEvery', 'solver'] as const;

/** Attributes that can be probed on each kind of target, first one the default. */
export const PROBEABLE: Record<string, readonly string[]> = {
  Node: ['output'],
  Ensemble: ['decodedOutput', 'input', 'scaledEncoders'],
  Neurons: ['output', 'input', 'voltage', 'refractoryTime', 'adaptation', 'recovery', 'rateOut'],
  Connection: ['output', 'input', 'weights'],
};

/** Records an attribute of an object every `sampleEvery` seconds, optionally filtered by `synapse` (default none). */
export class Probe extends NefObject {
  readonly typeName = 'Probe';
  readonly target: ProbeTarget;
  readonly attr: string;
  readonly synapse: Synapse | null;
  readonly sampleEvery: number | undefined;

  /** Solver for a decoded-output probe (see ProbeOptions.solver). */
  readonly solver: Solver | undefined;

  constructor(network: Network, target: ProbeTarget, opts: ProbeOptions = {}) {
    checkKnownOptions(opts, PROBE_OPTIONS, 'Probe');
    super(network, opts.label, opts.seed);
    if (opts.solver !== undefined && (typeof opts.solver !== 'object' || opts.solver === null || typeof opts.solver.key !== 'function'))
      throw new ValidationError(`${this.name}: solver must be a Solver such as new LstsqL2()`, this.label);
    this.solver = opts.solver;
    const obj = target instanceof ObjView ? target.obj : target;
    const kind =
      obj instanceof Node
        ? 'Node'
        : obj instanceof Ensemble
          ? 'Ensemble'
          : obj instanceof Neurons
            ? 'Neurons'
            : obj instanceof Connection
              ? 'Connection'
              : obj instanceof LearningRule
                ? 'LearningRule'
                : undefined;
    const several = severalRules(target);
    if (several) throw new ValidationError(`${this.name}: the target is ${several} to probe`, this.label);
    if (kind === undefined) {
      throw new ValidationError(
        `${this.name}: cannot probe ${describe(target)}; probe a Node, Ensemble, Neurons, Connection or a connection's learningRule`,
        this.label,
      );
    }
    // neurons: output and input, and the states (and rateOut) their type has
    const allowed =
      obj instanceof Neurons
        ? ['output', 'input', ...obj.ensemble.neuronType.probeable]
        : obj instanceof LearningRule
          ? obj.ruleType.probeable
          : PROBEABLE[kind]!;
    if (target instanceof ObjView && opts.attr === 'scaledEncoders') {
      throw new ValidationError(
        `${this.name}: probe the scaled encoders of the whole ensemble ${describe(obj)}, not of a slice`,
        this.label,
      );
    }
    const attr = opts.attr ?? allowed[0]!;
    if (obj instanceof Neurons && !allowed.includes(attr) && (PROBEABLE['Neurons'] as readonly string[]).includes(attr)) {
      throw new ValidationError(
        `${this.name}: the ${obj.ensemble.neuronType.kind} neurons of ${obj.ensemble.name} have no '${attr}' (choose from ${allowed.join(', ')})`,
        this.label,
      );
    }
    if (!allowed.includes(attr)) {
      throw new ValidationError(
        `${this.name}: ${describe(obj)} has no probeable attribute '${attr}' (choose from ${allowed.join(', ')})`,
        this.label,
      );
    }
    if (obj instanceof Connection && attr === 'weights' && obj.weightsShape === null) {
      throw new ValidationError(
        `${this.name}: ${obj.name} has no weights to probe (nothing is solved or learned on it, and its transform is a scalar or elementwise)`,
        this.label,
      );
    }
    if (opts.sampleEvery !== undefined && !(opts.sampleEvery > 0)) {
      throw new ValidationError(
        `${this.name}: sampleEvery must be a positive number of seconds, got ${String(opts.sampleEvery)}`,
        this.label,
      );
    }
    this.target = target;
    this.attr = attr;
    this.synapse = toSynapse(opts.synapse ?? null, `${this.name} synapse`);
    this.sampleEvery = opts.sampleEvery;
    if (this.label === undefined) this.label = `${shortName(target)}.${attr}`;
  }
  /** Number of values recorded per sample. */
  get size(): number {
    const t = this.target;
    if (t instanceof ObjView) return t.sizeOut;
    if (t instanceof LearningRule) {
      // the error in the post's space; the pre neurons' activities (those the connection reads);
      // BCM's and Oja's filtered activities of the whole pre and post ensembles
      const conn = t.connection;
      if (this.attr === 'error') return t.sizeIn;
      // Voja's: the post ensemble's scaled encoders and their change, neurons x dimensions
      if (t.ruleType.modifies === 'encoders' && (this.attr === 'scaledEncoders' || this.attr === 'delta')) {
        const ens = (conn.post instanceof ObjView ? conn.post.obj : conn.post) as Ensemble;
        return ens.nNeurons * ens.dimensions;
      }
      // PES's, BCM's, Oja's and RLS's delta: the change of the weights
      if (this.attr === 'delta') {
        const [rows, cols] = conn.weightsShape ?? [0, 0];
        return rows * cols;
      }
      const pre = conn.pre instanceof ObjView ? conn.pre.obj : conn.pre;
      const post = conn.post instanceof ObjView ? conn.post.obj : conn.post;
      const ensOf = (o: unknown): Ensemble | undefined => (o instanceof Neurons ? o.ensemble : o instanceof Ensemble ? o : undefined);
      // RLS's estimate of the inverse correlation of the pre activities, n x n
      if (this.attr === 'invGamma') return (ensOf(pre)?.nNeurons ?? 0) ** 2;
      if (this.attr === 'activities')
        return conn.pre instanceof ObjView && pre instanceof Neurons ? conn.pre.sizeOut : (ensOf(pre)?.nNeurons ?? 0);
      if (this.attr === 'preFiltered') return ensOf(pre)?.nNeurons ?? 0;
      return ensOf(post)?.nNeurons ?? 0;
    }
    if (t instanceof Ensemble && this.attr === 'scaledEncoders') return t.nNeurons * t.dimensions;
    if (t instanceof Connection) {
      if (this.attr === 'weights') {
        const [rows, cols] = t.weightsShape ?? [0, 0];
        return rows * cols;
      }
      if (this.attr !== 'input') return t.sizeOut;
      // its pre object's whole output (Nengo's sig[conn]['in']), also from a slice: neurons of an ensemble that has them
      const pre = t.pre instanceof ObjView ? t.pre.obj : t.pre;
      if (pre instanceof Ensemble) return pre.neuronType.kind === 'Direct' ? pre.dimensions : pre.nNeurons;
      return pre.sizeOut;
    }
    return t.sizeOut;
  }
}

// ---- helpers -------------------------------------------------------------

export function isArrayLike(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

/** Converts a number or array into a Float64Array, checking for NaN and nested arrays. */
export function toVector(x: VectorLike, what: string): Float64Array {
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new ValidationError(`${what} is ${x}; it must be finite`);
    return Float64Array.of(x);
  }
  if (!isArrayLike(x)) throw new ValidationError(`${what} must be a number or an array of numbers, got ${typeof x}`);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ValidationError(`${what}: element ${i} is ${String(v)}; it must be a finite number`);
    }
    out[i] = v;
  }
  return out;
}

function rangeIndices(start: number, stop: number | undefined, size: number, name: string): Int32Array {
  const s = start < 0 ? size + start : start;
  const e = stop === undefined ? s + 1 : stop < 0 ? size + stop : stop;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > size || e <= s) {
    throw new ValidationError(`${name}: slice(${start}, ${stop ?? ''}) is out of range for size ${size}`);
  }
  const out = new Int32Array(e - s);
  for (let i = 0; i < out.length; i++) out[i] = s + i;
  return out;
}

function checkIndices(indices: ArrayLike<number>, size: number, name: string): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    let k = indices[i]!;
    if (k < 0) k += size;
    if (!Number.isInteger(k) || k < 0 || k >= size) {
      throw new ValidationError(`${name}: index ${indices[i]} is out of range for size ${size}`);
    }
    out[i] = k;
  }
  if (out.length === 0) throw new ValidationError(`${name}: selection is empty`);
  return out;
}

function describeIndices(ix: Int32Array): string {
  let contiguous = true;
  for (let i = 1; i < ix.length; i++) if (ix[i] !== ix[i - 1]! + 1) contiguous = false;
  if (contiguous) return ix.length === 1 ? `${ix[0]}` : `${ix[0]}:${ix[ix.length - 1]! + 1}`;
  return Array.from(ix).join(',');
}

function isPre(x: unknown): x is PreTarget {
  return x instanceof Node || x instanceof Ensemble || x instanceof Neurons || x instanceof ObjView;
}
function isPost(x: unknown): x is PostTarget {
  return isPre(x) || x instanceof LearningRule;
}

/** How an object appears inside generated labels: its label if it has one, else its name. */
export function shortName(x: Port | Connection | NefObject): string {
  if (x instanceof Neurons) return `${shortName(x.ensemble)}.neurons`;
  if (x instanceof ObjView) return `${shortName(x.obj)}[${describeIndices(x.indices)}]`;
  if (x instanceof LearningRule) return `${shortName(x.connection)}.learningRule${ruleSuffix(x.key)}`;
  if (x instanceof NefObject) return x.label ?? x.name;
  return x.name;
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object' && x !== null && 'name' in x && typeof (x as { name: unknown }).name === 'string') {
    return (x as { name: string }).name;
  }
  // an object of a class: its class (a Gaussian where a process belongs)
  const cls = typeof x === 'object' && x !== null ? (x as { constructor?: { name?: unknown } }).constructor?.name : undefined;
  if (typeof cls === 'string' && cls !== 'Object' && cls !== '') return `${/^[AEIOU]/.test(cls) ? 'an' : 'a'} ${cls}`;
  // a class where an instance belongs (neuronType: LIF), or a name (neuronType: 'LIF')
  if (typeof x === 'function') {
    const fn = x as { name?: unknown; toString(): string };
    const isClass = /^class\b/.test(Function.prototype.toString.call(x));
    return isClass && typeof fn.name === 'string' && fn.name ? `the class ${fn.name} itself (write new ${fn.name}())` : 'a function';
  }
  if (typeof x === 'string') return `the string '${x.length > 40 ? `${x.slice(0, 40)}...` : x}'`;
  return typeof x;
}

function parseTransform(
  t: number | ArrayLike<number> | ArrayLike<number>[] | Dense | Distribution | Sparse | ConvolutionBase,
  sizeMid: number,
  sizeOut: number,
  name: string,
  postName: string,
  mid: string,
): Transform {
  // a Distribution is a Dense of the shape this connection needs (Nengo's Connection.transform)
  if (!(t instanceof ConvolutionBase) && !(t instanceof Sparse) && !(t instanceof Dense) && isDistribution(t))
    t = new Dense([sizeOut, sizeMid], { init: t });
  if (t instanceof Dense) {
    if (t.rows !== sizeOut || t.cols !== sizeMid)
      throw new ValidationError(
        `${name}: the dense transform is ${t.rows}x${t.cols}; it must be ${sizeOut}x${sizeMid} ` +
          `(rows = size of ${postName}, columns = size of the pre output or function)`,
      );
    const init = t.init;
    if (init instanceof Float64Array) return { kind: 'dense', values: init, rows: t.rows, cols: t.cols };
    if ('scalar' in init) return { kind: 'scalar', value: init.scalar };
    if ('diagonal' in init) return { kind: 'elementwise', values: init.diagonal };
    return { kind: 'dense', values: new Float64Array(t.rows * t.cols), rows: t.rows, cols: t.cols, dist: init };
  }
  if (t instanceof Sparse) {
    if (t.rows !== sizeOut || t.cols !== sizeMid)
      throw new ValidationError(
        `${name}: the sparse transform is ${t.rows}x${t.cols}; it must be ${sizeOut}x${sizeMid} ` +
          `(rows = size of ${postName}, columns = size of the pre output or function)`,
      );
    return { kind: 'sparse', rows: t.rows, cols: t.cols, row: t.row, col: t.col, data: t.data };
  }
  if (t instanceof ConvolutionBase) {
    if (t.sizeIn !== sizeMid || t.sizeOut !== sizeOut)
      throw new ValidationError(
        `${name}: the ${t.typeName} takes ${t.sizeIn} values (input shape [${t.inputShape.join(', ')}]) and gives ${t.sizeOut} ` +
          `(output shape [${t.outputShape.join(', ')}]); it must take ${sizeMid} (${mid}) and give ${sizeOut} (the size of ${postName})`,
      );
    return { kind: 'conv', conv: t };
  }
  if (typeof t === 'number') {
    if (!Number.isFinite(t)) throw new ValidationError(`${name}: transform must be finite, got ${t}`);
    if (sizeMid !== sizeOut) {
      throw new ValidationError(
        `${name}: ${mid} but ${postName} takes ${sizeOut}; ` +
          `give a ${sizeOut}x${sizeMid} transform matrix, or connect to a slice of the right size`,
      );
    }
    return { kind: 'scalar', value: t };
  }
  if (!isArrayLike(t))
    throw new ValidationError(
      `${name}: transform must be a number, a vector, a matrix, a Dense, a Sparse, a convolution or a Distribution, got ${describe(t)}`,
    );
  if (t.length > 0 && isArrayLike(t[0])) {
    const rows = t.length;
    const rowsArr = t as unknown as ArrayLike<ArrayLike<number>>;
    const cols = rowsArr[0]!.length;
    if (rows !== sizeOut || cols !== sizeMid) {
      throw new ValidationError(
        `${name}: transform shape ${rows}x${cols} does not match: it must be ${sizeOut}x${sizeMid} ` +
          `(rows = size of ${postName}, columns = size of the pre output or function)`,
      );
    }
    const values = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row = rowsArr[i]!;
      if (!isArrayLike(row) || row.length !== cols) throw new ValidationError(`${name}: transform row ${i} must have ${cols} values`);
      for (let j = 0; j < cols; j++) {
        const v = row[j]!;
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(`${name}: transform[${i}][${j}] is ${String(v)}`);
        values[i * cols + j] = v;
      }
    }
    return { kind: 'dense', values, rows, cols };
  }
  const values = toVector(t as ArrayLike<number>, `${name} transform`);
  if (values.length !== sizeMid || sizeMid !== sizeOut) {
    throw new ValidationError(
      `${name}: an elementwise transform of length ${values.length} needs pre and post of that size (got ${sizeMid} -> ${sizeOut})`,
    );
  }
  return { kind: 'elementwise', values };
}

export { Synapse };

/**
 * Whether a function declares one plain parameter and nothing else (`(t) =>`,
 * `function (t)`): `length` alone counts a parameter with a default or a
 * rest parameter out, so `(t, x = 0) =>` has length 1 too; those take x.
 */
function declaresOnlyT(fn: (...args: never[]) => unknown): boolean {
  if (fn.length !== 1) return false;
  const src = Function.prototype.toString.call(fn);
  // the parameters: what comes before the first '=>' or '{' (a default's own '{' or '=>' comes after a ',')
  const end = src.search(/=>|\{/);
  const head = end < 0 ? src : src.slice(0, end);
  return !/[,=]|\.\.\./.test(head);
}
