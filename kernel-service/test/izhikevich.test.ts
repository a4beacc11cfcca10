/**
 * Izhikevich neurons against Nengo 4.1 (fixtures/nengo_izhikevich.json,
 * written by fixtures/nengo_izhikevich.py): the gains and biases of Nengo's
 * numerical gain_bias, the max rates and intercepts of given gains and
 * biases, and a simulation step by step (voltage, recovery, spikes, decoded
 * output), with Nengo's defaults and with other parameters.
 */
import { describe, expect, it } from 'vitest';
import { fixtureEnsemble, readFixture, type FixtureNeurons } from './nengo-fixture.js';
import { Izhikevich, Network, Simulator, type IzhikevichOptions } from '../src/index.js';
import { storeLayout } from '../src/runs/store-layout.js';

interface Case {
  voltage: number[][];
  recovery: number[][];
  spikes: number[][];
  decoded: number[][];
  gain: number[];
  bias: number[];
  givenMaxRates: number[];
  givenIntercepts: number[];
}
const fx = readFixture('nengo_izhikevich') as FixtureNeurons & {
  steps: number;
  evalPoints: number[];
  gain: number[];
  bias: number[];
  types: Record<string, { tau_recovery?: number; coupling?: number; reset_voltage?: number; reset_recovery?: number }>;
  cases: Record<string, Case>;
  lowRates: Record<
    string,
    {
      params: { tau_recovery?: number; reset_voltage?: number; reset_recovery?: number };
      maxRates: number[];
      intercepts: number[];
      gain: number[];
      bias: number[];
    }
  >;
};

function options(name: string): IzhikevichOptions {
  const t = fx.types[name]!;
  return {
    ...(t.tau_recovery !== undefined ? { tauRecovery: t.tau_recovery } : {}),
    ...(t.coupling !== undefined ? { coupling: t.coupling } : {}),
    ...(t.reset_voltage !== undefined ? { resetVoltage: t.reset_voltage } : {}),
    ...(t.reset_recovery !== undefined ? { resetRecovery: t.reset_recovery } : {}),
  };
}

