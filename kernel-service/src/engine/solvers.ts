/**
 * Decoder and weight solvers, following `nengo/solvers.py` and the Cholesky
 * least-squares solver of `nengo/utils/least_squares_solvers.py` (Nengo 4.1).
 *
 * The least-squares solvers here are "compositional" as in Nengo: with `weights: true` they
 * solve for decoders D (n×d) against the targets Y, and the weight matrix is
 * D·E (n×nPost), where E (d×nPost) holds the post encoders scaled by
 * gain/radius (with any transform already folded into Y by the caller).
 * Since the solve is linear in Y, D·E is exactly the least-squares solution
 * for the targets Y·E, which is what Nengo's full-weight path computes, at a
 * fraction of the cost. The non-negative ones (Nnls, NnlsL2, NnlsL2nz) are
 * not (x >= 0 is not linear in Y): with `weights: true` they solve against
 * Y·E directly, as Nengo does.
 */
import { BuildError, ValidationError, checkKnownOptions } from './errors.js';
import {
  NotPositiveDefiniteError,
  addToDiagonal,
  choleskyFactor,
  choleskySolve,
  gramNT,
  gramTN,
  matTmat,
  transpose,
  matmul,
  residualSquares,
} from './linalg.js';
import { nnlsGram } from './nnls.js';
import { truncatedSpectralSolve } from './spectral-solve.js';
import { truncatedSvdSolve } from './bidiagonal-solve.js';
import { enetCoordinateDescent } from './elastic-net.js';
import { householderQR, orthogonalizeRows } from './svd.js';
import { roundHalfEven } from './steps.js';
import type { Rng } from './rng.js';

export interface SolveInput {
  A: Float64Array; // activities, m×n row-major (m eval points, n neurons)
  Y: Float64Array; // targets, m×d row-major
  m: number;
  n: number;
  d: number;
  rng: Rng;
  /** For weight solvers: post encoders scaled by gain/radius, d×nPost row-major (Nengo's E). */
  E?: Float64Array;
  nPost?: number;
  /** max(A), when the caller has it already (the builder's one-pass activities); must equal it. */
  aMax?: number;
}

export interface SolveResult {
  /** n×d decoders (or n×nPost weights when the solver solves for weights), row-major: Nengo's (n_neurons, dims) shape. */
  X: Float64Array;
  rows: number;
  cols: number;
  /** RMS residual per target column, as Nengo's info["rmses"]. */
  rmses: Float64Array;
}

export interface Solver {
  readonly weights: boolean;
  /** True when the solution depends on the generator it is given (the connection's seed): LstsqNoise. */
  readonly random?: boolean;
  solve(input: SolveInput): SolveResult;
  /** Identifies the solver and its parameters, for decoder caching. */
  key(): string;
}

// ---------------------------------------------------------------------------
// helpers

function checkDim(x: unknown, what: string, cls: string, min: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
    throw new ValidationError(`${cls}: ${what} must be an integer >= ${min}, got ${String(x)}`);
  }
  return x;
}

/** Validates the shapes of a SolveInput; returns nPost (0 for decoder solvers). */
function checkInput(input: SolveInput, weights: boolean, cls: string): number {
  const m = checkDim(input.m, 'm (number of eval points)', cls, 0);
  const n = checkDim(input.n, 'n (number of neurons)', cls, 0);
  const d = checkDim(input.d, 'd (number of target dimensions)', cls, 0);
  if (!(input.A instanceof Float64Array) || input.A.length !== m * n) {
    throw new ValidationError(`${cls}: activities A must be a Float64Array of m×n = ${m}×${n} values, got ${input.A?.length}`);
  }
  if (input.aMax !== undefined && typeof input.aMax !== 'number') {
    throw new ValidationError(`${cls}: aMax (the largest activity) must be a number, got ${String(input.aMax)}`);
  }
  if (!(input.Y instanceof Float64Array) || input.Y.length !== m * d) {
    throw new ValidationError(`${cls}: targets Y must be a Float64Array of m×d = ${m}×${d} values, got ${input.Y?.length}`);
  }
  if (!weights) return 0;
  if (input.E === undefined || input.nPost === undefined) {
    throw new ValidationError(`${cls}: a weight solver (weights: true) needs the post encoders E and nPost`);
  }
  const nPost = checkDim(input.nPost, 'nPost', cls, 0);
  if (!(input.E instanceof Float64Array) || input.E.length !== d * nPost) {
    throw new ValidationError(`${cls}: E must be a Float64Array of d×nPost = ${d}×${nPost} values, got ${input.E.length}`);
  }
  return nPost;
}

/** RMS over rows of Y - A X, per column (Nengo `rmses`: npext.rms(Y - A·X, axis=0)). The rmses are the solve's report, not part of the decoders. */
export function rmses(A: Float64Array, X: Float64Array, Y: Float64Array, m: number, n: number, d: number): Float64Array {
  if (m === 0 || d === 0) return new Float64Array(d);
  const out = residualSquares(A, X, Y, m, n, d);
  for (let j = 0; j < d; j++) out[j] = Math.sqrt(out[j]! / m);
  return out;
}

