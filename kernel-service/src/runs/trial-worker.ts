/**
 * A trial worker (`nefsim _worker`): a process that runs a batch's trials one
 * after another, as the batch driver (batch.ts) hands them over on its IPC
 * channel, the way multiprocessing.Pool reuses its processes. Each trial is
 * executed by the same code as a single run (runner.ts's executeRun) in its
 * own run folder; what the worker keeps between trials is what takes a new
 * process most of its time: Node's start, the engine's code (compiled and
 * optimised), and the probe writer thread with h5wasm loaded.
 *
 * What a trial gets fresh: its model module (each trial folder has its own
 * model.mjs, a module of its own), its network, simulator and probes.h5. What
 * it shares with the trials before it in the same worker: globals a model
 * changes (globalThis, process.env), and the engine's caches (decoders by
 * content hash, compiled kernels), which do not change results. The driver
 * gives a worker only models that import nothing but 'nefsim' and Node's
 * builtins (a helper module would be shared), unless --process-per-trial.
 *
 * Messages: driver -> worker { op: 'run', dir }; worker -> driver
 * { op: 'ended', dir, code }. The worker ends when the driver disconnects
 * (after its current trial), and retires itself after RETIRE_TRIALS trials
 * or when its memory has grown by RETIRE_GROWTH since its first trial.
 * Signals: SIGTERM or SIGINT cancel the current trial (executeRun's own
 * handling), as for a run in a process of its own; between trials they are
 * ignored (the driver decides what runs next). As in a process of its own,
 * a trial runs in its folder as working directory, its unlabeled objects are
 * numbered from 1 (as for every model load), and what the process prints meanwhile (the model's
 * console output, warnings, the run's log lines) goes to its own log.txt.
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { FILES, readStatus } from './folder.js';
import { executeRun } from './runner.js';
import { ReusableWriter } from './store-thread.js';

/** run: a trial folder to run next; cancel: cancel the trial given last (sent after its run, so never ahead of it). */
export type ToWorker = { op: 'run'; dir: string } | { op: 'cancel'; reason: string };
/**
 * ready: start-up is over (the engine and h5wasm are loaded; the driver starts
 * the next worker only then, so that start-ups do not compete for the cores);
 * ended: a trial ended (code as executeRun's); `retiring`: this worker takes
 * no more trials, and why.
 */
export type FromWorker = { op: 'ready' } | { op: 'ended'; dir: string; code: number; error?: string; retiring?: string };

/** Trials a worker runs before it hands over to a fresh process. */
export const RETIRE_TRIALS = 200;
/** Growth of the resident set since the first trial ended past which a worker retires (bytes). */
export const RETIRE_GROWTH = 1 << 30;

function isToWorker(m: unknown): m is ToWorker {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return (o['op'] === 'run' && typeof o['dir'] === 'string') || (o['op'] === 'cancel' && typeof o['reason'] === 'string');
}

type Write = typeof process.stdout.write;

/**
 * Sends what the process writes to stdout and stderr (console.*, warnings,
 * what worker threads print) to the end of `path`, synchronously (nothing is
 * lost if the worker dies next), until the returned function is called.
 */
function redirectOutput(path: string): () => void {
  const out = process.stdout.write;
  const err = process.stderr.write;
  // the file held open, as a process of its own has its log as stdout: a trial folder renamed while it runs
  // (which the run follows) keeps its lines; appended by path, they went to the old path, and were lost
  let fd: number | undefined;
  try {
    fd = openSync(path, 'a');
  } catch {
    // cannot be opened (a full disk, a folder gone): each line tries by path
  }
  const write = (chunk: string | Uint8Array, encOrDone?: unknown, done?: unknown): boolean => {
    try {
      appendFileSync(fd ?? path, chunk);
    } catch {
      // a log that cannot be written loses the line, not the trial
    }
    const cb = typeof encOrDone === 'function' ? encOrDone : done;
    if (typeof cb === 'function') process.nextTick(cb as () => void);
    return true;
  };
  process.stdout.write = write as Write;
  process.stderr.write = write as Write;
  return () => {
    process.stdout.write = out;
    process.stderr.write = err;
    if (fd !== undefined) closeSync(fd);
  };
}

