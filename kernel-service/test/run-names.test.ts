/**
 * The names the service gives runs (LABEL-YYYYMMDD-HHMMSS-xxxxxx) are new: a name that a run folder or
 * a queue record already has is never given again (the random part is forced to collide here).
 * Uses the built CLI (`npm run build` first) to make a real run folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeJsonAtomic } from '../src/runs/folder.js';
import { RunManager } from '../src/server/runs.js';

const forced = vi.hoisted(() => [] as string[]);
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, randomBytes: (n: number) => (forced.length > 0 ? Buffer.from(forced.shift()!, 'hex') : real.randomBytes(n)) };
});

const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/model.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-run-names-'));
afterAll(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('run names', () => {
  it("a name a run folder or a queue record has is not given to a new run (it was: the reply was the other run's, and the new run never ran)", async () => {
    const done = 'sq-20260101-000000-aaaaaa';
    const failed = 'sq-20260101-000000-bbbbbb';
    execFileSync(process.execPath, [BIN, 'run', EXAMPLE, '--duration', '0.05', '--out', join(dir, done)], { stdio: 'pipe' });
    const record = {
      run: failed,
      file: EXAMPLE,
      duration: 0.05,
      dt: 0.001,
      seed: null,
      label: 'sq',
      created: '2026-01-01T00:00:00.000Z',
      state: 'failed',
      error: 'its own error',
    };
    const runs = new RunManager(dir, 1);
    writeJsonAtomic(join(runs.dir, '.queue', `${failed}.json`), record);
    const options = readFileSync(join(dir, done, 'options.json'), 'utf8');
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00.500Z') });
    forced.push('aaaaaa', 'bbbbbb');
    let info;
    try {
      info = await runs.submit(EXAMPLE, { duration: 0.1, dt: 0.001, seed: null, label: 'sq' });
    } finally {
      vi.useRealTimers();
      runs.stop();
    }
    expect(forced).toEqual([]);
    expect(info.run).toMatch(/^sq-20260101-000000-[0-9a-f]{6}$/);
    expect([done, failed]).not.toContain(info.run);
    expect(info.stepsTotal).toBe(100);
    // the others are as they were
    expect(readFileSync(join(dir, done, 'options.json'), 'utf8')).toBe(options);
    expect(runs.status(done)).toMatchObject({ state: 'done', steps: 50 });
    expect(runs.status(failed)).toMatchObject({ state: 'failed', error: 'its own error' });
    // the new run ends (it was never started)
    let state = '';
    for (let i = 0; i < 200 && !['done', 'failed', 'cancelled'].includes(state); i++) {
      state = runs.status(info.run).state;
      if (state !== 'done') await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('done');
  }, 60_000);
});
