/** Reference models shared by the accuracy tests, each buildable in spiking or Direct mode. */
import { Direct, LIF, Network, Piecewise, type NeuronType, type Probe } from '../src/index.js';

export interface TestModel {
  net: Network;
  probe: Probe;
}

export function communicationChannel(seed: number, neuronType: NeuronType = new LIF()): TestModel {
  const net = new Network({ label: 'communication channel', seed });
  const stim = net.node((t) => Math.sin(t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, neuronType, label: 'a' });
  const b = net.ensemble({ nNeurons: 100, dimensions: 1, neuronType, label: 'b' });
  net.connect(stim, a);
  net.connect(a, b);
  return { net, probe: net.probe(b, { synapse: 0.01 }) };
}

export function squaring(seed: number, neuronType: NeuronType = new LIF()): TestModel {
  const net = new Network({ label: 'squaring', seed });
  const stim = net.node((t) => Math.sin(t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, neuronType, label: 'a' });
  const sq = net.ensemble({ nNeurons: 100, dimensions: 1, neuronType, label: 'sq' });
  net.connect(stim, a);
  net.connect(a, sq, { function: (x) => [x[0]! * x[0]!] });
  return { net, probe: net.probe(sq, { synapse: 0.01 }) };
}

/** Nengo's oscillator example: a kick, then a 2-D recurrent ensemble with transform [[1, 1], [-1, 1]], tau 0.1. */
export function oscillator(seed: number, neuronType: NeuronType = new LIF()): TestModel {
  const net = new Network({ label: 'oscillator', seed });
  const kick = net.node(new Piecewise({ data: { 0: [1, 0], 0.1: [0, 0] } }), { label: 'kick' });
  const osc = net.ensemble({ nNeurons: 200, dimensions: 2, neuronType, label: 'oscillator' });
  net.connect(kick, osc);
  net.connect(osc, osc, {
    transform: [
      [1, 1],
      [-1, 1],
    ],
    synapse: 0.1,
  });
  return { net, probe: net.probe(osc, { synapse: 0.1 }) };
}

export const direct = (): NeuronType => new Direct();
