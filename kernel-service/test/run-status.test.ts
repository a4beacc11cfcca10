/**
 * How `currentStatus` judges a run folder's status.json: when a running or
 * queued run whose process is gone reads failed. The statuses are written by
 * hand; "gone" is this test's own pid with a start time that is not its own
 * (a reused pid), "alive" is this process as it is.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatStatus } from '../src/cli/runs.js';
import { trialSummary, type BatchPlan } from '../src/runs/batch.js';
import {
  cancelRequested,
  currentStatus,
  FILES,
  pidNamespace,
  processStartTime,
  readExit,
  requestCancel,
  type ExitRecord,
  type RunStatus,
} from '../src/runs/folder.js';

const root = mkdtempSync(join(tmpdir(), 'nefsim-status-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ownStart = processStartTime(process.pid);
let n = 0;

/** Where this test runs: a status written here, by a process this test can see. */
const here = { host: hostname(), pidns: pidNamespace() };

function folder(fields: Partial<RunStatus>, exit?: ExitRecord): string {
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
  if (exit) writeFileSync(join(dir, FILES.exit), JSON.stringify(exit));
  return dir;
}

describe('currentStatus', () => {
  it('needs /proc to tell a reused pid and the pid namespace (this test relies on them)', () => {
    expect(ownStart).not.toBeNull();
    expect(here.pidns).toMatch(/^pid:\[\d+\]$/);
  });

  const gone = { processStart: (ownStart ?? 0) + 12345 };

  it('a run running on this host whose process is gone reads failed at once, heartbeat fresh or not', () => {
    const s = currentStatus(folder({ ...here, ...gone }), 60_000);
    expect(s.state).toBe('failed');
    expect(s.error).toContain(`the run process (pid ${process.pid}) is gone`);
    expect(s.error).toContain('up to the last flush (200 steps)');
    expect(s.stepsPerSecond).toBeNull();
    expect(s.secondsLeft).toBeNull();
  });

  it('a run running on this host whose process lives reads running, however old its heartbeat', () => {
    const s = currentStatus(folder({ ...here, heartbeat: Date.now() - 3_600_000 }), 5000);
    expect(s.state).toBe('running');
  });

  it('on another host (a shared folder) the pid means nothing here: running until the heartbeat is stale', () => {
    expect(currentStatus(folder({ host: `${hostname()}-elsewhere`, ...gone }), 5000).state).toBe('running');
    const stale = currentStatus(folder({ host: `${hostname()}-elsewhere`, ...gone, heartbeat: Date.now() - 10_000 }), 5000);
    expect(stale.state).toBe('failed');
  });

  it("in another pid namespace (a container with the host's name) the pid means nothing here either", () => {
    const other = { host: hostname(), pidns: 'pid:[1]' };
    expect(currentStatus(folder({ ...other, ...gone }), 5000).state).toBe('running');
    expect(currentStatus(folder({ ...other, ...gone, heartbeat: Date.now() - 10_000 }), 5000).state).toBe('failed');
  });

  it('a run gone after writing exit.json but not status.json (no room left for it) reads as exit.json says', () => {
    const exit: ExitRecord = {
      state: 'failed',
      exitCode: 1,
      error: 'writing probes.h5 failed: No space left on device (HDF5: H5Dwrite())',
      object: null,
      errorType: 'ProbeStoreError',
      time: 0.25,
      steps: 250,
      ended: new Date().toISOString(),
    };
    const s = currentStatus(folder({ ...here, ...gone }, exit), 5000);
    expect(s.state).toBe('failed');
    expect(s.error).toBe(exit.error);
    const done = currentStatus(folder({ ...here, ...gone }, { ...exit, state: 'done', exitCode: 0, error: null, errorType: null }), 5000);
    expect(done.state).toBe('done');
    expect(done.error).toBeUndefined();
  });

  it('a status without a host (written by an older nefsim) keeps the heartbeat rule', () => {
    expect(currentStatus(folder({ ...gone }), 5000).state).toBe('running');
    expect(currentStatus(folder({ ...gone, heartbeat: Date.now() - 10_000 }), 5000).state).toBe('failed');
  });

  it('a queued run names its launcher: it has the staleness to start in, then reads failed', () => {
    const fresh = currentStatus(folder({ state: 'queued', ...here, ...gone }), 5000);
    expect(fresh.state).toBe('queued');
    const stale = currentStatus(folder({ state: 'queued', ...here, ...gone, heartbeat: Date.now() - 10_000 }), 5000);
    expect(stale.state).toBe('failed');
    expect(stale.error).toContain('it never started');
  });

  it('an ended run reads as it ended, whatever its process', () => {
    for (const state of ['done', 'failed', 'cancelled'] as const) {
      expect(currentStatus(folder({ state, ...here, ...gone, heartbeat: 0 }), 5000).state).toBe(state);
    }
  });
});

