/**
 * The Voja learning rule against Nengo 4.1's encoders, their change and the
 * filtered post activities, and the post neurons' voltages, sampled every
 * fifth step (fixtures/nengo_voja.json, written by fixtures/nengo_voja.py);
 * the ensemble's scaledEncoders probe; and Voja's refusals.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { Direct, LstsqL2, Network, Simulator, Voja, type Probe } from '../src/index.js';
import { storeLayout } from '../src/runs/store-layout.js';

interface Post2 {
  encoders: number[][];
  maxRates: number[];
  intercepts: number[];
  voltage: number[];
  radius: number;
}
type Recorded = Record<'ruleEncoders' | 'delta' | 'postFiltered' | 'encoders' | 'voltage', number[][]>;
const fx = readFixture('nengo_voja') as {
  steps: number;
  sampleEvery: number;
  post2: Post2;
  pre1: FixtureNeurons & { evalPoints: number[] };
  post1: FixtureNeurons;
  recurrentEvalPoints: number[][];
  cases: Record<string, Recorded>;
};
const CASES = ['node', 'node synapse', 'ensemble', 'other inputs', 'slice'];

function learn(name: string, merge = true): Recorded {
  const net = new Network({ seed: 5 });
  let conn;
  if (name === 'ensemble') {
    const stim = net.node((t) => [Math.sin(2 * Math.PI * 3 * t)]);
    const pre = fixtureEnsemble(net, fx.pre1, fx.pre1.evalPoints);
    const post = fixtureEnsemble(net, fx.post1, undefined);
    net.connect(stim, pre);
    conn = net.connect(pre, post, { learningRule: new Voja({ learningRate: 0.5 }) });
  } else {
    const p = fx.post2;
    const stim = net.node((t) => [Math.sin(2 * Math.PI * 4 * t), Math.cos(2 * Math.PI * 3 * t)]);
    const post = net.ensemble({
      nNeurons: p.encoders.length,
      dimensions: 2,
      radius: p.radius,
      encoders: p.encoders,
      maxRates: p.maxRates,
      intercepts: p.intercepts,
      initialState: { voltage: p.voltage },
    });
    if (name === 'node') conn = net.connect(stim, post, { synapse: null, learningRule: new Voja() });
    else if (name === 'other inputs') {
      // Nengo's x is the ensemble's whole input: this connection's, the constant's and the recurrent one's
      conn = net.connect(stim, post, { synapse: null, learningRule: new Voja({ learningRate: 0.05 }) });
      net.connect(net.node([0.3, -0.2]), post, { synapse: null });
      net.connect(post, post, { transform: 0.5, synapse: 0.05, evalPoints: fx.recurrentEvalPoints });
    } else if (name === 'slice') {
      const one = net.node((t) => [Math.sin(2 * Math.PI * 2 * t)]);
      conn = net.connect(one, post.slice(1, 2), { learningRule: new Voja({ learningRate: 0.05 }) });
    } else {
      conn = net.connect(stim, post, { learningRule: new Voja({ learningRate: 0.2, postSynapse: null }) });
      const sw = net.node((t) => [t > 0.06 ? -1 : 0]);
      net.connect(sw, conn.learningRule!, { synapse: null });
    }
  }
  const viewed = conn.post as { obj?: unknown };
  const post = (viewed.obj ?? conn.post) as Parameters<typeof net.probe>[0] & { neurons: Parameters<typeof net.probe>[0] };
  const every = { sampleEvery: fx.sampleEvery };
  const probes: Record<keyof Recorded, Probe> = {
    ruleEncoders: net.probe(conn.learningRule!, { attr: 'scaledEncoders', ...every }),
    delta: net.probe(conn.learningRule!, { attr: 'delta', ...every }),
    postFiltered: net.probe(conn.learningRule!, { attr: 'postFiltered', ...every }),
    encoders: net.probe(post, { attr: 'scaledEncoders', ...every }),
    voltage: net.probe(post.neurons, { attr: 'voltage', ...every }),
  };
  const sim = new Simulator(net, { merge });
  sim.runSteps(fx.steps);
  return Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, sim.data(p).toArray()])) as Recorded;
}

function maxAbs(rows: number[][]): number {
  let m = 0;
  for (const r of rows) for (const v of r) m = Math.max(m, Math.abs(v));
  return m;
}

describe("Voja as Nengo 4.1's", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(CASES);
  });

  for (const name of CASES) {
    it(`${name}: encoders, delta, filtered activities and voltages, every fifth step`, () => {
      const want = fx.cases[name]!;
      const got = learn(name);
      for (const key of Object.keys(want) as (keyof Recorded)[]) {
        const w = want[key],
          g = got[key];
        expect(g.length, `${name} ${key}`).toBe(w.length);
        const scale = Math.max(maxAbs(w), 1e-12);
        for (let k = 0; k < w.length; k++)
          for (let i = 0; i < w[k]!.length; i++)
            expect(Math.abs(g[k]![i]! - w[k]![i]!), `${name} ${key}: sample ${k}, value ${i}`).toBeLessThan(1e-9 * scale);
      }
      // the encoders did change, and (with the learning signal at -1 from 0.06 s) stopped changing
      const e = want.ruleEncoders;
      expect(maxAbs([e[e.length - 1]!.map((v, i) => v - e[0]![i]!)])).toBeGreaterThan(0.1);
      if (name === 'node synapse') {
        expect(maxAbs(want.delta.slice(14))).toBe(0);
        expect(maxAbs(got.delta.slice(14))).toBe(0);
      }
    });
  }

  it('merged and unmerged builds learn the same encoders', () => {
    expect(learn('node synapse', false)).toEqual(learn('node synapse', true));
  });

  it('refuses what has no encoders to learn, naming the connection', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 5, dimensions: 2, label: 'a' });
    const stim = net.node([0, 1]);
    const b = net.ensemble({ nNeurons: 5, dimensions: 2 });
    expect(() => net.connect(b, a, { solver: new LstsqL2({ weights: true }), learningRule: new Voja() })).toThrow(
      /Voja .* which a connection with a weight solver \(weights: true\) does not use/,
    );
    expect(() =>
      net.connect(stim, a.neurons, {
        transform: [[1, 0]].concat([
          [0, 1],
          [1, 1],
          [0, 0],
          [1, 0],
        ]),
        learningRule: new Voja(),
      }),
    ).toThrow(/Voja .* not at neurons/);
    const node = net.node(null, { sizeIn: 2 });
    expect(() => net.connect(stim, node, { learningRule: new Voja() })).toThrow(/Voja .* must end at an ensemble/);
    const direct = net.ensemble({ nNeurons: 3, dimensions: 2, neuronType: new Direct() });
    expect(() => net.connect(stim, direct, { learningRule: new Voja() })).toThrow(/Direct ensemble has no neurons/);
    expect(() => new Voja({ learningRate: -1 })).toThrow(/Voja: learningRate/);
    expect(() => new Voja({ tau: 1 } as never)).toThrow(/Voja.*tau/);
    expect(() => net.probe(a.slice(0, 1), { attr: 'scaledEncoders' })).toThrow(/whole ensemble/);
  });

  // (PES into the neurons of an ensemble whose encoders Voja changes: test/learning-multi-rules.test.ts)

  it('a scaledEncoders probe without Voja records the constant encoders times gain / radius', () => {
    const net = new Network({ seed: 2 });
    const a = net.ensemble({
      nNeurons: 4,
      dimensions: 2,
      radius: 2,
      encoders: [
        [1, 0],
        [0, 1],
        [-1, 0],
        [0, -1],
      ],
    });
    const p = net.probe(a, { attr: 'scaledEncoders' });
    const sim = new Simulator(net);
    sim.runSteps(3);
    const g = sim.model.ensembles.get(a)!.gain;
    const want = [g[0]! / 2, 0, 0, g[1]! / 2, -g[2]! / 2, 0, 0, -g[3]! / 2].map((v) => v + 0);
    for (const row of sim.data(p).toArray()) expect(row.map((v) => v + 0)).toEqual(want);
  });

  it("in a run's probes.h5, the encoders and their change say their units", () => {
    const net = new Network({ seed: 2 });
    const a = net.ensemble({ nNeurons: 4, dimensions: 2 });
    const c = net.connect(net.node([0.5, 0.5]), a, { learningRule: new Voja() });
    net.probe(a, { attr: 'scaledEncoders', label: 'enc' });
    net.probe(c.learningRule!, { attr: 'delta', label: 'delta' });
    net.probe(c.learningRule!, { attr: 'postFiltered', label: 'post' });
    const units = storeLayout(new Simulator(net)).probes.map((p) => [p.name, p.cols, p.units]);
    expect(units).toEqual([
      ['enc', 8, 'encoder x gain / radius, neurons x dimensions'],
      ['delta', 8, 'encoder x gain / radius, neurons x dimensions'],
      ['post', 4, 'rate, 1/s'],
    ]);
  });
});
