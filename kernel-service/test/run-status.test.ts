/**
 * How `currentStatus` judges a run folder's status.json: when a running or
 * queued run whose process is gone reads failed. The statuses are written by
 * hand; "gone" is this test's own pid with a start time that is not its own
 * (a reused pid), "alive" is this process as it is.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { currentStatus, FILES, processStartTime, type RunStatus } from '../src/runs/folder.js';

const root = mkdtempSync(join(tmpdir(), 'nefsim-status-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ownStart = processStartTime(process.pid);
let n = 0;

function folder(fields: Partial<RunStatus>): string {
  const dir = join(root, `run-${n++}`);
  const s: RunStatus = {
    state: 'running',
    time: 0.25,
    steps: 250,
    stepsTotal: 1000,
    stepsFlushed: 200,
    stepsPerSecond: 1000,
    secondsLeft: 0.75,
    pid: process.pid,
    processStart: ownStart,
    pgid: null,
    heartbeat: Date.now(),
    started: new Date().toISOString(),
    ...fields,
  };
  mkdirSync(dir);
  writeFileSync(join(dir, FILES.status), JSON.stringify(s));
  return dir;
}

describe('currentStatus', () => {
  it('needs /proc to tell a reused pid (this test relies on it)', () => {
    expect(ownStart).not.toBeNull();
  });

  const gone = { processStart: (ownStart ?? 0) + 12345 };

  it('a run running on this host whose process is gone reads failed at once, heartbeat fresh or not', () => {
    const s = currentStatus(folder({ host: hostname(), ...gone }), 60_000);
    expect(s.state).toBe('failed');
    expect(s.error).toContain(`the run process (pid ${process.pid}) is gone`);
    expect(s.error).toContain('up to the last flush (200 steps)');
    expect(s.stepsPerSecond).toBeNull();
    expect(s.secondsLeft).toBeNull();
  });

  it('a run running on this host whose process lives reads running, however old its heartbeat', () => {
    const s = currentStatus(folder({ host: hostname(), heartbeat: Date.now() - 3_600_000 }), 5000);
    expect(s.state).toBe('running');
  });

  it('on another host (a shared folder) the pid means nothing here: running until the heartbeat is stale', () => {
    expect(currentStatus(folder({ host: `${hostname()}-elsewhere`, ...gone }), 5000).state).toBe('running');
    const stale = currentStatus(folder({ host: `${hostname()}-elsewhere`, ...gone, heartbeat: Date.now() - 10_000 }), 5000);
    expect(stale.state).toBe('failed');
  });

  it('a status without a host (written by an older nefsim) keeps the heartbeat rule', () => {
    expect(currentStatus(folder({ ...gone }), 5000).state).toBe('running');
    expect(currentStatus(folder({ ...gone, heartbeat: Date.now() - 10_000 }), 5000).state).toBe('failed');
  });

  it('a queued run names its launcher: it has the staleness to start in, then reads failed', () => {
    const fresh = currentStatus(folder({ state: 'queued', host: hostname(), ...gone }), 5000);
    expect(fresh.state).toBe('queued');
    const stale = currentStatus(folder({ state: 'queued', host: hostname(), ...gone, heartbeat: Date.now() - 10_000 }), 5000);
    expect(stale.state).toBe('failed');
    expect(stale.error).toContain('it never started');
  });

  it('an ended run reads as it ended, whatever its process', () => {
    for (const state of ['done', 'failed', 'cancelled'] as const) {
      expect(currentStatus(folder({ state, host: hostname(), ...gone, heartbeat: 0 }), 5000).state).toBe(state);
    }
  });
});
