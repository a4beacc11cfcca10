/**
 * The threaded probe store (runs/store-thread.ts) through the built package
 * (its writer is a worker thread of lib/): chunks handed over while the
 * writer is still starting are written in order, and a file that cannot be
 * created fails the next call with the writer's message, without hanging;
 * a reusable writer thread (a trial worker's) writes one file after another,
 * and one that failed is not handed back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import h5wasm from 'h5wasm/node';
import type { Dataset } from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Lib = typeof import('../src/index.js');
interface Store {
  append(completedSteps?: number): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  whenOpen(): Promise<void>;
}
interface Thread {
  readonly reusable: boolean;
  state: 'idle' | 'taken' | 'dead';
  stop(): Promise<void>;
}
type StoreModule = {
  ThreadedProbeStore: { create(path: string, sim: unknown, meta: object, thread?: Thread): Promise<Store> };
  WriterThread: new (reusable?: boolean) => Thread;
  ReusableWriter: new () => { get(): Thread; stop(): Promise<void> };
};

let dir: string;
let lib: Lib;
let storeModule: StoreModule;

beforeAll(async () => {
  await h5wasm.ready;
  dir = mkdtempSync(join(tmpdir(), 'nefsim-store-thread-'));
  lib = (await import(new URL('../lib/index.js', import.meta.url).href)) as Lib;
  storeModule = (await import(new URL('../lib/runs/store-thread.js', import.meta.url).href)) as StoreModule;
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function simulator(): { sim: InstanceType<Lib['Simulator']>; probe: ReturnType<InstanceType<Lib['Network']>['probe']> } {
  const net = new lib.Network({ label: 'st', seed: 2 });
  const stim = net.node((t: number) => [Math.sin(5 * t)], { label: 'sin' });
  const a = net.ensemble({ nNeurons: 40, dimensions: 1, label: 'a' });
  net.connect(stim, a);
  const probe = net.probe(a, { synapse: 0.01, label: 'a' });
  return { sim: new lib.Simulator(net, { dt: 0.001 }), probe };
}

describe('threaded probe store', () => {
  it('writes the chunks handed over before the writer was ready, in order', async () => {
    const { sim } = simulator();
    const path = join(dir, 'early.h5');
    const store = await storeModule.ThreadedProbeStore.create(path, sim, { engineVersion: 't', duration: 0.3, seed: 2 });
    // three chunks at once, while the writer thread is still loading h5wasm
    for (let k = 0; k < 3; k++) {
      sim.runSteps(100);
      await store.append();
    }
    await store.close();
    const mem = simulator();
    mem.sim.runSteps(300);
    const f = new h5wasm.File(path, 'r');
    try {
      const ds = f.get('probes/a') as Dataset;
      expect(ds.shape).toEqual([300, 1]);
      expect(Buffer.from((ds.value as Float64Array).buffer).equals(Buffer.from(mem.sim.data(mem.probe).data.buffer))).toBe(true);
    } finally {
      f.close();
    }
  });

  it('a file that cannot be created fails the next call with the writer\u2019s message', async () => {
    writeFileSync(join(dir, 'not-a-folder'), '');
    const { sim } = simulator();
    const store = await storeModule.ThreadedProbeStore.create(join(dir, 'not-a-folder', 'probes.h5'), sim, {
      engineVersion: 't',
      duration: 0.1,
      seed: 2,
    });
    await expect(store.whenOpen()).rejects.toThrow(/writing probes\.h5 failed/);
    sim.runSteps(10);
    await expect(store.append()).rejects.toThrow(/writing probes\.h5 failed/);
    await expect(store.close()).rejects.toThrow(/writing probes\.h5 failed/);
  });

  it('a reusable writer thread writes one file after another, and is not handed back after a failure', async () => {
    const thread = new storeModule.WriterThread(true);
    const meta = { engineVersion: 't', duration: 0.1, seed: 2 };
    const expected = simulator();
    expected.sim.runSteps(100);
    for (const name of ['first.h5', 'second.h5']) {
      const { sim } = simulator();
      const store = await storeModule.ThreadedProbeStore.create(join(dir, name), sim, meta, thread);
      expect(thread.state).toBe('taken');
      sim.runSteps(100);
      await store.append();
      await store.close();
      expect(thread.state).toBe('idle'); // handed back, h5wasm still loaded
    }
    for (const name of ['first.h5', 'second.h5']) {
      const f = new h5wasm.File(join(dir, name), 'r');
      try {
        const ds = f.get('probes/a') as Dataset;
        expect(Buffer.from((ds.value as Float64Array).buffer).equals(Buffer.from(expected.sim.data(expected.probe).data.buffer))).toBe(
          true,
        );
      } finally {
        f.close();
      }
    }
    const { sim } = simulator();
    const bad = await storeModule.ThreadedProbeStore.create(join(dir, 'not-a-folder', 'x.h5'), sim, meta, thread);
    await expect(bad.whenOpen()).rejects.toThrow(/writing probes\.h5 failed/);
    expect(thread.state).toBe('dead');
    // a thread that is not reusable ends with its store
    const once = new storeModule.WriterThread();
    const s1 = await storeModule.ThreadedProbeStore.create(join(dir, 'once.h5'), simulator().sim, meta, once);
    await s1.close();
    expect(once.state).toBe('dead');
  });

  it('a trial worker\u2019s writer: the same thread after a clean close, a new one after a store that did not close', async () => {
    const writer = new storeModule.ReusableWriter();
    const meta = { engineVersion: 't', duration: 0.1, seed: 2 };
    try {
      const t1 = writer.get();
      const s1 = await storeModule.ThreadedProbeStore.create(join(dir, 'r1.h5'), simulator().sim, meta, t1);
      await s1.close();
      expect(writer.get()).toBe(t1);
      // a run that ends without closing its store (its file still open on the thread) leaves the thread taken
      await storeModule.ThreadedProbeStore.create(join(dir, 'r2.h5'), simulator().sim, meta, t1);
      const t2 = writer.get();
      expect(t2).not.toBe(t1);
      expect(t1.state).toBe('dead');
      const s3 = await storeModule.ThreadedProbeStore.create(join(dir, 'r3.h5'), simulator().sim, meta, t2);
      await s3.close();
      expect(writer.get()).toBe(t2);
    } finally {
      await writer.stop();
    }
  });
});

describe('the writer thread\u2019s modules', () => {
  /** The modules `file` imports at run time (not `import type`), transitively, as paths under src/. */
  function runtimeImports(file: string, seen = new Set<string>()): Set<string> {
    if (seen.has(file)) return seen;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'";]*?from\s+'(\.[^']+)'/gm)) {
      runtimeImports(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')), seen);
    }
    return seen;
  }

  it('loads neither the engine nor the run code: only the writer, its file format, and the step count', () => {
    const src = fileURLToPath(new URL('../src/', import.meta.url));
    const files = [...runtimeImports(join(src, 'runs/store-worker.ts'))].map((f) => relative(src, f)).sort();
    // Each of these is small and imports nothing heavier; the engine (simulator.ts and the builder
    // behind it) cost the writer thread about 40 ms of CPU at every start before 2026-11-23.
    expect(files).toEqual([
      'engine/steps.ts',
      'runs/kept-units.ts',
      'runs/store-format.ts',
      'runs/store-worker.ts',
      'runs/store-writer.ts',
    ]);
  });
});
