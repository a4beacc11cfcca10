import { describe, expect, it } from 'vitest';
import { Gaussian, Uniform } from '../src/engine/dists.js';
import { ValidationError } from '../src/engine/errors.js';
import { Piecewise, PresentInput, WhiteNoise, WhiteSignal } from '../src/engine/processes.js';
import { Rng } from '../src/engine/rng.js';

function meanStd(x: Float64Array): { mean: number; std: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) ** 2;
  return { mean, std: Math.sqrt(ss / x.length) };
}

/** Naive DFT power |X_k|^2 of a real sequence, k = 0..M/2. */
function dftPower(x: Float64Array): Float64Array {
  const M = x.length;
  const P = new Float64Array(Math.floor(M / 2) + 1);
  for (let k = 0; k < P.length; k++) {
    let re = 0;
    let im = 0;
    for (let n = 0; n < M; n++) {
      const a = (-2 * Math.PI * ((k * n) % M)) / M;
      re += x[n]! * Math.cos(a);
      im += x[n]! * Math.sin(a);
    }
    P[k] = re * re + im * im;
  }
  return P;
}

describe('WhiteNoise', () => {
  it('Gaussian(0,1) samples scaled by 1/sqrt(dt)', () => {
    const dt = 0.002;
    const y = new WhiteNoise().runSteps(20000, dt, new Rng(1));
    const { mean, std } = meanStd(y);
    const s = 1 / Math.sqrt(dt);
    expect(Math.abs(mean)).toBeLessThan((4 * s) / Math.sqrt(20000));
    expect(std / s).toBeCloseTo(1, 1);
    expect(Math.abs(std / s - 1)).toBeLessThan(0.03);
  });

  it('scale=false and other distributions; multi-dimensional output', () => {
    const y = new WhiteNoise({ dist: new Gaussian(2, 0.5), scale: false }).runSteps(10000, 0.001, new Rng(2), 3);
    expect(y.length).toBe(30000);
    const { mean, std } = meanStd(y);
    expect(Math.abs(mean - 2)).toBeLessThan(0.03);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.02);
    const u = new WhiteNoise({ dist: new Uniform(-1, 1), scale: false }).runSteps(5000, 0.001, new Rng(3));
    for (const v of u) expect(v >= -1 && v < 1).toBe(true);
  });

  it('step k outputs the k-th row of dist.sample(1, d) times 1/sqrt(dt)', () => {
    const dt = 0.001;
    const step = new WhiteNoise().makeStep(0, 2, dt, new Rng(5));
    const ref = new Rng(5);
    const g = new Gaussian(0, 1);
    const out = new Float64Array(2);
    for (let k = 0; k < 5000; k++) {
      step((k + 1) * dt, null, out);
      const s = g.sample(1, 2, ref);
      expect(out[0]).toBe(s[0]! * (1 / Math.sqrt(dt)));
      expect(out[1]).toBe(s[1]! * (1 / Math.sqrt(dt)));
    }
  });

  it('is deterministic by seed, and validates options', () => {
    const a = new WhiteNoise().runSteps(100, 0.001, new Rng(5));
    const b = new WhiteNoise().runSteps(100, 0.001, new Rng(5));
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = new WhiteNoise({ seed: 9 }).runSteps(100, 0.001, new Rng(1));
    const d = new WhiteNoise({ seed: 9 }).runSteps(100, 0.001, new Rng(2));
    expect(Array.from(c)).toEqual(Array.from(d));
    expect(() => new WhiteNoise({ scale: 1 as unknown as boolean })).toThrow(/WhiteNoise: scale/);
    expect(() => new WhiteNoise({ sclae: true } as unknown as object)).toThrow(/Did you mean 'scale'/);
    expect(() => new WhiteNoise().makeStep(1, 1, 0.001, new Rng(1))).toThrow(/no input/);
  });
});

