/**
 * What the run code needs of a simulator, met both by the engine's
 * Simulator (one thread) and by PartitionedSimulator (worker threads).
 */
import type { Network } from '../engine/network.js';
import type { Probe } from '../engine/objects.js';
import { Simulator, type ProbeData, type SpikeData } from '../engine/simulator.js';
import { PartitionedSimulator } from '../parallel/partitioned-simulator.js';

export interface RunSimulator {
  readonly dt: number;
  readonly network: Network;
  readonly probes: Probe[];
  readonly steps: number;
  readonly time: number;
  runSteps(n: number): void | Promise<void>;
  takeData(probe: Probe): ProbeData;
  /** Spike probes' samples in sparse form, where the simulator records them so (see Simulator.takeSpikes). */
  takeSpikes?(probe: Probe): SpikeData | undefined;
  summary(): {
    label: string | undefined;
    seed: number;
    neurons: number;
    probes: number;
    buildSeconds: number;
    buildThreads?: number;
    warnings: string[];
  };
  close?(): Promise<void>;
}

export interface RunSimulatorOptions {
  dt: number;
  seed: number | null;
  partitions: number;
  params: Record<string, unknown>;
  pin?: Record<string, number>;
  dtype?: 'float64' | 'float32';
}

/** One thread for partitions = 1 (the network is already loaded), else a partitioned simulator over the model file. */
export async function createRunSimulator(net: Network, modelFile: string, opts: RunSimulatorOptions): Promise<RunSimulator> {
  const dtype = opts.dtype ?? 'float64';
  if (opts.partitions <= 1) return new Simulator(net, { dt: opts.dt, dtype, ...(opts.seed !== null ? { seed: opts.seed } : {}) });
  return PartitionedSimulator.create(modelFile, {
    dt: opts.dt,
    seed: opts.seed,
    partitions: opts.partitions,
    params: opts.params,
    dtype,
    ...(opts.pin ? { pin: opts.pin } : {}),
  });
}
