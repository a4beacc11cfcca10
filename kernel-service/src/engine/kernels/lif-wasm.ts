/**
 * The LIF step (LIFKernel's inner loop) as a WebAssembly function over an
 * arena that lives in WebAssembly memory, assembled into one module with
 * the products of dot-wasm.ts. It performs the same IEEE double operations
 * in the same order as the JavaScript loop (the short series for log1p and
 * expm1 included, with Math.log1p / Math.expm1 imported for large
 * arguments), so both give identical results, bit for bit. Three passes:
 *
 * 1. Neurons two at a time in f64x2 lanes, without branches on the common
 *    path: the full step's integration; the spiking neurons, and the
 *    neurons whose refractory period ends within the step, gathered as bits
 *    of two masks per block of 64 neurons, from which the spike list and a
 *    part list are appended in neuron order (a count-trailing-zeros loop
 *    per block).
 * 2. The part list, two at a time: the step's remaining time integrated
 *    (expm1's series); a neuron that spikes there joins the spike list in
 *    neuron order.
 * 3. The spike list, two at a time: spike times (log1p's series), resets.
 * Passes 2 and 3 leave a pair that needs Math.expm1 or Math.log1p (beyond
 * the series: never at Nengo's defaults) to a fix-up loop after the pass,
 * so that their loops hold no call.
 *
 * Alone in a loop on 7,200 neurons (bench/lif-kernel.mjs and earlier forms
 * of it, 2026-11-22), ns per neuron with 0% / 4% / 9% / 14% / 22% of
 * neurons spiking a step: 2.3-2.9 / 5.9-6.2 / 7.7 / 9.9-11.3 / 13.7-14.0
 * when the refractory ends were integrated in pass 1 under a branch and the
 * spike list appended under a branch; 2.0-2.3 / 3.5-3.8 / 5.3-5.6 /
 * 7.0-7.9 / 9.9-11.0 with pass 2. Then the lists were appended branch-free
 * in pass 1 (two stores and a count per pair and list: about 1 ns per neuron
 * and list, more than half of a step without spikes); the masks and the
 * fix-up loops (a call in a loop made V8 spill the pair's values on every
 * pair) took in-process A/B runs (20:50 UTC, two runs) from 3.6-3.8 / 4.6-5.0 /
 * 6.0-6.1 / 5.7-7.1 to 2.6-2.7 / 3.3-3.5 / 4.7-5.0 / 4.4-6.0 ns
 * (0% / 4% / 9% / 14%). (Two lanes and a separate spike pass had
 * made the step about 1.6x faster than a scalar loop whose unpredictable
 * branches cost most: 16 -> 9-10 ns per neuron on CircularConvolution D = 64.)
 *
 * lif(table, ops, dt, scratch, parts): steps the `ops` LIF ops of the
 * table at byte `table` (LIF_OP_BYTES each, see setLifOp), writing each
 * op's spiking neurons to its spike list, in order, and their number to its
 * count; scratch and parts are byte offsets of room for n doubles (float32
 * arenas) and n + 2 ints, n the largest op's neurons. One call per step for
 * all ops: a call per op from JavaScript cost about 40 ns each, 10 us a step
 * on CircularConvolution D = 64 (264 ops) and 40 us on K = 1000 (1,000).
 */
import {
  I32_EQ,
  I32_EQZ,
  I32_MUL,
  I32_SUB,
  I32_XOR,
  I64,
  I64_AND,
  I64_CONST,
  I64_CTZ,
  I64_EQZ,
  I64_EXTEND_I32_U,
  I64_OR,
  I64_SHL,
  I64_SUB,
  I32_WRAP_I64,
  BLOCK,
  BR,
  BR_IF,
  CALL,
  ELSE,
  END,
  F64,
  F64X2_ADD,
  F64X2_DIV,
  F64X2_EXTRACT,
  F64X2_GE,
  F64X2_GT,
  F64X2_LE,
  F64X2_LT,
  F64X2_MUL,
  F64X2_NEG,
  F64X2_PMAX,
  F64X2_REPLACE,
  F64X2_SPLAT,
  F64X2_SUB,
  F64_ADD,
  F64_DIV,
  F64_GE,
  F64_GT,
  F64_LE,
  F64_LOAD,
  F64_LT,
  F64_MUL,
  F64_NEG,
  F64_STORE,
  F64_SUB,
  I32,
  I32_ADD,
  I32_AND,
  I32_CONST,
  I32_GE_S,
  I32_LOAD,
  I32_LT_S,
  I32_SHL,
  I32_SHR_U,
  I32_STORE,
  I32_GT_S,
  I64X2_BITMASK,
  IF,
  LOOP,
  SELECT,
  V128,
  VOID,
  V_AND,
  V_ANDNOT,
  V_BITSELECT,
  V_STORE,
  f64,
  get,
  set,
  vconst,
  uleb,
  sleb,
  compiledModule,
  wasmApi,
  wasmOffByEnv,
  wasmSection,
  WASM_HEADER,
  type WasmMemory,
  type Elt,
  F64_ELT,
} from '../wasm.js';
import { copyBody, dotBody, encBody, ewincBody, gainBody, lowpassBody, resetBody, sdotBody, spreadBody } from './dot-wasm.js';

/** The module's functions over a kernel's table (dot-wasm.ts), in the order of its exports after lif. */
export const TABLE_FUNCTIONS = ['dot', 'enc', 'sdot', 'spread', 'reset', 'copy', 'copyinc', 'lowpass', 'gain', 'ewinc'] as const;
export type TableFunction = (typeof TABLE_FUNCTIONS)[number];

/** Each table function's body, for the arena's element type. */
const TABLE_BODIES: Record<TableFunction, (e: Elt) => number[]> = {
  dot: dotBody,
  enc: encBody,
  sdot: sdotBody,
  spread: spreadBody,
  reset: resetBody,
  copy: (e) => copyBody(e, false),
  copyinc: (e) => copyBody(e, true),
  lowpass: lowpassBody,
  gain: gainBody,
  ewinc: ewincBody,
};

export type LifStep = (table: number, ops: number, dt: number, scratch: number, parts: number) => void;

/** Arguments beyond which the series give way to Math's functions (as log1pSmall / expm1Small). */
const SMALL = 0.0625;

// function indices: imports first
const EXPM1 = 0,
  LOG1P = 1;
