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

/** The input's fields, checked: a zero or NaN radius gave rates of 0 (J NaN), short arrays rates of NaN. */
function checkInput(e: TuningInput): void {
  if (typeof e !== 'object' || e === null)
    throw new RangeError('tuningCurves: give { neuronType, gain, bias, encoders, dimensions, radius }');
  if (typeof (e.neuronType as Partial<RateFunction> | undefined)?.rates !== 'function')
    throw new RangeError('tuningCurves: neuronType must have a rates(J, out) method (a neuron type such as LIF)');
  for (const k of ['gain', 'bias', 'encoders'] as const)
    if (!(e[k] instanceof Float64Array)) throw new RangeError(`tuningCurves: ${k} must be a Float64Array (from sim.built(ensemble))`);
  const { dimensions: d, radius } = e;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < 1)
    throw new RangeError(`tuningCurves: dimensions must be a positive integer, got ${String(d)}`);
  if (typeof radius !== 'number' || !(radius > 0) || !Number.isFinite(radius))
    throw new RangeError(`tuningCurves: radius must be a positive number, got ${String(radius)}`);
  const n = e.gain.length;
  if (e.bias.length !== n) throw new RangeError(`tuningCurves: bias has ${e.bias.length} values, gain ${n}`);
  if (e.encoders.length !== n * d)
    throw new RangeError(`tuningCurves: encoders has ${e.encoders.length} values, ${n} neurons x ${d} dimensions need ${n * d}`);
}

export function tuningCurves(e: TuningInput, points = 101): TuningCurves {
  checkInput(e);
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
