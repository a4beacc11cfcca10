import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/engine/errors.js';
import {
  Alpha,
  expm,
  filterKind,
  isLowpass,
  LinearFilter,
  Lowpass,
  makeFilterStepper,
  Synapse,
  tf2ss,
  toSynapse,
} from '../src/engine/synapses.js';

const dt = 0.001;

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol);
}

/** Elementwise |a - b| <= rtol * max(|b|, 1e-300). */
function relClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(rtol * Math.max(Math.abs(b[i]!), 1e-300));
}

describe('Lowpass', () => {
  it('discretizes to a = exp(-dt/tau), b = 1 - a (Nengo OneX form)', () => {
    for (const tau of [0.005, 0.1, 0.0001]) {
      const f = new Lowpass(tau).discretize(dt);
      expect(f.order).toBe(1);
      expect(f.D).toBe(0);
      expect(filterKind(f)).toBe('oneX');
      const ab = isLowpass(f)!;
      const a = Math.exp(-dt / tau);
      expect(ab.a).toBeCloseTo(a, 15);
      expect(ab.b).toBeCloseTo(1 - a, 14);
    }
  });

  it('tau = 0 is a pure pass-through (order 0, D = 1)', () => {
    const f = new Lowpass(0).discretize(dt);
    expect(f.order).toBe(0);
    expect(f.D).toBe(1);
    expect(filterKind(f)).toBe('noX');
    expect(isLowpass(f)).toEqual({ a: 0, b: 1 });
    const x = Float64Array.from([1, -2, 3, 0.5]);
    close(new Lowpass(0).filt(x, 4, 1, dt), x, 0);
    // Alpha(0) likewise
    expect(new Alpha(0).discretize(dt).order).toBe(0);
  });

  it('filt step response is 1 - exp(-(i+1) dt / tau) (row i includes input row i)', () => {
    const tau = 0.01;
    const n = 200;
    const y = new Lowpass(tau).filt(new Float64Array(n).fill(1), n, 1, dt);
    for (let i = 0; i < n; i++) expect(y[i]).toBeCloseTo(1 - Math.exp(-((i + 1) * dt) / tau), 12);
    const long = new Lowpass(tau).filt(new Float64Array(2000).fill(1), 2000, 1, dt);
    expect(long[1999]).toBeCloseTo(1, 12);
  });

  it('filt filters each column independently and honours y0 (steady state)', () => {
    const tau = 0.02;
    const n = 50;
    const x = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      x[2 * i] = 1;
      x[2 * i + 1] = -3;
    }
    const y = new Lowpass(tau).filt(x, n, 2, dt);
    for (let i = 0; i < n; i++) expect(y[2 * i + 1]).toBeCloseTo(-3 * y[2 * i]!, 12);
    const y0 = new Lowpass(tau).filt(new Float64Array(n).fill(2), n, 1, dt, { y0: 2 });
    for (let i = 0; i < n; i++) expect(y0[i]).toBeCloseTo(2, 12);
  });
});

