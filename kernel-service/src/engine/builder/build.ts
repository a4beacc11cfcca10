/**
 * The builder: turns a Network into signals and operators (a Model), with
 * Nengo's build semantics:
 *
 * - Ensemble: input current J = bias + (gain / radius) * (encoders . x);
 *   eval points, encoders, max rates and intercepts sampled from the
 *   ensemble's seeded generator (Nengo's defaults); neuron state initialised
 *   from its distributions.
 * - Decoded connection: decoders from the steady-state rate curve over the
 *   eval points and the solver; weights W = transform . decoders^T; then
 *   W x -> synapse (an update: one step of delay) -> added into post.
 * - Probes of decoded output are decoded connections into the probe.
 */
import { ScatteredHypersphere, Uniform, samplesOrDist } from '../dists.js';
import type { Im2col } from '../convolution.js';
import { entrySpread } from '../spread.js';
import { DECODER_KEY_VERSION, contentKey, defaultDecoderCache, type DecoderCache } from '../decoder-cache.js';
import { BuildError, SimulationError, ValidationError } from '../errors.js';
import type { BCM, Oja, PES, RLS, Voja } from '../learning.js';
import type { Network } from '../network.js';
import { Direct, RatesToSpikes, LIF, LIFRate, Sigmoid, type NeuronType } from '../neurons.js';
import {
  Connection,
  Ensemble,
  Node,
  Neurons,
  ObjView,
  LearningRule,
  Probe,
  isArrayLike,
  type NodeFunction,
  type PostTarget,
  type PreTarget,
  type Transform,
} from '../objects.js';
import { Process } from '../processes.js';
import { entropySeed, reseeded, Rng } from '../rng.js';
import { LstsqL2, LstsqL2nz, decodingSolver, type Solver } from '../solvers.js';
import { LinearFilter, type Synapse } from '../synapses.js';
import { activities, nengoCurrents } from './activities.js';
import { fuseEncoders, type Op } from './ops.js';
import { gramWork, teamActivities, teamServes, teamStats, warmTeam } from '../linalg-team.js';
import { poolThreads } from '../build-threads.js';
import { BATCH_BYTES, SolvePool, jobBytes, type PoolJob, type PoolResult } from './solve-pool.js';
import { SignalTable, type Sig } from './signals.js';

export interface BuildOptions {
  dt: number;
  /** Overrides the top-level network's seed. */
  seed?: number;
  /** Where solved decoders are looked up and kept (default: the process-wide cache; null: none). */
  decoderCache?: DecoderCache | null;
}

export interface BuiltEnsemble {
  ensemble: Ensemble;
  direct: boolean;
  /** Eval points, scaled by the radius: m x d row-major. */
  evalPoints: Float64Array;
  nEvalPoints: number;
  /** Unit-length (if normalizeEncoders) encoders, n x d. */
  encoders: Float64Array;
  /** encoders * gain / radius, n x d, as built (Voja changes them in the arena, not here). */
  scaledEncoders: Float64Array;
  /** The scaled encoders in the arena (the encoders themselves in Direct mode), for probes and Voja. */
  encodersSig: Sig;
  gain: Float64Array;
  bias: Float64Array;
  maxRates: Float64Array;
  intercepts: Float64Array;
  /** Decoded input vector (d). */
  input: Sig;
  /**
   * What a Direct ensemble's connections and decoded probes read: its input,
   * plus its noise if it has any (Nengo's neurons' "in" and "out"); the
   * input itself otherwise.
   */
  value: Sig;
  /** Neuron input current (n); undefined in Direct mode. */
  J: Sig | undefined;
  /** Neuron output (n); undefined in Direct mode. */
  output: Sig | undefined;
  states: Record<string, Sig>;
}

export interface BuiltConnection {
  connection: Connection;
  /** Decoders (n_pre x sizeMid) for decoded connections. */
  decoders: Float64Array | undefined;
  /** Full weights applied to the pre signal (rows x cols), when the connection has a matrix. */
  weights: Sig | undefined;
  weightsShape: [number, number] | undefined;
  /** RMS residual per decoded dimension, from the solver. */
  solverRmses: Float64Array | undefined;
  /** The pre signal as the connection sees it (after slicing). */
  input: Sig;
  /** The weighted, filtered output delivered to post. */
  output: Sig;
}

export interface BuiltProbe {
  probe: Probe;
  /** Signal sampled after each step (contiguous), or... */
  sig: Sig;
  size: number;
  /** Steps between samples (Nengo: sample_every / dt, or 1). */
  period: number;
}

export interface Model {
  dt: number;
  seed: number;
  network: Network;
  signals: SignalTable;
  ops: Op[];
  ensembles: Map<Ensemble, BuiltEnsemble>;
  connections: Map<Connection, BuiltConnection>;
  nodes: Map<Node, { input: Sig | undefined; output: Sig | undefined }>;
  /** What a probe of a learning rule records, by attribute (error, activities, theta, preFiltered, postFiltered). */
  learningRules: Map<LearningRule, Record<string, Sig>>;
  probes: BuiltProbe[];
  seeds: Map<object, number>;
  warnings: string[];
  /**
   * Decoder solves done by the solve pool (solve-pool.ts), how many threads
   * it used (this one and the helpers that finished a job; 0 when it did not
   * run; also counted when the linear algebra team's helpers took part in a
   * large solve, linalg-team.ts), and the jobs (one per ensemble) the pool's
   * helpers finished.
   */
  pooled: { solves: number; threads: number; helperJobs: number };
}

const NODE_LIKE_TYPES = ['connection', 'ensemble', 'network', 'node', 'probe'] as const;

/** Assigns a seed to every object, parent to children, as Nengo does. */
function assignSeeds(net: Network, seed: number, seeds: Map<object, number>): void {
  seeds.set(net, seed);
  const rng = new Rng(seed);
  for (const kind of NODE_LIKE_TYPES) {
    const list: { seed: number | undefined }[] =
      kind === 'connection'
        ? net.connections
        : kind === 'ensemble'
          ? net.ensembles
          : kind === 'network'
            ? net.networks
            : kind === 'node'
              ? net.nodes
              : net.probes;
    for (const obj of list) {
      const drawn = rng.seed(); // always drawn, so a child's own seed does not shift its siblings'
      seeds.set(obj, obj.seed ?? drawn);
    }
  }
  for (const sub of net.networks) assignSeeds(sub, seeds.get(sub)!, seeds);
}

/** Nengo's default: max(clip(500 d, 750, 2500), 2 n). */
export function defaultNEvalPoints(nNeurons: number, dimensions: number): number {
  return Math.max(Math.min(Math.max(500 * dimensions, 750), 2500), 2 * nNeurons);
}

export function build(network: Network, opts: BuildOptions): Model {
  if (!(opts.dt > 0) || !Number.isFinite(opts.dt))
    throw new ValidationError(`dt must be a positive number of seconds, got ${String(opts.dt)}`);
  const seed = opts.seed ?? network.seed ?? entropySeed();
  const cache = opts.decoderCache === undefined ? defaultDecoderCache : opts.decoderCache;
  const b = new Builder(network, opts.dt, seed, cache);
  const teamChunks = teamStats.helperChunks;
  try {
    b.buildAll();
  } finally {
    cache?.flush?.(); // the build's solutions, also those solved before a failure
  }
  // a large solve whose Gram product and factor the linear algebra team's helpers took part in
  if (teamStats.helperChunks > teamChunks) b.model.pooled.threads = Math.max(b.model.pooled.threads, 1 + poolThreads().threads);
  return b.model;
}

class Builder {
  readonly model: Model;
  private readonly sig = new SignalTable();
  private readonly ops: Op[] = [];
  /** Solutions within this build, by ensemble, function, solver and slices (no hashing needed). */
  private readonly buildCache = new Map<string, { X: Float64Array; rmses: Float64Array }>();
  /** Decoded connections by pre ensemble, for sharing activities and factors (made on the first solve). */
  private sharing: Map<Ensemble, Connection[]> | undefined;
  private readonly fnIds = new WeakMap<object, number>();
  private readonly sampledTransforms = new Map<Connection, Transform>();
  private nextFnId = 0;
  /** Activity matrix storage, reused by every solve of this build (solvers keep no reference to A). */
  private scratch: Float64Array<ArrayBufferLike> = new Float64Array(0);
  private readonly members = new Set<object>();
  /** Connections whose 'output' a probe records: their weighted value needs a signal of its own. */
  private readonly outputProbed = new Set<Connection>();
  /** Learning rules whose delta a probe records: built as Nengo's, with the change in a signal of its own. */
  private readonly deltaProbed = new Set<LearningRule>();
  /** Ensembles whose encoders a Voja rule changes: theirs are not constant. */
  private readonly learnedEncoders = new Set<Ensemble>();
  /** What each solve needs (targets and all), by its key, when presolve() worked it out before the connection's build. */
  private readonly specs = new Map<string, DecodeSpec>();

  constructor(
    readonly network: Network,
    readonly dt: number,
    seed: number,
    private readonly cache: DecoderCache | null,
  ) {
    const seeds = new Map<object, number>();
    assignSeeds(network, seed, seeds);
    this.model = {
      dt,
      seed,
      network,
      signals: this.sig,
      ops: this.ops,
      ensembles: new Map(),
      connections: new Map(),
      learningRules: new Map(),
      nodes: new Map(),
      probes: [],
      seeds,
      warnings: [],
      pooled: { solves: 0, threads: 0, helperJobs: 0 },
    };
  }

  buildAll(): void {
    const net = this.network;
    const nodes = net.allNodes,
      ensembles = net.allEnsembles,
      conns = net.allConnections,
      probes = net.allProbes;
    for (const o of [...nodes, ...ensembles, ...conns]) this.members.add(o);
    for (const p of probes) if (p.target instanceof Connection && p.attr === 'output') this.outputProbed.add(p.target);
    for (const c of conns)
      for (const r of c.learningRules) if (r.ruleType.modifies === 'encoders') this.learnedEncoders.add(unviewPost(c.post).obj as Ensemble);
    for (const p of probes) if (p.target instanceof LearningRule && p.attr === 'delta') this.deltaProbed.add(p.target);
    // Several rules changing one connection's weights are built as Nengo builds every rule: each
    // writes its own delta from this step's values, added into the weights at the next step's start.
    // (A rule alone adds straight into the weights; Oja's, which reads them, would otherwise see
    // another rule's change of the same step.)
    for (const c of conns) {
      const onWeights = c.learningRules.filter((r) => r.ruleType.modifies !== 'encoders');
      if (onWeights.length > 1) for (const r of onWeights) this.deltaProbed.add(r);
    }
    for (const n of nodes) this.buildNode(n);
    for (const e of ensembles) this.buildEnsemble(e);
    // Connections into learning rules need the learning rule built first.
    const learned = conns.filter((c) => c.learningRules.length > 0);
    const plain = conns.filter((c) => c.learningRules.length === 0);
    const errorSigs = new Map<LearningRule, Sig>();
    for (const c of learned) for (const r of c.learningRules) errorSigs.set(r, this.sig.add(`${r.name}.error`, r.sizeIn));
    this.presolve([...learned, ...plain]);
    for (const c of [...learned, ...plain]) this.buildConnection(c, errorSigs);
    for (const c of learned) for (const r of c.learningRules) this.buildLearning(c, r, errorSigs.get(r)!);
    for (const p of probes) this.buildProbe(p);
    fuseEncoders(this.ops);
  }

