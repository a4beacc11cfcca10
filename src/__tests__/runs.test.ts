import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  panelMessage,
  parseRunList,
  progressOf,
  pythonSnippet,
  runAction,
  runDetails,
  runErrorLine,
  trialRuns,
} from '../runs/format.js';
import { fieldValue, parseRunForm } from '../runs/options.js';
import { isSpikeProbe, parseProbeList, rasterPoints, rasterWindow } from '../runs/probes.js';
import { statusText } from '../client/status-text.js';

describe('runs panel data', () => {
  it('reads run.list results and computes progress', () => {
    const runs = parseRunList({
      runs: [
        { run: 'sq-1', state: 'running', time: 2.5, duration: 5, steps: 2500, stepsTotal: 5000, stepsPerSecond: 12345.6, secondsLeft: 3 },
        { bogus: true },
      ],
    });
    expect(runs).toHaveLength(1);
    expect(progressOf(runs[0])).toBe(0.5);
    expect(runDetails(runs[0])).toBe('t = 2.50 / 5 s · 12,346 steps/s · 3.0 s left · 50%');
    expect(progressOf({ run: 'a', state: 'done' })).toBe(1);
    expect(progressOf({ run: 'a', state: 'queued' })).toBeNull();
    expect(progressOf({ run: 'a', state: 'running', steps: 250, stepsTotal: 1000 })).toBe(0.25);
    expect(progressOf({ run: 'a', state: 'running', percent: 40 })).toBe(0.4);
  });

  it('summarises batches and names their trials', () => {
    const b = {
      run: 'sw',
      state: 'running' as const,
      kind: 'batch',
      counts: { queued: 2, running: 2, done: 4, failed: 0, cancelled: 0 },
      trials: [{ run: 'sw/trial-000' }, { run: 'sw/trial-001' }, 'x'],
    };
    expect(runDetails(b)).toContain('8 trials: 2 running, 2 queued, 4 done');
    // the time of a batch is its trials' together, its duration each trial's
    expect(runDetails({ ...b, state: 'done', counts: { done: 8 }, time: 16, duration: 2 })).toBe(
      '8 trials: 8 done · 16.00 of 16 s (8 × 2 s) simulated',
    );
    expect(runDetails({ ...b, time: 0.3, duration: 0.1 })).toContain('0.30 of 0.8 s (8 × 0.1 s) simulated');
    expect(trialRuns(b)).toEqual(['sw/trial-000', 'sw/trial-001']);
    expect(trialRuns({ run: 'a', state: 'done' })).toEqual([]);
  });

  it("says why Slurm keeps a run or a batch's trials pending", () => {
    const [run] = parseRunList({
      runs: [{ run: 'big', state: 'queued', slurmPending: 'Resources', time: 0, duration: 1, steps: 0, stepsTotal: 1000 }],
    });
    // not started: no 't = 0.00 / 1 s · 0%'
    expect(runDetails(run!)).toBe('pending in Slurm: Resources');
    const batch = {
      run: 'sw',
      state: 'running' as const,
      kind: 'batch',
      counts: { queued: 3, running: 1, done: 0, failed: 0, cancelled: 0 },
      slurmPending: 'Priority (3 trials)',
    };
    expect(runDetails(batch)).toContain('4 trials: 1 running, 3 queued · pending in Slurm: Priority (3 trials)');
    // no reason (a job Slurm has not looked at yet, or a local run): nothing said
    expect(runDetails({ run: 'a', state: 'queued', queuePosition: 2 })).toBe('queued (#2)');
  });

  it('says a run, a trial or a batch cancelled before it started was, without its progress', () => {
    // as run.list reports a queue record cancelled, and a trial (run.status of its batch)
    const rec = {
      run: 'q',
      state: 'cancelled' as const,
      time: 0,
      steps: 0,
      stepsTotal: 1000,
      percent: 0,
      duration: 1,
      error: 'cancelled before it started',
    };
    // not 't = 0.00 / 1 s · 0%', and the reason once (its own line repeated the details)
    expect(runDetails(rec)).toBe('cancelled before it started');
    expect(runErrorLine(rec)).toBeNull();
    const trial = { ...rec, run: 'sw/trial-002', error: 'cancelled by scancel 41 before it started' };
    expect(runDetails(trial)).toBe('cancelled by scancel 41 before it started');
    expect(runErrorLine(trial)).toBeNull();
    // a reason that does not say when: said under the details, which say it
    const signalled = { ...rec, error: 'cancelled by SIGTERM while the model loaded' };
    expect(runDetails(signalled)).toBe('cancelled before it started');
    expect(runErrorLine(signalled)).toBe('cancelled by SIGTERM while the model loaded');
    expect(runDetails({ ...rec, error: null })).toBe('cancelled before it started');
    // a Slurm batch cancelled while its array was pending
    const batch = {
      run: 'sw',
      kind: 'batch',
      state: 'cancelled' as const,
      counts: { queued: 0, running: 0, done: 0, failed: 0, cancelled: 3 },
      time: 0,
      steps: 0,
      stepsTotal: 3000,
      duration: 1,
      error: 'cancelled by scancel 41 before it started',
    };
    expect(runDetails(batch)).toBe('3 trials: 3 cancelled · cancelled by scancel 41 before it started');
    // cancelled once it ran: its progress, and why under it
    const ran = { ...rec, time: 0.25, steps: 250, error: 'cancelled (SIGINT: Ctrl+C)' };
    expect(runDetails(ran)).toBe('t = 0.25 / 1 s · 25%');
    expect(runErrorLine(ran)).toBe('cancelled (SIGINT: Ctrl+C)');
    expect(runDetails({ ...batch, time: 1.5, steps: 1500, counts: { done: 1, cancelled: 2 } })).toBe(
      '3 trials: 1 done, 2 cancelled · 1.50 of 3 s (3 × 1 s) simulated · 50%',
    );
  });

  it('says a run or batch that failed before it ran a step did, without its progress', () => {
    // a queue record whose model did not load (run.list: steps 0 of its total)
    const rec = { run: 'f', state: 'failed' as const, time: 0, steps: 0, stepsTotal: 1000, percent: 0, duration: 1, error: 'boom' };
    expect(runDetails(rec)).toBe('failed before it ran a step');
    expect(runErrorLine(rec)).toBe('boom');
    const batch = { ...rec, run: 'sw', kind: 'batch', counts: { failed: 3 }, stepsTotal: 3000 };
    expect(runDetails(batch)).toBe('3 trials: 3 failed · failed before it ran a step');
    // one that failed on its way: where it stopped
    expect(runDetails({ ...rec, time: 0.5, steps: 500 })).toBe('t = 0.50 / 1 s · 50%');
    // a damaged folder: nothing known of its progress (run.list's zeros are not its time), its error says what
    const damaged = { run: 'd', state: 'failed' as const, time: 0, steps: 0, stepsTotal: 0, percent: 0, duration: null, error: 'damaged' };
    expect(runDetails(damaged)).toBe('');
    expect(progressOf(damaged)).toBeNull();
    expect(runErrorLine(damaged)).toBe('damaged');
  });

  it("says nothing of a queued batch's simulated time, and no empty list of trials", () => {
    // every trial pending in Slurm: the batch is queued, and had '0.00 of 3 s (3 × 1 s) simulated'
    const queued = {
      run: 'sw',
      kind: 'batch',
      state: 'queued' as const,
      counts: { queued: 3, running: 0, done: 0, failed: 0, cancelled: 0 },
      time: 0,
      duration: 1,
      steps: 0,
      stepsTotal: 3000,
      percent: 0,
      slurmPending: 'Resources (3 trials)',
    };
    expect(runDetails(queued)).toBe('3 trials: 3 queued · pending in Slurm: Resources (3 trials)');
    // queued with trials done (a Slurm array's tasks waiting their turn): what they simulated
    expect(runDetails({ ...queued, counts: { queued: 1, done: 2 }, time: 2, steps: 2000 })).toBe(
      '3 trials: 1 queued, 2 done · pending in Slurm: Resources (3 trials) · 2.00 of 3 s (3 × 1 s) simulated · 66%',
    );
    // no trials counted (none listed yet): not '0 trials: '
    expect(runDetails({ run: 'sw', kind: 'batch', state: 'running' as const, counts: {} })).toBe('0 trials');
  });

  it('says a slow rate as it is, and no time left when no step was made lately', () => {
    const r = { run: 'big', state: 'running' as const, time: 0.1, duration: 1, steps: 100, stepsTotal: 1000 };
    // a big network: not '0 steps/s'
    expect(runDetails({ ...r, stepsPerSecond: 0.432, secondsLeft: 2083 })).toBe('t = 0.10 / 1 s · 0.43 steps/s · 34 min 43 s left · 10%');
    expect(runDetails({ ...r, stepsPerSecond: 9.96, secondsLeft: 90 })).toBe('t = 0.10 / 1 s · 10 steps/s · 1 min 30 s left · 10%');
    // the service's rate is at least 1e-9: none lately (a stalled run) read '0 steps/s · 250000000 h 0 min left'
    expect(runDetails({ ...r, stepsPerSecond: 1e-9, secondsLeft: 9e11 })).toBe('t = 0.10 / 1 s · 0 steps/s · 10%');
    expect(runDetails({ ...r, stepsPerSecond: 0, secondsLeft: null })).toBe('t = 0.10 / 1 s · 0 steps/s · 10%');
  });

  it('while the service is not connected, says the list is from before and makes its actions unavailable, saying why', () => {
    const down = { state: 'disconnected' as const, detail: 'service not reachable (code 1006)' };
    const up = { state: 'connected' as const, detail: 'connected to nefsim 0.1' };
    // Cancel and Delete only failed with 'not connected', on a list that no longer said it was old
    expect(panelMessage(down, 3)).toBe(
      'Service disconnected: service not reachable (code 1006). The runs below are as they were before; ' +
        'their actions come back when the service reconnects.',
    );
    expect(panelMessage({ state: 'connecting', detail: 'connecting to ws://x' }, 1)).toContain('as they were before');
    // a detail with its own full stop gets no second one (as the status bar's: statusText)
    expect(panelMessage({ state: 'stopped', detail: 'The service refused the token.' }, 2)).toBe(
      'Service stopped: The service refused the token. The runs below are as they were before; ' +
        'their actions come back when the service reconnects.',
    );
    // nothing listed yet: no list to speak of
    expect(panelMessage(down, 0)).toBe('Service disconnected: service not reachable (code 1006)');
    expect(panelMessage(up, 3)).toBe('');
    expect(panelMessage(up, 0)).toBe('No runs yet. Press ▶ Run on a notebook with model cells.');
    const cancel = runAction('Stop the run; its data up to now is kept', false, down);
    expect(cancel.disabled).toBe(true);
    expect(cancel.title).toContain('Stop the run');
    expect(cancel.title).toContain('unavailable while the service is disconnected');
    expect(runAction('Delete the run folder', false, { state: 'stopped', detail: 'closed' }).disabled).toBe(true);
    // back on reconnect
    expect(runAction('Delete the run folder', false, up)).toEqual({ disabled: false, title: 'Delete the run folder' });
    // one under way stays disabled (no double cancel)
    expect(runAction('Delete the run folder', true, up)).toEqual({ disabled: true, title: 'Delete the run folder' });
  });

  it('formats durations', () => {
    expect(formatDuration(3.21)).toBe('3.2 s');
    expect(formatDuration(75)).toBe('1 min 15 s');
    // carried over when rounded, not '60 s', '1 min 60 s', '59 min 60 s' or '10.0 s'
    expect([59.6, 119.7, 3599.7, 7199.9, 9.96].map(formatDuration)).toEqual(['1 min 0 s', '2 min 0 s', '1 h 0 min', '2 h 0 min', '10 s']);
    expect(formatDuration(7300)).toBe('2 h 1 min');
    // days above 48 h: not '2777 h 46 min'
    expect(formatDuration(47 * 3600 + 59 * 60 + 59)).toBe('47 h 59 min');
    expect(formatDuration(48 * 3600)).toBe('2 d 0 h');
    expect(formatDuration(1e7)).toBe('115 d 17 h');
    expect(formatDuration(5e9)).toBe('57870 d 8 h');
  });

  it("writes an h5py snippet that loads the run from the service's runs folder (a batch: each trial's)", () => {
    expect(pythonSnippet({ run: 'sq-1', state: 'done', path: '/data/runs/sq-1' })).toContain('load("/data/runs/sq-1/probes.h5")');
    expect(pythonSnippet({ run: 'x', state: 'done' }, '/srv/runs')).toContain('load("/srv/runs/x/probes.h5")');
    expect(pythonSnippet({ run: 'b', state: 'done', kind: 'batch' }, '/srv/runs')).toContain(
      'glob.glob(glob.escape("/srv/runs/b") + "/trial-*/probes.h5")',
    );
  });

  it('reads probe.list results', () => {
    expect(parseProbeList({ probes: [{ name: 'sq', shape: [5000, 1] }, { label: 'a', dims: 2 }, 'b', 7] })).toEqual([
      { name: 'sq', dims: 1, label: undefined, attr: undefined, target: undefined, rows: 5000 },
      { name: 'a', dims: 2, label: 'a', attr: undefined, target: undefined },
      { name: 'b', dims: 1 },
    ]);
  });
});