describe('Alpha', () => {
  it('discretization equals the closed-form zero-order hold of 1/(tau s + 1)^2', () => {
    for (const tau of [0.005, 0.05]) {
      const f = new Alpha(tau).discretize(dt);
      expect(f.order).toBe(2);
      expect(f.D).toBe(0);
      expect(filterKind(f)).toBe('noD');
      // canonical form: A = [[-2/tau, -1/tau^2], [1, 0]], B = [1, 0], C = [0, 1/tau^2]
      // exp(A h) = e (I + (A + I/tau) h), e = exp(-h/tau)
      const h = dt;
      const e = Math.exp(-h / tau);
      const Ad = [e * (1 - h / tau), (-e * h) / (tau * tau), e * h, e * (1 + h / tau)];
      const Bd = [h * e, tau * tau * (1 - e * (1 + h / tau))];
      relClose(f.A, Ad, 1e-13);
      relClose(f.B, Bd, 1e-12);
      relClose(f.C, [0, 1 / (tau * tau)], 1e-15);
    }
  });

  it('step response samples the continuous step response 1 - exp(-t/tau)(1 + t/tau) at t = (i+1) dt', () => {
    const tau = 0.01;
    const n = 300;
    const y = new Alpha(tau).filt(new Float64Array(n).fill(1), n, 1, dt);
    for (let i = 0; i < n; i++) {
      const t = (i + 1) * dt;
      expect(y[i]).toBeCloseTo(1 - Math.exp(-t / tau) * (1 + t / tau), 10);
    }
  });

  it('impulse response integrates to 1', () => {
    const tau = 0.005;
    const n = 1000;
    const x = new Float64Array(n);
    x[0] = 1 / dt;
    const y = new Alpha(tau).filt(x, n, 1, dt);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += y[i]!;
    expect(sum * dt).toBeCloseTo(1, 6);
    // peak of (t/tau^2) exp(-t/tau) near t = tau
    let arg = 0;
    for (let i = 1; i < n; i++) if (y[i]! > y[arg]!) arg = i;
    expect(Math.abs(arg * dt - tau)).toBeLessThanOrEqual(2 * dt);
  });
});

describe('LinearFilter', () => {
  it('num=[1], den=[tau, 1] equals Lowpass(tau)', () => {
    const tau = 0.03;
    const a = new LinearFilter([1], [tau, 1]).discretize(dt);
    const b = new Lowpass(tau).discretize(dt);
    expect(a.order).toBe(1);
    close(a.A, b.A, 1e-15);
    close(a.B, b.B, 1e-15);
    close(a.C, b.C, 0);
    expect(a.D).toBe(b.D);
    const x = Float64Array.from({ length: 100 }, (_, i) => Math.sin(i / 7));
    close(new LinearFilter([1], [tau, 1]).filt(x, 100, 1, dt), new Lowpass(tau).filt(x, 100, 1, dt), 1e-14);
  });

  it('tf2ss gives the controllable canonical form of scipy', () => {
    const ss = tf2ss([2, 3], [4, 8, 12]);
    // normalized: num [0.5, 0.75], den [1, 2, 3]
    expect(Array.from(ss.A)).toEqual([-2, -3, 1, 0]);
    expect(Array.from(ss.B)).toEqual([1, 0]);
    expect(Array.from(ss.C)).toEqual([0.5, 0.75]);
    expect(ss.D).toBe(0);
    const hp = tf2ss([1, 0], [1, 1]); // s/(s+1): D = 1, C = -1
    expect(hp.D).toBe(1);
    expect(Array.from(hp.C)).toEqual([-1]);
  });

  it('steps a filter with pass-through like Nengo General: y = Cx + Du, then x = Ax + Bu', () => {
    const tau = 0.05;
    const hp = new LinearFilter([tau, 0], [tau, 1]); // highpass tau s / (tau s + 1)
    const f = hp.discretize(dt);
    expect(filterKind(f)).toBe('general');
    const n = 100;
    const y = hp.filt(new Float64Array(n).fill(1), n, 1, dt);
    // continuous step response exp(-t/tau) sampled at t = i dt (input enters the state one step later)
    for (let i = 0; i < n; i++) expect(y[i]).toBeCloseTo(Math.exp(-(i * dt) / tau), 12);
  });

  it('digital filters are not discretized; z^-1 has its delay removed as by Nengo OneX', () => {
    const f = new LinearFilter([1], [1, 0], false);
    const x = Float64Array.from([1, 2, 3]);
    close(f.filt(x, 3, 1, dt), x, 0);
    const avg = new LinearFilter([0.5, 0.5], [1, 0], false); // y = (u[k] + u[k-1]) / 2
    close(avg.filt(x, 3, 1, dt), [0.5, 1.5, 2.5], 1e-15);
  });

  it('validates: negative tau, improper transfer function, bad coefficients', () => {
    expect(() => new Lowpass(-0.1)).toThrow(ValidationError);
    expect(() => new Lowpass(-0.1)).toThrow(/Lowpass: tau/);
    expect(() => new Alpha(-1)).toThrow(/Alpha: tau/);
    expect(() => new Lowpass(Number.NaN)).toThrow(ValidationError);
    expect(() => new LinearFilter([1, 0, 0], [1, 1])).toThrow(/improper transfer function/);
    expect(() => new LinearFilter([1], [0, 0])).toThrow(/non-zero/);
    expect(() => new LinearFilter([], [1])).toThrow(ValidationError);
    expect(() => new Lowpass(0.1).discretize(0)).toThrow(/dt/);
    expect(() => new Lowpass(0.1).filt(new Float64Array(3), 2, 2, dt)).toThrow(/length/);
    // leading zeros in num are stripped first (proper after normalization)
    expect(() => new LinearFilter([0, 0, 1], [1, 1])).not.toThrow();
  });
});

