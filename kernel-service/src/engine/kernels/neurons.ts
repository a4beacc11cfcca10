/**
 * Neuron kernels, one monomorphic loop per neuron type, each over a table of
 * merged ensembles: [J, output, state0, state1, n] offsets per op, and a
 * parallel Float64Array of parameters per op.
 */
import type { Arena, Kernel, SpikeLists } from './kernel.js';
import { LIF_OP_BYTES, setLifOp, type LifStep } from './lif-wasm.js';
import { reseeded, Rng } from '../rng.js';

/** The LIF step in WebAssembly: the function, where the spike lists start, the arena's element bytes, room for a float32 arena's voltages, room for the part list. */
export interface WasmLif {
  readonly lif: LifStep;
  readonly listByte: number;
  readonly eltBytes: number;
  readonly scratchByte: number;
  /** Room for the largest op's neurons + 2 ints: the neurons whose refractory period ends within the step (lif-wasm.ts). */
  readonly partsByte: number;
  /** Where the spike counts start. */
  readonly countByte: number;
  /** Copies a table into WebAssembly memory; returns its byte address. */
  place(table: Int32Array): number;
}

/*
 * The LIF step needs log1p(y) at each spike and expm1(x) on the step that
 * ends a refractory period. There |y| and |x| are at most 1 - exp(-dt/tau_rc)
 * and dt/tau_rc (0.049 and 0.05 at Nengo's defaults), where short series are
 * exact to 1-2 ulp and cost a fifth of Math.log1p / Math.expm1 (about 20 ns
 * each in V8, the largest part of a spiking neuron's update). Larger
 * arguments use Math's functions.
 */
const SMALL = 0.0625;

/**
 * log1p(y) = 2 atanh(s), s = y / (2 + y): 2 (s + s^3/3 + ... + s^13/13),
 * |s| <= 0.033 for |y| <= 1/16; with z = s^2, 2 s (1 + z (1/3 + z R)) where
 * R = 1/5 + z/7 + z^2/9 + z^3/11 + z^4/13 is in Estrin's form, a shorter
 * dependency chain than Horner's (as accurate: at most 3 ulp from Math.log1p
 * over the range, mean 0.49, the same as Horner's form).
 */
export function log1pSmall(y: number): number {
  if (!(y >= -SMALL && y <= SMALL)) return Math.log1p(y);
  const s = y / (2 + y),
    z = s * s,
    z2 = z * z,
    z4 = z2 * z2;
  return 2 * s * (1 + z * (1 / 3 + z * (1 / 5 + z * (1 / 7) + (1 / 9 + z * (1 / 11)) * z2 + (1 / 13) * z4)));
}

/**
 * expm1(x) by its Taylor series to x^10/10! for |x| <= 1/16 (the next term
 * is below 1e-17 |x|): x (1 + x (1/2 + x R)), R = 1/6 + x/24 + ... +
 * x^7/10! in Estrin's form (at most 1 ulp from Math.expm1 over the range,
 * mean 0.27, as Horner's form).
 */
export function expm1Small(x: number): number {
  if (!(x >= -SMALL && x <= SMALL)) return Math.expm1(x);
  const x2 = x * x,
    x4 = x2 * x2;
  return (
    x *
    (1 +
      x *
        (1 / 2 +
          x *
            (1 / 6 +
              x * (1 / 24) +
              (1 / 120 + x * (1 / 720)) * x2 +
              (1 / 5040 + x * (1 / 40320) + (1 / 362880 + x * (1 / 3628800)) * x2) * x4)))
  );
}

/**
 * LIF, integrated exactly within the step (Nengo's LIF.step):
 *   ref -= dt;  delta_t = clip(dt - ref, 0, dt)
 *   v += (J - v) * (1 - exp(-delta_t / tau_rc))
 *   spike where v > 1: output amplitude / dt,
 *     t_spike = dt + tau_rc * log1p(-(v - 1) / (J - 1)),  v = 0,  ref = tau_ref + t_spike
 *   v = max(v, min_voltage)
 * Where tau_ref < dt, the time a step has left after a spike and its
 * refractory period is dropped, as in Nengo (the next step's delta_t is
 * clipped to dt), so rates quantise to 1/(k dt). (nefsim once integrated
 * that time from v = 0 within the step; a voltage above 1 could then
 * outlast the spike and, once the input fell, silence the neuron for good.)
 * Params per op: [tauRc, tauRef, minVoltage, amplitude].
 */
