/**
 * AssociativeMemory against Nengo 4.1's (fixtures/nengo_assocmem.json,
 * written by fixtures/nengo_assocmem.py): the same ensembles and
 * connections, plain and with every option (thresholded outputs re-route
 * the outputs made before), and the same clean-up of a noisy input,
 * averaged over seeds.
 */
import { describe, expect, it } from 'vitest';
import { networkStructure, readFixture, type ConnDesc, type Structure } from './nengo-fixture.js';
import { Network, Simulator, networks } from '../src/index.js';

const fx = readFixture('nengo_assocmem') as {
  xs: number[];
  inputs: number[][];
  outputs: number[][];
  probeInput: number[];
  seeds: number[];
  structure: Record<'plain' | 'full', Structure>;
  behaviour: number[][];
};
const key = (c: ConnDesc): string => JSON.stringify(c);

function expectSameStructure(got: Structure, want: Structure): void {
  expect(got.ensembles).toEqual(want.ensembles);
  expect(got.nodes).toEqual(want.nodes);
  expect(got.connections.length).toBe(want.connections.length);
  expect(got.connections.map(key).sort()).toEqual(want.connections.map(key).sort());
}

describe("AssociativeMemory as Nengo 4.1's", () => {
  it('the same ensembles, nodes and connections, plain', () => {
    const net = new Network();
    networks.AssociativeMemory({ inputVectors: fx.inputs, parent: net });
    expectSameStructure(networkStructure(net, fx.xs), fx.structure.plain);
  });

  it('the same with every option: inhibitable, winner take all, a default vector, another output, thresholded outputs', () => {
    const net = new Network();
    const am = networks.AssociativeMemory({
      inputVectors: fx.inputs,
      outputVectors: fx.outputs,
      nNeurons: 20,
      threshold: [0.3, 0.2, 0.4],
      inputScales: [1, 2, 1],
      inhibitable: true,
      label: 'am',
      parent: net,
    });
    am.addWtaNetwork(2);
    am.addDefaultOutputVector([0.5, 0.5, 0.5], 'output', 10);
    am.addOutputMapping('labels', [[1], [2], [3]]);
    am.addThresholdToOutputs(10);
    expectSameStructure(networkStructure(net, fx.xs), fx.structure.full);
    // a second call of each adds nothing (Nengo warns)
    const before = net.allConnections.length;
    am.addWtaNetwork();
    am.addThresholdToOutputs();
    expect(net.allConnections.length).toBe(before);
    expect(() => am.addOutputMapping('labels', [[1], [2], [3]])).toThrow(/name 'labels' already exists/);
    expect(() => am.addInputMapping('more', [[1, 0]])).toThrow(/1 vectors for 3 items/);
  });

  it(`cleans up a noisy input to the nearest stored vector's output, as Nengo's (mean over ${fx.seeds.length} seeds)`, () => {
    const runs = fx.seeds.map((seed) => {
      const net = new Network({ seed });
      const am = networks.AssociativeMemory({ inputVectors: fx.inputs, outputVectors: fx.outputs, parent: net });
      net.connect(net.node(fx.probeInput), am.input);
      const p = net.probe(am.output, { synapse: 0.01 });
      const sim = new Simulator(net);
      sim.run(0.2);
      const rows = sim.data(p).toArray().slice(-30);
      return fx.outputs[0]!.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
    });
    const mean = (rs: number[][]): number[] => rs[0]!.map((_, j) => rs.reduce((s, r) => s + r[j]!, 0) / rs.length);
    const got = mean(runs),
      want = mean(fx.behaviour);
    got.forEach((v, j) => expect(Math.abs(v - want[j]!), `[${j}]: nefsim ${v}, Nengo ${want[j]}`).toBeLessThan(0.05));
    expect(got[1]).toBeGreaterThan(0.9);
  });

  it('refuses mismatched vectors and options, naming them', () => {
    expect(() => networks.AssociativeMemory({ inputVectors: [[1, 0]], outputVectors: [[1], [0]] })).toThrow(
      /1 input vectors but 2 output vectors/,
    );
    expect(() => networks.AssociativeMemory({ inputVectors: [] })).toThrow(/inputVectors must be a non-empty array/);
    expect(() => networks.AssociativeMemory({ inputVectors: [[1], [0]], threshold: [0.3] })).toThrow(/threshold has 1 values for 2 items/);
    expect(() => networks.AssociativeMemory({ inputVectors: [[1]], nNeuron: 5 } as never)).toThrow(/unknown option 'nNeuron'/);
    // errors name the AssociativeMemory, labelled or not
    expect(() => networks.AssociativeMemory({ inputVectors: [[1], [0]], nNeurons: 0 })).toThrow(/^AssociativeMemory: nNeurons/);
    const am = networks.AssociativeMemory({ inputVectors: [[1, 0]], label: 'am' });
    expect(() => am.addDefaultOutputVector([1, 0], 'nope')).toThrow(
      /^AssociativeMemory 'am'.addDefaultOutputVector: there is no output 'nope'/,
    );
  });

  it('takes typed arrays, and one vector as one item, as Nengo takes any array', () => {
    const typed = networks.AssociativeMemory({
      inputVectors: [Float64Array.of(1, 0), Float64Array.of(0, 1)],
      threshold: Float64Array.of(0.3, 0.2),
      seed: 1,
    });
    const plain = networks.AssociativeMemory({
      inputVectors: [
        [1, 0],
        [0, 1],
      ],
      threshold: [0.3, 0.2],
      seed: 1,
    });
    expect(typed.nItems).toBe(2);
    expect(typed.allConnections.map((c) => c.transform)).toEqual(plain.allConnections.map((c) => c.transform));
    expect(typed.allEnsembles.map((e) => [e.nNeurons, e.intercepts])).toEqual(plain.allEnsembles.map((e) => [e.nNeurons, e.intercepts]));
    const one = networks.AssociativeMemory({ inputVectors: [0.6, 0.8], outputVectors: Float64Array.of(1, 2, 3) });
    expect([one.nItems, one.inputs['input']!.sizeIn, one.outputs['output']!.sizeIn]).toEqual([1, 2, 3]);
  });
});
