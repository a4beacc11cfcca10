/**
 * The WebAssembly kernels against the JavaScript ones (NEFSIM_WASM=0) over
 * small random networks (test/fixtures/random-network.mjs): every probe and
 * the whole arena after the run must be identical, bit for bit, in float64
 * and float32 arenas. The arena's comparison also catches a kernel that
 * writes outside its range into another signal. A copy onto an overlapping
 * range stays in JavaScript. And partitioned runs of some of those networks
 * (WebAssembly over shared memory) against one thread: these use the built
 * package (npm run build), as test/partitions.test.ts does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as nefsim from '../src/index.js';
import { build } from '../src/engine/builder/build.js';
import type { Op } from '../src/engine/builder/ops.js';
import type { Sig } from '../src/engine/builder/signals.js';
import { Plan } from '../src/engine/plan.js';
import * as built from '../lib/index.js';
import { PartitionedSimulator } from '../lib/parallel/index.js';
import { loadModel } from '../lib/runs/model.js';
import { randomNetwork } from './fixtures/random-network.mjs';

type Dtype = 'float64' | 'float32';
type Made = { net: nefsim.Network; probes: nefsim.Probe[] };

const SEEDS = Array.from({ length: 16 }, (_, k) => 1000 + 7 * k);
/** The kernels whose WebAssembly the random networks must have run (besides the LIF step and the products). */
const VECTOR_KINDS = ['copy', 'copy-inc', 'elementwise', 'filter:gain', 'filter:lowpass', 'reset'];

const saved = process.env['NEFSIM_WASM'];
afterEach(() => {
  if (saved === undefined) delete process.env['NEFSIM_WASM'];
  else process.env['NEFSIM_WASM'] = saved;
});

/** The bytes of a typed array. */
const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The first element at which two arrays of the same type differ in bits, or -1. */
function firstDifference(a: Float64Array | Float32Array, b: Float64Array | Float32Array): number {
  if (a.length !== b.length || a.constructor !== b.constructor) return 0;
  const x = bytes(a),
    y = bytes(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return Math.floor(i / a.BYTES_PER_ELEMENT);
  return -1;
}

function run(seed: number, wasm: boolean, dtype: Dtype) {
  if (wasm) delete process.env['NEFSIM_WASM'];
  else process.env['NEFSIM_WASM'] = '0';
  const { net, probes } = randomNetwork(nefsim, seed) as Made;
  const sim = new nefsim.Simulator(net, { dt: 0.001, decoderCache: null, dtype });
  sim.runSteps(250);
  const inWasm = sim.plan.kernels.filter((k) => (k as unknown as { wasm?: unknown }).wasm !== undefined).map((k) => k.kind);
  return {
    data: probes.map((p) => sim.data(p).data),
    labels: probes.map((p) => p.name),
    arena: sim.plan.arena.slice(),
    inWasm,
    kinds: sim.plan.kernels.map((k) => k.kind),
  };
}

describe('vector kernels in WebAssembly against JavaScript, random networks', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const seed of SEEDS) {
      it(`seed ${seed} (${dtype}): every probe and the arena bit for bit`, () => {
        const w = run(seed, true, dtype);
        const js = run(seed, false, dtype);
        expect(js.inWasm).toEqual([]);
        expect(w.kinds).toEqual(js.kinds);
        // with LIF neurons the arena is WebAssembly memory (plan.ts usesWasmArena), and the vector kernels
        // the plan has ran in WebAssembly (only a copy onto an overlapping range would not)
        if (w.kinds.includes('neurons:LIF')) for (const k of VECTOR_KINDS) if (w.kinds.includes(k)) expect(w.inWasm, k).toContain(k);
        expect(w.data.length).toBe(js.data.length);
        w.data.forEach((d, i) => {
          const at = firstDifference(d, js.data[i]!);
          expect(at, `probe ${w.labels[i]}: value ${at}: ${d[at]} (WebAssembly) vs ${js.data[i]![at]} (JavaScript)`).toBe(-1);
        });
        const at = firstDifference(w.arena, js.arena);
        expect(at, `arena element ${at}: ${w.arena[at]} vs ${js.arena[at]}`).toBe(-1);
        expect(w.arena instanceof Float32Array).toBe(dtype === 'float32');
      });
    }
  }

  it('the random networks have every vector kernel, in WebAssembly', () => {
    delete process.env['NEFSIM_WASM'];
    const seen = new Set<string>();
    for (const seed of SEEDS) {
      const sim = new nefsim.Simulator(randomNetwork(nefsim, seed).net as nefsim.Network, { dt: 0.001, decoderCache: null });
      for (const k of sim.plan.kernels) if ((k as unknown as { wasm?: unknown }).wasm !== undefined) seen.add(k.kind);
    }
    for (const k of [...VECTOR_KINDS, 'neurons:LIF', 'dotinc', 'encode']) expect([...seen], k).toContain(k);
  });
});

