/** Post-processing (src/post) and the cell transformation (src/server/transform.ts), without a service. */
import { describe, expect, it } from 'vitest';
import { Alpha, LIF, Lowpass, Network, Simulator } from '../src/index.js';
import {
  filteredRates,
  filterSeries,
  filtfiltSeries,
  meanRates,
  minMaxDecimate,
  rmse,
  spikeTimes,
  timeRange,
  tuningCurves,
} from '../src/post/index.js';
import { decodeArrayFrame, encodeArrayFrame } from '../src/server/protocol.js';
import { mapPosition, transformCell, transformForModule } from '../src/server/transform.js';

describe('post.* refuse arguments that do not fit, naming the function (they gave NaN, or silently fewer values)', () => {
  it('series, rows and cols, kinds and buckets', () => {
    const y = Float64Array.of(1, 2, 3);
    expect(() => filterSeries(y, 5, 1, 0.001, 0.01)).toThrow(/filterSeries: 5 x 1 values asked for, but y has 3/);
    expect(() => filterSeries(y, 3, 1, 0.001, 0.01, 'bogus' as never)).toThrow(
      /filterSeries: kind must be 'lowpass' or 'alpha', got bogus/,
    );
    expect(() => filterSeries({ data: y, rows: 3, cols: 1 } as never, 3, 1, 0.001, 0.01)).toThrow(/a ProbeData: give its \.data/);
    expect(() => meanRates(y, 5, 1)).toThrow(/meanRates: 5 x 1 values asked for, but spikes has 3/);
    expect(() => meanRates(y, 1.5, 1)).toThrow(/meanRates: rows must be a non-negative integer/);
    expect(() => minMaxDecimate(Float64Array.of(1, 2, 3), y, 3, 1, NaN)).toThrow(/minMaxDecimate: buckets must be a number >= 1, got NaN/);
    expect(() => rmse(y, y, 3, 1, NaN)).toThrow(/rmse: from must be a row index \(an integer >= 0\), got NaN/);
    expect(() => rmse(y, Float64Array.of(1), 3, 1)).toThrow(/rmse: 3 x 1 values asked for, but target has 1/);
    expect(() => spikeTimes(Float64Array.of(1), y, 3, 1, [0])).toThrow(/spikeTimes: t has 1 times, but the series 3 rows/);
    expect(Array.from(filterSeries(y, 3, 1, 0.001, 0))).toEqual([1, 2, 3]);
  });
});

