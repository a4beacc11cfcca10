/**
 * The service's run queue (RUNS/.queue/) against files it did not write, and
 * requests on runs in every state, through the real service.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Client, MODEL_FILE, startService, type Running } from './server-harness.js';

let svc: Running;
let c: Client;
let file: string;

beforeAll(async () => {
  svc = await startService(['--max-concurrent-runs', '1']);
  c = await Client.connect(svc);
  file = join(svc.dir, 'model.mjs');
  writeFileSync(file, MODEL_FILE);
});

afterAll(async () => {
  for (const r of ((await c.request('run.list')).result?.runs as { run: string; state: string }[] | undefined) ?? []) {
    if (r.state === 'running' || r.state === 'queued') await c.request('run.cancel', { run: r.run });
  }
  c?.close();
  await svc?.stop();
  cleanup(svc.dir);
});

/** Asks for a run's status until it has ended; returns its last state. */
async function ended(run: string): Promise<string> {
  let state = '';
  for (let i = 0; i < 300; i++) {
    state = (await c.request('run.status', { run })).result?.state as string;
    if (state === 'done' || state === 'failed' || state === 'cancelled') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return state;
}

describe('the run queue', () => {
  it('a file in the queue folder that is not a queue record is skipped: run.list, run.start and the queue go on; requests on its name are not_found', async () => {
    const queue = join(svc.runsDir, '.queue');
    // JSON that is not a record (written by hand, by another program, or copied from elsewhere)
    writeFileSync(join(queue, 'nul.json'), 'null');
    writeFileSync(join(queue, 'empty.json'), '{}');
    writeFileSync(join(queue, 'list.json'), '[1, 2]');
    // a record that names another run than its file, and a path outside the runs folder
    writeFileSync(
      join(queue, 'away.json'),
      JSON.stringify({
        run: '../away',
        file,
        duration: 1,
        dt: 0.001,
        seed: null,
        label: '',
        created: '2026-01-01T00:00:00.000Z',
        state: 'queued',
      }),
    );
    const list = await c.request('run.list');
    expect(list.ok, JSON.stringify(list.error)).toBe(true);
    expect((list.result!.runs as unknown[]).length).toBe(0);
    const s = await c.request('run.start', { file, duration: 0.05, label: 'after-junk' });
    expect(s.ok, JSON.stringify(s.error)).toBe(true);
    expect(await ended(s.result!.run as string)).toBe('done');
    for (const run of ['nul', 'empty', 'list', 'away']) {
      for (const type of ['run.status', 'run.cancel', 'run.delete']) {
        const r = await c.request(type, { run });
        expect(r.error, `${type} ${run}: ${JSON.stringify(r.error)}`).toMatchObject({ code: 'not_found' });
      }
    }
    expect(existsSync(join(svc.runsDir, '..', 'away'))).toBe(false);
    expect(svc.stderr()).not.toMatch(/internal error|uncaught|unhandled/);
  }, 60_000);

  it('trials whose seeds would pass 2^32 - 1 are refused as invalid_params naming seed, before anything is queued (it was a model_error after a model load, and a failed run left in the list)', async () => {
    const r = await c.request('run.start', { file, duration: 0.05, trials: 3, seed: 4294967294, label: 'seeds-past' });
    expect(r.error).toMatchObject({ code: 'invalid_params' });
    expect(r.error!.message).toMatch(/^run\.start: seed .*4294967294.*4294967296/);
    const runs = (await c.request('run.list')).result!.runs as { run: string }[];
    expect(runs.some((x) => x.run.startsWith('seeds-past'))).toBe(false);
    // the last seed that fits is accepted
    const ok = await c.request('run.start', { file, duration: 0.05, trials: 2, seed: 4294967294, label: 'seeds-fit' });
    expect(ok.ok, JSON.stringify(ok.error)).toBe(true);
    expect(await ended(ok.result!.run as string)).toBe('done');
  }, 60_000);

  it('run.start with an empty list of cells says that the list is empty (it said the session had no model cells, which it had)', async () => {
    const session = (await c.request('session.open', { label: 'cells' })).result!.session as string;
    const code = 'const net = new Network({ seed: 1 }); net.ensemble({ nNeurons: 10, dimensions: 1 }); model = net;';
    expect((await c.request('cell.execute', { session, code, cell: 'm' })).ok).toBe(true);
    const r = await c.request('run.start', { session, cells: [], duration: 0.05, label: 'nocells' });
    expect(r.error).toMatchObject({ code: 'invalid_params' });
    expect(r.error!.message).toBe('run.start: /cells: Expected array length to be greater or equal to 1');
    const runs = (await c.request('run.list')).result!.runs as { run: string }[];
    expect(runs.some((x) => x.run.startsWith('nocells'))).toBe(false);
  });

  it("a run whose options.json, or a batch whose batch.json, has a 'created' that is not a string is listed, created null (run.list failed as internal for every run)", async () => {
    const one = (await c.request('run.start', { file, duration: 0.05, label: 'created-one' })).result!.run as string;
    expect(await ended(one)).toBe('done');
    const batch = (await c.request('run.start', { file, duration: 0.05, trials: 2, jobs: 1, label: 'created-batch' })).result!
      .run as string;
    expect(await ended(batch)).toBe('done');
    const edit = (path: string, fields: Record<string, unknown>): void =>
      writeFileSync(path, JSON.stringify({ ...(JSON.parse(readFileSync(path, 'utf8')) as object), ...fields }));
    edit(join(svc.runsDir, one, 'options.json'), { created: 20260101, duration: '0.05', seed: 'x' });
    edit(join(svc.runsDir, batch, 'batch.json'), { created: { at: 1 } });
    const list = await c.request('run.list');
    expect(list.ok, JSON.stringify(list.error)).toBe(true);
    const runs = list.result!.runs as { run: string; created: unknown; duration: unknown; seed: unknown }[];
    expect(runs.find((r) => r.run === one)).toMatchObject({ created: null, duration: null, seed: null });
    expect(runs.find((r) => r.run === batch)).toMatchObject({ created: null });
    expect((await c.request('run.status', { run: one })).result).toMatchObject({ state: 'done', created: null });
  }, 60_000);

  it("a queued run of a session's model cells, with a sweep, cancelled before it started leaves no generated file in RUNS/.sources (they were kept for good)", async () => {
    const sources = join(svc.runsDir, '.sources');
    const before = readdirSync(sources).sort();
    const session = (await c.request('session.open', { label: 'gen' })).result!.session as string;
    const code = 'const net = new Network({ seed: 1 }); net.ensemble({ nNeurons: 10, dimensions: 1 }); model = net;';
    expect((await c.request('cell.execute', { session, code, cell: 'm' })).ok).toBe(true);
    // the one slot is taken: the next run waits in the queue
    const long = await c.request('run.start', { file, duration: 600, label: 'gen-long' });
    expect(long.ok, JSON.stringify(long.error)).toBe(true);
    const q = await c.request('run.start', { session, duration: 0.05, sweep: [{ n: 1 }, { n: 2 }], label: 'gen-queued' });
    expect(q.result).toMatchObject({ state: 'queued' });
    expect(readdirSync(sources).length).toBe(before.length + 2);
    expect((await c.request('run.cancel', { run: q.result!.run })).result).toMatchObject({ state: 'cancelled' });
    expect(readdirSync(sources).sort()).toEqual(before);
    expect((await c.request('run.cancel', { run: long.result!.run })).result).toMatchObject({ state: 'cancelled' });
  }, 60_000);

  it("a session's run.start whose sweep cannot be written as JSON is refused and leaves no generated module behind", async () => {
    const sources = join(svc.runsDir, '.sources');
    const before = readdirSync(sources).sort();
    const session = (await c.request('session.open', { label: 'deep' })).result!.session as string;
    const code = 'const net = new Network({ seed: 1 }); net.ensemble({ nNeurons: 10, dimensions: 1 }); model = net;';
    expect((await c.request('cell.execute', { session, code, cell: 'm' })).ok).toBe(true);
    // a parameter value nested 100,000 deep: parsed, but too deep to write out again
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const r = await c.raw(`{"v":1,"id":"deep","type":"run.start","session":"${session}","duration":0.05,"sweep":[{"a":${deep}}]}`, 'deep');
    expect(r.error).toMatchObject({ code: 'invalid_params' });
    expect(r.error!.message).toMatch(/^sweep: /);
    expect(readdirSync(sources).sort()).toEqual(before);
  });

  it("run.start with cells and a file (cells are a session's) is refused naming cells, not run with the cells ignored", async () => {
    const r = await c.request('run.start', { file, cells: ['m'], duration: 0.05, label: 'cells-file' });
    expect(r.error).toMatchObject({ code: 'invalid_params' });
    expect(r.error!.message).toMatch(/^run\.start: cells /);
    const runs = (await c.request('run.list')).result!.runs as { run: string }[];
    expect(runs.some((x) => x.run.startsWith('cells-file'))).toBe(false);
  });

  it("run.start refuses a file in the runs folder's generated models (RUNS/.sources): that run's launch would delete it", async () => {
    const generated = join(svc.runsDir, '.sources', 'someone-else-0123abcd.mjs');
    writeFileSync(generated, MODEL_FILE);
    for (const given of [generated, `${svc.runsDir}/x/../.sources/someone-else-0123abcd.mjs`]) {
      const r = await c.request('run.start', { file: given, duration: 0.05, label: 'generated' });
      expect(r.error).toMatchObject({ code: 'invalid_params' });
      expect(r.error!.message).toContain('is a model the service wrote for a run of a session');
    }
    expect(existsSync(generated)).toBe(true);
  });
  it("run.delete of a queue record whose file reaches out of RUNS/.sources through '..' deletes the record, not that file", async () => {
    // a record written by hand (or by another program): its file starts with RUNS/.sources/ but is not in it
    const victim = join(svc.dir, 'victim.mjs');
    writeFileSync(victim, MODEL_FILE);
    writeFileSync(
      join(svc.runsDir, '.queue', 'by-hand.json'),
      JSON.stringify({
        run: 'by-hand',
        file: `${svc.runsDir}/.sources/../../victim.mjs`,
        duration: 1,
        dt: 0.001,
        seed: null,
        label: '',
        created: '2026-01-01T00:00:00.000Z',
        state: 'cancelled',
      }),
    );
    const r = await c.request('run.delete', { run: 'by-hand' });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    expect(existsSync(join(svc.runsDir, '.queue', 'by-hand.json'))).toBe(false);
    expect(existsSync(victim)).toBe(true);
  });
  it('a run being started is not counted in the queue: the next one waiting is #1 (it read #2)', async () => {
    const slow = join(svc.dir, 'slow-load.mjs');
    writeFileSync(slow, `await new Promise((r) => setTimeout(r, 3000));\n${MODEL_FILE}`);
    const first = c.request('run.start', { file: slow, duration: 0.05, label: 'slow-load' });
    let listed: { run: string; state: string; queuePosition?: number }[] = [];
    for (let i = 0; i < 100 && !listed.some((r) => r.run.startsWith('slow-load')); i++) {
      await new Promise((r) => setTimeout(r, 50));
      listed = (await c.request('run.list')).result!.runs as typeof listed;
    }
    const second = await c.request('run.start', { file, duration: 0.05, label: 'after-slow' });
    expect(second.result).toMatchObject({ state: 'queued', queuePosition: 1 });
    listed = (await c.request('run.list')).result!.runs as typeof listed;
    const starting = listed.find((r) => r.run.startsWith('slow-load'));
    expect(starting).toMatchObject({ state: 'queued' });
    expect(starting!.queuePosition).toBeUndefined();
    expect(listed.find((r) => r.run === second.result!.run)?.queuePosition).toBe(1);
    expect((await first).ok).toBe(true);
    expect(await ended(second.result!.run as string)).toBe('done');
  }, 30_000);
});
