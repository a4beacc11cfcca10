/**
 * Learning rules and other stateful features (adaptation, Izhikevich, Alpha
 * and higher-order synapses, seeded processes) on 2 threads against one, in
 * float64 and float32, cut and level-parallel; and the reason a model whose
 * learning rules join its ensembles cannot be cut (they are named). Uses the
 * built package (worker threads run lib/), as partitions.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PartitionedSimulator } from '../lib/parallel/index.js';
import { Simulator } from '../lib/index.js';
import { loadModel } from '../lib/runs/model.js';

const dir = mkdtempSync(join(tmpdir(), 'nefsim-partitions-learning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIB = new URL('../lib/index.js', import.meta.url).href;

function model(name: string, imports: string, body: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `import { Network, ${imports} } from '${LIB}';
const net = new Network({ seed: 3 });
const stim = net.node((t) => [Math.sin(2 * Math.PI * 2 * t)], { label: 'stim' });
const W = (rows, cols, s) => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => s * Math.sin(i + 3 * j)));
${body}
export default net;
`,
  );
  return file;
}

type Dtype = 'float64' | 'float32';

async function single(file: string, steps: number, dtype: Dtype): Promise<{ data: Float64Array[]; labels: string[] }> {
  const net = await loadModel(file);
  const sim = new Simulator(net, { dt: 0.001, dtype });
  sim.runSteps(steps);
  return { data: net.allProbes.map((p) => sim.data(p).data), labels: net.allProbes.map((p) => String(p.label)) };
}

/** Run in 2 chunks on `parts` threads, the probes' data concatenated. */
async function partitioned(file: string, steps: number, dtype: Dtype, pin?: Record<string, number>) {
  const sim = await PartitionedSimulator.create(file, { dt: 0.001, partitions: 2, dtype, ...(pin ? { pin } : {}) });
  const acc: number[][] = sim.probes.map(() => []);
  for (const n of [Math.floor(steps / 2), steps - Math.floor(steps / 2)]) {
    await sim.runSteps(n);
    sim.probes.forEach((p, i) => acc[i]!.push(...sim.takeData(p).data));
  }
  await sim.close();
  return { data: acc.map((a) => Float64Array.from(a)), summary: sim.summary() };
}

/** Each probe's data changed during the run (the rules learned, the states moved). */
function expectMoving(ref: { data: Float64Array[]; labels: string[] }, labels: string[]): void {
  for (const label of labels) {
    const d = ref.data[ref.labels.indexOf(label)]!;
    expect(
      d.some((v) => v !== d[0]),
      label,
    ).toBe(true);
  }
}

// PES with its error from an ensemble (probes of weights, error, activities); PES into neurons without a
// pre synapse; BCM (weights, theta) and Oja (weights, post filtered) between neurons; RLS: every rule's
// filters are updates here, so the model is cut between its ensembles.
const cut = model(
  'cut',
  'PES, BCM, Oja, RLS',
  `
const pre = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'pre' });
const post = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'post' });
const err = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'err' });
const h = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'h' });
net.connect(stim, pre);
const c = net.connect(pre, post, { function: () => [0], learningRule: new PES({ learningRate: 5e-4 }) });
net.connect(post, err);
net.connect(stim, err, { transform: -1 });
net.connect(err, c.learningRule);
const n = net.connect(pre.neurons, err.neurons, { transform: W(30, 30, 0.001), learningRule: new PES({ learningRate: 1e-4, preSynapse: null }) });
net.connect(err, n.learningRule);
const bcm = net.connect(pre.neurons, h.neurons, { transform: W(30, 30, 0.002), learningRule: new BCM({ learningRate: 1e-7 }) });
const oja = net.connect(h.neurons, post.neurons, { transform: W(30, 30, 0.001), learningRule: new Oja({ learningRate: 1e-6, beta: 0.5 }) });
const rls = net.connect(h, err, { function: () => [0], learningRule: new RLS({ learningRate: 1e-3 }) });
net.connect(err, rls.learningRule, { transform: -1 });
net.probe(c, { attr: 'weights', label: 'pes' });
net.probe(c.learningRule, { attr: 'error', label: 'error' });
net.probe(c.learningRule, { attr: 'activities', label: 'activities', sampleEvery: 0.005 });
net.probe(n, { attr: 'weights', label: 'pesNeurons', sampleEvery: 0.005 });
net.probe(bcm, { attr: 'weights', label: 'bcm', sampleEvery: 0.005 });
net.probe(bcm.learningRule, { attr: 'theta', label: 'theta' });
net.probe(oja, { attr: 'weights', label: 'oja', sampleEvery: 0.005 });
net.probe(oja.learningRule, { attr: 'postFiltered', label: 'postFiltered' });
net.probe(rls, { attr: 'weights', label: 'rls' });
net.probe(post, { synapse: 0.01, label: 'post' });
`,
);

