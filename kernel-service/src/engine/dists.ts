/**
 * Probability distributions for sampling ensemble parameters, encoders and
 * evaluation points, following `nengo/dists.py` (Nengo 4.1): the same
 * classes, parameters, defaults and sampling methods. Samples come from
 * nefsim's own generator (`Rng`), so values differ from NumPy's while the
 * distributions are the same.
 *
 * Arrays are flat Float64Arrays; an n×d sample is row-major (row i is sample i).
 */
import { ValidationError } from './errors.js';
import { NotPositiveDefiniteError, choleskyFactor, gramNT, matmulNT, solveLower, transpose } from './linalg.js';
import type { Rng } from './rng.js';

export interface Distribution {
  /** n samples; with d given, an n×d row-major array (d columns). */
  sample(n: number, d: number | undefined, rng: Rng): Float64Array;
  /** Short description, e.g. "Uniform(low=-1, high=0.9)" (used in cache keys and summaries). */
  toString(): string;
}

// ---------------------------------------------------------------------------
// helpers

function fmt(x: number): string {
  return Object.is(x, -0) ? '0' : String(x);
}

function fmtArray(a: ArrayLike<number>): string {
  return `[${Array.from(a, fmt).join(', ')}]`;
}

function checkNumber(x: unknown, what: string, cls: string): number {
  if (typeof x !== 'number' || Number.isNaN(x)) {
    throw new ValidationError(`${cls}: ${what} must be a number, got ${String(x)}`);
  }
  return x;
}

function checkFinite(x: unknown, what: string, cls: string): number {
  const v = checkNumber(x, what, cls);
  if (!Number.isFinite(v)) throw new ValidationError(`${cls}: ${what} must be finite, got ${v}`);
  return v;
}

function checkBool(x: unknown, what: string, cls: string): boolean {
  if (typeof x !== 'boolean') throw new ValidationError(`${cls}: ${what} must be true or false, got ${String(x)}`);
  return x;
}

function checkOptions(opts: object | undefined, allowed: readonly string[], cls: string): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null) throw new ValidationError(`${cls}: options must be an object`);
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) {
      throw new ValidationError(`${cls}: unknown option '${k}' (known options: ${allowed.join(', ')})`);
    }
  }
}

/** Validates n (and d) and returns the number of values to produce. */
function sampleSize(n: number, d: number | undefined, cls: string): number {
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`${cls}.sample: n must be a non-negative integer, got ${n}`);
  if (d === undefined) return n;
  if (!Number.isInteger(d) || d < 1) throw new ValidationError(`${cls}.sample: d must be a positive integer, got ${d}`);
  return n * d;
}

/** d for distributions that need one (Nengo: "Dimensions must be a positive integer"). */
function requireD(n: number, d: number | undefined, cls: string): number {
  if (d === undefined) throw new ValidationError(`${cls}.sample: dimensions d must be a positive integer, got undefined`);
  sampleSize(n, d, cls);
  return d;
}

// ---------------------------------------------------------------------------
// Simple distributions

/**
 * Uniform on [low, high) (Nengo `Uniform`; as in Nengo the order of low and
 * high does not matter for real values). With `integer`, uniform over the
 * integers low, …, high - 1.
 */
export class Uniform implements Distribution {
  readonly low: number;
  readonly high: number;
  readonly integer: boolean;

  constructor(low: number, high: number, integer = false) {
    this.low = checkFinite(low, 'low', 'Uniform');
    this.high = checkFinite(high, 'high', 'Uniform');
    this.integer = checkBool(integer, 'integer', 'Uniform');
    if (integer) {
      if (!Number.isInteger(low) || !Number.isInteger(high)) {
        throw new ValidationError(`Uniform: with integer=true, low and high must be integers, got ${low} and ${high}`);
      }
      if (high <= low) throw new ValidationError(`Uniform: with integer=true, high (${high}) must be > low (${low})`);
    }
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const out = new Float64Array(sampleSize(n, d, 'Uniform'));
    const { low, high } = this;
    if (this.integer) {
      const span = high - low;
      for (let i = 0; i < out.length; i++) out[i] = low + rng.integer(span);
    } else {
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(low, high);
    }
    return out;
  }

  toString(): string {
    return `Uniform(low=${fmt(this.low)}, high=${fmt(this.high)}${this.integer ? ', integer=true' : ''})`;
  }
}

/** Gaussian with the given mean and standard deviation (std > 0). */
export class Gaussian implements Distribution {
  readonly mean: number;
  readonly std: number;

  constructor(mean: number, std: number) {
    this.mean = checkFinite(mean, 'mean', 'Gaussian');
    this.std = checkFinite(std, 'std', 'Gaussian');
    if (!(std > 0)) throw new ValidationError(`Gaussian: std must be > 0, got ${std}`);
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const out = new Float64Array(sampleSize(n, d, 'Gaussian'));
    for (let i = 0; i < out.length; i++) out[i] = this.mean + this.std * rng.normal();
    return out;
  }

  toString(): string {
    return `Gaussian(mean=${fmt(this.mean)}, std=${fmt(this.std)})`;
  }
}

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

/** The largest double below x (NumPy's nextafter(x, -inf)). */
function nextDown(x: number): number {
  if (Number.isNaN(x) || x === -Infinity) return x;
  if (x === Infinity) return Number.MAX_VALUE;
  if (x === 0) return -Number.MIN_VALUE;
  f64[0] = x;
  i64[0] = x > 0 ? i64[0]! - 1n : i64[0]! + 1n;
  return f64[0];
}

