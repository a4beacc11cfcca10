/**
 * What crosses from a run's simulation to its probe store (store.ts writes
 * it, on the run's thread or on a writer thread): the file layout of the
 * probes, and chunks of samples. Free of HDF5, so the run's thread does not
 * load h5wasm when a writer thread writes the file.
 */
import { Neurons, ObjView, type Probe } from '../engine/objects.js';
import { isSpikeProbe } from '../engine/simulator.js';
import type { RunSimulator } from './run-simulator.js';

/** Value of the `layout` attribute of a sparse spike probe's group. */
export const SPIKES_LAYOUT = 'spikes';

export interface StoreMeta {
  engineVersion: string;
  duration: number;
  seed: number;
}

/** What the file records of one probe: everything the writer needs, as plain data (it can cross to a writer thread). */
export interface ProbeLayout {
  /** Name of the dataset or group under /probes (unique, no '/' or '.'). */
  name: string;
  index: number;
  label: string;
  target: string;
  attr: string;
  cols: number;
  /** Seconds between samples. */
  sampleEvery: number;
  /** Stored sparsely as spikes (see isSpikeProbe). */
  spikes: boolean;
  /** amplitude / dt: the output value of one spike. */
  spikeValue: number;
  units: string;
}

export interface StoreLayout {
  dt: number;
  network: string;
  probes: ProbeLayout[];
}

/** The file layout of a simulator's probes. */
export function storeLayout(sim: RunSimulator): StoreLayout {
  const taken = new Set<string>();
  const probes = sim.probes.map((probe, index): ProbeLayout => {
    let name = (probe.label ?? `probe${index}`).replace(/[/.]/g, '_') || `probe${index}`;
    if (taken.has(name)) {
      let k = 2;
      while (taken.has(`${name}_${k}`)) k++;
      name = `${name}_${k}`;
    }
    taken.add(name);
    return {
      name,
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

/** One probe's samples since the last chunk: dense rows, spikes as recorded sparsely, or none. */
export type ProbeChunk =
  | { kind: 'dense'; rows: number; data: Float64Array }
  | { kind: 'spikes'; rows: number; units: Int32Array; values: Float64Array; rowEnds: Int32Array }
  | null;

/** What a simulator recorded since the last chunk, and the steps it has completed. */
export interface StoreChunk {
  completedSteps: number;
  probes: ProbeChunk[];
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

/** The typed arrays of a chunk, to transfer to another thread. */
export function chunkBuffers(chunk: StoreChunk): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of chunk.probes) {
    if (!c) continue;
    if (c.kind === 'dense') out.push(c.data.buffer as ArrayBuffer);
    else out.push(c.units.buffer as ArrayBuffer, c.values.buffer as ArrayBuffer, c.rowEnds.buffer as ArrayBuffer);
  }
  return out;
}

/** Bytes of a chunk's samples. */
export function chunkBytes(chunk: StoreChunk): number {
  let b = 0;
  for (const c of chunk.probes)
    if (c) b += c.kind === 'dense' ? c.data.byteLength : c.units.byteLength + c.values.byteLength + c.rowEnds.byteLength;
  return b;
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
    if (probe.attr === 'voltage') return 'normalized voltage';
    if (probe.attr === 'refractoryTime') return 's';
    return 'current (normalized)';
  }
  return 'represented value';
}
