/**
 * Ensemble noise (Nengo's Ensemble.noise): a process whose output is added
 * to the neurons' input current every step.
 */
import { describe, expect, it } from 'vitest';
import { Direct, Gaussian, LIFRate, Network, Rng, Simulator, WhiteNoise, WhiteSignal } from '../src/index.js';

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

  it('refuses what is not a process, and a Direct ensemble, naming the ensemble', () => {
    const net = new Network();
    expect(() => net.ensemble({ nNeurons: 3, dimensions: 1, label: 'noisy', noise: 0.1 as never })).toThrow(
      /'noisy': noise must be a Process such as new WhiteNoise\(\), got number/,
    );
    expect(() => net.ensemble({ nNeurons: 3, dimensions: 1, label: 'd', neuronType: new Direct(), noise: new WhiteNoise() })).toThrow(
      /'d': noise is added to the neurons' input, and a Direct ensemble has no neurons/,
    );
  });
});
