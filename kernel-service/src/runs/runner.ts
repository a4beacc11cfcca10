/**
 * Executes a run from its folder: loads model.mjs, builds the simulator with
 * the options of options.json, and steps it in chunks, appending probe data
 * to probes.h5 and updating status.json (progress and heartbeat) after every
 * chunk. SIGTERM or SIGINT end the run as cancelled at the next chunk, with
 * the data so far flushed. The run writes its own exit.json: a restarted
 * service cannot wait for an orphaned process.
 */
import { stepsIn } from '../engine/steps.js';
import { appendFileSync, closeSync, existsSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { messageOf, NefsimError } from '../engine/errors.js';
import type { PartitionSummary } from '../parallel/partitioned-simulator.js';
import {
  cancelRequested,
  FILES,
  fileLost,
  folderMoved,
  pathInFolder,
  isTerminal,
  processGroup,
  pidNamespace,
  processStartTime,
  readExit,
  readJson,
  readStatus,
  releaseSpace,
  reserveSpace,
  settleFromExit,
  writeJsonAtomic,
  type ExitRecord,
  type RunOptions,
  type RunStatus,
} from './folder.js';
import { LoadCancelled, LoadNeverSettles, watchLoad, type LoopHandle } from './load-watch.js';
import { loadModel, ModelError } from './model.js';
import { RecentRate } from './recent-rate.js';
import { createRunSimulator, type RunSimulator } from './run-simulator.js';
import { currentJobId } from './slurm.js';
import { ProbeStoreError, type ThreadedProbeStore, type WriterThread } from './store-thread.js';

/** Wall seconds a chunk of steps aims at (the heartbeat is at least this frequent unless one step is slower). */
export const CHUNK_SECONDS = 0.2;
/** Probe bytes a chunk of steps may buffer in memory before they go to probes.h5. */
export const CHUNK_PROBE_BYTES = 4 << 20;
/** Wall seconds between progress lines in the log. */
const LOG_SECONDS = 10;
/** Wall seconds between flushes of probes.h5 (at most; also flushed at the end). */
export const FLUSH_SECONDS = 0.5;

export interface ExecuteOptions {
  /** Also append log lines to log.txt (a foreground run; a detached run's stdout already is log.txt). */
  logToFile: boolean;
  /**
   * The probe writer thread to use (a trial worker's reusable one, h5wasm
   * already loaded); by default a new thread for this run, ended with it.
   */
  writer?: () => WriterThread;
  /** Cancels the run as a signal would; its reason (a string, e.g. 'SIGTERM') is recorded as the signal's name. */
  abort?: AbortSignal;
  /**
   * The model's load was given up (cancelled, or it could never settle): its
   * promise is still pending, and whatever it started may still run. A trial
   * worker retires then, rather than run more trials beside it.
   */
  onLoadAbandoned?: (why: LoadCancelled | LoadNeverSettles) => void;
}

/** Runs the run in `dir` to its end; returns the process exit code (0 done, 1 failed, 143 cancelled). */
export async function executeRun(dir: string, opts: ExecuteOptions): Promise<number> {
  const options = readJson<RunOptions>(join(dir, FILES.options));
  // A run folder runs once: a second start (a Slurm job requeued after a node failure or by scontrol
  // requeue, which would rerun from step 0 over the data of a run that reads ended) leaves it as it ended.
  // A batch's trial cancelled while its process started (nefsim cancel on the trial, or on the batch,
  // which may record its end too) stays cancelled, quietly: 143, as a cancelled run's.
  const before = readStatus(dir);
  const ended = readExit(dir);
  const endedAs = ended?.state ?? before.state;
  if (ended !== undefined || isTerminal(before.state)) {
    if (options.trial !== undefined && endedAs === 'cancelled') {
      // a status that still says queued (written back over the cancel's by a starting driver) says so too
      settleFromExit(dir);
      return 143;
    }
    console.log(
      `[${new Date().toISOString()}] this run folder has run already and ended ${endedAs}: a run folder runs once, so nothing is done` +
        (process.env['SLURM_RESTART_COUNT'] ? ` (Slurm requeued the job, restart ${process.env['SLURM_RESTART_COUNT']})` : ''),
    );
    return 1;
  }
  let logFile = join(dir, FILES.log);
  const log = (msg: string): void => {
    const line = `[${new Date().toISOString()}] ${msg}`;
    console.log(line); // console never throws, even on a full disk
    try {
      if (opts.logToFile) appendFileSync(logFile, line + '\n');
    } catch {
      // a full disk: the line is on stdout still, and the end records say how the run ended
    }
  };
  let cancelSignal: string | undefined;
  let cancelLoad: ((sig: string) => void) | undefined;
  const loadCancelled = new Promise<string>((resolve) => (cancelLoad = resolve));
  const onSignal = (sig: string): void => {
    if (cancelSignal === undefined)
      log(`${sig === FOLDER_REMOVED ? 'its run folder was removed' : `received ${sig}`}: cancelling at the end of the current chunk`);
    cancelSignal = sig;
    cancelLoad!(sig);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const onAbort = (): void => onSignal(String(opts.abort?.reason));
  if (opts.abort?.aborted) onAbort();
  else opts.abort?.addEventListener('abort', onAbort, { once: true });

  const stepsTotal = stepsIn(options.duration, options.dt);
  const status: RunStatus = {
    state: 'running',
    time: 0,
    steps: 0,
    stepsTotal,
    stepsFlushed: 0,
    stepsPerSecond: null,
    secondsLeft: null,
    pid: process.pid,
    processStart: processStartTime(process.pid),
    pgid: processGroup(process.pid),
    heartbeat: Date.now(),
    started: new Date().toISOString(),
    host: hostname(),
  };
  const pidns = pidNamespace();
  if (pidns !== undefined) status.pidns = pidns;
  if (options.executor === 'slurm') {
    const jobId = currentJobId();
    if (jobId !== undefined) status.jobId = jobId;
  }
  // An update that cannot be written (a full disk) is not the run's end: the run goes on, its process
  // says it is alive (see currentStatus), and it fails if its probes cannot be written either.
  let statusFailing = false;
  const writeStatus = (): void => {
    // its folder removed (rm -r while it ran, or a test's clean-up): nobody can read the run, which would
    // otherwise step on to its end into unlinked files (a detached run of hours, at a core's full use). Its
    // options, read at the start, tell: a status written while rm -r empties the folder would make rm fail
    if (!existsSync(join(dir, FILES.options))) {
      // unless it was renamed (in JupyterLab's file browser, or mv): the run goes on there. It stopped as
      // if removed, and its renamed folder read failed, 'the run process is gone (killed?)'
      const now = dirFd !== undefined ? folderMoved(dirFd, dir) : undefined;
      if (now === undefined || !existsSync(join(now, FILES.options))) {
        onSignal(FOLDER_REMOVED);
        return;
      }
      dir = now;
      logFile = join(dir, FILES.log);
      log(`its run folder was moved to ${dir}: the run goes on there`);
    }
    // its probes.h5 deleted (rm, a clean-up of big files) or another file moved over it: the writer goes on
    // into the file it opened, which nobody can read, to the run's end at full speed. The run fails, as a
    // run whose probes cannot be written does. (A stat an update: the writer said which file it opened.)
    const lost = probesLost();
    if (lost !== undefined) {
      probesGone = true;
      throw new ProbeStoreError(
        `its ${FILES.probes} was ${lost} while it ran: it stopped at t = ${status.time.toFixed(3)} s (the data it wrote went with that file)`,
      );
    }
    status.heartbeat = Date.now();
    try {
      writeJsonAtomic(join(dir, FILES.status), status);
      if (statusFailing) log('status.json is written again');
      statusFailing = false;
    } catch (err) {
      if (!statusFailing)
        log(`warning: could not update status.json (${messageOf(err)}); the run goes on and tries again at its next update`);
      statusFailing = true;
    }
  };
  /** How the file the writer writes is no longer the run's probes.h5 ('deleted', 'replaced by another file'), if it is not. */
  const probesLost = (): string | undefined => {
    const opened = store?.file;
    if (!opened) return undefined; // not created yet (or its identity unknown)
    return fileLost(opened, dirFd, dir, FILES.probes);
  };
  /** The run stopped because its probes.h5 was deleted or replaced (see writeStatus). */
  let probesGone = false;
  try {
    writeJsonAtomic(join(dir, FILES.status), status);
  } catch (err) {
    // nothing started: leave no listener behind (a trial worker runs many trials)
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    opts.abort?.removeEventListener('abort', onAbort);
    throw new Error(`could not start the run in ${dir}: writing ${FILES.status} failed (${messageOf(err)})`);
  }
  reserveSpace(dir);
  // A model (or a Node function) that calls process.exit() ends the process in the middle of the
  // run: record that, synchronously, instead of leaving a run that looks running until its heartbeat
  // goes stale. Its data is readable up to the last flush.
  const onExit = (code: number): void => {
    // the run failed: so says the exit code, 1 as for every failed run (the model's own code is in the message)
    process.exitCode = 1;
    const message = `the process exited (code ${code}) before the run ended: did the model or a Node function call process.exit()?`;
    releaseSpace(dir);
    try {
      writeJsonAtomic(join(dir, FILES.exit), {
        state: 'failed',
        exitCode: 1,
        error: message,
        object: null,
        errorType: 'Error',
        time: status.time,
        steps: status.steps,
        ended: new Date().toISOString(),
      } satisfies ExitRecord);
      Object.assign(status, { state: 'failed', stepsPerSecond: null, secondsLeft: null, error: message });
      writeJsonAtomic(join(dir, FILES.status), status);
      if (opts.logToFile) appendFileSync(logFile, `[${new Date().toISOString()}] run failed: ${message}\n`);
    } catch {
      // the folder is gone: nothing to record
    }
  };
  process.on('exit', onExit);
  log(
    `run started: pid ${process.pid}, ${options.duration} s at dt ${options.dt} (${stepsTotal} steps), nefsim ${options.engineVersion}, node ${process.version}`,
  );

  // the folder, held open while the run steps: where it is now, if it is renamed (see writeStatus)
  let dirFd: number | undefined;
  try {
    dirFd = openSync(dir, 'r');
  } catch {
    // gone already, or a system that cannot open a folder: a folder missing its options is taken as removed
  }
  let store: ThreadedProbeStore | undefined;
  let sim: RunSimulator | undefined;
  let failure: unknown;
  /** The model's load started (and may be given up: see onLoadAbandoned). */
  let loading = false;
  /** True while steps run: a failure then comes from a step that counted itself but did not finish. */
  let stepping = false;
  // probes.h5 is written on a writer thread, off the simulation's thread; it starts now, so that it
  // loads h5wasm while this thread loads and builds the model
  const { ThreadedProbeStore, WriterThread: NewWriterThread } = await import('./store-thread.js');
  let writer: WriterThread | undefined;
  try {
    writer = opts.writer ? opts.writer() : new NewWriterThread(); // may throw (no more threads): the run then fails as any other error
    // Own handles let go while the model loads: a load that can never settle then fails (see load-watch.ts).
    const hold: LoopHandle[] = [writer.worker];
    if (process.channel) hold.push(process.channel);
    // cancelled before it started (a trial cancelled as its worker took it): no load to give up
    if (cancelSignal !== undefined) throw new LoadCancelled(cancelSignal);
    loading = true;
    const net = await watchLoad(loadModel(join(dir, FILES.model), options.params ?? {}), loadCancelled, hold, () => cancelRequested(dir));
    sim = await createRunSimulator(net, join(dir, FILES.model), {
      dt: options.dt,
      seed: options.seed,
      partitions: options.partitions ?? 1,
      ...(options.dtype ? { dtype: options.dtype } : {}),
      params: options.params ?? {},
      ...(options.pin ? { pin: options.pin } : {}),
    });
    const summary = sim.summary();
    log(
      `built '${summary.label ?? 'network'}' (seed ${summary.seed}): ${summary.neurons} neurons, ${summary.probes} probes, in ${summary.buildSeconds.toFixed(3)} s` +
        ((summary.buildThreads ?? 1) > 1 ? ` (decoders solved on ${summary.buildThreads} threads)` : ''),
    );
    if ('partitions' in summary) {
      const p = summary as unknown as PartitionSummary;
      const kernels = `${p.kernels === 'webassembly' ? 'WebAssembly' : 'JavaScript'} kernels`;
      if (p.mode === 'levels')
        log(`level-parallel on ${p.partitions} worker threads, ${kernels} (${p.neuronsPerPart.join(' / ')} neurons): ${p.reason}`);
      else
        log(
          `partitioned into ${p.partitions} part(s) on worker threads, ${kernels}: ${p.neuronsPerPart.join(' / ')} neurons, ${p.cuts} cut signal(s)`,
        );
    }
    for (const w of summary.warnings) log(`warning: ${w}`);
    const thread = writer;
    writer = undefined; // the store owns it now, failing or not
    store = await ThreadedProbeStore.create(
      // the writer creates the file once h5wasm has loaded, while the run steps: a folder renamed meanwhile
      // (before its first status update) made it fail, 'No such file or directory', so it is reached through
      // the folder held open
      dirFd !== undefined ? pathInFolder(dirFd, FILES.probes, join(dir, FILES.probes)) : join(dir, FILES.probes),
      sim,
      { engineVersion: options.engineVersion, duration: options.duration, seed: summary.seed },
      thread,
    );
    writeStatus();

    const t0 = performance.now();
    let lastFlush = -Infinity; // the first chunk is flushed at once: readers see data as soon as possible
    let lastLog = t0;
    let lastStatus = t0;
    const rate = new RecentRate(t0);
    // Bytes of probe samples one step adds (dense, before the store makes spikes sparse).
    const dt = sim.dt;
    const bytesPerStep = sim.probes.reduce((b, p) => b + (8 * p.size * dt) / (p.sampleEvery ?? dt), 0);
    const maxChunk = Math.max(1, Math.floor(CHUNK_PROBE_BYTES / Math.max(1, bytesPerStep)));
    let chunk = Math.min(100, maxChunk);
    while (sim.steps < stepsTotal && cancelSignal === undefined) {
      const n = Math.min(chunk, stepsTotal - sim.steps);
      const c0 = performance.now();
      stepping = true;
      await sim.runSteps(n);
      stepping = false;
      const c1 = performance.now();
      await store.append();
      if (c1 - lastFlush >= FLUSH_SECONDS * 1000) {
        // not awaited: the writer flushes while the next chunk runs; status shows what is on disk
        store.flush().catch(() => undefined); // a writer error fails the next append or close
        lastFlush = performance.now();
      }
      // Aim the next chunk at CHUNK_SECONDS of wall time, and at most CHUNK_PROBE_BYTES of probe samples in memory.
      const chunkRate = n / Math.max(1e-6, (c1 - c0) / 1000);
      chunk = Math.max(1, Math.min(100_000, maxChunk, Math.round(chunkRate * CHUNK_SECONDS)));
      if (cancelSignal === undefined && performance.now() - lastStatus < CHUNK_SECONDS * 1000 && sim.steps < stepsTotal) continue;
      // A cancel asked for through the folder (from a host or container that cannot signal this process).
      if (cancelSignal === undefined) {
        const request = cancelRequested(dir);
        if (request !== undefined) onSignal(request);
      }
      const now = performance.now();
      lastStatus = now;
      status.steps = sim.steps;
      status.time = sim.time;
      status.stepsFlushed = store.stepsFlushed;
      status.stepsPerSecond = rate.at(now, sim.steps);
      status.secondsLeft = (stepsTotal - sim.steps) / status.stepsPerSecond;
      writeStatus();
      if (performance.now() - lastLog >= LOG_SECONDS * 1000) {
        lastLog = performance.now();
        log(
          `t = ${sim.time.toFixed(3)} s, ${sim.steps}/${stepsTotal} steps, ${Math.round(status.stepsPerSecond)} steps/s, ${status.secondsLeft.toFixed(0)} s left`,
        );
      }
      // Let signals in.
      await new Promise((r) => setImmediate(r));
    }
    // a partitioned run's part that failed after its last chunk (a Node function's callback) fails the run, as
    // it would end a run on one thread
    await sim.close?.();
    await store.close();
    store = undefined;
    status.steps = sim.steps;
    status.time = sim.time;
    status.stepsFlushed = sim.steps;
  } catch (err) {
    if (loading && (err instanceof LoadCancelled || err instanceof LoadNeverSettles)) opts.onLoadAbandoned?.(err);
    // cancelled while the model loaded: recorded as cancelled, before any step
    if (err instanceof LoadCancelled) cancelSignal ??= err.signal;
    else failure = err;
    if (sim) {
      // A failing step counts itself but does not finish: keep the steps before it, and their data.
      status.steps = stepping ? sim.steps - 1 : sim.steps;
      status.time = status.steps * sim.dt;
    }
    try {
      if (store && sim) {
        // the steps before the failure, if they can still be handed over; the store is closed either way
        // (a failed hand-over that skipped the close left the writer thread, and the process, running)
        let appended = true;
        try {
          await store.append(status.steps);
        } catch {
          appended = false;
        }
        try {
          await store.close();
        } catch {
          appended = false; // the store failed (now, or before: then its close fails too)
        }
        // on disk: everything, or what the writer last said was flushed (its failure says so too)
        status.stepsFlushed = appended ? status.steps : store.stepsFlushed;
      }
    } catch {
      // the run already failed; keep its error
    }
  } finally {
    // a thread no store took: ended, unless it is a worker's (ReusableWriter decides what becomes of it)
    if (writer && !writer.reusable) await writer.stop().catch(() => undefined);
    await sim?.close?.().catch(() => undefined);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('exit', onExit);
    opts.abort?.removeEventListener('abort', onAbort);
    if (dirFd !== undefined) closeSync(dirFd); // a trial worker runs many runs
  }

  // a cancel that came after the last step found nothing left to stop: the run is complete, and done
  const cancelled = cancelSignal !== undefined && status.steps < stepsTotal;
  if (cancelSignal !== undefined && !cancelled && failure === undefined)
    log(`${cancelSignal} came after the last step: the run is complete, and recorded as done`);
  const state: ExitRecord['state'] = failure !== undefined ? 'failed' : cancelled ? 'cancelled' : 'done';
  const exitCode = state === 'done' ? 0 : state === 'failed' ? 1 : 143;
  const e = failure instanceof Error ? failure : failure !== undefined ? new Error(String(failure)) : undefined;
  const object = e instanceof NefsimError || e instanceof ModelError ? e.object : undefined;
  const record: ExitRecord = {
    state,
    exitCode,
    error: e ? e.message : state === 'cancelled' ? cancelledBy(cancelSignal!) : null,
    object: object ?? null,
    errorType: e ? e.name : null,
    time: status.time,
    steps: status.steps,
    ended: new Date().toISOString(),
  };
  status.state = state;
  status.secondsLeft = state === 'done' ? 0 : null;
  if (e) {
    status.error = e.message;
    if (object !== undefined) status.object = object;
  }
  // the space held since the start is for these two records, on a disk the run may have filled
  releaseSpace(dir);
  // a probes.h5 that went as rm -r emptied the folder (it may be removed before options.json): the folder is
  // gone too by now (the store's close took a while), and is not to be written into (see below)
  if (probesGone && !existsSync(join(dir, FILES.options))) cancelSignal = FOLDER_REMOVED;
  // nowhere to record it (writing the records into a folder that rm -r is emptying would make rm fail)
  if (cancelSignal === FOLDER_REMOVED)
    throw new Error(`its run folder ${dir} was removed while it ran: it stopped at t = ${record.time.toFixed(3)} s`);
  try {
    writeJsonAtomic(join(dir, FILES.exit), record);
    status.heartbeat = Date.now();
    writeJsonAtomic(join(dir, FILES.status), status);
  } catch (err) {
    // nothing in the folder can say it: the caller does (`nefsim: ...` on stderr; a batch's record of the trial)
    throw new Error(
      `could not record the end of the run in ${dir} (${messageOf(err)}): the run ended ${state} at t = ${record.time.toFixed(3)} s${e ? `: ${e.message}` : ''}; probes.h5 holds ${status.stepsFlushed} steps`,
    );
  }
  if (e) {
    log(
      `run failed at t = ${record.time.toFixed(3)} s: ${e.name}: ${e.message}${object !== undefined ? ` (object at fault: ${object})` : ''}`,
    );
    // a probe store's failure (ProbeStoreError) says all in its message
    if (!(e instanceof NefsimError) && !(e instanceof ModelError) && e.name !== 'ProbeStoreError' && e.stack) log(e.stack);
  } else {
    log(`run ${state} at t = ${record.time.toFixed(3)} s (${record.steps} steps)`);
  }
  return exitCode;
}

/** What cancels a run whose folder was removed while it ran (cancelledBy's reason). */
const FOLDER_REMOVED = 'the removal of its run folder';

/** An exit record's words for a cancel, by what stopped the run (a signal names its usual senders). */
export function cancelledBy(reason: string): string {
  if (reason === 'SIGTERM')
    return 'cancelled (SIGTERM: nefsim cancel, Cancel in the Runs panel, scancel or a Slurm time limit, or the machine shutting down)';
  if (reason === 'SIGINT') return 'cancelled (SIGINT: Ctrl+C)';
  return `cancelled by ${reason}`;
}
