/**
 * Convolutional transforms, as Nengo's nengo.Convolution and
 * nengo.ConvolutionTranspose: a connection's values seen as an image of
 * `inputShape` (spatial dimensions and channels) and correlated with a
 * kernel of shape kernelSize + [input channels / groups, nFilters] (not
 * flipped, as in neural networks and in Nengo). One or two spatial
 * dimensions, as Nengo's reference simulator.
 *
 * The build applies one as Nengo does, as matrix products on the input's
 * windows (im2col; see `im2col()`): each step gathers every output
 * position's window into a row of a matrix (zeros where the window meets
 * padding), and each filter's outputs are that matrix times the filter's
 * kernel (one matrix-vector product per filter and group, on the engine's
 * dense product kernels).
 *
 * Shapes (Nengo's formulas, per spatial dimension of size n, kernel k,
 * stride s):
 * - Convolution: output ceil((n - k + 1) / s) with padding 'valid',
 *   ceil(n / s) with 'same'; 'same' pads p = max((out - 1) s + k - n, 0)
 *   zeros, floor(p / 2) of them before.
 * - ConvolutionTranspose: the transpose of the Convolution from its output
 *   shape to its input shape. Default output 1 + (n - 1) s, plus k - 1 with
 *   'valid'; any output shape that the forward Convolution maps back to the
 *   input shape may be given. It is computed as Nengo's conv2d_gradx: the
 *   input dilated by the strides (s - 1 zeros between elements), cut to the
 *   output size, padded by p = 2 (k - 1) ('valid') or
 *   clip(out + k - 1 - ((n - 1) s + 1), 0, 2 (k - 1)) ('same'), ceil(p / 2)
 *   before, and correlated at stride 1 with the kernel flipped in space.
 */
import { Uniform, isDistribution, type Distribution } from './dists.js';
import { ValidationError, checkKnownOptions } from './errors.js';
import type { Rng } from './rng.js';
import type { Spread } from './spread.js';

export type Padding = 'valid' | 'same';

/** A kernel: nested arrays of kernelShape, values in its order (row-major), or a Distribution sampled at build. */
export type KernelInit = Distribution | ArrayLike<number> | ArrayLike<unknown>;

export interface ConvolutionOptions {
  /** The kernel's spatial size, one entry per spatial dimension (default [3, 3]). */
  kernelSize?: readonly number[];
  /** The step between windows, one entry per spatial dimension (default [1, 1]). */
  strides?: readonly number[];
  /** 'valid' (windows inside the input only, the default) or 'same' (zero-padded to ceil(size / stride)). */
  padding?: Padding;
  /** Channels are the last entry of the shapes (default true), else the first. */
  channelsLast?: boolean;
  /** The kernel, of shape kernelSize + [input channels / groups, nFilters] (default Uniform(-1, 1)). */
  init?: KernelInit;
  /** Channel groups: output channels depend only on input channels of their group (default 1). */
  groups?: number;
}

export interface ConvolutionTransposeOptions extends Omit<ConvolutionOptions, 'groups'> {
  /** The output's shape (spatial and channels); default the smallest that the forward Convolution maps to inputShape. */
  outputShape?: readonly number[];
}

/**
 * A convolution as matrix products: per group g, the windows matrix X_g
 * (positions x rowLength, row-major, rows in output position order) times
 * each of its filters' kernel rows gives that filter's outputs at every
 * position. The windows of all groups lie in one buffer, group after group.
 */
export interface Im2col {
  /** Output positions (the output's spatial size). */
  positions: number;
  groups: number;
  /** Entries of a window: kernel positions x input channels per group. */
  rowLength: number;
  /** windows[dst[k]] = input[src[k]] each step; the other entries (padding) stay 0. */
  src: Int32Array;
  dst: Int32Array;
  /** The kernel as nFilters rows of rowLength (a filter's row in its window's order): indices into the kernel. */
  kernelRows: Int32Array;
  /** Where output (filter f, position p), at f * positions + p, lies in the output. */
  outIndex: Int32Array;
}

const CONV_OPTIONS = ['kernelSize', 'strides', 'padding', 'channelsLast', 'init', 'groups'] as const;

