/**
 * Product: the element-wise product of two vectors
 * (nengo/networks/product.py, Nengo 4.1), computed as in Gosmann (2015),
 * "Precise multiplications with the NEF":
 *
 *   a * b = ((a + b) / sqrt 2)^2 / 2 - ((a - b) / sqrt 2)^2 / 2,
 *
 * since ((a + b)^2 - (a - b)^2) / 4 = a b. Two EnsembleArrays of 1-D
 * ensembles, `sq1` representing (a + b) / sqrt 2 and `sq2` representing
 * (a - b) / sqrt 2, each with max(1, floor(nNeurons / 2)) neurons per
 * ensemble and radius inputMagnitude * sqrt 2, decode their squares; the
 * output sums 0.5 sq1^2 - 0.5 sq2^2.
 *
 * Nengo's construction order: nodes input_a, input_b, output; sq1, sq2;
 * a -> sq1 (1/sqrt 2), b -> sq1 (1/sqrt 2), a -> sq2 (1/sqrt 2),
 * b -> sq2 (-1/sqrt 2), all synapse null; sq1.addOutput('square', x^2),
 * sq1.square -> output (0.5); sq2.addOutput('square', x^2),
 * sq2.square -> output (-0.5), synapse null.
 *
 * (Nengo 2.0's Product, a single array of 2-D ensembles with encoders
 * Choice([[1,1],[1,-1],[-1,1],[-1,-1]]) decoding x0 x1, is no longer used.)
 */
import { Network } from '../network.js';
import type { Node } from '../objects.js';
import { EnsembleArrayNetwork } from './ensemblearray.js';
import {
  checkOptions,
  definedOnly,
  ENSEMBLE_PARAMS,
  finiteNumber,
  labelOr,
  pickEnsembleParams,
  positiveInt,
  SUBNETWORK_OPTIONS,
  type EnsembleParams,
  type SubnetworkOptions,
} from './common.js';

/** Ensemble parameters a Product passes on (radius is set from inputMagnitude). */
export type ProductEnsembleParams = Omit<EnsembleParams, 'radius'>;
export const PRODUCT_ENSEMBLE_PARAMS = ENSEMBLE_PARAMS.filter((k) => k !== 'radius');

export interface ProductOptions extends SubnetworkOptions, ProductEnsembleParams {
  /** Neurons per dimension, split evenly between sq1 and sq2 (an odd one is unused). */
  nNeurons: number;
  /** Dimensions of each of the two vectors. */
  dimensions: number;
  /** Expected magnitude of the inputs; the ensembles' radius is inputMagnitude * sqrt 2 (default 1). */
  inputMagnitude?: number;
}
const PRODUCT_OPTIONS = ['nNeurons', 'dimensions', 'inputMagnitude', ...SUBNETWORK_OPTIONS, ...PRODUCT_ENSEMBLE_PARAMS] as const;

export class ProductNetwork extends Network {
  readonly dimensions: number;
  readonly inputMagnitude: number;
  /** First vector (passthrough Node, size dimensions). */
  readonly inputA: Node;
  /** Second vector (passthrough Node, size dimensions). */
  readonly inputB: Node;
  /** The element-wise product (passthrough Node, size dimensions). */
  readonly output: Node;
  /** Represents (a + b) / sqrt 2. */
  readonly sq1: EnsembleArrayNetwork;
  /** Represents (a - b) / sqrt 2. */
  readonly sq2: EnsembleArrayNetwork;

  constructor(opts: ProductOptions) {
    checkOptions(opts, PRODUCT_OPTIONS, 'Product');
    super(definedOnly({ label: labelOr(opts.label, 'Product'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    const nNeurons = positiveInt(opts.nNeurons, 'nNeurons', what);
    this.dimensions = positiveInt(opts.dimensions, 'dimensions', what);
    this.inputMagnitude = finiteNumber(opts.inputMagnitude ?? 1, 'inputMagnitude', what, { positive: true });
    Object.assign(this.config.ensemble, pickEnsembleParams(opts, PRODUCT_ENSEMBLE_PARAMS));

    const d = this.dimensions;
    this.inputA = this.node(null, { sizeIn: d, label: 'input_a' });
    this.inputB = this.node(null, { sizeIn: d, label: 'input_b' });
    this.output = this.node(null, { sizeIn: d, label: 'output' });

    const perEnsemble = Math.max(1, Math.floor(nNeurons / 2));
    const radius = this.inputMagnitude * Math.SQRT2;
    this.sq1 = new EnsembleArrayNetwork({ nNeurons: perEnsemble, nEnsembles: d, ensDimensions: 1, radius, parent: this });
    this.sq2 = new EnsembleArrayNetwork({ nNeurons: perEnsemble, nEnsembles: d, ensDimensions: 1, radius, parent: this });

    const tr = 1 / Math.SQRT2;
    this.connect(this.inputA, this.sq1.input, { transform: tr, synapse: null });
    this.connect(this.inputB, this.sq1.input, { transform: tr, synapse: null });
    this.connect(this.inputA, this.sq2.input, { transform: tr, synapse: null });
    this.connect(this.inputB, this.sq2.input, { transform: -tr, synapse: null });

    const square = (x: Float64Array): number => x[0]! * x[0]!;
    const sq1Out = this.sq1.addOutput('square', square);
    this.connect(sq1Out, this.output, { transform: 0.5, synapse: null });
    const sq2Out = this.sq2.addOutput('square', square);
    this.connect(sq2Out, this.output, { transform: -0.5, synapse: null });
  }
}

/** Creates a Product network (Nengo's nengo.networks.Product). */
export function Product(opts: ProductOptions): ProductNetwork {
  return new ProductNetwork(opts);
}
export type Product = ProductNetwork;

/** A 1 x dimensions transform of `scale`, summing a Product's output into a (scaled) dot product (Nengo's dot_product_transform). */
export function dotProductTransform(dimensions: number, scale = 1): number[][] {
  positiveInt(dimensions, 'dimensions', 'dotProductTransform');
  return [new Array<number>(dimensions).fill(scale)];
}
