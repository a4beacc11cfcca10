import { describe, expect, it } from 'vitest';
import {
  Choice,
  CosineSimilarity,
  Exponential,
  Gaussian,
  PDF,
  Rd,
  ScatteredHypersphere,
  SqrtBeta,
  SubvectorLength,
  Uniform,
  UniformHypersphere,
  randomOrthogonal,
  samplesOrDist,
  sphericalCoordsPpf,
  type Distribution,
} from '../src/engine/dists.js';
import { ValidationError } from '../src/engine/errors.js';
import { Rng } from '../src/engine/rng.js';

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

function std(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return Math.sqrt(s / a.length);
}

function norms(x: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j]! ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

function minPairwiseDistance(x: Float64Array, n: number, d: number): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (x[i * d + k]! - x[j * d + k]!) ** 2;
      best = Math.min(best, s);
    }
  }
  return Math.sqrt(best);
}

const all = (): Array<[string, Distribution, boolean]> => [
  // [name, dist, needs d]
  ['Uniform', new Uniform(-1, 0.9), false],
  ['Uniform int', new Uniform(0, 5, true), false],
  ['Gaussian', new Gaussian(0, 1), false],
  ['Exponential', new Exponential(0.5, 0.1, 2), false],
  ['Choice', new Choice([1, 2, 3]), false],
  ['PDF', new PDF([0, 1, 2], [0.25, 0.5, 0.25]), false],
  ['SqrtBeta', new SqrtBeta(3, 2), false],
  ['CosineSimilarity', new CosineSimilarity(4), false],
  ['Rd', new Rd(), false],
  ['UniformHypersphere', new UniformHypersphere(), true],
  ['UniformHypersphere surface', new UniformHypersphere({ surface: true }), true],
  ['ScatteredHypersphere', new ScatteredHypersphere(), true],
  ['ScatteredHypersphere surface', new ScatteredHypersphere({ surface: true }), true],
  ['ScatteredHypersphere tfww', new ScatteredHypersphere({ surface: true, method: 'tfww' }), true],
];

describe('shapes and determinism', () => {
  it('sample(n) gives n values and sample(n, d) gives n×d', () => {
    for (const [name, dist, needsD] of all()) {
      if (!needsD) expect(dist.sample(7, undefined, new Rng(1)).length, name).toBe(7);
      else expect(() => dist.sample(7, undefined, new Rng(1)), name).toThrow(ValidationError);
      if (name === 'Choice') continue; // scalar options: d must be undefined (as Nengo)
      for (const d of [1, 2, 3, 5]) {
        const x = dist.sample(7, d, new Rng(1));
        expect(x, name).toBeInstanceOf(Float64Array);
        expect(x.length, `${name} d=${d}`).toBe(7 * d);
        for (const v of x) expect(Number.isFinite(v), name).toBe(true);
      }
      expect(dist.sample(0, 3, new Rng(1)).length, name).toBe(0);
    }
  });

  it('rejects bad n and d', () => {
    for (const [name, dist] of all()) {
      expect(() => dist.sample(-1, 2, new Rng(1)), name).toThrow(ValidationError);
      expect(() => dist.sample(2.5, 2, new Rng(1)), name).toThrow(ValidationError);
      expect(() => dist.sample(3, 0, new Rng(1)), name).toThrow(ValidationError);
    }
  });

  it('is deterministic for a seed, and differs across seeds', () => {
    for (const [name, dist, needsD] of all()) {
      const d = needsD ? 3 : undefined;
      const a = dist.sample(50, d, new Rng(42));
      const b = dist.sample(50, d, new Rng(42));
      const c = dist.sample(50, d, new Rng(43));
      expect(Array.from(a), name).toEqual(Array.from(b));
      expect(Array.from(a), name).not.toEqual(Array.from(c));
    }
  });

  it('has readable descriptions that identify the parameters', () => {
    expect(new Uniform(-1, 0.9).toString()).toBe('Uniform(low=-1, high=0.9)');
    expect(new Uniform(0, 3, true).toString()).toBe('Uniform(low=0, high=3, integer=true)');
    expect(new Gaussian(0, 2).toString()).toBe('Gaussian(mean=0, std=2)');
    expect(new Exponential(1).toString()).toBe('Exponential(scale=1)');
    expect(new Choice([1, 2], [1, 3]).toString()).toBe('Choice(options=[1, 2], weights=[1, 3])');
    expect(
      new Choice([
        [1, 0],
        [0, 1],
      ]).toString(),
    ).toBe('Choice(options=[[1, 0], [0, 1]])');
    expect(new UniformHypersphere().toString()).toBe('UniformHypersphere()');
    expect(new UniformHypersphere({ surface: true }).toString()).toBe('UniformHypersphere(surface=true)');
    expect(new ScatteredHypersphere({ surface: true }).toString()).toBe('ScatteredHypersphere(surface=true)');
    expect(new ScatteredHypersphere({ minMagnitude: 0.5, method: 'sct' }).toString()).toBe(
      "ScatteredHypersphere(minMagnitude=0.5, method='sct')",
    );
    expect(new Rd().toString()).toBe('Rd()');
    expect(new Uniform(0, 1).toString()).not.toBe(new Uniform(0, 2).toString());
  });
});

