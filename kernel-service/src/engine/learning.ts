/**
 * Learning rules. PES (prescribed error sensitivity, MacNeil & Eliasmith 2011)
 * as in Nengo: the connection's weights W (post size x pre neurons) change by
 *   dW = -(learning_rate * dt / n_neurons) * outer(error, a_pre)
 * each step, where a_pre are the pre neurons' activities filtered by
 * pre_synapse and `error` is what the error connection delivers to
 * `conn.learningRule`.
 */
import { checkKnownOptions, ValidationError } from './errors.js';
import type { Connection } from './objects.js';
import { Lowpass, toSynapse, type Synapse } from './synapses.js';

export abstract class LearningRuleType {
  abstract readonly kind: string;
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
    return conn.sizeOut;
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
