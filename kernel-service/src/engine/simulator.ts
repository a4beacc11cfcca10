/**
 * Simulator: builds a network and steps it, recording probes, with the
 * interface of nengo.Simulator (`run`, `runSteps`, `step`, `trange`, `data`).
 */
import { build, type BuiltConnection, type BuiltEnsemble, type Model } from './builder/build.js';
import type { DecoderCache } from './decoder-cache.js';
import { checkKnownOptions, ValidationError } from './errors.js';
import type { Network } from './network.js';
import { Connection, Ensemble, Probe } from './objects.js';
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
  private nSteps = 0;
  private readonly progress: ((done: number, total: number) => void) | undefined;
  private readonly progressEvery: number;
  /** Seconds spent building (model and plan). */
  readonly buildSeconds: number;

  constructor(readonly network: Network, opts: SimulatorOptions = {}) {
    checkKnownOptions(opts, SIMULATOR_OPTIONS, 'Simulator');
    const t0 = performance.now();
    this.dt = opts.dt ?? 0.001;
    if (!(this.dt > 0) || !Number.isFinite(this.dt)) throw new ValidationError(`Simulator: dt must be a positive number, got ${String(opts.dt)}`);
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
    this.runSteps(Math.round(seconds / this.dt));
  }

  runSteps(steps: number): void {
    if (!Number.isInteger(steps) || steps < 0) throw new ValidationError(`runSteps: steps must be a non-negative integer, got ${steps}`);
    for (const b of this.bufferList) b.reserve(b.rows + Math.ceil(steps / b.period) + 1);
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
  }

  /** Times of the samples (of a probe with sampleEvery, if given): dt, 2 dt, ... as Nengo's trange. */
  trange(probeOrSampleEvery?: Probe | number): Float64Array {
    const every = probeOrSampleEvery instanceof Probe ? probeOrSampleEvery.sampleEvery : probeOrSampleEvery;
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
    const b = this.buffers.get(probe);
    if (!b) throw new ValidationError(`${probe instanceof Probe ? probe.name : String(probe)} is not part of the simulated network`);
    const out = new ProbeData(b.data.slice(0, b.rows * b.size), b.rows, b.size);
    b.rows = 0;
    return out;
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

  /** Back to t = 0 with the initial state; recorded data is cleared. */
  reset(): void {
    this.plan.reset();
    this.nSteps = 0;
    for (const b of this.bufferList) b.rows = 0;
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
  warnings: string[];
}