function positiveInts(v: unknown, what: string, owner: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && (x as number) >= 1))
    throw new ValidationError(`${owner}: ${what} must be a non-empty array of positive integers, got ${JSON.stringify(v)}`);
  return v.slice() as number[];
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Nested arrays (or a flat array) of the given shape, flattened row-major. */
function flattenKernel(init: ArrayLike<unknown>, shape: readonly number[], owner: string): Float64Array {
  const size = product(shape);
  const out = new Float64Array(size);
  const wrong = (): never => {
    throw new ValidationError(`${owner}: init must have the kernel's shape [${shape.join(', ')}] (or be ${size} values in its order)`);
  };
  // a flat array of every value
  if (init.length === size && (init.length === 0 || typeof init[0] === 'number')) {
    for (let i = 0; i < size; i++) {
      const v = init[i];
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ValidationError(`${owner}: init value ${i} must be a finite number, got ${String(v)}`);
      out[i] = v;
    }
    return out;
  }
  let k = 0;
  const walk = (x: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof x !== 'number' || !Number.isFinite(x))
        throw new ValidationError(`${owner}: init values must be finite numbers, got ${String(x)}`);
      out[k++] = x;
      return;
    }
    if (x === null || typeof x !== 'object' || (x as ArrayLike<unknown>).length !== shape[depth]) wrong();
    const a = x as ArrayLike<unknown>;
    for (let i = 0; i < a.length; i++) walk(a[i], depth + 1);
  };
  walk(init, 0);
  return out;
}

/** What Convolution and ConvolutionTranspose share (Nengo's _ConvolutionBase). */
export abstract class ConvolutionBase {
  abstract readonly typeName: 'Convolution' | 'ConvolutionTranspose';
  readonly nFilters: number;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly kernelSize: readonly number[];
  readonly strides: readonly number[];
  readonly padding: Padding;
  readonly channelsLast: boolean;
  readonly groups: number;
  /** The kernel (row-major in kernelShape), or the Distribution the build samples it from. */
  readonly init: Float64Array | Distribution;

