/**
 * Reading the fixtures that Nengo 4.1 writes (fixtures/*.py) and building
 * their 1-D ensembles in nefsim with Nengo's parameters, so both engines
 * simulate the same neurons.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { Choice, Ensemble, Exponential, LIF, Uniform, type Connection, type Lowpass, type Network, type NeuronType } from '../src/index.js';

/**
 * Learned values (weights, encoders) against Nengo's, sample by sample, within 1e-9 of how much
 * Nengo's changed over the run: the comparison is of the learning, not of the values it started from.
 */
export function expectLearned(got: number[][], want: number[][], what: string, item = 'value'): void {
  expect(got.length, what).toBe(want.length);
  let change = 0;
  for (let i = 0; i < want[0]!.length; i++) change = Math.max(change, Math.abs(want[want.length - 1]![i]! - want[0]![i]!));
  expect(change, what).toBeGreaterThan(1e-6);
  for (let k = 0; k < want.length; k++)
    for (let i = 0; i < want[k]!.length; i++)
      expect(Math.abs(got[k]![i]! - want[k]![i]!), `${what}: sample ${k}, ${item} ${i}`).toBeLessThan(1e-9 * change);
}

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

export interface EnsembleDesc {
  label: string;
  n: number;
  d: number;
  radius: number;
  /** describeDist's. */
  intercepts: unknown[];
  encoders: unknown[];
  evalPoints: unknown[];
  nEvalPoints: number | null;
}
export interface ConnDesc {
  pre: string;
  post: string;
  transform: number[][];
  synapse: number | null;
  solver: string | null;
  function: number[] | null;
}
export interface Structure {
  ensembles: EnsembleDesc[];
  connections: ConnDesc[];
  nodes: string[];
}

function name(p: unknown): string {
  const v = p as { obj?: { label?: string }; indices?: Int32Array; label?: string };
  if (v.obj !== undefined && v.indices !== undefined) return `${name(v.obj)}[${v.indices[0]}:${v.indices[v.indices.length - 1]! + 1}]`;
  const ens = (p as { ensemble?: { label?: string } }).ensemble;
  if (ens !== undefined) return `${ens.label ?? ''}.neurons`;
  return v.label ?? '';
}

/** A distribution's class and parameters, as nengo_fixture.dist() gives Nengo's (undefined: the ScatteredHypersphere default). */
export function describeDist(d: unknown): unknown[] {
  if (d instanceof Uniform) return ['Uniform', d.low, d.high];
  if (d instanceof Exponential) return ['Exponential', d.scale, d.shift, d.high];
  if (d instanceof Choice)
    return [
      'Choice',
      d.dimensions === 0
        ? Array.from(d.options)
        : Array.from({ length: d.nOptions }, (_, i) => Array.from(d.options.subarray(i * d.dimensions, (i + 1) * d.dimensions))),
    ];
  return [d === undefined ? 'ScatteredHypersphere' : (d as object).constructor.name];
}

/**
 * A network's ensembles, connections and node labels, as the fixtures'
 * nengo_fixture.structure() describes a Nengo network: to check that a
 * prebuilt network has Nengo's structure, object by object.
 */
export function networkStructure(net: Network, xs: number[]): Structure {
  const ensembles = net.allEnsembles.map((e) => {
    // nefsim leaves the defaults unset: Nengo's Uniform(-1, 0.9), and ScatteredHypersphere for encoders and eval points
    return {
      label: e.label ?? '',
      n: e.nNeurons,
      d: e.dimensions,
      radius: e.radius,
      intercepts: describeDist(e.intercepts ?? new Uniform(-1, 0.9)),
      encoders: describeDist(e.encoders),
      evalPoints: describeDist(e.evalPoints),
      nEvalPoints: e.nEvalPoints ?? null,
    };
  });
  const connections = net.allConnections.map((c: Connection) => {
    const T = c.transform;
    const transform =
      T.kind === 'scalar'
        ? [[T.value]]
        : T.kind === 'dense'
          ? Array.from({ length: T.rows }, (_, r) => Array.from(T.values.subarray(r * T.cols, (r + 1) * T.cols)))
          : [Array.from(T.values)];
    const f = c.function;
    return {
      pre: name(c.pre),
      post: name(c.post),
      transform,
      synapse: c.synapse === null ? null : (c.synapse as Lowpass).tau,
      solver:
        c.pre instanceof Ensemble || (c.pre as { obj?: unknown }).obj instanceof Ensemble
          ? (c.solver?.constructor.name ?? 'LstsqL2')
          : null,
      function:
        typeof f === 'function'
          ? xs.map((x) => {
              const y = f(Float64Array.of(x));
              return typeof y === 'number' ? y : (y as ArrayLike<number>)[0]!;
            })
          : null,
    };
  });
  return {
    ensembles: ensembles.sort((a, b) => (a.label < b.label ? -1 : 1)),
    connections,
    nodes: net.allNodes.map((n) => n.label ?? '').sort(),
  };
}
