/**
 * The kernels in WebAssembly (kernels/lif-wasm.ts, kernels/dot-wasm.ts)
 * against the same kernels in JavaScript (NEFSIM_WASM=0): identical, bit for
 * bit, on every path. The LIF step: spikes, the step after the refractory
 * period (and a spike within it, which joins the spike list in neuron
 * order), tau_ref shorter than dt,
 * arguments beyond the series (tau_rc short against dt), a negative minimum
 * voltage, an odd neuron count, neurons past the first pass's first block of
 * 64. The products: encoders of one and of several
 * dimensions (odd rows, a zero input), dense transforms, and spike-driven
 * decoders into one and into several dimensions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LIF, Lowpass, Network, Simulator, Uniform } from '../src/index.js';

function model(): { net: Network; probes: ReturnType<Network['probe']>[] } {
  const net = new Network({ label: 'lif-paths', seed: 11 });
  const stim = net.node((t) => [Math.sin(7 * t)], { label: 'sin' });
  const std = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'std' });
  const odd = net.ensemble({
    nNeurons: 61, // odd: the last neuron takes the scalar step
    dimensions: 1,
    neuronType: new LIF({ tauRc: 0.01, tauRef: 0.0004, minVoltage: -1 }),
    maxRates: new Uniform(200, 900),
    label: 'odd',
  });
  // inputs up to about 90: these neurons spike again in the very step that ends their refractory period
  const fast = net.ensemble({
    nNeurons: 41,
    dimensions: 1,
    maxRates: new Uniform(430, 470),
    intercepts: new Uniform(-1, -0.6),
    label: 'fast',
  });
  net.connect(stim, std);
  net.connect(stim, fast);
  net.connect(stim, odd, { transform: -1 });
  net.connect(std, odd, { function: (x) => [x[0]! * x[0]!] });
  // products: a 3-D node through a dense 2x3 transform into a 2-D ensemble of 61 neurons, which
  // decodes into 3-D (spike-driven, several rows); a node that is zero for 0.1 s into a 1-D ensemble
  // of 31 neurons and through a 2x1 transform
  const vec = net.node((t) => [Math.sin(3 * t), Math.cos(5 * t), t], { label: 'vec' });
  const late = net.node((t) => [t < 0.1 ? 0 : 0.5], { label: 'late' });
  const two = net.ensemble({ nNeurons: 61, dimensions: 2, label: 'two' });
  const three = net.ensemble({ nNeurons: 40, dimensions: 3, label: 'three' });
  const one = net.ensemble({ nNeurons: 31, dimensions: 1, label: 'one' });
  net.connect(vec, two, {
    transform: [
      [0.5, -0.3, 0.2],
      [0.1, 0.4, -0.6],
    ],
  });
  net.connect(two, three, {
    transform: [
      [1, 0],
      [0, 1],
      [0.5, -0.5],
    ],
  });
  net.connect(late, one);
  net.connect(fast, one, { transform: 0.5 });
  net.connect(late, two, { transform: [[1], [0.5]] });
  // the vector kernels: an elementwise transform through a synapse of no delay (a gain filter) into
  // 3-D (17 neurons: odd; a pair of dimensions and an odd one), and a scalar one
  const pair = net.ensemble({ nNeurons: 17, dimensions: 3, label: 'pair' });
  net.connect(vec, pair, { transform: [0.5, -2, 1.5], synapse: new Lowpass(0) });
  net.connect(one, std, { transform: 0.25 });
  // 129 neurons of their own LIF op: three blocks of the first pass's masks (64, 64 and a pair
  // short of one), and the odd last neuron after them
  const big = net.ensemble({ nNeurons: 129, dimensions: 1, neuronType: new LIF({ tauRc: 0.015 }), label: 'big' });
  net.connect(stim, big);
  const probes = [
    net.probe(three, { synapse: 0.01 }),
    net.probe(one, { synapse: 0.01 }),
    net.probe(two.neurons, { attr: 'voltage' }),
    net.probe(odd, { synapse: 0.01 }),
    net.probe(std.neurons),
    net.probe(odd.neurons),
    net.probe(odd.neurons, { attr: 'voltage' }),
    net.probe(odd.neurons, { attr: 'refractoryTime' }),
    net.probe(std.neurons, { attr: 'refractoryTime' }),
    net.probe(fast.neurons),
    net.probe(fast.neurons, { attr: 'voltage' }),
    net.probe(fast.neurons, { attr: 'refractoryTime' }),
    net.probe(big.neurons),
    net.probe(big.neurons, { attr: 'voltage' }),
    net.probe(pair, { synapse: 0.005 }),
  ];
  return { net, probes };
}

function run(
  wasm: boolean,
  dtype: 'float64' | 'float32' = 'float64',
): { data: Float64Array[]; usesWasm: boolean; dotKinds: string[]; mostLifOps: number } {
  if (wasm) delete process.env['NEFSIM_WASM'];
  else process.env['NEFSIM_WASM'] = '0';
  const m = model();
  const sim = new Simulator(m.net, { dt: 0.001, decoderCache: null, dtype });
  sim.run(0.5);
  const lif = sim.plan.kernels.filter((k) => k.kind === 'neurons:LIF');
  const usesWasm = lif.length > 0 && lif.every((k) => (k as unknown as { wasm?: unknown }).wasm !== undefined);
  const dotKinds = [
    ...new Set(
      sim.plan.kernels
        .filter((k) => (k as unknown as { wasm?: unknown }).wasm !== undefined && k.kind !== 'neurons:LIF')
        .map((k) => k.kind),
    ),
  ];
  const mostLifOps = Math.max(...lif.map((k) => k.count ?? 0));
  return { data: m.probes.map((p) => sim.data(p).data), usesWasm, dotKinds, mostLifOps };
}

const DT = 0.001;

/**
 * How often each LIF path was taken, from a population's output and
 * refractory-time probes (n neurons; each probe's value after its step):
 * steps that end a refractory period (0 < ref - dt < dt), those of them
 * whose expm1 argument (dt - r) / tau_rc is beyond the series (1/16), those
 * that spike, and spikes whose refractory period ends before the next step
 * does (tau_ref < dt: the time between is dropped, as in Nengo).
 */
