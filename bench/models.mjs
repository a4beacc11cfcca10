// The benchmark models in nefsim, mirroring bench/nengo_model.py exactly.
// Imported by nefsim-model.mjs (one model per process) and by partition-model.mjs.
import * as nefsim from '../kernel-service/lib/index.js';

// A namespace import, so that the simple models still run while an export the
// others need (e.g. `networks`) is missing.
const { Network, Piecewise, Convolution, Sparse } = nefsim;
function subnetworks() {
  if (!nefsim.networks) throw new Error('the nefsim package does not export `networks`');
  return nefsim.networks;
}

const SEED = 0;

/** Fixed pseudo-random unit vector; same generator as nengo_model.py. */
function unitVector(dimensions, seed) {
  // Park-Miller minimal standard LCG (exact in doubles), uniform in [-1, 1).
  let state = seed + 1;
  const v = [];
  for (let i = 0; i < dimensions; i++) {
    state = (state * 16807) % 2147483647;
    v.push((2 * state) / 2147483647 - 1);
  }
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function channel() {
  const net = new Network({ label: 'channel', seed: SEED });
  const stim = net.node((t) => Math.sin(t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
  const b = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'b' });
  net.connect(stim, a);
  net.connect(a, b);
  net.probe(b, { synapse: 0.01 });
  return net;
}

function squaring() {
  const net = new Network({ label: 'squaring', seed: SEED });
  const stim = net.node((t) => Math.sin(t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
  const sq = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'sq' });
  net.connect(stim, a);
  net.connect(a, sq, { function: (x) => [x[0] * x[0]] });
  net.probe(sq, { synapse: 0.01 });
  return net;
}

function oscillator() {
  const tau = 0.1;
  const w = 2 * Math.PI;
  const net = new Network({ label: 'oscillator', seed: SEED });
  const kick = net.node(new Piecewise({ data: { 0: [1, 0], 0.1: [0, 0] } }), { label: 'kick' });
  const osc = net.ensemble({ nNeurons: 200, dimensions: 2, label: 'osc' });
  net.connect(kick, osc, { synapse: tau });
  net.connect(osc, osc, {
    transform: [
      [1, -w * tau],
      [w * tau, 1],
    ],
    synapse: tau,
  });
  net.probe(osc, { synapse: 0.1 });
  return net;
}

function circconv(dimensions) {
  const net = new Network({ label: `circconv${dimensions}`, seed: SEED });
  const a = net.node(unitVector(dimensions, 1), { label: 'a' });
  const b = net.node(unitVector(dimensions, 2), { label: 'b' });
  const cconv = subnetworks().CircularConvolution({ nNeurons: 200, dimensions, parent: net });
  net.connect(a, cconv.inputA, { synapse: null });
  net.connect(b, cconv.inputB, { synapse: null });
  net.probe(cconv.output, { synapse: 0.01 });
  return net;
}

function integrators(count) {
  const net = new Network({ label: `integrators${count}`, seed: SEED });
  const stim = net.node([0.1], { label: 'drive' });
  for (let i = 0; i < count; i++) {
    const integ = subnetworks().Integrator({
      recurrentTau: 0.1,
      nNeurons: 50,
      dimensions: 1,
      parent: net,
    });
    net.connect(stim, integ.input);
    net.probe(integ.output, { synapse: 0.01 });
  }
  return net;
}

/** Pseudo-random numbers in [0, 1), the same as nengo_model.py's (Park-Miller, exact in doubles). */
function uniforms(seed) {
  let state = seed + 1;
  return () => (state = (state * 16807) % 2147483647) / 2147483647;
}

/**
 * A spiking convolutional layer: a 28 x 28 image (a sine grating drifting
 * in time, one LIF neuron a pixel) into 32 filters of 3 x 3 ('same'
 * padding), a LIF neuron each (25,088).
 */
function convlayer() {
  const net = new Network({ label: 'convlayer', seed: SEED });
  const side = 28;
  const stim = net.node((t) => Array.from({ length: side * side }, (_, i) => Math.sin(0.5 * (i % side) + 5 * t)), { label: 'image' });
  const image = net.ensemble({ nNeurons: side * side, dimensions: 1, label: 'image' });
  net.connect(stim, image.neurons);
  const next = uniforms(3);
  const init = Array.from({ length: 3 * 3 * 32 }, () => 0.02 * (next() - 0.4));
  const conv = new Convolution(32, [side, side, 1], { padding: 'same', init });
  const features = net.ensemble({ nNeurons: conv.sizeOut, dimensions: 1, label: 'features' });
  net.connect(image.neurons, features.neurons, { transform: conv });
  net.probe(features.neurons, { synapse: 0.01, sampleEvery: 0.01 });
  return net;
}

/** 2,000 LIF neurons connected recurrently to about 10% of each other by a Sparse transform (400,000 entries). */
function sparse() {
  const net = new Network({ label: 'sparse', seed: SEED });
  const n = 2000;
  const stim = net.node((t) => Math.sin(5 * t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: n, dimensions: 1, label: 'a' });
  net.connect(stim, a);
  const next = uniforms(4);
  const indices = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (next() < 0.1) indices.push([i, j]);
  net.connect(a.neurons, a.neurons, { transform: new Sparse([n, n], { indices, init: 0.0001 }), synapse: 0.01 });
  net.probe(a, { synapse: 0.01 });
  return net;
}

export const MODELS = {
  channel,
  squaring,
  oscillator,
  circconv16: () => circconv(16),
  circconv64: () => circconv(64),
  circconv256: () => circconv(256),
  integrators10: () => integrators(10),
  integrators100: () => integrators(100),
  integrators1000: () => integrators(1000),
  convlayer,
  sparse,
};
