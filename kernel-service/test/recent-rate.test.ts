/** The rate in status.json: that of the last 5-10 s, not the average since the start. */
import { describe, expect, it } from 'vitest';
import { RecentRate } from '../src/runs/recent-rate.js';

/** Feeds `r` a run of `perSecond` steps/s from `t` (ms) for `seconds`, sampled every 0.2 s; returns the last rate, time and steps. */
function feed(r: RecentRate, t: number, steps: number, perSecond: number, seconds: number): { t: number; steps: number; rate: number } {
  let rate = NaN;
  for (let i = 1; i <= seconds * 5; i++) {
    t += 200;
    steps += perSecond * 0.2;
    rate = r.at(t, steps);
  }
  return { t, steps, rate };
}

describe('RecentRate', () => {
  it('is the average since the start in the first second', () => {
    const r = new RecentRate(1000);
    expect(r.at(1500, 400)).toBeCloseTo(800, 6);
    expect(r.at(1000, 0)).toBe(1e-9); // nothing yet: positive, so the time left stays finite
  });

  it('follows a run that slows down within 10 s, where the average since the start would lag', () => {
    const r = new RecentRate(0);
    const fast = feed(r, 0, 0, 1000, 60);
    expect(fast.rate).toBeCloseTo(1000, 6);
    const slow = feed(r, fast.t, fast.steps, 250, 10);
    expect(slow.rate).toBeCloseTo(250, 6);
    expect(slow.steps / (slow.t / 1000)).toBeGreaterThan(800); // the average since the start
    // and speeds up again
    const again = feed(r, slow.t, slow.steps, 2000, 10);
    expect(again.rate).toBeCloseTo(2000, 6);
  });

  it('halfway through a change, lies between the two rates', () => {
    const r = new RecentRate(0);
    const fast = feed(r, 0, 0, 1000, 20);
    const slow = feed(r, fast.t, fast.steps, 250, 3);
    expect(slow.rate).toBeGreaterThan(250);
    expect(slow.rate).toBeLessThan(1000);
  });
});
