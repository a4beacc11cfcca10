/**
 * One part of a partitioned simulation, as a worker thread runs it: the
 * part's kernels over the shared arena, the copies that carry cut signals
 * across parts (fetch at the start of a step, publish at its end, through two
 * buffers used on alternate steps), sampling of the probes whose signals this
 * part writes, and one barrier per step.
 */
import type { Model } from '../engine/builder/build.js';
import type { Arena, Kernel } from '../engine/kernels/kernel.js';
import { Plan, type PlanPart } from '../engine/plan.js';
import type { Barrier } from './barrier.js';
import type { Partitioning } from './partition.js';

export interface ProbeChunk {
  /** Index of the probe in the model's probe list. */
  probe: number;
  data: Float64Array;
  rows: number;
  cols: number;
}

interface PartProbe {
  index: number;
  offset: number;
  size: number;
  period: number;
  data: Float64Array;
  rows: number;
}

export class PartRunner {
  private readonly kernels: Kernel[];
  /** [buf0, buf1, replica, length] per fetched cut. */
  private readonly fetch: Int32Array;
  /** [signal, buf0, buf1, length] per published cut. */
  private readonly publish: Int32Array;
  private readonly probes: PartProbe[] = [];
  private step = 0;
  /** Steps completed by this part (a failing step is not counted). */
  steps = 0;
  /** Level-parallel: where each level's kernels end (a barrier follows each level). */
  private readonly levelEnds: Int32Array | undefined;
  /** Level-parallel with probes: part 0 samples after the last level, the others wait for it. */
  private readonly sampleBarrier: boolean;

  constructor(
    readonly model: Model,
    readonly partitioning: Partitioning,
    readonly index: number,
    private readonly arena: Arena,
    private readonly barrier: Barrier,
    spikeMemory?: SharedArrayBuffer,
    wasm?: PlanPart['wasm'],
  ) {
    const levels = partitioning.mode === 'levels';
    const plan = new Plan(model, {
      arena,
      part: {
        index,
        partOf: partitioning.partOf,
        rewrite: partitioning.rewrites[index]!,
        shares: partitioning.shares,
        levels,
        ...(spikeMemory ? { spikeMemory } : {}),
        ...(wasm ? { wasm } : {}),
      },
    });
    if (levels && !spikeMemory && !wasm) throw new Error('internal: a level-parallel part needs shared spike-list memory');
    this.kernels = plan.kernels;
    this.levelEnds = plan.levelEnds;
    this.sampleBarrier = levels && model.probes.length > 0;
    const fetch: number[] = [],
      publish: number[] = [];
    for (const cut of partitioning.cuts) {
      const [b0, b1] = cut.buffers;
      if (cut.owner === index) publish.push(cut.signal.offset, b0.offset, b1.offset, cut.signal.size);
      const replica = cut.replicas.get(index);
      if (replica) fetch.push(b0.offset, b1.offset, replica.offset, cut.signal.size);
    }
    this.fetch = Int32Array.from(fetch);
    this.publish = Int32Array.from(publish);
    model.probes.forEach((bp, i) => {
      if ((partitioning.signalPart.get(bp.sig.base) ?? 0) !== index) return;
      this.probes.push({
        index: i,
        offset: bp.sig.offset,
        size: bp.size,
        period: bp.period,
        data: new Float64Array(bp.size * 64),
        rows: 0,
      });
    });
  }

  /** Runs n steps in lockstep with the other parts. Throws BarrierAborted if another part failed. */
  runSteps(n: number): void {
    const a = this.arena,
      dt = this.model.dt,
      ks = this.kernels,
      fetch = this.fetch,
      publish = this.publish;
    for (const p of this.probes) this.reserve(p, p.rows + Math.ceil(n / p.period) + 1);
    for (let s = 0; s < n; s++) {
      const k = ++this.step;
      const t = k * dt;
      // Cut signals as their owners published them at the end of step k - 1.
      const prev = (k - 1) & 1;
      for (let c = 0; c < fetch.length; c += 4) {
        const src = fetch[c + prev]!,
          dst = fetch[c + 2]!,
          len = fetch[c + 3]!;
        for (let i = 0; i < len; i++) a[dst + i] = a[src + i]!;
      }
      const ends = this.levelEnds;
      if (ends) {
        // level-parallel: each level's share, then wait for the other parts' shares of it
        let i = 0;
        for (let l = 0; l < ends.length; l++) {
          try {
            for (const end = ends[l]!; i < end; i++) ks[i]!.run(t);
          } catch (err) {
            this.barrier.abort();
            throw err;
          }
          this.barrier.wait();
        }
      } else {
        try {
          for (let i = 0; i < ks.length; i++) ks[i]!.run(t);
        } catch (err) {
          this.barrier.abort();
          throw err;
        }
      }
      const cur = k & 1;
      for (let c = 0; c < publish.length; c += 4) {
        const src = publish[c]!,
          dst = publish[c + 1 + cur]!,
          len = publish[c + 3]!;
        for (let i = 0; i < len; i++) a[dst + i] = a[src + i]!;
      }
      for (let j = 0; j < this.probes.length; j++) {
        const p = this.probes[j]!;
        if (p.period === 1 || k % p.period < 1) {
          const o = p.rows * p.size;
          for (let i = 0; i < p.size; i++) p.data[o + i] = a[p.offset + i]!;
          p.rows++;
        }
      }
      this.steps = k;
      if (!ends || this.sampleBarrier) this.barrier.wait();
    }
  }

  /** Samples recorded since the last call, which are then dropped. */
  takeData(): ProbeChunk[] {
    return this.probes.map((p) => {
      const chunk = { probe: p.index, data: p.data.slice(0, p.rows * p.size), rows: p.rows, cols: p.size };
      p.rows = 0;
      return chunk;
    });
  }

  private reserve(p: PartProbe, rows: number): void {
    if (rows * p.size <= p.data.length) return;
    const next = new Float64Array(rows * p.size);
    next.set(p.data.subarray(0, p.rows * p.size));
    p.data = next;
  }
}
