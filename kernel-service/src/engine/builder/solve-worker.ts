/** A helper thread of solve-pool.ts: takes decoder solves from shared memory until none is left, then ends. */
import { workerData } from 'node:worker_threads';
import { takeJobs, type PoolMemory } from './solve-pool.js';

const { mem, nJobs } = workerData as { mem: PoolMemory; nJobs: number };
takeJobs(mem, nJobs);
