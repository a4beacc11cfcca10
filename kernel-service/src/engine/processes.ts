/**
 * Processes: stateful signal generators for Nodes, with Nengo 4.1 parameters,
 * defaults and formulas (nengo/processes.py, nengo/base.py).
 *
 * Timing: the engine calls the step function once per simulation step with
 * the simulation time of that step, t = (k+1)*dt for the k-th step (Nengo's
 * `sim.time` after it is advanced), exactly as `Process.run_steps` does.
 * Randomness: like Nengo's SimProcess, the engine should build the step with
 * `process.makeStep(sizeIn, sizeOut, dt, process.getRng(parentRng))`, which
 * uses the process's own `seed` when given.
 */
import { Gaussian, Uniform, type Distribution } from './dists.js';
import { checkKnownOptions, SimulationError, ValidationError } from './errors.js';
import { Rng } from './rng.js';
import { InterpSpline } from './spline.js';
import { LinearFilter, Lowpass, makeFilterStepper, toSynapse, type DiscreteFilter, type Synapse } from './synapses.js';

/** Writes sizeOut values into out; must not allocate per call. */
export type StepFn = (t: number, x: Float64Array | null, out: Float64Array) => void;

function checkSeed(seed: number | undefined, what: string): void {
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
    throw new ValidationError(`${what}: seed must be an integer in [0, 2^32), got ${String(seed)}`);
  }
}

function checkPositive(v: unknown, name: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ValidationError(`${what}: ${name} must be a positive finite number, got ${String(v)}`);
  }
  return v;
}

function checkDt(dt: number, what: string): void {
  checkPositive(dt, 'dt', what);
}

function checkSizes(sizeIn: number, sizeOut: number, what: string): void {
  if (sizeIn !== 0) throw new ValidationError(`${what}: takes no input (sizeIn must be 0, got ${sizeIn})`);
  if (!Number.isInteger(sizeOut) || sizeOut < 0) {
    throw new ValidationError(`${what}: sizeOut must be a non-negative integer, got ${sizeOut}`);
  }
}

export abstract class Process {
  /** Default output size when the Node does not give sizeOut. */
  readonly defaultSizeOut: number;
  /** Input size (all processes here take no input). */
  readonly defaultSizeIn: number = 0;
  /** Fixed seed; when undefined, getRng draws one from the parent generator. */
  readonly seed: number | undefined;

  protected constructor(defaultSizeOut: number, seed: number | undefined, what: string) {
    checkSeed(seed, what);
    this.defaultSizeOut = defaultSizeOut;
    this.seed = seed;
  }

  /** Nengo's `Process.get_rng`: an independent generator seeded by `seed`, or by a seed drawn from `rng`. */
  getRng(rng: Rng): Rng {
    return new Rng(this.seed ?? rng.seed());
  }

  abstract makeStep(sizeIn: number, sizeOut: number, dt: number, rng: Rng): StepFn;

  /** Convenience: run for a number of steps, returns steps×sizeOut (Nengo's Process.run / run_steps; t of step i is (i+1)*dt). */
  runSteps(nSteps: number, dt: number, rng: Rng, sizeOut?: number): Float64Array {
    if (!Number.isInteger(nSteps) || nSteps < 0) {
      throw new ValidationError(`${this.toString()}: nSteps must be a non-negative integer, got ${nSteps}`);
    }
    const d = sizeOut ?? this.defaultSizeOut;
    const step = this.makeStep(0, d, dt, this.getRng(rng));
    const out = new Float64Array(nSteps * d);
    const row = new Float64Array(d);
    for (let i = 0; i < nSteps; i++) {
      step((i + 1) * dt, null, row);
      out.set(row, i * d);
    }
    return out;
  }

  abstract toString(): string;
}

// ---------------------------------------------------------------------------
// A synapse as a node's output

/**
 * A Synapse as a Node's output (in Nengo a Synapse is a Process): the node's
 * input filtered, without delay: each step calls the filter's step function
 * with this step's input (Nengo builds a node's process in mode 'set'), so
 * the output is `synapse.filt` of the input, row for row. sizeOut is
 * sizeIn.
 */
