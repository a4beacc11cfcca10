/**
 * The LIF step in WebAssembly (kernels/lif-wasm.ts) against the same step in
 * JavaScript (NEFSIM_WASM=0): identical, bit for bit, on every path of the
 * step: spikes, the step after the refractory period, tau_ref shorter than
 * dt (the rest of the spike step integrated), arguments beyond the series
 * (tau_rc short against dt), and a negative minimum voltage.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LIF, Network, Simulator, Uniform } from '../src/index.js';

function model(): { net: Network; probes: ReturnType<Network['probe']>[] } {
  const net = new Network({ label: 'lif-paths', seed: 11 });
  const stim = net.node((t) => [Math.sin(7 * t)], { label: 'sin' });
  const std = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'std' });
  const odd = net.ensemble({
    nNeurons: 60,
    dimensions: 1,
    neuronType: new LIF({ tauRc: 0.01, tauRef: 0.0004, minVoltage: -1 }),
    maxRates: new Uniform(200, 900),
    label: 'odd',
  });
  net.connect(stim, std);
  net.connect(stim, odd, { transform: -1 });
  net.connect(std, odd, { function: (x) => [x[0]! * x[0]!] });
  const probes = [
    net.probe(odd, { synapse: 0.01 }),
    net.probe(std.neurons),
    net.probe(odd.neurons),
    net.probe(odd.neurons, { attr: 'voltage' }),
    net.probe(odd.neurons, { attr: 'refractoryTime' }),
    net.probe(std.neurons, { attr: 'refractoryTime' }),
  ];
  return { net, probes };
}

function run(wasm: boolean): { data: Float64Array[]; usesWasm: boolean } {
  if (wasm) delete process.env['NEFSIM_WASM'];
  else process.env['NEFSIM_WASM'] = '0';
  const m = model();
  const sim = new Simulator(m.net, { dt: 0.001, decoderCache: null });
  sim.run(0.5);
  const lif = sim.plan.kernels.filter((k) => k.kind === 'neurons:LIF');
  const usesWasm = lif.length > 0 && lif.every((k) => (k as unknown as { wasm?: unknown }).wasm !== undefined);
  return { data: m.probes.map((p) => sim.data(p).data), usesWasm };
}

const saved = process.env['NEFSIM_WASM'];
afterEach(() => {
  if (saved === undefined) delete process.env['NEFSIM_WASM'];
  else process.env['NEFSIM_WASM'] = saved;
});

describe('LIF in WebAssembly', () => {
  it('equals the JavaScript step bit for bit on every path', () => {
    const w = run(true);
    const js = run(false);
    expect(w.usesWasm).toBe(true);
    expect(js.usesWasm).toBe(false);
    // the paths were taken: spikes in both ensembles, voltages below zero, refractory times
    expect(w.data[1]!.some((v) => v > 0)).toBe(true);
    expect(w.data[3]!.some((v) => v < 0)).toBe(true);
    expect(w.data[4]!.some((v) => v > 0)).toBe(true);
    w.data.forEach((d, i) => expect(d, `probe ${i}`).toEqual(js.data[i]));
  });
});
