/**
 * Shared pieces of the prebuilt networks (Nengo's `nengo.networks`): the
 * options every network takes (label, seed, parent) and the ensemble
 * parameters a network forwards to the ensembles it creates.
 *
 * Nengo forwards such parameters with `self.config[nengo.Ensemble].update(...)`,
 * so they apply to every ensemble created inside the network (including
 * nested subnetworks) unless a nearer config overrides them. We do the same
 * with `net.config.ensemble`.
 */
import { checkKnownOptions, ValidationError } from '../errors.js';
import { Network, type NetworkOptions } from '../network.js';
import type { Ensemble, EnsembleOptions } from '../objects.js';

/** Options every prebuilt network takes. */
export interface SubnetworkOptions {
  label?: string;
  seed?: number;
  /** The network to add the new subnetwork to. */
  parent?: Network;
}
export const SUBNETWORK_OPTIONS = ['label', 'seed', 'parent'] as const;

/** Ensemble parameters a prebuilt network applies to the ensembles it creates. */
export type EnsembleParams = Omit<EnsembleOptions, 'nNeurons' | 'dimensions' | 'label' | 'seed'>;
export const ENSEMBLE_PARAMS = [
  'radius',
  'neuronType',
  'maxRates',
  'intercepts',
  'encoders',
  'normalizeEncoders',
  'evalPoints',
  'nEvalPoints',
  'gain',
  'bias',
  'initialState',
  'noise',
] as const satisfies readonly (keyof EnsembleParams)[];

/** Copy of `obj` without the keys whose value is undefined (so they do not mask config defaults). */
export function definedOnly<T extends object>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(obj) as (keyof T)[]) {
    if (obj[key] !== undefined) out[key] = obj[key];
  }
  return out;
}

/** The ensemble parameters among `opts` (defined ones only). */
export function pickEnsembleParams(opts: EnsembleParams, allowed: readonly (keyof EnsembleParams)[] = ENSEMBLE_PARAMS): EnsembleParams {
  const out: Record<string, unknown> = {};
  for (const key of allowed) {
    const v = opts[key];
    if (v !== undefined) out[key] = v;
  }
  return out as EnsembleParams;
}

/** Throws unless `opts` is an object whose keys are all in `allowed`. */
export function checkOptions(opts: unknown, allowed: readonly string[], what: string): void {
  if (opts === null || typeof opts !== 'object') {
    throw new ValidationError(`${what}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
  }
  checkKnownOptions(opts, allowed, what);
}

export function positiveInt(value: unknown, name: string, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${what}: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function finiteNumber(value: unknown, name: string, what: string, opts: { positive?: boolean } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (opts.positive === true && !(value > 0))) {
    throw new ValidationError(`${what}: ${name} must be a ${opts.positive === true ? 'positive' : 'finite'} number, got ${String(value)}`);
  }
  return value;
}

/** The label to use: the given one, or Nengo's default for the network type. */
export function labelOr(label: string | undefined, fallback: string | undefined): string | undefined {
  return label !== undefined ? label : fallback;
}

/**
 * Network without its `ensemble(...)` factory method in the type, as a base
 * class for networks that have Nengo's `ensemble` attribute (Integrator,
 * Oscillator): TypeScript does not let a subclass turn a method into a
 * property. At runtime the instance is a plain Network (instanceof Network
 * holds, the builder and `parent.add` accept it); only its own `ensemble`
 * property shadows the factory method. `asNetwork()` gives it the Network
 * type back, e.g. for `new Simulator(integrator.asNetwork())`.
 */
export type NetworkWithoutEnsembleFactory = Omit<Network, 'ensemble'>;
export const NetworkWithEnsembleAttribute = Network as unknown as new (opts?: NetworkOptions) => NetworkWithoutEnsembleFactory;

/** Creates an ensemble in `net` (with its config defaults) even where `ensemble` is shadowed by an attribute. */
export function makeEnsemble(net: NetworkWithoutEnsembleFactory, opts: EnsembleOptions): Ensemble {
  return Network.prototype.ensemble.call(net as Network, opts);
}
