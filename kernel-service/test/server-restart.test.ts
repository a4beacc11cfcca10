/**
 * Killing the service mid-run: the run goes on (it is detached, in its own
 * process group); the restarted service on the same runs folder shows it
 * running, then done with all its data, and starts the runs that were still
 * in its queue.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, Client, MODEL_FILE, startService, type Running } from './server-harness.js';

let svc: Running | undefined;
let dir: string | undefined;

afterAll(async () => {
  if (svc) {
    const c = await Client.connect(svc);
    for (const r of (await c.request('run.list')).result!.runs as { run: string; state: string }[]) {
      if (r.state === 'running' || r.state === 'queued') await c.request('run.cancel', { run: r.run });
    }
    c.close();
    await svc.stop();
  }
  if (dir) cleanup(dir);
});

describe('restart', () => {
  it('re-attaches to a running run and starts queued runs after a kill -9 of the service; reports a dead run failed', async () => {
    const first = await startService(['--max-concurrent-runs', '1']);
    dir = first.dir;
    const file = join(dir, 'model.mjs');
    writeFileSync(file, MODEL_FILE);
    const c1 = await Client.connect(first);
    const a = await c1.request('run.start', { file, duration: 3600, label: 'long' });
    expect(a.ok, JSON.stringify(a.error)).toBe(true);
    const run = a.result!.run as string;
    const b = await c1.request('run.start', { file, duration: 0.2, label: 'queued' });
    expect(b.result!.state).toBe('queued');
    // Wait until the run has data on disk (probes.h5 is written on a writer thread, which the run
    // does not wait for: flushed steps lag the steps taken), then kill the service hard. The run is
    // long enough (3.6 M steps, about 12 s here at 300,000 steps/s; 1.2 M steps, once about 12 s,
    // took 4 s once the engine got faster, and a run ended before the new service asked) to be
    // still running when the new service asks, also when the tests load the machine.
    for (let i = 0; i < 100; i++) {
      const s = (await c1.request('run.status', { run })).result!;
      if (s.state === 'running' && (s.stepsFlushed as number) > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await first.stop('SIGKILL');

    svc = await startService(['--max-concurrent-runs', '1'], dir);
    const c2 = await Client.connect(svc);
    const s = await c2.request('run.status', { run });
    expect(s.result!.state).toBe('running');
    // Data of the running run, up to the last flush.
    const live = await c2.request('probe.fetch', { run, probe: 'sq', mode: 'raw' });
    expect(live.ok, JSON.stringify(live.error)).toBe(true);
    const rows = live.result!.rows as number;
    expect(rows).toBeGreaterThan(0);
    // (the run may have taken all its steps by now, still writing its end)
    expect(rows).toBeLessThanOrEqual(3_600_000);
    const tl = live.arrays.get('t')!.data as Float64Array;
    expect(tl[rows - 1]).toBeCloseTo(rows * 0.001, 9);
    const w = await c2.request('run.watch', { run });
    // (The run may have ended between run.status and run.watch: then the reply is final.)
    const sub = w.result!.sub as string | null;
    const end = sub === null ? w.result! : await c2.waitEvent((e) => e.sub === sub && e.final === true, 50_000);
    expect(end.status).toMatchObject({ state: 'done', steps: 3_600_000, stepsFlushed: 3_600_000 });
    const data = await c2.request('probe.fetch', { run, probe: 'sq', mode: 'raw' });
    expect(data.arrays.get('y')!.header.shape).toEqual([3_600_000, 1]);
    // The run that waited in the queue of the killed service starts now.
    const q = b.result!.run as string;
    for (let i = 0; i < 100 && (await c2.request('run.status', { run: q })).result!.state !== 'done'; i++)
      await new Promise((r) => setTimeout(r, 150));
    expect((await c2.request('run.status', { run: q })).result!.state).toBe('done');

    // A run whose process dies (kill -9 of its group) is reported failed (its process is checked).
    const d = await c2.request('run.start', { file, duration: 500, label: 'doomed' });
    const doomed = d.result!.run as string;
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      const st = JSON.parse(readFileSync(join(svc.runsDir, doomed, 'status.json'), 'utf8')) as {
        state: string;
        pid: number;
        steps: number;
      };
      if (st.state === 'running' && st.steps > 0) pid = st.pid;
      else await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(-pid, 'SIGKILL');
    let state = '';
    for (let i = 0; i < 100 && state !== 'failed'; i++) {
      const st = (await c2.request('run.status', { run: doomed })).result!;
      state = st.state as string;
      if (state === 'failed') expect(st.error).toContain('is gone');
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toBe('failed');
    c2.close();
  }, 120_000);

  it('two services on one runs folder launch a queued run once, not each', async () => {
    const one = await startService(['--max-concurrent-runs', '1']);
    const two = await startService(['--max-concurrent-runs', '1'], one.dir);
    const [c1, c2] = [await Client.connect(one), await Client.connect(two)];
    try {
      // a model that loads for a while: the other service's queue tick (every second) comes meanwhile
      const file = join(one.dir, 'slow.mjs');
      writeFileSync(file, `await new Promise((r) => setTimeout(r, 2500));\n${MODEL_FILE}`);
      const started = c1.request('run.start', { file, duration: 0.05, label: 'once' });
      let most = 0;
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 100));
        most = Math.max(most, launchersOf(file));
      }
      const r = await started;
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      expect(most).toBe(1); // both services launched it (the second `nefsim run` was refused the folder)
      const run = r.result!.run as string;
      for (let i = 0; i < 100 && (await c2.request('run.status', { run })).result!.state !== 'done'; i++)
        await new Promise((res) => setTimeout(res, 100));
      expect((await c2.request('run.status', { run })).result!.state).toBe('done');
      expect(readdirSync(join(one.runsDir, '.queue'))).toEqual([]);
    } finally {
      c1.close();
      c2.close();
      await one.stop();
      await two.stop();
      cleanup(one.dir);
    }
  }, 60_000);
});

/** How many processes run `nefsim run` on this model file now. */
function launchersOf(file: string): number {
  let n = 0;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (args.includes('run') && args.includes(file)) n++;
    } catch {
      // gone
    }
  }
  return n;
}
