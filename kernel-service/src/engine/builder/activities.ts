/** The input currents of an ensemble's neurons at its eval points, for the decoder solves' activity matrices. */

/**
 * Input currents in Nengo's order of operations, J[p, i] = gain[i] * (x[p] . (encoders[i] / radius)) + bias[i]
 * (its get_activities), for neuron types whose rates are counted spikes (Izhikevich): a current one
 * rounding away can change a count, where other types' rates move by rounding.
 */
export function nengoCurrents(
  J: Float64Array,
  encoders: Float64Array,
  gain: Float64Array,
  radius: number,
  bias: Float64Array,
  x: Float64Array,
  m: number,
  n: number,
  d: number,
): Float64Array {
  for (let p = 0; p < m; p++) {
    const o = p * n,
      xo = p * d;
    for (let i = 0; i < n; i++) {
      const eo = i * d;
      let s = x[xo]! * (encoders[eo]! / radius);
      for (let j = 1; j < d; j++) s += x[xo + j]! * (encoders[eo + j]! / radius);
      J[o + i] = gain[i]! * s + bias[i]!;
    }
  }
  return J;
}

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
