/**
 * A helper thread of linalg-team.ts: for each session it is sent (a shared
 * memory and the compiled linear-algebra module), it runs chunks of every
 * phase the calling thread starts, until the session ends.
 */
import { parentPort } from 'node:worker_threads';
import { CTL_BYTES, NCHUNKS, OP, OP_END, WORD, claimChunk, runChunks, type TeamFns } from './linalg-team-protocol.js';
import { wasmApi, type WasmMemory } from './wasm.js';

/** A session whose calling thread went quiet this long is left (it ends its sessions; this is a backstop). */
const QUIET_MS = 60_000;

parentPort!.on('message', (msg: { memory: WasmMemory; module: object }) => {
  const api = wasmApi();
  if (!api) return;
  const fns = new api.Instance(msg.module, { m: { m: msg.memory } }).exports as unknown as TeamFns;
  const ctl = new Int32Array(msg.memory.buffer, 0, CTL_BYTES / 4);
  let last = -1,
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