  protected constructor(
    what: 'Convolution' | 'ConvolutionTranspose',
    nFilters: number,
    inputShape: readonly number[],
    opts: ConvolutionOptions & { outputShape?: readonly number[] },
  ) {
    if (!Number.isInteger(nFilters) || nFilters < 1)
      throw new ValidationError(`${what}: nFilters must be a positive integer, got ${String(nFilters)}`);
    this.nFilters = nFilters;
    this.channelsLast = opts.channelsLast ?? true;
    if (typeof this.channelsLast !== 'boolean') throw new ValidationError(`${what}: channelsLast must be true or false`);
    this.inputShape = positiveInts(inputShape, 'inputShape', what);
    const dims = this.inputShape.length - 1;
    if (dims < 1)
      throw new ValidationError(`${what}: inputShape needs spatial dimensions and channels, got [${this.inputShape.join(', ')}]`);
    if (dims > 2)
      throw new ValidationError(
        `${what}: ${dims}-D convolutions are not supported (nefsim, as Nengo's reference simulator, does 1-D and 2-D); inputShape [${this.inputShape.join(', ')}]`,
      );
    this.kernelSize = positiveInts(opts.kernelSize ?? [3, 3], 'kernelSize', what);
    this.strides = positiveInts(opts.strides ?? [1, 1], 'strides', what);
    if (this.kernelSize.length !== dims)
      throw new ValidationError(
        `${what}: kernelSize has ${this.kernelSize.length} dimensions but the input has ${dims} (give kernelSize: [...] of length ${dims})`,
      );
    if (this.strides.length !== dims)
      throw new ValidationError(
        `${what}: strides has ${this.strides.length} dimensions but the input has ${dims} (give strides: [...] of length ${dims})`,
      );
    const padding = opts.padding ?? 'valid';
    if (padding !== 'valid' && padding !== 'same')
      throw new ValidationError(`${what}: padding must be 'valid' or 'same', got ${JSON.stringify(padding)}`);
    this.padding = padding;
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1)
      throw new ValidationError(`${what}: groups must be a positive integer, got ${String(groups)}`);
    const inCh = this.inChannels;
    if (groups > inCh)
      throw new ValidationError(`${what}: groups (${groups}) cannot be greater than the number of input channels (${inCh})`);
    if (inCh % groups !== 0 || nFilters % groups !== 0)
      throw new ValidationError(
        `${what}: both the number of input channels (${inCh}) and filters (${nFilters}) must be evenly divisible by groups (${groups})`,
      );
    this.groups = groups;
    this.outputShape = this.resolveOutputShape(opts.outputShape);
    const init = opts.init;
    if (init === undefined) this.init = new Uniform(-1, 1);
    else if (isDistribution(init)) this.init = init;
    else if (init !== null && typeof init === 'object' && typeof (init as ArrayLike<unknown>).length === 'number')
      this.init = flattenKernel(init as ArrayLike<unknown>, this.kernelShape, what);
    else
      throw new ValidationError(`${what}: init must be a Distribution or an array of the kernel's shape [${this.kernelShape.join(', ')}]`);
  }

  protected abstract resolveOutputShape(given: readonly number[] | undefined): readonly number[];

  get dimensions(): number {
    return this.inputShape.length - 1;
  }
  get inChannels(): number {
    return channelsOf(this.inputShape, this.channelsLast);
  }
  /** kernelSize + [input channels / groups, nFilters]. */
  get kernelShape(): number[] {
    return [...this.kernelSize, this.inChannels / this.groups, this.nFilters];
  }
  get sizeIn(): number {
    return product(this.inputShape);
  }
  get sizeOut(): number {
    return product(this.outputShape);
  }

  /**
   * The kernel: the given values, or one draw of the Distribution per kernel
   * position, each (input channels / groups) x nFilters, as Nengo's sample.
   */
  sample(rng: Rng, owner: string): Float64Array {
    if (this.init instanceof Float64Array) return this.init;
    const rows = this.inChannels / this.groups;
    const per = rows * this.nFilters;
    const out = new Float64Array(product(this.kernelShape));
    for (let p = 0, m = product(this.kernelSize); p < m; p++) {
      const block = this.init.sample(rows, this.nFilters, rng);
      if (!(block instanceof Float64Array) || block.length !== per)
        throw new ValidationError(
          `${owner}: the kernel's distribution gave ${block.length} values for a block of ${rows} x ${this.nFilters}`,
        );
      out.set(block, p * per);
    }
    return out;
  }

  /** The convolution as matrix products on its windows (see Im2col). */
  abstract im2col(): Im2col;

  /**
   * The convolution input by input (see Spread), for sparse inputs such as
   * spikes: the same terms as im2col's, regrouped by the input they read.
   */
  spread(m: Im2col = this.im2col()): Spread {
    const { positions: P, groups: G, rowLength: L, src, dst, kernelRows, outIndex } = m;
    const F = kernelRows.length / L,
      run = F / G;
    // within a group, a filter's output and kernel entry are a fixed step from the previous filter's
    const step = (a: Int32Array, at: number, stride: number): number => (run > 1 ? a[at + stride]! - a[at]! : 1);
    const yStride = step(outIndex, 0, P),
      kStride = step(kernelRows, 0, L);
    const start = new Int32Array(this.sizeIn + 1);
    for (let t = 0; t < src.length; t++) start[src[t]! + 1]!++;
    for (let i = 0; i < this.sizeIn; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, this.sizeIn);
    const yOff = new Int32Array(src.length),
      kOff = new Int32Array(src.length);
    for (let t = 0; t < src.length; t++) {
      const w = dst[t]!;
      const j = w % L,
        gp = (w - j) / L;
      const p = gp % P,
        g = (gp - p) / P;
      const e = fill[src[t]!]!++;
      yOff[e] = outIndex[g * run * P + p]!;
      kOff[e] = kernelRows[g * run * L + j]!;
      for (let f = 1; f < run; f++) {
        if (outIndex[(g * run + f) * P + p]! !== yOff[e]! + f * yStride || kernelRows[(g * run + f) * L + j]! !== kOff[e]! + f * kStride)
          throw new Error(`internal: ${this.typeName} outputs or kernel entries not evenly spaced`);
      }
    }
    return { start, yOff, kOff, run, yStride, kStride };
  }

  /** Where output (filter f, position p) lies in the output, at f * positions + p. */
  protected outIndex(outSp: readonly number[]): Int32Array {
    const P = product(outSp);
    const idx = new Int32Array(P * this.nFilters);
    let p = 0;
    for (const o of positions(outSp)) {
      for (let f = 0; f < this.nFilters; f++) idx[f * P + p] = this.flat(this.outputShape, o, f);
      p++;
    }
    return idx;
  }

  /** Flat index of (spatial position, channel) in a shape. */
  protected flat(shape: readonly number[], pos: readonly number[], ch: number): number {
    const channels = channelsOf(shape, this.channelsLast);
    const spatial = this.channelsLast ? shape.slice(0, -1) : shape.slice(1);
    let s = 0;
    for (let d = 0; d < spatial.length; d++) s = s * spatial[d]! + pos[d]!;
    return this.channelsLast ? s * channels + ch : ch * product(spatial) + s;
  }
  protected spatialOf(shape: readonly number[]): number[] {
    return this.channelsLast ? shape.slice(0, -1) : shape.slice(1);
  }
  protected withChannels(spatial: readonly number[], channels: number): number[] {
    return this.channelsLast ? [...spatial, channels] : [channels, ...spatial];
  }
}

