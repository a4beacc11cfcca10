/**
 * `nefsim export`: a run's probes.h5 as NumPy (.npz) or CSV, read and written
 * block by block (memory for one block, whatever the run's length).
 *
 * npz (default DIR/probes.npz), keys as the HDF5 paths:
 *   time                      float64 [steps]
 *   probes/<name>             float64 [samples, dims]; for a sparse spike probe its dense view
 *                             (spikes x spike_value at their sample, 0 elsewhere)
 *   probes/<name>.time        float64 [samples], the sample times (only when sample_every != dt)
 *   probes/<name>.spike_times, .spike_units, .spike_times_index
 *                             the sparse spike datasets as stored (see store-writer.ts)
 *   probes/<name>.units.spike_times, .units.spike_times_index
 *                             the per-neuron layout, when the run ended and wrote it
 * csv (default DIR/csv/): time.csv, and per probe <name>.csv (a probe named
 *   `time`: time_2.csv) with a header
 *   `t,<name>[0],<name>[1],...` (fields quoted as RFC 4180 says where a name needs it; dense view
 *   for spike probes), plus
 *   <name>.spikes.csv (`t,neuron`, one line per spike) for sparse spike probes.
 *
 * A run still going is exported up to its last flush: rows are limited to
 * the steps status.json says are on disk (read before the file is opened),
 * and an export that races a flush is tried again.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import { NpzWriter, OutputFolderRemovedError, bytesOf, exportTempPath, leftoverExportPid, moveIntoPlace } from './npy.js';
import { SPIKES_LAYOUT } from './store-format.js';
import { readChecked, stepsOnDisk } from './h5-read.js';
import { CLAIM_FILE, currentStatus, FILES, processAlive } from './folder.js';
import { BATCH_FILES } from './batch.js';

export { OutputFolderRemovedError } from './npy.js';

export type ExportFormat = 'npz' | 'csv';

/** Rows per block read from probes.h5 (adapted to the width so a block stays ~8 MB). */
const BLOCK_VALUES = 1 << 20;

interface DenseProbe {
  kind: 'dense';
  name: string;
  ds: Dataset;
  rows: number;
  cols: number;
  period: number;
}
interface SparseProbe {
  kind: 'spikes';
  name: string;
  group: Group;
  rows: number;
  cols: number;
  period: number;
  spikeValue: number;
  nSpikes: number;
}
type StoredProbe = DenseProbe | SparseProbe;

function numAttr(obj: Dataset | Group, name: string, fallback: number): number {
  const a = obj.attrs[name];
  const v = a ? a.value : undefined;
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : fallback;
}

function toFloat64(v: unknown, what: string): Float64Array {
  if (v instanceof Float64Array) return v;
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float64Array.from(v, (x) => Number(x));
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Float64Array.from(v as unknown as ArrayLike<number>);
  throw new Error(`${what}: unexpected data`);
}

function toInt32(v: unknown, what: string): Int32Array {
  if (v instanceof Int32Array) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Int32Array.from(v as unknown as ArrayLike<number>);
  throw new Error(`${what}: unexpected data`);
}

/** Rows [r0, r1) of a 1-D dataset (empty when r0 == r1). */
function slice1(ds: Dataset, r0: number, r1: number): unknown {
  if (r1 <= r0) return new Float64Array(0);
  return ds.slice([[r0, r1]]);
}

/** The probes of an open probes.h5, with their shapes and kinds, limited to the samples of the first `steps` steps. */
function probesOf(f: H5File, dt: number, steps: number): StoredProbe[] {
  const g = f.get('probes');
  if (!(g instanceof h5wasm.Group)) return [];
  const out: StoredProbe[] = [];
  for (const name of g.keys()) {
    const e = g.get(name);
    if (e instanceof h5wasm.Dataset) {
      const [stored = 0, cols = 1] = e.shape ?? [0, 1];
      const period = numAttr(e, 'sample_every', dt) / dt;
      out.push({ kind: 'dense', name, ds: e, rows: samplesIn(stored, steps, period), cols, period });
    } else if (e instanceof h5wasm.Group && e.attrs['layout']?.value === SPIKES_LAYOUT) {
      const index = e.get('spike_times_index') as Dataset;
      const units = e.get('spike_units') as Dataset;
      const period = numAttr(e, 'sample_every', dt) / dt;
      let rows = samplesIn(index.shape?.[0] ?? 0, steps, period);
      const nSpikes = units.shape?.[0] ?? 0;
      // After a crash the index may name spikes past what reached the disk: keep the rows whose spikes are all there.
      while (rows > 0 && Number(toFloat64(slice1(index, rows - 1, rows), 'spike_times_index')[0]) > nSpikes) rows--;
      out.push({
        kind: 'spikes',
        name,
        group: e,
        rows,
        cols: numAttr(e, 'n_neurons', 0),
        period,
        spikeValue: numAttr(e, 'spike_value', 1 / dt),
        nSpikes: rows > 0 ? Number(toFloat64(slice1(index, rows - 1, rows), 'spike_times_index')[0]) : 0,
      });
    }
  }
  return out;
}