/**
 * Exponential with the given scale (1/rate), shifted by `shift`, with values
 * at or above `high` clipped to just below `high` (Nengo `Exponential`:
 * x = scale · Exp(1) + shift, clipped to [shift, nextafter(high, -inf)]).
 */
export class Exponential implements Distribution {
  readonly scale: number;
  readonly shift: number;
  readonly high: number;

  constructor(scale: number, shift = 0, high = Infinity) {
    this.scale = checkFinite(scale, 'scale', 'Exponential');
    if (!(scale > 0)) throw new ValidationError(`Exponential: scale must be > 0, got ${scale}`);
    this.shift = checkFinite(shift, 'shift', 'Exponential');
    this.high = checkNumber(high, 'high', 'Exponential');
    if (!(high > shift)) throw new ValidationError(`Exponential: high (${high}) must be > shift (${shift})`);
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const out = new Float64Array(sampleSize(n, d, 'Exponential'));
    const hi = nextDown(this.high);
    for (let i = 0; i < out.length; i++) {
      const x = -this.scale * Math.log(1 - rng.random()) + this.shift; // 1 - U ∈ (0, 1]
      out[i] = x < this.shift ? this.shift : x > hi ? hi : x;
    }
    return out;
  }

  toString(): string {
    const parts = [`scale=${fmt(this.scale)}`];
    if (this.shift !== 0) parts.push(`shift=${fmt(this.shift)}`);
    if (this.high !== Infinity) parts.push(`high=${fmt(this.high)}`);
    return `Exponential(${parts.join(', ')})`;
  }
}

/**
 * Discrete distribution over `options` (Nengo `Choice`): each sample is one
 * option, picked with probability proportional to `weights` (uniform when
 * omitted). Options are numbers (sample with d undefined) or rows of equal
 * length (sample with d equal to that length).
 */
export class Choice implements Distribution {
  /** Options, flat: nOptions × dimensions (dimensions 0 means scalar options). */
  readonly options: Float64Array;
  readonly nOptions: number;
  /** Length of each option row; 0 for scalar options (as Nengo). */
  readonly dimensions: number;
  readonly weights: Float64Array | undefined;
  /** Normalised cumulative probabilities. */
  private readonly cdf: Float64Array;

  constructor(options: ArrayLike<number> | ArrayLike<ArrayLike<number>>, weights?: ArrayLike<number>) {
    if (options === null || typeof options !== 'object' || typeof options.length !== 'number') {
      throw new ValidationError(`Choice: options must be an array of numbers or of equal-length rows`);
    }
    const N = options.length;
    if (N === 0) throw new ValidationError('Choice: options must not be empty');
    const first: unknown = options[0];
    if (typeof first === 'number') {
      this.dimensions = 0;
      this.options = new Float64Array(N);
      for (let i = 0; i < N; i++) this.options[i] = checkFinite(options[i], `options[${i}]`, 'Choice');
    } else {
      const rows = options as ArrayLike<ArrayLike<number>>;
      const dim = rows[0]!.length;
      if (typeof dim !== 'number' || dim < 1) throw new ValidationError('Choice: option rows must be non-empty arrays');
      this.dimensions = dim;
      this.options = new Float64Array(N * dim);
      for (let i = 0; i < N; i++) {
        const row = rows[i];
        if (row === null || typeof row !== 'object' || row.length !== dim) {
          throw new ValidationError(`Choice: all option rows must have length ${dim}; option ${i} does not`);
        }
        for (let j = 0; j < dim; j++) this.options[i * dim + j] = checkFinite(row[j], `options[${i}][${j}]`, 'Choice');
      }
    }
    this.nOptions = N;
    const w = new Float64Array(N);
    if (weights === undefined) {
      w.fill(1);
      this.weights = undefined;
    } else {
      if (weights.length !== N) {
        throw new ValidationError(`Choice: number of weights (${weights.length}) must match number of options (${N})`);
      }
      for (let i = 0; i < N; i++) {
        const x = checkFinite(weights[i], `weights[${i}]`, 'Choice');
        if (x < 0) throw new ValidationError('Choice: all weights must be non-negative');
        w[i] = x;
      }
      this.weights = Float64Array.from(w);
    }
    let total = 0;
    for (let i = 0; i < N; i++) total += w[i]!;
    if (!(total > 0)) throw new ValidationError(`Choice: sum of weights must be positive (got ${total})`);
    this.cdf = new Float64Array(N);
    let acc = 0;
    for (let i = 0; i < N; i++) {
      acc += w[i]! / total;
      this.cdf[i] = acc;
    }
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    sampleSize(n, d, 'Choice');
    const dim = this.dimensions;
    if (d !== undefined && dim !== d) {
      throw new ValidationError(`Choice: options must be of dimensionality ${d} (got ${dim})`);
    }
    if (d === undefined && dim > 1) {
      throw new ValidationError(`Choice: options are rows of length ${dim}; sample with d = ${dim}`);
    }
    const width = Math.max(dim, 1);
    const out = new Float64Array(n * width);
    const cdf = this.cdf;
    const last = this.nOptions - 1;
    for (let s = 0; s < n; s++) {
      // first index with cdf[i] >= u (NumPy searchsorted, side='left')
      const u = rng.random();
      let lo = 0,
        hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! >= u) hi = mid;
        else lo = mid + 1;
      }
      for (let j = 0; j < width; j++) out[s * width + j] = this.options[lo * width + j]!;
    }
    return out;
  }

  toString(): string {
    let opts: string;
    if (this.dimensions === 0) opts = fmtArray(this.options);
    else {
      const rows: string[] = [];
      for (let i = 0; i < this.nOptions; i++) {
        rows.push(fmtArray(this.options.subarray(i * this.dimensions, (i + 1) * this.dimensions)));
      }
      opts = `[${rows.join(', ')}]`;
    }
    return `Choice(options=${opts}${this.weights ? `, weights=${fmtArray(this.weights)}` : ''})`;
  }
}

