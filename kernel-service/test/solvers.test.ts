import { afterEach, describe, expect, it } from 'vitest';
import { BuildError, ValidationError } from '../src/engine/errors.js';
import {
  NotPositiveDefiniteError,
  addToDiagonal,
  choleskyFactor,
  choleskySolve,
  gramNT,
  gramTN,
  kernelBackend,
  matTmat,
  matTvec,
  matmul,
  matmulNT,
  setKernelMode,
  solveLower,
  solveSPD,
  transpose,
} from '../src/engine/linalg.js';
import { Rng } from '../src/engine/rng.js';
import { LstsqL2, LstsqL2nz, NoSolver, defaultSolver, rmses, type SolveInput } from '../src/engine/solvers.js';

// ---------------------------------------------------------------------------
// helpers

function randn(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function naiveMatmul(A: Float64Array, B: Float64Array, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p]! * B[p * n + j]!;
      C[i * n + j] = s;
    }
  }
  return C;
}

function naiveT(A: Float64Array, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j]!;
  return T;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!));
  return e;
}

function maxAbs(a: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]!));
  return e;
}

/** A random SPD matrix B Bᵀ + n I. */
function spd(n: number, rng: Rng): Float64Array {
  const B = randn(n * n, rng);
  const G = naiveMatmul(B, naiveT(B, n, n), n, n, n);
  for (let i = 0; i < n; i++) G[i * n + i]! += n;
  return G;
}

/**
 * Rectified-linear tuning curves on [-1, 1]: a_i(x) = max(0, g_i (e_i x - c_i))
 * with encoders ±1, intercepts c_i uniform in [-0.9, 0.9] and max rates in
 * [100, 200] Hz at |x| = 1.
 */
function activities(x: Float64Array, n: number, rng: Rng): Float64Array {
  const enc = new Float64Array(n),
    c = new Float64Array(n),
    g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    enc[i] = rng.random() < 0.5 ? -1 : 1;
    c[i] = rng.uniform(-0.9, 0.9);
    g[i] = rng.uniform(100, 200) / (1 - c[i]!);
  }
  const m = x.length;
  const A = new Float64Array(m * n);
  for (let p = 0; p < m; p++) {
    for (let i = 0; i < n; i++) A[p * n + i] = Math.max(0, g[i]! * (enc[i]! * x[p]! - c[i]!));
  }
  return A;
}

function problem(m: number, n: number, seed = 1): { input: SolveInput; x: Float64Array } {
  const rng = new Rng(seed);
  const x = new Float64Array(m);
  for (let p = 0; p < m; p++) x[p] = rng.uniform(-1, 1);
  const A = activities(x, n, new Rng(seed + 100));
  const Y = new Float64Array(m * 2);
  for (let p = 0; p < m; p++) {
    Y[p * 2] = x[p]!;
    Y[p * 2 + 1] = x[p]! ** 2;
  }
  return { input: { A, Y, m, n, d: 2, rng }, x };
}

/** Residual of (AᵀA + diag(m σ²)) X = AᵀY, relative to the size of AᵀY. */
function normalEqResidual(
  A: Float64Array,
  Y: Float64Array,
  X: Float64Array,
  m: number,
  n: number,
  d: number,
  sigma: number | Float64Array,
): number {
  const G = naiveMatmul(naiveT(A, m, n), A, n, m, n);
  for (let i = 0; i < n; i++) {
    const s = typeof sigma === 'number' ? sigma : sigma[i]!;
    G[i * n + i]! += m * s * s;
  }
  const lhs = naiveMatmul(G, X, n, n, d);
  const rhs = naiveMatmul(naiveT(A, m, n), Y, n, m, d);
  return maxAbsDiff(lhs, rhs) / maxAbs(rhs);
}

// ---------------------------------------------------------------------------

