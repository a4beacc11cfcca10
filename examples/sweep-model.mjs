// A model module for `nefsim run --sweep` (README, "Trials and sweeps"): its
// default export is a function of one parameter object, called once per
// trial. Here `tau`, the synapse (seconds) of the connection that squares.
//
//   npx nefsim run examples/sweep-model.mjs --sweep examples/sweep-params.json --duration 2 --out runs/sweep
import { Network } from 'nefsim';

export default function model({ tau = 0.005 } = {}) {
  if (typeof tau !== 'number' || !(tau >= 0))
    throw new Error(`sweep-model: tau must be a number of seconds >= 0, got ${JSON.stringify(tau)}`);
  const net = new Network({ label: `squaring tau=${tau}`, seed: 1 });
  const stim = net.node((t) => [Math.sin(2 * Math.PI * t)], { label: 'stimulus' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
  const square = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'square' });
  net.connect(stim, a);
  net.connect(a, square, { function: (x) => [x[0] * x[0]], synapse: tau });
  net.probe(square, { synapse: 0.01, label: 'square' });
  return net;
}