describe('Uniform', () => {
  it('samples [low, high) with the right mean and spread', () => {
    const x = new Uniform(-1, 0.9).sample(20000, undefined, new Rng(3));
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...x)).toBeLessThan(0.9);
    expect(Math.min(...x)).toBeLessThan(-0.99);
    expect(Math.max(...x)).toBeGreaterThan(0.89);
    expect(Math.abs(mean(x) - -0.05)).toBeLessThan(0.02); // SE ≈ 0.004
    expect(Math.abs(std(x) - 1.9 / Math.sqrt(12))).toBeLessThan(0.01);
  });

  it('integer=true gives each integer in [low, high)', () => {
    const x = new Uniform(-2, 3, true).sample(10000, undefined, new Rng(4));
    const counts = new Map<number, number>();
    for (const v of x) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('validates its parameters', () => {
    expect(() => new Uniform(0, 1.5, true)).toThrow(ValidationError);
    expect(() => new Uniform(3, 3, true)).toThrow(ValidationError);
    expect(() => new Uniform(NaN, 1)).toThrow(ValidationError);
    expect(() => new Uniform(0, Infinity)).toThrow(ValidationError);
  });
});

describe('Gaussian', () => {
  it('has the given mean and std', () => {
    const x = new Gaussian(1.5, 2).sample(400, 50, new Rng(5)); // 20000 values
    expect(Math.abs(mean(x) - 1.5)).toBeLessThan(0.05); // SE ≈ 0.014
    expect(Math.abs(std(x) - 2)).toBeLessThan(0.04); // SE ≈ 0.01
  });

  it('requires std > 0', () => {
    expect(() => new Gaussian(0, 0)).toThrow(/std must be > 0/);
    expect(() => new Gaussian(0, -1)).toThrow(ValidationError);
  });

  it('consumes the generator row-major, so blocks of rows equal rows drawn one by one', () => {
    const g = new Gaussian(0, 1);
    const r1 = new Rng(11),
      r2 = new Rng(11);
    const block = g.sample(4, 3, r1);
    const rows: number[] = [];
    for (let i = 0; i < 4; i++) rows.push(...g.sample(1, 3, r2));
    expect(Array.from(block)).toEqual(rows);
  });
});

describe('Exponential', () => {
  it('has mean scale + shift and clips below high', () => {
    const x = new Exponential(0.5, 0.2).sample(20000, undefined, new Rng(6));
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0.2);
    expect(Math.abs(mean(x) - 0.7)).toBeLessThan(0.02);
    const y = new Exponential(1, 0, 0.5).sample(2000, undefined, new Rng(6));
    expect(Math.max(...y)).toBeLessThan(0.5);
    expect(Math.max(...y)).toBeGreaterThan(0.5 - 1e-12);
    expect(() => new Exponential(0)).toThrow(ValidationError);
    expect(() => new Exponential(1, 1, 0.5)).toThrow(ValidationError);
  });
});

