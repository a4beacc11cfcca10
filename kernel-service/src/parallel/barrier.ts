/**
 * A reusable barrier for worker threads on shared memory (sense-reversing:
 * a counter and a generation number in an Int32Array over a
 * SharedArrayBuffer). Waiters spin briefly, then sleep with Atomics.wait.
 * Any party can abort: everyone waiting (now or later) throws BarrierAborted,
 * so a failure in one part never leaves the others hanging.
 */
const COUNT = 0;
const GENERATION = 1;
const ABORT = 2;
export const BARRIER_INTS = 3;

export class BarrierAborted extends Error {
  constructor() {
    super('another part failed');
    this.name = 'BarrierAborted';
  }
}

export class Barrier {
  private readonly s: Int32Array;
  constructor(
    buffer: SharedArrayBuffer,
    private readonly parties: number,
    private readonly spins = 200_000,
  ) {
    this.s = new Int32Array(buffer, 0, BARRIER_INTS);
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
    for (let i = 0; i < this.spins; i++) {
      if (Atomics.load(s, GENERATION) !== gen) {
        if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
        return;
      }
    }
    while (Atomics.load(s, GENERATION) === gen) Atomics.wait(s, GENERATION, gen, 100);
    if (Atomics.load(s, ABORT) !== 0) throw new BarrierAborted();
  }
}