  private seedOf(obj: object): number {
    const s = this.model.seeds.get(obj);
    if (s === undefined) throw new BuildError(`internal: no seed for ${String(obj)}`);
    return s;
  }

  private requireMember(obj: Node | Ensemble | Connection, user: string): void {
    if (!this.members.has(obj)) {
      throw new BuildError(
        `${user} refers to ${obj.name}, which is not part of ${this.network.name}. ` +
          'Create objects with the methods of the network you simulate (or add their network to it with net.add()).',
        obj.label,
      );
    }
  }

  // ---- nodes ---------------------------------------------------------------

  private buildNode(node: Node): void {
    const input = node.sizeIn > 0 ? this.sig.add(`${node.name}.in`, node.sizeIn) : undefined;
    if (input) this.ops.push({ kind: 'reset', dst: input, value: 0, owner: node.name });
    let output: Sig | undefined;
    const out = node.output;
    if (out === null) {
      output = input;
    } else if (out instanceof Float64Array) {
      output = this.sig.add(`${node.name}.out`, out.length, Float64Array.from(out), true);
    } else if (out instanceof Process) {
      output = node.sizeOut > 0 ? this.sig.add(`${node.name}.out`, node.sizeOut) : undefined;
      let step: (t: number, x: Float64Array | null, o: Float64Array) => void;
      // the process's own seed when it has one (Nengo's Process.get_rng): two nodes with one seeded
      // process then give the same signal, in any network
      const seed = out.seed ?? this.seedOf(node);
      const dt = this.dt;
      // after reset(seed), an unseeded process's stream changes with it (Nengo's Simulator.reset(seed))
      const make = (resetSeed?: number): typeof step =>
        out.makeStep(
          node.sizeIn,
          node.sizeOut,
          dt,
          new Rng(out.seed !== undefined || resetSeed === undefined ? seed : reseeded(seed, resetSeed)),
        );
      try {
        step = make();
      } catch (err) {
        throw new BuildError(`${node.name}: its process ${String(out)} could not be built: ${(err as Error).message}`, node.label);
      }
      this.ops.push({ kind: 'func', step, x: input, output, readsTime: true, owner: node.name, restart: make });
    } else if (typeof out === 'function') {
      output = node.sizeOut > 0 ? this.sig.add(`${node.name}.out`, node.sizeOut) : undefined;
      this.ops.push({ kind: 'func', step: nodeStep(out as NodeFunction, node), x: input, output, readsTime: true, owner: node.name });
    } else {
      throw new BuildError(`${node.name}: unsupported output ${typeof out}`, node.label);
    }
    this.model.nodes.set(node, { input, output });
  }

  // ---- ensembles -------------------------------------------------------------

