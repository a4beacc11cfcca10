/**
 * Decoder solves of a build on more than one core. A large build (a
 * CircularConvolution: hundreds of ensembles of 200 neurons) spends most of
 * its time computing activity matrices, Gram matrices and Cholesky factors,
 * one independent solve per ensemble. The builder collects these solves
 * (`PoolJob`s) before it builds the connections; this module runs them on
 * the calling thread and on helper threads at once, each taking the next
 * unclaimed job, and returns the solutions, which the builder then uses as
 * if it had solved them itself.
 *
 * The build stays synchronous: the calling thread works on jobs too, then
 * waits (Atomics.wait) for the jobs the helpers took. Inputs and outputs live
 * in shared memory. A job is a pure function of its inputs, computed by the
 * same code (`runJob`) on every thread, so the decoders are bit for bit those
 * of a one-thread build (a test compares them). A helper that never starts
 * costs nothing (the calling thread takes every job); one that stops
 * answering has its jobs solved again by the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import { helperWorker } from '../build-threads.js';
import { LIFRate } from '../neurons.js';
import { Rng } from '../rng.js';
import { LstsqL2, LstsqL2nz } from '../solvers.js';
import { activities } from './activities.js';
import { withoutTeam } from '../linalg-team.js';

/** One ensemble's solve: its LIF rate curve, encoders, biases and eval points, and one or more targets. */
export interface PoolJob {
  tauRc: number;
  tauRef: number;
  amplitude: number;
  /** Scaled encoders, n x d. */
  enc: Float64Array;
  bias: Float64Array;
  /** m x d. */
  evalPoints: Float64Array;
  m: number;
  n: number;
  d: number;
  solver: 'LstsqL2' | 'LstsqL2nz';
  reg: number;
  /** m x dy each. */
  targets: { Y: Float64Array; dy: number }[];
}

export interface PoolSolution {
  /** n x dy decoders. */
  X: Float64Array;
  rmses: Float64Array;
}

/** Per job: its solutions (one per target), or null if the solve failed (the builder solves it again, to report the error). */
export type PoolResult = PoolSolution[] | null;

// Job table (Float64Array), per job: offsets of enc, bias, eval points (in doubles), m, n, d, tauRc,
// tauRef, amplitude, solver (0: LstsqL2, 1: LstsqL2nz), reg, number of targets, first target row.
const JOB = 13;
// Target table, per target: offset of Y, dy, offset of X, offset of rmses.
const TGT = 4;
// Control (Int32Array): next job to claim, jobs finished, jobs the helpers finished, then per job its state.
const NEXT = 0,
  DONE = 1,
  BY_HELPERS = 2,
  STATE = 3;
const CLAIMED = 1,
  OK = 2,
  FAILED = 3;

/** A batch handed to the helpers (SolvePool.begin). */
export interface PoolBatch {
  mem: PoolMemory;
  jobs: PoolJob[];
}

/** The shared memory of one pool run. */
export interface PoolMemory {
  jobs: Float64Array;
  targets: Float64Array;
  data: Float64Array;
  control: Int32Array;
  /** When each job was claimed (Date.now(): one clock for every thread). */
  claimed: Float64Array;
}

/** Lays the jobs out in shared memory. */
function layout(jobs: PoolJob[]): PoolMemory {
  let doubles = 0,
    nTargets = 0;
  for (const j of jobs) {
    doubles += j.enc.length + j.bias.length + j.evalPoints.length;
    for (const t of j.targets) doubles += t.Y.length + j.n * t.dy + t.dy;
    nTargets += j.targets.length;
  }
  const mem: PoolMemory = {
    jobs: new Float64Array(new SharedArrayBuffer(8 * JOB * jobs.length)),
    targets: new Float64Array(new SharedArrayBuffer(8 * TGT * nTargets)),
    data: new Float64Array(new SharedArrayBuffer(8 * doubles)),
    control: new Int32Array(new SharedArrayBuffer(4 * (STATE + jobs.length))),
    claimed: new Float64Array(new SharedArrayBuffer(8 * jobs.length)),
  };
  let at = 0,
    row = 0;
  const put = (a: Float64Array): number => {
    mem.data.set(a, at);
    at += a.length;
    return at - a.length;
  };
  jobs.forEach((j, k) => {
    const o = k * JOB;
    mem.jobs.set([put(j.enc), put(j.bias), put(j.evalPoints), j.m, j.n, j.d, j.tauRc, j.tauRef, j.amplitude], o);
    mem.jobs.set([j.solver === 'LstsqL2nz' ? 1 : 0, j.reg, j.targets.length, row], o + 9);
    for (const t of j.targets) {
      const y = put(t.Y);
      mem.targets.set([y, t.dy, at, at + j.n * t.dy], row * TGT);
      at += j.n * t.dy + t.dy;
      row++;
    }
  });
  return mem;
}

