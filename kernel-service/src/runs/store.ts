/**
 * Probe store: one HDF5 file per run (probes.h5), written while the run goes
 * so that h5py can read it during the run, and after a crash up to the last
 * flush.
 *
 * Layout:
 *   /time                 float64 [steps]: time of every step (dt, 2 dt, ...)
 *   /probes/<name>        float64 [samples, dims], chunked and resizable, with
 *                         attributes label, target, attr, dt, sample_every,
 *                         units, index (build order)
 *   root attributes       engine_version, dt, seed, duration, network
 *
 * Samples of a probe with sample_every are taken at the steps where
 * `step % (sample_every / dt) < 1` (as Nengo). Spikes are stored dense for
 * now (one row per sample, 1/dt where a neuron spiked); a sparse NWB-style
 * layout (spike_times + spike_times_index) is a later step.
 *
 * The file uses HDF5's default (earliest) format without SWMR: a file that
 * was not closed cleanly (kill -9) then opens in any reader, where a SWMR /
 * latest-format file would be refused until `h5clear`.
 */
import h5wasm from 'h5wasm/node';
import type { Dataset, File as H5File } from 'h5wasm/node';
import { Neurons, ObjView, type Probe } from '../engine/objects.js';
import type { Simulator } from '../engine/simulator.js';

interface StoredProbe {
  probe: Probe;
  ds: Dataset;
  rows: number;
  cols: number;
}

/** Value of the `layout` attribute of a sparse spike probe's group. */
export const SPIKES_LAYOUT = 'spikes';

/** Bytes per HDF5 chunk that the store aims at (up to ~1 MB). */
const CHUNK_BYTES = 1 << 20;

export interface StoreMeta {
  engineVersion: string;
  duration: number;
  seed: number;
}

export class ProbeStore {
  private readonly probes: StoredProbe[] = [];
  private readonly timeDs: Dataset;
  private stepsWritten = 0;
  private flushedSteps = 0;

  private constructor(
    private readonly file: H5File,
    private readonly sim: Simulator,
    meta: StoreMeta,
  ) {
    const f = file;
    f.create_attribute('engine_version', meta.engineVersion);
    f.create_attribute('dt', sim.dt);
    f.create_attribute('seed', meta.seed);
    f.create_attribute('duration', meta.duration);
    f.create_attribute('network', sim.network.label ?? '');
    this.timeDs = f.create_dataset({ name: 'time', data: new Float64Array(0), shape: [0], maxshape: [null], chunks: [16384], dtype: '<d' });
    this.timeDs.create_attribute('units', 's');
    const group = f.create_group('probes');
    const taken = new Set<string>();
    sim.probes.forEach((probe, index) => {
      const cols = probe.size;
      let name = (probe.label ?? `probe${index}`).replace(/[/.]/g, '_') || `probe${index}`;
      if (taken.has(name)) {
        let k = 2;
        while (taken.has(`${name}_${k}`)) k++;
        name = `${name}_${k}`;
      }
      taken.add(name);
      const chunkRows = Math.max(1, Math.min(8192, Math.floor(CHUNK_BYTES / 8 / Math.max(1, cols))));
      const ds = group.create_dataset({
        name,
        data: new Float64Array(0),
        shape: [0, cols],
        maxshape: [null, cols],
        chunks: [chunkRows, cols],
        dtype: '<d',
      });
      ds.create_attribute('label', probe.label ?? '');
      ds.create_attribute('target', probe.target.name);
      ds.create_attribute('attr', probe.attr);
      ds.create_attribute('dt', sim.dt);
      ds.create_attribute('sample_every', probe.sampleEvery ?? sim.dt);
      ds.create_attribute('units', unitsOf(probe));
      ds.create_attribute('index', index);
      this.probes.push({ probe, ds, rows: 0, cols });
    });
    f.flush();
  }

  /** Creates `path` (overwriting it) with one dataset per probe of `sim`. */
  static async create(path: string, sim: Simulator, meta: StoreMeta): Promise<ProbeStore> {
    await h5wasm.ready;
    return new ProbeStore(new h5wasm.File(path, 'w'), sim, meta);
  }

  /** Steps whose data is flushed to disk. */
  get stepsFlushed(): number {
    return this.flushedSteps;
  }

  /**
   * Appends what the simulator recorded since the last append (draining its
   * buffers), and the times of the steps up to `completedSteps` (all steps
   * taken, unless the last one failed part way).
   */
  append(completedSteps = this.sim.steps): void {
    const sim = this.sim;
    for (const sp of this.probes) {
      const d = sim.takeData(sp.probe);
      if (d.rows === 0) continue;
      const n = sp.rows;
      sp.ds.resize([n + d.rows, sp.cols]);
      sp.ds.write_slice([[n, n + d.rows], [0, sp.cols]], d.data);
      sp.rows += d.rows;
    }
    const s0 = this.stepsWritten;
    const s1 = completedSteps;
    if (s1 > s0) {
      const t = new Float64Array(s1 - s0);
      for (let i = 0; i < t.length; i++) t[i] = (s0 + 1 + i) * sim.dt;
      this.timeDs.resize([s1]);
      this.timeDs.write_slice([[s0, s1]], t);
      this.stepsWritten = s1;
    }
  }

  /** Writes everything appended so far to disk, so that readers see it. */
  flush(): void {
    this.file.flush();
    this.flushedSteps = this.stepsWritten;
  }

  close(): void {
    this.flush();
    this.file.close();
  }
}

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
