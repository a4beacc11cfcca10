/**
 * Partitioned runs (worker threads over shared memory) against single-part
 * runs of the same model. Uses the built package (worker threads run lib/).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PartitionedSimulator } from '../lib/parallel/index.js';
import { Simulator } from '../lib/index.js';
import { loadModel } from '../lib/runs/model.js';
import { build } from '../lib/engine/builder/build.js';
import { access } from '../lib/engine/builder/ops.js';
import { scheduleLevelGroups } from '../lib/engine/plan.js';
import { partitionModel } from '../lib/parallel/partition.js';

const dir = mkdtempSync(join(tmpdir(), 'nefsim-partitions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Models import the built package by path: inside vitest, Node's resolution hook for 'nefsim' does not apply.
const LIB = new URL('../lib/index.js', import.meta.url).href;

function model(name: string, source: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, source.replace("from 'nefsim'", `from '${LIB}'`));
  return file;
}

/** A Node `label` (its function `fn`, after `prelude`) drives a -> b, b probed: the models of the failure tests. */
function failingChain(name: string, label: string, fn: string, prelude = ''): string {
  return model(
    name,
    `import { Network } from 'nefsim';
const net = new Network({ seed: 2 });
${prelude}
const bad = net.node(${fn}, { label: '${label}' });
const a = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'b' });
net.connect(bad, a);
net.connect(a, b);
net.probe(b, { synapse: 0.01, label: 'b' });
export default net;
`,
  );
}

const squaring = model(
  'squaring',
  `import { Network } from 'nefsim';
const net = new Network({ label: 'squaring', seed: 3 });
const stim = net.node((t) => Math.sin(8 * t), { label: 'sin' });
const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
const sq = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'sq' });
net.connect(stim, a);
net.connect(a, sq, { function: (x) => [x[0] * x[0]] });
net.probe(sq, { synapse: 0.01, label: 'sq' });
net.probe(a.neurons, { label: 'spikes' });
net.probe(stim, { label: 'stim', sampleEvery: 0.003 });
export default net;
`,
);

const arrays = model(
  'arrays',
  `import { Network, networks } from 'nefsim';
const net = new Network({ label: 'arrays', seed: 5 });
const stim = net.node((t) => [Math.sin(5 * t), Math.cos(5 * t), 0.3], { label: 'stim' });
const ea = networks.EnsembleArray({ nNeurons: 40, nEnsembles: 3, parent: net, label: 'ea' });
const out = net.ensemble({ nNeurons: 80, dimensions: 3, label: 'out' });
net.connect(stim, ea.input);
net.connect(ea.output, out);
net.connect(out, out, { synapse: 0.1, transform: 0.5 });
net.probe(out, { synapse: 0.02, label: 'out' });
net.probe(ea.output, { label: 'ea' });
export default net;
`,
);

/** In every level of a level-parallel partitioning, each element is written by one part only (disjoint ranges of one signal may differ). */
function expectOneWriterPerElement(m: ReturnType<typeof build>, p: ReturnType<typeof partitionModel>): void {
  const { groups, levelOf } = scheduleLevelGroups(m.ops, true);
  const writer = new Map<string, number>();
  groups.forEach((g, gi) => {
    for (const op of g) {
      const share = p.shares.get(op);
      const runs = share ? share.flatMap((sub, part) => (sub ? [{ sub, part }] : [])) : [{ sub: op, part: p.partOf.get(op)! }];
      for (const { sub, part } of runs) {
        const a = access(sub);
        for (const s of [...a.sets, ...a.incs, ...a.updates]) {
          for (let e = s.start; e < s.start + s.size; e++) {
            const key = `${levelOf[gi]}:${s.base.id}[${e}]`;
            expect(writer.get(key) ?? part, `${s.base.name}[${e}] in level ${levelOf[gi]}`).toBe(part);
            writer.set(key, part);
          }
        }
      }
    }
  });
}

