/**
 * Batches: independent trials (`--trials N`, seeds seed, seed+1, ...) or a
 * parameter sweep (`--sweep PARAMS.json`, one trial per parameter object).
 * Every trial is an ordinary run folder (trial-000, trial-001, ...) executed
 * by the same code path as a single run (executeRun, see runner.ts), J at a
 * time: in worker processes that run trials one after another
 * (`nefsim _worker`, see trial-worker.ts), or, with --process-per-trial or a
 * model that imports modules other than nefsim, each in a process of its own
 * (`nefsim _execute DIR`). The batch folder holds the plan and an aggregate
 * status:
 *
 *   batch.json    the plan: kind, executor, jobs, options, and per trial its folder, seed and params
 *   model.mjs     the model file, copied verbatim (each trial has its own copy too)
 *   status.json   aggregate state, counts per state, steps, and a summary line per trial (atomic)
 *   log.txt       one line per trial start and end, and a progress line every 10 s
 *   exit.json     how the batch ended: state, exit code, counts, and per trial its state, wall time and error
 *   trial-NNN/    one run folder per trial
 *
 * A failing trial does not stop the others. The batch is done when every
 * trial is done, failed when a trial failed, cancelled when cancelled.
 */
import { messageOf } from '../engine/errors.js';
import { stepsIn } from '../engine/steps.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cancelRequested,
  checkStatusShape,
  currentStatus,
  isTerminal,
  FILES,
  folderMoved,
  pidNamespace,
  processAlive,
  processGroup,
  processStartTime,
  readExit,
  readJson,
  readStatus,
  releaseSpace,
  reserveSpace,
  settleFromExit,
  STALE_MS,
  writeJsonAtomic,
  type ExitRecord,
  type RunState,
  type RunStatus,
} from './folder.js';
import { importsOnlyNefsim } from './model.js';
import { ENGINE_NODE_FLAGS } from '../engine/node-flags.js';
import type { SlurmOptions } from './slurm.js';
import type { FromWorker, ToWorker } from './trial-worker.js';

export type { SlurmOptions } from './slurm.js';

/**
 * Trials a batch runs at once when --jobs is not given: as many as fill the cores, each trial using
 * `partitions` threads (`nefsim run`'s default, which the service's slot count follows).
 */
export function defaultJobs(partitions = 1): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, partitions)));
}

export const BATCH_FILES = {
  plan: 'batch.json',
  model: 'model.mjs',
  status: 'status.json',
  log: 'log.txt',
  exit: 'exit.json',
} as const;

export interface TrialPlan {
  index: number;
  /** Folder name inside the batch folder. */
  dir: string;
  seed: number | null;
  params: Record<string, unknown> | null;
}

export interface BatchPlan {
  kind: 'trials' | 'sweep';
  executor: 'local' | 'slurm';
  /** Trials run at once (local executor). */
  jobs: number;
  duration: number;
  dt: number;
  engineVersion: string;
  nodeVersion: string;
  argv: string[];
  modelSource: string;
  created: string;
  slurm: SlurmOptions | null;
  trials: TrialPlan[];
  /** Worker threads per trial (default 1). */
  partitions?: number;
  pin?: Record<string, number>;
  /** The arena's precision (default float64). */
  dtype?: 'float64' | 'float32';
  /** Each trial in a fresh process (local executor); by default trials share worker processes, one after another. */
  processPerTrial?: boolean;
}

export interface TrialSummary {
  index: number;
  dir: string;
  seed: number | null;
  params: Record<string, unknown> | null;
  state: RunState;
  time: number;
  steps: number;
  stepsTotal: number;
  stepsPerSecond: number | null;
  secondsLeft: number | null;
  /** Wall seconds from start to end (or to now, while running). */
  wallSeconds: number | null;
  error?: string;
  object?: string;
  /** Why Slurm keeps the trial's task pending (see RunStatus.slurmPending). */
  slurmPending?: string;
}

export type StateCounts = Record<RunState, number>;

export interface BatchStatus {
  kind: 'batch';
  state: RunState;
  counts: StateCounts;
  steps: number;
  stepsTotal: number;
  /** The process driving the batch (local executor) or that submitted it (slurm). */
  pid: number;
  processStart: number | null;
  pgid: number | null;
  heartbeat: number;
  started: string | null;
  /** Where the driving process runs (as a run's status: its pid means something there only). */
  host?: string;
  pidns?: string;
  /** Slurm job id of the array (slurm executor). */
  jobId?: string;
  error?: string;
  trials: TrialSummary[];
}

