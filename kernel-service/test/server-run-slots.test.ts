/**
 * The service's slot count of a run (--max-concurrent-runs counts one slot per thread a run keeps busy)
 * must follow what `nefsim run` will actually run: a batch without `jobs` runs cores / partitions trials
 * at once (README, "Trials and sweeps": --jobs defaults to the number of cores divided by --partitions).
 * A run or batch handed to Slurm works on the cluster: once submitted it holds none of this machine's slots.
 * Its Slurm part is replaced here (squeue says its job is pending); runs-slurm.test.ts has the real one.
 * The queue test uses the built CLI (`npm run build` first) to make real run folders.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { slotsOf, RunManager } from '../src/server/runs.js';
import { defaultJobs } from '../src/runs/batch.js';
import { processStartTime, writeJsonAtomic } from '../src/runs/folder.js';

// every job is listed by squeue, pending for Resources (as on a busy cluster)
vi.mock('../src/runs/slurm.js', async (original) => ({
  ...(await original<typeof import('../src/runs/slurm.js')>()),
  jobListed: () => true,
  pendingReason: () => 'Resources',
}));

const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/model.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-run-slots-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const edit = (p: string, change: Record<string, unknown>): void => writeJsonAtomic(p, { ...json(p), ...change });

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

  it('given jobs, a batch holds jobs x partitions; a single run its partitions; the launch of a Slurm run one', () => {
    expect(slotsOf({ trials: 8, jobs: 3, partitions: 2 })).toBe(6);
    expect(slotsOf({ partitions: 4 })).toBe(4);
    expect(slotsOf({ trials: 8, jobs: 3, partitions: 2, executor: 'slurm' })).toBe(1);
  });

  it("a Slurm run and a Slurm batch pending in Slurm's queue hold no local slot: a local run starts with --max-concurrent-runs 1", async () => {
    const run = (out: string, ...more: string[]): void => {
      execFileSync(process.execPath, [BIN, 'run', EXAMPLE, '--duration', '0.02', '--out', join(dir, out), ...more], { stdio: 'pipe' });
    };
    // a Slurm run of two parts, submitted, its job pending (made as a local run, then given what submission writes)
    run('on-slurm', '--partitions', '2');
    edit(join(dir, 'on-slurm', 'options.json'), { executor: 'slurm' });
    edit(join(dir, 'on-slurm', 'status.json'), { state: 'queued', jobId: '4242' });
    rmSync(join(dir, 'on-slurm', 'exit.json'), { force: true });
    // a Slurm batch: a job array whose tasks are pending
    run('batch-on-slurm', '--trials', '2', '--jobs', '1');
    const batch = join(dir, 'batch-on-slurm');
    edit(join(batch, 'batch.json'), { executor: 'slurm' });
    edit(join(batch, 'status.json'), { state: 'running', jobId: '4243' });
    rmSync(join(batch, 'exit.json'), { force: true });
    for (const [i, t] of readdirSync(batch)
      .filter((n) => n.startsWith('trial-'))
      .entries()) {
      edit(join(batch, t, 'status.json'), { state: 'queued', jobId: `4243_${i}` });
      rmSync(join(batch, t, 'exit.json'), { force: true });
    }
    const runs = new RunManager(dir, 1);
    try {
      // both read as waiting in Slurm's queue
      const listed = runs.list();
      expect(listed.find((r) => r.run === 'on-slurm')).toMatchObject({ state: 'queued', slurmPending: 'Resources' });
      expect(listed.find((r) => r.run === 'batch-on-slurm')).toMatchObject({ state: 'running', slurmPending: 'Resources (2 trials)' });
      // a local run queued as the service queues it
      const local = 'local-run';
      writeJsonAtomic(join(runs.dir, '.queue', `${local}.json`), {
        run: local,
        file: EXAMPLE,
        duration: 0.02,
        dt: 0.001,
        seed: null,
        label: local,
        created: new Date().toISOString(),
        state: 'queued',
      });
      await runs.tick();
      // its launch is under way (this service claimed it): the Slurm runs held the only slot, and it waited
      const claim = join(runs.dir, '.queue', `${local}.launch`);
      expect(existsSync(claim) || existsSync(join(dir, local))).toBe(true);
    } finally {
      runs.stop();
    }
  }, 60_000);

  it('a Slurm launch queued behind a local run that waits for slots starts at once; a local run behind it still waits', async () => {
    // --max-concurrent-runs 3: a local run holds one slot; next in the queue a local run of three partitions,
    // which waits for it to end (hours, maybe); then a Slurm run, whose launch holds one slot for the seconds
    // it takes to load the model and submit it, and a local run of one partition. The Slurm run waited behind
    // the local one for as long as the first run ran; the local run behind it must not jump the queue, though
    // a slot is left for it (with 2 slots the Slurm launch filled them, and the test could not tell).
    const runs2 = join(dir, 'backfill');
    execFileSync(process.execPath, [BIN, 'run', EXAMPLE, '--duration', '0.02', '--out', join(runs2, 'running')], { stdio: 'pipe' });
    // running in this process (alive, seen here): the test's own pid and start time
    edit(join(runs2, 'running', 'status.json'), {
      state: 'running',
      heartbeat: Date.now(),
      pid: process.pid,
      processStart: processStartTime(process.pid),
    });
    rmSync(join(runs2, 'running', 'exit.json'), { force: true });
    const runs = new RunManager(runs2, 3);
    try {
      const queue = (run: string, more: Record<string, unknown>, at: number): void =>
        writeJsonAtomic(join(runs.dir, '.queue', `${run}.json`), {
          run,
          file: EXAMPLE,
          duration: 0.02,
          dt: 0.001,
          seed: null,
          label: run,
          created: new Date(Date.now() + at).toISOString(),
          state: 'queued',
          ...more,
        });
      queue('wide', { partitions: 3 }, 0);
      queue('to-slurm', { executor: 'slurm' }, 1);
      queue('narrow', {}, 2);
      await runs.tick();
      // (checked before this test lets the event loop turn: the launch under way cannot end meanwhile)
      const claimed = (run: string): boolean => existsSync(join(runs.dir, '.queue', `${run}.launch`)) || existsSync(join(runs2, run));
      expect(claimed('wide')).toBe(false);
      expect(claimed('to-slurm')).toBe(true);
      expect(claimed('narrow')).toBe(false);
      // The local run ends while the Slurm launch is under way: only that launch keeps the wide run back now, for
      // seconds, and it goes first once the launch has ended; a second Slurm run does not pass it (a stream of them
      // would hold it back for good).
      edit(join(runs2, 'running', 'status.json'), { state: 'done' });
      queue('to-slurm-2', { executor: 'slurm' }, 3);
      await runs.tick();
      expect(claimed('wide')).toBe(false);
      expect(claimed('to-slurm-2')).toBe(false);
      expect(claimed('narrow')).toBe(false);
      // the queued ones first, so that the launch's end starts none of them
      for (const run of ['wide', 'narrow', 'to-slurm-2', 'to-slurm']) await runs.cancel(run);
    } finally {
      runs.stop();
    }
  }, 60_000);
});