describe('WhiteSignal', () => {
  const dt = 0.001;

  it('has the requested rms, no power above high, and is periodic', () => {
    const period = 1;
    const high = 10;
    const p = new WhiteSignal({ period, high, rms: 0.3 });
    const M = Math.round(period / dt);
    const y = p.runSteps(2 * M, dt, new Rng(11), 2);
    for (let j = 0; j < 2; j++) {
      const col = new Float64Array(M);
      for (let i = 0; i < M; i++) col[i] = y[i * 2 + j]!;
      // rms of one period: exactly the requested rms in expectation
      let ss = 0;
      for (const v of col) ss += v * v;
      const rms = Math.sqrt(ss / M);
      expect(rms).toBeGreaterThan(0.3 * 0.6);
      expect(rms).toBeLessThan(0.3 * 1.4);
      // mean is 0 (X_0 = 0)
      expect(Math.abs(meanStd(col).mean)).toBeLessThan(1e-12);
      // power above high is zero (bins k/period > high)
      const P = dftPower(col);
      let total = 0;
      let above = 0;
      for (let k = 0; k < P.length; k++) {
        total += P[k]!;
        if (k / period > high) above += P[k]!;
      }
      expect(above / total).toBeLessThan(1e-20);
      // periodic
      for (let i = 0; i < M; i++) expect(y[(i + M) * 2 + j]).toBeCloseTo(y[i * 2 + j]!, 12);
    }
  });

  it('rms averaged over seeds matches the request', () => {
    let acc = 0;
    const n = 40;
    for (let s = 0; s < n; s++) {
      const y = new WhiteSignal({ period: 2, high: 5, rms: 0.5 }).runSteps(2000, dt, new Rng(100 + s));
      let ss = 0;
      for (const v of y) ss += v * v;
      acc += ss / y.length;
    }
    expect(Math.sqrt(acc / n)).toBeGreaterThan(0.45);
    expect(Math.sqrt(acc / n)).toBeLessThan(0.55);
  });

  it('uses an FFT for any period (non power-of-two length) consistent with a direct sum', () => {
    // period/dt = 1234 -> N = 617, M = 1234 (Bluestein path); compare with the Fourier series
    const p = new WhiteSignal({ period: 1.234, high: 8 });
    const { table, length } = p.makeTable(1, dt, new Rng(4));
    expect(length).toBe(1234);
    const P = dftPower(table);
    let above = 0;
    let total = 0;
    for (let k = 0; k < P.length; k++) {
      total += P[k]!;
      if (k / (length * dt) > 8) above += P[k]!;
    }
    expect(above / total).toBeLessThan(1e-20);
    // odd period/dt: M = 2 ceil(period/dt/2)
    expect(new WhiteSignal({ period: 0.101, high: 20 }).makeTable(1, dt, new Rng(1)).length).toBe(102);
  });

  it('is deterministic by seed; output at t is table[round(t/dt) mod M]; y0 aligns the start', () => {
    const a = new WhiteSignal({ period: 0.5, high: 10 }).runSteps(600, dt, new Rng(3));
    const b = new WhiteSignal({ period: 0.5, high: 10 }).runSteps(600, dt, new Rng(3));
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = new WhiteSignal({ period: 0.5, high: 10 }).runSteps(600, dt, new Rng(4));
    expect(Array.from(a)).not.toEqual(Array.from(c));

    const p = new WhiteSignal({ period: 0.5, high: 10, seed: 77 });
    const { table } = p.makeTable(1, dt, new Rng(77));
    const step = p.makeStep(0, 1, dt, new Rng(77));
    const out = new Float64Array(1);
    step(dt, null, out);
    expect(out[0]).toBe(table[1]);
    step(0.5 + 3 * dt, null, out);
    expect(out[0]).toBe(table[3]);

    const z = new WhiteSignal({ period: 1, high: 5, y0: 0 }).runSteps(3, dt, new Rng(8), 2);
    // first output is the sample closest to 0: within one step's change of 0
    expect(Math.abs(z[0]!)).toBeLessThan(0.05);
    expect(Math.abs(z[1]!)).toBeLessThan(0.05);
  });

  it('validates parameters', () => {
    expect(() => new WhiteSignal({ period: 0, high: 5 })).toThrow(/WhiteSignal: period/);
    expect(() => new WhiteSignal({ period: 1, high: -5 })).toThrow(/WhiteSignal: high/);
    expect(() => new WhiteSignal({ period: 1, high: 0.5 })).toThrow(/1\/period/);
    expect(() => new WhiteSignal({ period: 1, high: 5, rms: 0 })).toThrow(/WhiteSignal: rms/);
    expect(() => new WhiteSignal({ period: 1, high: 600 }).makeStep(0, 1, dt, new Rng(1))).toThrow(/Nyquist/);
    expect(() => new WhiteSignal({ period: 1, high: 5, hihg: 3 } as unknown as { period: number; high: number })).toThrow(ValidationError);
  });
});

