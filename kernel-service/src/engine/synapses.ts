/**
 * Synapse models (linear filters) with Nengo 4.1 semantics.
 *
 * A synapse is a single-input single-output linear time-invariant system given
 * by its transfer function `num(s) / den(s)` (or `num(z) / den(z)` when
 * `analog = false`). It is applied independently to every channel of a signal.
 *
 * Pipeline (as `nengo.LinearFilter.discrete_ss` → `make_step`):
 *   1. `normalize` (scipy.signal.normalize, vendored by Nengo): strip leading
 *      zeros of `den`, divide `num` and `den` by `den[0]`, strip leading
 *      (near-)zero coefficients of `num` (|c| <= 1e-14).
 *   2. `tf2ss` (scipy.signal.tf2ss): controllable canonical form. With
 *      K = len(den) and `num` left-padded with zeros to length K:
 *         A = [[-den[1], -den[2], ..., -den[K-1]],
 *              [1, 0, ..., 0], [0, 1, 0, ...], ...]      ((K-1)×(K-1))
 *         B = [1, 0, ..., 0]^T
 *         C = num[1:] - num[0] * den[1:]
 *         D = num[0]
 *      `len(num) > len(den)` is an improper transfer function (error).
 *   3. `cont2discrete(method="zoh")` (analog systems with at least one state):
 *         expm([[A, B], [0, 0]] * dt) = [[Ad, Bd], [0, 1]],  Cd = C,  Dd = D.
 *
 * Timing (how Nengo steps the filter): see {@link makeFilterStepper}.
 */
import { stepsIn } from './steps.js';
import { checkKnownOptions, ValidationError } from './errors.js';

/** Discrete-time state space of a synapse for one scalar channel: x[k+1] = A x[k] + B u[k]; y[k] = C x[k] + D u[k]. */
export interface DiscreteFilter {
  /** Number of state variables (0 for a pure gain). */
  order: number;
  /** order×order, row-major. */
  A: Float64Array;
  /** length order. */
  B: Float64Array;
  /** length order. */
  C: Float64Array;
  /** Direct pass-through gain. */
  D: number;
}

/** Continuous- or discrete-time state space before discretisation (same layout as {@link DiscreteFilter}). */
export type StateSpace = DiscreteFilter;

export abstract class Synapse {
  /** Discretise for step dt (zero-order hold, as Nengo's LinearFilter with method="zoh"). */
  abstract discretize(dt: number): DiscreteFilter;
  abstract toString(): string;

  /**
   * Offline filtering along axis 0 of an n×d row-major array, with Nengo's
   * `Synapse.filt` semantics: row i of the result is the output of the i-th call
   * of Nengo's step function given row i of the input, i.e. exactly
   * `makeFilterStepper(f, d)` applied row by row (no extra delay; for
   * Lowpass, y[i] = a y[i-1] + (1-a) x[i] with y[-1] = y0).
   *
   * `y0` (default 0) is the initial *steady-state output*, as Nengo's
   * `LinearFilter.make_state(y0=...)`: see {@link FilterStepper.reset}.
   * Returns a new array.
   */
  filt(x: Float64Array, n: number, d: number, dt: number, opts?: { y0?: number }): Float64Array {
    const what = `${this.toString()}.filt`;
    if (!Number.isInteger(n) || n < 0) throw new ValidationError(`${what}: n must be a non-negative integer, got ${n}`);
    if (!Number.isInteger(d) || d < 1) throw new ValidationError(`${what}: d must be a positive integer, got ${d}`);
    if (x.length !== n * d) {
      throw new ValidationError(`${what}: input has length ${x.length}, expected n*d = ${n}*${d} = ${n * d}`);
    }
    const y0 = opts?.y0 ?? 0;
    if (!Number.isFinite(y0)) throw new ValidationError(`${what}: y0 must be a finite number, got ${y0}`);
    const stepper = makeFilterStepper(this.discretize(dt), d);
    stepper.reset(y0);
    const out = new Float64Array(n * d);
    for (let i = 0; i < n; i++) stepper.step(x, out, i * d, i * d);
    return out;
  }
}

