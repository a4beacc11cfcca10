/**
 * The scheduler counts the slots held every second (RunManager.tick): a run or batch whose own status.json
 * says it ended holds none, and is not read further for it. Its options.json or batch.json (a sweep's can be
 * megabytes) and a batch's trials were read every second, for every ended run in the runs folder.
 * Folders written by hand; the batch module's readers are counted.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { RunManager } from '../src/server/runs.js';
import { writeJsonAtomic } from '../src/runs/folder.js';

const calls = vi.hoisted(() => ({ readPlan: 0, currentBatchStatus: 0 }));
vi.mock('../src/runs/batch.js', async (original) => {
  const real = await original<typeof import('../src/runs/batch.js')>();
  return {
    ...real,
    readPlan: (dir: string) => {
      calls.readPlan++;
      return real.readPlan(dir);
    },
    currentBatchStatus: (...args: Parameters<typeof real.currentBatchStatus>) => {
      calls.currentBatchStatus++;
      return real.currentBatchStatus(...args);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'nefsim-run-slots-ended-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run slots of ended runs', () => {
  it("an ended batch's plan and trials are not read to count the slots held", async () => {
    const batch = join(dir, 'ended-batch');
    mkdirSync(join(batch, 'trial-000'), { recursive: true });
    writeJsonAtomic(join(batch, 'batch.json'), { duration: 1, dt: 0.001, jobs: 1, trials: [{ dir: 'trial-000', seed: 1, params: null }] });
    const ended = { kind: 'batch', state: 'done', pid: 1, heartbeat: Date.now(), started: new Date().toISOString() };
    writeJsonAtomic(join(batch, 'status.json'), ended);
    const runs = new RunManager(dir, 1);
    try {
      await runs.tick();
      expect(calls).toEqual({ readPlan: 0, currentBatchStatus: 0 });
    } finally {
      runs.stop();
    }
  });
});
