/**
 * The LIF step (LIFKernel's inner loop) as a WebAssembly function over an
 * arena that lives in WebAssembly memory. It performs the same IEEE double
 * operations in the same order as the JavaScript loop (the short series for
 * log1p and expm1 included, with Math.log1p / Math.expm1 imported for large
 * arguments), so both give identical results, bit for bit; WebAssembly only
 * drops the bounds checks and the JIT's guards, which cost most of a
 * neuron's update in JavaScript.
 *
 * lif(J, out, v, ref, n, tauRc, tauRef, minV, spike, full, dt, list) -> spikes:
 * byte offsets of the op's signals and of its spike list; returns how many
 * neurons spiked (their indices are written to the list).
 */
import { uleb, wasmApi, wasmOffByEnv, wasmSection } from '../wasm.js';

export type LifStep = (
  J: number,
  out: number,
  v: number,
  ref: number,
  n: number,
  tauRc: number,
  tauRef: number,
  minV: number,
  spike: number,
  full: number,
  dt: number,
  list: number,
) => number;

/** Arguments beyond which the series give way to Math's functions (as log1pSmall / expm1Small). */
const SMALL = 0.0625;

// opcodes
const GET = 0x20,
  SET = 0x21;
const F64_LOAD = 0x2b,
  F64_STORE = 0x39,
  I32_STORE = 0x36;
const F64_CONST = 0x44,
  I32_CONST = 0x41;
const F64_ADD = 0xa0,
  F64_SUB = 0xa1,
  F64_MUL = 0xa2,
  F64_DIV = 0xa3,
  F64_NEG = 0x9a;
const F64_LT = 0x63,
  F64_GT = 0x64,
  F64_LE = 0x65,
  F64_GE = 0x66;
const I32_ADD = 0x6a,
  I32_SHL = 0x74,
  I32_AND = 0x71,
  I32_GE_S = 0x4e;
const IF = 0x04,
  ELSE = 0x05,
  END = 0x0b,
  BLOCK = 0x02,
  LOOP = 0x03,
  BR = 0x0c,
  BR_IF = 0x0d,
  CALL = 0x10,
  SELECT = 0x1b;
const VOID = 0x40,
  F64 = 0x7c,
  I32 = 0x7f;

// function indices: imports first
const EXPM1 = 0,
  LOG1P = 1;
// locals: params, then i32 i, cnt, p; f64 r, j, vi, ts, lo, x, s, s2
const Jp = 0,
  OUTp = 1,
  Vp = 2,
  REFp = 3,
  N = 4,
  TAU_RC = 5,
  TAU_REF = 6,
  MIN_V = 7,
  SPIKE = 8,
  FULL = 9,
  DT = 10,
  LIST = 11;
const I = 12,
  CNT = 13,
  P = 14,
  R = 15,
  JV = 16,
  VI = 17,
  TS = 18,
  LO = 19,
  X = 20,
  S = 21,
  S2 = 22;

function f64(x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [F64_CONST, ...b];
}
const get = (l: number): number[] => [GET, l];
const set = (l: number): number[] => [SET, l];
const load = (base: number): number[] => [...get(base), ...get(P), I32_ADD, F64_LOAD, 3, 0];
/** Stores the value the code `value` leaves on the stack at base + p. */
const store = (base: number, value: number[]): number[] => [...get(base), ...get(P), I32_ADD, ...value, F64_STORE, 3, 0];

/** expm1(x) of local X: the series for |x| <= SMALL, else Math.expm1 (expm1Small's operations). */
function expm1Small(): number[] {
  let t = [...f64(1 / 362880), ...get(X), ...f64(3628800), F64_DIV, F64_ADD];
  for (const c of [1 / 40320, 1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1]) t = [...f64(c), ...get(X), ...t, F64_MUL, F64_ADD];
  const poly = [...get(X), ...t, F64_MUL];
  return [
    ...get(X),
    ...f64(-SMALL),
    F64_GE,
    ...get(X),
    ...f64(SMALL),
    F64_LE,
    I32_AND,
    IF,
    F64,
    ...poly,
    ELSE,
    ...get(X),
    CALL,
    EXPM1,
    END,
  ];
}

/** log1p(x) of local X: 2 atanh(s), s = x / (2 + x), for |x| <= SMALL, else Math.log1p (log1pSmall's operations). */
function log1pSmall(): number[] {
  let t = [...f64(1 / 11), ...get(S2), ...f64(13), F64_DIV, F64_ADD];
  for (const c of [1 / 9, 1 / 7, 1 / 5, 1 / 3, 1]) t = [...f64(c), ...get(S2), ...t, F64_MUL, F64_ADD];
  const poly = [
    ...get(X),
    ...f64(2),
    ...get(X),
    F64_ADD,
    F64_DIV,
    ...set(S), // s = x / (2 + x)
    ...get(S),
    ...get(S),
    F64_MUL,
    ...set(S2),
    ...f64(2),
    ...get(S),
    F64_MUL,
    ...t,
    F64_MUL,
  ];
  return [
    ...get(X),
    ...f64(-SMALL),
    F64_GE,
    ...get(X),
    ...f64(SMALL),
    F64_LE,
    I32_AND,
    IF,
    F64,
    ...poly,
    ELSE,
    ...get(X),
    CALL,
    LOG1P,
    END,
  ];
}