describe('a cancel asked for through the folder (cancel.json)', () => {
  it('reads back with who asked; status shows it while the run has not seen it; a damaged file still asks', () => {
    const dir = folder({ ...here });
    expect(cancelRequested(dir)).toBeUndefined();
    expect(formatStatus(dir, currentStatus(dir))).not.toContain(FILES.cancel);
    requestCancel(dir);
    expect(cancelRequested(dir)).toBe(`a cancel request (nefsim cancel on host ${hostname()} (pid ${process.pid}))`);
    expect(formatStatus(dir, currentStatus(dir))).toContain(`waits in ${FILES.cancel}: the run has not seen it yet`);
    writeFileSync(join(dir, FILES.cancel), '{"by":');
    expect(cancelRequested(dir)).toBe('a cancel request (cancel.json)');
  });
});

describe('damaged files of a run folder', () => {
  it('a status.json that does not parse fails naming the file; an exit.json that does not parse counts as none, and status says so', () => {
    const dir = folder({ ...here, state: 'done' });
    writeFileSync(join(dir, FILES.exit), '{"state": "do');
    expect(readExit(dir)).toBeUndefined();
    expect(currentStatus(dir).state).toBe('done');
    expect(formatStatus(dir, currentStatus(dir))).toContain(`warning: ${join(dir, FILES.exit)} is damaged: not JSON (`);
    writeFileSync(join(dir, FILES.status), '');
    expect(() => currentStatus(dir)).toThrow(`${join(dir, FILES.status)} is damaged: it is empty`);
  });

  it('a status.json or exit.json that is a folder (made by hand, or a file browser) is damaged, named as such', () => {
    const dir = folder({ ...here, state: 'done' });
    mkdirSync(join(dir, FILES.exit));
    expect(readExit(dir)).toBeUndefined();
    // the warning said 'EISDIR: illegal operation on a directory, read', naming no file
    expect(formatStatus(dir, currentStatus(dir))).toContain(`warning: ${join(dir, FILES.exit)} is damaged: it is a folder, not a file`);
    rmSync(join(dir, FILES.status));
    mkdirSync(join(dir, FILES.status));
    expect(() => currentStatus(dir)).toThrow(`${join(dir, FILES.status)} is damaged: it is a folder, not a file`);
  });

  it('a status.json or exit.json that parses but lacks what readers use is damaged too, named with the field', () => {
    const dir = folder({ ...here, state: 'done' });
    const status = join(dir, FILES.status);
    const whole = JSON.parse(readFileSync(status, 'utf8')) as Record<string, unknown>;
    const cases: [string, string][] = [
      ['{}', 'its state is missing, not one of queued, running, done, failed, cancelled'],
      ['[1]', 'not a JSON object'],
      ['{"state":"running","pid":1}', 'its time is missing, not a number'],
      [JSON.stringify({ ...whole, steps: '10' }), 'its steps is "10", not a number'],
      [JSON.stringify({ ...whole, pgid: 'x' }), 'its pgid is "x", not a number'],
    ];
    for (const [text, why] of cases) {
      writeFileSync(status, text);
      expect(() => currentStatus(dir), text).toThrow(`${status} is damaged: ${why}`);
    }
    writeFileSync(status, JSON.stringify(whole));
    writeFileSync(join(dir, FILES.exit), '{"state":"running","exitCode":0}');
    expect(readExit(dir)).toBeUndefined();
    expect(formatStatus(dir, currentStatus(dir))).toContain("is damaged: its state is 'running', which is not an end");
  });

  it("a batch's trial whose status is damaged reads failed, saying so; one whose status is not written yet reads queued", () => {
    const batch = join(root, `batch-${n++}`);
    mkdirSync(batch);
    const plan = { trials: [0, 1].map((index) => ({ index, dir: `trial-00${index}`, seed: index, params: null })) } as unknown as BatchPlan;
    mkdirSync(join(batch, 'trial-000'));
    writeFileSync(join(batch, 'trial-000', FILES.options), '{}');
    writeFileSync(join(batch, 'trial-000', FILES.status), '{"state":');
    mkdirSync(join(batch, 'trial-001'));
    writeFileSync(join(batch, 'trial-001', FILES.options), '{}');
    const [damaged, making] = plan.trials.map((t) => trialSummary(batch, t));
    expect(damaged!.state).toBe('failed');
    expect(damaged!.error).toMatch(/^its folder trial-000 is gone or damaged \(.*trial-000\/status\.json is damaged: not JSON/);
    expect(making!.state).toBe('queued');
    expect(making!.error).toBeUndefined();
  });
});
