/**
 * One large decoder solve on several cores. The solve pool
 * (builder/solve-pool.ts) runs whole solves side by side, which helps a
 * build of many ensembles; a build whose time is one large ensemble's solve
 * (2,000 neurons: a Gram matrix of 8·10⁹ multiply-adds and a Cholesky factor
 * of 2.7·10⁹) ran on one core while Nengo's BLAS used both. Here the
 * calling thread and helper threads share one WebAssembly memory and split
 * the Gram product's block rows and each Cholesky step's panel rows and
 * trailing update (linalg-wasm.ts's range functions) between them.
 *
 * Every chunk is computed by the same code with the same operations in the
 * same order as one thread would, so the results are bit for bit those of
 * one thread (a test compares them). The calling thread takes chunks too and
 * never waits for a helper to start: a helper still starting simply gets
 * fewer chunks. A helper that stops answering (a claimed chunk with no
 * progress for a long time) makes the session fail; the caller then computes
 * the whole thing on its own, and the helpers are ended.
 *
 * Helpers start on a session's first use and end after IDLE_MS without one.
 * There are none where the build may not start threads (build-threads.ts),
 * while the solve pool runs its jobs (withoutTeam), or below TEAM_MIN_WORK.
 */
import type { Worker } from 'node:worker_threads';
import { helperWorker, poolThreads } from './build-threads.js';
import { MAX_PAGES, linalgModuleBytes, type LinalgExports } from './linalg-wasm.js';
import {
  ARGS,
  BOUNDS,
  CTL_BYTES,
  DONE,
  EPOCHS,
  MAX_ARGS,
  MAX_CHUNKS,
  NARGS,
  NCHUNKS,
  OP,
  OP_END,
  OP_IDLE,
  TEAM_OPS,
  WORD,
  claimChunk,
  runChunks,
  type TeamFns,
  type TeamOp,
} from './linalg-team-protocol.js';
import { ACT_CHUNK, lifActivitiesWasm } from './kernels/rates-wasm.js';
import { compiledModule, wasmApi, wasmOffByEnv, type WasmMemory } from './wasm.js';
import type { ActivitiesTask } from './linalg-team-worker.js';

/** Below this many multiply-adds a kernel runs on the calling thread alone (about 25 ms of it here). */
export const TEAM_MIN_WORK = 2e8;
/** Helpers are ended after this long without a session. */
const IDLE_MS = 2000;
/** A phase with no chunk finished for this long (and 20x the calling thread's pace) has lost a helper. */
const LOST_MS = 5000;

let blocked = 0;

/** Runs f with the team off (the solve pool's jobs: its threads are busy already). */
export function withoutTeam<T>(f: () => T): T {
  blocked++;
  try {
    return f();
  } finally {
    blocked--;
  }
}

/** For tests: the least work that uses the team (TEAM_MIN_WORK when undefined). */
let minWork = TEAM_MIN_WORK;
export function setTeamMinWork(work: number | undefined): void {
  minWork = work ?? TEAM_MIN_WORK;
}

/** How many sessions ran, and how many chunks the helpers took: for tests and the bench. */
export const teamStats = { sessions: 0, helperChunks: 0, lost: 0 };

let helpers: Worker[] = [];
let idleTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * The team's shared memory, kept from one session to the next (grown when a
 * session needs more) and let go with the helpers: a new memory per session
 * stayed alive in the idle helpers' heaps, about 46 MB a session for a
 * 2,000 x 1,000 Gram product, until they ended.
 */
let team: { memory: WasmMemory & { grow(pages: number): number }; fns: LinalgExports; id: number } | undefined;
let nextMemoryId = 1;
/** The last session opened (see teamSession). */
let lastSession: TeamSession | undefined;
/** The epoch of the team memory's last phase (kept with the memory: its WORD holds it). */
let epoch = 0;
const nextEpoch = (): number => (epoch = 1 + (epoch % (EPOCHS - 1))); // never 0: a fresh memory's WORD

/** Helper threads running now (for tests). */
export function teamHelperCount(): number {
  return helpers.length;
}

/** Ends the helper threads now and lets the team's memory go (both start again on the next session). */
export function closeTeam(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  for (const w of helpers) void w.terminate();
  helpers = [];
  team = undefined;
}

