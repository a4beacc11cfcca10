/**
 * Dense transforms (Nengo's `Dense`) and a Distribution given as a
 * connection's transform (a Dense of the connection's shape, sampled at
 * build from the connection's seed, as Nengo's Dense.sample; nefsim's
 * generator is its own, so the values match Nengo's in distribution).
 */
import { describe, expect, it } from 'vitest';
import { Dense, Gaussian, LstsqL2, Network, Rng, Simulator, Uniform } from '../src/index.js';
import { samplesOrDist } from '../src/engine/dists.js';

function neuronsToNeurons(transform: ConstructorParameters<typeof Object>[0], seed = 0, connSeed?: number) {
  const net = new Network({ seed });
  const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
  const b = net.ensemble({ nNeurons: 12, dimensions: 1, label: 'b' });
  const c = net.connect(a.neurons, b.neurons, { transform: transform as never, ...(connSeed !== undefined ? { seed: connSeed } : {}) });
  const p = net.probe(b.neurons, { attr: 'input' });
  return { net, c, p };
}

describe('Dense transforms', () => {
  it('a Dense of a matrix builds and runs as the matrix itself, bit for bit', () => {
    const W = Array.from({ length: 12 }, (_, i) => Array.from({ length: 10 }, (_, j) => Math.sin(i + 3 * j) * 1e-3));
    const runs = [W, new Dense([12, 10], { init: W })].map((t) => {
      const { net, p } = neuronsToNeurons(t);
      const sim = new Simulator(net);
      sim.runSteps(50);
      return sim.data(p).data;
    });
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a number or a vector on a square shape is that times the identity, or the diagonal', () => {
    const net = new Network({ seed: 1 });
    const a = net.ensemble({ nNeurons: 30, dimensions: 3 });
    const o1 = net.node(null, { sizeIn: 3 }),
      o2 = net.node(null, { sizeIn: 3 });
    const c1 = net.connect(a, o1, { transform: new Dense([3, 3], { init: 2 }) });
    const c2 = net.connect(a, o2, { transform: new Dense([3, 3], { init: [1, -1, 0.5] }) });
    const sim = new Simulator(net);
    const dec = sim.weights(c1).data; // decoded: the transform times the decoders, 3 x 30
    const plain = sim.weights(c2).data;
    expect(dec.length).toBe(90);
    // row k of c2's is (1, -1, 0.5)[k] / 2 times row k of c1's
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 30; i++) expect(plain[k * 30 + i]!).toBeCloseTo(([1, -1, 0.5][k]! / 2) * dec[k * 30 + i]!, 12);
  });

  it('a number or a vector between neurons is built elementwise, as Nengo keeps it (not as an n x n matrix): as transform 2 or [..]', () => {
    const square = (t: unknown) => {
      const net = new Network({ seed: 4 });
      const a = net.ensemble({ nNeurons: 10, dimensions: 1 });
      const b = net.ensemble({ nNeurons: 10, dimensions: 1 });
      net.connect(a.neurons, b.neurons, { transform: t as never });
      const p = net.probe(b.neurons, { attr: 'input' });
      const sim = new Simulator(net);
      sim.runSteps(40);
      return { data: sim.data(p).data, values: sim.summary().arenaValues };
    };
    const diag = Array.from({ length: 10 }, (_, i) => 0.1 * i - 0.3);
    expect(square(new Dense([10, 10], { init: 0.2 }))).toEqual(square(0.2));
    expect(square(new Dense([10, 10], { init: diag }))).toEqual(square(diag));
    const full = square(
      new Dense([10, 10], { init: Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 0.2 : 0))) }),
    );
    expect(square(0.2).values).toBeLessThan(full.values); // no 10 x 10 matrix in the arena
  });

  it('refuses a shape that does not fit the connection, and a number or vector on a non-square shape', () => {
    const net = new Network();
    const a = net.node([1, 2]);
    const b = net.node(null, { sizeIn: 3, label: 'b' });
    expect(() => net.connect(a, b, { label: 'ab', transform: new Dense([2, 3], { init: new Uniform(0, 1) }) as never })).toThrow(
      /'ab': the dense transform is 2x3; it must be 3x2/,
    );
    expect(() => new Dense([3, 2], { init: 2 })).toThrow(/Dense: a number as init needs a square shape, got 3x2/);
    expect(() => new Dense([3, 2], { init: [1, 2, 3] })).toThrow(/needs a square shape/);
    expect(() => new Dense([2, 2], { init: [[1, 2], [3]] })).toThrow(/Dense: init row 1 has 1 values for 2 columns/);
    expect(() => new Dense([0, 2])).toThrow(/Dense: shape must be/);
  });
});

