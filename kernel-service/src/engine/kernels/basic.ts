/** Kernels for resets, copies, matrix-vector products and elementwise products. */
import type { Spread } from '../spread.js';
import type { Arena, Kernel, SpikeLists } from './kernel.js';
import type { TableStep } from './lif-wasm.js';

/** A kernel's ops as WebAssembly (dot-wasm.ts): the function, its table's byte address, the op count. */
export interface WasmTable {
  readonly step: TableStep;
  readonly table: number;
  readonly n: number;
}

/** Fills ranges with constants. Table: [offset, length] per op. */
export class ResetKernel implements Kernel {
  readonly kind = 'reset';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly values: Float64Array,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.values.length;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table,
      v = this.values;
    for (let k = 0, n = v.length; k < n; k++) {
      const off = tb[2 * k]!,
        end = off + tb[2 * k + 1]!,
        x = v[k]!;
      for (let i = off; i < end; i++) a[i] = x;
    }
  }
}

/** Contiguous copies. Table: [src, dst, length] per op. */
export class CopyKernel implements Kernel {
  readonly kind: string;
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly inc: boolean,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {
    this.kind = inc ? 'copy-inc' : 'copy';
  }
  get count(): number {
    return this.table.length / 3;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table;
    if (this.inc) {
      for (let k = 0, n = tb.length; k < n; k += 3) {
        const s = tb[k]!,
          d = tb[k + 1]!,
          len = tb[k + 2]!;
        for (let i = 0; i < len; i++) a[d + i] += a[s + i]!;
      }
    } else {
      for (let k = 0, n = tb.length; k < n; k += 3) {
        const s = tb[k]!,
          d = tb[k + 1]!,
          len = tb[k + 2]!;
        for (let i = 0; i < len; i++) a[d + i] = a[s + i]!;
      }
    }
  }
}

/** Gathered/scattered copies with absolute arena indices: a[dst[i]] (+)= a[src[i]]. */
export class IndexedCopyKernel implements Kernel {
  readonly kind: string;
  constructor(
    private readonly a: Arena,
    private readonly src: Int32Array,
    private readonly dst: Int32Array,
    private readonly inc: boolean,
    readonly count: number,
  ) {
    this.kind = inc ? 'indexed-copy-inc' : 'indexed-copy';
  }
  run(): void {
    const a = this.a,
      s = this.src,
      d = this.dst;
    if (this.inc) for (let i = 0, n = s.length; i < n; i++) a[d[i]!] += a[s[i]!]!;
    else for (let i = 0, n = s.length; i < n; i++) a[d[i]!] = a[s[i]!]!;
  }
}

/** One row of W times x: W[w .. w + cols) . x[x .. x + cols), in two interleaved sums (the order every dot product here uses). */
function rowDot(a: Arena, w: number, x: number, cols: number): number {
  let s0 = 0,
    s1 = 0;
  let c = 0;
  for (; c + 1 < cols; c += 2) {
    s0 += a[w + c]! * a[x + c]!;
    s1 += a[w + c + 1]! * a[x + c + 1]!;
  }
  if (c < cols) s0 += a[w + c]! * a[x + c]!;
  return s0 + s1;
}

/** y += W x for row-major W. Table: [W, rows, cols, x, y] per op. */
export class DotIncKernel implements Kernel {
  readonly kind = 'dotinc';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table;
    for (let k = 0, n = tb.length; k < n; k += 5) {
      let w = tb[k]!;
      const rows = tb[k + 1]!,
        cols = tb[k + 2]!,
        x = tb[k + 3]!,
        y = tb[k + 4]!;
      if (cols === 1) {
        const xv = a[x]!;
        if (xv !== 0) for (let r = 0; r < rows; r++) a[y + r] += a[w + r]! * xv;
        continue;
      }
      for (let r = 0; r < rows; r++, w += cols) a[y + r] += rowDot(a, w, x, cols);
    }
  }
}

/**
 * y = b + W x for row-major W (an ensemble's bias plus encoders times input).
 * The same operations as a copy of b followed by DotIncKernel's y += W x.
 * Table: [b, W, rows, cols, x, y] per op.
 */
