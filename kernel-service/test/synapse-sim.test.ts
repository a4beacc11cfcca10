import { describe, expect, it } from 'vitest';
import { Alpha, LinearFilter, Lowpass, Network, Simulator, type Synapse } from '../src/index.js';

const dt = 0.001;

/** Simulates u -> (synapse) -> passthrough node and returns the probe data. */
function simulate(u: (t: number) => number, synapse: Synapse, steps: number): Float64Array {
  const net = new Network({ seed: 0 });
  const src = net.node((t) => u(t));
  const out = net.node(null, { sizeIn: 1 });
  net.connect(src, out, { synapse });
  const p = net.probe(out);
  const sim = new Simulator(net, { dt });
  sim.runSteps(steps);
  return sim.data(p).data;
}

describe('synapses in simulation', () => {
  const cases: [string, Synapse][] = [
    ['Lowpass(0.01)', new Lowpass(0.01)],
    ['Alpha(0.005)', new Alpha(0.005)],
    ['LinearFilter 2nd order with D != 0', new LinearFilter([0.5, 1, 100], [1, 20, 100])],
  ];
  for (const [name, syn] of cases) {
    it(`${name}: step and impulse responses equal the discretised filter's, one step late`, () => {
      const steps = 200;
      const step = simulate(() => 1, syn, steps);
      const impulse = simulate((t) => (Math.abs(t - dt) < dt / 2 ? 1 / dt : 0), syn, steps);
      // Node output u[k] at step k (k = 1..): the filter's response to u, as Nengo's filt computes it
      const u1 = new Float64Array(steps).fill(1);
      const u2 = new Float64Array(steps);
      u2[0] = 1 / dt;
      const f1 = syn.filt(u1, steps, 1, dt);
      const f2 = syn.filt(u2, steps, 1, dt);
      expect(step[0]).toBe(0);
      expect(impulse[0]).toBe(0);
      for (let k = 1; k < steps; k++) {
        expect(step[k]).toBeCloseTo(f1[k - 1]!, 12);
        expect(impulse[k]).toBeCloseTo(f2[k - 1]!, 9);
      }
    });
  }

  it('Lowpass step response is 1 - a^(k-1) with a = exp(-dt/tau)', () => {
    const tau = 0.02;
    const y = simulate(() => 1, new Lowpass(tau), 50);
    const a = Math.exp(-dt / tau);
    for (let k = 1; k <= 50; k++) expect(y[k - 1]).toBeCloseTo(1 - a ** (k - 1), 12);
  });

  it('a recurrent loop with a synapse works (integrator of a constant)', () => {
    const net = new Network({ seed: 0 });
    const u = net.node(1);
    const x = net.node(null, { sizeIn: 1 });
    const tau = 0.1;
    net.connect(u, x, { synapse: new Lowpass(tau), transform: tau });
    net.connect(x, x, { synapse: new Lowpass(tau) });
    const p = net.probe(x);
    const sim = new Simulator(net, { dt });
    sim.run(1);
    // ideal integrator of u = 1 over ~1 s
    expect(sim.data(p).get(999, 0)).toBeCloseTo(1, 1);
  });
});