function maxOf(A: Float64Array): number {
  let mx = -Infinity;
  for (let i = 0; i < A.length; i++) if (A[i]! > mx) mx = A[i]!;
  return mx;
}

/**
 * Regularised least squares by Cholesky (Nengo `least_squares_solvers.Cholesky`):
 * minimises |A X - Y|² + m σ² |X|², i.e. solves (AᵀA + m σ² I) X = AᵀY. When
 * A is fat (m < n) and σ is a scalar, Nengo uses the equivalent m×m system
 * (A Aᵀ + m σ² I) X̄ = Y, X = Aᵀ X̄; so does this. A per-neuron σ (a vector)
 * always uses the n×n form with diagonal m σ_i².
 */
export function choleskyLstsq(
  A: Float64Array,
  Y: Float64Array,
  m: number,
  n: number,
  d: number,
  sigma: number | Float64Array,
  cls: string,
): Float64Array {
  return choleskySolvePrepared(choleskyPrepare(A, m, n, sigma, cls), A, Y, d);
}

/** The part of a Cholesky least-squares solve that depends on the activities only: reusable for every target. */
export interface CholeskyPrepared {
  readonly m: number;
  readonly n: number;
  /** The m×m system (A Aᵀ + m σ² I) rather than the n×n one. */
  readonly transposed: boolean;
  /** Cholesky factor of the regularised Gram matrix (null when n = 0). */
  readonly L: Float64Array | null;
}

export function choleskyPrepare(A: Float64Array, m: number, n: number, sigma: number | Float64Array, cls: string): CholeskyPrepared {
  const transposed = m < n && typeof sigma === 'number';
  if (n === 0) return { m, n, transposed, L: null };
  try {
    if (transposed) {
      const G = gramNT(A, m, n);
      addToDiagonal(G, m, m * (sigma as number) * (sigma as number));
      return { m, n, transposed, L: choleskyFactor(G, m) };
    }
    const G = gramTN(A, m, n);
    if (typeof sigma === 'number') addToDiagonal(G, n, m * sigma * sigma);
    else
      addToDiagonal(
        G,
        n,
        sigma.map((s) => m * s * s),
      );
    return { m, n, transposed, L: choleskyFactor(G, n) };
  } catch (err) {
    if (err instanceof NotPositiveDefiniteError) {
      throw new BuildError(
        `${cls}: the regularised Gram matrix (${transposed ? 'A·Aᵀ' : 'Aᵀ·A'} + m·σ²·I) is not positive definite ` +
          `(pivot ${err.index} is ${err.pivot}). The activities are degenerate (e.g. all zero, or neurons with ` +
          `identical tuning) and there is too little regularisation; use reg > 0.`,
      );
    }
    throw err;
  }
}

/** Solves for the targets Y (m×d) with a prepared factor of the same activities A. */
export function choleskySolvePrepared(p: CholeskyPrepared, A: Float64Array, Y: Float64Array, d: number): Float64Array {
  const { m, n } = p;
  if (n === 0 || d === 0 || !p.L) return new Float64Array(n * d);
  if (p.transposed) {
    const Xbar = choleskySolve(p.L, Y, m, d);
    return matTmat(A, Xbar, m, n, d);
  }
  const B = matTmat(A, Y, m, n, d);
  return choleskySolve(p.L, B, n, d);
}

function finish(D: Float64Array, input: SolveInput, weights: boolean, nPost: number): SolveResult {
  const { A, Y, m, n, d } = input;
  const errs = rmses(A, D, Y, m, n, d);
  if (!weights) return { X: D, rows: n, cols: d, rmses: errs };
  return { X: matmul(D, input.E!, n, d, nPost), rows: n, cols: nPost, rmses: errs };
}

/** For each neuron (column of the m×n activities), at how many eval points it is active (A > 0): the nz solvers' σ. */
function activeCounts(A: Float64Array, m: number, n: number): Float64Array {
  const count = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    const o = r * n;
    for (let i = 0; i < n; i++) if (A[o + i]! > 0) count[i]! += 1;
  }
  return count;
}

function checkReg(reg: unknown, cls: string): number {
  if (typeof reg !== 'number' || !Number.isFinite(reg) || reg < 0) {
    throw new ValidationError(`${cls}: reg must be a finite number >= 0, got ${String(reg)}`);
  }
  return reg;
}

function checkWeightsFlag(w: unknown, cls: string): boolean {
  if (typeof w !== 'boolean') throw new ValidationError(`${cls}: weights must be true or false, got ${String(w)}`);
  return w;
}

// ---------------------------------------------------------------------------
// solvers

export interface LstsqL2Options {
  /** Amount of regularisation, as a fraction of the maximum activity. Default 0.1. */
  reg?: number;
  /** Solve for a full weight matrix (n×nPost) instead of decoders. Default false. */
  weights?: boolean;
}

/**
 * Least squares with L2 regularisation (Nengo `LstsqL2`, the default solver):
 * σ = reg · max(A), then the Cholesky solve of (AᵀA + m σ² I) X = AᵀY.
 */
export class LstsqL2 implements Solver {
  readonly reg: number;
  readonly weights: boolean;

