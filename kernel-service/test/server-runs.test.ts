/**
 * Runs through the real service: run.start from a session's model cells and
 * from a model file (the same as `nefsim run --detach`), run.watch to done,
 * probe data of the run (decimated min/max equal to the raw extremes), rates,
 * the concurrency limit and its queue, cancel and delete.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_GLOBALS } from '../src/server/runs.js';
import { BIN, cleanup, Client, MODEL_FILE, SQUARING_CELLS, startService, type Event, type Running } from './server-harness.js';

let svc: Running;
let c: Client;
let session: string;

beforeAll(async () => {
  svc = await startService(['--max-concurrent-runs', '1']);
  c = await Client.connect(svc);
  session = (await c.request('session.open', { label: 'runs' })).result!.session as string;
  for (const [i, code] of SQUARING_CELLS.entries())
    expect((await c.request('cell.execute', { session, code, cell: `sq${i}` })).ok).toBe(true);
  // Not a model cell: it must not end up in the run.
  expect((await c.request('cell.execute', { session, code: 'simulate(model, 0.1)', cell: 'plot', model: false })).ok).toBe(true);
  writeFileSync(join(svc.dir, 'model.mjs'), MODEL_FILE);
});

afterAll(async () => {
  for (const r of ((await c.request('run.list')).result!.runs as { run: string; state: string }[]) ?? []) {
    if (r.state === 'running' || r.state === 'queued') await c.request('run.cancel', { run: r.run });
  }
  c?.close();
  await svc?.stop();
  cleanup(svc.dir);
});

/** The run (labelled `label`) of MODEL_FILE with `probes` in place of its probe of sq, once it has ended. */
async function finishedRunWithProbes(label: string, probes: string, duration: number, dt: number): Promise<string> {
  const file = join(svc.dir, `${label}.mjs`);
  writeFileSync(file, MODEL_FILE.replace("net.probe(sq, { synapse: 0.01, label: 'sq' });", probes));
  const r = await c.request('run.start', { file, duration, dt, label });
  expect(r.ok, JSON.stringify(r.error)).toBe(true);
  const run = r.result!.run as string;
  await watchToEnd(run);
  return run;
}

async function watchToEnd(run: string): Promise<Event[]> {
  const w = await c.request('run.watch', { run });
  expect(w.ok, JSON.stringify(w.error)).toBe(true);
  if (w.result!.final) return [];
  const sub = w.result!.sub as string;
  await c.waitEvent((e) => e.event === 'run.progress' && e.sub === sub && e.final === true, 50_000);
  return c.allEvents.filter((e) => e.sub === sub);
}

