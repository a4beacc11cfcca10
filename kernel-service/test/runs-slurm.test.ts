/**
 * --executor slurm against a real single-node Slurm on localhost, started
 * (without systemd) by scripts/slurm-harness.sh and stopped by pid afterwards.
 * scripts/test.sh installs Slurm first (`slurm-harness.sh install`); without
 * Slurm installed, the tests that need it are skipped with a note and only the
 * "no Slurm" message is checked.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchStatus } from '../src/runs/batch.js';
import { Client, startService, type Running } from './server-harness.js';
import { ENGINE_NODE_FLAGS } from '../src/engine/node-flags.js';
import type { ExitRecord, RunStatus } from '../src/runs/folder.js';
import { runCli, type CliResult } from './cli-harness.js';

const HARNESS = fileURLToPath(new URL('../../scripts/slurm-harness.sh', import.meta.url));
const MODEL = `import { Network } from 'nefsim';
export default () => {
  const net = new Network({ label: 'ch', seed: 3 });
  const stim = net.node((t) => Math.sin(8 * t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 20, dimensions: 1, label: 'a' });
  net.connect(stim, a);
  net.probe(a, { synapse: 0.01, label: 'a' });
  net.probe(stim, { label: 'sin' });
  return net;
};
`;
const installed = ['sbatch', 'squeue', 'scancel', 'slurmctld', 'slurmd', 'munged'].every(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0,
);
if (!installed)
  console.warn('runs-slurm.test.ts: Slurm is not installed (scripts/slurm-harness.sh install): skipping the tests that submit jobs');

let dir: string;
let model: string;
let slurmConf = '';
let startedHarness = false;

const cli = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> => runCli(dir, args, { env, timeoutMs: 60_000 });
const slurmEnv = (): NodeJS.ProcessEnv => ({ ...process.env, SLURM_CONF: slurmConf });
const json = <T>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(pred: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(100);
  }
}
/** A service whose environment has the local Slurm's SLURM_CONF (it passes it on to sbatch, squeue, scancel). */
async function slurmService(extra: string[], svcDir: string): Promise<Running> {
  const saved = process.env.SLURM_CONF;
  process.env.SLURM_CONF = slurmConf;
  try {
    return await startService(extra, svcDir);
  } finally {
    if (saved === undefined) delete process.env.SLURM_CONF;
    else process.env.SLURM_CONF = saved;
  }
}
const terminal = (s: string): boolean => s === 'done' || s === 'failed' || s === 'cancelled';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nefsim-slurm-'));
  model = join(dir, 'm.mjs');
  writeFileSync(model, MODEL);
  if (!installed) return;
  startedHarness = spawnSync('bash', [HARNESS, 'status']).status !== 0;
  const up = spawnSync('bash', [HARNESS, 'up'], { encoding: 'utf8', timeout: 60_000 });
  if (up.status !== 0) throw new Error(`slurm-harness.sh up failed: ${up.stderr}`);
  slurmConf = up.stdout.trim().split('\n').pop()!;
}, 90_000);