// params: the ops' table (LIF_OP_BYTES per op, see setLifOp), their count, dt, and two scratch rooms
const TABLE = 0,
  NOPS = 1,
  DT = 2,
  SCRATCH = 3, // float32 arenas: the unrounded voltages in f64, by neuron, for the spike pass
  PARTS = 4; // room for 2 n + 4 ints: the neurons whose refractory period ends within this step, then those of them that spike
// i32 locals: the op's byte offsets (J, output, voltage, refractory time, spike list, its count) and
// neurons; the op; the neuron i, spikes, p = i in bytes, a lane mask, a list position
const Jp = 5,
  OUTp = 6,
  Vp = 7,
  REFp = 8,
  N = 9,
  LIST = 10,
  COUNTp = 11,
  OP = 12,
  I = 13,
  CNT = 14,
  P = 15,
  M = 16,
  K = 17;
const N_I32 = 13;
// f64 locals: the op's parameters, then r, j, vi, ts, (27 unused), x, s, s2
const TAU_RC = 18,
  TAU_REF = 19,
  MIN_V = 20,
  SPIKE = 21,
  FULL = 22,
  R = 23,
  JV = 24,
  VI = 25,
  TS = 26,
  X = 28,
  S = 29,
  S2 = 30;
const N_F64 = 13;
// v128 locals of the two-lane loops: splatted parameters, then per-pair values
const V_DT = 31,
  V_FULL = 32,
  V_TAU_RC = 33,
  V_TAU_REF = 34,
  V_MIN_V = 35,
  V_SPIKE = 36,
  V_R = 37,
  V_J = 38,
  V_V = 39,
  V_ACT = 40,
  V_PART = 41,
  V_X = 42,
  V_SPK = 43,
  V_S = 44,
  V_NEW = 45,
  V_S2 = 46,
  V_TS = 47,
  V_REF = 48;
const N_V128 = 18;
// i32 locals of the passes over lists: two listed neurons' byte offsets, the part list's length, a lane mask, a list position
const P0 = 49,
  P1 = 50,
  PC = 51,
  PM = 52,
  POS = 53;
const N_I32_AFTER = 5;
// the series' powers (x^2, x^4), f64 then v128
const T2 = 54,
  T4 = 55,
  V_T2 = 56,
  V_T4 = 57;
// locals of the pair loop's blocks of BLOCK_NEURONS: its first neuron and its end and a pair's
// shift (i - BI), i32; then the spikes' and the part steps' lane bits (bit k: neuron BI + k), i64
const BI = 58,
  BE = 59,
  SH = 60,
  FX = 61, // a pass marked pairs for its fix-up loop
  MS = 62,
  MP = 63;
/** Neurons a block of the pair loop: one bit each in its i64 masks. */
const BLOCK_NEURONS = 64;
const N_I32_BLOCK = 4,
  N_I64_BLOCK = 2;
// i32 locals of the part pass's spikes: where they are listed (after the op's part list) and how many
const TMP = 64,
  PS = 65;
const N_I32_PS = 2;

/**
 * Bytes per op of the LIF step's table: byte offsets of J, output, voltage
 * and refractory time, the neurons, the byte offsets of the op's spike list
 * and of its spike count (7 i32), 4 bytes of padding, then tau_rc, tau_ref,
 * min_voltage, the spike's value (amplitude / dt) and the full step's factor
 * -expm1(-dt / tau_rc) (5 f64).
 */
export const LIF_OP_BYTES = 72;

/** One op's entry of the LIF step's table (at its byte offset `at` in `buffer`). */
export function setLifOp(
  buffer: ArrayBufferLike,
  at: number,
  ints: readonly [number, number, number, number, number, number, number],
  params: readonly [number, number, number, number, number],
): void {
  new Int32Array(buffer, at, 7).set(ints);
  new Float64Array(buffer, at + 32, 5).set(params);
}

/**
 * The arena's element type of the module being assembled (moduleBytes sets
 * it): loads and stores below go through it.
 */
let E: Elt = F64_ELT;
const at = (base: number): number[] => [...get(base), ...get(P), I32_ADD];
/** P = I elements, in bytes */
const pOfI = (): number[] => [...get(I), I32_CONST, E.shift, I32_SHL, ...set(P)];
const load = (base: number): number[] => E.load(at(base));
/** Stores the value the code `value` leaves on the stack at base + p. */
const store = (base: number, value: number[]): number[] => E.store(at(base), value);

/** `series` (leaving an f64) where -SMALL <= X <= SMALL, else Math's function `fn` (an import) of X: the *Small functions' test. */
function seriesOrCall(series: number[], fn: number): number[] {
  return [...get(X), ...f64(-SMALL), F64_GE, ...get(X), ...f64(SMALL), F64_LE, I32_AND, IF, F64, ...series, ELSE, ...get(X), CALL, fn, END];
}

/** The arithmetic the series are written in: scalar f64, or f64x2 lanes (the same IEEE operations per lane), and two locals of its type for powers. */
interface Arith {
  k(x: number): number[];
  add: number[];
  mul: number[];
  div: number[];
  pow2: number;
  pow4: number;
}
const SCALAR: Arith = { k: f64, add: [F64_ADD], mul: [F64_MUL], div: [F64_DIV], pow2: T2, pow4: T4 };
const LANES: Arith = { k: vconst, add: F64X2_ADD, mul: F64X2_MUL, div: F64X2_DIV, pow2: V_T2, pow4: V_T4 };

/** a + z * b for local z: one term pair of a series in Estrin's form. */
const pairTerm = (o: Arith, z: number, a: number, b: number): number[] => [...o.k(a), ...get(z), ...o.k(b), ...o.mul, ...o.add];

/**
 * expm1's series of local x to x^10/10!, as expm1Small writes it:
 * x (1 + x (1/2 + x R)), R = ((1/6 + x/24) + (1/120 + x/720) x^2)
 * + ((1/5040 + x/40320) + (1/362880 + x/3628800) x^2) x^4 (R in Estrin's
 * form: a dependency chain of 4 multiply-adds instead of 8).
 */
