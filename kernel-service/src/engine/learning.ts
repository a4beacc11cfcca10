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
 *
 * RLS (recursive least squares, as in FORCE learning: Sussillo & Abbott
 * 2009) changes decoders as PES does, from the error e and the filtered pre
 * activities r, with a running estimate P of the inverse correlation of r
 * (initially I * learning_rate * dt / n_neurons):
 *   P -= (P r)(P r)^T / (1 + r^T P r),  dW = -outer(e, P r) / (1 + r^T P r).
 *
 * Voja (Voelker 2015) changes the post ensemble's encoders instead, moving
 * the encoders of active neurons towards the decoded input x:
 *   dE = learning_rate * dt * L * (outer(s * a_post, x) - a_post * E),
 * E the scaled encoders (one row a neuron), s = gain / radius a neuron (the
 * encoders' own scale), a_post the post activities filtered by post_synapse
 * and L the learning signal: 1 plus what connections into the rule deliver.
 */
import { checkKnownOptions, ValidationError } from './errors.js';
import type { Connection } from './objects.js';
import { Lowpass, toSynapse, type Synapse } from './synapses.js';

export abstract class LearningRuleType {
  abstract readonly kind: string;
  /** What a probe of `conn.learningRule` can record (Nengo's names in camelCase). */
  abstract readonly probeable: readonly string[];
  /**
   * What the rule changes: decoders (or the weights of a decoded connection), a full neuron-to-neuron
   * weight matrix, or the post ensemble's encoders.
   */
  readonly modifies: 'decoders' | 'weights' | 'encoders' = 'decoders';
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
  readonly probeable = ['error', 'activities', 'delta'] as const;
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
  errorSize(conn: Connection): number {
    return postStateSize(conn);
  }
  validate(conn: Connection): void {
    preIsEnsembleLike(conn, 'PES');
  }
  toString(): string {
    return `PES(learningRate=${this.learningRate})`;
  }
}

/**
 * Nengo's size_in 'post_state' (PES's and RLS's error): the post's
 * dimensions, also on a connection into neurons (whose error goes through
 * their encoders).
 */
function postStateSize(conn: Connection): number {
  const post = (conn.post as { obj?: unknown }).obj ?? conn.post;
  const ens = (post as { ensemble?: { dimensions: number } }).ensemble;
  return ens !== undefined ? ens.dimensions : conn.sizeOut;
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

export interface RLSOptions {
  /** Default 1e-3 (Nengo's); P starts as I * learningRate * dt / n_neurons. */
  learningRate?: number;
  /** Filter of the pre activities (default Lowpass(0.005)); null: none. */
  preSynapse?: Synapse | number | null;
}

/**
 * Recursive least squares (Nengo's RLS); see the top of this file. Like
 * PES, it takes an error connection into `conn.learningRule`, in the post's
 * space, and learns the decoders of a connection from an ensemble; its cost
 * a step is about 3 n^2 for n pre neurons (P is n x n).
 */
export class RLS extends LearningRuleType {
  readonly kind = 'RLS';
  readonly probeable = ['preFiltered', 'error', 'delta', 'invGamma'] as const;
  readonly learningRate: number;
  readonly preSynapse: Synapse | null;
  constructor(opts: RLSOptions = {}) {
    super();
    checkKnownOptions(opts, ['learningRate', 'preSynapse'], 'RLS');
    this.learningRate = learningRate(opts.learningRate, 1e-3, 'RLS');
    this.preSynapse = toSynapse(opts.preSynapse === undefined ? new Lowpass(0.005) : opts.preSynapse, 'RLS preSynapse');
  }
  errorSize(conn: Connection): number {
    return postStateSize(conn);
  }
  validate(conn: Connection): void {
    preIsEnsembleLike(conn, 'RLS');
  }
  toString(): string {
    return `RLS(learningRate=${this.learningRate})`;
  }
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
  readonly probeable = ['theta', 'preFiltered', 'postFiltered', 'delta'] as const;
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
  readonly probeable = ['preFiltered', 'postFiltered', 'delta'] as const;
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

export interface VojaOptions {
  /** Default 1e-2 (Nengo's). */
  learningRate?: number;
  /** Filter of the post activities (default Lowpass(0.005)); null: none. */
  postSynapse?: Synapse | number | null;
}

/**
 * Voja's rule (Nengo's Voja); see the top of this file. It takes a scalar
 * learning signal: connect to `conn.learningRule` to scale learning (-1
 * stops it, as the signal is 1 plus the input). The connection must end at
 * an ensemble with neurons (or a slice of one), whose encoders it changes;
 * x is that ensemble's whole input, as in Nengo (its sig[conn]['out']).
 */
export class Voja extends LearningRuleType {
  readonly kind = 'Voja';
  readonly probeable = ['postFiltered', 'scaledEncoders', 'delta'] as const;
  override readonly modifies = 'encoders';
  readonly learningRate: number;
  readonly postSynapse: Synapse | null;
  constructor(opts: VojaOptions = {}) {
    super();
    checkKnownOptions(opts, ['learningRate', 'postSynapse'], 'Voja');
    this.learningRate = learningRate(opts.learningRate, 1e-2, 'Voja');
    this.postSynapse = toSynapse(opts.postSynapse === undefined ? new Lowpass(0.005) : opts.postSynapse, 'Voja postSynapse');
  }
  errorSize(): number {
    return 1;
  }
  validate(conn: Connection): void {
    const viewed = conn.post as { obj?: unknown };
    const post = (viewed.obj ?? conn.post) as { typeName?: string; ensemble?: unknown; neuronType?: { kind: string } };
    const fail = (why: string): never => {
      throw new ValidationError(`${conn.name}: Voja changes the encoders of the ensemble it ends at, ${why}`, conn.label);
    };
    if (post.ensemble !== undefined) fail('so it must end at an ensemble, not at neurons (which take no encoders)');
    if (conn.solver?.weights) fail('which a connection with a weight solver (weights: true) does not use');
    if (post.typeName !== 'Ensemble') fail(`so it must end at an ensemble, not at ${String(conn.post)}`);
    if (post.neuronType?.kind === 'Direct') fail('but a Direct ensemble has no neurons to learn with');
  }
  toString(): string {
    return `Voja(learningRate=${this.learningRate})`;
  }
}