/**
 * Arbitrary distribution given by a PDF on points `x` with probabilities `p`
 * summing to one (Nengo `PDF`: inverse-CDF sampling with linear
 * interpolation, cdf_i = (P_{i-1} + P_i) / 2 for the cumulative sums P).
 */
export class PDF implements Distribution {
  readonly x: Float64Array;
  readonly p: Float64Array;
  private readonly cdf: Float64Array;

  constructor(x: ArrayLike<number>, p: ArrayLike<number>) {
    if (x.length !== p.length) throw new ValidationError('PDF: `x` and `p` must be the same length');
    if (x.length === 0) throw new ValidationError('PDF: `x` must not be empty');
    this.x = Float64Array.from(x, (v, i) => checkFinite(v, `x[${i}]`, 'PDF'));
    this.p = Float64Array.from(p, (v, i) => checkFinite(v, `p[${i}]`, 'PDF'));
    let sum = 0;
    for (let i = 0; i < this.p.length; i++) sum += this.p[i]!;
    if (Math.abs(sum - 1) > 1e-8) throw new ValidationError(`PDF: p must sum to one (sums to ${sum})`);
    this.cdf = new Float64Array(this.p.length);
    let prev = 0,
      acc = 0;
    for (let i = 0; i < this.p.length; i++) {
      acc += this.p[i]!;
      this.cdf[i] = 0.5 * (prev + acc);
      prev = acc;
    }
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const out = new Float64Array(sampleSize(n, d, 'PDF'));
    const { cdf, x } = this;
    const last = cdf.length - 1;
    for (let s = 0; s < out.length; s++) {
      const u = rng.random();
      // NumPy interp(u, cdf, x): clamp outside, linear inside
      if (u <= cdf[0]!) out[s] = x[0]!;
      else if (u >= cdf[last]!) out[s] = x[last]!;
      else {
        let lo = 0,
          hi = last;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid]! <= u) lo = mid;
          else hi = mid;
        }
        const c0 = cdf[lo]!,
          c1 = cdf[hi]!;
        out[s] = c1 > c0 ? x[lo]! + ((u - c0) / (c1 - c0)) * (x[hi]! - x[lo]!) : x[hi]!;
      }
    }
    return out;
  }

  toString(): string {
    return `PDF(x=${fmtArray(this.x)}, p=${fmtArray(this.p)})`;
  }
}

// ---------------------------------------------------------------------------
// Beta-type distributions