// ---------------------------------------------------------------------------
// Transfer function → state space

function checkCoefficients(c: readonly number[], name: string, what: string): void {
  if (!Array.isArray(c) || c.length === 0) {
    throw new ValidationError(`${what}: '${name}' must be a non-empty array of numbers`);
  }
  for (const v of c) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ValidationError(`${what}: '${name}' coefficients must be finite numbers, got ${String(v)}`);
    }
  }
}

/**
 * scipy.signal.normalize: trim leading zeros of `den`, scale so den[0] = 1,
 * trim leading numerator coefficients with |c| <= 1e-14 (keeping at least one).
 */
export function normalizeTf(num: readonly number[], den: readonly number[], what = 'LinearFilter'): { num: number[]; den: number[] } {
  checkCoefficients(num, 'num', what);
  checkCoefficients(den, 'den', what);
  let i0 = 0;
  while (i0 < den.length && den[i0] === 0) i0++;
  if (i0 === den.length) {
    throw new ValidationError(`${what}: denominator 'den' must have at least one non-zero coefficient`);
  }
  const d0 = den[i0]!;
  const outDen = den.slice(i0).map((v) => v / d0);
  let outNum = num.map((v) => v / d0);
  let j0 = 0;
  while (j0 < outNum.length - 1 && Math.abs(outNum[j0]!) <= 1e-14) j0++;
  outNum = outNum.slice(j0);
  return { num: outNum, den: outDen };
}

/** scipy.signal.tf2ss (controllable canonical form) after {@link normalizeTf}. */
export function tf2ss(num: readonly number[], den: readonly number[], what = 'LinearFilter'): StateSpace {
  const nd = normalizeTf(num, den, what);
  const M = nd.num.length;
  const K = nd.den.length;
  if (M > K) {
    throw new ValidationError(
      `${what}: improper transfer function: numerator [${num.join(', ')}] has higher degree than ` +
        `denominator [${den.join(', ')}] (len(num) must be <= len(den) after removing leading zeros)`,
    );
  }
  // left-pad numerator to length K
  const p = new Array<number>(K - M).fill(0).concat(nd.num);
  const D = p[0]!;
  const order = K - 1;
  const A = new Float64Array(order * order);
  const B = new Float64Array(order);
  const C = new Float64Array(order);
  for (let j = 0; j < order; j++) {
    A[j] = -nd.den[j + 1]!; // first row: -den[1:]
    C[j] = p[j + 1]! - D * nd.den[j + 1]!; // C = num[1:] - num[0] den[1:]
  }
  for (let i = 1; i < order; i++) A[i * order + (i - 1)] = 1; // sub-diagonal identity
  if (order > 0) B[0] = 1;
  return { order, A, B, C, D };
}

// ---------------------------------------------------------------------------
// Small dense linear algebra (row-major n×n)

function matMul(X: Float64Array, Y: Float64Array, n: number): Float64Array {
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const xik = X[i * n + k]!;
      if (xik === 0) continue;
      for (let j = 0; j < n; j++) Z[i * n + j] += xik * Y[k * n + j]!;
    }
  }
  return Z;
}

/** Solves P X = R for X (P n×n, R n×m, row-major), Gaussian elimination with partial pivoting. */
function solve(P: Float64Array, R: Float64Array, n: number, m: number): Float64Array | null {
  const a = Float64Array.from(P);
  const b = Float64Array.from(R);
  for (let col = 0; col < n; col++) {
    let piv = col;
    let best = Math.abs(a[col * n + col]!);
    for (let r = col + 1; r < n; r++) {
      const v = Math.abs(a[r * n + col]!);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (best === 0 || !Number.isFinite(best)) return null;
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        const t = a[col * n + j]!;
        a[col * n + j] = a[piv * n + j]!;
        a[piv * n + j] = t;
      }
      for (let j = 0; j < m; j++) {
        const t = b[col * m + j]!;
        b[col * m + j] = b[piv * m + j]!;
        b[piv * m + j] = t;
      }
    }
    const d = a[col * n + col]!;
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / d;
      if (f === 0) continue;
      for (let j = col; j < n; j++) a[r * n + j] -= f * a[col * n + j]!;
      for (let j = 0; j < m; j++) b[r * m + j] -= f * b[col * m + j]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    const d = a[r * n + r]!;
    for (let j = 0; j < m; j++) {
      let s = b[r * m + j]!;
      for (let k = r + 1; k < n; k++) s -= a[r * n + k]! * b[k * m + j]!;
      b[r * m + j] = s / d;
    }
  }
  return b;
}

