/**
 * CircularConvolution: c = a (*) b, c[i] = sum_j a[j] b[(i - j) mod D]
 * (nengo/networks/circularconvolution.py, Nengo 4.1), computed in the
 * Fourier domain, c = IDFT(DFT(a) . DFT(b)), with one neural Product.
 *
 * Only the lower half of the spectrum, k = 0 .. floor(D/2), is needed (the
 * upper half of a real signal's DFT is its conjugate mirror). With
 * F = DFT(a), G = DFT(b), the input transforms lay out, for each k, the
 * four pairs the Product multiplies:
 *
 *   [Re F_k]   [Re G_k]   [w_k]
 *   [Im F_k] * [Im G_k] = [x_k]
 *   [Re F_k]   [Im G_k]   [y_k]
 *   [Im F_k]   [Re G_k]   [z_k]
 *
 * so H_k = F_k G_k = (w_k - x_k) + i (y_k + z_k), and the output transform
 * does that sum together with the real inverse DFT
 *   c[n] = (1/D) sum_k s_k (Re H_k cos(2 pi k n / D) - Im H_k sin(2 pi k n / D)),
 * with s_k = 1 for k = 0 and k = D/2 and 2 otherwise.
 *
 * The Product has 4 (floor(D/2) + 1) dimensions: Nengo's remove_imag_rows
 * (meant to drop the always-zero imaginary rows of k = 0 and k = D/2)
 * rebinds a local variable and so removes nothing; we keep those rows too,
 * to build the same network (D = 16: 36 product dimensions; D = 256: 516).
 *
 * invertA / invertB conjugate the DFT of that input, i.e. reverse it
 * circularly (a[-j mod D]); invertB gives circular correlation.
 */
import { Network } from '../network.js';
import { ValidationError } from '../errors.js';
import type { Node } from '../objects.js';
import { ProductNetwork, PRODUCT_ENSEMBLE_PARAMS, type ProductEnsembleParams } from './product.js';
import {
  checkOptions,
  definedOnly,
  finiteNumber,
  labelOr,
  pickEnsembleParams,
  positiveInt,
  SUBNETWORK_OPTIONS,
  type SubnetworkOptions,
} from './common.js';

/** The first floor(n/2) + 1 rows of the DFT matrix: W[k][x] = exp(-2 pi i k x / n), as real and imaginary parts. */
export function dftHalf(n: number): { re: number[][]; im: number[][] } {
  positiveInt(n, 'n', 'dftHalf');
  const re: number[][] = [];
  const im: number[][] = [];
  for (let k = 0; k <= Math.floor(n / 2); k++) {
    const r = new Array<number>(n);
    const m = new Array<number>(n);
    for (let x = 0; x < n; x++) {
      const angle = ((-2 * Math.PI) / n) * (k * x); // same expression as Nengo's dft_half
      r[x] = Math.cos(angle);
      m[x] = Math.sin(angle);
    }
    re.push(r);
    im.push(m);
  }
  return { re, im };
}

/**
 * Input transform (4 (floor(D/2) + 1) x D) taking a vector to the Fourier
 * components the Product multiplies (Nengo's transform_in). Row i uses
 * DFT row k = floor(i / 4) (conjugated if `invert`); align 'A' takes
 * Re, Im, Re, Im for i mod 4 = 0..3, align 'B' takes Re, Im, Im, Re.
 */
export function transformIn(dims: number, align: 'A' | 'B', invert: boolean): number[][] {
  positiveInt(dims, 'dims', 'transformIn');
  if (align !== 'A' && align !== 'B') throw new ValidationError(`transformIn: align must be 'A' or 'B', got ${String(align)}`);
  const { re, im } = dftHalf(dims);
  const rows = 4 * (Math.floor(dims / 2) + 1);
  const tr: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const k = Math.floor(i / 4);
    const useReal = align === 'A' ? i % 2 === 0 : i % 4 === 0 || i % 4 === 3;
    tr.push(useReal ? [...re[k]!] : im[k]!.map((v) => (invert ? -v : v)));
  }
  return tr;
}

/**
 * Output transform (D x 4 (floor(D/2) + 1)) combining the products into
 * H_k and applying the real inverse DFT (Nengo's transform_out): with
 * row_k = s_k conj(W[k]) / D, column 4k + (0, 1, 2, 3) is
 * (Re row_k, -Re row_k, -Im row_k, -Im row_k).
 */
export function transformOut(dims: number): number[][] {
  positiveInt(dims, 'dims', 'transformOut');
  const { re, im } = dftHalf(dims);
  const half = Math.floor(dims / 2) + 1;
  const out: number[][] = [];
  for (let x = 0; x < dims; x++) out.push(new Array<number>(4 * half).fill(0));
  for (let k = 0; k < half; k++) {
    const s = k === 0 || 2 * k === dims ? 1 : 2;
    for (let x = 0; x < dims; x++) {
      const rowRe = s * re[k]![x]!; // Re conj(W[k][x]) = Re W[k][x]
      const rowIm = -s * im[k]![x]!; // Im conj(W[k][x]) = -Im W[k][x]
      const o = out[x]!;
      o[4 * k] = rowRe / dims;
      o[4 * k + 1] = -rowRe / dims;
      o[4 * k + 2] = -rowIm / dims;
      o[4 * k + 3] = -rowIm / dims;
    }
  }
  return out;
}

