/**
 * Reading a run's probes.h5 (see ../runs/store-writer.ts for the layout), also while
 * the run writes it: rows are limited to the steps flushed (status.json's
 * stepsFlushed), and a read that races a flush is retried.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import { isBatchFolder } from '../runs/batch.js';
import { currentStatus, FILES } from '../runs/folder.js';
import { readChecked, stepsOnDisk } from '../runs/h5-read.js';
import { EXACT_TEXT_SUFFIX, textFromAttrs } from '../runs/store-format.js';
import { timeRange } from '../post/decimate.js';
import { ProtocolError } from './protocol.js';
import { IrregularSamples } from './sample-steps.js';

export interface ProbeInfo {
  name: string;
  label: string;
  target: string;
  attr: string;
  units: string;
  /** [samples, columns] readable now. */
  shape: [number, number];
  dt: number;
  sampleEvery: number;
  /** 'dense' [samples, columns], or 'spikes' (sparse NWB-style spike times; fetched as a dense view). */
  layout: 'dense' | 'spikes';
}

export interface ProbeSlice {
  t: Float64Array;
  y: Float64Array;
  rows: number;
  cols: number;
  totalRows: number;
  totalCols: number;
  dt: number;
  label: string;
  /** The sample times are not (i + 1) * sample_every (it is not a whole number of steps): `t` holds them. */
  irregular?: boolean;
  /** The time of the probe's last sample (of totalRows), when there is one. */
  tLast?: number;
  /** The attribute probed ('decodedOutput', 'output', 'voltage', ...), '' when the file does not say. */
  attr?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type H5 = typeof import('h5wasm/node').default;
let h5wasm: H5;
let loading: Promise<H5> | undefined;

/**
 * h5wasm is loaded on first use: an idle service need not hold its
 * WebAssembly module. The service also starts loading it when a client
 * lists runs (the Runs panel opened): loading takes about 0.5 s here, which
 * would otherwise fall on the first probe a user plots.
 */
export function loadH5(): Promise<H5> {
  // one load, whoever asks first: a caller never sees the module before it is ready
  loading ??= (async () => {
    const m = (await import('h5wasm/node')).default;
    await m.ready;
    h5wasm = m;
    return m;
  })().catch((err: unknown) => {
    loading = undefined; // the next request tries again
    throw err;
  });
  return loading;
}

/**
 * A batch (trials or a sweep) has no probes of its own: its trials have. Its folder's status.json is a
 * batch's, which read as a run's said "status.json is damaged: its time is missing".
 */
function notBatch(dir: string): void {
  if (isBatchFolder(dir)) {
    const name = basename(dir);
    throw new ProtocolError('invalid_params', `${name} is a batch: its probes are its trials', e.g. run '${name}/trial-000'`);
  }
}

/**
 * The run of a run folder as the service names it (`batch/trial-000` for a batch's trial), for its
 * replies: they said 'this run', naming none (a client with several requests under way could not tell).
 */
function runOf(dir: string): string {
  const parent = dirname(dir);
  return `run '${isBatchFolder(parent) ? `${basename(parent)}/` : ''}${basename(dir)}'`;
}

async function withFile<T>(dir: string, f: (file: H5File, stepsFlushed: number) => T): Promise<T> {
  notBatch(dir);
  const run = runOf(dir);
  await loadH5();
  const path = join(dir, FILES.probes);
  // h5wasm's own message for a missing or foreign file is "error - name not defined!"
  if (!existsSync(path) || !isHdf5(path)) {
    // (a queued trial of a batch, or a run in its first moments: the same code as a queued run's)
    const { state, stepsFlushed } = currentStatus(dir);
    if (state === 'queued') throw new ProtocolError('conflict', `${run} has not started yet: it has no data`);
    // one that has written steps to it: the file was replaced or deleted under it (a conflict said to wait)
    if (state === 'running' && stepsFlushed > 0)
      throw new ProtocolError(
        'io_error',
        `${run} has written ${stepsFlushed} steps to its ${FILES.probes}, which ${
          existsSync(path) ? 'is no longer an HDF5 file (replaced, or damaged?)' : 'is gone (deleted or moved?)'
        }`,
      );
    if (state === 'running') throw new ProtocolError('conflict', `${run} has started, but its ${FILES.probes} is not written yet`);
    throw new ProtocolError(
      'io_error',
      existsSync(path)
        ? `cannot read ${FILES.probes} of ${run}: not an HDF5 file, or damaged`
        : `${run} has no ${FILES.probes} (${currentStatus(dir).stepsFlushed > 0 ? 'deleted?' : 'it ended before it wrote any'})`,
    );
  }
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const { live, steps } = stepsOnDisk(dir);
    try {
      // a run still writing: a read that races its flush may print HDF5's errors and return garbage (h5-read.ts);
      // a run that has ended: HDF5's errors mean a damaged file, said in one line. The close is checked too
      // (closing a file HDF5 could not open prints its error stack).
      return readChecked(() => {
        const file: H5File = new h5wasm.File(path, 'r');
        try {
          return f(file, steps);
        } finally {
          try {
            file.close();
          } catch {
            // already closed
          }
        }
      });
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      lastErr = err;
      if (!live) break; // nothing will change: no use trying again
      await sleep(50 * (attempt + 1));
    }
  }
  throw new ProtocolError(
    'io_error',
    `cannot read ${FILES.probes} of ${run}: ${lastErr instanceof Error && !/name not defined/.test(lastErr.message) ? lastErr.message : 'not an HDF5 file, or damaged'}`,
  );
}