describe('runs', () => {
  let run: string;

  it("starts a run from the session's model cells and watches it to done", async () => {
    const r = await c.request('run.start', { session, duration: 2, dt: 0.001, seed: 3, label: 'sq' });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    run = r.result!.run as string;
    expect(run).toMatch(/^sq-/);
    expect(['queued', 'running', 'done']).toContain(r.result!.state);
    const events = await watchToEnd(run);
    const last = events[events.length - 1]!;
    expect(last.status).toMatchObject({ state: 'done', steps: 2000, stepsTotal: 2000, percent: 100, seed: 3, duration: 2 });
    expect(existsSync(join(svc.runsDir, run, 'probes.h5'))).toBe(true);
    const list = await c.request('run.list');
    expect((list.result!.runs as { run: string }[]).map((x) => x.run)).toContain(run);
  });

  it('lists the probes of the run and fetches decimated data whose min/max equal the raw ones', async () => {
    const p = await c.request('probe.list', { run });
    expect(p.ok, JSON.stringify(p.error)).toBe(true);
    const probes = p.result!.probes as { name: string }[];
    expect(probes).toHaveLength(2);
    expect(probes.map((x) => x.name)).toEqual(['sq', 'spikes']); // the model's order (HDF5 lists them sorted)
    expect(probes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'sq', shape: [2000, 1] }),
        expect.objectContaining({ name: 'spikes', shape: [2000, 100] }),
      ]),
    );
    const raw = await c.request('probe.fetch', { run, probe: 'sq', mode: 'raw' });
    const y = raw.arrays.get('y')!.data as Float64Array;
    const t = raw.arrays.get('t')!.data as Float64Array;
    expect(y.length).toBe(2000);
    expect(t[0]).toBeCloseTo(0.001, 12);
    expect(t[1999]).toBeCloseTo(2, 12);
    const dec = await c.request('probe.fetch', { run, probe: 'sq', maxPoints: 200 });
    expect(dec.result).toMatchObject({ mode: 'minmax', buckets: 100, rows: 2000 });
    const min = dec.arrays.get('min')!.data as Float64Array;
    const max = dec.arrays.get('max')!.data as Float64Array;
    expect(Math.min(...min)).toBe(Math.min(...y));
    expect(Math.max(...max)).toBe(Math.max(...y));
    for (let b = 0; b < 100; b++) {
      const seg = y.subarray(b * 20, (b + 1) * 20);
      expect(min[b]).toBe(Math.min(...seg));
      expect(max[b]).toBe(Math.max(...seg));
    }
    const win = await c.request('probe.fetch', { run, probe: 'spikes', t0: 1, t1: 1.5, columns: [10, 20], mode: 'raw' });
    expect(win.arrays.get('y')!.header.shape).toEqual([501, 10]);
    // windows that select nothing, or past the data, are refused naming the field (not answered with no rows)
    for (const [w, msg] of [
      [{ t0: 1.5, t1: 1 }, 't0 (1.5 s) is after t1 (1 s)'],
      [{ t0: 10, t1: 20 }, "t0 (10 s) is after the probe's last sample (2 s)"],
      [{ columns: [20, 10] }, 'columns [20, 10) is empty: give [from, to) with from < to'],
      [{ columns: [50, 120] }, "columns [50, 120) go past the probe's 100 columns"],
    ] as const) {
      const r = await c.request('probe.fetch', { run, probe: 'spikes', ...w });
      expect(r.error, JSON.stringify(w)).toMatchObject({ code: 'invalid_params', message: msg });
    }
    expect((await c.request('post.spikes', { run, probe: 'spikes', neurons: [0], t0: 1.5, t1: 1 })).error!.code).toBe('invalid_params');
    const rates = await c.request('post.rates', { run, probe: 'spikes' });
    expect((rates.result!.meanRates as number[]).length).toBe(100);
    // an ensemble's decoded value is refused naming the probe (its mean was answered as a firing rate)
    expect((await c.request('post.rates', { run, probe: 'sq' })).error).toMatchObject({
      code: 'invalid_params',
      message:
        "probe 'sq' records decodedOutput, not spikes or rates: post.rates takes a probe of neurons' output (net.probe(ensemble.neurons))",
    });
    const rmse = await c.request('post.rmse', { run, probe: 'sq', target: { probe: 'sq' } });
    expect(rmse.result!.overall).toBe(0);
    const vsFn = await c.request('post.rmse', { run, session, probe: 'sq', target: { fn: '(t) => Math.sin(t - 0.015) ** 2' }, from: 0.1 });
    expect(vsFn.ok, JSON.stringify(vsFn.error)).toBe(true);
    expect(vsFn.result!.overall as number).toBeLessThan(0.1);
    expect(vsFn.result!.samples).toBe(1901);
    const tc = await c.request('post.tuning', { session, run, ensemble: 'a', points: 11 });
    expect(tc.ok, JSON.stringify(tc.error)).toBe(true);
    expect(tc.arrays.get('rates')!.header.shape).toEqual([11, 100]);
    const curves = tc.arrays.get('rates')!.data as Float64Array;
    const peak = Math.max(...curves);
    expect(peak).toBeGreaterThan(200);
    expect(peak).toBeLessThan(400.0001);
  });

  it('a window between two samples of a probe whose sample times are not (i + 1) * sample_every is empty, not past its end', async () => {
    // sampled every step (sample_every under dt) and every 7 steps from step 8 (0.07 / 0.01 is a hair over 7):
    // the last sample is at 1 s and 0.99 s, not at rows * sample_every (0.4 s and 0.98 s)
    const run = await finishedRunWithProbes(
      'odd-times',
      "net.probe(stim, { label: 'fast', sampleEvery: 0.004 }); net.probe(stim, { label: 'late', sampleEvery: 0.07 });",
      1,
      0.01,
    );
    for (const [probe, t0, t1, last] of [
      ['fast', 0.501, 0.509, 1],
      ['late', 0.981, 0.989, 0.99],
    ] as const) {
      const w = await c.request('probe.fetch', { run, probe, t0, t1, mode: 'raw' });
      expect(w.error, probe).toBeUndefined();
      expect(w.result, probe).toMatchObject({ rows: 0 });
      const past = await c.request('probe.fetch', { run, probe, t0: 1.5 });
      expect(past.error, probe).toMatchObject({
        code: 'invalid_params',
        message: `t0 (1.5 s) is after the probe's last sample (${last} s)`,
      });
    }
    expect((await c.request('run.delete', { run })).ok).toBe(true);
  });

  it("post.rates filters a spike probe sampled under dt at its samples' spacing, one step, as the same probe sampled every step", async () => {
    const run = await finishedRunWithProbes(
      'sub-dt-spikes',
      "net.probe(a.neurons, { label: 'every' }); net.probe(a.neurons, { label: 'half', sampleEvery: 0.0005 });",
      0.5,
      0.001,
    );
    const [every, half] = await Promise.all(['every', 'half'].map((probe) => c.request('post.rates', { run, probe, tau: 0.02 })));
    expect(half!.error).toBeUndefined();
    expect(half!.result!.meanRates).toEqual(every!.result!.meanRates);
    // filtered with a step of sample_every (0.5 ms), the rates rose and fell at half their pace
    for (const a of ['tStart', 'min', 'max'])
      expect(worstDifference(half!.arrays.get(a)!.data, every!.arrays.get(a)!.data), a).toBeLessThan(1e-9);
    expect((await c.request('run.delete', { run })).ok).toBe(true);
  });

  it('tuning curves of a run whose model imports the engine by its path, or by a file: URL', async () => {
    const engine = join(dirname(BIN), '..', 'lib', 'index.js');
    for (const [name, spec] of [
      ['by-path', engine],
      ['by-url', `file://${engine}`],
    ] as const) {
      const file = join(svc.dir, `${name}.mjs`);
      writeFileSync(file, MODEL_FILE.replace("from 'nefsim'", `from '${spec}'`));
      const r = await c.request('run.start', { file, duration: 0.05, label: name });
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      await watchToEnd(r.result!.run as string);
      const tc = await c.request('post.tuning', { session, run: r.result!.run, ensemble: 'a', points: 5 });
      expect(tc.ok, `${name}: ${JSON.stringify(tc.error)}`).toBe(true);
      expect(tc.arrays.get('rates')!.header.shape).toEqual([5, 100]);
    }
    // a module of the user's by its path: found; once it is gone, the message names the files, not a data: URL
    const helper = join(svc.dir, 'helper.mjs');
    writeFileSync(helper, 'export const N = 100;\n');
    const file = join(svc.dir, 'with-helper.mjs');
    writeFileSync(
      file,
      `import { N } from '${helper}';\n` +
        MODEL_FILE.replace("nNeurons: 100, dimensions: 1, label: 'a'", "nNeurons: N, dimensions: 1, label: 'a'"),
    );
    const r = await c.request('run.start', { file, duration: 0.05, label: 'helper' });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    await watchToEnd(r.result!.run as string);
    expect((await c.request('post.tuning', { session, run: r.result!.run, ensemble: 'a', points: 5 })).ok).toBe(true);
    rmSync(helper);
    // (a session keeps the modules it has imported: a new one looks for the file)
    const fresh = (await c.request('session.open', { label: 'fresh' })).result!.session as string;
    const gone = await c.request('post.tuning', { session: fresh, run: r.result!.run, ensemble: 'a', points: 5 });
    expect(gone.ok).toBe(false);
    expect(gone.error!.message).toContain('helper.mjs');
    expect(gone.error!.message).toContain(join(svc.runsDir, r.result!.run as string, 'model.mjs'));
    expect(gone.error!.message).not.toContain('data:');
  });

  it('runs a model file; queues runs past the concurrency limit', async () => {
    const file = join(svc.dir, 'model.mjs');
    const a = await c.request('run.start', { file, duration: 3000, label: 'long' });
    expect(a.ok, JSON.stringify(a.error)).toBe(true);
    const b = await c.request('run.start', { file, duration: 0.5, label: 'next' });
    expect(b.result).toMatchObject({ state: 'queued', queuePosition: 1 });
    const cancelled = await c.request('run.cancel', { run: a.result!.run });
    expect(cancelled.ok, JSON.stringify(cancelled.error)).toBe(true);
    expect(cancelled.result!.state).toBe('cancelled');
    // The queued run starts when the slot frees, and finishes.
    const events = await watchToEnd(b.result!.run as string);
    expect(events.length === 0 || events[events.length - 1]!.status).toBeTruthy();
    expect((await c.request('run.status', { run: b.result!.run })).result!.state).toBe('done');
  });

  it('cancels a queued run without starting it, refuses to delete a running run, deletes finished ones', async () => {
    const file = join(svc.dir, 'model.mjs');
    const a = await c.request('run.start', { file, duration: 600 });
    const run1 = a.result!.run as string;
    const q = await c.request('run.start', { file, duration: 1 });
    const run2 = q.result!.run as string;
    expect(q.result!.state).toBe('queued');
    expect((await c.request('run.cancel', { run: run2 })).result!.state).toBe('cancelled');
    // Wait until the first run really runs, then try to delete it.
    for (let i = 0; i < 100 && (await c.request('run.status', { run: run1 })).result!.state !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await c.request('run.delete', { run: run1 })).error!.code).toBe('conflict');
    expect((await c.request('run.cancel', { run: run1 })).result!.state).toBe('cancelled');
    // A second cancel, of a run that has ended or of a queued run already cancelled, answers with its state
    // (as `nefsim cancel` says "already cancelled" and exits 0): a Cancel clicked as the run ends is no error.
    for (const run of [run1, run2]) {
      const again = await c.request('run.cancel', { run });
      expect(again.ok, JSON.stringify(again.error)).toBe(true);
      expect(again.result!.state).toBe('cancelled');
    }
    expect((await c.request('run.delete', { run: run1 })).result).toMatchObject({ deleted: true });
    expect((await c.request('run.delete', { run: run2 })).result).toMatchObject({ deleted: true });
    expect(existsSync(join(svc.runsDir, run1))).toBe(false);
    expect((await c.request('run.status', { run: run1 })).error!.code).toBe('not_found');
  });

  it('runs trials as a batch (per-trial status and data) and partitioned runs', async () => {
    const file = join(svc.dir, 'model.mjs');
    const b = await c.request('run.start', { file, duration: 0.3, trials: 2, seed: 5, jobs: 2, label: 'trials' });
    expect(b.ok, JSON.stringify(b.error)).toBe(true);
    const batch = b.result!.run as string;
    await watchToEnd(batch);
    const s = (await c.request('run.status', { run: batch })).result!;
    expect(s).toMatchObject({ kind: 'batch', state: 'done', counts: { done: 2 } });
    const trials = s.trials as { run: string; seed: number; state: string }[];
    expect(trials.map((t) => [t.run, t.seed, t.state])).toEqual([
      [`${batch}/trial-000`, 5, 'done'],
      [`${batch}/trial-001`, 6, 'done'],
    ]);
    const d0 = await c.request('probe.fetch', { run: trials[0]!.run, probe: 'sq', mode: 'raw' });
    const d1 = await c.request('probe.fetch', { run: trials[1]!.run, probe: 'sq', mode: 'raw' });
    expect(d0.ok, JSON.stringify(d0.error)).toBe(true);
    expect(d0.result!.rows).toBe(300);
    expect(Array.from(d0.arrays.get('y')!.data)).not.toEqual(Array.from(d1.arrays.get('y')!.data));
    expect((await c.request('probe.fetch', { run: batch, probe: 'sq' })).error!.code).toBe('conflict');
    const p = await c.request('run.start', { file, duration: 0.3, seed: 5, partitions: 2, label: 'parts' });
    expect(p.ok, JSON.stringify(p.error)).toBe(true);
    await watchToEnd(p.result!.run as string);
    const dp = await c.request('probe.fetch', { run: p.result!.run, probe: 'sq', mode: 'raw' });
    // Partitioned runs give the same data as a single thread.
    expect(Array.from(dp.arrays.get('y')!.data)).toEqual(Array.from(d0.arrays.get('y')!.data));
    // Single precision: recorded in the run's options, close to float64 but not the same bits.
    const f = await c.request('run.start', { file, duration: 0.3, seed: 5, dtype: 'float32', label: 'f32' });
    expect(f.ok, JSON.stringify(f.error)).toBe(true);
    await watchToEnd(f.result!.run as string);
    const opts = JSON.parse(readFileSync(join(svc.runsDir, f.result!.run as string, 'options.json'), 'utf8')) as { dtype?: string };
    expect(opts.dtype).toBe('float32');
    const df = Array.from((await c.request('probe.fetch', { run: f.result!.run, probe: 'sq', mode: 'raw' })).arrays.get('y')!.data);
    const d64 = Array.from(d0.arrays.get('y')!.data);
    expect(df).not.toEqual(d64);
    expect(Math.max(...df.map((v, i) => Math.abs(v - d64[i]!)))).toBeLessThan(0.05);
    expect((await c.request('run.start', { file, duration: 0.3, dtype: 'float16' })).error!.code).toBe('invalid_params');
    expect((await c.request('run.delete', { run: batch })).result).toMatchObject({ deleted: true });
  });

  it('reports model errors and unsupported options clearly', async () => {
    const bad = join(svc.dir, 'bad.mjs');
    writeFileSync(bad, "import { Network } from 'nefsim';\nexport default () => {\n  const n = new Network(;\n};\n");
    const r = await c.request('run.start', { file: bad, duration: 1 });
    expect(r.error!.code).toBe('model_error');
    expect(r.error!.message).toContain('bad.mjs:3');
    expect((await c.request('run.start', { file: join(svc.dir, 'missing.mjs'), duration: 1 })).error!.code).toBe('not_found');
    expect((await c.request('run.start', { session, duration: 1, trials: 2, sweep: [{}] })).error!.code).toBe('invalid_params');
    expect((await c.request('run.start', { duration: 1 })).error!.code).toBe('invalid_params');
    const empty = (await c.request('session.open', {})).result!.session;
    expect((await c.request('run.start', { session: empty, duration: 1 })).error!.code).toBe('conflict');
    // a run name starts with a letter, digit or _: so must a label, given or made from a file's name
    expect((await c.request('run.start', { session, duration: 0.05, label: '-x' })).error!.code).toBe('invalid_params');
    const dash = join(svc.dir, '-dash.mjs');
    writeFileSync(dash, MODEL_FILE);
    const d = await c.request('run.start', { file: dash, duration: 0.05 });
    expect(d.ok, JSON.stringify(d.error)).toBe(true);
    expect(d.result!.run).toMatch(/^dash-/);
    await watchToEnd(d.result!.run as string);
    expect((await c.request('run.status', { run: d.result!.run })).result!.state).toBe('done');
    // a refused start leaves no generated file behind
    const sweep = Array.from({ length: 3 }, (_, i) => ({ n: i }));
    expect((await c.request('run.start', { file: join(svc.dir, 'missing.mjs'), duration: 1, sweep })).error!.code).toBe('not_found');
    expect(readdirSync(join(svc.runsDir, '.sources')).filter((f) => f.startsWith('sweep-'))).toEqual([]);
  });

  it('a client watches at most 64 runs at once', async () => {
    const r = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 1000, label: 'watched' });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const run = r.result!.run as string;
    const subs: string[] = [];
    for (let i = 0; i < 64; i++) {
      const w = await c.request('run.watch', { run });
      expect(w.ok, JSON.stringify(w.error)).toBe(true);
      subs.push(w.result!.sub as string);
    }
    expect((await c.request('run.watch', { run })).error!.code).toBe('limit');
    for (const sub of subs) await c.request('run.unwatch', { sub });
    expect((await c.request('run.watch', { run })).ok).toBe(true);
    expect((await c.request('run.cancel', { run })).ok).toBe(true);
  });

  it("a finished run's probe too large to keep decoded is read window by window (spikes of 2,000 neurons, 30 s)", async () => {
    const big = join(svc.dir, 'big-spikes.mjs');
    writeFileSync(
      big,
      `import { Network } from 'nefsim';
export default function () {
  const net = new Network({ label: 'big', seed: 1 });
  const a = net.ensemble({ nNeurons: 2000, dimensions: 1, label: 'a' });
  net.probe(a.neurons, { label: 'spikes' });
  return net;
}
`,
    );
    const r = await c.request('run.start', { file: big, duration: 30 });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const run = r.result!.run as string;
    await watchToEnd(run);
    expect((await c.request('run.status', { run })).result!.state).toBe('done');
    // 30,000 x 2,000 samples as a dense view: 480 MB, past what is kept; a window is 501 x 10
    const win = await c.request('probe.fetch', { run, probe: 'spikes', t0: 0.5, t1: 1, columns: [0, 10], mode: 'raw' });
    expect(win.ok, JSON.stringify(win.error)).toBe(true);
    expect(win.arrays.get('y')!.header.shape).toEqual([501, 10]);
    const sp = await c.request('post.spikes', { run, probe: 'spikes', t0: 0.5, t1: 1, neurons: [0, 1] });
    expect(sp.ok, JSON.stringify(sp.error)).toBe(true);
  });

  it("run.start with cells runs exactly the notebook's model cells, in its order (not a cell run since deleted)", async () => {
    const s = (await c.request('session.open', { label: 'cells' })).result!.session as string;
    for (const [i, code] of SQUARING_CELLS.entries())
      expect((await c.request('cell.execute', { session: s, code, cell: `k${i}` })).ok).toBe(true);
    // a model cell the notebook has since deleted: included, it would leave no Network in `model`
    expect((await c.request('cell.execute', { session: s, code: 'model = null;', cell: 'deleted' })).ok).toBe(true);
    const ids = SQUARING_CELLS.map((_, i) => `k${i}`);
    const missing = await c.request('run.start', { session: s, duration: 0.05, cells: [...ids, 'never-run'] });
    expect(missing.error).toMatchObject({ code: 'conflict' });
    expect(missing.error!.message).toContain('never-run');
    const r = await c.request('run.start', { session: s, duration: 0.05, cells: ids });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    await watchToEnd(r.result!.run as string);
    expect((await c.request('run.status', { run: r.result!.run })).result!.state).toBe('done');
    // without cells, every cell the session ran: the deleted one too
    expect((await c.request('run.start', { session: s, duration: 0.05 })).error!.code).toBe('model_error');
  });

  it("a sweep of a session's model cells gives each trial its parameters as `params` (it ran the session's model each time)", async () => {
    const s = (await c.request('session.open', { label: 'swept' })).result!.session as string;
    const cells = [
      'const n = params.n ?? 50;',
      "const net = new Network({ label: 'swept', seed: 0 });\nconst e = net.ensemble({ nNeurons: n, dimensions: 1, label: 'e' });\nnet.probe(e);\nmodel = net;",
    ];
    for (const [i, code] of cells.entries()) expect((await c.request('cell.execute', { session: s, code, cell: `w${i}` })).ok).toBe(true);
    // in the session, params is {}: the default applies
    expect((await c.request('cell.execute', { session: s, code: 'n', cell: 'w-n', model: false })).result!.value).toEqual({
      'text/plain': '50',
    });
    const r = await c.request('run.start', { session: s, duration: 0.01, sweep: [{ n: 10 }, { n: 20 }] });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const run = r.result!.run as string;
    await watchToEnd(run);
    for (const [t, n] of [
      ['trial-000', 10],
      ['trial-001', 20],
    ] as const) {
      expect(readFileSync(join(svc.runsDir, run, t, 'log.txt'), 'utf8')).toContain(`built 'swept' (seed 0): ${n} neurons`);
      // post.tuning of a trial builds its model with its parameters (it built the session's default)
      const tc = await c.request('post.tuning', { session: s, run: `${run}/${t}`, ensemble: 'e', points: 5 });
      expect(tc.ok, JSON.stringify(tc.error)).toBe(true);
      expect(tc.result!.neurons).toBe(n);
    }
    // a model cell that declares params would assign over every trial's: refused for a sweep
    expect((await c.request('cell.execute', { session: s, code: 'const params = { n: 5 };', cell: 'w-p' })).ok).toBe(true);
    const refused = await c.request('run.start', { session: s, duration: 0.01, sweep: [{ n: 10 }] });
    expect(refused.error?.code).toBe('invalid_params');
    expect(refused.error!.message).toContain("model cell 3 declares 'params', where a sweep gives each trial its parameters");
  });

  it("model cells that call the session's own functions (plotTuning, plotXY, display, buildSummary, post.*) run in a run too", async () => {
    const s = (await c.request('session.open', { label: 'plots' })).result!.session as string;
    const cells = [
      ...SQUARING_CELLS,
      "plotTuning(a, { points: 5 });\nconst sim = simulate(model, 0.02);\nplotXY(sim, 'sq', { dims: [0, 0] });\ndisplay(buildSummary(model).neurons);",
      // post-processing of the inline simulation in a model cell: inert in a run (sim.data(p) was null there)
      'const d = sim.data(p);\nconst f = post.filterSeries(d.column(0), d.rows, 1, 0.001, 0.01);\nlet peak = 0;\nfor (let i = 0; i < f.length; i++) peak = Math.max(peak, f[i]);\nfor (const v of f) peak += 0 * v;\npeak < 10',
    ];
    for (const [i, code] of cells.entries()) {
      const x = await c.request('cell.execute', { session: s, code, cell: `g${i}` });
      expect(x.ok, JSON.stringify(x.error)).toBe(true);
    }
    const r = await c.request('run.start', { session: s, duration: 0.05 });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    await watchToEnd(r.result!.run as string);
    expect((await c.request('run.status', { run: r.result!.run })).result!.state).toBe('done');
    // every name a session defines besides the API is defined in a run's module: the list is the hello's too
    const names = await c.request('cell.execute', {
      session: s,
      code: `[${SESSION_GLOBALS.map((n) => `typeof ${n}`).join(', ')}].join(' ')`,
      cell: 'names',
    });
    const types = String(names.result!.value!['text/plain']);
    expect(types.split(' ')).toHaveLength(SESSION_GLOBALS.length);
    expect(types).not.toContain('undefined');
  });

  it('a run of model cells that fails to load names the cell and its line (the generated module it named is deleted)', async () => {
    const s = (await c.request('session.open', { label: 'fails' })).result!.session as string;
    const cells = [
      'const net = new Network({ label: "fails" });',
      // works in the session, throws in a run (where simulate() is skipped)
      'const e = net.ensemble({ nNeurons: 10, dimensions: 1 });\nif (simulate(net, 0.01).skipped) throw new Error("only in runs");\nmodel = net;',
    ];
    for (const [i, code] of cells.entries()) {
      const x = await c.request('cell.execute', { session: s, code, cell: `f${i}` });
      expect(x.ok, JSON.stringify(x.error)).toBe(true);
    }
    const r = await c.request('run.start', { session: s, duration: 0.05 });
    expect(r.error!.code).toBe('model_error');
    expect(r.error!.message).toContain('only in runs');
    expect(r.error!.message).toContain('model cell 2, line 2');
    expect(r.error!.message).not.toContain('.sources');
  });

  it('a cell that assigns without declaring (as sessions allow) gives a run that builds', async () => {
    const s = (await c.request('session.open', { label: 'sloppy' })).result!.session as string;
    const cells = [
      'net = new Network({ label: "sloppy", seed: 1 });',
      'a = net.ensemble({ nNeurons: 20, dimensions: 1, label: "a" }), b = net.ensemble({ nNeurons: 20, dimensions: 1, label: "b" }); net.connect(a, b); net.probe(b, { synapse: 0.01, label: "b" }); model = net;',
    ];
    for (const [i, code] of cells.entries()) expect((await c.request('cell.execute', { session: s, code, cell: `s${i}` })).ok).toBe(true);
    const r = await c.request('run.start', { session: s, duration: 0.05 });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    await watchToEnd(r.result!.run as string);
    expect((await c.request('run.status', { run: r.result!.run })).result!.state).toBe('done');
  });

  it('run.cancel while the run is being launched (its model loading) stops the launch: the run is cancelled and never starts', async () => {
    const slow = join(svc.dir, 'slow.mjs');
    // two seconds of loading, in the launcher's check and again in the run
    writeFileSync(
      slow,
      MODEL_FILE.replace(
        "import { Network } from 'nefsim';",
        "import { Network } from 'nefsim';\nconst until = Date.now() + 2000; while (Date.now() < until);",
      ),
    );
    // run.start answers once the launch is over: meanwhile the run is listed, queued, without a folder
    const started = c.request('run.start', { file: slow, duration: 1000, label: 'slowload' });
    let run = '';
    for (let i = 0; i < 100 && !run; i++) {
      await new Promise((res) => setTimeout(res, 50));
      const runs = (await c.request('run.list')).result!.runs as { run: string }[];
      run = runs.find((x) => x.run.startsWith('slowload-'))?.run ?? '';
    }
    expect(run).not.toBe('');
    expect(existsSync(join(svc.runsDir, run))).toBe(false);
    // the cancel stops `nefsim run` while it loads the model (a launcher that had already started the run
    // would have it cancelled once it exists); a delete sent with it is refused while the launch ends (it
    // deleted the record, and the launch then recorded the run again, as failed)
    const [cancelled, deleted] = await Promise.all([c.request('run.cancel', { run }), c.request('run.delete', { run })]);
    expect(deleted.error?.code).toBe('conflict');
    expect(deleted.error!.message).toContain('is being started: cancel it');
    expect(cancelled.ok, JSON.stringify(cancelled.error)).toBe(true);
    expect(cancelled.result!.state).toBe('cancelled');
    await started;
    expect((await c.request('run.status', { run })).result!.state).toBe('cancelled');
    expect(existsSync(join(svc.runsDir, run))).toBe(false);
    expect((await c.request('run.delete', { run })).result).toMatchObject({ deleted: true });
    expect((await c.request('run.status', { run })).error!.code).toBe('not_found');
  });

  it('jobs without trials or a sweep is refused before anything is queued', async () => {
    const r = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.1, jobs: 2, label: 'jobsalone' });
    expect(r.error).toMatchObject({ code: 'invalid_params' });
    expect(r.error!.message).toContain('jobs is how many trials run at once');
    const runs = (await c.request('run.list')).result!.runs as { run: string }[];
    expect(runs.some((x) => x.run.startsWith('jobsalone'))).toBe(false);
  });

  it('a launch whose nefsim run is killed (the OOM killer) says so, not that it exited with code 1', async () => {
    const hang = join(svc.dir, 'hang-killed.mjs');
    writeFileSync(hang, 'await new Promise(() => setInterval(() => {}, 1000));\nexport default null;\n');
    const started = c.request('run.start', { file: hang, duration: 1, label: 'killed' }, 60_000);
    // its `nefsim run`, found by the folder it is to make
    let pid = 0;
    for (let i = 0; i < 200 && pid === 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
      for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        } catch {
          continue; // gone
        }
        if (cmd.includes(hang) && cmd.includes(`${svc.runsDir}/killed-`)) pid = Number(p);
      }
    }
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const r = await started;
    expect(r.error).toMatchObject({
      code: 'model_error',
      message: expect.stringMatching(/^nefsim run was ended by SIGKILL before it started the run/) as unknown as string,
    });
    expect((await c.request('run.status', { run: r.error!.details!.run })).result!.error).toMatch(/ended by SIGKILL/);
    expect((await c.request('run.delete', { run: r.error!.details!.run })).ok).toBe(true);
  });

  it('a model that never loads holds only its own slot, and run.cancel stops its launch at once', async () => {
    const s2 = await startService(['--max-concurrent-runs', '2']);
    const c2 = await Client.connect(s2);
    try {
      const hang = join(s2.dir, 'hang.mjs');
      writeFileSync(hang, 'setInterval(() => {}, 1000);\nawait new Promise(() => {});\nexport default null;\n');
      const good = join(s2.dir, 'good.mjs');
      writeFileSync(good, MODEL_FILE);
      const started = c2.request('run.start', { file: hang, duration: 1, label: 'hang' }, 60_000);
      let hung = '';
      for (let i = 0; i < 100 && !hung; i++) {
        await new Promise((res) => setTimeout(res, 50));
        hung = ((await c2.request('run.list')).result!.runs as { run: string }[]).find((x) => x.run.startsWith('hang-'))?.run ?? '';
      }
      expect(hung).not.toBe('');
      // the other slot is free: a good run starts and ends while the first is still loading (its launch
      // waited for the hanging one's time limit, 120 s, before)
      const ok = await c2.request('run.start', { file: good, duration: 0.1, label: 'good' }, 60_000);
      expect(ok.ok, JSON.stringify(ok.error)).toBe(true);
      const run = ok.result!.run as string;
      for (let i = 0; i < 200 && (await c2.request('run.status', { run })).result!.state !== 'done'; i++)
        await new Promise((res) => setTimeout(res, 100));
      expect((await c2.request('run.status', { run })).result!.state).toBe('done');
      expect((await c2.request('run.status', { run: hung })).result!.state).toBe('queued');
      // cancel stops the launcher (it waited for the launch's time limit too)
      const cancelled = await c2.request('run.cancel', { run: hung }, 20_000);
      expect(cancelled.result!.state).toBe('cancelled');
      expect((await started).result?.state).toBe('cancelled');
      expect(existsSync(join(s2.runsDir, hung))).toBe(false);
    } finally {
      c2.close();
      await s2.stop();
      cleanup(s2.dir);
    }
  }, 90_000);

  it('a damaged batch folder is listed as failed saying what is wrong, and it can be deleted; a damaged exit.json hides nothing', async () => {
    const b = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.05, trials: 2, label: 'intact-batch' });
    expect(b.ok, JSON.stringify(b.error)).toBe(true);
    const intact = b.result!.run as string;
    await watchToEnd(intact);
    const src = join(svc.runsDir, intact);
    const plan = JSON.parse(readFileSync(join(src, 'batch.json'), 'utf8')) as { trials: { dir: string }[] };
    const cases: [string, (dir: string) => void, RegExp][] = [
      [
        'empty-plan',
        (d) => writeFileSync(join(d, 'batch.json'), '{}'),
        /its batch.json cannot be read \(its duration is missing, not a number\)/,
      ],
      [
        'no-trials',
        (d) => writeFileSync(join(d, 'batch.json'), JSON.stringify({ ...plan, trials: null })),
        /its batch.json cannot be read \(its trials are not a list\)/,
      ],
      // a trial's folder outside the batch: its status was read from there
      [
        'trial-outside',
        (d) => writeFileSync(join(d, 'batch.json'), JSON.stringify({ ...plan, trials: [{ ...plan.trials[0], dir: '../..' }] })),
        /its batch.json cannot be read \(its trial 0 has no folder name\)/,
      ],
    ];
    for (const [name, damage] of cases) {
      cpSync(src, join(svc.runsDir, name), { recursive: true });
      damage(join(svc.runsDir, name));
    }
    const list = (await c.request('run.list')).result!.runs as { run: string; state: string; error: string | null }[];
    for (const [name, , why] of cases) {
      expect(list.find((x) => x.run === name)?.error, name).toMatch(why);
      const st = await c.request('run.status', { run: name });
      expect(st.result, name).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(/^the run folder is damaged: /) as unknown as string,
      });
      expect((await c.request('run.delete', { run: name })).ok, name).toBe(true);
      expect(existsSync(join(svc.runsDir, name)), name).toBe(false);
    }
    // an exit.json that is not the batch's (damaged, or edited) counts as none: the trials' folders say how they ended
    for (const [name, text] of [
      ['garbled-exit', 'garbage'],
      ['shapeless-exit', '{"state": "done"}'],
    ]) {
      cpSync(src, join(svc.runsDir, name!), { recursive: true });
      writeFileSync(join(svc.runsDir, name!, 'exit.json'), text!);
      const st = await c.request('run.status', { run: name });
      expect(st.result, name).toMatchObject({ state: 'done', counts: { done: 2 } });
      expect(
        ((await c.request('run.list')).result!.runs as { run: string }[]).some((x) => x.run === name),
        name,
      ).toBe(true);
      expect((await c.request('run.delete', { run: name })).ok, name).toBe(true);
    }
    // a trial whose status.json is damaged: its requests say so (they failed as `internal`)
    cpSync(src, join(svc.runsDir, 'bad-trial'), { recursive: true });
    writeFileSync(join(svc.runsDir, 'bad-trial', 'trial-000', 'status.json'), '{"state": "do');
    const why = /^run 'bad-trial\/trial-000': the run folder is damaged: its status.json cannot be read \(not JSON/;
    expect((await c.request('probe.fetch', { run: 'bad-trial/trial-000', probe: 'sq' })).error).toMatchObject({
      code: 'io_error',
      message: expect.stringMatching(why) as unknown as string,
    });
    expect((await c.request('probe.list', { run: 'bad-trial/trial-000' })).error).toMatchObject({ code: 'io_error' });
    expect((await c.request('run.status', { run: 'bad-trial/trial-000' })).result).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/its status.json cannot be read .* run.delete of its batch removes it$/) as unknown as string,
    });
    expect((await c.request('probe.fetch', { run: 'bad-trial/trial-001', probe: 'sq' })).ok).toBe(true);
    expect((await c.request('run.delete', { run: 'bad-trial' })).ok).toBe(true);
    expect((await c.request('run.delete', { run: intact })).ok).toBe(true);
  });

  it('a damaged run folder is listed as failed saying what is wrong, its data requests say so, and it can be deleted', async () => {
    const r = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.05, label: 'intact' });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const intact = r.result!.run as string;
    await watchToEnd(intact);
    const src = join(svc.runsDir, intact);
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['garbled-status', (d) => writeFileSync(join(d, 'status.json'), '{"state": "do'), /its status.json cannot be read/],
      ['no-status', (d) => rmSync(join(d, 'status.json')), /its status.json is missing/],
      ['no-options', (d) => rmSync(join(d, 'options.json')), /its options.json is missing/],
      // JSON, but not what a status holds: they vanished from run.list, and every request failed as `internal`
      ['null-status', (d) => writeFileSync(join(d, 'status.json'), 'null'), /its status.json cannot be read \(not a JSON object\)/],
      [
        'shapeless-status',
        (d) => writeFileSync(join(d, 'status.json'), '{"state": "done"}'),
        /its status.json cannot be read \(its time is missing, not a number\)/,
      ],
      // as the README says (it was listed done, without its duration, and its data served)
      ['garbled-options', (d) => writeFileSync(join(d, 'options.json'), '{"duration": 0.0'), /its options.json cannot be read \(not JSON/],
    ];
    const past = new Date(Date.now() - 120_000);
    for (const [name, damage] of cases) {
      const d = join(svc.runsDir, name);
      cpSync(src, d, { recursive: true });
      damage(d);
      for (const f of readdirSync(d)) utimesSync(join(d, f), past, past);
      utimesSync(d, past, past);
    }
    // damaged folders hold no slot of the queue (this service runs one run at a time): the next run runs
    const next = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.05, label: 'after-damaged' });
    await watchToEnd(next.result!.run as string);
    expect((await c.request('run.status', { run: next.result!.run })).result!.state).toBe('done');
    const list = (await c.request('run.list')).result!.runs as { run: string; state: string; error: string | null }[];
    for (const [name, , why] of cases) {
      const listed = list.find((x) => x.run === name);
      expect(listed?.state, name).toBe('failed');
      expect(listed?.error, name).toMatch(why);
      const st = await c.request('run.status', { run: name });
      expect(st.result!.error, name).toMatch(/^the run folder is damaged: /);
      const fetch = await c.request('probe.fetch', { run: name, probe: 'sq' });
      expect(fetch.error, name).toMatchObject({ code: 'io_error', message: expect.stringMatching(why) as unknown as string });
      expect((await c.request('run.delete', { run: name })).ok, name).toBe(true);
      expect(existsSync(join(svc.runsDir, name)), name).toBe(false);
    }
    // an intact run whose probes.h5 is gone, or not HDF5: the reply says which
    cpSync(src, join(svc.runsDir, 'no-h5'), { recursive: true });
    rmSync(join(svc.runsDir, 'no-h5', 'probes.h5'));
    expect((await c.request('probe.fetch', { run: 'no-h5', probe: 'sq' })).error).toMatchObject({
      code: 'io_error',
      message: "run 'no-h5' has no probes.h5 (deleted?)",
    });
    // queued (a batch's trial not started yet, its folder made): conflict, as a queued run's (it was io_error)
    cpSync(src, join(svc.runsDir, 'queued-copy'), { recursive: true });
    rmSync(join(svc.runsDir, 'queued-copy', 'probes.h5'));
    const qs = JSON.parse(readFileSync(join(svc.runsDir, 'queued-copy', 'status.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      join(svc.runsDir, 'queued-copy', 'status.json'),
      JSON.stringify({ ...qs, state: 'queued', heartbeat: Date.now() + 3_600_000, pid: process.pid }),
    );
    expect((await c.request('probe.fetch', { run: 'queued-copy', probe: 'sq' })).error).toMatchObject({
      code: 'conflict',
      message: "run 'queued-copy' has not started yet: it has no data",
    });
    // running, with steps flushed, and its probes.h5 replaced or deleted: not 'not written yet' (a conflict, to wait out).
    // The fake goes before anything is asserted: its pid is this process's, which the clean-up's run.cancel would signal.
    const rs = { ...qs, state: 'running', stepsFlushed: 20, heartbeat: Date.now() + 3_600_000, pid: process.pid, processStart: null };
    let replaced, deleted;
    try {
      writeFileSync(join(svc.runsDir, 'queued-copy', 'status.json'), JSON.stringify(rs));
      writeFileSync(join(svc.runsDir, 'queued-copy', 'probes.h5'), 'not hdf5');
      replaced = (await c.request('probe.fetch', { run: 'queued-copy', probe: 'sq' })).error;
      rmSync(join(svc.runsDir, 'queued-copy', 'probes.h5'));
      deleted = (await c.request('probe.list', { run: 'queued-copy' })).error;
    } finally {
      rmSync(join(svc.runsDir, 'queued-copy'), { recursive: true }); // a fake: nothing must try to cancel it
    }
    expect(replaced).toMatchObject({
      code: 'io_error',
      message: "run 'queued-copy' has written 20 steps to its probes.h5, which is no longer an HDF5 file (replaced, or damaged?)",
    });
    expect(deleted).toMatchObject({
      code: 'io_error',
      message: "run 'queued-copy' has written 20 steps to its probes.h5, which is gone (deleted or moved?)",
    });
    writeFileSync(join(svc.runsDir, 'no-h5', 'probes.h5'), 'not hdf5');
    expect((await c.request('probe.fetch', { run: 'no-h5', probe: 'sq' })).error!.message).toBe(
      "cannot read probes.h5 of run 'no-h5': not an HDF5 file, or damaged",
    );
    // truncated (a copy cut short): HDF5's reason in one line, and none of its error stack in the service's log
    const whole = readFileSync(join(src, 'probes.h5'));
    writeFileSync(join(svc.runsDir, 'no-h5', 'probes.h5'), whole.subarray(0, whole.length >> 1));
    const logBefore = svc.stderr().length;
    expect((await c.request('probe.fetch', { run: 'no-h5', probe: 'sq' })).error).toMatchObject({
      code: 'io_error',
      message: expect.stringMatching(
        /^cannot read probes\.h5 of run 'no-h5': HDF5 could not read the file .*: truncated file: eof = \d+/,
      ) as unknown as string,
    });
    expect(svc.stderr().slice(logBefore)).not.toContain('HDF5-DIAG');
    expect((await c.request('run.delete', { run: 'no-h5' })).ok).toBe(true);
  });

  it("an ended run listed already, whose options.json (or a batch's batch.json) is then damaged, is listed damaged", async () => {
    const r = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.05, label: 'listed' });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const run = r.result!.run as string;
    await watchToEnd(run);
    const b = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.05, trials: 2, label: 'listed-batch' });
    expect(b.ok, JSON.stringify(b.error)).toBe(true);
    const batch = b.result!.run as string;
    await watchToEnd(batch);
    const listed = async (name: string) =>
      ((await c.request('run.list')).result!.runs as { run: string; state: string; error: string | null }[]).find((x) => x.run === name);
    expect((await listed(run))?.state).toBe('done');
    expect((await listed(run))?.state).toBe('done'); // the second list reads what the first made of it
    expect((await listed(batch))?.state).toBe('done');
    writeFileSync(join(svc.runsDir, run, 'options.json'), '{"duration": 0.0');
    writeFileSync(join(svc.runsDir, batch, 'batch.json'), 'null');
    // it was still listed done (its status.json had not changed), while run.status said damaged
    expect((await listed(run))?.error).toMatch(/^the run folder is damaged: its options.json cannot be read \(not JSON/);
    expect((await listed(batch))?.error).toMatch(/^the run folder is damaged: its batch.json cannot be read/);
    for (const x of [run, batch]) expect((await c.request('run.delete', { run: x })).ok).toBe(true);
  });

  it('an ended batch listed already, which then loses a trial folder, is listed failed (as nefsim status reads it)', async () => {
    const b = await c.request('run.start', { file: join(svc.dir, 'model.mjs'), duration: 0.05, trials: 2, label: 'lost-trial' });
    expect(b.ok, JSON.stringify(b.error)).toBe(true);
    const batch = b.result!.run as string;
    await watchToEnd(batch);
    const listed = async () =>
      ((await c.request('run.list')).result!.runs as { run: string; state: string; error: string | null }[]).find((x) => x.run === batch);
    expect((await listed())?.state).toBe('done');
    rmSync(join(svc.runsDir, batch, 'trial-001'), { recursive: true });
    // it stayed listed done: the batch's status.json and batch.json had not changed
    expect((await listed())?.state).toBe('failed');
    expect((await listed())?.error).toContain('its folder trial-001 is gone or damaged');
    expect((await c.request('run.delete', { run: batch })).ok).toBe(true);
  });

  it('SIGTERM while a launch is under way: the service exits without waiting for it, and the run stays queued for its next start', async () => {
    const s2 = await startService(['--max-concurrent-runs', '2']);
    const c2 = await Client.connect(s2);
    let hung = '';
    try {
      const hang = join(s2.dir, 'hang.mjs');
      writeFileSync(hang, 'setInterval(() => {}, 1000);\nawait new Promise(() => {});\nexport default null;\n');
      void c2.request('run.start', { file: hang, duration: 1, label: 'hang' }, 60_000).catch(() => undefined);
      for (let i = 0; i < 100 && !hung; i++) {
        await new Promise((res) => setTimeout(res, 50));
        hung = ((await c2.request('run.list')).result!.runs as { run: string }[]).find((x) => x.run.startsWith('hang-'))?.run ?? '';
      }
      expect(hung).not.toBe('');
      await new Promise((res) => setTimeout(res, 300)); // its nefsim run is loading the model
      const stopped = s2.stop().then(() => true);
      expect(await Promise.race([stopped, new Promise<false>((r) => setTimeout(() => r(false), 20_000))])).toBe(true);
      const rec = JSON.parse(readFileSync(join(s2.runsDir, '.queue', `${hung}.json`), 'utf8')) as { state: string };
      expect(rec.state).toBe('queued');
      expect(existsSync(join(s2.runsDir, hung))).toBe(false);
    } finally {
      c2.close();
      s2.proc.kill('SIGKILL');
      cleanup(s2.dir);
    }
  }, 60_000);

  it("a batch whose running trials have no rate yet (loading the model) has none either: it read '0 steps/s'", async () => {
    const file = join(svc.dir, 'slow-load.mjs');
    writeFileSync(
      file,
      // the model takes 2 s to build: each trial is running, and has no rate, for as long
      MODEL_FILE.replace('export default function () {', '$&\n  for (const end = Date.now() + 2000; Date.now() < end; );'),
    );
    expect(readFileSync(file, 'utf8')).toContain('Date.now() + 2000');
    const r = await c.request('run.start', { file, duration: 0.05, trials: 2, jobs: 1 });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const batch = r.result!.run as string;
    type Trial = { state: string; stepsPerSecond: number | null };
    const loading: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const s = (await c.request('run.status', { run: batch })).result!;
      const running = (s.trials as Trial[]).filter((t) => t.state === 'running');
      if (running.length && running.every((t) => t.stepsPerSecond === null)) loading.push(s.stepsPerSecond);
      if (s.state === 'done' || s.state === 'failed') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(loading.length).toBeGreaterThan(0);
    expect(new Set(loading)).toEqual(new Set([null]));
  }, 60_000);

  it('a partitioned run holds a slot per part: with two slots, another run waits for it (they slowed each other down 13-fold on two cores)', async () => {
    const s3 = await startService(['--max-concurrent-runs', '2']);
    const c3 = await Client.connect(s3);
    try {
      const file = join(s3.dir, 'model.mjs');
      writeFileSync(file, MODEL_FILE);
      const a = await c3.request('run.start', { file, duration: 2000, partitions: 2, label: 'wide' });
      expect(a.ok, JSON.stringify(a.error)).toBe(true);
      const wide = a.result!.run as string;
      for (let i = 0; i < 100 && (await c3.request('run.status', { run: wide })).result!.state !== 'running'; i++)
        await new Promise((res) => setTimeout(res, 100));
      const b = await c3.request('run.start', { file, duration: 0.05, label: 'narrow' });
      const narrow = b.result!.run as string;
      await new Promise((res) => setTimeout(res, 1500)); // the queue is looked at every second
      expect((await c3.request('run.status', { run: narrow })).result).toMatchObject({ state: 'queued', queuePosition: 1 });
      expect((await c3.request('run.cancel', { run: wide })).result!.state).toBe('cancelled');
      for (let i = 0; i < 200 && (await c3.request('run.status', { run: narrow })).result!.state !== 'done'; i++)
        await new Promise((res) => setTimeout(res, 100));
      expect((await c3.request('run.status', { run: narrow })).result!.state).toBe('done');
    } finally {
      c3.close();
      await s3.stop();
      cleanup(s3.dir);
    }
  }, 60_000);
});

