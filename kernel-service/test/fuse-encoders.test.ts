/** fuseEncoders: an ensemble's bias copy and encoder product become one 'encode' operator, unless other inputs reach its neurons. */
import { describe, expect, it } from 'vitest';
import { Network, Simulator } from '../src/index.js';

describe('encoder fusion', () => {
  it('fuses bias and encoders when nothing else writes the current, keeps them apart otherwise, and J = bias + E x', () => {
    const net = new Network({ seed: 4 });
    const stim = net.node([0.3, -0.2], { label: 'stim' });
    const a = net.ensemble({ nNeurons: 30, dimensions: 2, label: 'a' });
    const b = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'b' });
    net.connect(stim, a, { synapse: null });
    net.connect(a, b, { transform: [[1, 0]] });
    net.connect(stim, b.neurons, { transform: Array.from({ length: 30 }, () => [0.1, 0]) }); // a second input into b's currents
    const pJ = net.probe(a.neurons, { attr: 'input' });
    const sim = new Simulator(net, { dt: 0.001, decoderCache: null });
    const owners = (kind: string): string[] => sim.model.ops.filter((op) => op.kind === kind).map((op) => op.owner);
    expect(owners('encode')).toEqual(["Ensemble 'a'"]);
    expect(owners('copy')).toContain("Ensemble 'b'"); // b's bias copy stays: b's currents have two inputs
    sim.run(0.01);
    const J = sim.data(pJ);
    const be = sim.built(a);
    for (let i = 0; i < 30; i++) {
      const expected = be.bias[i]! + be.scaledEncoders[2 * i]! * 0.3 + be.scaledEncoders[2 * i + 1]! * -0.2;
      expect(J.get(9, i)).toBeCloseTo(expected, 12);
    }
  });
});
