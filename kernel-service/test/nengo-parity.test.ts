/**
 * Behaviours where an audit against Nengo 4.1 (same models in both engines)
 * found nefsim apart, each now as Nengo does it: input into `.neurons` scaled
 * by the post gains, a process's own seed, intercepts below -1, gains that
 * are not positive refused, Simulator.run's rounding, unknown options of
 * neuron types and PES, a configured solver (on Node connections, on decoded
 * probes), a one-connection loop without synapse, and PES into neurons
 * taking its error in the post's state space.
 */
import { describe, expect, it } from 'vitest';
import {
  BuildError,
  LIF,
  LstsqL2,
  Network,
  PES,
  RectifiedLinear,
  Sigmoid,
  Simulator,
  ValidationError,
  WhiteNoise,
  WhiteSignal,
} from '../src/index.js';

describe('as Nengo 4.1', () => {
  it("input into an ensemble's neurons is scaled by their gains (Nengo's ElementwiseInc of the gains)", () => {
    for (const synapse of [null, 0.005]) {
      const net = new Network({ seed: 1 });
      const one = net.node(1);
      const a = net.ensemble({
        nNeurons: 4,
        dimensions: 1,
        neuronType: new RectifiedLinear(),
        maxRates: [100, 200, 300, 400],
        intercepts: [0, 0, 0, 0],
        encoders: [[1], [1], [1], [1]],
      });
      // a slice, not contiguous: neurons 3 and 1
      net.connect(one, a.neurons.select([3, 1]), { transform: [[1], [1]], synapse });
      const J = net.probe(a.neurons, { attr: 'input' });
      const sim = new Simulator(net, { dt: 0.001 });
      sim.runSteps(400);
      const gain = sim.built(a).gain;
      const last = sim.data(J);
      const row = Array.from({ length: 4 }, (_, j) => last.get(last.rows - 1, j));
      expect(gain[3]).toBeGreaterThan(gain[1]!);
      expect(row[0] === 0).toBe(true); // the bias, -0 here
      expect(row[2] === 0).toBe(true);
      expect(row[3]).toBeCloseTo(gain[3]!, 6);
      expect(row[1]).toBeCloseTo(gain[1]!, 6);
    }
  });

  it('inhibiting neurons through .neurons silences them (the usual idiom, transform -2.5)', () => {
    const net = new Network({ seed: 3 });
    const stim = net.node(0.5);
    const inhib = net.node(1);
    const a = net.ensemble({ nNeurons: 50, dimensions: 1 });
    net.connect(stim, a);
    net.connect(inhib, a.neurons, { transform: Array.from({ length: 50 }, () => [-2.5]) });
    const p = net.probe(a, { synapse: 0.02 });
    const sim = new Simulator(net, { dt: 0.001 });
    sim.run(0.5);
    const y = sim.data(p);
    expect(Math.abs(y.get(y.rows - 1, 0))).toBeLessThan(0.02);
  });

  it("a seeded process gives the same signal in every node, whatever the node's seed", () => {
    const net = new Network({ seed: 1 });
    const a = net.node(new WhiteSignal({ period: 1, high: 5, seed: 7 }), { label: 'a' });
    const b = net.node(new WhiteSignal({ period: 1, high: 5, seed: 7 }), { label: 'b' });
    const pa = net.probe(a);
    const pb = net.probe(b);
    const sim = new Simulator(net, { dt: 0.001 });
    sim.run(0.2);
    expect(Array.from(sim.data(pa).data)).toEqual(Array.from(sim.data(pb).data));
  });

  it('reset() starts processes again: the same noise and the same downstream activity, as in Nengo', () => {
    const net = new Network({ seed: 2 });
    const noise = net.node(new WhiteNoise({ scale: false }), { sizeOut: 1 });
    const a = net.ensemble({ nNeurons: 20, dimensions: 1 });
    net.connect(noise, a);
    const pn = net.probe(noise);
    const pa = net.probe(a, { synapse: 0.01 });
    const sim = new Simulator(net, { dt: 0.001 });
    sim.run(0.2);
    const first = [Array.from(sim.data(pn).data), Array.from(sim.data(pa).data)];
    sim.reset();
    sim.run(0.2);
    expect(Array.from(sim.data(pn).data)).toEqual(first[0]);
    expect(Array.from(sim.data(pa).data)).toEqual(first[1]);
  });

  it('intercepts below -1 are allowed, with Nengo’s gains; a gain that is not positive is refused, naming the ensemble', () => {
    const { gain } = new LIF().gainBias(Float64Array.of(200, 200), Float64Array.of(-1.5, 0.5));
    expect(gain[0]).toBeGreaterThan(0);
    expect(gain[0]! * 2.5).toBeCloseTo(gain[1]! * 0.5, 9); // gain = (J_max - 1) / (1 - intercept)
    const net = new Network({ seed: 1 });
    net.ensemble({
      nNeurons: 3,
      dimensions: 1,
      neuronType: new Sigmoid(),
      maxRates: [50, 100, 150],
      intercepts: [-0.8, 0, 0.5],
      label: 's',
    });
    expect(() => new Simulator(net)).toThrow(BuildError);
    expect(() => new Simulator(net)).toThrow(/Ensemble 's': neuron \d gets a gain of -?[\d.]+.*must be positive/);
  });

  it("Simulator.run rounds a half step to even, as Nengo's np.round", () => {
    const net = new Network({ seed: 1 });
    net.node(1);
    const sim = new Simulator(net, { dt: 0.001 });
    sim.run(0.0025);
    expect(sim.steps).toBe(2);
    sim.run(0.0035);
    expect(sim.steps).toBe(6);
    sim.run(0.0104);
    expect(sim.steps).toBe(16);
  });

  it('unknown options of neuron types and PES are refused, not ignored', () => {
    expect(() => new LIF({ tau_rc: 0.05 } as never)).toThrow(/LIF: unknown option 'tau_rc'. Did you mean 'tauRc'/);
    expect(() => new LIF({ initialState: {} } as never)).toThrow(ValidationError);
    expect(() => new RectifiedLinear({ amp: 2 } as never)).toThrow(/RectifiedLinear: unknown option 'amp'/);
    expect(() => new PES({ learning_rate: 1e-3 } as never)).toThrow(/PES: unknown option 'learning_rate'/);
    expect(new LIF({ tauRc: 0.05, minVoltage: -1 }).tauRc).toBe(0.05);
  });

  it("a configured connection solver leaves Node connections alone and is a decoded probe's solver too", () => {
    const net = new Network({ seed: 1 });
    net.config.connection.solver = new LstsqL2({ reg: 0.5 });
    const stim = net.node(0.5);
    const a = net.ensemble({ nNeurons: 30, dimensions: 1 });
    net.connect(stim, a);
    const b = net.node(null, { sizeIn: 1 });
    const conn = net.connect(a, b, { synapse: null });
    const pc = net.probe(conn);
    const pa = net.probe(a);
    expect(pa.solver).toBe(net.config.connection.solver);
    const sim = new Simulator(net, { dt: 0.001 });
    sim.run(0.2);
    // the same solver on both: the same decoders, so the same decoded values
    expect(Array.from(sim.data(pa).data)).toEqual(Array.from(sim.data(pc).data));
  });

  it('a connection from a node to itself without a synapse is a cycle, as in Nengo', () => {
    const net = new Network({ seed: 1 });
    const p = net.node(null, { sizeIn: 1, label: 'p' });
    net.connect(net.node(1), p, { synapse: null });
    net.connect(p, p, { synapse: null });
    expect(() => new Simulator(net)).toThrow(/cycle; give the connection a synapse/);
  });

  it("PES on a connection into neurons takes its error in the post ensemble's space (Nengo's size_in 'post_state'), not one value a neuron", () => {
    const net = new Network({ seed: 1 });
    const a = net.ensemble({ nNeurons: 20, dimensions: 1 });
    const b = net.ensemble({ nNeurons: 20, dimensions: 2 });
    const c = net.connect(a.neurons, b.neurons, {
      transform: Array.from({ length: 20 }, () => new Array<number>(20).fill(0)),
      learningRule: new PES(),
    });
    expect(c.learningRule!.sizeIn).toBe(2);
    const err = net.node(null, { sizeIn: 20 });
    expect(() => net.connect(err, c.learningRule!)).toThrow(/20/);
  });
});
