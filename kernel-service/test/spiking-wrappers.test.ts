/**
 * RegularSpiking, StochasticSpiking and PoissonSpiking (Nengo's spiking
 * wrappers of rate types) against Nengo 4.1 (fixtures/nengo_spiking_wrappers.json,
 * written by fixtures/nengo_spiking_wrappers.py): RegularSpiking trace by
 * trace, the random ones by their spike counts over 20 s.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture } from './nengo-fixture.js';
import {
  AdaptiveLIFRate,
  LIF,
  LIFRate,
  Network,
  PoissonSpiking,
  RegularSpiking,
  Simulator,
  StochasticSpiking,
  Tanh,
  isSpikeProbe,
  type NeuronType,
} from '../src/index.js';

const fx = readFixture('nengo_spiking_wrappers') as {
  n: number;
  steps: number;
  long: number;
  encoders: number[];
  maxRates: number[];
  intercepts: number[];
  evalPoints: number[];
  voltage: number[];
  exact: Record<string, Record<string, number[][]>>;
  random: Record<string, { counts: number[]; variance: number[]; rate: number[] }>;
};

const EXACT: Record<string, () => NeuronType> = {
  'RegularSpiking LIFRate': () => new RegularSpiking(new LIFRate()),
  'RegularSpiking Tanh amplitude 0.5': () => new RegularSpiking(new Tanh(), { amplitude: 0.5 }),
  'RegularSpiking AdaptiveLIFRate': () => new RegularSpiking(new AdaptiveLIFRate({ tauN: 0.1, incN: 0.05 })),
};
const RANDOM: Record<string, () => NeuronType> = {
  'StochasticSpiking LIFRate': () => new StochasticSpiking(new LIFRate()),
  'PoissonSpiking LIFRate': () => new PoissonSpiking(new LIFRate()),
};

function model(type: NeuronType, stim: (t: number) => number[], seed = 5) {
  const net = new Network({ seed });
  const u = net.node(stim);
  const ens = fixtureEnsemble(net, fx, fx.evalPoints, type);
  net.connect(u, ens);
  return { net, ens };
}

describe("spiking wrappers as Nengo 4.1's", () => {
  it('the fixture covers every case tested here', () => {
    expect(Object.keys(fx.exact)).toEqual(Object.keys(EXACT));
    expect(Object.keys(fx.random)).toEqual(Object.keys(RANDOM));
  });

  for (const name of Object.keys(EXACT)) {
    it(`${name}: spikes, rates and decoded output, step by step`, () => {
      const { net, ens } = model(EXACT[name]!(), (t) => [0.9 * Math.sin(2 * Math.PI * 4 * t)]);
      const probes = {
        output: net.probe(ens.neurons),
        rateOut: net.probe(ens.neurons, { attr: 'rateOut' }),
        decoded: net.probe(ens, { synapse: 0.01 }),
      };
      const sim = new Simulator(net);
      sim.runSteps(fx.steps);
      for (const [attr, p] of Object.entries(probes)) {
        const want = fx.exact[name]![attr]!;
        const got = sim.data(p).toArray();
        let scale = 0;
        for (const row of want) for (const v of row) scale = Math.max(scale, Math.abs(v));
        expect(scale, `${name} ${attr}`).toBeGreaterThan(0);
        for (let k = 0; k < fx.steps; k++)
          for (let i = 0; i < want[k]!.length; i++)
            expect(Math.abs(got[k]![i]! - want[k]![i]!), `${name} ${attr}: step ${k + 1}, column ${i}`).toBeLessThan(1e-9 * scale);
      }
    });
  }

  for (const name of Object.keys(RANDOM)) {
    it(`${name}: spike counts over ${fx.long} steps within the counting noise of Nengo's, and of the rate`, () => {
      const { net, ens } = model(RANDOM[name]!(), () => [0.5]);
      const p = net.probe(ens.neurons);
      const r = net.probe(ens.neurons, { attr: 'rateOut', sampleEvery: 1 });
      const sim = new Simulator(net);
      sim.runSteps(fx.long);
      const spikes = sim.data(p).toArray();
      const rate = sim.data(r).toArray().at(-1)!;
      const want = fx.random[name]!;
      for (let i = 0; i < fx.n; i++) {
        expect(rate[i]).toBeCloseTo(want.rate[i]!, 9);
        let count = 0;
        let sq = 0;
        for (const row of spikes) {
          const c = row[i]! * 0.001;
          count += c;
          sq += c * c;
        }
        const expected = rate[i]! * 0.001 * fx.long;
        // both engines' counts scatter around the expectation by their own variance (Poisson: the mean;
        // stochastic: at most 1/4 a step); 5 standard deviations of the difference of two draws
        const sd = Math.sqrt(2 * Math.max(want.variance[i]! * fx.long, 1));
        expect(Math.abs(count - want.counts[i]!), `neuron ${i}: nefsim ${count}, Nengo ${want.counts[i]}`).toBeLessThan(5 * sd);
        expect(Math.abs(count - expected), `neuron ${i}: nefsim ${count}, rate x time ${expected}`).toBeLessThan(5 * sd);
        // the per-step variance: Poisson's equals its mean, the stochastic one's is p (1 - p) for p < 1
        const mean = count / fx.long;
        const variance = sq / fx.long - mean * mean;
        if (want.counts[i]! > 100) expect(variance / want.variance[i]!, `neuron ${i}`).toBeGreaterThan(0.8);
        if (want.counts[i]! > 100) expect(variance / want.variance[i]!, `neuron ${i}`).toBeLessThan(1.25);
      }
    });
  }

  it('random wrappers: the same seed gives the same spikes, reset restarts them, and merged and unmerged builds agree', () => {
    const run = (merge: boolean) => {
      const { net, ens } = model(new PoissonSpiking(new LIFRate()), () => [0.3], 9);
      const p = net.probe(ens.neurons);
      const sim = new Simulator(net, { merge });
      sim.runSteps(200);
      const first = sim.data(p).toArray();
      sim.reset();
      sim.runSteps(200);
      expect(sim.data(p).toArray()).toEqual(first);
      return first;
    };
    const a = run(true);
    expect(a.flat().some((v) => v > 0)).toBe(true);
    expect(run(false)).toEqual(a);
  });

  it('refuses a spiking or wrapped base, and unknown options; negative spikes (Tanh) are stored densely', () => {
    expect(() => new RegularSpiking(new LIF())).toThrow(/RegularSpiking: the base type LIF spikes already; give its rate type/);
    expect(() => new PoissonSpiking(new RegularSpiking(new LIFRate()))).toThrow(/PoissonSpiking: the base type must be a rate neuron type/);
    expect(() => new StochasticSpiking(new LIFRate(), { amp: 1 } as never)).toThrow(/StochasticSpiking.*amp/);
    const net = new Network();
    const a = net.ensemble({ nNeurons: 3, dimensions: 1, neuronType: new RegularSpiking(new Tanh()) });
    const b = net.ensemble({ nNeurons: 3, dimensions: 1, neuronType: new RegularSpiking(new LIFRate()) });
    expect(isSpikeProbe(net.probe(a.neurons))).toBe(false);
    expect(isSpikeProbe(net.probe(b.neurons))).toBe(true);
    expect(() => net.probe(net.ensemble({ nNeurons: 2, dimensions: 1 }).neurons, { attr: 'rateOut' })).toThrow(
      /LIF neurons of .* have no 'rateOut'/,
    );
  });
});