  constructor(opts: LstsqL2Options = {}) {
    const cls = this.kind();
    checkKnownOptions(opts, ['reg', 'weights'], cls);
    this.reg = checkReg(opts.reg ?? 0.1, cls);
    this.weights = checkWeightsFlag(opts.weights ?? false, cls);
  }

  /** Class name for messages and keys (explicit, so it survives minification). */
  protected kind(): string {
    return 'LstsqL2';
  }

  /** The regularisation σ: one value, or one per neuron. */
  protected sigma(A: Float64Array, _m: number, _n: number, aMax?: number): number | Float64Array {
    return this.reg * (aMax ?? maxOf(A));
  }

  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, this.kind());
    if (input.n === 0 || input.d === 0) return finish(new Float64Array(input.n * input.d), input, this.weights, nPost);
    return this.solvePrepared(this.prepare(input.A, input.m, input.n, input.aMax), input);
  }

  /**
   * The part of a solve that depends on the activities only (σ and the
   * Cholesky factor): the builder solves every connection of an ensemble
   * that shares its eval points and solver with one of these.
   */
  prepare(A: Float64Array, m: number, n: number, aMax?: number): CholeskyPrepared {
    const sigma = m * n === 0 ? 0 : this.sigma(A, m, n, aMax);
    return choleskyPrepare(A, m, n, sigma, this.kind());
  }

  /** solve() with the activities' part done by prepare() (same operations, so the same result, bit for bit). */
  solvePrepared(p: CholeskyPrepared, input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, this.kind());
    if (p.m !== input.m || p.n !== input.n)
      throw new ValidationError(`${this.kind()}: prepared for ${p.m}×${p.n} activities, given ${input.m}×${input.n}`);
    const D = choleskySolvePrepared(p, input.A, input.Y, input.d);
    return finish(D, input, this.weights, nPost);
  }

  key(): string {
    return `${this.kind()}(reg=${this.reg}, weights=${this.weights})`;
  }

  toString(): string {
    return this.key();
  }
}

/**
 * L2-regularised least squares with the regularisation of each neuron scaled
 * by how often it is active (Nengo `LstsqL2nz`):
 * σ_i = reg · max(A) · √(fraction of eval points where A[:, i] > 0), and
 * σ_i = max_j σ_j for neurons that are never active. Always solved in the
 * n×n form with diagonal m σ_i².
 */
export class LstsqL2nz extends LstsqL2 {
  protected override kind(): string {
    return 'LstsqL2nz';
  }

  protected override sigma(A: Float64Array, m: number, n: number, aMax?: number): Float64Array {
    const base = this.reg * (aMax ?? maxOf(A));
    const count = activeCounts(A, m, n);
    const sigma = new Float64Array(n);
    let mx = 0;
    for (let i = 0; i < n; i++) {
      sigma[i] = base * Math.sqrt(count[i]! / m);
      if (sigma[i]! > mx) mx = sigma[i]!;
    }
    for (let i = 0; i < n; i++) if (sigma[i] === 0) sigma[i] = mx;
    return sigma;
  }
}

export interface NnlsOptions {
  /** Solve for a full non-negative weight matrix (n×nPost) instead of decoders. Default false. */
  weights?: boolean;
}

/**
 * Non-negative least squares without regularisation (Nengo `Nnls`): each
 * column of X minimises ||A x - y|| with x >= 0 (nnls.ts). With
 * `weights: true` the columns are those of Y·E, so every weight is
 * non-negative; the post ensemble's intercepts should then be non-negative
 * too, as Nengo's docs warn, or its neurons are never silent.
 */
export class Nnls implements Solver {
  readonly weights: boolean;
  constructor(opts: NnlsOptions = {}) {
    const cls = this.kind();
    checkKnownOptions(opts, this.optionNames(), cls);
    this.weights = checkWeightsFlag(opts.weights ?? false, cls);
  }
  protected kind(): string {
    return 'Nnls';
  }
  protected optionNames(): readonly string[] {
    return ['weights'];
  }
  /** The problem nnls solves, as its normal equations: G (n×n) and C (n×k), one column a right-hand side. */
  protected system(
    A: Float64Array,
    Y: Float64Array,
    m: number,
    n: number,
    k: number,
    _aMax?: number,
  ): { G: Float64Array; C: Float64Array } {
    return { G: gramTN(A, m, n), C: matTmat(A, Y, m, n, k) };
  }
  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, this.kind());
    const { A, m, n, d } = input;
    const k = this.weights ? nPost : d;
    const Y = this.weights ? matmul(input.Y, input.E!, m, d, nPost) : input.Y;
    const X = new Float64Array(n * k);
    if (n > 0 && k > 0 && m > 0) {
      const { G, C } = this.system(A, Y, m, n, k, input.aMax);
      const c = new Float64Array(n);
      for (let j = 0; j < k; j++) {
        for (let i = 0; i < n; i++) c[i] = C[i * k + j]!;
        const { x, converged } = nnlsGram(G, c, n);
        // as scipy's nnls, which raises past its 3n iterations
        if (!converged)
          throw new ValidationError(
            `${this.kind()}: no solution within ${3 * n} iterations (column ${j}); the problem is too ill-conditioned: ` +
              'use NnlsL2 with more regularisation',
          );
        for (let i = 0; i < n; i++) X[i * k + j] = x[i]!;
      }
    }
    return { X, rows: n, cols: k, rmses: rmses(A, X, Y, m, n, k) };
  }
  key(): string {
    return `${this.kind()}(weights=${this.weights})`;
  }
  toString(): string {
    return this.key();
  }
}