function expm1Series(o: Arith, x: number): number[] {
  const [x2, x4] = [o.pow2, o.pow4];
  const r = [
    ...[...pairTerm(o, x, 1 / 6, 1 / 24), ...pairTerm(o, x, 1 / 120, 1 / 720), ...get(x2), ...o.mul, ...o.add],
    ...[...pairTerm(o, x, 1 / 5040, 1 / 40320), ...pairTerm(o, x, 1 / 362880, 1 / 3628800), ...get(x2), ...o.mul, ...o.add],
    ...[...get(x4), ...o.mul, ...o.add],
  ];
  return [
    ...[...get(x), ...get(x), ...o.mul, ...set(x2), ...get(x2), ...get(x2), ...o.mul, ...set(x4)],
    ...[...get(x), ...o.k(1), ...get(x), ...o.k(1 / 2), ...get(x), ...r, ...o.mul, ...o.add, ...o.mul, ...o.add, ...o.mul],
  ];
}

/**
 * log1p's series of local x: 2 atanh(s), s = x / (2 + x), in locals s and
 * s2 = s^2 = z, as log1pSmall writes it: 2 s (1 + z (1/3 + z R)),
 * R = ((1/5 + z/7) + (1/9 + z/11) z^2) + (1/13) z^4.
 */
function log1pSeries(o: Arith, x: number, s: number, s2: number): number[] {
  const [z2, z4] = [o.pow2, o.pow4];
  const r = [
    ...[...pairTerm(o, s2, 1 / 5, 1 / 7), ...pairTerm(o, s2, 1 / 9, 1 / 11), ...get(z2), ...o.mul, ...o.add],
    ...[...o.k(1 / 13), ...get(z4), ...o.mul, ...o.add],
  ];
  return [
    ...[...get(x), ...o.k(2), ...get(x), ...o.add, ...o.div, ...set(s)],
    ...[...get(s), ...get(s), ...o.mul, ...set(s2)],
    ...[...get(s2), ...get(s2), ...o.mul, ...set(z2), ...get(z2), ...get(z2), ...o.mul, ...set(z4)],
    ...[
      ...o.k(2),
      ...get(s),
      ...o.mul,
      ...o.k(1),
      ...get(s2),
      ...o.k(1 / 3),
      ...get(s2),
      ...r,
      ...o.mul,
      ...o.add,
      ...o.mul,
      ...o.add,
      ...o.mul,
    ],
  ];
}

/** expm1(x) of local X: the series for |x| <= SMALL, else Math.expm1 (expm1Small). */
const expm1Small = (): number[] => seriesOrCall(expm1Series(SCALAR, X), EXPM1);
/** log1p(x) of local X: the series for |x| <= SMALL, else Math.log1p (log1pSmall). */
const log1pSmall = (): number[] => seriesOrCall(log1pSeries(SCALAR, X, S, S2), LOG1P);

/** A spike of the neuron at byte offset P, given its input JV and its voltage VI after integration (above 1). */
function spikeOfNeuron(): number[] {
  const body: number[] = [];
  //   tSpike = dt + tauRc * log1pSmall(-(vi - 1) / (j - 1))
  body.push(...get(VI), ...f64(1), F64_SUB, F64_NEG, ...get(JV), ...f64(1), F64_SUB, F64_DIV, ...set(X));
  body.push(...get(DT), ...get(TAU_RC), ...log1pSmall(), F64_MUL, F64_ADD, ...set(TS));
  body.push(...store(OUTp, get(SPIKE)));
  //   v = 0; ref = tauRef + tSpike
  body.push(...store(Vp, f64(0)));
  body.push(...store(REFp, [...get(TAU_REF), ...get(TS), F64_ADD]));
  return body;
}

/** One neuron, the scalar step: neuron I at byte offset P (the two-lane loop's odd tail). */
function scalarNeuron(): number[] {
  const body: number[] = [];
  // r = ref - dt; j = J; vi = v
  body.push(...load(REFp), ...get(DT), F64_SUB, ...set(R));
  body.push(...load(Jp), ...set(JV));
  body.push(...load(Vp), ...set(VI));
  // if (r <= 0) vi += (j - vi) * full; else if (r < dt) vi += (j - vi) * -expm1Small(-(dt - r) / tauRc)
  body.push(...get(R), ...f64(0), F64_LE, IF, VOID);
  body.push(...get(VI), ...get(JV), ...get(VI), F64_SUB, ...get(FULL), F64_MUL, F64_ADD, ...set(VI));
  body.push(ELSE);
  body.push(...get(R), ...get(DT), F64_LT, IF, VOID);
  body.push(...get(DT), ...get(R), F64_SUB, F64_NEG, ...get(TAU_RC), F64_DIV, ...set(X));
  body.push(...get(VI), ...get(JV), ...get(VI), F64_SUB, ...expm1Small(), F64_NEG, F64_MUL, F64_ADD, ...set(VI));
  body.push(END, END);
  // if (vi > 1): a spike; list[cnt++] = i
  body.push(...get(VI), ...f64(1), F64_GT, IF, VOID);
  body.push(...spikeOfNeuron());
  body.push(...get(LIST), ...get(CNT), I32_CONST, 2, I32_SHL, I32_ADD, ...get(I), I32_STORE, 2, 0);
  body.push(...get(CNT), I32_CONST, 1, I32_ADD, ...set(CNT));
  body.push(ELSE);
  body.push(...store(OUTp, f64(0)));
  body.push(...store(Vp, [...get(VI), ...get(MIN_V), ...get(VI), ...get(MIN_V), F64_GT, SELECT]));
  body.push(...store(REFp, get(R)));
  body.push(END);
  return body;
}

const vload = (base: number): number[] => E.vload(at(base));
const vstore = (base: number, value: number[]): number[] => E.vstore(at(base), value);
/** All-ones lanes where lo <= x <= hi (x a v128 local), as the scalar range tests. */
const vInRange = (x: number): number[] => [...get(x), ...vconst(-SMALL), ...F64X2_GE, ...get(x), ...vconst(SMALL), ...F64X2_LE, ...V_AND];

/**
 * Neurons I and I + 1 in two f64x2 lanes, the first pass: the full step's
 * integration, branch-free, the stores of a step without a spike, the
 * spiking neurons' lane bits into the block's mask MS, and those of the
 * neurons whose refractory period ends within this step (0 < ref - dt < dt)
 * into MP, left as they were for the part pass (partSteps). Each of
 * those steps needs expm1's series, with a division and ten dependent
 * multiply-adds: done here under a branch taken by about a quarter of the
 * pairs where neurons fire at 100 Hz or more, it cost about 40 ns per such
 * step (a mispredicted branch, and a dependency chain that nothing
 * overlapped); the part pass runs them back to back. The spike pass
 * (listedSpikes) finishes the listed spikes; a spiking neuron's voltage is
 * stored unclamped for it. Every lane performs the scalar step's operations
 * in its order, so results are the same bit for bit.
 */
