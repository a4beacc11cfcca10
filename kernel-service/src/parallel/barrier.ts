/**
 * A reusable barrier for worker threads on shared memory (sense-reversing:
 * a counter and a generation number in an Int32Array over a
 * SharedArrayBuffer). Waiters spin, then sleep with Atomics.wait (whose
 * wake-up costs tens of microseconds here). How long they spin adapts, in
 * microseconds: a wait that ended while spinning, or soon after it gave up
 * (within SOON budgets: the partner was merely late), lets the next one spin
 * twice as long (up to `maxSpinMicros`, enough to cover the imbalance of a
 * level-parallel step); a wait that went on much longer halves it. On idle
 * cores the parties meet while spinning; when the cores are shared with
 * other work, a spinning thread would only burn the time slice its partner
 * needs (milliseconds per step), so it soon sleeps almost at once instead.
 * (Halving on every sleep let the budget settle near the typical wait, so
 * that half the waits slept: on K = 1000 integrators in two parts one part
 * slept in 1,755 of 3,000 steps.)
 * Any party can abort: everyone waiting (now or later) throws BarrierAborted,
 * so a failure in one part never leaves the others hanging.
 */
const COUNT = 0;
const GENERATION = 1;
const ABORT = 2;
export const BARRIER_INTS = 3;
/** A sleep that ended within this many spin budgets counts as a partner merely late (see wait). */
const SOON = 4;
/** What waking from Atomics.wait costs here, microseconds (tens). */
const WAKE_MICROS = 50;

export class BarrierAborted extends Error {
  constructor() {
    super('another part failed');
    this.name = 'BarrierAborted';
  }
}

export class Barrier {
  private readonly s: Int32Array;
  /** The current spin budget, microseconds. */
  private spinMicros: number;
  constructor(
    buffer: SharedArrayBuffer,
    private readonly parties: number,
    private readonly maxSpinMicros = 2000,
    private readonly minSpinMicros = 2,
  ) {
    this.s = new Int32Array(buffer, 0, BARRIER_INTS);
    this.spinMicros = maxSpinMicros;
  }

  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(BARRIER_INTS * 4);
  }

  get aborted(): boolean {
    return Atomics.load(this.s, ABORT) !== 0;
  }

  abort(): void {
    Atomics.store(this.s, ABORT, 1);
    Atomics.add(this.s, GENERATION, 1);
    Atomics.notify(this.s, GENERATION);
  }

  wait(): void {
    const s = this.s;
    if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
    const gen = Atomics.load(s, GENERATION);
    if (Atomics.add(s, COUNT, 1) === this.parties - 1) {
      Atomics.store(s, COUNT, 0);
      Atomics.add(s, GENERATION, 1);
      Atomics.notify(s, GENERATION);
      return;
    }
    const budget = this.spinMicros;
    const until = performance.now() + budget / 1000;
    for (;;) {
      // 256 looks between clock readings (a reading costs tens of nanoseconds)
      for (let i = 0; i < 256; i++) {
        if (Atomics.load(s, GENERATION) !== gen) {
          if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
          if (budget < this.maxSpinMicros) this.spinMicros = Math.min(this.maxSpinMicros, 2 * budget);
          return;
        }
      }
      if (performance.now() >= until) break;
      if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
    }
    // ABORT is checked here too: an abort between this party's first check and its reading of
    // GENERATION would otherwise leave it waiting for a generation that already came
    while (Atomics.load(s, GENERATION) === gen) {
      if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
      Atomics.wait(s, GENERATION, gen, 100);
    }
    if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
    // The partner came soon after the spin gave up (within a few budgets): it was only late, and a
    // longer spin would have caught it without the wake-up's cost. Much later: it was not running
    // (shared cores, a collection), and spinning would burn the time it needs.
    // (a wake-up's own cost, WAKE_MICROS, counts as soon: else a budget of a few microseconds never grows back)
    const waited = (performance.now() - until) * 1000 + budget;
    this.spinMicros =
      waited < SOON * budget + WAKE_MICROS ? Math.min(this.maxSpinMicros, 2 * budget) : Math.max(this.minSpinMicros, budget / 2);
  }
}