/** Gamma(shape a, scale 1) variate: Marsaglia & Tsang (2000); a < 1 via Gamma(a+1)·U^(1/a). */
function gammaVariate(a: number, rng: Rng): number {
  if (a === 0) return 0;
  if (a < 1) {
    const u = 1 - rng.random(); // (0, 1]
    return gammaVariate(a + 1, rng) * Math.pow(u, 1 / a);
  }
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.random();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return d * v;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * Square root of a Beta(m/2, n/2) variable (Nengo `SqrtBeta`): the length of
 * an m-dimensional subvector of a random unit vector in n + m dimensions.
 */
export class SqrtBeta implements Distribution {
  readonly n: number;
  readonly m: number;

  constructor(n: number, m = 1) {
    if (!Number.isInteger(n) || n < 0) throw new ValidationError(`SqrtBeta: n must be a non-negative integer, got ${n}`);
    if (!Number.isInteger(m) || m < 0) throw new ValidationError(`SqrtBeta: m must be a non-negative integer, got ${m}`);
    if (n + m === 0) throw new ValidationError('SqrtBeta: n + m must be positive');
    this.n = n;
    this.m = m;
  }

  sample(num: number, d: number | undefined, rng: Rng): Float64Array {
    const out = new Float64Array(sampleSize(num, d, 'SqrtBeta'));
    const a = this.m / 2,
      b = this.n / 2;
    for (let i = 0; i < out.length; i++) {
      const x = gammaVariate(a, rng);
      const y = gammaVariate(b, rng);
      out[i] = x + y > 0 ? Math.sqrt(x / (x + y)) : 0;
    }
    return out;
  }

  toString(): string {
    return `SqrtBeta(n=${this.n}${this.m !== 1 ? `, m=${this.m}` : ''})`;
  }
}

/** Length of a `subdimensions`-long subvector of a random unit vector in `dimensions` (Nengo `SubvectorLength`). */
export class SubvectorLength extends SqrtBeta {
  constructor(dimensions: number, subdimensions = 1) {
    if (!Number.isInteger(dimensions) || !Number.isInteger(subdimensions) || subdimensions < 1 || subdimensions > dimensions) {
      throw new ValidationError(`SubvectorLength: need integers 1 <= subdimensions <= dimensions, got ${subdimensions} and ${dimensions}`);
    }
    super(dimensions - subdimensions, subdimensions);
  }

  get dimensions(): number {
    return this.n + this.m;
  }

  get subdimensions(): number {
    return this.m;
  }

  override toString(): string {
    return `SubvectorLength(dimensions=${this.dimensions}${this.m !== 1 ? `, subdimensions=${this.m}` : ''})`;
  }
}

/**
 * Cosine of the angle between two random unit vectors in `dimensions`
 * (Nengo `CosineSimilarity`): a random sign times SubvectorLength(dimensions).
 */
export class CosineSimilarity extends SubvectorLength {
  constructor(dimensions: number) {
    super(dimensions, 1);
  }

  override sample(num: number, d: number | undefined, rng: Rng): Float64Array {
    const size = sampleSize(num, d, 'CosineSimilarity');
    // as Nengo: all signs first, then the magnitudes
    const sign = new Float64Array(size);
    for (let i = 0; i < size; i++) sign[i] = rng.random() < 0.5 ? 1 : -1;
    const out = super.sample(num, d, rng);
    for (let i = 0; i < size; i++) out[i] = out[i]! * sign[i]!;
    return out;
  }

  override toString(): string {
    return `CosineSimilarity(dimensions=${this.dimensions})`;
  }
}

// ---------------------------------------------------------------------------
// Hyperspheres

export interface HypersphereOptions {
  /** Sample the surface (unit vectors) instead of the ball. Default false. */
  surface?: boolean;
  /** Lower bound on the magnitude of ball samples, in [0, 1). Ignored for the surface. Default 0. */
  minMagnitude?: number;
}

/**
 * Uniform on the surface of, or in, the unit hypersphere (Nengo
 * `UniformHypersphere`): normalised Gaussian vectors; for the ball each is
 * scaled by U^(1/d) with U uniform on [minMagnitude^d, 1), so magnitudes are
 * uniform by volume within [minMagnitude, 1).
 */
export class UniformHypersphere implements Distribution {
  readonly surface: boolean;
  readonly minMagnitude: number;

  constructor(opts: HypersphereOptions = {}) {
    const cls = this.kind();
    checkOptions(opts, this.optionNames(), cls);
    this.surface = checkBool(opts.surface ?? false, 'surface', cls);
    const mm = checkFinite(opts.minMagnitude ?? 0, 'minMagnitude', cls);
    if (mm < 0 || mm >= 1) throw new ValidationError(`${cls}: minMagnitude must be in [0, 1), got ${mm}`);
    this.minMagnitude = mm;
  }

  /** Class name for messages and descriptions (explicit, so it survives minification). */
  protected kind(): string {
    return 'UniformHypersphere';
  }

  protected optionNames(): readonly string[] {
    return ['surface', 'minMagnitude'];
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const dd = requireD(n, d, this.kind());
    return this.sampleUniform(n, dd, rng);
  }

  protected sampleUniform(n: number, d: number, rng: Rng): Float64Array {
    const out = new Float64Array(n * d);
    for (let i = 0; i < out.length; i++) out[i] = rng.normal();
    for (let s = 0; s < n; s++) {
      const o = s * d;
      let ss = 0;
      for (let j = 0; j < d; j++) ss += out[o + j]! * out[o + j]!;
      while (ss === 0) {
        // probability zero, but never divide by it
        for (let j = 0; j < d; j++) out[o + j] = rng.normal();
        for (let j = 0; j < d; j++) ss += out[o + j]! * out[o + j]!;
      }
      const inv = 1 / Math.sqrt(ss);
      for (let j = 0; j < d; j++) out[o + j] = out[o + j]! * inv;
    }
    if (this.surface) return out;
    const lo = Math.pow(this.minMagnitude, d);
    for (let s = 0; s < n; s++) {
      const r = Math.pow(rng.uniform(lo, 1), 1 / d);
      for (let j = 0; j < d; j++) out[s * d + j] = out[s * d + j]! * r;
    }
    return out;
  }

  protected describe(extra: string[] = []): string {
    const parts: string[] = [];
    if (this.surface) parts.push('surface=true');
    if (this.minMagnitude !== 0) parts.push(`minMagnitude=${fmt(this.minMagnitude)}`);
    return `${this.kind()}(${[...parts, ...extra].join(', ')})`;
  }

  toString(): string {
    return this.describe();
  }
}

/**
 * The Rd quasi-random sequence on [0, 1)^d (Nengo `Rd`, after M. Roberts,
 * "The Unreasonable Effectiveness of Quasirandom Sequences"): with a random
 * offset s ∈ [0, 1)^d, point i is (s + i·α) mod 1 where α_k = φ_d^-k and φ_d
 * is the positive root of x^(d+1) = x + 1. For d = 1 the points are tiled
 * optimally: (s + i/n) mod 1. The points are then shuffled, as Nengo's: in
 * sequence order, point i's place depends on i, so the encoders of an
 * ensemble's first neurons would all lie on one side (half a circle in 2-D).
 */
/** Fisher–Yates over the n rows of d values of `a`, in place (numpy's rng.shuffle of a 2-D array). */
function shuffleRows(a: Float64Array, n: number, d: number, rng: Rng): Float64Array {
  for (let i = n - 1; i > 0; i--) {
    const j = rng.integer(i + 1);
    if (j === i) continue;
    for (let k = 0; k < d; k++) {
      const t = a[i * d + k]!;
      a[i * d + k] = a[j * d + k]!;
      a[j * d + k] = t;
    }
  }
  return a;
}

export class Rd implements Distribution {
  private static readonly phiCache = new Map<number, number>();

  /** φ_d by Newton's method from x = 1 (Nengo `Rd._phi`). */
  static phi(d: number): number {
    const cached = Rd.phiCache.get(d);
    if (cached !== undefined) return cached;
    let x = 1;
    let converged = false;
    for (let it = 0; it < 100; it++) {
      const dx = (Math.pow(x, d + 1) - x - 1) / ((d + 1) * Math.pow(x, d) - 1);
      x -= dx;
      if (Math.abs(dx) < 1e-10) {
        converged = true;
        break;
      }
    }
    if (!converged) throw new Error(`Rd: phi computation did not converge for d=${d}`);
    Rd.phiCache.set(d, x);
    return x;
  }

  sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const dd = d ?? 1;
    sampleSize(n, dd, 'Rd');
    const seed = new Float64Array(dd);
    for (let k = 0; k < dd; k++) seed[k] = rng.random();
    const out = new Float64Array(n * dd);
    if (dd === 1) {
      for (let i = 0; i < n; i++) out[i] = (seed[0]! + (1 / n) * i) % 1;
      return shuffleRows(out, n, 1, rng);
    }
    const phiInv = 1 / Rd.phi(dd);
    const alpha = new Float64Array(dd);
    for (let k = 0; k < dd; k++) alpha[k] = Math.pow(phiInv, k + 1);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < dd; k++) out[i * dd + k] = (seed[k]! + (i + 1) * alpha[k]!) % 1;
    }
    return shuffleRows(out, n, dd, rng);
  }

  toString(): string {
    return 'Rd()';
  }
}

