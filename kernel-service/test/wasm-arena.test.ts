/**
 * Which models' arenas live in WebAssembly memory (plan.ts usesWasmArena):
 * with LIF neurons, or with dense products of 10,000 multiply-adds a step
 * or more; not the small rest, since each WebAssembly memory reserves
 * about 10 GB of address space (a process holds some 12,000).
 */
import { describe, expect, it } from 'vitest';
import { build } from '../src/engine/builder/build.js';
import { usesWasmArena } from '../src/engine/plan.js';
import { Network, RectifiedLinear } from '../src/index.js';

const model = (net: Network) => build(net, { dt: 0.001, decoderCache: null });

describe('the WebAssembly arena', () => {
  it('is for models with LIF neurons or big products, not for small models without LIF', () => {
    const nodes = new Network({ seed: 1 });
    nodes.connect(
      nodes.node((t) => Math.sin(t)),
      nodes.node(null, { sizeIn: 1 }),
    );
    expect(usesWasmArena(model(nodes))).toBe(false);

    const lif = new Network({ seed: 1 });
    lif.ensemble({ nNeurons: 5, dimensions: 1 });
    expect(usesWasmArena(model(lif))).toBe(true);

    const relu = (n: number, d: number): Network => {
      const net = new Network({ seed: 1 });
      const a = net.ensemble({ nNeurons: n, dimensions: d, neuronType: new RectifiedLinear() });
      const b = net.ensemble({ nNeurons: n, dimensions: d, neuronType: new RectifiedLinear() });
      net.connect(a, b);
      return net;
    };
    // encoders 2 x n x d, decoders d x n: 3 n d multiply-adds a step
    expect(usesWasmArena(model(relu(50, 2)))).toBe(false);
    expect(usesWasmArena(model(relu(400, 16)))).toBe(true);
  });
});
