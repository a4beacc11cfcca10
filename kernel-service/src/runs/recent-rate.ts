/**
 * The rate a run reports in status.json: steps per second over about the
 * last 5-10 s of wall time (two windows: the one just ended and the one
 * filling), so that the time left follows a run that the machine slows down
 * or speeds up (the average since the start lagged by minutes). Until one
 * second has passed since the last window began, the average since the start.
 */
export class RecentRate {
  private from: { t: number; steps: number };
  private to: { t: number; steps: number };

  /** `t0`: wall time (ms) of step 0; `windowMs`: the window (default 5 s). */
  constructor(
    private readonly t0: number,
    private readonly windowMs = 5000,
  ) {
    this.from = this.to = { t: t0, steps: 0 };
  }

  /** Steps per second at wall time `now` (ms), with `steps` done; at least 1e-9. */
  at(now: number, steps: number): number {
    if (now - this.to.t >= this.windowMs) {
      this.from = this.to;
      this.to = { t: now, steps };
    }
    const span = now - this.from.t;
    const rate = span >= 1000 ? (steps - this.from.steps) / (span / 1000) : steps / Math.max(1e-6, (now - this.t0) / 1000);
    return Math.max(rate, 1e-9);
  }
}