export class EncodeKernel implements Kernel {
  readonly kind = 'encode';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.table.length / 6;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table;
    for (let k = 0, n = tb.length; k < n; k += 6) {
      const b = tb[k]!,
        rows = tb[k + 2]!,
        cols = tb[k + 3]!,
        x = tb[k + 4]!,
        y = tb[k + 5]!;
      let w = tb[k + 1]!;
      if (cols === 1) {
        const xv = a[x]!;
        if (xv !== 0) for (let r = 0; r < rows; r++) a[y + r] = a[b + r]! + a[w + r]! * xv;
        else for (let r = 0; r < rows; r++) a[y + r] = a[b + r]!;
        continue;
      }
      for (let r = 0; r < rows; r++, w += cols) a[y + r] = a[b + r]! + rowDot(a, w, x, cols);
    }
  }
}

/**
 * y += W x where x is the output of LIF neurons: only the columns of the
 * neurons that spiked this step contribute (all others are exactly zero), in
 * the order of the spike list. Table: [W, rows, cols, x, y, id] per op, id
 * being the LIF operator whose spike list (SpikeLists) covers x.
 */
export class SpikeDotIncKernel implements Kernel {
  readonly kind = 'dotinc:spikes';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly spikes: SpikeLists,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.table.length / 6;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table,
      list = this.spikes.list,
      counts = this.spikes.counts,
      bases = this.spikes.bases;
    for (let k = 0, n = tb.length; k < n; k += 6) {
      const w = tb[k]!,
        rows = tb[k + 1]!,
        cols = tb[k + 2]!,
        x = tb[k + 3]!,
        y = tb[k + 4]!,
        id = tb[k + 5]!;
      const base = bases[id]!,
        end = base + counts[id]!;
      if (rows === 1) {
        let s = 0;
        for (let q = base; q < end; q++) {
          const c = list[q]!;
          s += a[w + c]! * a[x + c]!;
        }
        a[y] += s;
        continue;
      }
      for (let q = base; q < end; q++) {
        const c = list[q]!;
        const xv = a[x + c]!;
        for (let r = 0, wi = w + c; r < rows; r++, wi += cols) a[y + r] += a[wi]! * xv;
      }
    }
  }
}

/** The ops of a SpreadIncKernel: arena offsets and each op's Spread. */
export interface SpreadEntry {
  K: number;
  x: number;
  y: number;
  n: number;
  spread: Spread;
}

/**
 * y += a sparse product of x, input by input (SpreadIncOp: a convolution
 * or a Sparse transform from spiking neurons): for each nonzero x[i], x[i]
 * times its weights into the outputs it reaches.
 */
export class SpreadIncKernel implements Kernel {
  readonly kind = 'spread';
  constructor(
    private readonly a: Arena,
    private readonly ops: readonly SpreadEntry[],
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.ops.length;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a;
    for (const op of this.ops) {
      const { K, x, y, n } = op;
      const { start, yOff, kOff, run, yStride, kStride } = op.spread;
      if (kOff === null) {
        // single entries whose weights lie in entry order (a Sparse transform): one load each fewer
        for (let i = 0; i < n; i++) {
          const xv = a[x + i]!;
          if (xv === 0) continue;
          for (let e = start[i]!, end = start[i + 1]!; e < end; e++) a[y + yOff[e]!] += xv * a[K + e]!;
        }
        continue;
      }
      for (let i = 0; i < n; i++) {
        const xv = a[x + i]!;
        if (xv === 0) continue;
        for (let e = start[i]!, end = start[i + 1]!; e < end; e++) {
          let yi = y + yOff[e]!,
            ki = K + kOff[e]!;
          for (let r = 0; r < run; r++, yi += yStride, ki += kStride) a[yi] += xv * a[ki]!;
        }
      }
    }
  }
}

/** y += s * x elementwise; s of size 1 broadcasts. Table: [s, sLen, x, y, n] per op. */
export class ElementwiseIncKernel implements Kernel {
  readonly kind = 'elementwise';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table;
    for (let k = 0, m = tb.length; k < m; k += 5) {
      const s = tb[k]!,
        sLen = tb[k + 1]!,
        x = tb[k + 2]!,
        y = tb[k + 3]!,
        n = tb[k + 4]!;
      if (sLen === 1) {
        const g = a[s]!;
        for (let i = 0; i < n; i++) a[y + i] += g * a[x + i]!;
      } else {
        for (let i = 0; i < n; i++) a[y + i] += a[s + i]! * a[x + i]!;
      }
    }
  }
}
