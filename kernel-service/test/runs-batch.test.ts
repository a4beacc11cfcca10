/**
 * Trials and sweeps through the built CLI (`npm run build` first): each
 * trial a run folder of its own, J at a time (in worker processes that run
 * trials one after another, or a process per trial), aggregate status, a
 * failing trial not stopping the others, cancel of a trial or a whole batch,
 * a worker that dies.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import h5wasm from 'h5wasm/node';
import type { Dataset } from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchExit, BatchPlan, BatchStatus } from '../src/runs/batch.js';
import { ENGINE_NODE_FLAGS } from '../src/engine/node-flags.js';
import { processStartTime, type ExitRecord, type RunOptions, type RunStatus } from '../src/runs/folder.js';
import { canMount, withTmpfs } from './tmpfs.js';
import { BIN, rmLive, runCli, type CliResult } from './cli-harness.js';

const MODEL = `import { Network } from 'nefsim';
import { writeFileSync } from 'node:fs';
export default (p = {}) => {
  console.log('model made with gain', p.gain ?? 1);
  writeFileSync('made.txt', String(p.gain ?? 1)); // in the working directory: the trial's folder
  const net = new Network({ label: 'ch', seed: 3 });
  const stim = net.node((t) => Math.sin(8 * t) * (p.gain ?? 1), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'a' });
  net.connect(stim, a);
  net.probe(a, { synapse: 0.01, label: 'a' });
  net.probe(stim, { label: 'sin' });
  net.probe(net.node([0.5]), { label: 'c' }); // an unlabeled node: its name is its number
  if (p.fail) net.node((t) => { if (t > 0.05) throw new Error('sensor offline'); return [0]; }, { label: 'bomb' });
  if (p.broken) throw new Error('no such sensor');
  return net;
};
`;

let dir: string;
let model: string;
const detached: string[] = [];

type Cli = CliResult;
const cli = (...args: string[]): Promise<Cli> => runCli(dir, args);
const json = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(pred: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}
function attribute(path: string, name: string, attr: string): unknown {
  const f = new h5wasm.File(path, 'r');
  try {
    return (f.get(name) as Dataset).attrs[attr]?.value;
  } finally {
    f.close();
  }
}
/** Trial worker processes whose working directory is in `out` (a batch folder). */
function workersIn(out: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readFileSync(`/proc/${e}/cmdline`, 'utf8').includes('_worker')) continue;
      if (readlinkSync(`/proc/${e}/cwd`).startsWith(out)) pids.push(Number(e));
    } catch {
      // gone
    }
  }
  return pids;
}
function dataset(path: string, name: string): Float64Array {
  const f = new h5wasm.File(path, 'r');
  try {
    return (f.get(name) as Dataset).value as Float64Array;
  } finally {
    f.close();
  }
}

beforeAll(async () => {
  if (!existsSync(fileURLToPath(new URL('../lib/runs/batch.js', import.meta.url))))
    throw new Error('runs-batch.test.ts spawns the built CLI: run `npm run build` first');
  await h5wasm.ready;
  dir = mkdtempSync(join(tmpdir(), 'nefsim-batch-'));
  model = join(dir, 'm.mjs');
  writeFileSync(model, MODEL);
});