describe('spike probes', () => {
  it('are told apart and drawn as rasters from post.spikes arrays', () => {
    expect(isSpikeProbe({ name: 'spikes', dims: 100, attr: 'output', target: "Neurons of Ensemble 'a'" })).toBe(true);
    expect(isSpikeProbe({ name: 'x', dims: 1, attr: 'output', target: "Node 'sin'" })).toBe(false);
    expect(isSpikeProbe({ name: 's', dims: 3, units: 'spikes' })).toBe(true);
    // the service's layout decides: a filtered neurons' probe (units mention spikes) is values
    const filtered = {
      name: 'r',
      dims: 50,
      attr: 'output',
      target: "Neurons of Ensemble 'a'",
      units: 'rate or spikes (1/dt per spike), 1/s',
    };
    expect(isSpikeProbe({ ...filtered, layout: 'dense' })).toBe(false);
    expect(isSpikeProbe({ ...filtered, layout: 'spikes' })).toBe(true);
    expect(parseProbeList({ probes: [{ name: 'r', shape: [10, 50], layout: 'dense' }] })[0]!.layout).toBe('dense');
    const n0 = { header: { name: 'n0' }, data: new Float64Array([0.01, 0.02]) };
    const n3 = { header: { name: 'n3' }, data: new Float64Array([0.015]) };
    expect(rasterPoints([n0, n3, { header: { name: 't' }, data: [1] }])).toEqual({ x: [0.01, 0.02, 0.015], y: [0, 0, 3] });
    // long runs: a bounded window of spikes
    expect(rasterWindow({ name: 's', dims: 100, rows: 800_000, sampleEvery: 0.001 })).toEqual({ t0: 0, t1: 2, clipped: true });
    expect(rasterWindow({ name: 's', dims: 100, rows: 1000, sampleEvery: 0.001 })).toEqual({ t0: 0, clipped: false });
    // sampled every 2.5 steps: 3 samples, at 3, 5 and 8 ms (t1 = 7.5 ms left the last one out): the whole probe
    expect(rasterWindow({ name: 's', dims: 100, rows: 3, sampleEvery: 0.0025, dt: 0.001 })).toEqual({ t0: 0, clipped: false });
    // sampled every half step, 3 s long: every step, so 3000 samples are 3 s, not 1.5 s shown whole
    expect(rasterWindow({ name: 's', dims: 1, rows: 3000, sampleEvery: 0.0005, dt: 0.001 })).toEqual({ t0: 0, t1: 2, clipped: true });
    expect(parseProbeList({ probes: [{ name: 's', shape: [3, 1], sampleEvery: 0.0025, dt: 0.001 }] })[0]).toMatchObject({ dt: 0.001 });
    expect(parseProbeList({ sim: 'sim1', dt: 0.002, probes: [{ name: 's', shape: [3, 1], sampleEvery: 0.001 }] })[0]).toMatchObject({
      dt: 0.002,
    });
  });
});

