/**
 * The service's slot count of a run (--max-concurrent-runs counts one slot per thread a run keeps busy)
 * must follow what `nefsim run` will actually run: a batch without `jobs` runs cores / partitions trials
 * at once (README, "Trials and sweeps": --jobs defaults to the number of cores divided by --partitions).
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { slotsOf } from '../src/server/runs.js';
import { defaultJobs } from '../src/runs/batch.js';

describe('run slots', () => {
  it("a partitioned batch without jobs holds the slots of the trials nefsim run runs at once (cores / partitions), not the cores' worth", () => {
    const cores = availableParallelism();
    for (const partitions of [1, 2, 3, 4]) {
      const atOnce = Math.max(1, Math.floor(cores / partitions));
      expect(defaultJobs(partitions)).toBe(atOnce);
      expect(slotsOf({ trials: 64, partitions })).toBe(atOnce * partitions);
      // fewer trials than that: only they run
      expect(slotsOf({ trials: 2, partitions })).toBe(Math.min(atOnce, 2) * partitions);
    }
  });

  it('given jobs, a batch holds jobs x partitions; a single run its partitions; a Slurm run one', () => {
    expect(slotsOf({ trials: 8, jobs: 3, partitions: 2 })).toBe(6);
    expect(slotsOf({ partitions: 4 })).toBe(4);
    expect(slotsOf({ trials: 8, jobs: 3, partitions: 2, executor: 'slurm' })).toBe(1);
  });
});