export class SynapseProcess extends Process {
  readonly synapse: Synapse;
  constructor(synapse: Synapse) {
    super(1, undefined, 'SynapseProcess');
    this.synapse = synapse;
  }
  makeStep(sizeIn: number, sizeOut: number, dt: number, _rng: Rng): StepFn {
    if (!Number.isInteger(sizeIn) || sizeIn !== sizeOut || sizeIn === 0)
      throw new ValidationError(
        `${this.toString()}: a synapse as a node output filters its input: sizeOut (${sizeOut}) must be sizeIn (${sizeIn}), at least 1`,
      );
    checkDt(dt, this.toString());
    const stepper = makeFilterStepper(this.synapse.discretize(dt), sizeIn);
    return (_t, x, out) => stepper.step(x!, out);
  }
  toString(): string {
    return this.synapse.toString();
  }
}

// ---------------------------------------------------------------------------
// WhiteNoise

export interface WhiteNoiseOptions {
  /** Distribution of the samples (default Gaussian(0, 1)). */
  dist?: Distribution;
  /** Multiply samples by 1/sqrt(dt) so that integrated noise is dt-invariant (default true). */
  scale?: boolean;
  seed?: number;
}

/**
 * Full-spectrum white noise (nengo.processes.WhiteNoise): every step draws
 * `dist.sample(n=1, d=sizeOut)` and, when `scale`, multiplies it by
 * 1/sqrt(dt) (Gillespie 1996: integrating white noise needs sqrt(dt)).
 */
export class WhiteNoise extends Process {
  readonly dist: Distribution;
  readonly scale: boolean;

  constructor(opts: WhiteNoiseOptions = {}) {
    checkKnownOptions(opts, ['dist', 'scale', 'seed'], 'WhiteNoise');
    super(1, opts.seed, 'WhiteNoise');
    const dist = opts.dist ?? new Gaussian(0, 1);
    if (typeof dist !== 'object' || dist === null || typeof dist.sample !== 'function') {
      throw new ValidationError(`WhiteNoise: dist must be a Distribution, got ${String(dist)}`);
    }
    const scale = opts.scale ?? true;
    if (typeof scale !== 'boolean') throw new ValidationError(`WhiteNoise: scale must be a boolean, got ${String(scale)}`);
    this.dist = dist;
    this.scale = scale;
  }

  makeStep(sizeIn: number, sizeOut: number, dt: number, rng: Rng): StepFn {
    checkSizes(sizeIn, sizeOut, 'WhiteNoise');
    checkDt(dt, 'WhiteNoise');
    const d = sizeOut;
    const alpha = this.scale ? 1 / Math.sqrt(dt) : 1;
    const dist = this.dist;
    if (d === 0) return () => {};
    if (dist instanceof Gaussian || dist instanceof Uniform) {
      // i.i.d. samples: drawing a block of rows at once consumes the generator
      // in the same order as one row per step, without allocating every step.
      const rows = Math.max(1, Math.floor(4096 / d));
      let buf: Float64Array = new Float64Array(0);
      let pos = 0;
      return (_t, _x, out) => {
        if (pos >= buf.length) {
          buf = checkSample(dist.sample(rows, d, rng), rows * d);
          pos = 0;
        }
        for (let j = 0; j < d; j++) out[j] = alpha * buf[pos + j]!;
        pos += d;
      };
    }
    // Other distributions may depend on n (e.g. quasi-random ones): sample
    // one row per step exactly as Nengo does.
    return (_t, _x, out) => {
      const s = checkSample(dist.sample(1, d, rng), d);
      for (let j = 0; j < d; j++) out[j] = alpha * s[j]!;
    };
  }

  toString(): string {
    return `WhiteNoise(${this.dist.toString()}, scale=${this.scale})`;
  }
}

// ---------------------------------------------------------------------------
// FilteredNoise, BrownNoise

export interface FilteredNoiseOptions {
  /** The filter (default Lowpass(0.005)). */
  synapse?: Synapse | number;
  /** Distribution of the white noise (default Gaussian(0, 1)). */
  dist?: Distribution;
  /** Multiply the white noise by 1/sqrt(dt) (default true), as WhiteNoise. */
  scale?: boolean;
  seed?: number;
}

/**
 * White noise through a synapse (nengo.processes.FilteredNoise): each step
 * WhiteNoise's sample, then the synapse's step on it (the same stepping as
 * Synapse.filt, from rest).
 */
export class FilteredNoise extends Process {
  readonly synapse: Synapse;
  readonly dist: Distribution;
  readonly scale: boolean;
  private readonly white: WhiteNoise;
  /** Class name for messages (FilteredNoise or BrownNoise). */
  private readonly cls: string;