describe('post.* name the function and the argument at fault', () => {
  const y = Float64Array.of(1, 2, 3);
  const t = Float64Array.of(0.001, 0.002, 0.003);
  it('filteredRates says filteredRates and spikes, not filterSeries and y', () => {
    expect(() => filteredRates(y, 5, 1, 0.001)).toThrow(/^filteredRates: 5 x 1 values asked for, but spikes has 3$/);
    expect(() => filteredRates(y, 3, 1, 0, 0.05)).toThrow(/^filteredRates: dt must be a positive number, got 0$/);
    expect(() => filteredRates(y, 3, 1, 0.001, Infinity)).toThrow(/^filteredRates: tau must be a non-negative number, got Infinity$/);
    expect(() => filterSeries(y, 3, 1, NaN, 0.05)).toThrow(/^filterSeries: dt must be a positive number, got NaN$/);
    expect(() => filterSeries(y, 3, 1, 0.001, -1)).toThrow(/^filterSeries: tau must be a non-negative number, got -1$/);
  });
  it('minMaxDecimate refuses what is not a Float64Array (a ProbeData gave all NaN)', () => {
    const probeData = { data: y, rows: 3, cols: 1 };
    expect(() => minMaxDecimate(t, probeData as never, 3, 1, 2)).toThrow(
      /^minMaxDecimate: y must be a Float64Array.*a ProbeData: give its \.data/,
    );
    expect(() => minMaxDecimate([1, 2, 3] as never, y, 3, 1, 2)).toThrow(/^minMaxDecimate: t must be a Float64Array of 3 times/);
    expect(() => minMaxDecimate(t, y, -1, 1, 2)).toThrow(/^minMaxDecimate: rows must be a non-negative integer, got -1/);
  });
  it('timeRange refuses NaN bounds and times that are not a Float64Array (it gave a range anyway)', () => {
    expect(() => timeRange(t, NaN, 1)).toThrow(/^timeRange: t0 must be a number \(or -Infinity\), got NaN/);
    expect(() => timeRange(t, 0, NaN)).toThrow(/^timeRange: t1 must be a number \(or Infinity\), got NaN/);
    expect(() => timeRange({ data: t } as never, 0, 1)).toThrow(/^timeRange: t must be a Float64Array of times/);
    expect(timeRange(t, -Infinity, Infinity)).toEqual([0, 3]);
  });
  it('spikeTimes refuses neurons that are not an array of indices', () => {
    expect(() => spikeTimes(t, y, 3, 1, 0 as never)).toThrow(/^spikeTimes: neurons must be an array of neuron indices, got 0/);
  });
  it('spikeTimes counts a missing (NaN) sample as no spike, and a spike of negative amplitude as one', () => {
    const [n0] = spikeTimes(Float64Array.of(0.001, 0.002, 0.003), Float64Array.of(NaN, -1000, 0), 3, 1, [0]);
    expect(Array.from(n0!)).toEqual([0.002]);
  });
  it('tuningCurves refuses a radius, dimensions or arrays that do not fit (they gave rates of 0 or NaN)', () => {
    const ok = {
      neuronType: new LIF(),
      gain: Float64Array.of(1, 2),
      bias: Float64Array.of(1, 1),
      encoders: Float64Array.of(1, -1),
      dimensions: 1,
      radius: 1,
    };
    expect(tuningCurves(ok, 3).rates).toHaveLength(6);
    expect(() => tuningCurves({ ...ok, radius: 0 })).toThrow(/^tuningCurves: radius must be a positive number, got 0/);
    expect(() => tuningCurves({ ...ok, radius: NaN })).toThrow(/^tuningCurves: radius must be a positive number, got NaN/);
    expect(() => tuningCurves({ ...ok, dimensions: 0 })).toThrow(/^tuningCurves: dimensions must be a positive integer, got 0/);
    expect(() => tuningCurves({ ...ok, bias: Float64Array.of(1) })).toThrow(/^tuningCurves: bias has 1 values, gain 2/);
    expect(() => tuningCurves({ ...ok, encoders: Float64Array.of(1) })).toThrow(
      /^tuningCurves: encoders has 1 values, 2 neurons x 1 dimensions need 2/,
    );
    expect(() => tuningCurves({ ...ok, gain: [1, 2] as never })).toThrow(/^tuningCurves: gain must be a Float64Array/);
    expect(() => tuningCurves({ ...ok, neuronType: {} as never })).toThrow(/^tuningCurves: neuronType must have a rates\(J, out\) method/);
  });
});

describe('minMaxDecimate', () => {
  it('keeps the extremes of every bucket, over several columns, with uneven bucket sizes', () => {
    const rows = 1003;
    const cols = 3;
    const t = Float64Array.from({ length: rows }, (_, i) => (i + 1) * 0.001);
    const y = Float64Array.from({ length: rows * cols }, (_, k) => Math.sin(k * 0.37) * (k % 97 === 0 ? 50 : 1));
    const mm = minMaxDecimate(t, y, rows, cols, 10);
    expect(mm.buckets).toBe(10);
    let covered = 0;
    for (let b = 0; b < 10; b++) {
      const i0 = Math.floor((b * rows) / 10);
      const i1 = Math.floor(((b + 1) * rows) / 10);
      covered += i1 - i0;
      expect(mm.tStart[b]).toBe(t[i0]);
      expect(mm.tEnd[b]).toBe(t[i1 - 1]);
      for (let c = 0; c < cols; c++) {
        const col = Array.from({ length: i1 - i0 }, (_, i) => y[(i0 + i) * cols + c]!);
        expect(mm.min[b * cols + c]).toBe(Math.min(...col));
        expect(mm.max[b * cols + c]).toBe(Math.max(...col));
      }
    }
    expect(covered).toBe(rows);
  });

  it('handles fewer rows than buckets, no rows, and NaN', () => {
    const t = Float64Array.from([1, 2, 3]);
    expect(minMaxDecimate(t, Float64Array.from([5, 6, 7]), 3, 1, 100).buckets).toBe(3);
    expect(minMaxDecimate(new Float64Array(0), new Float64Array(0), 0, 1, 100).buckets).toBe(0);
    const n = minMaxDecimate(t, Float64Array.from([NaN, 2, NaN]), 3, 1, 1);
    expect([n.min[0], n.max[0]]).toEqual([2, 2]);
    expect(Number.isNaN(minMaxDecimate(t, Float64Array.from([NaN, NaN, NaN]), 3, 1, 1).min[0])).toBe(true);
  });

  it('timeRange selects [t0, t1]', () => {
    const t = Float64Array.from([0.1, 0.2, 0.3, 0.4]);
    expect(timeRange(t, 0.2, 0.3)).toEqual([1, 3]);
    expect(timeRange(t, -1, 10)).toEqual([0, 4]);
    expect(timeRange(t, 0.5, 1)).toEqual([4, 4]);
  });
});

