/**
 * Learning rules, as in Nengo 4.1.
 *
 * PES (prescribed error sensitivity, MacNeil & Eliasmith 2011): the
 * connection's weights W (post size x pre neurons) change by
 *   dW = -(learning_rate * dt / n_neurons) * outer(error, a_pre)
 * each step, where a_pre are the pre neurons' activities filtered by
 * pre_synapse and `error` is what the error connection delivers to
 * `conn.learningRule`.
 *
 * BCM (Bienenstock, Cooper & Munro 1982) and Oja (Oja 1982) are unsupervised
 * rules on a full weight matrix (post neurons x pre neurons), from the
 * filtered pre and post activities a_pre, a_post:
 *   BCM: dW = learning_rate * dt * outer(a_post * (a_post - theta), a_pre),
 *        theta = the post activities filtered by theta_synapse;
 *   Oja: dW = learning_rate * dt * (outer(a_post, a_pre) - beta * W * a_post^2)
 *        (the forgetting term row by row).
 */
import { checkKnownOptions, ValidationError } from './errors.js';
import type { Connection } from './objects.js';
import { Lowpass, toSynapse, type Synapse } from './synapses.js';

export abstract class LearningRuleType {
  abstract readonly kind: string;
  /** What a probe of `conn.learningRule` can record (Nengo's names in camelCase; no 'delta': probe the weights). */
  abstract readonly probeable: readonly string[];
  /** What the rule changes: decoders (or the weights of a decoded connection), or a full neuron-to-neuron weight matrix. */
  readonly modifies: 'decoders' | 'weights' = 'decoders';
  /** Size of the error signal this rule takes for the given connection. */
  abstract errorSize(conn: Connection): number;
  /** Throws if the rule cannot be applied to the connection. */
  abstract validate(conn: Connection): void;
  abstract toString(): string;
}

export interface PESOptions {
  learningRate?: number;
  preSynapse?: Synapse | number | null;
}

export class PES extends LearningRuleType {
  readonly kind = 'PES';
  readonly probeable = ['error', 'activities'] as const;
  readonly learningRate: number;
  readonly preSynapse: Synapse | null;
  constructor(opts: PESOptions = {}) {
    super();
    checkKnownOptions(opts, ['learningRate', 'preSynapse'], 'PES');
    const lr = opts.learningRate ?? 1e-4;
    if (!Number.isFinite(lr) || lr < 0)
      throw new ValidationError(`PES: learningRate must be a non-negative number, got ${String(opts.learningRate)}`);
    this.learningRate = lr;
    this.preSynapse = toSynapse(opts.preSynapse === undefined ? new Lowpass(0.005) : opts.preSynapse, 'PES preSynapse');
  }
  /**
   * Nengo's size_in 'post_state': the post's dimensions, also on a
   * connection into neurons (whose error goes through their encoders).
   */
  errorSize(conn: Connection): number {
    const post = (conn.post as { obj?: unknown }).obj ?? conn.post;
    const ens = (post as { ensemble?: { dimensions: number } }).ensemble;
    return ens !== undefined ? ens.dimensions : conn.sizeOut;
  }
  validate(conn: Connection): void {
    // through a slice (ens.slice(0, 1), ens.neurons.select([...])) to what it views
    const pre = (conn.pre as { obj?: unknown }).obj ?? conn.pre;
    const isEnsembleLike = (pre as { typeName?: string }).typeName === 'Ensemble' || (pre as { ensemble?: unknown }).ensemble !== undefined;
    if (!isEnsembleLike) {
      throw new ValidationError(
        `${conn.name}: PES needs a connection from an ensemble or its neurons, not from ${String(pre)}`,
        conn.label,
      );
    }
  }
  toString(): string {
    return `PES(learningRate=${this.learningRate})`;
  }
}

function preIsEnsembleLike(conn: Connection, rule: string): void {
  // through a slice (ens.slice(0, 1), ens.neurons.select([...])) to what it views
  const pre = (conn.pre as { obj?: unknown }).obj ?? conn.pre;
  const isEnsembleLike = (pre as { typeName?: string }).typeName === 'Ensemble' || (pre as { ensemble?: unknown }).ensemble !== undefined;
  if (!isEnsembleLike) {
    throw new ValidationError(
      `${conn.name}: ${rule} needs a connection from an ensemble or its neurons, not from ${String(pre)}`,
      conn.label,
    );
  }
}