describe('linalg', () => {
  afterEach(() => {
    setKernelMode('auto');
  });

  it('matmul, transpose, matTvec, matTmat, matmulNT agree with naive products', () => {
    const rng = new Rng(1);
    for (const [m, k, n] of [
      [1, 1, 1],
      [3, 5, 2],
      [7, 4, 9],
      [33, 17, 65],
      [130, 70, 90],
    ] as const) {
      const A = randn(m * k, rng),
        B = randn(k * n, rng);
      expect(maxAbsDiff(matmul(A, B, m, k, n), naiveMatmul(A, B, m, k, n))).toBeLessThan(1e-12);
      expect(Array.from(transpose(A, m, k))).toEqual(Array.from(naiveT(A, m, k)));
      const Bt = naiveT(B, k, n); // n×k
      expect(maxAbsDiff(matmulNT(A, Bt, m, k, n), naiveMatmul(A, B, m, k, n))).toBeLessThan(1e-12);
      const Y = randn(m * n, rng);
      expect(maxAbsDiff(matTmat(A, Y, m, k, n), naiveMatmul(naiveT(A, m, k), Y, k, m, n))).toBeLessThan(1e-12);
      const y = randn(m, rng);
      expect(maxAbsDiff(matTvec(A, y, m, k), naiveMatmul(naiveT(A, m, k), y, k, m, 1))).toBeLessThan(1e-12);
    }
  });

  it('uses the WebAssembly SIMD kernel on this platform unless told not to', () => {
    expect(kernelBackend()).toBe('wasm-simd'); // Node >= 16.4 on x64/arm64
    setKernelMode('js');
    expect(kernelBackend()).toBe('js');
  });

  it('gives bit-identical results with the WebAssembly and JavaScript kernels', () => {
    const rng = new Rng(12);
    const A = randn(700 * 200, rng);
    const B = randn(90 * 200, rng);
    const G0 = gramTN(A, 700, 200),
      H0 = gramNT(A, 700, 200),
      M0 = matmulNT(A, B, 700, 200, 90);
    addToDiagonal(G0, 200, 1);
    const L0 = choleskyFactor(G0.slice(), 200);
    setKernelMode('js');
    const G1 = gramTN(A, 700, 200),
      H1 = gramNT(A, 700, 200),
      M1 = matmulNT(A, B, 700, 200, 90);
    addToDiagonal(G1, 200, 1);
    const L1 = choleskyFactor(G1.slice(), 200);
    expect(Array.from(G1)).toEqual(Array.from(G0));
    expect(Array.from(H1)).toEqual(Array.from(H0));
    expect(Array.from(M1)).toEqual(Array.from(M0));
    expect(Array.from(L1)).toEqual(Array.from(L0));
  });

  it('gramTN = AᵀA and gramNT = AAᵀ, exactly symmetric, for both kernels', () => {
    const rng = new Rng(2);
    for (const mode of ['auto', 'js'] as const) {
      setKernelMode(mode);
      for (const [m, n] of [
        [1, 1],
        [5, 3],
        [3, 5],
        [9, 13],
        [600, 131],
        [131, 600],
      ] as const) {
        const A = randn(m * n, rng);
        const G = gramTN(A, m, n);
        expect(maxAbsDiff(G, naiveMatmul(naiveT(A, m, n), A, n, m, n)), `${mode} ${m}×${n}`).toBeLessThan(1e-10);
        const H = gramNT(A, m, n);
        expect(maxAbsDiff(H, naiveMatmul(A, naiveT(A, m, n), m, n, m)), `${mode} ${m}×${n}`).toBeLessThan(1e-10);
        let asym = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) if (G[i * n + j] !== G[j * n + i]) asym++;
        expect(asym).toBe(0);
      }
    }
  });

  it('choleskyFactor gives L lower-triangular with L Lᵀ = G (block edges, both kernels)', () => {
    const rng = new Rng(3);
    for (const mode of ['auto', 'js'] as const) {
      setKernelMode(mode);
      for (const n of [1, 2, 3, 4, 5, 63, 64, 65, 67, 130, 200]) {
        const G = spd(n, rng);
        const L = choleskyFactor(G.slice(), n);
        let bad = 0;
        for (let i = 0; i < n; i++) {
          if (!(L[i * n + i]! > 0)) bad++;
          for (let j = i + 1; j < n; j++) if (L[i * n + j] !== 0) bad++;
        }
        expect(bad).toBe(0);
        const LLt = naiveMatmul(L, naiveT(L, n, n), n, n, n);
        expect(maxAbsDiff(LLt, G) / maxAbs(G), `${mode} n=${n}`).toBeLessThan(1e-13);
      }
    }
  });

  it('choleskyFactor reads only the lower triangle', () => {
    const rng = new Rng(4);
    const n = 70;
    const G = spd(n, rng);
    const H = G.slice();
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) H[i * n + j] = 1e6 * rng.normal();
    expect(Array.from(choleskyFactor(H, n))).toEqual(Array.from(choleskyFactor(G.slice(), n)));
  });

  it('choleskySolve, solveLower and solveSPD solve their systems', () => {
    const rng = new Rng(5);
    for (const [n, k] of [
      [1, 1],
      [4, 3],
      [70, 2],
      [129, 5],
    ] as const) {
      const G = spd(n, rng);
      const B = randn(n * k, rng);
      const X = solveSPD(G, B, n, k);
      expect(maxAbsDiff(naiveMatmul(G, X, n, n, k), B)).toBeLessThan(1e-10);
      const L = choleskyFactor(G.slice(), n);
      expect(maxAbsDiff(choleskySolve(L, B, n, k), X)).toBeLessThan(1e-12);
      const Yl = solveLower(L, B, n, k);
      expect(maxAbsDiff(naiveMatmul(L, Yl, n, n, k), B)).toBeLessThan(1e-10);
    }
  });

  it('throws NotPositiveDefiniteError on a non-SPD matrix', () => {
    expect(() => choleskyFactor(Float64Array.of(1, 2, 2, 1), 2)).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyFactor(Float64Array.of(-1), 1)).toThrow(/not positive definite/);
    // singular: rank-1 Gram matrix of 100×3 with identical columns
    const n = 3,
      m = 100;
    const A = new Float64Array(m * n);
    for (let p = 0; p < m; p++) A[p * n] = A[p * n + 1] = A[p * n + 2] = p / m;
    try {
      choleskyFactor(gramTN(A, m, n), n);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotPositiveDefiniteError);
      expect((e as NotPositiveDefiniteError).index).toBe(1);
    }
    expect(() => choleskyFactor(Float64Array.of(NaN), 1)).toThrow(NotPositiveDefiniteError);
    // a large indefinite matrix fails in a later block
    const big = spd(100, new Rng(6));
    big[90 * 100 + 90] = -1e6;
    expect(() => choleskyFactor(big, 100)).toThrow(NotPositiveDefiniteError);
  });

  it('addToDiagonal adds a scalar or a vector', () => {
    const G = new Float64Array(4);
    addToDiagonal(G, 2, 1);
    addToDiagonal(G, 2, [2, 3]);
    expect(Array.from(G)).toEqual([3, 0, 0, 4]);
  });
});