/** Samples of a probe stored with `stored` rows that fall in the first `steps` steps (period: steps per sample). */
function samplesIn(stored: number, steps: number, period: number): number {
  return Number.isFinite(steps) ? Math.min(stored, Math.floor((steps + 1e-9) / Math.max(1, period))) : stored;
}

/**
 * The run's /time, read block by block (a run of 10^7 steps has 80 MB of it, which the export held whole,
 * with as much again for each probe sampled less often than every step).
 */
class TimeAxis {
  constructor(
    private readonly ds: Dataset,
    /** Steps stored (and exported). */
    readonly length: number,
  ) {}

  /** How many of a probe's first `rows` samples, `period` steps apart, fall within the steps exported. */
  count(period: number, rows: number): number {
    if (period === 1) return Math.min(rows, this.length);
    let k = 0;
    for (let s = 1; s <= this.length && k < rows; s++) if (s % period < 1) k++;
    return k;
  }

  /** The times of those samples in blocks, in order: the steps s where s % period < 1 (as the simulator). */
  *samples(period: number, rows: number): Generator<Float64Array> {
    let k = 0;
    for (let s0 = 0; s0 < this.length && k < rows; s0 += BLOCK_VALUES) {
      const s1 = Math.min(this.length, s0 + BLOCK_VALUES);
      const t = toFloat64(slice1(this.ds, s0, s1), 'time');
      if (period === 1) {
        const take = Math.min(t.length, rows - k);
        k += take;
        yield t.subarray(0, take);
        continue;
      }
      const out = new Float64Array(t.length);
      let n = 0;
      for (let s = s0 + 1; s <= s1 && k < rows; s++)
        if (s % period < 1) {
          out[n++] = t[s - 1 - s0]!;
          k++;
        }
      if (n > 0) yield out.subarray(0, n);
    }
  }

  /** The same times one at a time (NaN past the last), for writing row by row. */
  cursor(period: number, rows: number): () => number {
    const blocks = this.samples(period, rows);
    let block: Float64Array = new Float64Array(0);
    let i = 0;
    return () => {
      while (i >= block.length) {
        const next = blocks.next();
        if (next.done) return NaN;
        block = next.value;
        i = 0;
      }
      return block[i++]!;
    };
  }
}

/** Dense rows [r0, r1) of a probe. */
function denseBlock(p: StoredProbe, r0: number, r1: number): Float64Array {
  if (p.kind === 'dense')
    return toFloat64(
      p.ds.slice([
        [r0, r1],
        [0, p.cols],
      ]),
      p.name,
    );
  const out = new Float64Array((r1 - r0) * p.cols);
  const index = p.group.get('spike_times_index') as Dataset;
  const idx = toFloat64(slice1(index, Math.max(0, r0 - 1), r1), `${p.name}/spike_times_index`);
  const first = r0 > 0 ? idx[0]! : 0;
  const ends = r0 > 0 ? idx.subarray(1) : idx;
  const last = ends.length > 0 ? ends[ends.length - 1]! : first;
  const units = toInt32(slice1(p.group.get('spike_units') as Dataset, first, last), `${p.name}/spike_units`);
  let j = 0;
  for (let r = 0; r < r1 - r0; r++) {
    const end = ends[r]! - first;
    for (; j < end; j++) out[r * p.cols + units[j]!]! += 1;
  }
  // Counts times the spike's value: n * (amplitude / dt), as the neuron model computes it.
  for (let i = 0; i < out.length; i++) if (out[i] !== 0) out[i] = out[i]! * p.spikeValue;
  return out;
}

