import { describe, expect, it, vi } from 'vitest';
import {
  BCM,
  BuildError,
  LIF,
  LstsqL2,
  Lowpass,
  Network,
  Oja,
  PES,
  Sigmoid,
  SimulationError,
  Simulator,
  ValidationError,
} from '../src/index.js';

describe('clear errors that name the object', () => {
  it('a class or a name where an instance belongs (neuronType, solver, learningRule), and one of a list of learning rules', () => {
    const net = new Network();
    expect(() => net.ensemble({ nNeurons: 5, dimensions: 1, label: 'a', neuronType: LIF as never })).toThrow(
      /'a': neuronType must be a neuron type such as new LIF\(\), got the class LIF itself \(write new LIF\(\)\)/,
    );
    expect(() => net.ensemble({ nNeurons: 5, dimensions: 1, label: 'a2', neuronType: 'LIF' as never })).toThrow(
      /'a2': .* got the string 'LIF'/,
    );
    const a = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'pre' });
    const b = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'post' });
    expect(() => net.connect(a, b, { label: 'c1', solver: LstsqL2 as never })).toThrow(
      /'c1': solver must be a solver such as new LstsqL2\(\), got the class LstsqL2 itself/,
    );
    expect(() => net.connect(a, b, { label: 'c2', learningRule: PES as never })).toThrow(
      /'c2': learningRule must be a learning rule such as new PES\(\), got the class PES itself/,
    );
    // several rules (a list or a dict, as Nengo's) are checked one by one, each named by its place
    expect(() => net.connect(a.neurons, b.neurons, { label: 'c3', transform: 0, learningRule: [new BCM(), Oja as never] })).toThrow(
      /'c3': learningRule\[1\] must be a learning rule such as new PES\(\), got the class Oja itself/,
    );
  });

  it('a node function of t alone with an input it would never see (Nengo refuses it too)', () => {
    const net = new Network();
    expect(() => net.node((t: number) => [t], { sizeIn: 1, label: 'n' })).toThrow(
      /'n': the function takes only t, but the node has sizeIn 1/,
    );
    // (t, x) with sizeIn, and a function reading its arguments itself, are fine
    net.node((t: number, x: Float64Array) => [t + x[0]!], { sizeIn: 1 });
    net.node((...args: unknown[]) => [args.length], { sizeIn: 1 });
    // length 1 too, but they take x
    net.node((t: number, x: ArrayLike<number> = [0]) => [t + x[0]!], { sizeIn: 1 });
    net.node((t: number, ...xs: ArrayLike<number>[]) => [t + xs.length], { sizeIn: 1 });
    expect(() =>
      net.node(
        function (t: number) {
          return [t];
        },
        { sizeIn: 2, label: 'f' },
      ),
    ).toThrow(/'f': the function takes only t/);
  });

  it('reset checks its seed; trange checks its period and takes { sampleEvery }', () => {
    const net = new Network({ seed: 1 });
    const p = net.probe(net.node(1), { sampleEvery: 0.01 });
    const sim = new Simulator(net);
    sim.run(0.1);
    expect(() => (sim.reset as (s: unknown) => void)({ seed: 123 })).toThrow(
      /reset: seed must be an integer in \[0, 2\^32\), got \{"seed":123\}/,
    );
    expect(() => sim.reset(-1)).toThrow(/reset: seed must be an integer/);
    expect(() => sim.reset(1.5)).toThrow(/reset: seed must be an integer/);
    expect(sim.trange({ sampleEvery: 0.01 })).toEqual(sim.trange(p));
    expect(sim.trange({ sampleEvery: 0.01 }).length).toBe(sim.data(p).rows);
    expect(() => sim.trange(0)).toThrow(/trange: the sample period must be/);
    expect(() => sim.trange(-0.01)).toThrow(/trange: the sample period must be/);
    expect(() => sim.trange({ every: 0.01 } as never)).toThrow(/unknown option 'every'/);
    sim.reset();
    expect(sim.trange().length).toBe(0);
  });

  it("a Sigmoid's gain that is not positive says which max rates work", () => {
    const net = new Network();
    net.ensemble({
      nNeurons: 1,
      dimensions: 1,
      label: 'sig',
      neuronType: new Sigmoid({ tauRef: 0.004 }),
      maxRates: [100],
      intercepts: [0],
    });
    expect(() => new Simulator(net)).toThrow(/'sig': neuron 0 gets a gain .* between 1\/\(2 tauRef\) = 125 Hz and 1\/tauRef = 250 Hz/);
  });

  it('transform shape mismatch', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 10, dimensions: 2, label: 'a' });
    const b = net.ensemble({ nNeurons: 10, dimensions: 3, label: 'b' });
    expect(() => net.connect(a, b, { label: 'ab' })).toThrow(/ab.*a gives 2 values.*Ensemble 'b' takes 3.*3x2 transform/);
    expect(() =>
      net.connect(a, b, {
        transform: [
          [1, 0],
          [0, 1],
        ],
        label: 'ab2',
      }),
    ).toThrow(/ab2.*transform shape 2x2.*must be 3x2/);
    expect(() =>
      net.connect(a, b, {
        transform: [
          [1, 0],
          [0, 1],
        ],
      }),
    ).toThrow(ValidationError);
  });

  it('run() shorter than half a step warns, as Nengo does, and runs no step', () => {
    const net = new Network({ seed: 1 });
    net.node([1]);
    const sim = new Simulator(net);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let messages: unknown[];
    try {
      sim.run(0.0004);
      sim.run(0.002);
      messages = warn.mock.calls.map((c) => c[0]);
    } finally {
      warn.mockRestore();
    }
    expect(sim.steps).toBe(2);
    expect(messages).toEqual(['run(0.0004) is 0 steps at dt = 0.001; the simulator is still at t = 0']);
  });

  it('wrong dimensions and sizes', () => {
    const net = new Network();
    expect(() => net.ensemble({ nNeurons: 0, dimensions: 1, label: 'e' })).toThrow(/Ensemble 'e': nNeurons must be a positive integer/);
    expect(() => net.ensemble({ nNeurons: 10, dimensions: 1.5, label: 'e' })).toThrow(/dimensions must be a positive integer/);
    const a = net.ensemble({ nNeurons: 10, dimensions: 2, label: 'a' });
    expect(() => a.slice(1, 5)).toThrow(/Ensemble 'a': slice\(1, 5\) is out of range for size 2/);
    const n = net.node([1, 2, 3], { label: 'n' });
    // without a function, the message names what gives the values (it spoke of a function that was not there)
    expect(() => net.connect(n, a)).toThrow(/Connection 'n -> a': n gives 3 values but Ensemble 'a' takes 2/);
    expect(() => net.connect(n.slice(0, 2), a.slice(0, 1))).toThrow(/n\[0:2\] gives 2 values but/);
    expect(() => net.connect(n, a, { function: (x) => [x[0]!] })).toThrow(/the function output has 1 dimensions but Ensemble 'a' takes 2/);
    // a Synapse as a node's output (a Process in Nengo) filters the node's input: sizeOut is sizeIn
    expect(() => net.node(new Lowpass(0.01), { sizeIn: 2, sizeOut: 1, label: 'f' })).toThrow(
      /Node 'f': a synapse as the output filters the node's input: sizeIn must be at least 1 and sizeOut equal to it \(sizeIn 2, sizeOut 1\)/,
    );
  });

  it('evalPoints on a connection from a node or neurons are refused, and evalPoints that disagree with nEvalPoints warn (as Nengo)', () => {
    const net = new Network({ seed: 1 });
    const u = net.node(0.5);
    const a = net.ensemble({ nNeurons: 10, dimensions: 1, evalPoints: [[0.1], [0.2], [0.3]], nEvalPoints: 5, label: 'a' });
    expect(() => net.connect(u, a, { evalPoints: [[0.5]] })).toThrow('evalPoints apply only to connections from an ensemble (as in Nengo)');
    expect(() => net.connect(a.neurons, a.neurons, { evalPoints: [[0.5]] })).toThrow(
      'evalPoints apply only to connections from an ensemble',
    );
    net.connect(u, a);
    const sim = new Simulator(net);
    expect(sim.summary().warnings).toEqual(["Ensemble 'a': nEvalPoints is 5, but 3 evalPoints are given; the 3 are used"]);
  });

  it('a solver on a connection from a node or neurons has no effect, as in Nengo (a warning when it asks for weights)', () => {
    const net = new Network({ seed: 1 });
    const stim = net.node([0.5], { label: 'stim' });
    const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'b' });
    net.connect(stim, a, { solver: new LstsqL2({ reg: 0.5 }), label: 'plain' });
    net.connect(a.neurons, b.neurons, { solver: new LstsqL2({ weights: true }), transform: 0.01, label: 'weights' });
    const sim = new Simulator(net);
    expect(sim.model.warnings.filter((w) => w.includes('solver has no effect'))).toEqual([
      "Connection 'weights': its solver has no effect: Ensemble 'a'.neurons is not an ensemble, so nothing is decoded or solved for",
    ]);
  });

  it('a connection function that returns the wrong length, at build time', () => {
    const net = new Network({ seed: 1 });
    const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'b' });
    // function output size is fixed by its value at 0: [x, x] -> 2 dims, which does not fit b
    expect(() => net.connect(a, b, { function: (x) => [x[0]!, x[0]!], label: 'f' })).toThrow(/f.*2 dimensions.*takes 1/);
    // a function whose length changes with x is caught at build time
    net.connect(a, b, { function: (x) => (x[0]! > 0.5 ? [1, 2] : [0]), label: 'varying' });
    expect(() => new Simulator(net)).toThrow(BuildError);
    expect(() => new Simulator(net)).toThrow(/Connection 'varying': its function at x = \[.*\] returned 2 values, but 1 are expected/);
  });

  it('a connection function that returns NaN, at build time', () => {
    const net = new Network({ seed: 1 });
    const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'b' });
    net.connect(a, b, { function: (x) => [Math.sqrt(x[0]!)], label: 'sqrt' });
    expect(() => new Simulator(net)).toThrow(
      /Connection 'sqrt': its function at x = \[-.*\] returned NaN at index 0; it must return finite numbers/,
    );
  });

  it('a node function that returns NaN or the wrong length names the node and the time', () => {
    const net = new Network();
    net.node((t) => (t > 0.0105 ? NaN : 0), { label: 'bad' });
    const sim = new Simulator(net);
    expect(() => sim.run(0.1)).toThrow(SimulationError);
    const net2 = new Network();
    net2.node((t) => (t > 0.005 ? [1, 2] : [1]), { label: 'grows' });
    const sim2 = new Simulator(net2);
    expect(() => sim2.run(0.1)).toThrow(/Node 'grows': its function at t = 0.006000 s returned 2 values, but 1 are expected/);
  });

  it('a node function that throws names the node and the time', () => {
    const net = new Network();
    net.node(
      (t) => {
        if (t >= 0.5) throw new Error('boom');
        return 0;
      },
      { label: 'thrower' },
    );
    const sim = new Simulator(net);
    expect(() => sim.run(1)).toThrow(/Node 'thrower': its function threw at t = 0.500000 s: boom/);
  });

  it('a synapse-free recurrent loop', () => {
    const net = new Network();
    const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
    const b = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'b' });
    net.connect(a, b, { synapse: null, label: 'a->b' });
    net.connect(b, a, { synapse: null, label: 'b->a' });
    expect(() => new Simulator(net)).toThrow(BuildError);
    expect(() => new Simulator(net)).toThrow(/Algebraic loop: .*(a->b|b->a).*no synapse.*synapse: 0.005/);
  });

  it('unknown options suggest the right name', () => {
    const net = new Network();
    expect(() => net.ensemble({ nNeurons: 10, dimensions: 1, nneurons: 5 } as never)).toThrow(
      /Ensemble: unknown option 'nneurons'. Did you mean 'nNeurons'\?/,
    );
    const a = net.ensemble({ nNeurons: 10, dimensions: 1 });
    expect(() => net.connect(a, a, { synapses: 0.1 } as never)).toThrow(/Connection: unknown option 'synapses'. Did you mean 'synapse'\?/);
    expect(() => net.connect(a, a, { weights: true } as never)).toThrow(
      /Connection: unknown option 'weights'. 'weights: true' is an option of the solver: solver: new LstsqL2\(\{ weights: true \}\)/,
    );
    expect(() => net.probe(a, { synapes: 0.1 } as never)).toThrow(/Did you mean 'synapse'/);
    expect(() => new Simulator(net, { dt: 0.001, seeed: 1 } as never)).toThrow(/Simulator: unknown option 'seeed'. Did you mean 'seed'/);
    // the design's example wrote partitions here: it says where partitions are given instead
    expect(() => new Simulator(net, { dt: 0.001, partitions: 2 } as never)).toThrow(
      /Simulator: unknown option 'partitions'. A network is partitioned across threads from its module file: `await PartitionedSimulator.create\(file/,
    );
    expect(() => new Network({ lable: 'x' } as never)).toThrow(/Did you mean 'label'/);
  });

  it('objects from another network', () => {
    const net = new Network({ label: 'main' });
    const other = new Network({ label: 'other' });
    const stray = other.ensemble({ nNeurons: 5, dimensions: 1, label: 'stray' });
    const a = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'a' });
    net.connect(stray, a, { label: 'in' });
    expect(() => new Simulator(net)).toThrow(/refers to Ensemble 'stray', which is not part of Network 'main'/);
  });

  it('bad neuron parameters', () => {
    const net = new Network();
    net.ensemble({ nNeurons: 5, dimensions: 1, maxRates: [600, 600, 600, 600, 600], label: 'fast' });
    expect(() => new Simulator(net)).toThrow(/Ensemble 'fast'.*max rate 600 Hz.*impossible with tauRef = 0.002/);
  });
});
