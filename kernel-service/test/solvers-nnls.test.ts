/**
 * The non-negative solvers (Nnls, NnlsL2, NnlsL2nz) and LstsqDrop against Nengo 4.1's
 * decoders and weights for the same ensembles and eval points
 * (fixtures/nengo_nnls.json, written by fixtures/nengo_nnls.py with
 * scipy.optimize.nnls), and the active-set method on small problems with
 * known answers.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { LstsqDrop, LstsqL2, LstsqL2nz, Network, Nnls, NnlsL2, NnlsL2nz, Simulator, type Solver } from '../src/index.js';
import { nnlsGram } from '../src/engine/nnls.js';
import { gramTN, matTvec } from '../src/engine/linalg.js';
import { Rng } from '../src/engine/rng.js';

const fx = readFixture('nengo_nnls') as {
  pre: FixtureNeurons;
  post: FixtureNeurons;
  evalPoints: number[];
  cases: Record<string, { function: 'square' | 'identity'; weights: number[][] }>;
};

// measured agreement: within 1e-10 of the largest value on all but one case, 1e-8 on all (normal equations here, QR in scipy)
const TOL = 1e-8;
const SOLVERS: Record<string, () => Solver> = {
  Nnls: () => new Nnls(),
  NnlsL2: () => new NnlsL2(),
  'NnlsL2 reg 0.01, identity': () => new NnlsL2({ reg: 0.01 }),
  NnlsL2nz: () => new NnlsL2nz(),
  'NnlsL2 weights': () => new NnlsL2({ weights: true }),
  'Nnls weights': () => new Nnls({ weights: true }),
  LstsqDrop: () => new LstsqDrop(),
  'LstsqDrop 0.5, LstsqL2nz second': () => new LstsqDrop({ drop: 0.5, solver2: new LstsqL2nz() }),
  'LstsqDrop weights': () => new LstsqDrop({ weights: true }),
};

function solved(name: string): number[][] {
  const c = fx.cases[name]!;
  const net = new Network({ seed: 3 });
  const ens = (p: FixtureNeurons) => fixtureEnsemble(net, p, undefined);
  const pre = ens(fx.pre);
  const post = ens(fx.post);
  const conn = net.connect(pre, post, {
    function: c.function === 'square' ? (x) => [x[0]! * x[0]!] : (x) => [x[0]!],
    evalPoints: fx.evalPoints.map((x) => [x]),
    solver: SOLVERS[name]!(),
  });
  return new Simulator(net).weights(conn).toArray();
}

/** The decoders as Nengo gives them, (d, n): nefsim's weights() of a decoded connection. */
describe("non-negative solvers and LstsqDrop as Nengo 4.1's", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(Object.keys(SOLVERS));
  });

  for (const name of Object.keys(SOLVERS)) {
    it(`${name}: the same decoders or weights`, () => {
      const want = fx.cases[name]!.weights;
      const got = solved(name);
      expect([got.length, got[0]!.length]).toEqual([want.length, want[0]!.length]);
      let scale = 0;
      for (const row of want) for (const v of row) scale = Math.max(scale, Math.abs(v));
      let positives = 0;
      for (let r = 0; r < want.length; r++)
        for (let i = 0; i < want[r]!.length; i++) {
          const g = got[r]![i]!;
          if (name.startsWith('Nnls')) expect(g, `${name} [${r}, ${i}]`).toBeGreaterThanOrEqual(0);
          if (g !== 0) positives++;
          expect(Math.abs(g - want[r]![i]!), `${name} [${r}, ${i}]: nefsim ${g}, Nengo ${want[r]![i]}`).toBeLessThan(TOL * scale);
        }
      expect(positives).toBeGreaterThan(0);
      // LstsqDrop drops (about) its fraction: as many zeros as Nengo's
      if (name.startsWith('LstsqDrop')) expect(got.flat().filter((v) => v === 0).length).toBe(want.flat().filter((v) => v === 0).length);
    });
  }
});