function paths(out: Float64Array, ref: Float64Array, n: number, tauRc: number) {
  const c = { parts: 0, partsBeyondSeries: 0, partSpikes: 0, spikesShortRef: 0 };
  for (let k = 0; k < out.length / n; k++) {
    for (let i = 0; i < n; i++) {
      const spiked = out[k * n + i]! > 0;
      if (spiked && ref[k * n + i]! < DT) c.spikesShortRef++;
      if (k === 0) continue;
      const r = ref[(k - 1) * n + i]! - DT;
      if (!(r > 0 && r < DT)) continue;
      c.parts++;
      if ((DT - r) / tauRc > 1 / 16) c.partsBeyondSeries++;
      if (spiked) c.partSpikes++;
    }
  }
  return c;
}

const saved = process.env['NEFSIM_WASM'];
afterEach(() => {
  if (saved === undefined) delete process.env['NEFSIM_WASM'];
  else process.env['NEFSIM_WASM'] = saved;
});

describe('kernels in WebAssembly', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`equals the JavaScript kernels bit for bit on every path (${dtype})`, () => {
      const w = run(true, dtype);
      const js = run(false, dtype);
      expect(w.usesWasm).toBe(true);
      expect(js.usesWasm).toBe(false);
      // the paths were taken: spikes, voltages below zero, refractory times, the steps that end a
      // refractory period within and beyond expm1's series, spikes in such a step (fast), spikes
      // whose refractory period ends within the next step's time (odd: tau_ref < dt), and several LIF ops in one call
      expect(w.data[4]!.some((v) => v > 0)).toBe(true);
      expect(w.data[12]!.some((v, k) => v > 0 && k % 129 >= 64)).toBe(true); // spikes past the first block
      expect(w.data[6]!.some((v) => v < 0)).toBe(true);
      expect(w.data[7]!.some((v) => v > 0)).toBe(true);
      const odd = paths(w.data[5]!, w.data[7]!, 61, 0.01);
      const fast = paths(w.data[9]!, w.data[11]!, 41, 0.02);
      expect(odd.partsBeyondSeries).toBeGreaterThan(0);
      expect(odd.parts - odd.partsBeyondSeries + fast.parts).toBeGreaterThan(0);
      expect(odd.spikesShortRef).toBeGreaterThan(0);
      expect(fast.partSpikes).toBeGreaterThan(0);
      expect(w.mostLifOps).toBeGreaterThan(1);
      w.data.forEach((d, i) => expect(d, `probe ${i}`).toEqual(js.data[i]));
      // the products and the vector kernels ran in WebAssembly
      expect(w.dotKinds.sort()).toEqual([
        'copy',
        'copy-inc',
        'dotinc',
        'dotinc:spikes',
        'elementwise',
        'encode',
        'filter:gain',
        'filter:lowpass',
        'reset',
      ]);
      expect(js.dotKinds).toEqual([]);
    });
  }
});