export interface NnlsL2Options extends NnlsOptions {
  /** Amount of regularisation, as a fraction of the maximum activity. Default 0.1. */
  reg?: number;
}

/**
 * Non-negative least squares with L2 regularisation (Nengo `NnlsL2`), as
 * Nengo forms it: σ = reg · max(A), GA = AᵀA + m σ² I, GY = Aᵀ max(Y, 0),
 * and each column x = nnls(GA, GY[:, j]), that is x >= 0 minimising
 * ||GA x - GY[:, j]|| (so negative targets are clipped to zero first).
 */
export class NnlsL2 extends Nnls {
  readonly reg: number;
  constructor(opts: NnlsL2Options = {}) {
    super(opts);
    this.reg = checkReg(opts.reg ?? 0.1, this.kind());
  }
  protected override kind(): string {
    return 'NnlsL2';
  }
  protected override optionNames(): readonly string[] {
    return ['weights', 'reg'];
  }
  /** The regularisation σ: one value, or one per neuron. */
  protected sigma(A: Float64Array, _m: number, _n: number, aMax?: number): number | Float64Array {
    return this.reg * (aMax ?? maxOf(A));
  }
  protected override system(
    A: Float64Array,
    Y: Float64Array,
    m: number,
    n: number,
    k: number,
    aMax?: number,
  ): { G: Float64Array; C: Float64Array } {
    const GA = gramTN(A, m, n);
    const sigma = this.sigma(A, m, n, aMax);
    addToDiagonal(GA, n, typeof sigma === 'number' ? m * sigma * sigma : Float64Array.from(sigma, (s) => m * s * s));
    const Yp = Float64Array.from(Y, (y) => (y > 0 ? y : 0));
    const GY = matTmat(A, Yp, m, n, k);
    // nnls(GA, b) minimises ||GA x - b||: its normal equations are GAᵀGA x = GAᵀ b (GA is symmetric)
    return { G: gramTN(GA, n, n), C: matTmat(GA, GY, n, n, k) };
  }
  override key(): string {
    return `${this.kind()}(reg=${this.reg}, weights=${this.weights})`;
  }
}

/**
 * NnlsL2 with each neuron's regularisation scaled by how often it is active
 * (Nengo `NnlsL2nz`): σ_i = reg · max(A) · √(fraction of eval points where
 * A[:, i] > 0), and σ_i = 1 where that is 0 (a neuron never active, or reg
 * 0: Nengo's choice; LstsqL2nz takes the largest σ there instead).
 */
export class NnlsL2nz extends NnlsL2 {
  protected override kind(): string {
    return 'NnlsL2nz';
  }
  protected override sigma(A: Float64Array, m: number, n: number, aMax?: number): Float64Array {
    const base = this.reg * (aMax ?? maxOf(A));
    const count = activeCounts(A, m, n);
    return Float64Array.from(count, (c) => {
      const s = base * Math.sqrt(c / m);
      return s === 0 ? 1 : s;
    });
  }
}

export interface LstsqDropOptions {
  /** Solve for a full weight matrix (n×nPost) instead of decoders. Default false. */
  weights?: boolean;
  /** Fraction of the decoders (or weights) set to zero, in [0, 1). Default 0.25. */
  drop?: number;
  /** Solver of the first solve (default LstsqL2({ reg: 0.001 })). */
  solver1?: Solver;
  /** Solver of each column's second solve, on the neurons kept (default LstsqL2({ reg: 0.1 })). */
  solver2?: Solver;
}

/**
 * Sparser decoders or weights (Nengo `LstsqDrop`): solve with solver1, set
 * to zero those smaller in magnitude than the value at rank round(drop · size)
 * of all of them sorted by magnitude, then solve each column again with
 * solver2 on the activities of the neurons it kept (so solver2's max(A) is
 * theirs). Not compositional: with `weights: true` it solves against Y·E.
 */
