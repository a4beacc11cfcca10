// Decoded accuracy of nefsim against Nengo over many seeds: four small models
// (the communication channel, squaring, a 4-ensemble EnsembleArray and a
// Product, the last two made of one-dimensional ensembles), each seed's RMSE
// over t in (0.1, 1] s of the probed output (synapse 0.01) against the same
// network with Direct neurons, in both engines; then per model and engine the
// mean with its standard error, median, 90th percentile and worst seed.
//
// Usage: node bench/accuracy.mjs [--seeds N] [--models a,b] [--only nefsim]
// (build first: npm run build --workspace nefsim; Nengo runs in bench/.venv,
// which bench/run.sh creates). About 1 s a seed for all four models in Nengo.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Direct, LIF, Network, Simulator, networks } from '../kernel-service/lib/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const seeds = Number(opt('--seeds', '100'));
const models = opt('--models', 'channel,squaring,array,product').split(',');
const only = opt('--only', '');
const KNOWN = ['channel', 'squaring', 'array', 'product'];
if (!(Number.isInteger(seeds) && seeds >= 2) || models.some((m) => !KNOWN.includes(m)) || !['', 'nefsim'].includes(only)) {
  console.error(`usage: node bench/accuracy.mjs [--seeds N >= 2] [--models ${KNOWN.join(',')}] [--only nefsim]`);
  process.exit(2);
}
const python = fileURLToPath(new URL('./.venv/bin/python', import.meta.url));
const nengoScript = fileURLToPath(new URL('./accuracy_nengo.py', import.meta.url));
if (only !== 'nefsim' && !existsSync(python)) {
  console.error('bench/.venv is missing: run bench/run.sh once (it installs Nengo there), or pass --only nefsim');
  process.exit(2);
}

/** The model, as accuracy_nengo.py builds it; returns the probe. */
function build(kind, net, neuronType) {
  const stim = net.node((t) => Math.sin(t));
  let out;
  if (kind === 'channel' || kind === 'squaring') {
    const a = net.ensemble({ nNeurons: 100, dimensions: 1, neuronType });
    out = net.ensemble({ nNeurons: 100, dimensions: 1, neuronType });
    net.connect(stim, a);
    net.connect(a, out, kind === 'squaring' ? { function: (x) => [x[0] * x[0]] } : {});
  } else if (kind === 'array') {
    const phases = net.node((t) => [0, 1, 2, 3].map((k) => Math.sin(t + k)));
    const array = networks.EnsembleArray({ nNeurons: 50, nEnsembles: 4, neuronType, parent: net });
    net.connect(phases, array.input);
    out = array.output;
  } else {
    const other = net.node((t) => Math.cos(2 * t));
    const product = networks.Product({ nNeurons: 100, dimensions: 1, neuronType, parent: net });
    net.connect(stim, product.inputA);
    net.connect(other, product.inputB);
    out = product.output;
  }
  return net.probe(out, { synapse: 0.01 });
}

function nefsimRmse(kind, seed) {
  const run = (neuronType) => {
    const net = new Network({ seed });
    const probe = build(kind, net, neuronType);
    const sim = new Simulator(net, { dt: 0.001 });
    sim.run(1);
    return { t: sim.trange(), y: sim.data(probe) };
  };
  const { t, y } = run(new LIF());
  const { y: z } = run(new Direct());
  let se = 0;
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] <= 0.1) continue;
    for (let j = 0; j < y.cols; j++) {
      se += (y.get(i, j) - z.get(i, j)) ** 2;
      n++;
    }
  }
  return Math.sqrt(se / n);
}

function nengoRmses(kind) {
  const out = execFileSync(python, [nengoScript, kind, '0', String(seeds)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return out
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[2]));
}

function summary(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const s = [...xs].sort((a, b) => a - b);
  const f = (x) => x.toFixed(4);
  return `${f(mean)} ± ${f(sd / Math.sqrt(n))} | ${f(s[n >> 1])} | ${f(s[Math.floor(0.9 * (n - 1))])} | ${f(s[n - 1])}`;
}

console.log(`decoded RMSE against Direct mode, seeds 0-${seeds - 1}, t in (0.1, 1] s, dt 0.001; ${new Date().toISOString()}`);
console.log('| model | engine | mean ± standard error | median | 90th percentile | worst |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const kind of models) {
  const mine = Array.from({ length: seeds }, (_, seed) => nefsimRmse(kind, seed));
  console.log(`| ${kind} | nefsim | ${summary(mine)} |`);
  if (only !== 'nefsim') console.log(`| ${kind} | Nengo | ${summary(nengoRmses(kind))} |`);
}