  constructor(opts: FilteredNoiseOptions = {}, cls = 'FilteredNoise') {
    checkKnownOptions(opts, ['synapse', 'dist', 'scale', 'seed'], cls);
    super(1, opts.seed, cls);
    this.cls = cls;
    const synapse = toSynapse(opts.synapse === undefined ? new Lowpass(0.005) : opts.synapse, `${cls} synapse`);
    if (!synapse) throw new ValidationError(`${cls}: synapse must be a Synapse or a time constant, not null`);
    this.synapse = synapse;
    try {
      this.white = new WhiteNoise({
        ...(opts.dist !== undefined ? { dist: opts.dist } : {}),
        ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
      });
    } catch (err) {
      throw err instanceof ValidationError ? new ValidationError(err.message.replace(/^WhiteNoise/, cls)) : err;
    }
    this.dist = this.white.dist;
    this.scale = this.white.scale;
  }

  /** The synapse's discrete form for step dt. */
  protected discrete(dt: number): DiscreteFilter {
    return this.synapse.discretize(dt);
  }

  makeStep(sizeIn: number, sizeOut: number, dt: number, rng: Rng): StepFn {
    checkSizes(sizeIn, sizeOut, this.cls);
    checkDt(dt, this.cls);
    const noise = this.white.makeStep(0, sizeOut, dt, rng);
    const filter = makeFilterStepper(this.discrete(dt), sizeOut);
    const x = new Float64Array(sizeOut);
    return (t, _x, out) => {
      noise(t, null, x);
      filter.step(x, out);
    };
  }

  toString(): string {
    return `${this.cls}(${this.synapse.toString()}, ${this.dist.toString()}, scale=${this.scale})`;
  }
}

export interface BrownNoiseOptions {
  /** Distribution of the white noise (default Gaussian(0, 1)). */
  dist?: Distribution;
  /** Multiply the white noise by 1/sqrt(dt) (default true). */
  scale?: boolean;
  seed?: number;
}

/**
 * Brownian motion (nengo.processes.BrownNoise): white noise integrated,
 * Nengo's LinearFilter([1], [1, 0]) discretised by Euler's method,
 * y += dt * x each step (so, scaled, y += sqrt(dt) * N(0, 1)).
 */
export class BrownNoise extends FilteredNoise {
  constructor(opts: BrownNoiseOptions = {}) {
    checkKnownOptions(opts, ['dist', 'scale', 'seed'], 'BrownNoise');
    super({ ...opts, synapse: new LinearFilter([1], [1, 0]) }, 'BrownNoise');
  }

  /** Euler's method on 1/s: x[k+1] = x[k] + dt u[k], the output the state. */
  protected override discrete(dt: number): DiscreteFilter {
    return { order: 1, A: Float64Array.of(1), B: Float64Array.of(dt), C: Float64Array.of(1), D: 0 };
  }
}

function checkSample(s: Float64Array, n: number): Float64Array {
  if (s.length !== n) throw new SimulationError(`WhiteNoise: distribution returned ${s.length} values, expected ${n}`);
  return s;
}

// ---------------------------------------------------------------------------
// FFT helpers (for WhiteSignal's inverse real FFT)