describe('Choice', () => {
  it('respects the weights', () => {
    const c = new Choice([10, 20, 30, 40], [0.2, 0.3, 0.5, 0]);
    const x = c.sample(20000, undefined, new Rng(7));
    const freq = (v: number): number => x.filter((y) => y === v).length / x.length;
    expect(Math.abs(freq(10) - 0.2)).toBeLessThan(0.015);
    expect(Math.abs(freq(20) - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(freq(30) - 0.5)).toBeLessThan(0.015);
    expect(freq(40)).toBe(0);
    // unnormalised weights are normalised
    const y = new Choice([0, 1], [1, 3]).sample(20000, undefined, new Rng(8));
    expect(Math.abs(mean(y) - 0.75)).toBeLessThan(0.015);
  });

  it('samples whole option rows for vector options', () => {
    const c = new Choice([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    const x = c.sample(100, 3, new Rng(9));
    for (let i = 0; i < 100; i++) {
      const row = Array.from(x.subarray(i * 3, i * 3 + 3));
      expect([
        [1, 0, 0],
        [0, 1, 0],
      ]).toContainEqual(row);
    }
    expect(() => c.sample(10, 2, new Rng(9))).toThrow(/dimensionality 2 \(got 3\)/);
    expect(() => c.sample(10, undefined, new Rng(9))).toThrow(ValidationError);
    // scalar options have dimensionality 0, as in Nengo
    expect(() => new Choice([1, 2]).sample(3, 1, new Rng(9))).toThrow(ValidationError);
    // rows of length 1 work with d = 1 or undefined
    expect(new Choice([[1], [2]]).sample(5, 1, new Rng(9)).length).toBe(5);
    expect(new Choice([[1], [2]]).sample(5, undefined, new Rng(9)).length).toBe(5);
  });

  it('validates options and weights', () => {
    expect(() => new Choice([])).toThrow(ValidationError);
    expect(() => new Choice([1, 2], [1])).toThrow(/number of weights \(1\) must match number of options \(2\)/);
    expect(() => new Choice([1, 2], [1, -1])).toThrow(/non-negative/);
    expect(() => new Choice([1, 2], [0, 0])).toThrow(/positive/);
    expect(() => new Choice([[1, 2], [3]])).toThrow(/length 2/);
  });
});

describe('PDF, SqrtBeta, SubvectorLength, CosineSimilarity', () => {
  it('PDF samples follow the given probabilities', () => {
    const x = new PDF([-1, 0, 1, 2], [0.1, 0.2, 0.3, 0.4]).sample(20000, undefined, new Rng(10));
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...x)).toBeLessThanOrEqual(2);
    // the interpolated distribution is close to the discrete one (mean 1.0)
    expect(Math.abs(mean(x) - 1)).toBeLessThan(0.1);
    expect(() => new PDF([0, 1], [0.5, 0.6])).toThrow(/sum to one/);
  });

  it('SqrtBeta(n, m) has E[x²] = m / (n + m)', () => {
    for (const [n, m] of [
      [3, 1],
      [5, 2],
      [1, 1],
      [10, 3],
    ] as const) {
      const x = new SqrtBeta(n, m).sample(20000, undefined, new Rng(11));
      let s2 = 0,
        outside = 0;
      for (const v of x) {
        if (!(v >= 0 && v <= 1)) outside++;
        s2 += v * v;
      }
      expect(outside).toBe(0);
      expect(Math.abs(s2 / x.length - m / (n + m))).toBeLessThan(0.01);
    }
  });

  it('SubvectorLength matches subvector lengths of random unit vectors', () => {
    const sv = new SubvectorLength(6, 2);
    expect(sv.dimensions).toBe(6);
    expect(sv.subdimensions).toBe(2);
    const x = sv.sample(20000, undefined, new Rng(12));
    const u = new UniformHypersphere({ surface: true }).sample(20000, 6, new Rng(13));
    const lens = new Float64Array(20000);
    for (let i = 0; i < 20000; i++) lens[i] = Math.hypot(u[i * 6]!, u[i * 6 + 1]!);
    expect(Math.abs(mean(x) - mean(lens))).toBeLessThan(0.01);
    expect(Math.abs(std(x) - std(lens))).toBeLessThan(0.01);
  });

  it('CosineSimilarity(d) is symmetric with variance 1/d', () => {
    const x = new CosineSimilarity(8).sample(20000, undefined, new Rng(14));
    expect(Math.abs(mean(x))).toBeLessThan(0.01);
    expect(Math.abs(std(x) ** 2 - 1 / 8)).toBeLessThan(0.005);
  });
});

describe('UniformHypersphere', () => {
  it('surface samples have unit norm and zero mean', () => {
    for (const d of [1, 2, 3, 8]) {
      const x = new UniformHypersphere({ surface: true }).sample(2000, d, new Rng(15));
      for (const r of norms(x, 2000, d)) expect(Math.abs(r - 1)).toBeLessThan(1e-12);
      for (let j = 0; j < d; j++) {
        const col = Array.from({ length: 2000 }, (_, i) => x[i * d + j]!);
        expect(Math.abs(mean(col))).toBeLessThan(0.1);
      }
    }
  });

  it('ball samples have norm <= 1 and are uniform by volume', () => {
    for (const d of [1, 2, 3, 5]) {
      const n = 20000;
      const r = norms(new UniformHypersphere().sample(n, d, new Rng(16)), n, d);
      expect(Math.max(...r)).toBeLessThanOrEqual(1);
      // P(|x| <= t) = t^d: |x|^d is uniform on [0, 1)
      const u = r.map((v) => v ** d);
      expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.01);
      const inner = r.filter((v) => v <= 0.5).length / n;
      expect(Math.abs(inner - 0.5 ** d)).toBeLessThan(0.01);
    }
  });

  it('minMagnitude bounds the magnitudes from below', () => {
    const n = 5000,
      d = 3;
    const r = norms(new UniformHypersphere({ minMagnitude: 0.6 }).sample(n, d, new Rng(17)), n, d);
    expect(Math.min(...r)).toBeGreaterThanOrEqual(0.6 - 1e-12);
    expect(Math.max(...r)).toBeLessThanOrEqual(1);
    // uniform by volume within the shell: |x|^d uniform on [0.6^d, 1)
    expect(Math.abs(mean(r.map((v) => v ** d)) - (1 + 0.6 ** 3) / 2)).toBeLessThan(0.01);
  });

  it('validates options', () => {
    expect(() => new UniformHypersphere({ minMagnitude: 1 })).toThrow(ValidationError);
    expect(() => new UniformHypersphere({ minMagnitude: -0.1 })).toThrow(ValidationError);
    expect(() => new UniformHypersphere({ surfce: true } as never)).toThrow(/unknown option 'surfce'/);
  });
});

