import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/engine/errors.js';
import { Network } from '../src/engine/network.js';
import { LIFRate } from '../src/engine/neurons.js';
import { Ensemble, Node, ObjView } from '../src/engine/objects.js';
import { Simulator } from '../src/engine/simulator.js';
import {
  circconv,
  CircularConvolution,
  CircularConvolutionNetwork,
  dotProductTransform,
  EnsembleArray,
  EnsembleArrayNetwork,
  Integrator,
  Oscillator,
  oscillatorTransform,
  Product,
  ProductNetwork,
  transformIn,
  transformOut,
} from '../src/engine/networks/index.js';

/** Deterministic uniform(-1, 1) samples (mulberry32). */
function randomVector(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function matVec(m: number[][], v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) {
    const row = m[i]!;
    let s = 0;
    for (let j = 0; j < row.length; j++) s += row[j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

/** Mean of the rows from time `from` (s) on, for column j. */
function meanAfter(sim: Simulator, data: { rows: number; get(i: number, j?: number): number }, from: number, j = 0): number {
  const start = Math.round(from / sim.dt);
  let s = 0;
  for (let i = start; i < data.rows; i++) s += data.get(i, j);
  return s / (data.rows - start);
}

describe('EnsembleArray', () => {
  it('has Nengo structure: input/output nodes, one ensemble per slice, labelled label_i', () => {
    const model = new Network({ label: 'model' });
    const ea = EnsembleArray({ nNeurons: 20, nEnsembles: 3, ensDimensions: 2, label: 'ea', radius: 1.5, parent: model });
    expect(ea).toBeInstanceOf(EnsembleArrayNetwork);
    expect(ea).toBeInstanceOf(Network);
    expect(model.networks).toContain(ea);
    expect(ea.parent).toBe(model);
    expect(ea.dimensions).toBe(6);
    expect(ea.nNeuronsPerEnsemble).toBe(20);
    expect(ea.dimensionsPerEnsemble).toBe(2);
    expect(ea.input.sizeIn).toBe(6);
    expect(ea.input.output).toBeNull();
    expect(ea.output.sizeOut).toBe(6);
    expect(ea.outputs['output']).toBe(ea.output);
    expect(ea.ensembles).toHaveLength(3);
    expect(ea.eaEnsembles).toBe(ea.ensembles);
    expect(ea.ensembles.map((e) => e.label)).toEqual(['ea_0', 'ea_1', 'ea_2']);
    for (const e of ea.ensembles) {
      expect(e.dimensions).toBe(2);
      expect(e.nNeurons).toBe(20);
      expect(e.radius).toBe(1.5);
    }
    expect(ea.nNeurons).toBe(60);
    // input slices -> ensembles, then ensembles -> output slices, all unfiltered
    expect(ea.connections).toHaveLength(6);
    ea.connections.slice(0, 3).forEach((c, i) => {
      expect(c.pre).toBeInstanceOf(ObjView);
      expect((c.pre as ObjView).obj).toBe(ea.input);
      expect(Array.from((c.pre as ObjView).indices)).toEqual([2 * i, 2 * i + 1]);
      expect(c.post).toBe(ea.ensembles[i]);
      expect(c.synapse).toBeNull();
    });
    ea.connections.slice(3).forEach((c, i) => {
      expect(c.pre).toBe(ea.ensembles[i]);
      expect(Array.from((c.post as ObjView).indices)).toEqual([2 * i, 2 * i + 1]);
      expect(c.synapse).toBeNull();
    });
    const unlabelled = EnsembleArray({ nNeurons: 5, nEnsembles: 2 });
    expect(unlabelled.ensembles.map((e) => e.label)).toEqual(['0', '1']);
    expect(unlabelled.parent).toBeUndefined();
  });

  it('addOutput decodes a function from every ensemble into a new node', () => {
    const ea = EnsembleArray({ nNeurons: 10, nEnsembles: 4, ensDimensions: 2 });
    const prod = ea.addOutput('prod', (x) => x[0]! * x[1]!);
    expect(prod).toBeInstanceOf(Node);
    expect(prod.sizeIn).toBe(4);
    expect(prod.label).toBe('prod');
    expect(ea.outputs['prod']).toBe(prod);
    const conns = ea.connections.filter((c) => c.post instanceof ObjView && c.post.obj === prod);
    expect(conns).toHaveLength(4);
    for (const c of conns) {
      expect(c.synapse).toBeNull();
      expect(c.sizeMid).toBe(1);
    }
    // one function per ensemble, of different output sizes
    const mixed = ea.addOutput('mixed', [(x) => x, (x) => x[0]!, (x) => [x[0]!, x[1]!, 1], (x) => x[1]!], { synapse: 0.01 });
    expect(mixed.sizeIn).toBe(2 + 1 + 3 + 1);
    const mixedConns = ea.connections.filter((c) => c.post instanceof ObjView && c.post.obj === mixed);
    expect(mixedConns.map((c) => Array.from((c.post as ObjView).indices))).toEqual([[0, 1], [2], [3, 4, 5], [6]]);
    expect(mixedConns[0]!.synapse).not.toBeNull();
    expect(() => ea.addOutput('bad', [(x) => x])).toThrow(ValidationError);
    // as Nengo 4.1, an existing attribute name is refused; outputs are also attributes
    expect(() => ea.addOutput('prod', (x) => x)).toThrow(/already an attribute/);
    expect(() => ea.addOutput('input', null)).toThrow(/already an attribute/);
    expect((ea as unknown as Record<string, unknown>)['prod']).toBe(prod);
    // a transform for each ensemble's connection, as Nengo's conn_kwargs
    const doubled = ea.addOutput('doubled', (x) => x[0]!, { transform: 2 });
    const dConns = ea.connections.filter((c) => c.post instanceof ObjView && c.post.obj === doubled);
    expect(dConns.map((c) => c.transform)).toEqual(new Array(4).fill({ kind: 'scalar', value: 2 }));
    expect(() => ea.addOutput('bad2', null, { label: 'x' } as never)).toThrow(/label/);
  });

  it('adds neuron input and output nodes', () => {
    const ea = EnsembleArray({ nNeurons: 7, nEnsembles: 3 });
    expect(ea.neuronInput).toBeNull();
    const ni = ea.addNeuronInput();
    const no = ea.addNeuronOutput();
    expect(ni.sizeIn).toBe(21);
    expect(no.sizeIn).toBe(21);
    expect(ea.neuronInput).toBe(ni);
    expect(ea.addNeuronInput()).toBe(ni);
    expect(ea.neuronOutput).toBe(no);
  });

  it('rejects dimensions and unknown options', () => {
    expect(() => EnsembleArray({ nNeurons: 10, nEnsembles: 2, dimensions: 3 } as never)).toThrow(/ensDimensions/);
    expect(() => EnsembleArray({ nNeurons: 10, nEnsembles: 0 })).toThrow(ValidationError);
    expect(() => EnsembleArray({ nNeurons: 10, nEnsembles: 2, radiuss: 2 } as never)).toThrow(/radius/);
  });

  it('routes each input dimension to its own ensemble', () => {
    const target = [0.5, -0.3, 0.8];
    const model = new Network({ seed: 3 });
    const stim = model.node(target);
    const ea = EnsembleArray({ nNeurons: 50, nEnsembles: 3, parent: model });
    model.connect(stim, ea.input, { synapse: null });
    const pOut = model.probe(ea.output, { synapse: 0.01 });
    const pEns = ea.ensembles.map((e) => model.probe(e, { synapse: 0.01 }));
    const sim = new Simulator(model, { seed: 3 });
    sim.run(0.3);
    const out = sim.data(pOut);
    expect(out.cols).toBe(3);
    for (let j = 0; j < 3; j++) {
      expect(meanAfter(sim, out, 0.15, j)).toBeCloseTo(target[j]!, 1);
      expect(Math.abs(meanAfter(sim, sim.data(pEns[j]!), 0.15) - target[j]!)).toBeLessThan(0.1);
    }
  });
});

describe('Integrator', () => {
  it('has Nengo structure', () => {
    const model = new Network();
    const integ = Integrator({ recurrentTau: 0.1, nNeurons: 30, dimensions: 2, parent: model });
    expect(integ).toBeInstanceOf(Network);
    expect(model.networks).toContain(integ.asNetwork());
    expect(integ.label).toBe('Integrator');
    expect(integ.input.sizeIn).toBe(2);
    expect(integ.ensemble).toBeInstanceOf(Ensemble);
    expect(integ.output).toBe(integ.ensemble);
    expect(integ.ensemble.dimensions).toBe(2);
    const [rec, inp] = integ.connections;
    expect(rec!.pre).toBe(integ.ensemble);
    expect(rec!.post).toBe(integ.ensemble);
    expect(inp!.pre).toBe(integ.input);
    expect(inp!.transform).toEqual({ kind: 'scalar', value: 0.1 });
    expect(inp!.synapse).toBeNull();
  });

  it('integrates a constant 0.5 for 1 s to about 0.5', () => {
    const model = new Network({ seed: 1 });
    const stim = model.node((t: number) => (t <= 1 ? 0.5 : 0));
    const integ = Integrator({ recurrentTau: 0.1, nNeurons: 100, dimensions: 1, parent: model });
    model.connect(stim, integ.input, { synapse: null });
    const p = model.probe(integ.output, { synapse: 0.01 });
    const sim = new Simulator(model, { seed: 1 });
    sim.run(1.2);
    const d = sim.data(p);
    const at = (t: number): number => d.get(Math.round(t / sim.dt) - 1);
    expect(Math.abs(at(0.5) - 0.25)).toBeLessThan(0.15);
    expect(Math.abs(at(1.0) - 0.5)).toBeLessThan(0.15);
    // holds the value once the input stops
    expect(Math.abs(at(1.2) - 0.5)).toBeLessThan(0.15);
  });
});

describe('Oscillator', () => {
  it('has Nengo structure and recurrent transform [[1, -w tau], [w tau, 1]]', () => {
    const osc = Oscillator({ recurrentTau: 0.1, frequency: 5, nNeurons: 20 });
    expect(osc.label).toBe('Oscillator');
    expect(osc.input.sizeIn).toBe(2);
    expect(osc.ensemble.label).toBe('Oscillator');
    expect(osc.output).toBe(osc.ensemble);
    expect(oscillatorTransform(5, 0.1)).toEqual([
      [1, -0.5],
      [0.5, 1],
    ]);
    const rec = osc.connections[0]!;
    expect(rec.transform.kind).toBe('dense');
    expect(Array.from(rec.transform.kind === 'dense' ? rec.transform.values : [])).toEqual([1, -0.5, 0.5, 1]);
  });

  it('keeps oscillating after a kick', () => {
    const model = new Network({ seed: 4 });
    const kick = model.node((t: number) => (t < 0.1 ? [1, 0] : [0, 0]));
    const osc = Oscillator({ recurrentTau: 0.1, frequency: 2 * Math.PI, nNeurons: 200, parent: model });
    model.connect(kick, osc.input, { synapse: null });
    const p = model.probe(osc.output, { synapse: 0.02 });
    const sim = new Simulator(model, { seed: 4 });
    sim.run(2.5);
    const d = sim.data(p);
    // over the last 1.5 s (1.5 periods at 1 Hz) both components swing both ways
    const start = Math.round(1 / sim.dt);
    for (let j = 0; j < 2; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = start; i < d.rows; i++) {
        lo = Math.min(lo, d.get(i, j));
        hi = Math.max(hi, d.get(i, j));
      }
      expect(hi).toBeGreaterThan(0.3);
      expect(lo).toBeLessThan(-0.3);
    }
  });
});

describe('Product', () => {
  it('has Nengo 4 structure: sq1, sq2 arrays of n/2-neuron 1-D ensembles with radius sqrt(2) * inputMagnitude', () => {
    const prod = Product({ nNeurons: 41, dimensions: 3, inputMagnitude: 2 });
    expect(prod).toBeInstanceOf(ProductNetwork);
    expect(prod.label).toBe('Product');
    expect(prod.inputA.sizeIn).toBe(3);
    expect(prod.inputB.sizeIn).toBe(3);
    expect(prod.output.sizeIn).toBe(3);
    expect(prod.networks).toEqual([prod.sq1, prod.sq2]);
    for (const sq of [prod.sq1, prod.sq2]) {
      expect(sq.ensembles).toHaveLength(3);
      for (const e of sq.ensembles) {
        expect(e.nNeurons).toBe(20);
        expect(e.dimensions).toBe(1);
        expect(e.radius).toBeCloseTo(2 * Math.SQRT2, 12);
      }
      expect(sq.outputs['square']!.sizeIn).toBe(3);
    }
    expect(prod.allEnsembles).toHaveLength(6);
    expect(dotProductTransform(3, 0.5)).toEqual([[0.5, 0.5, 0.5]]);
  });

  it('passes ensemble parameters and parent config defaults to nested ensembles', () => {
    const prod = Product({ nNeurons: 10, dimensions: 2, neuronType: new LIFRate() });
    for (const e of prod.allEnsembles) expect(e.neuronType.kind).toBe('LIFRate');
    const model = new Network();
    model.config.ensemble.neuronType = new LIFRate();
    const cc = CircularConvolution({ nNeurons: 10, dimensions: 4, parent: model });
    for (const e of cc.allEnsembles) expect(e.neuronType.kind).toBe('LIFRate');
    expect(() => Product({ nNeurons: 10, dimensions: 2, radius: 3 } as never)).toThrow(ValidationError);
  });

  it('multiplies 0.5 by -0.6', () => {
    const model = new Network({ seed: 2 });
    const a = model.node(0.5);
    const b = model.node(-0.6);
    const prod = Product({ nNeurons: 200, dimensions: 1, parent: model });
    model.connect(a, prod.inputA, { synapse: null });
    model.connect(b, prod.inputB, { synapse: null });
    const p = model.probe(prod.output, { synapse: 0.01 });
    const sim = new Simulator(model, { seed: 2 });
    sim.run(0.5);
    expect(Math.abs(meanAfter(sim, sim.data(p), 0.4) - -0.3)).toBeLessThan(0.05);
  });
});

describe('CircularConvolution', () => {
  it('has Nengo structure: D = 16 with 200 neurons is 36 product dimensions, 72 ensembles, 7200 neurons', () => {
    const model = new Network();
    const cc = CircularConvolution({ nNeurons: 200, dimensions: 16, parent: model });
    expect(cc).toBeInstanceOf(CircularConvolutionNetwork);
    expect(cc.inputA.sizeIn).toBe(16);
    expect(cc.inputB.sizeIn).toBe(16);
    expect(cc.output.sizeIn).toBe(16);
    expect(cc.product.dimensions).toBe(36);
    expect(cc.product.inputMagnitude).toBe(2);
    expect(cc.allEnsembles).toHaveLength(72);
    expect(cc.nNeurons).toBe(7200);
    expect(model.nNeurons).toBe(7200);
    for (const e of cc.allEnsembles) expect(e.radius).toBeCloseTo(2 * Math.SQRT2, 12);
    expect(cc.transformA).toHaveLength(36);
    expect(cc.transformA[0]).toHaveLength(16);
    expect(cc.transformOut).toHaveLength(16);
    expect(cc.transformOut[0]).toHaveLength(36);
    // D = 256: 516 product dimensions (Nengo's count)
    expect(transformOut(256)[0]).toHaveLength(516);
    expect(transformIn(256, 'B', false)).toHaveLength(516);
    // odd D
    expect(transformIn(7, 'A', false)).toHaveLength(16);
  });

  it('DFT transforms compute circular convolution exactly on plain vectors', () => {
    let seed = 10;
    for (const dims of [1, 2, 5, 8, 9, 16, 33]) {
      for (const invertA of [false, true]) {
        for (const invertB of [false, true]) {
          const a = randomVector(dims, seed++);
          const b = randomVector(dims, seed++);
          const fa = matVec(transformIn(dims, 'A', invertA), a);
          const fb = matVec(transformIn(dims, 'B', invertB), b);
          const prod = fa.map((v, i) => v * fb[i]!);
          const c = matVec(transformOut(dims), prod);
          const ref = circconv(a, b, invertA, invertB);
          for (let i = 0; i < dims; i++) expect(Math.abs(c[i]! - ref[i]!)).toBeLessThan(1e-12);
        }
      }
    }
  });

  it('convolves two vectors with neurons', () => {
    const av = [0.3, -0.2, 0.1, 0.4, -0.3, 0.2, 0.0, -0.1];
    const bv = [0.2, 0.1, -0.4, 0.3, 0.1, -0.2, 0.3, 0.1];
    const model = new Network({ seed: 5 });
    const a = model.node(av);
    const b = model.node(bv);
    const cc = CircularConvolution({ nNeurons: 200, dimensions: 8, parent: model });
    model.connect(a, cc.inputA, { synapse: null });
    model.connect(b, cc.inputB, { synapse: null });
    const p = model.probe(cc.output, { synapse: 0.02 });
    const sim = new Simulator(model, { seed: 5 });
    sim.run(0.3);
    const ref = circconv(av, bv);
    const d = sim.data(p);
    for (let j = 0; j < 8; j++) expect(Math.abs(meanAfter(sim, d, 0.2, j) - ref[j]!)).toBeLessThan(0.1);
  });

  it('circconv is the textbook sum; invertB gives circular correlation', () => {
    const a = [1, 2, 3];
    const b = [4, 5, 6];
    // c[i] = sum_j a[j] b[i - j]
    expect(Array.from(circconv(a, b))).toEqual([1 * 4 + 2 * 6 + 3 * 5, 1 * 5 + 2 * 4 + 3 * 6, 1 * 6 + 2 * 5 + 3 * 4]);
    // correlation: c[i] = sum_j a[j] b[j - i]
    expect(Array.from(circconv(a, b, false, true))).toEqual([1 * 4 + 2 * 5 + 3 * 6, 1 * 6 + 2 * 4 + 3 * 5, 1 * 5 + 2 * 6 + 3 * 4]);
  });
});
