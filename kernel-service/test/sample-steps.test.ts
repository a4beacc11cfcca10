/**
 * IrregularSamples (server/sample-steps.ts): the samples of a run probe whose sample_every is not a whole
 * number of steps, for a window, against the steps the store writer samples at (sampleStepAfter, as the
 * simulator: s % period < 1), and a window of a probe too long to list whole.
 */
import { describe, expect, it } from 'vitest';
import { sampleStepAfter } from '../src/runs/kept-units.js';
import { IrregularSamples } from '../src/server/sample-steps.js';

/** Every sample's time, step by step (as the writer). */
function scanned(rows: number, dt: number, every: number): Float64Array {
  const t = new Float64Array(rows);
  for (let i = 0, s = 0; i < rows; i++) t[i] = (s = sampleStepAfter(s, every / dt)) * dt;
  return t;
}

describe('IrregularSamples', () => {
  it('are the steps the writer samples at, for any window', () => {
    expect(IrregularSamples.of(10, 0.001, 0.003)).toBeUndefined(); // 2.9999999999999996 steps: 3, 6, ...
    expect(IrregularSamples.of(10, 0.001, 0.001)).toBeUndefined();
    const cases: [number, number][] = [
      [0.001, 0.0025],
      [0.001, 0.0012],
      [0.001, 0.0004],
      [0.01, 0.07], // 7.000000000000001 steps: 8, 15, ...
      [0.005, 0.035],
      [0.001, 0.0033333],
      [0.0003, 0.001],
      [0.001, 1.0005],
    ];
    for (const [dt, every] of cases) {
      const rows = 3000;
      const all = scanned(rows, dt, every);
      const s = IrregularSamples.of(rows, dt, every)!;
      expect(s, `${every}`).toBeDefined();
      expect(Array.from(s.times(0, rows)), `${every}`).toEqual(Array.from(all));
      expect(s.last(), `${every}`).toBe(all[rows - 1]);
      expect(s.range(-Infinity, Infinity)).toEqual([0, rows]);
      // windows at, between and around samples, and past either end
      const end = all[rows - 1]!;
      const edges = [-1, 0, all[0]!, all[0]! / 2, all[7]!, all[7]! + dt / 3, all[100]! - dt / 3, end / 2, end, end + dt, 10 * end];
      for (const t0 of edges)
        for (const t1 of edges) {
          if (t1 < t0) continue;
          let i0 = 0;
          while (i0 < rows && all[i0]! < t0) i0++;
          let i1 = i0;
          while (i1 < rows && all[i1]! <= t1) i1++;
          expect(s.range(t0, t1), `${every} [${t0}, ${t1}]`).toEqual([i0, i1]);
          expect(Array.from(s.times(i0, i1))).toEqual(Array.from(all.subarray(i0, i1)));
        }
      for (let i = 0; i < rows; i += 37) expect(s.rowOf(all[i]!), `${every} row ${i}`).toBe(i);
      // a spike between two samples (a step not sampled) has no row
      const gap = all.findIndex((x, i) => i > 0 && x - all[i - 1]! > 1.5 * dt);
      if (gap > 0) expect(s.rowOf(all[gap]! - dt)).toBe(-1);
    }
  });

  it('find a window of a probe of 2^40 samples without listing them', () => {
    const s = IrregularSamples.of(2 ** 40, 0.001, 0.0025)!;
    const [i0, i1] = s.range(1e9, 1e9 + 0.01);
    // steps 1e12 .. 1e12 + 10 hold the samples 4e11 - 1 .. 4e11 + 3 (at steps 1e12, 1e12 + 3, 1e12 + 5, 1e12 + 8, 1e12 + 10)
    expect([i0, i1]).toEqual([4e11 - 1, 4e11 + 4]);
    expect(Array.from(s.times(i0, i1)).map((t) => Math.round(t / 0.001) - 1e12)).toEqual([0, 3, 5, 8, 10]);
  });
});