/** Ends the helpers (and the memory) after IDLE_MS unless a session comes first. */
function armIdle(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  if (helpers.length === 0 && !team) return;
  idleTimer = setTimeout(closeTeam, IDLE_MS);
  idleTimer.unref();
}

function startHelpers(threads: number): Worker[] {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  while (helpers.length < threads) {
    try {
      const w = helperWorker(new URL('./linalg-team-worker.js', import.meta.url)); // a lost one's chunks are redone
      w.on('exit', () => {
        helpers = helpers.filter((h) => h !== w);
      });
      helpers.push(w);
    } catch {
      break; // no helper: the calling thread does it all
    }
  }
  return helpers;
}

/**
 * One kernel's phases in the team's memory. `F` views the whole memory;
 * `base` is the first double after the control words, and byte addresses
 * for the module are `8 · index`.
 */
export class TeamSession {
  readonly F: Float64Array;
  readonly base = CTL_BYTES / 8;
  private readonly ctl: Int32Array;
  private open = true;

  get isOpen(): boolean {
    return this.open;
  }

  constructor(
    memory: WasmMemory,
    readonly fns: LinalgExports,
  ) {
    this.F = new Float64Array(memory.buffer);
    this.ctl = new Int32Array(memory.buffer, 0, CTL_BYTES / 4);
  }

  /**
   * Runs `op(...args, bounds[k], bounds[k+1])` for every chunk k, on this
   * thread and the helpers; true when every chunk is done, false when a
   * helper holds one and stopped (the session is then over, the team's
   * memory let go, and the results are not to be used).
   */
  run(op: TeamOp, args: number[], bounds: number[]): boolean {
    const n = bounds.length - 1;
    if (!this.open || n < 1 || n > MAX_CHUNKS || args.length > MAX_ARGS) throw new Error(`linalg team: bad phase ${op}`);
    const ctl = this.ctl;
    // No claim of the last phase may succeed once its parameters start to change: a helper that read
    // its epoch and then this phase's larger chunk count would otherwise claim under the old epoch.
    Atomics.store(ctl, WORD, (epoch << 16) | 0xffff);
    ctl[OP] = TEAM_OPS.indexOf(op);
    ctl[NCHUNKS] = n;
    ctl[NARGS] = args.length;
    ctl.set(args, ARGS);
    ctl.set(bounds, BOUNDS);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, WORD, nextEpoch() << 16);
    Atomics.notify(ctl, WORD);
    const mine = shareOut(ctl, n, () => runChunks(ctl, this.fns as unknown as TeamFns, epoch));
    if (mine < 0) {
      this.close();
      closeTeam(); // the lost helper may still write into this memory
      return false;
    }
    teamStats.helperChunks += n - mine;
    return true;
  }

  /** Ends the session: the helpers return to wait for the next one. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    Atomics.store(this.ctl, WORD, (epoch << 16) | 0xffff);
    this.ctl[OP] = OP_END;
    Atomics.store(this.ctl, WORD, nextEpoch() << 16);
    Atomics.notify(this.ctl, WORD);
    armIdle();
  }
}

/**
 * For the test of a helper that dies holding a chunk (linalg-team-worker.ts):
 * lets a helper claim first, which this thread would otherwise beat to every
 * chunk whenever the helper is slow to start. At most 30 s.
 */
function waitForAClaim(ctl: Int32Array): void {
  const until = Date.now() + 30_000;
  for (let w = Atomics.load(ctl, WORD); (w & 0xffff) === 0 && Date.now() < until; w = Atomics.load(ctl, WORD))
    Atomics.wait(ctl, WORD, w, 10);
}

/**
 * This thread's share of a phase of `n` chunks in `ctl` (`work` claims and
 * runs chunks until none is left, and returns how many it ran), then the
 * wait for the helpers' chunks. Returns the chunks this thread ran, or -1
 * when a helper holds one and stopped: no chunk finished for LOST_MS, or
 * 20x this thread's time per chunk if longer.
 */
