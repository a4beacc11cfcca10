/**
 * Lstsq (numpy's lstsq with its rcond cutoff) against Nengo 4.1's decoders
 * and weights for the same ensembles and eval points, and LstsqNoise /
 * LstsqMultNoise in distribution over 20 connection seeds
 * (fixtures/nengo_lstsq.json, written by fixtures/nengo_lstsq.py); the
 * truncated spectral solve on its own.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { LIF, Lstsq, LstsqMultNoise, LstsqNoise, Network, Simulator, type Solver } from '../src/index.js';
import { truncatedSpectralSolve } from '../src/engine/spectral-solve.js';
import { truncatedSvdSolve } from '../src/engine/bidiagonal-solve.js';
import { orthogonalizeRows } from '../src/engine/svd.js';
import { Rng } from '../src/engine/rng.js';

const fx = readFixture('nengo_lstsq') as {
  pre: FixtureNeurons;
  post: FixtureNeurons;
  evalPoints: number[];
  big: FixtureNeurons;
  bigEvalPoints: number[];
  seeds: number[];
  cases: Record<string, { function: 'square' | 'identity'; m: number; weights: number[][] }>;
  noisy: Record<string, number[][]>;
};

const SOLVERS: Record<string, () => Solver> = {
  Lstsq: () => new Lstsq(),
  'Lstsq rcond 0.001': () => new Lstsq({ rcond: 0.001 }),
  'Lstsq weights': () => new Lstsq({ weights: true }),
  'Lstsq, fewer eval points than neurons': () => new Lstsq(),
  'Lstsq rcond 1e-6': () => new Lstsq({ rcond: 1e-6 }),
  'Lstsq rcond 0': () => new Lstsq({ rcond: 0 }),
  'Lstsq rcond 0, fewer eval points than neurons': () => new Lstsq({ rcond: 0 }),
  'Lstsq rcond 1e-8, 150 neurons': () => new Lstsq({ rcond: 1e-8 }),
  'Lstsq rcond 1e-8, 150 neurons, 100 eval points': () => new Lstsq({ rcond: 1e-8 }),
};
const NOISY: Record<string, () => Solver> = {
  LstsqNoise: () => new LstsqNoise(),
  'LstsqNoise 0.02': () => new LstsqNoise({ noise: 0.02 }),
  LstsqMultNoise: () => new LstsqMultNoise(),
};

/** m eval points of the 40-neuron pre; -m, or more than 100, of the 150-neuron one (as the fixture script). */
function build(solver: Solver, fn: 'square' | 'identity', m: number, seed?: number) {
  const big = m < 0 || m > 100;
  const net = new Network({ seed: 3 });
  const pre = fixtureEnsemble(net, big ? fx.big : fx.pre, undefined);
  const post = fixtureEnsemble(net, fx.post, undefined);
  const conn = net.connect(pre, post, {
    function: fn === 'square' ? (x) => [x[0]! * x[0]!] : (x) => [x[0]!],
    evalPoints: (big ? fx.bigEvalPoints : fx.evalPoints).slice(0, Math.abs(m)).map((x) => [x]),
    solver,
    ...(seed !== undefined ? { seed } : {}),
  });
  const sim = new Simulator(net);
  return { sim, pre, weights: sim.weights(conn).toArray() };
}

function maxAbs(rows: number[][]): number {
  let s = 0;
  for (const r of rows) for (const v of r) s = Math.max(s, Math.abs(v));
  return s;
}

function meanSd(xs: number[]): [number, number] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return [mean, sd];
}

