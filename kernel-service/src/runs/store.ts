/**
 * The probe store of a run on the run's own thread (ProbeStore), and the
 * store's public names. The file's layout and its writer are in
 * store-writer.ts; ThreadedProbeStore (store-thread.ts) writes on a writer
 * thread, which imports store-writer.ts alone, not the engine.
 */
import { isSpikeProbe } from '../engine/simulator.js';
import type { RunSimulator } from './run-simulator.js';
import { storeLayout, takeChunk, type StoreMeta } from './store-layout.js';
import { ProbeWriter } from './store-writer.js';

export * from './store-layout.js';
export { ProbeWriter, isSpikeProbe };

/**
 * The probe store of a run on the run's own thread: takes what the simulator
 * recorded and writes it (see ThreadedProbeStore for the same on a writer
 * thread, which keeps HDF5's cost off the simulation).
 */
export class ProbeStore {
  private constructor(
    private readonly writer: ProbeWriter,
    private readonly sim: RunSimulator,
  ) {}

  /** Creates `path` (overwriting it) with one dataset or group per probe of `sim`. */
  static async create(path: string, sim: RunSimulator, meta: StoreMeta): Promise<ProbeStore> {
    return new ProbeStore(await ProbeWriter.create(path, storeLayout(sim), meta), sim);
  }

  /**
   * Appends what the simulator recorded since the last append (draining its
   * buffers), and the times of the steps up to `completedSteps` (all steps
   * taken, unless the last one failed part way).
   */
  append(completedSteps = this.sim.steps): void {
    this.writer.write(takeChunk(this.sim, completedSteps));
  }

  /** Writes everything appended so far to disk, so that readers see it. */
  flush(): void {
    this.writer.flush();
  }

  /** Writes what is pending and the per-neuron spike layout, and closes the file. */
  close(): void {
    this.writer.close();
  }

  get stepsFlushed(): number {
    return this.writer.stepsFlushed;
  }

  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }
}