  private buildEnsemble(ens: Ensemble): void {
    const rng = new Rng(this.seedOf(ens));
    const n = ens.nNeurons,
      d = ens.dimensions,
      radius = ens.radius;
    const direct = ens.neuronType instanceof Direct;
    const what = (p: string): string => `${ens.name} ${p}`;

    // Eval points (scaled by the radius).
    const nEval = ens.nEvalPoints ?? defaultNEvalPoints(n, d);
    let evalPoints: Float64Array;
    let m: number;
    const ep = ens.evalPoints ?? new ScatteredHypersphere({ surface: false });
    if (isArrayLike(ep) || Array.isArray(ep)) {
      const rows = matrixRows(ep as ArrayLike<number> | ArrayLike<number>[], d, what('evalPoints'));
      evalPoints = samplesOrDist(ep as ArrayLike<number>[], rows, d, rng, what('evalPoints'));
      m = rows;
      // as Nengo, which warns "Number of eval_points doesn't match n_eval_points"
      if (ens.nEvalPoints !== undefined && ens.nEvalPoints !== rows)
        this.model.warnings.push(`${ens.name}: nEvalPoints is ${ens.nEvalPoints}, but ${rows} evalPoints are given; the ${rows} are used`);
    } else {
      evalPoints = samplesOrDist(ep, nEval, d, rng, what('evalPoints'));
      m = nEval;
    }
    for (let i = 0; i < evalPoints.length; i++) evalPoints[i] = evalPoints[i]! * radius;

    // Encoders.
    const encoders = samplesOrDist(ens.encoders ?? new ScatteredHypersphere({ surface: true }), n, d, rng, what('encoders'));
    if (ens.normalizeEncoders) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += encoders[i * d + j]! ** 2;
        const norm = Math.sqrt(s);
        if (norm === 0) throw new BuildError(`${ens.name}: encoder ${i} is zero; encoders must be non-zero vectors`, ens.label);
        for (let j = 0; j < d; j++) encoders[i * d + j] = encoders[i * d + j]! / norm;
      }
    }

    // Gain and bias, from max rates and intercepts unless given.
    let gain: Float64Array, bias: Float64Array, maxRates: Float64Array, intercepts: Float64Array;
    try {
      if (ens.gain !== undefined && ens.bias !== undefined) {
        gain = samplesOrDist(ens.gain, n, undefined, rng, what('gain'));
        bias = samplesOrDist(ens.bias, n, undefined, rng, what('bias'));
        ({ maxRates, intercepts } = ens.neuronType.maxRatesIntercepts(gain, bias));
      } else {
        maxRates = samplesOrDist(ens.maxRates ?? new Uniform(200, 400), n, undefined, rng, what('maxRates'));
        intercepts = samplesOrDist(ens.intercepts ?? new Uniform(-1, 0.9), n, undefined, rng, what('intercepts'));
        ({ gain, bias } = ens.neuronType.gainBias(maxRates, intercepts));
      }
    } catch (err) {
      if (err instanceof ValidationError && !err.message.startsWith(ens.name)) {
        throw new BuildError(`${ens.name}: ${err.message}`, ens.label);
      }
      throw err;
    }
    // As Nengo's build_ensemble: a gain that is not positive (e.g. a Sigmoid's max rate past 1/tauRef,
    // or an intercept too close to 1) would silently flip or kill the neuron.
    // (Direct mode has no neurons, and gains of 0.)
    for (let i = 0; i < n && !direct; i++) {
      if (!(gain[i]! > 0) || !Number.isFinite(gain[i]!)) {
        throw new BuildError(
          `${ens.name}: neuron ${i} gets a gain of ${gain[i]} (max rate ${maxRates[i]}, intercept ${intercepts[i]}); ` +
            `gains must be positive and finite: ${gainHint(ens.neuronType)}`,
          ens.label,
        );
      }
    }
    const scaledEncoders = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const g = gain[i]! / radius;
      for (let j = 0; j < d; j++) scaledEncoders[i * d + j] = encoders[i * d + j]! * g;
    }

    const input = this.sig.add(`${ens.name}.in`, d);
    this.ops.push({ kind: 'reset', dst: input, value: 0, owner: ens.name });
    // as Nengo's: Direct ensembles' "scaled" encoders are the encoders
    const encSig = this.sig.add(`${ens.name}.scaledEncoders`, n * d, direct ? encoders : scaledEncoders, !this.learnedEncoders.has(ens));
    let J: Sig | undefined, output: Sig | undefined;
    const states: Record<string, Sig> = {};
    if (!direct) {
      J = this.sig.add(`${ens.name}.neurons.J`, n);
      output = this.sig.add(`${ens.name}.neurons.out`, n);
      const biasSig = this.sig.add(`${ens.name}.bias`, n, bias, true);
      this.ops.push({ kind: 'copy', src: biasSig, dst: J, srcIdx: undefined, dstIdx: undefined, inc: false, owner: ens.name });
      this.ops.push({ kind: 'dotinc', W: encSig, rows: n, cols: d, x: input, y: J, owner: ens.name });
      const defaults = ens.neuronType.initialState();
      for (const name of ens.neuronType.stateNames) {
        const given = ens.initialState?.[name];
        const init = samplesOrDist(given ?? defaults[name]!, n, undefined, rng, what(`initialState.${name}`));
        states[name] = this.sig.add(`${ens.name}.neurons.${name}`, n, init);
      }
      const type = ens.neuronType;
      if (type instanceof RatesToSpikes) {
        // Nengo's build of a RatesToSpikesNeuronType: the base type's step into rate_out, then the
        // wrapper's step from it; a random wrapper gets a seed drawn after what the ensemble drew
        const rateOut = this.sig.add(`${ens.name}.neurons.rateOut`, n);
        const own = Object.fromEntries(Object.entries(states).filter(([k]) => !type.baseType.stateNames.includes(k)));
        const base = Object.fromEntries(Object.entries(states).filter(([k]) => type.baseType.stateNames.includes(k)));
        this.ops.push({ kind: 'neurons', type: type.baseType, J, output: rateOut, states: base, owner: ens.name });
        const seed = type.kind === 'RegularSpiking' ? undefined : rng.seed();
        this.ops.push({ kind: 'neurons', type, J: rateOut, output, states: own, seed, owner: ens.name });
        states['rateOut'] = rateOut;
      } else {
        this.ops.push({ kind: 'neurons', type, J, output, states, owner: ens.name });
      }
      if (ens.noise) this.buildNoise(ens, ens.noise, J, rng);
    }
    let value = input;
    if (direct && ens.noise) {
      // Direct: Nengo's neurons' input (and output) is the ensemble's input plus the noise; the ensemble's
      // `input` probe reads the input without it
      value = this.sig.add(`${ens.name}.value`, d);
      this.ops.push({ kind: 'copy', src: input, dst: value, srcIdx: undefined, dstIdx: undefined, inc: false, owner: ens.name });
      this.buildNoise(ens, ens.noise, value, rng);
    }
    this.model.ensembles.set(ens, {
      ensemble: ens,
      direct,
      evalPoints,
      nEvalPoints: m,
      encoders,
      scaledEncoders,
      encodersSig: encSig,
      gain,
      bias,
      maxRates,
      intercepts,
      input,
      value,
      J,
      output,
      states,
    });
  }

  /**
   * Ensemble noise (Nengo's build_ensemble: the process built with mode
   * 'inc' into the neurons' input): the process writes one value a neuron
   * into a signal of its own, added to J each step. Unseeded, its seed is
   * drawn from the ensemble's generator after everything else the ensemble
   * drew, so adding noise changes nothing else.
   */
  private buildNoise(ens: Ensemble, noise: Process, J: Sig, rng: Rng): void {
    const n = J.size;
    const out = this.sig.add(`${ens.name}.noise`, n);
    const seed = noise.seed ?? rng.seed();
    const dt = this.dt;
    const make = (resetSeed?: number): ((t: number, x: Float64Array | null, o: Float64Array) => void) =>
      noise.makeStep(0, n, dt, new Rng(noise.seed !== undefined || resetSeed === undefined ? seed : reseeded(seed, resetSeed)));
    let step: ReturnType<typeof make>;
    try {
      step = make();
    } catch (err) {
      throw new BuildError(`${ens.name}: its noise ${String(noise)} could not be built: ${(err as Error).message}`, ens.label);
    }
    this.ops.push({ kind: 'func', step, x: undefined, output: out, readsTime: true, owner: ens.name, restart: make });
    this.ops.push({ kind: 'copy', src: out, dst: J, srcIdx: undefined, dstIdx: undefined, inc: true, owner: ens.name });
  }

  // ---- connections -----------------------------------------------------------

  /** The signal a pre object offers (before slicing): node output, neuron output, or a Direct ensemble's value. */
  private preSignal(obj: Node | Ensemble | Neurons, user: string): Sig {
    if (obj instanceof Node) {
      this.requireMember(obj, user);
      const s = this.model.nodes.get(obj)!.output;
      if (!s) throw new BuildError(`${user}: ${obj.name} has no output`, obj.label);
      return s;
    }
    const ens = obj instanceof Neurons ? obj.ensemble : obj;
    this.requireMember(ens, user);
    const be = this.model.ensembles.get(ens)!;
    if (obj instanceof Neurons) {
      if (!be.output) throw new BuildError(`${user}: ${ens.name} is in Direct mode and has no neurons to connect from`, ens.label);
      return be.output;
    }
    return be.value; // Direct mode: the represented value
  }

  /** The signal a post object takes input on. */
  private postSignal(obj: Node | Ensemble | Neurons | LearningRule, user: string, errorSigs: Map<LearningRule, Sig>): Sig {
    if (obj instanceof LearningRule) {
      const s = errorSigs.get(obj);
      if (!s) throw new BuildError(`${user}: ${obj.name} belongs to a connection that is not part of the network`);
      return s;
    }
    if (obj instanceof Node) {
      this.requireMember(obj, user);
      const s = this.model.nodes.get(obj)!.input;
      if (!s) throw new BuildError(`${user}: ${obj.name} takes no input (sizeIn 0); give it sizeIn to connect into it`, obj.label);
      return s;
    }
    const ens = obj instanceof Neurons ? obj.ensemble : obj;
    this.requireMember(ens, user);
    const be = this.model.ensembles.get(ens)!;
    if (obj instanceof Neurons) {
      if (!be.J) throw new BuildError(`${user}: ${ens.name} is in Direct mode and has no neurons to connect to`, ens.label);
      return be.J;
    }
    return be.input;
  }

  /** A signal holding sig[idx]: a view when contiguous, else a gathered copy. */
  private sliced(sig: Sig, idx: Int32Array | undefined, owner: string): Sig {
    if (!idx) return sig;
    if (isContiguous(idx)) return sig.view(idx[0]!, idx.length);
    const g = this.sig.add(`${owner}.gather`, idx.length);
    this.ops.push({ kind: 'copy', src: sig, dst: g, srcIdx: idx, dstIdx: undefined, inc: false, owner });
    return g;
  }

  /**
   * dst += the convolution of src: its windows gathered into a matrix (one copy; padding stays
   * zero), then each filter's outputs at every position are that matrix times the filter's kernel
   * row (a matrix-vector product per filter), written where the output's layout puts them.
   */
  private convolve(m: Im2col, kernel: Float64Array, src: Sig, dst: Sig, owner: string): void {
    const { positions: P, groups: G, rowLength: L } = m;
    const F = m.kernelRows.length / L;
    const windows = this.sig.add(`${owner}.windows`, G * P * L);
    this.ops.push({ kind: 'copy', src, dst: windows, srcIdx: m.src, dstIdx: m.dst, inc: false, owner });
    const rows = this.sig.add(
      `${owner}.kernelRows`,
      F * L,
      Float64Array.from(m.kernelRows, (k) => kernel[k]!),
      true,
    );
    // channels first: a filter's outputs are contiguous, in position order; channels last: a permutation after
    const direct = m.outIndex.every((v, i) => v === i);
    const out = direct ? dst : this.sig.add(`${owner}.byFilter`, F * P);
    if (!direct) this.ops.push({ kind: 'reset', dst: out, value: 0, owner });
    for (let f = 0; f < F; f++) {
      const g = Math.floor(f / (F / G));
      this.ops.push({
        kind: 'dotinc',
        W: windows.view(g * P * L, P * L),
        rows: P,
        cols: L,
        x: rows.view(f * L, L),
        y: out.view(f * P, P),
        owner,
      });
    }
    if (!direct) this.ops.push({ kind: 'copy', src: out, dst, srcIdx: undefined, dstIdx: m.outIndex, inc: true, owner });
  }

  /**
   * dst[row[k]] += values[k] * src[col[k]] for every term k, in order (repeats add up): gathered,
   * multiplied and scattered with three operators (a Sparse transform).
   */
  private sparseProduct(src: Sig, dst: Sig, row: Int32Array, col: Int32Array, values: Sig, owner: string): void {
    const n = row.length;
    const gathered = this.sig.add(`${owner}.gathered`, n);
    const products = this.sig.add(`${owner}.products`, n);
    this.ops.push({ kind: 'copy', src, dst: gathered, srcIdx: col, dstIdx: undefined, inc: false, owner });
    this.ops.push({ kind: 'reset', dst: products, value: 0, owner });
    this.ops.push({ kind: 'elementwise', s: values, x: gathered, y: products, owner });
    this.ops.push({ kind: 'copy', src: products, dst, srcIdx: undefined, dstIdx: row, inc: true, owner });
  }

  private buildConnection(conn: Connection, errorSigs: Map<LearningRule, Sig>): void {
    this.requireMember(conn, conn.name);
    const owner = conn.name;
    const { obj: preObj, idx: preIdx } = unview(conn.pre);
    const { obj: postObj, idx: postIdx } = unviewPost(conn.post);
    const preFull = this.preSignal(preObj, owner);
    const postFull = this.postSignal(postObj, owner, errorSigs);
    const sizeOut = conn.sizeOut;
    const T = this.transformOf(conn);
    // (Voja changes the post's encoders, not the weights, and reads the post's whole input)
    const learnsWeights = conn.learningRules.some((r) => r.ruleType.modifies !== 'encoders');

    let weights: Sig | undefined, weightsShape: [number, number] | undefined;
    let decoders: Float64Array | undefined, solverRmses: Float64Array | undefined;
    let input: Sig;
    let src: Sig;
    const decoded = preObj instanceof Ensemble && !this.model.ensembles.get(preObj)!.direct;
    let solver: Solver = conn.solver ?? new LstsqL2();

    if (!(preObj instanceof Ensemble) && conn.solver?.weights) {
      // as Nengo, which warns only then (a solver without weights may be a config's default)
      this.model.warnings.push(
        `${owner}: its solver has no effect: ${preObj.name} is not an ensemble, so nothing is decoded or solved for`,
      );
    }
    if (decoded && solver.weights) {
      if (postObj instanceof Ensemble && !this.model.ensembles.get(postObj)!.direct) {
        this.buildWeightSolverConnection(conn, solver);
        return;
      }
      // as Nengo: weights: true has no effect into anything but an ensemble with neurons (a node, neurons,
      // a Direct ensemble), say from a network's config; it warns, and the connection is decoded
      this.model.warnings.push(
        `${owner}: weights: true on its solver has no effect into ${postObj.name}, which is not an ensemble with neurons; it is decoded`,
      );
      solver = decodingSolver(solver);
    }

    // Where the transformed value goes: straight into post when there is no synapse and no slicing
    // (and post is not neurons, whose input is scaled by their gains on the way in), unless a probe
    // records the connection's output, which is then its own value, not the post's whole input.
    let weighted: Sig;
    let straight = conn.synapse === null && !learnsWeights && !(postObj instanceof Neurons) && !this.outputProbed.has(conn);
    let postDst: Sig = postFull;
    if (postIdx) {
      if (isContiguous(postIdx)) postDst = postFull.view(postIdx[0]!, postIdx.length);
      else straight = false;
    }
    if (straight) {
      weighted = postDst;
    } else {
      weighted = this.sig.add(`${owner}.weighted`, sizeOut);
      this.ops.push({ kind: 'reset', dst: weighted, value: 0, owner });
    }

    if (decoded) {
      const ens = preObj as Ensemble;
      const be = this.model.ensembles.get(ens)!;
      input = be.output!;
      const res = this.solveDecoders(conn, be, preIdx, solver, undefined, undefined);
      decoders = res.X;
      solverRmses = res.rmses;
      const n = ens.nNeurons,
        mid = conn.sizeMid;
      const W = applyTransform(T, decoders, n, mid, sizeOut);
      weights = this.sig.add(`${owner}.weights`, sizeOut * n, W, !learnsWeights);
      weightsShape = [sizeOut, n];
      this.ops.push({ kind: 'dotinc', W: weights, rows: sizeOut, cols: n, x: input, y: weighted, owner });
    } else {
      input = this.sliced(preFull, preIdx, owner);
      src = input;
      const f = conn.function;
      if (f !== undefined) {
        if (typeof f !== 'function') {
          throw new BuildError(`${owner}: explicit function targets need a decoded connection from an ensemble with neurons`, conn.label);
        }
        const fout = this.sig.add(`${owner}.function`, conn.sizeMid);
        this.ops.push({ kind: 'func', step: connectionStep(f, conn), x: input, output: fout, readsTime: false, owner });
        src = fout;
      }
      // spikes (mostly zeros), for the products that go input by input
      const fromSpikes = preObj instanceof Neurons && preObj.ensemble.neuronType.spiking && f === undefined;
      if (learnsWeights) {
        // Learning needs an explicit matrix to change.
        const n = src.size;
        const W = applyTransform(T, identity(n), n, n, sizeOut);
        weights = this.sig.add(`${owner}.weights`, sizeOut * n, W, false);
        weightsShape = [sizeOut, n];
        this.ops.push({ kind: 'dotinc', W: weights, rows: sizeOut, cols: n, x: src, y: weighted, owner });
      } else if (T.kind === 'dense') {
        weights = this.sig.add(`${owner}.weights`, T.rows * T.cols, T.values, true);
        weightsShape = [T.rows, T.cols];
        this.ops.push({ kind: 'dotinc', W: weights, rows: T.rows, cols: T.cols, x: src, y: weighted, owner });
      } else if (T.kind === 'elementwise') {
        const s = this.sig.add(`${owner}.transform`, T.values.length, T.values, true);
        this.ops.push({ kind: 'elementwise', s, x: src, y: weighted, owner });
      } else if (T.kind === 'sparse') {
        // values from a Distribution are drawn from the connection's seed, as Nengo's Sparse.sample
        const nnz = T.row.length;
        const data =
          T.data instanceof Float64Array
            ? T.data
            : samplesOrDist(T.data, nnz, undefined, new Rng(this.seedOf(conn)), `${owner} sparse init`);
        weights = this.sig.add(`${owner}.weights`, nnz, data, true);
        weightsShape = [1, nnz];
        // from spiking neurons, input by input (a step costs the spikes' entries); else gathered, multiplied, scattered
        if (fromSpikes) {
          // the values again in the order the spread reads them (grouped by input): in the order
          // given, an input's values lie far apart, a cache miss each (400,000 entries: 3.5x slower)
          const { order, ...sp } = entrySpread(src.size, T.row, T.col);
          const byInput = this.sig.add(
            `${owner}.byInput`,
            nnz,
            Float64Array.from(order, (k) => data[k]!),
            true,
          );
          this.ops.push({ kind: 'spread', K: byInput, x: src, y: weighted, spread: sp, owner });
        } else this.sparseProduct(src, weighted, T.row, T.col, weights, owner);
      } else if (T.kind === 'conv') {
        // the kernel (the weights signal, as Nengo's) drawn from the connection's seed as Nengo's Convolution.sample
        const kernel = T.conv.sample(new Rng(this.seedOf(conn)), owner);
        weights = this.sig.add(`${owner}.weights`, kernel.length, kernel, true);
        weightsShape = conn.weightsShape!;
        // from spiking neurons, input by input: a step costs the spikes' terms only
        if (fromSpikes) this.ops.push({ kind: 'spread', K: weights, x: src, y: weighted, spread: T.conv.spread(), owner });
        else this.convolve(T.conv.im2col(), kernel, src, weighted, owner);
      } else if (T.value === 1) {
        this.ops.push({ kind: 'copy', src, dst: weighted, srcIdx: undefined, dstIdx: undefined, inc: true, owner });
      } else if (T.value !== 0) {
        const s = this.sig.add(`${owner}.transform`, 1, Float64Array.of(T.value), true);
        this.ops.push({ kind: 'elementwise', s, x: src, y: weighted, owner });
      }
    }
    if (straight) {
      this.model.connections.set(conn, { connection: conn, decoders, weights, weightsShape, solverRmses, input, output: weighted });
      return;
    }
    this.finishConnection(conn, weighted, postFull, postIdx, input, weights, weightsShape, decoders, solverRmses);
  }

  /** Ensemble to ensemble with a weight solver: full n_post x n_pre weights into the post neurons' current. */
  private buildWeightSolverConnection(conn: Connection, solver: Solver): void {
    const owner = conn.name;
    const pre = unview(conn.pre).obj as Ensemble;
    const { obj: postEns, idx: postDims } = unviewPost(conn.post);
    if (!(postEns instanceof Ensemble) || this.model.ensembles.get(postEns)!.direct) {
      throw new BuildError(`${owner}: a weight solver (weights: true) needs an ensemble with neurons as post`, conn.label);
    }
    const be = this.model.ensembles.get(pre)!;
    const pbe = this.model.ensembles.get(postEns)!;
    const { idx: preIdx } = unview(conn.pre);
    const res = this.solveDecoders(conn, be, preIdx, solver, pbe, postDims);
    const nPre = pre.nNeurons,
      nPost = postEns.nNeurons;
    const learning = conn.learningRules.length > 0;
    const weights = this.sig.add(`${owner}.weights`, nPost * nPre, transposeOf(res.X, nPre, nPost), !learning);
    const shape: [number, number] = [nPost, nPre];
    const J = pbe.J!;
    if (conn.synapse === null && !learning && !this.outputProbed.has(conn)) {
      this.ops.push({ kind: 'dotinc', W: weights, rows: nPost, cols: nPre, x: be.output!, y: J, owner });
      this.model.connections.set(conn, {
        connection: conn,
        decoders: undefined,
        weights,
        weightsShape: shape,
        solverRmses: res.rmses,
        input: be.output!,
        output: J,
      });
      return;
    }
    const weighted = this.sig.add(`${owner}.weighted`, nPost);
    this.ops.push({ kind: 'reset', dst: weighted, value: 0, owner });
    this.ops.push({ kind: 'dotinc', W: weights, rows: nPost, cols: nPre, x: be.output!, y: weighted, owner });
    this.finishConnection(conn, weighted, J, undefined, be.output!, weights, shape, undefined, res.rmses);
  }

  /** Synapse on the weighted signal, then added into post (at postIdx). */
  private finishConnection(
    conn: Connection,
    weighted: Sig,
    post: Sig,
    postIdx: Int32Array | undefined,
    input: Sig,
    weights: Sig | undefined,
    weightsShape: [number, number] | undefined,
    decoders: Float64Array | undefined,
    solverRmses: Float64Array | undefined,
  ): void {
    const owner = conn.name;
    const out = conn.synapse ? this.filter(conn.synapse, weighted, owner) : weighted;
    const { obj: postObj } = unviewPost(conn.post);
    if (postObj instanceof Neurons) {
      // Into neurons, as Nengo: J[post] += gain[post] * out (an ElementwiseInc with the post neurons'
      // gains; into an ensemble the gains are in the encoders instead).
      const gain = this.model.ensembles.get(postObj.ensemble)!.gain;
      const g = postIdx ? Float64Array.from(postIdx, (i) => gain[i]!) : gain.slice();
      const gains = this.sig.add(`${owner}.gains`, g.length, g, true);
      if (!postIdx || isContiguous(postIdx)) {
        const dst = postIdx ? post.view(postIdx[0]!, postIdx.length) : post;
        this.ops.push({ kind: 'elementwise', s: gains, x: out, y: dst, owner });
      } else {
        const scaled = this.sig.add(`${owner}.gained`, g.length);
        this.ops.push({ kind: 'reset', dst: scaled, value: 0, owner });
        this.ops.push({ kind: 'elementwise', s: gains, x: out, y: scaled, owner });
        this.ops.push({ kind: 'copy', src: scaled, dst: post, srcIdx: undefined, dstIdx: postIdx, inc: true, owner });
      }
    } else if (postIdx && isContiguous(postIdx)) {
      this.ops.push({
        kind: 'copy',
        src: out,
        dst: post.view(postIdx[0]!, postIdx.length),
        srcIdx: undefined,
        dstIdx: undefined,
        inc: true,
        owner,
      });
    } else {
      this.ops.push({ kind: 'copy', src: out, dst: post, srcIdx: undefined, dstIdx: postIdx, inc: true, owner });
    }
    this.model.connections.set(conn, { connection: conn, decoders, weights, weightsShape, solverRmses, input, output: out });
  }

  /** Adds a synapse (as an update operator) filtering `input`; returns its output signal. */
  private filter(syn: Synapse, input: Sig, owner: string, sets = false): Sig {
    const f = syn.discretize(this.dt);
    const output = this.sig.add(`${owner}.filtered`, input.size);
    const state = f.order > 1 || (f.order === 1 && f.D !== 0) ? this.sig.add(`${owner}.filterState`, input.size * f.order) : undefined;
    this.ops.push({ kind: 'filter', filter: f, input, output, state, owner, ...(sets ? { sets: true as const } : {}) });
    return output;
  }

  /** Solves for decoders (or weights) of a decoded connection, with a per-build cache. */
  private solveDecoders(
    conn: Connection | Probe,
    be: BuiltEnsemble,
    preIdx: Int32Array | undefined,
    solver: Solver,
    post: BuiltEnsemble | undefined,
    postDims: Int32Array | undefined,
  ): { X: Float64Array; rmses: Float64Array } {
    const key = this.decodeKey(conn, be, preIdx, solver, post, postDims);
    const cached = this.buildCache.get(key);
    if (cached) return cached;
    const spec = this.specs.get(key) ?? this.decodeSpec(conn, be, preIdx, solver, post, postDims);
    const hit = this.fromCache(key, spec);
    if (hit) return hit;
    const ens = be.ensemble;
    const n = ens.nNeurons,
      d = ens.dimensions,
      m = spec.m;
    // A solve large enough for the linear algebra team (linalg-team.ts): its helper threads start
    // now, while this thread computes the activities, rather than when the Gram product begins.
    warmTeam(gramWork(m, n));
    // Activities at the eval points: rates(gain * (x . e) / radius + bias), in one pass where the
    // neuron type has one (which also gives max(A), for the solver's regularisation)
    const nt = ens.neuronType;
    const lif = stockLifRates(nt);
    // in shared memory where the team's helpers may compute some of its rows (teamActivities)
    const shared = lif && m * n >= SHARED_ACTIVITIES;
    if (this.scratch.length < m * n || (shared && !(this.scratch.buffer instanceof SharedArrayBuffer))) {
      this.scratch = shared ? new Float64Array(new SharedArrayBuffer(8 * m * n)) : new Float64Array(m * n);
    }
    let A = this.scratch.subarray(0, m * n);
    let aMax: number | undefined;
    if (shared) {
      const viaTeam = teamActivities(
        {
          enc: be.scaledEncoders,
          bias: be.bias,
          x: spec.evalPoints,
          m,
          n,
          d,
          tauRc: nt.tauRc,
          tauRef: nt.tauRef,
          amplitude: nt.amplitude,
        },
        A,
      );
      // a lost helper may still write into A: this build's activities go elsewhere from now on
      if (viaTeam === 'lost') A = this.scratch = new Float64Array(m * n);
      else aMax = viaTeam;
    }
    aMax ??= nt.ratesAt(be.scaledEncoders, be.bias, spec.evalPoints, m, n, d, A);
    if (aMax === undefined && nt.ratesCountSpikes) {
      nt.rates(nengoCurrents(A, be.encoders, be.gain, ens.radius, be.bias, spec.evalPoints, m, n, d), A);
    } else if (aMax === undefined) nt.rates(activities(A, be.scaledEncoders, be.bias, spec.evalPoints, m, n, d), A);
    checkActivities(A, conn, ens);
    const known = aMax === undefined ? {} : { aMax };
    const group = conn instanceof Connection && solver instanceof LstsqL2 && !post ? this.takeSharing(conn, ens, solver) : [];
    if (group.length === 0)
      return this.solveWith(key, spec, () =>
        solver.solve({ A, Y: spec.Y, m, n, d: spec.dy, rng: spec.rng, ...known, ...(spec.E ? { E: spec.E, nPost: spec.nPost! } : {}) }),
      );
    // One activity matrix and one Cholesky factor for every connection of this ensemble with the
    // same eval points and solver: solve them all now (each exactly as its own solve would).
    const lstsq = solver as LstsqL2;
    let prepared;
    try {
      prepared = lstsq.prepare(A, m, n, aMax);
    } catch (err) {
      throw new BuildError(`${conn.name}: solving for decoders failed: ${(err as Error).message}`, conn.label);
    }
    const out = this.solveWith(key, spec, () => lstsq.solvePrepared(prepared, { A, Y: spec.Y, m, n, d: spec.dy, rng: spec.rng }));
    for (const other of group) {
      const idx = unview(other.pre).idx;
      const otherSolver = (other.solver ?? new LstsqL2()) as LstsqL2;
      const k2 = this.decodeKey(other, be, idx, otherSolver, undefined, undefined);
      if (this.buildCache.has(k2)) continue;
      const s2 = this.specs.get(k2) ?? this.decodeSpec(other, be, idx, otherSolver, undefined, undefined);
      if (this.fromCache(k2, s2)) continue;
      this.solveWith(k2, s2, () => otherSolver.solvePrepared(prepared, { A, Y: s2.Y, m, n, d: s2.dy, rng: s2.rng }));
    }
    return out;
  }

  /**
   * Solves the decoders of a large build's connections on several cores
   * (solve-pool.ts) before the connections are built, which then find them
   * solved. Only solves that the pool computes exactly as solveDecoders
   * would: decoded connections from LIF or LIFRate ensembles with an
   * LstsqL2 or LstsqL2nz decoder solver, grouped by ensemble and solver as
   * solveDecoders shares activities. Builds under MIN_POOL_WORK (most
   * models: a helper thread would cost more than it saves), or with no
   * helper thread (NEFSIM_BUILD_THREADS=0, one core, a worker thread), do
   * not change at all. The connections' functions (their targets) are
   * called here, before any connection is built, once each; anything that
   * fails here (a function
   * that throws, a solve that fails) is left to the connection's own build,
   * which reports it as before, in order.
   */
  private presolve(conns: Connection[]): void {
    const { threads, asked } = poolThreads();
    if (threads === 0) return;
    interface Group {
      be: BuiltEnsemble;
      solver: LstsqL2;
      members: { conn: Connection; idx: Int32Array | undefined; key: string }[];
    }
    const groups = new Map<string, Group>();
    const keys = new Set<string>();
    let work = 0;
    for (const conn of conns) {
      const { obj: pre, idx } = unview(conn.pre);
      if (!(pre instanceof Ensemble) || !this.members.has(pre)) continue;
      const be = this.model.ensembles.get(pre);
      const solver = conn.solver ?? new LstsqL2();
      const nt = pre.neuronType;
      if (!be || be.direct || solver.weights || pre.nNeurons === 0 || conn.sizeMid === 0) continue;
      if (!poolSolver(solver)) continue;
      if (!stockLifRates(nt)) continue;
      let key: string;
      try {
        key = this.decodeKey(conn, be, idx, solver, undefined, undefined);
      } catch {
        continue;
      }
      if (keys.has(key)) continue;
      keys.add(key);
      const gKey = `${pre.id}|${solver.key()}|${conn.evalPoints !== undefined ? `ep${conn.id}` : ''}`;
      let g = groups.get(gKey);
      if (!g) {
        groups.set(gKey, (g = { be, solver, members: [] }));
        // estimated with the ensemble's eval points (a connection's own are usually as many)
        work += be.nEvalPoints * pre.nNeurons * (pre.nNeurons + 30);
      }
      g.members.push({ conn, idx, key });
    }
    // A solve too large for the pool to balance (more than a thread's share of all of them) but large
    // enough for the linear algebra team is left to the connection's build, where the team shares it
    // out; in the pool, one thread would do all of it. (Estimated with the ensemble's eval points. Eight
    // ensembles of 800 neurons: 0.56 s in the pool, 0.64-0.74 s one after another on the team; one of
    // 2,000 neurons: 2.15-2.21 s in the pool, 1.19-1.31 s on the team.)
    // Judged against the pool's whole work, so that the order of the connections does not matter.
    const share = work / (threads + 1);
    for (const [gKey, g] of groups) {
      const { nEvalPoints: m, ensemble } = g.be;
      const units = m * ensemble.nNeurons * (ensemble.nNeurons + 30);
      if (units > share && teamServes(gramWork(m, ensemble.nNeurons))) {
        groups.delete(gKey);
        work -= units;
      }
    }
    if (work < (asked ? MIN_ASKED_POOL_WORK : MIN_POOL_WORK)) return;
    // Targets (the connections' functions) and the decoder cache: what is left to solve, in batches.
    const pool = new SolvePool(threads);
    let jobs: PoolJob[] = [],
      solved: { key: string; spec: DecodeSpec }[][] = [],
      bytes = 0;
    let pending: { results: PoolResult[]; solved: { key: string; spec: DecodeSpec }[][] } | undefined;
    const record = (): void => {
      if (!pending) return;
      const { results, solved: done } = pending;
      pending = undefined;
      results.forEach((sols, k) => {
        if (!sols) return; // solved again by the connection's build, which names the failure
        done[k]!.forEach(({ key, spec }, t) => {
          this.solveWith(key, spec, () => sols[t]!);
          this.specs.delete(key); // solved: its targets are not needed again
        });
        this.model.pooled.solves += sols.length;
      });
    };
    // A batch goes to the helpers first. This thread then finishes the batch before it (the jobs left of
    // it, and recording its solutions: the decoder cache's file writes), and prepares the next batch
    // (the connections' targets) while the helpers work on this one: it takes part in this one only once
    // the next has been handed out (settle), so that the helpers are not idle while it prepares.
    // (Finishing each batch before preparing the next left them idle for that time. CircularConvolution
    // D = 64, five builds each, 2026-11-23: the helper did 121-139 of 264 jobs instead of 103-124, and the
    // build took 406-436 ms instead of 429-476; bench/run.sh's three rounds saw no difference.)
    let inFlight: { batch: ReturnType<typeof pool.begin>; solved: { key: string; spec: DecodeSpec }[][] } | undefined;
    const settle = (): void => {
      if (!inFlight) return;
      const { batch, solved: done } = inFlight;
      inFlight = undefined;
      pending = { results: pool.finish(batch), solved: done };
      record();
    };
    const flush = (): void => {
      if (jobs.length === 0) return;
      const batch = pool.begin(jobs);
      const mine = solved;
      jobs = [];
      solved = [];
      bytes = 0;
      settle();
      inFlight = { batch, solved: mine };
    };
    try {
      for (const g of groups.values()) {
        const todo: { key: string; spec: DecodeSpec }[] = [];
        for (const { conn, idx, key } of g.members) {
          try {
            const spec = this.decodeSpec(conn, g.be, idx, g.solver, undefined, undefined);
            if (this.fromCache(key, spec)) continue;
            this.specs.set(key, spec);
            todo.push({ key, spec });
          } catch {
            // its own build reports it
          }
        }
        if (todo.length === 0) continue;
        const ens = g.be.ensemble,
          nt = ens.neuronType as LIFRate;
        const first = todo[0]!.spec;
        const job: PoolJob = {
          tauRc: nt.tauRc,
          tauRef: nt.tauRef,
          amplitude: nt.amplitude,
          enc: g.be.scaledEncoders,
          bias: g.be.bias,
          evalPoints: first.evalPoints,
          m: first.m,
          n: ens.nNeurons,
          d: ens.dimensions,
          solver: g.solver instanceof LstsqL2nz ? 'LstsqL2nz' : 'LstsqL2',
          reg: g.solver.reg,
          targets: todo.map((t) => ({ Y: t.spec.Y, dy: t.spec.dy })),
        };
        jobs.push(job);
        solved.push(todo);
        bytes += jobBytes(job);
        if (bytes >= BATCH_BYTES) flush();
      }
      flush();
      settle();
    } finally {
      pool.close();
    }
    this.model.pooled.helperJobs = pool.helperJobs;
    if (this.model.pooled.solves > 0) this.model.pooled.threads = pool.helperJobs > 0 ? 1 + threads : 1;
  }

  /** Identifies a solve within this build: ensemble, solver, function, eval points, slice and post. */
  private decodeKey(
    conn: Connection | Probe,
    be: BuiltEnsemble,
    preIdx: Int32Array | undefined,
    solver: Solver,
    post: BuiltEnsemble | undefined,
    postDims: Int32Array | undefined,
  ): string {
    const isConn = conn instanceof Connection;
    const fn = isConn ? conn.function : undefined;
    return [
      be.ensemble.id,
      solver.key(),
      fn === undefined ? 'id' : this.fnId(fn),
      isConn && conn.evalPoints !== undefined ? `ep${conn.id}` : 'ens',
      preIdx ? Array.from(preIdx).join(',') : '',
      post
        ? `${post.ensemble.id}:${postDims ? Array.from(postDims).join(',') : ''}:${isConn ? this.fnId(this.transformOf(conn)) : ''}`
        : '',
      // a solver that draws from the connection's generator (LstsqNoise) solves each connection anew
      solver.random ? `seed ${this.seedOf(conn)}` : '',
    ].join('|');
  }

  /** What a solve needs besides the activities: eval points, targets (and post encoders for weights), and its content hash. */
  private decodeSpec(
    conn: Connection | Probe,
    be: BuiltEnsemble,
    preIdx: Int32Array | undefined,
    solver: Solver,
    post: BuiltEnsemble | undefined,
    postDims: Int32Array | undefined,
  ): DecodeSpec {
    const ens = be.ensemble;
    const n = ens.nNeurons,
      d = ens.dimensions;
    const isConn = conn instanceof Connection;
    const owner = conn.name;
    // Eval points: the connection's own, or the ensemble's.
    let evalPoints = be.evalPoints,
      m = be.nEvalPoints;
    const rng = new Rng(this.seedOf(conn));
    if (isConn && conn.evalPoints !== undefined) {
      const ep = conn.evalPoints;
      const rows = isArrayLike(ep) || Array.isArray(ep) ? matrixRows(ep as ArrayLike<number>[], d, `${owner} evalPoints`) : be.nEvalPoints;
      evalPoints = samplesOrDist(ep as ArrayLike<number>[], rows, d, rng, `${owner} evalPoints`);
      m = rows;
      if (conn.scaleEvalPoints) for (let i = 0; i < evalPoints.length; i++) evalPoints[i] = evalPoints[i]! * ens.radius;
    }
    // Targets: function of the (sliced) eval points.
    // (a decoded probe of a slice decodes the slice's dimensions: preIdx.length of them)
    const mid = isConn ? conn.sizeMid : preIdx ? preIdx.length : d;
    let Y = targets(conn, evalPoints, m, d, preIdx, mid);
    // Weight solvers solve for post currents: targets times transform^T, then times E (done by the solver).
    let E: Float64Array | undefined, nPost: number | undefined;
    let dy = mid;
    if (post && isConn) {
      const T = this.transformOf(conn);
      const dPost = conn.post.sizeIn;
      Y = multiplyTransformT(T, Y, m, mid, dPost);
      dy = dPost;
      const pe = post.ensemble;
      nPost = pe.nNeurons;
      E = new Float64Array(dPost * nPost);
      for (let r = 0; r < dPost; r++) {
        const dim = postDims ? postDims[r]! : r;
        for (let i = 0; i < nPost; i++) E[r * nPost + i] = post.scaledEncoders[i * pe.dimensions + dim]!;
      }
    }
    // The solution depends on nothing else: look it up by content.
    const contentHash = this.cache
      ? contentKey([
          DECODER_KEY_VERSION,
          ens.neuronType.toString(),
          solver.key(),
          m,
          n,
          d,
          dy,
          be.scaledEncoders,
          be.bias,
          evalPoints,
          Y,
          E ?? '',
          // a solver that draws from the connection's generator solves differently for each seed
          ...(solver.random ? [`seed ${this.seedOf(conn)}`] : []),
        ])
      : undefined;
    return { owner, label: conn.label, evalPoints, m, Y, dy, E, nPost, rng, contentHash, size: n * (E ? nPost! : dy) };
  }

  /** A solution from the decoder cache (a copy), recorded for this build; undefined on a miss. */
  private fromCache(key: string, spec: DecodeSpec): { X: Float64Array; rmses: Float64Array } | undefined {
    const hit = spec.contentHash !== undefined ? this.cache!.get(spec.contentHash) : undefined;
    if (!hit || hit.X.length !== spec.size) return undefined; // a foreign or damaged entry: solve
    const copy = { X: hit.X.slice(), rmses: hit.rmses.slice() };
    this.buildCache.set(key, copy);
    return copy;
  }

  /** Runs a solve, naming the connection on failure, and records the solution for this build and in the decoder cache. */
  private solveWith(
    key: string,
    spec: DecodeSpec,
    run: () => { X: Float64Array; rmses: Float64Array },
  ): { X: Float64Array; rmses: Float64Array } {
    let res;
    try {
      res = run();
    } catch (err) {
      if (err instanceof BuildError && err.message.startsWith(`${spec.owner}:`)) throw err;
      throw new BuildError(`${spec.owner}: solving for decoders failed: ${(err as Error).message}`, spec.label);
    }
    const out = { X: res.X, rmses: res.rmses };
    this.buildCache.set(key, out);
    if (spec.contentHash !== undefined) this.cache!.set(spec.contentHash, { X: out.X.slice(), rmses: out.rmses.slice() });
    return out;
  }

  /**
   * The other connections that can share this connection's activities and
   * Cholesky factor (same pre ensemble, its eval points, a decoder solver of
   * the same kind and parameters), taken off the list so each is solved once.
   */
  private takeSharing(conn: Connection, ens: Ensemble, solver: LstsqL2): Connection[] {
    if (!this.sharing) {
      this.sharing = new Map();
      for (const c of this.network.allConnections) {
        const pre = unview(c.pre).obj;
        if (!(pre instanceof Ensemble) || c.evalPoints !== undefined) continue;
        const sv = c.solver ?? null;
        if (sv !== null && (!(sv instanceof LstsqL2) || sv.weights)) continue;
        const list = this.sharing.get(pre);
        if (list) list.push(c);
        else this.sharing.set(pre, [c]);
      }
    }
    const list = this.sharing.get(ens);
    if (!list || !list.includes(conn) || conn.evalPoints !== undefined) return [];
    this.sharing.delete(ens);
    const key = solver.key();
    return list.filter((c) => c !== conn && (c.solver ?? new LstsqL2()).key() === key && this.model.ensembles.get(ens)?.direct === false);
  }

  /**
   * A connection's transform with a Distribution's values drawn (from the
   * connection's seed, as Nengo's Dense.sample), once per build.
   */
  private transformOf(conn: Connection): Transform {
    const T = conn.transform;
    if (T.kind !== 'dense' || !T.dist) return T;
    let got = this.sampledTransforms.get(conn);
    if (!got) {
      // a stream of its own, apart from the connection's eval points and solver noise (Nengo draws all three
      // in turn from one generator, so they are independent there too)
      const rng = new Rng(reseeded(this.seedOf(conn), TRANSFORM_STREAM));
      const values = samplesOrDist(T.dist, T.rows, T.cols, rng, `${conn.name} transform`);
      got = { kind: 'dense', values, rows: T.rows, cols: T.cols };
      this.sampledTransforms.set(conn, got);
    }
    return got;
  }

  private fnId(f: object): number {
    let id = this.fnIds.get(f);
    if (id === undefined) {
      id = ++this.nextFnId;
      this.fnIds.set(f, id);
    }
    return id;
  }

  // ---- learning ----------------------------------------------------------------

  private buildLearning(conn: Connection, rule: LearningRule, error: Sig): void {
    const owner = rule.name;
    const bc = this.model.connections.get(conn)!;
    if (rule.ruleType.kind === 'Voja') {
      this.buildVoja(conn, rule, rule.ruleType as Voja, error);
      return;
    }
    if (!bc.weights || !bc.weightsShape) throw new BuildError(`${owner}: the connection has no weights to learn`, conn.label);
    if (rule.ruleType.kind === 'BCM' || rule.ruleType.kind === 'Oja') {
      this.buildHebb(conn, rule, rule.ruleType as BCM | Oja, bc.weights, bc.weightsShape, bc.input);
      return;
    }
    if (rule.ruleType.kind === 'RLS') {
      this.buildRLS(conn, rule, rule.ruleType as RLS, bc.weights, bc.weightsShape, error);
      return;
    }
    const pes = rule.ruleType as PES;
    const { obj: postObj, idx: postIdx } = unviewPost(conn.post);
    const preObj = unview(conn.pre).obj;
    const weightSolver = preObj instanceof Ensemble && postObj instanceof Ensemble && (conn.solver?.weights ?? false);
    this.ops.push({ kind: 'reset', dst: error, value: 0, owner });
    // Nengo computes a step's delta from that step's error and activities as an update, and adds it
    // to the weights at the start of the next step, before the connection reads them. The pes op here
    // adds into the weights before their readers, from the error one step late (a delay: y = x as an
    // update) and the activities of the step before: a filter's output as the step reads it, or without
    // a pre synapse the neurons' output delayed the same way (read directly, it is this step's).
    // With the delta probed, Nengo's structure itself (see PESOp.delta): this step's values.
    const intoNeurons = postObj instanceof Neurons || weightSolver;
    const postEnsOf = (): Ensemble => (postObj instanceof Neurons ? postObj.ensemble : (postObj as Ensemble));
    // Into the neurons of an ensemble whose encoders a Voja rule changes, the error goes through the
    // encoders of this step, so the rule is built as Nengo's too.
    const followsEncoders = intoNeurons && this.learnedEncoders.has(postEnsOf());
    const exact = this.deltaProbed.has(rule) || followsEncoders;
    const late = (s: Sig, name: string): Sig => (exact ? s : this.filter(new LinearFilter([1], [1]), s, name));
    let errorBefore = late(error, `${owner}.error`);
    if (intoNeurons) {
      // weights into neurons (Nengo's conn._to_neurons): the error, in the post ensemble's state space,
      // becomes one local error a post neuron through the post's scaled encoders (gain / radius),
      // those of the post neurons connected to, or the columns of the dimensions connected to
      const postEns = postEnsOf();
      const pbe = this.model.ensembles.get(postEns)!;
      if (pbe.direct) throw new BuildError(`${owner}: PES into ${postEns.name}'s neurons, but it is a Direct ensemble`, conn.label);
      const d = postEns.dimensions;
      const rowsIdx = postObj instanceof Neurons && postIdx ? postIdx : Int32Array.from({ length: postEns.nNeurons }, (_, i) => i);
      const colsIdx = !(postObj instanceof Neurons) && postIdx ? postIdx : Int32Array.from({ length: d }, (_, j) => j);
      const whole = rowsIdx.length === postEns.nNeurons && colsIdx.length === d;
      let enc: Sig;
      if (followsEncoders && whole) {
        enc = pbe.encodersSig; // Voja's live scaled encoders, neurons x dimensions
      } else {
        const flat = new Int32Array(rowsIdx.length * colsIdx.length);
        rowsIdx.forEach((i, r) => colsIdx.forEach((j, c) => (flat[r * colsIdx.length + c] = i * d + j)));
        const E = new Float64Array(flat.length);
        for (let k = 0; k < flat.length; k++) E[k] = pbe.scaledEncoders[flat[k]!]!;
        enc = this.sig.add(`${owner}.encoders`, E.length, E, !followsEncoders);
        // the rows and columns connected to, gathered from the live encoders each step
        if (followsEncoders)
          this.ops.push({ kind: 'copy', src: pbe.encodersSig, dst: enc, srcIdx: flat, dstIdx: undefined, inc: false, owner });
      }
      const local = this.sig.add(`${owner}.localError`, rowsIdx.length);
      this.ops.push({ kind: 'reset', dst: local, value: 0, owner });
      this.ops.push({ kind: 'dotinc', W: enc, rows: rowsIdx.length, cols: colsIdx.length, x: errorBefore, y: local, owner });
      errorBefore = local;
    }
    const [rows0] = bc.weightsShape;
    if (rows0 !== errorBefore.size)
      throw new BuildError(`${owner}: the error has ${errorBefore.size} values, the learned weights ${rows0} rows`, conn.label);
    const acts = pes.preSynapse ? this.filter(pes.preSynapse, bc.input, owner, exact) : late(bc.input, `${owner}.activities`);
    // for probes, as Nengo's: the error this step, the activities as filtered (or the neurons' output)
    this.model.learningRules.set(rule, { error, activities: pes.preSynapse ? acts : bc.input });
    const [rows, cols] = bc.weightsShape;
    const { obj } = unview(conn.pre);
    // Nengo divides by the activities' number: the ensemble's neurons, or a neurons slice's
    const nNeurons = obj instanceof Ensemble ? obj.nNeurons : bc.input.size;
    // dW = -(learning_rate * dt / n_neurons) * outer(error, acts)
    const k = (-pes.learningRate * this.dt) / nNeurons;
    const delta = exact ? this.deltaOf(rule, bc.weights, owner) : undefined;
    this.ops.push({ kind: 'pes', W: bc.weights, rows, cols, error: errorBefore, acts, k, owner, ...(delta ? { delta } : {}) });
  }

  /**
   * Voja (Nengo's build_voja): the post ensemble's scaled encoders change by
   * a delta computed at the end of each step from what the step read (the
   * connection's output as the post receives it, the filtered post
   * activities, the encoders, the learning signal), added into the encoders
   * at the start of the next step, before they are read. The learning signal
   * is 1 plus what connections into the rule deliver.
   */
  private buildVoja(conn: Connection, lr: LearningRule, rule: Voja, learn: Sig): void {
    const owner = lr.name;
    const ens = unviewPost(conn.post).obj as Ensemble;
    const be = this.model.ensembles.get(ens)!;
    if (be.direct || !be.output)
      throw new BuildError(`${owner}: Voja needs ${ens.name} to have neurons, but it is a Direct ensemble`, conn.label);
    if (conn.solver?.weights)
      throw new BuildError(`${owner}: Voja changes encoders, which a weight solver's connection does not use`, conn.label);
    const n = ens.nNeurons,
      d = ens.dimensions;
    // Nengo's x is its sig[conn]['out']: the post ensemble's whole input, from every connection into it
    const x = be.input;
    this.ops.push({ kind: 'reset', dst: learn, value: 1, owner });
    // Nengo builds a learning rule's synapses in mode 'set': the rule reads this step's filtered activities
    const postF = rule.postSynapse ? this.filter(rule.postSynapse, be.output, `${owner}.post`, true) : be.output;
    const scale = new Float64Array(n);
    for (let i = 0; i < n; i++) scale[i] = be.gain[i]! / ens.radius;
    const scaleSig = this.sig.add(`${owner}.scale`, n, scale, true);
    const delta = this.sig.add(`${owner}.delta`, n * d);
    const E = be.encodersSig;
    this.model.learningRules.set(lr, { postFiltered: postF, scaledEncoders: E, delta });
    this.ops.push({
      kind: 'voja',
      E,
      rows: n,
      cols: d,
      x,
      post: postF,
      learn,
      scale: scaleSig,
      delta,
      alpha: rule.learningRate * this.dt,
      owner,
    });
    this.ops.push({ kind: 'copy', src: delta, dst: E, srcIdx: undefined, dstIdx: undefined, inc: true, owner });
  }

  /**
   * RLS (Nengo's build_rls), built as Nengo's: the pre object's whole
   * neurons' output, filtered in mode 'set'; P = I * learning_rate * dt / n;
   * an updater of P and of the change, which a copy adds into the weights
   * at the start of the next step.
   */
  private buildRLS(conn: Connection, lr: LearningRule, rule: RLS, W: Sig, shape: [number, number], error: Sig): void {
    const owner = lr.name;
    const preObj = unview(conn.pre).obj;
    const preEns = preObj instanceof Neurons ? preObj.ensemble : (preObj as Ensemble);
    const preOut = this.model.ensembles.get(preEns)?.output;
    if (!preOut) throw new BuildError(`${owner}: RLS needs ${preEns.name} to have neurons, but it is a Direct ensemble`, conn.label);
    const [rows, cols] = shape;
    const n = preOut.size;
    if (cols !== n || rows !== error.size)
      throw new BuildError(
        `${owner}: RLS learns decoders from all of ${preEns.name}'s ${n} neurons with an error of ${error.size} values, ` +
          `but the weights are ${rows}x${cols}; connect from the ensemble (or all its neurons) into an ensemble or a node, not into neurons`,
        conn.label,
      );
    this.ops.push({ kind: 'reset', dst: error, value: 0, owner });
    const pre = rule.preSynapse ? this.filter(rule.preSynapse, preOut, `${owner}.pre`, true) : preOut;
    const P0 = new Float64Array(n * n);
    const p0 = (rule.learningRate * this.dt) / n;
    for (let i = 0; i < n; i++) P0[i * n + i] = p0;
    const P = this.sig.add(`${owner}.invGamma`, n * n, P0);
    this.model.learningRules.set(lr, { preFiltered: pre, error, invGamma: P });
    const delta = this.deltaOf(lr, W, owner);
    this.ops.push({ kind: 'rls', P, rows, cols, pre, error, delta, owner });
  }

  /**
   * BCM or Oja: a full weight matrix, post neurons x pre neurons (Nengo's rules that modify
   * 'weights'), from the whole pre ensemble's neurons to the whole post ensemble's: a connection
   * between their neurons, or a decoded one with a weight solver. The activities are those of the
   * step before, as PES's (see buildLearning).
   */
  private buildHebb(conn: Connection, lr: LearningRule, rule: BCM | Oja, W: Sig, shape: [number, number], preOut: Sig): void {
    const owner = lr.name;
    const pre = unview(conn.pre);
    const post = unviewPost(conn.post);
    const preEns = pre.obj instanceof Neurons ? pre.obj.ensemble : pre.obj instanceof Ensemble ? pre.obj : undefined;
    const postEns = post.obj instanceof Neurons ? post.obj.ensemble : post.obj instanceof Ensemble ? post.obj : undefined;
    const weightSolver = pre.obj instanceof Ensemble && post.obj instanceof Ensemble && (conn.solver?.weights ?? false);
    const neuronToNeuron = pre.obj instanceof Neurons && post.obj instanceof Neurons;
    if (!preEns || !postEns || !(weightSolver || neuronToNeuron) || pre.idx !== undefined || post.idx !== undefined) {
      throw new BuildError(
        `${owner}: ${rule.kind} changes a full weight matrix (post neurons x pre neurons); connect the neurons of ` +
          'one ensemble to the neurons of another (a.neurons to b.neurons, no slices), or two ensembles with a weight ' +
          'solver (solver: new LstsqL2({ weights: true }))',
        conn.label,
      );
    }
    const [rows, cols] = shape;
    if (rows !== postEns.nNeurons || cols !== preEns.nNeurons)
      throw new BuildError(
        `${owner}: the weights are ${rows}x${cols}, not post neurons x pre neurons (${postEns.nNeurons}x${preEns.nNeurons})`,
        conn.label,
      );
    const postOut = this.model.ensembles.get(postEns)?.output;
    if (!postOut) throw new BuildError(`${owner}: ${postEns.name} has no neurons to learn from`, conn.label);
    const exact = this.deltaProbed.has(lr); // as PES's
    const late = (s: Sig, name: string): Sig => (exact ? s : this.filter(new LinearFilter([1], [1]), s, name));
    const filtered = (syn: Synapse | null, s: Sig, name: string): Sig => (syn ? this.filter(syn, s, name, exact) : late(s, name));
    const preF = filtered(rule.preSynapse, preOut, `${owner}.pre`);
    const postF = filtered(rule.postSynapse, postOut, `${owner}.post`);
    const theta = rule.kind === 'BCM' ? filtered(rule.thetaSynapse, postOut, `${owner}.theta`) : postF;
    // for probes, as Nengo's: the filtered activities, or without a synapse the neurons' output itself
    this.model.learningRules.set(lr, {
      preFiltered: rule.preSynapse ? preF : preOut,
      postFiltered: rule.postSynapse ? postF : postOut,
      ...(rule.kind === 'BCM' ? { theta: rule.thetaSynapse ? theta : postOut } : {}),
    });
    this.ops.push({
      kind: 'hebb',
      rule: rule.kind === 'BCM' ? 0 : 1,
      W,
      rows,
      cols,
      pre: preF,
      post: postF,
      theta,
      alpha: rule.learningRate * this.dt,
      beta: rule.kind === 'Oja' ? rule.beta : 0,
      owner,
      ...(exact ? { delta: this.deltaOf(lr, W, owner) } : {}),
    });
  }

  /** A probed rule's delta (Nengo's): the change of `W` written each step, added into W by a copy at the next step's start. */
  private deltaOf(rule: LearningRule, W: Sig, owner: string): Sig {
    const delta = this.sig.add(`${owner}.delta`, W.size);
    this.ops.push({ kind: 'copy', src: delta, dst: W, srcIdx: undefined, dstIdx: undefined, inc: true, owner });
    const probed = this.model.learningRules.get(rule);
    this.model.learningRules.set(rule, { ...probed, delta });
    return delta;
  }

  // ---- probes ------------------------------------------------------------------

  private buildProbe(probe: Probe): void {
    const owner = probe.name;
    const target = probe.target;
    const period = probe.sampleEvery === undefined ? 1 : probe.sampleEvery / this.dt;
    let source: Sig;
    if (target instanceof Connection) {
      this.requireMember(target, owner);
      const bc = this.model.connections.get(target)!;
      if (probe.attr === 'weights') {
        // each sample the weights row-major, [post x pre] (decoders of a decoded connection), as sim.weights(conn)
        // (the probe's size is Connection.weightsShape's: a build that disagrees is a bug, said as such)
        if (!bc.weights || bc.weights.size !== probe.size)
          throw new BuildError(
            `${owner}: ${target.name}'s weights (${bc.weights?.size ?? 0} values) are not the ${probe.size} the probe expects`,
            probe.label,
          );
        source = bc.weights;
      } else if (probe.attr === 'input') {
        // the pre object's whole output, not the slice the connection takes (Nengo's sig[conn]['in'])
        const pre = unview(target.pre).obj;
        const be = pre instanceof Ensemble ? this.model.ensembles.get(pre)! : undefined;
        source = be && !be.direct ? be.output! : this.preSignal(pre, owner);
      } else source = bc.output;
    } else if (target instanceof LearningRule) {
      this.requireMember(target.connection, owner);
      const s = this.model.learningRules.get(target)?.[probe.attr];
      if (!s) throw new BuildError(`${owner}: ${target.name} has no '${probe.attr}' to probe`, probe.label);
      if (s.size !== probe.size)
        throw new BuildError(
          `${owner}: ${target.name}'s ${probe.attr} has ${s.size} values, not the ${probe.size} the probe expects`,
          probe.label,
        );
      source = s;
    } else {
      const { obj, idx } = unview(target);
      if (obj instanceof Node) {
        this.requireMember(obj, owner);
        const s = this.model.nodes.get(obj)!.output;
        if (!s) throw new BuildError(`${owner}: ${obj.name} has no output to probe`, probe.label);
        source = this.sliced(s, idx, owner);
      } else if (obj instanceof Ensemble) {
        this.requireMember(obj, owner);
        const be = this.model.ensembles.get(obj)!;
        if (probe.attr === 'scaledEncoders') {
          source = be.encodersSig;
        } else if (probe.attr === 'input' || be.direct) {
          source = this.sliced(probe.attr === 'input' ? be.input : be.value, idx, owner);
        } else {
          // decoded output: a decoded connection with an identity function into the probe
          const size = idx ? idx.length : obj.dimensions;
          const res = this.solveDecoders(probe, be, idx, probe.solver ?? new LstsqL2(), undefined, undefined);
          const W = transposeOf(res.X, obj.nNeurons, size);
          const w = this.sig.add(`${owner}.decoders`, size * obj.nNeurons, W, true);
          source = this.sig.add(`${owner}.decoded`, size);
          this.ops.push({ kind: 'reset', dst: source, value: 0, owner });
          this.ops.push({ kind: 'dotinc', W: w, rows: size, cols: obj.nNeurons, x: be.output!, y: source, owner });
        }
      } else {
        const ens = obj.ensemble;
        this.requireMember(ens, owner);
        const be = this.model.ensembles.get(ens)!;
        if (be.direct) throw new BuildError(`${owner}: ${ens.name} is in Direct mode and has no neurons to probe`, probe.label);
        const s = probe.attr === 'output' ? be.output! : probe.attr === 'input' ? be.J! : be.states[probe.attr];
        if (!s) throw new BuildError(`${owner}: ${ens.neuronType.kind} neurons have no '${probe.attr}'`, probe.label);
        source = this.sliced(s, idx, owner);
      }
    }
    let sig = source;
    if (probe.synapse) {
      const filtered = this.filter(probe.synapse, source, owner);
      sig = this.sig.add(`${owner}.in`, source.size);
      this.ops.push({ kind: 'copy', src: filtered, dst: sig, srcIdx: undefined, dstIdx: undefined, inc: false, owner });
    }
    this.model.probes.push({ probe, sig, size: sig.size, period });
  }
}

