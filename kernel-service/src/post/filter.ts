/**
 * Filters for probe data, with Nengo's zero-order-hold discretisation of its
 * synapses and its timing (no delay: row i of the result is the output of
 * Nengo's step given row i, as Synapse.filt): Lowpass(tau) is
 * `y[i] = a y[i-1] + (1 - a) u[i]` with `a = exp(-dt / tau)`; Alpha(tau),
 * 1 / (tau s + 1)^2, is
 * `y[i] = 2a y[i-1] - a^2 y[i-2] + b0 u[i] + b1 u[i-1]` with
 * `b0 = 1 - a - r a`, `b1 = a^2 - a + r a`, `r = dt / tau` (the engine's
 * Alpha.filt gives the same; two lowpass stages in a row, used before, have
 * its poles but not its zeros, 20 % off after a spike at tau = 5 dt).
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
  return filterChecked('filterSeries', 'y', y, rows, cols, dt, tau, kind);
}

/**
 * Zero-phase filtering of every column, as Nengo's `Synapse.filtfilt`: the
 * series filtered forward (filterSeries), then that result filtered again
 * backward, from the last row to the first, the filter's state carried over
 * from the forward pass (for a lowpass the last row is then the forward
 * pass's; not for an alpha filter, whose state holds more than its output,
 * as in Nengo). No lag: a
 * smoothed spike train's bumps sit on their spikes, where filterSeries delays
 * them by about tau; the price is that each row depends on later rows (not
 * causal), and the filter is applied twice (a lowpass's square, in gain).
 */
export function filtfiltSeries(
  y: Float64Array,
  rows: number,
  cols: number,
  dt: number,
  tau: number,
  kind: FilterKind = 'lowpass',
): Float64Array {
  return filterChecked('filtfiltSeries', 'y', y, rows, cols, dt, tau, kind, true);
}

/** filterSeries (or filtfiltSeries, `zeroPhase`), its errors naming `fn` and the series as `name` (filteredRates: 'spikes'). */
export function filterChecked(
  fn: string,
  name: string,
  y: Float64Array,
  rows: number,
  cols: number,
  dt: number,
  tau: number,
  kind: FilterKind,
  zeroPhase = false,
): Float64Array {
  checkSeries(fn, y, rows, cols, name);
  if (kind !== 'lowpass' && kind !== 'alpha') throw new RangeError(`${fn}: kind must be 'lowpass' or 'alpha', got ${String(kind)}`);
  if (typeof dt !== 'number' || !(dt > 0) || !Number.isFinite(dt))
    throw new RangeError(`${fn}: dt must be a positive number, got ${String(dt)}`);
  if (typeof tau !== 'number' || !(tau >= 0) || !Number.isFinite(tau))
    throw new RangeError(`${fn}: tau must be a non-negative number, got ${String(tau)}`);
  const out = Float64Array.from(y.subarray(0, rows * cols));
  if (tau === 0) return out;
  const a = Math.exp(-dt / tau);
  if (kind === 'lowpass') {
    const b = 1 - a;
    const state = new Float64Array(cols);
    const row = (i: number): void => {
      const r = i * cols;
      for (let c = 0; c < cols; c++) {
        const v = a * state[c]! + b * out[r + c]!;
        state[c] = v;
        out[r + c] = v;
      }
    };
    for (let i = 0; i < rows; i++) row(i);
    if (zeroPhase) for (let i = rows - 1; i >= 0; i--) row(i);
    return out;
  }
  // (a = 0 where dt / tau overflows: r a is then 0, not Infinity * 0)
  const ra = a === 0 ? 0 : (dt / tau) * a;
  const b0 = 1 - a - ra;
  const b1 = a * a - a + ra;
  const a1 = 2 * a;
  const a2 = -a * a;
  for (let c = 0; c < cols; c++) {
    let y1 = 0;
    let y2 = 0;
    let u1 = 0;
    // forward, then (zeroPhase) backward with the state carried over: the two outputs and the input before
    // hold all of it (a second-order filter), as Nengo's state vector does
    for (let pass = 0; pass < (zeroPhase ? 2 : 1); pass++) {
      for (let j = 0; j < rows; j++) {
        const k = (pass === 0 ? j : rows - 1 - j) * cols + c;
        const u = out[k]!;
        const v = a1 * y1 + a2 * y2 + b0 * u + b1 * u1;
        y2 = y1;
        y1 = v;
        u1 = u;
        out[k] = v;
      }
    }
  }
  return out;
}