describe("Lstsq as Nengo 4.1's (numpy's lstsq)", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(Object.keys(SOLVERS));
    expect(Object.keys(fx.noisy)).toEqual(Object.keys(NOISY));
  });

  for (const name of Object.keys(SOLVERS)) {
    it(`${name}: the same decoders or weights`, () => {
      const c = fx.cases[name]!;
      // measured: within 4e-12 of the largest value at rcond >= 1e-4 (the Gram route), 2e-9 at rcond 1e-8 on 150 neurons (one-sided Jacobi)
      const got = build(SOLVERS[name]!(), c.function, c.m).weights;
      const want = c.weights;
      expect([got.length, got[0]!.length]).toEqual([want.length, want[0]!.length]);
      const scale = maxAbs(want);
      // ill-conditioned (rcond 1e-8 keeps singular values down to 1e-8 of the largest): rounding grows as 1 / s
      const tol = name.includes('1e-8') ? 1e-8 : 1e-10;
      for (let r = 0; r < want.length; r++)
        for (let i = 0; i < want[r]!.length; i++)
          expect(Math.abs(got[r]![i]! - want[r]![i]!), `${name} [${r}, ${i}]`).toBeLessThan(tol * scale);
    });
  }

  it('the rcond cutoff matters here (without it the decoders differ)', () => {
    const a = build(new Lstsq(), 'square', 100).weights;
    const b = build(new Lstsq({ rcond: 1e-5 }), 'square', 100).weights;
    expect(maxAbs([a[0]!.map((v, i) => v - b[0]![i]!)])).toBeGreaterThan(0.01 * maxAbs(a));
  });

  it('refuses bad options, naming them', () => {
    expect(() => new Lstsq({ rcond: -1 })).toThrow(/Lstsq: rcond must be/);
    expect(() => new Lstsq({ reg: 0.1 } as never)).toThrow(/Lstsq: unknown option 'reg'/);
    expect(() => new LstsqNoise({ noise: Number.NaN })).toThrow(/LstsqNoise: noise must be/);
    expect(() => new LstsqMultNoise({ rcond: 1 } as never)).toThrow(/LstsqMultNoise: unknown option 'rcond'/);
  });
});

describe('LstsqNoise and LstsqMultNoise in distribution against Nengo 4.1', () => {
  for (const name of Object.keys(NOISY)) {
    it(`${name}: decoding error and decoder size over 20 seeds as Nengo's`, () => {
      const ours = fx.seeds.map((seed) => build(NOISY[name]!(), 'square', 100, seed));
      // the clean activities at the eval points, to measure both engines' decoders on
      const { sim, pre } = ours[0]!;
      const be = sim.model.ensembles.get(pre)!;
      const n = fx.pre.encoders.length;
      const J = new Float64Array(100 * n);
      for (let p = 0; p < 100; p++) for (let i = 0; i < n; i++) J[p * n + i] = be.bias[i]! + be.scaledEncoders[i]! * fx.evalPoints[p]!;
      const A = new Float64Array(J.length);
      new LIF().rates(J, A);
      const rmse = (d: number[]): number => {
        let s = 0;
        for (let p = 0; p < 100; p++) {
          let y = 0;
          for (let i = 0; i < n; i++) y += A[p * n + i]! * d[i]!;
          s += (y - fx.evalPoints[p]! ** 2) ** 2;
        }
        return Math.sqrt(s / 100);
      };
      const norm = (d: number[]): number => Math.hypot(...d);
      for (const [f, what] of [
        [rmse, 'rmse'],
        [norm, 'decoder norm'],
      ] as const) {
        const [m1, s1] = meanSd(ours.map((o) => f(o.weights[0]!)));
        const [m2, s2] = meanSd(fx.noisy[name]!.map(f));
        // four standard errors of the difference of two means of 20
        expect(Math.abs(m1 - m2), `${name} ${what}: nefsim ${m1} ± ${s1}, Nengo ${m2} ± ${s2}`).toBeLessThan(
          4 * Math.sqrt((s1 * s1 + s2 * s2) / 20),
        );
      }
      // the noise is the connection's: other seeds, other decoders; the same seed, the same
      expect(ours[0]!.weights).not.toEqual(ours[1]!.weights);
      expect(build(NOISY[name]!(), 'square', 100, fx.seeds[0]).weights).toEqual(ours[0]!.weights);
    });
  }
});

describe('noisy solvers in one build', () => {
  it('give each connection its own noise: two connections, or a connection and a decoded probe, from one ensemble differ', () => {
    const net = new Network({ seed: 7 });
    const a = net.ensemble({ nNeurons: 30, dimensions: 1 });
    const c1 = net.connect(a, net.node(null, { sizeIn: 1 }), { solver: new LstsqNoise(), seed: 1 });
    const c2 = net.connect(a, net.node(null, { sizeIn: 1 }), { solver: new LstsqNoise(), seed: 2 });
    const c3 = net.connect(a, net.node(null, { sizeIn: 1 }), { solver: new LstsqNoise(), seed: 1 });
    const sim = new Simulator(net, { decoderCache: null });
    const w1 = sim.weights(c1).toArray();
    expect(sim.weights(c2).toArray()).not.toEqual(w1);
    expect(sim.weights(c3).toArray()).toEqual(w1); // the same seed, the same noise
    // and in a second build, from the decoder cache, the same again
    const again = new Simulator(net);
    expect(again.weights(c2).toArray()).toEqual(sim.weights(c2).toArray());
  });
});