// ---- helpers -------------------------------------------------------------------

/**
 * Below this much work (eval points x neurons x (neurons + 30), summed over
 * the solves), presolve() does not start helper threads. A helper costs
 * about 50 ms of CPU to start and 20-40 MB of peak memory (its own heap and
 * engine, and a second solve's matrices at a time), so it is used where it
 * saves much more than that: CircularConvolution D = 64 (about 2.6e9; cold
 * build 1.17 -> 0.69 s here), K = 1000 integrators (3e9) and larger, not
 * D = 16 (7e8, where it saved 10%) or the 200-neuron models (2e7).
 */
const MIN_POOL_WORK = 2e9;
/** Activity matrices of LIF ensembles this large are kept in shared memory, for the linear algebra team. */
const SHARED_ACTIVITIES = 1 << 21;
/** With NEFSIM_BUILD_THREADS set, the user asked for helpers: then from this much (CircularConvolution D = 16 and up). */
const MIN_ASKED_POOL_WORK = 3e8;

/** Exactly LIF's rate curve (a LIF or LIFRate, not a subclass's curve nor one set on the instance): what the pool and the team compute. */
function stockLifRates(nt: NeuronType): nt is LIFRate {
  const cls: unknown = nt.constructor;
  return (cls === LIF || cls === LIFRate) && (nt as LIFRate).rates === LIFRate.prototype.rates;
}