/** In-place forward radix-2 FFT (sum x_n e^{-2 pi i k n / N}); N must be a power of 2. */
function fftPow2(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const ang = (-2 * Math.PI) / len;
    // twiddles computed directly (not by recurrence) for accuracy
    for (let k = 0; k < half; k++) {
      const wr = Math.cos(ang * k);
      const wi = Math.sin(ang * k);
      for (let s = 0; s < n; s += len) {
        const a = s + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

/** In-place forward DFT of any length (radix-2, or Bluestein's chirp-z for other lengths). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if (n <= 1) return;
  if ((n & (n - 1)) === 0) {
    fftPow2(re, im);
    return;
  }
  let L = 1;
  while (L < 2 * n - 1) L <<= 1;
  // chirp w_m = exp(-i pi m^2 / n); m^2 reduced mod 2n (exact for n < 2^26)
  const wr = new Float64Array(n);
  const wi = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    const ang = (Math.PI * ((m * m) % (2 * n))) / n;
    wr[m] = Math.cos(ang);
    wi[m] = -Math.sin(ang);
  }
  const ar = new Float64Array(L);
  const ai = new Float64Array(L);
  for (let m = 0; m < n; m++) {
    ar[m] = re[m]! * wr[m]! - im[m]! * wi[m]!;
    ai[m] = re[m]! * wi[m]! + im[m]! * wr[m]!;
  }
  const br = new Float64Array(L);
  const bi = new Float64Array(L);
  br[0] = wr[0]!;
  bi[0] = -wi[0]!;
  for (let m = 1; m < n; m++) {
    br[m] = br[L - m] = wr[m]!;
    bi[m] = bi[L - m] = -wi[m]!;
  }
  fftPow2(ar, ai);
  fftPow2(br, bi);
  // pointwise product, then inverse FFT as conj(FFT(conj(.)))/L
  for (let k = 0; k < L; k++) {
    const r = ar[k]! * br[k]! - ai[k]! * bi[k]!;
    const i = ar[k]! * bi[k]! + ai[k]! * br[k]!;
    ar[k] = r;
    ai[k] = -i;
  }
  fftPow2(ar, ai);
  for (let k = 0; k < n; k++) {
    const cr = ar[k]! / L;
    const ci = -ai[k]! / L;
    re[k] = cr * wr[k]! - ci * wi[k]!;
    im[k] = cr * wi[k]! + ci * wr[k]!;
  }
}

/**
 * numpy.fft.irfft of N+1 coefficients to M = 2N real samples:
 * x[n] = (1/M) [Re X_0 + Re X_N (-1)^n + 2 sum_{k=1}^{N-1} Re(X_k e^{2 pi i k n / M})].
 */
function irfft(cr: Float64Array, ci: Float64Array): Float64Array {
  const N = cr.length - 1;
  const M = 2 * N;
  const re = new Float64Array(M);
  const im = new Float64Array(M);
  // Hermitian spectrum Z; use x = Re(FFT(conj Z)) / M
  re[0] = cr[0]!;
  re[N] = cr[N]!;
  for (let k = 1; k < N; k++) {
    re[k] = cr[k]!;
    im[k] = -ci[k]!;
    re[M - k] = cr[k]!;
    im[M - k] = ci[k]!;
  }
  fft(re, im);
  for (let n = 0; n < M; n++) re[n] = re[n]! / M;
  return re;
}

// ---------------------------------------------------------------------------
// WhiteSignal

export interface WhiteSignalOptions {
  /** Period of the signal in seconds (it repeats after this time). */
  period: number;
  /** Cut-off frequency in Hz: no power above it. Must be >= 1/period and <= 0.5/dt. */
  high: number;
  /** Root-mean-square of the signal (default 0.5). */
  rms?: number;
  /** If given, each dimension starts (at t = dt) at its sample closest to y0. */
  y0?: number;
  seed?: number;
}

/**
 * Band-limited white noise (nengo.processes.WhiteSignal), made in the
 * frequency domain and therefore periodic with continuous derivatives.
 *
 * make_step (Nengo):
 *   N = ceil(period / dt / 2), M = 2N samples per period;
 *   coefficients X_k (k = 0..N, per dimension) = sigma (g + i g'), sigma = rms sqrt(1/2),
 *     g, g' standard normal (imaginary parts drawn first for all k, then real parts);
 *   X_0 = 0; Im X_N = 0;
 *   X_k = 0 where freq_k = k / (M dt) > high (a hard cut-off);
 *   X /= sqrt(1 - (#zeroed) / N);  X *= sqrt(M);  signal = irfft(X)  (length M);
 *   y0: roll each dimension so that signal'[1] = signal[argmin |y0 - signal|].
 * step(t) = signal[round(t / dt) mod M]  (so t = dt shows sample 1).
 */
export class WhiteSignal extends Process {
  readonly period: number;
  readonly high: number;
  readonly rms: number;
  readonly y0: number | undefined;

  constructor(opts: WhiteSignalOptions) {
    checkKnownOptions(opts, ['period', 'high', 'rms', 'y0', 'seed'], 'WhiteSignal');
    if (opts === undefined || opts === null) throw new ValidationError(`WhiteSignal: options { period, high } are required`);
    super(1, opts.seed, 'WhiteSignal');
    this.period = checkPositive(opts.period, 'period', 'WhiteSignal');
    this.high = checkPositive(opts.high, 'high', 'WhiteSignal');
    this.rms = checkPositive(opts.rms ?? 0.5, 'rms', 'WhiteSignal');
    if (opts.y0 !== undefined && (typeof opts.y0 !== 'number' || !Number.isFinite(opts.y0))) {
      throw new ValidationError(`WhiteSignal: y0 must be a finite number, got ${String(opts.y0)}`);
    }
    this.y0 = opts.y0;
    if (this.high < 1 / this.period) {
      throw new ValidationError(
        `WhiteSignal: high (${this.high} Hz) must be >= 1/period (${1 / this.period} Hz) to produce a non-zero signal`,
      );
    }
  }

  /** One period of the signal, M×d row-major (M = 2 ceil(period/dt/2)), as Nengo's `signal` array. */
  makeTable(d: number, dt: number, rng: Rng): { table: Float64Array; length: number } {
    checkDt(dt, 'WhiteSignal');
    const nyquist = 0.5 / dt;
    if (this.high > nyquist) {
      throw new ValidationError(
        `WhiteSignal: high (${this.high} Hz) must not exceed the Nyquist frequency 0.5/dt = ${nyquist} Hz for dt = ${dt}`,
      );
    }
    const N = Math.ceil(this.period / dt / 2);
    const M = 2 * N;
    const sigma = this.rms * Math.sqrt(0.5);
    const K = N + 1;
    const im = new Float64Array(K * d);
    const re = new Float64Array(K * d);
    for (let i = 0; i < K * d; i++) im[i] = sigma * rng.normal();
    for (let i = 0; i < K * d; i++) re[i] = sigma * rng.normal();
    // rfftfreq(M, dt)[k] = k * (1 / (M dt))
    const fstep = 1 / (M * dt);
    let zeroed = 0;
    for (let k = 0; k < K; k++) if (k * fstep > this.high) zeroed++;
    let gain = Math.sqrt(M);
    const powerCorrection = Math.sqrt(1 - zeroed / N);
    if (powerCorrection > 0) gain /= powerCorrection;
    const table = new Float64Array(M * d);
    const cr = new Float64Array(K);
    const ci = new Float64Array(K);
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < K; k++) {
        const keep = k > 0 && !(k * fstep > this.high);
        cr[k] = keep ? re[k * d + j]! * gain : 0;
        ci[k] = keep && k < N ? im[k * d + j]! * gain : 0;
      }
      const x = irfft(cr, ci);
      let offset = 0;
      if (this.y0 !== undefined) {
        let best = Infinity;
        for (let n = 0; n < M; n++) {
          const e = Math.abs(this.y0 - x[n]!);
          if (e < best) {
            best = e;
            offset = n;
          }
        }
        offset -= 1; // np.roll(x, -offset + 1): t starts at dt
      }
      for (let n = 0; n < M; n++) table[n * d + j] = x[(((n + offset) % M) + M) % M]!;
    }
    return { table, length: M };
  }

  makeStep(sizeIn: number, sizeOut: number, dt: number, rng: Rng): StepFn {
    checkSizes(sizeIn, sizeOut, 'WhiteSignal');
    const d = sizeOut;
    const { table, length: M } = this.makeTable(d, dt, rng);
    return (t, _x, out) => {
      const i = Math.round(t / dt);
      const base = (((i % M) + M) % M) * d;
      for (let j = 0; j < d; j++) out[j] = table[base + j]!;
    };
  }

  toString(): string {
    return `WhiteSignal(period=${this.period}, high=${this.high}, rms=${this.rms}${this.y0 === undefined ? '' : `, y0=${this.y0}`})`;
  }
}

// ---------------------------------------------------------------------------
// PresentInput

/** Numbers nested to any depth: a vector, an image's rows, ... */
export type NestedNumbers = ReadonlyArray<number | NestedNumbers> | Float64Array | Float32Array;

/** Flattens row-major (numpy's reshape(-1)); null where something is not a number or an array. */
function flattenNested(x: unknown, out: number[]): boolean {
  if (typeof x === 'number') {
    out.push(x);
    return true;
  }
  if (!Array.isArray(x) && !(ArrayBuffer.isView(x) && !(x instanceof DataView))) return false;
  for (const v of x as ArrayLike<unknown> as unknown[]) if (!flattenNested(v, out)) return false;
  return true;
}

export interface PresentInputOptions {
  /**
   * Inputs to present in turn; each row is one input (a number is a 1-d
   * input; a nested array, such as an image's rows, is flattened row-major,
   * as Nengo reshapes its inputs to one vector each).
   */
  inputs: ReadonlyArray<number | NestedNumbers>;
  /** Seconds each input is shown. */
  presentationTime: number;
  seed?: number;
}

/**
 * Presents each input for `presentationTime` seconds, cycling
 * (nengo.processes.PresentInput): step(t) shows input
 * int((t - dt) / presentationTime + 1e-7) mod n.
 * So the step with t = (k+1) dt shows input floor(k dt / presentationTime + 1e-7) mod n.
 */
export class PresentInput extends Process {
  readonly inputs: Float64Array;
  readonly nInputs: number;
  readonly presentationTime: number;

  constructor(opts: PresentInputOptions) {
    if (Array.isArray(opts)) {
      // Nengo's PresentInput takes its inputs positionally: PresentInput([[1], [2]], 0.1)
      throw new ValidationError(`PresentInput: takes options, as in new PresentInput({ inputs: [[1], [2]], presentationTime: 0.1 })`);
    }
    checkKnownOptions(opts, ['inputs', 'presentationTime', 'seed'], 'PresentInput');
    if (opts === undefined || opts === null) throw new ValidationError(`PresentInput: options { inputs, presentationTime } are required`);
    const rows = opts.inputs;
    if (!Array.isArray(rows) || rows.length === 0) {
      throw new ValidationError(`PresentInput: inputs must be a non-empty array of inputs (arrays of numbers)`);
    }
    const flatRows = rows.map((row: unknown, i) => {
      const r: number[] = [];
      if (!flattenNested(row, r))
        throw new ValidationError(`PresentInput: input ${i} must be a number or an array of numbers (nested arrays are flattened)`);
      return r;
    });
    const size = flatRows[0]!.length;
    super(size, opts.seed, 'PresentInput');
    const flat = new Float64Array(rows.length * size);
    flatRows.forEach((r, i) => {
      if (r.length !== size) {
        throw new ValidationError(
          `PresentInput: input ${i} has ${r.length} values, but input 0 has ${size}; all inputs must have the same size`,
        );
      }
      for (let j = 0; j < size; j++) {
        const v = r[j];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new ValidationError(`PresentInput: input ${i} has a non-finite value at index ${j}: ${String(v)}`);
        }
        flat[i * size + j] = v;
      }
    });
    this.inputs = flat;
    this.nInputs = rows.length;
    this.presentationTime = checkPositive(opts.presentationTime, 'presentationTime', 'PresentInput');
  }

  makeStep(sizeIn: number, sizeOut: number, dt: number, _rng: Rng): StepFn {
    checkSizes(sizeIn, sizeOut, 'PresentInput');
    checkDt(dt, 'PresentInput');
    const size = this.defaultSizeOut;
    if (sizeOut !== size) {
      throw new ValidationError(`PresentInput: sizeOut (${sizeOut}) must equal the size of each input (${size})`);
    }
    const n = this.nInputs;
    const pt = this.presentationTime;
    const inputs = this.inputs;
    return (t, _x, out) => {
      const i = Math.trunc((t - dt) / pt + 1e-7); // Python int() truncates toward zero
      const base = (((i % n) + n) % n) * size;
      for (let j = 0; j < size; j++) out[j] = inputs[base + j]!;
    };
  }

  toString(): string {
    return `PresentInput(${this.nInputs} inputs of size ${this.defaultSizeOut}, presentationTime=${this.presentationTime})`;
  }
}