/** U diag(λ) Uᵀ with U orthogonal: the identity through three random Householder reflections. */
function withSpectrum(values: number[], rng: Rng): { S: Float64Array; U: Float64Array } {
  const n = values.length;
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) U[i * n + i] = 1;
  for (let h = 0; h < 3; h++) {
    const u = Array.from({ length: n }, () => rng.normal());
    const uu = u.reduce((a, x) => a + x * x, 0);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += u[i]! * U[i * n + j]!;
      for (let i = 0; i < n; i++) U[i * n + j]! -= (2 * s * u[i]!) / uu;
    }
  }
  // S = Σ λ_k u_k u_kᵀ, u_k = column k of U
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += U[i * n + k]! * values[k]! * U[j * n + k]!;
      S[i * n + j] = s;
    }
  return { S, U };
}

describe('truncatedSpectralSolve (Householder tridiagonal + QL, rotations applied to the right-hand sides)', () => {
  const cases: Record<string, number[]> = {
    'distinct, some below the cutoff, some negative': [9, 4, 2.5, 1, 0.3, 1e-3, 1e-5, -1e-9, 7, 0.05, 3, 1e-7],
    'repeated (clustered) eigenvalues': [5, 5, 5, 2, 2, 1e-6, 1e-6, 1, 1, 1, 0.5],
    'one by one': [4],
    'two by two': [3, 1e-8],
    'three by three': [2, 1, 0.5],
  };
  for (const [name, values] of Object.entries(cases)) {
    it(`${name}: X = sum over kept λ of u (uᵀB) / λ`, () => {
      const rng = new Rng(11);
      const n = values.length,
        d = 3,
        rcond = 0.01;
      const { S, U } = withSpectrum(values, rng);
      const B = Float64Array.from({ length: n * d }, () => rng.normal());
      const X = truncatedSpectralSolve(S, n, B, d, rcond);
      const cut = rcond * Math.sqrt(Math.max(...values));
      const want = new Float64Array(n * d);
      values.forEach((l, k) => {
        if (!(l > 0 && Math.sqrt(l) > cut)) return;
        for (let j = 0; j < d; j++) {
          let ub = 0;
          for (let i = 0; i < n; i++) ub += U[i * n + k]! * B[i * d + j]!;
          for (let i = 0; i < n; i++) want[i * d + j]! += (U[i * n + k]! * ub) / l;
        }
      });
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < n * d; i++) expect(Math.abs(X[i]! - want[i]!), `${name} [${i}]`).toBeLessThan(1e-10 * scale); // rounding grows as λ_max / λ_min of the kept: here 2e-12
    });
  }
  it('a diagonal matrix (no reflection needed) and a block-diagonal one', () => {
    const n = 6;
    const S = new Float64Array(n * n);
    [3, 1, 2, 1e-9, 5, 4].forEach((l, i) => (S[i * n + i] = l));
    const B = Float64Array.from({ length: n }, (_, i) => i + 1);
    expect(Array.from(truncatedSpectralSolve(S, n, B, 1, 0.01))).toEqual([1 / 3, 2, 3 / 2, 0, 1, 6 / 4].map((x, i) => (i === 3 ? 0 : x)));
    // two 3x3 blocks: S X = B where every eigenvalue is kept
    S.fill(0);
    for (const o of [0, 3]) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) S[(o + i) * n + o + j] = i === j ? 4 : 1;
    const X = truncatedSpectralSolve(S, n, B, 1, 0.01);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += S[i * n + j]! * X[j]!;
      expect(Math.abs(s - B[i]!)).toBeLessThan(1e-13 * 6);
    }
  });
  it('refuses shapes that do not fit', () => {
    expect(() => truncatedSpectralSolve(new Float64Array(4), 2, new Float64Array(3), 1, 0.01)).toThrow(/shapes 2x2 and 2x1/);
  });
});

/** The minimum-norm truncated solution of R X = C through one-sided Jacobi (svd.ts), as a reference. */
function jacobiSolve(R: Float64Array, n: number, C: Float64Array, d: number, rcond: number): Float64Array {
  const Rt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Rt[j * n + i] = R[i * n + j]!;
  // rows of Rᵀ rotated: W = G Rᵀ, row e of W = σ_e u_eᵀ, row e of G = v_eᵀ
  const { rows: W, rotation: G, sigma } = orthogonalizeRows(Rt, n, n);
  const cut = rcond * Math.max(...sigma);
  const X = new Float64Array(n * d);
  for (let e = 0; e < n; e++) {
    const s = sigma[e]!;
    if (!(s > cut) || s === 0) continue;
    for (let j = 0; j < d; j++) {
      let wy = 0;
      for (let p = 0; p < n; p++) wy += W[e * n + p]! * C[p * d + j]!;
      for (let i = 0; i < n; i++) X[i * d + j]! += (G[e * n + i]! * wy) / (s * s);
    }
  }
  return X;
}

