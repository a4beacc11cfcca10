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
 *   (label, target and network with a NUL: NULs as U+2400, and the exact
 *   UTF-8 bytes in <name>_utf8, uint8 [n]; see store-format.ts)
 *
 * Samples of a probe with sample_every are taken at the steps where
 * `step % (sample_every / dt) < 1` (as Nengo).
 *
 * Spikes (the unfiltered 'output' of spiking neurons) are stored sparsely,
 * NWB-style (a ragged array: concatenated values plus an index of ends), in a
 * group /probes/<name> (attribute layout = "spikes", plus the attributes
 * above and n_neurons, spike_value = amplitude / dt):
 *   spike_times        float64 [spikes]  time of each spike, in time order
 *                                        (within a sample, by neuron)
 *   spike_units        int32   [spikes]  the neuron (column of the probe) of each spike
 *   spike_times_index  int64   [samples] end of each sample's spikes in the two
 *                                        arrays above (NWB VectorIndex, over samples)
 * A neuron that fires k spikes in one step (SpikingRectifiedLinear) appears k
 * times. When the run ends (done, failed or cancelled; not after a kill -9)
 * the group also gets the per-neuron NWB layout, units/spike_times (grouped
 * by neuron, in time order) and units/spike_times_index (int64 [neurons], the
 * end of each neuron's spikes), with attribute complete = 1, unless it has
 * more than UNITS_MAX_SPIKES spikes (then attribute units_skipped says so).
 * The dense view (`nefsim export`) is row r = counts of the units in
 * spike_units[index[r-1]:index[r]] times spike_value. The index runs over
 * samples rather than neurons so the file can be appended and read while the
 * run goes (a per-neuron index would need rewriting every flush).
 *
 * The file uses HDF5's default (earliest) format without SWMR: a file that
 * was not closed cleanly (kill -9) then opens in any reader, where a SWMR /
 * latest-format file would be refused until `h5clear`.
 */
import h5wasm from 'h5wasm/node';
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import { stepsIn } from '../engine/steps.js';
import { KeptUnits, sampleStepAfter } from './kept-units.js';
import {
  EXACT_TEXT_SUFFIX,
  exactTextBytes,
  SPIKES_LAYOUT,
  textAttrValue,
  type ProbeLayout,
  type StoreChunk,
  type StoreLayout,
  type StoreMeta,
} from './store-format.js';

/** A text attribute (a label or a name the model gave) as store-format.ts says HDF5 can hold it: NULs as U+2400, and the exact bytes beside. */
function textAttr(obj: H5File | Dataset | Group, name: string, text: string): void {
  obj.create_attribute(name, textAttrValue(text));
  const exact = exactTextBytes(text);
  if (exact !== null) obj.create_attribute(name + EXACT_TEXT_SUFFIX, exact);
}

/** h5wasm's module (what h5wasm.ready resolves to). */
type H5Module = Awaited<typeof h5wasm.ready>;

interface StoredProbe {
  kind: 'dense';
  layout: ProbeLayout;
  ds: Dataset;
  /** Rows written to the dataset. */
  rows: number;
  cols: number;
  /** Samples appended but not yet written (row-major). */
  pending: Grow<Float64Array>;
}

interface SparseProbe {
  kind: 'spikes';
  layout: ProbeLayout;
  group: Group;
  /** Spikes per neuron so far (for the per-neuron layout written at close). */
  unitCounts: Float64Array;
  times: Dataset;
  units: Dataset;
  index: Dataset;
  cols: number;
  /** Samples written. */
  rows: number;
  /** Spikes written. */
  spikes: number;
  /** Spikes counted (written or pending): the next index entry's base. */
  counted: number;
  /** Appended, not yet written: spike times, units, and index entries. */
  pTimes: Grow<Float64Array>;
  pUnits: Grow<Int32Array>;
  pIndex: Grow<Float64Array>;
  /** Steps between samples. */
  period: number;
  /** Last step whose sample (if any) was written. */
  step: number;
  spikeValue: number;
  /** The spikes written so far grouped by neuron, for the layout at close (null once they outgrew the budget). */
  kept: KeptUnits | null;
  /** `step` when the pending batch began. */
  batchStep: number;
}

/** A growable typed array, reused between appends so that the steady state allocates nothing. */
class Grow<T extends Float64Array | Int32Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  /** Makes room for `n` values in all (keeping the contents). */
  reserve(n: number): void {
    if (n <= this.data.length) return;
    const next = this.make(Math.max(n, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  pushAll(v: ArrayLike<number>): void {
    if (this.length + v.length > this.data.length) {
      const next = this.make(Math.max(this.length + v.length, this.data.length * 2));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    this.data.set(v as T, this.length);
    this.length += v.length;
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
  /** Drops the contents; shrinks back if a burst made it large. */
  clear(): void {
    this.length = 0;
    if (this.data.length > 1 << 22) this.data = this.make(1 << 12);
  }
}

/**
 * Spikes gathered in memory per pass when the per-neuron layout is written at
 * close: 4 bytes each (the spike's step, which becomes its time only when
 * written), so 32 MB.
 */
const UNITS_PASS_SPIKES = 8 << 20;
/**
 * Spikes that a spike probe keeps grouped by neuron in memory while the run
 * goes (kept-units.ts), so that the layout at close needs no pass over the
 * file: 4 bytes each, as much as one pass at close holds (UNITS_PASS_SPIKES).
 * NEFSIM_KEEP_SPIKES overrides it (0: never keep, as the tests of the passes
 * need).
 */
function keepUnitsBudget(): number {
  const env = process.env['NEFSIM_KEEP_SPIKES'];
  const v = env === undefined || env === '' ? NaN : Number(env);
  return Number.isInteger(v) && v >= 0 ? v : UNITS_PASS_SPIKES;
}
/** Spikes (units, 4 bytes) and samples (index, 8 bytes) read back per HDF5 read, and times written per write, at close. */
const UNITS_BLOCK = 1 << 20;
/**
 * Spikes above which a probe gets no per-neuron layout at the end: each pass
 * reads every spike's unit back, so the work grows with the square of the
 * count (65 M spikes, an 800 MB file: 8 passes, 3 s and 80 MB more here; a
 * 2 GB file would take a minute). Readers then group spike_times by
 * spike_units themselves. Above the service's 20 M-spike read cap, so that
 * a few neurons of such a probe can be read over the whole run.
 */
const UNITS_MAX_SPIKES = unitsMaxSpikes();
/** NEFSIM_UNITS_MAX_SPIKES overrides UNITS_MAX_SPIKES (tests use a small one). */
function unitsMaxSpikes(): number {
  const env = process.env['NEFSIM_UNITS_MAX_SPIKES'];
  const v = env === undefined || env === '' ? NaN : Number(env);
  return Number.isInteger(v) && v >= 0 ? v : 64 << 20;
}

/** Bytes appended before they are written to the datasets even if no flush came (flushes write them too). */
const PENDING_BYTES = 8 << 20;

const f64 = (): Grow<Float64Array> => new Grow(new Float64Array(1 << 12), (n) => new Float64Array(n));

/** Bytes per HDF5 chunk that the store aims at (up to ~1 MB). */
const CHUNK_BYTES = 1 << 20;

/**
 * Writes probes.h5 from chunks of samples; knows nothing of the simulator,
 * so it runs on the run's thread (ProbeStore) or on a writer thread
 * (ThreadedProbeStore, store-thread.ts).
 */
export class ProbeWriter {
  private readonly probes: (StoredProbe | SparseProbe)[] = [];
  private readonly timeDs: Dataset;
  private stepsWritten = 0;
  /** Steps appended (written or pending). */
  private stepsCounted = 0;
  private flushedSteps = 0;

  private readonly dt: number;
  /** Steps the run will take (from its duration): how far the spikes kept so far project. */
  private readonly stepsTotal: number;

  constructor(
    private readonly file: H5File,
    layout: StoreLayout,
    meta: StoreMeta,
  ) {
    const f = file;
    const dt = (this.dt = layout.dt);
    this.stepsTotal = stepsIn(meta.duration, dt);
    f.create_attribute('engine_version', meta.engineVersion);
    f.create_attribute('dt', dt, null, '<d');
    f.create_attribute('seed', meta.seed, null, '<q'); // seeds reach 2^32 - 1: int64, not the int32 h5wasm would guess
    f.create_attribute('duration', meta.duration, null, '<d');
    textAttr(f, 'network', layout.network);
    this.timeDs = f.create_dataset({ name: 'time', data: new Float64Array(0), shape: [0], maxshape: [null], chunks: [16384], dtype: '<d' });
    this.timeDs.create_attribute('units', 's');
    const group = f.create_group('probes');
    for (const pl of layout.probes) {
      const { name, cols } = pl;
      const attrs = (obj: Dataset | Group): void => {
        textAttr(obj, 'label', pl.label);
        textAttr(obj, 'target', pl.target);
        obj.create_attribute('attr', pl.attr);
        obj.create_attribute('dt', dt, null, '<d');
        obj.create_attribute('sample_every', pl.sampleEvery, null, '<d');
        obj.create_attribute('index', pl.index);
      };
      if (pl.spikes) {
        const g = group.create_group(name);
        attrs(g);
        const spikeValue = pl.spikeValue;
        g.create_attribute('layout', SPIKES_LAYOUT);
        g.create_attribute('units', 'spike times in s; dense view: spikes x spike_value (1/s)');
        g.create_attribute('n_neurons', cols);
        g.create_attribute('spike_value', spikeValue, null, '<d');
        const mk = (dsName: string, dtype: string, chunk: number): Dataset =>
          g.create_dataset({
            name: dsName,
            data: dtype === '<q' ? new BigInt64Array(0) : dtype === '<i' ? new Int32Array(0) : new Float64Array(0),
            shape: [0],
            maxshape: [null],
            chunks: [chunk],
            dtype,
          });
        const times = mk('spike_times', '<d', 65536);
        times.create_attribute('units', 's');
        const units = mk('spike_units', '<i', 65536);
        const idx = mk('spike_times_index', '<q', 16384);
        idx.create_attribute('description', "end of each sample's spikes in spike_times and spike_units");
        this.probes.push({
          kind: 'spikes',
          layout: pl,
          group: g,
          unitCounts: new Float64Array(cols),
          times,
          units,
          index: idx,
          cols,
          rows: 0,
          spikes: 0,
          counted: 0,
          pTimes: f64(),
          pUnits: new Grow(new Int32Array(1 << 12), (n) => new Int32Array(n)),
          pIndex: f64(),
          period: pl.sampleEvery / dt,
          step: 0,
          spikeValue,
          kept: keepUnitsBudget() > 0 ? new KeptUnits(cols, keepUnitsBudget()) : null,
          batchStep: 0,
        });
        continue;
      }
      const chunkRows = Math.max(1, Math.min(8192, Math.floor(CHUNK_BYTES / 8 / Math.max(1, cols))));
      const ds = group.create_dataset({
        name,
        data: new Float64Array(0),
        shape: [0, cols],
        maxshape: [null, cols],
        chunks: [chunkRows, cols],
        dtype: '<d',
      });
      attrs(ds);
      ds.create_attribute('units', pl.units);
      this.probes.push({ kind: 'dense', layout: pl, ds, rows: 0, cols, pending: f64() });
    }
    f.flush();
  }

  /** Creates `path` (overwriting it) with one dataset or group per probe of the layout. */
  static async create(path: string, layout: StoreLayout, meta: StoreMeta): Promise<ProbeWriter> {
    hdf5 = await h5wasm.ready;
    return checked(() => new ProbeWriter(new h5wasm.File(path, 'w'), layout, meta));
  }

  /** Bytes of the store's buffers (data appended but not yet written, and their spare room): bounded, whatever the run's length. */
  get bufferedBytes(): number {
    let b = 0;
    for (const sp of this.probes) {
      b +=
        sp.kind === 'dense'
          ? sp.pending.data.byteLength
          : sp.pTimes.data.byteLength + sp.pUnits.data.byteLength + sp.pIndex.data.byteLength;
    }
    return b;
  }

  /** Bytes appended but not yet written. */
  private get pendingBytes(): number {
    let b = 0;
    for (const sp of this.probes) b += sp.kind === 'dense' ? sp.pending.length * 8 : sp.pTimes.length * 12 + sp.pIndex.length * 8;
    return b;
  }

  /** Steps whose data is flushed to disk. */
  get stepsFlushed(): number {
    return this.flushedSteps;
  }

  /** Appends a chunk of samples, and the times of the steps up to its completedSteps. */
  write(chunk: StoreChunk): void {
    checked(() => this.append(chunk));
  }

  private append(chunk: StoreChunk): void {
    for (const sp of this.probes) {
      const c = chunk.probes[sp.layout.index];
      if (!c || c.rows === 0) continue;
      if (sp.kind === 'spikes') {
        if (c.kind === 'spikes') this.appendSparseSpikes(sp, c);
        else this.appendSpikes(sp, c.data, c.rows);
      } else if (c.kind === 'dense') {
        sp.pending.pushAll(c.data);
      }
    }
    if (chunk.completedSteps > this.stepsCounted) this.stepsCounted = chunk.completedSteps;
    // HDF5 writes cost about a millisecond each whatever their size: batch them, up to a bound.
    if (this.pendingBytes >= PENDING_BYTES) this.writePending();
  }

  /** Writes what was appended to the datasets (not yet flushed to disk); with denseOnly, not the spike probes'. */
  private writePending(denseOnly = false): void {
    for (const sp of this.probes) {
      if (sp.kind === 'dense') {
        const rows = sp.pending.length / sp.cols;
        if (rows === 0) continue;
        const n = sp.rows;
        sp.ds.resize([n + rows, sp.cols]);
        sp.ds.write_slice(
          [
            [n, n + rows],
            [0, sp.cols],
          ],
          sp.pending.view(),
        );
        sp.rows += rows;
        sp.pending.clear();
        continue;
      }
      if (denseOnly) continue;
      const rows = sp.pIndex.length;
      if (rows === 0) continue;
      const n0 = sp.spikes;
      const end = n0 + sp.pTimes.length;
      if (end > n0) {
        sp.times.resize([end]);
        sp.times.write_slice([[n0, end]], sp.pTimes.view());
        sp.units.resize([end]);
        sp.units.write_slice([[n0, end]], sp.pUnits.view());
      }
      if (sp.kept) this.keepBatch(sp, sp.kept, rows, n0);
      sp.batchStep = sp.step;
      const r0 = sp.rows;
      sp.index.resize([r0 + rows]);
      sp.index.write_slice([[r0, r0 + rows]], toInt64(sp.pIndex.view()));
      sp.rows += rows;
      sp.spikes = end;
      sp.pTimes.clear();
      sp.pUnits.clear();
      sp.pIndex.clear();
    }
    const s0 = this.stepsWritten;
    const s1 = this.stepsCounted;
    if (s1 > s0) {
      const t = new Float64Array(s1 - s0);
      for (let i = 0; i < t.length; i++) t[i] = (s0 + 1 + i) * this.dt;
      this.timeDs.resize([s1]);
      this.timeDs.write_slice([[s0, s1]], t);
      this.stepsWritten = s1;
    }
  }

  /**
   * Keeps the pending batch's spikes by neuron (kept-units.ts) while the
   * run's spikes, as projected from those so far over its whole length, fit
   * the budget; else drops what was kept (the layout at close then reads
   * the file back).
   */
  private keepBatch(sp: SparseProbe, kept: KeptUnits, rows: number, base: number): void {
    const n = sp.pUnits.length;
    const projected = sp.step > 0 ? ((kept.spikes + n) / sp.step) * this.stepsTotal : 0;
    if (projected > kept.budget || !kept.add(sp.pUnits.data, n, sp.pIndex.data, base, rows, sp.batchStep, sp.period)) {
      sp.kept = null;
    }
  }

  /** The step of a spike probe's next sample: the next step s with s % period < 1 (as the simulator samples). */
  private static nextSampleStep(sp: SparseProbe): number {
    return (sp.step = sampleStepAfter(sp.step, sp.period));
  }

  /** Whether the first `n` values are all `one` (one spike each). */
  private static singleSpikes(values: Float64Array, n: number, one: number): boolean {
    for (let k = 0; k < n; k++) if (values[k] !== one) return false;
    return true;
  }

  /** Appends samples of a spike probe that the simulator recorded sparsely. */
  private appendSparseSpikes(sp: SparseProbe, d: { rows: number; units: Int32Array; values: Float64Array; rowEnds: Int32Array }): void {
    const times = sp.pTimes,
      units = sp.pUnits,
      index = sp.pIndex;
    const dt = this.dt,
      one = sp.spikeValue,
      counts = sp.unitCounts;
    const su = d.units,
      sv = d.values,
      ends = d.rowEnds;
    if (d.rows > 0 && ProbeWriter.singleSpikes(sv, ends[d.rows - 1]!, one)) {
      // every value one spike (as from LIF): the units as they are, each sample's time over its spikes
      const n = ends[d.rows - 1]!;
      const len0 = times.length;
      times.reserve(len0 + n);
      units.reserve(len0 + n);
      index.reserve(index.length + d.rows);
      units.data.set(n === su.length ? su : su.subarray(0, n), len0);
      for (let k = 0; k < n; k++) counts[su[k]!]!++;
      const td = times.data;
      for (let r = 0, k = 0; r < d.rows; r++) {
        const t = ProbeWriter.nextSampleStep(sp) * dt;
        const e = ends[r]!;
        if (e > k) td.fill(t, len0 + k, len0 + e);
        k = e;
        index.push(sp.counted + e);
      }
      times.length = units.length = len0 + n;
      sp.counted += n;
      return;
    }
    // one entry per spike: as many as the values' spike counts, usually one each, which the room
    // reserved here holds; a neuron with k spikes in one step makes room for its k entries
    times.reserve(times.length + su.length);
    units.reserve(units.length + su.length);
    index.reserve(index.length + d.rows);
    let td = times.data,
      ud = units.data;
    let len = times.length;
    let end = sp.counted;
    for (let r = 0, k = 0; r < d.rows; r++) {
      const t = ProbeWriter.nextSampleStep(sp) * dt;
      const len0 = len;
      for (const rowEnd = ends[r]!; k < rowEnd; k++) {
        const j = su[k]!,
          v = sv[k]!;
        if (v === one) {
          td[len] = t;
          ud[len++] = j;
          counts[j]!++;
          continue;
        }
        len = ProbeWriter.appendRepeated(sp, len, t, j, Math.max(1, Math.round(v / one)), su.length - k);
        td = times.data;
        ud = units.data;
      }
      end += len - len0;
      index.push(end);
    }
    times.length = units.length = len;
    sp.counted = end;
  }

  /**
   * k spikes of one neuron in one step (SpikingRectifiedLinear): k entries
   * at `len`, with room kept for `more` entries after them (the rest of the
   * step's spikes); returns the new length. The arrays may move.
   */
  private static appendRepeated(sp: SparseProbe, len: number, t: number, j: number, n: number, more: number): number {
    const times = sp.pTimes;
    const units = sp.pUnits;
    times.length = units.length = len;
    times.reserve(len + n + more);
    units.reserve(len + n + more);
    const td = times.data;
    const ud = units.data;
    for (let q = 0; q < n; q++) {
      td[len] = t;
      ud[len++] = j;
    }
    sp.unitCounts[j]! += n;
    return len;
  }

  /** Appends `rows` dense samples of a spike probe as sparse spikes. */
  private appendSpikes(sp: SparseProbe, data: Float64Array, rows: number): void {
    const times = sp.pTimes;
    const units = sp.pUnits;
    const index = sp.pIndex;
    const dt = this.dt;
    const cols = sp.cols;
    const one = sp.spikeValue;
    let end = sp.counted;
    for (let r = 0; r < rows; r++) {
      // The step of this sample: the next step s with s % period < 1 (as the simulator samples).
      const t = ProbeWriter.nextSampleStep(sp) * dt;
      const base = r * cols;
      // Room for one spike per neuron, so the hot loop writes straight into the arrays.
      times.reserve(times.length + cols);
      units.reserve(units.length + cols);
      let td = times.data;
      let ud = units.data;
      let len = times.length;
      const len0 = len;
      const counts = sp.unitCounts;
      for (let j = 0; j < cols; j++) {
        const v = data[base + j]!;
        if (v === 0) continue;
        if (v === one) {
          td[len] = t;
          ud[len++] = j;
          counts[j]!++;
          continue;
        }
        len = ProbeWriter.appendRepeated(sp, len, t, j, Math.max(1, Math.round(v / one)), cols);
        td = times.data;
        ud = units.data;
      }
      times.length = units.length = len;
      end += len - len0;
      index.push(end);
    }
    sp.counted = end;
  }

  /**
   * Writes the dense probes' appended samples and the steps' times to the
   * datasets now, without flushing to disk: what a writer thread does
   * whenever it has nothing else to do, so that flushes and the close find
   * little left to write. Spike probes keep batching to PENDING_BYTES or
   * the next flush: each batch they write is also a segment of their
   * per-neuron spikes (kept-units.ts), and batches of a chunk each made a
   * 0.7 s run with 5.5 M spikes about 3% slower (bench/probe-overhead.mjs,
   * 2026-11-23).
   */
  writeAppended(): void {
    checked(() => this.writePending(true));
  }

  /** Writes everything appended so far to disk, so that readers see it. */
  flush(): void {
    checked(() => this.flushNow());
  }

  private flushNow(): void {
    this.writePending();
    this.file.flush();
    this.flushedSteps = this.stepsWritten;
  }

  /**
   * Ends the file: writes what is pending, then for each spike probe the
   * per-neuron NWB layout (units/spike_times grouped by neuron, and
   * units/spike_times_index, the end of each neuron's spikes), then flushes
   * and closes.
   */
  close(): void {
    checked(() => this.closeNow());
  }

  private closeNow(): void {
    this.flushNow();
    for (const sp of this.probes) if (sp.kind === 'spikes') this.writeUnits(sp);
    this.file.flush();
    this.file.close();
  }

  /**
   * The per-neuron layout of a spike probe, in passes over the time-ordered
   * spikes, each pass for the neurons whose spikes fit UNITS_PASS_SPIKES, so
   * memory stays bounded however long the run was. The neurons' spike counts
   * were kept as the spikes came, so a pass only scatters: it reads back the
   * units (spike_units) and the sample ends (spike_times_index) in blocks, and
   * takes each spike's time from its sample's step, as appendSparseSpikes did
   * (step * dt, the same double as in spike_times), instead of reading
   * spike_times. Its `complete` attribute is written last: a file cut short
   * during this step shows it missing.
   */
  private writeUnits(sp: SparseProbe): void {
    const total = sp.spikes;
    if (total > UNITS_MAX_SPIKES) {
      sp.group.create_attribute(
        'units_skipped',
        `${total} spikes, more than ${UNITS_MAX_SPIKES}: no per-neuron layout; group spike_times by spike_units`,
      );
      return;
    }
    const cols = sp.cols;
    const ends = new Float64Array(cols);
    let acc = 0;
    for (let u = 0; u < cols; u++) ends[u] = acc += sp.unitCounts[u]!;
    const ug = sp.group.create_group('units');
    const times = ug.create_dataset({
      name: 'spike_times',
      data: new Float64Array(0),
      shape: [0],
      maxshape: [null],
      chunks: [65536],
      dtype: '<d',
    });
    times.create_attribute('units', 's');
    times.resize([total]);
    ug.create_dataset({
      name: 'spike_times_index',
      data: toInt64(ends),
      shape: [cols],
      dtype: '<q',
    }).create_attribute('description', "end of each neuron's spikes in units/spike_times (NWB VectorIndex)");
    if (sp.kept && sp.kept.spikes === total) {
      // kept while the run went: written in blocks, neuron by neuron
      const t = new Float64Array(Math.max(1, Math.min(total, UNITS_BLOCK)));
      let at = 0;
      sp.kept.times(this.dt, t, (n) => {
        times.write_slice([[at, at + n]], n === t.length ? t : t.subarray(0, n));
        at += n;
      });
      sp.kept = null;
    } else {
      this.gatherUnits(sp, ends, times);
    }
    ug.create_attribute('complete', 1);
  }

  /**
   * The per-neuron layout gathered from the file, in passes over the
   * time-ordered spikes, each pass for the neurons whose spikes fit
   * UNITS_PASS_SPIKES: when the spikes were not kept by neuron during the run.
   */
  private gatherUnits(sp: SparseProbe, ends: Float64Array, times: Dataset): void {
    const cols = sp.cols;
    // the passes: neurons [u0, u1) with spikes [start, stop) of units/spike_times
    const passes: { u0: number; u1: number; start: number; stop: number }[] = [];
    let most = 0;
    for (let u0 = 0; u0 < cols;) {
      const start = u0 > 0 ? ends[u0 - 1]! : 0;
      let u1 = u0 + 1;
      while (u1 < cols && ends[u1]! - start <= UNITS_PASS_SPIKES) u1++;
      const stop = ends[u1 - 1]!;
      if (stop > start) passes.push({ u0, u1, start, stop });
      most = Math.max(most, stop - start);
      u0 = u1;
    }
    if (passes.length === 0) return;
    // steps gathered as uint32 (a step past 2^32 - 1 would need float64 to stay exact)
    const out = sp.step <= 0xffffffff ? new Uint32Array(most) : new Float64Array(most);
    const t = new Float64Array(Math.min(most, UNITS_BLOCK));
    const dt = this.dt;
    for (const { u0, u1, start, stop } of passes) {
      const cursor = new Int32Array(u1 - u0);
      for (let u = u0 + 1; u < u1; u++) cursor[u - u0] = ends[u - 1]! - start;
      this.scatterSteps(sp, out, cursor, u0, u1 - u0 === cols);
      for (let i0 = 0; i0 < stop - start; i0 += t.length) {
        const n = Math.min(t.length, stop - start - i0);
        stepsToTimes(out, i0, n, dt, t);
        times.write_slice([[start + i0, start + i0 + n]], n === t.length ? t : t.subarray(0, n));
      }
    }
  }

  /**
   * One pass of writeUnits: puts the step of every spike of neurons
   * [u0, u0 + cursor.length) at its neuron's cursor in `out` (then moves the
   * cursor on), in time order, reading units and sample ends back in blocks.
   */
  private scatterSteps(sp: SparseProbe, out: Uint32Array | Float64Array, cursor: Int32Array, u0: number, all: boolean): void {
    const total = sp.spikes,
      rows = sp.rows,
      period = sp.period,
      width = cursor.length;
    const rowEnds = new Float64Array(Math.min(rows, UNITS_BLOCK));
    let units: Int32Array = new Int32Array(0);
    let b0 = 0, // units holds spikes [b0, b1)
      b1 = 0;
    let k = 0; // the next spike
    let step = 0;
    for (let r0 = 0; r0 < rows && k < total; r0 += rowEnds.length) {
      const r1 = Math.min(rows, r0 + rowEnds.length);
      fromInt64(sp.index.slice([[r0, r1]]) as BigInt64Array, rowEnds);
      for (let r = 0; r < r1 - r0; r++) {
        step = sampleStepAfter(step, period);
        const e = Math.min(rowEnds[r]!, total);
        while (k < e) {
          if (k >= b1) {
            b0 = k;
            b1 = Math.min(total, k + UNITS_BLOCK);
            units = sp.units.slice([[b0, b1]]) as Int32Array;
          }
          const stop = (e < b1 ? e : b1) - b0;
          let i = k - b0;
          if (all) {
            for (; i < stop; i++) out[cursor[units[i]!]!++] = step;
          } else {
            for (; i < stop; i++) {
              const u = units[i]! - u0;
              if (u >>> 0 < width) out[cursor[u]!++] = step;
            }
          }
          k = i + b0;
        }
      }
    }
  }
}

/** Times of `n` steps from steps[i0]: step * dt, as the spikes' times in spike_times. */
function stepsToTimes(steps: Uint32Array | Float64Array, i0: number, n: number, dt: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) out[i] = steps[i0 + i]! * dt;
}

/** Whole numbers (0 <= x < 2^53) as int64, without a BigInt each. */
function toInt64(x: Float64Array): BigInt64Array {
  const out = new BigInt64Array(x.length);
  const w = new Uint32Array(out.buffer);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const lo = v % 4294967296;
    w[2 * i] = lo;
    w[2 * i + 1] = (v - lo) / 4294967296;
  }
  return out;
}

/** int64 values (0 <= x < 2^53) into `out`, without a BigInt each. */
function fromInt64(x: BigInt64Array, out: Float64Array): void {
  const w = new Uint32Array(x.buffer, x.byteOffset, 2 * x.length);
  for (let i = 0; i < x.length; i++) out[i] = w[2 * i]! + w[2 * i + 1]! * 4294967296;
}

/** h5wasm's module, once loaded (ProbeWriter.create). */
let hdf5: H5Module | undefined;

/**
 * Runs HDF5 calls with h5wasm's throwing error handler, so that a failed
 * write (a full disk, a quota, a file size limit) throws, with the reason:
 * by default HDF5 prints its error stack (HDF5-DIAG) to stderr and h5wasm
 * goes on as if the data were written, and a run whose probes.h5 lost its
 * data ended "done". The handler is switched off again after, so readers on
 * the same thread keep h5wasm's default.
 */
function checked<T>(fn: () => T): T {
  const m = hdf5;
  if (!m) return fn();
  m.activate_throwing_error_handler();
  try {
    return fn();
  } catch (err) {
    throw hdf5Error(err);
  } finally {
    m.deactivate_throwing_error_handler();
  }
}

/**
 * An HDF5 error stack as one line: the system's reason, if the stack has
 * one, and HDF5's outermost call and message ("File too large (HDF5:
 * H5Dwrite(): can't synchronously write data)"). Other errors as they are.
 */
export function hdf5Error(err: unknown): Error {
  const text = err instanceof Error ? err.message : String(err);
  const top = /#000: .* in (\S+\(\)): (.*)/.exec(text);
  if (!top) return err instanceof Error ? err : new Error(text);
  const reason = /error message = '([^']+)'/.exec(text);
  return new Error(`${reason ? `${reason[1]} ` : ''}(HDF5: ${top[1]}: ${top[2]!.trim()})`);
}