describe('LstsqL2', () => {
  it('decodes x and x² from rectified-linear activities with small RMSE', () => {
    const { input } = problem(500, 80);
    const res = new LstsqL2().solve(input);
    expect(res.rows).toBe(80);
    expect(res.cols).toBe(2);
    expect(res.X.length).toBe(160);
    expect(res.rmses.length).toBe(2);
    expect(res.rmses[0]).toBeLessThan(0.02);
    expect(res.rmses[1]).toBeLessThan(0.03);
    // rmses are the RMS residuals of A X - Y
    expect(maxAbsDiff(res.rmses, rmses(input.A, res.X, input.Y, input.m, input.n, input.d))).toBe(0);
    let s0 = 0;
    const AX = naiveMatmul(input.A, res.X, input.m, input.n, 2);
    for (let p = 0; p < input.m; p++) s0 += (AX[p * 2]! - input.Y[p * 2]!) ** 2;
    expect(Math.abs(Math.sqrt(s0 / input.m) - res.rmses[0]!)).toBeLessThan(1e-12);
  });

  it("generalises to new points (it's a decoder, not an interpolant)", () => {
    const { input } = problem(500, 80, 7);
    const res = new LstsqL2().solve(input);
    // same neurons (same tuning seed), new points
    const xs = new Float64Array(200);
    for (let p = 0; p < 200; p++) xs[p] = -1 + (2 * p) / 199;
    const A2 = activities(xs, 80, new Rng(7 + 100));
    const out = naiveMatmul(A2, res.X, 200, 80, 2);
    let e = 0;
    for (let p = 0; p < 200; p++) e = Math.max(e, Math.abs(out[p * 2]! - xs[p]!));
    expect(e).toBeLessThan(0.1);
  });

  it('satisfies the regularised normal equations (AᵀA + m σ² I) X = AᵀY with σ = reg·max(A)', () => {
    for (const reg of [0.1, 0.01, 0.5]) {
      const { input } = problem(300, 60, 2);
      const res = new LstsqL2({ reg }).solve(input);
      const sigma = reg * maxAbs(input.A);
      expect(normalEqResidual(input.A, input.Y, res.X, input.m, input.n, 2, sigma), `reg=${reg}`).toBeLessThan(1e-9);
    }
  });

  it('uses the m×m system when there are fewer eval points than neurons, with the same solution', () => {
    const { input } = problem(40, 90, 3);
    const res = new LstsqL2().solve(input);
    const sigma = 0.1 * maxAbs(input.A);
    expect(normalEqResidual(input.A, input.Y, res.X, 40, 90, 2, sigma)).toBeLessThan(1e-9);
    // the n×n form (as LstsqL2nz with every neuron equally active would use) gives the same X
    const G = gramTN(input.A, 40, 90);
    addToDiagonal(G, 90, 40 * sigma * sigma);
    const X2 = solveSPD(G, matTmat(input.A, input.Y, 40, 90, 2), 90, 2);
    expect(maxAbsDiff(res.X, X2) / maxAbs(X2)).toBeLessThan(1e-8);
  });

  it('with weights=true returns decoders·E (n×nPost)', () => {
    const { input } = problem(300, 50, 4);
    const nPost = 7;
    const E = randn(2 * nPost, new Rng(8));
    const dec = new LstsqL2().solve(input);
    const w = new LstsqL2({ weights: true }).solve({ ...input, E, nPost });
    expect(w.rows).toBe(50);
    expect(w.cols).toBe(nPost);
    expect(maxAbsDiff(w.X, naiveMatmul(dec.X, E, 50, 2, nPost))).toBeLessThan(1e-12);
    expect(Array.from(w.rmses)).toEqual(Array.from(dec.rmses));
    // ... which is the least-squares solution for the targets Y·E
    const YE = naiveMatmul(input.Y, E, input.m, 2, nPost);
    const sigma = 0.1 * maxAbs(input.A);
    expect(normalEqResidual(input.A, YE, w.X, input.m, 50, nPost, sigma)).toBeLessThan(1e-9);
    expect(() => new LstsqL2({ weights: true }).solve(input)).toThrow(/needs the post encoders E/);
    expect(() => new LstsqL2({ weights: true }).solve({ ...input, E: new Float64Array(3), nPost })).toThrow(ValidationError);
  });

  it('reports a clear error when the system is singular', () => {
    const m = 50,
      n = 10;
    const A = new Float64Array(m * n); // all-zero activities
    const Y = new Float64Array(m);
    const input = { A, Y, m, n, d: 1, rng: new Rng(1) };
    expect(() => new LstsqL2().solve(input)).toThrow(BuildError);
    expect(() => new LstsqL2().solve(input)).toThrow(/LstsqL2: the regularised Gram matrix .* not positive definite/);
  });

  it('validates options and input shapes', () => {
    expect(() => new LstsqL2({ reg: -1 })).toThrow(ValidationError);
    expect(() => new LstsqL2({ regularization: 0.1 } as never)).toThrow(/unknown option/);
    const { input } = problem(20, 5);
    expect(() => new LstsqL2().solve({ ...input, m: 21 })).toThrow(/activities A must be/);
    expect(() => new LstsqL2().solve({ ...input, d: 3 })).toThrow(/targets Y must be/);
  });

  it('has a key that identifies the solver and its parameters', () => {
    expect(new LstsqL2().key()).toBe('LstsqL2(reg=0.1, weights=false)');
    expect(new LstsqL2({ reg: 0.01, weights: true }).key()).toBe('LstsqL2(reg=0.01, weights=true)');
    expect(new LstsqL2nz().key()).toBe('LstsqL2nz(reg=0.1, weights=false)');
    expect(defaultSolver()).toBeInstanceOf(LstsqL2);
    expect(defaultSolver().key()).toBe(new LstsqL2().key());
  });

  it('handles empty targets and zero neurons', () => {
    const { input } = problem(20, 5);
    const r = new LstsqL2().solve({ ...input, Y: new Float64Array(0), d: 0 });
    expect(r.X.length).toBe(0);
    expect(r.cols).toBe(0);
  });

  it('solves a large decoder (2500 eval points × 1000 neurons) accurately (timing belongs in bench/)', () => {
    const m = 2500,
      n = 1000;
    const rng = new Rng(9);
    const x = new Float64Array(m);
    for (let p = 0; p < m; p++) x[p] = rng.uniform(-1, 1);
    const A = activities(x, n, rng);
    const res = new LstsqL2().solve({ A, Y: x, m, n, d: 1, rng });
    expect(res.rmses[0]).toBeLessThan(0.01);
  });
});

