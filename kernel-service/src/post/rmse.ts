import { checkSeries } from './check.js';

/** Error of a decoded series against a target: root mean square error per column and overall. */
export interface Rmse {
  perColumn: number[];
  overall: number;
  samples: number;
}

/**
 * RMSE of `y` against `target` (both [rows, cols] row-major, exactly that
 * many values: a longer target, one sampled every step against a probe
 * sampled every 10, was compared by its first tenth), over rows [from, rows): `from` is a row index (the protocol's
 * post.rmse takes a time). No rows (from at or past rows) gives NaN.
 */
export function rmse(y: Float64Array, target: Float64Array, rows: number, cols: number, from = 0): Rmse {
  checkSeries('rmse', y, rows, cols);
  checkSeries('rmse', target, rows, cols, 'target');
  // (a time, 0.5 s, was floored to row 0: the transient it was to skip was counted)
  if (!Number.isInteger(from) || from < 0)
    throw new RangeError(
      `rmse: from must be a row index (an integer >= 0), got ${String(from)} (for a time, give timeRange(t, from, Infinity)[0])`,
    );
  const start = Math.min(rows, from);
  const se = new Float64Array(cols);
  for (let i = start; i < rows; i++) {
    const r = i * cols;
    for (let c = 0; c < cols; c++) {
      const e = y[r + c]! - target[r + c]!;
      se[c] += e * e;
    }
  }
  const m = rows - start;
  const perColumn = Array.from(se, (s) => (m > 0 ? Math.sqrt(s / m) : NaN));
  const total = se.reduce((a, b) => a + b, 0);
  return { perColumn, overall: m > 0 && cols > 0 ? Math.sqrt(total / (m * cols)) : NaN, samples: m };
}
