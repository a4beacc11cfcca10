/**
 * AdaptiveLIF, AdaptiveLIFRate and Tanh against Nengo 4.1's traces of the
 * same neurons (fixtures/nengo_neuron_types.json, written by
 * fixtures/nengo_neuron_types.py): spikes, voltages, adaptation and decoded
 * output step by step, with every random part given so that both engines
 * build the same ensemble.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture } from './nengo-fixture.js';
import {
  AdaptiveLIF,
  AdaptiveLIFRate,
  Choice,
  LIF,
  Network,
  Simulator,
  Tanh,
  ValidationError,
  Uniform,
  type NeuronType,
} from '../src/index.js';

interface Fixture {
  n: number;
  steps: number;
  encoders: number[];
  maxRates: number[];
  intercepts: number[];
  evalPoints: number[];
  voltage: number[];
  cases: Record<string, Record<string, number[][]>>;
}
const fx = readFixture('nengo_neuron_types') as Fixture;

const TYPES: Record<string, () => NeuronType> = {
  AdaptiveLIF: () => new AdaptiveLIF({ tauN: 0.1, incN: 0.05 }),
  'AdaptiveLIF defaults': () => new AdaptiveLIF(),
  AdaptiveLIFRate: () => new AdaptiveLIFRate({ tauN: 0.1, incN: 0.05 }),
  Tanh: () => new Tanh(),
};

function run(name: string, attrs: string[], opts: { float32?: boolean } = {}): Record<string, number[][]> {
  const type = TYPES[name]!();
  const net = new Network({ seed: 5 });
  const stim = net.node((t) => [0.9 * Math.sin(2 * Math.PI * 4 * t)]);
  const ens = fixtureEnsemble(net, fx, fx.evalPoints, type);
  net.connect(stim, ens);
  const probes = Object.fromEntries(
    attrs.map((a) => [a, a === 'decoded' ? net.probe(ens, { synapse: 0.01 }) : net.probe(ens.neurons, { attr: a })]),
  );
  const sim = new Simulator(net, opts.float32 ? { dtype: 'float32' } : {});
  sim.runSteps(fx.steps);
  return Object.fromEntries(Object.entries(probes).map(([a, p]) => [a, sim.data(p).toArray()]));
}

describe("neuron types as Nengo 4.1's", () => {
  it('the fixture covers the types and attributes tested here', () => {
    expect(Object.keys(fx.cases)).toEqual(Object.keys(TYPES));
    expect(fx.cases['AdaptiveLIF']!['adaptation']!.length).toBe(fx.steps);
  });

  for (const name of Object.keys(TYPES)) {
    it(`${name}: every probed value, step by step`, () => {
      const want = fx.cases[name]!;
      const got = run(name, Object.keys(want));
      for (const [attr, rows] of Object.entries(want)) {
        let scale = 0;
        for (const row of rows) for (const v of row) scale = Math.max(scale, Math.abs(v));
        expect(scale, `${name} ${attr}`).toBeGreaterThan(0);
        for (let k = 0; k < fx.steps; k++) {
          const g = got[attr]![k]!;
          expect(g.length, `${name} ${attr}`).toBe(rows[k]!.length);
          for (let i = 0; i < g.length; i++)
            expect(Math.abs(g[i]! - rows[k]![i]!), `${name} ${attr}: step ${k + 1}, column ${i}`).toBeLessThan(1e-9 * scale);
        }
      }
    });
  }

  it('adaptation slows an AdaptiveLIF neuron under constant input, where a LIF neuron keeps its rate', () => {
    const spikes = (type: NeuronType) => {
      const net = new Network({ seed: 1 });
      const ens = net.ensemble({ nNeurons: 1, dimensions: 1, encoders: [[1]], maxRates: [200], intercepts: [0], neuronType: type });
      net.connect(net.node(1), ens, { synapse: null });
      const p = net.probe(ens.neurons);
      const sim = new Simulator(net);
      sim.run(1);
      const out = sim.data(p).column(0);
      const count = (from: number, to: number) => out.slice(from, to).filter((v) => v > 0).length;
      return [count(0, 100), count(900, 1000)];
    };
    const [lifFirst, lifLast] = spikes(new LIF());
    expect(Math.abs(lifFirst! - lifLast!)).toBeLessThanOrEqual(1);
    const [first, last] = spikes(new AdaptiveLIF({ tauN: 0.1, incN: 0.05 }));
    expect(first).toBeLessThanOrEqual(lifFirst!);
    expect(last).toBeLessThan(0.8 * first!);
    expect(last).toBeLessThan(0.6 * lifLast!);
  });

  it('merged and unmerged builds of several ensembles of each type give identical results', () => {
    const results = [true, false].map((merge) => {
      const net = new Network({ seed: 2 });
      const stim = net.node((t) => [Math.sin(6 * t)]);
      const probes = [];
      for (const make of Object.values(TYPES))
        for (let e = 0; e < 2; e++) {
          const ens = net.ensemble({ nNeurons: 12, dimensions: 1, neuronType: make(), maxRates: new Uniform(100, 300) });
          net.connect(stim, ens);
          probes.push(net.probe(ens.neurons), net.probe(ens, { synapse: 0.01 }));
        }
      const sim = new Simulator(net, { merge });
      sim.runSteps(200);
      return probes.map((p) => sim.data(p).data);
    });
    expect(results[0]!.some((d) => d.some((v) => v !== 0))).toBe(true);
    expect(results[1]).toEqual(results[0]);
  });

  it('float32 keeps AdaptiveLIF within a spike or two of float64', () => {
    const a = run('AdaptiveLIF', ['output']).output!;
    const b = run('AdaptiveLIF', ['output'], { float32: true }).output!;
    for (let i = 0; i < fx.n; i++) {
      let na = 0,
        nb = 0;
      for (let k = 0; k < fx.steps; k++) {
        if (a[k]![i]! > 0) na++;
        if (b[k]![i]! > 0) nb++;
      }
      expect(Math.abs(na - nb), `neuron ${i}`).toBeLessThanOrEqual(2);
    }
  });

  it("refuses options Nengo's types do not have, and parameters out of range, naming the type", () => {
    expect(() => new AdaptiveLIF({ tau_n: 1 } as never)).toThrow(/AdaptiveLIF.*tau_n/);
    expect(() => new AdaptiveLIFRate({ minVoltage: -1 } as never)).toThrow(/AdaptiveLIFRate.*minVoltage/);
    expect(() => new AdaptiveLIF({ tauN: 0 })).toThrow(ValidationError);
    expect(() => new AdaptiveLIF({ tauN: 0 })).toThrow(/AdaptiveLIF: tauN must be a positive number/);
    expect(() => new AdaptiveLIF({ incN: -0.1 })).toThrow(/AdaptiveLIF: incN must be a non-negative number/);
    expect(new AdaptiveLIF({ incN: 0 }).incN).toBe(0);
    expect(() => new Tanh({ tauRef: 0 })).toThrow(/Tanh: tauRef/);
    const net = new Network();
    expect(() => net.ensemble({ nNeurons: 2, dimensions: 1, neuronType: new Tanh(), maxRates: [300, 500] })).not.toThrow();
    expect(() => new Simulator(net)).toThrow(/Tanh: max rate 500 Hz of neuron 1 must be in \(0, 1\/tauRef = 400\)/);
  });

  it('tauN = Infinity holds the adaptation at its initial value; minVoltage = -Infinity is no floor (Nengo allows both)', () => {
    const net = new Network({ seed: 1 });
    const ens = net.ensemble({
      nNeurons: 4,
      dimensions: 1,
      neuronType: new AdaptiveLIF({ tauN: Infinity, minVoltage: -Infinity }),
      initialState: { adaptation: new Choice([0.2]) },
    });
    net.connect(net.node(-1), ens);
    const ad = net.probe(ens.neurons, { attr: 'adaptation' });
    const v = net.probe(ens.neurons, { attr: 'voltage' });
    const sim = new Simulator(net);
    sim.runSteps(100);
    expect(new Set(sim.data(ad).data)).toEqual(new Set([0.2]));
    expect(Math.min(...sim.data(v).data)).toBeLessThan(-0.5); // no floor at 0
  });

  it('adaptation is a state: probed and given an initial value only where the type has it', () => {
    const net = new Network();
    const lif = net.ensemble({ nNeurons: 3, dimensions: 1, label: 'plain' });
    expect(() => net.probe(lif.neurons, { attr: 'adaptation' })).toThrow(
      /the LIF neurons of Ensemble 'plain' have no 'adaptation' \(choose from output, input, voltage, refractoryTime\)/,
    );
    const ad = net.ensemble({
      nNeurons: 3,
      dimensions: 1,
      neuronType: new AdaptiveLIFRate(),
      intercepts: [0.9, 0.9, 0.9], // silent at x = 0
      initialState: { adaptation: new Choice([0.5]) },
    });
    const p = net.probe(ad.neurons, { attr: 'adaptation' });
    expect(() => net.probe(ad.neurons, { attr: 'voltage' })).toThrow(
      /AdaptiveLIFRate neurons of .* have no 'voltage' \(choose from output, input, adaptation\)/,
    );
    const sim = new Simulator(net);
    sim.step();
    // one step of decay from 0.5 with no output: n += dt / tau_n * (0 - n)
    for (const v of sim.data(p).toArray()[0]!) expect(v).toBe(0.5 + (0.001 / 1) * (0 - 0.5));
  });
});