/** Runs trials as the driver sends them; resolves with the exit code when the worker should end. */
export async function trialWorker(): Promise<number> {
  if (!process.send) throw new Error('nefsim _worker: start this command through a batch (it needs an IPC channel)');
  // A driver that is gone (killed) closes the channel: a message then fails with EPIPE, which must not end
  // the worker (its trial goes on), so errors are taken by the callback instead of an 'error' event.
  // The last message's hand-over to the channel, awaited before the worker ends (its process then exits at once).
  let sent: Promise<void> = Promise.resolve();
  const send = (m: FromWorker): void => {
    if (!process.connected) return;
    sent = new Promise((resolve) => process.send!(m, undefined, {}, () => resolve()));
  };
  // The writer thread starts now and loads h5wasm while the first trial loads its model; the driver hears when it has.
  const writer = new ReusableWriter();
  writer.loaded().then(
    () => send({ op: 'ready' }),
    () => send({ op: 'ready' }), // its failure is the first trial's to report; start-up is over all the same
  );
  // Between trials a signal is the driver's business, not a reason to die (executeRun adds its own while a trial runs).
  const idle = (sig: NodeJS.Signals): void => {
    if (!current) console.log(`trial worker ${process.pid}: ${sig} between trials, ignored`);
  };
  process.on('SIGTERM', idle);
  process.on('SIGINT', idle);

  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let disconnected = false;
  let current: AbortController | undefined;
  let pendingCancel: string | undefined;
  process.on('message', (m: unknown) => {
    if (!isToWorker(m)) return;
    if (m.op === 'run') queue.push(m.dir);
    else if (current) current.abort(m.reason);
    else if (queue.length > 0) pendingCancel = m.reason; // its trial is queued here and not started yet
    wake?.();
  });
  process.on('disconnect', () => {
    disconnected = true;
    wake?.();
  });
  // a driver that disconnected while this process was still loading its modules (no event then)
  if (!process.connected) disconnected = true;

  let trials = 0;
  let rssAfterFirst = 0;
  for (;;) {
    while (queue.length === 0 && !disconnected) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    const dir = queue.shift();
    if (dir === undefined) break; // disconnected and nothing left to run
    // A trial cancelled after it was handed over (nefsim cancel on a batch whose driver is gone) stays so.
    let state: string | undefined;
    try {
      state = readStatus(dir).state;
    } catch {
      state = undefined; // executeRun reports what is wrong with the folder
    }
    if (state !== undefined && state !== 'queued') {
      send({ op: 'ended', dir, code: state === 'cancelled' ? 143 : 1 });
      continue;
    }
    current = new AbortController();
    if (pendingCancel !== undefined) current.abort(pendingCancel);
    pendingCancel = undefined;
    // as in a process of its own: the run folder as working directory, output to its log (and, as every
    // model load, unlabeled objects numbered from 1: loadModel)
    const home = process.cwd();
    const restore = redirectOutput(join(dir, FILES.log));
    let code: number;
    let error: string | undefined;
    let abandoned: string | undefined;
    try {
      process.chdir(dir);
      code = await executeRun(dir, {
        logToFile: false,
        writer: () => writer.get(),
        abort: current.signal,
        onLoadAbandoned: (why) => (abandoned = why.message),
      });
    } catch (err) {
      // executeRun records its own failures; this is a failure to do even that (the driver records it)
      code = 1;
      error = err instanceof Error ? err.message : String(err);
    } finally {
      restore();
      current = undefined;
      try {
        process.chdir(home);
      } catch {
        // the batch folder is gone: the next trial's chdir says so
      }
    }
    trials++;
    const rss = process.memoryUsage.rss();
    if (trials === 1) rssAfterFirst = rss;
    const retiring =
      abandoned !== undefined
        ? `its model's load was given up (${abandoned}), and what the model started may still run here`
        : trials >= RETIRE_TRIALS
          ? `${trials} trials`
          : rss - rssAfterFirst > RETIRE_GROWTH
            ? `memory grew by ${((rss - rssAfterFirst) / 2 ** 20).toFixed(0)} MB`
            : undefined;
    const ended: FromWorker = { op: 'ended', dir, code };
    if (error !== undefined) ended.error = error;
    if (retiring !== undefined) ended.retiring = retiring;
    send(ended);
    if (retiring !== undefined) break;
  }
  await writer.stop();
  await sent;
  process.off('SIGTERM', idle);
  process.off('SIGINT', idle);
  if (process.connected) process.disconnect();
  return 0;
}