/** HDF5's signature at the start of the file (where nefsim's store puts its superblock); h5wasm opens other files without a word. */
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

function isHdf5(path: string): boolean {
  const head = Buffer.alloc(8);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return readSync(fd, head, 0, 8, 0) === 8 && head.equals(HDF5_SIGNATURE);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

type H5Obj = Dataset | Group;

function attr(o: H5Obj, name: string): unknown {
  return o.attrs[name]?.value;
}

/** A text attribute of the model's (label, target): exact, also with a NUL (see textFromAttrs). */
function textAttr(o: H5Obj, name: string): string {
  return textFromAttrs(attr(o, name), attr(o, name + EXACT_TEXT_SUFFIX));
}

function isSparse(o: H5Obj): o is Group {
  return o instanceof h5wasm.Group && attr(o, 'layout') === 'spikes';
}

function toNumbers(v: unknown): Float64Array {
  if (v instanceof Float64Array) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float64Array.from(v, (x) => Number(x));
  if (ArrayBuffer.isView(v)) return Float64Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return Float64Array.from(v, Number);
  return new Float64Array(0);
}

function sub(g: Group, name: string): Dataset {
  const d = g.get(name);
  if (!d || !(d instanceof h5wasm.Dataset)) throw new ProtocolError('io_error', `probes.h5: the spike group has no ${name}`);
  return d;
}

/** Samples and columns of a probe (dense dataset, or sparse spike group: samples = length of spike_times_index). */
function shapeOf(o: H5Obj): [number, number] {
  if (isSparse(o)) return [sub(o, 'spike_times_index').shape?.[0] ?? 0, Number(attr(o, 'n_neurons'))];
  const ds = o as Dataset;
  const sh = ds.shape ?? [0, 0];
  return [sh[0] ?? 0, sh[1] ?? 1];
}

function info(o: H5Obj, name: string, stepsFlushed: number): ProbeInfo {
  const [rows, cols] = shapeOf(o);
  const dt = Number(attr(o, 'dt'));
  const every = Number(attr(o, 'sample_every'));
  // samples are at the steps ceil(k * period), k = 1, 2, ...: floor(steps / period) of them in the steps flushed
  // (a period of 2.5 steps rounded to 3 left a sixth of a running run's samples out)
  const period = Math.max(1, every / dt);
  const readable = Math.min(rows, Math.floor(stepsFlushed / period + 1e-9));
  return {
    name,
    label: textAttr(o, 'label'),
    target: textAttr(o, 'target'),
    attr: String(attr(o, 'attr') ?? ''),
    units: String(attr(o, 'units') ?? ''),
    shape: [readable, cols],
    dt,
    sampleEvery: every,
    layout: isSparse(o) ? 'spikes' : 'dense',
  };
}

function probeGroup(file: H5File): Group {
  const g = file.get('probes');
  if (!g || !(g instanceof h5wasm.Group)) throw new ProtocolError('io_error', 'probes.h5 has no /probes group');
  return g;
}

export function listRunProbes(dir: string): Promise<ProbeInfo[]> {
  return withFile(dir, (file, flushed) => {
    const g = probeGroup(file);
    // in the model's order (each probe's 'index' attribute), as a session's simulation lists them; HDF5 lists names sorted
    const objs = g.keys().map((k) => ({ k, o: g.get(k) as H5Obj }));
    const order = (o: H5Obj): number => {
      const i = Number(attr(o, 'index'));
      return Number.isFinite(i) ? i : Infinity;
    };
    objs.sort((a, b) => order(a.o) - order(b.o));
    return objs.map(({ k, o }) => info(o, k, flushed));
  });
}

/** Most values a dense view of sparse spikes may have (ask for fewer rows or columns). */
const MAX_DENSE = 50_000_000;

/**
 * Most spikes one request reads (the service reads on its one thread: 20 M spikes are about 0.3 s and
 * 250 MB at most; a long run's whole spike list, hundreds of millions, stalled every client for
 * seconds and took gigabytes).
 */
const MAX_SPIKES_READ = Number(process.env['NEFSIM_MAX_SPIKES_READ']) || 20_000_000;

/**
 * Dense rows [i0, i1), columns [c0, c1) of a sparse spike group: spikes per sample x spike_value.
 * The time-major spike list is read when the window holds at most MAX_SPIKES_READ spikes; else, for a
 * run that ended with its per-neuron layout (units/), only the asked neurons' spikes are read.
 */
function denseSpikes(g: Group, i0: number, i1: number, c0: number, c1: number, rowOf: (t: number) => number): Float64Array {
  const cols = c1 - c0;
  if ((i1 - i0) * cols > MAX_DENSE)
    throw new ProtocolError(
      'limit',
      `a dense view of ${i1 - i0} x ${cols} spike samples is too large; ask for a time range or columns (or post.spikes)`,
    );
  const out = new Float64Array((i1 - i0) * cols);
  if (i1 <= i0) return out;
  const idx = toNumbers(sub(g, 'spike_times_index').slice([[Math.max(0, i0 - 1), i1]]));
  const first = i0 === 0 ? 0 : idx[0]!;
  const ends = i0 === 0 ? idx : idx.subarray(1);
  const last = ends[ends.length - 1] ?? first;
  if (last <= first) return out;
  const value = Number(attr(g, 'spike_value'));
  if (last - first > MAX_SPIKES_READ) {
    if (unitsSpikes(g, i0, i1, c0, c1, rowOf, value, out)) return out;
    throw new ProtocolError(
      'limit',
      `this window holds ${last - first} spikes of all ${Number(attr(g, 'n_neurons'))} neurons, more than ${MAX_SPIKES_READ} read at once; ` +
        (g.attrs['units_skipped'] !== undefined
          ? 'ask for a shorter time range (this probe has no per-neuron layout to read a few neurons from: ' +
            `${String(attr(g, 'units_skipped')).split(':')[0]})`
          : 'ask for a shorter time range'),
    );
  }
  const units = toNumbers(sub(g, 'spike_units').slice([[first, last]]));
  let k = 0;
  for (let r = 0; r < ends.length; r++) {
    const end = ends[r]! - first;
    for (; k < end; k++) {
      const u = units[k]!;
      if (u >= c0 && u < c1) out[r * cols + (u - c0)] += value;
    }
  }
  return out;
}

/**
 * The neurons [c0, c1) from the per-neuron layout (units/spike_times, units/spike_times_index, written
 * when a run ends) into `out`, rows [i0, i1): false where there is none, or they hold more than
 * MAX_SPIKES_READ spikes. `rowOf` gives the sample of a spike's time.
 */
function unitsSpikes(
  g: Group,
  i0: number,
  i1: number,
  c0: number,
  c1: number,
  rowOf: (t: number) => number,
  value: number,
  out: Float64Array,
): boolean {
  const u = g.get('units');
  if (!u || !(u instanceof h5wasm.Group)) return false;
  const ti = u.get('spike_times_index'),
    ts = u.get('spike_times');
  if (!(ti instanceof h5wasm.Dataset) || !(ts instanceof h5wasm.Dataset)) return false;
  const ends = toNumbers(ti.slice([[Math.max(0, c0 - 1), c1]]));
  const start = c0 === 0 ? 0 : ends[0]!;
  const unitEnds = c0 === 0 ? ends : ends.subarray(1);
  const stop = unitEnds[unitEnds.length - 1] ?? start;
  if (stop - start > MAX_SPIKES_READ) return false;
  if (stop <= start) return true;
  const times = toNumbers(ts.slice([[start, stop]]));
  const cols = c1 - c0;
  let k = 0;
  for (let c = 0; c < cols; c++) {
    const end = unitEnds[c]! - start;
    for (; k < end; k++) {
      const row = rowOf(times[k]!);
      if (row >= i0 && row < i1) out[(row - i0) * cols + c] += value;
    }
  }
  return true;
}

/** Whole probes of finished runs, kept decoded (most recently used last), so zooming into a long series only decimates. */
const cache = new Map<
  string,
  {
    stamp: string;
    t: Float64Array;
    y: Float64Array;
    rows: number;
    cols: number;
    dt: number;
    label: string;
    irregular?: boolean;
    attr?: string;
  }
>();
let cachedBytes = 0;
const CACHE_BYTES = 256 * 1024 * 1024;
/** Probes of finished runs found too large to cache (key -> file stamp). */
const tooBig = new Map<string, string>();

function cut(
  full: { t: Float64Array; y: Float64Array; rows: number; cols: number; dt: number; label: string; irregular?: boolean; attr?: string },
  t0: number | undefined,
  t1: number | undefined,
  columns: [number, number] | undefined,
): ProbeSlice {
  const { rows: n, cols } = full;
  const step = full.dt;
  let i0: number, i1: number;
  if (full.irregular) [i0, i1] = timeRange(full.t, t0 ?? -Infinity, t1 ?? Infinity);
  else {
    i0 = t0 === undefined ? 0 : Math.min(n, Math.max(0, Math.ceil(t0 / step - 1 - 1e-9)));
    i1 = t1 === undefined ? n : Math.max(i0, Math.min(n, Math.floor(t1 / step - 1 + 1e-9) + 1));
  }
  const c0 = columns ? Math.min(columns[0], cols) : 0;
  const c1 = columns ? Math.min(Math.max(columns[1], c0), cols) : cols;
  const rows = i1 - i0;
  const w = c1 - c0;
  let y: Float64Array;
  if (w === cols) y = full.y.subarray(i0 * cols, i1 * cols);
  else {
    y = new Float64Array(rows * w);
    for (let i = 0; i < rows; i++) y.set(full.y.subarray((i0 + i) * cols + c0, (i0 + i) * cols + c1), i * w);
  }
  return {
    t: full.t.subarray(i0, i1),
    y,
    rows,
    cols: w,
    totalRows: n,
    totalCols: cols,
    dt: step,
    label: full.label,
    ...(full.irregular ? { irregular: true } : {}),
    ...(n > 0 ? { tLast: full.t[n - 1]! } : {}),
    ...(full.attr !== undefined ? { attr: full.attr } : {}),
  };
}

/**
 * Samples of a probe in [t0, t1] (seconds), columns [c0, c1). Sample i is at t = (i + 1) * sample_every when
 * that is a whole number of steps, else at the steps the simulator sampled (IrregularSamples).
 */
export async function readRunProbe(
  dir: string,
  name: string,
  t0: number | undefined,
  t1: number | undefined,
  columns: [number, number] | undefined,
): Promise<ProbeSlice> {
  notBatch(dir);
  const status = currentStatus(dir);
  const finished = status.state === 'done' || status.state === 'failed' || status.state === 'cancelled';
  if (!finished) return readRunProbeFile(dir, name, t0, t1, columns);
  const key = `${dir}\0${name}`;
  let stamp: string;
  try {
    const st = statSync(join(dir, FILES.probes));
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    return readRunProbeFile(dir, name, t0, t1, columns);
  }
  let hit = cache.get(key);
  if (hit && hit.stamp !== stamp) {
    cache.delete(key);
    cachedBytes -= hit.t.byteLength + hit.y.byteLength;
    hit = undefined;
  }
  if (!hit) {
    // A probe too large to keep is read window by window: reading it whole would stall every
    // client (h5wasm reads on this thread) and, for spikes, exceed the dense view's bound.
    if (tooBig.get(key) === stamp) return readRunProbeFile(dir, name, t0, t1, columns);
    const [rows, cols] = await withFile(dir, (file) => {
      const o = probeGroup(file).get(name) as H5Obj | null;
      return o ? shapeOf(o) : [0, 0];
    });
    if (8 * rows * (cols + 1) > CACHE_BYTES / 4) {
      tooBig.set(key, stamp);
      return readRunProbeFile(dir, name, t0, t1, columns);
    }
    let all: ProbeSlice;
    try {
      all = await readRunProbeFile(dir, name, undefined, undefined, undefined);
    } catch (err) {
      // more spikes than one read takes (MAX_SPIKES_READ): read window by window, as a large probe
      if (!(err instanceof ProtocolError && err.code === 'limit')) throw err;
      tooBig.set(key, stamp);
      return readRunProbeFile(dir, name, t0, t1, columns);
    }
    const bytes = all.t.byteLength + all.y.byteLength;
    if (bytes > CACHE_BYTES / 4) return cut({ ...all, rows: all.rows }, t0, t1, columns);
    hit = {
      stamp,
      t: all.t,
      y: all.y,
      rows: all.rows,
      cols: all.cols,
      dt: all.dt,
      label: all.label,
      irregular: all.irregular,
      attr: all.attr,
    };
    cache.set(key, hit);
    cachedBytes += bytes;
    for (const [k, v] of cache) {
      if (cachedBytes <= CACHE_BYTES) break;
      cache.delete(k);
      cachedBytes -= v.t.byteLength + v.y.byteLength;
    }
  } else {
    cache.delete(key);
    cache.set(key, hit);
  }
  return cut(hit, t0, t1, columns);
}

function readRunProbeFile(
  dir: string,
  name: string,
  t0: number | undefined,
  t1: number | undefined,
  columns: [number, number] | undefined,
): Promise<ProbeSlice> {
  return withFile(dir, (file, flushed) => {
    const g = probeGroup(file);
    if (!g.keys().includes(name))
      throw new ProtocolError('not_found', `no probe '${name}' in ${runOf(dir)} (probes: ${g.keys().join(', ') || 'none'})`);
    const o = g.get(name) as H5Obj;
    const pi = info(o, name, flushed);
    const [rowsNow, cols] = pi.shape;
    const step = pi.sampleEvery;
    const times = IrregularSamples.of(rowsNow, pi.dt, step);
    let i0: number, i1: number;
    if (times) [i0, i1] = times.range(t0 ?? -Infinity, t1 ?? Infinity);
    else {
      i0 = t0 === undefined ? 0 : Math.max(0, Math.ceil(t0 / step - 1 - 1e-9));
      i1 = t1 === undefined ? rowsNow : Math.min(rowsNow, Math.floor(t1 / step - 1 + 1e-9) + 1);
    }
    const c0 = columns ? Math.min(columns[0], cols) : 0;
    const c1 = columns ? Math.min(Math.max(columns[1], c0), cols) : cols;
    const rows = Math.max(0, i1 - i0);
    const t = times ? times.times(i0, i0 + rows) : new Float64Array(rows);
    if (!times) for (let i = 0; i < rows; i++) t[i] = (i0 + i + 1) * step;
    // the sample of a spike at time x (a spike probe's per-neuron layout holds times)
    const rowOf = times ? (x: number) => times.rowOf(x) : (x: number) => Math.round(x / step) - 1;
    let y: Float64Array = new Float64Array(0);
    if (rows > 0 && c1 > c0) {
      if (isSparse(o)) y = denseSpikes(o, i0, i1, c0, c1, rowOf);
      else
        y = toNumbers(
          (o as Dataset).slice([
            [i0, i1],
            [c0, c1],
          ]),
        );
    }
    return {
      t,
      y,
      rows,
      cols: c1 - c0,
      totalRows: rowsNow,
      totalCols: cols,
      dt: step,
      label: pi.label,
      attr: pi.attr,
      ...(times ? { irregular: true } : {}),
      ...(rowsNow > 0 ? { tLast: times ? times.last() : rowsNow * step } : {}),
    };
  });
}