function blockRows(cols: number): number {
  return Math.max(1, Math.floor(BLOCK_VALUES / Math.max(1, cols)));
}

/** Why an export cannot go where it was asked to (the CLI says it as a usage error). */
export class ExportTargetError extends Error {}

/**
 * Refuses an export target that holds something an export must not replace:
 * the run folder itself, a folder holding it, or an existing path that is
 * not an earlier export of this format (a .npz archive; a folder of .csv
 * files only), unless `force`, which still never replaces anything inside
 * the run folder. A new path's folders are made.
 */
export function checkExportTarget(runDir: string, target: string, format: ExportFormat, force = false): void {
  // real paths: a link to the run folder is the run folder
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const run = real(runDir);
  const t = real(target);
  if (t === run || run.startsWith(t + sep))
    throw new ExportTargetError(`--out ${target}: that is the run folder${t === run ? '' : "'s parent"}; the export would replace the run`);
  const parent = statSync(dirname(t), { throwIfNoEntry: false });
  if (parent && !parent.isDirectory()) throw new ExportTargetError(`--out ${target}: ${dirname(t)} is a file, not a folder`);
  const st = statSync(t, { throwIfNoEntry: false });
  if (!st) return;
  if (isEarlierExport(t, st.isDirectory(), format)) return;
  // inside the run folder by its real path, or by the path as written (a link inside the run folder,
  // such as its node_modules/nefsim, leads out of it but is still the run's)
  const inside = t.startsWith(run + sep) || resolve(target).startsWith(resolve(runDir) + sep) || resolve(target).startsWith(run + sep);
  // another run's or batch's folder, or a folder holding one, is never replaced, --force or not
  const other = st.isDirectory() ? nefsimFolderIn(t, 3) : undefined;
  if (other !== undefined)
    throw new ExportTargetError(
      `--out ${target} ${other === t ? 'is' : `holds (${other})`} a nefsim run or batch folder; an export never replaces one, --force or not: give another path`,
    );
  if (force && !inside) return;
  const what = st.isDirectory() ? `a folder holding ${describeEntries(t)}` : 'a file';
  throw new ExportTargetError(
    `--out ${target} exists (${what}) and is not an earlier ${format === 'npz' ? '.npz' : 'CSV'} export; ` +
      (inside ? 'it is part of the run folder: give another path' : 'give another path, or --force to replace it'),
  );
}

/**
 * Refuses an .npz `--out` that ends in a separator: it names a folder (as a
 * batch's `--out` is), and the archive was written as a file of that name.
 */
export function checkNpzTarget(out: string, format: ExportFormat): void {
  if (format === 'npz' && (out.endsWith('/') || out.endsWith(sep)))
    throw new ExportTargetError(
      `--out ${out}: names a folder, and an .npz export of a run is one file: give its path (${join(out, 'probes.npz')}), or export a batch there`,
    );
}

/**
 * The first run folder, batch folder or folder a `nefsim run` is filling (or left half made) at `dir`
 * or below it, to `depth` levels (links are not followed), or undefined.
 */
