/**
 * KeptUnits (spikes grouped by neuron during a run): the per-neuron order
 * of units/spike_times from batches in time order, whatever block size the
 * times go out in.
 */
import { describe, expect, it } from 'vitest';
import { KeptUnits, MERGE_ABOVE } from '../src/runs/kept-units.js';

describe('KeptUnits', () => {
  it('gives every spike time neuron by neuron, each neuron in time order, across batches and blocks of any size', () => {
    const cols = 5,
      dt = 0.001;
    const kept = new KeptUnits(cols, 1 << 20);
    // three batches of 4 samples each (period 1); sample r of batch b is step 4b + r + 1
    const expected: number[][] = Array.from({ length: cols }, () => []);
    let base = 0;
    for (let b = 0; b < 3; b++) {
      const units: number[] = [];
      const rowEnds: number[] = [];
      for (let r = 0; r < 4; r++) {
        for (let u = 0; u < cols; u++) {
          if ((u * 7 + r * 3 + b) % 3 === 0) {
            units.push(u);
            expected[u]!.push((4 * b + r + 1) * dt);
          }
        }
        rowEnds.push(base + units.length);
      }
      expect(kept.add(Int32Array.from(units), units.length, Float64Array.from(rowEnds), base, 4, 4 * b, 1)).toBe(true);
      base += units.length;
    }
    const all = expected.flat();
    expect(kept.spikes).toBe(all.length);
    for (const size of [1, 2, 3, 7, all.length, all.length + 5]) {
      const got: number[] = [];
      const block = new Float64Array(size);
      const sizes: number[] = [];
      kept.times(dt, block, (n) => {
        sizes.push(n);
        got.push(...block.subarray(0, n));
      });
      expect(got, `block of ${size}`).toEqual(all);
      // every block full but the last
      expect(
        sizes.slice(0, -1).every((n) => n === size),
        `block of ${size}`,
      ).toBe(true);
    }
  });

  it('merges its newest segments past MERGE_ABOVE as batches come, keeping few of them, and gives the same times as one per batch would', () => {
    const cols = 7,
      dt = 0.001,
      batches = 200;
    const kept = new KeptUnits(cols, 1 << 20);
    const expected: number[][] = Array.from({ length: cols }, () => []);
    let base = 0,
      step = 0,
      most = 0,
      seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let b = 0; b < batches; b++) {
      // batches of 1-6 samples and uneven sizes; some neurons silent in a batch
      const rows = 1 + Math.floor(random() * 6);
      const units: number[] = [];
      const rowEnds: number[] = [];
      const step0 = step;
      for (let r = 0; r < rows; r++) {
        step++;
        for (let u = 0; u < cols; u++) {
          if (random() < (u + 1) / (cols + 2)) {
            units.push(u);
            expected[u]!.push(step * dt);
          }
        }
        rowEnds.push(base + units.length);
      }
      expect(kept.add(Int32Array.from(units), units.length, Float64Array.from(rowEnds), base, rows, step0, 1)).toBe(true);
      base += units.length;
      // the first MERGE_ABOVE batches are kept as they came
      if (b < MERGE_ABOVE) expect(kept.segments.length).toBe(b + 1);
      most = Math.max(most, kept.segments.length);
    }
    // past the first MERGE_ABOVE, each segment holds more than twice the next: at most log2(spikes) + 1 of them
    expect(most).toBeLessThanOrEqual(MERGE_ABOVE + Math.floor(Math.log2(base)) + 1);
    for (let s = MERGE_ABOVE + 1; s < kept.segments.length; s++) {
      expect(kept.segments[s - 1]!.steps.length).toBeGreaterThan(2 * kept.segments[s]!.steps.length);
    }
    const got: number[] = [];
    const block = new Float64Array(64);
    kept.times(dt, block, (n) => got.push(...block.subarray(0, n)));
    expect(got).toEqual(expected.flat());
    expect(kept.spikes).toBe(base);
  });

  it('refuses a batch beyond its budget and keeps nothing of it', () => {
    const kept = new KeptUnits(4, 10);
    expect(kept.add(Int32Array.from([0, 1, 2]), 3, Float64Array.from([3]), 0, 1, 0, 1)).toBe(true);
    expect(kept.add(Int32Array.from([0, 1, 2]), 3, Float64Array.from([6]), 3, 1, 1, 1)).toBe(false);
    expect(kept.spikes).toBe(3);
    expect(kept.segments.length).toBe(1);
  });
});