/**
 * Matrix exponential by scaling and squaring with a diagonal (6,6) Padé
 * approximant: scale M by 2^-s so that ||M/2^s||_1 <= 0.5, where the Padé
 * truncation error is below 1e-19, then square s times.
 */
export function expm(M0: Float64Array, n: number): Float64Array {
  for (let k = 0; k < n * n; k++) if (!Number.isFinite(M0[k]!)) throw new ValidationError(`expm: matrix has non-finite entries`);
  // Balanced first (Parlett & Reinsch, powers of 2, so exactly): M = D B D^-1 and exp(M) = D exp(B) D^-1.
  // A filter's companion matrix has entries from 1 to den[n] / den[0] (1e12 and more for a
  // high-order filter), whose norm needs dozens of squarings; balanced, far fewer, and rounding
  // does not grow with them.
  const { B: M, d } = balance(M0, n);
  const R = expmBalanced(M, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) R[i * n + j] = (R[i * n + j]! * d[i]!) / d[j]!;
  return R;
}

/** B = D^-1 M D with D = diag(d), powers of 2, rows and columns of similar norms (Numerical Recipes' balanc). */
function balance(M: Float64Array, n: number): { B: Float64Array; d: Float64Array } {
  const B = Float64Array.from(M);
  const d = new Float64Array(n).fill(1);
  for (let sweep = 0, done = false; !done && sweep < 100; sweep++) {
    done = true;
    for (let i = 0; i < n; i++) {
      let c = 0,
        r = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        c += Math.abs(B[j * n + i]!);
        r += Math.abs(B[i * n + j]!);
      }
      if (c === 0 || r === 0 || !Number.isFinite(c + r)) continue;
      const s = c + r;
      let f = 1;
      while (c < r / 2) {
        f *= 2;
        c *= 4;
      }
      while (c > r * 2) {
        f /= 2;
        c /= 4;
      }
      if ((c + r) / f < 0.95 * s) {
        done = false;
        d[i]! *= f;
        for (let j = 0; j < n; j++) B[i * n + j]! /= f;
        for (let j = 0; j < n; j++) B[j * n + i]! *= f;
      }
    }
  }
  return { B, d };
}

function expmBalanced(M: Float64Array, n: number): Float64Array {
  let norm = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(M[i * n + j]!);
    norm = Math.max(norm, s);
  }
  if (!Number.isFinite(norm)) throw new ValidationError(`expm: matrix has non-finite entries`);
  let s = 0;
  if (norm > 0.5) s = Math.max(0, Math.ceil(Math.log2(norm / 0.5)));
  const scale = Math.pow(2, -s);
  const X = M.map((v) => v * scale);
  // Padé coefficients c_j = (2q - j)! q! / ((2q)! j! (q - j)!), q = 6
  const q = 6;
  const c: number[] = [1];
  for (let j = 1; j <= q; j++) c.push((c[j - 1]! * (q - j + 1)) / (j * (2 * q - j + 1)));
  const Nm = new Float64Array(n * n);
  const Dm = new Float64Array(n * n);
  let Xp: Float64Array = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Xp[i * n + i] = 1;
  for (let j = 0; j <= q; j++) {
    if (j > 0) Xp = matMul(Xp, X, n);
    const sign = j % 2 === 0 ? 1 : -1;
    for (let k = 0; k < n * n; k++) {
      Nm[k] += c[j]! * Xp[k]!;
      Dm[k] += sign * c[j]! * Xp[k]!;
    }
  }
  let R = solve(Dm, Nm, n, n);
  if (R === null) throw new ValidationError(`expm: Padé denominator is singular`);
  for (let i = 0; i < s; i++) R = matMul(R, R, n);
  return R;
}

