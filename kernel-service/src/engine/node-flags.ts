/**
 * Node's flags for the processes nefsim starts to build and run models
 * (ENGINE_NODE_FLAGS), and the young generation of the threads it starts.
 *
 * Young generation: run processes, trial workers, a partitioned run's parts,
 * a build's helper threads and the service's sessions keep it small. New objects live in the young generation, two semi-spaces, until they
 * survive a collection. On 64-bit machines V8 lets a semi-space grow to
 * 16 MB when a program allocates fast, and a build allocates fast: its
 * garbage then sits in up to 3 x 16 MB of young generation, and the objects
 * that survive are promoted in bulk, which leaves the old generation larger
 * too. A simulation step allocates nothing, and a build's collections are
 * short, so a 1 MB semi-space costs no measurable time here (bench, fresh
 * processes, 2026-11-23: builds and steps per second within the noise on
 * all nine bench models) and lowers peak RSS by 7-57 MB on the large ones
 * (CircularConvolution D = 16: 74 -> 64 MB, D = 64: 108 -> 91, D = 256:
 * 203 -> 146, K = 1000 integrators: 173 -> 134). Code that makes many short
 * lived objects (a notebook cell post-processing results into arrays of
 * objects) runs 5-10% slower with it, so sessions get a 2 MB semi-space.
 */

/** Semi-space of run processes and of the engine's own threads, MB. */
export const SEMI_SPACE_MB = 1;

/**
 * V8's background threads (its compilers, and its garbage collector's
 * helpers), which Node starts 4 of on any machine. One is enough: nefsim
 * puts its own work on threads of its own (a partitioned run's parts, a
 * build's solver threads), and its heaps are small. On 2 cores the 4 and
 * the main thread took turns, and a small model's first simulated second
 * lost 1-5 ms to waits of a time slice (a parallel scavenge waiting for a
 * helper, the main thread descheduled). With one the communication
 * channel's first 1,000 steps went from a median of 6.7 to 4.7 ms and the
 * oscillator's from 7.8 to 6.0 ms, with far less spread, and builds got
 * 6-13% faster (seven to nine alternating rounds, 2026-11-23, 2 cores);
 * larger models were unchanged. A fixed number, so that the `nefsim`
 * command's first line can carry the same flags.
 */
export const V8_POOL_SIZE = 1;

/** Node's flags for a process that builds and runs a model (`nefsim _execute`, `_worker`, `_batch`). */
export const ENGINE_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MB}`, `--v8-pool-size=${V8_POOL_SIZE}`];

/**
 * `resourceLimits.maxYoungGenerationSizeMb` of a worker thread whose young
 * generation matches a semi-space of `semiSpaceMb`: V8 sizes the young
 * generation at three semi-spaces (the two, and the large-object space).
 */
export function youngGenerationMb(semiSpaceMb: number = SEMI_SPACE_MB): number {
  return 3 * semiSpaceMb;
}

/** Semi-space of a service session's thread, MB: cells that allocate many small objects keep most of their speed. */
export const SESSION_SEMI_SPACE_MB = 2;

/** Old generation of a build's helper threads, MB (the solve pool's, the linear algebra team's): they keep their data in typed arrays, outside it; a cap keeps one from taking a design session's memory past its own. */
export const HELPER_OLD_GENERATION_MB = 256;