describe('filters and rates', () => {
  it('lowpass equals the engine probe with the same Lowpass synapse', () => {
    const net = new Network({ seed: 1 });
    const n = net.node((t) => Math.sin(10 * t) + (t > 0.1 ? 1 : 0));
    const raw = net.probe(n);
    const filtered = net.probe(n, { synapse: new Lowpass(0.02) });
    const sim = new Simulator(net);
    sim.run(0.3);
    const r = sim.data(raw);
    const ours = filterSeries(r.data, r.rows, 1, 0.001, 0.02);
    const engine = sim.data(filtered).data;
    // The engine's synapse delays by one step (an update operator): ours[i - 1] = engine[i].
    for (let i = 1; i < r.rows; i++) expect(ours[i - 1]).toBeCloseTo(engine[i]!, 12);
  });

  it("alpha equals Nengo's Alpha (zero-order hold), as the engine's Alpha.filt gives it", () => {
    // two lowpass stages in a row have Alpha's poles but not its zeros: 20 % off after a spike at tau = 5 dt
    const n = 400;
    const dt = 0.001;
    const x = Float64Array.from({ length: 2 * n }, (_, k) => (Math.floor(k / 2) % 50 === 7 ? 1000 : k % 2 === 1 ? Math.sin(k) : 0));
    for (const tau of [0.005, 0.05, 1e-6]) {
      const ours = filterSeries(x, n, 2, dt, tau, 'alpha');
      const nengo = new Alpha(tau).filt(x, n, 2, dt);
      for (let k = 0; k < 2 * n; k++) expect(ours[k]).toBeCloseTo(nengo[k]!, 9);
    }
    // a tau so small that dt / tau overflows passes the input through (not NaN)
    expect(Array.from(filterSeries(Float64Array.of(1, 2), 2, 1, dt, 5e-324, 'alpha'))).toEqual([1, 2]);
  });

  it('mean rates and spike times from 1/dt spike trains', () => {
    const dt = 0.001;
    const rows = 1000;
    const s = new Float64Array(rows * 2);
    for (let i = 9; i < rows; i += 10) s[i * 2] = 1 / dt; // 100 Hz in neuron 0
    const t = Float64Array.from({ length: rows }, (_, i) => (i + 1) * dt);
    expect(Array.from(meanRates(s, rows, 2))).toEqual([100, 0]);
    const [n0, n1] = spikeTimes(t, s, rows, 2, [0, 1]);
    expect(n0!.length).toBe(100);
    expect(n0![0]).toBeCloseTo(0.01, 12);
    expect(n1!.length).toBe(0);
  });

  it('tuning curves match the built max rates and intercepts', () => {
    const net = new Network({ seed: 2 });
    const e = net.ensemble({ nNeurons: 30, dimensions: 1 });
    const sim = new Simulator(net);
    const b = sim.built(e);
    const tc = tuningCurves({ neuronType: e.neuronType, gain: b.gain, bias: b.bias, encoders: b.encoders, dimensions: 1, radius: 1 }, 201);
    for (let k = 0; k < 30; k++) {
      const atPreferred = b.encoders[k]! > 0 ? tc.rates[200 * 30 + k]! : tc.rates[k]!;
      expect(atPreferred).toBeCloseTo(b.maxRates[k]!, 6);
    }
  });

  it('rmse per column and overall, from a start row', () => {
    const y = Float64Array.from([1, 1, 2, 2, 3, 3]);
    const target = Float64Array.from([9, 9, 2, 3, 3, 3]);
    const r = rmse(y, target, 3, 2, 1);
    expect(r.samples).toBe(2);
    expect(r.perColumn).toEqual([0, Math.sqrt(0.5)]);
    expect(r.overall).toBeCloseTo(0.5, 12);
  });
});