describe('LstsqL2nz', () => {
  it("scales each neuron's regularisation by the square root of how often it is active", () => {
    const { input } = problem(300, 60, 5);
    const { A, m, n } = input;
    // make neuron 3 never active
    for (let p = 0; p < m; p++) A[p * n + 3] = 0;
    const res = new LstsqL2nz().solve(input);
    const base = 0.1 * maxAbs(A);
    const sigma = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let c = 0;
      for (let p = 0; p < m; p++) if (A[p * n + i]! > 0) c++;
      sigma[i] = base * Math.sqrt(c / m);
    }
    const mx = Math.max(...sigma);
    for (let i = 0; i < n; i++) if (sigma[i] === 0) sigma[i] = mx;
    expect(normalEqResidual(A, input.Y, res.X, m, n, 2, sigma)).toBeLessThan(1e-9);
    expect(res.X[3 * 2]).toBe(0); // the silent neuron gets no decoder
    expect(res.rmses[0]).toBeLessThan(0.02);
  });

  it('also works with fewer eval points than neurons (always the n×n form)', () => {
    const { input } = problem(40, 90, 6);
    const res = new LstsqL2nz().solve(input);
    expect(res.rows).toBe(90);
    expect(Number.isFinite(res.rmses[0]!)).toBe(true);
  });
});

