/**
 * Simulator: builds a network and steps it, recording probes, with the
 * interface of nengo.Simulator (`run`, `runSteps`, `step`, `trange`, `data`).
 */
import { stepsIn } from './steps.js';
import { build, type BuiltConnection, type BuiltEnsemble, type Model } from './builder/build.js';
import type { DecoderCache } from './decoder-cache.js';
import { checkKnownOptions, ValidationError } from './errors.js';
import type { Network } from './network.js';
import { Connection, Ensemble, Neurons, ObjView, Probe } from './objects.js';
import { Plan } from './plan.js';

export interface SimulatorOptions {
  /** Time step in seconds (default 0.001). */
  dt?: number;
  /** Seed for the whole model; overrides the network's seed. */
  seed?: number;
  /** Merge operators of the same kind into one kernel (default true). */
  merge?: boolean;
  /** Called with (stepsDone, stepsTotal) about every `progressEvery` steps during run(). */
  progress?: (done: number, total: number) => void;
  progressEvery?: number;
  /** Precision of the simulation state: 'float64' (default) or 'float32' (less memory traffic on large models). */
  dtype?: 'float64' | 'float32';
  /** Decoder cache: the process-wide in-memory cache by default; null to always solve. */
  decoderCache?: DecoderCache | null;
}
const SIMULATOR_OPTIONS = ['dt', 'seed', 'merge', 'progress', 'progressEvery', 'dtype', 'decoderCache'] as const;

/** Probe samples: `rows` samples of `cols` values, row-major. */
export class ProbeData {
  constructor(
    readonly data: Float64Array,
    readonly rows: number,
    readonly cols: number,
  ) {}
  get shape(): [number, number] {
    return [this.rows, this.cols];
  }
  get(i: number, j = 0): number {
    return this.data[i * this.cols + j]!;
  }
  /** One column (dimension or neuron) as a new array. */
  column(j: number): Float64Array {
    const out = new Float64Array(this.rows);
    for (let i = 0; i < this.rows; i++) out[i] = this.data[i * this.cols + j]!;
    return out;
  }
  /** Rows as arrays (for small data and printing). */
  toArray(): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < this.rows; i++) out.push(Array.from(this.data.subarray(i * this.cols, (i + 1) * this.cols)));
    return out;
  }
}

/**
 * Spikes recorded by a spike probe, sparsely: for each sample (row), the
 * neurons (columns) that spiked and their output values (amplitude / dt per
 * spike; a multiple of it when a neuron fires k spikes in one step).
 * Row r's spikes are units/values[rowEnds[r - 1] .. rowEnds[r]) (from 0 for r = 0).
 */
export class SpikeData {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly units: Int32Array,
    readonly values: Float64Array,
    readonly rowEnds: Int32Array,
  ) {}
  /** The dense view: rows x cols, zero where no spike. */
  dense(): ProbeData {
    const out = new Float64Array(this.rows * this.cols);
    for (let r = 0, k = 0; r < this.rows; r++) {
      const base = r * this.cols;
      for (const end = this.rowEnds[r]!; k < end; k++) out[base + this.units[k]!] = this.values[k]!;
    }
    return new ProbeData(out, this.rows, this.cols);
  }
}

/**
 * Is the probe the unfiltered spike output of spiking neurons? Such probes
 * are recorded sparsely (most neurons are silent in any one step). Spikes
 * that can be negative (a spiking wrapper of Tanh) are recorded densely: the
 * sparse layouts count spikes, and would lose their sign.
 */
export function isSpikeProbe(probe: Probe): boolean {
  const obj = probe.target instanceof ObjView ? probe.target.obj : probe.target;
  if (!(obj instanceof Neurons) || probe.attr !== 'output' || probe.synapse !== null) return false;
  const type = obj.ensemble.neuronType;
  return type.spiking && !type.negative;
}