function pairOfNeurons(): number[] {
  const b: number[] = [];
  // r = ref - dt; j; v
  b.push(...vload(REFp), ...set(V_REF));
  b.push(...get(V_REF), ...get(V_DT), ...F64X2_SUB, ...set(V_R));
  b.push(...vload(Jp), ...set(V_J));
  b.push(...vload(Vp), ...set(V_V));
  // act: r <= 0; part: 0 < r < dt (the step that ends the refractory period)
  b.push(...get(V_R), ...vconst(0), ...F64X2_LE, ...set(V_ACT));
  b.push(...get(V_R), ...vconst(0), ...F64X2_GT, ...get(V_R), ...get(V_DT), ...F64X2_LT, ...V_AND, ...set(V_PART));
  // new = act ? v + (j - v) * full : v
  b.push(...get(V_V), ...get(V_J), ...get(V_V), ...F64X2_SUB, ...get(V_FULL), ...F64X2_MUL, ...F64X2_ADD);
  b.push(...get(V_V), ...get(V_ACT), ...V_BITSELECT, ...set(V_NEW));
  // spikes: new > 1, but not where the part pass decides (m = lane bits)
  b.push(...get(V_NEW), ...vconst(1), ...F64X2_GT, ...get(V_PART), ...V_ANDNOT, ...set(V_SPK));
  b.push(...get(V_SPK), ...I64X2_BITMASK, ...set(M));
  // out = 0; v = spike ? new : part ? v : max(new, minV) (as new > minV ? new : minV); ref = part ? ref : r
  b.push(...vstore(OUTp, vconst(0)));
  const clamped = [...get(V_V), ...get(V_MIN_V), ...get(V_NEW), ...F64X2_PMAX, ...get(V_PART), ...V_BITSELECT];
  b.push(...vstore(Vp, [...get(V_NEW), ...clamped, ...get(V_SPK), ...V_BITSELECT]));
  b.push(...vstore(REFp, [...get(V_REF), ...get(V_R), ...get(V_PART), ...V_BITSELECT]));
  // the lane bits into the block's masks (bit k: neuron BI + k): ms |= m << (i - bi), mp |= pm << (i - bi)
  b.push(...get(I), ...get(BI), I32_SUB, ...set(SH));
  b.push(...get(MS), ...get(M), I64_EXTEND_I32_U, ...get(SH), I64_EXTEND_I32_U, I64_SHL, I64_OR, ...set(MS));
  b.push(...get(V_PART), ...I64X2_BITMASK, I64_EXTEND_I32_U, ...get(SH), I64_EXTEND_I32_U, I64_SHL, ...get(MP), I64_OR, ...set(MP));
  // float32 arenas: the unrounded voltages, by neuron, for the spike pass
  if (E.f32) b.push(...get(SCRATCH), ...get(I), I32_CONST, 3, I32_SHL, I32_ADD, ...get(V_NEW), ...V_STORE, 3, 0);
  return b;
}

/** The address base + p (two locals: a signal's byte offset and a listed neuron's). */
const listedAt = (base: number, p: number): number[] => [...get(base), ...get(p), I32_ADD];

/**
 * Float32 arenas: the address of the unrounded voltage of the neuron at
 * arena byte offset local `p` (4 bytes a neuron) in the scratch room
 * (8 bytes a neuron), which the pair loop and the part pass write.
 */
const scratchAt = (p: number): number[] => [...get(SCRATCH), ...get(p), I32_CONST, 1, I32_SHL, I32_ADD];

/** f64x2 of base[P0], base[P1] (listed neurons' byte offsets). */
const gather = (base: number): number[] => [
  ...E.load(listedAt(base, P0)),
  ...F64X2_SPLAT,
  ...E.load(listedAt(base, P1)),
  ...F64X2_REPLACE(1),
];

/** The address of list[K] (list: a byte-address local). */
const listSlot = (list: number): number[] => [...get(list), ...get(K), I32_CONST, 2, I32_SHL, I32_ADD];

/** local = (the neuron listed at base[K + at]) << E.shift: its byte offset. */
const offsetAt = (list: number, at: number, local: number): number[] => [
  ...listSlot(list),
  I32_LOAD,
  2,
  4 * at,
  I32_CONST,
  E.shift,
  I32_SHL,
  ...set(local),
];

/** The address of int `idx` (a local) of the list at byte offset `base` (a local). */
const intAt = (base: number, idx: number[]): number[] => [...get(base), ...idx, I32_CONST, 2, I32_SHL, I32_ADD];

/**
 * Lists the neuron at byte offset `p` (a local), which spikes in the step
 * that ends its refractory period, among the part pass's spikes (TMP, PS of
 * them; float32 arenas: its unrounded voltage, lane `lane` of V_NEW, goes
 * to its scratch slot). mergePartSpikes puts them into the spike list.
 */
function listPartSpike(p: number, lane: number): number[] {
  const b: number[] = [];
  b.push(...intAt(TMP, get(PS)), ...get(p), I32_CONST, E.shift, I32_SHR_U, I32_STORE, 2, 0);
  if (E.f32) b.push(...scratchAt(p), ...get(V_NEW), ...F64X2_EXTRACT(lane), F64_STORE, 3, 0);
  b.push(...get(PS), I32_CONST, 1, I32_ADD, ...set(PS));
  return b;
}

/**
 * Merges the part pass's spikes (TMP, PS of them) into the spike list (LIST,
 * CNT of them), in neuron order: both are sorted (the part pass's in its
 * list's order, but for the pairs its fix-up loop finished, which an
 * insertion sort places first), and a merge from the back moves each
 * listed neuron once. It replaced an insertion into the spike list per
 * such spike, which moved the later ones up each time: quadratic, and
 * 100 ns a neuron on 7,200 neurons with inputs up to 100, where most
 * refractory periods end in a spike (at Nengo's defaults an input above
 * about 20, a neuron near 400 Hz).
 */