/** An LstsqL2 or LstsqL2nz itself (not a subclass, which may solve otherwise): what the solve pool computes. */
function poolSolver(s: Solver): s is LstsqL2 {
  const cls: unknown = s.constructor;
  return s instanceof LstsqL2 && (cls === LstsqL2 || cls === LstsqL2nz);
}

interface DecodeSpec {
  owner: string;
  label: string | undefined;
  evalPoints: Float64Array;
  m: number;
  Y: Float64Array;
  dy: number;
  E: Float64Array | undefined;
  nPost: number | undefined;
  rng: Rng;
  contentHash: string | undefined;
  /** Values of the solution: n x dy decoders, or n x nPost weights. */
  size: number;
}

function unview(p: PreTarget): { obj: Node | Ensemble | Neurons; idx: Int32Array | undefined } {
  return p instanceof ObjView ? { obj: p.obj, idx: p.indices } : { obj: p, idx: undefined };
}
function unviewPost(p: PostTarget): { obj: Node | Ensemble | Neurons | LearningRule; idx: Int32Array | undefined } {
  return p instanceof ObjView ? { obj: p.obj, idx: p.indices } : { obj: p, idx: undefined };
}

function isContiguous(idx: Int32Array): boolean {
  for (let i = 1; i < idx.length; i++) if (idx[i] !== idx[i - 1]! + 1) return false;
  return true;
}