function channelsOf(shape: readonly number[], channelsLast: boolean): number {
  return shape[channelsLast ? shape.length - 1 : 0]!;
}

/** Collects (src, dst) pairs of a gather. */
class Pairs {
  private src: Int32Array = new Int32Array(1024);
  private dst: Int32Array = new Int32Array(1024);
  private n = 0;
  add(s: number, d: number): void {
    if (this.n === this.src.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.src = grow(this.src);
      this.dst = grow(this.dst);
    }
    this.src[this.n] = s;
    this.dst[this.n++] = d;
  }
  done(): { src: Int32Array; dst: Int32Array } {
    return { src: this.src.slice(0, this.n), dst: this.dst.slice(0, this.n) };
  }
}

/** Every position of a spatial shape, row-major. */
function* positions(shape: readonly number[]): Generator<number[]> {
  const pos = new Array<number>(shape.length).fill(0);
  const total = product(shape);
  for (let k = 0; k < total; k++) {
    yield pos.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++pos[d]! < shape[d]!) break;
      pos[d] = 0;
    }
  }
}

/**
 * A 1-D or 2-D convolution (Nengo's nengo.Convolution; technically a
 * correlation): `new Convolution(nFilters, inputShape, { kernelSize,
 * strides, padding, channelsLast, init, groups })`. Between nodes, neurons
 * or Direct ensembles; a decoded connection refuses it, as Nengo's builder.
 */
export class Convolution extends ConvolutionBase {
  readonly typeName = 'Convolution';
  constructor(nFilters: number, inputShape: readonly number[], opts: ConvolutionOptions = {}) {
    checkKnownOptions(opts, CONV_OPTIONS, 'Convolution');
    super('Convolution', nFilters, inputShape, opts);
    if (this.padding === 'valid') {
      const spatial = this.spatialOf(this.inputShape);
      this.kernelSize.forEach((k, d) => {
        if (k > spatial[d]!)
          throw new ValidationError(
            `Convolution: kernel size for spatial dimension ${d} (${k}) exceeds the spatial size of that dimension (${spatial[d]}); ` +
              "with padding 'valid' the output would be empty",
          );
      });
    }
  }

  protected resolveOutputShape(): readonly number[] {
    const spatial = this.spatialOf(this.inputShape).map((n, d) => {
      const k = this.kernelSize[d]!,
        s = this.strides[d]!;
      return Math.ceil((this.padding === 'valid' ? n - k + 1 : n) / s);
    });
    return this.withChannels(spatial, this.nFilters);
  }

  im2col(): Im2col {
    const inSp = this.spatialOf(this.inputShape);
    const outSp = this.spatialOf(this.outputShape);
    const before = inSp.map((n, d) => {
      const k = this.kernelSize[d]!,
        s = this.strides[d]!;
      const pad = this.padding === 'same' ? Math.max((outSp[d]! - 1) * s + k - n, 0) : 0;
      return Math.floor(pad / 2);
    });
    const G = this.groups;
    const cg = this.inChannels / G;
    const F = this.nFilters;
    const kpos = [...positions(this.kernelSize)];
    const L = kpos.length * cg;
    const P = product(outSp);
    const pairs = new Pairs();
    let p = 0;
    for (const o of positions(outSp)) {
      kpos.forEach((kp, q) => {
        const at = o.map((x, d) => x * this.strides[d]! + kp[d]! - before[d]!);
        if (at.some((x, d) => x < 0 || x >= inSp[d]!)) return; // padding
        for (let g = 0; g < G; g++)
          for (let cc = 0; cc < cg; cc++) pairs.add(this.flat(this.inputShape, at, g * cg + cc), (g * P + p) * L + q * cg + cc);
      });
      p++;
    }
    // filter f's row: its kernel entries in window order (kernel position, then channel of its group)
    const kernelRows = new Int32Array(F * L);
    for (let f = 0; f < F; f++) for (let j = 0; j < L; j++) kernelRows[f * L + j] = j * F + f;
    return { positions: P, groups: G, rowLength: L, ...pairs.done(), kernelRows, outIndex: this.outIndex(outSp) };
  }
}