/** The batch's status.json, checked (see checkStatusShape). */
export function readBatchStatus(dir: string): BatchStatus {
  const path = join(dir, BATCH_FILES.status);
  return checkStatusShape<BatchStatus>(
    path,
    readJson<unknown>(path),
    ['pid', 'heartbeat'],
    ['steps', 'stepsTotal', 'processStart', 'pgid'],
  );
}

export interface BatchExit {
  state: 'done' | 'failed' | 'cancelled';
  exitCode: number;
  counts: StateCounts;
  wallSeconds: number;
  trials: TrialSummary[];
  ended: string;
}

export function isBatchFolder(dir: string): boolean {
  return existsSync(join(dir, BATCH_FILES.plan)) && existsSync(join(dir, BATCH_FILES.status));
}

/**
 * The batch's plan, checked for what its readers use (the trials, each with its folder, and the
 * duration and dt): a plan edited by hand or written by something else is damaged, named as
 * such, rather than a crash further on ("cannot read properties of undefined"). A trial's folder
 * must be a name inside the batch folder: `../x` would have the batch read and signal elsewhere.
 */
export function readPlan(dir: string): BatchPlan {
  const path = join(dir, BATCH_FILES.plan);
  const plan = readJson<unknown>(path);
  const bad = (what: string) => new Error(`${path} is damaged: ${what}`);
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) throw bad('not a JSON object');
  const o = plan as Record<string, unknown>;
  for (const k of ['duration', 'dt'])
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw bad(`its ${k} is ${JSON.stringify(o[k]) ?? 'missing'}, not a number`);
  if (!Array.isArray(o.trials)) throw bad('its trials are not a list');
  o.trials.forEach((t: unknown, i) => {
    const d = typeof t === 'object' && t !== null ? (t as Record<string, unknown>).dir : undefined;
    if (typeof d !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(d)) throw bad(`its trial ${i} has no folder name`);
  });
  return o as unknown as BatchPlan;
}

