/**
 * A helper thread of linalg-team.ts: for each session it is sent (the team's
 * shared memory and the compiled linear-algebra module), it runs chunks of
 * every phase the calling thread starts, until the session ends; and it
 * takes rows of an activities task.
 */
import { parentPort } from 'node:worker_threads';
import { CTL_BYTES, NCHUNKS, OP, OP_END, WORD, claimChunk, runChunks, type TeamFns } from './linalg-team-protocol.js';
import { wasmApi, type WasmMemory } from './wasm.js';
import { runActivityChunks } from './linalg-team.js';

/** A session whose calling thread went quiet this long is left (it ends its sessions; this is a backstop). */
const QUIET_MS = 60_000;

/** An ensemble's activities, its rows in chunks (linalg-team.ts's teamActivities). */
export interface ActivitiesTask {
  kind: 'activities';
  /** WORD (epoch 1, the next chunk), DONE, NCHUNKS, the bounds at BOUNDS. */
  ctl: Int32Array;
  /** Per chunk: the maximum of its activities (NaN: WebAssembly declined it). */
  maxes: Float64Array;
  bounds: number[];
  /** m x n, in shared memory. */
  A: Float64Array;
  enc: Float64Array;
  bias: Float64Array;
  x: Float64Array;
  m: number;
  n: number;
  d: number;
  tauRc: number;
  tauRef: number;
  amplitude: number;
}

/** The last session's instance, by the team memory's id (a memory is kept from one session to the next). */
let current: { id: number; fns: TeamFns } | undefined;

parentPort?.on('message', (msg: { memory: WasmMemory; module: object; id: number } | ActivitiesTask) => {
  if ('kind' in msg) {
    if (process.env['NEFSIM_TEST_TEAM_HELPER_DIES'] === '1' && claimChunk(msg.ctl, 1, Atomics.load(msg.ctl, NCHUNKS)) >= 0) process.exit(1);
    runActivityChunks(msg);
    return;
  }
  const api = wasmApi();
  if (!api) return;
  if (current?.id !== msg.id)
    current = { id: msg.id, fns: new api.Instance(msg.module, { m: { m: msg.memory } }).exports as unknown as TeamFns };
  const { fns } = current;
  const ctl = new Int32Array(msg.memory.buffer, 0, CTL_BYTES / 4);
  let last = 0, // epoch 0 is never a phase
    quietSince = Date.now();
  for (;;) {
    const w = Atomics.load(ctl, WORD);
    const epoch = w >>> 16;
    if (epoch === last) {
      if (Atomics.wait(ctl, WORD, w, 1000) === 'timed-out' && Date.now() - quietSince > QUIET_MS) return;
      continue;
    }
    quietSince = Date.now();
    if (Atomics.load(ctl, OP) === OP_END) return;
    // For the test of a helper that dies in the middle of a chunk: claim one and end the thread.
    if (process.env['NEFSIM_TEST_TEAM_HELPER_DIES'] === '1' && claimChunk(ctl, epoch, Atomics.load(ctl, NCHUNKS)) >= 0) process.exit(1);
    runChunks(ctl, fns, epoch);
    last = epoch;
  }
});