/**
 * A 1-D or 2-D transposed convolution (Nengo's nengo.ConvolutionTranspose):
 * the transpose of the Convolution with the same kernelSize, strides and
 * padding from `outputShape` to `inputShape`. `nFilters` is the output's
 * channels.
 */
export class ConvolutionTranspose extends ConvolutionBase {
  readonly typeName = 'ConvolutionTranspose';
  constructor(nFilters: number, inputShape: readonly number[], opts: ConvolutionTransposeOptions = {}) {
    checkKnownOptions(opts, [...CONV_OPTIONS.filter((o) => o !== 'groups'), 'outputShape'], 'ConvolutionTranspose');
    super('ConvolutionTranspose', nFilters, inputShape, opts);
  }

  protected resolveOutputShape(given: readonly number[] | undefined): readonly number[] {
    const inSp = this.spatialOf(this.inputShape);
    if (given === undefined) {
      const spatial = inSp.map((n, d) => 1 + (n - 1) * this.strides[d]! + (this.padding === 'valid' ? this.kernelSize[d]! - 1 : 0));
      return this.withChannels(spatial, this.nFilters);
    }
    const shape = positiveInts(given, 'outputShape', 'ConvolutionTranspose');
    const where = `the outputShape [${shape.join(', ')}]`;
    if (shape.length !== this.inputShape.length)
      throw new ValidationError(
        `ConvolutionTranspose: ${where} has ${shape.length - 1} spatial dimensions, the input shape ${this.inputShape.length - 1}`,
      );
    if (channelsOf(shape, this.channelsLast) !== this.nFilters)
      throw new ValidationError(
        `ConvolutionTranspose: ${where} has ${channelsOf(shape, this.channelsLast)} channels, not nFilters (${this.nFilters})`,
      );
    const back = this.spatialOf(shape).map((n, d) =>
      Math.ceil((this.padding === 'valid' ? n - this.kernelSize[d]! + 1 : n) / this.strides[d]!),
    );
    if (back.some((n, d) => n !== inSp[d]))
      throw new ValidationError(
        `ConvolutionTranspose: ${where} would not give the input shape [${this.inputShape.join(', ')}] in a forward Convolution, so it is not a valid output shape`,
      );
    return shape;
  }

  im2col(): Im2col {
    const inSp = this.spatialOf(this.inputShape);
    const outSp = this.spatialOf(this.outputShape);
    const K = this.inChannels;
    const C = this.nFilters;
    // conv2d_gradx: dilated input cut to the output size, padded (ceil first), the kernel flipped
    const cut = inSp.map((n, d) => Math.min(n * this.strides[d]!, outSp[d]!));
    const before = inSp.map((n, d) => {
      const k = this.kernelSize[d]!;
      let pad: number;
      if (this.padding === 'valid') pad = 2 * (k - 1);
      else pad = Math.min(Math.max(outSp[d]! + k - 1 - ((n - 1) * this.strides[d]! + 1), 0), 2 * (k - 1));
      return Math.ceil(pad / 2);
    });
    const kpos = [...positions(this.kernelSize)];
    const L = kpos.length * K;
    const pairs = new Pairs();
    let p = 0;
    for (const o of positions(outSp)) {
      kpos.forEach((kp, q) => {
        const u = o.map((x, d) => x + kp[d]! - before[d]!);
        if (u.some((x, d) => x < 0 || x >= cut[d]! || x % this.strides[d]! !== 0)) return; // padding or a dilation zero
        const at = u.map((x, d) => x / this.strides[d]!);
        for (let k = 0; k < K; k++) pairs.add(this.flat(this.inputShape, at, k), p * L + q * K + k);
      });
      p++;
    }
    const kernelRows = new Int32Array(C * L);
    kpos.forEach((kp, q) => {
      let flipped = 0;
      for (let d = 0; d < kp.length; d++) flipped = flipped * this.kernelSize[d]! + (this.kernelSize[d]! - 1 - kp[d]!);
      for (let c = 0; c < C; c++) for (let k = 0; k < K; k++) kernelRows[c * L + q * K + k] = (flipped * K + k) * C + c;
    });
    return { positions: product(outSp), groups: 1, rowLength: L, ...pairs.done(), kernelRows, outIndex: this.outIndex(outSp) };
  }
}