export class LIFKernel implements Kernel {
  readonly kind = 'neurons:LIF';
  /**
   * Spike lists (see SpikeLists): op k lists the neurons that spiked this
   * step at spikes.list[bases[k] ..], spikes.counts[ids[k]] of them.
   */
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    private readonly dt: number,
    private readonly spikes: SpikeLists,
    private readonly ids: Int32Array,
    /** The same step in WebAssembly, when the arena is WebAssembly memory at byte 0 (see lif-wasm.ts). */
    private readonly wasm?: WasmLif,
  ) {
    // placed with the plan, so that a table without room fails the build, not a step
    this.wasmTable = wasm ? this.placeWasmTable(wasm) : -1;
  }
  /** Where the WebAssembly step's table of these ops is (placeWasmTable). */
  private readonly wasmTable: number;
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    if (this.wasm) {
      this.runWasm(this.wasm);
      return;
    }
    const a = this.a,
      tb = this.table,
      p = this.params,
      dt = this.dt;
    const ids = this.ids,
      list = this.spikes.list,
      counts = this.spikes.counts,
      bases = this.spikes.bases;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 4) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        v = tb[k + 2]!,
        ref = tb[k + 3]!,
        n = tb[k + 4]!;
      const tauRc = p[op]!,
        tauRef = p[op + 1]!,
        minV = p[op + 2]!,
        spike = p[op + 3]! / dt;
      // factor for a full step outside the refractory period
      const full = -Math.expm1(-dt / tauRc);
      const id = ids[k / 5]!,
        base = bases[id]!;
      let nSpikes = 0;
      for (let i = 0; i < n; i++) {
        const r = a[ref + i]! - dt;
        const j = a[J + i]!;
        let vi = a[v + i]!;
        if (r <= 0) {
          vi += (j - vi) * full;
        } else if (r < dt) {
          vi += (j - vi) * -expm1Small(-(dt - r) / tauRc);
        }
        if (vi > 1) {
          const tSpike = dt + tauRc * log1pSmall(-(vi - 1) / (j - 1));
          a[out + i] = spike;
          list[base + nSpikes++] = i;
          a[v + i] = 0;
          a[ref + i] = tauRef + tSpike;
        } else {
          a[out + i] = 0;
          a[v + i] = vi > minV ? vi : minV;
          a[ref + i] = r;
        }
      }
      counts[id] = nSpikes;
    }
  }

  private runWasm(w: WasmLif): void {
    w.lif(this.wasmTable, this.count, this.dt, w.scratchByte, w.partsByte);
  }

  /** The table of lif-wasm.ts: each op's byte offsets and its parameters, as the JavaScript loop computes them. */
  private placeWasmTable(w: WasmLif): number {
    const tb = this.table,
      p = this.params,
      dt = this.dt,
      e = w.eltBytes;
    const n = this.count;
    const bytes = new ArrayBuffer(LIF_OP_BYTES * n);
    for (let k = 0; k < n; k++) {
      const id = this.ids[k]!;
      const tauRc = p[4 * k]!;
      setLifOp(
        bytes,
        LIF_OP_BYTES * k,
        [
          e * tb[5 * k]!,
          e * tb[5 * k + 1]!,
          e * tb[5 * k + 2]!,
          e * tb[5 * k + 3]!,
          tb[5 * k + 4]!,
          w.listByte + 4 * this.spikes.bases[id]!,
          w.countByte + 4 * id,
        ],
        [tauRc, p[4 * k + 1]!, p[4 * k + 2]!, p[4 * k + 3]! / dt, -Math.expm1(-dt / tauRc)],
      );
    }
    return w.place(new Int32Array(bytes));
  }
}

/** LIF rate: amplitude / (tau_ref + tau_rc * log1p(1 / (J - 1))) for J > 1. Params: [tauRc, tauRef, amplitude]. */
export class LIFRateKernel implements Kernel {
  readonly kind = 'neurons:LIFRate';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 3) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 4]!;
      const tauRc = p[op]!,
        tauRef = p[op + 1]!,
        amp = p[op + 2]!;
      for (let i = 0; i < n; i++) {
        const j = a[J + i]! - 1;
        a[out + i] = j > 0 ? amp / (tauRef + tauRc * Math.log1p(1 / j)) : 0;
      }
    }
  }
}

/** Rectified linear: amplitude * max(J, 0). Params: [amplitude]. */
export class RectifiedLinearKernel implements Kernel {
  readonly kind = 'neurons:RectifiedLinear';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 1) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 4]!;
      const amp = p[op]!;
      for (let i = 0; i < n; i++) {
        const j = a[J + i]!;
        a[out + i] = j > 0 ? amp * j : 0;
      }
    }
  }
}

