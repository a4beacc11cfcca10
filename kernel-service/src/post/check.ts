/**
 * Checks of the arguments post-processing functions take (cells call them
 * with whatever they have: a ProbeData for its values, a row count that does
 * not fit): a clear RangeError naming the function, not NaN or a silently
 * shorter result.
 */

/**
 * y holds rows x cols values (row-major), rows and cols non-negative integers:
 * exactly that many (a longer y, a 2-D probe given as 1 column, was read
 * interleaved; for the first rows, give a subarray).
 */
export function checkSeries(fn: string, y: unknown, rows: number, cols: number, name = 'y'): asserts y is Float64Array {
  if (!(y instanceof Float64Array)) {
    const hint =
      typeof y === 'object' && y !== null && (y as { data?: unknown }).data instanceof Float64Array
        ? ` (a ProbeData: give its .data, with its .rows and .cols)`
        : '';
    throw new RangeError(`${fn}: ${name} must be a Float64Array of samples, row-major${hint}`);
  }
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`${fn}: rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 0) throw new RangeError(`${fn}: cols must be a non-negative integer, got ${cols}`);
  if (y.length !== rows * cols)
    throw new RangeError(
      `${fn}: ${rows} x ${cols} values asked for, but ${name} has ${y.length}` +
        (y.length > rows * cols ? ` (rows and cols describe all of it: for the first rows, give ${name}.subarray(0, rows * cols))` : ''),
    );
}

/**
 * t holds the `rows` samples' times (any number when rows is undefined): exactly
 * that many (sim.t, every step, for a probe sampled every 10 steps gave its
 * samples times 10 times too early).
 */
export function checkTimes(fn: string, t: unknown, rows?: number): asserts t is Float64Array {
  if (!(t instanceof Float64Array))
    throw new RangeError(`${fn}: t must be a Float64Array of ${rows !== undefined ? `${rows} ` : ''}times (a simulation's trange(probe))`);
  if (rows !== undefined && t.length !== rows)
    throw new RangeError(
      `${fn}: t has ${t.length} times, but the series ${rows} rows: give the probe's own sample times, sim.trange(probe) ` +
        '(sim.t is every step; a probe sampled every sample_every has fewer)',
    );
}
