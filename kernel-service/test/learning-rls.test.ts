/**
 * The RLS learning rule against Nengo 4.1 (fixtures/nengo_rls.json, written
 * by fixtures/nengo_rls.py): the weights it learns, its delta, filtered
 * activities, error and inverse correlation estimate, sampled every fourth
 * step; and its refusals.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { Network, RLS, Simulator, type Connection } from '../src/index.js';

const fx = readFixture('nengo_rls') as {
  steps: number;
  sampleEvery: number;
  pre: FixtureNeurons & { evalPoints: number[] };
  post: FixtureNeurons & { evalPoints: number[] };
  cases: Record<string, Record<string, number[][]>>;
};
const ATTR: Record<string, string> = { delta: 'delta', pre_filtered: 'preFiltered', error: 'error', inv_gamma: 'invGamma' };

function run(name: string): Record<string, number[][]> {
  const net = new Network({ seed: 3 });
  const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
  const pre = fixtureEnsemble(net, fx.pre, fx.pre.evalPoints);
  net.connect(stim, pre);
  let conn: Connection;
  if (name === 'RLS') {
    const post = fixtureEnsemble(net, fx.post, fx.post.evalPoints);
    conn = net.connect(pre, post, { function: () => [0], learningRule: new RLS() });
    const err = net.node(null, { sizeIn: 1 });
    net.connect(post, err);
    net.connect(stim, err, { transform: -1 });
    net.connect(err, conn.learningRule!);
  } else {
    const post = net.node(null, { sizeIn: 2 });
    conn = net.connect(pre, post, {
      function: () => [0],
      transform: [[1], [-0.5]],
      learningRule: new RLS({ learningRate: 1e-2, preSynapse: null }),
    });
    const err = net.node(null, { sizeIn: 2 });
    net.connect(post, err, { synapse: 0.005 });
    net.connect(stim, err, { transform: [[-1], [0.5]] });
    net.connect(err, conn.learningRule!);
  }
  const every = { sampleEvery: fx.sampleEvery };
  const probes = Object.fromEntries(
    Object.keys(fx.cases[name]!).map((a) => [
      a,
      a === 'weights' ? net.probe(conn, { attr: 'weights', ...every }) : net.probe(conn.learningRule!, { attr: ATTR[a], ...every }),
    ]),
  );
  const sim = new Simulator(net);
  sim.runSteps(fx.steps);
  return Object.fromEntries(Object.entries(probes).map(([a, p]) => [a, sim.data(p).toArray()]));
}

describe("RLS as Nengo 4.1's", () => {
  for (const name of Object.keys(fx.cases)) {
    it(`${name}: ${Object.keys(fx.cases[name]!).join(', ')}, every fourth step`, () => {
      const got = run(name);
      for (const [attr, want] of Object.entries(fx.cases[name]!)) {
        let scale = 0;
        for (const row of want) for (const v of row) scale = Math.max(scale, Math.abs(v));
        expect(scale, `${name} ${attr}`).toBeGreaterThan(0);
        const g = got[attr]!;
        expect([g.length, g[0]!.length]).toEqual([want.length, want[0]!.length]);
        for (let k = 0; k < want.length; k++)
          for (let i = 0; i < want[k]!.length; i++)
            expect(Math.abs(g[k]![i]! - want[k]![i]!), `${name} ${attr}: sample ${k}, value ${i}`).toBeLessThan(1e-9 * scale);
      }
      // it learned: the weights moved from zero
      const w = fx.cases[name]!['weights']!;
      expect(Math.max(...w[w.length - 1]!.map(Math.abs))).toBeGreaterThan(0);
    });
  }

  it('refuses connections into neurons and from a node, naming the connection', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 5, dimensions: 1 });
    const b = net.ensemble({ nNeurons: 5, dimensions: 1 });
    const c = net.connect(a.neurons, b.neurons, { transform: 0.1, learningRule: new RLS(), label: 'into neurons' });
    net.connect(net.node([0]), c.learningRule!);
    expect(() => new Simulator(net)).toThrow(/into neurons.*RLS learns decoders .* not into neurons/);
    expect(() => net.connect(net.node([1]), b, { learningRule: new RLS() })).toThrow(
      /RLS needs a connection from an ensemble or its neurons/,
    );
    expect(() => new RLS({ learningRate: -1 })).toThrow(/RLS: learningRate must be/);
  });
});
