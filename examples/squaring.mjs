// The squaring network of the nengo_mpi example: sin(t) -> 100 LIF -> 100 LIF
// computing x^2. Run: node examples/squaring.mjs [seconds]
import { Network, Simulator } from '../kernel-service/lib/index.js';

const seconds = Number(process.argv[2] ?? 5);
const net = new Network({ label: 'squaring', seed: 0 });
const stim = net.node((t) => Math.sin(t), { label: 'sin' });
const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
const sq = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'sq' });
net.connect(stim, a);
net.connect(a, sq, { function: (x) => [x[0] * x[0]] });
const p = net.probe(sq, { synapse: 0.01, label: 'sq' });

const sim = new Simulator(net, { dt: 0.001 });
const t0 = performance.now();
sim.run(seconds);
const runS = (performance.now() - t0) / 1000;

const t = sim.trange();
const y = sim.data(p);
let se = 0;
let n = 0;
for (let i = 0; i < t.length; i++) {
  if (t[i] <= 0.1) continue;
  // target: sin^2 of the input, delayed like the synapses delay it (about 15 ms)
  const target = Math.sin(t[i] - 0.015) ** 2;
  se += (y.get(i, 0) - target) ** 2;
  n++;
}
const s = sim.summary();
console.log(`nefsim: network '${s.label}' (seed ${s.seed})`);
console.log(`  ${s.ensembles} ensembles, ${s.neurons} neurons, ${s.nodes} nodes, ${s.connections} connections, ${s.probes} probes`);
console.log(`  ${s.operators} operators merged into ${s.kernels} kernels; built in ${s.buildSeconds.toFixed(3)} s`);
console.log(`  simulated ${seconds} s (${t.length} steps) in ${runS.toFixed(3)} s: ${Math.round(t.length / runS)} steps/s`);
console.log(`  RMSE of sq against sin(t)^2 (t > 0.1 s): ${Math.sqrt(se / n).toFixed(4)}`);
const last = t.length - 1;
console.log(`  at t = ${t[last].toFixed(3)} s: sq = ${y.get(last, 0).toFixed(4)}, sin(t)^2 = ${(Math.sin(t[last]) ** 2).toFixed(4)}`);
