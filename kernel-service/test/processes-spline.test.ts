/**
 * Piecewise with 'quadratic' and 'cubic' interpolation against Nengo 4.1
 * (scipy's interp1d) step by step (fixtures/nengo_piecewise.json, written by
 * fixtures/nengo_piecewise.py), and the spline on its own.
 */
import { describe, expect, it } from 'vitest';
import { readFixture } from './nengo-fixture.js';
import { Network, Piecewise, Simulator } from '../src/index.js';
import { InterpSpline } from '../src/engine/spline.js';

const fx = readFixture('nengo_piecewise') as {
  steps: number;
  cases: Record<string, { kind: 'quadratic' | 'cubic'; data: [number, number[]][]; out: number[][] }>;
};

describe("Piecewise 'quadratic' and 'cubic' as Nengo 4.1's", () => {
  for (const [name, c] of Object.entries(fx.cases)) {
    it(`${name}: every step, zero outside the data's times`, () => {
      const net = new Network();
      const pw = new Piecewise({ data: Object.fromEntries(c.data), interpolation: c.kind });
      const node = net.node(pw);
      const p = net.probe(node);
      const sim = new Simulator(net);
      sim.runSteps(fx.steps);
      const got = sim.data(p).toArray();
      let scale = 0;
      for (const r of c.out) for (const v of r) scale = Math.max(scale, Math.abs(v));
      for (let k = 0; k < fx.steps; k++)
        for (let j = 0; j < c.out[k]!.length; j++)
          expect(Math.abs(got[k]![j]! - c.out[k]![j]!), `${name}: step ${k}, [${j}]`).toBeLessThan(1e-12 * scale);
      expect(got[fx.steps - 1]!.every((v) => v === 0)).toBe(true); // after the last point
      // the cubic warns without data at t = 0, as Nengo does
      expect(pw.warnings.some((w) => w.includes('t=0.0'))).toBe(c.kind === 'cubic' && !c.data.some(([t]) => t === 0));
    });
  }

  it('needs 3 points for quadratic and 4 for cubic, as scipy', () => {
    expect(() => new Piecewise({ data: { 0: 1, 0.1: 2 }, interpolation: 'quadratic' })).toThrow(
      /'quadratic' interpolation needs at least 3 data points, got 2/,
    );
    expect(() => new Piecewise({ data: { 0: 1, 0.1: 2, 0.2: 0 }, interpolation: 'cubic' })).toThrow(
      /'cubic' interpolation needs at least 4 data points, got 3/,
    );
    expect(() => new Piecewise({ data: { 0: 1 }, interpolation: 'spline' as 'cubic' })).toThrow(
      /interpolation 'spline' is unknown; use one of .*cubic/,
    );
  });
});

describe('InterpSpline', () => {
  it('reproduces a polynomial of its degree exactly, and passes through its points', () => {
    const x = Float64Array.of(0, 0.3, 0.35, 0.8, 1.1, 2);
    for (const k of [2, 3] as const) {
      const f = (t: number): number => (k === 3 ? 2 * t ** 3 - t ** 2 + 0.5 : -(t ** 2) + 3 * t - 1);
      const s = new InterpSpline(x, x.map(f), 1, k);
      const out = new Float64Array(1);
      for (let t = 0; t <= 2; t += 0.01) {
        s.evaluate(t, out);
        expect(Math.abs(out[0]! - f(t)), `degree ${k} at ${t}`).toBeLessThan(1e-12);
      }
    }
    const y = Float64Array.of(1, -2, 0.5, 3, 3, -1);
    const s = new InterpSpline(x, y, 1, 3);
    const out = new Float64Array(1);
    x.forEach((t, i) => {
      s.evaluate(t, out);
      expect(Math.abs(out[0]! - y[i]!)).toBeLessThan(1e-12);
    });
  });
});