export class LstsqDrop implements Solver {
  readonly weights: boolean;
  readonly drop: number;
  readonly solver1: Solver;
  readonly solver2: Solver;
  constructor(opts: LstsqDropOptions = {}) {
    checkKnownOptions(opts, ['weights', 'drop', 'solver1', 'solver2'], 'LstsqDrop');
    this.weights = checkWeightsFlag(opts.weights ?? false, 'LstsqDrop');
    const drop = opts.drop ?? 0.25;
    if (typeof drop !== 'number' || !(drop >= 0 && drop < 1))
      throw new ValidationError(`LstsqDrop: drop must be a fraction in [0, 1), got ${String(opts.drop)}`);
    this.drop = drop;
    const solver = (v: Solver | undefined, fallback: Solver, name: string): Solver => {
      if (v === undefined) return fallback;
      if (typeof v !== 'object' || v === null || typeof v.solve !== 'function' || typeof v.key !== 'function')
        throw new ValidationError(`LstsqDrop: ${name} must be a Solver such as new LstsqL2(), got ${String(v)}`);
      if (v.weights)
        throw new ValidationError(`LstsqDrop: ${name} must solve for decoders (weights: false); set weights on LstsqDrop itself`);
      return v;
    };
    this.solver1 = solver(opts.solver1, new LstsqL2({ reg: 0.001 }), 'solver1');
    this.solver2 = solver(opts.solver2, new LstsqL2({ reg: 0.1 }), 'solver2');
  }
  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, 'LstsqDrop');
    const { A, m, n, d, rng } = input;
    const k = this.weights ? nPost : d;
    const Y = this.weights ? matmul(input.Y, input.E!, m, d, nPost) : input.Y;
    if (n === 0 || k === 0 || m === 0)
      return { X: new Float64Array(n * k), rows: n, cols: k, rmses: rmses(A, new Float64Array(n * k), Y, m, n, k) };
    const X = this.solver1.solve({ A, Y, m, n, d: k, rng }).X;
    const sorted = Float64Array.from(X, Math.abs).sort();
    const threshold = sorted[roundHalfEven(this.drop * sorted.length)]!;
    for (let i = 0; i < X.length; i++) if (Math.abs(X[i]!) < threshold) X[i] = 0;
    for (let j = 0; j < k; j++) {
      const kept: number[] = [];
      for (let i = 0; i < n; i++) if (X[i * k + j] !== 0) kept.push(i);
      if (kept.length === 0) continue;
      const q = kept.length;
      const sub = new Float64Array(m * q);
      const y = new Float64Array(m);
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < q; c++) sub[r * q + c] = A[r * n + kept[c]!]!;
        y[r] = Y[r * k + j]!;
      }
      const x = this.solver2.solve({ A: sub, Y: y, m, n: q, d: 1, rng }).X;
      for (let c = 0; c < q; c++) X[kept[c]! * k + j] = x[c]!;
    }
    return { X, rows: n, cols: k, rmses: rmses(A, X, Y, m, n, k) };
  }
  key(): string {
    return `LstsqDrop(drop=${this.drop}, solver1=${this.solver1.key()}, solver2=${this.solver2.key()}, weights=${this.weights})`;
  }
  toString(): string {
    return this.key();
  }
}

/**
 * Below this rcond Lstsq solves through A's singular values (bidiagonal-solve.ts, svd.ts) rather than the Gram matrix
 * AᵀA, which squares the condition number: an audit measured the Gram route at numpy's solution to
 * 2e-9 (relative) at rcond 1e-4, but only to 1e-5 at 1e-6 and not at all at 0.
 */
const GRAM_RCOND = 1e-4;

export interface LstsqOptions {
  /** Solve for a full weight matrix (n×nPost) instead of decoders. Default false. */
  weights?: boolean;
  /** Singular values at most rcond times the largest count as zero. Default 0.01. */
  rcond?: number;
}

/**
 * Unregularised least squares (Nengo `Lstsq`, numpy's lstsq): the
 * minimum-norm solution of A X = Y, with singular values of A at most
 * rcond · the largest treated as zero. Here through the eigenpairs of the
 * smaller Gram matrix (AᵀA, or A Aᵀ when there are fewer eval points than
 * neurons), whose eigenvalues are the squared singular values: the cutoff
 * at rcond = 0.01 is 1e-4 of the largest eigenvalue, far above their
 * rounding; below rcond = 1e-4 it would not be (an audit measured 1e-5
 * relative at 1e-6 and 100% at 0 on a wide system), so there the solve
 * works on A itself: when tall, A = QR (svd.ts) and R's singular values by
 * bidiagonalisation and QR iteration (bidiagonal-solve.ts: 0.47 / 1.5 /
 * 6.8 s for 300 / 600 / 1,000 neurons, where one-sided Jacobi rotations
 * took 2.0 / 20 s for 300 / 600); when wide, A's rows rotated until
 * orthogonal (one-sided Jacobi, svd.ts).
 * The Gram route (spectral-solve.ts) tridiagonalises the Gram matrix and
 * applies the QL rotations to the d right-hand sides only, about 4/3 n³
 * operations in plain JavaScript: the connection's whole build 0.09 / 0.33 /
 * 1.2 s for 300 / 600 / 1,000 neurons here (0.23 / 1.1 / 4.9 s with the
 * full eigenvectors before, 2026-11-24), where numpy's lstsq alone takes
 * 0.014 / 0.058 / 0.19 s on two cores (LstsqL2 stays the fast default).
 */
