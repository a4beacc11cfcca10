/**
 * Convolution and ConvolutionTranspose transforms against Nengo 4.1
 * (fixtures/nengo_convolution.json, written by
 * fixtures/nengo_convolution.py): fourteen shapes (1-D and 2-D, valid and
 * same padding with odd and even kernels, strides, channels first, groups,
 * transposes with default and given output shapes) applied to a fixed
 * input, the weights probe, a convolution between two ensembles' neurons
 * step by step, and what is refused, as in Nengo.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import {
  Convolution,
  ConvolutionTranspose,
  Gaussian,
  Network,
  PES,
  Simulator,
  Sparse,
  Uniform,
  type ConvolutionBase,
} from '../src/index.js';

interface Case {
  kind: 'conv' | 'transpose';
  n_filters: number;
  input_shape: number[];
  kernel_size?: number[];
  strides?: number[];
  padding?: 'valid' | 'same';
  channels_last?: boolean;
  groups?: number;
  output_shape?: number[];
  outputShape: number[];
  kernelShape: number[];
  kernel: number[];
  x: number[];
  y: number[];
  weights: number[];
}
type WithEval = FixtureNeurons & { evalPoints: number[] };
const fx = readFixture('nengo_convolution') as {
  cases: Case[];
  neurons: { steps: number; a: WithEval; b: WithEval; kernel: number[]; bVoltage: number[][] };
};

function make(c: Case, init: number[] | Uniform | Gaussian = c.kernel): ConvolutionBase {
  const common = {
    init,
    ...(c.kernel_size && { kernelSize: c.kernel_size }),
    ...(c.strides && { strides: c.strides }),
    ...(c.padding && { padding: c.padding }),
    ...(c.channels_last !== undefined && { channelsLast: c.channels_last }),
  };
  return c.kind === 'conv'
    ? new Convolution(c.n_filters, c.input_shape, { ...common, ...(c.groups && { groups: c.groups }) })
    : new ConvolutionTranspose(c.n_filters, c.input_shape, { ...common, ...(c.output_shape && { outputShape: c.output_shape }) });
}

const describeCase = (c: Case): string =>
  `${c.kind} ${JSON.stringify(c.input_shape)} -> ${JSON.stringify(c.outputShape)}, kernel ${JSON.stringify(c.kernelShape)}` +
  `${c.strides ? `, strides ${JSON.stringify(c.strides)}` : ''}${c.padding ? `, ${c.padding}` : ''}` +
  `${c.channels_last === false ? ', channels first' : ''}${c.groups ? `, groups ${c.groups}` : ''}`;

describe("Convolution transforms as Nengo 4.1's", () => {
  it.each(fx.cases.map((c) => [describeCase(c), c] as const))('%s: the same output and weights', (_, c) => {
    const t = make(c);
    expect(t.outputShape).toEqual(c.outputShape);
    expect(t.kernelShape).toEqual(c.kernelShape);
    const net = new Network({ seed: 1 });
    const src = net.node(c.x);
    const dst = net.node(null, { sizeIn: t.sizeOut });
    const conn = net.connect(src, dst, { transform: t, synapse: null });
    const p = net.probe(dst);
    const pw = net.probe(conn, { attr: 'weights' });
    const sim = new Simulator(net);
    sim.runSteps(1);
    const y = sim.data(p).toArray()[0]!;
    const scale = Math.max(...c.y.map(Math.abs));
    expect(scale).toBeGreaterThan(0);
    expect(y.length).toBe(c.y.length);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - c.y[i]!), `output ${i}`).toBeLessThan(1e-13 * scale);
    expect(sim.data(pw).toArray()[0]).toEqual(c.weights);
    expect(sim.weights(conn).shape).toEqual([c.weights.length / c.n_filters, c.n_filters]);
  });

  it.each(fx.cases.map((c) => [describeCase(c), c] as const))(
    '%s: input by input (the path from spiking neurons), the same output',
    (_, c) => {
      const { start, yOff, kOff, run, yStride, kStride } = make(c).spread();
      const y = new Float64Array(c.y.length);
      for (let i = 0; i < c.x.length; i++)
        for (let e = start[i]!; e < start[i + 1]!; e++)
          for (let r = 0; r < run; r++) y[yOff[e]! + r * yStride]! += c.x[i]! * c.kernel[kOff[e]! + r * kStride]!;
      const scale = Math.max(...c.y.map(Math.abs));
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - c.y[i]!), `output ${i}`).toBeLessThan(1e-13 * scale);
    },
  );

  it('a kernel given as nested arrays of its shape is the same kernel', () => {
    const c = fx.cases[0]!;
    const [kh, kw, ch, f] = c.kernelShape as [number, number, number, number];
    const nested = Array.from({ length: kh }, (_, i) =>
      Array.from({ length: kw }, (_, j) =>
        Array.from({ length: ch }, (_, k) => c.kernel.slice(((i * kw + j) * ch + k) * f, ((i * kw + j) * ch + k + 1) * f)),
      ),
    );
    expect(new Convolution(c.n_filters, c.input_shape, { init: nested }).init).toEqual(Float64Array.from(c.kernel));
  });

  it.each(['float64', 'float32'] as const)("between two ensembles' neurons (%s): voltages step by step", (dtype) => {
    const { a: pa, b: pb, kernel, steps, bVoltage } = fx.neurons;
    const net = new Network({ seed: 3 });
    const stim = net.node((t) => Math.sin(2 * Math.PI * 3 * t));
    const a = fixtureEnsemble(net, pa, pa.evalPoints);
    const b = fixtureEnsemble(net, pb, pb.evalPoints);
    net.connect(stim, a);
    net.connect(a.neurons, b.neurons, { transform: new Convolution(2, [4, 4, 1], { init: kernel }) });
    const pv = net.probe(b.neurons, { attr: 'voltage' });
    const sim = new Simulator(net, { dtype });
    sim.runSteps(steps);
    const got = sim.data(pv).toArray();
    let moved = 0;
    // float32: rounding of about 1e-7 a step, on voltages that reach about 1
    const tol = dtype === 'float64' ? 1e-9 : 1e-4;
    for (let k = 0; k < steps; k++)
      for (let i = 0; i < 8; i++) {
        expect(Math.abs(got[k]![i]! - bVoltage[k]![i]!), `step ${k}, neuron ${i}`).toBeLessThan(tol);
        moved = Math.max(moved, Math.abs(bVoltage[k]![i]! - bVoltage[0]![i]!));
      }
    expect(moved).toBeGreaterThan(0.1); // the convolution drove them
  });

  it.each(['float64', 'float32'] as const)(
    'from spiking neurons, the WebAssembly spread equals the JavaScript one bit for bit (%s): contiguous and strided filters, Sparse entries',
    (dtype) => {
      const run = (wasm: boolean): number[][][] => {
        const saved = process.env['NEFSIM_WASM'];
        if (wasm) delete process.env['NEFSIM_WASM'];
        else process.env['NEFSIM_WASM'] = '0';
        try {
          const net = new Network({ seed: 6 });
          const stim = net.node((t) => [Math.sin(7 * t), Math.cos(4 * t)]);
          const a = net.ensemble({ nNeurons: 50, dimensions: 2 });
          net.connect(stim, a);
          const last = new Convolution(3, [5, 5, 2], { padding: 'same', strides: [2, 2] });
          const first = new ConvolutionTranspose(2, [2, 5, 5], { channelsLast: false, kernelSize: [2, 2] });
          const b = net.ensemble({ nNeurons: last.sizeOut, dimensions: 1 });
          const c = net.ensemble({ nNeurons: first.sizeOut, dimensions: 1 });
          net.connect(a.neurons, b.neurons, { transform: last });
          net.connect(a.neurons, c.neurons, { transform: first });
          const indices = Array.from({ length: 120 }, (_, k) => [(k * 7) % 50, (k * 13) % 50]);
          net.connect(a.neurons, a.neurons, { transform: new Sparse([50, 50], { indices, init: new Uniform(-0.02, 0.02) }) });
          const probes = [b, c, a].map((e) => net.probe(e.neurons, { attr: 'voltage' }));
          const sim = new Simulator(net, { dtype });
          sim.runSteps(200);
          return probes.map((p) => sim.data(p).toArray());
        } finally {
          if (saved === undefined) delete process.env['NEFSIM_WASM'];
          else process.env['NEFSIM_WASM'] = saved;
        }
      };
      const js = run(false);
      expect(js[0]!.at(-1)!.some((v) => v !== js[0]![0]![0])).toBe(true);
      expect(run(true)).toEqual(js);
    },
  );

  it('samples a Distribution kernel from the connection seed, one block per kernel position', () => {
    const run = (seed: number, init: Uniform | Gaussian = new Uniform(-1, 1)): number[] => {
      const net = new Network({ seed: 1 });
      const src = net.node(new Array<number>(5 * 5 * 2).fill(1));
      const dst = net.node(null, { sizeIn: 3 * 3 * 4 });
      const c = net.connect(src, dst, { transform: new Convolution(4, [5, 5, 2], { init }), seed, synapse: null });
      return new Simulator(net).weights(c).toArray().flat();
    };
    const w = run(7);
    expect(w.length).toBe(3 * 3 * 2 * 4);
    expect(run(7)).toEqual(w);
    expect(run(8)).not.toEqual(w);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...w)).toBeLessThanOrEqual(1);
    // the default is Nengo's Uniform(-1, 1)
    const net = new Network({ seed: 1 });
    const src = net.node(new Array<number>(50).fill(1));
    const dst = net.node(null, { sizeIn: 36 });
    const c = net.connect(src, dst, { transform: new Convolution(4, [5, 5, 2]), seed: 7, synapse: null });
    expect(new Simulator(net).weights(c).toArray().flat()).toEqual(w);
    const g = run(7, new Gaussian(0, 0.1));
    expect(Math.max(...g.map(Math.abs))).toBeLessThan(0.6);
  });

  it('refuses what Nengo refuses, naming the fault', () => {
    expect(() => new Convolution(2, [4, 4, 1], { kernelSize: [5, 5] })).toThrow(/kernel size for spatial dimension 0 \(5\) exceeds/);
    expect(() => new Convolution(2, [7, 3], {})).toThrow(/kernelSize has 2 dimensions but the input has 1/);
    expect(() => new Convolution(2, [7, 3], { kernelSize: [3] })).toThrow(/strides has 2 dimensions but the input has 1/);
    expect(() => new Convolution(2, [4, 4, 4, 1], { kernelSize: [3, 3, 3], strides: [1, 1, 1] })).toThrow(
      /3-D convolutions are not supported/,
    );
    expect(() => new Convolution(3, [4, 4, 4], { groups: 2 })).toThrow(/evenly divisible by groups \(2\)/);
    expect(() => new Convolution(4, [4, 4, 2], { groups: 4 })).toThrow(
      /groups \(4\) cannot be greater than the number of input channels \(2\)/,
    );
    expect(() => new Convolution(2, [4, 4, 1], { init: [1, 2, 3] })).toThrow(/init must have the kernel's shape \[3, 3, 1, 2\]/);
    expect(() => new Convolution(2, [4, 4, 1], { padding: 'full' as 'same' })).toThrow(/padding must be 'valid' or 'same'/);
    expect(() => new Convolution(2, [4, 4, 1], { stride: [1, 1] } as object)).toThrow(/unknown option 'stride'. Did you mean 'strides'/);
    expect(() => new ConvolutionTranspose(2, [3, 3, 1], { outputShape: [9, 7, 2], strides: [2, 2] })).toThrow(
      /outputShape \[9, 7, 2\] would not give the input shape \[3, 3, 1\]/,
    );
    expect(() => new ConvolutionTranspose(2, [3, 3, 1], { outputShape: [5, 5, 3] })).toThrow(/has 3 channels, not nFilters \(2\)/);
    expect(() => new ConvolutionTranspose(2, [3, 3, 1], { groups: 1 } as object)).toThrow(/unknown option 'groups'/);

    const net = new Network({ seed: 1 });
    const a = net.ensemble({ nNeurons: 16, dimensions: 16 });
    const b = net.ensemble({ nNeurons: 8, dimensions: 1 });
    const conv = new Convolution(2, [4, 4, 1]);
    expect(() => net.connect(a, b.neurons, { transform: conv })).toThrow(
      /a Convolution transform on a decoded connection is not supported/,
    );
    expect(() => net.connect(a.neurons, b, { transform: conv })).toThrow(
      /the Convolution takes 16 values .* and gives 8 .*; it must take 16 .* and give 1/,
    );
    expect(() => net.connect(a.neurons, b.neurons, { transform: conv, learningRule: new PES() })).toThrow(
      /learning needs a dense transform, not a Convolution transform/,
    );
  });
});