describe('a copy onto an overlapping range', () => {
  // No connection makes one (an op that adds into what it reads is a cycle the schedule refuses), but a
  // plain copy may: it stays in JavaScript, whose element by element order a shifted range sees.
  function copies(wasm: boolean, dtype: Dtype) {
    if (wasm) delete process.env['NEFSIM_WASM'];
    else process.env['NEFSIM_WASM'] = '0';
    const net = new nefsim.Network({ seed: 1 });
    net.ensemble({ nNeurons: 5, dimensions: 1 });
    const m = build(net, { dt: 0.001, seed: 1 });
    const init = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i + 0.5);
    const [up, down, apart] = [m.signals.add('up', 9, init(9)), m.signals.add('down', 9, init(9)), m.signals.add('apart', 10, init(10))];
    const copy = (src: Sig, dst: Sig): Op => ({ kind: 'copy', src, dst, srcIdx: undefined, dstIdx: undefined, inc: false, owner: 'test' });
    m.ops.push(copy(up.view(0, 8), up.view(1, 8)), copy(down.view(1, 8), down.view(0, 8)));
    // adjacent ranges do not overlap
    m.ops.push({
      kind: 'copy',
      src: apart.view(0, 5),
      dst: apart.view(5, 5),
      srcIdx: undefined,
      dstIdx: undefined,
      inc: true,
      owner: 'test',
    });
    const plan = new Plan(m, { dtype });
    for (let k = 0; k < 3; k++) for (const kernel of plan.kernels) kernel.run();
    const wasmOf = (kind: string): boolean[] =>
      plan.kernels.filter((k) => k.kind === kind).map((k) => (k as unknown as { wasm?: unknown }).wasm !== undefined);
    return {
      arena: plan.arena.slice(),
      copy: wasmOf('copy'),
      copyInc: wasmOf('copy-inc'),
      up: [...plan.arena.subarray(up.offset, up.offset + 9)],
    };
  }
  for (const dtype of ['float64', 'float32'] as const) {
    it(`stays in JavaScript and gives its results (${dtype})`, () => {
      const w = copies(true, dtype);
      const js = copies(false, dtype);
      // element by element, one up: the first value runs through (pairs at a time would move pairs)
      expect(w.up).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
      expect(w.copy).toEqual([false]);
      expect(w.copyInc).toEqual([true]);
      expect(firstDifference(w.arena, js.arena)).toBe(-1);
    });
  }
});

describe('random networks on 2 threads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nefsim-random-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const LIB = new URL('../lib/index.js', import.meta.url).href;
  const FIXTURE = new URL('./fixtures/random-network.mjs', import.meta.url).href;

  function modelFile(seed: number): string {
    const file = join(dir, `random-${seed}.mjs`);
    writeFileSync(
      file,
      `import * as nefsim from '${LIB}';\nimport { randomNetwork } from '${FIXTURE}';\nexport default randomNetwork(nefsim, ${seed}).net;\n`,
    );
    return file;
  }

  // parts split at cuts and level-parallel parts, of each dtype
  for (const [seed, dtype, mode] of [
    [1000, 'float64', 'cut'],
    [1014, 'float32', 'cut'],
    [1021, 'float32', 'levels'],
    [1028, 'float64', 'levels'],
  ] as const) {
    it(`seed ${seed} (${dtype}, ${mode}): partitioned (WebAssembly over shared memory) equals one thread bit for bit`, async () => {
      const file = modelFile(seed);
      const net = await loadModel(file);
      const one = new built.Simulator(net, { dt: 0.001, decoderCache: null, dtype });
      one.runSteps(200);
      const ref = net.allProbes.map((p) => one.data(p).data);
      const sim = await PartitionedSimulator.create(file, { dt: 0.001, partitions: 2, dtype });
      try {
        expect(sim.summary()).toMatchObject({ kernels: 'webassembly', partitions: 2, mode });
        const acc: Float64Array[][] = sim.probes.map(() => []);
        for (const steps of [120, 80]) {
          await sim.runSteps(steps);
          sim.probes.forEach((p, i) => acc[i]!.push(sim.takeData(p).data));
        }
        const data = acc.map((list) => Float64Array.from(list.flatMap((a) => [...a])));
        expect(data.length).toBe(ref.length);
        data.forEach((d, i) => expect(firstDifference(d, ref[i]!), `probe ${i}`).toBe(-1));
      } finally {
        await sim.close();
      }
    });
  }
});