function mergePartSpikes(): number[] {
  const b: number[] = [];
  const tmp = (idx: number[]): number[] => [...intAt(TMP, idx), I32_LOAD, 2, 0];
  const listed = (idx: number[]): number[] => [...intAt(LIST, idx), I32_LOAD, 2, 0];
  const minus1 = (l: number): number[] => [...get(l), I32_CONST, 1, I32_SUB];
  b.push(...get(PS), IF, VOID);
  // insertion sort of TMP (K walks it; P the neuron to place; POS its place)
  b.push(I32_CONST, 1, ...set(K));
  b.push(BLOCK, VOID, LOOP, VOID, ...get(K), ...get(PS), I32_GE_S, BR_IF, 1);
  b.push(...tmp(get(K)), ...set(P), ...get(K), ...set(POS));
  b.push(BLOCK, VOID, LOOP, VOID);
  b.push(...get(POS), I32_EQZ, BR_IF, 1, ...tmp(minus1(POS)), ...get(P), I32_LT_S, BR_IF, 1);
  b.push(...intAt(TMP, get(POS)), ...tmp(minus1(POS)), I32_STORE, 2, 0, ...minus1(POS), ...set(POS), BR, 0, END, END);
  b.push(...intAt(TMP, get(POS)), ...get(P), I32_STORE, 2, 0);
  b.push(...get(K), I32_CONST, 1, I32_ADD, ...set(K), BR, 0, END, END);
  // merge from the back: K the spike list's last unplaced, M the part spikes', POS where the next goes
  b.push(...minus1(CNT), ...set(K), ...minus1(PS), ...set(M), ...get(CNT), ...get(PS), I32_ADD, I32_CONST, 1, I32_SUB, ...set(POS));
  b.push(BLOCK, VOID, LOOP, VOID, ...get(M), I32_CONST, 0, I32_LT_S, BR_IF, 1);
  // the larger of list[K] (when K >= 0) and tmp[M] goes to list[POS]
  b.push(...get(K), I32_CONST, 0, I32_GE_S, IF, I32, ...listed(get(K)), ...tmp(get(M)), I32_GT_S, ELSE, I32_CONST, 0, END);
  b.push(IF, VOID, ...intAt(LIST, get(POS)), ...listed(get(K)), I32_STORE, 2, 0, ...minus1(K), ...set(K));
  b.push(ELSE, ...intAt(LIST, get(POS)), ...tmp(get(M)), I32_STORE, 2, 0, ...minus1(M), ...set(M), END);
  b.push(...minus1(POS), ...set(POS), BR, 0, END, END);
  b.push(...get(CNT), ...get(PS), I32_ADD, ...set(CNT));
  b.push(END);
  return b;
}

/**
 * Marks the pair at K of a list (byte offset in local `list`) for the
 * fix-up loop: list[K] = ~list[K] (negative: neuron indices are not), and
 * FX = 1. A pair that needs Math's functions (an import call) is left to a
 * fix-up loop after the pass: a call inside the pass's loop made V8 spill
 * the pair's values to the stack on every pair, the common path included.
 */
const markForFixup = (list: number): number[] => [
  ...listSlot(list),
  ...listSlot(list),
  I32_LOAD,
  2,
  0,
  I32_CONST,
  0x7f, // -1
  I32_XOR,
  I32_STORE,
  2,
  0,
  I32_CONST,
  1,
  ...set(FX),
];

/**
 * The fix-up loop over a list of `count` (a local) entries, pairs from K = 0:
 * each pair marked by markForFixup is unmarked and run by `pair` (code that
 * may call Math's functions). Runs only where the pass marked one (FX).
 */
function fixupLoop(list: number, count: number, pair: number[]): number[] {
  const b: number[] = [];
  b.push(...get(FX), IF, VOID, I32_CONST, 0, ...set(K));
  b.push(BLOCK, VOID, LOOP, VOID);
  b.push(...get(K), ...get(count), I32_GE_S, BR_IF, 1);
  const entry = listSlot(list);
  b.push(...entry, I32_LOAD, 2, 0, I32_CONST, 0, I32_LT_S, IF, VOID);
  b.push(...entry, ...entry, I32_LOAD, 2, 0, I32_CONST, 0x7f, I32_XOR, I32_STORE, 2, 0);
  b.push(...pair);
  b.push(END);
  b.push(...get(K), I32_CONST, 2, I32_ADD, ...set(K), BR, 0, END, END);
  b.push(END);
  return b;
}

/**
 * One pair of the part pass at K of the part list: r = ref - dt,
 * v += (j - v) * -expm1(-(dt - r) / tau_rc) (the series; with `calls`,
 * Math.expm1 for a lane beyond it, else the pair is marked for the fix-up
 * loop and left as it was), ref = r, and v clamped to minV, or, where
 * v > 1, left unclamped and the neuron put into the spike list for the
 * spike pass: the scalar step's operations, bit for bit.
 */