afterAll(() => {
  for (const out of detached) {
    try {
      const plan = json<BatchPlan>(join(out, 'batch.json'));
      for (const t of plan.trials) {
        const s = json<RunStatus>(join(out, t.dir, 'status.json'));
        if (processStartTime(s.pid) === s.processStart) process.kill(-s.pid, 'SIGKILL');
      }
      const b = json<BatchStatus>(join(out, 'status.json'));
      if (processStartTime(b.pid) === b.processStart) process.kill(b.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nefsim run --trials', () => {
  it('runs N trials with seeds seed, seed+1, ..., each a run folder identical to a single run with that seed', async () => {
    const out = join(dir, 'trials');
    const r = await cli('run', model, '--trials', '3', '--jobs', '2', '--seed', '10', '--duration', '0.2', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = json<BatchPlan>(join(out, 'batch.json'));
    expect(plan).toMatchObject({ kind: 'trials', executor: 'local', jobs: 2 });
    expect(plan.trials.map((t) => [t.dir, t.seed])).toEqual([
      ['trial-000', 10],
      ['trial-001', 11],
      ['trial-002', 12],
    ]);
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st).toMatchObject({
      kind: 'batch',
      state: 'done',
      counts: { done: 3, failed: 0, queued: 0, running: 0 },
      steps: 600,
      stepsTotal: 600,
    });
    expect(json<BatchExit>(join(out, 'exit.json'))).toMatchObject({ state: 'done', exitCode: 0 });
    for (const t of plan.trials) {
      expect(json<RunOptions>(join(out, t.dir, 'options.json'))).toMatchObject({ seed: t.seed, trial: t.index, duration: 0.2 });
      expect(json<ExitRecord>(join(out, t.dir, 'exit.json')).state).toBe('done');
    }
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toMatch(/trial-002 done/);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toContain('in worker processes that run trials one after another');
    const a0 = dataset(join(out, 'trial-000', 'probes.h5'), 'probes/a');
    const a1 = dataset(join(out, 'trial-001', 'probes.h5'), 'probes/a');
    expect(Buffer.from(a0.buffer).equals(Buffer.from(a1.buffer))).toBe(false); // other seed, other neurons
    // at most two workers for three trials: one of them ran a trial after another one, with another seed
    const pids = plan.trials.map((t) => json<RunStatus>(join(out, t.dir, 'status.json')).pid);
    expect(new Set(pids).size).toBeLessThanOrEqual(2);
    const second = pids.findIndex((p, i) => pids.indexOf(p) < i);
    expect(second).toBeGreaterThan(0);
    // each trial's output (the model's console.log) is in its own log, and its files in its own folder
    expect(readFileSync(join(out, 'trial-002', 'log.txt'), 'utf8').match(/model made with gain/g)).toHaveLength(1);
    expect(existsSync(join(out, 'trial-002', 'made.txt'))).toBe(true);
    // the workers end with the batch
    await waitFor(() => workersIn(out).length === 0);

    // A single run with a trial's seed gives the same bits and names (same code path, whatever ran before in the worker).
    for (const k of new Set([1, second])) {
      const single = join(dir, `single${k}`);
      const t = join(out, plan.trials[k]!.dir, 'probes.h5');
      expect((await cli('run', model, '--seed', String(10 + k), '--duration', '0.2', '--out', single)).code).toBe(0);
      const trial = dataset(t, 'probes/a');
      expect(Buffer.from(dataset(join(single, 'probes.h5'), 'probes/a').buffer).equals(Buffer.from(trial.buffer))).toBe(true);
      expect(attribute(t, 'probes/c', 'target')).toBe(attribute(join(single, 'probes.h5'), 'probes/c', 'target'));
    }

    const s = await cli('status', out);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(': done (3 trials: 3 done');
    expect(s.stdout).toMatch(/trial-001\s+done\s+100%.*seed 11/);
    const js = JSON.parse((await cli('status', out, '--json')).stdout) as BatchStatus;
    expect(js.trials).toHaveLength(3);
    // Each trial folder is a run folder of its own.
    expect((await cli('status', join(out, 'trial-002'))).stdout).toContain(': done');
  });

  it('a sweep passes each parameter object to the model function; a failing trial does not stop the others', async () => {
    const sweep = join(dir, 'sweep.json');
    // the fourth fails while its run loads the model, with its writer thread already started
    writeFileSync(sweep, JSON.stringify([{ gain: 1 }, { gain: 2, fail: true }, { gain: 0.5 }, { broken: true }]));
    const out = join(dir, 'sweep');
    const r = await cli('run', model, '--sweep', sweep, '--jobs', '1', '--duration', '0.1', '--out', out);
    expect(r.code).toBe(1);
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.state).toBe('failed');
    expect(st.counts).toMatchObject({ done: 2, failed: 2 });
    expect(st.trials[1]).toMatchObject({ state: 'failed', object: "Node 'bomb'", params: { gain: 2, fail: true } });
    expect(st.trials[1]!.error).toContain('sensor offline');
    expect(st.trials[3]).toMatchObject({ state: 'failed', params: { broken: true } });
    expect(st.trials[3]!.error).toContain('no such sensor');
    expect(existsSync(join(out, 'trial-003', 'probes.h5'))).toBe(false);
    expect(json<RunOptions>(join(out, 'trial-002', 'options.json')).params).toEqual({ gain: 0.5 });
    // one worker ran all four, one after another; each trial's output went to its own log
    expect(new Set(st.trials.map((t) => json<RunStatus>(join(out, t.dir, 'status.json')).pid)).size).toBe(1);
    const log2 = readFileSync(join(out, 'trial-002', 'log.txt'), 'utf8');
    expect(log2).toContain('model made with gain 0.5');
    expect(log2).not.toContain('gain 2');
    expect(readFileSync(join(out, 'trial-002', 'made.txt'), 'utf8')).toBe('0.5');
    const sin = dataset(join(out, 'trial-002', 'probes.h5'), 'probes/sin');
    const t = dataset(join(out, 'trial-002', 'probes.h5'), 'time');
    expect(sin[49]).toBe(Math.sin(8 * t[49]!) * 0.5);
    const s = await cli('status', out);
    expect(s.stdout).toContain('2 failed');
    expect(s.stdout).toContain("object at fault: Node 'bomb'");
    // --params reproduces one trial from its folder alone.
    const p = join(dir, 'p.json');
    writeFileSync(p, JSON.stringify(json<RunOptions>(join(out, 'trial-002', 'options.json')).params));
    const again = join(dir, 'again');
    expect((await cli('run', join(out, 'trial-002', 'model.mjs'), '--params', p, '--duration', '0.1', '--out', again)).code).toBe(0);
    expect(
      Buffer.from(dataset(join(again, 'probes.h5'), 'probes/a').buffer).equals(
        Buffer.from(dataset(join(out, 'trial-002', 'probes.h5'), 'probes/a').buffer),
      ),
    ).toBe(true);
  });

  it("a sweep records each parameter set's seed (its network's own, else one fresh seed), and a first set that throws fails only its trial", async () => {
    const seeded = join(dir, 'seeded-sweep.mjs');
    writeFileSync(
      seeded,
      `import { Network } from 'nefsim';
export default ({ seed, n = 20 } = {}) => {
  if (n < 0) throw new Error('n must be at least 0, got ' + n);
  const net = new Network({ label: 's', seed });
  const a = net.ensemble({ nNeurons: n, dimensions: 1, label: 'a' });
  net.connect(net.node([0.5], { label: 'in' }), a);
  net.probe(a, { synapse: 0.01, label: 'a' });
  return net;
};
`,
    );
    const sweep = join(dir, 'seeded-sweep.json');
    writeFileSync(sweep, JSON.stringify([{ n: -5 }, { seed: 5 }, {}, { n: 30 }]));
    const out = join(dir, 'seeded-sweep');
    const r = await cli('run', seeded, '--sweep', sweep, '--jobs', '1', '--duration', '0.05', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('parameter set 0 fails, so will its trial');
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.counts).toMatchObject({ done: 3, failed: 1 });
    expect(st.trials[0]!.error).toContain('n must be at least 0, got -5');
    const seeds = st.trials.map((t) => json<RunOptions>(join(out, t.dir, 'options.json')).seed);
    expect(seeds[1]).toBe(5);
    expect(Number.isInteger(seeds[2])).toBe(true);
    expect(seeds[3]).toBe(seeds[2]); // the unseeded sets share one fresh seed
    expect(seeds[0]).toBe(seeds[2]); // and so does the failing one
    for (const i of [1, 2, 3]) expect(readFileSync(join(out, `trial-00${i}`, 'log.txt'), 'utf8')).toContain(`(seed ${seeds[i]})`);
  });

  it("the README's example modules run as the README shows: examples/model.mjs as trials, examples/sweep-model.mjs over examples/sweep-params.json", async () => {
    const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
    // one trial at a time, 50 steps each
    const short = (out: string, model: string, ...batch: string[]): Promise<Cli> =>
      cli('run', join(examples, model), ...batch, '--jobs', '1', '--duration', '0.05', '--out', out);
    const seeds = join(dir, 'example-seeds');
    const r = await short(seeds, 'model.mjs', '--trials', '2', '--seed', '100');
    expect(r.code, r.stderr).toBe(0);
    const st = json<BatchStatus>(join(seeds, 'status.json'));
    expect(st.counts).toMatchObject({ done: 2 });
    expect(st.trials.map((t) => t.seed)).toEqual([100, 101]);
    expect(dataset(join(seeds, 'trial-001', 'probes.h5'), 'probes/square').length).toBe(50);
    const sweep = join(dir, 'example-sweep');
    const s = await short(sweep, 'sweep-model.mjs', '--sweep', join(examples, 'sweep-params.json'));
    expect(s.code, s.stderr).toBe(0);
    const ss = json<BatchStatus>(join(sweep, 'status.json'));
    expect(ss.counts).toMatchObject({ done: 2 });
    expect(ss.trials.map((t) => t.params)).toEqual([{ tau: 0.01 }, { tau: 0.1 }]);
  });

  it('refuses bad batch options with messages naming the option', async () => {
    const bad = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const cases: [string[], string][] = [
      [['--trials', '0'], '--trials must be an integer from 1'],
      [['--trials', '2.5'], '--trials must be an integer'],
      [['--trials', '2', '--jobs', '0'], '--jobs must be an integer from 1 to 1024'],
      [['--jobs', '2'], '--jobs only applies to --trials or --sweep'],
      [['--trials', '2', '--sweep', 'x.json'], 'give --trials or --sweep, not both'],
      [['--sweep', join(dir, 'nope.json')], 'nope.json: no such file'],
      [['--sweep', bad('s1.json', '{')], 'not valid JSON'],
      [['--sweep', bad('s2.json', '{"a":1}')], 'expected a JSON array of parameter objects, got object'],
      [['--sweep', bad('s3.json', '[]')], 'the array is empty'],
      [['--sweep', bad('s4.json', '[{"a":1}, 3]')], 'entry 1 must be an object of parameters, got number'],
      [['--params', bad('p1.json', '[1]')], '--params'],
      [['--executor', 'mpi'], '--executor must be'],
      [['--process-per-trial'], '--process-per-trial only applies to --trials or --sweep'],
      [['--trials', '3', '--seed', String(2 ** 32 - 2)], 'do not fit in [0, 2^32)'],
    ];
    for (const [args, msg] of cases) {
      const r = await cli('run', model, '--out', join(dir, 'never'), ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(msg);
    }
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const net = bad('net.mjs', "import { Network } from 'nefsim';\nexport default new Network();\n");
    const r = await cli('run', net, '--sweep', join(dir, 'sweep.json'), '--out', join(dir, 'never'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a sweep needs the default export to be a function');
  });

  it('--detach: status summarises the trials while they run; cancel stops them all', async () => {
    const out = join(dir, 'long');
    detached.push(out);
    const r = await cli('run', model, '--trials', '3', '--jobs', '2', '--duration', '20000', '--out', out, '--detach');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(out); // after what the model printed while nefsim run checked it
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 2);
    // the batch's process and its trials' worker processes run with the engine's Node flags
    const running = ['trial-000', 'trial-001'].map((t) => json<RunStatus>(join(out, t, 'status.json')).pid);
    for (const pid of [json<BatchStatus>(join(out, 'status.json')).pid, ...running]) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      for (const flag of ENGINE_NODE_FLAGS) expect(argv, `process ${pid}`).toContain(flag);
    }
    const s = await cli('status', out);
    expect(s.stdout).toContain(': running (3 trials: 0 done, 2 running, 1 queued');
    const c = await cli('cancel', out);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.state).toBe('cancelled');
    expect(st.counts).toMatchObject({ cancelled: 3, running: 0, queued: 0 });
    expect(json<ExitRecord>(join(out, 'trial-000', 'exit.json')).state).toBe('cancelled');
    expect(json<ExitRecord>(join(out, 'trial-002', 'exit.json')).error).toContain('before it started');
    expect((await cli('cancel', out)).stdout).toContain('already cancelled');
  });

  it.skipIf(!canMount)(
    'cancel from another pid namespace (a container), where no signal reaches: through cancel.json in the folders',
    async () => {
      const out = join(dir, 'long-ns');
      detached.push(out);
      expect((await cli('run', model, '--trials', '3', '--jobs', '2', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
      await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 2);
      const c = await new Promise<Cli>((resolve) =>
        execFile(
          'unshare',
          ['--pid', '--fork', '--mount-proc', process.execPath, BIN, 'cancel', out],
          { cwd: dir, timeout: 50_000 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        ),
      );
      expect(c.stderr).toBe('');
      expect(c.stdout).toContain(`${out}: its process`);
      expect(c.stdout).toContain('asked it to cancel through cancel.json');
      expect(c.code).toBe(0);
      const st = json<BatchStatus>(join(out, 'status.json'));
      expect(st.state).toBe('cancelled');
      expect(st.counts).toMatchObject({ cancelled: 3, running: 0, queued: 0 });
      expect(json<ExitRecord>(join(out, 'trial-000', 'exit.json')).error).toMatch(
        /^cancelled by a cancel request \(nefsim cancel on host /,
      );
      expect(json<ExitRecord>(join(out, 'trial-002', 'exit.json')).error).toContain('before it started');
      expect(existsSync(join(out, 'exit.json'))).toBe(true); // the batch process recorded its end itself
      await waitFor(() => workersIn(out).length === 0);
    },
  );

  it('between two trials the batch stays running, so a cancel then stops it: no queued trial starts', async () => {
    const out = join(dir, 'between');
    detached.push(out);
    expect((await cli('run', model, '--trials', '4', '--jobs', '1', '--duration', '1500', '--out', out, '--detach')).code).toBe(0);
    // the status the batch process writes once the first trial has ended, before the next one shows as running
    let between: BatchStatus | undefined;
    for (const end = Date.now() + 30_000; !between && Date.now() < end; await sleep(5)) {
      let st: BatchStatus;
      try {
        st = json<BatchStatus>(join(out, 'status.json'));
      } catch {
        continue; // not written yet
      }
      if (st.counts?.done === 1 && st.counts.running === 0) between = st;
    }
    expect(between?.state).toBe('running');
    const c = await cli('cancel', out);
    expect(c.code).toBe(0);
    expect(json<BatchStatus>(join(out, 'status.json')).counts).toMatchObject({ done: 1, cancelled: 3 });
    for (const t of ['trial-002', 'trial-003']) expect(json<ExitRecord>(join(out, t, 'exit.json')).error).toContain('before it started');
  });

  /**
   * A stand-in for a batch process and its trials: a finished batch's folder made to name it as both, running.
   * It writes 'running' heartbeats every 20 ms; on SIGTERM its trials end at once and it runs `onTerm`.
   */
  async function standInDriver(name: string, onTerm: string) {
    const out = join(dir, name);
    expect((await cli('run', model, '--trials', '2', '--duration', '0.05', '--out', out)).code).toBe(0);
    const statusFile = join(out, 'status.json');
    const trialFiles = ['trial-000', 'trial-001'].map((t) => join(out, t, 'status.json'));
    const script = `const fs = require('node:fs');
const statusFile = ${JSON.stringify(statusFile)};
const put = (f, state) => { const s = JSON.parse(fs.readFileSync(f, 'utf8')); fs.writeFileSync(f + '.tmp', JSON.stringify({ ...s, state, heartbeat: Date.now() })); fs.renameSync(f + '.tmp', f); };
const beat = setInterval(() => put(statusFile, 'running'), 20);
process.on('SIGTERM', () => {
  for (const f of ${JSON.stringify(trialFiles)}) put(f, 'cancelled');
  ${onTerm}
});
process.send('ready');`;
    const driver = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise((r) => driver.once('message', r));
    const me = { state: 'running', pid: driver.pid, processStart: processStartTime(driver.pid!), heartbeat: Date.now() };
    // (written whole, as the batch writes it: the stand-in reads the file every 20 ms)
    for (const f of [statusFile, ...trialFiles]) {
      writeFileSync(`${f}.new`, JSON.stringify({ ...json<object>(f), ...me }));
      renameSync(`${f}.new`, f);
    }
    const exited = new Promise<number | null>((r) => driver.once('exit', r));
    return { out, statusFile, driver, exited };
  }

  it("cancel waits for a live batch process to record the end itself: its last heartbeat cannot put 'running' back", async () => {
    // As a real one can between its trials' end and its own last write, it goes on writing 'running' for 400 ms
    // before it records 'cancelled': the state derived from the trials reads terminal long before that.
    const d = await standInDriver(
      'late-driver',
      "setTimeout(() => { clearInterval(beat); put(statusFile, 'cancelled'); process.exit(0); }, 400);",
    );
    try {
      const c = await cli('cancel', d.out);
      expect(c.stderr).toBe('');
      expect(c.code).toBe(0);
      await sleep(100); // a heartbeat would have landed by now
      expect(json<BatchStatus>(d.statusFile).state).toBe('cancelled');
      expect(await d.exited).toBe(0); // the stand-in lived to write the end itself
    } finally {
      d.driver.kill('SIGKILL');
    }
  });

  it('cancel records the end itself when the live batch process does not within 5 s of its trials (stopped, say)', async () => {
    const d = await standInDriver('stopped-driver', "clearInterval(beat); process.kill(process.pid, 'SIGSTOP');");
    try {
      const c = await cli('cancel', d.out);
      expect(c.stderr).toBe('');
      expect(c.code).toBe(0);
      expect(json<BatchStatus>(d.statusFile).state).toBe('cancelled');
    } finally {
      d.driver.kill('SIGKILL');
    }
  });

  it('nefsim cancel of a trial still queued: it never starts, and the others go on', async () => {
    const out = join(dir, 'one-queued');
    detached.push(out);
    expect((await cli('run', model, '--trials', '3', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 1);
    const c = await cli('cancel', join(out, 'trial-002'), '--timeout', '5');
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(json<ExitRecord>(join(out, 'trial-002', 'exit.json')).error).toContain('before it started');
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.state).toBe('running');
    expect(json<RunStatus>(join(out, 'trial-000', 'status.json')).state).toBe('running');
    expect((await cli('cancel', out)).code).toBe(0);
    expect(json<BatchStatus>(join(out, 'status.json')).counts).toMatchObject({ cancelled: 3 });
    expect(json<ExitRecord>(join(out, 'trial-002', 'exit.json')).error).toContain('nefsim cancel before it started');
  });

  it('kill -9 of the batch process: trials not started are reported failed, running ones go on and can be cancelled', async () => {
    const out = join(dir, 'orphans');
    detached.push(out);
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 1);
    const driver = json<BatchStatus>(join(out, 'status.json')).pid;
    process.kill(driver, 'SIGKILL');
    await waitFor(() => !existsSync(`/proc/${driver}`) || readFileSync(`/proc/${driver}/stat`, 'utf8').includes(') Z'));
    await sleep(600);
    const js = JSON.parse((await cli('status', out, '--json', '--stale', '0.5')).stdout) as BatchStatus;
    expect(js.state).toBe('running'); // trial-000 still runs
    expect(js.error).toContain('the batch process');
    expect(js.trials[1]!.state).toBe('failed');
    expect(js.trials[1]!.error).toContain('it never started: the process that was to start it');
    const c = await cli('cancel', out);
    expect(c.stdout).toMatch(/trial-000\s+cancelled/);
    expect(json<RunStatus>(join(out, 'trial-000', 'status.json')).state).toBe('cancelled');
  });

  it('a queued trial whose folder is deleted while it waits fails saying so; the batch runs the others and ends', async () => {
    const out = join(dir, 'deleted-trial');
    detached.push(out);
    expect((await cli('run', model, '--trials', '3', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 1);
    rmSync(join(out, 'trial-001'), { recursive: true, force: true });
    // end trial-000 early, so that the batch reaches trial-001
    expect((await cli('cancel', join(out, 'trial-000'))).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).trials?.[2]?.state === 'running', 30_000);
    expect((await cli('cancel', join(out, 'trial-002'))).code).toBe(0);
    await waitFor(() => existsSync(join(out, 'exit.json')), 30_000);
    const ex = json<BatchExit>(join(out, 'exit.json'));
    expect(ex.trials.map((t) => t.state)).toEqual(['cancelled', 'failed', 'cancelled']);
    expect(ex.trials[1]!.error).toMatch(/^its folder trial-001 is gone or damaged \(ENOENT/);
    const st = JSON.parse((await cli('status', out, '--json')).stdout) as BatchStatus;
    expect(st.trials[1]).toMatchObject({ state: 'failed' });
    expect(st.trials[1]!.error).toContain('is gone or damaged');
    expect(readdirSync(out)).not.toContain('.nefsim-reserve');
  });

  it('a running trial whose folder is deleted fails saying so; the batch runs the others and records its end', async () => {
    const out = join(dir, 'deleted-running-trial');
    detached.push(out);
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 1);
    // the run stops at its next status update (its options.json is gone), and the batch reaches trial-001
    // (retried: a status update under way as rm empties the folder can make its rmdir fail, ENOTEMPTY)
    await rmLive(join(out, 'trial-000'));
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).trials?.[1]?.state === 'running', 30_000);
    expect((await cli('cancel', join(out, 'trial-001'))).code).toBe(0);
    await waitFor(() => existsSync(join(out, 'exit.json')), 30_000);
    const ex = json<BatchExit>(join(out, 'exit.json'));
    expect(ex.trials.map((t) => t.state)).toEqual(['failed', 'cancelled']);
    expect(ex.trials[0]!.error).toMatch(/^its folder trial-000 was deleted or damaged while it ran \(ENOENT/);
    expect(ex.counts).toMatchObject({ failed: 1, cancelled: 1, done: 0 });
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).not.toContain('node:fs');
  });

  it('a running trial whose folder is renamed goes on there; the batch records it failed, saying where it went (not deleted)', async () => {
    const out = join(dir, 'renamed-trial');
    detached.push(out);
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 1);
    const moved = join(out, 'kept-000');
    renameSync(join(out, 'trial-000'), moved);
    // the trial goes on in its new folder (runner.ts follows it), until it is cancelled there
    const at = json<RunStatus>(join(moved, 'status.json')).steps;
    await waitFor(() => json<RunStatus>(join(moved, 'status.json')).steps > at + 1000, 20_000);
    expect((await cli('cancel', moved)).code).toBe(0);
    expect(json<ExitRecord>(join(moved, 'exit.json')).state).toBe('cancelled');
    // its log lines after the rename are in its log, as a run's in a process of its own (a worker's went to
    // the old path, and were lost)
    const log = readFileSync(join(moved, 'log.txt'), 'utf8');
    expect(log).toContain(`its run folder was moved to ${moved}: the run goes on there`);
    expect(log).toMatch(/run cancelled at t = /);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).trials?.[1]?.state === 'running', 30_000);
    expect((await cli('cancel', join(out, 'trial-001'))).code).toBe(0);
    await waitFor(() => existsSync(join(out, 'exit.json')), 30_000);
    const ex = json<BatchExit>(join(out, 'exit.json'));
    expect(ex.trials.map((t) => t.state)).toEqual(['failed', 'cancelled']);
    // it said 'deleted or damaged while it ran'
    expect(ex.trials[0]!.error).toBe(
      `its folder trial-000 was moved to ${moved} while it ran: the trial went on there, outside the batch, and its records are there`,
    );
    expect((await cli('status', out)).stdout).toContain(`trial-000  failed`);
    expect((await cli('status', out)).stdout).toContain(`was moved to ${moved} while it ran`);
  });

  it('a batch that ended done and then lost a trial folder reads failed, as a batch whose trial failed while it ran', async () => {
    const out = join(dir, 'done-then-deleted');
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '0.05', '--out', out)).code).toBe(0);
    rmSync(join(out, 'trial-001'), { recursive: true, force: true });
    const s = await cli('status', out);
    expect(s.code).toBe(0);
    // it read 'done' next to '1 failed'
    expect(s.stdout).toContain(': failed (2 trials: 1 done, 0 running, 0 queued, 1 failed');
    expect(s.stdout).toMatch(/trial-001\s+failed .*its folder trial-001 is gone or damaged/);
    expect((JSON.parse((await cli('status', out, '--json')).stdout) as BatchStatus).state).toBe('failed');
  });

  it('a batch whose folder is renamed while it runs goes on there: its next trials run, and it records its end there', async () => {
    const out = join(dir, 'to-rename');
    const moved = join(dir, 'renamed-batch');
    detached.push(moved);
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    await waitFor(() => json<BatchStatus>(join(out, 'status.json')).counts?.running === 1);
    renameSync(out, moved); // mv, or a rename in JupyterLab's file browser
    // the running trial goes on (runner.ts follows its folder); ended, the batch starts the next one
    const c0 = await cli('cancel', join(moved, 'trial-000'));
    expect(c0.code, c0.stdout + c0.stderr).toBe(0);
    // it failed the other trials, 'gone or damaged', and could not record its end
    await waitFor(() => json<BatchStatus>(join(moved, 'status.json')).trials?.[1]?.state === 'running', 30_000);
    expect((await cli('cancel', join(moved, 'trial-001'))).code).toBe(0);
    await waitFor(() => existsSync(join(moved, 'exit.json')), 30_000);
    expect(json<BatchExit>(join(moved, 'exit.json')).trials.map((t) => t.state)).toEqual(['cancelled', 'cancelled']);
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(join(moved, 'log.txt'), 'utf8')).toContain(`its batch folder was moved to ${moved}`);
  });

  it('--process-per-trial, or a model that imports another module: a fresh process for each trial', async () => {
    const out = join(dir, 'fresh');
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '0.05', '--process-per-trial', '--out', out)).code).toBe(
      0,
    );
    expect(json<BatchPlan>(join(out, 'batch.json')).processPerTrial).toBe(true);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toContain('one process per trial');
    const pid = (t: string, o = out): number => json<RunStatus>(join(o, t, 'status.json')).pid;
    expect(pid('trial-000')).not.toBe(pid('trial-001'));
    expect(json<BatchStatus>(join(out, 'status.json')).counts.done).toBe(2);

    // a helper module would be shared by the trials of a worker: such a model gets a process per trial
    const helper = join(dir, 'helper.mjs');
    writeFileSync(helper, 'export let calls = 0;\nexport const count = () => ++calls;\n');
    const counting = join(dir, 'counting.mjs');
    writeFileSync(
      counting,
      `import { count } from ${JSON.stringify(helper)};\nimport { Network } from 'nefsim';\nconsole.log('helper calls', count());\n` +
        'const net = new Network({ seed: 1 });\nnet.ensemble({ nNeurons: 5, dimensions: 1 });\nexport default net;\n',
    );
    const out2 = join(dir, 'counting');
    expect((await cli('run', counting, '--trials', '2', '--jobs', '1', '--duration', '0.01', '--out', out2)).code).toBe(0);
    expect(readFileSync(join(out2, 'log.txt'), 'utf8')).toContain('one process per trial (the model imports modules other than nefsim');
    expect(pid('trial-000', out2)).not.toBe(pid('trial-001', out2));
    expect(readFileSync(join(out2, 'trial-001', 'log.txt'), 'utf8')).toContain('helper calls 1');
  });

  // A real full disk: a tmpfs of 600 KiB (mounting needs root, as in CI; elsewhere the test is skipped).
  it.runIf(canMount)(
    'a disk the trials fill: every trial fails with the reason, and the batch ends and records it instead of hanging',
    () =>
      withTmpfs(600, async (mnt) => {
        const out = join(mnt, 'batch');
        const t0 = Date.now();
        // each trial would write about 3.2 MB
        const r = await cli('run', model, '--duration', '100', '--trials', '4', '--jobs', '2', '--out', out);
        expect(r.code, r.stderr).toBe(1);
        expect(Date.now() - t0).toBeLessThan(40_000); // ended by itself, not by the cli's timeout
        const ex = json<BatchExit>(join(out, 'exit.json'));
        expect(ex.state).toBe('failed');
        expect(ex.counts).toMatchObject({ failed: 4, done: 0, running: 0, queued: 0 });
        expect(json<BatchStatus>(join(out, 'status.json')).state).toBe('failed');
        for (const t of ex.trials) expect(t.error, t.dir).toMatch(/no space left on device/i);
        // and so says `nefsim status` after the batch, also of a trial whose folder could not record it
        const st = JSON.parse((await cli('status', out, '--json')).stdout) as BatchStatus;
        for (const t of st.trials) expect(t.error, `status of ${t.dir}`).toMatch(/no space left on device/i);
        expect(readdirSync(out)).not.toContain('.nefsim-reserve');
        await waitFor(() => workersIn(out).length === 0, 10_000);
      }),
  );

  it('a worker: cancel of its trial ends only that trial, it goes on with the next; kill -9 fails its trial and a new worker takes the rest', async () => {
    const out = join(dir, 'worker');
    detached.push(out);
    expect((await cli('run', model, '--trials', '3', '--jobs', '1', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    const status = (t: string): RunStatus => json<RunStatus>(join(out, t, 'status.json'));
    await waitFor(() => status('trial-000').state === 'running');
    const worker = status('trial-000').pid;
    const c = await cli('cancel', join(out, 'trial-000'));
    expect(c.code).toBe(0);
    expect(json<ExitRecord>(join(out, 'trial-000', 'exit.json'))).toMatchObject({
      state: 'cancelled',
      error: expect.stringMatching(/^cancelled \(SIGTERM: nefsim cancel, /) as unknown as string,
    });
    await waitFor(() => status('trial-001').state === 'running' && status('trial-001').stepsFlushed > 0);
    expect(status('trial-001').pid).toBe(worker); // the same worker took the next trial

    process.kill(worker, 'SIGKILL');
    await waitFor(() => status('trial-001').state === 'failed' && status('trial-002').state === 'running');
    expect(status('trial-001').error).toContain('the trial worker process exited on SIGKILL without an exit record');
    expect(status('trial-002').pid).not.toBe(worker);
    // the data trial-001 flushed before it died is readable
    expect(dataset(join(out, 'trial-001', 'probes.h5'), 'time').length).toBeGreaterThan(0);

    const b = await cli('cancel', out);
    expect(b.code).toBe(0);
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.state).toBe('cancelled');
    expect(st.counts).toMatchObject({ cancelled: 2, failed: 1 });
  });

  it("a trial whose model's load never settles fails saying so; one that awaits a long timer is cancelled at once; no worker lingers", async () => {
    const stall = join(dir, 'stall.mjs');
    writeFileSync(
      stall,
      `import { existsSync } from 'node:fs';
import { Network } from 'nefsim';
export default async (p) => {
  if (existsSync('options.json')) { // in the trial's folder; not in the check before the batch
    if (p.k === 1) await new Promise(() => {});
    if (p.k === 2) await new Promise((r) => setTimeout(r, 600_000));
  }
  const net = new Network({ label: 'stall', seed: 1 });
  net.probe(net.ensemble({ nNeurons: 10, dimensions: 1, label: 'e' }), { synapse: 0.01 });
  return net;
};
`,
    );
    writeFileSync(join(dir, 'stall.json'), JSON.stringify([{ k: 0 }, { k: 1 }, { k: 2 }]));
    const out = join(dir, 'stall');
    const run = cli('run', stall, '--sweep', 'stall.json', '--jobs', '1', '--duration', '0.05', '--out', out);
    const status = (t: string): RunStatus | undefined =>
      existsSync(join(out, t, 'status.json')) ? json<RunStatus>(join(out, t, 'status.json')) : undefined;
    await waitFor(() => status('trial-002')?.state === 'running');
    await sleep(300); // in its load's wait
    expect((await cli('cancel', join(out, 'trial-002'))).code).toBe(0);
    const r = await run;
    expect(r.code).toBe(1);
    expect(status('trial-000')?.state).toBe('done');
    expect(status('trial-001')).toMatchObject({ state: 'failed', steps: 0 });
    expect(status('trial-001')?.error).toContain("the model's load waits on a promise that nothing can settle any more");
    expect(status('trial-002')).toMatchObject({ state: 'cancelled', steps: 0 });
    // a worker whose load was given up retires: trial-002 had a new one; none is left (the 10-minute timer holds none)
    expect(status('trial-001')?.pid).toBe(status('trial-000')?.pid);
    expect(status('trial-002')?.pid).not.toBe(status('trial-001')?.pid);
    await waitFor(() => workersIn(out).length === 0);
  });

  it('a cancel while the workers start: every trial ends cancelled, and the workers and the batch process exit', async () => {
    const out = join(dir, 'early');
    detached.push(out);
    expect((await cli('run', model, '--trials', '4', '--jobs', '2', '--duration', '20000', '--out', out, '--detach')).code).toBe(0);
    const c = await cli('cancel', out);
    expect(c.code).toBe(0);
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.state).toBe('cancelled');
    expect(st.counts).toMatchObject({ cancelled: 4, failed: 0 });
    await waitFor(() => workersIn(out).length === 0 && processStartTime(st.pid) !== st.processStart);
  });

  it('a trial cancelled as its driver started (its exit record says cancelled, its status went back to queued) ends cancelled, not failed', async () => {
    // The race behind it: `nefsim cancel` right after --detach ends queued trials (exit record, then status)
    // while the starting driver reads a trial's status and writes it back, naming itself. The trial's worker
    // then found the exit record and ran nothing, and the driver recorded 'exited without its exit record'.
    const base = join(dir, 'race-base');
    expect((await cli('run', model, '--trials', '2', '--jobs', '1', '--duration', '0.02', '--out', base)).code).toBe(0);
    const out = join(dir, 'race');
    const { createBatchFolder } = (await import('../lib/cli/runs.js')) as {
      createBatchFolder: (o: string, s: Uint8Array, p: BatchPlan) => void;
    };
    createBatchFolder(out, readFileSync(join(base, 'model.mjs')), json<BatchPlan>(join(base, 'batch.json')));
    const t1 = join(out, 'trial-001');
    const queued = readFileSync(join(t1, 'status.json'), 'utf8');
    const cancelled: ExitRecord = {
      state: 'cancelled',
      exitCode: 143,
      error: 'cancelled by nefsim cancel before it started',
      object: null,
      errorType: null,
      time: 0,
      steps: 0,
      ended: new Date().toISOString(),
    };
    writeFileSync(join(t1, 'exit.json'), JSON.stringify(cancelled));
    writeFileSync(join(t1, 'status.json'), queued); // the driver's write-back, after the cancel's
    const r = await cli('_batch', out);
    expect(r.code).toBe(143);
    expect(json<RunStatus>(join(out, 'trial-000', 'status.json')).state).toBe('done');
    expect(json<ExitRecord>(join(t1, 'exit.json'))).toMatchObject({
      state: 'cancelled',
      error: 'cancelled by nefsim cancel before it started',
    });
    expect(json<RunStatus>(join(t1, 'status.json'))).toMatchObject({ state: 'cancelled', steps: 0 });
    const st = json<BatchStatus>(join(out, 'status.json'));
    expect(st.counts).toMatchObject({ done: 1, cancelled: 1, failed: 0 });
    expect(st.state).toBe('cancelled');
  });

  it('in a worker, what a partition thread prints (a node function) goes to its trial\u2019s log', async () => {
    const printing = join(dir, 'printing.mjs');
    writeFileSync(
      printing,
      `import { Network } from 'nefsim';
const net = new Network({ label: 'pm', seed: 1 });
let said = false;
const stim = net.node((t) => { if (!said && t > 0.01) { said = true; console.log('node function speaking'); } return [Math.sin(t)]; }, { label: 'sin' });
const a = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'b' });
net.connect(stim, a);
net.connect(a, b, { synapse: 0.01 });
net.probe(b, { synapse: 0.01, label: 'b' });
export default net;
`,
    );
    const out = join(dir, 'printing');
    expect((await cli('run', printing, '--trials', '2', '--jobs', '1', '--partitions', '2', '--duration', '0.05', '--out', out)).code).toBe(
      0,
    );
    for (const t of ['trial-000', 'trial-001']) {
      const log = readFileSync(join(out, t, 'log.txt'), 'utf8');
      expect(log).toContain('partitioned into 2 part(s)');
      expect(log.match(/node function speaking/g)).toHaveLength(1);
    }
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).not.toContain('node function speaking');
  });
});
