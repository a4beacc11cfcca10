/**
 * LstsqL1 (the elastic net) against Nengo 4.1's decoders and weights
 * (fixtures/nengo_lstsq_l1.json, written by fixtures/nengo_lstsq_l1.py with
 * scikit-learn 1.9.1): the same coordinate descent, stopped where
 * scikit-learn's stops (out of sweeps at Nengo's defaults; by the duality
 * gap, after screening, with more L1), gives the same decoders.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { LstsqL1, Network, Simulator, type LstsqL1Options } from '../src/index.js';
import { enetCoordinateDescent } from '../src/engine/elastic-net.js';

interface Case {
  opts: { weights?: boolean; l1?: number; l2?: number; max_iter?: number };
  function: 'square' | 'identity';
  big: boolean;
  nengo: number[][];
  sweeps: number[];
  objective: { nengo: number; optimum: number };
}
const fx = readFixture('nengo_lstsq_l1') as {
  pre: FixtureNeurons;
  post: FixtureNeurons;
  evalPoints: number[];
  big: FixtureNeurons;
  bigEvalPoints: number[];
  cases: Record<string, Case>;
};

function build(c: Case) {
  const net = new Network({ seed: 3 });
  const pre = fixtureEnsemble(net, c.big ? fx.big : fx.pre, undefined);
  const post = fixtureEnsemble(net, fx.post, undefined);
  const { max_iter: maxIter, ...rest } = c.opts;
  const opts: LstsqL1Options = { ...rest, ...(maxIter !== undefined ? { maxIter } : {}) };
  const conn = net.connect(pre, post, {
    function: c.function === 'square' ? (x) => [x[0]! * x[0]!] : (x) => [x[0]!],
    evalPoints: (c.big ? fx.bigEvalPoints : fx.evalPoints).map((x) => [x]),
    solver: new LstsqL1(opts),
  });
  return new Simulator(net).weights(conn).toArray();
}

function maxAbs(rows: number[][]): number {
  let s = 0;
  for (const r of rows) for (const v of r) s = Math.max(s, Math.abs(v));
  return s;
}

describe("LstsqL1 as Nengo 4.1's (scikit-learn's coordinate descent)", () => {
  for (const [name, c] of Object.entries(fx.cases)) {
    const stop = c.sweeps.every((k) => k === c.sweeps[0])
      ? `${c.sweeps[0]} sweeps`
      : `${Math.min(...c.sweeps)}-${Math.max(...c.sweeps)} sweeps`;
    it(`${name} (scikit-learn stopped after ${stop}): the same decoders or weights, the same zeros`, () => {
      const got = build(c);
      const want = c.nengo;
      expect([got.length, got[0]!.length]).toEqual([want.length, want[0]!.length]);
      const scale = maxAbs(want);
      for (let r = 0; r < want.length; r++)
        for (let i = 0; i < want[r]!.length; i++)
          expect(Math.abs(got[r]![i]! - want[r]![i]!), `${name} [${r}, ${i}]`).toBeLessThan(1e-9 * scale);
      const zeros = (w: number[][]) => w.flat().filter((v) => v === 0).length;
      expect(zeros(got)).toBe(zeros(want));
      expect(zeros(want)).toBeGreaterThan(0); // sparse, as L1 makes them
    });
  }

  it('refuses bad options, naming them', () => {
    expect(() => new LstsqL1({ l1: -1 })).toThrow(/LstsqL1: l1 must be a finite number >= 0/);
    expect(() => new LstsqL1({ l1: 0, l2: 0 })).toThrow(/LstsqL1: l1 and l2 are both 0/);
    expect(() => new LstsqL1({ maxIter: 0 })).toThrow(/LstsqL1: maxIter must be a positive integer/);
    expect(() => new LstsqL1({ reg: 0.1 } as never)).toThrow(/LstsqL1: unknown option 'reg'/);
  });
});

describe('enetCoordinateDescent', () => {
  const m = 80,
    n = 30;
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const A = Float64Array.from({ length: m * n }, rnd); // m x n, row-major
  const y = Float64Array.from({ length: m }, rnd);
  const G = new Float64Array(n * n),
    Aty = new Float64Array(n);
  for (let r = 0; r < m; r++)
    for (let i = 0; i < n; i++) {
      Aty[i] = Aty[i]! + A[r * n + i]! * y[r]!;
      for (let j = 0; j < n; j++) G[i * n + j] = G[i * n + j]! + A[r * n + i]! * A[r * n + j]!;
    }
  const problem = { A, G, y, Aty, m, n };
  /** A_jᵀ (y - A w), from scratch */
  const col = (j: number, w: Float64Array) => {
    let s = 0;
    for (let i = 0; i < m; i++) {
      let aw = 0;
      for (let k = 0; k < n; k++) aw += A[i * n + k]! * w[k]!;
      s += A[i * n + j]! * (y[i]! - aw);
    }
    return s;
  };

  it('run to a tight tolerance, meets the optimality conditions (|A_jᵀR - beta w_j| = alpha on the support, <= alpha off it)', () => {
    const alpha = 0.5,
      beta = 0.2;
    const { w, converged } = enetCoordinateDescent(problem, alpha, beta, 100_000, 1e-14);
    expect(converged).toBe(true);
    let nonzero = 0;
    for (let j = 0; j < n; j++) {
      const g = col(j, w) - beta * w[j]!;
      if (w[j] !== 0) {
        nonzero++;
        expect(Math.abs(g - alpha * Math.sign(w[j]!))).toBeLessThan(1e-6);
      } else expect(Math.abs(g)).toBeLessThanOrEqual(alpha + 1e-6);
    }
    expect(nonzero).toBeGreaterThan(0);
    expect(nonzero).toBeLessThan(n);
  });

  it('stops after maxIter sweeps unconverged, and at once when the L1 term zeroes everything', () => {
    expect(enetCoordinateDescent(problem, 0.01, 0.001, 2, 1e-14)).toMatchObject({ converged: false, sweeps: 2 });
    const big = enetCoordinateDescent(problem, 1e6, 0.1, 100, 1e-4);
    expect(big).toMatchObject({ converged: true, sweeps: 0 });
    expect(Array.from(big.w).every((v) => v === 0)).toBe(true);
  });

  it('without L1 (alpha = 0) it is ridge regression: (AᵀA + beta I) w = Aᵀy', () => {
    const beta = 3;
    const { w, converged } = enetCoordinateDescent(problem, 0, beta, 100_000, 1e-14);
    expect(converged).toBe(true);
    for (let j = 0; j < n; j++) expect(Math.abs(col(j, w) - beta * w[j]!)).toBeLessThan(1e-8);
  });
});