function partPair(calls: boolean): number[] {
  const b: number[] = [];
  // P0, P1: the next two (an odd last one twice; its second lane's stores repeat the first's)
  b.push(...offsetAt(PARTS, 0, P0), ...offsetAt(PARTS, 1, P1));
  b.push(...get(P1), ...get(P0), ...get(K), I32_CONST, 1, I32_ADD, ...get(PC), I32_LT_S, SELECT, ...set(P1));
  b.push(...gather(REFp), ...get(V_DT), ...F64X2_SUB, ...set(V_R));
  b.push(...gather(Jp), ...set(V_J));
  b.push(...gather(Vp), ...set(V_V));
  // x = -(dt - r) / tauRc; s = expm1(x) (lanes beyond the series: Math.expm1)
  b.push(...get(V_DT), ...get(V_R), ...F64X2_SUB, ...F64X2_NEG, ...get(V_TAU_RC), ...F64X2_DIV, ...set(V_X));
  b.push(...expm1Series(LANES, V_X), ...set(V_S));
  b.push(...vInRange(V_X), ...I64X2_BITMASK, I32_CONST, 3, I32_XOR, ...set(M));
  const finish: number[] = [];
  // new = v + (j - v) * -s; spikes where new > 1 (pm = lane bits, the second only for a second neuron)
  finish.push(...get(V_V), ...get(V_J), ...get(V_V), ...F64X2_SUB, ...get(V_S), ...F64X2_NEG, ...F64X2_MUL, ...F64X2_ADD, ...set(V_NEW));
  finish.push(...get(V_NEW), ...vconst(1), ...F64X2_GT, ...set(V_SPK));
  finish.push(...get(V_SPK), ...I64X2_BITMASK, ...set(PM));
  finish.push(...get(PM), ...get(PM), I32_CONST, 1, I32_AND, ...get(K), I32_CONST, 1, I32_ADD, ...get(PC), I32_LT_S, SELECT, ...set(PM));
  // v = spike ? new : max(new, minV); ref = r
  finish.push(...get(V_NEW), ...get(V_MIN_V), ...get(V_NEW), ...F64X2_PMAX, ...get(V_SPK), ...V_BITSELECT, ...set(V_X));
  for (const [lane, p] of [
    [0, P0],
    [1, P1],
  ] as const) {
    finish.push(...E.store(listedAt(Vp, p), [...get(V_X), ...F64X2_EXTRACT(lane)]));
    finish.push(...E.store(listedAt(REFp, p), [...get(V_R), ...F64X2_EXTRACT(lane)]));
  }
  finish.push(...get(PM), IF, VOID);
  for (const [lane, p] of [
    [0, P0],
    [1, P1],
  ] as const) {
    finish.push(...get(PM), I32_CONST, lane + 1, I32_AND, IF, VOID, ...listPartSpike(p, lane), END);
  }
  finish.push(END);
  if (calls) {
    b.push(...get(M), IF, VOID);
    for (const lane of [0, 1]) {
      b.push(...get(M), I32_CONST, lane + 1, I32_AND, IF, VOID);
      b.push(...get(V_S), ...get(V_X), ...F64X2_EXTRACT(lane), CALL, EXPM1, ...F64X2_REPLACE(lane), ...set(V_S));
      b.push(END);
    }
    b.push(END, ...finish);
  } else {
    b.push(...get(M), IF, VOID, ...markForFixup(PARTS), ELSE, ...finish, END);
  }
  return b;
}

/**
 * The part pass: the neurons listed by the first pass whose refractory
 * period ends within this step, two at a time in f64x2 lanes (an odd last
 * one in both; partPair), then the fix-up loop for pairs beyond the series.
 */
function partSteps(): number[] {
  const b: number[] = [];
  b.push(I32_CONST, 0, ...set(K), I32_CONST, 0, ...set(FX));
  b.push(BLOCK, VOID, LOOP, VOID);
  b.push(...get(K), ...get(PC), I32_GE_S, BR_IF, 1);
  b.push(...partPair(false));
  b.push(...get(K), I32_CONST, 2, I32_ADD, ...set(K), BR, 0, END, END);
  b.push(...fixupLoop(PARTS, PC, partPair(true)));
  return b;
}

/** The scalar spike step of the neuron listed at K + `at`: P, JV and VI (unrounded voltage) from the list. */
function listedSpike(at: number): number[] {
  const b: number[] = [];
  b.push(...offsetAt(LIST, at, P));
  b.push(...load(Jp), ...set(JV));
  // the voltage before rounding: from the scratch room (by neuron) where the arena is float32
  if (E.f32) b.push(...scratchAt(P), F64_LOAD, 3, 0, ...set(VI));
  else b.push(...load(Vp), ...set(VI));
  b.push(...spikeOfNeuron());
  return b;
}

/**
 * The spike pass: the spikes listed by the first pass (and the part pass),
 * two at a time in f64x2 lanes (log1p's series for both in one go: half the
 * divisions, two independent chains), with the same operations as
 * spikeOfNeuron; a pair
 * where a lane is beyond the series takes the
 * scalar step, as does an odd last spike.
 */
function listedSpikes(): number[] {
  const b: number[] = [];
  b.push(I32_CONST, 0, ...set(K), I32_CONST, 0, ...set(FX));
  b.push(BLOCK, VOID, LOOP, VOID);
  b.push(...get(K), I32_CONST, 1, I32_ADD, ...get(CNT), I32_GE_S, BR_IF, 1);
  b.push(...offsetAt(LIST, 0, P0), ...offsetAt(LIST, 1, P1));
  b.push(...gather(Jp), ...set(V_J));
  if (E.f32) b.push(...scratchAt(P0), F64_LOAD, 3, 0, ...F64X2_SPLAT, ...scratchAt(P1), F64_LOAD, 3, 0, ...F64X2_REPLACE(1), ...set(V_V));
  else b.push(...gather(Vp), ...set(V_V));
  // x = -(v - 1) / (j - 1); tSpike = dt + tauRc * log1p(x)
  b.push(...get(V_V), ...vconst(1), ...F64X2_SUB, ...F64X2_NEG, ...get(V_J), ...vconst(1), ...F64X2_SUB, ...F64X2_DIV, ...set(V_X));
  b.push(...get(V_DT), ...get(V_TAU_RC), ...log1pSeries(LANES, V_X, V_S, V_S2), ...F64X2_MUL, ...F64X2_ADD, ...set(V_TS));
  // both lanes in the series' range: the vector result stands
  b.push(...vInRange(V_X), ...I64X2_BITMASK, I32_CONST, 3, I32_EQ);
  b.push(IF, VOID);
  b.push(...get(V_TAU_REF), ...get(V_TS), ...F64X2_ADD, ...set(V_NEW));
  for (const [lane, p] of [
    [0, P0],
    [1, P1],
  ] as const) {
    b.push(...E.store(listedAt(OUTp, p), get(SPIKE)));
    b.push(...E.store(listedAt(Vp, p), f64(0)));
    b.push(...E.store(listedAt(REFp, p), [...get(V_NEW), ...F64X2_EXTRACT(lane)]));
  }
  b.push(ELSE, ...markForFixup(LIST), END);
  b.push(...get(K), I32_CONST, 2, I32_ADD, ...set(K), BR, 0, END, END);
  // an odd last spike
  b.push(...get(K), ...get(CNT), I32_LT_S, IF, VOID, ...listedSpike(0), END);
  // the pairs beyond the series (after the odd last spike, which needs K as the loop left it)
  b.push(...fixupLoop(LIST, CNT, [...listedSpike(0), ...listedSpike(1)]));
  return b;
}

/**
 * Appends the neurons of a block's mask (local `mask`, bit k: neuron BI + k)
 * to a list (byte offset in local `list`, length in local `count`), in
 * neuron order: list[count++] = BI + ctz(mask); mask &= mask - 1, until the
 * mask is empty. Appending each pair's neurons branch-free in the pair loop
 * instead (two stores and two adds a list per pair) cost about 1 ns per
 * neuron a list, more than half of a step without spikes.
 */