/**
 * Zero-order-hold discretisation (scipy cont2discrete, method="zoh"):
 * expm([[A, B], [0, 0]] dt) = [[Ad, Bd], [0, 1]]. First-order systems use the
 * closed form Ad = exp(a dt), Bd = b (exp(a dt) - 1) / a (= b dt when a = 0).
 */
export function cont2discreteZoh(ss: StateSpace, dt: number): DiscreteFilter {
  const { order: n, C, D } = ss;
  if (n === 0) return { order: 0, A: new Float64Array(0), B: new Float64Array(0), C: new Float64Array(0), D };
  if (n === 1) {
    const a = ss.A[0]!;
    const b = ss.B[0]!;
    const Ad = Math.exp(a * dt);
    const Bd = a === 0 ? b * dt : (b * Math.expm1(a * dt)) / a;
    return { order: 1, A: Float64Array.of(Ad), B: Float64Array.of(Bd), C: Float64Array.from(C), D };
  }
  const m = n + 1;
  const E = new Float64Array(m * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) E[i * m + j] = ss.A[i * n + j]! * dt;
    E[i * m + n] = ss.B[i]! * dt;
  }
  const F = expm(E, m);
  const A = new Float64Array(n * n);
  const B = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) A[i * n + j] = F[i * m + j]!;
    B[i] = F[i * m + n]!;
  }
  return { order: n, A, B, C: Float64Array.from(C), D };
}

/**
 * How an analog filter becomes a digital one (Nengo's LinearFilter `method`,
 * scipy's cont2discrete; the methods Nengo accepts): 'zoh' (zero-order
 * hold, the default), and the generalised bilinear transform for 'euler'
 * (alpha 0), 'backward_diff' (alpha 1) and 'bilinear' (alpha 1/2).
 */
export type DiscretizeMethod = 'zoh' | 'euler' | 'backward_diff' | 'bilinear';
const GBT_ALPHA: Readonly<Record<Exclude<DiscretizeMethod, 'zoh'>, number>> = { euler: 0, backward_diff: 1, bilinear: 0.5 };
const METHODS: readonly DiscretizeMethod[] = ['zoh', 'euler', 'backward_diff', 'bilinear'];

function checkMethod(method: unknown, what: string): DiscretizeMethod {
  if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method))
    throw new ValidationError(
      `${what}: method must be one of ${METHODS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(method) ?? String(method)}`,
    );
  return method as DiscretizeMethod;
}

/**
 * Discretisation by `method` (scipy's cont2discrete formulas, one input and
 * one output). The generalised bilinear transform with parameter alpha:
 * with M = I - alpha dt A, Ad = M^-1 (I + (1 - alpha) dt A), Bd = M^-1 dt B,
 * Cd = C M^-1, Dd = D + alpha C Bd.
 */
export function cont2discrete(ss: StateSpace, dt: number, method: DiscretizeMethod): DiscreteFilter {
  if (method === 'zoh') return cont2discreteZoh(ss, dt);
  const { order: n, A, B, C, D } = ss;
  if (n === 0) return { order: 0, A: new Float64Array(0), B: new Float64Array(0), C: new Float64Array(0), D };
  const alpha = GBT_ALPHA[method];
  const M = new Float64Array(n * n);
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const eye = i === j ? 1 : 0;
      M[i * n + j] = eye - alpha * dt * A[i * n + j]!;
      P[i * n + j] = eye + (1 - alpha) * dt * A[i * n + j]!;
    }
  const Ad = solve(M, P, n, n);
  const Bd = solve(
    M,
    B.map((b) => b * dt),
    n,
    1,
  );
  // Cd = C M^-1: solve M^T Cd^T = C^T
  const Mt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Mt[i * n + j] = M[j * n + i]!;
  const Cd = solve(Mt, C, n, 1);
  if (Ad === null || Bd === null || Cd === null)
    throw new ValidationError(`cont2discrete: I - ${alpha} dt A is singular for method '${method}' at dt = ${dt}`);
  let cb = 0;
  for (let i = 0; i < n; i++) cb += C[i]! * Bd[i]!;
  return { order: n, A: Ad, B: Bd, C: Cd, D: D + alpha * cb };
}

