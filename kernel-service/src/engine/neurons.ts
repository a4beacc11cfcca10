/**
 * Neuron types with Nengo's parameters, defaults and formulas.
 *
 * A neuron type knows (a) how to turn max rates and intercepts into gain and
 * bias, (b) its steady-state rate curve (used to solve for decoders), and
 * (c) its state variables and their initial distributions. The time-step
 * kernels live in `kernels/neurons.ts`, one monomorphic loop per type.
 */
import { Choice, Uniform, type Distribution } from './dists.js';
import { checkKnownOptions, ValidationError } from './errors.js';
import { lifActivitiesWasm, lifRatesWasm } from './kernels/rates-wasm.js';

export type NeuronKind =
  | 'LIF'
  | 'LIFRate'
  | 'AdaptiveLIF'
  | 'AdaptiveLIFRate'
  | 'RectifiedLinear'
  | 'SpikingRectifiedLinear'
  | 'Sigmoid'
  | 'Tanh'
  | 'Izhikevich'
  | 'RegularSpiking'
  | 'StochasticSpiking'
  | 'PoissonSpiking'
  | 'Direct';

export interface GainBias {
  gain: Float64Array;
  bias: Float64Array;
}

export abstract class NeuronType {
  abstract readonly kind: NeuronKind;
  /** True if the output is a train of spikes of height amplitude/dt. */
  abstract readonly spiking: boolean;
  /** Names of the per-neuron state variables (besides input and output), e.g. voltage. */
  readonly stateNames: readonly string[] = [];
  /** True where the output can be negative (Nengo's `negative`): Tanh. */
  readonly negative: boolean = false;
  /** True where rates() counts simulated spikes (Izhikevich): the builder then computes currents in Nengo's order. */
  readonly ratesCountSpikes: boolean = false;
  /** Attributes of its neurons a probe can record besides output and input: the states, and a wrapper's rateOut. */
  get probeable(): readonly string[] {
    return this.stateNames;
  }
  /** Default initial distribution of each state variable. */
  initialState(): Record<string, Distribution> {
    return {};
  }
  /** Gain and bias that give `maxRates` at x = 1 and rate 0 at x = intercept. */
  abstract gainBias(maxRates: Float64Array, intercepts: Float64Array): GainBias;
  /** Inverse of gainBias: the max rates and intercepts of given gains and biases. */
  abstract maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array };
  /** Steady-state firing rate (Hz, times amplitude) for each input current J, written into out. */
  abstract rates(J: Float64Array, out: Float64Array): void;
  /**
   * The rates at eval points x (m x d) of neurons with encoders enc (n x d,
   * scaled by gain) and bias, into out (m x n), in one pass: the builder's
   * currents then rates(), bit for bit. Returns the largest rate (the
   * solvers' max(A)), or undefined where a type has no such pass (then the
   * builder computes the currents and calls rates()).
   */
  ratesAt(
    _enc: Float64Array,
    _bias: Float64Array,
    _x: Float64Array,
    _m: number,
    _n: number,
    _d: number,
    _out: Float64Array,
  ): number | undefined {
    return undefined;
  }
  /** Parameters as a plain record, for summaries and cache keys. */
  abstract params(): Record<string, number>;
  toString(): string {
    const p = this.params();
    return `${this.kind}(${Object.entries(p)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')})`;
  }
}

