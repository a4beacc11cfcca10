/**
 * Killing the service mid-run: the run goes on (it is detached, in its own
 * process group); the restarted service on the same runs folder shows it
 * running, then done with all its data, and starts the runs that were still
 * in its queue.
 */
import { writeFileSync } from 'node:fs';
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
  it('re-attaches to a running run and starts queued runs after a kill -9 of the service', async () => {
    const first = await startService(['--max-concurrent-runs', '1']);
    dir = first.dir;
    const file = join(dir, 'model.mjs');
    writeFileSync(file, MODEL_FILE);
    const c1 = await Client.connect(first);
    const a = await c1.request('run.start', { file, duration: 250, label: 'long' });
    expect(a.ok, JSON.stringify(a.error)).toBe(true);
    const run = a.result!.run as string;
    const b = await c1.request('run.start', { file, duration: 0.2, label: 'queued' });
    expect(b.result!.state).toBe('queued');
    // Wait until the run has made progress, then kill the service hard.
    for (let i = 0; i < 100; i++) {
      const s = (await c1.request('run.status', { run })).result!;
      if (s.state === 'running' && (s.steps as number) > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await first.stop('SIGKILL');

    svc = await startService(['--max-concurrent-runs', '1'], dir);
    const c2 = await Client.connect(svc);
    const s = await c2.request('run.status', { run });
    expect(s.result!.state).toBe('running');
    const w = await c2.request('run.watch', { run });
    const sub = w.result!.sub as string;
    const end = await c2.waitEvent((e) => e.sub === sub && e.final === true, 25_000);
    expect(end.status).toMatchObject({ state: 'done', steps: 250_000, stepsFlushed: 250_000 });
    const data = await c2.request('probe.fetch', { run, probe: 'sq', mode: 'raw' });
    expect(data.arrays.get('y')!.header.shape).toEqual([250_000, 1]);
    // The run that waited in the queue of the killed service starts now.
    const q = b.result!.run as string;
    for (let i = 0; i < 100 && (await c2.request('run.status', { run: q })).result!.state !== 'done'; i++)
      await new Promise((r) => setTimeout(r, 150));
    expect((await c2.request('run.status', { run: q })).result!.state).toBe('done');
    c2.close();
  });
});
