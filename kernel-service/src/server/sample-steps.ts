/**
 * The samples of a run probe whose sample_every is not a whole number of steps: at the steps s with
 * s % (sample_every / dt) < 1, as the simulator and the store writer take them (Nengo's trange), every
 * step for a sample_every under dt. Found for the window a request asks, not listed for the whole probe:
 * a running run's probe of 4 M such samples took 0.23 s and 32 MB a request (a zoom) to list them all.
 */
export class IrregularSamples {
  private constructor(
    /** sample_every / dt */
    private readonly period: number,
    private readonly dt: number,
    /** Samples stored. */
    readonly rows: number,
  ) {}

  /**
   * The samples of a probe of `rows` samples, or undefined when sample_every is a whole number of steps
   * (sample i at (i + 1) * sample_every). A hair under a whole number is one (0.003 / 0.001 is
   * 2.9999999999999996: steps 3, 6, ...); a hair over is not (0.07 / 0.01 is 7.000000000000001: steps 8,
   * 15, ..., as in Nengo).
   */
  static of(rows: number, dt: number, every: number): IrregularSamples | undefined {
    const period = every / dt;
    const whole = Math.round(period);
    if (period >= 1 && period <= whole && whole - period <= 1e-9) return undefined;
    return new IrregularSamples(period, dt, rows);
  }

  /**
   * Samples taken in steps 1..s: floor(s / period), exactly (s % period < 1 holds once in each
   * [k period, k period + 1), k >= 1). `%` is exact, so s - s % period is k * period to a rounding, and
   * the quotient rounds to k.
   */
  private count(s: number): number {
    if (s < 1) return 0;
    if (this.period < 1) return s;
    return Math.round((s - (s % this.period)) / this.period);
  }

  /** The step of sample i (from 0): the first step with i + 1 samples up to it. */
  private stepOf(i: number): number {
    if (this.period < 1) return i + 1;
    // a few steps before ceil((i + 1) * period), where fewer than i + 1 samples were taken
    let s = Math.max(0, Math.floor((i + 1) * this.period) - 2);
    while (this.count(s) < i + 1) s++;
    return s;
  }

  /** The next sample's step after `step` (one that is a sample's). */
  private after(step: number): number {
    let s = step + 1;
    if (this.period >= 1) while (!(s % this.period < 1)) s++;
    return s;
  }

  /** The first sample at a time after `t` (or at it, `inclusive`), up to rows. */
  private firstAfter(t: number, inclusive: boolean): number {
    if (!(t > -Infinity)) return 0;
    if (!(t < Infinity)) return this.rows;
    // samples at steps up to t / dt - 2 are before t whatever the rounding
    let i = Math.min(this.rows, this.count(Math.max(0, Math.floor(t / this.dt) - 2)));
    while (i < this.rows) {
      const ti = this.stepOf(i) * this.dt;
      if (inclusive ? ti >= t : ti > t) break;
      i++;
    }
    return i;
  }

  /** The samples [i0, i1) in [t0, t1] (seconds). */
  range(t0: number, t1: number): [number, number] {
    const i0 = this.firstAfter(t0, true);
    return [i0, Math.max(i0, this.firstAfter(t1, false))];
  }

  /** The times of samples [i0, i1). */
  times(i0: number, i1: number): Float64Array {
    const t = new Float64Array(Math.max(0, i1 - i0));
    for (let i = 0, s = t.length ? this.stepOf(i0) : 0; i < t.length; i++, s = this.after(s)) t[i] = s * this.dt;
    return t;
  }

  /** The time of the last sample (there must be one). */
  last(): number {
    return this.stepOf(this.rows - 1) * this.dt;
  }

  /** The sample of a spike at time x (the per-neuron layout holds times), or -1 if no sample is at it. */
  rowOf(x: number): number {
    const s = Math.round(x / this.dt);
    if (s < 1 || (this.period >= 1 && !(s % this.period < 1))) return -1;
    const i = this.count(s) - 1;
    return i < this.rows ? i : -1;
  }
}
