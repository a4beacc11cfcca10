/**
 * Firing rates from spike probes. nefsim (as Nengo) records a spike as
 * 1/dt in the step it happens, so the mean of a neuron's samples is its rate
 * in spikes per second, and a filtered spike train is an instantaneous rate.
 */
import { checkSeries, checkTimes } from './check.js';
import { filterChecked, type FilterKind } from './filter.js';

/**
 * Mean rate of every neuron (column) over the rows given, in 1/s. Over no rows
 * it is NaN for every neuron (as numpy's mean of nothing): a rate over no time
 * is undefined (it was 0 Hz, a silent neuron).
 */
export function meanRates(spikes: Float64Array, rows: number, cols: number): Float64Array {
  checkSeries('meanRates', spikes, rows, cols, 'spikes');
  const out = new Float64Array(cols);
  if (rows === 0) return out.fill(NaN);
  for (let i = 0; i < rows; i++) {
    const r = i * cols;
    for (let c = 0; c < cols; c++) out[c] += spikes[r + c]!;
  }
  for (let c = 0; c < cols; c++) out[c] /= rows;
  return out;
}

/** Instantaneous rates: the spike trains filtered (Nengo's lowpass or alpha), in 1/s. */
export function filteredRates(
  spikes: Float64Array,
  rows: number,
  cols: number,
  dt: number,
  tau = 0.05,
  kind: FilterKind = 'lowpass',
): Float64Array {
  return filterChecked('filteredRates', 'spikes', spikes, rows, cols, dt, tau, kind);
}

/** Spike times of the chosen neurons: for each, the times where its sample is non-zero (and not NaN). */
export function spikeTimes(t: Float64Array, spikes: Float64Array, rows: number, cols: number, neurons: readonly number[]): Float64Array[] {
  checkSeries('spikeTimes', spikes, rows, cols, 'spikes');
  checkTimes('spikeTimes', t, rows);
  if (!Array.isArray(neurons)) throw new RangeError(`spikeTimes: neurons must be an array of neuron indices, got ${String(neurons)}`);
  return neurons.map((n) => {
    if (!Number.isInteger(n) || n < 0 || n >= cols) throw new RangeError(`spikeTimes: neuron ${n} is not in [0, ${cols})`);
    const times: number[] = [];
    // non-zero and a number: a NaN sample (a gap a cell filled with NaN) is no spike
    for (let i = 0; i < rows; i++) {
      const x = spikes[i * cols + n]!;
      if (x !== 0 && x === x) times.push(t[i]!);
    }
    return Float64Array.from(times);
  });
}
