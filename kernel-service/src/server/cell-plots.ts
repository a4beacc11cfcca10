/**
 * Plots a model cell makes as its value (or passes to display()): tuning
 * curves of an ensemble and XY (phase) plots of a probe's two dimensions, in
 * the extension's plot format (`application/vnd.nefsim.plot+json`, drawn by
 * plotly.js and saved in the notebook with a PNG). The numbers come from the
 * engine and from post/; this module only shapes them into plot specs.
 */
import { inspect } from 'node:util';
import type { Ensemble, Probe } from '../engine/objects.js';
import type { Simulator } from '../engine/simulator.js';
import { tuningCurves } from '../post/index.js';

export const PLOT_MIME = 'application/vnd.nefsim.plot+json';
/** Values a plot made here holds at most: it goes into the notebook (a million numbers are about 18 MB of JSON). */
const MAX_PLOT_VALUES = 200_000;
/** The plot format's version (the extension's PLOT_FORMAT_VERSION). */
const PLOT_FORMAT_VERSION = 1;

export interface PlotTraceSpec {
  name: string;
  x: number[];
  y: number[];
}

export interface PlotSpecJson {
  version: number;
  kind: 'tuning' | 'xy';
  title: string;
  xlabel: string;
  ylabel: string;
  traces: PlotTraceSpec[];
}

/** A plot made in a cell: its value shows as the plot. */
export class CellPlot {
  constructor(readonly spec: PlotSpecJson) {}
  toString(): string {
    return `nefsim plot: ${this.spec.title}`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

export interface TuningPlotOptions {
  /** Points of x over [-radius, radius] (default 101). */
  points?: number;
  /** Neurons drawn, the first ones (default 50): a curve each. */
  neurons?: number;
  title?: string;
}

function positiveInt(v: unknown, what: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
    throw new RangeError(`${what} must be a whole number from 1 to ${max}, got ${String(v)}`);
  return v;
}

/** A title given in the options: a string (an object became the plot's title as is, which the extension drops). */
function titleOf(v: unknown, what: string): string | undefined {
  if (v === undefined || typeof v === 'string') return v;
  throw new TypeError(`${what}: title must be a string, got ${String(v)}`);
}

/**
 * Tuning curves of `ens` as `sim` built it (Nengo's tuning_curves): each
 * neuron's rate against x in [-radius, radius]; for more than one dimension,
 * x runs along the neuron's own encoder (its response curve).
 */
export function tuningPlot(sim: Simulator, ens: Ensemble, opts: TuningPlotOptions = {}): CellPlot {
  const name = ens.label ?? ens.name;
  const title = titleOf(opts.title, 'plotTuning');
  const points = positiveInt(opts.points, 'plotTuning: points', 101, 10_000);
  if (points < 2) throw new RangeError('plotTuning: points must be at least 2');
  const b = sim.built(ens);
  if (b.direct) throw new RangeError(`plotTuning: ensemble '${name}' runs in Direct mode: it has no neurons`);
  const tc = tuningCurves(
    { neuronType: ens.neuronType, gain: b.gain, bias: b.bias, encoders: b.encoders, dimensions: ens.dimensions, radius: ens.radius },
    points,
  );
  const shown = Math.min(tc.neurons, positiveInt(opts.neurons, 'plotTuning: neurons', 50, 1000));
  if (shown * points > MAX_PLOT_VALUES)
    throw new RangeError(
      `plotTuning: ${shown} neurons x ${points} points is ${shown * points} values, more than a plot holds (${MAX_PLOT_VALUES}): ask for fewer`,
    );
  const x = Array.from(tc.x);
  const traces: PlotTraceSpec[] = [];
  for (let k = 0; k < shown; k++) {
    const y = new Array<number>(points);
    for (let i = 0; i < points; i++) y[i] = tc.rates[i * tc.neurons + k]!;
    traces.push({ name: `neuron ${k}`, x, y });
  }
  const some = shown < tc.neurons ? `, first ${shown} of ${tc.neurons} neurons` : '';
  return new CellPlot({
    version: PLOT_FORMAT_VERSION,
    kind: 'tuning',
    title: title ?? `tuning curves of ${name}${some}`,
    xlabel: ens.dimensions === 1 ? 'x' : 'x along each encoder',
    ylabel: 'rate (Hz)',
    traces,
  });
}

export interface XYPlotOptions {
  /** The two dimensions drawn, x then y (default [0, 1]). */
  dims?: [number, number];
  /** Samples drawn at most: longer probes are thinned evenly (default 20,000). */
  maxPoints?: number;
  title?: string;
}

/** One dimension of a probe's samples against another (a phase plot), over the whole simulation. */
export function xyPlot(sim: Simulator, probe: Probe, name: string, opts: XYPlotOptions = {}): CellPlot {
  const data = sim.data(probe);
  // (not an array of two: said with the dims below, not as '5 is not iterable')
  const dims: unknown = opts.dims ?? [0, 1];
  const given: unknown[] = Array.isArray(dims) && dims.length === 2 ? dims : [undefined, undefined];
  const [dx, dy] = given.map((d) => {
    if (typeof d === 'number' && Number.isInteger(d) && d >= 0 && d < data.cols) return d;
    throw new RangeError(
      `plotXY: dims must be two dimensions of probe '${name}', from 0 to ${data.cols - 1}, got ${JSON.stringify(opts.dims ?? [0, 1])}${opts.dims ? '' : ' (the default)'}` +
        (data.cols < 2 ? ` (it has ${data.cols} dimension: XY needs two)` : ''),
    );
  }) as [number, number];
  const title = titleOf(opts.title, 'plotXY');
  const maxPoints = positiveInt(opts.maxPoints, 'plotXY: maxPoints', 20_000, MAX_PLOT_VALUES / 2);
  const stride = Math.max(1, Math.ceil(data.rows / maxPoints));
  const x: number[] = [];
  const y: number[] = [];
  for (let r = 0; r < data.rows; r += stride) {
    x.push(data.get(r, dx));
    y.push(data.get(r, dy));
  }
  const thinned = stride > 1 ? `, every ${stride}th of ${data.rows} samples` : '';
  return new CellPlot({
    version: PLOT_FORMAT_VERSION,
    kind: 'xy',
    title: title ?? `${name}: [${dy}] against [${dx}]${thinned}`,
    xlabel: `${name}[${dx}]`,
    ylabel: `${name}[${dy}]`,
    traces: [{ name, x, y }],
  });
}
