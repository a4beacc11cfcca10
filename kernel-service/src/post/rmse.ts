import { checkSeries } from './check.js';

/** Error of a decoded series against a target: root mean square error per column and overall. */
export interface Rmse {
  perColumn: number[];
  overall: number;
  samples: number;
}

/** RMSE of `y` against `target` (both [rows, cols] row-major), over rows [from, rows). */
export function rmse(y: Float64Array, target: Float64Array, rows: number, cols: number, from = 0): Rmse {
  checkSeries('rmse', y, rows, cols);
  checkSeries('rmse', target, rows, cols, 'target');
  if (!(from >= 0) || !Number.isFinite(from)) throw new RangeError(`rmse: from must be a row number >= 0, got ${from}`);
  const start = Math.max(0, Math.min(rows, Math.floor(from)));
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
