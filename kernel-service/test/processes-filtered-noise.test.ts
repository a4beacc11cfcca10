/**
 * FilteredNoise and BrownNoise: exactly WhiteNoise's samples through the
 * synapse (Euler's integrator for BrownNoise), and in distribution as Nengo
 * 4.1's (fixtures/nengo_filtered_noise.json, written by
 * fixtures/nengo_filtered_noise.py): nefsim's generator is not numpy's.
 */
import { describe, expect, it } from 'vitest';
import { readFixture } from './nengo-fixture.js';
import { Alpha, BrownNoise, FilteredNoise, Lowpass, Network, Simulator, Uniform, WhiteNoise, type Process } from '../src/index.js';
import { Rng } from '../src/engine/rng.js';

interface Stats {
  mean: number[];
  var: number[];
  ac1: number;
  ac10: number;
}
const fx = readFixture('nengo_filtered_noise') as {
  dt: number;
  steps: number;
  times: number[];
  runs: number;
  stats: Record<string, Stats>;
};
const PROCESSES: Record<string, (seed: number) => Process> = {
  FilteredNoise: (seed) => new FilteredNoise({ seed }),
  'FilteredNoise Alpha(0.01), Uniform, unscaled': (seed) =>
    new FilteredNoise({ synapse: new Alpha(0.01), dist: new Uniform(-1, 1), scale: false, seed }),
  BrownNoise: (seed) => new BrownNoise({ seed }),
};
const rng = new Rng(0); // unused: every process here has its own seed

describe('FilteredNoise and BrownNoise', () => {
  it("are WhiteNoise's samples through the synapse, exactly", () => {
    const n = 300,
      dt = fx.dt;
    const white = new WhiteNoise({ seed: 7 }).runSteps(n, dt, rng);
    expect(new FilteredNoise({ seed: 7 }).runSteps(n, dt, rng)).toEqual(new Lowpass(0.005).filt(white, n, 1, dt));
    const brown = new BrownNoise({ seed: 7 }).runSteps(n, dt, rng);
    let y = 0;
    for (let i = 0; i < n; i++) {
      y = 1 * y + dt * white[i]!;
      expect(brown[i]).toBe(y);
    }
  });

  for (const [name, make] of Object.entries(PROCESSES)) {
    it(`${name}: mean and variance over ${fx.runs} seeds and autocorrelation as Nengo's`, () => {
      const want = fx.stats[name]!;
      const runs = Array.from({ length: fx.runs }, (_, s) => make(s).runSteps(fx.steps, fx.dt, rng));
      fx.times.forEach((k, i) => {
        const xs = runs.map((r) => r[k]!);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
        // four standard errors of the difference (of two means; of two variances, about var * sqrt(2 / n) each)
        expect(Math.abs(mean - want.mean[i]!), `${name} mean at step ${k}`).toBeLessThan(4 * Math.sqrt((2 * want.var[i]!) / fx.runs));
        expect(Math.abs(v - want.var[i]!), `${name} variance at step ${k}`).toBeLessThan(4 * want.var[i]! * Math.sqrt(4 / fx.runs));
      });
      const long = make(12345).runSteps(20000, fx.dt, rng);
      const m = long.reduce((a, b) => a + b, 0) / long.length;
      const c = long.map((x) => x - m);
      const ac = (lag: number): number => {
        let num = 0,
          den = 0;
        for (let i = 0; i < c.length; i++) den += c[i]! ** 2;
        for (let i = 0; i + lag < c.length; i++) num += c[i]! * c[i + lag]!;
        return num / den;
      };
      const tol = name === 'BrownNoise' ? 0.005 : 0.03;
      expect(Math.abs(ac(1) - want.ac1), `${name} lag-1 autocorrelation`).toBeLessThan(tol);
      expect(Math.abs(ac(10) - want.ac10), `${name} lag-10 autocorrelation`).toBeLessThan(tol * 2);
    });
  }

  it('drive a node like any process, and check their options', () => {
    const net = new Network({ seed: 1 });
    const node = net.node(new BrownNoise(), { sizeOut: 2 });
    const p = net.probe(node);
    const sim = new Simulator(net);
    sim.runSteps(100);
    const rows = sim.data(p).toArray();
    expect(rows[99]!.length).toBe(2);
    expect(rows[99]![0]).not.toBe(rows[99]![1]);
    expect(() => new FilteredNoise({ synapse: null as never })).toThrow(/FilteredNoise: synapse must be a Synapse/);
    expect(() => new FilteredNoise({ tau: 0.1 } as never)).toThrow(/FilteredNoise: unknown option 'tau'/);
    expect(() => new BrownNoise({ synapse: new Lowpass(0.1) } as never)).toThrow(/BrownNoise: unknown option 'synapse'/);
    expect(() => new FilteredNoise({ scale: 1 as never })).toThrow(/FilteredNoise: scale must be a boolean/);
    expect(String(new BrownNoise())).toMatch(/^BrownNoise\(/);
  });
});
