/**
 * The Triangle synapse against Nengo 4.1's (fixtures/nengo_triangle.json,
 * written by fixtures/nengo_triangle.py): offline filtering at several
 * lengths and steps (halves rounded to even, as np.round), and in a
 * simulation on a connection and a probe.
 */
import { describe, expect, it } from 'vitest';
import { readFixture } from './nengo-fixture.js';
import { Network, Simulator, Triangle } from '../src/index.js';

const fx = readFixture('nengo_triangle') as {
  x: number[][];
  filt: Record<string, number[][]>;
  sim: { connection: number[][]; probe: number[][] };
};

function close(got: ArrayLike<number>, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what} [${i}]`).toBeLessThan(1e-12);
}

describe("Triangle as Nengo 4.1's", () => {
  it('filters offline as Triangle.filt, for each length and step', () => {
    expect(Object.keys(fx.filt).length).toBe(4);
    const x = Float64Array.from(fx.x.flat());
    for (const [key, want] of Object.entries(fx.filt)) {
      const [t, dt] = key.split('@').map(Number) as [number, number];
      close(new Triangle(t).filt(x, fx.x.length, 2, dt), want.flat(), key);
    }
  });

  it('on a connection and a probe, step by step', () => {
    const net = new Network({ seed: 1 });
    const u = net.node((t) => [Math.sin(40 * t), Math.cos(25 * t)]);
    const v = net.node(null, { sizeIn: 2 });
    net.connect(u, v, { synapse: new Triangle(0.004) });
    const pc = net.probe(v);
    const pp = net.probe(u, { synapse: new Triangle(0.006) });
    const sim = new Simulator(net);
    sim.runSteps(60);
    close(sim.data(pc).data, fx.sim.connection.flat(), 'connection');
    close(sim.data(pp).data, fx.sim.probe.flat(), 'probe');
  });

  it('refuses a negative or infinite length', () => {
    expect(() => new Triangle(-0.01)).toThrow(/Triangle: t must be a finite number >= 0, got -0.01/);
    expect(() => new Triangle(Infinity)).toThrow(/Triangle: t must be/);
  });
});
