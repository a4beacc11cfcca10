/**
 * The steps of a spike probe's spikes grouped by neuron, kept in memory while
 * the run goes, so that the per-neuron layout written when the run ends
 * (units/spike_times, see store-writer.ts) is only written: without them, the
 * writer reads every spike's neuron back from the file and scatters it.
 *
 * Each batch of spikes the writer stores becomes a segment: the batch's
 * steps sorted by neuron (a counting sort, stable, so each neuron's steps
 * stay in time order) and where each neuron's steps end. Segments are kept
 * in time order, so neuron u's spikes are its runs in every segment, one
 * after the other; past MERGE_ABOVE of them the newest merge as batches come
 * (mergeTail), so that a long run keeps few. Memory is 4 bytes a spike plus 4 bytes a neuron a
 * segment, within a budget: a run whose spikes would not fit (as estimated
 * from those so far and the run's length, or counted) drops them, and the
 * layout is gathered from the file as before.
 */
export interface UnitSegment {
  /** Steps of the batch's spikes, grouped by neuron, each group in time order. */
  readonly steps: Uint32Array;
  /** End of each neuron's group in `steps`. */
  readonly ends: Int32Array;
}

/** Segments kept as they came before the newest start to merge (KeptUnits.mergeTail). */
export const MERGE_ABOVE = 16;

export class KeptUnits {
  readonly segments: UnitSegment[] = [];
  /** Spikes kept. */
  spikes = 0;

  constructor(
    readonly cols: number,
    /** At most this many spikes and segment ends together (4 bytes each). */
    readonly budget: number,
  ) {}

  /**
   * Keeps a batch of n spikes: `units[k]` are their neurons, in time order,
   * in `rows` samples whose spikes end at `rowEnds[r] - base`, the first
   * sample being the one after step `step0` (every `period` steps). Returns
   * false, keeping nothing, when the batch would not fit the budget (or its
   * steps outgrow uint32).
   */
  add(units: Int32Array, n: number, rowEnds: Float64Array, base: number, rows: number, step0: number, period: number): boolean {
    const cols = this.cols;
    // the steps and the segments' ends, 4 bytes each, together within the budget
    if (this.spikes + n + (this.segments.length + 1) * cols > this.budget) return false;
    const ends = new Int32Array(cols);
    for (let k = 0; k < n; k++) ends[units[k]!]!++;
    let acc = 0;
    for (let u = 0; u < cols; u++) ends[u] = acc += ends[u]!;
    const cursor = new Int32Array(cols);
    for (let u = 1; u < cols; u++) cursor[u] = ends[u - 1]!;
    const steps = new Uint32Array(n);
    let step = step0,
      k = 0;
    for (let r = 0; r < rows; r++) {
      step = sampleStepAfter(step, period);
      if (step > 0xffffffff) return false;
      for (const e = rowEnds[r]! - base; k < e; k++) steps[cursor[units[k]!]!++] = step;
    }
    this.segments.push({ steps, ends });
    this.spikes += n;
    this.mergeTail();
    return true;
  }

  /**
   * Past MERGE_ABOVE segments, merges the newest while the one before the
   * newest holds at most twice as many spikes (as a binary counter
   * carries): the segments past the first MERGE_ABOVE then each hold more
   * than twice the spikes of the next, so a run keeps MERGE_ABOVE +
   * O(log batches) segments, and a spike is copied O(log batches) times at
   * most. Without it a long run's segments, one per batch, each took 4 bytes
   * a neuron from the budget (1000 neurons and a batch every 0.2 s: 32 MB in
   * half an hour), and the layout at close read one short run per neuron and
   * batch. A run of few batches merges nothing (merging them all cost a 0.7 s
   * run with 5.5 M spikes 3-4% more than it saved at close). A merge holds
   * its two segments and the merged one at once: for that moment, up to
   * twice the spikes kept.
   */
  private mergeTail(): void {
    const seg = this.segments;
    while (seg.length > MERGE_ABOVE && seg[seg.length - 2]!.steps.length <= 2 * seg[seg.length - 1]!.steps.length) {
      const b = seg.pop()!,
        a = seg.pop()!;
      seg.push(mergeSegments(a, b, this.cols));
    }
  }

  /**
   * Every kept spike's time, step * dt (as spike_times has it), neuron by
   * neuron and each neuron's in time order (the order of units/spike_times),
   * through `block`: `write(n)` takes its first n values each time they are
   * ready.
   */
  times(dt: number, block: Float64Array, write: (n: number) => void): void {
    let fill = 0;
    const segments = this.segments;
    for (let u = 0; u < this.cols; u++) {
      for (let s = 0; s < segments.length; s++) {
        const { steps, ends } = segments[s]!;
        const end = ends[u]!;
        for (let i = u > 0 ? ends[u - 1]! : 0; i < end;) {
          const stop = Math.min(end, i + block.length - fill);
          fill = stepsToTimes(steps, i, stop, dt, block, fill);
          i = stop;
          if (fill === block.length) {
            write(fill);
            fill = 0;
          }
        }
      }
    }
    if (fill > 0) write(fill);
  }
}

/** Segments a then b (a's spikes before b's) as one: each neuron's steps from a, then from b. */
function mergeSegments(a: UnitSegment, b: UnitSegment, cols: number): UnitSegment {
  const steps = new Uint32Array(a.steps.length + b.steps.length);
  const ends = new Int32Array(cols);
  let at = 0;
  for (let u = 0; u < cols; u++) {
    const a0 = u > 0 ? a.ends[u - 1]! : 0,
      a1 = a.ends[u]!,
      b0 = u > 0 ? b.ends[u - 1]! : 0,
      b1 = b.ends[u]!;
    if (a1 > a0) steps.set(a.steps.subarray(a0, a1), at);
    at += a1 - a0;
    if (b1 > b0) steps.set(b.steps.subarray(b0, b1), at);
    at += b1 - b0;
    ends[u] = at;
  }
  return { steps, ends };
}

/**
 * block[fill...] = steps[i0..i1) * dt; returns the new fill. A function of
 * its own: called once per neuron and segment, it is optimised after a few
 * calls, where the same loop inlined in times() (which runs once per file)
 * ran 2-3x slower, mostly unoptimised.
 */
function stepsToTimes(steps: Uint32Array, i0: number, i1: number, dt: number, block: Float64Array, fill: number): number {
  for (let i = i0; i < i1; i++) block[fill++] = steps[i]! * dt;
  return fill;
}

/** The step after `step` at which a probe sampling every `period` steps takes a sample: the next s with s % period < 1 (as the simulator samples). */
export function sampleStepAfter(step: number, period: number): number {
  let s = step + 1;
  if (period !== 1) while (!(s % period < 1)) s++;
  return s;
}
