/**
 * Filters for probe data, with Nengo's discretisation of its synapses:
 * Lowpass(tau) is `y = a y + (1 - a) u` with `a = exp(-dt / tau)`; Alpha(tau)
 * is two such lowpass stages in a row (the same poles as Nengo's Alpha; its
 * zero-order-hold discretisation differs by less than one step of delay).
 */
import { checkSeries } from './check.js';

export type FilterKind = 'lowpass' | 'alpha';

/** Filters every column of a row-major series sampled every `dt` seconds; returns a new array. */
export function filterSeries(
  y: Float64Array,
  rows: number,
  cols: number,
  dt: number,
  tau: number,
  kind: FilterKind = 'lowpass',
): Float64Array {
  checkSeries('filterSeries', y, rows, cols);
  if (kind !== 'lowpass' && kind !== 'alpha') throw new RangeError(`filterSeries: kind must be 'lowpass' or 'alpha', got ${String(kind)}`);
  if (!(dt > 0) || !Number.isFinite(dt)) throw new RangeError(`filter: dt must be a positive number, got ${dt}`);
  if (!(tau >= 0) || !Number.isFinite(tau)) throw new RangeError(`filter: tau must be a non-negative number, got ${tau}`);
  const out = Float64Array.from(y.subarray(0, rows * cols));
  if (tau === 0) return out;
  const stages = kind === 'alpha' ? 2 : 1;
  const a = Math.exp(-dt / tau);
  const b = 1 - a;
  for (let s = 0; s < stages; s++) {
    const state = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const r = i * cols;
      for (let c = 0; c < cols; c++) {
        const v = a * state[c]! + b * out[r + c]!;
        state[c] = v;
        out[r + c] = v;
      }
    }
  }
  return out;
}
