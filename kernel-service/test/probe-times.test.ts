/**
 * Sample times of run probes read back by the service (probe.fetch, post.spikes, the plots) when sample_every
 * is not a whole number of steps: the samples are at the steps s with s % (sample_every / dt) < 1, as the
 * simulator takes them (Nengo's trange), not at (i + 1) * sample_every.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network, Simulator } from '../src/index.js';
import { runCli } from './cli-harness.js';

const BODY = `
  const net = new Network({ label: 'se', seed: 3 });
  const stim = net.node((t) => [t, -t], { label: 'stim' });
  const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
  net.connect(stim, a, { transform: [[1, 0]] });
  net.probe(stim, { label: 'p', sampleEvery: 0.0025 });
  net.probe(a.neurons, { attr: 'output', label: 's', sampleEvery: 0.0012 });
  net.probe(stim, { label: 'fast', sampleEvery: 0.0004 });
  return net;
`;
let dir: string;

// the run's samples, as the simulator takes them
const sim = new Simulator(new Function('Network', BODY)(Network) as Network, { dt: 0.001 });
sim.run(1);
const [pp, sp] = sim.probes;
const dense = sim.data(sp!);
// At most as many spikes a read as the busiest neuron has: the spike probe's window of every neuron is read
// from its per-neuron layout, neuron by neuron (the path that maps a spike's time to its sample).
const counts = Array.from({ length: dense.cols }, (_, c) => {
  let n = 0;
  for (let r = 0; r < dense.rows; r++) if (dense.data[r * dense.cols + c] !== 0) n++;
  return n;
});
process.env['NEFSIM_MAX_SPIKES_READ'] = String(Math.max(...counts));
const { listRunProbes, readRunProbe } = await import('../src/server/probes.js');

const cli = async (...args: string[]): Promise<number> => (await runCli(dir, args)).code;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nefsim-times-'));
  writeFileSync(join(dir, 'se.mjs'), `import { Network } from 'nefsim';\nexport default () => {${BODY}};\n`);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('run probe times', () => {
  it('are the steps the simulator sampled at, for a sample_every of 2.5 or 1.2 steps', async () => {
    expect(await cli('run', 'se.mjs', '--duration', '1', '--out', 'run')).toBe(0);
    const t = sim.trange(pp);
    expect(Array.from(t.slice(0, 4))).toEqual([0.003, 0.005, 0.008, 0.01]);
    const run = join(dir, 'run');

    // the whole probe (a finished run's, kept decoded), then a window of it
    const all = await readRunProbe(run, 'p', undefined, undefined, undefined);
    expect(all.rows).toBe(t.length);
    expect(Array.from(all.t)).toEqual(Array.from(t));
    expect(Array.from(all.y)).toEqual(Array.from(sim.data(pp!).data));
    const w = await readRunProbe(run, 'p', 0.004, 0.0101, undefined);
    expect(Array.from(w.t)).toEqual([0.005, 0.008, 0.01]);
    expect(Array.from(w.y)).toEqual([0.005, -0.005, 0.008, -0.008, 0.01, -0.01]);

    // sampled more often than every step: every step (its samples were drawn at 0.0004, 0.0008, ...)
    const fast = await readRunProbe(run, 'fast', undefined, 0.003, undefined);
    expect(Array.from(fast.t)).toEqual([0.001, 0.002, 0.003]);
    expect(Array.from(fast.y)).toEqual([0.001, -0.001, 0.002, -0.002, 0.003, -0.003]);

    // spikes, read from the file a window at a time: each spike in the row of its sample
    const spikes = await readRunProbe(run, 's', 0, 0.9, [0, 1]);
    // (sampled every 1.2 steps: at steps 2, 3, 4, 5, 6, 8, ...; a spike at step 2 was put in the row of step 3)
    const ts = sim.trange(sp);
    const [i0, i1] = [0, ts.findIndex((x) => x > 0.9)];
    expect(Array.from(spikes.t)).toEqual(Array.from(ts.slice(i0, i1)));
    const column0 = Array.from({ length: i1 - i0 }, (_, i) => dense.data[(i0 + i) * dense.cols]);
    expect(Array.from(spikes.y)).toEqual(column0);
    expect(spikes.y.some((v) => v !== 0)).toBe(true);

    // a run still writing, 600 of its 1000 steps on disk: the samples at steps 3, 5, ..., 600 (240), read from the file
    const statusFile = join(run, 'status.json');
    const status = JSON.parse(readFileSync(statusFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(statusFile, JSON.stringify({ ...status, state: 'running', pid: process.pid, processStart: null, stepsFlushed: 600 }));
    const listed = await listRunProbes(run);
    expect(listed.find((p) => p.name === 'p')!.shape).toEqual([240, 2]);
    const live = await readRunProbe(run, 'p', 0.5, undefined, undefined);
    expect(live.t[0]).toBe(0.5);
    expect(live.t[live.rows - 1]).toBe(0.6);
    expect(Array.from(live.t)).toEqual(Array.from(t.filter((x) => x >= 0.5 && x <= 0.6)));
  }, 60_000);

  it('are a step late where sample_every / dt lands just above a whole number, as Nengo samples them', async () => {
    // 0.07 / 0.01 is 7.000000000000001: the simulator (and Nengo) sample at steps 8, 15, 22, ..., not 7, 14, ...
    const body = BODY.replace('sampleEvery: 0.0025 }', 'sampleEvery: 0.07 }');
    const late = new Simulator(new Function('Network', body)(Network) as Network, { dt: 0.01 });
    late.run(1);
    const [lp] = late.probes;
    expect(Array.from(late.trange(lp).slice(0, 3))).toEqual([0.08, 0.15, 0.22]);
    writeFileSync(join(dir, 'late.mjs'), `import { Network } from 'nefsim';\nexport default () => {${body}};\n`);
    expect(await cli('run', 'late.mjs', '--duration', '1', '--dt', '0.01', '--out', 'late')).toBe(0);
    const all = await readRunProbe(join(dir, 'late'), 'p', undefined, undefined, undefined);
    expect(Array.from(all.t)).toEqual(Array.from(late.trange(lp)));
    expect(Array.from(all.y)).toEqual(Array.from(late.data(lp!).data));
  }, 60_000);
});