export class Lstsq implements Solver {
  readonly weights: boolean;
  readonly rcond: number;
  constructor(opts: LstsqOptions = {}) {
    checkKnownOptions(opts, ['weights', 'rcond'], 'Lstsq');
    this.weights = checkWeightsFlag(opts.weights ?? false, 'Lstsq');
    const rcond = opts.rcond ?? 0.01;
    if (typeof rcond !== 'number' || !Number.isFinite(rcond) || rcond < 0)
      throw new ValidationError(`Lstsq: rcond must be a finite number >= 0, got ${String(opts.rcond)}`);
    this.rcond = rcond;
  }
  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, 'Lstsq');
    const { A, Y, m, n, d } = input;
    if (m === 0 || n === 0 || d === 0) return finish(new Float64Array(n * d), input, this.weights, nPost);
    if (this.rcond < GRAM_RCOND) {
      if (m <= n) return finish(this.solveSvd(A, Y, m, n, d), input, this.weights, nPost);
      // tall: A = QR, and the least-squares solution of R x = (Qᵀ Y)[:n] is A's (R is n x n: the
      // bidiagonalisation then works on the neurons, not the eval points)
      const { R, QtB } = householderQR(transpose(A, m, n), m, n, transpose(Y, m, d), d);
      return finish(truncatedSvdSolve(R, n, QtB, d, this.rcond), input, this.weights, nPost);
    }
    const tall = m >= n;
    // X = V diag(1/λ) Vᵀ AᵀY over the kept λ = s² (tall); X = Aᵀ U diag(1/λ) Uᵀ Y (wide)
    const Z = tall
      ? truncatedSpectralSolve(gramTN(A, m, n), n, matTmat(A, Y, m, n, d), d, this.rcond)
      : truncatedSpectralSolve(gramNT(A, m, n), m, Y, d, this.rcond);
    return finish(tall ? Z : matTmat(A, Z, m, n, d), input, this.weights, nPost);
  }
  /**
   * The same solution through the singular vectors themselves (svd.ts), for
   * a small rcond: rotating the columns of A (tall: W = A V, the rows of
   * Aᵀ) or its rows (wide: W = Uᵀ A) until orthogonal gives the singular
   * values as the lengths of W's rows, and
   *   X = sum over kept k of v_k (w_k . y) / s_k^2 (tall), or w_k (u_k . y) / s_k^2 (wide).
   */
  private solveSvd(A: Float64Array, Y: Float64Array, m: number, n: number, d: number): Float64Array {
    const tall = m >= n;
    const k = tall ? n : m,
      L = tall ? m : n;
    const { rows: W, rotation: G, sigma } = orthogonalizeRows(tall ? transpose(A, m, n) : A, k, L);
    let smax = 0;
    for (let i = 0; i < k; i++) smax = Math.max(smax, sigma[i]!);
    const cut = this.rcond * smax;
    const X = new Float64Array(n * d);
    const proj = new Float64Array(d);
    for (let e = 0; e < k; e++) {
      const s = sigma[e]!;
      if (!(s > cut) || s === 0) continue;
      // (w_e . y) with w_e of length m (tall), or (u_e . y) with u_e = row e of G (wide)
      const yv = tall ? W : G,
        yo = e * (tall ? L : k);
      proj.fill(0);
      for (let p = 0; p < m; p++) for (let j = 0; j < d; j++) proj[j]! += yv[yo + p]! * Y[p * d + j]!;
      const s2 = s * s;
      // times v_e = row e of G (tall), or w_e (wide), both of length n
      const xv = tall ? G : W,
        xo = e * (tall ? k : L);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j]! += (xv[xo + i]! * proj[j]!) / s2;
    }
    return X;
  }
  key(): string {
    return `Lstsq(rcond=${this.rcond}, weights=${this.weights})`;
  }
  toString(): string {
    return this.key();
  }
}

/** scikit-learn's ElasticNet tolerance (Nengo's LstsqL1 keeps the default). */
const ENET_TOL = 1e-4;

export interface LstsqL1Options {
  /** Solve for a full weight matrix (n×nPost) instead of decoders. Default false. */
  weights?: boolean;
  /** Amount of L1 regularisation, as a fraction of the largest activity. Default 1e-4. */
  l1?: number;
  /** Amount of L2 regularisation, as a fraction of the largest activity squared. Default 1e-6. */
  l2?: number;
  /** Most sweeps of coordinate descent per target (Nengo's max_iter). Default 1000. */
  maxIter?: number;
}

/**
 * Least squares with L1 and L2 regularisation, the elastic net (Nengo
 * `LstsqL1`): for each target column y,
 *   minimise 1/(2m) |y - A x|² + a |x|₁ + (b/2) |x|²,  a = l1 · max(A), b = l2 · max(A)²
 * by scikit-learn's coordinate descent, to which Nengo hands it
 * (ElasticNet(alpha = a + b, l1_ratio = a / (a + b), fit_intercept = False,
 * max_iter), tolerance 1e-4): elastic-net.ts follows that iteration and its
 * stopping test, so the decoders are Nengo's (to rounding), which are
 * usually not the minimum: at Nengo's defaults the descent runs out of
 * sweeps (test/solvers-lstsq-l1.test.ts). Sparse decoders or weights.
 * Solves for weights as Nengo's non-compositional solvers do: the targets
 * times the post encoders.
 */