function positive(value: number, name: string, type: string, allowZero = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ValidationError(`${type}: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  }
  return value;
}

function checkIntercepts(intercepts: Float64Array, type: string): void {
  for (let i = 0; i < intercepts.length; i++) {
    // below -1 is allowed, as in Nengo (the neuron is active over the whole radius)
    if (!(intercepts[i]! < 1)) {
      throw new ValidationError(
        `${type}: intercept ${intercepts[i]} of neuron ${i} must be less than 1 (an intercept of 1 or more means the neuron never fires inside the radius)`,
      );
    }
  }
}

export interface LIFOptions {
  tauRc?: number;
  tauRef?: number;
  minVoltage?: number;
  amplitude?: number;
}

/** Leaky integrate-and-fire rate curve: r(J) = 1 / (tau_ref + tau_rc * log1p(1 / (J - 1))) for J > 1, else 0. */
export class LIFRate extends NeuronType {
  readonly kind: NeuronKind = 'LIFRate';
  readonly spiking: boolean = false;
  readonly tauRc: number;
  readonly tauRef: number;
  readonly amplitude: number;
  /** The options each class takes (its constructor's, checked there). */
  static readonly optionNames: readonly string[] = ['tauRc', 'tauRef', 'amplitude'];
  constructor(opts: LIFOptions = {}) {
    super();
    // an unknown option (tau_rc, initialState) would otherwise fall back to the default unnoticed
    const cls = new.target as unknown as { optionNames: readonly string[]; name: string };
    checkKnownOptions(opts, cls.optionNames, cls.name);
    this.tauRc = positive(opts.tauRc ?? 0.02, 'tauRc', cls.name);
    this.tauRef = positive(opts.tauRef ?? 0.002, 'tauRef', cls.name, true);
    this.amplitude = positive(opts.amplitude ?? 1, 'amplitude', cls.name);
  }
  gainBias(maxRates: Float64Array, intercepts: Float64Array): GainBias {
    checkIntercepts(intercepts, this.kind);
    const n = maxRates.length;
    const gain = new Float64Array(n);
    const bias = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = maxRates[i]!;
      if (!(r > 0) || r * this.tauRef >= 1) {
        throw new ValidationError(
          `${this.kind}: max rate ${r} Hz of neuron ${i} is impossible with tauRef = ${this.tauRef} s (must be below ${1 / this.tauRef} Hz)`,
        );
      }
      // J_max = 1 / (1 - exp((tau_ref - 1/max_rate) / tau_rc)); gain = (J_max - 1) / (1 - intercept)
      const jMax = 1 / -Math.expm1((this.tauRef - 1 / r) / this.tauRc);
      gain[i] = (jMax - 1) / (1 - intercepts[i]!);
      bias[i] = 1 - gain[i]! * intercepts[i]!;
    }
    return { gain, bias };
  }
  maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    const n = gain.length;
    const intercepts = new Float64Array(n);
    const J = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      intercepts[i] = (1 - bias[i]!) / gain[i]!;
      J[i] = gain[i]! + bias[i]!;
    }
    const maxRates = new Float64Array(n);
    this.rates(J, maxRates);
    for (let i = 0; i < n; i++) maxRates[i] = maxRates[i]! / this.amplitude;
    return { maxRates, intercepts };
  }
  rates(J: Float64Array, out: Float64Array): void {
    const { tauRc, tauRef, amplitude } = this;
    // the activity matrices of decoder solves: in WebAssembly, the same bits (kernels/rates-wasm.ts)
    if (lifRatesWasm(J, out, tauRc, tauRef, amplitude)) return;
    for (let i = 0; i < J.length; i++) {
      const j = J[i]! - 1;
      out[i] = j > 0 ? amplitude / (tauRef + tauRc * Math.log1p(1 / j)) : 0;
    }
  }
  override ratesAt(
    enc: Float64Array,
    bias: Float64Array,
    x: Float64Array,
    m: number,
    n: number,
    d: number,
    out: Float64Array,
  ): number | undefined {
    // a subclass with a rate curve of its own gets it (the builder then calls its rates())
    if (this.rates !== LIFRate.prototype.rates) return undefined;
    return lifActivitiesWasm(enc, bias, x, m, n, d, out, this.tauRc, this.tauRef, this.amplitude);
  }
  params(): Record<string, number> {
    return { tauRc: this.tauRc, tauRef: this.tauRef, amplitude: this.amplitude };
  }
}

/**
 * Spiking leaky integrate-and-fire neuron, integrated exactly within the step
 * (Nengo's LIF): the voltage relaxes towards J with time constant tau_rc over
 * the part of the step not spent refractory; a spike's time inside the step
 * is interpolated, and the refractory period is measured from it.
 */
export class LIF extends LIFRate {
  override readonly kind: NeuronKind = 'LIF';
  override readonly spiking: boolean = true;
  override readonly stateNames: readonly string[] = ['voltage', 'refractoryTime'];
  static override readonly optionNames: readonly string[] = ['tauRc', 'tauRef', 'minVoltage', 'amplitude'];
  readonly minVoltage: number;
  constructor(opts: LIFOptions = {}) {
    super(opts);
    this.minVoltage = opts.minVoltage ?? 0;
    // -Infinity: no floor (Nengo allows it)
    if (typeof this.minVoltage !== 'number' || Number.isNaN(this.minVoltage) || this.minVoltage > 0) {
      throw new ValidationError(`${new.target.name}: minVoltage must be a number <= 0 (or -Infinity), got ${String(opts.minVoltage)}`);
    }
  }
  override initialState(): Record<string, Distribution> {
    return { voltage: new Uniform(0, 1), refractoryTime: new Choice([0]) };
  }
  override params(): Record<string, number> {
    return { ...super.params(), minVoltage: this.minVoltage };
  }
}

export interface AdaptiveLIFOptions extends LIFOptions {
  /** Time constant of the adaptation, s (Nengo's tau_n; default 1). */
  tauN?: number;
  /** Increment of the adaptation per unit of output, times tauN (Nengo's inc_n; default 0.01). */
  incN?: number;
}

function adaptation(opts: AdaptiveLIFOptions, type: string): { tauN: number; incN: number } {
  const tauN = opts.tauN ?? 1;
  // Infinity: adaptation that never changes from its initial value (Nengo allows it)
  if (typeof tauN !== 'number' || !(tauN > 0))
    throw new ValidationError(`${type}: tauN must be a positive number (or Infinity), got ${String(tauN)}`);
  return { tauN, incN: positive(opts.incN ?? 0.01, 'incN', type, true) };
}

/**
 * LIFRate with adaptation (Nengo's AdaptiveLIFRate): the state n is
 * subtracted from the input current, and each step
 *   n += (dt / tau_n) * (inc_n * output - n)
 * after the rate of J - n is computed. Decoders are solved with the
 * unadapted LIF rate curve, as in Nengo.
 */
export class AdaptiveLIFRate extends LIFRate {
  override readonly kind: NeuronKind = 'AdaptiveLIFRate';
  override readonly stateNames: readonly string[] = ['adaptation'];
  static override readonly optionNames: readonly string[] = ['tauN', 'incN', 'tauRc', 'tauRef', 'amplitude'];
  readonly tauN: number;
  readonly incN: number;
  constructor(opts: AdaptiveLIFOptions = {}) {
    super(opts);
    ({ tauN: this.tauN, incN: this.incN } = adaptation(opts, new.target.name));
  }
  override initialState(): Record<string, Distribution> {
    return { adaptation: new Choice([0]) };
  }
  override params(): Record<string, number> {
    return { tauN: this.tauN, incN: this.incN, ...super.params() };
  }
}

/**
 * Spiking LIF with adaptation (Nengo's AdaptiveLIF): LIF's step on J - n,
 * then n += (dt / tau_n) * (inc_n * output - n), so each spike (output
 * amplitude / dt) raises n by about inc_n * amplitude / tau_n and n decays
 * with time constant tau_n. Decoders are solved with LIF's rate curve, as in
 * Nengo.
 */
export class AdaptiveLIF extends LIF {
  override readonly kind: NeuronKind = 'AdaptiveLIF';
  override readonly stateNames: readonly string[] = ['voltage', 'refractoryTime', 'adaptation'];
  static override readonly optionNames: readonly string[] = ['tauN', 'incN', 'tauRc', 'tauRef', 'minVoltage', 'amplitude'];
  readonly tauN: number;
  readonly incN: number;
  constructor(opts: AdaptiveLIFOptions = {}) {
    super(opts);
    ({ tauN: this.tauN, incN: this.incN } = adaptation(opts, new.target.name));
  }
  override initialState(): Record<string, Distribution> {
    return { ...super.initialState(), adaptation: new Choice([0]) };
  }
  override params(): Record<string, number> {
    return { tauN: this.tauN, incN: this.incN, ...super.params() };
  }
}

export interface IzhikevichOptions {
  /** Time constant of the recovery variable, s (Izhikevich's a, times 1000; Nengo's default 0.02). */
  tauRecovery?: number;
  /** Sensitivity of the recovery to the voltage (Izhikevich's b; default 0.2). */
  coupling?: number;
  /** Voltage after a spike, mV (Izhikevich's c; default -65). */
  resetVoltage?: number;
  /** Added to the recovery at a spike (Izhikevich's d; default 8). */
  resetRecovery?: number;
}

/** Steps of Nengo's settled_firingrate for Izhikevich.rates: dt = 1 ms, one step to settle, then 1 s counted. */
const IZH_RATE_DT = 0.001,
  IZH_SETTLE_STEPS = 1,
  IZH_RATE_STEPS = 1000;

/**
 * Izhikevich's simple model (Izhikevich 2003), as Nengo's Izhikevich: with
 * J clipped below at -30, each step
 *   v += 1000 (0.04 v^2 + 5 v + 140 - u + J) dt
 *   spike where v >= 30 (output 1/dt), and there v = reset_voltage
 *   u += 1000 tau_recovery (coupling v - u) dt, plus reset_recovery where it spiked
 * (the reset before the recovery update, as Nengo's). Its rate curve has no
 * closed form: rates count the spikes of a second simulated from rest at
 * dt = 1 ms after one settling step (Nengo's settled_firingrate), and gain
 * and bias come from that curve on a grid of currents, as Nengo's default
 * NeuronType.gain_bias; so builds of large Izhikevich ensembles simulate
 * every eval point for a second to solve decoders, as Nengo does.
 */
export class Izhikevich extends NeuronType {
  readonly kind: NeuronKind = 'Izhikevich';
  readonly spiking: boolean = true;
  override readonly ratesCountSpikes: boolean = true;
  override readonly stateNames: readonly string[] = ['voltage', 'recovery'];
  readonly tauRecovery: number;
  readonly coupling: number;
  readonly resetVoltage: number;
  readonly resetRecovery: number;
  constructor(opts: IzhikevichOptions = {}) {
    super();
    checkKnownOptions(opts, ['tauRecovery', 'coupling', 'resetVoltage', 'resetRecovery'], 'Izhikevich');
    this.tauRecovery = positive(opts.tauRecovery ?? 0.02, 'tauRecovery', 'Izhikevich');
    this.coupling = positive(opts.coupling ?? 0.2, 'coupling', 'Izhikevich', true);
    this.resetVoltage = finite(opts.resetVoltage ?? -65, 'resetVoltage');
    this.resetRecovery = finite(opts.resetRecovery ?? 8, 'resetRecovery');
  }
  override initialState(): Record<string, Distribution> {
    return { voltage: new Uniform(0, 1), recovery: new Choice([0]) };
  }
  /** Nengo's NeuronType.gain_bias: the rate curve on grids of currents, interpolated at each max rate. */
  gainBias(maxRates: Float64Array, intercepts: Float64Array): GainBias {
    checkIntercepts(intercepts, this.kind);
    const STEPS = 101; // odd, so that 0 is on the grid
    let maxRate = -Infinity;
    for (let i = 0; i < maxRates.length; i++) maxRate = Math.max(maxRate, maxRates[i]!);
    let jThreshold: number | undefined, jMax: number | undefined;
    const rate = new Float64Array(STEPS);
    for (let round = 0, jr = 10; round < 10 && (jThreshold === undefined || jMax === undefined); round++, jr *= 2) {
      const J = linspace(-jr, jr, STEPS);
      this.rates(J, rate);
      if (jThreshold === undefined) {
        for (let k = STEPS - 1; k >= 0; k--)
          if (rate[k]! <= 0) {
            jThreshold = J[k]!;
            break;
          }
      }
      if (jMax === undefined) {
        for (let k = 0; k < STEPS; k++)
          if (rate[k]! >= maxRate) {
            jMax = J[k]!;
            break;
          }
      }
    }
    if (jThreshold === undefined)
      throw new ValidationError('Izhikevich: could not find the firing threshold (no current down to -5120 gives rate 0)');
    if (jMax === undefined)
      throw new ValidationError(
        `Izhikevich: could not find a current that gives the max rate ${maxRate} Hz (up to 5120): lower the max rates`,
      );
    const J = linspace(jThreshold, jMax, STEPS);
    this.rates(J, rate);
    const n = maxRates.length;
    const gain = new Float64Array(n),
      bias = new Float64Array(n);
    const jTops = npInterp(maxRates, rate, J); // in neuron order: numpy's search starts from the previous neuron's interval
    for (let i = 0; i < n; i++) {
      const jTop = jTops[i]!;
      gain[i] = (jThreshold - jTop) / (intercepts[i]! - 1);
      bias[i] = jTop - gain[i]!;
    }
    return { gain, bias };
  }
  /** Nengo's NeuronType.max_rates_intercepts: the rate at x = 1, and the last x of -1, -0.98, ..., 1 before firing starts. */
  maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    const n = gain.length;
    const J = new Float64Array(n);
    for (let i = 0; i < n; i++) J[i] = gain[i]! + bias[i]!;
    const maxRates = new Float64Array(n);
    this.rates(J, maxRates);
    const xs = linspace(-1, 1, 101);
    const Jx = new Float64Array(xs.length * n);
    for (let k = 0; k < xs.length; k++) for (let i = 0; i < n; i++) Jx[k * n + i] = gain[i]! * xs[k]! + bias[i]!;
    const r = new Float64Array(Jx.length);
    this.rates(Jx, r);
    const intercepts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let first = 0; // np.argmax: the first x that fires, 0 if none does
      while (first < xs.length && !(r[first * n + i]! > 0)) first++;
      if (first === xs.length) first = 0;
      intercepts[i] = xs[Math.max(first - 1, 0)]!;
    }
    return { maxRates, intercepts };
  }
  /** Spikes counted over a second simulated from rest (v = u = 0) at dt = 1 ms, after one settling step: Hz. */
  rates(J: Float64Array, out: Float64Array): void {
    const { tauRecovery, coupling, resetVoltage, resetRecovery } = this;
    const dt = IZH_RATE_DT;
    for (let i = 0; i < J.length; i++) {
      const j = Math.max(-30, J[i]!);
      let v = 0,
        u = 0,
        total = 0;
      for (let s = 0; s < IZH_SETTLE_STEPS + IZH_RATE_STEPS; s++) {
        v += (0.04 * (v * v) + 5 * v + 140 - u + j) * 1000 * dt;
        const spiked = v >= 30;
        if (spiked) v = resetVoltage;
        u += tauRecovery * (coupling * v - u) * 1000 * dt;
        if (spiked) {
          u += resetRecovery;
          if (s >= IZH_SETTLE_STEPS) total += 1 / dt;
        }
      }
      out[i] = total / IZH_RATE_STEPS;
    }
  }
  params(): Record<string, number> {
    return { tauRecovery: this.tauRecovery, coupling: this.coupling, resetVoltage: this.resetVoltage, resetRecovery: this.resetRecovery };
  }
}

function finite(v: number, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValidationError(`Izhikevich: ${name} must be a finite number, got ${String(v)}`);
  return v;
}

/** np.linspace(a, b, n): a + k * (b - a) / (n - 1), with the last point exactly b. */
function linspace(a: number, b: number, n: number): Float64Array {
  const out = new Float64Array(n);
  const step = (b - a) / (n - 1);
  for (let k = 0; k < n; k++) out[k] = a + k * step;
  out[n - 1] = b;
  return out;
}

/**
 * np.interp(xs, xp, fp) as numpy computes it (its C arr_interp), also where
 * xp is not increasing (an Izhikevich rate curve at low rates), where the
 * answer depends on the search: for each x in turn, a bisection that first
 * tries the interval found for the previous x and its neighbours
 * (binary_search_with_guess), then fp linear on the interval found, fp[0]
 * left of xp[0] and fp[last] right of xp[last] or at the last point.
 */
function npInterp(xs: Float64Array, xp: Float64Array, fp: Float64Array): Float64Array {
  const len = xp.length;
  const out = new Float64Array(xs.length);
  let j = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (Number.isNaN(x)) {
      out[i] = x;
      continue;
    }
    j = searchWithGuess(x, xp, len, j);
    if (j === -1) out[i] = fp[0]!;
    else if (j === len) out[i] = fp[len - 1]!;
    else if (j === len - 1) out[i] = fp[j]!;
    else if (xp[j] === x) out[i] = fp[j]!;
    else {
      const slope = (fp[j + 1]! - fp[j]!) / (xp[j + 1]! - xp[j]!);
      let y = slope * (x - xp[j]!) + fp[j]!;
      // NaN from one side: numpy tries the other, then a flat segment's value
      if (Number.isNaN(y)) {
        y = slope * (x - xp[j + 1]!) + fp[j + 1]!;
        if (Number.isNaN(y) && fp[j] === fp[j + 1]) y = fp[j]!;
      }
      out[i] = y;
    }
  }
  return out;
}

/** numpy's binary_search_with_guess: the i with arr[i] <= key < arr[i + 1] for sorted arr (-1 left of it, len right of it). */
function searchWithGuess(key: number, arr: Float64Array, len: number, guess: number): number {
  const CACHE = 8; // numpy's LIKELY_IN_CACHE_SIZE
  let imin = 0,
    imax = len;
  if (key > arr[len - 1]!) return len;
  if (key < arr[0]!) return -1;
  if (len <= 4) {
    let i = 1;
    while (i < len && key >= arr[i]!) i++;
    return i - 1;
  }
  if (guess > len - 3) guess = len - 3;
  if (guess < 1) guess = 1;
  if (key < arr[guess]!) {
    if (key < arr[guess - 1]!) {
      imax = guess - 1;
      if (guess > CACHE && key >= arr[guess - CACHE]!) imin = guess - CACHE;
    } else return guess - 1;
  } else {
    if (key < arr[guess + 1]!) return guess;
    if (key < arr[guess + 2]!) return guess + 1;
    imin = guess + 2;
    if (guess < len - CACHE - 1 && key < arr[guess + CACHE]!) imax = guess + CACHE;
  }
  while (imin < imax) {
    const imid = imin + ((imax - imin) >> 1);
    if (key >= arr[imid]!) imin = imid + 1;
    else imax = imid;
  }
  return imin - 1;
}

/** Rectified linear rate neuron: r(J) = amplitude * max(J, 0). */
export class RectifiedLinear extends NeuronType {
  readonly kind: NeuronKind = 'RectifiedLinear';
  readonly spiking: boolean = false;
  readonly amplitude: number;
  constructor(opts: { amplitude?: number } = {}) {
    super();
    checkKnownOptions(opts, ['amplitude'], new.target.name);
    this.amplitude = positive(opts.amplitude ?? 1, 'amplitude', 'RectifiedLinear');
  }
  gainBias(maxRates: Float64Array, intercepts: Float64Array): GainBias {
    checkIntercepts(intercepts, this.kind);
    const n = maxRates.length;
    const gain = new Float64Array(n);
    const bias = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      // gain = max_rate / (1 - intercept); bias = -intercept * gain
      gain[i] = maxRates[i]! / (1 - intercepts[i]!);
      bias[i] = -intercepts[i]! * gain[i]!;
    }
    return { gain, bias };
  }
  maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    const n = gain.length;
    const maxRates = new Float64Array(n);
    const intercepts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      intercepts[i] = -bias[i]! / gain[i]!;
      maxRates[i] = gain[i]! + bias[i]!;
    }
    return { maxRates, intercepts };
  }
  rates(J: Float64Array, out: Float64Array): void {
    for (let i = 0; i < J.length; i++) out[i] = this.amplitude * Math.max(J[i]!, 0);
  }
  params(): Record<string, number> {
    return { amplitude: this.amplitude };
  }
}

/** Spiking version of RectifiedLinear: integrate J, emit floor(v) spikes, keep the remainder. */
export class SpikingRectifiedLinear extends RectifiedLinear {
  override readonly kind: NeuronKind = 'SpikingRectifiedLinear';
  override readonly spiking: boolean = true;
  override readonly stateNames: readonly string[] = ['voltage'];
  override initialState(): Record<string, Distribution> {
    return { voltage: new Uniform(0, 1) };
  }
}

/**
 * A rate neuron bounded by 1 / tau_ref (Sigmoid, Tanh): gain and bias put
 * J = jMax(max_rate * tau_ref) at x = 1 and the intercept where each type
 * puts it; the formulas per type are Nengo's, to its rounding.
 */
abstract class BoundedRate extends NeuronType {
  readonly spiking: boolean = false;
  readonly tauRef: number;
  constructor(opts: { tauRef?: number }, cls: string) {
    super();
    checkKnownOptions(opts, ['tauRef'], cls);
    this.tauRef = positive(opts.tauRef ?? 0.0025, 'tauRef', cls);
  }
  /** The current that gives a rate of x / tau_ref (0 < x < 1). */
  protected abstract jMax(x: number): number;
  /** The bias of a neuron with this gain, jMax and intercept. */
  protected abstract biasOf(gain: number, jMax: number, intercept: number): number;
  gainBias(maxRates: Float64Array, intercepts: Float64Array): GainBias {
    checkIntercepts(intercepts, this.kind);
    const n = maxRates.length;
    const gain = new Float64Array(n);
    const bias = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = maxRates[i]!;
      if (!(r > 0) || r * this.tauRef >= 1) {
        throw new ValidationError(`${this.kind}: max rate ${r} Hz of neuron ${i} must be in (0, 1/tauRef = ${1 / this.tauRef})`);
      }
      const j = this.jMax(this.tauRef * r);
      gain[i] = j / (1 - intercepts[i]!);
      bias[i] = this.biasOf(gain[i]!, j, intercepts[i]!);
    }
    return { gain, bias };
  }
  params(): Record<string, number> {
    return { tauRef: this.tauRef };
  }
}

/** Sigmoid rate neuron: r(J) = (1 / tau_ref) / (1 + exp(-J)). */
export class Sigmoid extends BoundedRate {
  readonly kind: NeuronKind = 'Sigmoid';
  constructor(opts: { tauRef?: number } = {}) {
    super(opts, new.target.name);
  }
  // jMax = -ln(1/(tau_ref*max_rate) - 1); gain = jMax / (1 - intercept); bias = jMax - gain
  protected jMax(x: number): number {
    return -Math.log(1 / x - 1);
  }
  protected biasOf(gain: number, jMax: number): number {
    return jMax - gain;
  }
  maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    const n = gain.length;
    const maxRates = new Float64Array(n);
    const intercepts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const inv = gain[i]! + bias[i]!;
      intercepts[i] = 1 - inv / gain[i]!;
      maxRates[i] = 1 / (this.tauRef * (1 + Math.exp(-inv)));
    }
    return { maxRates, intercepts };
  }
  rates(J: Float64Array, out: Float64Array): void {
    const k = 1 / this.tauRef;
    for (let i = 0; i < J.length; i++) out[i] = k / (1 + Math.exp(-J[i]!));
  }
}

/**
 * Hyperbolic tangent rate neuron (Nengo's Tanh): r(J) = (1 / tau_ref) tanh(J),
 * negative for negative J (it is not rectified).
 */
export class Tanh extends BoundedRate {
  readonly kind: NeuronKind = 'Tanh';
  override readonly negative: boolean = true;
  constructor(opts: { tauRef?: number } = {}) {
    super(opts, new.target.name);
  }
  // gain = atanh(max_rate * tau_ref) / (1 - intercept); bias = -gain * intercept
  protected jMax(x: number): number {
    return Math.atanh(x);
  }
  protected biasOf(gain: number, _jMax: number, intercept: number): number {
    return -gain * intercept;
  }
  maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    const n = gain.length;
    const maxRates = new Float64Array(n);
    const intercepts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      intercepts[i] = -bias[i]! / gain[i]!;
      maxRates[i] = Math.tanh(gain[i]! + bias[i]!) / this.tauRef;
    }
    return { maxRates, intercepts };
  }
  rates(J: Float64Array, out: Float64Array): void {
    const k = 1 / this.tauRef;
    for (let i = 0; i < J.length; i++) out[i] = k * Math.tanh(J[i]!);
  }
}

/**
 * Spiking from a rate type (Nengo's RatesToSpikesNeuronType): the base type
 * computes a rate from the input current each step (probeable as
 * `rateOut`), and the wrapper turns it into spikes of height amplitude / dt.
 * Gains, biases and decoders are the base type's.
 */
export abstract class RatesToSpikes extends NeuronType {
  readonly spiking: boolean = true;
  readonly baseType: NeuronType;
  readonly amplitude: number;
  override readonly negative: boolean;
  /** The wrapper's own states, then the base type's. */
  override readonly stateNames: readonly string[];
  /** ownStates: the wrapper's own state variables. */
  protected constructor(baseType: NeuronType, opts: { amplitude?: number }, ownStates: readonly string[]) {
    super();
    const cls = new.target.name;
    checkKnownOptions(opts, ['amplitude'], cls);
    if (!(baseType instanceof NeuronType) || baseType.kind === 'Direct' || baseType instanceof RatesToSpikes) {
      throw new ValidationError(`${cls}: the base type must be a rate neuron type such as new LIFRate(), got ${String(baseType)}`);
    }
    if (baseType.spiking) {
      // Nengo warns and runs it; its spikes as a rate are not what anyone means
      throw new ValidationError(`${cls}: the base type ${baseType.kind} spikes already; give its rate type (e.g. LIFRate for LIF)`);
    }
    this.baseType = baseType;
    this.amplitude = positive(opts.amplitude ?? 1, 'amplitude', cls);
    this.negative = baseType.negative;
    this.stateNames = [...ownStates, ...baseType.stateNames];
  }
  override get probeable(): readonly string[] {
    return [...this.stateNames, 'rateOut'];
  }
  override initialState(): Record<string, Distribution> {
    return { ...this.baseType.initialState() };
  }
  gainBias(maxRates: Float64Array, intercepts: Float64Array): GainBias {
    return this.baseType.gainBias(maxRates, intercepts);
  }
  maxRatesIntercepts(gain: Float64Array, bias: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    return this.baseType.maxRatesIntercepts(gain, bias);
  }
  rates(J: Float64Array, out: Float64Array): void {
    this.baseType.rates(J, out);
  }
  override ratesAt(
    enc: Float64Array,
    bias: Float64Array,
    x: Float64Array,
    m: number,
    n: number,
    d: number,
    out: Float64Array,
  ): number | undefined {
    return this.baseType.ratesAt(enc, bias, x, m, n, d, out);
  }
  params(): Record<string, number> {
    return { amplitude: this.amplitude };
  }
  override toString(): string {
    return `${this.kind}(${this.baseType.toString()}, amplitude=${this.amplitude})`;
  }
}

/**
 * Regular spikes at the base type's rate (Nengo's RegularSpiking):
 *   v += dt * rate;  n = floor(v);  output = amplitude / dt * n;  v -= n.
 */
export class RegularSpiking extends RatesToSpikes {
  readonly kind: NeuronKind = 'RegularSpiking';
  constructor(baseType: NeuronType, opts: { amplitude?: number } = {}) {
    super(baseType, opts, ['voltage']);
  }
  override initialState(): Record<string, Distribution> {
    return { voltage: new Uniform(0, 1), ...super.initialState() };
  }
}

/**
 * Spikes at the base type's rate, the fraction of a spike a step drawn at
 * random (Nengo's StochasticSpiking): n = floor(dt * rate) plus one with
 * probability frac(dt * rate) (of |rate|, with its sign, for a negative type).
 */
export class StochasticSpiking extends RatesToSpikes {
  readonly kind: NeuronKind = 'StochasticSpiking';
  constructor(baseType: NeuronType, opts: { amplitude?: number } = {}) {
    super(baseType, opts, []);
  }
}

/** Poisson spike counts with mean dt * rate each step (Nengo's PoissonSpiking; |rate| with its sign, for a negative type). */
export class PoissonSpiking extends RatesToSpikes {
  readonly kind: NeuronKind = 'PoissonSpiking';
  constructor(baseType: NeuronType, opts: { amplitude?: number } = {}) {
    super(baseType, opts, []);
  }
}

/**
 * Direct mode: no neurons; the ensemble represents its input exactly and its
 * connections compute their functions exactly (Nengo's Direct). The yardstick
 * for decoded accuracy.
 */
export class Direct extends NeuronType {
  readonly kind: NeuronKind = 'Direct';
  readonly spiking: boolean = false;
  gainBias(maxRates: Float64Array): GainBias {
    return { gain: new Float64Array(maxRates.length), bias: new Float64Array(maxRates.length) };
  }
  maxRatesIntercepts(gain: Float64Array): { maxRates: Float64Array; intercepts: Float64Array } {
    return { maxRates: new Float64Array(gain.length), intercepts: new Float64Array(gain.length) };
  }
  rates(J: Float64Array, out: Float64Array): void {
    out.set(J);
  }
  params(): Record<string, number> {
    return {};
  }
}