/**
 * Reference circular convolution computed directly:
 * c[i] = sum_j a'[j] b'[(i - j) mod D], where a' (b') is a reversed
 * circularly, a'[j] = a[-j mod D], if invertA (invertB): the same as
 * Nengo's circconv, IFFT(FFT(a) FFT(b)) with the FFT conjugated for an
 * inverted input.
 */
export function circconv(a: ArrayLike<number>, b: ArrayLike<number>, invertA = false, invertB = false): Float64Array {
  const n = a.length;
  if (b.length !== n) throw new ValidationError(`circconv: vectors differ in length (${n} and ${b.length})`);
  const at = (v: ArrayLike<number>, j: number, inv: boolean): number => v[inv ? (n - j) % n : j]!;
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += at(a, j, invertA) * at(b, (i - j + n) % n, invertB);
    c[i] = s;
  }
  return c;
}

export interface CircularConvolutionOptions extends SubnetworkOptions, ProductEnsembleParams {
  /** Neurons per product dimension (split between the Product's sq1 and sq2 ensembles). */
  nNeurons: number;
  /** Dimensions of the input and output vectors. */
  dimensions: number;
  /** Reverse the first input circularly (default false). */
  invertA?: boolean;
  /** Reverse the second input circularly (default false; true computes circular correlation). */
  invertB?: boolean;
  /** Expected magnitude of the input vectors (default 1); the Product gets inputMagnitude * 2. */
  inputMagnitude?: number;
}
const CIRCULAR_CONVOLUTION_OPTIONS = [
  'nNeurons',
  'dimensions',
  'invertA',
  'invertB',
  'inputMagnitude',
  ...SUBNETWORK_OPTIONS,
  ...PRODUCT_ENSEMBLE_PARAMS,
] as const;

export class CircularConvolutionNetwork extends Network {
  readonly dimensions: number;
  readonly invertA: boolean;
  readonly invertB: boolean;
  readonly inputMagnitude: number;
  /** First vector (passthrough Node, size dimensions). */
  readonly inputA: Node;
  /** Second vector (passthrough Node, size dimensions). */
  readonly inputB: Node;
  /** Element-wise product of the Fourier components (4 (floor(D/2) + 1) dimensions). */
  readonly product: ProductNetwork;
  /** The convolution (passthrough Node, size dimensions). */
  readonly output: Node;
  /** The transforms used: inputA -> product.inputA, inputB -> product.inputB, product.output -> output. */
  readonly transformA: number[][];
  readonly transformB: number[][];
  readonly transformOut: number[][];

  constructor(opts: CircularConvolutionOptions) {
    checkOptions(opts, CIRCULAR_CONVOLUTION_OPTIONS, 'CircularConvolution');
    super(definedOnly({ label: labelOr(opts.label, 'Circular convolution'), seed: opts.seed, parent: opts.parent }));
    const what = this.name;
    const nNeurons = positiveInt(opts.nNeurons, 'nNeurons', what);
    this.dimensions = positiveInt(opts.dimensions, 'dimensions', what);
    this.invertA = opts.invertA ?? false;
    this.invertB = opts.invertB ?? false;
    if (typeof this.invertA !== 'boolean' || typeof this.invertB !== 'boolean') {
      throw new ValidationError(`${what}: invertA and invertB must be booleans`);
    }
    this.inputMagnitude = finiteNumber(opts.inputMagnitude ?? 1, 'inputMagnitude', what, { positive: true });
    Object.assign(this.config.ensemble, pickEnsembleParams(opts, PRODUCT_ENSEMBLE_PARAMS));

    const d = this.dimensions;
    this.transformA = transformIn(d, 'A', this.invertA);
    this.transformB = transformIn(d, 'B', this.invertB);
    this.transformOut = transformOut(d);

    this.inputA = this.node(null, { sizeIn: d, label: 'input_a' });
    this.inputB = this.node(null, { sizeIn: d, label: 'input_b' });
    this.product = new ProductNetwork({
      nNeurons,
      dimensions: this.transformOut[0]!.length,
      inputMagnitude: this.inputMagnitude * 2,
      parent: this,
    });
    this.output = this.node(null, { sizeIn: d, label: 'output' });

    this.connect(this.inputA, this.product.inputA, { transform: this.transformA, synapse: null });
    this.connect(this.inputB, this.product.inputB, { transform: this.transformB, synapse: null });
    this.connect(this.product.output, this.output, { transform: this.transformOut, synapse: null });
  }
}

/** Creates a CircularConvolution network (Nengo's nengo.networks.CircularConvolution). */
export function CircularConvolution(opts: CircularConvolutionOptions): CircularConvolutionNetwork {
  return new CircularConvolutionNetwork(opts);
}
export type CircularConvolution = CircularConvolutionNetwork;