/**
 * Integrate and count (Nengo's SpikingRectifiedLinear.step, and
 * RegularSpiking.step with J the base type's rate):
 *   v += max(J, 0) * dt (RegularSpiking: J * dt, not rectified);
 *   n = floor(v);  output = amplitude / dt * n;  v -= n.
 * Table [J, output, voltage, -, n]; params per op: [amplitude].
 */
export class SpikingRectifiedLinearKernel implements Kernel {
  readonly kind: string;
  /** The least J counted: 0 (rectified), or -Infinity for RegularSpiking. */
  private readonly least: number;
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    private readonly dt: number,
    rectify = true,
  ) {
    this.kind = rectify ? 'neurons:SpikingRectifiedLinear' : 'neurons:RegularSpiking';
    this.least = rectify ? 0 : -Infinity;
  }
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params,
      dt = this.dt,
      least = this.least;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 1) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        v = tb[k + 2]!,
        n = tb[k + 4]!;
      const scale = p[op]! / dt;
      for (let i = 0; i < n; i++) {
        const j = a[J + i]!;
        const vi = a[v + i]! + (j > least ? j : least) * dt;
        const spikes = Math.floor(vi);
        a[out + i] = scale * spikes;
        a[v + i] = vi - spikes;
      }
    }
  }
}

/** Sigmoid: (1 / tau_ref) / (1 + exp(-J)). Params: [tauRef]. */
export class SigmoidKernel implements Kernel {
  readonly kind = 'neurons:Sigmoid';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 1) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 4]!;
      const rate = 1 / p[op]!;
      for (let i = 0; i < n; i++) a[out + i] = rate / (1 + Math.exp(-a[J + i]!));
    }
  }
}

/**
 * AdaptiveLIF (Nengo's AdaptiveLIF.step): LIF's step (LIFKernel) on J - n,
 * then n += (dt / tau_n) * (inc_n * output - n). A table of six per op:
 * [J, output, voltage, refractoryTime, adaptation, n]. Params per op:
 * [tauRc, tauRef, minVoltage, amplitude, tauN, incN].
 */
export class AdaptiveLIFKernel implements Kernel {
  readonly kind = 'neurons:AdaptiveLIF';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    private readonly dt: number,
  ) {}
  get count(): number {
    return this.table.length / 6;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params,
      dt = this.dt;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 6, op += 6) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        v = tb[k + 2]!,
        ref = tb[k + 3]!,
        ad = tb[k + 4]!,
        n = tb[k + 5]!;
      const tauRc = p[op]!,
        tauRef = p[op + 1]!,
        minV = p[op + 2]!,
        spike = p[op + 3]! / dt,
        rate = dt / p[op + 4]!,
        incN = p[op + 5]!;
      const full = -Math.expm1(-dt / tauRc);
      for (let i = 0; i < n; i++) {
        const adapt = a[ad + i]!;
        const r = a[ref + i]! - dt;
        const j = a[J + i]! - adapt;
        let vi = a[v + i]!;
        if (r <= 0) {
          vi += (j - vi) * full;
        } else if (r < dt) {
          vi += (j - vi) * -expm1Small(-(dt - r) / tauRc);
        }
        let o = 0;
        if (vi > 1) {
          o = spike;
          a[v + i] = 0;
          a[ref + i] = tauRef + dt + tauRc * log1pSmall(-(vi - 1) / (j - 1));
        } else {
          a[v + i] = vi > minV ? vi : minV;
          a[ref + i] = r;
        }
        a[out + i] = o;
        a[ad + i] = adapt + rate * (incN * o - adapt);
      }
    }
  }
}

/**
 * AdaptiveLIFRate (Nengo's AdaptiveLIFRate.step): the LIF rate of J - n,
 * then n += (dt / tau_n) * (inc_n * output - n). Table [J, output,
 * adaptation, -, n]; params per op: [tauRc, tauRef, amplitude, tauN, incN].
 */
export class AdaptiveLIFRateKernel implements Kernel {
  readonly kind = 'neurons:AdaptiveLIFRate';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    private readonly dt: number,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params,
      dt = this.dt;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 5) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        ad = tb[k + 2]!,
        n = tb[k + 4]!;
      const tauRc = p[op]!,
        tauRef = p[op + 1]!,
        amp = p[op + 2]!,
        rate = dt / p[op + 3]!,
        incN = p[op + 4]!;
      for (let i = 0; i < n; i++) {
        const adapt = a[ad + i]!;
        const j = a[J + i]! - adapt - 1;
        const o = j > 0 ? amp / (tauRef + tauRc * Math.log1p(1 / j)) : 0;
        a[out + i] = o;
        a[ad + i] = adapt + rate * (incN * o - adapt);
      }
    }
  }
}

