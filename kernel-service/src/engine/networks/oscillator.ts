/**
 * Oscillator: a 2-D recurrently connected ensemble whose state rotates at a
 * constant angular frequency (nengo/networks/oscillator.py as Nengo 2.x
 * defined it; Nengo 3 removed it from nengo.networks).
 *
 * NEF principle 3 with a lowpass recurrent synapse of time constant tau:
 * to realise dx/dt = A x with A = [[0, -w], [w, 0]], use the recurrent
 * transform A' = tau A + I = [[1, -w tau], [w tau, 1]]. As in Nengo,
 * `frequency` is w itself, in radians per second (Nengo's docstring:
 * "Desired frequency, in radians per second"); for f Hz pass 2 * Math.PI * f.
 *
 * Nengo's construction order: input Node 'In' (size 2), ensemble
 * 'Oscillator' (2-D), recurrent connection (transform above, synapse
 * recurrentTau), then input -> ensemble (transform 1, synapse null; note
 * the input is not scaled by tau, unlike the Integrator's). `output` is the
 * ensemble.
 */
import type { Network } from '../network.js';
import type { Ensemble, Node } from '../objects.js';
import {
  checkOptions,
  definedOnly,
  ENSEMBLE_PARAMS,
  finiteNumber,
  labelOr,
  makeEnsemble,
  NetworkWithEnsembleAttribute,
  pickEnsembleParams,
  positiveInt,
  SUBNETWORK_OPTIONS,
  type EnsembleParams,
  type SubnetworkOptions,
} from './common.js';

export interface OscillatorOptions extends SubnetworkOptions, EnsembleParams {
  /** Time constant (s) of the recurrent lowpass synapse. */
  recurrentTau: number;
  /** Angular frequency w of the oscillation, in radians per second (as Nengo). */
  frequency: number;
  /** Neurons in the recurrently connected ensemble. */
  nNeurons: number;
}
const OSCILLATOR_OPTIONS = ['recurrentTau', 'frequency', 'nNeurons', ...SUBNETWORK_OPTIONS, ...ENSEMBLE_PARAMS] as const;

/** Recurrent transform [[1, -w tau], [w tau, 1]] of an oscillator (w in rad/s). */
export function oscillatorTransform(frequency: number, recurrentTau: number): number[][] {
  const wt = frequency * recurrentTau;
  return [
    [1, -wt],
    [wt, 1],
  ];
}

/**
 * The Oscillator subnetwork. It is a Network at runtime; its type omits the
 * `ensemble(...)` factory method because `ensemble` is Nengo's attribute
 * here (use `asNetwork()` where a Network is expected).
 */
export class OscillatorNetwork extends NetworkWithEnsembleAttribute {
  readonly recurrentTau: number;
  /** Angular frequency, rad/s. */
  readonly frequency: number;
  readonly dimensions = 2;
  /** Passthrough node (size 2) driving the ensemble directly, e.g. a kick to start it. */
  readonly input: Node;
  /** The recurrently connected 2-D ensemble. */
  readonly ensemble: Ensemble;
  /** The ensemble. */
  readonly output: Ensemble;

  constructor(opts: OscillatorOptions) {
    checkOptions(opts, OSCILLATOR_OPTIONS, 'Oscillator');
    super(definedOnly({ label: labelOr(opts.label, 'Oscillator'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    this.recurrentTau = finiteNumber(opts.recurrentTau, 'recurrentTau', what, { positive: true });
    this.frequency = finiteNumber(opts.frequency, 'frequency', what);
    const nNeurons = positiveInt(opts.nNeurons, 'nNeurons', what);
    Object.assign(this.config.ensemble, pickEnsembleParams(opts));

    this.input = this.node(null, { sizeIn: 2, label: 'In' });
    this.ensemble = makeEnsemble(this, { nNeurons, dimensions: 2, label: 'Oscillator' });
    this.connect(this.ensemble, this.ensemble, {
      transform: oscillatorTransform(this.frequency, this.recurrentTau),
      synapse: this.recurrentTau,
    });
    this.connect(this.input, this.ensemble, { synapse: null });
    this.output = this.ensemble;
  }

  /** This subnetwork typed as a Network (it is one at runtime). */
  asNetwork(): Network {
    return this as unknown as Network;
  }
}

/** Creates an Oscillator network (Nengo 2's nengo.networks.Oscillator; Nengo 3 and 4 dropped it from nengo.networks). */
export function Oscillator(opts: OscillatorOptions): OscillatorNetwork {
  return new OscillatorNetwork(opts);
}
export type Oscillator = OscillatorNetwork;
