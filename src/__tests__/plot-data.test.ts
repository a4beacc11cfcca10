import { describe, expect, it } from 'vitest';
import {
  decimateMinMax,
  minMaxToLine,
  parsePlotSpec,
  probeToTraces,
  specToTraces,
  spikesToRaster,
  tracesFromFetch,
  type PlotSpec,
} from '../plot/data.js';

describe('plot spec', () => {
  it('accepts a valid spec and reports what is wrong with a bad one', () => {
    const ok = parsePlotSpec({
      version: 1,
      kind: 'timeseries',
      title: 'sq',
      traces: [{ name: 'sq', x: [0, 1], y: [0, 1] }],
      source: { run: 'r1', probe: 'sq' },
    });
    expect(typeof ok).toBe('object');
    expect((ok as PlotSpec).source).toEqual({ run: 'r1', probe: 'sq', session: undefined, sim: undefined });
    expect(parsePlotSpec(null)).toMatch(/not an object/);
    expect(parsePlotSpec({ kind: 'pie', traces: [] })).toMatch(/unknown plot kind/);
    expect(parsePlotSpec({ kind: 'xy', traces: [{ x: [1], y: [1, 2] }] })).toMatch(/differ in length/);
    expect(parsePlotSpec({ kind: 'xy', version: 99, traces: [] })).toMatch(/newer/);
    expect(parsePlotSpec({ kind: 'timeseries', traces: [{ x: [0, 1], ymin: [0, 0], ymax: [1, 1] }] })).toMatchObject({
      traces: [{ ymin: [0, 0], ymax: [1, 1] }],
    });
  });
});

describe('min/max decimation', () => {
  it('keeps a one-sample spike that plain subsampling would lose', () => {
    const n = 10_000;
    const t = Float64Array.from({ length: n }, (_, i) => (i + 1) * 0.001);
    const y = new Float64Array(n);
    y[4321] = 1000;
    y[777] = -5;
    const mm = decimateMinMax(t, y, 100);
    expect(mm.t).toHaveLength(100);
    expect(Math.max(...mm.max)).toBe(1000);
    expect(Math.min(...mm.min)).toBe(-5);
    expect(mm.t[0]).toBe(t[0]);
  });

  it('handles fewer samples than buckets, empty data and strided columns', () => {
    expect(decimateMinMax([1, 2], [5, 6], 100)).toEqual({ t: [1, 2], min: [5, 6], max: [5, 6] });
    expect(decimateMinMax([], [], 10)).toEqual({ t: [], min: [], max: [] });
    // a bucket of NaNs only stays a gap, not a line to ±Infinity
    expect(decimateMinMax([0, 1, 2, 3], [NaN, NaN, 1, 2], 2)).toEqual({ t: [0, 2], min: [NaN, 1], max: [NaN, 2] });
    // a bucket of infinities keeps them (a diverged value), not a gap; NaNs beside them are skipped
    expect(decimateMinMax([0, 1, 2, 3], [Infinity, Infinity, -Infinity, NaN], 2)).toEqual({
      t: [0, 2],
      min: [Infinity, -Infinity],
      max: [Infinity, -Infinity],
    });
    expect(decimateMinMax([0, 1], [NaN, Infinity], 1)).toEqual({ t: [0], min: [Infinity], max: [Infinity] });
    // two columns interleaved: take column 1
    expect(decimateMinMax([0, 1, 2, 3], [0, 10, 1, 11, 2, 12, 3, 13], 2, 2, 1)).toEqual({ t: [0, 2], min: [10, 12], max: [11, 13] });
  });

  it('draws buckets as a min-max zigzag', () => {
    expect(minMaxToLine([0, 1], [-1, -2], [1, 2])).toEqual({ x: [0, 0, 1, 1], y: [-1, 1, -2, 2] });
  });
});