/** Tanh: (1 / tau_ref) tanh(J). Params: [tauRef]. */
export class TanhKernel implements Kernel {
  readonly kind = 'neurons:Tanh';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 1) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 4]!;
      const rate = 1 / p[op]!;
      for (let i = 0; i < n; i++) a[out + i] = rate * Math.tanh(a[J + i]!);
    }
  }
}

/** A Poisson draw with mean lambda (Knuth's product of uniforms, in pieces of mean at most 16 so exp(-lambda) stays accurate). */
function poisson(rng: Rng, lambda: number): number {
  let k = 0;
  while (lambda > 0) {
    const part = lambda > 16 ? 16 : lambda;
    lambda -= part;
    const limit = Math.exp(-part);
    let prod = rng.random();
    while (prod > limit) {
      k++;
      prod *= rng.random();
    }
  }
  return k;
}

/**
 * StochasticSpiking (mode 0) and PoissonSpiking (mode 1), J being the base
 * type's rate r (Nengo's steps): x = dt |r|; stochastic: floor(x) spikes and
 * one more with probability x - floor(x); Poisson: a Poisson count of mean
 * x; output = amplitude / dt * count, with the sign of r for a negative
 * type. One random stream per op, from its seed (restarted by reset).
 * Table [rate, output, -, -, n]; params per op [amplitude, negative].
 */
export class RandomSpikingKernel implements Kernel {
  readonly kind: string;
  private rngs: Rng[];
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    private readonly dt: number,
    private readonly seeds: readonly number[],
    private readonly mode: 0 | 1,
  ) {
    this.kind = mode === 0 ? 'neurons:StochasticSpiking' : 'neurons:PoissonSpiking';
    this.rngs = seeds.map((s) => new Rng(s));
  }
  get count(): number {
    return this.table.length / 5;
  }
  reset(resetSeed?: number): void {
    this.rngs = this.seeds.map((s) => new Rng(resetSeed === undefined ? s : reseeded(s, resetSeed)));
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params,
      dt = this.dt,
      poissonMode = this.mode === 1;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 2) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        n = tb[k + 4]!;
      const scale = p[op]! / dt,
        negative = p[op + 1] === 1;
      const rng = this.rngs[op >> 1]!;
      for (let i = 0; i < n; i++) {
        const r = a[J + i]!;
        const x = dt * (negative && r < 0 ? -r : r);
        let count: number;
        if (poissonMode) count = x > 0 ? poisson(rng, x) : 0;
        else {
          count = Math.floor(x);
          if (rng.random() < x - count) count++;
        }
        a[out + i] = negative && r < 0 ? -scale * count : scale * count;
      }
    }
  }
}

/**
 * Izhikevich (Nengo's Izhikevich.step): with J clipped below at -30,
 *   v += 1000 (0.04 v^2 + 5 v + 140 - u + J) dt; a spike (output 1 / dt) where v >= 30, and v = c there;
 *   u += 1000 tau_recovery (coupling v - u) dt, plus d where it spiked.
 * Table [J, output, voltage, recovery, n]; params per op: [tauRecovery, coupling, resetVoltage, resetRecovery].
 */
export class IzhikevichKernel implements Kernel {
  readonly kind = 'neurons:Izhikevich';
  constructor(
    private readonly a: Arena,
    private readonly table: Int32Array,
    private readonly params: Float64Array,
    private readonly dt: number,
  ) {}
  get count(): number {
    return this.table.length / 5;
  }
  run(): void {
    const a = this.a,
      tb = this.table,
      p = this.params,
      dt = this.dt,
      spike = 1 / dt;
    for (let k = 0, op = 0, m = tb.length; k < m; k += 5, op += 4) {
      const J = tb[k]!,
        out = tb[k + 1]!,
        V = tb[k + 2]!,
        U = tb[k + 3]!,
        n = tb[k + 4]!;
      const tau = p[op]!,
        coupling = p[op + 1]!,
        resetV = p[op + 2]!,
        resetU = p[op + 3]!;
      for (let i = 0; i < n; i++) {
        const j = Math.max(-30, a[J + i]!);
        let v = a[V + i]!,
          u = a[U + i]!;
        v += (0.04 * (v * v) + 5 * v + 140 - u + j) * 1000 * dt;
        const spiked = v >= 30;
        if (spiked) v = resetV;
        u += tau * (coupling * v - u) * 1000 * dt;
        if (spiked) u += resetU;
        a[V + i] = v;
        a[U + i] = u;
        a[out + i] = spiked ? spike : 0;
      }
    }
  }
}