/** Sparse recording of a spike probe: a scan per sample keeps the non-zero outputs. */
class SpikeBuffer {
  units = new Int32Array(1024);
  values = new Float64Array(1024);
  /** Spikes recorded. */
  count = 0;
  rowEnds = new Int32Array(64);
  rows = 0;
  constructor(
    readonly offset: number,
    readonly size: number,
    readonly period: number,
  ) {}
  reserveRows(rows: number): void {
    if (rows <= this.rowEnds.length) return;
    const next = new Int32Array(Math.max(rows, this.rowEnds.length * 2));
    next.set(this.rowEnds.subarray(0, this.rows));
    this.rowEnds = next;
  }
  /** Room for one more sample of every neuron spiking. */
  reserveSpikes(): void {
    const need = this.count + this.size;
    if (need <= this.units.length) return;
    const cap = Math.max(need, this.units.length * 2);
    const u = new Int32Array(cap),
      v = new Float64Array(cap);
    u.set(this.units.subarray(0, this.count));
    v.set(this.values.subarray(0, this.count));
    this.units = u;
    this.values = v;
  }
  take(clear: boolean): SpikeData {
    const out = new SpikeData(
      this.rows,
      this.size,
      this.units.slice(0, this.count),
      this.values.slice(0, this.count),
      this.rowEnds.slice(0, this.rows),
    );
    if (clear) this.clear();
    return out;
  }
  clear(): void {
    this.rows = 0;
    this.count = 0;
    // a burst may have grown the arrays: give the memory back
    if (this.units.length > 1 << 20) {
      this.units = new Int32Array(1024);
      this.values = new Float64Array(1024);
    }
  }
}

class ProbeBuffer {
  data: Float64Array;
  rows = 0;
  constructor(
    readonly offset: number,
    readonly size: number,
    readonly period: number,
  ) {
    this.data = new Float64Array(size * 64);
  }
  reserve(rows: number): void {
    const need = rows * this.size;
    if (need <= this.data.length) return;
    const next = new Float64Array(Math.max(need, this.data.length * 2));
    next.set(this.data.subarray(0, this.rows * this.size));
    this.data = next;
  }
}

export class Simulator {
  readonly dt: number;
  readonly model: Model;
  readonly plan: Plan;
  private readonly buffers: Map<Probe, ProbeBuffer> = new Map();
  private readonly bufferList: ProbeBuffer[] = [];
  private readonly spikeBuffers: Map<Probe, SpikeBuffer> = new Map();
  private readonly spikeList: SpikeBuffer[] = [];
  private nSteps = 0;
  /** The seed of the last reset(seed), mixed into unseeded random streams at every reset after it. */
  private resetSeed: number | undefined;
  private readonly progress: ((done: number, total: number) => void) | undefined;
  private readonly progressEvery: number;
  /** Seconds spent building (model and plan). */
  readonly buildSeconds: number;

