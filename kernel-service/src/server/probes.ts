/**
 * Reading a run's probes.h5 (see ../runs/store.ts for the layout), also while
 * the run writes it: rows are limited to the steps flushed (status.json's
 * stepsFlushed), and a read that races a flush is retried.
 */
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset, Group } from 'h5wasm/node';
import { currentStatus, FILES } from '../runs/folder.js';
import { ProtocolError } from './protocol.js';

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
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withFile<T>(dir: string, f: (file: InstanceType<typeof h5wasm.File>, stepsFlushed: number) => T): Promise<T> {
  await h5wasm.ready;
  const path = join(dir, FILES.probes);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const status = currentStatus(dir);
    const done = status.state === 'done' || status.state === 'failed' || status.state === 'cancelled';
    let file: InstanceType<typeof h5wasm.File> | undefined;
    try {
      file = new h5wasm.File(path, 'r');
      return f(file, done ? Number.MAX_SAFE_INTEGER : status.stepsFlushed);
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      lastErr = err;
      await sleep(50 * (attempt + 1));
    } finally {
      try {
        file?.close();
      } catch {
        // already closed
      }
    }
  }
  throw new ProtocolError('io_error', `cannot read the probe data of this run: ${lastErr instanceof Error ? lastErr.message : String(lastErr)} (is probes.h5 there yet?)`);
}

function attr(ds: Dataset, name: string): unknown {
  return ds.attrs[name]?.value;
}

function info(ds: Dataset, name: string, stepsFlushed: number): ProbeInfo {
  const shape = ds.shape ?? [0, 0];
  const dt = Number(attr(ds, 'dt'));
  const every = Number(attr(ds, 'sample_every'));
  const period = Math.max(1, Math.round(every / dt));
  const readable = Math.min(shape[0] ?? 0, Math.floor(stepsFlushed / period));
  return {
    name,
    label: String(attr(ds, 'label') ?? ''),
    target: String(attr(ds, 'target') ?? ''),
    attr: String(attr(ds, 'attr') ?? ''),
    units: String(attr(ds, 'units') ?? ''),
    shape: [readable, shape[1] ?? 1],
    dt,
    sampleEvery: every,
  };
}

function probeGroup(file: InstanceType<typeof h5wasm.File>): Group {
  const g = file.get('probes');
  if (!g || !(g instanceof h5wasm.Group)) throw new ProtocolError('io_error', 'probes.h5 has no /probes group');
  return g;
}

export function listRunProbes(dir: string): Promise<ProbeInfo[]> {
  return withFile(dir, (file, flushed) => {
    const g = probeGroup(file);
    return g.keys().map((k) => info(g.get(k) as Dataset, k, flushed));
  });
}

/** Samples of a probe in [t0, t1] (seconds), columns [c0, c1). Sample i is at t = (i + 1) * sample_every. */
export function readRunProbe(dir: string, name: string, t0: number | undefined, t1: number | undefined, columns: [number, number] | undefined): Promise<ProbeSlice> {
  return withFile(dir, (file, flushed) => {
    const g = probeGroup(file);
    if (!g.keys().includes(name)) throw new ProtocolError('not_found', `no probe '${name}' in this run (probes: ${g.keys().join(', ') || 'none'})`);
    const ds = g.get(name) as Dataset;
    const pi = info(ds, name, flushed);
    const [rowsNow, cols] = pi.shape;
    const step = pi.sampleEvery;
    const i0 = t0 === undefined ? 0 : Math.max(0, Math.ceil(t0 / step - 1 - 1e-9));
    const i1 = t1 === undefined ? rowsNow : Math.min(rowsNow, Math.floor(t1 / step - 1 + 1e-9) + 1);
    const c0 = columns ? Math.min(columns[0], cols) : 0;
    const c1 = columns ? Math.min(Math.max(columns[1], c0), cols) : cols;
    const rows = Math.max(0, i1 - i0);
    const t = new Float64Array(rows);
    for (let i = 0; i < rows; i++) t[i] = (i0 + i + 1) * step;
    let y: Float64Array = new Float64Array(0);
    if (rows > 0 && c1 > c0) {
      const v = ds.slice([
        [i0, i1],
        [c0, c1],
      ]);
      y = v instanceof Float64Array ? v : Float64Array.from(v as ArrayLike<number>);
    }
    return { t, y, rows, cols: c1 - c0, totalRows: rowsNow, totalCols: cols, dt: step, label: pi.label };
  });
}