/**
 * Inverse CDF of the polar angle of the spherical coordinate transform.
 *
 * For the unit sphere in D dimensions, the j-th spherical angle θ ∈ [0, π]
 * has density ∝ sin^k θ with k = D - 2 - j (k = dims - 1 in Nengo's
 * `spherical_coords_ppf(dims, y)`, which returns x = θ/π). Nengo computes it
 * as θ = arcsin(√z), z = betaincinv(dims/2, 1/2, 2y) for y < 1/2, reflected
 * for y ≥ 1/2 ("sct"), or from a lookup table of that function
 * ("sct-approx"). Here, with S_k(θ) = ∫_0^θ sin^k t dt and Z_k = S_k(π/2),
 * R_k = S_k / Z_k obeys (from ∫ sin^k = -sin^(k-1) cos / k + (k-1)/k ∫ sin^(k-2))
 *
 *     R_k(θ) = R_{k-2}(θ) - sin^(k-1)θ cos θ / (k Z_k),   Z_k = Z_{k-2} (k-1)/k,
 *     R_0 = θ / (π/2),  R_1 = 1 - cos θ,  R_k' = sin^k θ / Z_k,
 *
 * which is tabulated for each k on a uniform θ grid over [0, π/2]; the
 * inverse uses the cubic Hermite interpolant (exact values and slopes) of
 * R_k, solved by Newton's method. This equals I_z(dims/2, 1/2) (so Nengo's
 * formula) to about 1e-9 or better.
 */
const PPF_GRID = 1024;
interface PpfTable {
  /** R_k at θ_i = i·h, i = 0…T. */
  r: Float64Array;
  /** R_k' at θ_i. */
  dr: Float64Array;
  /** idx[q] = last i < T with r[i] <= q/T: a starting bracket for t ∈ [q/T, (q+1)/T). */
  idx: Int32Array;
}
const ppfTables = new Map<number, PpfTable>();

function ppfTable(k: number): PpfTable {
  let t = ppfTables.get(k);
  if (t) return t;
  const T = PPF_GRID;
  const h = Math.PI / 2 / T;
  const r = new Float64Array(T + 1);
  const dr = new Float64Array(T + 1);
  // Z_k and the coefficients 1/(j Z_j) for j = k0+2, …, k (same parity as k)
  const k0 = k % 2;
  let Z = k0 === 0 ? Math.PI / 2 : 1;
  const coef: number[] = [];
  for (let j = k0 + 2; j <= k; j += 2) {
    Z = (Z * (j - 1)) / j;
    coef.push(1 / (j * Z));
  }
  for (let i = 0; i <= T; i++) {
    const th = i === T ? Math.PI / 2 : i * h;
    const s = Math.sin(th);
    const c = i === T ? 0 : Math.cos(th);
    let R = k0 === 0 ? th / (Math.PI / 2) : 1 - c;
    let sp = k0 === 0 ? s : s * s; // sin^(j-1) for j = k0 + 2
    for (let q = 0; q < coef.length; q++) {
      R -= sp * c * coef[q]!;
      sp *= s * s;
    }
    // R_k' = sin^k / Z_k
    r[i] = Math.min(1, Math.max(i > 0 ? r[i - 1]! : 0, R));
    dr[i] = Math.pow(s, k) / Z;
  }
  r[0] = 0;
  r[T] = 1;
  const idx = new Int32Array(T + 1);
  let i = 0;
  for (let q = 0; q <= T; q++) {
    while (i < T - 1 && r[i + 1]! <= q / T) i++;
    idx[q] = i;
  }
  t = { r, dr, idx };
  ppfTables.set(k, t);
  return t;
}

