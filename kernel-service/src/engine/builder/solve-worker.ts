/** A helper thread of solve-pool.ts: takes decoder solves from each batch of shared memory it is sent, until it is ended. */
import { parentPort } from 'node:worker_threads';
import { claimJob, takeJobs, type PoolMemory } from './solve-pool.js';

parentPort!.on('message', (batch: { mem: PoolMemory; nJobs: number }) => {
  // For the test of a helper that dies in the middle of a job: claim one and end the thread.
  if (process.env['NEFSIM_TEST_HELPER_DIES'] === '1') {
    claimJob(batch.mem, batch.nJobs);
    process.exit(1);
  }
  takeJobs(batch.mem, batch.nJobs, true);
});
