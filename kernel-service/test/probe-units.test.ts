/** The `units` attribute of a probe's dataset in probes.h5 (runs/store-layout.ts), by target and attribute. */
import { describe, expect, it } from 'vitest';
import { Network, Simulator } from '../src/index.js';
import { storeLayout } from '../src/runs/store-layout.js';

describe('probe units', () => {
  it("a connection's weights are weights, and its input from an ensemble with neurons is their output", () => {
    const net = new Network({ label: 'u', seed: 1 });
    const stim = net.node((t: number) => [Math.sin(t)], { label: 'stim' });
    const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'b' });
    net.connect(stim, a);
    const c = net.connect(a, b);
    const n = net.connect(a.neurons, b.neurons, { transform: 0.1 });
    net.probe(c, { attr: 'weights', label: 'w' });
    net.probe(c, { attr: 'input', label: 'cin' });
    net.probe(n, { attr: 'input', label: 'nin' });
    net.probe(c, { label: 'cout' });
    net.probe(a, { label: 'a' });
    const units = Object.fromEntries(storeLayout(new Simulator(net)).probes.map((p) => [p.name, p.units]));
    expect(units).toEqual({
      w: 'connection weights, row-major as sim.weights(conn)',
      cin: 'rate or spikes (1/dt per spike), 1/s',
      nin: 'rate or spikes (1/dt per spike), 1/s',
      cout: 'represented value',
      a: 'represented value',
    });
  });
});