/** x = θ/π with P(angle ≤ θ) = y, for angle density ∝ sin^(dims-1) (Nengo `spherical_coords_ppf`). */
export function sphericalCoordsPpf(dims: number, y: number): number {
  // reflect about the middle, as Nengo: x(y) = 1 - x(1 - y) for y >= 1/2
  if (y < 0.5) return halfPpf(dims - 1, 2 * y);
  return 1 - halfPpf(dims - 1, 2 * (1 - y));
}

/** x = θ/π ∈ [0, 1/2] with R_k(θ) = t ∈ [0, 1]. */
function halfPpf(k: number, t: number): number {
  if (k === 0) return t / 2; // uniform angle
  if (k === 1) return Math.acos(1 - t) / Math.PI;
  if (t <= 0) return 0;
  if (t >= 1) return 0.5;
  const { r, dr, idx } = ppfTable(k);
  const T = PPF_GRID;
  const h = Math.PI / 2 / T;
  // interval with r[lo] <= t < r[lo+1], searched between the brackets of t's bin
  const q = Math.min(T - 1, Math.floor(t * T));
  let lo = idx[q]!,
    hi = idx[q + 1]! + 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (r[mid]! <= t) lo = mid;
    else hi = mid;
  }
  const r0 = r[lo]!,
    r1 = r[hi]!;
  const m0 = dr[lo]! * h,
    m1 = dr[hi]! * h;
  if (r1 <= r0) return (lo * h) / Math.PI;
  // Newton on the cubic Hermite H(s), s ∈ [0, 1], from the linear guess
  let s = (t - r0) / (r1 - r0);
  for (let it = 0; it < 8; it++) {
    const s2 = s * s,
      s3 = s2 * s;
    const H = (2 * s3 - 3 * s2 + 1) * r0 + (s3 - 2 * s2 + s) * m0 + (-2 * s3 + 3 * s2) * r1 + (s3 - s2) * m1;
    const dH = (6 * s2 - 6 * s) * r0 + (3 * s2 - 4 * s + 1) * m0 + (-6 * s2 + 6 * s) * r1 + (3 * s2 - 2 * s) * m1;
    if (!(dH > 0)) break;
    const step = (H - t) / dH;
    s = Math.min(1, Math.max(0, s - step));
    if (Math.abs(step) < 1e-12) break; // θ error below 2e-15
  }
  return ((lo + s) * h) / Math.PI;
}

/**
 * Spherical coordinate transform (Fang & Wang 1994, §1.5.3; Nengo
 * `spherical_transform_sct`): maps n points of [0,1)^s to the unit sphere in
 * s + 1 dimensions. Column j gives the angle πx_j with x_j =
 * ppf(s - j, u_j); the last angle is doubled (2π x); then
 * y_0 = cos φ_0, y_i = sin φ_0 ⋯ sin φ_(i-1) cos φ_i, y_s = sin φ_0 ⋯ sin φ_(s-1).
 */
export function sphericalTransformSct(samples: Float64Array, n: number, s: number): Float64Array {
  const D = s + 1;
  const out = new Float64Array(n * D);
  for (let p = 0; p < n; p++) {
    let prod = 1;
    for (let j = 0; j < s; j++) {
      const x = sphericalCoordsPpf(s - j, samples[p * s + j]!);
      const ang = (j === s - 1 ? 2 : 1) * Math.PI * x;
      out[p * D + j] = prod * Math.cos(ang);
      prod *= Math.sin(ang);
    }
    out[p * D + s] = prod;
  }
  return out;
}

/**
 * Tashiro–Fang–Wang–Wong transform (Fang & Wang 1994, §4.3, with eq. 1.5.28
 * for odd dimensions; Nengo `spherical_transform_tfww`): maps n points of
 * [0,1)^(D-1) to the unit sphere in D dimensions.
 */
export function sphericalTransformTfww(c: Float64Array, n: number, s1: number): Float64Array {
  const s = s1 + 1;
  const out = new Float64Array(n * s);
  const TWO_PI = 2 * Math.PI;
  if (s === 2) {
    for (let p = 0; p < n; p++) {
      const phi = TWO_PI * c[p]!;
      out[p * 2] = Math.cos(phi);
      out[p * 2 + 1] = Math.sin(phi);
    }
    return out;
  }
  const even = s % 2 === 0;
  const m = even ? s / 2 : (s - 1) / 2;
  const g = new Float64Array(m + 1);
  const dd = new Float64Array(m);
  for (let p = 0; p < n; p++) {
    const row = p * s1;
    const o = p * s;
    g[0] = 0;
    g[m] = 1;
    for (let j = m - 1; j >= 1; j--) {
      g[j] = g[j + 1]! * Math.pow(c[row + j - 1]!, even ? 1 / j : 2 / (2 * j + 1));
    }
    for (let j = 0; j < m; j++) dd[j] = Math.sqrt(g[j + 1]! - g[j]!);
    // phi = columns m-1 … s1-1
    if (even) {
      for (let q = 0; q < m; q++) {
        const phi = TWO_PI * c[row + m - 1 + q]!;
        out[o + 2 * q] = dd[q]! * Math.cos(phi);
        out[o + 2 * q + 1] = dd[q]! * Math.sin(phi);
      }
    } else {
      const phi0 = c[row + m - 1]!;
      const phi1 = TWO_PI * c[row + m]!;
      const f = 2 * dd[0]! * Math.sqrt(phi0 * (1 - phi0));
      out[o] = dd[0]! * (1 - 2 * phi0);
      out[o + 1] = f * Math.cos(phi1);
      out[o + 2] = f * Math.sin(phi1);
      for (let q = 1; q < m; q++) {
        const phi = TWO_PI * c[row + m + q]!;
        out[o + 1 + 2 * q] = dd[q]! * Math.cos(phi);
        out[o + 2 + 2 * q] = dd[q]! * Math.sin(phi);
      }
    }
  }
  return out;
}