describe('spike reads are bounded (NEFSIM_MAX_SPIKES_READ = 1,000 here; 20 M by default)', () => {
  /** A service started with `env`, and a 1 s run of 100 spiking neurons on it, ended. */
  async function spikingRun(env: Record<string, string>): Promise<{ capped: Running; k: Client; run: string }> {
    Object.assign(process.env, env);
    const capped = await startService();
    for (const key of Object.keys(env)) delete process.env[key];
    const k = await Client.connect(capped);
    const file = join(capped.dir, 'spiking.mjs');
    writeFileSync(
      file,
      "import { Network } from 'nefsim';\nexport default function () {\n  const net = new Network({ seed: 2 });\n" +
        '  const stim = net.node((t) => [Math.sin(6 * t)]);\n  const a = net.ensemble({ nNeurons: 100, dimensions: 1 });\n' +
        "  net.connect(stim, a);\n  net.probe(a.neurons, { label: 'spikes' });\n  return net;\n}\n",
    );
    const r = await k.request('run.start', { file, duration: 1 });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const run = r.result!.run as string;
    for (let i = 0; i < 300 && (await k.request('run.status', { run })).result!.state !== 'done'; i++)
      await new Promise((res) => setTimeout(res, 100));
    return { capped, k, run };
  }

  it("a window holding more spikes than that is refused, not read; a few neurons come from the ended run's per-neuron layout, as from short windows", async () => {
    const { capped, k, run } = await spikingRun({ NEFSIM_MAX_SPIKES_READ: '1000' });
    try {
      const all = await k.request('probe.fetch', { run, probe: 'spikes', mode: 'raw' });
      expect(all.error?.code).toBe('limit');
      expect(all.error!.message).toMatch(
        /this window holds \d+ spikes of all 100 neurons, more than 1000 read at once; ask for a shorter time range/,
      );
      // neurons 3-5 over the whole run (the per-neuron layout), against ten windows of 0.1 s (the time-major list)
      const few = await k.request('probe.fetch', { run, probe: 'spikes', columns: [3, 6], mode: 'raw' });
      expect(few.ok, JSON.stringify(few.error)).toBe(true);
      const y = few.arrays.get('y')!.data as Float64Array;
      expect(y.length).toBe(1000 * 3);
      const pieces: number[] = [];
      for (let w = 0; w < 10; w++) {
        const p = await k.request('probe.fetch', {
          run,
          probe: 'spikes',
          columns: [3, 6],
          t0: w / 10 + 0.0005,
          t1: (w + 1) / 10,
          mode: 'raw',
        });
        expect(p.ok, JSON.stringify(p.error)).toBe(true);
        pieces.push(...(p.arrays.get('y')!.data as Float64Array));
      }
      expect(Array.from(y)).toEqual(pieces);
      expect(pieces.some((v) => v !== 0)).toBe(true);
      // a raster of two neurons over the whole run: only their columns are read
      const sp = await k.request('post.spikes', { run, probe: 'spikes', neurons: [5, 3] });
      expect(sp.ok, JSON.stringify(sp.error)).toBe(true);
      const count = (col: number) => pieces.filter((v, i) => i % 3 === col && v !== 0).length;
      expect(sp.result!.counts).toEqual([count(2), count(0)]);
      expect((await k.request('post.spikes', { run, probe: 'spikes', neurons: [100] })).error!.message).toContain(
        'neuron 100 is not in [0, 100)',
      );
    } finally {
      k.close();
      await capped.stop();
      cleanup(capped.dir);
    }
  }, 60_000);

  it('a probe with too many spikes for its per-neuron layout (NEFSIM_UNITS_MAX_SPIKES = 500 here): the limit says so', async () => {
    const { capped, k, run } = await spikingRun({ NEFSIM_MAX_SPIKES_READ: '1000', NEFSIM_UNITS_MAX_SPIKES: '500' });
    try {
      const few = await k.request('probe.fetch', { run, probe: 'spikes', columns: [3, 6], mode: 'raw' });
      expect(few.error?.code).toBe('limit');
      expect(few.error!.message).toMatch(
        /ask for a shorter time range \(this probe has no per-neuron layout to read a few neurons from: \d+ spikes, more than 500\)/,
      );
    } finally {
      k.close();
      await capped.stop();
      cleanup(capped.dir);
    }
  }, 60_000);
});

