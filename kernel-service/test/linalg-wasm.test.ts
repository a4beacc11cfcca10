/**
 * The decoder solves' linear algebra in WebAssembly (engine/linalg-wasm.ts)
 * against the JavaScript in linalg.ts: the same bits for every function,
 * over shapes around the block sizes (4-row packs, 64-wide Cholesky blocks,
 * 512-column Gram chunks), with zeros in the data (the JavaScript skips zero
 * multipliers), and the same failure for a matrix that is not positive
 * definite. The JavaScript is the reference the accuracy tests were written
 * against; the solver tests run on the WebAssembly.
 */
import { afterEach, describe, expect, it } from 'vitest';
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
  residualSquares,
  setKernelMode,
  solveLower,
} from '../src/engine/linalg.js';
import { Rng } from '../src/engine/rng.js';
import { LstsqL2, LstsqL2nz } from '../src/engine/solvers.js';

function randn(n: number, rng: Rng, zeros = 0): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.random() < zeros ? 0 : rng.normal();
  return a;
}

/** Indices where a and b differ as bit patterns (NaN compares equal to NaN). */
function differing(a: Float64Array, b: Float64Array): number[] {
  const out: number[] = [];
  if (a.length !== b.length) return [-1];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

/** f in both modes: [WebAssembly, JavaScript]. */
function both<T>(f: () => T): [T, T] {
  setKernelMode('auto');
  const wasm = f();
  setKernelMode('js');
  const js = f();
  setKernelMode('auto');
  return [wasm, js];
}

const SHAPES: readonly (readonly [number, number])[] = [
  [0, 3],
  [3, 0],
  [1, 1],
  [2, 3],
  [5, 4],
  [7, 9],
  [63, 17],
  [64, 64],
  [65, 130],
  [200, 50],
  [513, 37],
  [1100, 201],
];

describe('linear algebra in WebAssembly', () => {
  afterEach(() => setKernelMode('auto'));

  it('runs in WebAssembly here (else every comparison below would compare JavaScript with itself)', () => {
    expect(kernelBackend()).toBe('wasm-simd');
  });

  it('Gram matrices: the same bits as JavaScript', () => {
    const rng = new Rng(3);
    for (const [m, n] of SHAPES) {
      const A = randn(m * n, rng, 0.2);
      for (const gram of [gramTN, gramNT]) {
        const [w, j] = both(() => gram(A, m, n));
        expect(differing(w, j), `${gram.name} ${m}×${n}`).toEqual([]);
      }
    }
  });

  it('Cholesky factor and solves: the same bits as JavaScript', () => {
    const rng = new Rng(4);
    for (const n of [1, 2, 3, 4, 5, 31, 63, 64, 65, 127, 128, 129, 250]) {
      const A = randn((n + 7) * n, rng, 0.1);
      const G = gramTN(A, n + 7, n);
      addToDiagonal(G, n, 0.5);
      const [Lw, Lj] = both(() => choleskyFactor(G.slice(), n));
      expect(differing(Lw, Lj), `factor n = ${n}`).toEqual([]);
      for (const k of [1, 2, 5]) {
        const B = randn(n * k, rng, 0.1);
        const [Xw, Xj] = both(() => choleskySolve(Lj, B, n, k));
        expect(differing(Xw, Xj), `choleskySolve n = ${n}, k = ${k}`).toEqual([]);
        const [Yw, Yj] = both(() => solveLower(Lj, B, n, k));
        expect(differing(Yw, Yj), `solveLower n = ${n}, k = ${k}`).toEqual([]);
      }
    }
  });

  it('a matrix that is not positive definite fails the same way, at the same pivot, leaving it unchanged', () => {
    const rng = new Rng(5);
    for (const [n, bad] of [
      [3, 1],
      [70, 66],
      [140, 5],
      [140, 130],
    ] as const) {
      const A = randn(2 * n * n, rng);
      const G = gramTN(A, 2 * n, n);
      G[bad * n + bad] = -1; // a negative diagonal entry: pivot `bad` fails (or an earlier one)
      const errors = both(() => {
        const copy = G.slice();
        try {
          choleskyFactor(copy, n);
          return null;
        } catch (err) {
          expect(differing(copy, G)).toEqual([]);
          return err as NotPositiveDefiniteError;
        }
      });
      for (const err of errors) expect(err).toBeInstanceOf(NotPositiveDefiniteError);
      expect(errors[0]!.index).toBe(errors[1]!.index);
      expect(Object.is(errors[0]!.pivot, errors[1]!.pivot)).toBe(true);
      expect(errors[0]!.index).toBeLessThanOrEqual(bad);
    }
    // NaN and Infinity pivots
    for (const x of [NaN, Infinity]) {
      const G = new Float64Array([4, 0, 0, 0, x, 0, 0, 0, 9]);
      const errors = both(() => {
        try {
          choleskyFactor(G.slice(), 3);
          return null;
        } catch (err) {
          return err as NotPositiveDefiniteError;
        }
      });
      expect(errors.map((e) => e?.index)).toEqual([1, 1]);
    }
  });

  it('Aᵀ B, Aᵀ x and the residual sums of squares: the same bits as JavaScript', () => {
    const rng = new Rng(6);
    for (const [m, n] of SHAPES) {
      const A = randn(m * n, rng, 0.3);
      for (const k of [1, 2, 3, 7]) {
        const B = randn(m * k, rng, 0.1);
        if (B.length) B[B.length >> 1] = Infinity; // 0 · ∞ is NaN: a zero in A must add nothing, as in JavaScript
        const [Cw, Cj] = both(() => matTmat(A, B, m, n, k));
        expect(differing(Cw, Cj), `matTmat ${m}×${n}, k = ${k}`).toEqual([]);
        const X = randn(n * k, rng);
        const [Rw, Rj] = both(() => residualSquares(A, X, B, m, n, k));
        expect(differing(Rw, Rj), `residualSquares ${m}×${n}, k = ${k}`).toEqual([]);
      }
      const x = Array.from(randn(m, rng));
      const [yw, yj] = both(() => matTvec(A, x, m, n));
      expect(differing(yw, yj), `matTvec ${m}×${n}`).toEqual([]);
    }
  });

  it('whole decoder solves: the same decoders and rmses, in both forms of the system', () => {
    const rng = new Rng(7);
    for (const [m, n, d] of [
      [750, 100, 1],
      [2000, 200, 2],
      [60, 150, 3], // fewer eval points than neurons: the m×m system
    ] as const) {
      const A = randn(m * n, rng, 0.4).map(Math.abs);
      const Y = randn(m * d, rng);
      for (const solver of [new LstsqL2(), new LstsqL2nz()]) {
        const [w, j] = both(() => solver.solve({ A, Y, m, n, d, rng: new Rng(0) }));
        expect(differing(w.X, j.X), `${solver.key()} ${m}×${n}`).toEqual([]);
        expect(differing(w.rmses, j.rmses)).toEqual([]);
      }
    }
  });
});
