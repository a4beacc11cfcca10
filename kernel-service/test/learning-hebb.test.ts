/**
 * The unsupervised rules BCM and Oja against Nengo 4.1's weights, sampled
 * every fifth step (fixtures/nengo_hebb.json, written by
 * fixtures/nengo_hebb.py), and their refusals.
 */
import { describe, expect, it } from 'vitest';
import { expectLearned, fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { BCM, LstsqL2, Lowpass, Network, Oja, Simulator, type LearningRuleType } from '../src/index.js';

const fx = readFixture('nengo_hebb') as {
  steps: number;
  sampleEvery: number;
  pre: FixtureNeurons;
  post: FixtureNeurons;
  transform: number[][];
  cases: Record<string, number[][]>;
};

const RULES: Record<string, () => LearningRuleType> = {
  'BCM neurons': () => new BCM({ learningRate: 1e-6 }),
  'BCM synapses': () => new BCM({ learningRate: 1e-6, preSynapse: null, postSynapse: new Lowpass(0.01), thetaSynapse: new Lowpass(0.05) }),
  'Oja neurons': () => new Oja({ learningRate: 1e-5, beta: 0.5 }),
  'Oja weight solver': () => new Oja({ learningRate: 1e-5 }),
};

function learn(name: string, merge = true): number[][] {
  const net = new Network({ seed: 3 });
  const ens = (p: FixtureNeurons) => fixtureEnsemble(net, p, undefined);
  const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
  const pre = ens(fx.pre);
  const post = ens(fx.post);
  net.connect(stim, pre);
  const conn =
    name === 'Oja weight solver'
      ? net.connect(pre, post, {
          solver: new LstsqL2({ weights: true }),
          evalPoints: Array.from({ length: 50 }, (_, i) => [-1 + (2 * i) / 49]),
          learningRule: RULES[name]!(),
        })
      : net.connect(pre.neurons, post.neurons, { transform: fx.transform, learningRule: RULES[name]!() });
  const p = net.probe(conn, { attr: 'weights', sampleEvery: fx.sampleEvery });
  const sim = new Simulator(net, { merge });
  sim.runSteps(fx.steps);
  return sim.data(p).toArray();
}

describe("BCM and Oja as Nengo 4.1's", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(Object.keys(RULES));
  });

  for (const name of Object.keys(RULES)) {
    it(`${name}: the weights, every fifth step`, () => {
      const want = fx.cases[name]!;
      expectLearned(learn(name), want, name, 'weight');
    });
  }

  it('merged and unmerged builds learn the same weights', () => {
    expect(learn('BCM neurons', false)).toEqual(learn('BCM neurons', true));
    expect(learn('Oja neurons', false)).toEqual(learn('Oja neurons', true));
  });

  it('refuses connections without a full neuron-to-neuron weight matrix, and unknown options, naming the rule', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 5, dimensions: 1 });
    const b = net.ensemble({ nNeurons: 4, dimensions: 1 });
    net.connect(a, b, { learningRule: new BCM(), label: 'decoded' });
    expect(() => new Simulator(net)).toThrow(/BCM changes a full weight matrix .* weight solver/);
    const net2 = new Network();
    const c = net2.ensemble({ nNeurons: 5, dimensions: 1 });
    const d = net2.ensemble({ nNeurons: 4, dimensions: 1 });
    net2.connect(c.neurons.slice(0, 3), d.neurons, { transform: new Array(4).fill(0).map(() => [0, 0, 0]), learningRule: new Oja() });
    expect(() => new Simulator(net2)).toThrow(/Oja changes a full weight matrix .*no slices/);
    expect(() => net2.connect(net2.node(1), d.neurons, { transform: [[1], [1], [1], [1]], learningRule: new Oja() })).toThrow(
      /Oja needs a connection from an ensemble or its neurons/,
    );
    expect(() => new BCM({ learning_rate: 1 } as never)).toThrow(/BCM.*learning_rate/);
    expect(() => new Oja({ beta: -1 })).toThrow(/Oja: beta must be a non-negative number/);
    expect(new BCM().learningRate).toBe(1e-9);
    expect(new Oja().learningRate).toBe(1e-6);
    // postSynapse defaults to the pre synapse as given
    expect(new BCM({ preSynapse: null }).postSynapse).toBe(null);
  });
});