/**
 * A random d×d orthogonal matrix, Haar-distributed (row-major): the Q of
 * the LQ decomposition M = L Q of a matrix M of standard normals (L lower
 * triangular with positive diagonal), which is Gram–Schmidt on M's rows.
 * Computed as Cholesky-QR applied twice (L from chol(M Mᵀ), Q = L⁻¹ M),
 * which is accurate to rounding for such well-conditioned M and uses the
 * fast Gram/Cholesky kernels. Nengo (`random_orthogonal`) takes U·V from the
 * SVD of M instead, another Haar-distributed orthogonal matrix.
 */
export function randomOrthogonal(d: number, rng: Rng): Float64Array {
  let Q: Float64Array = new Float64Array(d * d);
  for (let i = 0; i < d * d; i++) Q[i] = rng.normal();
  try {
    for (let pass = 0; pass < 2; pass++) {
      const L = choleskyFactor(gramNT(Q, d, d), d);
      Q = solveLower(L, Q, d, d);
    }
    return Q;
  } catch (err) {
    if (!(err instanceof NotPositiveDefiniteError)) throw err;
  }
  // (numerically) singular M, practically never: modified Gram–Schmidt, twice, redrawing dependent rows
  for (let i = 0; i < d; i++) {
    const qi = i * d;
    for (;;) {
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < i; j++) {
          const qj = j * d;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += Q[qi + c]! * Q[qj + c]!;
          for (let c = 0; c < d; c++) Q[qi + c]! -= dot * Q[qj + c]!;
        }
      }
      let ss = 0;
      for (let c = 0; c < d; c++) ss += Q[qi + c]! * Q[qi + c]!;
      if (ss > 1e-20) {
        const inv = 1 / Math.sqrt(ss);
        for (let c = 0; c < d; c++) Q[qi + c]! *= inv;
        break;
      }
      for (let c = 0; c < d; c++) Q[qi + c] = rng.normal();
    }
  }
  return Q;
}

export type ScatteredMethod = 'sct' | 'sct-approx' | 'tfww';

export interface ScatteredHypersphereOptions extends HypersphereOptions {
  /** Quasi-random base sequence on [0, 1)^k. Default `new Rd()`. */
  base?: Distribution;
  /** Map to the sphere: 'sct', 'sct-approx' (default; same as 'sct' here) or 'tfww'. */
  method?: ScatteredMethod;
}

/**
 * Quasi-random ("number-theoretic") points on or in the unit hypersphere
 * (Nengo ≥ 3.1 `ScatteredHypersphere`, the default for encoders and
 * evaluation points). A base sequence (Rd) is mapped to the sphere by the
 * spherical coordinate transform (or TFWW), then rotated by a random
 * orthogonal matrix, the only randomness besides the base's offset. For the
 * ball, the base has one more column, u, and the radius is
 * (u (1 - minMagnitude^d) + minMagnitude^d)^(1/d). For d = 1, as Nengo:
 * on the surface the sign of (base point - 0.5), so half the points are +1
 * and half -1 (one more of one sign for odd n); in the ball, floor(n/2)
 * base points and n - floor(n/2) negated ones, each scaled into
 * [minMagnitude, 1), shuffled together.
 */
export class ScatteredHypersphere extends UniformHypersphere {
  readonly base: Distribution;
  readonly method: ScatteredMethod;

  constructor(opts: ScatteredHypersphereOptions = {}) {
    super(opts);
    const base = opts.base ?? new Rd();
    if (base === null || typeof base !== 'object' || typeof base.sample !== 'function') {
      throw new ValidationError('ScatteredHypersphere: base must be a Distribution');
    }
    const method = opts.method ?? 'sct-approx';
    if (method !== 'sct' && method !== 'sct-approx' && method !== 'tfww') {
      throw new ValidationError(`ScatteredHypersphere: method must be 'sct', 'sct-approx' or 'tfww', got '${String(method)}'`);
    }
    this.base = base;
    this.method = method;
  }

  protected override kind(): string {
    return 'ScatteredHypersphere';
  }

  protected override optionNames(): readonly string[] {
    return ['surface', 'minMagnitude', 'base', 'method'];
  }