describe('nnlsGram (Lawson and Hanson)', () => {
  const solve = (M: number[][], b: number[]) => {
    const m = M.length,
      n = M[0]!.length;
    const A = Float64Array.from(M.flat());
    return nnlsGram(gramTN(A, m, n), matTvec(A, Float64Array.from(b), m, n), n);
  };

  it('gives the unconstrained solution where it is non-negative', () => {
    const { x, converged } = solve(
      [
        [1, 0],
        [0, 2],
        [1, 1],
      ],
      [1, 4, 3],
    );
    expect(converged).toBe(true);
    expect(x[0]).toBeCloseTo(1, 12);
    expect(x[1]).toBeCloseTo(2, 12);
  });

  it('holds a variable at zero where the unconstrained optimum is negative, and solves for the rest', () => {
    // unconstrained: x = (2, -1); with x >= 0: x1 = 0 and x0 = argmin ||a0 x0 - b|| = (a0 . b) / (a0 . a0)
    const M = [
      [1, 1],
      [1, 2],
      [1, 3],
    ];
    const b = [1, 0, -1];
    const { x } = solve(M, b);
    expect(x[1]).toBe(0);
    expect(x[0]).toBeCloseTo(0, 12); // a0 . b = 0
    const { x: y } = solve(M, [3, 2, 2]);
    expect(y.every((v) => v >= 0)).toBe(true);
  });

  it('meets the optimality (KKT) conditions on random problems, dependent columns included', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 20; trial++) {
      const m = 30,
        n = 12;
      const A = new Float64Array(m * n);
      for (let i = 0; i < A.length; i++) A[i] = rng.normal();
      if (trial % 4 === 0) for (let r = 0; r < m; r++) A[r * n + 5] = A[r * n + 2]! + A[r * n + 3]!; // a dependent column
      const b = Float64Array.from({ length: m }, () => rng.normal());
      const G = gramTN(A, m, n);
      const c = matTvec(A, b, m, n);
      const { x, converged } = nnlsGram(G, c, n);
      expect(converged).toBe(true);
      // w = Aᵀ(b - A x): w_i <= 0 where x_i = 0, w_i = 0 where x_i > 0
      for (let i = 0; i < n; i++) {
        let w = c[i]!;
        for (let j = 0; j < n; j++) w -= G[i * n + j]! * x[j]!;
        expect(x[i]).toBeGreaterThanOrEqual(0);
        if (x[i]! > 0) expect(Math.abs(w), `trial ${trial}, x${i} > 0`).toBeLessThan(1e-9);
        else expect(w, `trial ${trial}, x${i} = 0`).toBeLessThan(1e-9);
      }
    }
  });

  it('refuses unknown options, naming the solver', () => {
    expect(() => new NnlsL2({ regularization: 1 } as never)).toThrow(/NnlsL2.*regularization/);
    expect(() => new Nnls({ reg: 0.1 } as never)).toThrow(/Nnls.*reg/);
    expect(() => new NnlsL2nz({ reg: -1 })).toThrow(/NnlsL2nz: reg must be a finite number >= 0/);
    expect(() => new LstsqDrop({ drop: 1 })).toThrow(/LstsqDrop: drop must be a fraction in \[0, 1\), got 1/);
    expect(() => new LstsqDrop({ solver2: new LstsqL2({ weights: true }) })).toThrow(/LstsqDrop: solver2 must solve for decoders/);
  });
});

describe('all-zero activities', () => {
  for (const [name, solver] of [
    ['Nnls', () => new Nnls()],
    ['NnlsL2 weights', () => new NnlsL2({ weights: true })],
    ['LstsqL2', () => new LstsqL2()],
  ] as const) {
    it(`${name}: a build error naming the connection and the ensemble, as Nengo's (the solvers gave zeros or a singular matrix)`, () => {
      const net = new Network({ seed: 1 });
      const a = net.ensemble({
        nNeurons: 10,
        dimensions: 1,
        intercepts: new Array(10).fill(0.95),
        encoders: new Array(10).fill([1]),
        label: 'quiet',
      });
      const b = net.ensemble({ nNeurons: 4, dimensions: 1 });
      net.connect(a, b, { solver: solver(), evalPoints: [[0.1], [0.2]], label: 'c' });
      expect(() => new Simulator(net)).toThrow(/'c': the activities of Ensemble 'quiet' are all zero at its eval points/);
    });
  }
});
