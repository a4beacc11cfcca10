/**
 * Checks of the arguments post-processing functions take (cells call them
 * with whatever they have: a ProbeData for its values, a row count that does
 * not fit): a clear RangeError naming the function, not NaN or a silently
 * shorter result.
 */

/** y holds rows x cols values (row-major), rows and cols non-negative integers. */
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
  if (y.length < rows * cols) throw new RangeError(`${fn}: ${rows} x ${cols} values asked for, but ${name} has ${y.length}`);
}

/** t holds at least `rows` sample times. */
export function checkTimes(fn: string, t: unknown, rows: number): asserts t is Float64Array {
  if (!(t instanceof Float64Array) || t.length < rows)
    throw new RangeError(`${fn}: t must be a Float64Array of ${rows > 0 ? `at least ${rows} ` : ''}times (a simulation's .t or trange())`);
}
