/**
 * What linalg-team.ts (the calling thread) and linalg-team-worker.ts (its
 * helpers) share: the control words at the start of the team's shared
 * WebAssembly memory, and the loop that claims and runs a phase's chunks.
 *
 * A phase is one of the linear-algebra module's range functions (TEAM_OPS)
 * over chunks [bounds[k], bounds[k+1]) of its rows, every chunk called with
 * the same leading arguments. Chunks are claimed by compare-and-swap on
 * WORD, which holds the phase's epoch and the next unclaimed chunk. The
 * calling thread starts a phase only once every chunk of the last one is
 * done (DONE), and in three steps: it closes the last phase to claims (WORD
 * = its epoch << 16 | 0xffff, more than any chunk count), writes the new
 * phase (op, arguments, bounds), then opens it (WORD = new epoch << 16). So
 * a claim succeeds only while its phase is open, when every parameter a
 * thread read (after seeing that epoch) is that phase's: a thread that read
 * an older epoch fails its swap, and one that read the new parameters
 * under the old epoch finds the old phase closed. Epoch 0 is never a phase
 * (a fresh memory's WORD is 0).
 */

/** Bytes of control words before the data. */
export const CTL_BYTES = 4096;
/** Int32 indices of the control words. */
export const WORD = 0,
  DONE = 1,
  OP = 2,
  NCHUNKS = 3,
  NARGS = 4,
  ARGS = 5,
  MAX_ARGS = 8,
  BOUNDS = 16;
/** The most chunks a phase may have (its bounds fill the rest of the control words). */
export const MAX_CHUNKS = CTL_BYTES / 4 - BOUNDS - 1;
/** OP: the session is over; helpers return to their event loop. */
export const OP_END = -1;
/** OP: no work (a session's first epoch, before its first phase). */
export const OP_IDLE = -2;
/** Epochs count modulo this (15 bits: WORD stays a positive int32). */
export const EPOCHS = 1 << 15;

/** The module's range functions a phase may run (linalg-wasm.ts). */
export const TEAM_OPS = ['syrkRows', 'factorPanel', 'factorUpdate'] as const;
export type TeamOp = (typeof TEAM_OPS)[number];

/** The range functions as a thread's instance exports them. */
export type TeamFns = Record<TeamOp, (...args: number[]) => void>;

/** Claims the next chunk of phase `epoch`; -1 when none is left or the phase is over. */
export function claimChunk(ctl: Int32Array, epoch: number, nChunks: number): number {
  for (;;) {
    const w = Atomics.load(ctl, WORD);
    if (w >>> 16 !== epoch) return -1;
    const k = w & 0xffff;
    if (k >= nChunks) return -1;
    if (Atomics.compareExchange(ctl, WORD, w, w + 1) === w) return k;
  }
}

/** Claims and runs chunks of phase `epoch` until none is left; returns how many this thread ran. */
export function runChunks(ctl: Int32Array, fns: TeamFns, epoch: number): number {
  const op = TEAM_OPS[ctl[OP]!];
  if (op === undefined) return 0;
  const fn = fns[op];
  const nChunks = ctl[NCHUNKS]!;
  const args = Array.from(ctl.subarray(ARGS, ARGS + ctl[NARGS]!));
  let ran = 0;
  for (let k = claimChunk(ctl, epoch, nChunks); k >= 0; k = claimChunk(ctl, epoch, nChunks)) {
    fn(...args, ctl[BOUNDS + k]!, ctl[BOUNDS + k + 1]!);
    ran++;
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
  return ran;
}
