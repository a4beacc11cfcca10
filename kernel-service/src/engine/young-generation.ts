/**
 * The size of V8's young generation for the processes and threads nefsim
 * starts (run processes, trial workers, a partitioned run's parts, a build's
 * helper threads, the service's sessions).
 *
 * New objects live in the young generation, two semi-spaces, until they
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

/** Node's flags for a process that builds and runs a model (`nefsim _execute`, `_worker`, `_batch`). */
export const ENGINE_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MB}`];

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
