/**
 * Ensemble noise (Nengo's Ensemble.noise): a process whose output is added
 * to the neurons' input current every step.
 */
import { describe, expect, it } from 'vitest';
import { Direct, Gaussian, LIFRate, Network, Rng, Simulator, StochasticSpiking, WhiteNoise, WhiteSignal, networks } from '../src/index.js';

function currents(noise: WhiteNoise | undefined, seed = 1, merge = true): { J: number[][]; bias: Float64Array } {
  const net = new Network({ seed });
  const ens = net.ensemble({ nNeurons: 5, dimensions: 1, neuronType: new LIFRate(), ...(noise ? { noise } : {}) });
  const p = net.probe(ens.neurons, { attr: 'input' });
  const sim = new Simulator(net, { merge });
  sim.runSteps(50);
  return { J: sim.data(p).toArray(), bias: sim.model.ensembles.get(ens)!.bias };
}

describe('ensemble noise', () => {
  it("adds the process's output, one value a neuron, to the input current each step", () => {
    const noise = new WhiteNoise({ dist: new Gaussian(0, 0.3), seed: 7 });
    const { J, bias } = currents(noise);
    // the same process run on its own: its seed fixes its stream
    const want = noise.runSteps(50, 0.001, new Rng(0), 5);
    let spread = 0;
    for (let k = 0; k < 50; k++)
      for (let i = 0; i < 5; i++) {
        expect(J[k]![i]! - bias[i]!).toBeCloseTo(want[k * 5 + i]!, 12);
        spread = Math.max(spread, Math.abs(want[k * 5 + i]!));
      }
    expect(spread).toBeGreaterThan(1); // 0.3 / sqrt(dt) per sample: the noise is there
  });

  it('unseeded, it is drawn from the ensemble: the same network seed gives the same noise, another seed other noise, and nothing else changes', () => {
    const a = currents(new WhiteNoise(), 3);
    const b = currents(new WhiteNoise(), 3);
    const c = currents(new WhiteNoise(), 4);
    const quiet = currents(undefined, 3);
    expect(b.J).toEqual(a.J);
    expect(c.J).not.toEqual(a.J);
    // the ensemble's own parameters are those of the ensemble without noise
    expect(a.bias).toEqual(quiet.bias);
  });

  it('merged and unmerged builds give identical results', () => {
    expect(currents(new WhiteNoise(), 2, false).J).toEqual(currents(new WhiteNoise(), 2, true).J);
  });

  it('reset restarts the noise from its seed', () => {
    const net = new Network({ seed: 1 });
    const ens = net.ensemble({ nNeurons: 3, dimensions: 1, noise: new WhiteSignal({ period: 1, high: 10 }) });
    const p = net.probe(ens.neurons, { attr: 'input' });
    const sim = new Simulator(net);
    sim.runSteps(20);
    const first = sim.data(p).toArray();
    sim.reset();
    sim.runSteps(20);
    expect(sim.data(p).toArray()).toEqual(first);
  });

  it('refuses what is not a process, naming the ensemble and what it got', () => {
    const net = new Network();
    expect(() => net.ensemble({ nNeurons: 3, dimensions: 1, label: 'noisy', noise: 0.1 as never })).toThrow(
      /'noisy': noise must be a Process such as new WhiteNoise\(\), got number/,
    );
    expect(() => net.ensemble({ nNeurons: 3, dimensions: 1, label: 'noisy', noise: new Gaussian(0, 1) as never })).toThrow(
      /got a Gaussian/,
    );
  });

  it("in a Direct ensemble, is added to the represented value its probes and connections read, not to its `input` (as Nengo's neurons' input)", () => {
    const net = new Network({ seed: 1 });
    const noise = new WhiteNoise({ dist: new Gaussian(0, 0.1), seed: 4 });
    const ens = net.ensemble({ nNeurons: 1, dimensions: 2, neuronType: new Direct(), noise });
    net.connect(net.node([0.5, -0.5]), ens, { synapse: null });
    const out = net.node(null, { sizeIn: 1 });
    net.connect(ens, out, { function: (x) => [x[0]! * x[1]!], synapse: null });
    const pIn = net.probe(ens, { attr: 'input' });
    const pValue = net.probe(ens);
    const pOut = net.probe(out);
    const sim = new Simulator(net);
    sim.runSteps(20);
    const want = noise.runSteps(20, 0.001, new Rng(0), 2);
    const input = sim.data(pIn).data,
      value = sim.data(pValue).data,
      product = sim.data(pOut).data;
    for (let i = 0; i < 40; i++) {
      const x = i % 2 === 0 ? 0.5 : -0.5;
      expect(input[i]).toBe(x);
      expect(value[i]).toBeCloseTo(x + want[i]!, 12);
    }
    for (let k = 0; k < 20; k++) expect(product[k]).toBeCloseTo((0.5 + want[2 * k]!) * (-0.5 + want[2 * k + 1]!), 12);
  });

  it("reset(seed) gives unseeded noise new streams, as Nengo's; the same seed the same ones; a seeded process keeps its own", () => {
    const net = new Network({ seed: 3 });
    const unseeded = net.node(new WhiteNoise({ dist: new Gaussian(0, 1) }));
    const seeded = net.node(new WhiteNoise({ dist: new Gaussian(0, 1), seed: 4 }));
    const ens = net.ensemble({ nNeurons: 20, dimensions: 1, noise: new WhiteNoise({ dist: new Gaussian(0, 0.5) }) });
    const stoch = net.ensemble({ nNeurons: 20, dimensions: 1, neuronType: new StochasticSpiking(new LIFRate()) });
    net.connect(net.node(0.6), stoch);
    const probes = [net.probe(unseeded), net.probe(seeded), net.probe(ens.neurons, { attr: 'input' }), net.probe(stoch.neurons)];
    const sim = new Simulator(net);
    const run = (): number[][] => {
      sim.runSteps(30);
      return probes.map((p) => Array.from(sim.data(p).data));
    };
    const first = run();
    sim.reset();
    expect(run()).toEqual(first); // reset() repeats the streams
    sim.reset(7);
    const seven = run();
    expect(seven[0]).not.toEqual(first[0]); // an unseeded process: new noise
    expect(seven[1]).toEqual(first[1]); // a seeded one: its own stream
    expect(seven[2]).not.toEqual(first[2]); // ensemble noise
    expect(seven[3]).not.toEqual(first[3]); // stochastic spiking
    sim.reset(8);
    expect(run()[0]).not.toEqual(seven[0]);
    sim.reset(7);
    expect(run()).toEqual(seven);
    sim.reset(); // the last seed again, as Nengo's
    expect(run()).toEqual(seven);
    sim.reset(sim.summary().seed); // the model's own seed: the build's streams, as Nengo's reset(seed=the simulator's)
    expect(run()).toEqual(first);
  });

  it('EnsembleArray passes noise to each of its ensembles', () => {
    const net = new Network({ seed: 2 });
    const ea = networks.EnsembleArray({ nNeurons: 5, nEnsembles: 2, parent: net, noise: new WhiteNoise({ seed: 1 }) });
    expect(ea.ensembles.every((e) => e.noise instanceof WhiteNoise)).toBe(true);
  });
});
