import { describe, expect, it } from 'vitest';
import { Network, Simulator } from '../src/index.js';
import { oscillator, squaring } from './models.js';

function run(make: (seed: number) => { net: Network; probe: import('../src/index.js').Probe }, seed: number, merge = true): Float64Array {
  const m = make(seed);
  const sim = new Simulator(m.net, { dt: 0.001, merge });
  sim.run(0.3);
  return sim.data(m.probe).data;
}

describe('determinism', () => {
  it('the same seed gives bit-identical results', () => {
    expect(run(squaring, 7)).toEqual(run(squaring, 7));
    expect(run(oscillator, 3)).toEqual(run(oscillator, 3));
  });

  it('a different seed gives different results', () => {
    expect(run(squaring, 7)).not.toEqual(run(squaring, 8));
  });

  it('merged and unmerged operator schedules give identical results', () => {
    expect(run(squaring, 11, true)).toEqual(run(squaring, 11, false));
    expect(run(oscillator, 11, true)).toEqual(run(oscillator, 11, false));
  });

  it('the Simulator seed overrides the network seed', () => {
    const a = squaring(1);
    const b = squaring(2);
    const sa = new Simulator(a.net, { seed: 99 });
    const sb = new Simulator(b.net, { seed: 99 });
    sa.run(0.1);
    sb.run(0.1);
    expect(sa.data(a.probe).data).toEqual(sb.data(b.probe).data);
  });

  it('adding a seeded object does not reseed its siblings', () => {
    const make = (extra: boolean): Float64Array => {
      const net = new Network({ seed: 4 });
      const a = net.ensemble({ nNeurons: 30, dimensions: 1 });
      if (extra) net.ensemble({ nNeurons: 10, dimensions: 1, seed: 123 });
      const sim = new Simulator(net);
      return sim.built(a).gain;
    };
    expect(make(true)).toEqual(make(false));
  });

  it('reset() replays the same run', () => {
    const m = squaring(5);
    const sim = new Simulator(m.net);
    sim.run(0.2);
    const first = sim.data(m.probe).data;
    sim.reset();
    sim.run(0.2);
    expect(sim.data(m.probe).data).toEqual(first);
  });
});

describe('float32', () => {
  it('a float32 simulation stays within the accuracy of the float64 one', () => {
    const m64 = squaring(2);
    const m32 = squaring(2);
    const s64 = new Simulator(m64.net, { dt: 0.001 });
    const s32 = new Simulator(m32.net, { dt: 0.001, dtype: 'float32' });
    s64.run(1);
    s32.run(1);
    const a = s64.data(m64.probe),
      b = s32.data(m32.probe);
    let se = 0;
    for (let i = 100; i < a.rows; i++) se += (a.get(i) - b.get(i)) ** 2;
    const rmse = Math.sqrt(se / (a.rows - 100));
    expect(rmse).toBeLessThan(0.02);
    expect(s32.plan.arena).toBeInstanceOf(Float32Array);
  });
});

describe('streaming probe data', () => {
  it('takeData returns the samples since the last call and frees them', () => {
    const a = squaring(9);
    const b = squaring(9);
    const whole = new Simulator(a.net);
    whole.run(0.3);
    const parts = new Simulator(b.net);
    const chunks: Float64Array[] = [];
    for (let i = 0; i < 3; i++) {
      parts.run(0.1);
      chunks.push(parts.takeData(b.probe).data);
    }
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 100]);
    const joined = new Float64Array(300);
    chunks.forEach((c, i) => joined.set(c, i * 100));
    expect(joined).toEqual(whole.data(a.probe).data);
    expect(parts.data(b.probe).rows).toBe(0);
  });
});

describe('decoder cache', () => {
  it('a rebuild of the same model reuses solved decoders and gives identical results', async () => {
    const { MemoryDecoderCache } = await import('../src/index.js');
    const cache = new MemoryDecoderCache();
    const a = squaring(21);
    const s1 = new Simulator(a.net, { decoderCache: cache });
    expect(cache.misses).toBeGreaterThan(0);
    expect(cache.hits).toBe(0);
    const b = squaring(21);
    const s2 = new Simulator(b.net, { decoderCache: cache });
    expect(cache.hits).toBe(cache.misses);
    const s3 = new Simulator(squaring(21).net, { decoderCache: null });
    s1.run(0.2);
    s2.run(0.2);
    s3.run(0.2);
    expect(s2.data(b.probe).data).toEqual(s1.data(a.probe).data);
    expect(s3.data(s3.probes[0]!).data).toEqual(s1.data(a.probe).data);
    // a different seed is a different solution
    new Simulator(squaring(22).net, { decoderCache: cache });
    expect(cache.misses).toBeGreaterThan(cache.hits);
  });
});
