// Build and run one benchmark model in nefsim.
//
// Usage: node bench/nefsim-model.mjs MODEL SECONDS DT [--float32]
//
// Prints one JSON line: {engine, model, neurons, steps, build_s, run_s,
// steps_per_s, peak_rss_mb}. The models mirror bench/nengo_model.py exactly.
import { performance } from 'node:perf_hooks';
import * as nefsim from '../kernel-service/lib/index.js';

// A namespace import, so that the simple models still run while an export the
// others need (e.g. `networks`) is missing.
const { Network, Simulator, Piecewise } = nefsim;
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

const MODELS = {
  channel,
  squaring,
  oscillator,
  circconv16: () => circconv(16),
  circconv64: () => circconv(64),
  circconv256: () => circconv(256),
  integrators10: () => integrators(10),
  integrators100: () => integrators(100),
  integrators1000: () => integrators(1000),
};

/** Total neurons, counting ensembles in subnetworks. */
function countNeurons(net) {
  if (net.allEnsembles) return net.allEnsembles.reduce((n, e) => n + e.nNeurons, 0);
  let n = (net.ensembles ?? []).reduce((acc, e) => acc + e.nNeurons, 0);
  for (const sub of net.networks ?? []) n += countNeurons(sub);
  return n;
}

function main(argv) {
  const args = argv.filter((a) => a !== '--float32');
  const float32 = args.length !== argv.length;
  const [name, secondsArg, dtArg] = args;
  if (args.length !== 3 || !(name in MODELS)) {
    console.error(`usage: nefsim-model.mjs {${Object.keys(MODELS).join(',')}} SECONDS DT [--float32]`);
    process.exit(2);
  }
  const dt = Number(dtArg);
  const steps = Math.round(Number(secondsArg) / dt);
  const net = MODELS[name]();

  let t0 = performance.now();
  const sim = new Simulator(net, float32 ? { dt, dtype: 'float32' } : { dt });
  const buildS = (performance.now() - t0) / 1000;

  t0 = performance.now();
  sim.runSteps(steps);
  const runS = (performance.now() - t0) / 1000;
  sim.close?.();

  const result = {
    engine: 'nefsim',
    model: name,
    neurons: countNeurons(net),
    steps,
    build_s: buildS,
    run_s: runS,
    steps_per_s: steps / runS,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
    float32,
  };
  console.log(JSON.stringify(result));
}

main(process.argv.slice(2));