function appendMasked(mask: number, list: number, count: number): number[] {
  const b: number[] = [];
  b.push(BLOCK, VOID, LOOP, VOID);
  b.push(...get(mask), I64_EQZ, BR_IF, 1);
  b.push(...get(list), ...get(count), I32_CONST, 2, I32_SHL, I32_ADD);
  b.push(...get(BI), ...get(mask), I64_CTZ, I32_WRAP_I64, I32_ADD, I32_STORE, 2, 0);
  b.push(...get(count), I32_CONST, 1, I32_ADD, ...set(count));
  b.push(...get(mask), ...get(mask), I64_CONST, 1, I64_SUB, I64_AND, ...set(mask));
  b.push(BR, 0, END, END);
  return b;
}

function moduleBytes(shared: boolean, elt: Elt): Uint8Array {
  const saved = E;
  E = elt;
  try {
    return assemble(shared);
  } finally {
    E = saved;
  }
}

function assemble(shared: boolean): Uint8Array {
  const body: number[] = [
    9,
    N_I32,
    I32,
    N_F64,
    F64,
    N_V128,
    V128,
    N_I32_AFTER,
    I32,
    2,
    F64,
    2,
    V128,
    N_I32_BLOCK,
    I32,
    N_I64_BLOCK,
    I64,
    N_I32_PS,
    I32,
  ];
  const splat = (from: number, to: number): number[] => [...get(from), ...F64X2_SPLAT, ...set(to)];
  body.push(...splat(DT, V_DT));
  // each op of the table in turn
  body.push(I32_CONST, 0, ...set(OP));
  body.push(BLOCK, VOID, LOOP, VOID);
  body.push(...get(OP), ...get(NOPS), I32_GE_S, BR_IF, 1);
  //   its entry: at = table + op * LIF_OP_BYTES (in P, free until the pairs)
  body.push(...get(TABLE), ...get(OP), I32_CONST, ...sleb(LIF_OP_BYTES), I32_MUL, I32_ADD, ...set(P));
  [Jp, OUTp, Vp, REFp, N, LIST, COUNTp].forEach((local, k) => body.push(...get(P), I32_LOAD, 2, 4 * k, ...set(local)));
  [TAU_RC, TAU_REF, MIN_V, SPIKE, FULL].forEach((local, k) => body.push(...get(P), F64_LOAD, 3, 32 + 8 * k, ...set(local)));
  body.push(I32_CONST, 0, ...set(I), I32_CONST, 0, ...set(CNT), I32_CONST, 0, ...set(PC));
  body.push(...splat(FULL, V_FULL), ...splat(TAU_RC, V_TAU_RC), ...splat(TAU_REF, V_TAU_REF));
  body.push(...splat(MIN_V, V_MIN_V), ...splat(SPIKE, V_SPIKE));
  // pairs while i + 1 < n, in blocks of up to BLOCK_NEURONS: bi = i, be = min(i + BLOCK_NEURONS, n)
  body.push(BLOCK, VOID, LOOP, VOID);
  body.push(...get(I), I32_CONST, 1, I32_ADD, ...get(N), I32_GE_S, BR_IF, 1);
  body.push(...get(I), ...set(BI), I64_CONST, 0, ...set(MS), I64_CONST, 0, ...set(MP));
  body.push(
    ...get(I),
    I32_CONST,
    ...sleb(BLOCK_NEURONS),
    I32_ADD,
    ...get(N),
    ...get(I),
    I32_CONST,
    ...sleb(BLOCK_NEURONS),
    I32_ADD,
    ...get(N),
    I32_LT_S,
    SELECT,
    ...set(BE),
  );
  body.push(BLOCK, VOID, LOOP, VOID);
  body.push(...get(I), I32_CONST, 1, I32_ADD, ...get(BE), I32_GE_S, BR_IF, 1);
  body.push(...pOfI());
  body.push(...pairOfNeurons());
  body.push(...get(I), I32_CONST, 2, I32_ADD, ...set(I), BR, 0, END, END);
  body.push(...appendMasked(MS, LIST, CNT), ...appendMasked(MP, PARTS, PC));
  body.push(BR, 0, END, END);
  // the part pass lists its spikes after the op's part list (n + 2 ints)
  body.push(...get(PARTS), ...get(N), I32_CONST, 2, I32_ADD, I32_CONST, 2, I32_SHL, I32_ADD, ...set(TMP), I32_CONST, 0, ...set(PS));
  body.push(...partSteps());
  body.push(...mergePartSpikes());
  body.push(...listedSpikes());
  // the odd neuron left, if any
  body.push(...get(I), ...get(N), I32_LT_S, IF, VOID);
  body.push(...pOfI());
  body.push(...scalarNeuron());
  body.push(END);
  //   its spike count
  body.push(...get(COUNTp), ...get(CNT), I32_STORE, 2, 0);
  body.push(...get(OP), I32_CONST, 1, I32_ADD, ...set(OP), BR, 0, END, END);
  body.push(END);

  const section = wasmSection;
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const bytes = [
    ...WASM_HEADER,
    // types: 0 = (f64) -> f64; 1 = (i32, i32, f64, i32, i32) -> (); 2 = (i32, i32) -> ()
    ...section(1, [3, 0x60, 1, F64, 1, F64, 0x60, 5, I32, I32, F64, I32, I32, 0, 0x60, 2, I32, I32, 0]),
    // imports: m.expm1, m.log1p (type 0), memory m.m (shared for the parts of a partitioned run)
    ...section(2, [
      3,
      ...name('m'),
      ...name('expm1'),
      0x00,
      0,
      ...name('m'),
      ...name('log1p'),
      0x00,
      0,
      ...name('m'),
      ...name('m'),
      0x02,
      // limits: min 1 page; shared memory must declare a maximum (4 GB)
      ...(shared ? [0x03, 0x01, ...uleb(65536)] : [0x00, 0x01]),
    ]),
    ...section(3, [1 + TABLE_FUNCTIONS.length, 1, ...TABLE_FUNCTIONS.map(() => 2)]), // lif (type 1); the table functions (type 2)
    // exports: lif, then the table functions, from function 2 (after the two imports)
    ...section(7, [1 + TABLE_FUNCTIONS.length, ...name('lif'), 0x00, 2, ...TABLE_FUNCTIONS.flatMap((f, k) => [...name(f), 0x00, 3 + k])]),
    ...section(10, [
      1 + TABLE_FUNCTIONS.length,
      ...[body, ...TABLE_FUNCTIONS.map((f) => TABLE_BODIES[f](E))].flatMap((b) => [...uleb(b.length), ...b]),
    ]),
  ];
  return new Uint8Array(bytes);
}

