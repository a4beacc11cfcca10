/**
 * Action selection (nengo/networks/actionselection.py, Nengo 4.1): the basal
 * ganglia model of Gurney, Prescott & Redgrave (2001) in spiking neurons
 * (Stewart, Choo & Eliasmith 2010), and a thalamus that turns its output
 * into one active action.
 *
 * BasalGanglia(dimensions): five EnsembleArrays of 1-D ensembles (radius
 * 1.5, encoders [1], decoders solved with NnlsL2nz, as Nengo's config):
 * striatum D1 and D2 (intercepts U(e, 1)), subthalamic nucleus (U(ep, 1)),
 * globus pallidus internus (U(eg, 1)) and externus (U(ee, 1)); each
 * decodes a thresholded ramp, f(x) = m (x - e) for x >= e, else 0
 * (Nengo's Weights.*_func). Connections with Gurney's weights:
 *   input -> strD1 (ws (1 + lg)), -> strD2 (ws (1 - le)), -> stn (wt), no synapse;
 *   strD1 -> gpi (-wm), strD2 -> gpe (-wm): GABA synapse;
 *   stn -> gpi, stn -> gpe (wp, all to all): AMPA synapse;
 *   gpe -> gpi (-we), gpe -> stn (-wg): GABA synapse;
 *   gpi -> output (outputWeight), no synapse.
 * Nengo passes ampa_config and gaba_config (Configs whose Connection
 * synapse defaults to Lowpass(0.002) and Lowpass(0.008)); nefsim takes the
 * two synapses, `ampaSynapse` and `gabaSynapse`.
 *
 * Thalamus(dimensions): an EnsembleArray `actions` (intercepts U(threshold,
 * 1), encoders [1]) with mutual inhibition (transform (I - 1) mutualInhib,
 * default synapse) and a bias node of 1 into every action.
 */
import { Choice, Uniform } from '../dists.js';
import { Network } from '../network.js';
import type { Node } from '../objects.js';
import { NnlsL2nz } from '../solvers.js';
import { Lowpass, toSynapse, type Synapse } from '../synapses.js';
import { EnsembleArrayNetwork } from './ensemblearray.js';
import { checkOptions, definedOnly, finiteNumber, labelOr, positiveInt, SUBNETWORK_OPTIONS, type SubnetworkOptions } from './common.js';

/** Gurney et al.'s weights and thresholds, as Nengo's actionselection.Weights. */
export const BasalGangliaWeights = {
  mm: 1,
  mp: 1,
  me: 1,
  mg: 1,
  ws: 1,
  wt: 1,
  wm: 1,
  wg: 1,
  wp: 0.9,
  we: 0.3,
  e: 0.2,
  ep: -0.25,
  ee: -0.2,
  eg: -0.2,
  le: 0.2,
  lg: 0.2,
} as const;
const W = BasalGangliaWeights;

/** m (x - e) above the threshold e, else 0. */
const ramp =
  (e: number, m: number) =>
  (x: Float64Array): number => {
    const v = x[0]!;
    return v < e ? 0 : m * (v - e);
  };

export interface BasalGangliaOptions extends SubnetworkOptions {
  /** Number of actions. */
  dimensions: number;
  /** Neurons in each ensemble (default 100). */
  nNeuronsPerEnsemble?: number;
  /** Transform of the output (default -3). */
  outputWeight?: number;
  /** A constant added to every input (default 0: none). */
  inputBias?: number;
  /** Synapse of the excitatory (AMPA) connections (default Lowpass(0.002); null: none). */
  ampaSynapse?: Synapse | number | null;
  /** Synapse of the inhibitory (GABA) connections (default Lowpass(0.008); null: none). */
  gabaSynapse?: Synapse | number | null;
}
const BG_OPTIONS = [
  'dimensions',
  'nNeuronsPerEnsemble',
  'outputWeight',
  'inputBias',
  'ampaSynapse',
  'gabaSynapse',
  ...SUBNETWORK_OPTIONS,
] as const;

export class BasalGangliaNetwork extends Network {
  readonly dimensions: number;
  /** The utilities of the actions (passthrough Node). */
  readonly input: Node;
  /** Near 0 for the selected action, negative for the others (passthrough Node). */
  readonly output: Node;
  readonly strD1: EnsembleArrayNetwork;
  readonly strD2: EnsembleArrayNetwork;
  readonly stn: EnsembleArrayNetwork;
  readonly gpi: EnsembleArrayNetwork;
  readonly gpe: EnsembleArrayNetwork;
  /** The bias node, when inputBias is not 0. */
  readonly biasInput: Node | undefined;

