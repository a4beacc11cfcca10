/**
 * Reading the fixtures that Nengo 4.1 writes (fixtures/*.py) and building
 * their 1-D ensembles in nefsim with Nengo's parameters, so both engines
 * simulate the same neurons.
 */
import { readFileSync } from 'node:fs';
import { LIF, type Ensemble, type Network, type NeuronType } from '../src/index.js';

/** A fixture's JSON (fixtures/NAME.json), for the caller to type. */
export function readFixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as unknown;
}

/** The neurons a fixture gives: one encoder (+1 or -1), max rate and intercept a neuron, maybe initial voltages. */
export interface FixtureNeurons {
  encoders: number[];
  maxRates: number[];
  intercepts: number[];
  voltage?: number[];
}

/** A 1-D ensemble of these neurons (initial voltages where its type has a voltage), with the eval points given. */
export function fixtureEnsemble(
  net: Network,
  p: FixtureNeurons,
  evalPoints: number[] | undefined,
  neuronType: NeuronType = new LIF(),
): Ensemble {
  return net.ensemble({
    nNeurons: p.encoders.length,
    dimensions: 1,
    encoders: p.encoders.map((e) => [e]),
    maxRates: p.maxRates,
    intercepts: p.intercepts,
    ...(evalPoints ? { evalPoints: evalPoints.map((x) => [x]) } : {}),
    neuronType,
    ...(p.voltage && neuronType.stateNames.includes('voltage') ? { initialState: { voltage: p.voltage } } : {}),
  });
}