/** The compiled module (importing shared memory or not; float64 or float32 arena), or null where WebAssembly is missing or refuses it. */
function lifModule(shared = false, elt: Elt = F64_ELT): object | null {
  return compiledModule(`kernels-${shared ? 'shared' : 'own'}-f${8 * elt.bytes}`, () => moduleBytes(shared, elt));
}

/** Whether the WebAssembly LIF step is in use: on by default, off with NEFSIM_WASM=0 (then JavaScript runs it). */
export function wasmLifEnabled(): boolean {
  return !wasmOffByEnv() && lifModule() !== null;
}

/**
 * V8 (Node 20) calls a WebAssembly function from JavaScript through a
 * generic wrapper, slow per call, until the function has been called 1,000
 * times, and then compiles a wrapper for its signature on the calling thread.
 * The step calls each of these functions once, so a run's first simulated
 * second paid for about 1,000 slow calls per function and then for the
 * compiles, at step 1,000 (0.5-0.9 ms). Calling each function that often
 * here, with no ops, costs about 0.25 ms of build a function and took the
 * first 1,000 steps of the communication channel from a median of 11.9 to
 * 6.2 ms (nine alternating rounds, 2026-11-23); later runs of the same
 * process stay fast. The LIF step is warmed when the module is instantiated,
 * each table function when the plan first places a table for it (so a model
 * pays only for the functions it uses).
 */
const WRAPPER_TIER_UP_CALLS = 1001;
function warmLif(lif: LifStep): void {
  // no ops: nothing is read or written
  for (let i = 0; i < WRAPPER_TIER_UP_CALLS; i++) lif(0, 0, 0.001, 0, 0);
}
function warmTableStep(f: TableStep): void {
  for (let i = 0; i < WRAPPER_TIER_UP_CALLS; i++) f(0, 0);
}

/** Runs the ops of a kernel's table placed in WebAssembly memory (see dot-wasm.ts). */
export type TableStep = (table: number, n: number) => void;

/**
 * The kernels' WebAssembly memory: the arena at byte 0, then what the plan
 * puts after it (spike lists), then room for the kernels' tables; and the
 * functions over it.
 */
export interface WasmKernels {
  readonly buffer: ArrayBufferLike;
  /** The arena's element type. */
  readonly elt: Elt;
  readonly lif: LifStep;
  readonly dot: TableStep;
  readonly enc: TableStep;
  readonly sdot: TableStep;
  readonly spread: TableStep;
  readonly reset: TableStep;
  readonly copy: TableStep;
  readonly copyinc: TableStep;
  readonly lowpass: TableStep;
  readonly gain: TableStep;
  readonly ewinc: TableStep;
  /** Copies a table into the room for tables; returns its byte address. */
  place(table: Int32Array): number;
  /** Brings V8's wrapper for calling `step` from JavaScript to its fast tier (once per function; see warmLif). */
  warm(step: TableStep): void;
  /** Copies f64 values (a kernel's parameters) there, 8-byte aligned; returns their byte address. */
  placeF64(values: Float64Array): number;
}

/**
 * WebAssembly memory of `bytes` bytes plus `tableBytes` for tables, and the
 * kernels over it; undefined without WebAssembly.
 */
export function kernelMemory(bytes: number, tableBytes: number, elt: Elt = F64_ELT): WasmKernels | undefined {
  const start = 16 * Math.ceil(bytes / 16);
  const memory = newKernelMemory(start + tableBytes, false);
  return memory && kernelsOver(memory, false, start, tableBytes, elt);
}

/**
 * New WebAssembly memory of at least `bytes` bytes (shared: a
 * SharedArrayBuffer that the parts of a partitioned run attach to);
 * undefined without WebAssembly or beyond its 4 GB.
 */
export function newKernelMemory(bytes: number, shared: boolean): WasmMemory | undefined {
  const w = wasmApi();
  if (!w || !lifModule(shared)) return undefined;
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) return undefined;
  try {
    return new w.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
  } catch {
    return undefined;
  }
}

/** The kernels over `memory`, their tables placed in [tableStart, tableStart + tableBytes). */
export function kernelsOver(
  memory: WasmMemory,
  shared: boolean,
  tableStart: number,
  tableBytes: number,
  elt: Elt = F64_ELT,
): WasmKernels | undefined {
  const w = wasmApi();
  const mod = lifModule(shared, elt);
  if (!w || !mod) return undefined;
  try {
    const inst = new w.Instance(mod, { m: { m: memory, expm1: Math.expm1, log1p: Math.log1p } });
    warmLif(inst.exports['lif'] as LifStep);
    const warmed = new Set<TableStep>();
    const buffer = memory.buffer;
    let next = tableStart;
    const place = (table: Int32Array): number => {
      if (next + 4 * table.length > tableStart + tableBytes) throw new Error('internal: no room for a kernel table in WebAssembly memory');
      new Int32Array(buffer, next, table.length).set(table);
      const at = next;
      next += 4 * table.length;
      return at;
    };
    return {
      buffer,
      elt,
      lif: inst.exports['lif'] as LifStep,
      dot: inst.exports['dot'] as TableStep,
      enc: inst.exports['enc'] as TableStep,
      sdot: inst.exports['sdot'] as TableStep,
      spread: inst.exports['spread'] as TableStep,
      reset: inst.exports['reset'] as TableStep,
      copy: inst.exports['copy'] as TableStep,
      copyinc: inst.exports['copyinc'] as TableStep,
      lowpass: inst.exports['lowpass'] as TableStep,
      gain: inst.exports['gain'] as TableStep,
      ewinc: inst.exports['ewinc'] as TableStep,
      place,
      warm(step: TableStep): void {
        if (warmed.has(step)) return;
        warmed.add(step);
        warmTableStep(step);
      },
      placeF64(values: Float64Array): number {
        next = 8 * Math.ceil(next / 8);
        return place(new Int32Array(values.buffer, values.byteOffset, 2 * values.length));
      },
    };
  } catch {
    return undefined;
  }
}
