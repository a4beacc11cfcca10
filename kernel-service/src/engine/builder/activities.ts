/** The input currents of an ensemble's neurons at its eval points, for the decoder solves' activity matrices. */

/** Input currents J (m x n) at m points, written into J: J[p, i] = bias[i] + scaledEncoders[i] . x[p]. */
export function activities(
  J: Float64Array,
  enc: Float64Array,
  bias: Float64Array,
  x: Float64Array,
  m: number,
  n: number,
  d: number,
): Float64Array {
  if (d === 1) {
    for (let p = 0; p < m; p++) {
      const xp = x[p]!;
      const o = p * n;
      for (let i = 0; i < n; i++) J[o + i] = bias[i]! + enc[i]! * xp;
    }
    return J;
  }
  for (let p = 0; p < m; p++) {
    const o = p * n,
      xo = p * d;
    for (let i = 0; i < n; i++) {
      let s = bias[i]!;
      const eo = i * d;
      for (let j = 0; j < d; j++) s += enc[eo + j]! * x[xo + j]!;
      J[o + i] = s;
    }
  }
  return J;
}