async function single(file: string, steps: number, dtype: 'float64' | 'float32' = 'float64'): Promise<Float64Array[]> {
  const net = await loadModel(file);
  const sim = new Simulator(net, { dt: 0.001, dtype });
  sim.runSteps(steps);
  return net.allProbes.map((p) => sim.data(p).data);
}

async function partitioned(
  file: string,
  parts: number,
  steps: number,
  chunks = 3,
  dtype: 'float64' | 'float32' = 'float64',
): Promise<{ data: Float64Array[]; sim: PartitionedSimulator }> {
  const sim = await PartitionedSimulator.create(file, { dt: 0.001, partitions: parts, dtype });
  const acc: Float64Array[][] = sim.probes.map(() => []);
  for (let c = 0; c < chunks; c++) {
    await sim.runSteps(Math.floor(steps / chunks) + (c === chunks - 1 ? steps % chunks : 0));
    sim.probes.forEach((p, i) => acc[i]!.push(sim.takeData(p).data));
  }
  await sim.close();
  return { data: acc.map((list) => concat(list)), sim };
}

function concat(list: Float64Array[]): Float64Array {
  const out = new Float64Array(list.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of list) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

const learning = model(
  'learning',
  `import { Network, PES } from 'nefsim';
const net = new Network({ label: 'learning', seed: 5 });
const stim = net.node((t) => [Math.sin(2 * Math.PI * t)], { label: 'stim' });
const pre = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'pre' });
const post = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'post' });
net.connect(stim, pre);
const learned = net.connect(pre, post, { function: () => [0], learningRule: new PES({ learningRate: 1e-3 }) });
net.connect(post, learned.learningRule);
net.connect(stim, learned.learningRule, { transform: -1 });
net.probe(learned, { attr: 'weights', label: 'w' });
net.probe(post, { synapse: 0.01, label: 'post' });
export default net;
`,
);

describe('partitioned runs', () => {
  it('PES learning, its weights probed, on 2 threads is bit-identical to one thread', async () => {
    const ref = await single(learning, 300);
    const { data, sim } = await partitioned(learning, 2, 300);
    expect(sim.summary().partitions).toBe(2);
    expect(ref[0]!.length).toBe(300 * 40);
    expect(ref[0]!.some((v) => v !== 0)).toBe(true);
    expect(data).toEqual(ref);
  });

  it('the neuron types with more state (AdaptiveLIF, AdaptiveLIFRate), Tanh, PoissonSpiking, ensemble noise, BCM and Voja on 2 threads are bit-identical to one thread', async () => {
    const file = model(
      'types',
      `import { Network, AdaptiveLIF, AdaptiveLIFRate, Tanh, WhiteNoise, Gaussian, BCM, Voja, PoissonSpiking, LIFRate } from 'nefsim';
const net = new Network({ label: 'types', seed: 9 });
const stim = net.node((t) => Math.sin(8 * t), { label: 'sin' });
const a = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'a', neuronType: new AdaptiveLIF({ tauN: 0.1, incN: 0.05 }) });
const b = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'b', neuronType: new AdaptiveLIFRate(), noise: new WhiteNoise({ dist: new Gaussian(0, 0.05) }) });
const c = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'c', neuronType: new Tanh() });
net.connect(stim, a);
net.connect(a, b);
net.connect(b, c);
net.probe(c, { synapse: 0.01, label: 'c' });
const d = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'd', neuronType: new PoissonSpiking(new LIFRate()) });
net.connect(c, d);
net.probe(d, { synapse: 0.01, label: 'd' });
const hebb = net.connect(a.neurons, c.neurons, {
  transform: Array.from({ length: 60 }, (_, i) => Array.from({ length: 60 }, (_, j) => 0.001 * Math.sin(i + 2 * j))),
  learningRule: new BCM({ learningRate: 1e-6 }),
});
net.probe(hebb, { attr: 'weights', label: 'w', sampleEvery: 0.01 });
net.probe(a.neurons, { attr: 'adaptation', label: 'adapt' });
net.probe(a.neurons, { label: 'spikes' });
const voja = net.connect(stim, c, { learningRule: new Voja({ learningRate: 0.05 }) });
net.probe(voja.learningRule, { attr: 'scaledEncoders', label: 'enc', sampleEvery: 0.01 });
export default net;
`,
    );
    const ref = await single(file, 300);
    const { data, sim } = await partitioned(file, 2, 300);
    expect(sim.summary().partitions).toBe(2);
    expect(ref[1]!.some((v) => v !== 0)).toBe(true); // the Poisson ensemble decodes something
    expect(ref[3]!.some((v) => v > 0)).toBe(true); // adaptation
    const w = ref[2]!; // the BCM weights, 3600 a sample: they learned
    expect(w.subarray(w.length - 3600).some((v, i) => v !== w[i])).toBe(true);
    const e = ref[5]!; // Voja's encoders, 60 a sample: they learned
    expect(e.subarray(e.length - 60).some((v, i) => v !== e[i])).toBe(true);
    expect(data).toEqual(ref);
  });

  it('Convolution, ConvolutionTranspose and Sparse transforms between neurons on 2 threads are bit-identical to one thread', async () => {
    const file = model(
      'conv',
      `import { Network, Convolution, ConvolutionTranspose, Sparse, Uniform } from 'nefsim';
const net = new Network({ label: 'conv', seed: 4 });
const stim = net.node((t) => [Math.sin(6 * t), Math.cos(5 * t)], { label: 'stim' });
const a = net.ensemble({ nNeurons: 36, dimensions: 2, label: 'a' });
const b = net.ensemble({ nNeurons: 18, dimensions: 1, label: 'b' });
const c = net.ensemble({ nNeurons: 36, dimensions: 1, label: 'c' });
net.connect(stim, a);
net.connect(a.neurons, b.neurons, { transform: new Convolution(2, [6, 6, 1], { strides: [2, 2], padding: 'same', init: new Uniform(-0.006, 0.014) }) });
net.connect(b.neurons, c.neurons, { transform: new ConvolutionTranspose(1, [3, 3, 2], { outputShape: [6, 6, 1], strides: [2, 2], padding: 'same', init: Array.from({ length: 18 }, (_, i) => 0.01 * Math.sin(i)) }) });
net.connect(c.neurons, a.neurons, { transform: new Sparse([36, 36], { indices: Array.from({ length: 36 }, (_, i) => [i, (7 * i) % 36]), init: -0.01 }) });
net.probe(b.neurons, { label: 'b' });
net.probe(c, { synapse: 0.01, label: 'c' });
export default net;
`,
    );
    const ref = await single(file, 300);
    const { data, sim } = await partitioned(file, 2, 300);
    expect(sim.summary().partitions).toBe(2);
    expect(ref[0]!.some((v) => v !== 0)).toBe(true); // b spikes
    expect(ref[1]!.some((v) => v !== 0)).toBe(true);
    expect(data).toEqual(ref);
  });

  it('squaring on 2 threads is bit-identical to one thread', async () => {
    const ref = await single(squaring, 300);
    const { data, sim } = await partitioned(squaring, 2, 300);
    expect(sim.summary().partitions).toBe(2);
    expect(sim.summary().cuts).toBeGreaterThan(0);
    expect(sim.summary().kernels).toBe('webassembly');
    expect(data).toEqual(ref);
  });

  it('float32: squaring on 2 threads (WebAssembly over a float32 shared arena) is bit-identical to one thread', async () => {
    const ref = await single(squaring, 200, 'float32');
    const { data, sim } = await partitioned(squaring, 2, 200, 2, 'float32');
    expect(sim.summary().kernels).toBe('webassembly');
    expect(data).toEqual(ref);
  });

  it('with NEFSIM_WASM=0 the parts run the JavaScript kernels, bit-identical to one thread in WebAssembly', async () => {
    const ref = await single(squaring, 200);
    const saved = process.env['NEFSIM_WASM'];
    process.env['NEFSIM_WASM'] = '0';
    try {
      const { data, sim } = await partitioned(squaring, 2, 200);
      expect(sim.summary().kernels).toBe('javascript');
      expect(data).toEqual(ref);
    } finally {
      if (saved === undefined) delete process.env['NEFSIM_WASM'];
      else process.env['NEFSIM_WASM'] = saved;
    }
  });

  it('an ensemble array with a recurrent ensemble on 2 threads is bit-identical to one; 3 fall back to 2', async () => {
    const ref = await single(arrays, 250);
    for (const parts of [2, 3]) {
      const { data, sim } = await partitioned(arrays, parts, 250, 2);
      // the array's ensembles share a passthrough output without a synapse: they form one group, 'out' the other
      expect(sim.summary().partitions).toBe(2);
      if (parts === 3) expect(sim.summary().reason).toMatch(/only 2 independent groups/);
      expect(data).toEqual(ref);
    }
  });

  it('a model that cannot be cut runs level-parallel, bit-identical to one thread, and says so', async () => {
    const file = model(
      'tight',
      `import { Network } from 'nefsim';
const net = new Network({ seed: 1 });
const stim = net.node((t) => Math.sin(6 * t), { label: 'sin' });
const a = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'b' });
net.connect(stim, a);
net.connect(a, b, { synapse: null });
net.probe(b, { synapse: 0.01 });
export default net;
`,
    );
    const ref = await single(file, 200);
    const { data, sim } = await partitioned(file, 2, 200);
    const s = sim.summary();
    expect(s.partitions).toBe(2);
    expect(s.mode).toBe('levels');
    expect(s.kernels).toBe('webassembly');
    expect(s.reason).toMatch(/no synapse to cut at.*share the operators of each step/);
    expect(s.warnings).toEqual([]);
    expect(data).toEqual(ref);
  });

  it('level-parallel parts never write one element in one level (sums of different kinds into one input stay together)', async () => {
    const file = model(
      'mixed',
      `import { Network } from 'nefsim';
const net = new Network({ seed: 9 });
const stim = net.node((t) => Math.sin(9 * t), { label: 'stim' });
const a = net.ensemble({ nNeurons: 60, dimensions: 1, label: 'a' });
net.connect(stim, a, { synapse: null, transform: 2 });
net.connect(a, a, { synapse: 0.1 });
net.connect(stim, a.neurons, { synapse: null, transform: Array.from({ length: 60 }, (_, i) => [i % 2 ? 0.05 : -0.05]) });
net.probe(a, { synapse: 0.01, label: 'a' });
export default net;
`,
    );
    const net = await loadModel(file);
    const m = build(net, { dt: 0.001, seed: 9 });
    const p = partitionModel(m, { parts: 2 });
    expect(p.mode).toBe('levels');
    expectOneWriterPerElement(m, p);
    const ref = await single(file, 200);
    const { data } = await partitioned(file, 2, 200);
    expect(data).toEqual(ref);
  });

  it('CircularConvolution (passthrough nodes, no synapse anywhere) on 2 and 3 threads, level-parallel, is bit-identical to one', async () => {
    const file = model(
      'cconv',
      `import { Network, networks } from 'nefsim';
const net = new Network({ label: 'cconv', seed: 7 });
const a = net.node(Array.from({ length: 24 }, (_, i) => Math.sin(i) / 2), { label: 'a' });
const b = net.node((t) => Array.from({ length: 24 }, (_, i) => Math.cos(t + i) / 2), { label: 'b' });
const cc = networks.CircularConvolution({ nNeurons: 20, dimensions: 24, parent: net, label: 'cc' });
net.connect(a, cc.inputA, { synapse: null });
net.connect(b, cc.inputB, { synapse: null });
net.probe(cc.output, { synapse: 0.01, label: 'out' });
net.probe(cc.product.sq1.ensembles[0].neurons, { label: 'spikes' });
export default net;
`,
    );
    // the transforms into and out of the frequency domain are split by rows between the parts
    const m = build(await loadModel(file), { dt: 0.001, seed: 7 });
    for (const parts of [2, 3]) {
      const p = partitionModel(m, { parts });
      expect(p.shares.size).toBeGreaterThan(0);
      for (const share of p.shares.values()) expect(share.filter((sub) => sub !== undefined).length).toBe(parts);
      expectOneWriterPerElement(m, p);
      // the product's equal ensembles (one level) go in contiguous runs, part 0's first: alternating them put
      // signals of different parts side by side, in cache lines both cores wrote every step
      const lif = m.ops.filter((op) => op.kind === 'neurons').map((op) => p.partOf.get(op)!);
      expect(lif.length).toBeGreaterThan(2 * parts);
      expect(lif).toEqual([...lif].sort((x, y) => x - y));
      expect(new Set(lif).size).toBe(parts);
    }
    const ref = await single(file, 150);
    for (const parts of [2, 3]) {
      const { data, sim } = await partitioned(file, parts, 150);
      expect(sim.summary().mode).toBe('levels');
      expect(sim.summary().partitions).toBe(parts);
      expect(sim.summary().neuronsPerPart.every((n) => n > 0)).toBe(true);
      expect(data).toEqual(ref);
    }
  });

  it('a Node that throws in one part fails the run with its label; the other part stops; data before it is kept', async () => {
    const file = failingChain('throws', 'flaky', `(t) => { if (t > 0.05) throw new Error('bad input'); return Math.sin(t); }`);
    const sim = await PartitionedSimulator.create(file, { dt: 0.001, partitions: 2 });
    expect(sim.summary().partitions).toBe(2);
    await expect(sim.runSteps(100)).rejects.toThrow(/Node 'flaky': its function threw at t = 0.051000 s: bad input/);
    expect(sim.steps).toBe(51); // the failing step counts itself, as in Simulator

    expect(sim.takeData(sim.probes[0]!).rows).toBe(50);
  });

  it('a part whose worker dies (a Node calling process.exit) fails the run; the other part stops instead of waiting', async () => {
    const file = failingChain('exits', 'exits', `(t) => { if (t > 0.05) process.exit(3); return Math.sin(t); }`);
    const sim = await PartitionedSimulator.create(file, { dt: 0.001, partitions: 2 });
    expect(sim.summary().partitions).toBe(2);
    await expect(sim.runSteps(1000)).rejects.toThrow(/exited with code 3/);
    await sim.close();
  }, 20_000);

  it('spreads the work without neurons between parts as many neurons apart (a driving Node, probes), bit-identical to one thread', async () => {
    const file = model(
      'integrators',
      `import { Network, networks } from 'nefsim';
const net = new Network({ label: 'integrators', seed: 7 });
const drive = net.node([0.5], { label: 'drive' });
for (let i = 0; i < 6; i++) {
  const integ = networks.Integrator({ recurrentTau: 0.1, nNeurons: 30, dimensions: 1, parent: net, label: 'integ' + i });
  net.connect(drive, integ.input);
  net.probe(integ.output, { synapse: 0.01, label: 'out' + i });
}
export default net;
`,
    );
    const m = build(await loadModel(file), { dt: 0.001, seed: 1 });
    const p = partitionModel(m, { parts: 2 });
    expect(p.mode).toBe('cut');
    expect(p.neuronsPerPart).toEqual([90, 90]);
    // every kind of operator is split evenly: before, part 0 ran every operator of a group without
    // neurons (the constant drive's six connections and the probes' copies), part 1 none of them
    const kinds = [new Map<string, number>(), new Map<string, number>()];
    for (const [op, part] of p.partOf) kinds[part]!.set(op.kind, (kinds[part]!.get(op.kind) ?? 0) + 1);
    expect([...kinds[0]!.entries()].sort()).toEqual([...kinds[1]!.entries()].sort());
    expect(kinds[0]!.get('filter')).toBeGreaterThan(0);
    // equal integrators go in two contiguous runs (0-2, 3-5), not alternately: neighbouring signals of
    // different parts shared cache lines that both cores wrote every step
    const neurons = m.ops.filter((op) => op.kind === 'neurons'); // the six integrators' ensembles, in model order
    expect(neurons.map((op) => p.partOf.get(op))).toEqual([0, 0, 0, 1, 1, 1]);
    const one = await single(file, 300);
    const two = await partitioned(file, 2, 300);
    expect(two.data).toEqual(one);
  });

  it('groups that contiguous runs would balance worse are placed greedily', async () => {
    // 10, 100 and 10 neurons: in model order the best split is 10 | 110; the greedy one is 100 | 20
    const file = model(
      'uneven',
      `import { Network } from 'nefsim';
const net = new Network({ label: 'uneven', seed: 3 });
const drive = net.node([0.5], { label: 'drive' });
for (const [i, n] of [10, 100, 10].entries()) {
  const e = net.ensemble({ nNeurons: n, dimensions: 1, label: 'e' + i });
  net.connect(drive, e);
  net.probe(e, { synapse: 0.01 });
}
export default net;
`,
    );
    const m = build(await loadModel(file), { dt: 0.001, seed: 1 });
    const p = partitionModel(m, { parts: 2 });
    expect([...p.neuronsPerPart].sort((a, b) => a - b)).toEqual([20, 100]);
    // and ones that would leave a part empty: 100, 100, 100 and 1000 in three parts split contiguously as
    // 300 | 1000 | 0, as large a part as greedy's 1000 | 200 | 100, but with one part idle
    const four = model(
      'uneven4',
      `import { Network } from 'nefsim';
const net = new Network({ label: 'uneven4', seed: 3 });
const drive = net.node([0.5], { label: 'drive' });
for (const [i, n] of [100, 100, 100, 1000].entries()) {
  const e = net.ensemble({ nNeurons: n, dimensions: 1, label: 'e' + i });
  net.connect(drive, e);
}
export default net;
`,
    );
    const p3 = partitionModel(build(await loadModel(four), { dt: 0.001, seed: 1 }), { parts: 3 });
    expect([...p3.neuronsPerPart].sort((a, b) => a - b)).toEqual([100, 200, 1000]);
  });

  it('a model with a Direct ensemble runs on 2 threads, bit-identical to one (its ensemble has no neurons to count)', async () => {
    const file = model(
      'direct',
      `import { Network, Direct } from 'nefsim';
const net = new Network({ label: 'direct', seed: 2 });
const stim = net.node((t) => [Math.sin(6 * t)], { label: 'stim' });
const d = net.ensemble({ nNeurons: 1, dimensions: 1, neuronType: new Direct(), label: 'd' });
const a = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'b' });
net.connect(stim, d);
net.connect(d, a, { function: (x) => [x[0] * x[0]] });
net.connect(a, b);
net.probe(b, { synapse: 0.01, label: 'b' });
net.probe(d, { label: 'd' });
export default net;
`,
    );
    const one = await single(file, 300);
    const two = await partitioned(file, 2, 300);
    expect(two.sim.summary().partitions).toBe(2);
    expect(two.data).toEqual(one);
  });

  it('keeps Node functions without neurons in one part: two that share state give one thread\u2019s results', async () => {
    // the actuator stores what it receives; the sensor reads it back (state shared in the module)
    const file = model(
      'shared-state',
      `import { Network } from 'nefsim';
const net = new Network({ label: 'loop', seed: 11 });
let last = 0;
const actuator = net.node((t, x) => { last = x[0]; return []; }, { sizeIn: 1, label: 'actuator' });
const sensor = net.node(() => [Math.sin(10 * last) + 0.2], { label: 'sensor' });
const drive = net.node((t) => [Math.sin(6 * t)], { label: 'drive' });
const a = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'b' });
net.connect(drive, a);
net.connect(sensor, b);
net.connect(a, actuator, { synapse: 0.01 });
net.connect(b, b, { synapse: 0.05 });
net.probe(b, { synapse: 0.01, label: 'b' });
export default net;
`,
    );
    const m = build(await loadModel(file), { dt: 0.001, seed: 1 });
    const p = partitionModel(m, { parts: 2 });
    expect(p.neuronsPerPart).toEqual([40, 40]);
    for (const [op, part] of p.partOf) if (op.kind === 'func') expect(part, String(op.owner)).toBe(0);
    const one = await single(file, 400);
    const two = await partitioned(file, 2, 400);
    expect(two.data).toEqual(one);
  });

  it('refuses a model that builds a different network in each thread, naming the difference', async () => {
    // threadId differs in every worker and the main thread: so does the ensemble's size
    const file = model(
      'per-thread',
      `import { Network } from 'nefsim';
import { threadId } from 'node:worker_threads';
const net = new Network({ label: 'per-thread', seed: 3 });
const stim = net.node((t) => Math.sin(8 * t), { label: 'sin' });
const a = net.ensemble({ nNeurons: 20 + threadId, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 30, dimensions: 1, label: 'b' });
net.connect(stim, a);
net.connect(a, b);
net.probe(b, { synapse: 0.01, label: 'b' });
export default net;
`,
    );
    await expect(PartitionedSimulator.create(file, { dt: 0.001, partitions: 2 })).rejects.toThrow(
      /builds a different network each time it is loaded \(part 0 built \d+ neurons.*part 1 built \d+ neurons/,
    );
  });

  it('pins an object to a part', async () => {
    const sim = await PartitionedSimulator.create(squaring, { dt: 0.001, partitions: 2, pin: { a: 1, sq: 1 } });
    const s = sim.summary();
    expect(s.neuronsPerPart).toEqual([0, 200]);
    await sim.close();
  });

  it('a pin to a higher part than the groups fill: the summary says the parts that run, and why (it said too few)', async () => {
    const sim = await PartitionedSimulator.create(squaring, { dt: 0.001, partitions: 3, pin: { sq: 2 } });
    const s = sim.summary();
    expect(s.partitions).toBe(3);
    expect(s.neuronsPerPart.filter((n) => n === 0)).toHaveLength(1);
    expect(s.reason).toMatch(/only 2 independent groups .* it runs with 3 parts because a pin names a higher part/);
    await sim.close();
  });
});

describe('a part that fails between two chunks (a callback a Node function started throws)', () => {
  // A Node whose failure comes later, outside the step: a timer, as a socket's 'error' or a rejected write would.
  const asyncFail = (name: string) =>
    failingChain(
      name,
      'actuator',
      "(t) => { if (t > 0.05 && !fired) { fired = true; setTimeout(() => { throw new Error('actuator write failed'); }, 0); } return Math.sin(t); }",
      'let fired = false;',
    );
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('fails the next runSteps with its error (the run hung, or the error overtook a finished chunk)', async () => {
    const sim = await PartitionedSimulator.create(asyncFail('async-next'), { dt: 0.001, partitions: 2 });
    await sim.runSteps(100); // the Node's timer is set in this chunk
    expect(sim.takeData(sim.probes[0]!).rows).toBe(100); // the finished chunk is kept whole
    await sleep(50); // between chunks, as a run writes probes.h5
    const next = sim.runSteps(100).then(
      () => 'resolved',
      (e: Error) => `rejected: ${e.message}`,
    );
    expect(await Promise.race([next, sleep(10_000).then(() => 'still pending after 10 s')])).toMatch(
      /rejected: actuator write failed \(thrown outside the steps, in a callback such as a timer that a Node function started\)/,
    );
    await sim.close();
  }, 20_000);

  it('a part whose due callback ends its thread (process.exit) right after the last chunk: close() reports it', async () => {
    const file = failingChain(
      'exit-after',
      'x',
      `(t) => { if (t > 0.09 && !fired) { fired = true; setTimeout(() => process.exit(3), 1); } return Math.sin(t); }`,
      `let fired = false;`,
    );
    const sim = await PartitionedSimulator.create(file, { dt: 0.001, partitions: 2 });
    await sim.runSteps(100);
    await expect(sim.close()).rejects.toThrow(/part worker exited with code 3/);
  }, 20_000);

  it('after the last chunk: close() reports it (the run ended done)', async () => {
    const sim = await PartitionedSimulator.create(asyncFail('async-last'), { dt: 0.001, partitions: 2 });
    await sim.runSteps(100);
    await sleep(50);
    await expect(sim.close()).rejects.toThrow(/actuator write failed/);
  }, 20_000);
});
