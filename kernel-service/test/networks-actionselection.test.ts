/**
 * BasalGanglia and Thalamus against Nengo 4.1's (fixtures/nengo_actionselection.json,
 * written by fixtures/nengo_actionselection.py): the same ensembles and
 * connections (ends, transforms, synapses, solvers, decoded functions), and
 * the same selection for fixed utilities (averaged over seeds: the random
 * neurons differ between the engines).
 */
import { describe, expect, it } from 'vitest';
import { networkStructure, readFixture, type ConnDesc, type Structure } from './nengo-fixture.js';
import { Network, NnlsL2nz, Simulator, networks } from '../src/index.js';

const fx = readFixture('nengo_actionselection') as {
  xs: number[];
  utilities: number[];
  seeds: number[];
  structure: Record<'BasalGanglia' | 'Thalamus', Structure>;
  behaviour: Record<'basal ganglia' | 'thalamus', number[][]>;
};

const key = (c: ConnDesc): string => JSON.stringify(c);

describe("BasalGanglia and Thalamus as Nengo 4.1's", () => {
  it('BasalGanglia: the same ensembles, nodes and connections', () => {
    const net = new Network();
    networks.BasalGanglia({ dimensions: 3, inputBias: 0.1, parent: net });
    const got = networkStructure(net, fx.xs);
    const want = fx.structure.BasalGanglia;
    expect(got.ensembles).toEqual(want.ensembles);
    expect(got.nodes).toEqual(want.nodes);
    expect(got.connections.length).toBe(56);
    expect(got.connections.map(key).sort()).toEqual(want.connections.map(key).sort());
    expect(got.connections.filter((c) => c.solver !== null).every((c) => c.solver === new NnlsL2nz().constructor.name)).toBe(true);
  });

  it('Thalamus: the same ensembles, nodes and connections', () => {
    const net = new Network();
    networks.Thalamus({ dimensions: 3, mutualInhib: 1.5, threshold: 0.1, parent: net });
    const got = networkStructure(net, fx.xs);
    const want = fx.structure.Thalamus;
    expect(got.ensembles).toEqual(want.ensembles);
    expect(got.nodes).toEqual(want.nodes);
    expect(got.connections.map(key).sort()).toEqual(want.connections.map(key).sort());
  });

  for (const kind of ['basal ganglia', 'thalamus'] as const) {
    it(`${kind}: selects as Nengo's for fixed utilities (the last 50 ms of 0.3 s, mean over ${fx.seeds.length} seeds)`, () => {
      const runs = fx.seeds.map((seed) => {
        const net = new Network({ seed });
        const u = net.node(fx.utilities);
        const bg = networks.BasalGanglia({ dimensions: fx.utilities.length, parent: net });
        net.connect(u, bg.input, { synapse: null });
        let p = net.probe(bg.output, { synapse: 0.01 });
        if (kind === 'thalamus') {
          const th = networks.Thalamus({ dimensions: fx.utilities.length, parent: net });
          net.connect(bg.output, th.input);
          p = net.probe(th.output, { synapse: 0.01 });
        }
        const sim = new Simulator(net);
        sim.run(0.3);
        const rows = sim.data(p).toArray().slice(-50);
        return fx.utilities.map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / rows.length);
      });
      const mean = (rs: number[][]): number[] => fx.utilities.map((_, j) => rs.reduce((s, r) => s + r[j]!, 0) / rs.length);
      const got = mean(runs),
        want = mean(fx.behaviour[kind]);
      // the best action (utility 0.8) is the one selected: near 0 out of the basal ganglia, the one active in the thalamus
      const best = fx.utilities.indexOf(Math.max(...fx.utilities));
      if (kind === 'basal ganglia') expect(got.indexOf(Math.max(...got))).toBe(best);
      else for (let j = 0; j < got.length; j++) expect(got[j]! > 0.5, `action ${j}: ${got[j]}`).toBe(j === best);
      // and the values agree with Nengo's to within what the random neurons allow
      for (let j = 0; j < got.length; j++)
        expect(Math.abs(got[j]! - want[j]!), `${kind} action ${j}: nefsim ${got[j]}, Nengo ${want[j]}`).toBeLessThan(0.15);
    });
  }
});