describe('toSynapse', () => {
  it('coerces numbers to Lowpass, null/undefined to none', () => {
    const s = toSynapse(0.005, 'conn synapse');
    expect(s).toBeInstanceOf(Lowpass);
    expect((s as Lowpass).tau).toBe(0.005);
    expect(toSynapse(null, 'x')).toBeNull();
    expect(toSynapse(undefined, 'x')).toBeNull();
    const a = new Alpha(0.01);
    expect(toSynapse(a, 'x')).toBe(a);
    expect(() => toSynapse(-1, 'conn synapse')).toThrow(/conn synapse/);
    expect(() => toSynapse('0.1' as unknown as number, 'conn synapse')).toThrow(ValidationError);
    expect(s).toBeInstanceOf(Synapse);
    expect(String(new Lowpass(0.005))).toBe('Lowpass(0.005)');
  });
});

describe('makeFilterStepper', () => {
  it('engine update-operator timing: Lowpass y[k+1] = a y[k] + (1-a) u[k]', () => {
    const tau = 0.02;
    const st = makeFilterStepper(new Lowpass(tau).discretize(dt), 3);
    const u = Float64Array.from([1, 2, -1]);
    const y = new Float64Array(3);
    const a = Math.exp(-dt / tau);
    const ref = [0, 0, 0];
    for (let k = 0; k < 20; k++) {
      st.step(u, y);
      for (let c = 0; c < 3; c++) ref[c] = a * ref[c]! + (1 - a) * u[c]!;
      close(y, ref, 1e-14);
    }
    // offsets and in-place stepping
    const buf = Float64Array.from([9, 1, 2, -1]);
    const st2 = makeFilterStepper(new Lowpass(tau).discretize(dt), 3);
    st2.step(buf, buf, 1, 1);
    expect(buf[0]).toBe(9);
    close(buf.subarray(1), [1 - a, 2 * (1 - a), -(1 - a)], 1e-15);
  });

  it('matches filt for a general filter', () => {
    const f = new Alpha(0.01);
    const x = Float64Array.from({ length: 64 }, (_, i) => Math.cos(i / 5));
    const ref = f.filt(x, 64, 1, dt);
    const st = makeFilterStepper(f.discretize(dt), 1);
    const y = new Float64Array(1);
    for (let i = 0; i < 64; i++) {
      st.step(x, y, i, 0);
      expect(y[0]).toBe(ref[i]);
    }
  });

  it('reset(y0) sets a steady state with output y0', () => {
    const st = makeFilterStepper(new Alpha(0.01).discretize(dt), 1);
    st.reset(0.7);
    const u = Float64Array.of(0.7);
    const y = new Float64Array(1);
    for (let i = 0; i < 10; i++) {
      st.step(u, y);
      expect(y[0]).toBeCloseTo(0.7, 12);
    }
  });
});

describe('expm', () => {
  it('matches a rotation matrix exponential', () => {
    const th = 2.5;
    const E = expm(Float64Array.from([0, -th, th, 0]), 2);
    close(E, [Math.cos(th), -Math.sin(th), Math.sin(th), Math.cos(th)], 1e-14);
  });
});