  constructor(
    readonly network: Network,
    opts: SimulatorOptions = {},
  ) {
    checkKnownOptions(opts, SIMULATOR_OPTIONS, 'Simulator', {
      // each part's thread loads the model's module itself (Node functions cannot cross threads), so a
      // network object made here cannot be partitioned
      partitions:
        'A network is partitioned across threads from its module file: `await PartitionedSimulator.create(file, { dt, partitions })`, ' +
        'or `nefsim run model.mjs --partitions P` (each thread loads the module itself: Node functions cannot cross threads).',
    });
    const t0 = performance.now();
    this.dt = opts.dt ?? 0.001;
    if (!(this.dt > 0) || !Number.isFinite(this.dt))
      throw new ValidationError(`Simulator: dt must be a positive number, got ${String(opts.dt)}`);
    this.model = build(network, {
      dt: this.dt,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.decoderCache !== undefined ? { decoderCache: opts.decoderCache } : {}),
    });
    if (opts.dtype !== undefined && opts.dtype !== 'float64' && opts.dtype !== 'float32') {
      throw new ValidationError(`Simulator: dtype must be 'float64' or 'float32', got ${String(opts.dtype)}`);
    }
    this.plan = new Plan(this.model, { merge: opts.merge ?? true, dtype: opts.dtype ?? 'float64' });
    for (const bp of this.model.probes) {
      if (isSpikeProbe(bp.probe)) {
        const sb = new SpikeBuffer(bp.sig.offset, bp.size, bp.period);
        this.spikeBuffers.set(bp.probe, sb);
        this.spikeList.push(sb);
        continue;
      }
      const buf = new ProbeBuffer(bp.sig.offset, bp.size, bp.period);
      this.buffers.set(bp.probe, buf);
      this.bufferList.push(buf);
    }
    this.progress = opts.progress;
    this.progressEvery = opts.progressEvery ?? 1000;
    this.buildSeconds = (performance.now() - t0) / 1000;
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.nSteps;
  }
  /** Current simulated time. */
  get time(): number {
    return this.nSteps * this.dt;
  }

  /** Runs for `seconds` of simulated time (rounded to whole steps, as Nengo). */
  run(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new ValidationError(`run: seconds must be a non-negative number, got ${seconds}`);
    const steps = stepsIn(seconds, this.dt);
    // as Nengo warns: a run too short for one step is probably not what was meant
    if (steps === 0 && seconds > 0)
      process.emitWarning(`run(${seconds}) is 0 steps at dt = ${this.dt}; the simulator is still at t = ${this.time}`, 'NefsimWarning');
    this.runSteps(steps);
  }

  runSteps(steps: number): void {
    if (!Number.isInteger(steps) || steps < 0) throw new ValidationError(`runSteps: steps must be a non-negative integer, got ${steps}`);
    for (const b of this.bufferList) b.reserve(b.rows + Math.ceil(steps / b.period) + 1);
    for (const b of this.spikeList) b.reserveRows(b.rows + Math.ceil(steps / b.period) + 1);
    const every = this.progressEvery;
    for (let i = 0; i < steps; i++) {
      this.step();
      if (this.progress && (i + 1) % every === 0) this.progress(i + 1, steps);
    }
    if (this.progress && steps % every !== 0) this.progress(steps, steps);
  }

  /** Advances one step: time, then every kernel in schedule order, then probes. */
  step(): void {
    const n = ++this.nSteps;
    const t = n * this.dt;
    const ks = this.plan.kernels;
    for (let k = 0; k < ks.length; k++) ks[k]!.run(t);
    const a = this.plan.arena;
    const bl = this.bufferList;
    for (let k = 0; k < bl.length; k++) {
      const b = bl[k]!;
      if (b.period === 1 || n % b.period < 1) {
        if ((b.rows + 1) * b.size > b.data.length) b.reserve(b.rows + 1);
        const dst = b.rows * b.size;
        const src = b.offset;
        for (let i = 0; i < b.size; i++) b.data[dst + i] = a[src + i]!;
        b.rows++;
      }
    }
    const sl = this.spikeList;
    for (let k = 0; k < sl.length; k++) {
      const b = sl[k]!;
      if (b.period === 1 || n % b.period < 1) {
        if (b.rows === b.rowEnds.length) b.reserveRows(b.rows + 1);
        b.reserveSpikes();
        const units = b.units,
          values = b.values,
          src = b.offset;
        let c = b.count;
        for (let i = 0, m = b.size; i < m; i++) {
          const v = a[src + i]!;
          if (v !== 0) {
            units[c] = i;
            values[c++] = v;
          }
        }
        b.count = c;
        b.rowEnds[b.rows++] = c;
      }
    }
  }

  /**
   * Times of the samples (of a probe with sampleEvery, if given): dt, 2 dt,
   * ... as Nengo's trange; the period as a probe, a number of seconds, or
   * `{ sampleEvery }` (Nengo's keyword).
   */
  trange(probeOrSampleEvery?: Probe | number | { sampleEvery?: number }): Float64Array {
    let every: number | undefined;
    if (probeOrSampleEvery instanceof Probe) every = probeOrSampleEvery.sampleEvery;
    else if (typeof probeOrSampleEvery === 'object' && probeOrSampleEvery !== null) {
      checkKnownOptions(probeOrSampleEvery, ['sampleEvery'], 'trange');
      every = probeOrSampleEvery.sampleEvery;
    } else every = probeOrSampleEvery;
    if (every !== undefined && (typeof every !== 'number' || !Number.isFinite(every) || every <= 0))
      throw new ValidationError(
        `trange: the sample period must be a probe, a number of seconds > 0 or { sampleEvery }, got ${JSON.stringify(probeOrSampleEvery) ?? String(probeOrSampleEvery)}`,
      );
    const period = every === undefined ? 1 : every / this.dt;
    if (period === 1) {
      const out = new Float64Array(this.nSteps);
      for (let s = 1; s <= this.nSteps; s++) out[s - 1] = s * this.dt;
      return out;
    }
    let count = 0;
    for (let s = 1; s <= this.nSteps; s++) if (s % period < 1) count++;
    const out = new Float64Array(count);
    for (let s = 1, k = 0; s <= this.nSteps; s++) if (s % period < 1) out[k++] = s * this.dt;
    return out;
  }

  /** Recorded samples of a probe (a copy). */
  data(probe: Probe): ProbeData {
    const sb = this.spikeBuffers.get(probe);
    if (sb) return sb.take(false).dense();
    const b = this.buffers.get(probe);
    if (!b) throw new ValidationError(`${probe instanceof Probe ? probe.name : String(probe)} is not part of the simulated network`);
    return new ProbeData(b.data.slice(0, b.rows * b.size), b.rows, b.size);
  }

  /**
   * Samples recorded since the last call (or the start), which are then
   * dropped from memory: for streaming long runs to disk with bounded memory.
   * `sim.data(probe)` afterwards holds only what was recorded after this call.
   */
  takeData(probe: Probe): ProbeData {
    const sb = this.spikeBuffers.get(probe);
    if (sb) return sb.take(true).dense();
    const b = this.buffers.get(probe);
    if (!b) throw new ValidationError(`${probe instanceof Probe ? probe.name : String(probe)} is not part of the simulated network`);
    const out = new ProbeData(b.data.slice(0, b.rows * b.size), b.rows, b.size);
    b.rows = 0;
    return out;
  }

  /**
   * Like takeData, but for a spike probe (see isSpikeProbe) in the sparse
   * form it is recorded in; undefined for other probes.
   */
  takeSpikes(probe: Probe): SpikeData | undefined {
    const sb = this.spikeBuffers.get(probe);
    if (sb) return sb.take(true);
    if (!this.buffers.has(probe))
      throw new ValidationError(`${probe instanceof Probe ? probe.name : String(probe)} is not part of the simulated network`);
    return undefined;
  }

  /** The probes of the simulated network, in build order. */
  get probes(): Probe[] {
    return this.model.probes.map((p) => p.probe);
  }

  /** Built parameters of an ensemble (gain, bias, encoders, eval points...) or a connection (decoders, weights). */
  built(obj: Ensemble): BuiltEnsemble;
  built(obj: Connection): BuiltConnection;
  built(obj: Ensemble | Connection): BuiltEnsemble | BuiltConnection {
    const r = obj instanceof Ensemble ? this.model.ensembles.get(obj) : this.model.connections.get(obj);
    if (!r) throw new ValidationError(`${obj.name} is not part of the simulated network`);
    return r;
  }

  /** Current weights of a connection (changes during learning), rows x cols. */
  weights(conn: Connection): ProbeData {
    const bc = this.built(conn);
    if (!bc.weights || !bc.weightsShape) throw new ValidationError(`${conn.name} has no weight matrix`);
    const off = bc.weights.offset;
    return new ProbeData(Float64Array.from(this.plan.arena.subarray(off, off + bc.weights.size)), bc.weightsShape[0], bc.weightsShape[1]);
  }

  /**
   * Back to t = 0 with the initial state; recorded data is cleared. As
   * Nengo's `reset(seed)`: with a seed (an integer >= 0), the random streams
   * of unseeded processes (nodes' and ensembles' noise) and of stochastic
   * spiking neurons start from seeds mixed with it, for new noise with the
   * same built model; a process with its own seed keeps its stream. The
   * model's own seed (`summary().seed`) brings back the build's streams, so
   * reset(2) then reset(1) after building with seed 1 repeats the first
   * run, as in Nengo. Without a seed, the last one given (if any) is used
   * again.
   */
  reset(seed?: number): void {
    if (seed !== undefined) {
      if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
        throw new ValidationError(`reset: seed must be an integer in [0, 2^32), got ${JSON.stringify(seed) ?? String(seed)}`);
      this.resetSeed = seed === this.model.seed ? undefined : seed;
    }
    this.plan.reset(this.resetSeed);
    this.nSteps = 0;
    for (const b of this.bufferList) b.rows = 0;
    for (const b of this.spikeList) b.clear();
  }

  /** What was built: counts of objects, neurons, operators and kernels. */
  summary(): SimulationSummary {
    const net = this.network;
    const ens = net.allEnsembles;
    return {
      label: net.label,
      seed: this.model.seed,
      dt: this.dt,
      ensembles: ens.length,
      neurons: ens.reduce((s, e) => s + e.nNeurons, 0),
      nodes: net.allNodes.length,
      connections: net.allConnections.length,
      probes: net.allProbes.length,
      networks: net.allNetworks.length,
      operators: this.plan.nOps,
      kernels: this.plan.kernels.length,
      arenaValues: this.plan.arena.length,
      buildSeconds: this.buildSeconds,
      buildThreads: Math.max(1, this.model.pooled.threads),
      warnings: [...this.model.warnings],
    };
  }
}

export interface SimulationSummary {
  label: string | undefined;
  seed: number;
  dt: number;
  ensembles: number;
  neurons: number;
  nodes: number;
  connections: number;
  probes: number;
  networks: number;
  operators: number;
  kernels: number;
  arenaValues: number;
  buildSeconds: number;
  /** Threads that solved the decoders (more than 1 for large builds, see builder/solve-pool.ts). */
  buildThreads: number;
  warnings: string[];
}
