// A model module for `nefsim run` (README, "Runs"): its default export is the
// Network. A sine wave drives an ensemble of 100 LIF neurons, which a second
// ensemble squares through a decoded connection.
//
//   npx nefsim run examples/model.mjs --duration 2 --out runs/squaring
//   npx nefsim run examples/model.mjs --trials 8 --seed 100 --out runs/seeds
import { Network } from 'nefsim';

const net = new Network({ label: 'squaring', seed: 1 });
const stim = net.node((t) => [Math.sin(2 * Math.PI * t)], { label: 'stimulus' });
const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
const square = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'square' });
net.connect(stim, a);
net.connect(a, square, { function: (x) => [x[0] * x[0]] });
net.probe(a, { synapse: 0.01, label: 'a' });
net.probe(square, { synapse: 0.01, label: 'square' });
net.probe(a.neurons, { label: 'a_spikes' });

export default net;
