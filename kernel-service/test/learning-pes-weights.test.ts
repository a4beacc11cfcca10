/**
 * PES on connections with a full weight matrix into neurons (between
 * neurons, slices of them, a weight solver, decoded into neurons), where
 * Nengo projects the error through the post's scaled encoders, against
 * Nengo 4.1's weights sampled every fifth step
 * (fixtures/nengo_pes_weights.json, written by fixtures/nengo_pes_weights.py).
 */
import { describe, expect, it } from 'vitest';
import { expectLearned, fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { LstsqL2, Network, PES, Simulator } from '../src/index.js';

const fx = readFixture('nengo_pes_weights') as {
  steps: number;
  sampleEvery: number;
  pre: FixtureNeurons;
  post: FixtureNeurons;
  transform: number[][];
  evalPoints: number[];
  cases: Record<string, number[][]>;
};

function learn(name: string): number[][] {
  const net = new Network({ seed: 3 });
  const ens = (p: FixtureNeurons) => fixtureEnsemble(net, p, fx.evalPoints);
  const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
  const pre = ens(fx.pre);
  const post = ens(fx.post);
  net.connect(stim, pre);
  const learningRule = new PES({ learningRate: 1e-3 });
  const evalPoints = fx.evalPoints.map((x) => [x]);
  const conn =
    name === 'weight solver'
      ? net.connect(pre, post, { solver: new LstsqL2({ weights: true }), evalPoints, learningRule })
      : name === 'decoded into neurons'
        ? net.connect(pre, post.neurons, { transform: fx.transform.map((row) => [10 * row[0]!]), evalPoints, learningRule })
        : name === 'neuron slices'
          ? net.connect(pre.neurons.slice(0, 9), post.neurons.slice(2, 8), {
              transform: fx.transform.slice(2, 8).map((row) => row.slice(0, 9)),
              learningRule,
            })
          : net.connect(pre.neurons, post.neurons, { transform: fx.transform, learningRule });
  const err = net.node(null, { sizeIn: 1 });
  net.connect(post, err);
  net.connect(stim, err, { transform: -1 });
  net.connect(err, conn.learningRule!);
  const p = net.probe(conn, { attr: 'weights', sampleEvery: fx.sampleEvery });
  const sim = new Simulator(net);
  sim.runSteps(fx.steps);
  return sim.data(p).toArray();
}

describe("PES into neurons as Nengo 4.1's", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(['neurons', 'neuron slices', 'weight solver', 'decoded into neurons']);
  });

  for (const name of Object.keys(fx.cases)) {
    it(`${name}: the weights, every fifth step`, () => {
      const want = fx.cases[name]!;
      const got = learn(name);
      expect(got[0]!.length).toBe(want[0]!.length);
      expectLearned(got, want, name, 'weight');
    });
  }
});