export function emptyCounts(): StateCounts {
  return { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
}

/** The trial's status as it stands (a dead trial process is reported failed), summarised. */
export function trialSummary(batchDir: string, t: TrialPlan, staleMs = STALE_MS): TrialSummary {
  const dir = join(batchDir, t.dir);
  let s: RunStatus;
  try {
    s = currentStatus(dir, staleMs);
  } catch (err) {
    // No status yet: the folder is being made. A status that cannot be read (damaged, or the folder
    // deleted) is a trial that cannot run or say how it ran.
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(join(dir, FILES.options));
    const sum: TrialSummary = {
      index: t.index,
      dir: t.dir,
      seed: t.seed,
      params: t.params,
      state: missing ? 'queued' : 'failed',
      time: 0,
      steps: 0,
      stepsTotal: 0,
      stepsPerSecond: null,
      secondsLeft: null,
      wallSeconds: null,
    };
    if (!missing) sum.error = `its folder ${t.dir} is gone or damaged (${messageOf(err)})`;
    return sum;
  }
  const exit = readExit(dir);
  const started = s.started ? Date.parse(s.started) : NaN;
  const end = exit ? Date.parse(exit.ended) : isTerminal(s.state) ? s.heartbeat : Date.now();
  const out: TrialSummary = {
    index: t.index,
    dir: t.dir,
    seed: t.seed,
    params: t.params,
    state: s.state,
    time: s.time,
    steps: s.steps,
    stepsTotal: s.stepsTotal,
    stepsPerSecond: s.stepsPerSecond,
    secondsLeft: s.secondsLeft,
    wallSeconds: Number.isFinite(started) ? Math.max(0, (end - started) / 1000) : null,
  };
  const error = s.error ?? exit?.error ?? undefined;
  if (error && s.state !== 'done') out.error = error;
  const object = s.object ?? exit?.object ?? undefined;
  if (object) out.object = object;
  if (s.slurmPending !== undefined) out.slurmPending = s.slurmPending;
  return out;
}

/** Why Slurm keeps a batch's trials pending: each reason with its count of trials ("Resources (3 trials)"), or null. */
export function pendingInSlurm(trials: readonly TrialSummary[]): string | null {
  const counts = new Map<string, number>();
  for (const t of trials) if (t.slurmPending !== undefined) counts.set(t.slurmPending, (counts.get(t.slurmPending) ?? 0) + 1);
  if (counts.size === 0) return null;
  return [...counts].map(([why, n]) => `${why} (${n} ${n === 1 ? 'trial' : 'trials'})`).join(', ');
}

/** Aggregate state: running while any trial is queued or running, else failed if any failed, cancelled if any was cancelled, else done. */
export function aggregateState(counts: StateCounts): RunState {
  if (counts.running > 0) return 'running';
  if (counts.queued > 0) return 'queued';
  if (counts.failed > 0) return 'failed';
  if (counts.cancelled > 0) return 'cancelled';
  return 'done';
}

/** Trials (by folder name) whose end the driver knows but could not record in their folders (a full disk, a deleted folder). */
export type UnrecordedEnds = ReadonlyMap<string, { state: 'failed' | 'cancelled'; error: string }>;

/**
 * A trial's summary, ended as the driver knows it if the driver could not
 * record that in its folder (see summarise): the folder still says running
 * or queued, or, once its process is gone, that it died without saying why.
 */
function withUnrecorded(sum: TrialSummary, unrecorded: UnrecordedEnds | undefined): TrialSummary {
  const end = unrecorded?.get(sum.dir);
  if (end === undefined) return sum;
  return { ...sum, state: end.state, stepsPerSecond: null, secondsLeft: null, error: end.error };
}

/**
 * Summaries of every trial and their counts. `unrecorded`: trials whose end
 * the driver knows but could not record (a full disk): their folders may
 * still say running or queued.
 */
export function summarise(
  dir: string,
  plan: BatchPlan,
  staleMs = STALE_MS,
  unrecorded?: UnrecordedEnds,
): { trials: TrialSummary[]; counts: StateCounts; steps: number; stepsTotal: number } {
  const trials = plan.trials.map((t) => withUnrecorded(trialSummary(dir, t, staleMs), unrecorded));
  const counts = emptyCounts();
  let steps = 0;
  let stepsTotal = 0;
  for (const t of trials) {
    counts[t.state]++;
    steps += t.steps;
    stepsTotal += t.stepsTotal || stepsIn(plan.duration, plan.dt);
  }
  return { trials, counts, steps, stepsTotal };
}

/** Trials the batch's exit record has ended (failed or cancelled) while their own folders have no exit record. */
function unrecordedTrials(dir: string): UnrecordedEnds {
  const out = new Map<string, { state: 'failed' | 'cancelled'; error: string }>();
  const file = join(dir, BATCH_FILES.exit);
  if (!existsSync(file)) return out;
  let trials: unknown;
  try {
    trials = readJson<Partial<BatchExit>>(file).trials;
  } catch {
    return out; // damaged: it counts as none (as a run's exit.json does), the trials' own folders decide
  }
  if (!Array.isArray(trials)) return out;
  for (const t of trials as (TrialSummary | null)[])
    if (
      t &&
      typeof t.dir === 'string' &&
      typeof t.error === 'string' &&
      (t.state === 'failed' || t.state === 'cancelled') &&
      readExit(join(dir, t.dir)) === undefined
    )
      out.set(t.dir, { state: t.state, error: t.error });
  return out;
}

/**
 * The batch status as it stands, from the trial folders. For a local batch
 * whose driver is gone (stale heartbeat, dead process), trials still queued
 * will never start: they are reported failed (their own status names the
 * driver as their launcher, so currentStatus already judges them so).
 */
export function currentBatchStatus(dir: string, staleMs = STALE_MS): BatchStatus {
  const plan = readPlan(dir);
  const saved = readBatchStatus(dir);
  // A batch that ended: a trial it recorded failed, whose folder could not record so (a full disk), reads
  // as the driver recorded it, not as its folder has it (running, or a process gone without a reason).
  const unrecorded = isTerminal(saved.state) ? unrecordedTrials(dir) : undefined;
  const { trials, counts, steps, stepsTotal } = summarise(dir, plan, staleMs, unrecorded);
  const status: BatchStatus = { ...saved, trials, counts, steps, stepsTotal };
  // A batch that ended done and has lost a trial since (its folder deleted or damaged) reads failed, as a
  // batch whose trial failed while it ran does (driveBatch's end): it read 'done' next to '1 failed'. (One
  // that ended cancelled stays so: a cancelled batch with a failed trial reads cancelled too.)
  if (saved.state === 'done' && counts.failed > 0) status.state = 'failed';
  if (isTerminal(saved.state)) return status;
  // between two trials none runs, but a batch whose process drives it is running
  status.state = saved.state === 'running' && counts.queued > 0 ? 'running' : aggregateState(counts);
  if (
    plan.executor === 'local' &&
    !isTerminal(status.state) &&
    Date.now() - saved.heartbeat > staleMs &&
    !processAlive(saved.pid, saved.processStart)
  ) {
    status.error = `the batch process (pid ${saved.pid}) is gone: no more trials will start`;
    if (counts.running === 0) status.state = 'failed';
  }
  return status;
}

export interface DriveOptions {
  /** Also append log lines to log.txt (a foreground batch; a detached one's stdout already is log.txt). */
  logToFile: boolean;
}

const BIN = fileURLToPath(new URL('../../bin/nefsim.js', import.meta.url));
const REFRESH_MS = 500;
/** How long a worker's start-up may hold back the next worker's (ms). */
const STARTUP_WAIT_MS = 3000;
const LOG_SECONDS = 10;

/**
 * Runs the trials of the batch in `dir` as local processes, `jobs` at a
 * time, until all have ended; returns the exit code (0 all done, 1 a trial
 * failed, 143 cancelled). SIGTERM/SIGINT: no more trials start, queued ones
 * end cancelled, running ones get SIGTERM (and end cancelled with their data
 * flushed).
 */
export async function driveBatch(dir: string, opts: DriveOptions): Promise<number> {
  const plan = readPlan(dir);
  let logFile = join(dir, BATCH_FILES.log);
  const log = (msg: string): void => {
    const line = `[${new Date().toISOString()}] ${msg}`;
    console.log(line); // console never throws, even on a full disk
    try {
      if (opts.logToFile) appendFileSync(logFile, line + '\n');
    } catch {
      // a full disk: the line is on stdout still
    }
  };
  const t0 = Date.now();
  const me = { pid: process.pid, processStart: processStartTime(process.pid), pgid: processGroup(process.pid) };
  const where: { host: string; pidns?: string } = { host: hostname() };
  const pidns = pidNamespace();
  if (pidns !== undefined) where.pidns = pidns;
  // Trials share worker processes (trial-worker.ts) unless asked not to, or the model imports other
  // modules (which a worker would share between its trials: module state must start fresh).
  const pooled = !plan.processPerTrial && importsOnlyNefsim(join(dir, BATCH_FILES.model));
  let cancelSignal: string | undefined;
  const procs = new Set<TrialProcess>();
  const busy = (): TrialProcess[] => [...procs].filter((p) => p.current !== undefined);
  const onSignal = (sig: string): void => {
    if (cancelSignal !== undefined) return;
    cancelSignal = sig;
    const running = busy();
    log(`received ${sig}: cancelling (${running.length} running trials are cancelled, queued ones will not start)`);
    for (const p of running) {
      // A worker is told on its channel, behind the trial it was given (which it may not have started yet, and
      // a signal could reach it before it handles signals); a process of one trial, or a worker whose channel
      // is gone, gets SIGTERM.
      if (p.pooled && p.child.connected) p.child.send({ op: 'cancel', reason: sig } satisfies ToWorker);
      else signalGroup(p.child.pid, 'SIGTERM');
    }
  };
  // A batch cancelled before this process started (nefsim cancel right after --detach, which ended it in its
  // folder): it stays so. Writing 'running' over it here made its status go back for a moment.
  const before = readBatchStatus(dir);
  if (isTerminal(before.state)) {
    log(`the batch was ${before.state} before its process started; nothing to run`);
    return before.state === 'done' ? 0 : before.state === 'failed' ? 1 : 143;
  }
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // the folder, held open while the batch runs: where it is now, if it is renamed (see follow)
  let dirFd: number | undefined;
  try {
    dirFd = openSync(dir, 'r');
  } catch {
    // a system that cannot open a folder: a renamed batch reads its trials gone, as a removed one
  }
  /**
   * A batch folder renamed while it runs (mv, JupyterLab's file browser): the batch goes on there, as its
   * running trials do (runner.ts). It read its trials gone, so that the next ones never ran, and could not
   * record its end: the renamed batch read failed, 'the process that was to start it is gone'.
   */
  const follow = (): void => {
    if (dirFd === undefined || existsSync(join(dir, BATCH_FILES.plan))) return;
    const now = folderMoved(dirFd, dir);
    if (now === undefined || !existsSync(join(now, BATCH_FILES.plan))) return;
    dir = now;
    logFile = join(dir, BATCH_FILES.log);
    log(`its batch folder was moved to ${dir}: the batch goes on there`);
  };
  /** The folders of the running trials, held open: where one is now, if it was renamed (see ended). */
  const trialFds = new Map<string, number>();
  const letGo = (): void => {
    if (dirFd !== undefined) closeSync(dirFd);
    dirFd = undefined;
    for (const fd of trialFds.values()) closeSync(fd);
    trialFds.clear();
  };

  // Queued trials name this process as their launcher (so they are judged failed if it dies before starting them).
  for (const t of plan.trials) {
    const tdir = join(dir, t.dir);
    const s = readStatus(tdir);
    // (one with an exit record has ended: a cancel of the batch's queued trials while this process started)
    if (s.state === 'queued' && settleFromExit(tdir) === undefined)
      writeJsonAtomic(join(tdir, FILES.status), { ...s, ...me, heartbeat: Date.now() });
  }

  // An update that cannot be written (a full disk) does not stop the batch: its trials go on, and it says so once.
  let statusFailing = false;
  /** Trials that ended without a record, which the driver could not write either (a full disk): folder -> why. */
  const unrecorded = new Map<string, { state: 'failed' | 'cancelled'; error: string }>();
  const batchStatus = (state?: RunState): BatchStatus => {
    follow();
    const { trials, counts, steps, stepsTotal } = summarise(dir, plan, STALE_MS, unrecorded);
    return {
      kind: 'batch',
      // while this process drives the batch it is running, also between two trials (when no trial runs):
      // `nefsim cancel` signals a driver whose status says running (a queued status names the launcher)
      state: state ?? 'running',
      counts,
      steps,
      stepsTotal,
      ...me,
      ...where,
      heartbeat: Date.now(),
      started: new Date(t0).toISOString(),
      trials,
    };
  };
  const writeStatus = (): BatchStatus => {
    const status = batchStatus();
    try {
      writeJsonAtomic(join(dir, BATCH_FILES.status), status);
      statusFailing = false;
    } catch (err) {
      if (!statusFailing) log(`warning: could not update status.json (${messageOf(err)}); the batch goes on and tries again`);
      statusFailing = true;
    }
    return status;
  };

  log(
    `batch started: ${plan.trials.length} ${plan.kind === 'sweep' ? 'parameter sets' : 'trials'}, ${Math.min(plan.jobs, plan.trials.length)} at a time, pid ${process.pid}, ` +
      (pooled
        ? 'in worker processes that run trials one after another'
        : plan.processPerTrial
          ? 'one process per trial'
          : 'one process per trial (the model imports modules other than nefsim, which a worker would share between trials)'),
  );
  const queue = plan.trials.slice();
  let wake: (() => void) | undefined;
  const ended = (t: TrialPlan, code: number | null, signal: NodeJS.Signals | null, why?: string): void => {
    follow();
    const tdir = join(dir, t.dir);
    const tfd = trialFds.get(t.dir);
    trialFds.delete(t.dir);
    // A trial process that died without its exit record (crash, kill -9, out of memory), or a worker that
    // could not even record its failure (`why`), is recorded failed here.
    // (an exit record its status does not show yet is the trial's end: see settleFromExit)
    let recorded: boolean;
    let s: RunStatus;
    try {
      recorded = settleFromExit(tdir) !== undefined;
      s = readStatus(tdir);
    } catch (err) {
      // its folder was deleted (or its status damaged) while it ran: the run stopped (runner.ts), and this
      // event handler's throw ended the driver, leaving the other trials unrun and the batch unrecorded.
      // Or renamed (mv, JupyterLab's file browser): the run went on there, and ended there, outside the
      // batch, whose trials are its trial-NNN folders (it said 'deleted or damaged')
      const now = tfd !== undefined ? folderMoved(tfd, tdir) : undefined;
      const error =
        now !== undefined
          ? `its folder ${t.dir} was moved to ${now} while it ran: the trial went on there, outside the batch, and its records are there`
          : `its folder ${t.dir} was deleted or damaged while it ran (${messageOf(err)})`;
      unrecorded.set(t.dir, { state: 'failed', error });
      log(`${t.dir} failed: ${error}`);
      wake?.();
      return;
    } finally {
      if (tfd !== undefined) closeSync(tfd);
    }
    if (!recorded && !isTerminal(s.state)) {
      const error =
        why ??
        `the ${pooled ? 'trial worker' : 'trial'} process exited ${signal ? `on ${signal}` : `with code ${code}`} without an exit record`;
      const record: ExitRecord = {
        state: 'failed',
        exitCode: code ?? 1,
        error,
        object: null,
        errorType: null,
        time: s.time,
        steps: s.steps,
        ended: new Date().toISOString(),
      };
      try {
        writeJsonAtomic(join(tdir, FILES.exit), record);
        writeJsonAtomic(join(tdir, FILES.status), {
          ...s,
          state: 'failed',
          stepsPerSecond: null,
          secondsLeft: null,
          heartbeat: Date.now(),
          error,
        });
      } catch (err) {
        // its folder may still say running (a worker that goes on lives under the pid it names): this
        // batch's status and exit record say failed, and why
        unrecorded.set(t.dir, { state: 'failed', error: `${error}; recording that failed too: ${messageOf(err)}` });
        log(`${t.dir}: could not record its end (${messageOf(err)}): ${error}`);
      }
    }
    const sum = withUnrecorded(trialSummary(dir, t), unrecorded);
    const wall = sum.wallSeconds !== null ? ` in ${sum.wallSeconds.toFixed(1)} s` : '';
    log(`${t.dir} ${sum.state}${wall} (t = ${sum.time.toFixed(3)} s)${sum.error ? `: ${sum.error}` : ''}`);
    wake?.();
  };
  /** A process: `_execute` for trial `t` alone, or (no `t`) a `_worker` that takes trials one after another. */
  const spawnFor = (t?: TrialPlan): TrialProcess => {
    const tdir = t ? join(dir, t.dir) : dir;
    // a worker's own output (a crash, a warning) goes to the batch log: its trials' output goes to their logs
    const fd = openSync(t ? join(tdir, FILES.log) : logFile, 'a');
    const child = t
      ? spawn(process.execPath, [...ENGINE_NODE_FLAGS, BIN, '_execute', tdir], { detached: true, stdio: ['ignore', fd, fd], cwd: tdir })
      : spawn(process.execPath, [...ENGINE_NODE_FLAGS, BIN, '_worker'], { detached: true, stdio: ['ignore', fd, fd, 'ipc'], cwd: dir });
    closeSync(fd);
    const p: TrialProcess = { child, pooled: !t, current: undefined, retiring: false, ready: !!t, spawned: Date.now() };
    procs.add(p);
    child.on('error', (err) => {
      // a process that never started: no 'exit' follows (an error sending to a live one is followed by its exit)
      if (child.pid !== undefined || !procs.has(p)) return;
      procs.delete(p);
      const cur = p.current;
      p.current = undefined;
      if (cur !== undefined) ended(cur, null, null, `could not start the trial: ${err.message}`);
      else wake?.();
    });
    child.once('exit', (code, signal) => {
      procs.delete(p);
      const cur = p.current;
      p.current = undefined;
      if (cur !== undefined) ended(cur, code, signal);
      else wake?.();
    });
    if (pooled) {
      child.on('message', (m: FromWorker) => {
        if (m?.op === 'ready') {
          p.ready = true;
          wake?.();
          return;
        }
        if (m?.op !== 'ended' || p.current === undefined) return;
        const cur = p.current;
        p.current = undefined;
        if (m.retiring !== undefined) {
          p.retiring = true;
          log(`trial worker ${child.pid ?? '?'} retires after ${m.retiring}; the next trials get a new one`);
        }
        // (the worker lives on: what `ended` says of a trial left without its record must not say it exited)
        ended(
          cur,
          m.code,
          null,
          m.error !== undefined
            ? `the trial worker could not run the trial: ${m.error}`
            : `the trial ended (code ${m.code}) without its exit record (see its ${FILES.log})`,
        );
      });
    }
    return p;
  };
  const live = (q: TrialProcess): boolean => !q.retiring && q.child.connected;
  /** Its start-up is over, or has taken STARTUP_WAIT_MS. */
  const started = (q: TrialProcess): boolean => q.ready || Date.now() - q.spawned > STARTUP_WAIT_MS;
  /**
   * The process for the next trial, or undefined to wait. Without workers: a
   * new process. With: an idle worker that has started up; else, when there
   * is none, a new worker that takes the trial at once. The other workers
   * (up to J, and no more than there are trials) start at the same time but
   * are given trials only once they have started up: a batch of short
   * trials may be over before they are, and a trial given to a worker still
   * starting would wait for it and come last.
   */
  const processFor = (t: TrialPlan): TrialProcess | undefined => {
    if (!pooled) return spawnFor(t);
    const workers = [...procs].filter(live);
    const idle = workers.find((q) => q.current === undefined && started(q));
    if (idle) return idle;
    const first = workers.length === 0 ? spawnFor() : undefined;
    const want = Math.min(plan.jobs, busy().length + queue.length);
    for (let k = workers.length + (first ? 1 : 0); k < want; k++) spawnFor();
    return first;
  };
  const start = (t: TrialPlan, p: TrialProcess): void => {
    p.current = t;
    try {
      trialFds.set(t.dir, openSync(join(dir, t.dir), 'r'));
    } catch {
      // gone already (its run fails, and ended says so), or a system that cannot open a folder
    }
    if (p.pooled) p.child.send({ op: 'run', dir: join(dir, t.dir) } satisfies ToWorker);
    log(
      `${t.dir} started (pid ${p.child.pid ?? '?'}${t.seed !== null ? `, seed ${t.seed}` : ''}${t.params ? `, params ${JSON.stringify(t.params)}` : ''})`,
    );
  };
  /** Idle workers end when no trial is left for them (they exit once disconnected). */
  const releaseIdle = (): void => {
    for (const p of procs)
      if (p.pooled && p.current === undefined && p.child.connected && (p.retiring || queue.length === 0 || cancelSignal !== undefined))
        p.child.disconnect();
  };

  let lastLog = Date.now();
  writeJsonAtomic(join(dir, BATCH_FILES.status), batchStatus());
  reserveSpace(dir);
  try {
    for (;;) {
      // A cancel asked for through the folder (from a host or container that cannot signal this process).
      if (cancelSignal === undefined) {
        const request = cancelRequested(dir);
        if (request !== undefined) onSignal(request);
      }
      if (cancelSignal !== undefined) {
        for (const t of queue.splice(0)) {
          try {
            cancelQueued(join(dir, t.dir), cancelSignal);
          } catch (err) {
            const error = `cancelled by ${cancelSignal} before it started; recording that failed: ${messageOf(err)}`;
            unrecorded.set(t.dir, { state: 'cancelled', error });
            log(`${t.dir}: ${error}`);
          }
        }
      }
      follow();
      while (cancelSignal === undefined && busy().length < plan.jobs && queue.length > 0) {
        const t = queue[0]!;
        let state: RunState;
        try {
          // an exit record beside a queued status: a cancel that landed while this process named itself in the
          // trial's status (the write-back above, read before the cancel's write) ended it
          state = settleFromExit(join(dir, t.dir))?.state ?? readStatus(join(dir, t.dir)).state;
        } catch (err) {
          // its folder was deleted or damaged while it waited: it cannot run, the others can
          const error = `its folder ${t.dir} is gone or damaged (${messageOf(err)}); not run`;
          unrecorded.set(t.dir, { state: 'failed', error });
          log(`${t.dir} failed: ${error}`);
          queue.shift();
          continue;
        }
        // A trial cancelled on its own while queued (nefsim cancel on its folder, or on a batch whose driver was late) stays so.
        if (state !== 'queued') {
          queue.shift();
          continue;
        }
        const p = processFor(t);
        if (!p) break;
        queue.shift();
        start(t, p);
      }
      releaseIdle();
      if (busy().length === 0 && queue.length === 0) break;
      await new Promise<void>((res) => {
        const timer = setTimeout(res, REFRESH_MS);
        wake = () => {
          clearTimeout(timer);
          res();
        };
      });
      wake = undefined;
      const st = writeStatus();
      if (Date.now() - lastLog >= LOG_SECONDS * 1000) {
        lastLog = Date.now();
        const parts = st.trials
          .filter((t) => t.state === 'running')
          .map((t) => `${t.dir} ${t.stepsTotal ? ((100 * t.steps) / t.stepsTotal).toFixed(0) : 0}%`);
        log(
          `${st.counts.done} done, ${st.counts.failed} failed, ${st.counts.running} running${parts.length ? ` (${parts.join(', ')})` : ''}, ${st.counts.queued} queued`,
        );
      }
    }
  } catch (err) {
    // A fault of the driver itself: its processes are let go (a worker ends once its trial has; none keeps
    // this process alive), so that it exits now and says why. Running trials go on, as after a kill -9 of
    // the batch process, and `nefsim status` judges the batch so.
    for (const p of procs) {
      if (p.child.connected) p.child.disconnect();
      p.child.unref();
    }
    releaseSpace(dir);
    letGo();
    throw err;
  }
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  releaseIdle();
  follow();
  letGo();

  const { trials, counts } = summarise(dir, plan, STALE_MS, unrecorded);
  const state: BatchExit['state'] =
    cancelSignal !== undefined ? 'cancelled' : counts.failed > 0 ? 'failed' : counts.cancelled > 0 ? 'cancelled' : 'done';
  const exitCode = state === 'done' ? 0 : state === 'failed' ? 1 : 143;
  const record: BatchExit = { state, exitCode, counts, wallSeconds: (Date.now() - t0) / 1000, trials, ended: new Date().toISOString() };
  // the space held since the start is for these records, on a disk the trials may have filled
  releaseSpace(dir);
  try {
    writeJsonAtomic(join(dir, BATCH_FILES.exit), record);
    writeJsonAtomic(join(dir, BATCH_FILES.status), batchStatus(state));
  } catch (err) {
    console.error(
      `nefsim: could not record the end of the batch in ${dir} (${messageOf(err)}): it ${state}; its trials' folders hold their own records`,
    );
    return 1;
  }
  log(`batch ${state} in ${record.wallSeconds.toFixed(1)} s: ${counts.done} done, ${counts.failed} failed, ${counts.cancelled} cancelled`);
  return exitCode;
}

/** A process running trials: one trial's own (`_execute`), or a worker's (`_worker`) that runs them one after another. */
interface TrialProcess {
  child: ChildProcess;
  pooled: boolean;
  /** The trial it runs now. */
  current: TrialPlan | undefined;
  /** A worker that said it takes no more trials. */
  retiring: boolean;
  /** Its start-up is over (a worker says so; a process of one trial counts as ready). */
  ready: boolean;
  /** When it was started (ms). */
  spawned: number;
}

/** Marks a trial that never started as cancelled. */
export function cancelQueued(tdir: string, reason: string): void {
  const s = readStatus(tdir);
  if (s.state !== 'queued') return;
  const record: ExitRecord = {
    state: 'cancelled',
    exitCode: 143,
    error: `cancelled by ${reason} before it started`,
    object: null,
    errorType: null,
    time: 0,
    steps: 0,
    ended: new Date().toISOString(),
  };
  writeJsonAtomic(join(tdir, FILES.exit), record);
  writeJsonAtomic(join(tdir, FILES.status), { ...s, state: 'cancelled', heartbeat: Date.now(), error: record.error });
}

/** SIGTERM (or another signal) to the process group led by `pid`; false if it is gone. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** A table of the trials, one line each, with a header line for the batch. */
export function formatBatchStatus(dir: string, s: BatchStatus): string {
  const c = s.counts;
  const pct = s.stepsTotal > 0 ? ((100 * s.steps) / s.stepsTotal).toFixed(1) : '0';
  const lines = [
    `${dir}: ${s.state} (${s.trials.length} trials: ${c.done} done, ${c.running} running, ${c.queued} queued, ${c.failed} failed, ${c.cancelled} cancelled; ${pct}% of all steps)`,
  ];
  if (s.jobId) {
    const pending = pendingInSlurm(s.trials);
    lines.push(`  slurm job ${s.jobId}${pending ? `; pending in Slurm: ${pending}` : ''}`);
  }
  if (s.error) lines.push(`  error: ${s.error}`);
  for (const t of s.trials) {
    const what = t.params ? JSON.stringify(t.params) : t.seed !== null ? `seed ${t.seed}` : '';
    const p = t.stepsTotal > 0 ? `${((100 * t.steps) / t.stepsTotal).toFixed(0).padStart(3)}%` : '  0%';
    let extra = '';
    if (t.state === 'running' && t.stepsPerSecond !== null)
      extra = `, ${Math.round(t.stepsPerSecond)} steps/s${t.secondsLeft !== null ? `, ${t.secondsLeft.toFixed(0)} s left` : ''}`;
    else if (t.wallSeconds !== null && isTerminal(t.state)) extra = `, ${t.wallSeconds.toFixed(1)} s`;
    // a model's error often names its object already (ModelError's message)
    const named = t.object && !t.error?.includes(`(object at fault: ${t.object})`) ? ` (object at fault: ${t.object})` : '';
    const err = t.error && t.state !== 'done' ? `: ${t.error}${named}` : '';
    lines.push(`  ${t.dir}  ${t.state.padEnd(9)} ${p}  t = ${t.time.toFixed(3)} s${extra}  ${what}${err}`);
  }
  return lines.join('\n');
}
