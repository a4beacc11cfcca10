/**
 * How many helper threads a build may start: for the solve pool
 * (builder/solve-pool.ts: whole decoder solves side by side) and the linear
 * algebra team (linalg-team.ts: one large solve's Gram matrix and Cholesky
 * factor split across threads).
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread } from 'node:worker_threads';
import { HELPER_OLD_GENERATION_MB, youngGenerationMb } from './node-flags.js';

let allowedHere = false;

/**
 * Lets this worker thread's builds start helper threads, as a main
 * thread's do: for a thread that builds on its own (a design session of the
 * service), not beside other threads of the same run (a partitioned run's
 * parts, which already use the cores).
 */
export function allowBuildThreadsInThisWorker(): void {
  allowedHere = true;
}

/**
 * Helper threads for a build: NEFSIM_BUILD_THREADS (then `asked`), else one
 * less than the cores, at most 3; none from worker threads (a partitioned
 * run's parts) unless allowed (a design session), and none in the
 * TypeScript sources (the helpers run the built JavaScript).
 */
export function poolThreads(): { threads: number; asked: boolean } {
  if ((!isMainThread && !allowedHere) || !import.meta.url.endsWith('.js')) return { threads: 0, asked: false };
  const env = process.env['NEFSIM_BUILD_THREADS'];
  if (env !== undefined && env.trim() !== '') {
    const k = Number(env);
    return { threads: Number.isInteger(k) && k >= 0 ? Math.min(k, 64) : 0, asked: true };
  }
  return { threads: Math.max(0, Math.min(availableParallelism() - 1, 3)), asked: false };
}

/**
 * Starts a build helper thread running `script`: its heap kept small (it
 * works in typed arrays), not holding the process open, and its errors
 * ignored (the calling thread redoes whatever it held). Throws if no thread
 * can be started.
 */
export function helperWorker(script: URL): Worker {
  const w = new Worker(script, {
    resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb(), maxOldGenerationSizeMb: HELPER_OLD_GENERATION_MB },
  });
  w.unref();
  w.on('error', () => {});
  return w;
}
