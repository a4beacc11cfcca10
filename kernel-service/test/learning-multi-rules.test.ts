/**
 * Several learning rules on one connection, given as a list or a dict (as
 * Nengo's learning_rule_type), and PES into the neurons of an ensemble whose
 * encoders Voja changes, against Nengo 4.1's weights and encoders, sampled
 * every fifth step (fixtures/nengo_multi_rules.json, written by
 * fixtures/nengo_multi_rules.py); the rules' names, targets and refusals.
 */
import { describe, expect, it } from 'vitest';
import { expectLearned, fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { BCM, LearningRule, LstsqL2, Network, Oja, PES, Simulator, Voja, type Connection, type Probe } from '../src/index.js';

interface CaseData {
  weights: number[][];
  encoders?: number[][];
}
const fx = readFixture('nengo_multi_rules') as {
  steps: number;
  sampleEvery: number;
  pre: FixtureNeurons;
  post: FixtureNeurons;
  transform: number[][];
  cases: Record<string, CaseData>;
};
const EVAL_POINTS = Array.from({ length: 50 }, (_, i) => [-1 + (2 * i) / 49]);
// the ensembles' eval points as the fixture's (the error connections from post are decoded with them)
const ens = (net: Network, p: FixtureNeurons) =>
  fixtureEnsemble(
    net,
    p,
    EVAL_POINTS.map((x) => x[0]!),
  );

function learn(name: string, merge = true): CaseData {
  const net = new Network({ seed: 5 });
  const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
  const pre = ens(net, fx.pre);
  const post = ens(net, fx.post);
  net.connect(stim, pre);
  let conn: Connection;
  let encoders: Probe | undefined;
  if (name === 'PES and Oja, a list, weight solver') {
    const c = net.connect(pre, post, {
      solver: new LstsqL2({ weights: true }),
      evalPoints: EVAL_POINTS,
      learningRule: [new PES({ learningRate: 1e-4 }), new Oja({ learningRate: 1e-5 })],
    });
    net.connect(post, c.learningRule[0]!);
    net.connect(stim, c.learningRule[0]!, { transform: -1 });
    conn = c;
  } else if (name === 'BCM and Oja, a dict, neurons') {
    conn = net.connect(pre.neurons, post.neurons, {
      transform: fx.transform,
      learningRule: { bcm: new BCM({ learningRate: 1e-6 }), oja: new Oja({ learningRate: 1e-5, beta: 0.5 }) },
    });
  } else if (name === 'two PES, a list, decoded') {
    const c = net.connect(pre, post, {
      evalPoints: EVAL_POINTS,
      learningRule: [new PES({ learningRate: 1e-4 }), new PES({ learningRate: 5e-5, preSynapse: null })],
    });
    net.connect(post, c.learningRule[0]!);
    net.connect(stim, c.learningRule[0]!, { transform: -1 });
    net.connect(post, c.learningRule[1]!, { transform: 0.5 });
    conn = c;
  } else if (name.startsWith('PES') && name.includes('Voja')) {
    const voja = net.connect(stim, post, { learningRule: new Voja({ learningRate: 5e-2 }) });
    encoders = net.probe(voja.learningRule, { attr: 'scaledEncoders', sampleEvery: fx.sampleEvery });
    const pes = new PES({ learningRate: 1e-3 });
    const c =
      name === 'PES into neurons Voja changes'
        ? net.connect(pre.neurons, post.neurons, { transform: fx.transform, learningRule: pes })
        : name === 'PES into a slice of neurons Voja changes'
          ? net.connect(pre.neurons.slice(0, 9), post.neurons.slice(2, 8), {
              transform: fx.transform.slice(2, 8).map((row) => row.slice(0, 9)),
              learningRule: pes,
            })
          : net.connect(pre, post, { solver: new LstsqL2({ weights: true }), evalPoints: EVAL_POINTS, learningRule: pes });
    net.connect(post, c.learningRule);
    net.connect(stim, c.learningRule, { transform: -1 });
    conn = c;
  } else {
    const c = net.connect(pre, post, {
      evalPoints: EVAL_POINTS,
      learningRule: { voja: new Voja({ learningRate: 1e-2 }), pes: new PES({ learningRate: 1e-4 }) },
    });
    net.connect(post, c.learningRule.pes!);
    net.connect(stim, c.learningRule.pes!, { transform: -1 });
    encoders = net.probe(c.learningRule.voja!, { attr: 'scaledEncoders', sampleEvery: fx.sampleEvery });
    conn = c;
  }
  const pw = net.probe(conn, { attr: 'weights', sampleEvery: fx.sampleEvery });
  const sim = new Simulator(net, { merge });
  sim.runSteps(fx.steps);
  return { weights: sim.data(pw).toArray(), ...(encoders ? { encoders: sim.data(encoders).toArray() } : {}) };
}

describe("several learning rules on one connection, and rules that meet, as Nengo 4.1's", () => {
  for (const name of Object.keys(fx.cases)) {
    it(`${name}: the weights${fx.cases[name]!.encoders ? ' and encoders' : ''}, every fifth step`, () => {
      const want = fx.cases[name]!;
      const got = learn(name);
      expectLearned(got.weights, want.weights, `${name}, weights`);
      if (want.encoders) expectLearned(got.encoders!, want.encoders, `${name}, encoders`);
    });
  }

  it('each rule counts: the two rules together learn other weights than either alone', () => {
    const run = (rules: 'both' | 'bcm' | 'oja'): number[] => {
      const net = new Network({ seed: 5 });
      const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
      const pre = ens(net, fx.pre);
      const post = ens(net, fx.post);
      net.connect(stim, pre);
      const bcm = new BCM({ learningRate: 1e-6 }),
        oja = new Oja({ learningRate: 1e-5, beta: 0.5 });
      const conn = net.connect(pre.neurons, post.neurons, {
        transform: fx.transform,
        learningRule: rules === 'both' ? [bcm, oja] : rules === 'bcm' ? bcm : oja,
      });
      const sim = new Simulator(net);
      sim.runSteps(100);
      return Array.from(sim.weights(conn).data);
    };
    const both = run('both'),
      bcm = run('bcm'),
      oja = run('oja');
    expect(both).not.toEqual(bcm);
    expect(both).not.toEqual(oja);
  });

  it('merged and unmerged builds learn the same', () => {
    expect(learn('BCM and Oja, a dict, neurons', false)).toEqual(learn('BCM and Oja, a dict, neurons', true));
    expect(learn('Voja and PES, a dict, decoded', false)).toEqual(learn('Voja and PES, a dict, decoded', true));
  });

  it('keeps the shape given: one rule, a list or a dict, each rule named by its place', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 4, dimensions: 1, label: 'b' });
    const one = net.connect(a, b, { learningRule: new PES() });
    expect(one.learningRule).toBeInstanceOf(LearningRule);
    expect(one.learningRule.name).toMatch(/\.learningRule$/);
    const list = net.connect(a, b, { learningRule: [new PES(), new PES({ learningRate: 1e-3 })] });
    expect(list.learningRule).toHaveLength(2);
    expect(list.learningRule[1]!.name).toMatch(/\.learningRule\[1\]$/);
    expect(list.learningRule[1]!.key).toBe(1);
    const dict = net.connect(a, b, { learningRule: { fast: new PES({ learningRate: 1e-3 }), 'slow one': new PES() } });
    expect(Object.keys(dict.learningRule)).toEqual(['fast', 'slow one']);
    expect(dict.learningRule.fast!.name).toMatch(/\.learningRule\.fast$/);
    expect(dict.learningRule['slow one']!.name).toMatch(/\.learningRule\["slow one"\]$/);
    expect(dict.learningRules.map((r) => r.key)).toEqual(['fast', 'slow one']);
    const none = net.connect(a, b);
    expect(none.learningRule).toBeUndefined();
    expect(none.learningRules).toEqual([]);
    // an error connection into each, and probes of each, build and run
    for (const r of [...list.learningRules, ...dict.learningRules]) net.connect(b, r);
    const probes = dict.learningRules.map((r) => net.probe(r, { attr: 'error' }));
    const sim = new Simulator(net);
    sim.runSteps(3);
    for (const p of probes) expect(sim.data(p).toArray()).toHaveLength(3);
  });

  it('refuses a bad rule naming the connection and its place, and a list as an error target', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 4, dimensions: 1, label: 'b' });
    expect(() => net.connect(a, b, { learningRule: [new PES(), 'PES' as unknown as PES] })).toThrow(
      /a -> b.*learningRule\[1\] must be a learning rule such as new PES\(\), got 'PES'|a -> b.*learningRule\[1\] must be a learning rule/,
    );
    expect(() => net.connect(a, b, { learningRule: { x: null as unknown as PES } })).toThrow(
      /learningRule\.x must be a learning rule.*got null/,
    );
    expect(() => net.connect(a, b, { learningRule: 3 as unknown as PES })).toThrow(/a list of them or a dict of named ones, got/);
    // each rule is validated as alone: BCM on a decoded connection is refused at build, naming the rule
    net.connect(a, b, { learningRule: [new PES(), new BCM()], label: 'ab' });
    expect(() => new Simulator(net)).toThrow(/'ab'\.learningRule\[1\]: BCM changes a full weight matrix/);
    const net2 = new Network();
    const c = net2.ensemble({ nNeurons: 5, dimensions: 1 });
    const d = net2.ensemble({ nNeurons: 4, dimensions: 1 });
    const conn = net2.connect(c, d, { learningRule: [new PES(), new PES()] });
    expect(() => net2.connect(d, conn.learningRule as unknown as LearningRule)).toThrow(
      /post is the 2 learning rules of .*; pick one, such as conn\.learningRule\[0\], to connect to/,
    );
    expect(() => net2.probe(conn.learningRule as unknown as LearningRule)).toThrow(
      /the target is the 2 learning rules of .*pick one.* to probe/,
    );
  });
});
