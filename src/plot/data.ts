/**
 * The nefsim plot format (`application/vnd.nefsim.plot+json`) and the data
 * handling behind the renderer: validation, min/max decimation (so spikes and
 * peaks survive), splitting probe arrays into traces. Pure: no DOM, no plotly
 * runtime, so it is unit tested in Node.
 */

export const PLOT_MIME = 'application/vnd.nefsim.plot+json';
export const PLOT_FORMAT_VERSION = 1;

export type PlotKind = 'timeseries' | 'raster' | 'xy' | 'tuning';

export interface PlotTrace {
  name: string;
  /** Sample times (timeseries), spike times (raster), x values (xy, tuning). */
  x: number[];
  /** Values, or neuron indices (raster). */
  y: number[];
  /** Min/max decimation: per-bucket extremes, same length as x. When given, y is ignored. */
  ymin?: number[];
  ymax?: number[];
  /** Trial number when a plot overlays trials. */
  trial?: number;
}

/** Where the data came from, so zooming can fetch finer data from the service. */
export interface PlotSource {
  run?: string;
  session?: string;
  sim?: string;
  probe: string;
  /** The name its traces carry (the probe's label), when not `probe`: finer data for a zoom is named alike. */
  label?: string;
  /** Columns [from, to) of the probe shown. */
  columns?: [number, number];
}

export interface PlotSpec {
  version: number;
  kind: PlotKind;
  title?: string;
  xlabel?: string;
  ylabel?: string;
  traces: PlotTrace[];
  source?: PlotSource;
  /** Full time extent of the data, seconds. */
  t0?: number;
  t1?: number;
  /** True when the traces are min/max decimated. */
  decimated?: boolean;
}

function isNumArray(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'number' || v === null);
}

/** Validates an output's JSON; returns the spec or a message saying what is wrong. */
export function parsePlotSpec(data: unknown): PlotSpec | string {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'the plot data is not an object';
  const o = data as Record<string, unknown>;
  const kind = o.kind;
  if (kind !== 'timeseries' && kind !== 'raster' && kind !== 'xy' && kind !== 'tuning') return `unknown plot kind ${JSON.stringify(kind)}`;
  if (typeof o.version === 'number' && o.version > PLOT_FORMAT_VERSION)
    return `plot format v${o.version} is newer than this extension (v${PLOT_FORMAT_VERSION})`;
  if (!Array.isArray(o.traces)) return 'the plot has no traces';
  const traces: PlotTrace[] = [];
  for (const [i, t] of o.traces.entries()) {
    if (typeof t !== 'object' || t === null) return `trace ${i} is not an object`;
    const tr = t as Record<string, unknown>;
    if (!isNumArray(tr.x)) return `trace ${i} has no numeric x`;
    const hasMinMax = isNumArray(tr.ymin) && isNumArray(tr.ymax);
    if (!isNumArray(tr.y) && !hasMinMax) return `trace ${i} has no numeric y (or ymin/ymax)`;
    const y = isNumArray(tr.y) ? tr.y : [];
    if (!hasMinMax && y.length !== tr.x.length) return `trace ${i}: x and y differ in length`;
    if (hasMinMax && ((tr.ymin as number[]).length !== tr.x.length || (tr.ymax as number[]).length !== tr.x.length))
      return `trace ${i}: x and ymin/ymax differ in length`;
    traces.push({
      name: typeof tr.name === 'string' ? tr.name : `trace ${i}`,
      x: tr.x,
      y,
      ...(hasMinMax ? { ymin: tr.ymin as number[], ymax: tr.ymax as number[] } : {}),
      ...(typeof tr.trial === 'number' ? { trial: tr.trial } : {}),
    });
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  let source: PlotSource | undefined;
  if (typeof o.source === 'object' && o.source !== null) {
    const s = o.source as Record<string, unknown>;
    if (typeof s.probe === 'string') {
      source = { probe: s.probe, run: str(s.run), session: str(s.session), sim: str(s.sim), label: str(s.label) };
      if (Array.isArray(s.columns) && s.columns.length === 2 && s.columns.every((c) => typeof c === 'number')) {
        source.columns = [s.columns[0] as number, s.columns[1] as number];
      }
    }
  }
  return {
    version: num(o.version) ?? PLOT_FORMAT_VERSION,
    kind,
    title: str(o.title),
    xlabel: str(o.xlabel),
    ylabel: str(o.ylabel),
    traces,
    source,
    t0: num(o.t0),
    t1: num(o.t1),
    decimated: o.decimated === true,
  };
}

export interface MinMax {
  t: number[];
  min: number[];
  max: number[];
}

/**
 * Min/max decimation into at most `buckets` buckets of equal sample count:
 * each bucket keeps its time (first sample's), minimum and maximum, so a
 * spike or a peak in any bucket is still drawn.
 */
export function decimateMinMax(t: ArrayLike<number>, y: ArrayLike<number>, buckets: number, stride = 1, offset = 0): MinMax {
  const n = t.length;
  const out: MinMax = { t: [], min: [], max: [] };
  if (n === 0) return out;
  const b = Math.max(1, Math.min(Math.floor(buckets), n));
  for (let k = 0; k < b; k++) {
    const i0 = Math.floor((k * n) / b);
    const i1 = Math.floor(((k + 1) * n) / b);
    if (i1 <= i0) continue;
    let lo = Infinity;
    let hi = -Infinity;
    let numbers = false;
    for (let i = i0; i < i1; i++) {
      const v = y[i * stride + offset];
      if (Number.isNaN(v)) continue;
      numbers = true;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    out.t.push(t[i0]);
    // a bucket of NaNs only is a gap (NaN), not a line to ±Infinity; one of +Infinity alone (a diverged value)
    // is +Infinity: telling the two apart by lo === Infinity made it a gap with a NaN minimum
    out.min.push(numbers ? lo : NaN);
    out.max.push(numbers ? hi : NaN);
  }
  return out;
}

/** Draws min/max buckets as one line: (t, min), (t, max) per bucket. */
export function minMaxToLine(t: ArrayLike<number>, min: ArrayLike<number>, max: ArrayLike<number>): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < t.length; i++) {
    x.push(t[i], t[i]);
    y.push(min[i], max[i]);
  }
  return { x, y };
}