// Rules built as Nengo's (set-mode filters: no step of delay between the ensembles they join): two rules
// on one connection (a list, with a weight solver; a dict, between neurons), a probed delta, Voja with a
// learning signal and PES into the neurons of the ensemble whose encoders Voja changes.
const exact = model(
  'exact',
  'PES, BCM, Oja, Voja, LstsqL2',
  `
const pre = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'pre' });
const post = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'post' });
const post2 = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'post2' });
net.connect(stim, pre);
const c = net.connect(pre, post, { solver: new LstsqL2({ weights: true }), learningRule: [new PES({ learningRate: 1e-4 }), new Oja({ learningRate: 1e-5 })] });
net.connect(post, c.learningRule[0]);
net.connect(stim, c.learningRule[0], { transform: -1 });
const d = net.connect(pre.neurons, post2.neurons, { transform: W(30, 30, 0.002), learningRule: { bcm: new BCM({ learningRate: 1e-7 }), oja: new Oja({ learningRate: 1e-6 }) } });
const learn = net.node((t) => [t < 0.05 ? 0 : -1], { label: 'learn' });
const v = net.connect(stim, post2, { learningRule: new Voja({ learningRate: 0.05 }) });
net.connect(learn, v.learningRule, { synapse: null });
const e = net.connect(post, post2.neurons, { transform: Array.from({ length: 30 }, (_, i) => [0.01 * Math.sin(i)]), learningRule: new PES({ learningRate: 1e-4 }) });
net.connect(post2, e.learningRule);
net.connect(stim, e.learningRule, { transform: -1 });
net.probe(c, { attr: 'weights', label: 'list', sampleEvery: 0.005 });
net.probe(c.learningRule[0], { attr: 'delta', label: 'delta', sampleEvery: 0.005 });
net.probe(d, { attr: 'weights', label: 'dict', sampleEvery: 0.005 });
net.probe(v.learningRule, { attr: 'scaledEncoders', label: 'encoders', sampleEvery: 0.005 });
net.probe(e, { attr: 'weights', label: 'intoVoja', sampleEvery: 0.005 });
net.probe(post2, { synapse: 0.01, label: 'post2' });
`,
);