describe('post.* on edge cases give no wrong answer', () => {
  it('meanRates over no rows is NaN for every neuron (a rate over no time is undefined; it gave 0 Hz)', () => {
    const r = meanRates(new Float64Array(0), 0, 3);
    expect(r).toHaveLength(3);
    for (const v of r) expect(v).toBeNaN();
    // a NaN sample (a gap) leaves its neuron's mean NaN, the others' as they are
    expect(Array.from(meanRates(Float64Array.of(1000, NaN, 0, 0), 2, 2))).toEqual([500, NaN]);
  });
  it('timeRange refuses t0 after t1 (it gave a reversed range, [3, 1], whose length was negative)', () => {
    const t = Float64Array.of(0.1, 0.2, 0.3, 0.4);
    expect(() => timeRange(t, 0.35, 0.15)).toThrow(/^timeRange: t0 \(0\.35\) is after t1 \(0\.15\)$/);
    // a window between two samples, or past the last, is empty, not reversed
    expect(timeRange(t, 0.25, 0.25)).toEqual([2, 2]);
    expect(timeRange(t, 1, Infinity)).toEqual([4, 4]);
  });
  it('spikeTimes and minMaxDecimate refuse times of another length than the rows (sim.t for a probe sampled every 10 steps gave times 10 times too early)', () => {
    const dt = 0.001;
    const stepTimes = Float64Array.from({ length: 100 }, (_, i) => (i + 1) * dt); // sim.t: every step
    const spikes = new Float64Array(10); // a probe sampled every 10 steps: 10 rows
    spikes[4] = 1 / dt; // a spike at the 5th sample, t = 0.05 s
    expect(() => spikeTimes(stepTimes, spikes, 10, 1, [0])).toThrow(
      /^spikeTimes: t has 100 times, but the series 10 rows: give the probe's own sample times/,
    );
    expect(() => minMaxDecimate(stepTimes, spikes, 10, 1, 5)).toThrow(/^minMaxDecimate: t has 100 times, but the series 10 rows/);
    const own = Float64Array.from({ length: 10 }, (_, i) => (i + 1) * 10 * dt);
    expect(Array.from(spikeTimes(own, spikes, 10, 1, [0])[0]!)).toEqual([own[4]]);
  });
  it('post.* refuse a series longer than rows x cols (a 2-D probe given as 1 column was read interleaved)', () => {
    // two dimensions, row-major: [0, 10, 0, 10, ...]; taken as one column of `rows` values, its first half
    const rows = 4;
    const y = Float64Array.of(0, 10, 0, 10, 0, 10, 0, 10);
    expect(() => filterSeries(y, rows, 1, 0.001, 0)).toThrow(
      /^filterSeries: 4 x 1 values asked for, but y has 8 \(rows and cols describe all of it: for the first rows, give y\.subarray\(0, rows \* cols\)\)$/,
    );
    expect(() => meanRates(y, rows, 1)).toThrow(/^meanRates: 4 x 1 values asked for, but spikes has 8/);
    expect(() => rmse(y, y, rows, 1)).toThrow(/^rmse: 4 x 1 values asked for, but y has 8/);
    expect(Array.from(meanRates(y, rows, 2))).toEqual([0, 10]);
    expect(Array.from(meanRates(y.subarray(0, 2), 1, 2))).toEqual([0, 10]);
  });
  it('rmse refuses a from that is not a row index (a time, 0.5 s, was floored to row 0 and counted the transient)', () => {
    const y = Float64Array.of(9, 1, 1, 1);
    const target = Float64Array.of(1, 1, 1, 1);
    expect(() => rmse(y, target, 4, 1, 0.5)).toThrow(
      /^rmse: from must be a row index \(an integer >= 0\), got 0\.5 \(for a time, give timeRange\(t, from, Infinity\)\[0\]\)$/,
    );
    expect(rmse(y, target, 4, 1, 1).overall).toBe(0);
    // past the last row: no samples, so no error (NaN), as meanRates over no rows
    expect(rmse(y, target, 4, 1, 10)).toMatchObject({ samples: 0, overall: NaN });
  });
  it('rmse refuses y and target of different lengths (a target at every step against a probe sampled every 10 steps used its first tenth)', () => {
    const y = new Float64Array(100);
    const target = new Float64Array(1000);
    expect(() => rmse(y, target, 100, 1)).toThrow(
      /^rmse: 100 x 1 values asked for, but target has 1000 \(rows and cols describe all of it/,
    );
    // fewer rows: subarrays of both
    expect(rmse(Float64Array.of(1, 2, 3).subarray(0, 2), Float64Array.of(1, 2, 0).subarray(0, 2), 2, 1).overall).toBe(0);
  });
});

describe('binary frames', () => {
  it('round-trip with header, 8-byte alignment and little-endian data', () => {
    const a = Float64Array.from([1.5, -2, Math.PI]);
    const buf = encodeArrayFrame({ id: 'req-7', name: 'y', dtype: 'float64', shape: [3] }, a);
    expect(buf.readUInt32LE(0)).toBe(0x4246454e);
    const h = buf.readUInt32LE(4);
    expect((buf.length - 24) % 8).toBe(0);
    expect(buf.readDoubleLE(Math.ceil((8 + h) / 8) * 8 + 16)).toBe(Math.PI);
    const d = decodeArrayFrame(buf);
    expect(d.header).toEqual({ id: 'req-7', name: 'y', dtype: 'float64', shape: [3] });
    expect(Array.from(d.data)).toEqual([1.5, -2, Math.PI]);
  });
});

describe('cell transformation', () => {
  it('turns top-level declarations into globals and keeps lines; maps columns back', () => {
    const src = 'const a = 1, { b } = { b: 2 };\nlet c;\nfunction f() { return a + b; }\nclass K {}\n  f() + c.d';
    const t = transformCell(src);
    expect(t.names).toEqual(['a', 'b', 'c', 'K']);
    expect(t.functions).toEqual(['f']);
    expect(t.code.split('\n')).toHaveLength(src.split('\n').length + 1);
    // 'c.d' on line 5: the generated line has 'return (' inserted before 'f()'.
    const gen = t.code.split('\n')[4]!;
    expect(mapPosition(t, 5, gen.indexOf('.d') + 1)).toEqual({ line: 5, column: src.split('\n')[4]!.indexOf('.d') + 1 });
    // Line 1 has the wrapper's prefix.
    const gen1 = t.code.split('\n')[0]!;
    expect(mapPosition(t, 1, gen1.indexOf('{ b: 2 }') + 1)).toEqual({ line: 1, column: src.indexOf('{ b: 2 }') + 1 });
  });

  it('reports syntax errors with the cell position, refuses import', () => {
    expect(() => transformCell('let x = ;')).toThrow(expect.objectContaining({ line: 1, column: 9 }));
    expect(() => transformCell("\nimport x from 'y';")).toThrow(expect.objectContaining({ line: 2 }));
  });

  it('module form declares nothing twice across cells', () => {
    const t = transformForModule('const net = 1;\nfunction g() {}');
    expect(t.code).toBe('void ( net = 1);\nfunction g() {}');
    expect(t.names).toEqual(['net']);
  });
});

describe('filtfiltSeries', () => {
  // Nengo 4.1 (bench/.venv), x[i] = sin(0.3 i) + 5 every 7th row, and -2x in a second column, dt = 1 ms:
  // Lowpass(0.005).filt / .filtfilt and Alpha(0.004).filt / .filtfilt, rows 0, 1, 7, 30, 59 of column 0
  const n = 60;
  const x = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = Math.sin(0.3 * i) + (i % 7 === 0 ? 5 : 0);
    x[2 * i + 1] = -2 * x[2 * i]!;
  }
  const rows = [0, 1, 7, 30, 59];
  const nengo = {
    lowpass: {
      filt: [0.9063462346100906, 0.7956222605234529, 1.7623664659203033, 1.3372306972723027, 0.15105332783171982],
      filtfilt: [0.8889629695303454, 0.8851142666958605, 1.108038077692656, 0.8139528792018502, 0.15105332783171982],
      filtfilt30b: -1.6279057584037004,
      tau: 0.005,
    },
    alpha: {
      filt: [0.13249510580371957, 0.32635594256127604, 0.8884450496093517, 1.1693915058159479, 0.6274920459416798],
      filtfilt: [0.7382896346875889, 0.7916825520006691, 0.8853731525764519, 0.7796874171264204, 0.5093245164927547],
      filtfilt30b: -1.5593748342528408,
      tau: 0.004,
    },
  } as const;

  it("gives Nengo 4.1's Synapse.filtfilt (forward, then backward with the state carried over), for Lowpass and Alpha", () => {
    for (const kind of ['lowpass', 'alpha'] as const) {
      const want = nengo[kind];
      const f = filterSeries(x, n, 2, 0.001, want.tau, kind);
      const ff = filtfiltSeries(x, n, 2, 0.001, want.tau, kind);
      rows.forEach((r, k) => {
        expect(f[2 * r]).toBeCloseTo(want.filt[k]!, 12);
        expect(ff[2 * r]).toBeCloseTo(want.filtfilt[k]!, 12);
      });
      expect(ff[2 * 30 + 1]).toBeCloseTo(want.filtfilt30b, 12);
    }
    // the input is left as it was, and tau = 0 passes it through
    expect(x[0]).toBe(5);
    expect(Array.from(filtfiltSeries(x, n, 2, 0.001, 0))).toEqual(Array.from(x));
  });

  it('names itself in its errors', () => {
    expect(() => filtfiltSeries(x, n + 1, 2, 0.001, 0.01)).toThrow(/^filtfiltSeries: 61 x 2 values asked for, but y has 120/);
    expect(() => filtfiltSeries(x, n, 2, 0.001, -1)).toThrow(/^filtfiltSeries: tau must be a non-negative number, got -1$/);
  });
});