function fmt(v: number): string {
  return String(v);
}

function checkDt(dt: number, what: string): void {
  if (typeof dt !== 'number' || !Number.isFinite(dt) || dt <= 0) {
    throw new ValidationError(`${what}: dt must be a positive finite number, got ${String(dt)}`);
  }
}

function checkTau(tau: number, what: string): void {
  if (typeof tau !== 'number' || !Number.isFinite(tau) || tau < 0) {
    throw new ValidationError(`${what}: tau must be a finite number >= 0 (seconds), got ${String(tau)}`);
  }
}

// ---------------------------------------------------------------------------
// Synapse classes

/**
 * General LTI synapse `num / den` (nengo.LinearFilter((num, den), analog)).
 * Coefficients are in decreasing powers of s (or z when `analog` is false).
 */
export class LinearFilter extends Synapse {
  readonly num: readonly number[];
  readonly den: readonly number[];
  readonly analog: boolean;
  /** How an analog filter is discretised (Nengo's `method`; default 'zoh'). */
  readonly method: DiscretizeMethod;
  /** Continuous (analog) or discrete state space from tf2ss. */
  protected readonly ss: StateSpace;

  constructor(num: number[], den: number[], analog = true, method: DiscretizeMethod = 'zoh') {
    super();
    const what = new.target === LinearFilter ? 'LinearFilter' : new.target.name;
    if (typeof analog !== 'boolean') throw new ValidationError(`${what}: analog must be a boolean, got ${String(analog)}`);
    this.method = checkMethod(method, what);
    if (arguments.length > 4) throw new ValidationError(`${what}: takes (num, den, analog, method), got ${arguments.length} arguments`);
    this.ss = tf2ss(num, den, what);
    this.num = Object.freeze(num.slice());
    this.den = Object.freeze(den.slice());
    this.analog = analog;
  }

  /**
   * Discrete state space for step `dt`. Analog systems with at least one state
   * are discretised with zero-order hold; digital systems (and pure gains) are
   * returned as is (Nengo's `discrete_ss`). First-order systems without
   * pass-through are rescaled so that C = [1] and the state *is* the output
   * (this is Nengo's `OneX` form: B becomes C·B).
   */
  discretize(dt: number): DiscreteFilter {
    checkDt(dt, this.toString());
    let f: DiscreteFilter;
    if (this.analog && this.ss.order > 0) f = cont2discrete(this.ss, dt, this.method);
    else
      f = {
        order: this.ss.order,
        A: Float64Array.from(this.ss.A),
        B: Float64Array.from(this.ss.B),
        C: Float64Array.from(this.ss.C),
        D: this.ss.D,
      };
    if (f.order === 1 && f.D === 0) {
      f = { order: 1, A: f.A, B: Float64Array.of(f.C[0]! * f.B[0]!), C: Float64Array.of(1), D: 0 };
    }
    return f;
  }

  toString(): string {
    return `LinearFilter([${this.num.map(fmt).join(', ')}], [${this.den.map(fmt).join(', ')}], analog=${this.analog}${this.methodText()})`;
  }

  /** ", method='euler'" unless the default. */
  protected methodText(): string {
    return this.method === 'zoh' ? '' : `, method='${this.method}'`;
  }
}

/** Options of Lowpass and Alpha besides tau (Nengo's keyword arguments passed on to LinearFilter). */
export interface FilterOptions {
  /** Discretisation (default 'zoh'). */
  method?: DiscretizeMethod;
}

