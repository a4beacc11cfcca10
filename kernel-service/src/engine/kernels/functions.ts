/** Kernels that call JavaScript: Node functions, processes, Direct-mode functions; and PES learning. */
import { SimulationError } from '../errors.js';
import type { Arena, Kernel } from './kernel.js';

export interface FuncEntry {
  step: (t: number, x: Float64Array | null, out: Float64Array) => void;
  /** A fresh step for reset() (processes); with a reset seed, an unseeded process's stream mixed with it. */
  restart?: (resetSeed?: number) => (t: number, x: Float64Array | null, out: Float64Array) => void;
  /** Views of the arena, made once. */
  x: Float64Array | null;
  out: Float64Array;
  owner: string;
}

export class FuncKernel implements Kernel {
  readonly kind = 'func';
  constructor(private readonly entries: FuncEntry[]) {}
  get count(): number {
    return this.entries.length;
  }
  /** Processes start again: their state and random streams, as at the start. */
  reset(resetSeed?: number): void {
    for (const e of this.entries) if (e.restart) e.step = e.restart(resetSeed);
  }
  run(t: number): void {
    const es = this.entries;
    for (let k = 0; k < es.length; k++) {
      const e = es[k]!;
      try {
        e.step(t, e.x, e.out);
      } catch (err) {
        if (err instanceof SimulationError) throw err;
        // (an Error from another realm, a notebook cell's, is not instanceof this one's Error)
        const msg = typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
        throw new SimulationError(`${e.owner}: its function threw at t = ${t.toFixed(6)} s: ${msg}`, e.owner, { cause: err });
      }
    }
  }
}

/**
 * PES: W += k * outer(error, acts). Table: [W, rows, cols, error, acts, delta]; params [k]. With a
 * delta (offset >= 0: the rule's delta is probed) the change is written there instead, every
 * value, and a copy adds it into W.
 */
export class PESKernel implements Kernel {
  readonly kind = 'pes';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 6;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 6, op++) {
      let w = tb[k]!,
        dl = tb[k + 5]!;
      const rows = tb[k + 1]!,
        cols = tb[k + 2]!,
        e = tb[k + 3]!,
        acts = tb[k + 4]!;
      const scale = p[op]!;
      if (dl >= 0) {
        for (let r = 0; r < rows; r++, dl += cols) {
          const g = scale * a[e + r]!;
          for (let c = 0; c < cols; c++) a[dl + c] = g * a[acts + c]!;
        }
        continue;
      }
      for (let r = 0; r < rows; r++) {
        const g = scale * a[e + r]!;
        if (g !== 0) for (let c = 0; c < cols; c++) a[w + c] += g * a[acts + c]!;
        w += cols;
      }
    }
  }
}

/**
 * BCM and Oja (HebbOp). Table per op: [W, rows, cols, pre, post, theta, rule, delta]; params
 * per op: [alpha, beta]. With a delta (offset >= 0), the change is written there, as PESKernel's.
 */
export class HebbKernel implements Kernel {
  readonly kind = 'hebb';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 8;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 8, op += 2) {
      let w = tb[k]!;
      const rows = tb[k + 1]!,
        cols = tb[k + 2]!,
        pre = tb[k + 3]!,
        post = tb[k + 4]!,
        theta = tb[k + 5]!,
        oja = tb[k + 6] === 1,
        delta = tb[k + 7]!;
      const alpha = p[op]!,
        beta = p[op + 1]!;
      if (delta >= 0) {
        // the change into delta (W only read), every value
        for (let r = 0, dl = delta; r < rows; r++, w += cols, dl += cols) {
          const y = a[post + r]!;
          if (oja) {
            const g = alpha * y;
            const f = beta * alpha * y * y;
            for (let c = 0; c < cols; c++) a[dl + c] = -a[w + c]! * f + g * a[pre + c]!;
          } else {
            const g = alpha * y * (y - a[theta + r]!);
            for (let c = 0; c < cols; c++) a[dl + c] = g * a[pre + c]!;
          }
        }
        continue;
      }
      for (let r = 0; r < rows; r++) {
        const y = a[post + r]!;
        if (oja) {
          // W += alpha * y * pre - beta * alpha * y^2 * W (Nengo's order: the forgetting term, then the update)
          const g = alpha * y;
          const f = beta * alpha * y * y;
          if (g !== 0) for (let c = 0; c < cols; c++) a[w + c] = a[w + c]! + (-a[w + c]! * f + g * a[pre + c]!);
        } else {
          const g = alpha * y * (y - a[theta + r]!);
          if (g !== 0) for (let c = 0; c < cols; c++) a[w + c] += g * a[pre + c]!;
        }
        w += cols;
      }
    }
  }
}

/**
 * Voja (VojaOp): each op's change of its scaled encoders E (rows x cols),
 *   delta[i, j] = (alpha * L) * (scale[i] * (post[i] * x[j]) - post[i] * E[i, j])
 * (Nengo's order of operations). Table per op: [E, rows, cols, x, post, learn, scale, delta];
 * params: alpha per op.
 */
export class VojaKernel implements Kernel {
  readonly kind = 'voja';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 8;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 8, op++) {
      let e = tb[k]!,
        dl = tb[k + 7]!;
      const rows = tb[k + 1]!,
        cols = tb[k + 2]!,
        x = tb[k + 3]!,
        post = tb[k + 4]!,
        scale = tb[k + 6]!;
      const g = p[op]! * a[tb[k + 5]!]!;
      for (let r = 0; r < rows; r++) {
        const y = a[post + r]!,
          s = a[scale + r]!;
        for (let c = 0; c < cols; c++) a[dl + c] = g * (s * (y * a[x + c]!) - y * a[e + c]!);
        e += cols;
        dl += cols;
      }
    }
  }
}

/**
 * RLS (RLSOp), Nengo's SimRLS: Pr = P r; k = 1 / (1 + r . Pr); P -= Pr (Pr k)^T; delta = e (-k Pr)^T.
 * Table per op: [P, rows, cols, pre, error, delta].
 */
export class RLSKernel implements Kernel {
  readonly kind = 'rls';
  /** P r, for the largest op (no allocation per step). */
  private readonly pr: Float64Array;
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
  ) {
    let most = 0;
    for (let k = 0; k < table.length; k += 6) most = Math.max(most, table[k + 2]!);
    this.pr = new Float64Array(most);
  }
  get count(): number {
    return this.table.length / 6;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      pr = this.pr;
    for (let k = 0, m = tb.length; k < m; k += 6) {
      const P = tb[k]!,
        rows = tb[k + 1]!,
        n = tb[k + 2]!,
        r = tb[k + 3]!,
        e = tb[k + 4]!,
        dl = tb[k + 5]!;
      let rPr = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        const o = P + i * n;
        for (let j = 0; j < n; j++) s += a[o + j]! * a[r + j]!;
        pr[i] = s;
      }
      for (let i = 0; i < n; i++) rPr += a[r + i]! * pr[i]!;
      const k1 = 1 / (1 + rPr);
      for (let i = 0; i < n; i++) {
        const o = P + i * n,
          pi = pr[i]!;
        for (let j = 0; j < n; j++) a[o + j] = a[o + j]! - pi * (pr[j]! * k1);
      }
      for (let q = 0; q < rows; q++) {
        const eq = a[e + q]!,
          o = dl + q * n;
        for (let j = 0; j < n; j++) a[o + j] = eq * (-k1 * pr[j]!);
      }
    }
  }
}
