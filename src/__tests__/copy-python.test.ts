import { describe, expect, it } from 'vitest';
import type { NefsimClient } from '../client/client.js';
import { pythonToCopy } from '../runs/copy-python.js';
import type { RunInfo } from '../client/protocol.js';

/** A client whose probe.list answers for the runs given, and refuses the others with the service's reason. */
function fakeClient(withData: string[], asked: string[] = []): NefsimClient {
  const request = (type: string, params: { run?: string }) => {
    if (type !== 'probe.list') return Promise.reject(new Error(`unexpected ${type}`));
    asked.push(params.run ?? '');
    if (params.run !== undefined && withData.includes(params.run)) return Promise.resolve({ type, result: { probes: [] }, arrays: [] });
    return Promise.reject(new Error(`run '${params.run ?? ''}' has no probes.h5 (it ended before it wrote any)`)); // the service's words
  };
  return { request } as unknown as NefsimClient;
}

const trial = (i: number, state: RunInfo['state'], steps: number) => ({ run: `sw/trial-00${i}`, state, steps, stepsTotal: 1000 });

describe("Copy Python's snippet, or why there is none", () => {
  it('says so, naming the batch, when none of its trials has run a step (without asking the service)', async () => {
    const asked: string[] = [];
    const batch: RunInfo = {
      run: 'sw',
      kind: 'batch',
      state: 'cancelled',
      counts: { queued: 0, running: 0, done: 0, failed: 0, cancelled: 3 },
      trials: [trial(0, 'cancelled', 0), trial(1, 'cancelled', 0), trial(2, 'cancelled', 0)],
    };
    await expect(pythonToCopy(fakeClient([], asked), batch)).rejects.toThrow(
      'sw has no data to load: none of its trials ran a step (3 trials: 3 cancelled)',
    );
    // still queued: not yet
    const queued = {
      ...batch,
      state: 'queued' as const,
      counts: { queued: 3 },
      trials: batch.trials!.map((t) => ({ ...t, state: 'queued' })),
    };
    await expect(pythonToCopy(fakeClient([], asked), queued)).rejects.toThrow(
      'sw has no data to load yet: none of its trials has run a step',
    );
    // a batch cancelled or failed before it made its folder: run.list has no trials for it
    await expect(pythonToCopy(fakeClient([], asked), { run: 'sw', kind: 'batch', state: 'cancelled', steps: 0 })).rejects.toThrow(
      'sw has no data to load: it was cancelled before it started',
    );
    await expect(pythonToCopy(fakeClient([], asked), { run: 'sw', kind: 'batch', state: 'failed', steps: 0, error: 'x' })).rejects.toThrow(
      'sw has no data to load: it failed before it started (x)',
    );
    expect(asked).toEqual([]);
  });

  it("says so when the trials that ran wrote no data (the service's reason), and copies when one did", async () => {
    const batch: RunInfo = {
      run: 'sw',
      kind: 'batch',
      state: 'failed',
      counts: { failed: 2, cancelled: 1 },
      trials: [trial(0, 'failed', 3), trial(1, 'failed', 2), trial(2, 'cancelled', 0)],
    };
    const asked: string[] = [];
    await expect(pythonToCopy(fakeClient([], asked), batch)).rejects.toThrow(
      'sw has no data to load: none of its trials has any (trial-000 has no probes.h5 (it ended before it wrote any))',
    );
    // the trials that ran a step are asked, not the others
    expect(asked).toEqual(['sw/trial-000', 'sw/trial-001']);
    const snippet = await pythonToCopy(fakeClient(['sw/trial-001']), batch, '/srv/runs');
    expect(snippet).toContain('glob.glob(glob.escape("/srv/runs/sw") + "/trial-*/probes.h5")');
  });

  it("copies a damaged batch's snippet (its trials' probes.h5 may still open): it did not fail before it started", async () => {
    // run.list's row of a damaged batch folder: no trials, zeros for its progress (stepsTotal 0, where a queue
    // record's is its duration's steps), and the service's error saying its files are left as they are
    const damaged: RunInfo = {
      run: 'sw',
      kind: 'batch',
      state: 'failed',
      time: 0,
      steps: 0,
      stepsTotal: 0,
      error: 'the run folder is damaged: its status.json is not JSON; its files are left as they are (probes.h5 may still open in h5py)',
    };
    await expect(pythonToCopy(fakeClient([]), damaged, '/srv/runs')).resolves.toContain(
      'glob.glob(glob.escape("/srv/runs/sw") + "/trial-*/probes.h5")',
    );
  });

  it("copies a single run's snippet once the service says it has data, and its refusal otherwise", async () => {
    await expect(pythonToCopy(fakeClient(['one']), { run: 'one', state: 'done' }, '/srv/runs')).resolves.toContain(
      'load("/srv/runs/one/probes.h5")',
    );
    await expect(pythonToCopy(fakeClient([]), { run: 'two', state: 'failed' })).rejects.toThrow("run 'two' has no probes.h5");
  });
});