describe('run dialog', () => {
  it('validates the options', () => {
    expect(
      parseRunForm({ duration: '5', dt: '0.001', seed: '', partitions: '2', trials: '1', executor: 'local', label: 'squaring' }),
    ).toEqual({
      duration: 5,
      dt: 0.001,
      partitions: 2,
      trials: 1,
      executor: 'local',
      label: 'squaring',
    });
    expect(parseRunForm({ duration: '0' })).toMatch(/Duration/);
    expect(parseRunForm({ duration: '1', seed: '1.5' })).toMatch(/Seed/);
    expect(parseRunForm({ duration: '1', partitions: '0' })).toMatch(/Partitions/);
    expect(parseRunForm({ duration: '1', label: 'a b' })).toMatch(/Label/);
    expect(parseRunForm({ duration: '1', label: '-x' })).toMatch(/starts with a letter/);
    expect(parseRunForm({ duration: '1', label: 'a'.repeat(101) })).toMatch(/at most 100/);
    expect(parseRunForm({ duration: '1', jobs: '2' })).toMatch(/^Jobs is how many trials run at once: give Trials/);
    expect(parseRunForm({ duration: '1', trials: '1', jobs: '2' })).toMatch(/^Jobs is how many trials run at once/);
    expect(parseRunForm({ duration: '1', trials: '1', sweep: '[{"tau": 0.05}, {"tau": 0.1}]', jobs: '2' })).toEqual({
      duration: 1,
      sweep: [{ tau: 0.05 }, { tau: 0.1 }],
      jobs: 2,
      executor: 'local',
    });
    expect(parseRunForm({ duration: '1', dtype: 'float32' })).toEqual({ duration: 1, executor: 'local', dtype: 'float32' });
    expect(parseRunForm({ duration: '1', dtype: 'float64' })).toEqual({ duration: 1, executor: 'local' });
    expect(parseRunForm({ duration: '1', dtype: 'float16' })).toMatch(/Precision/);
    expect(parseRunForm({ duration: '1', sweep: '{"tau": 1}' })).toMatch(/array/);
    expect(parseRunForm({ duration: '1', sweep: '[1,' })).toMatch(/JSON/);
  });

  it("refuses in the dialog what the service's run.start refuses (the form as typed was lost in a notification)", () => {
    // the schema's bounds: duration <= 1e7, partitions <= 256, trials and sweep objects <= 10000
    expect(parseRunForm({ duration: '1e8' })).toMatch(/^Duration must be at most/);
    expect(parseRunForm({ duration: '1e7' })).toMatchObject({ duration: 1e7 });
    expect(parseRunForm({ duration: '1', partitions: '300' })).toMatch(/^Partitions must be an integer from 1 to 256/);
    expect(parseRunForm({ duration: '1', partitions: '256' })).toMatchObject({ partitions: 256 });
    expect(parseRunForm({ duration: '1', trials: '20000' })).toMatch(/^Trials must be an integer from 1 to 10000/);
    expect(parseRunForm({ duration: '1', sweep: JSON.stringify(Array.from({ length: 10_001 }, () => ({}))) })).toMatch(/at most 10000/);
    // runStart's own checks: dt longer than the run, too many steps, trials and a sweep
    expect(parseRunForm({ duration: '0.0005' })).toMatch(/^dt \(0.001 s\) is longer than the duration/);
    expect(parseRunForm({ duration: '0.5', dt: '0.6' })).toMatch(/longer than the duration/);
    expect(parseRunForm({ duration: '1e6', dt: '1e-300' })).toMatch(/too many steps/);
    expect(parseRunForm({ duration: '1', trials: '4', sweep: '[{"tau": 0.05}, {"tau": 0.1}]' })).toMatch(
      /^Give Trials or a Sweep, not both/,
    );
    // a single run goes to Slurm as one job (the service refused it until 2026-11-24, afternoon)
    expect(parseRunForm({ duration: '1', executor: 'slurm' })).toMatchObject({ executor: 'slurm' });
    expect(parseRunForm({ duration: '1', trials: '1', executor: 'slurm' })).toMatchObject({ executor: 'slurm' });
    expect(parseRunForm({ duration: '1', trials: '2', executor: 'slurm' })).toMatchObject({ trials: 2, executor: 'slurm' });
    expect(parseRunForm({ duration: '1', sweep: '[{}]', executor: 'slurm' })).toMatchObject({ sweep: [{}], executor: 'slurm' });
    // each trial's seed is seed + i: they must all be seeds
    expect(parseRunForm({ duration: '1', seed: '4294967295', trials: '8' })).toMatch(/^Seeds 4294967295 to 4294967302/);
    expect(parseRunForm({ duration: '1', seed: '4294967288', trials: '8' })).toMatchObject({ seed: 4294967288, trials: 8 });
  });

  it('refuses a number field holding what is not a number, instead of taking its default', () => {
    // the browser reads such an input as '': the run took the network's own seed, one trial, ...
    const form = (seed: string, bad: boolean) => parseRunForm({ duration: '1', seed: fieldValue(seed, bad) });
    expect(form('', true)).toMatch(/^Seed must be an integer/);
    expect(form('', false)).toEqual({ duration: 1, executor: 'local' });
    expect(form('7', false)).toMatchObject({ seed: 7 });
    expect(parseRunForm({ duration: '1', trials: fieldValue('', true) })).toMatch(/^Trials/);
    expect(parseRunForm({ duration: '1', partitions: fieldValue('', true) })).toMatch(/^Partitions/);
    expect(parseRunForm({ duration: fieldValue('', true) })).toMatch(/^Duration/);
    // the fields are text inputs now: what was typed reaches the parser as it is
    expect(parseRunForm({ duration: '1', seed: '1-2' })).toMatch(/^Seed must be an integer/);
    expect(parseRunForm({ duration: '1', trials: '1e' })).toMatch(/^Trials/);
    expect(parseRunForm({ duration: '1', jobs: 'two', trials: '2' })).toMatch(/^Jobs/);
  });
});

describe('status bar text', () => {
  it('says why the service is not there and when it retries', () => {
    const t = statusText({ state: 'disconnected', detail: 'service not reachable', attempt: 3, retryInMs: 4000 });
    expect(t.label).toBe('nefsim: disconnected');
    expect(t.title).toContain('service not reachable; retrying in 4 s (attempt 3)');
  });

  it("ends a detail once: no '..' after one that has its own full stop", () => {
    expect(statusText({ state: 'stopped', detail: 'The service refused the token.' }).title).toBe(
      'The service refused the token. Click to retry.',
    );
    expect(statusText({ state: 'stopped', detail: 'service stopped' }).title).toBe('service stopped. Click to retry.');
    expect(statusText({ state: 'disconnected', detail: 'Connection lost.', attempt: 1 }).title).toBe(
      'Connection lost. Click to retry now.',
    );
    // the client's disconnected status always has its retry (scheduleRetry): no '.;' before it
    expect(statusText({ state: 'disconnected', detail: 'Connection lost.', attempt: 2, retryInMs: 4000 }).title).toBe(
      'Connection lost; retrying in 4 s (attempt 2). Click to retry now.',
    );
  });
});