  constructor(opts: BasalGangliaOptions) {
    checkOptions(opts, BG_OPTIONS, 'BasalGanglia');
    super(definedOnly({ label: labelOr(opts.label, 'Basal Ganglia'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    const d = (this.dimensions = positiveInt(opts.dimensions, 'dimensions', what));
    const n = positiveInt(opts.nNeuronsPerEnsemble ?? 100, 'nNeuronsPerEnsemble', what);
    const outputWeight = finiteNumber(opts.outputWeight ?? -3, 'outputWeight', what);
    const inputBias = finiteNumber(opts.inputBias ?? 0, 'inputBias', what);
    const synapse = (s: Synapse | number | null | undefined, fallback: number, name: string): Synapse | null =>
      s === undefined ? new Lowpass(fallback) : toSynapse(s, `${what} ${name}`);
    const ampa = synapse(opts.ampaSynapse, 0.002, 'ampaSynapse');
    const gaba = synapse(opts.gabaSynapse, 0.008, 'gabaSynapse');
    // Nengo's config for everything inside
    Object.assign(this.config.ensemble, { radius: 1.5, encoders: new Choice([[1]]) });
    this.config.connection.solver = new NnlsL2nz();

    const array = (label: string, low: number): EnsembleArrayNetwork =>
      new EnsembleArrayNetwork({ nNeurons: n, nEnsembles: d, label, intercepts: new Uniform(low, 1), parent: this });
    this.strD1 = array('Striatal D1 neurons', W.e);
    this.strD2 = array('Striatal D2 neurons', W.e);
    this.stn = array('Subthalamic nucleus', W.ep);
    this.gpi = array('Globus pallidus internus', W.eg);
    this.gpe = array('Globus pallidus externus', W.ee);
    this.input = this.node(null, { sizeIn: d, label: 'input' });
    this.output = this.node(null, { sizeIn: d, label: 'output' });
    if (Math.abs(inputBias) > 0) {
      this.biasInput = this.node(new Array<number>(d).fill(inputBias), { label: 'basal ganglia bias' });
      this.connect(this.biasInput, this.input);
    }

    this.connect(this.input, this.strD1.input, { synapse: null, transform: W.ws * (1 + W.lg) });
    this.connect(this.input, this.strD2.input, { synapse: null, transform: W.ws * (1 - W.le) });
    this.connect(this.input, this.stn.input, { synapse: null, transform: W.wt });
    const strD1Out = this.strD1.addOutput('func_str', ramp(W.e, W.mm));
    const strD2Out = this.strD2.addOutput('func_str', ramp(W.e, W.mm));
    this.connect(strD1Out, this.gpi.input, { transform: -W.wm, synapse: gaba });
    this.connect(strD2Out, this.gpe.input, { transform: -W.wm, synapse: gaba });
    const allToAll = Array.from({ length: d }, () => new Array<number>(d).fill(W.wp));
    const stnOut = this.stn.addOutput('func_stn', ramp(W.ep, W.mp));
    this.connect(stnOut, this.gpi.input, { transform: allToAll, synapse: ampa });
    this.connect(stnOut, this.gpe.input, { transform: allToAll, synapse: ampa });
    const gpeOut = this.gpe.addOutput('func_gpe', ramp(W.ee, W.me));
    this.connect(gpeOut, this.gpi.input, { transform: -W.we, synapse: gaba });
    this.connect(gpeOut, this.stn.input, { transform: -W.wg, synapse: gaba });
    const gpiOut = this.gpi.addOutput('func_gpi', ramp(W.eg, W.mg));
    this.connect(gpiOut, this.output, { synapse: null, transform: outputWeight });
  }
}

/** Creates a BasalGanglia network (Nengo's nengo.networks.BasalGanglia). */
export function BasalGanglia(opts: BasalGangliaOptions): BasalGangliaNetwork {
  return new BasalGangliaNetwork(opts);
}
export type BasalGanglia = BasalGangliaNetwork;

export interface ThalamusOptions extends SubnetworkOptions {
  /** Number of actions. */
  dimensions: number;
  /** Neurons in each ensemble (default 50). */
  nNeuronsPerEnsemble?: number;
  /** Strength of the inhibition between actions (default 1). */
  mutualInhib?: number;
  /** The lower end of the intercepts (default 0). */
  threshold?: number;
}
const THALAMUS_OPTIONS = ['dimensions', 'nNeuronsPerEnsemble', 'mutualInhib', 'threshold', ...SUBNETWORK_OPTIONS] as const;

export class ThalamusNetwork extends Network {
  readonly dimensions: number;
  readonly actions: EnsembleArrayNetwork;
  /** The bias node (value 1) into every action. */
  readonly bias: Node;
  /** actions.input. */
  readonly input: Node;
  /** actions.output. */
  readonly output: Node;

  constructor(opts: ThalamusOptions) {
    checkOptions(opts, THALAMUS_OPTIONS, 'Thalamus');
    super(definedOnly({ label: labelOr(opts.label, 'Thalamus'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    const d = (this.dimensions = positiveInt(opts.dimensions, 'dimensions', what));
    const n = positiveInt(opts.nNeuronsPerEnsemble ?? 50, 'nNeuronsPerEnsemble', what);
    const inhib = finiteNumber(opts.mutualInhib ?? 1, 'mutualInhib', what);
    const threshold = finiteNumber(opts.threshold ?? 0, 'threshold', what);
    this.actions = new EnsembleArrayNetwork({
      nNeurons: n,
      nEnsembles: d,
      intercepts: new Uniform(threshold, 1),
      encoders: new Choice([[1]]),
      label: 'actions',
      parent: this,
    });
    const T = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => ((i === j ? 1 : 0) - 1) * inhib));
    this.connect(this.actions.output, this.actions.input, { transform: T });
    this.bias = this.node([1], { label: 'thalamus bias' });
    this.connect(this.bias, this.actions.input, { transform: Array.from({ length: d }, () => [1]) });
    this.input = this.actions.input;
    this.output = this.actions.output;
  }
}

/** Creates a Thalamus network (Nengo's nengo.networks.Thalamus). */
export function Thalamus(opts: ThalamusOptions): ThalamusNetwork {
  return new ThalamusNetwork(opts);
}
export type Thalamus = ThalamusNetwork;
