/**
 * LinearFilter's `method` (Nengo's: 'zoh', 'euler', 'backward_diff',
 * 'bilinear') against Nengo 4.1's filt output for four filters at two time
 * steps (fixtures/nengo_filter_methods.json, written by
 * fixtures/nengo_filter_methods.py), and its refusals.
 */
import { describe, expect, it } from 'vitest';
import { readFixture } from './nengo-fixture.js';
import { Alpha, LinearFilter, Lowpass, type DiscretizeMethod, type Synapse } from '../src/index.js';

const fx = readFixture('nengo_filter_methods') as {
  steps: number;
  input: number[];
  cases: Record<string, number[]>;
  butterworth: { num: number[]; den: number[]; dt: number; out: number[] };
};

const FILTERS: Record<string, (m: DiscretizeMethod) => Synapse> = {
  'Lowpass(0.005)': (method) => new Lowpass(0.005, { method }),
  'Alpha(0.003)': (method) => new Alpha(0.003, { method }),
  'LinearFilter([1, 2, 100], [0.01, 1, 100])': (method) => new LinearFilter([1, 2, 100], [0.01, 1, 100], true, method),
  'LinearFilter([1e3], [1e-3, 0.1, 5, 1e3])': (method) => new LinearFilter([1e3], [1e-3, 0.1, 5, 1e3], true, method),
};

describe("LinearFilter's discretisation methods, as Nengo 4.1's", () => {
  it('the fixture covers every filter and method tested here', () => {
    expect(Object.keys(fx.cases)).toHaveLength(Object.keys(FILTERS).length * 4 * 2);
  });

  for (const key of Object.keys(fx.cases)) {
    it(key, () => {
      const [, name, method, dt] = /^(.*) (\w+) ([\d.]+)$/.exec(key)!;
      const syn = FILTERS[name!]!(method as DiscretizeMethod);
      const got = syn.filt(Float64Array.from(fx.input), fx.steps, 1, Number(dt));
      const want = fx.cases[key]!;
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `step ${i}`).toBeLessThan(1e-12 * scale);
    });
  }

  it('a sixth-order Butterworth filter (its companion matrix spans 1 to 1e15), zero-order hold', () => {
    const { num, den, dt, out } = fx.butterworth;
    const got = new LinearFilter(num, den).filt(Float64Array.from(fx.input), fx.steps, 1, dt);
    const scale = Math.max(...out.map(Math.abs));
    for (let i = 0; i < out.length; i++) expect(Math.abs(got[i]! - out[i]!), `step ${i}`).toBeLessThan(1e-12 * scale);
  });

  it('the methods differ (Euler is not the zero-order hold), and the method shows in the name', () => {
    const x = new Float64Array(5).fill(1);
    expect(Array.from(new Lowpass(0.005, { method: 'euler' }).filt(x, 5, 1, 0.001)).map((v) => +v.toFixed(6))).toEqual([
      0.2, 0.36, 0.488, 0.5904, 0.67232,
    ]);
    expect(new Lowpass(0.005).filt(x, 5, 1, 0.001)[0]).toBeCloseTo(1 - Math.exp(-0.2), 12);
    expect(String(new Lowpass(0.005, { method: 'euler' }))).toBe("Lowpass(0.005, method='euler')");
    expect(String(new Alpha(0.005))).toBe('Alpha(0.005)');
  });

  it('a filter whose state-space matrix overflows is refused, not balanced for ever', () => {
    expect(() => new LinearFilter([1], [1e-300, 1, 1e10]).discretize(0.001)).toThrow(/non-finite/);
  });

  it('refuses an unknown method or option, naming the filter', () => {
    expect(() => new Lowpass(0.005, { method: 'foh' as DiscretizeMethod })).toThrow(
      /Lowpass: method must be one of 'zoh', 'euler', 'backward_diff', 'bilinear', got "foh"/,
    );
    expect(() => new Alpha(0.005, { tau: 1 } as never)).toThrow(/Alpha.*tau/);
    expect(() => new Lowpass(0.005, 'euler' as never)).toThrow(
      /Lowpass: the second argument must be options such as \{ method: 'euler' \}/,
    );
    expect(() => new LinearFilter([1], [1, 1], true, 'tustin' as DiscretizeMethod)).toThrow(/LinearFilter: method must be one of/);
  });
});
