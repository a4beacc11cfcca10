/**
 * Tuning curves: the rate of every neuron of an ensemble as a function of the
 * represented value, from its built gains, biases and encoders and its neuron
 * type's rate function (as nengo.utils.ensemble.tuning_curves for 1-D
 * ensembles and response_curves along each neuron's encoder for higher D).
 */

/** The part of a neuron type that tuning curves need. */
export interface RateFunction {
  rates(J: Float64Array, out: Float64Array): void;
}

export interface TuningInput {
  neuronType: RateFunction;
  gain: Float64Array;
  bias: Float64Array;
  /** Unit encoders, n x d row-major. */
  encoders: Float64Array;
  dimensions: number;
  radius: number;
}

export interface TuningCurves {
  /** The inputs: for 1-D ensembles x in [-radius, radius]; for higher D the projection onto each neuron's encoder. */
  x: Float64Array;
  /** Rates, [points, neurons] row-major, in 1/s. */
  rates: Float64Array;
  points: number;
  neurons: number;
}

export function tuningCurves(e: TuningInput, points = 101): TuningCurves {
  const n = e.gain.length;
  const d = e.dimensions;
  if (!(Number.isInteger(points) && points >= 2 && points <= 100_000))
    throw new RangeError(`tuningCurves: points must be an integer in [2, 100000], got ${points}`);
  const x = new Float64Array(points);
  for (let i = 0; i < points; i++) x[i] = -e.radius + (2 * e.radius * i) / (points - 1);
  const rates = new Float64Array(points * n);
  const J = new Float64Array(n);
  const r = new Float64Array(n);
  for (let i = 0; i < points; i++) {
    for (let k = 0; k < n; k++) {
      // 1-D: x * encoder; higher D: x along the neuron's own (unit) encoder, so encoder . x = x.
      const proj = d === 1 ? x[i]! * e.encoders[k]! : x[i]!;
      J[k] = e.bias[k]! + (e.gain[k]! * proj) / e.radius;
    }
    e.neuronType.rates(J, r);
    rates.set(r, i * n);
  }
  return { x, rates, points, neurons: n };
}