function shareOut(ctl: Int32Array, n: number, work: () => number): number {
  if (process.env['NEFSIM_TEST_TEAM_HELPER_DIES'] === '1') waitForAClaim(ctl);
  const t0 = performance.now();
  const mine = work();
  const pace = mine > 0 ? (performance.now() - t0) / mine : 0;
  let seen = Atomics.load(ctl, DONE),
    since = performance.now();
  while (seen < n) {
    Atomics.wait(ctl, DONE, seen, 50);
    const now = Atomics.load(ctl, DONE);
    if (now !== seen) {
      seen = now;
      since = performance.now();
    } else if (performance.now() - since > Math.max(LOST_MS, 20 * pace)) {
      teamStats.lost++;
      return -1;
    }
  }
  return mine;
}

/** Whether a kernel of `work` multiply-adds would use the team here (and its module, if so). */
function teamModule(work: number): object | null {
  if (blocked > 0 || work < minWork || wasmOffByEnv() || poolThreads().threads === 0 || !wasmApi()) return null;
  return compiledModule('linalg-shared', () => linalgModuleBytes(true));
}

/** Whether a kernel of `work` multiply-adds would be shared out here. */
export function teamServes(work: number): boolean {
  return teamModule(work) !== null;
}

/** Multiply-adds of the Gram product a decoder solve of m eval points and n neurons computes (the smaller side squared). */
export function gramWork(m: number, n: number): number {
  return (Math.min(m, n) ** 2 * Math.max(m, n)) / 2;
}

/**
 * Starts the helpers ahead of a kernel of `work` multiply-adds that will use
 * them (a thread takes some 50-100 ms to start), so that they are ready when
 * it begins. Nothing for work below the team's threshold.
 */
export function warmTeam(work: number): void {
  if (!teamModule(work)) return;
  startHelpers(poolThreads().threads);
  armIdle(); // a kernel that never comes (a decoder cache hit) leaves them to end
}

/**
 * A session with room for `doubles` doubles after the control words, for a
 * kernel of `work` multiply-adds; null when the team is not to be used
 * (too little work, no helper threads allowed, WebAssembly off or short of
 * memory): the caller then computes on its own. Its memory is the team's,
 * as the last session left it: every kernel writes what it reads.
 */
export function teamSession(doubles: number, work: number): TeamSession | null {
  const module = teamModule(work);
  const api = wasmApi();
  if (!module || !api) return null;
  // A session never closed (its thread's code was stopped mid-phase, as vm's timeout stops a cell's
  // code without running finally blocks) may have helpers still in a chunk: start afresh.
  if (lastSession?.isOpen) closeTeam();
  const pages = Math.ceil((CTL_BYTES + 8 * doubles) / 65536);
  if (pages > MAX_PAGES) return null;
  try {
    if (!team) {
      const memory = new api.Memory({ initial: pages, maximum: MAX_PAGES, shared: true }) as WasmMemory & { grow(pages: number): number };
      const instance = new api.Instance(module, { m: { m: memory } });
      team = { memory, fns: instance.exports as unknown as LinalgExports, id: nextMemoryId++ };
      epoch = 0;
    }
    const have = team.memory.buffer.byteLength / 65536;
    if (have < pages) team.memory.grow(pages - have);
  } catch {
    team = undefined;
    return null; // out of memory for it: one thread, in the module's own memory
  }
  const { memory, fns, id } = team;
  const ctl = new Int32Array(memory.buffer, 0, CTL_BYTES / 4);
  // a new epoch with no work: helpers still reading the last session's end join this one instead
  Atomics.store(ctl, WORD, (epoch << 16) | 0xffff);
  ctl[OP] = OP_IDLE;
  Atomics.store(ctl, WORD, (nextEpoch() << 16) | 0xffff);
  Atomics.notify(ctl, WORD);
  for (const w of startHelpers(poolThreads().threads)) w.postMessage({ memory, module, id });
  teamStats.sessions++;
  return (lastSession = new TeamSession(memory, fns));
}

/**
 * Chunk bounds over items [from, to) whose costs grow or shrink linearly
 * (item i costs a + b·i): `chunks` pieces of about equal total cost.
 */