  override sample(n: number, d: number | undefined, rng: Rng): Float64Array {
    const D = requireD(n, d, 'ScatteredHypersphere');
    if (D === 1) return this.sampleLine(n, rng);
    const cols = this.surface ? D - 1 : D;
    const raw = this.base.sample(n, cols, rng);
    if (raw.length !== n * cols) {
      throw new ValidationError(`ScatteredHypersphere: base ${this.base.toString()} gave ${raw.length} values, expected ${n}×${cols}`);
    }
    let angles = raw;
    let radius: Float64Array | undefined;
    if (!this.surface) {
      angles = new Float64Array(n * (D - 1));
      radius = new Float64Array(n);
      const minD = Math.pow(this.minMagnitude, D);
      for (let p = 0; p < n; p++) {
        angles.set(raw.subarray(p * D, p * D + D - 1), p * (D - 1));
        let r = raw[p * D + D - 1]!;
        if (this.minMagnitude !== 0) r = r * (1 - minD) + minD;
        radius[p] = Math.pow(r, 1 / D);
      }
    }
    const mapped = this.method === 'tfww' ? sphericalTransformTfww(angles, n, D - 1) : sphericalTransformSct(angles, n, D - 1);
    if (radius) {
      for (let p = 0; p < n; p++) for (let j = 0; j < D; j++) mapped[p * D + j]! *= radius[p]!;
    }
    // random rotation: mapped · Q = mapped · (Qᵀ)ᵀ
    const Q = randomOrthogonal(D, rng);
    return matmulNT(mapped, transpose(Q, D, D), n, D, D);
  }

  /** d = 1 (see the class comment): the base's evenly tiled points, not random ones. */
  private sampleLine(n: number, rng: Rng): Float64Array {
    const base = (k: number): Float64Array => {
      if (k === 0) return new Float64Array(0);
      const raw = this.base.sample(k, 1, rng);
      if (raw.length !== k)
        throw new ValidationError(`ScatteredHypersphere: base ${this.base.toString()} gave ${raw.length} values, expected ${k}`);
      return raw;
    };
    if (this.surface) {
      const out = base(n);
      for (let i = 0; i < n; i++) out[i] = Math.sign(out[i]! - 0.5);
      return out;
    }
    const nPos = Math.floor(n / 2);
    const pos = base(nPos);
    const neg = base(n - nPos);
    const mm = this.minMagnitude;
    const out = new Float64Array(n);
    for (let i = 0; i < nPos; i++) out[i] = mm > 0 ? pos[i]! * (1 - mm) + mm : pos[i]!;
    for (let i = 0; i < n - nPos; i++) out[nPos + i] = -(mm > 0 ? neg[i]! * (1 - mm) + mm : neg[i]!);
    return shuffleRows(out, n, 1, rng);
  }

  override toString(): string {
    const extra: string[] = [];
    if (!(this.base instanceof Rd)) extra.push(`base=${this.base.toString()}`);
    if (this.method !== 'sct-approx') extra.push(`method='${this.method}'`);
    return this.describe(extra);
  }
}

// ---------------------------------------------------------------------------

export function isDistribution(v: unknown): v is Distribution {
  return typeof v === 'object' && v !== null && typeof (v as { sample?: unknown }).sample === 'function' && !('length' in v);
}

/**
 * Samples `value` if it is a Distribution, otherwise copies the explicit
 * values, checking the shape: n values when d is undefined, else n rows of
 * d values, given as rows (number[][], Float64Array[]) or as one flat
 * row-major array of n·d numbers (a flat array of n numbers also fits d = 1).
 * Throws a ValidationError naming `what` on a shape mismatch or a non-finite
 * value. Always returns a new array.
 */
export function samplesOrDist(
  value: Distribution | ArrayLike<number> | ArrayLike<ArrayLike<number>>,
  n: number,
  d: number | undefined,
  rng: Rng,
  what: string,
): Float64Array {
  const want = d === undefined ? `${n}` : `(${n}, ${d})`;
  if (isDistribution(value)) {
    const out = value.sample(n, d, rng);
    const size = d === undefined ? n : n * d;
    if (!(out instanceof Float64Array) || out.length !== size) {
      throw new ValidationError(`${what}: distribution ${value.toString()} gave ${out.length} values, expected ${size} (shape ${want})`);
    }
    return out;
  }
  if (value === null || typeof value !== 'object' || typeof (value as { length?: unknown }).length !== 'number') {
    throw new ValidationError(`${what}: expected a Distribution or an array of shape ${want}, got ${String(value)}`);
  }
  const len = value.length;
  const width = d ?? 1;
  const out = new Float64Array(n * width);
  const bad = (where: string, x: unknown): never => {
    throw new ValidationError(`${what}: value ${where} must be a finite number, got ${String(x)}`);
  };
  const first: unknown = len > 0 ? value[0] : undefined;
  if (len > 0 && typeof first === 'object' && first !== null) {
    // rows
    const rows = value as ArrayLike<ArrayLike<number>>;
    if (len !== n) {
      throw new ValidationError(`${what}: expected shape ${want}, got ${len} rows`);
    }
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
        throw new ValidationError(`${what}: row ${i} is not an array (expected shape ${want})`);
      }
      if (row.length !== width) {
        throw new ValidationError(`${what}: expected shape ${want}, but row ${i} has ${row.length} value${row.length === 1 ? '' : 's'}`);
      }
      for (let j = 0; j < width; j++) {
        const x: unknown = row[j];
        if (typeof x !== 'number' || !Number.isFinite(x)) bad(`[${i}][${j}]`, x);
        out[i * width + j] = x as number;
      }
    }
    return out;
  }
  // flat
  if (len !== n * width) {
    const shape = d === undefined ? `${len} values` : `${len} values (a flat array needs n·d = ${n * width})`;
    throw new ValidationError(`${what}: expected shape ${want}, got ${shape}`);
  }
  for (let i = 0; i < len; i++) {
    const x: unknown = (value as ArrayLike<unknown>)[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) bad(`[${i}]`, x);
    out[i] = x as number;
  }
  return out;
}