describe('Piecewise', () => {
  const dt = 0.001;

  it("'zero' holds values from their time on, zeros before the first key", () => {
    const p = new Piecewise({ data: { 0.5: -1, 0.75: 0.5, 1: 0 } });
    expect(p.defaultSizeOut).toBe(1);
    const step = p.makeStep(0, 1, dt, new Rng(0));
    const out = new Float64Array(1);
    const at = (t: number): number => {
      step(t, null, out);
      return out[0]!;
    };
    expect(at(0.2)).toBe(0);
    expect(at(0.499)).toBe(0);
    expect(at(0.5)).toBe(-1);
    expect(at(0.58)).toBe(-1);
    expect(at(0.75)).toBe(0.5);
    expect(at(0.9)).toBe(0.5);
    expect(at(1)).toBe(0);
    expect(at(5)).toBe(0);
    // key times are matched with a half-step tolerance (t + dt/2)
    expect(at(0.5 - 0.4 * dt)).toBe(-1);
    expect(at(0.5 - 0.6 * dt)).toBe(0);
  });

  it("'zero' with arrays and callables", () => {
    const p = new Piecewise({ data: { 0: [1, 2], 0.1: (t: number) => [t, -t] } });
    expect(p.defaultSizeOut).toBe(2);
    const y = p.runSteps(200, dt, new Rng(0));
    expect([y[0], y[1]]).toEqual([1, 2]);
    expect(y[2 * 149]).toBeCloseTo(0.15, 12);
    expect(y[2 * 149 + 1]).toBeCloseTo(-0.15, 12);
  });

  it("'linear' interpolates between keys and is 0 outside [first, last] (scipy interp1d fill_value=0)", () => {
    const p = new Piecewise({ data: { 0.1: 0, 0.3: 1, 0.5: [-1] }, interpolation: 'linear' });
    const step = p.makeStep(0, 1, dt, new Rng(0));
    const out = new Float64Array(1);
    const at = (t: number): number => {
      step(t, null, out);
      return out[0]!;
    };
    expect(at(0.05)).toBe(0);
    expect(at(0.1)).toBe(0);
    expect(at(0.2)).toBeCloseTo(0.5, 12);
    expect(at(0.3)).toBeCloseTo(1, 12);
    expect(at(0.4)).toBeCloseTo(0, 12);
    expect(at(0.45)).toBeCloseTo(-0.5, 12);
    expect(at(0.5)).toBeCloseTo(-1, 12);
    expect(at(0.6)).toBe(0);
  });

  it("'nearest', callable fallback to 'zero', and validation", () => {
    const p = new Piecewise({ data: { 0: 1, 1: 2 }, interpolation: 'nearest' });
    const step = p.makeStep(0, 1, dt, new Rng(0));
    const out = new Float64Array(1);
    step(0.4, null, out);
    expect(out[0]).toBe(1);
    step(0.5, null, out);
    expect(out[0]).toBe(1);
    step(0.6, null, out);
    expect(out[0]).toBe(2);

    const f = new Piecewise({ data: { 0: 1, 1: () => 2 }, interpolation: 'linear' });
    expect(f.interpolation).toBe('zero');
    expect(f.warnings.length).toBe(1);

    expect(() => new Piecewise({ data: {} })).toThrow(/at least one/);
    expect(() => new Piecewise({ data: { 0: 1, 1: [1, 2] } })).toThrow(/size/);
    expect(() => new Piecewise({ data: { 0: 1 }, interpolation: 'linear' })).toThrow(/at least 2/);
    expect(() => new Piecewise({ data: { 0: 1 }, interpolation: 'cubic' })).toThrow(/needs at least 4 data points/);
    expect(() => new Piecewise({ data: { abc: 1 } as unknown as Record<number, number> })).toThrow(/keys must be times/);
  });
});