// ---------------------------------------------------------------------------
// Piecewise

export type PiecewiseValue = number | ReadonlyArray<number> | ((t: number) => number | ReadonlyArray<number>);
export type PiecewiseInterpolation = 'zero' | 'linear' | 'nearest' | 'slinear' | 'quadratic' | 'cubic';

export interface PiecewiseOptions {
  /** Map from time (seconds) to the value emitted from that time on. */
  data: Record<number, PiecewiseValue>;
  /** 'zero' (default: hold each value from its time on), 'linear' / 'slinear' or 'nearest' (scipy interp1d, 0 outside the data's time range). */
  interpolation?: PiecewiseInterpolation;
  seed?: number;
}

function toValues(v: number | ReadonlyArray<number>, what: string): Float64Array {
  const arr: ReadonlyArray<number> = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(arr) && !ArrayBuffer.isView(arr)) throw new ValidationError(`${what} must be a number or an array of numbers`);
  const out = new Float64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (typeof x !== 'number' || Number.isNaN(x)) throw new ValidationError(`${what} must contain numbers, got ${String(x)} at index ${i}`);
    out[i] = x;
  }
  return out;
}

/**
 * A piecewise function of time (nengo.processes.Piecewise).
 *
 * - 'zero': the value of the last key tk with tk < t + dt/2 (Nengo:
 *   `searchsorted(tp, t + 0.5 dt) - 1`), zeros before the first key; callables
 *   are evaluated at t. Values persist after the last key.
 * - 'linear' / 'slinear': scipy `interp1d(kind='linear', bounds_error=False,
 *   fill_value=0)` at t: linear between keys, 0 for t < first key *and*
 *   t > last key; needs at least 2 keys.
 * - 'nearest': interp1d 'nearest' (ties go to the earlier key), 0 outside.
 * Interpolations other than 'zero' cannot use callables: as Nengo, they fall
 * back to 'zero' (recorded in `warnings`).
 */