/**
 * Splits a row-major probe array [samples, dims] into one trace per
 * dimension, min/max decimated to `buckets` when longer.
 */
export function probeToTraces(
  name: string,
  t: ArrayLike<number>,
  data: ArrayLike<number>,
  dims: number,
  buckets: number,
  firstColumn = 0,
): { traces: PlotTrace[]; decimated: boolean } {
  const n = t.length;
  const traces: PlotTrace[] = [];
  const decimate = n > buckets;
  for (let d = 0; d < dims; d++) {
    const label = dims === 1 ? name : `${name}[${d + firstColumn}]`;
    if (decimate) {
      const mm = decimateMinMax(t, data, buckets, dims, d);
      traces.push({ name: label, x: mm.t, y: [], ymin: mm.min, ymax: mm.max });
    } else {
      const y: number[] = new Array<number>(n);
      for (let i = 0; i < n; i++) y[i] = data[i * dims + d];
      traces.push({ name: label, x: Array.from(t), y });
    }
  }
  return { traces, decimated: decimate };
}

/** Spike raster from a dense spike probe [samples, neurons]: one point per spike. */
export function spikesToRaster(name: string, t: ArrayLike<number>, data: ArrayLike<number>, neurons: number, maxNeurons = 200): PlotTrace {
  const x: number[] = [];
  const y: number[] = [];
  const m = Math.min(neurons, maxNeurons);
  for (let i = 0; i < t.length; i++) {
    for (let j = 0; j < m; j++) {
      if (data[i * neurons + j] !== 0) {
        x.push(t[i]);
        y.push(j);
      }
    }
  }
  return { name, x, y };
}

export interface TraceStyle {
  /** Use WebGL traces (scattergl) above this many points. */
  glThreshold: number;
  colors: string[];
}