describe("Nengo's positional calls", () => {
  it('say where the times and the inputs go', () => {
    expect(() => new Piecewise({ 0: 1, 0.5: 2 } as unknown as ConstructorParameters<typeof Piecewise>[0])).toThrow(
      /Piecewise: the times and values go in the option 'data'/,
    );
    expect(() => new PresentInput([[1], [2]] as unknown as ConstructorParameters<typeof PresentInput>[0])).toThrow(
      /PresentInput: takes options, as in new PresentInput\(\{ inputs/,
    );
    // an options object with a misspelt name still gets the nearest name
    expect(() => new Piecewise({ dta: { 0: 1 } } as unknown as ConstructorParameters<typeof Piecewise>[0])).toThrow(/Did you mean 'data'/);
  });
});

describe('PresentInput', () => {
  it('switches inputs at presentationTime boundaries like Nengo', () => {
    const dt = 0.001;
    const p = new PresentInput({
      inputs: [
        [1, 10],
        [2, 20],
        [3, 30],
      ],
      presentationTime: 0.1,
    });
    expect(p.defaultSizeOut).toBe(2);
    const y = p.runSteps(400, dt, new Rng(0));
    // step i (t = (i+1) dt) shows input int(i dt / 0.1 + 1e-7) mod 3
    for (let i = 0; i < 400; i++) {
      const k = Math.floor((i * dt) / 0.1 + 1e-7) % 3;
      expect(y[2 * i]).toBe(k + 1);
      expect(y[2 * i + 1]).toBe(10 * (k + 1));
    }
    // boundaries: steps 0..99 (t = 0.001..0.1) show input 0, t = 0.101 shows input 1
    expect(y[2 * 99]).toBe(1);
    expect(y[2 * 100]).toBe(2);
    expect(y[2 * 300]).toBe(1); // cycles
  });

  it('validates', () => {
    expect(() => new PresentInput({ inputs: [], presentationTime: 0.1 })).toThrow(/non-empty/);
    expect(() => new PresentInput({ inputs: [[1], [1, 2]], presentationTime: 0.1 })).toThrow(/same size/);
    expect(() => new PresentInput({ inputs: [[1]], presentationTime: 0 })).toThrow(/PresentInput: presentationTime/);
    const p = new PresentInput({ inputs: [0, 1], presentationTime: 0.1 });
    expect(p.defaultSizeOut).toBe(1);
    // images (rows of pixels) are flattened row-major, as Nengo reshapes them
    const img = new PresentInput({
      inputs: [
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        [Float64Array.of(7, 8, 9), [10, 11, 12]],
      ],
      presentationTime: 0.1,
    });
    expect(img.defaultSizeOut).toBe(6);
    expect(Array.from(img.inputs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(() => new PresentInput({ inputs: [[[1, 2]], [[1], [2], [3]]], presentationTime: 0.1 })).toThrow(
      /input 1 has 3 values, but input 0 has 2/,
    );
    expect(() => new PresentInput({ inputs: [[1, 'a' as never]], presentationTime: 0.1 })).toThrow(
      /input 0 must be a number or an array of numbers/,
    );
    expect(() => p.makeStep(0, 2, 0.001, new Rng(0))).toThrow(/sizeOut/);
  });
});