/** This thread's activity matrix storage, reused by every job (as the builder reuses its own): no garbage per job. */
let scratch = new Float64Array(0);

/**
 * Solves job k from shared memory into it: the activities as the builder
 * computes them (the LIF rate curve's one pass, or currents then rates), one
 * Cholesky factor, then each target as the solver's own solve would.
 */
export function runJob(mem: PoolMemory, k: number): boolean {
  const J = mem.jobs.subarray(k * JOB, (k + 1) * JOB);
  const [encAt, biasAt, epAt, m, n, d, tauRc, tauRef, amplitude, kind, reg, nT, row] = J as unknown as number[];
  const view = (at: number, len: number): Float64Array => mem.data.slice(at, at + len);
  const enc = view(encAt!, n! * d!),
    bias = view(biasAt!, n!),
    x = view(epAt!, m! * d!);
  try {
    const nt = new LIFRate({ tauRc: tauRc!, tauRef: tauRef!, amplitude: amplitude! });
    if (scratch.length < m! * n!) scratch = new Float64Array(m! * n!);
    const A = scratch.subarray(0, m! * n!);
    const aMax = nt.ratesAt(enc, bias, x, m!, n!, d!, A);
    if (aMax === undefined) nt.rates(activities(A, enc, bias, x, m!, n!, d!), A);
    const solver = kind === 1 ? new LstsqL2nz({ reg: reg! }) : new LstsqL2({ reg: reg! });
    const prepared = solver.prepare(A, m!, n!, aMax);
    for (let t = 0; t < nT!; t++) {
      const [yAt, dy, xAt, rAt] = mem.targets.subarray((row! + t) * TGT, (row! + t + 1) * TGT) as unknown as number[];
      const Y = view(yAt!, m! * dy!);
      const res = solver.solvePrepared(prepared, { A, Y, m: m!, n: n!, d: dy!, rng: new Rng(0) });
      mem.data.set(res.X, xAt!);
      mem.data.set(res.rmses, rAt!);
    }
    return true;
  } catch {
    return false;
  }
}

/** Claims the next job; returns its index, or -1 when none is left. */
export function claimJob(mem: PoolMemory, nJobs: number): number {
  const k = Atomics.add(mem.control, NEXT, 1);
  if (k >= nJobs) return -1;
  mem.claimed[k] = Date.now();
  Atomics.store(mem.control, STATE + k, CLAIMED);
  return k;
}

/**
 * For the test of a helper that dies holding a job (solve-worker.ts): lets
 * the helper claim its job before this thread takes any, which it would
 * otherwise do first whenever the helper is slow to start (a loaded
 * machine), leaving the helper nothing to die with. At most 30 s, and only
 * for a pool's first batch (the helper dies with it).
 */
function waitForAClaim(mem: PoolMemory): void {
  const until = Date.now() + 30_000;
  while (Atomics.load(mem.control, NEXT) === 0 && Date.now() < until) Atomics.wait(mem.control, NEXT, 0, 10);
}

/** Takes jobs until none is left (a helper counts its own); returns the jobs this thread did. */
export function takeJobs(mem: PoolMemory, nJobs: number, helper = false): number[] {
  const done: number[] = [];
  for (;;) {
    const k = claimJob(mem, nJobs);
    if (k < 0) return done;
    const ok = runJob(mem, k);
    Atomics.store(mem.control, STATE + k, ok ? OK : FAILED);
    if (helper) Atomics.add(mem.control, BY_HELPERS, 1);
    Atomics.add(mem.control, DONE, 1);
    Atomics.notify(mem.control, DONE);
    done.push(k);
  }
}

/** Work units of a job (as the builder estimates them: eval points x neurons x (neurons + 30)), for how long to wait for it. */
function units(j: PoolJob): number {
  return j.m * j.n * (j.n + 30) * Math.max(1, j.targets.length);
}

/** Milliseconds per work unit assumed before this thread has timed a job of its own (about 5x this machine's). */
const DEFAULT_MS_PER_UNIT = 2e-6;

/**
 * Helper threads for one build, started on first use and ended by close().
 * begin() lays one batch of jobs out in fresh shared memory and sends it to
 * the helpers; finish() takes jobs on this thread and waits for the
 * helpers'. Builds hand their solves over in batches of about BATCH_BYTES,
 * so that only a batch or two of inputs and outputs are held at a time, and
 * record one batch's solutions (the decoder cache's file writes) while the
 * helpers start on the next.
 */
