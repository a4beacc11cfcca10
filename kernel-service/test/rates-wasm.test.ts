/**
 * The LIF rate curve in WebAssembly (kernels/rates-wasm.ts, fdlibm's log1p
 * written out) against the JavaScript loop with Math.log1p: the same bits for
 * every current, through every branch of log1p (x below 2^-54 and 2^-29,
 * below sqrt(2) - 1, the |f| < 2^-20 cases with f = 0 and not, u rounded up
 * and down, up to 2^52); the activities and their maximum in one pass; and
 * the decoders a model builds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LIFRate, Network, Simulator } from '../src/index.js';
import { lifActivitiesWasm, lifRatesWasm } from '../src/engine/kernels/rates-wasm.js';

function ratesJs(J: Float64Array, tauRc: number, tauRef: number, amp: number): Float64Array {
  const out = new Float64Array(J.length);
  for (let i = 0; i < J.length; i++) {
    const j = J[i]! - 1;
    out[i] = j > 0 ? amp / (tauRef + tauRc * Math.log1p(1 / j)) : 0;
  }
  return out;
}

/** Indices where a and b differ as bit patterns (NaN never occurs here). */
function differing(a: Float64Array, b: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

/** Currents J = 1 + 1/x for arguments x of log1p that reach each of its branches. */
function edgeCurrents(): Float64Array {
  const xs: number[] = [0, 5e-324, 1e-310, 2 ** -60, 2 ** -54, 2 ** -40, 2 ** -29, 1e-5, 0.25, 0.4142, 0.41422, 0.5];
  for (let e = -3; e <= 52; e++) {
    const p = 2 ** e;
    // powers of two and their neighbours: f = 0 exactly, and |f| < 2^-20 on either side
    xs.push(p, p * (1 + 2 ** -52), p * (1 - 2 ** -53), p * (1 + 2 ** -30), p * (1 - 2 ** -30), p - 1, p + 1);
    xs.push(p * Math.SQRT2, p * Math.SQRT1_2 * 1.0000001);
  }
  const J: number[] = xs.filter((x) => x > 0).map((x) => 1 + 1 / x);
  // and directly: J = 1 (+ an ulp), large, infinite, at and below threshold, negative
  J.push(1, 1 + 2 ** -52, 1 + 2 ** -51, 1e308, Infinity, 0.5, -3, 0);
  return Float64Array.from(J);
}

describe('LIF rates in WebAssembly', () => {
  const before = process.env['NEFSIM_WASM'];
  afterEach(() => {
    if (before === undefined) delete process.env['NEFSIM_WASM'];
    else process.env['NEFSIM_WASM'] = before;
  });

  it("gives Math.log1p's bits on every branch of log1p", () => {
    const J = edgeCurrents();
    const padded = new Float64Array(Math.max(256, J.length));
    padded.set(J);
    padded.fill(2, J.length);
    const out = new Float64Array(padded.length);
    expect(lifRatesWasm(padded, out, 0.02, 0.002, 1)).toBe(true);
    expect(differing(out, ratesJs(padded, 0.02, 0.002, 1))).toEqual([]);
  });

  it('gives the same bits as JavaScript over millions of random currents', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const J = new Float64Array(1 << 20);
    for (const [tauRc, tauRef, amp] of [
      [0.02, 0.002, 1],
      [0.05, 0.0005, 0.3],
    ] as const) {
      for (let rep = 0; rep < 3; rep++) {
        // uniform currents as activities give, and log-uniform excursions just above threshold and far out
        for (let i = 0; i < J.length; i++) {
          const r = rand();
          J[i] = i % 3 === 0 ? r * 60 - 20 : i % 3 === 1 ? 1 + 2 ** (-52 * r) : 1 + 2 ** (60 * r);
        }
        const out = new Float64Array(J.length);
        expect(lifRatesWasm(J, out, tauRc, tauRef, amp)).toBe(true);
        expect(differing(out, ratesJs(J, tauRc, tauRef, amp)).slice(0, 5)).toEqual([]);
      }
    }
  });

  it('works in place, and declines few currents or NEFSIM_WASM=0', () => {
    const J = Float64Array.from({ length: 300 }, (_, i) => i / 10);
    const want = ratesJs(J, 0.02, 0.002, 1);
    expect(lifRatesWasm(J, J, 0.02, 0.002, 1)).toBe(true);
    expect(differing(J, want)).toEqual([]);
    expect(lifRatesWasm(new Float64Array(10), new Float64Array(10), 0.02, 0.002, 1)).toBe(false);
    process.env['NEFSIM_WASM'] = '0';
    expect(lifRatesWasm(J, J, 0.02, 0.002, 1)).toBe(false);
  });

  it('computes activities and their maximum in one pass, as currents, rates and max(A) do', () => {
    let seed = 99;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    for (const [m, n, d] of [
      [750, 50, 1],
      [300, 37, 3],
      [20, 16, 2], // 320 values: just past the copy threshold
      [1000, 301, 2], // calls of 108 rows (32,768 activities each) and a last one of 28
      [3, 40000, 1], // rows longer than a call: one row a call
    ] as const) {
      const enc = Float64Array.from({ length: n * d }, () => 40 * rand());
      const bias = Float64Array.from({ length: n }, () => 10 * rand());
      const x = Float64Array.from({ length: m * d }, () => 2 * rand());
      // the builder's way: currents (as build.ts's activities()), then rates, then the solvers' max
      const J = new Float64Array(m * n);
      for (let p = 0; p < m; p++) {
        for (let i = 0; i < n; i++) {
          let sum = bias[i]!;
          for (let j = 0; j < d; j++) sum += enc[i * d + j]! * x[p * d + j]!;
          J[p * n + i] = sum;
        }
      }
      const want = ratesJs(J, 0.02, 0.002, 1);
      let max = -Infinity;
      for (const v of want) if (v > max) max = v;
      const out = new Float64Array(m * n);
      expect(lifActivitiesWasm(enc, bias, x, m, n, d, out, 0.02, 0.002, 1)).toBe(max);
      expect(differing(out, want), `m ${m}, n ${n}, d ${d}`).toEqual([]);
    }
    expect(
      lifActivitiesWasm(new Float64Array(2), new Float64Array(2), new Float64Array(2), 2, 2, 1, new Float64Array(4), 0.02, 0.002, 1),
    ).toBe(undefined); // too few: the JavaScript path
  });

  it('computes activities through every branch of log1p, in rows with odd and even lists', () => {
    // currents as biases (encoders 0): row p holds the edge currents from p on, so that the rows'
    // lists of the k = 0 path and of the others differ in length and parity
    const edges = edgeCurrents();
    const n = edges.length,
      m = 4;
    const enc = new Float64Array(n),
      x = Float64Array.from({ length: m }, (_, p) => p);
    for (let p = 0; p < m; p++) {
      const bias = Float64Array.from({ length: n }, (_, i) => edges[(i + p) % n]!);
      const want = ratesJs(bias, 0.02, 0.002, 1);
      let max = -Infinity;
      for (const v of want) if (v > max) max = v;
      const out = new Float64Array(m * n);
      expect(lifActivitiesWasm(enc, bias, x, m, n, 1, out, 0.02, 0.002, 1)).toBe(max);
      for (let r = 0; r < m; r++) expect(differing(out.subarray(r * n, (r + 1) * n), want), `row ${r}`).toEqual([]);
    }
    // every rate 0: the maximum is 0
    const below = new Float64Array(300).fill(0.5);
    expect(lifActivitiesWasm(new Float64Array(300), below, Float64Array.of(1), 1, 300, 1, new Float64Array(300), 0.02, 0.002, 1)).toBe(0);
  });

  it("leaves a subclass's own rate curve to its rates()", () => {
    class Halved extends LIFRate {
      override rates(J: Float64Array, out: Float64Array): void {
        super.rates(J, out);
        for (let i = 0; i < out.length; i++) out[i] = out[i]! / 2;
      }
    }
    const enc = new Float64Array(300).fill(20),
      bias = new Float64Array(300).fill(1),
      x = Float64Array.of(0.5);
    expect(new Halved().ratesAt(enc, bias, x, 1, 300, 1, new Float64Array(300))).toBeUndefined();
    expect(new LIFRate().ratesAt(enc, bias, x, 1, 300, 1, new Float64Array(300))).toBeGreaterThan(0);
  });

  it('builds the same decoders as the JavaScript rates', () => {
    const build = (): Float64Array => {
      const net = new Network({ label: 'rates', seed: 5 });
      const a = net.ensemble({ nNeurons: 120, dimensions: 2, label: 'a' });
      const b = net.ensemble({ nNeurons: 80, dimensions: 1, neuronType: new LIFRate(), label: 'b' });
      net.connect(a, b, { function: (x) => [x[0]! * x[1]!] });
      const p = net.probe(b, { synapse: 0.01 });
      const sim = new Simulator(net, { decoderCache: null });
      sim.run(0.1);
      return sim.data(p).data;
    };
    const viaWasm = build();
    process.env['NEFSIM_WASM'] = '0';
    const viaJs = build();
    expect(differing(viaWasm, viaJs)).toEqual([]);
  });
});