describe('NoSolver', () => {
  const { input } = problem(50, 4, 10);

  it('returns the given decoders, as rows or flat', () => {
    const values = [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ];
    const r = new NoSolver(values).solve(input);
    expect(Array.from(r.X)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([r.rows, r.cols]).toEqual([4, 2]);
    expect(maxAbsDiff(r.rmses, rmses(input.A, r.X, input.Y, 50, 4, 2))).toBe(0);
    const f = new NoSolver(Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8)).solve(input);
    expect(Array.from(f.X)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('returns zeros of the right shape for null values', () => {
    const r = new NoSolver(null).solve(input);
    expect(r.X.length).toBe(8);
    expect(maxAbs(r.X)).toBe(0);
    const E = randn(2 * 3, new Rng(1));
    const w = new NoSolver(null, { weights: true }).solve({ ...input, E, nPost: 3 });
    expect([w.rows, w.cols]).toEqual([4, 3]);
    expect(maxAbs(w.X)).toBe(0);
  });

  it('with weights=true returns values·E', () => {
    const values = [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ];
    const E = randn(2 * 3, new Rng(2));
    const w = new NoSolver(values, { weights: true }).solve({ ...input, E, nPost: 3 });
    expect(maxAbsDiff(w.X, naiveMatmul(Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8), E, 4, 2, 3))).toBeLessThan(1e-15);
  });

  it('names the problem on shape mismatch', () => {
    expect(() =>
      new NoSolver([
        [1, 2],
        [3, 4],
      ]).solve(input),
    ).toThrow(/NoSolver: values have shape \(2, 2\) but this connection needs decoders of shape \(n_neurons, dims\) = \(4, 2\)/);
    expect(() => new NoSolver([[1], [2], [3], [4]]).solve(input)).toThrow(/shape \(4, 1\).*\(4, 2\)/);
    expect(() => new NoSolver(new Float64Array(6)).solve(input)).toThrow(/6 entries.*\(4, 2\), i\.e\. 8 entries/);
    expect(() => new NoSolver([1, 2, 3] as never)).toThrow(/2-D array.*1-D array/);
    expect(() => new NoSolver([[1, 2], [3]])).toThrow(/rectangular.*row 1/);
    expect(() => new NoSolver([[1, NaN]])).toThrow(/values\[0\]\[1\] must be a finite number/);
    expect(() => new NoSolver(null, { weigths: true } as never)).toThrow(/unknown option 'weigths'/);
  });

  it('copies the values and keys on them', () => {
    const v = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const s = new NoSolver(v);
    v[0] = 100;
    expect(s.solve(input).X[0]).toBe(1);
    expect(s.key()).toBe(new NoSolver(Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8)).key());
    expect(s.key()).not.toBe(new NoSolver(Float64Array.of(1, 2, 3, 4, 5, 6, 7, 9)).key());
    expect(new NoSolver([[1, 2]]).key()).not.toBe(new NoSolver([[1], [2]]).key());
    expect(new NoSolver().key()).toBe('NoSolver(values=null, weights=false)');
    expect(new NoSolver(null, { weights: true }).weights).toBe(true);
  });
});
