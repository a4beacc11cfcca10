/**
 * Probes of learning rules (PES's error and activities, BCM's theta and
 * filtered activities, Oja's filtered activities, and each rule's delta with
 * the weights it changes) against Nengo 4.1's (fixtures/nengo_rule_probes.json,
 * written by fixtures/nengo_rule_probes.py).
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { BCM, Lowpass, Network, Oja, PES, Simulator, type LearningRuleType } from '../src/index.js';

const fx = readFixture('nengo_rule_probes') as {
  steps: number;
  pre: FixtureNeurons;
  post: FixtureNeurons;
  evalPoints: number[];
  cases: Record<string, Record<string, number[][]>>;
};

const RULES: Record<string, () => LearningRuleType> = {
  PES: () => new PES({ learningRate: 1e-3 }),
  'PES no pre synapse': () => new PES({ learningRate: 1e-3, preSynapse: null }),
  'PES neurons': () => new PES({ learningRate: 1e-3 }),
  BCM: () => new BCM({ learningRate: 1e-6, thetaSynapse: new Lowpass(0.02) }),
  'Oja no synapses': () => new Oja({ learningRate: 1e-6, preSynapse: null }),
  Oja: () => new Oja({ learningRate: 1e-6, beta: 2 }),
};
// Nengo's attribute names, and nefsim's
const ATTR: Record<string, string> = {
  error: 'error',
  activities: 'activities',
  theta: 'theta',
  pre_filtered: 'preFiltered',
  post_filtered: 'postFiltered',
  delta: 'delta',
};

describe("learning-rule probes as Nengo 4.1's", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(Object.keys(RULES));
  });

  for (const name of Object.keys(RULES)) {
    it(`${name}: ${Object.keys(fx.cases[name]!).join(', ')}, step by step`, () => {
      const net = new Network({ seed: 3 });
      const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
      const pre = fixtureEnsemble(net, fx.pre, fx.evalPoints);
      const post = fixtureEnsemble(net, fx.post, fx.evalPoints);
      net.connect(stim, pre);
      let conn;
      const n = fx.pre.encoders.length;
      const full = (v: number): number[][] => Array.from({ length: n }, () => new Array<number>(n).fill(v));
      if (name === 'PES neurons') {
        conn = net.connect(pre.neurons, post.neurons, { transform: full(0.001), learningRule: RULES[name]!() });
        const err = net.node(null, { sizeIn: 1 });
        net.connect(post, err);
        net.connect(stim, err, { transform: -1 });
        net.connect(err, conn.learningRule!);
      } else if (name.startsWith('PES')) {
        conn = net.connect(pre, post, { function: () => [0], learningRule: RULES[name]!() });
        const err = net.node(null, { sizeIn: 1 });
        net.connect(post, err);
        net.connect(stim, err, { transform: -1 });
        net.connect(err, conn.learningRule!);
      } else {
        conn = net.connect(pre.neurons, post.neurons, { transform: full(0.01), learningRule: RULES[name]!() });
      }
      // the rule's attributes, and the weights it changes (with its delta probed, built as Nengo's)
      const probes = Object.fromEntries(
        Object.keys(fx.cases[name]!).map((a) => [
          a,
          a === 'weights' ? net.probe(conn, { attr: 'weights' }) : net.probe(conn.learningRule!, { attr: ATTR[a] }),
        ]),
      );
      const sim = new Simulator(net);
      sim.runSteps(fx.steps);
      for (const [attr, want] of Object.entries(fx.cases[name]!)) {
        const got = sim.data(probes[attr]!).toArray();
        let scale = 0;
        for (const row of want) for (const v of row) scale = Math.max(scale, Math.abs(v));
        expect(scale, `${name} ${attr}`).toBeGreaterThan(0);
        expect([got.length, got[0]!.length]).toEqual([want.length, want[0]!.length]);
        for (let k = 0; k < want.length; k++)
          for (let i = 0; i < want[k]!.length; i++)
            expect(Math.abs(got[k]![i]! - want[k]![i]!), `${name} ${attr}: step ${k + 1}, column ${i}`).toBeLessThan(1e-9 * scale);
      }
    });
  }

  it('refuses attributes the rule has not, naming the choices', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 4, dimensions: 1 });
    const b = net.ensemble({ nNeurons: 4, dimensions: 1 });
    const c = net.connect(a, b, { learningRule: new PES() });
    expect(() => net.probe(c.learningRule!, { attr: 'theta' })).toThrow(/choose from error, activities, delta/);
    expect(net.probe(c.learningRule!).attr).toBe('error');
    expect(net.probe(c.learningRule!, { attr: 'delta' }).size).toBe(4); // 1 x 4 weights
  });

  it('a probed delta changes nothing else: the weights learn the same, bit for bit, as without it', () => {
    const run = (withDelta: boolean): number[][] => {
      const net = new Network({ seed: 5 });
      const stim = net.node((t) => [Math.sin(7 * t)]);
      const a = net.ensemble({ nNeurons: 20, dimensions: 1 });
      const b = net.ensemble({ nNeurons: 15, dimensions: 1 });
      net.connect(stim, a);
      const T = Array.from({ length: 15 }, (_, i) => Array.from({ length: 20 }, (_, j) => 0.002 * Math.cos(i + j)));
      const c = net.connect(a.neurons, b.neurons, { transform: T, learningRule: new Oja({ learningRate: 1e-5 }) });
      const p = net.probe(c, { attr: 'weights' });
      if (withDelta) net.probe(c.learningRule!, { attr: 'delta' });
      const sim = new Simulator(net);
      sim.runSteps(200);
      return sim.data(p).toArray();
    };
    const w = run(false);
    expect(w[199]).not.toEqual(w[0]);
    expect(run(true)).toEqual(w);
  });
});