export function balancedBounds(from: number, to: number, chunks: number, cost: (i: number) => number): number[] {
  const count = to - from;
  const k = Math.max(1, Math.min(chunks, count));
  let total = 0;
  for (let i = from; i < to; i++) total += cost(i);
  const bounds = [from];
  let acc = 0;
  for (let i = from; i < to && bounds.length < k; i++) {
    acc += cost(i);
    if (acc >= (total * bounds.length) / k) bounds.push(i + 1);
  }
  if (bounds[bounds.length - 1] !== to) bounds.push(to);
  return bounds;
}

/** Fewer activities than this are computed by the calling thread alone (about 50 ms of it cold). */
const MIN_TEAM_ACTIVITIES = 1 << 21;

/**
 * A LIF ensemble's activities at its eval points (kernels/rates-wasm.ts's
 * lifActivitiesWasm: rate(bias + enc · x), and their maximum) into A, rows
 * shared out with the helpers in chunks. A must live in shared memory (the
 * helpers write their rows into it). Returns the maximum, bit for bit that
 * of one call over all rows; undefined when the team does not apply here
 * (nothing written), or 'lost' when a helper stopped holding rows (A may
 * still be written to by it: the caller must compute into other memory).
 */
export function teamActivities(
  task: Omit<ActivitiesTask, 'kind' | 'ctl' | 'maxes' | 'bounds' | 'A'>,
  A: Float64Array,
): number | 'lost' | undefined {
  const { m, n, d } = task;
  if (!(A.buffer instanceof SharedArrayBuffer) || A.length < m * n || d < 1 || m * n < MIN_TEAM_ACTIVITIES) return undefined;
  if (!teamModule(Infinity)) return undefined;
  const rows = Math.max(1, Math.ceil(ACT_CHUNK / n)); // at least one call of lifActivitiesWasm's size per chunk
  const bounds = balancedBounds(0, m, Math.min(TEAM_ROW_CHUNKS, Math.ceil(m / rows)), () => 1);
  const chunks = bounds.length - 1;
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (BOUNDS + chunks + 1)));
  ctl.set(bounds, BOUNDS);
  ctl[NCHUNKS] = chunks;
  const maxes = new Float64Array(new SharedArrayBuffer(8 * chunks));
  const full: ActivitiesTask = { ...task, kind: 'activities', ctl, maxes, bounds, A };
  Atomics.store(ctl, WORD, 1 << 16); // epoch 1: the only phase
  for (const w of startHelpers(poolThreads().threads)) w.postMessage(full);
  let mine: number;
  try {
    mine = shareOut(ctl, chunks, () => runActivityChunks(full));
  } finally {
    Atomics.store(ctl, WORD, 2 << 16); // over (also after a throw here): no helper claims another chunk
    armIdle();
  }
  if (mine < 0) {
    closeTeam(); // the lost helper may still write into A
    return 'lost';
  }
  teamStats.helperChunks += chunks - mine;
  let max = -Infinity;
  for (let k = 0; k < chunks; k++) {
    const part = maxes[k]!;
    if (Number.isNaN(part)) return undefined; // a chunk WebAssembly declined: the caller computes them all
    max = part > max ? part : max;
  }
  return max;
}

/** Row chunks of a team's activities. */
const TEAM_ROW_CHUNKS = 16;

/**
 * Claims and computes chunks of an activities task (on any thread): each
 * chunk's rows through lifActivitiesWasm, its maximum into maxes (NaN if
 * WebAssembly declined it); returns how many this thread did.
 */
export function runActivityChunks(t: ActivitiesTask): number {
  let ran = 0;
  const nChunks = t.ctl[NCHUNKS]!;
  for (let k = claimChunk(t.ctl, 1, nChunks); k >= 0; k = claimChunk(t.ctl, 1, nChunks)) {
    const r0 = t.bounds[k]!,
      r1 = t.bounds[k + 1]!;
    const part = lifActivitiesWasm(
      t.enc,
      t.bias,
      t.x.subarray(r0 * t.d, r1 * t.d),
      r1 - r0,
      t.n,
      t.d,
      t.A.subarray(r0 * t.n, r1 * t.n),
      t.tauRc,
      t.tauRef,
      t.amplitude,
    );
    t.maxes[k] = part ?? NaN;
    ran++;
    Atomics.add(t.ctl, DONE, 1);
    Atomics.notify(t.ctl, DONE);
  }
  return ran;
}