// AdaptiveLIF, Izhikevich, Alpha and a second-order LinearFilter (in a loop), seeded WhiteSignal and WhiteNoise Nodes.
const stateful = model(
  'stateful',
  'AdaptiveLIF, Izhikevich, Alpha, LinearFilter, WhiteSignal, WhiteNoise, Gaussian',
  `
const ws = net.node(new WhiteSignal({ period: 1, high: 5, seed: 3 }), { label: 'ws' });
const wn = net.node(new WhiteNoise({ dist: new Gaussian(0, 0.3) }), { label: 'wn' });
const a = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'a', neuronType: new AdaptiveLIF({ tauN: 0.1, incN: 0.05 }) });
const b = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'b', neuronType: new Izhikevich() });
const c = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'c' });
net.connect(ws, a);
net.connect(wn, a, { synapse: new Alpha(0.01) });
net.connect(a, b, { synapse: new Alpha(0.005) });
net.connect(b, c, { synapse: new LinearFilter([1], [0.0001, 0.02, 1]) });
net.connect(c, a, { synapse: new LinearFilter([1], [0.0001, 0.02, 1]), transform: 0.2 });
net.probe(a.neurons, { attr: 'adaptation', label: 'adaptation' });
net.probe(b.neurons, { attr: 'voltage', label: 'voltage' });
net.probe(b.neurons, { attr: 'recovery', label: 'recovery', sampleEvery: 0.002 });
net.probe(c, { synapse: new Alpha(0.01), label: 'c' });
net.probe(ws, { label: 'ws' });
net.probe(wn, { label: 'wn', sampleEvery: 0.002 });
`,
);

describe('learning rules and stateful features on 2 threads', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`${dtype}: PES (error from an ensemble, into neurons), BCM, Oja and RLS, cut between the ensembles, are bit-identical to one thread`, async () => {
      const ref = await single(cut, 200, dtype);
      expectMoving(ref, ['pes', 'error', 'pesNeurons', 'bcm', 'theta', 'oja', 'rls']);
      const { data, summary } = await partitioned(cut, 200, dtype);
      expect(summary.mode).toBe('cut');
      expect(summary.partitions).toBe(2);
      expect(data).toEqual(ref.data);
    });

    it(`${dtype}: two rules on one connection, a probed delta, Voja and PES through its encoders (level-parallel) are bit-identical to one thread`, async () => {
      const ref = await single(exact, 200, dtype);
      expectMoving(ref, ['list', 'delta', 'dict', 'encoders', 'intoVoja']);
      const { data, summary } = await partitioned(exact, 200, dtype);
      expect(summary.mode).toBe('levels');
      expect(data).toEqual(ref.data);
    });

    it(`${dtype}: AdaptiveLIF, Izhikevich, Alpha and LinearFilter synapses, seeded processes are bit-identical to one thread`, async () => {
      const ref = await single(stateful, 200, dtype);
      expectMoving(ref, ['adaptation', 'voltage', 'recovery', 'c', 'ws', 'wn']);
      const { data, summary } = await partitioned(stateful, 200, dtype);
      expect(summary.mode).toBe('cut');
      expect(data).toEqual(ref.data);
    });
  }

  it('pinned: the learning ensembles in the other part than the cut puts them, bit-identical to one thread', async () => {
    const ref = await single(cut, 150, 'float64');
    const { data, summary } = await partitioned(cut, 150, 'float64', { pre: 1, err: 1, post: 0, h: 0 });
    expect(summary.neuronsPerPart).toEqual([60, 60]);
    expect(data).toEqual(ref.data);
  });
});

describe('why a model with learning rules cannot be cut', () => {
  it('names the learning rules that join its ensembles (it blamed connections without a synapse)', async () => {
    const sim = await PartitionedSimulator.create(exact, { dt: 0.001, partitions: 2 });
    const s = sim.summary();
    await sim.close();
    expect(s.mode).toBe('levels');
    expect(s.reason).toMatch(/no synapse to cut at.*share the operators of each step/);
    expect(s.reason).toContain("here Connection 'pre -> post'.learningRule[1], ");
    // (one join for each ensemble added to the group: post2's by the first rule that reaches it)
    expect(s.reason).toContain("Connection 'pre.neurons -> post2.neurons'.learningRule.bcm)");
  });

  it('pinned to a higher part: the reason names what joins the ensembles', async () => {
    const sim = await PartitionedSimulator.create(exact, { dt: 0.001, partitions: 3, pin: { post: 2 } });
    const s = sim.summary();
    await sim.close();
    expect(s.reason).toMatch(/only 1 independent group .* it runs with 3 parts because a pin names a higher part/);
    expect(s.reason).toContain('.learningRule');
  });
});
