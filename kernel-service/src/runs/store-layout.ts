/**
 * The probe layout and sample chunks of a run's simulator (store-format.ts
 * has the types): what the run's thread hands its probe store. Free of HDF5,
 * so the run's thread does not load h5wasm when a writer thread writes the
 * file.
 */
import { Connection, Ensemble, LearningRule, Neurons, ObjView, type Probe } from '../engine/objects.js';
import { isSpikeProbe } from '../engine/simulator.js';
import type { RunSimulator } from './run-simulator.js';
import { probeNames, type ProbeChunk, type ProbeLayout, type StoreChunk, type StoreLayout } from './store-format.js';

export * from './store-format.js';

/** The file layout of a simulator's probes. */
export function storeLayout(sim: RunSimulator): StoreLayout {
  const names = probeNames(sim.probes.map((p) => p.label));
  const probes = sim.probes.map((probe, index): ProbeLayout => {
    return {
      name: names[index]!,
      index,
      label: probe.label ?? '',
      target: probe.target.name,
      attr: probe.attr,
      cols: probe.size,
      sampleEvery: probe.sampleEvery ?? sim.dt,
      spikes: isSpikeProbe(probe),
      spikeValue: amplitudeOf(probe) / sim.dt,
      units: unitsOf(probe),
    };
  });
  return { dt: sim.dt, network: sim.network.label ?? '', probes };
}

/** Takes (drains) what `sim` recorded into a chunk. */
export function takeChunk(sim: RunSimulator, completedSteps = sim.steps): StoreChunk {
  const probes = sim.probes.map((probe): ProbeChunk => {
    const sparse = sim.takeSpikes?.(probe);
    if (sparse)
      return sparse.rows > 0
        ? { kind: 'spikes', rows: sparse.rows, units: sparse.units, values: sparse.values, rowEnds: sparse.rowEnds }
        : null;
    const d = sim.takeData(probe);
    return d.rows > 0 ? { kind: 'dense', rows: d.rows, data: d.data } : null;
  });
  return { completedSteps, probes };
}

/** Amplitude of a neuron type (1 for types without one). */
function amplitudeOf(probe: Probe): number {
  const obj = probe.target instanceof ObjView ? probe.target.obj : probe.target;
  const a = obj instanceof Neurons ? (obj.ensemble.neuronType as { amplitude?: unknown }).amplitude : undefined;
  return typeof a === 'number' ? a : 1;
}

/** The units attribute of a probe's dataset. */
function unitsOf(probe: Probe): string {
  const obj = probe.target instanceof ObjView ? probe.target.obj : probe.target;
  if (obj instanceof Neurons) {
    if (probe.attr === 'output') return 'rate or spikes (1/dt per spike), 1/s';
    if (probe.attr === 'voltage') return obj.ensemble.neuronType.kind === 'Izhikevich' ? 'mV' : 'normalized voltage';
    if (probe.attr === 'recovery') return 'recovery variable u (Izhikevich), mV';
    if (probe.attr === 'refractoryTime') return 's';
    return 'current (normalized)';
  }
  if (obj instanceof Connection) {
    // the weights, not values in the represented space: [post x pre neurons], or decoders [size out x pre neurons]
    if (probe.attr === 'weights') return 'connection weights, row-major as sim.weights(conn)';
    // the pre object's whole output: its neurons' (rates or spikes) for an ensemble with neurons, as Nengo's
    const pre = obj.pre instanceof ObjView ? obj.pre.obj : obj.pre;
    if (probe.attr === 'input' && (pre instanceof Neurons || (pre instanceof Ensemble && pre.neuronType.kind !== 'Direct')))
      return 'rate or spikes (1/dt per spike), 1/s';
  }
  // an ensemble's encoders and Voja's change of them, neurons x dimensions, row-major
  if (probe.attr === 'scaledEncoders' || (probe.attr === 'delta' && obj instanceof LearningRule && obj.ruleType.modifies === 'encoders'))
    return 'encoder x gain / radius, neurons x dimensions';
  // PES's, BCM's and Oja's: the change of the weights a step, row-major as the weights
  if (probe.attr === 'delta') return 'weight change a step';
  if (probe.attr === 'invGamma') return 'inverse correlation of the filtered activities (RLS), neurons x neurons';
  // a learning rule's activities (filtered or not) and BCM's theta are neuron outputs
  if (obj instanceof LearningRule && probe.attr !== 'error') return 'rate, 1/s';
  return 'represented value';
}