describe('truncatedSvdSolve (Golub-Kahan bidiagonal + QR, rotations applied to the right-hand sides)', () => {
  const rng = new Rng(21);
  const random = (n: number): Float64Array => Float64Array.from({ length: n * n }, () => rng.normal());
  const times = (P: Float64Array, Q: Float64Array, n: number, r: number): Float64Array => {
    // (n x r)(r x n)
    const M = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) for (let j = 0; j < n; j++) M[i * n + j]! += P[i * r + k]! * Q[k * n + j]!;
    return M;
  };
  const n = 24;
  const rankDeficient = times(
    Float64Array.from({ length: n * 9 }, () => rng.normal()),
    Float64Array.from({ length: 9 * n }, () => rng.normal()),
    n,
    9,
  );
  const zeroRowCol = random(n);
  for (let i = 0; i < n; i++) zeroRowCol[i * n + 5] = zeroRowCol[7 * n + i] = 0;
  const graded = random(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) graded[i * n + j]! *= 10 ** -(j / 3);
  const upper = random(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) upper[i * n + j] = 0;
  // upper bidiagonal with an exact zero on the diagonal: the iteration's deflation (last) and splitting (inner) branches
  const bidiagonal = (diag: number[]): Float64Array => {
    const k = diag.length;
    const B = new Float64Array(k * k);
    diag.forEach((x, i) => {
      B[i * k + i] = x;
      if (i + 1 < k) B[i * k + i + 1] = 0.5 + i / 7;
    });
    return B;
  };
  const cases: [string, Float64Array, number, number][] = [
    ['bidiagonal, a zero last on the diagonal, rcond 1e-12', bidiagonal([2, 1.5, 3, 1, 0]), 1e-12, 1e-12],
    ['bidiagonal, a zero inside the diagonal, rcond 1e-12', bidiagonal([2, 1.5, 0, 3, 1, 2.5]), 1e-12, 1e-12],
    ['bidiagonal, zeros first and inside, rcond 1e-12', bidiagonal([0, 1, 2, 0, 0, 3, 1]), 1e-12, 1e-12],
    ['random, rcond 0', random(n), 0, 1e-12],
    ['rank 9 of 24, rcond 1e-10', rankDeficient, 1e-10, 1e-10],
    ['a zero row and a zero column, rcond 1e-12', zeroRowCol, 1e-12, 1e-11],
    ['graded columns (σ over 8 decades), rcond 1e-6', graded, 1e-6, 1e-8],
    ['upper triangular (as from QR), rcond 0.01', upper, 0.01, 1e-12],
    ['one by one', Float64Array.of(-3), 0, 1e-15],
    ['two by two', Float64Array.of(1, 2, 3, 4), 0, 1e-13],
  ];
  for (const [name, R, rcond, tol] of cases) {
    it(`${name}: as one-sided Jacobi's`, () => {
      const k = Math.round(Math.sqrt(R.length)),
        d = 2;
      const C = Float64Array.from({ length: k * d }, () => rng.normal());
      const got = truncatedSvdSolve(R, k, C, d, rcond);
      const want = jacobiSolve(R, k, C, d, rcond);
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < k * d; i++) expect(Math.abs(got[i]! - want[i]!), `${name} [${i}]`).toBeLessThan(tol * scale);
    });
  }
  it('the same solution, scaled, at any scale of R (the negligible test has an absolute floor)', () => {
    const R = random(8),
      C = Float64Array.from({ length: 16 }, () => rng.normal());
    const want = truncatedSvdSolve(R, 8, C, 2, 1e-12);
    for (const s of [1e-300, 1e-150, 1e150]) {
      const got = truncatedSvdSolve(
        Float64Array.from(R, (x) => x * s),
        8,
        C,
        2,
        1e-12,
      );
      for (let i = 0; i < 16; i++) expect(Math.abs(got[i]! * s - want[i]!)).toBeLessThan(1e-12 * Math.max(...want.map(Math.abs)));
    }
  });

  it('a zero matrix gives zeros; shapes that do not fit are refused', () => {
    expect(Array.from(truncatedSvdSolve(new Float64Array(9), 3, Float64Array.of(1, 2, 3), 1, 0))).toEqual([0, 0, 0]);
    expect(() => truncatedSvdSolve(new Float64Array(4), 2, new Float64Array(3), 1, 0)).toThrow(/shapes 2x2 and 2x1/);
  });
});
