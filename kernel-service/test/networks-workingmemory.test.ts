/**
 * InputGatedMemory against Nengo 4.1's (fixtures/nengo_workingmemory.json,
 * written by fixtures/nengo_workingmemory.py): the same ensembles and
 * connections, and the same behaviour (follow, hold, reset), averaged over
 * seeds since the random neurons differ between the engines.
 */
import { describe, expect, it } from 'vitest';
import { networkStructure, readFixture, type ConnDesc, type Structure } from './nengo-fixture.js';
import { LstsqL2, Network, Simulator, networks } from '../src/index.js';

const fx = readFixture('nengo_workingmemory') as {
  xs: number[];
  value: number[];
  seeds: number[];
  times: number[];
  structure: Structure;
  behaviour: number[][][];
};
const key = (c: ConnDesc): string => JSON.stringify(c);

/** Input, gate and reset at time t, as the fixture's schedule. */
function schedule(t: number): [number[], number, number] {
  if (t < 0.3) return [fx.value, 0, 0];
  if (t < 0.6) return [[0, 0], 1, 0];
  return [[0, 0], 1, 1];
}

describe("InputGatedMemory as Nengo 4.1's", () => {
  it('the same ensembles, nodes and connections', () => {
    const net = new Network();
    networks.InputGatedMemory({ nNeurons: 20, dimensions: 2, feedback: 0.9, differenceGain: 2, recurrentSynapse: 0.05, parent: net });
    const got = networkStructure(net, fx.xs);
    expect(got.ensembles).toEqual(fx.structure.ensembles);
    expect(got.nodes).toEqual(fx.structure.nodes);
    expect(got.connections.map(key).sort()).toEqual(fx.structure.connections.map(key).sort());
  });

  it(`follows the input with the gate open, holds it with the gate shut, clears on reset (mean over ${fx.seeds.length} seeds)`, () => {
    const runs = fx.seeds.map((seed) => {
      const net = new Network({ seed });
      const mem = networks.InputGatedMemory({ nNeurons: 50, dimensions: 2, parent: net });
      net.connect(
        net.node((t) => schedule(t)[0]),
        mem.input,
      );
      net.connect(
        net.node((t) => [schedule(t)[1]]),
        mem.gate,
      );
      net.connect(
        net.node((t) => [schedule(t)[2]]),
        mem.reset,
      );
      const p = net.probe(mem.output, { synapse: 0.02 });
      const sim = new Simulator(net);
      sim.run(fx.times[fx.times.length - 1]!);
      const rows = sim.data(p).toArray();
      return fx.times.map((t) => rows[Math.round(t / 0.001) - 1]!);
    });
    const mean = (rs: number[][][]): number[][] =>
      fx.times.map((_, k) => [0, 1].map((j) => rs.reduce((s, r) => s + r[k]![j]!, 0) / rs.length));
    const got = mean(runs),
      want = mean(fx.behaviour);
    fx.times.forEach((t, k) => {
      for (let j = 0; j < 2; j++)
        expect(Math.abs(got[k]![j]! - want[k]![j]!), `t = ${t}, [${j}]: nefsim ${got[k]![j]}, Nengo ${want[k]![j]}`).toBeLessThan(0.1);
    });
    // held: still the value after 0.3 s without input; cleared: near zero
    for (let j = 0; j < 2; j++) {
      expect(Math.abs(got[1]![j]! - fx.value[j]!)).toBeLessThan(0.1);
      expect(Math.abs(got[2]![j]!)).toBeLessThan(0.05);
    }
  });

  it('builds under a configured weight solver, as Nengo: into its nodes weights: true has no effect (a warning), elsewhere it solves weights', () => {
    const net = new Network({ seed: 1 });
    net.config.connection.solver = new LstsqL2({ weights: true });
    const mem = networks.InputGatedMemory({ nNeurons: 10, dimensions: 1, parent: net });
    const a = net.ensemble({ nNeurons: 10, dimensions: 1 });
    const toNode = net.connect(a, mem.input);
    const plain = new Network({ seed: 1 });
    networks.InputGatedMemory({ nNeurons: 10, dimensions: 1, parent: plain });
    const b = plain.ensemble({ nNeurons: 10, dimensions: 1 });
    const toNodePlain = plain.connect(b, plain.node(null, { sizeIn: 1 }));
    const sim = new Simulator(net);
    expect(sim.model.warnings.some((w) => w.includes('weights: true on its solver has no effect into'))).toBe(true);
    // decoded with the same solver otherwise: the same decoders as LstsqL2() on the same ensemble
    expect(sim.weights(toNode).toArray()).toEqual(new Simulator(plain).weights(toNodePlain).toArray());
  });
});
