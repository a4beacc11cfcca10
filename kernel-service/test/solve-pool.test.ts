/**
 * Decoder solves of a large build on a helper thread (engine/builder/
 * solve-pool.ts), through the built package (the pool's helper runs the
 * built JavaScript): the same decoders and results as one thread, bit for
 * bit; the decoder cache still serves and is filled; and failures (a
 * degenerate solve, a function that throws) are reported as before, naming
 * the connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, LstsqL2, MemoryDecoderCache, Network, Simulator, networks } from '../lib/index.js';
import type { Network as NetworkType } from '../lib/index.js';

const before = process.env['NEFSIM_BUILD_THREADS'];
afterEach(() => {
  if (before === undefined) delete process.env['NEFSIM_BUILD_THREADS'];
  else process.env['NEFSIM_BUILD_THREADS'] = before;
});

/** A CircularConvolution large enough for the pool, whose build lasts long enough for the helper to start and take jobs. */
function model(extra?: (net: NetworkType) => void): { net: NetworkType; probe: ReturnType<NetworkType['probe']> } {
  const net = new Network({ label: 'cc', seed: 11 });
  const a = net.node(
    Array.from({ length: 32 }, (_, i) => Math.sin(i) / 3),
    { label: 'a' },
  );
  const b = net.node((t: number) => Array.from({ length: 32 }, (_, i) => Math.cos(t + i) / 3), { label: 'b' });
  const cc = networks.CircularConvolution({ nNeurons: 200, dimensions: 32, parent: net, label: 'cc' });
  net.connect(a, cc.inputA, { synapse: null });
  net.connect(b, cc.inputB, { synapse: null });
  const probe = net.probe(cc.output, { synapse: 0.01, label: 'out' });
  extra?.(net);
  return { net, probe };
}

function build(threads: number, extra?: (net: NetworkType) => void, cache: MemoryDecoderCache | null = null) {
  process.env['NEFSIM_BUILD_THREADS'] = String(threads);
  const { net, probe } = model(extra);
  const sim = new Simulator(net, { decoderCache: cache });
  return { sim, probe };
}

/** Every constant signal's initial values (weights, encoders, ...), concatenated. */
function constants(sim: Simulator): number[] {
  const out: number[] = [];
  for (const b of sim.model.signals.bases) if (b.init) out.push(...b.init);
  return out;
}

describe('decoder solves on helper threads', () => {
  it('give the same decoders and the same run as one thread, and say so in the summary', () => {
    const one = build(0);
    const two = build(1);
    expect(one.sim.model.pooled.solves).toBe(0);
    expect(two.sim.model.pooled.solves).toBeGreaterThanOrEqual(60);
    expect(two.sim.model.pooled.helperJobs).toBeGreaterThan(0); // the helper did take part
    expect(two.sim.summary().buildThreads).toBe(2);
    expect(one.sim.summary().buildThreads).toBe(1);
    const c1 = constants(one.sim),
      c2 = constants(two.sim);
    expect(c2.length).toBe(c1.length);
    expect(c2.every((v, i) => Object.is(v, c1[i]))).toBe(true);
    one.sim.runSteps(50);
    two.sim.runSteps(50);
    expect(Array.from(two.sim.data(two.probe).data)).toEqual(Array.from(one.sim.data(one.probe).data));
  });

  it('fill the decoder cache, and a second build takes its decoders from there', () => {
    const cache = new MemoryDecoderCache();
    const first = build(1, undefined, cache);
    expect(first.sim.model.pooled.solves).toBeGreaterThan(0);
    const second = build(1, undefined, cache);
    expect(second.sim.model.pooled.solves).toBe(0);
    expect(cache.hits).toBeGreaterThanOrEqual(first.sim.model.pooled.solves);
    expect(constants(second.sim)).toEqual(constants(first.sim));
  });

  it('solve the job of a helper that died again on the calling thread, with the same result', () => {
    const one = build(0);
    process.env['NEFSIM_TEST_HELPER_DIES'] = '1';
    try {
      const t0 = Date.now();
      const two = build(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(5000); // it waited for the helper's job, then gave up on it
      expect(two.sim.model.pooled.helperJobs).toBe(0);
      expect(two.sim.summary().buildThreads).toBe(1);
      expect(constants(two.sim)).toEqual(constants(one.sim));
    } finally {
      delete process.env['NEFSIM_TEST_HELPER_DIES'];
    }
  });

  it('leave a failing solve and a throwing function to the connection, which names itself', () => {
    // all neurons silent at every eval point and no regularisation: the Gram matrix is singular
    const silent = (net: NetworkType): void => {
      const e = net.ensemble({ nNeurons: 50, dimensions: 1, intercepts: Array(50).fill(0.99), label: 'silent' });
      const sink = net.node(null, { sizeIn: 1, label: 'sink' });
      net.connect(e, sink, {
        solver: new LstsqL2({ reg: 0 }),
        evalPoints: Array.from({ length: 60 }, (_, i) => [i / 100]),
        label: 'degenerate',
      });
    };
    const messages = [0, 1].map((threads) => {
      try {
        build(threads, silent);
        return 'built';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(messages[0]).toMatch(/degenerate/);
    expect(messages[1]).toBe(messages[0]);

    const throws = (net: NetworkType): void => {
      const e = net.ensemble({ nNeurons: 50, dimensions: 1, label: 'e' });
      const sink = net.node(null, { sizeIn: 1, label: 'sink' });
      net.connect(e, sink, {
        function: () => {
          throw new Error('no target here');
        },
        label: 'throwing',
      });
    };
    const thrown = [0, 1].map((threads) => {
      try {
        build(threads, throws);
        return 'built';
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(thrown[0]).toMatch(/throwing.*no target here|no target here/);
    expect(thrown[1]).toBe(thrown[0]);
    expect(Connection).toBeDefined();
  });
});