afterAll(() => {
  if (installed && startedHarness) spawnSync('bash', [HARNESS, 'down'], { timeout: 60_000 });
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('--executor slurm without Slurm', () => {
  it('says clearly that Slurm is missing, and makes no run folder', async () => {
    const out = join(dir, 'nope');
    const r = await cli({ ...process.env, PATH: '/nonexistent' }, 'run', model, '--executor', 'slurm', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--executor slurm needs Slurm's sbatch, squeue, scancel on PATH");
    expect(r.stderr).toContain('not found');
    expect(existsSync(out)).toBe(false);
  });

  it('a run whose job is gone from squeue, and whose end is in exit.json only (a full disk), reads as it ended', async () => {
    // a squeue that no longer knows the job, as Slurm's says it
    const bin = join(dir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'squeue'), '#!/bin/sh\necho "slurm_load_jobs error: Invalid job id specified" >&2\nexit 1\n', {
      mode: 0o755,
    });
    const out = join(dir, 'ended-in-exit-json');
    const r = await cli(process.env, 'run', model, '--duration', '0.1', '--out', out);
    expect(r.code).toBe(0);
    // the run wrote exit.json, then found no room for its last status.json: that still says running, from a job
    const s = json<RunStatus>(join(out, 'status.json'));
    writeFileSync(
      join(out, 'status.json'),
      JSON.stringify({ ...s, state: 'running', steps: 50, heartbeat: Date.now() - 60_000, host: 'node-7', jobId: '4242' }),
    );
    const st = await cli({ ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, 'status', out, '--json');
    const js = JSON.parse(st.stdout) as RunStatus;
    expect(js.state).toBe('done');
    expect(js.error).toBeUndefined();
    // without exit.json it failed, and the message names the likeliest cause on a cluster: a SIGKILL for memory
    rmSync(join(out, 'exit.json'));
    const gone = JSON.parse(
      (await cli({ ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, 'status', out, '--json')).stdout,
    ) as RunStatus;
    expect(gone.state).toBe('failed');
    expect(gone.error).toContain("out of memory under the job's --mem");
  });

  it('cancel leaves the job of a Slurm run that ended alone (its id may be another job by now)', async () => {
    const bin = join(dir, 'fake-bin-cancel');
    mkdirSync(bin, { recursive: true });
    const called = join(dir, 'scancel-called');
    writeFileSync(join(bin, 'scancel'), `#!/bin/sh\necho "$@" >> '${called}'\n`, { mode: 0o755 });
    writeFileSync(join(bin, 'squeue'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const out = join(dir, 'ended-job');
    expect((await cli(process.env, 'run', model, '--duration', '0.1', '--out', out)).code).toBe(0);
    const s = json<RunStatus>(join(out, 'status.json'));
    writeFileSync(join(out, 'status.json'), JSON.stringify({ ...s, jobId: '4242' }));
    const c = await cli({ ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, 'cancel', out);
    expect(c.stdout).toContain('already done; nothing to cancel');
    expect(c.code).toBe(1);
    expect(existsSync(called)).toBe(false);
  });

  it('the service answers at once while squeue hangs (a Slurm controller that does not answer)', async () => {
    const bin = join(dir, 'fake-slow-slurm');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'sbatch'), '#!/bin/sh\necho 4343\n', { mode: 0o755 });
    writeFileSync(join(bin, 'scancel'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // as Slurm's squeue with slurmctld down: it tries for a while (18 s here), then gives up
    writeFileSync(
      join(bin, 'squeue'),
      '#!/bin/sh\nsleep 4\necho "slurm_load_jobs error: Unable to contact slurm controller" >&2\nexit 1\n',
      {
        mode: 0o755,
      },
    );
    const path = `${bin}:${process.env.PATH ?? ''}`;
    const svcDir = mkdtempSync(join(dir, 'svc-'));
    mkdirSync(join(svcDir, 'runs'));
    const out = join(svcDir, 'runs', 'queued-batch');
    const r = await cli(
      { ...process.env, PATH: path },
      'run',
      model,
      '--executor',
      'slurm',
      '--trials',
      '2',
      '--duration',
      '0.1',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const saved = process.env.PATH;
    process.env.PATH = path; // the service's environment
    let svc: Running;
    try {
      svc = await startService([], svcDir);
    } finally {
      process.env.PATH = saved;
    }
    try {
      const c = await Client.connect(svc);
      // each squeue took 4 s on the service's event loop, and the queue's tick asked again and again
      for (let i = 0; i < 4; i++) {
        for (const type of ['run.list', 'ping']) {
          const t0 = Date.now();
          const reply = await c.request(type);
          expect(reply.ok, type).toBe(true);
          expect(Date.now() - t0, type).toBeLessThan(1500);
        }
        await sleep(700);
      }
      const b = (await c.request('run.status', { run: 'queued-batch' })).result!;
      expect(b.state).toBe('queued'); // squeue cannot tell: as the folder says
    } finally {
      await svc.stop();
    }
  }, 60_000);

  it('refuses bad Slurm options', async () => {
    for (const [args, msg] of [
      [['--executor', 'slurm', '--slurm-time', '1 hour'], '--slurm-time must be a Slurm time limit'],
      [['--executor', 'slurm', '--slurm-partition', 'a b'], '--slurm-partition must be a Slurm name'],
      [['--executor', 'slurm', '--sbatch-arg', 'mem=4G'], "--sbatch-arg must be one sbatch option starting with '-'"],
      [['--executor', 'slurm', '--sbatch-arg=--array=0-3'], 'nefsim sets --array'],
      [['--executor', 'slurm', '--sbatch-arg=-a0-9'], 'nefsim sets --array (-a), --output (-o), --chdir (-D)'],
      [['--executor', 'slurm', '--sbatch-arg=-o/tmp/x.out'], 'nefsim sets --array (-a), --output (-o)'],
      [['--executor', 'slurm', '--sbatch-arg=-D/'], 'nefsim sets'],
      [['--executor', 'slurm', '--sbatch-arg=--chdir=/'], 'nefsim sets'],
      // sbatch takes any unambiguous prefix of a long option: --arr is --array (two tasks ran on one folder)
      [['--executor', 'slurm', '--sbatch-arg=--arr=0-1'], 'nefsim sets --array'],
      [['--executor', 'slurm', '--sbatch-arg=--out=x.log'], 'nefsim sets'],
      [['--executor', 'slurm', '--sbatch-arg=--chd=/'], 'nefsim sets'],
      [['--executor', 'slurm', '--sbatch-arg=--wr'], 'nefsim sets'],
      // and in a cluster of short flags, as getopt reads it: -Ha0-3 is --hold --array=0-3
      [['--executor', 'slurm', '--sbatch-arg=-Ha0-3'], 'nefsim sets'],
      [['--executor', 'slurm', '--sbatch-arg=-Qo/tmp/x.out'], 'nefsim sets'],
      [['--executor', 'slurm', '--sbatch-arg=-vD/'], 'nefsim sets'],
      // sbatch --wait exits with the job's code: a failed run was recorded as 'sbatch refused the job'
      [['--executor', 'slurm', '--sbatch-arg=--wait'], 'no --wait (-W) or --test-only'],
      [['--executor', 'slurm', '--sbatch-arg=-W'], 'no --wait (-W)'],
      [['--executor', 'slurm', '--sbatch-arg=-HW'], 'no --wait (-W)'],
      [['--executor', 'slurm', '--sbatch-arg=--test-only'], 'no --wait (-W) or --test-only'],
      [['--slurm-partition', 'debug'], '--slurm-partition only applies to --executor slurm'],
      [['--sbatch-arg=--mem=1G'], '--sbatch-arg only applies to --executor slurm'],
    ] as const) {
      const r = await cli(process.env, 'run', model, '--out', join(dir, 'never'), ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });
});

describe.skipIf(!installed)('--executor slurm on a local Slurm', () => {
  it('a single run is submitted with sbatch (partition, time limit, a CPU per part), runs in its folder and ends done', async () => {
    const out = join(dir, 'one');
    const r = await cli(
      slurmEnv(),
      'run',
      model,
      '--executor',
      'slurm',
      '--duration',
      '0.2',
      '--seed',
      '4',
      '--partitions',
      '2',
      '--slurm-partition',
      'debug',
      '--slurm-time',
      '5',
      '--out',
      out,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/submitted Slurm job \d+/);
    const jobId = /job (\d+)/.exec(r.stdout)![1]!;
    expect(json<RunStatus>(join(out, 'status.json')).jobId).toBe(jobId);
    await waitFor(() => terminal(json<RunStatus>(join(out, 'status.json')).state));
    const s = json<RunStatus>(join(out, 'status.json'));
    expect(s).toMatchObject({ state: 'done', steps: 200, jobId });
    expect(json<ExitRecord>(join(out, 'exit.json')).state).toBe('done');
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toContain('run done');
    // the job runs nefsim with the engine's Node flags
    expect(readFileSync(join(out, 'slurm.sh'), 'utf8')).toContain(` ${ENGINE_NODE_FLAGS.map((f) => `'${f}'`).join(' ')} `);
    const st = await cli(slurmEnv(), 'status', out);
    expect(st.stdout).toContain(': done');
    expect(st.stdout).toContain(`slurm job ${jobId}\n`);
    // A partitioned run asks Slurm for a CPU per part; the time limit went through.
    const job = spawnSync('scontrol', ['show', 'job', jobId], { env: slurmEnv(), encoding: 'utf8' }).stdout;
    expect(job).toMatch(/NumCPUs=2\b/);
    expect(job).toMatch(/TimeLimit=00:05:00/);
    expect(job).toMatch(/Partition=debug/);
  });

  it('the service starts a single run (one job) and trials (a job array) on Slurm, follows them to done and serves their probes', async () => {
    const svcDir = mkdtempSync(join(dir, 'svc-slurm-'));
    const svc = await slurmService([], svcDir);
    try {
      const c = await Client.connect(svc);
      const one = await c.request('run.start', { file: model, duration: 0.2, seed: 4, executor: 'slurm' });
      expect(one.error).toBeUndefined();
      const run = one.result!.run as string;
      const many = await c.request('run.start', { file: model, duration: 0.1, trials: 2, executor: 'slurm' });
      expect(many.error).toBeUndefined();
      const batch = many.result!.run as string;
      const end = Date.now() + 90_000;
      const states = async (): Promise<string[]> =>
        Promise.all([run, batch].map(async (r) => (await c.request('run.status', { run: r })).result!.state as string));
      while (!(await states()).every(terminal)) {
        if (Date.now() > end) throw new Error(`timed out: ${JSON.stringify(await states())}`);
        await sleep(250);
      }
      expect(await states()).toEqual(['done', 'done']);
      // the single run went as one Slurm job (its folder records the job id), not as a local process
      expect(json<RunStatus>(join(svc.runsDir, run, 'status.json')).jobId).toMatch(/^\d+$/);
      expect((await c.request('run.status', { run: batch })).result).toMatchObject({ kind: 'batch', counts: { done: 2 } });
      const probes = (await c.request('probe.list', { run })).result!.probes as { name: string; shape: number[] }[];
      expect(probes).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'sin', shape: [200, 1] })]));
      const raw = await c.request('probe.fetch', { run: `${batch}/trial-001`, probe: 'sin', mode: 'raw' });
      expect(raw.arrays.get('y')!.data.length).toBe(100);
    } finally {
      await svc.stop();
    }
  }, 120_000);

  it("a Slurm run pending in Slurm holds none of the service's slots: a local run starts with --max-concurrent-runs 1", async () => {
    // the node held by another job: the run's job stays pending
    const hold = spawnSync('sbatch', ['--parsable', '--exclusive', '-o', '/dev/null', '--wrap', 'sleep 120'], {
      env: slurmEnv(),
      encoding: 'utf8',
    });
    expect(hold.status).toBe(0);
    const holdId = hold.stdout.trim().split(';')[0]!;
    const svcDir = mkdtempSync(join(dir, 'svc-slots-'));
    const svc = await slurmService(['--max-concurrent-runs', '1'], svcDir);
    try {
      const c = await Client.connect(svc);
      const pending = await c.request('run.start', { file: model, duration: 0.2, partitions: 2, executor: 'slurm' });
      expect(pending.error).toBeUndefined();
      const slurmRun = pending.result!.run as string;
      await waitFor(() => existsSync(join(svc.runsDir, slurmRun, 'status.json')), 30_000);
      // it held the service's 2 slots (one per part, as a local run) while Slurm kept it pending, then one until
      // its job ended: this one waited
      const local = await c.request('run.start', { file: model, duration: 0.1 });
      expect(local.error).toBeUndefined();
      const localRun = local.result!.run as string;
      const end = Date.now() + 30_000;
      let state = '';
      while (!terminal((state = (await c.request('run.status', { run: localRun })).result!.state as string))) {
        if (Date.now() > end) break;
        await sleep(250);
      }
      expect(state).toBe('done');
      expect((await c.request('run.status', { run: slurmRun })).result!.state).toBe('queued');
      // held as well: the run's status says why Slurm keeps it pending (as root, JobHeldAdmin)
      const jobId = json<RunStatus>(join(svc.runsDir, slurmRun, 'status.json')).jobId!;
      expect(spawnSync('scontrol', ['hold', jobId], { env: slurmEnv() }).status).toBe(0);
      let why: unknown;
      for (const until = Date.now() + 30_000; Date.now() < until; await sleep(250)) {
        why = (await c.request('run.status', { run: slurmRun })).result!.slurmPending;
        if (typeof why === 'string' && why.startsWith('JobHeld')) break;
      }
      expect(why).toMatch(/^JobHeld(User|Admin)$/);
      const listed = (await c.request('run.list', {})).result!.runs as { run: string; slurmPending?: string }[];
      expect(listed.find((r) => r.run === slurmRun)!.slurmPending).toBe(why);
      await c.request('run.cancel', { run: slurmRun });
    } finally {
      spawnSync('scancel', [holdId], { env: slurmEnv() });
      await svc.stop();
    }
  }, 90_000);

  it('a run submitted from inside an array task records its own job id, not the task it inherited', async () => {
    const out = join(dir, 'nested');
    const env = { ...slurmEnv(), SLURM_ARRAY_JOB_ID: '77', SLURM_ARRAY_TASK_ID: '3', SLURM_JOB_ID: '80' };
    const r = await cli(env, 'run', model, '--executor', 'slurm', '--duration', '0.1', '--out', out);
    expect(r.code).toBe(0);
    const jobId = /job (\d+)/.exec(r.stdout)![1]!;
    await waitFor(() => terminal(json<RunStatus>(join(out, 'status.json')).state));
    expect(json<RunStatus>(join(out, 'status.json'))).toMatchObject({ state: 'done', jobId });
  });

  it('trials go as a job array and end done, each in its own folder as working directory; status summarises them', async () => {
    const out = join(dir, 'array');
    // the model leaves a file in its working directory: a trial's is its folder, as for local trials
    const marking = join(dir, 'marking.mjs');
    writeFileSync(
      marking,
      MODEL.replace(
        "import { Network } from 'nefsim';",
        "import { Network } from 'nefsim';\nimport { writeFileSync } from 'node:fs';",
      ).replace('return net;', "writeFileSync('ran-here.txt', '');\n  return net;"),
    );
    const r = await cli(slurmEnv(), 'run', marking, '--executor', 'slurm', '--trials', '2', '--duration', '0.2', '--out', out);
    expect(r.code).toBe(0);
    const id = /job array (\d+)/.exec(r.stdout)![1]!;
    expect(json<RunStatus>(join(out, 'trial-001', 'status.json')).jobId).toBe(`${id}_1`);
    await waitFor(() => ['trial-000', 'trial-001'].every((t) => terminal(json<RunStatus>(join(out, t, 'status.json')).state)));
    const st = await cli(slurmEnv(), 'status', out, '--json');
    const b = JSON.parse(st.stdout) as BatchStatus;
    expect(b).toMatchObject({ state: 'done', jobId: id, counts: { done: 2 } });
    expect(b.trials.map((t) => t.seed)).toEqual([3, 4]);
    expect((await cli(slurmEnv(), 'status', out)).stdout).toContain(`slurm job ${id}`);
    for (const t of ['trial-000', 'trial-001']) expect(existsSync(join(out, t, 'ran-here.txt')), t).toBe(true);
  });

  it('a folder with % in its path runs (Slurm reads % in --output as its patterns); one with a backslash is refused', async () => {
    // '%j' in the folder's name made Slurm open the job's output in a folder that does not exist: the
    // job failed before nefsim started, with no output anywhere
    const one = join(dir, 'at 50%j');
    const r = await cli(slurmEnv(), 'run', model, '--executor', 'slurm', '--duration', '0.1', '--out', one);
    expect(r.code).toBe(0);
    const jobId = /job (\d+)/.exec(r.stdout)![1]!;
    const batch = join(dir, 'sweep 10%A_%a');
    const b = await cli(slurmEnv(), 'run', model, '--executor', 'slurm', '--trials', '2', '--duration', '0.1', '--out', batch);
    expect(b.code).toBe(0);
    const arrayId = /job array (\d+)/.exec(b.stdout)![1]!;
    const runs = [one, join(batch, 'trial-000'), join(batch, 'trial-001')];
    await waitFor(() => runs.every((d) => terminal(json<RunStatus>(join(d, 'status.json')).state)));
    for (const d of runs) expect(json<RunStatus>(join(d, 'status.json')).state, d).toBe('done');
    await waitFor(() => existsSync(join(one, `slurm-${jobId}.out`)) && existsSync(join(batch, `slurm-${arrayId}_1.out`)));
    // a backslash turns Slurm's patterns off and is dropped from the path: refused before any folder is made
    const slash = join(dir, 'a\\b');
    const s = await cli(slurmEnv(), 'run', model, '--executor', 'slurm', '--out', slash);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('has a backslash in its path');
    expect(existsSync(slash)).toBe(false);
  });

  it("squeue's and scancel's defaults from the user's environment change nothing (SQUEUE_PARTITION, SQUEUE_STATES)", async () => {
    const out = join(dir, 'user-defaults');
    const r = await cli(slurmEnv(), 'run', model, '--executor', 'slurm', '--sbatch-arg=--hold', '--duration', '0.1', '--out', out);
    expect(r.code).toBe(0);
    // a partition filter hid the pending job: it read failed, 'gone from squeue'
    const st = await cli({ ...slurmEnv(), SQUEUE_PARTITION: 'elsewhere' }, 'status', out, '--json');
    expect((JSON.parse(st.stdout) as RunStatus).state).toBe('queued');
    // all states listed the cancelled job for minutes: cancel waited out its timeout and failed
    const c = await cli({ ...slurmEnv(), SQUEUE_STATES: 'all' }, 'cancel', out, '--timeout', '10');
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toContain(': cancelled');
  });

  it('status says why Slurm keeps a run, or the trials of a batch, pending', async () => {
    const out = join(dir, 'pending-why');
    const r = await cli(slurmEnv(), 'run', model, '--executor', 'slurm', '--sbatch-arg=--hold', '--duration', '0.1', '--out', out);
    expect(r.code).toBe(0);
    const batch = join(dir, 'pending-why-batch');
    const b = await cli(
      slurmEnv(),
      'run',
      model,
      '--executor',
      'slurm',
      '--sbatch-arg=--hold',
      '--trials',
      '2',
      '--duration',
      '0.1',
      '--out',
      batch,
    );
    expect(b.code).toBe(0);
    try {
      const st = await cli(slurmEnv(), 'status', out);
      expect(st.stdout).toMatch(/slurm job \d+; pending in Slurm: JobHeldUser/);
      expect((JSON.parse((await cli(slurmEnv(), 'status', out, '--json')).stdout) as RunStatus).slurmPending).toBe('JobHeldUser');
      const bs = await cli(slurmEnv(), 'status', batch);
      expect(bs.stdout).toContain('pending in Slurm: JobHeldUser (2 trials)');
      // not stored: status.json has no reason (a run that starts must not keep an old one)
      expect(readFileSync(join(out, 'status.json'), 'utf8')).not.toContain('slurmPending');
    } finally {
      await cli(slurmEnv(), 'cancel', out, '--timeout', '10');
      await cli(slurmEnv(), 'cancel', batch, '--timeout', '10');
    }
    // ended: no reason any more
    expect((JSON.parse((await cli(slurmEnv(), 'status', out, '--json')).stdout) as RunStatus).slurmPending).toBeUndefined();
  });

  it('a single run stays one job whatever SBATCH_ARRAY_INX and SBATCH_WAIT say', async () => {
    const out = join(dir, 'sbatch-defaults');
    const env = { ...slurmEnv(), SBATCH_ARRAY_INX: '0-2', SBATCH_WAIT: '1' };
    const r = await cli(env, 'run', model, '--executor', 'slurm', '--sbatch-arg=--hold', '--duration', '0.1', '--out', out);
    expect(r.code).toBe(0);
    const jobId = /job (\d+)/.exec(r.stdout)![1]!;
    try {
      // three array tasks ran the one folder at once
      const listed = spawnSync('squeue', ['-h', '-r', '-o', '%i', '-j', jobId], { env: slurmEnv(), encoding: 'utf8' }).stdout.trim();
      expect(listed).toBe(jobId);
    } finally {
      spawnSync('scancel', [jobId], { env: slurmEnv() });
    }
  });

  it('an array larger than MaxArraySize is refused with a message that names the limit', async () => {
    const max = Number(
      /MaxArraySize\s*=\s*(\d+)/.exec(spawnSync('scontrol', ['show', 'config'], { env: slurmEnv(), encoding: 'utf8' }).stdout)![1],
    );
    const out = join(dir, 'too-many');
    // held (-H): were the array accepted, nothing would run
    const r = await cli(
      slurmEnv(),
      'run',
      model,
      '--executor',
      'slurm',
      '--trials',
      String(max + 1),
      '--duration',
      '0.1',
      '--sbatch-arg=-H',
      '--out',
      out,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Invalid job array specification');
    expect(r.stderr).toContain(`the array has tasks 0-${max}`);
    expect(r.stderr).toContain('MaxArraySize');
  });

  it('cancel: scancel stops the running trial (cancelled, data flushed) and the pending one never starts', async () => {
    const out = join(dir, 'cancel');
    const r = await cli(
      slurmEnv(),
      'run',
      model,
      '--executor',
      'slurm',
      '--trials',
      '2',
      '--jobs',
      '1',
      '--duration',
      // long enough never to end before the cancel: 20 neurons run 2,000 s in a few seconds here
      '200000',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    await waitFor(() => json<RunStatus>(join(out, 'trial-000', 'status.json')).stepsFlushed > 0);
    expect(json<RunStatus>(join(out, 'trial-001', 'status.json')).state).toBe('queued');
    expect((await cli(slurmEnv(), 'status', out)).stdout).toContain('1 running, 1 queued');
    const c = await cli(slurmEnv(), 'cancel', out);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const t0 = json<RunStatus>(join(out, 'trial-000', 'status.json'));
    expect(t0.state).toBe('cancelled');
    expect(t0.stepsFlushed).toBe(t0.steps);
    expect(json<ExitRecord>(join(out, 'trial-000', 'exit.json')).error).toContain('SIGTERM');
    expect(json<ExitRecord>(join(out, 'trial-001', 'exit.json')).error).toContain('before it started');
    expect((await cli(slurmEnv(), 'status', out)).stdout).toContain(': cancelled');
  });

  it('a job gone from squeue without the run recording its end is reported failed', async () => {
    const out = join(dir, 'gone');
    const r = await cli(
      slurmEnv(),
      'run',
      model,
      '--executor',
      'slurm',
      '--trials',
      '2',
      '--jobs',
      '1',
      '--duration',
      '100000',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const id = /job array (\d+)/.exec(r.stdout)![1]!;
    await waitFor(() => json<RunStatus>(join(out, 'trial-000', 'status.json')).stepsFlushed > 0);
    // Cancel the pending task behind nefsim's back: it never starts, and nothing records its end.
    expect(spawnSync('scancel', [`${id}_1`], { env: slurmEnv() }).status).toBe(0);
    await waitFor(() => {
      const st = spawnSync('squeue', ['-h', '-r', '-j', id, '-o', '%i'], { env: slurmEnv(), encoding: 'utf8' }).stdout;
      return !st.includes(`${id}_1`);
    });
    await sleep(1100); // squeue answers are cached for a second
    const js = JSON.parse((await cli(slurmEnv(), 'status', join(out, 'trial-001'), '--json')).stdout) as RunStatus;
    expect(js.state).toBe('failed');
    expect(js.error).toContain(`the Slurm job ${id}_1 is gone from squeue and the run never started`);
    const c = await cli(slurmEnv(), 'cancel', out);
    expect(c.code).toBe(1); // the batch ends failed: one trial failed
    expect(json<RunStatus>(join(out, 'trial-000', 'status.json')).state).toBe('cancelled');
    expect(c.stdout).toContain(': failed');
  });
});