export class SolvePool {
  private helpers: Worker[] | undefined;
  /** Jobs the helper threads finished, over all batches. */
  helperJobs = 0;
  /** For the dying-helper test: whether this pool's first batch waited for the helper's claim (waitForAClaim). */
  private testClaimSeen = false;

  constructor(private readonly threads: number) {}

  /** Lays a batch out and hands it to the helpers, which start on it at once; finish() takes part and collects. */
  begin(jobs: PoolJob[]): PoolBatch {
    const mem = layout(jobs);
    for (const w of this.start()) w.postMessage({ mem, nJobs: jobs.length });
    return { mem, jobs };
  }

  /** Takes the batch's remaining jobs on this thread, waits for the helpers' ones, and returns each job's solutions (null for a failed one), in order. */
  finish(batch: PoolBatch): PoolResult[] {
    const { mem, jobs } = batch;
    const n = jobs.length;
    if (process.env['NEFSIM_TEST_HELPER_DIES'] === '1' && !this.testClaimSeen) {
      this.testClaimSeen = true; // the helper dies with its first batch: later batches have no one to wait for
      waitForAClaim(mem);
    }
    const t0 = performance.now();
    // This thread's own pace (if it did any job), to judge the helpers' jobs by. The linear algebra
    // team stays off: the pool's helpers are busy with jobs of their own.
    const mine = withoutTeam(() => takeJobs(mem, n)).reduce((sum, k) => sum + units(jobs[k]!), 0);
    const msPerUnit = mine > 0 ? (performance.now() - t0) / mine : DEFAULT_MS_PER_UNIT;
    // Wait for the helpers' jobs. One that runs ten times longer than this thread would take (and at
    // least 5 s) is taken to be lost (a helper that died): the jobs still unfinished are solved here.
    while (Atomics.load(mem.control, DONE) < n) {
      const seen = Atomics.load(mem.control, DONE);
      Atomics.wait(mem.control, DONE, seen, 100);
      const now = Date.now();
      let lost = false;
      for (let k = 0; k < n && !lost; k++) {
        if (Atomics.load(mem.control, STATE + k) !== CLAIMED) continue;
        lost = now - mem.claimed[k]! > Math.max(5000, 10 * units(jobs[k]!) * msPerUnit);
      }
      if (lost) break;
    }
    this.helperJobs += Atomics.load(mem.control, BY_HELPERS);
    const out: PoolResult[] = [];
    let row = 0;
    jobs.forEach((j, k) => {
      let state = Atomics.load(mem.control, STATE + k);
      // a helper's job that never finished (the team stays off: other helpers may still be busy)
      if (state !== OK && state !== FAILED) state = withoutTeam(() => runJob(mem, k)) ? OK : FAILED;
      if (state === FAILED) {
        out.push(null);
        row += j.targets.length;
        return;
      }
      const sols: PoolSolution[] = [];
      for (let t = 0; t < j.targets.length; t++, row++) {
        const xAt = mem.targets[row * TGT + 2]!,
          rAt = mem.targets[row * TGT + 3]!,
          dy = mem.targets[row * TGT + 1]!;
        sols.push({ X: mem.data.slice(xAt, xAt + j.n * dy), rmses: mem.data.slice(rAt, rAt + dy) });
      }
      out.push(sols);
    });
    return out;
  }

  /** Ends the helper threads (if any started), and lets this thread's activity storage go. */
  close(): void {
    for (const w of this.helpers ?? []) void w.terminate();
    this.helpers = [];
    scratch = new Float64Array(0);
  }

  private start(): Worker[] {
    if (this.helpers) return this.helpers;
    this.helpers = [];
    for (let i = 0; i < this.threads; i++) {
      try {
        this.helpers.push(helperWorker(new URL('./solve-worker.js', import.meta.url))); // a lost one's jobs are solved again here
      } catch {
        break; // no helper: this thread does it all
      }
    }
    return this.helpers;
  }
}

/**
 * About this many bytes of inputs and outputs per batch of jobs. Smaller
 * batches hold less memory at a time (CircularConvolution D = 256's peak
 * RSS was 175-179 MB with 1 MB batches, 184-200 MB with 4 MB) and built
 * as fast here.
 */
export const BATCH_BYTES = 1 << 20;

/** Bytes of shared memory a job takes (its inputs and solutions). */
export function jobBytes(j: PoolJob): number {
  let doubles = j.enc.length + j.bias.length + j.evalPoints.length;
  for (const t of j.targets) doubles += t.Y.length + j.n * t.dy + t.dy;
  return 8 * doubles;
}