export class Piecewise extends Process {
  readonly times: Float64Array;
  readonly values: ReadonlyArray<Float64Array | ((t: number) => number | ReadonlyArray<number>)>;
  readonly interpolation: PiecewiseInterpolation;
  readonly warnings: string[] = [];

  constructor(opts: PiecewiseOptions) {
    if (
      opts !== null &&
      typeof opts === 'object' &&
      !('data' in opts) &&
      Object.keys(opts).some((k) => k.trim() !== '' && Number.isFinite(Number(k)))
    ) {
      // Nengo's Piecewise takes the times positionally: Piecewise({0: 1, 0.5: 2})
      throw new ValidationError(`Piecewise: the times and values go in the option 'data', as in new Piecewise({ data: { 0: 1, 0.5: 2 } })`);
    }
    checkKnownOptions(opts, ['data', 'interpolation', 'seed'], 'Piecewise');
    if (opts === undefined || opts === null) throw new ValidationError(`Piecewise: options { data } are required`);
    const data = opts.data;
    if (typeof data !== 'object' || data === null) throw new ValidationError(`Piecewise: data must be an object mapping times to values`);
    const entries: Array<[number, PiecewiseValue]> = [];
    for (const [key, value] of Object.entries(data) as Array<[string, PiecewiseValue]>) {
      const time = Number(key);
      if (key.trim() === '' || !Number.isFinite(time)) {
        throw new ValidationError(`Piecewise: data keys must be times (finite numbers), got '${key}'`);
      }
      entries.push([time, value]);
    }
    if (entries.length === 0) throw new ValidationError(`Piecewise: data must have at least one entry`);
    entries.sort((a, b) => a[0] - b[0]);
    let size: number | undefined;
    const values: Array<Float64Array | ((t: number) => number | ReadonlyArray<number>)> = [];
    for (const [time, value] of entries) {
      let n: number;
      if (typeof value === 'function') {
        let y: number | ReadonlyArray<number>;
        try {
          y = value(time);
        } catch (e) {
          throw new ValidationError(
            `Piecewise: callable for time ${time} should return a number or array of numbers (it threw: ${e instanceof Error ? e.message : String(e)})`,
          );
        }
        n = toValues(y, `Piecewise: callable for time ${time}`).length;
        values.push(value);
      } else {
        const v = toValues(value, `Piecewise: value for time ${time}`);
        n = v.length;
        values.push(v);
      }
      if (size !== undefined && n !== size) {
        throw new ValidationError(`Piecewise: time ${time} has size ${n} instead of ${size}; all values must have the same size`);
      }
      size = n;
    }
    super(size!, opts.seed, 'Piecewise');
    let interp = opts.interpolation ?? 'zero';
    const allowed: readonly string[] = ['zero', 'linear', 'nearest', 'slinear', 'quadratic', 'cubic'];
    if (!allowed.includes(interp)) {
      throw new ValidationError(`Piecewise: interpolation '${String(interp)}' is unknown; use one of ${allowed.join(', ')}`);
    }
    if (interp !== 'zero' && values.some((v) => typeof v === 'function')) {
      this.warnings.push(
        `'${interp}' interpolation cannot be applied because a callable was supplied for some piece of the function. Using 'zero' interpolation instead.`,
      );
      interp = 'zero';
    }
    const least = interp === 'cubic' ? 4 : interp === 'quadratic' ? 3 : interp === 'zero' ? 0 : 2;
    if (interp !== 'nearest' && entries.length < least) {
      throw new ValidationError(`Piecewise: '${interp}' interpolation needs at least ${least} data points, got ${entries.length}`);
    }
    if (interp === 'cubic' && !entries.some((e) => e[0] === 0)) {
      // as Nengo warns
      this.warnings.push("'cubic' interpolation may fail if data not specified for t=0.0");
    }
    this.interpolation = interp;
    this.times = Float64Array.from(entries.map((e) => e[0]));
    this.values = values;
  }