function simulate(name: string) {
  const net = new Network({ seed: 7 });
  const stim = net.node((t) => [Math.sin(2 * Math.PI * 5 * t)]);
  const ens = fixtureEnsemble(net, fx, fx.evalPoints, new Izhikevich(options(name)));
  net.connect(stim, ens);
  const probes = {
    voltage: net.probe(ens.neurons, { attr: 'voltage' }),
    recovery: net.probe(ens.neurons, { attr: 'recovery' }),
    spikes: net.probe(ens.neurons),
    decoded: net.probe(ens, { synapse: 0.01 }),
  };
  const given = net.ensemble({
    nNeurons: fx.gain.length,
    dimensions: 1,
    gain: fx.gain,
    bias: fx.bias,
    neuronType: new Izhikevich(options(name)),
  });
  const sim = new Simulator(net);
  sim.runSteps(fx.steps);
  const data = Object.fromEntries(Object.entries(probes).map(([k, p]) => [k, sim.data(p).toArray()])) as Record<
    keyof typeof probes,
    number[][]
  >;
  return { sim, ens, given, data };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what} [${i}]`).toBeLessThanOrEqual(tol);
}

describe("Izhikevich as Nengo 4.1's", () => {
  // the rate curve there is not monotonic: which current np.interp finds depends on its search (a bisection
  // that first tries the previous neuron's interval), which gainBias follows step by step
  for (const [name, c] of Object.entries(fx.lowRates)) {
    it(`${name} (bursting or fast spiking, a rate curve that is not monotonic): the same gains and biases`, () => {
      const nt = new Izhikevich({
        ...(c.params.tau_recovery !== undefined ? { tauRecovery: c.params.tau_recovery } : {}),
        ...(c.params.reset_voltage !== undefined ? { resetVoltage: c.params.reset_voltage } : {}),
        ...(c.params.reset_recovery !== undefined ? { resetRecovery: c.params.reset_recovery } : {}),
      });
      const { gain, bias } = nt.gainBias(Float64Array.from(c.maxRates), Float64Array.from(c.intercepts));
      expectClose(gain, c.gain, 1e-9 * Math.max(...c.gain.map(Math.abs)), `${name} gain`);
      expectClose(bias, c.bias, 1e-9 * Math.max(...c.bias.map(Math.abs)), `${name} bias`);
    });
  }

  for (const name of Object.keys(fx.types)) {
    it(`${name}: gain and bias from max rates and intercepts, and max rates and intercepts from gain and bias`, () => {
      const want = fx.cases[name]!;
      const { sim, ens, given } = simulate(name);
      const be = sim.model.ensembles.get(ens)!;
      expectClose(be.gain, want.gain, 1e-9 * Math.max(...want.gain.map(Math.abs)), `${name} gain`);
      expectClose(be.bias, want.bias, 1e-9 * Math.max(...want.bias.map(Math.abs)), `${name} bias`);
      const g = sim.model.ensembles.get(given)!;
      expect(Array.from(g.maxRates)).toEqual(want.givenMaxRates);
      expectClose(g.intercepts, want.givenIntercepts, 1e-12, `${name} intercepts`);
    });

    it(`${name}: voltage, recovery and spikes step by step, and the decoded output`, () => {
      const want = fx.cases[name]!;
      const { data } = simulate(name);
      // rounding differences (Nengo's J comes from other sums) grow slowly through the quadratic (7x a step near a spike) and stop at the reset: 1e-7 of the mV scale
      let spikes = 0;
      for (let k = 0; k < fx.steps; k++) {
        expectClose(data.voltage[k]!, want.voltage[k]!, 1e-5, `${name} voltage, step ${k}`);
        expectClose(data.recovery[k]!, want.recovery[k]!, 1e-5, `${name} recovery, step ${k}`);
        expect(data.spikes[k], `${name} spikes, step ${k}`).toEqual(want.spikes[k]);
        spikes += want.spikes[k]!.filter((v) => v > 0).length;
      }
      expect(spikes).toBeGreaterThan(50);
      const scale = Math.max(...want.decoded.map((r) => Math.abs(r[0]!)));
      for (let k = 0; k < fx.steps; k++) expectClose(data.decoded[k]!, want.decoded[k]!, 1e-6 * scale, `${name} decoded, step ${k}`);
    });
  }

  it('takes only its own options, and says what is wrong', () => {
    expect(() => new Izhikevich({ tau_recovery: 0.1 } as never)).toThrow(/Izhikevich.*tau_recovery/);
    expect(() => new Izhikevich({ tauRecovery: 0 })).toThrow(/Izhikevich: tauRecovery must be a positive number/);
    expect(() => new Izhikevich({ coupling: -1 })).toThrow(/Izhikevich: coupling must be a non-negative number/);
    expect(() => new Izhikevich({ resetVoltage: Number.NaN })).toThrow(/Izhikevich: resetVoltage must be a finite number/);
    expect(String(new Izhikevich())).toBe('Izhikevich(tauRecovery=0.02, coupling=0.2, resetVoltage=-65, resetRecovery=8)');
  });

  it('refuses max rates it cannot reach, naming them', () => {
    const net = new Network({ seed: 1 });
    net.ensemble({ nNeurons: 3, dimensions: 1, maxRates: [5000, 100, 100], neuronType: new Izhikevich(), label: 'fast' });
    expect(() => new Simulator(net)).toThrow(/fast.*Izhikevich: could not find a current that gives the max rate 5000 Hz/);
  });

  it("in a run's probes.h5, the voltage is in mV and the recovery says what it is", () => {
    const net = new Network({ seed: 2 });
    const a = net.ensemble({ nNeurons: 4, dimensions: 1, neuronType: new Izhikevich() });
    net.probe(a.neurons, { attr: 'voltage', label: 'v' });
    net.probe(a.neurons, { attr: 'recovery', label: 'u' });
    net.probe(a.neurons, { label: 's' });
    const layout = storeLayout(new Simulator(net)).probes.map((p) => [p.name, p.units, p.spikes]);
    expect(layout).toEqual([
      ['v', 'mV', false],
      ['u', 'recovery variable u (Izhikevich), mV', false],
      ['s', 'rate or spikes (1/dt per spike), 1/s', true],
    ]);
  });
});