function filterOptions(opts: unknown, what: string): DiscretizeMethod {
  if (opts === undefined) return 'zoh';
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts))
    throw new ValidationError(
      `${what}: the second argument must be options such as { method: 'euler' }, got ${JSON.stringify(opts) ?? String(opts)}`,
    );
  checkKnownOptions(opts, ['method'], what);
  return (opts as FilterOptions).method ?? 'zoh';
}

/** First-order lowpass 1/(tau s + 1); impulse response exp(-t/tau)/tau. tau = 0 is a pure pass-through (order 0, D = 1). */
export class Lowpass extends LinearFilter {
  readonly tau: number;
  constructor(tau: number, opts?: FilterOptions) {
    checkTau(tau, 'Lowpass');
    super([1], [tau, 1], true, filterOptions(opts, 'Lowpass'));
    this.tau = tau;
  }
  override toString(): string {
    return `Lowpass(${fmt(this.tau)}${this.methodText()})`;
  }
}

/** Alpha synapse 1/(tau s + 1)^2; impulse response (t/tau^2) exp(-t/tau). tau = 0 is a pure pass-through. */
export class Alpha extends LinearFilter {
  readonly tau: number;
  constructor(tau: number, opts?: FilterOptions) {
    checkTau(tau, 'Alpha');
    super([1], [tau * tau, 2 * tau, 1], true, filterOptions(opts, 'Alpha'));
    this.tau = tau;
  }
  override toString(): string {
    return `Alpha(${fmt(this.tau)}${this.methodText()})`;
  }
}

/**
 * Triangular finite impulse response (Nengo's Triangle): at step dt, the
 * round(t / dt) + 1 taps n, n - 1, ..., 1 (normalised to sum 1) weigh the
 * input of this step and the steps before, so a step's input counts fully
 * at once and fades linearly to nothing over t seconds. As a digital filter
 * with those taps over z^(n-1); its order grows with t / dt (a state a tap a
 * channel), so long triangles cost more per step than a lowpass.
 */
export class Triangle extends Synapse {
  readonly t: number;
  constructor(t: number) {
    super();
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
      throw new ValidationError(`Triangle: t must be a finite number >= 0, got ${String(t)}`);
    this.t = t;
  }
  discretize(dt: number): DiscreteFilter {
    const taps = stepsIn(this.t, dt) + 1; // np.round, as Nengo's
    const num = Array.from({ length: taps }, (_, i) => taps - i);
    const sum = (taps * (taps + 1)) / 2;
    const den = Array.from({ length: taps }, (_, i) => (i === 0 ? 1 : 0));
    return new LinearFilter(
      num.map((c) => c / sum),
      den,
      false,
    ).discretize(dt);
  }
  toString(): string {
    return `Triangle(${fmt(this.t)})`;
  }
}

/**
 * Coerces a synapse parameter as Nengo's SynapseParam: a number is
 * `Lowpass(number)` (validated tau >= 0), `null`/`undefined` is no synapse,
 * a Synapse is returned unchanged. `what` names the parameter in errors
 * (e.g. "Connection 'a->b' synapse").
 */
export function toSynapse(s: Synapse | number | null | undefined, what: string): Synapse | null {
  if (s === null || s === undefined) return null;
  if (s instanceof Synapse) return s;
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0) {
      throw new ValidationError(`${what}: synapse time constant must be a finite number >= 0 (seconds), got ${s}`);
    }
    return new Lowpass(s);
  }
  throw new ValidationError(`${what}: synapse must be a Synapse, a number (Lowpass tau in seconds) or null, got ${typeof s}`);
}

/**
 * If the discrete filter runs as the scalar recursion y[k+1] = a y[k] + b u[k]
 * under the stepping rule of {@link makeFilterStepper} (order 0, or order 1
 * without pass-through), returns {a, b}; otherwise null.
 * Lowpass(tau): a = exp(-dt/tau), b = 1 - a; Lowpass(0): a = 0, b = 1.
 */