/** A plotly trace description (the subset nefsim uses), built without importing plotly. */
export interface PlotlyTrace {
  type: 'scatter' | 'scattergl';
  mode: 'lines' | 'markers' | 'lines+markers';
  name: string;
  x: number[];
  y: number[];
  line?: { width: number; color?: string };
  marker?: { symbol?: string; size?: number; color?: string };
  legendgroup?: string;
  showlegend?: boolean;
  opacity?: number;
}

/** Plot spec → plotly traces. Large traces use WebGL (scattergl). */
export function specToTraces(spec: PlotSpec, style: TraceStyle): PlotlyTrace[] {
  const out: PlotlyTrace[] = [];
  spec.traces.forEach((tr, i) => {
    const color = style.colors.length ? style.colors[i % style.colors.length] : undefined;
    let x: number[];
    let y: number[];
    if (tr.ymin && tr.ymax) ({ x, y } = minMaxToLine(tr.x, tr.ymin, tr.ymax));
    else {
      x = tr.x;
      y = tr.y;
    }
    const type = x.length > style.glThreshold ? 'scattergl' : 'scatter';
    // trials overlaid (a batch's Plot probes): each in the legend by its trial, rasters too
    const name = tr.trial !== undefined ? `${tr.name} (trial ${tr.trial})` : tr.name;
    if (spec.kind === 'raster') {
      out.push({
        type,
        mode: 'markers',
        name,
        x,
        y,
        marker: { symbol: 'line-ns-open', size: 6, color },
      });
    } else {
      out.push({
        type,
        // a line of one sample draws nothing: short series get their points marked
        mode: x.length < 3 ? 'lines+markers' : 'lines',
        name,
        x,
        y,
        line: { width: 1.2, color },
        ...(tr.trial !== undefined ? { legendgroup: tr.name, opacity: 0.7 } : {}),
      });
    }
  });
  return out;
}

/** Bucket count for a plot this many pixels wide: two samples per pixel column. */
export function bucketsForWidth(pixels: number): number {
  return Math.max(100, Math.min(20_000, Math.round(pixels * 2)));
}

/** The name a source's traces carry: its probe's label (a probe's name in probes.h5 has '.' and '/' replaced). */
export function sourceTraceName(source: PlotSource): string {
  return source.label ?? source.probe;
}

/** probe.fetch arrays → traces (t and min/max, or t and y; [samples, dims]). */
export function tracesFromFetch(
  probe: string,
  arrays: { header: { name: string; shape: number[] }; data: ArrayLike<number> }[],
  buckets: number,
  firstColumn = 0,
): PlotTrace[] {
  const get = (n: string) => arrays.find((a) => a.header.name === n);
  const t = get('t') ?? get('tStart') ?? get('time');
  if (!t) return [];
  const min = get('min');
  const max = get('max');
  if (min && max) {
    const dims = min.header.shape[1] ?? 1;
    const n = t.data.length;
    // Each bucket is drawn at its first sample's time; the last one also at its last sample's (tEnd), so
    // that the line reaches the end of the data instead of stopping a bucket short.
    const end = get('tEnd');
    const last = end && end.data.length === n && n > 0 && end.data[n - 1] > t.data[n - 1] ? end.data[n - 1] : undefined;
    const x = Array.from(t.data);
    if (last !== undefined) x.push(last);
    const traces: PlotTrace[] = [];
    for (let d = 0; d < dims; d++) {
      const lo: number[] = [];
      const hi: number[] = [];
      for (let i = 0; i < n; i++) {
        lo.push(min.data[i * dims + d]);
        hi.push(max.data[i * dims + d]);
      }
      if (last !== undefined) {
        lo.push(lo[n - 1]);
        hi.push(hi[n - 1]);
      }
      traces.push({ name: dims === 1 ? probe : `${probe}[${d + firstColumn}]`, x: x.slice(), y: [], ymin: lo, ymax: hi });
    }
    return traces;
  }
  const y = get('y') ?? get('data');
  if (!y) return [];
  const dims = y.header.shape[1] ?? 1;
  return probeToTraces(probe, t.data, y.data, dims, buckets, firstColumn).traces;
}