function matrixRows(v: ArrayLike<number> | ArrayLike<number>[], d: number, what: string): number {
  if (v.length > 0 && isArrayLike(v[0])) return v.length;
  if (v.length % d !== 0) throw new ValidationError(`${what}: ${v.length} values cannot be split into rows of ${d}`);
  return v.length / d;
}

function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

function transposeOf(X: Float64Array, rows: number, cols: number): Float64Array {
  const T = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) T[j * rows + i] = X[i * cols + j]!;
  return T;
}

/** W = T . D^T (sizeOut x n) from decoders D (n x mid). */
function applyTransform(T: Connection['transform'], D: Float64Array, n: number, mid: number, sizeOut: number): Float64Array {
  const W = new Float64Array(sizeOut * n);
  if (T.kind === 'scalar' || T.kind === 'elementwise') {
    for (let r = 0; r < sizeOut; r++) {
      const g = T.kind === 'scalar' ? T.value : T.values[r]!;
      for (let i = 0; i < n; i++) W[r * n + i] = g * D[i * mid + r]!;
    }
    return W;
  }
  // (a Connection refuses sparse transforms where decoders or learning would meet them, as Nengo)
  if (T.kind === 'sparse' || T.kind === 'conv') throw new Error(`internal: a ${T.kind} transform on a decoded or learned connection`);
  const values = T.values;
  for (let r = 0; r < sizeOut; r++) {
    for (let k = 0; k < mid; k++) {
      const t = values[r * mid + k]!;
      if (t === 0) continue;
      for (let i = 0; i < n; i++) W[r * n + i] += t * D[i * mid + k]!;
    }
  }
  return W;
}

