/** A helper thread of solve-pool.ts: takes decoder solves from each batch of shared memory it is sent, until it is ended. */
import { parentPort } from 'node:worker_threads';
import { takeJobs, type PoolMemory } from './solve-pool.js';

parentPort!.on('message', (batch: { mem: PoolMemory; nJobs: number }) => {
  takeJobs(batch.mem, batch.nJobs);
});