function moduleBytes(): Uint8Array {
  const body: number[] = [2, 3, I32, 8, F64]; // locals: 3 i32, 8 f64
  body.push(I32_CONST, 0, ...set(I), I32_CONST, 0, ...set(CNT));
  body.push(BLOCK, VOID, LOOP, VOID);
  body.push(...get(I), ...get(N), I32_GE_S, BR_IF, 1);
  body.push(...get(I), I32_CONST, 3, I32_SHL, ...set(P));
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
  // if (vi > 1): a spike
  body.push(...get(VI), ...f64(1), F64_GT, IF, VOID);
  //   tSpike = dt + tauRc * log1pSmall(-(vi - 1) / (j - 1))
  body.push(...get(VI), ...f64(1), F64_SUB, F64_NEG, ...get(JV), ...f64(1), F64_SUB, F64_DIV, ...set(X));
  body.push(...get(DT), ...get(TAU_RC), ...log1pSmall(), F64_MUL, F64_ADD, ...set(TS));
  body.push(...store(OUTp, get(SPIKE)));
  //   list[cnt++] = i
  body.push(...get(LIST), ...get(CNT), I32_CONST, 2, I32_SHL, I32_ADD, ...get(I), I32_STORE, 2, 0);
  body.push(...get(CNT), I32_CONST, 1, I32_ADD, ...set(CNT));
  //   leftover = dt - tSpike - tauRef
  body.push(...get(DT), ...get(TS), F64_SUB, ...get(TAU_REF), F64_SUB, ...set(LO));
  body.push(...get(LO), ...f64(0), F64_GT, IF, VOID);
  body.push(...store(Vp, [...get(JV), ...get(LO), F64_NEG, ...get(TAU_RC), F64_DIV, CALL, EXPM1, F64_NEG, F64_MUL]));
  body.push(...store(REFp, f64(0)));
  body.push(ELSE);
  body.push(...store(Vp, f64(0)));
  body.push(...store(REFp, [...get(TAU_REF), ...get(TS), F64_ADD]));
  body.push(END);
  body.push(ELSE);
  body.push(...store(OUTp, f64(0)));
  body.push(...store(Vp, [...get(VI), ...get(MIN_V), ...get(VI), ...get(MIN_V), F64_GT, SELECT]));
  body.push(...store(REFp, get(R)));
  body.push(END);
  body.push(...get(I), I32_CONST, 1, I32_ADD, ...set(I), BR, 0, END, END);
  body.push(...get(CNT), END);

  const section = wasmSection;
  const name = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    // types: 0 = (f64) -> f64; 1 = (i32 x5, f64 x6, i32) -> i32
    ...section(1, [2, 0x60, 1, F64, 1, F64, 0x60, 12, I32, I32, I32, I32, I32, F64, F64, F64, F64, F64, F64, I32, 1, I32]),
    // imports: m.expm1, m.log1p (type 0), memory m.m (min 1 page)
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
      0x00,
      0x01,
    ]),
    ...section(3, [1, 1]), // one function of type 1
    ...section(7, [1, ...name('lif'), 0x00, 2]), // export "lif" = function 2
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  return new Uint8Array(bytes);
}

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly is missing or refuses it. */
function lifModule(): object | null {
  if (compiled === undefined) {
    const w = wasmApi();
    try {
      const bytes = moduleBytes();
      compiled = w && w.validate(bytes) ? new w.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether the WebAssembly LIF step is in use: on by default, off with NEFSIM_WASM=0 (then JavaScript runs it). */
export function wasmLifEnabled(): boolean {
  return !wasmOffByEnv() && lifModule() !== null;
}

/** WebAssembly memory of at least `bytes` bytes, and the LIF step over it; undefined without WebAssembly. */
export function lifMemory(bytes: number): { buffer: ArrayBuffer; lif: LifStep } | undefined {
  const w = wasmApi();
  const mod = lifModule();
  if (!w || !mod) return undefined;
  try {
    const memory = new w.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    const inst = new w.Instance(mod, { m: { m: memory, expm1: Math.expm1, log1p: Math.log1p } });
    return { buffer: memory.buffer, lif: inst.exports['lif'] as LifStep };
  } catch {
    return undefined; // e.g. more than WebAssembly's 4 GB: the arena stays a plain Float64Array
  }
}
