/**
 * KeptUnits (spikes grouped by neuron during a run): the per-neuron order
 * of units/spike_times from batches in time order, whatever block size the
 * times go out in.
 */
import { describe, expect, it } from 'vitest';
import { KeptUnits } from '../src/runs/kept-units.js';

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

  it('refuses a batch beyond its budget and keeps nothing of it', () => {
    const kept = new KeptUnits(4, 10);
    expect(kept.add(Int32Array.from([0, 1, 2]), 3, Float64Array.from([3]), 0, 1, 0, 1)).toBe(true);
    expect(kept.add(Int32Array.from([0, 1, 2]), 3, Float64Array.from([6]), 3, 1, 1, 1)).toBe(false);
    expect(kept.spikes).toBe(3);
    expect(kept.segments.length).toBe(1);
  });
});