/** Y T^T: targets (m x mid) mapped through the transform to (m x dOut). */
function multiplyTransformT(T: Connection['transform'], Y: Float64Array, m: number, mid: number, dOut: number): Float64Array {
  const out = new Float64Array(m * dOut);
  if (T.kind === 'sparse' || T.kind === 'conv') throw new Error(`internal: a ${T.kind} transform on a decoded connection`);
  const values = T.kind === 'dense' ? T.values : undefined;
  for (let p = 0; p < m; p++) {
    for (let r = 0; r < dOut; r++) {
      let s = 0;
      if (T.kind === 'scalar') s = T.value * Y[p * mid + r]!;
      else if (T.kind === 'elementwise') s = T.values[r]! * Y[p * mid + r]!;
      else for (let k = 0; k < mid; k++) s += values![r * mid + k]! * Y[p * mid + k]!;
      out[p * dOut + r] = s;
    }
  }
  return out;
}

/** Targets of a decoded connection: its function at each (sliced) eval point, checked for size and NaN. */
function targets(
  conn: Connection | Probe,
  evalPoints: Float64Array,
  m: number,
  d: number,
  idx: Int32Array | undefined,
  mid: number,
): Float64Array {
  const k = idx ? idx.length : d;
  const Y = new Float64Array(m * mid);
  const f = conn instanceof Connection ? conn.function : undefined;
  if (f !== undefined && typeof f !== 'function') {
    const rows = f as ArrayLike<number>[];
    if (rows.length !== m) {
      throw new BuildError(
        `${conn.name}: ${rows.length} function targets given for ${m} eval points; give one row per eval point`,
        conn.label,
      );
    }
    for (let p = 0; p < m; p++) {
      const r = rows[p]!;
      const vals = isArrayLike(r) ? r : [r as unknown as number];
      if (vals.length !== mid)
        throw new BuildError(`${conn.name}: function target row ${p} has ${vals.length} values, expected ${mid}`, conn.label);
      for (let j = 0; j < mid; j++) {
        const v = vals[j]!;
        if (!Number.isFinite(v)) throw new BuildError(`${conn.name}: function target row ${p} has a non-finite value`, conn.label);
        Y[p * mid + j] = v;
      }
    }
    return Y;
  }
  // one argument array for every eval point, refilled: a new Float64Array per point was about a
  // tenth of a cold CircularConvolution D = 64 build (264,000 of them, and their garbage); the
  // function's result is copied before the next point, so a function that returns x itself works
  const x = new Float64Array(k);
  for (let p = 0; p < m; p++) {
    for (let j = 0; j < k; j++) x[j] = evalPoints[p * d + (idx ? idx[j]! : j)]!;
    if (f === undefined) {
      Y.set(x, p * mid);
      continue;
    }
    let y: unknown;
    try {
      y = (f as (x: Float64Array) => unknown)(x);
    } catch (err) {
      throw new BuildError(`${conn.name}: its function threw at x = [${fmt(x)}]: ${(err as Error).message}`, conn.label, { cause: err });
    }
    writeChecked(y, Y, p * mid, mid, () => `${conn.name}: its function at x = [${fmt(x)}]`, BuildError, conn.label);
  }
  return Y;
}