function learningRate(v: number | undefined, fallback: number, rule: string): number {
  const lr = v ?? fallback;
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0)
    throw new ValidationError(`${rule}: learningRate must be a non-negative number, got ${String(v)}`);
  return lr;
}

export interface BCMOptions {
  /** Default 1e-9 (Nengo's). */
  learningRate?: number;
  /** Filter of the pre activities (default Lowpass(0.005)); null: none. */
  preSynapse?: Synapse | number | null;
  /** Filter of the post activities (default: the pre synapse, as given). */
  postSynapse?: Synapse | number | null;
  /** Filter of the post activities that gives the threshold theta (default Lowpass(1)). */
  thetaSynapse?: Synapse | number | null;
}

/** Bienenstock-Cooper-Munro rule (Nengo's BCM); see the top of this file. It takes no error connection. */
export class BCM extends LearningRuleType {
  readonly kind = 'BCM';
  readonly probeable = ['theta', 'preFiltered', 'postFiltered'] as const;
  override readonly modifies = 'weights';
  readonly learningRate: number;
  readonly preSynapse: Synapse | null;
  readonly postSynapse: Synapse | null;
  readonly thetaSynapse: Synapse | null;
  constructor(opts: BCMOptions = {}) {
    super();
    checkKnownOptions(opts, ['learningRate', 'preSynapse', 'postSynapse', 'thetaSynapse'], 'BCM');
    this.learningRate = learningRate(opts.learningRate, 1e-9, 'BCM');
    this.preSynapse = toSynapse(opts.preSynapse === undefined ? new Lowpass(0.005) : opts.preSynapse, 'BCM preSynapse');
    this.postSynapse = opts.postSynapse === undefined ? this.preSynapse : toSynapse(opts.postSynapse, 'BCM postSynapse');
    this.thetaSynapse = toSynapse(opts.thetaSynapse === undefined ? new Lowpass(1) : opts.thetaSynapse, 'BCM thetaSynapse');
  }
  errorSize(): number {
    return 0;
  }
  validate(conn: Connection): void {
    preIsEnsembleLike(conn, 'BCM');
  }
  toString(): string {
    return `BCM(learningRate=${this.learningRate})`;
  }
}

export interface OjaOptions {
  /** Default 1e-6 (Nengo's). */
  learningRate?: number;
  /** Filter of the pre activities (default Lowpass(0.005)); null: none. */
  preSynapse?: Synapse | number | null;
  /** Filter of the post activities (default: the pre synapse, as given). */
  postSynapse?: Synapse | number | null;
  /** Weight of the forgetting term (default 1). */
  beta?: number;
}

/** Oja's rule (Nengo's Oja); see the top of this file. It takes no error connection. */
export class Oja extends LearningRuleType {
  readonly kind = 'Oja';
  readonly probeable = ['preFiltered', 'postFiltered'] as const;
  override readonly modifies = 'weights';
  readonly learningRate: number;
  readonly preSynapse: Synapse | null;
  readonly postSynapse: Synapse | null;
  readonly beta: number;
  constructor(opts: OjaOptions = {}) {
    super();
    checkKnownOptions(opts, ['learningRate', 'preSynapse', 'postSynapse', 'beta'], 'Oja');
    this.learningRate = learningRate(opts.learningRate, 1e-6, 'Oja');
    this.preSynapse = toSynapse(opts.preSynapse === undefined ? new Lowpass(0.005) : opts.preSynapse, 'Oja preSynapse');
    this.postSynapse = opts.postSynapse === undefined ? this.preSynapse : toSynapse(opts.postSynapse, 'Oja postSynapse');
    const beta = opts.beta ?? 1;
    if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0)
      throw new ValidationError(`Oja: beta must be a non-negative number, got ${String(opts.beta)}`);
    this.beta = beta;
  }
  errorSize(): number {
    return 0;
  }
  validate(conn: Connection): void {
    preIsEnsembleLike(conn, 'Oja');
  }
  toString(): string {
    return `Oja(learningRate=${this.learningRate}, beta=${this.beta})`;
  }
}
