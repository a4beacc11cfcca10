import { describe, expect, it } from 'vitest';
import { MAX_SEED, Rng } from '../src/engine/rng.js';

describe('Rng', () => {
  it('is deterministic for a seed', () => {
    const a = new Rng(1234),
      b = new Rng(1234);
    for (let i = 0; i < 1000; i++) expect(a.nextUint32()).toBe(b.nextUint32());
    const c = new Rng(99),
      d = new Rng(99);
    const xs = Array.from({ length: 200 }, () => [c.random(), c.normal(), c.integer(17), c.seed()]);
    const ys = Array.from({ length: 200 }, () => [d.random(), d.normal(), d.integer(17), d.seed()]);
    expect(xs).toEqual(ys);
  });

  it('gives different streams for different seeds (including 0 and 2^32-1)', () => {
    const seeds = [0, 1, 2, 12345, 0xffffffff];
    const firsts = seeds.map((s) => {
      const r = new Rng(s);
      return Array.from({ length: 4 }, () => r.nextUint32()).join(',');
    });
    expect(new Set(firsts).size).toBe(seeds.length);
    // nearby seeds do not give correlated first values
    const r1 = new Rng(7),
      r2 = new Rng(8);
    let same = 0;
    for (let i = 0; i < 100; i++) if (r1.random() === r2.random()) same++;
    expect(same).toBe(0);
  });

  it('rejects invalid seeds', () => {
    expect(() => new Rng(-1)).toThrow(RangeError);
    expect(() => new Rng(1.5)).toThrow(RangeError);
    expect(() => new Rng(2 ** 32)).toThrow(RangeError);
  });

  it('random() is in [0, 1) with mean ≈ 0.5 and variance ≈ 1/12', () => {
    const r = new Rng(5);
    const N = 100000;
    let sum = 0,
      sum2 = 0,
      min = 1,
      max = 0,
      outside = 0;
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < N; i++) {
      const x = r.random();
      if (!(x >= 0 && x < 1)) outside++;
      sum += x;
      sum2 += x * x;
      min = Math.min(min, x);
      max = Math.max(max, x);
      bins[Math.floor(x * 10)]!++;
    }
    expect(outside).toBe(0);
    const mean = sum / N;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // SE ≈ 0.0009
    expect(Math.abs(sum2 / N - mean * mean - 1 / 12)).toBeLessThan(0.002);
    expect(min).toBeLessThan(0.001);
    expect(max).toBeGreaterThan(0.999);
    for (const b of bins) expect(Math.abs(b - N / 10)).toBeLessThan(500); // SE ≈ 95
  });

  it('uniform(lo, hi) spans [lo, hi)', () => {
    const r = new Rng(6);
    let sum = 0,
      outside = 0;
    for (let i = 0; i < 20000; i++) {
      const x = r.uniform(-3, 5);
      if (!(x >= -3 && x < 5)) outside++;
      sum += x;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 20000 - 1)).toBeLessThan(0.06);
  });

  it('normal() has mean ≈ 0, std ≈ 1 and Gaussian tails', () => {
    const r = new Rng(7);
    const N = 100000;
    let sum = 0,
      sum2 = 0,
      sum4 = 0,
      within1 = 0;
    for (let i = 0; i < N; i++) {
      const x = r.normal();
      sum += x;
      sum2 += x * x;
      sum4 += x ** 4;
      if (Math.abs(x) < 1) within1++;
    }
    const mean = sum / N;
    expect(Math.abs(mean)).toBeLessThan(0.015); // SE ≈ 0.003
    expect(Math.abs(Math.sqrt(sum2 / N - mean * mean) - 1)).toBeLessThan(0.01);
    expect(Math.abs(sum4 / N - 3)).toBeLessThan(0.1); // kurtosis of a Gaussian
    expect(Math.abs(within1 / N - 0.6827)).toBeLessThan(0.01);
  });

  it('integer(n) stays in [0, n) and is roughly uniform', () => {
    const r = new Rng(8);
    for (const n of [1, 2, 3, 7, 10]) {
      const counts = new Array<number>(n).fill(0);
      const N = 10000 * n;
      let bad = 0;
      for (let i = 0; i < N; i++) {
        const k = r.integer(n);
        if (!(Number.isInteger(k) && k >= 0 && k < n)) bad++;
        else counts[k]!++;
      }
      expect(bad).toBe(0);
      for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(600); // SE ≤ 100
    }
    // large n (above 2^32 uses the float path)
    for (let i = 0; i < 100; i++) {
      const k = r.integer(2 ** 40);
      expect(Number.isInteger(k) && k >= 0 && k < 2 ** 40).toBe(true);
    }
    expect(() => r.integer(0)).toThrow(RangeError);
    expect(() => r.integer(2.5)).toThrow(RangeError);
  });

  it('seed() is an integer in [0, 2^31 - 1) and spreads over the range', () => {
    const r = new Rng(9);
    let low = 0,
      high = 0;
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const s = r.seed();
      expect(Number.isInteger(s) && s >= 0 && s < MAX_SEED).toBe(true);
      if (s < MAX_SEED / 2) low++;
      else high++;
      seen.add(s);
    }
    expect(seen.size).toBeGreaterThan(1990);
    expect(Math.abs(low - high)).toBeLessThan(200);
    // a child seed is a valid Rng seed
    expect(() => new Rng(r.seed())).not.toThrow();
  });

  it('shuffle() permutes in place, deterministically', () => {
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = a.slice();
    new Rng(10).shuffle(a);
    new Rng(10).shuffle(b);
    expect(a).toEqual(b);
    expect(a.slice().sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
