/**
 * Integrator: an ensemble with a recurrent connection that accumulates its
 * input (nengo/networks/integrator.py as Nengo 2.x defined it; Nengo 3 removed it
 * from nengo.networks, so there is no 4.1 version to follow).
 *
 * With a first-order lowpass h(s) = 1 / (tau s + 1) on the recurrent
 * connection, feeding back x and scaling the input by tau gives
 *   tau dx/dt = -x + x + tau u   =>   dx/dt = u,
 * so the ensemble integrates u (NEF principle 3: recurrent transform
 * A' = tau A + I with A = 0, input transform B' = tau B with B = I).
 *
 * Nengo's construction order (which fixes the seeds): input Node,
 * ensemble, recurrent connection (synapse recurrentTau), then
 * input -> ensemble (transform recurrentTau, synapse null). `output` is
 * the ensemble itself.
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

export interface IntegratorOptions extends SubnetworkOptions, EnsembleParams {
  /** Time constant (s) of the recurrent lowpass synapse; also the input gain. */
  recurrentTau: number;
  /** Neurons in the recurrently connected ensemble. */
  nNeurons: number;
  /** Dimensions of the integrated signal. */
  dimensions: number;
}
const INTEGRATOR_OPTIONS = ['recurrentTau', 'nNeurons', 'dimensions', ...SUBNETWORK_OPTIONS, ...ENSEMBLE_PARAMS] as const;

/**
 * The Integrator subnetwork. It is a Network at runtime; its type omits the
 * `ensemble(...)` factory method because `ensemble` is Nengo's attribute
 * here (use `asNetwork()` where a Network is expected).
 */
export class IntegratorNetwork extends NetworkWithEnsembleAttribute {
  readonly recurrentTau: number;
  readonly dimensions: number;
  /** Passthrough node: the signal to integrate. */
  readonly input: Node;
  /** The recurrently connected ensemble. */
  readonly ensemble: Ensemble;
  /** The ensemble (its decoded value is the integral). */
  readonly output: Ensemble;

  constructor(opts: IntegratorOptions) {
    checkOptions(opts, INTEGRATOR_OPTIONS, 'Integrator');
    super(definedOnly({ label: labelOr(opts.label, 'Integrator'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    this.recurrentTau = finiteNumber(opts.recurrentTau, 'recurrentTau', what, { positive: true });
    const nNeurons = positiveInt(opts.nNeurons, 'nNeurons', what);
    this.dimensions = positiveInt(opts.dimensions, 'dimensions', what);
    Object.assign(this.config.ensemble, pickEnsembleParams(opts));

    this.input = this.node(null, { sizeIn: this.dimensions });
    this.ensemble = makeEnsemble(this, { nNeurons, dimensions: this.dimensions });
    this.connect(this.ensemble, this.ensemble, { synapse: this.recurrentTau });
    this.connect(this.input, this.ensemble, { transform: this.recurrentTau, synapse: null });
    this.output = this.ensemble;
  }

  /** This subnetwork typed as a Network (it is one at runtime). */
  asNetwork(): Network {
    return this as unknown as Network;
  }
}

/** Creates an Integrator network (Nengo 2's nengo.networks.Integrator; Nengo 3 and 4 dropped it from nengo.networks). */
export function Integrator(opts: IntegratorOptions): IntegratorNetwork {
  return new IntegratorNetwork(opts);
}
export type Integrator = IntegratorNetwork;