describe('Rd', () => {
  it('gives points in [0, 1)^d; d = 1 tiles [0, 1) evenly; the points come shuffled', () => {
    const x = new Rd().sample(100, 4, new Rng(18));
    for (const v of x) expect(v >= 0 && v < 1).toBe(true);
    const raw = Array.from(new Rd().sample(50, 1, new Rng(19)));
    const y = raw.slice().sort((a, b) => a - b);
    for (let i = 1; i < y.length; i++) expect(Math.abs(y[i]! - y[i - 1]! - 1 / 50)).toBeLessThan(1e-12);
    // in sequence order each step adds 1/50 (mod 1); shuffled, most do not
    let steps = 0;
    for (let i = 1; i < raw.length; i++) if (Math.abs(((raw[i]! - raw[i - 1]! + 1) % 1) - 1 / 50) < 1e-9) steps++;
    expect(steps).toBeLessThan(10);
  });

  it('uses φ_d, the root of x^(d+1) = x + 1 (golden ratio for d = 1, plastic number for d = 2)', () => {
    expect(Rd.phi(1)).toBeCloseTo((1 + Math.sqrt(5)) / 2, 10);
    expect(Rd.phi(2)).toBeCloseTo(1.324717957244746, 10);
    for (const d of [3, 10, 50]) {
      const p = Rd.phi(d);
      expect(Math.abs(p ** (d + 1) - p - 1)).toBeLessThan(1e-9);
    }
  });

  it('is well spread: each coordinate is close to uniform', () => {
    const n = 1000,
      d = 3;
    const x = new Rd().sample(n, d, new Rng(20));
    for (let j = 0; j < d; j++) {
      const bins = new Array<number>(10).fill(0);
      for (let i = 0; i < n; i++) bins[Math.floor(x[i * d + j]! * 10)]!++;
      for (const b of bins) expect(Math.abs(b - 100)).toBeLessThanOrEqual(8); // random points: SD ≈ 9.5 per bin
    }
  });
});