function fmt(x: ArrayLike<number>): string {
  return Array.from(x, (v) => +v.toFixed(4)).join(', ');
}

type ErrorCtor = new (message: string, object?: string) => Error;

/** Writes a function's return value into out[off..off+size), checking its length and finiteness. */
function writeChecked(
  y: unknown,
  out: Float64Array,
  off: number,
  size: number,
  where: () => string,
  E: ErrorCtor,
  label: string | undefined,
): void {
  if (typeof y === 'number') {
    if (size !== 1) throw new E(`${where()} returned 1 value, but ${size} are expected`, label);
    if (!Number.isFinite(y)) throw new E(`${where()} returned ${y}; it must return finite numbers`, label);
    out[off] = y;
    return;
  }
  if (!isArrayLike(y))
    throw new E(`${where()} returned ${y === null ? 'null' : typeof y}; it must return a number or an array of ${size} numbers`, label);
  if (y.length !== size) throw new E(`${where()} returned ${y.length} values, but ${size} are expected`, label);
  for (let j = 0; j < size; j++) {
    const v = y[j];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new E(`${where()} returned ${String(v)} at index ${j}; it must return finite numbers`, label);
    out[off + j] = v;
  }
}

/**
 * What a node's or connection's function gets as x: a copy of the
 * simulator's values (as Nengo's np.copy), in an array of its own refilled
 * each step, so that a function that changes its x changes nothing else
 * (a connection function that scaled x in place scaled its pre node's output).
 */
function argumentCopy(): (x: Float64Array | null) => Float64Array {
  let copy = new Float64Array(0);
  return (x) => {
    if (x === null) return copy;
    if (copy.length !== x.length) copy = new Float64Array(x.length);
    copy.set(x);
    return copy;
  };
}

function nodeStep(fn: NodeFunction, node: Node): (t: number, x: Float64Array | null, out: Float64Array) => void {
  const size = node.sizeOut;
  const label = node.label ?? node.name;
  const where = (t: number) => () => `${node.name}: its function at t = ${t.toFixed(6)} s`;
  const arg = argumentCopy();
  if (size === 0) return (t, x) => void fn(t, arg(x));
  return (t, x, out) => {
    const y = fn(t, arg(x));
    if (size === 1 && typeof y === 'number' && Number.isFinite(y)) {
      out[0] = y;
      return;
    }
    writeChecked(y, out, 0, size, where(t), SimulationError, label);
  };
}

function connectionStep(
  fn: (x: Float64Array) => unknown,
  conn: Connection,
): (t: number, x: Float64Array | null, out: Float64Array) => void {
  const size = conn.sizeMid;
  const arg = argumentCopy();
  return (t, x, out) => {
    const y = fn(arg(x));
    if (size === 1 && typeof y === 'number' && Number.isFinite(y)) {
      out[0] = y;
      return;
    }
    writeChecked(y, out, 0, size, () => `${conn.name}: its function at t = ${t.toFixed(6)} s`, SimulationError, conn.label);
  };
}

/**
 * As Nengo's solve_for_decoders: activities all zero (no eval point in any
 * neuron's firing range) leave nothing to solve with; the solvers would
 * return zeros (Nnls) or fail on a singular matrix (LstsqL2).
 */
function checkActivities(A: Float64Array, conn: Connection | Probe, ens: Ensemble): void {
  for (let i = 0; i < A.length; i++) if (A[i] !== 0) return;
  throw new BuildError(
    `${conn.name}: the activities of ${ens.name} are all zero at its eval points: no eval point falls in any ` +
      "neuron's firing range (check the intercepts, the eval points and the radius)",
    conn.label,
  );
}

/** Mixed into a connection's seed for the stream a Distribution transform is drawn from. */
const TRANSFORM_STREAM = 0x7472616e; // 'tran'

/** What makes a gain positive, for the error that names a neuron whose gain is not. */
function gainHint(type: NeuronType): string {
  if (type instanceof Sigmoid) {
    // jMax = -ln(1 / (tauRef · maxRate) - 1) > 0 needs 1 / (2 tauRef) < maxRate < 1 / tauRef
    const lo = 1 / (2 * type.tauRef),
      hi = 1 / type.tauRef;
    return `a Sigmoid's max rates must lie between 1/(2 tauRef) = ${lo} Hz and 1/tauRef = ${hi} Hz (exclusive), and its intercepts below 1`;
  }
  return `give a max rate its ${type.kind} neurons can reach, and an intercept below 1`;
}
