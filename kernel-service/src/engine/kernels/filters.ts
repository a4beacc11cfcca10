/**
 * Synapse kernels, run as updates (their output is read in the next step).
 * They reproduce Nengo's LinearFilter step classes in update mode: for a
 * strictly proper filter (D = 0) the state advances with this step's input
 * and the output is read from the new state (x = A x + B u; y = C x); with
 * D != 0 the output comes first (y = C x + D u; x = A x + B u). Lowpass is
 * the one-state case y = a y + b u.
 */
import type { WasmTable } from './basic.js';
import type { Arena, Kernel } from './kernel.js';

/** First-order filters: y = a y + b u. Table: [in, out, n]; params [a, b] per op. */
export class LowpassKernel implements Kernel {
  readonly kind = 'filter:lowpass';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.table.length / 3;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 3, op += 2) {
      const inp = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 2]!;
      const ca = p[op]!,
        cb = p[op + 1]!;
      for (let i = 0; i < n; i++) a[out + i] = ca * a[out + i]! + cb * a[inp + i]!;
    }
  }
}

/** Order-0 filters (pure gain, e.g. Lowpass(0)): y = D u, one step late. Table: [in, out, n]; params [D]. */
export class GainFilterKernel implements Kernel {
  readonly kind = 'filter:gain';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    /** The same ops in WebAssembly, when the arena is WebAssembly memory at byte 0. */
    private readonly wasm?: WasmTable,
  ) {}
  get count(): number {
    return this.table.length / 3;
  }
  run(): void {
    if (this.wasm) {
      this.wasm.step(this.wasm.table, this.wasm.n);
      return;
    }
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 3, op += 1) {
      const inp = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 2]!;
      const d = p[op]!;
      for (let i = 0; i < n; i++) a[out + i] = d * a[inp + i]!;
    }
  }
}

/**
 * General state-space filters of any order q. State layout per channel i:
 * x[i*q .. i*q+q). Table: [in, out, state, n, q, paramOffset]; params hold
 * A (q*q), B (q), C (q), D (1) at paramOffset. Scratch of size q.
 */
export class StateSpaceKernel implements Kernel {
  readonly kind = 'filter:statespace';
  private readonly scratch: Float64Array;
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    maxOrder: number,
  ) {
    this.scratch = new Float64Array(maxOrder);
  }
  get count(): number {
    return this.table.length / 6;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params,
      tmp = this.scratch;
    for (let k = 0, m = tb.length; k < m; k += 6) {
      const inp = tb[k]!,
        out = tb[k + 1]!,
        st = tb[k + 2]!,
        n = tb[k + 3]!,
        q = tb[k + 4]!,
        po = tb[k + 5]!;
      const pB = po + q * q,
        pC = pB + q,
        pD = pC + q;
      const D = p[pD]!;
      for (let i = 0; i < n; i++) {
        const u = a[inp + i]!;
        const x = st + i * q;
        // Nengo's General step (D != 0): y = C x + D u from the old state; NoD: y = C x from the new one.
        let y = D * u;
        if (D !== 0) for (let r = 0; r < q; r++) y += p[pC + r]! * a[x + r]!;
        for (let r = 0; r < q; r++) {
          let s = p[pB + r]! * u;
          for (let c = 0; c < q; c++) s += p[po + r * q + c]! * a[x + c]!;
          tmp[r] = s;
        }
        for (let r = 0; r < q; r++) {
          a[x + r] = tmp[r]!;
          if (D === 0) y += p[pC + r]! * tmp[r]!;
        }
        a[out + i] = y;
      }
    }
  }
}