export class LstsqL1 implements Solver {
  readonly weights: boolean;
  readonly l1: number;
  readonly l2: number;
  readonly maxIter: number;
  constructor(opts: LstsqL1Options = {}) {
    checkKnownOptions(opts, ['weights', 'l1', 'l2', 'maxIter'], 'LstsqL1');
    this.weights = checkWeightsFlag(opts.weights ?? false, 'LstsqL1');
    const amount = (v: unknown, name: string): number => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new ValidationError(`LstsqL1: ${name} must be a finite number >= 0, got ${String(v)}`);
      return v;
    };
    this.l1 = amount(opts.l1 ?? 1e-4, 'l1');
    this.l2 = amount(opts.l2 ?? 1e-6, 'l2');
    if (this.l1 + this.l2 === 0) throw new ValidationError('LstsqL1: l1 and l2 are both 0; use Lstsq for unregularised least squares');
    const maxIter = opts.maxIter ?? 1000;
    if (!Number.isInteger(maxIter) || maxIter < 1)
      throw new ValidationError(`LstsqL1: maxIter must be a positive integer, got ${String(opts.maxIter)}`);
    this.maxIter = maxIter;
  }
  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, 'LstsqL1');
    const { A, m, n, d } = input;
    const k = this.weights ? nPost : d;
    const Y = this.weights ? matmul(input.Y, input.E!, m, d, nPost) : input.Y;
    const X = new Float64Array(n * k);
    if (m > 0 && n > 0 && k > 0) {
      const amax = input.aMax ?? maxOf(A);
      // Nengo's: a = l1 max(A), b = l2 max(A)²; ElasticNet(alpha = a + b, l1_ratio = a / (a + b)), whose
      // coordinate descent takes alpha l1_ratio m and alpha (1 - l1_ratio) m, computed in this order
      const a = this.l1 * amax,
        b = this.l2 * amax ** 2;
      const alpha = a + b,
        l1Ratio = a / (a + b);
      const l1 = alpha * l1Ratio * m,
        l2 = alpha * (1 - l1Ratio) * m;
      const G = gramTN(A, m, n),
        AtY = matTmat(A, Y, m, n, k);
      const y = new Float64Array(m),
        Aty = new Float64Array(n);
      let short = 0;
      for (let j = 0; j < k; j++) {
        for (let r = 0; r < m; r++) y[r] = Y[r * k + j]!;
        for (let i = 0; i < n; i++) Aty[i] = AtY[i * k + j]!;
        const res = enetCoordinateDescent({ A, G, y, Aty, m, n }, l1, l2, this.maxIter, ENET_TOL);
        if (!res.converged) short++;
        for (let i = 0; i < n; i++) X[i * k + j] = res.w[i]!;
      }
      if (short > 0)
        process.emitWarning(
          `LstsqL1: the coordinate descent of ${short} of ${k} targets did not converge within maxIter = ${this.maxIter} sweeps ` +
            "(as scikit-learn's in Nengo, which warns the same): the decoders are the last sweep's; raise maxIter or l1 to go further",
          'NefsimWarning',
        );
    }
    return { X, rows: n, cols: k, rmses: rmses(A, X, Y, m, n, k) };
  }
  key(): string {
    return `LstsqL1(weights=${this.weights}, l1=${this.l1}, l2=${this.l2}, maxIter=${this.maxIter})`;
  }
  toString(): string {
    return this.key();
  }
}

export interface LstsqNoiseOptions {
  /** Solve for a full weight matrix (n×nPost) instead of decoders. Default false. */
  weights?: boolean;
  /** Amount of noise: its standard deviation as a fraction of max |A| (additive), or of each activity (multiplicative). Default 0.1. */
  noise?: number;
}

/**
 * Least squares on noisy activities (Nengo `LstsqNoise`): Gaussian noise of
 * standard deviation noise · max|A| added to every activity, then the
 * unregularised Cholesky solve; the noise regularises. The noise is drawn
 * from the connection's generator (its seed), so nefsim's draws are not
 * numpy's: decoders match Nengo's in distribution, not value by value.
 */
export class LstsqNoise implements Solver {
  readonly weights: boolean;
  readonly noise: number;
  /** Whether the solution depends on the connection's seed (the decoder cache then keys on it). */
  readonly random = true;
  constructor(opts: LstsqNoiseOptions = {}) {
    const cls = this.kind();
    checkKnownOptions(opts, ['weights', 'noise'], cls);
    this.weights = checkWeightsFlag(opts.weights ?? false, cls);
    const noise = opts.noise ?? 0.1;
    if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0)
      throw new ValidationError(`${cls}: noise must be a finite number >= 0, got ${String(opts.noise)}`);
    this.noise = noise;
  }
  protected kind(): string {
    return 'LstsqNoise';
  }
  /** The activities with noise: A + N(0, (noise · max|A|)²). */
  protected noisy(A: Float64Array, input: SolveInput): Float64Array {
    let amax = 0;
    for (let i = 0; i < A.length; i++) amax = Math.max(amax, Math.abs(A[i]!));
    const sigma = this.noise * amax;
    const out = new Float64Array(A.length);
    for (let i = 0; i < A.length; i++) out[i] = A[i]! + input.rng.normal() * sigma;
    return out;
  }
  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, this.kind());
    const { m, n, d } = input;
    if (m === 0 || n === 0 || d === 0) return finish(new Float64Array(n * d), input, this.weights, nPost);
    const A = this.noisy(input.A, input);
    const D = choleskyLstsq(A, input.Y, m, n, d, 0, this.kind());
    // Nengo reports the residuals on the noisy activities
    return finish(D, { ...input, A }, this.weights, nPost);
  }
  key(): string {
    return `${this.kind()}(noise=${this.noise}, weights=${this.weights})`;
  }
  toString(): string {
    return this.key();
  }
}