describe('a Distribution as a transform (Nengo: Dense of the connection shape, sampled at build)', () => {
  it("draws a post x pre matrix from the connection's seed: the same in every build, another with another seed", () => {
    const w = (seed: number, connSeed?: number) => {
      const { net, c } = neuronsToNeurons(new Uniform(-1, 1), seed, connSeed);
      const W = new Simulator(net).weights(c);
      expect([W.rows, W.cols]).toEqual([12, 10]);
      return Array.from(W.data);
    };
    const first = w(0);
    expect(w(0)).toEqual(first);
    expect(w(5)).not.toEqual(first);
    expect(w(0, 17)).toEqual(w(3, 17)); // a connection's own seed decides
    // drawn apart from the connection's other stream (its eval points, its solver's noise): not its first draws
    const other = samplesOrDist(new Uniform(-1, 1), 12, 10, new Rng(17), 'test');
    expect(w(0, 17)).not.toEqual(Array.from(other));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...first)).toBeLessThan(1);
    // 120 draws of U(-1, 1): mean 0 (sd 0.053), variance 1/3
    const mean = first.reduce((s, x) => s + x, 0) / first.length;
    const variance = first.reduce((s, x) => s + (x - mean) ** 2, 0) / first.length;
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(variance).toBeGreaterThan(0.25);
    expect(variance).toBeLessThan(0.42);
  });

  it('on a decoded connection the drawn matrix maps the function output to the post (its decoders are transform x decoders)', () => {
    const build = (t: unknown) => {
      const net = new Network({ seed: 2 });
      const a = net.ensemble({ nNeurons: 40, dimensions: 2 });
      const o = net.node(null, { sizeIn: 3 });
      const c = net.connect(a, o, { transform: t as never, seed: 9 });
      return { sim: new Simulator(net), c };
    };
    const { sim, c } = build(new Gaussian(0, 1));
    const T = sim.weights(c); // decoded: the transformed decoders, 3 x 40
    expect([T.rows, T.cols]).toEqual([3, 40]);
    const { sim: ident, c: ci } = build([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const D = ident.weights(ci).data; // rows 0, 1: the identity decoders
    // each row of T is a combination of the two decoder rows
    for (let r = 0; r < 3; r++) {
      // least squares for (x, y) in T[r] = x D0 + y D1, then check the fit is exact
      let a00 = 0,
        a01 = 0,
        a11 = 0,
        b0 = 0,
        b1 = 0;
      for (let i = 0; i < 40; i++) {
        const d0 = D[i]!,
          d1 = D[40 + i]!,
          t = T.data[r * 40 + i]!;
        a00 += d0 * d0;
        a01 += d0 * d1;
        a11 += d1 * d1;
        b0 += d0 * t;
        b1 += d1 * t;
      }
      const det = a00 * a11 - a01 * a01;
      const x = (b0 * a11 - b1 * a01) / det,
        y = (a00 * b1 - a01 * b0) / det;
      for (let i = 0; i < 40; i++) expect(T.data[r * 40 + i]!).toBeCloseTo(x * D[i]! + y * D[40 + i]!, 10);
    }
  });

  it('with a weight solver: the full weights solve for the drawn matrix (the same in every build, another with another seed)', () => {
    const weights = (connSeed: number, t: unknown) => {
      const net = new Network({ seed: 6 });
      const a = net.ensemble({ nNeurons: 30, dimensions: 2 });
      const b = net.ensemble({ nNeurons: 20, dimensions: 3 });
      const c = net.connect(a, b, { transform: t as never, seed: connSeed, solver: new LstsqL2({ weights: true }) });
      return new Simulator(net).weights(c);
    };
    const w = weights(11, new Gaussian(0, 1));
    expect([w.rows, w.cols]).toEqual([20, 30]);
    expect(weights(11, new Gaussian(0, 1)).data).toEqual(w.data);
    expect(weights(12, new Gaussian(0, 1)).data).not.toEqual(w.data);
    expect(Array.from(w.data).every(Number.isFinite)).toBe(true);
  });
});