describe('probe arrays to traces', () => {
  it('splits [samples, dims] into one trace per dimension, decimating long ones', () => {
    const t = [0.1, 0.2, 0.3];
    const short = probeToTraces('x', t, [1, 2, 3, 4, 5, 6], 2, 100);
    expect(short.decimated).toBe(false);
    expect(short.traces.map((tr) => tr.name)).toEqual(['x[0]', 'x[1]']);
    expect(short.traces[1].y).toEqual([2, 4, 6]);
    const n = 1000;
    const long = probeToTraces(
      'y',
      Array.from({ length: n }, (_, i) => i),
      Array.from({ length: n }, (_, i) => Math.sin(i)),
      1,
      50,
    );
    expect(long.decimated).toBe(true);
    expect(long.traces[0].ymin).toHaveLength(50);
  });

  it('reads probe.fetch replies in min/max and raw form', () => {
    const t = { header: { name: 't', shape: [2] }, data: new Float64Array([0, 1]) };
    const min = { header: { name: 'min', shape: [2, 2] }, data: new Float64Array([0, 10, 1, 11]) };
    const max = { header: { name: 'max', shape: [2, 2] }, data: new Float64Array([5, 15, 6, 16]) };
    const mm = tracesFromFetch('p', [t, min, max], 100, 4);
    expect(mm).toHaveLength(2);
    expect(mm[1]).toEqual({ name: 'p[5]', x: [0, 1], y: [], ymin: [10, 11], ymax: [15, 16] });
    const raw = tracesFromFetch('p', [t, { header: { name: 'y', shape: [2, 1] }, data: new Float64Array([3, 4]) }], 100);
    expect(raw).toEqual([{ name: 'p', x: [0, 1], y: [3, 4] }]);
    expect(tracesFromFetch('p', [], 100)).toEqual([]);
    // the service's form: buckets from tStart to tEnd; the last bucket is drawn to its end too
    const tStart = { header: { name: 'tStart', shape: [2] }, data: new Float64Array([0.001, 1.001]) };
    const tEnd = { header: { name: 'tEnd', shape: [2] }, data: new Float64Array([1, 2]) };
    const one = (name: string, v: number[]) => ({ header: { name, shape: [2, 1] }, data: new Float64Array(v) });
    expect(tracesFromFetch('p', [tStart, tEnd, one('min', [0, 1]), one('max', [5, 6])], 100)).toEqual([
      { name: 'p', x: [0.001, 1.001, 2], y: [], ymin: [0, 1, 1], ymax: [5, 6, 6] },
    ]);
  });

  it('makes a raster of spikes from a dense spike probe', () => {
    const r = spikesToRaster('spikes', [0.001, 0.002], [0, 1000, 1000, 0], 2);
    expect(r).toEqual({ name: 'spikes', x: [0.001, 0.002], y: [1, 0] });
  });
});

describe('plotly traces', () => {
  it('uses WebGL for large traces, lines for time series, markers for rasters', () => {
    const big = Array.from({ length: 6000 }, (_, i) => i);
    const spec: PlotSpec = {
      version: 1,
      kind: 'timeseries',
      traces: [
        { name: 'a', x: [0, 1], y: [0, 1] },
        { name: 'b', x: big, y: big },
      ],
    };
    const tr = specToTraces(spec, { glThreshold: 5000, colors: ['red', 'blue'] });
    expect(tr.map((t) => t.type)).toEqual(['scatter', 'scattergl']);
    // two samples: their points are marked (a one-sample line would draw nothing)
    expect(tr[0]).toMatchObject({ mode: 'lines+markers', line: { color: 'red' } });
    expect(tr[1]!.mode).toBe('lines');
    const raster = specToTraces({ ...spec, kind: 'raster' }, { glThreshold: 5000, colors: [] });
    expect(raster[0].mode).toBe('markers');
  });

  it('draws min/max traces as zigzags and labels trial overlays', () => {
    const spec: PlotSpec = {
      version: 1,
      kind: 'timeseries',
      traces: [{ name: 'x', x: [0, 1], y: [], ymin: [0, 1], ymax: [2, 3], trial: 2 }],
    };
    const [t] = specToTraces(spec, { glThreshold: 5000, colors: [] });
    expect(t.x).toEqual([0, 0, 1, 1]);
    expect(t.y).toEqual([0, 2, 1, 3]);
    expect(t.name).toBe('x (trial 2)');
    // a batch's spike rasters overlaid: each trial's in the legend by its number (they were all 'spikes')
    const raster = specToTraces(
      {
        version: 1,
        kind: 'raster',
        traces: [
          { name: 'spikes', x: [0.1], y: [0], trial: 0 },
          { name: 'spikes', x: [0.2], y: [1], trial: 1 },
        ],
      },
      { glThreshold: 5000, colors: [] },
    );
    expect(raster.map((r) => r.name)).toEqual(['spikes (trial 0)', 'spikes (trial 1)']);
  });
});