/** LstsqNoise with multiplicative noise (Nengo `LstsqMultNoise`): each activity times 1 + N(0, noise²). */
export class LstsqMultNoise extends LstsqNoise {
  protected override kind(): string {
    return 'LstsqMultNoise';
  }
  protected override noisy(A: Float64Array, input: SolveInput): Float64Array {
    const out = new Float64Array(A.length);
    for (let i = 0; i < A.length; i++) out[i] = A[i]! + input.rng.normal() * this.noise * A[i]!;
    return out;
  }
}

export interface NoSolverOptions {
  /** Use the values to form a full weight matrix (values·E) instead of decoders. Default false. */
  weights?: boolean;
}

/** 64-bit-ish FNV-1a hash (two 32-bit lanes) of a Float64Array's bytes, as hex. */
function hashValues(a: Float64Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h1 = 0x811c9dc5,
    h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ bytes[i]!, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/**
 * Uses the given decoders instead of solving (Nengo `NoSolver`): `values`
 * are decoders of shape (n_neurons, dims), as rows or one flat row-major
 * array; null gives zeros. With `weights: true` the weight matrix is
 * values·E, as in Nengo (NoSolver is compositional). The shape is checked
 * against the connection when solving.
 */
export class NoSolver implements Solver {
  readonly weights: boolean;
  /** The decoders, flat row-major, or null for zeros. */
  readonly values: Float64Array | null;
  /** Shape of the values when given as rows; undefined for a flat array. */
  readonly shape: readonly [number, number] | undefined;

  constructor(values: Float64Array | ArrayLike<ArrayLike<number>> | null = null, opts: NoSolverOptions = {}) {
    checkKnownOptions(opts, ['weights'], 'NoSolver');
    this.weights = checkWeightsFlag(opts.weights ?? false, 'NoSolver');
    if (values === null || values === undefined) {
      this.values = null;
      this.shape = undefined;
      return;
    }
    if (values instanceof Float64Array) {
      for (let i = 0; i < values.length; i++) {
        if (!Number.isFinite(values[i]!)) throw new ValidationError(`NoSolver: values[${i}] is not finite (${values[i]})`);
      }
      this.values = Float64Array.from(values);
      this.shape = undefined;
      return;
    }
    if (typeof values !== 'object' || typeof values.length !== 'number') {
      throw new ValidationError('NoSolver: values must be a 2-D array (n_neurons rows of dims values), a Float64Array or null');
    }
    const rows = values.length;
    const first = rows > 0 ? values[0] : undefined;
    if (rows > 0 && (typeof first !== 'object' || first === null || typeof first.length !== 'number')) {
      throw new ValidationError('NoSolver: values must be a 2-D array of shape (n_neurons, dims), e.g. [[0.1], [-0.2]]; got a 1-D array');
    }
    const cols = rows > 0 ? first!.length : 0;
    const flat = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      const row = values[i];
      if (typeof row !== 'object' || row === null || row.length !== cols) {
        throw new ValidationError(`NoSolver: values must be a rectangular 2-D array; row ${i} does not have ${cols} values`);
      }
      for (let j = 0; j < cols; j++) {
        const x: unknown = row[j];
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw new ValidationError(`NoSolver: values[${i}][${j}] must be a finite number, got ${String(x)}`);
        }
        flat[i * cols + j] = x;
      }
    }
    this.values = flat;
    this.shape = [rows, cols];
  }

  solve(input: SolveInput): SolveResult {
    const nPost = checkInput(input, this.weights, 'NoSolver');
    const { n, d } = input;
    let D: Float64Array;
    if (this.values === null) {
      D = new Float64Array(n * d);
    } else {
      if (this.shape) {
        if (this.shape[0] !== n || this.shape[1] !== d) {
          throw new ValidationError(
            `NoSolver: values have shape (${this.shape[0]}, ${this.shape[1]}) but this connection needs decoders ` +
              `of shape (n_neurons, dims) = (${n}, ${d})`,
          );
        }
      } else if (this.values.length !== n * d) {
        throw new ValidationError(
          `NoSolver: values have ${this.values.length} entries but this connection needs decoders of shape ` +
            `(n_neurons, dims) = (${n}, ${d}), i.e. ${n * d} entries`,
        );
      }
      D = Float64Array.from(this.values);
    }
    return finish(D, input, this.weights, nPost);
  }

  key(): string {
    const vals =
      this.values === null ? 'null' : `${this.shape ? `${this.shape[0]}x${this.shape[1]}` : this.values.length}:${hashValues(this.values)}`;
    return `NoSolver(values=${vals}, weights=${this.weights})`;
  }

  toString(): string {
    return this.key();
  }
}

/**
 * The same solver solving for decoders (weights: false), for a connection
 * where weights: true has no effect (into a node or neurons): it inherits
 * everything else, so it solves the same way, and its key() says
 * weights=false.
 */
export function decodingSolver(s: Solver): Solver {
  if (!s.weights) return s;
  return Object.create(s, { weights: { value: false, enumerable: true } }) as Solver;
}

/** The default solver for decoded connections: LstsqL2() (reg 0.1), as in Nengo. */
export const defaultSolver = (): Solver => new LstsqL2();