  makeStep(sizeIn: number, sizeOut: number, dt: number, _rng: Rng): StepFn {
    checkSizes(sizeIn, sizeOut, 'Piecewise');
    checkDt(dt, 'Piecewise');
    const size = this.defaultSizeOut;
    if (sizeOut !== size) throw new ValidationError(`Piecewise: sizeOut (${sizeOut}) must equal the size of the values (${size})`);
    const tp = this.times;
    const yp = this.values;
    const K = tp.length;
    /** Number of keys < x (numpy searchsorted side='left'). */
    const countLess = (arr: Float64Array, x: number): number => {
      let lo = 0;
      let hi = arr.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (arr[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const write = (v: Float64Array | ((t: number) => number | ReadonlyArray<number>), t: number, out: Float64Array): void => {
      if (typeof v !== 'function') {
        for (let j = 0; j < size; j++) out[j] = v[j]!;
        return;
      }
      const y = v(t);
      if (typeof y === 'number') {
        if (size !== 1) throw new SimulationError(`Piecewise: callable returned 1 value at t=${t}, expected ${size}`);
        out[0] = y;
        return;
      }
      if (y.length !== size) throw new SimulationError(`Piecewise: callable returned ${y.length} values at t=${t}, expected ${size}`);
      for (let j = 0; j < size; j++) out[j] = y[j]!;
    };

    if (this.interpolation === 'zero') {
      return (t, _x, out) => {
        const ti = countLess(tp, t + 0.5 * dt) - 1;
        if (ti < 0) out.fill(0, 0, size);
        else write(yp[ti]!, t, out);
      };
    }
    const ys = yp as ReadonlyArray<Float64Array>;
    const t0 = tp[0]!;
    const t1 = tp[K - 1]!;
    if (this.interpolation === 'nearest') {
      // interp1d 'nearest': boundaries at midpoints, searchsorted(side='left')
      const bds = new Float64Array(K - 1);
      for (let k = 0; k + 1 < K; k++) bds[k] = (tp[k + 1]! + tp[k]!) / 2;
      return (t, _x, out) => {
        if (!(t >= t0 && t <= t1)) {
          out.fill(0, 0, size);
          return;
        }
        const k = Math.min(countLess(bds, t), K - 1);
        write(ys[k]!, t, out);
      };
    }
    if (this.interpolation === 'quadratic' || this.interpolation === 'cubic') {
      // interp1d's make_interp_spline, zero outside the data's times (as Nengo's fill_value)
      const y = new Float64Array(K * size);
      ys.forEach((v, k) => y.set(v, k * size));
      const spline = new InterpSpline(tp, y, size, this.interpolation === 'cubic' ? 3 : 2);
      return (t, _x, out) => {
        if (!(t >= t0 && t <= t1)) out.fill(0, 0, size);
        else spline.evaluate(t, out);
      };
    }
    // 'linear' / 'slinear': interp1d _call_linear
    return (t, _x, out) => {
      if (!(t >= t0 && t <= t1)) {
        out.fill(0, 0, size);
        return;
      }
      const hi = Math.min(Math.max(countLess(tp, t), 1), K - 1);
      const lo = hi - 1;
      const xl = tp[lo]!;
      const dx = tp[hi]! - xl;
      const yl = ys[lo]!;
      const yh = ys[hi]!;
      for (let j = 0; j < size; j++) out[j] = ((yh[j]! - yl[j]!) / dx) * (t - xl) + yl[j]!;
    };
  }

  toString(): string {
    return `Piecewise(${this.times.length} points, interpolation='${this.interpolation}')`;
  }
}
