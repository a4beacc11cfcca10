/**
 * Decimation for plots: a long series is cut into buckets (about one per
 * pixel column) and each bucket keeps its minimum and maximum, so spikes and
 * peaks survive any zoom level (a plain stride would drop them).
 */
import { checkSeries, checkTimes } from './check.js';

/** Min/max per bucket of a row-major series of `rows` samples of `cols` values. */
export interface MinMaxSeries {
  /** Time of the first and last sample of each bucket, [buckets]. */
  tStart: Float64Array;
  tEnd: Float64Array;
  /** Minimum and maximum of each bucket and column, [buckets, cols] row-major. */
  min: Float64Array;
  max: Float64Array;
  buckets: number;
  cols: number;
}

/**
 * Splits `rows` samples into `buckets` buckets of (nearly) equal sample counts
 * and returns the minimum and maximum of each column in each. NaN values are
 * skipped (a bucket of NaN only gives NaN).
 */
export function minMaxDecimate(t: Float64Array, y: Float64Array, rows: number, cols: number, buckets: number): MinMaxSeries {
  // (a ProbeData given for y has no .length to compare: it gave all NaN)
  checkSeries('minMaxDecimate', y, rows, cols);
  checkTimes('minMaxDecimate', t, rows);
  if (typeof buckets !== 'number' || !(buckets >= 1) || !Number.isFinite(buckets))
    throw new RangeError(`minMaxDecimate: buckets must be a number >= 1, got ${String(buckets)}`);
  const nb = rows === 0 ? 0 : Math.max(1, Math.min(Math.floor(buckets), rows));
  const tStart = new Float64Array(nb);
  const tEnd = new Float64Array(nb);
  const min = new Float64Array(nb * cols).fill(NaN);
  const max = new Float64Array(nb * cols).fill(NaN);
  for (let b = 0; b < nb; b++) {
    const i0 = Math.floor((b * rows) / nb);
    const i1 = Math.floor(((b + 1) * rows) / nb);
    tStart[b] = t[i0]!;
    tEnd[b] = t[i1 - 1]!;
    const o = b * cols;
    if (cols === 1) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = i0; i < i1; i++) {
        const v = y[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (lo <= hi) {
        min[o] = lo;
        max[o] = hi;
      }
      continue;
    }
    for (let c = 0; c < cols; c++) {
      min[o + c] = Infinity;
      max[o + c] = -Infinity;
    }
    for (let i = i0; i < i1; i++) {
      const r = i * cols;
      for (let c = 0; c < cols; c++) {
        const v = y[r + c]!;
        if (v < min[o + c]!) min[o + c] = v;
        if (v > max[o + c]!) max[o + c] = v;
      }
    }
    for (let c = 0; c < cols; c++) {
      if (!(min[o + c]! <= max[o + c]!)) {
        min[o + c] = NaN;
        max[o + c] = NaN;
      }
    }
  }
  return { tStart, tEnd, min, max, buckets: nb, cols };
}

/** Index range [i0, i1) of the samples whose times (ascending) lie in [t0, t1]; t0 after t1 is refused. */
export function timeRange(t: Float64Array, t0: number, t1: number): [number, number] {
  // a NaN bound compares false with every time: it gave a range as if it were -Infinity or the start
  checkTimes('timeRange', t);
  if (typeof t0 !== 'number' || Number.isNaN(t0)) throw new RangeError(`timeRange: t0 must be a number (or -Infinity), got ${String(t0)}`);
  if (typeof t1 !== 'number' || Number.isNaN(t1)) throw new RangeError(`timeRange: t1 must be a number (or Infinity), got ${String(t1)}`);
  // (a reversed window gave a reversed range, [3, 1] say: a negative row count to its caller)
  if (t0 > t1) throw new RangeError(`timeRange: t0 (${t0}) is after t1 (${t1})`);
  return [lowerBound(t, t0), upperBound(t, t1)];
}

function lowerBound(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (t[m]! < x) lo = m + 1;
    else hi = m;
  }
  return lo;
}

function upperBound(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const m = (lo + hi) >>> 1;
    if (t[m]! <= x) lo = m + 1;
    else hi = m;
  }
  return lo;
}