function nefsimFolderIn(dir: string, depth: number): string | undefined {
  const has = (f: string): boolean => existsSync(join(dir, f));
  if (has(FILES.status) && (has(FILES.options) || has(BATCH_FILES.plan))) return dir;
  if (has(CLAIM_FILE)) return dir;
  if (depth === 0) return undefined;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = nefsimFolderIn(join(dir, e.name), depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * An earlier export of this format: a folder of .csv files only; a zip archive
 * named .npz, or one by any name whose first entry is an .npy array (an
 * export to `--out data` is replaced by the same command run again; a zip of
 * another kind, such as a .docx, is not).
 */
function isEarlierExport(path: string, isDir: boolean, format: ExportFormat): boolean {
  if (format === 'csv') {
    if (!isDir) return false;
    // every file an export writes has the header 't' (time.csv) or 't,...': a folder of the user's own
    // .csv files was taken for an earlier export, and deleted for this one, without --force
    const entries = readdirSync(path, { withFileTypes: true });
    if (entries.length === 0) return true;
    return (
      entries.some((e) => e.name === 'time.csv') &&
      entries.every((e) => e.isFile() && e.name.endsWith('.csv') && /^t(,|\r?\n|$)/.test(firstBytes(join(path, e.name), 64)))
    );
  }
  if (isDir) return false;
  // an .npz is a zip: "PK\x03\x04" (or an empty archive's "PK\x05\x06"), the first entry's name at
  // byte 30 (its length at 26); only the first bytes are read
  const head = Buffer.alloc(30 + 256);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false;
  if (path.endsWith('.npz')) return true;
  if (n < 30 || head[2] !== 0x03 || head[3] !== 0x04) return false;
  const nameEnd = 30 + head.readUInt16LE(26);
  return nameEnd <= n && head.subarray(30, nameEnd).toString('latin1').endsWith('.npy');
}

/** The first `n` bytes of a file, as latin1 text. */
function firstBytes(path: string, n: number): string {
  const head = Buffer.alloc(n);
  const fd = openSync(path, 'r');
  try {
    return head.subarray(0, readSync(fd, head, 0, n, 0)).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

function describeEntries(dir: string): string {
  const names = readdirSync(dir);
  if (names.length === 0) return 'nothing';
  return (
    names
      .slice(0, 3)
      .map((n) => `'${n}'`)
      .join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '')
  );
}

/**
 * Exports the run folder `dir` (its probes.h5); returns the file or folder
 * written. `out` is checked first (checkExportTarget), `force` as there.
 * `makeFolder`: make the folder `out` goes in if it is not there; else (a
 * batch's trials, into the folder made for them) one that is not there is
 * an OutputFolderRemovedError, as one removed while the export is written.
 */
export async function exportRun(dir: string, format: ExportFormat, out?: string, force = false, makeFolder = true): Promise<string> {
  const h5 = join(dir, 'probes.h5');
  // (a batch's trial folder deleted: its plan still names it)
  if (!existsSync(dir)) throw new Error('the run folder is gone (deleted or moved?)');
  if (!existsSync(h5)) throw new Error(noProbesFile(dir));
  // HDF5's own words for it are 'file read failed: time = ... (H5FD__sec2_read())'
  if (!statSync(h5).isFile()) throw new Error("its probes.h5 is a folder, not the run's HDF5 file");
  const target = out ?? join(dir, format === 'npz' ? 'probes.npz' : 'csv');
  checkExportTarget(dir, target, format, force);
  const folder = dirname(resolve(target));
  if (makeFolder) mkdirSync(folder, { recursive: true });
  else if (!existsSync(folder)) throw new OutputFolderRemovedError(folder);
  await h5wasm.ready;
  // status first: whatever it says is on disk is in the file opened after it (and stays there: every
  // attempt exports the same steps, however far the run has gone meanwhile)
  const { live, steps } = stepsOnDisk(dir);
  for (let attempt = 1; ; attempt++) {
    try {
      // while the run writes the file, a read that races its flush fails, or prints HDF5's errors and returns garbage;
      // after it, HDF5's errors mean a damaged file, said in one line (readChecked)
      return readChecked(() => exportSteps(h5, steps, format, target));
    } catch (err) {
      // its output folder removed while it was written (rm -r of --out): whatever failed (the temp file's
      // creation, the final move), that is why, and another attempt would fail as well
      if (!(err instanceof OutputFolderRemovedError) && !existsSync(folder)) throw new OutputFolderRemovedError(folder);
      // try again (a failed attempt leaves nothing: both formats are written aside and put in place when complete)
      if (!live || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

/** Why a run folder has no probes.h5: it ended before making it, or has not made it yet. */
function noProbesFile(dir: string): string {
  let state: string | undefined;
  let flushed = 0;
  try {
    ({ state, stepsFlushed: flushed } = currentStatus(dir));
  } catch {
    // no readable status: said as "not made yet"
  }
  if (state === 'done') return 'no probes.h5: the run ended done, and the file has been moved or deleted';
  // (one that wrote steps to it made it: it said 'the run ended cancelled before it made one')
  if ((state === 'failed' || state === 'cancelled') && flushed > 0)
    return `no probes.h5: the run ended ${state} after writing ${flushed} steps to it, and the file has been moved or deleted`;
  if (state === 'failed' || state === 'cancelled') return `no probes.h5: the run ended ${state} before it made one (see nefsim status)`;
  return (
    'no probes.h5 yet: a run makes it once its network is built and the HDF5 writer has started, ' +
    `about a second in${state ? ` (the run is ${state})` : ''}; see nefsim status`
  );
}

function exportSteps(h5: string, steps: number, format: ExportFormat, out: string): string {
  const f = new h5wasm.File(h5, 'r');
  try {
    const dt = numAttr(f as unknown as Group, 'dt', 0.001);
    const timeDs = f.get('time') as Dataset;
    const time = new TimeAxis(timeDs, samplesIn(timeDs.shape?.[0] ?? 0, steps, 1));
    const probes = probesOf(f, dt, steps);
    return format === 'npz' ? writeNpz(out, time, probes) : writeCsv(out, time, probes);
  } finally {
    f.close();
  }
}

/**
 * Removes what an export to `path` that was interrupted (Ctrl-C, a kill)
 * left: its temp file or folder (exportTempPath), made on this host by a
 * process that is gone. An export runs without a turn of the event loop, so
 * no signal handler could remove it then, and a CSV export of a long run
 * left gigabytes in the run folder.
 */
function removeLeftovers(path: string): void {
  const dir = dirname(path);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const pid = leftoverExportPid(path, e);
    if (pid === undefined || pid === process.pid || processAlive(pid, null)) continue;
    rmSync(join(dir, e), { recursive: true, force: true });
  }
}

function writeNpz(path: string, time: TimeAxis, probes: StoredProbe[]): string {
  removeLeftovers(path);
  const npz = new NpzWriter(path);
  try {
    npz.begin('time', '<f8', [time.length]);
    for (const t of time.samples(1, time.length)) npz.write(bytesOf(t));
    npz.end();
    for (const p of probes) {
      const key = `probes/${p.name}`;
      npz.begin(key, '<f8', [p.rows, p.cols]);
      const step = blockRows(p.cols);
      for (let r0 = 0; r0 < p.rows; r0 += step) npz.write(bytesOf(denseBlock(p, r0, Math.min(p.rows, r0 + step))));
      npz.end();
      if (p.period !== 1) {
        npz.begin(`${key}.time`, '<f8', [time.count(p.period, p.rows)]);
        for (const t of time.samples(p.period, p.rows)) npz.write(bytesOf(t));
        npz.end();
      }
      if (p.kind === 'spikes') {
        for (const [ds, dtype] of [
          ['spike_times', '<f8'],
          ['spike_units', '<i4'],
          ['spike_times_index', '<i8'],
        ] as const) {
          const n = ds === 'spike_times_index' ? p.rows : p.nSpikes;
          const d = p.group.get(ds) as Dataset;
          npz.begin(`${key}.${ds}`, dtype, [n]);
          for (let i0 = 0; i0 < n; i0 += BLOCK_VALUES) {
            const v = slice1(d, i0, Math.min(n, i0 + BLOCK_VALUES));
            const arr =
              dtype === '<f8'
                ? toFloat64(v, ds)
                : dtype === '<i4'
                  ? toInt32(v, ds)
                  : BigInt64Array.from(toFloat64(v, ds), (x) => BigInt(x));
            npz.write(bytesOf(arr));
          }
          npz.end();
        }
        // The per-neuron NWB layout, when the run ended and wrote it.
        const ug = p.group.get('units');
        if (ug instanceof h5wasm.Group && ug.attrs['complete']?.value === 1) {
          const ut = ug.get('spike_times') as Dataset;
          const n = ut.shape?.[0] ?? 0;
          npz.begin(`${key}.units.spike_times`, '<f8', [n]);
          for (let i0 = 0; i0 < n; i0 += BLOCK_VALUES)
            npz.write(bytesOf(toFloat64(slice1(ut, i0, Math.min(n, i0 + BLOCK_VALUES)), 'units/spike_times')));
          npz.end();
          const ui = toFloat64((ug.get('spike_times_index') as Dataset).value, 'units/spike_times_index');
          npz.array(
            `${key}.units.spike_times_index`,
            '<i8',
            [ui.length],
            BigInt64Array.from(ui, (x) => BigInt(x)),
          );
        }
      }
    }
    npz.close();
  } catch (err) {
    npz.abort();
    throw err;
  }
  return path;
}

/** Writes text to a file, buffered (writeCsv makes its files in a folder of its own, swapped in when all are complete). */
class TextOut {
  private readonly fd: number;
  private buf: string[] = [];
  private size = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }
  line(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.drain();
  }
  private drain(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
  /** Closes the file, after writing what is buffered (unless the writing failed). */
  close(flush: boolean): void {
    try {
      if (flush) this.drain();
    } finally {
      closeSync(this.fd);
    }
  }
}

/** Writes a text file line by line through `body`; the file is closed whatever happens. */
function writeText(path: string, body: (out: TextOut) => void): void {
  const out = new TextOut(path);
  let ok = false;
  try {
    body(out);
    ok = true;
  } finally {
    out.close(ok);
  }
}

/**
 * The CSV export: made in a sibling folder and swapped in when complete, so
 * that a failure (a full disk) leaves the folder as it was, not a part of
 * an export, and no temp files.
 */
function writeCsv(folder: string, time: TimeAxis, probes: StoredProbe[]): string {
  removeLeftovers(folder);
  const tmp = exportTempPath(folder);
  rmSync(tmp, { recursive: true, force: true });
  // not recursive: an output folder removed meanwhile is not made again (see exportRun)
  mkdirSync(tmp);
  try {
    writeCsvFiles(tmp, time, probes);
    if (existsSync(folder)) rmSync(folder, { recursive: true, force: true });
    moveIntoPlace(tmp, folder);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return folder;
}

/**
 * A header field as CSV (RFC 4180): quoted, with its quotes doubled, when it
 * holds a comma, a quote or a line break. Labels may hold any of them, and
 * unquoted they split the header into more columns than the rows have.
 */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Bytes of a CSV file's name before its suffix (.spikes.csv is 11 more; 255 is the usual limit). */
const MAX_FILE_STEM = 200;

function writeCsvFiles(folder: string, time: TimeAxis, probes: StoredProbe[]): void {
  writeText(join(folder, 'time.csv'), (out) => {
    out.line('t');
    for (const block of time.samples(1, time.length)) for (const t of block) out.line(String(t));
  });
  // a probe named 'time' must not replace time.csv: it gets time_2.csv (or the next name no probe has)
  const taken = new Set(probes.map((p) => p.name));
  const fileName = (name: string): string => {
    if (name === 'time') {
      let k = 2;
      while (taken.has(`time_${k}`)) k++;
      return `time_${k}`;
    }
    // file systems take names of at most 255 bytes: a longer label is cut, and a hash of the whole
    // name keeps two long labels apart (the CSV header still has the whole name)
    if (Buffer.byteLength(name) <= MAX_FILE_STEM) return name;
    let cut = name.slice(0, MAX_FILE_STEM - 9);
    while (Buffer.byteLength(cut) > MAX_FILE_STEM - 9) cut = cut.slice(0, -1);
    return `${cut}~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  };
  for (const p of probes) {
    const file = fileName(p.name);
    writeText(join(folder, `${file}.csv`), (out) => {
      const header = ['t'];
      for (let j = 0; j < p.cols; j++) header.push(csvField(`${p.name}[${j}]`));
      out.line(header.join(','));
      const nextTime = time.cursor(p.period, p.rows);
      const step = blockRows(p.cols);
      for (let r0 = 0; r0 < p.rows; r0 += step) {
        const r1 = Math.min(p.rows, r0 + step);
        const block = denseBlock(p, r0, r1);
        for (let r = r0; r < r1; r++) {
          const row = [String(nextTime())];
          for (let j = 0; j < p.cols; j++) row.push(String(block[(r - r0) * p.cols + j]));
          out.line(row.join(','));
        }
      }
    });
    if (p.kind === 'spikes') {
      writeText(join(folder, `${file}.spikes.csv`), (sp) => {
        sp.line('t,neuron');
        const st = p.group.get('spike_times') as Dataset;
        const su = p.group.get('spike_units') as Dataset;
        for (let i0 = 0; i0 < p.nSpikes; i0 += BLOCK_VALUES) {
          const i1 = Math.min(p.nSpikes, i0 + BLOCK_VALUES);
          const t = toFloat64(slice1(st, i0, i1), 'spike_times');
          const u = toInt32(slice1(su, i0, i1), 'spike_units');
          for (let i = 0; i < t.length; i++) sp.line(`${t[i]},${u[i]}`);
        }
      });
    }
  }
}