describe('the runs folder changed behind the service', () => {
  it('a runs folder removed while the service runs is made again by the next run.start; one that is not a folder is named in the error', async () => {
    const own = await startService();
    const k = await Client.connect(own);
    try {
      const file = join(own.dir, 'model.mjs');
      writeFileSync(file, MODEL_FILE);
      const s = (await k.request('session.open', { label: 'gone' })).result!.session as string;
      for (const [i, code] of SQUARING_CELLS.entries())
        expect((await k.request('cell.execute', { session: s, code, cell: `g${i}` })).ok).toBe(true);
      rmSync(own.runsDir, { recursive: true, force: true }); // rm -r runs, in a terminal or the file browser
      expect((await k.request('run.list')).result!.runs).toEqual([]);
      // it failed with ENOENT on a file of RUNS/.queue (or RUNS/.sources) the user never made
      for (const params of [{ file }, { session: s }]) {
        const r = await k.request('run.start', { ...params, duration: 0.05, label: 'again' });
        expect(r.ok, JSON.stringify(r.error)).toBe(true);
        const run = r.result!.run as string;
        for (let i = 0; i < 100 && !['done', 'failed'].includes((await k.request('run.status', { run })).result!.state as string); i++)
          await new Promise((res) => setTimeout(res, 100));
        expect((await k.request('run.status', { run })).result!.state).toBe('done');
      }
      // replaced by a file: run.list said there were no runs at all
      rmSync(own.runsDir, { recursive: true, force: true });
      writeFileSync(own.runsDir, 'not a folder');
      const list = await k.request('run.list');
      expect(list.error?.code).toBe('io_error');
      expect(list.error!.message).toContain(`the runs folder ${own.runsDir} cannot be read`);
      const start = await k.request('run.start', { file, duration: 0.05, label: 'again' });
      expect(start.error?.code).toBe('io_error');
      expect(start.error!.message).toContain(`the runs folder ${own.runsDir}`);
      expect(own.proc.exitCode).toBe(null);
    } finally {
      k.close();
      await own.stop();
      cleanup(own.dir);
    }
  }, 60_000);
});

/** The largest difference of two series of the same length, relative where the values exceed 1 (else Infinity). */
function worstDifference(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
  return worst;
}