describe('spherical coordinate transform', () => {
  /** Numerical P(angle ≤ πx) for density ∝ sin^k, by Simpson's rule. */
  function cdf(k: number, x: number): number {
    const f = (t: number): number => Math.sin(t) ** k;
    const simpson = (a: number, b: number): number => {
      const N = 2000;
      const h = (b - a) / N;
      let s = f(a) + f(b);
      for (let i = 1; i < N; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
      return (s * h) / 3;
    };
    return simpson(0, Math.PI * x) / simpson(0, Math.PI);
  }

  it('sphericalCoordsPpf inverts the angle CDF (density ∝ sin^(dims-1))', () => {
    for (const dims of [1, 2, 3, 4, 7, 20, 65]) {
      for (const y of [0, 1e-6, 0.01, 0.2, 0.4999, 0.5, 0.73, 0.99, 0.999999]) {
        const x = sphericalCoordsPpf(dims, y);
        expect(x >= 0 && x <= 1, `dims=${dims} y=${y}`).toBe(true);
        expect(Math.abs(cdf(dims - 1, x) - y), `dims=${dims} y=${y}`).toBeLessThan(1e-9);
      }
      // monotone
      let prev = -1;
      for (let i = 0; i <= 200; i++) {
        const x = sphericalCoordsPpf(dims, i / 201);
        expect(x).toBeGreaterThanOrEqual(prev);
        prev = x;
      }
    }
    // closed form for dims = 3 (density ∝ sin²): F(θ) = (θ - sin θ cos θ) / π
    const th = 1.1;
    expect(sphericalCoordsPpf(3, (th - Math.sin(th) * Math.cos(th)) / Math.PI)).toBeCloseTo(th / Math.PI, 12);
  });

  it('randomOrthogonal gives an orthogonal matrix', () => {
    for (const d of [1, 2, 5, 16]) {
      const Q = randomOrthogonal(d, new Rng(21));
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += Q[i * d + k]! * Q[j * d + k]!;
          expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    }
  });
});

describe('ScatteredHypersphere', () => {
  it('surface samples have unit norm, for every method and dimension', () => {
    for (const method of ['sct', 'sct-approx', 'tfww'] as const) {
      for (const d of [2, 3, 4, 5, 8, 33]) {
        const n = 300;
        const x = new ScatteredHypersphere({ surface: true, method }).sample(n, d, new Rng(22));
        for (const r of norms(x, n, d)) expect(Math.abs(r - 1), `${method} d=${d}`).toBeLessThan(1e-12);
      }
    }
  });

  it("d = 1 tiles as Nengo's: exactly half the surface points +1, the ball's halves evenly spaced, shuffled", () => {
    for (const [n, seed] of [
      [100, 23],
      [9, 24],
      [10, 25],
      [1, 26],
    ] as const) {
      const s = new ScatteredHypersphere({ surface: true }).sample(n, 1, new Rng(seed));
      for (const v of s) expect(Math.abs(Math.abs(v) - 1)).toBeLessThan(1e-15);
      const pos = s.filter((v) => v > 0).length;
      expect(pos === Math.floor(n / 2) || pos === Math.ceil(n / 2), `n = ${n}: ${pos} positive`).toBe(true);
    }
    // not sorted by sign: which neuron gets which sign is random
    const s = Array.from(new ScatteredHypersphere({ surface: true }).sample(100, 1, new Rng(23)));
    expect(s.slice(0, 50).filter((v) => v > 0).length).not.toBe(0);
    expect(s.slice(0, 50).filter((v) => v > 0).length).not.toBe(50);
    for (const minMagnitude of [0, 0.5]) {
      const b = Array.from(new ScatteredHypersphere({ minMagnitude }).sample(21, 1, new Rng(27)));
      const pos = b.filter((v) => v > 0).sort((x, y) => x - y);
      const neg = b
        .filter((v) => v < 0)
        .map((v) => -v)
        .sort((x, y) => x - y);
      expect([pos.length, neg.length]).toEqual([10, 11]);
      for (const [half, k] of [
        [pos, 10],
        [neg, 11],
      ] as const) {
        for (let i = 1; i < k; i++) expect(Math.abs(half[i]! - half[i - 1]! - (1 - minMagnitude) / k)).toBeLessThan(1e-12);
        for (const v of half) expect(v >= minMagnitude && v <= 1).toBe(true);
      }
      expect(b.slice(0, 10).every((v) => v > 0)).toBe(false); // shuffled
    }
  });

  it("the order of the points is random (Nengo shuffles its Rd sequence): an ensemble's first half of neurons is not one side", () => {
    for (const d of [2, 3, 16]) {
      const n = 200;
      const x = new ScatteredHypersphere({ surface: true }).sample(n, d, new Rng(28));
      const m = new Float64Array(d);
      for (let i = 0; i < n / 2; i++) for (let j = 0; j < d; j++) m[j]! += x[i * d + j]! / (n / 2);
      // random unit vectors: the mean of 100 has length about 1/sqrt(100) = 0.1; in order, in 2-D, 2/pi
      expect(Math.hypot(...m), `d = ${d}`).toBeLessThan(0.3);
    }
  });

  it('surface points are uniform: mean ≈ 0, second moments ≈ I/d', () => {
    for (const method of ['sct-approx', 'tfww'] as const) {
      for (const d of [3, 6]) {
        const n = 2000;
        const x = new ScatteredHypersphere({ surface: true, method }).sample(n, d, new Rng(24));
        for (let j = 0; j < d; j++) {
          let s = 0,
            s2 = 0;
          for (let i = 0; i < n; i++) {
            s += x[i * d + j]!;
            s2 += x[i * d + j]! ** 2;
          }
          expect(Math.abs(s / n), `${method} d=${d}`).toBeLessThan(0.02);
          expect(Math.abs(s2 / n - 1 / d), `${method} d=${d}`).toBeLessThan(0.02);
        }
      }
    }
  });

  it('ball samples have norm <= 1 and are uniform by volume; minMagnitude is respected', () => {
    for (const d of [2, 3, 5]) {
      const n = 2000;
      const r = norms(new ScatteredHypersphere().sample(n, d, new Rng(25)), n, d);
      expect(Math.max(...r)).toBeLessThanOrEqual(1 + 1e-12);
      expect(Math.abs(mean(r.map((v) => v ** d)) - 0.5)).toBeLessThan(0.01);
      const inner = r.filter((v) => v <= 0.5).length / n;
      expect(Math.abs(inner - 0.5 ** d)).toBeLessThan(0.01);
      const rm = norms(new ScatteredHypersphere({ minMagnitude: 0.5 }).sample(n, d, new Rng(25)), n, d);
      expect(Math.min(...rm)).toBeGreaterThanOrEqual(0.5 - 1e-12);
    }
  });

  it('is more evenly spread than UniformHypersphere (larger minimum pairwise distance)', () => {
    const n = 100;
    for (const d of [2, 3]) {
      for (const surface of [true, false]) {
        let scattered = 0,
          uniform = 0;
        for (let seed = 0; seed < 5; seed++) {
          scattered += minPairwiseDistance(new ScatteredHypersphere({ surface }).sample(n, d, new Rng(seed)), n, d);
          uniform += minPairwiseDistance(new UniformHypersphere({ surface }).sample(n, d, new Rng(seed)), n, d);
        }
        expect(scattered, `d=${d} surface=${surface}`).toBeGreaterThan(1.5 * uniform);
      }
    }
    // on the circle the points are evenly spaced
    const c = new ScatteredHypersphere({ surface: true }).sample(n, 2, new Rng(26));
    expect(minPairwiseDistance(c, n, 2)).toBeCloseTo(2 * Math.sin(Math.PI / n), 10);
  });

  it('accepts another base distribution and validates its options', () => {
    const x = new ScatteredHypersphere({ surface: true, base: new Uniform(0, 1) }).sample(50, 3, new Rng(27));
    for (const r of norms(x, 50, 3)) expect(Math.abs(r - 1)).toBeLessThan(1e-12);
    expect(() => new ScatteredHypersphere({ method: 'exact' as never })).toThrow(ValidationError);
    expect(() => new ScatteredHypersphere({ minMagnitude: 2 })).toThrow(ValidationError);
    expect(new ScatteredHypersphere()).toBeInstanceOf(UniformHypersphere);
  });

  it('samples large ensembles (2500 points in 64 dimensions) inside the ball (timing belongs in bench/)', () => {
    const x = new ScatteredHypersphere().sample(2500, 64, new Rng(28));
    expect(x.length).toBe(2500 * 64);
    for (let p = 0; p < 2500; p++) {
      let r2 = 0;
      for (let j = 0; j < 64; j++) r2 += x[p * 64 + j]! ** 2;
      expect(r2).toBeLessThanOrEqual(1 + 1e-12);
    }
  });
});

describe('samplesOrDist', () => {
  it('samples distributions with the requested shape', () => {
    const x = samplesOrDist(new Uniform(0, 1), 4, 3, new Rng(1), 'Ensemble encoders');
    expect(x.length).toBe(12);
    expect(Array.from(x)).toEqual(Array.from(new Uniform(0, 1).sample(4, 3, new Rng(1))));
    expect(samplesOrDist(new Gaussian(0, 1), 5, undefined, new Rng(1), 'gain').length).toBe(5);
  });

  it('copies explicit values given as rows or flat arrays', () => {
    const rows = [
      [1, 2],
      [3, 4],
      [5, 6],
    ];
    const x = samplesOrDist(rows, 3, 2, new Rng(1), 'evalPoints');
    expect(Array.from(x)).toEqual([1, 2, 3, 4, 5, 6]);
    const typedRows = [Float64Array.of(1, 2), Float64Array.of(3, 4)];
    expect(Array.from(samplesOrDist(typedRows, 2, 2, new Rng(1), 'evalPoints'))).toEqual([1, 2, 3, 4]);
    const flat = Float64Array.of(1, 2, 3, 4);
    const y = samplesOrDist(flat, 2, 2, new Rng(1), 'encoders');
    expect(Array.from(y)).toEqual([1, 2, 3, 4]);
    y[0] = 99;
    expect(flat[0]).toBe(1); // a copy
    expect(Array.from(samplesOrDist([0.1, 0.2, 0.3], 3, undefined, new Rng(1), 'bias'))).toEqual([0.1, 0.2, 0.3]);
    expect(Array.from(samplesOrDist([0.1, 0.2], 2, 1, new Rng(1), 'x'))).toEqual([0.1, 0.2]);
    expect(Array.from(samplesOrDist([[0.1], [0.2]], 2, undefined, new Rng(1), 'x'))).toEqual([0.1, 0.2]);
  });

  it('throws a ValidationError naming the parameter on shape mismatch', () => {
    const err = (f: () => unknown): ValidationError => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ValidationError);
        return e as ValidationError;
      }
      throw new Error('expected an error');
    };
    const e1 = err(() =>
      samplesOrDist(
        [
          [1, 2],
          [3, 4],
        ],
        3,
        2,
        new Rng(1),
        'Ensemble "a" encoders',
      ),
    );
    expect(e1.message).toContain('Ensemble "a" encoders');
    expect(e1.message).toContain('(3, 2)');
    const e2 = err(() => samplesOrDist([[1, 2], [3]], 2, 2, new Rng(1), 'evalPoints'));
    expect(e2.message).toMatch(/evalPoints.*row 1 has 1 value/);
    const e3 = err(() => samplesOrDist([1, 2, 3], 2, undefined, new Rng(1), 'intercepts'));
    expect(e3.message).toMatch(/intercepts: expected shape 2, got 3 values/);
    const e4 = err(() => samplesOrDist([1, NaN], 2, undefined, new Rng(1), 'gain'));
    expect(e4.message).toMatch(/gain.*finite/);
    const e5 = err(() => samplesOrDist(new Choice([[1, 2]]), 2, 3, new Rng(1), 'encoders'));
    expect(e5.message).toContain('dimensionality');
    const e6 = err(() => samplesOrDist(new Choice([[1, 2]]), 2, undefined, new Rng(1), 'gain'));
    expect(e6).toBeInstanceOf(ValidationError);
  });
});
