/**
 * Sparse transforms against Nengo 4.1 (fixtures/nengo_sparse.json, written
 * by fixtures/nengo_sparse.py): between neurons and from a node, step by
 * step, with a repeated index; the weights probe; and what is refused, as
 * in Nengo.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { Network, PES, Simulator, Sparse, Uniform } from '../src/index.js';

type WithEval = FixtureNeurons & { evalPoints: number[] };
interface SparseSpec {
  indices: number[][];
  init: number[];
}
const fx = readFixture('nengo_sparse') as {
  steps: number;
  a: WithEval;
  b: WithEval;
  c: WithEval;
  neurons: SparseSpec;
  node: SparseSpec;
  out: Record<'weights' | 'bVoltage' | 'c', number[][]>;
};

function maxAbs(rows: number[][]): number {
  let m = 0;
  for (const r of rows) for (const v of r) m = Math.max(m, Math.abs(v));
  return m;
}

describe("Sparse transforms as Nengo 4.1's", () => {
  it('between neurons and from a node: voltages, decoded output and weights step by step', () => {
    const n = fx.a.encoders.length;
    const net = new Network({ seed: 5 });
    const stim = net.node((t) => [Math.sin(2 * Math.PI * 4 * t), Math.cos(2 * Math.PI * 3 * t)]);
    const a = fixtureEnsemble(net, fx.a, fx.a.evalPoints);
    const b = fixtureEnsemble(net, fx.b, fx.b.evalPoints);
    const c = fixtureEnsemble(net, fx.c, fx.c.evalPoints);
    net.connect(stim, a, { transform: new Sparse([1, 2], fx.node) });
    const nn = net.connect(a.neurons, b.neurons, { transform: new Sparse([n, n], fx.neurons) });
    net.connect(b, c);
    const probes = {
      weights: net.probe(nn, { attr: 'weights' }),
      bVoltage: net.probe(b.neurons, { attr: 'voltage' }),
      c: net.probe(c, { synapse: 0.01 }),
    };
    const sim = new Simulator(net);
    sim.runSteps(fx.steps);
    for (const key of ['bVoltage', 'c'] as const) {
      const want = fx.out[key],
        got = sim.data(probes[key]).toArray(),
        scale = maxAbs(want);
      expect(scale, key).toBeGreaterThan(0);
      for (let k = 0; k < fx.steps; k++)
        for (let i = 0; i < want[k]!.length; i++)
          expect(Math.abs(got[k]![i]! - want[k]![i]!), `${key}: step ${k}, [${i}]`).toBeLessThan(1e-9 * scale);
    }
    // the weights: nefsim's are the values in the order given (Nengo's weights signal), Nengo's probe a sparse matrix
    const values = sim.data(probes.weights).toArray();
    expect(values[0]).toEqual(fx.neurons.init);
    const dense = new Array<number>(n * n).fill(0);
    fx.neurons.indices.forEach(([r, col], k) => (dense[r! * n + col!]! += values[fx.steps - 1]![k]!));
    expect(dense.map((v, i) => Math.abs(v - fx.out.weights[fx.steps - 1]![i]!)).every((d) => d < 1e-15)).toBe(true);
    expect(fx.neurons.indices[1]).toEqual(fx.neurons.indices[0]); // the repeated index was in the run
  });

  it('samples a Distribution init from the connection seed, as Nengo (the same seed, the same values)', () => {
    const run = (seed: number): number[] => {
      const net = new Network({ seed: 1 });
      const a = net.ensemble({ nNeurons: 5, dimensions: 1 });
      const b = net.ensemble({ nNeurons: 5, dimensions: 1 });
      const indices = [
        [0, 1],
        [2, 3],
        [4, 4],
      ];
      const c = net.connect(a.neurons, b.neurons, { transform: new Sparse([5, 5], { indices, init: new Uniform(0.5, 1) }), seed });
      return sim(net).weights(c).toArray()[0]!;
    };
    const sim = (net: Network): Simulator => new Simulator(net);
    const w = run(3);
    expect(w.length).toBe(3);
    expect(w.every((v) => v >= 0.5 && v < 1)).toBe(true);
    expect(run(3)).toEqual(w);
    expect(run(4)).not.toEqual(w);
  });

  it('refuses what Nengo refuses, and malformed ones, naming the connection', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 4, dimensions: 2, label: 'a' });
    const b = net.ensemble({ nNeurons: 4, dimensions: 2, label: 'b' });
    expect(() => net.connect(a, b, { transform: new Sparse([2, 2], { indices: [[0, 0]] }) })).toThrow(
      /a -> b.*sparse transform on a decoded connection is not supported \(as in Nengo\)/,
    );
    expect(() =>
      net.connect(a.neurons, b.neurons, { transform: new Sparse([4, 4], { indices: [[0, 0]] }), learningRule: new PES() }),
    ).toThrow(/learning needs a dense transform/);
    expect(() => net.connect(a.neurons, b.neurons, { transform: new Sparse([3, 4], { indices: [[0, 0]] }) })).toThrow(
      /sparse transform is 3x4; it must be 4x4/,
    );
    expect(() => new Sparse([2, 2], { indices: [[2, 0]] })).toThrow(/Sparse: index 0 must be a \[row, column\] pair inside 2x2/);
    expect(() => new Sparse([2, 2], { indices: [[0, 0]], init: [1, 2] })).toThrow(/Sparse: init has 2 values for 1 indices/);
    // an array of one value is every entry's, as Nengo broadcasts it
    expect(
      new Sparse([2, 2], {
        indices: [
          [0, 0],
          [1, 1],
          [0, 1],
        ],
        init: [0.5],
      }).data,
    ).toEqual(Float64Array.of(0.5, 0.5, 0.5));
    expect(() => new Sparse([2, 2], { indices: [[0, 0]], seed: 1 } as never)).toThrow(/Sparse: unknown option 'seed'/);
  });
});