export function isLowpass(f: DiscreteFilter): { a: number; b: number } | null {
  if (f.order === 0) return { a: 0, b: f.D };
  if (f.order === 1 && f.D === 0) return { a: f.A[0]!, b: f.C[0]! * f.B[0]! };
  return null;
}

// ---------------------------------------------------------------------------
// Stepping

/** Which of Nengo's LinearFilter step classes a discrete filter uses. */
export type FilterKind = 'noX' | 'oneX' | 'noD' | 'general';

function allZero(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** Nengo's choice of step class (LinearFilter.make_step: NoX, OneX, NoD, General, checked in that order). */
export function filterKind(f: DiscreteFilter): FilterKind {
  if (f.order === 0 || (allZero(f.A) && allZero(f.B))) return 'noX';
  if (f.D === 0 && f.order === 1) return 'oneX';
  if (f.D === 0) return 'noD';
  return 'general';
}

export interface FilterStepper {
  readonly kind: FilterKind;
  readonly channels: number;
  readonly order: number;
  /** State, channel-major: x of channel c is state[c*order .. c*order+order-1]. */
  readonly state: Float64Array;
  /**
   * One call of Nengo's step function for all channels: reads
   * u[uOffset .. uOffset+channels-1], writes y[yOffset .. yOffset+channels-1].
   * u and y may be the same array (each u value is read before its y is written).
   * Does not allocate.
   */
  step(u: Float64Array, y: Float64Array, uOffset?: number, yOffset?: number): void;
  /**
   * Sets the state to Nengo's `make_state(y0)`: 0 when y0 = 0; otherwise the
   * steady state whose output is y0 (OneX: x = (b / (1 - a)) y0 exactly as
   * Nengo; others: x = y0 (I - A)^-1 B / (C (I - A)^-1 B + D), error if the DC
   * gain is ~0). Order-0 filters have no state and ignore y0.
   */
  reset(y0?: number): void;
}

/**
 * Makes the per-step update of a discrete filter for `channels` independent
 * channels, reproducing Nengo 4.1's `LinearFilter.make_step` step classes
 * exactly (state x, input u[k], returned output y[k]):
 *
 * - `noX` (order 0, pure gain):            y[k] = D u[k]
 * - `oneX` (order 1, D = 0; state = output, b = C·B):
 *                                          x = a x + b u[k];   y[k] = x
 * - `noD` (order >= 2, D = 0):             x = A x + B u[k];   y[k] = C x      (input enters *before* the output is read)
 * - `general` (order >= 1, D != 0):        y[k] = C x + D u[k];  then  x = A x + B u[k]
 *
 * Engine timing. Nengo builds a connection's synapse as a SimProcess with
 * mode="update": during step k the operator reads the synapse input signal's
 * value u_k (computed earlier in that same step), calls the step function
 * above once, and stores the result as an *update*, so readers see it only at
 * step k+1. Hence the engine must, once per simulation step and after all
 * writers of the input signal have run:
 *
 *   compute y = step(u_k)  (using the rules above)   and publish y as the
 *   filtered signal seen by every reader during step k+1 (double-buffer or run
 *   it in the update phase after all readers of the output in step k).
 *
 * For Lowpass(tau): y_{k+1} = a y_k + (1 - a) u_k, a = exp(-dt/tau), with
 * y_0 = 0 (the initial value of the output signal). For Lowpass(0) / synapse=0:
 * y_{k+1} = u_k (still one step of delay; only `synapse=None` has none).
 * For Alpha (noD): x_{k+1} = A x_k + B u_k; y_{k+1} = C x_{k+1}.
 * For a filter with D != 0 (general): y_{k+1} = C x_k + D u_k;
 * x_{k+1} = A x_k + B u_k.
 *
 * `Synapse.filt` applies the same step function to row i and stores its
 * result in row i (no extra delay there).
 */
export function makeFilterStepper(f: DiscreteFilter, channels: number): FilterStepper {
  if (!Number.isInteger(channels) || channels < 0) {
    throw new ValidationError(`makeFilterStepper: channels must be a non-negative integer, got ${channels}`);
  }
  const n = f.order;
  if (f.A.length !== n * n || f.B.length !== n || f.C.length !== n) {
    throw new ValidationError(`makeFilterStepper: filter matrices do not match order ${n}`);
  }
  const kind = filterKind(f);
  const A = Float64Array.from(f.A);
  const B = Float64Array.from(f.B);
  const C = Float64Array.from(f.C);
  const D = f.D;
  const X = new Float64Array(channels * n);
  const tmp = new Float64Array(n);

  let step: (u: Float64Array, y: Float64Array, uOffset?: number, yOffset?: number) => void;
  switch (kind) {
    case 'noX':
      step = (u, y, uo = 0, yo = 0) => {
        for (let c = 0; c < channels; c++) y[yo + c] = D * u[uo + c]!;
      };
      break;
    case 'oneX': {
      const a = A[0]!;
      const b = C[0]! * B[0]!;
      step = (u, y, uo = 0, yo = 0) => {
        for (let c = 0; c < channels; c++) {
          const x = a * X[c]! + b * u[uo + c]!;
          X[c] = x;
          y[yo + c] = x;
        }
      };
      break;
    }
    case 'noD':
      step = (u, y, uo = 0, yo = 0) => {
        for (let c = 0; c < channels; c++) {
          const uc = u[uo + c]!;
          const base = c * n;
          for (let i = 0; i < n; i++) {
            let s = B[i]! * uc;
            for (let j = 0; j < n; j++) s += A[i * n + j]! * X[base + j]!;
            tmp[i] = s;
          }
          let out = 0;
          for (let i = 0; i < n; i++) {
            X[base + i] = tmp[i]!;
            out += C[i]! * tmp[i]!;
          }
          y[yo + c] = out;
        }
      };
      break;
    case 'general':
      step = (u, y, uo = 0, yo = 0) => {
        for (let c = 0; c < channels; c++) {
          const uc = u[uo + c]!;
          const base = c * n;
          let out = D * uc;
          for (let i = 0; i < n; i++) {
            out += C[i]! * X[base + i]!;
            let s = B[i]! * uc;
            for (let j = 0; j < n; j++) s += A[i * n + j]! * X[base + j]!;
            tmp[i] = s;
          }
          for (let i = 0; i < n; i++) X[base + i] = tmp[i]!;
          y[yo + c] = out;
        }
      };
      break;
  }

  const reset = (y0 = 0): void => {
    X.fill(0);
    if (y0 === 0 || n === 0 || kind === 'noX') return;
    if (!Number.isFinite(y0)) throw new ValidationError(`Filter initial output y0 must be finite, got ${y0}`);
    let xs: Float64Array;
    if (kind === 'oneX') {
      const a = A[0]!;
      if (a === 1) {
        throw new ValidationError(`Cannot solve for filter state: the filter integrates (pole at z = 1). Please set y0 = 0.`);
      }
      // Nengo: X[:] = (b / (1 - A)) * y0 with b = C·B
      xs = Float64Array.of(((C[0]! * B[0]!) / (1 - a)) * y0);
    } else {
      const IA = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) IA[i * n + j] = (i === j ? 1 : 0) - A[i * n + j]!;
      }
      const IAB = solve(IA, B, n, 1);
      if (IAB === null) {
        throw new ValidationError(`Cannot solve for filter state: (I - A) is singular (pole at z = 1). Please set y0 = 0.`);
      }
      let Q = D;
      for (let i = 0; i < n; i++) Q += C[i]! * IAB[i]!;
      if (!(Math.abs(Q) > 1e-8)) {
        throw new ValidationError(`Cannot solve for state if DC gain is zero. Please set y0 = 0.`);
      }
      xs = IAB.map((v) => (y0 * v) / Q);
    }
    for (let c = 0; c < channels; c++) X.set(xs, c * n);
  };

  return { kind, channels, order: n, state: X, step, reset };
}
