/**
 * The LIF rate curve over many currents in WebAssembly, for the decoder
 * solves' activity matrices (the build's largest single cost on
 * CircularConvolution before this: Math.log1p is a call into C++ that costs
 * about 20 ns here, a fifth of the cold build).
 *
 *   rate(J) = amplitude / (tau_ref + tau_rc * log1p(1 / (J - 1)))  for J > 1, else 0
 *
 * log1p is fdlibm's (the algorithm V8's Math.log1p runs), written out for the
 * arguments that occur here, x = 1 / (J - 1) for J > 1: from 0 (J = Infinity)
 * to 2^52 (J - 1 of a double J > 1 is at least 2^-52). With the same
 * operations in the same order, WebAssembly's IEEE double arithmetic gives
 * the same bits as Math.log1p
 * (test/rates-wasm.test.ts compares them over millions of currents, and
 * over every branch). fdlibm's method, for 1 + x = 2^k (1 + f) with
 * sqrt(2)/2 < 1 + f < sqrt(2), u = fl(1 + x) and c = (1 + x - u) / u:
 *   s = f / (2 + f), z = s², R = z (Lp1 + z (Lp2 + ... + z Lp7)),
 *   log1p(x) = k ln2_hi - ((f²/2 - (s (f²/2 + R) + (c + k ln2_lo))) - f).
 *
 * Tried and dropped: two neurons at a time in f64x2 lanes (both common
 * branches of log1p computed and merged with bit selects, rare lanes by the
 * scalar code; bit-identical). Warm it took 17.6-18.7 ns per rate against
 * the scalar loop's 14.7-15.7 here: the lanes do both branches' work and
 * as many divisions, and the scalar loop's branches cost less than that.
 */
import {
  F64_EQ,
  I32_EQZ,
  I32_GT_S,
  I32_SUB,
  I32_OR,
  I32_SHR_S,
  I32_WRAP_I64,
  I64_EXTEND_I32_U,
  I64_CONST,
  I64_AND,
  I64_OR,
  I64_SHL,
  I64_SHR_U,
  F64_CONVERT_I32_S,
  I64_REINTERPRET_F64,
  F64_REINTERPRET_I64,
  BLOCK,
  BR,
  ELSE,
  END,
  F64,
  F64_ADD,
  F64_DIV,
  F64_GT,
  F64_LOAD,
  F64_MUL,
  F64_STORE,
  F64_SUB,
  I32,
  I32_ADD,
  I32_AND,
  I32_CONST,
  I32_LOAD,
  I32_LT_S,
  I32_GE_S,
  I32_SHL,
  SELECT,
  IF,
  LOOP,
  BR_IF,
  VOID,
  WASM_HEADER,
  f64,
  get,
  set,
  uleb,
  compiledModule,
  sleb,
  wasmApi,
  wasmOffByEnv,
  wasmSection,
  type WasmMemory,
} from '../wasm.js';

const i32 = (n: number): number[] => [I32_CONST, ...sleb(n | 0)];

// fdlibm's constants
const LN2_HI = 6.9314718036912381649e-1,
  LN2_LO = 1.90821492927058770002e-10,
  LP = [
    6.66666666666673513e-1, 3.999999999940941908e-1, 2.857142874366239149e-1, 2.222219843214978396e-1, 1.818357216161805012e-1,
    1.531383769920937332e-1, 1.479819860511658591e-1,
  ] as const;

// parameters: n, J (byte address), out (byte address), tauRc, tauRef, amplitude
const N = 0,
  JA = 1,
  OUT = 2,
  TAU_RC = 3,
  TAU_REF = 4,
  AMP = 5;
// locals
const I = 6, // i32: byte offset of the current element
  HX = 7, // i32: high word of x
  K = 8, // i32
  HU = 9, // i32
  X = 10, // f64 ...
  U = 11,
  C = 12,
  F = 13,
  HFSQ = 14,
  S = 15,
  Z = 16,
  R = 17,
  DK = 18; // k as a double

/** The high 32 bits of f64 local `l`. */
const hiWord = (l: number): number[] => [...get(l), I64_REINTERPRET_F64, I64_CONST, 32, I64_SHR_U, I32_WRAP_I64];
/** f64 local `l` with its high word replaced by i32 local `h`'s bits `| or`. */
const withHiWord = (l: number, h: number, or: number): number[] => [
  ...get(h),
  ...i32(or),
  I32_OR,
  I64_EXTEND_I32_U,
  I64_CONST,
  32,
  I64_SHL,
  ...get(l),
  I64_REINTERPRET_F64,
  I64_CONST,
  ...sleb(0xffffffff),
  I64_AND,
  I64_OR,
  F64_REINTERPRET_I64,
  ...set(l),
];
/** k ln2_hi (k as a double). */
const kHi = (): number[] => [...get(DK), ...f64(LN2_HI), F64_MUL];
/** c + k ln2_lo. */
const cPlusKLo = (): number[] => [...get(C), ...get(DK), ...f64(LN2_LO), F64_MUL, F64_ADD];

/** log1p of local X (x >= 0, finite), left on the stack. */
function log1pBody(): number[] {
  const b: number[] = [];
  // a block (result f64): each of fdlibm's returns is a `br` out of it with the value
  b.push(BLOCK, F64);
  b.push(...hiWord(X), ...set(HX));
  // x < sqrt(2) - 1: k = 0, f = x; below 2^-29, x - x²/2, and below 2^-54, x
  b.push(...get(HX), ...i32(0x3fda827a), I32_LT_S, IF, VOID);
  b.push(...get(HX), ...i32(0x3e200000), I32_LT_S, IF, VOID);
  b.push(...get(HX), ...i32(0x3c900000), I32_LT_S, IF, F64, ...get(X), ELSE);
  b.push(...get(X), ...get(X), ...get(X), F64_MUL, ...f64(0.5), F64_MUL, F64_SUB, END, BR, 2);
  b.push(END);
  b.push(...i32(0), ...set(K), ...get(X), ...set(F), ...i32(1), ...set(HU), ...f64(0), ...set(C));
  b.push(ELSE);
  // u = fl(1 + x), k its exponent, c = (1 + x - u) / u; from 2^53 on, u = x and c = 0
  b.push(...get(HX), ...i32(0x43400000), I32_LT_S, IF, VOID);
  b.push(...f64(1), ...get(X), F64_ADD, ...set(U), ...hiWord(U), ...set(HU));
  b.push(...get(HU), ...i32(20), I32_SHR_S, ...i32(1023), I32_SUB, ...set(K));
  b.push(...get(K), ...i32(0), I32_GT_S, IF, F64);
  b.push(...f64(1), ...get(U), ...get(X), F64_SUB, F64_SUB, ELSE);
  b.push(...get(X), ...get(U), ...f64(1), F64_SUB, F64_SUB, END);
  b.push(...get(U), F64_DIV, ...set(C));
  b.push(ELSE);
  b.push(...get(X), ...set(U), ...get(HX), ...set(HU));
  b.push(...get(HU), ...i32(20), I32_SHR_S, ...i32(1023), I32_SUB, ...set(K), ...f64(0), ...set(C));
  b.push(END);
  b.push(...get(HU), ...i32(0x000fffff), I32_AND, ...set(HU));
  // u's mantissa, scaled into [sqrt(2)/2, sqrt(2)): f = u - 1
  b.push(...get(HU), ...i32(0x6a09e), I32_LT_S, IF, VOID);
  b.push(...withHiWord(U, HU, 0x3ff00000));
  b.push(ELSE);
  b.push(...get(K), ...i32(1), I32_ADD, ...set(K), ...withHiWord(U, HU, 0x3fe00000));
  b.push(...i32(0x00100000), ...get(HU), I32_SUB, ...i32(2), I32_SHR_S, ...set(HU));
  b.push(END);
  b.push(...get(U), ...f64(1), F64_SUB, ...set(F));
  b.push(END);
  b.push(...get(K), F64_CONVERT_I32_S, ...set(DK));
  b.push(...f64(0.5), ...get(F), F64_MUL, ...get(F), F64_MUL, ...set(HFSQ)); // hfsq = 0.5 f f
  // |f| < 2^-20: f = 0 gives k ln2_hi + (c + k ln2_lo) (0 when k = 0); else R = hfsq (1 - 2/3 f)
  // (the double 2/3, fdlibm's 0.66666666666666666) and f - R (k = 0) or k ln2_hi - ((R - (c + k ln2_lo)) - f)
  b.push(...get(HU), I32_EQZ, IF, VOID);
  b.push(...get(F), ...f64(0), F64_EQ, IF, VOID);
  b.push(...get(K), I32_EQZ, IF, F64, ...f64(0), ELSE, ...kHi(), ...cPlusKLo(), F64_ADD, END, BR, 2);
  b.push(END);
  b.push(...get(HFSQ), ...f64(1), ...f64(2 / 3), ...get(F), F64_MUL, F64_SUB, F64_MUL, ...set(R));
  b.push(...get(K), I32_EQZ, IF, F64, ...get(F), ...get(R), F64_SUB, ELSE);
  b.push(...kHi(), ...get(R), ...cPlusKLo(), F64_SUB, ...get(F), F64_SUB, F64_SUB, END, BR, 1);
  b.push(END);
  // s = f / (2 + f), z = s², R = z (Lp1 + z (Lp2 + ... + z Lp7))
  b.push(...get(F), ...f64(2), ...get(F), F64_ADD, F64_DIV, ...set(S));
  b.push(...get(S), ...get(S), F64_MUL, ...set(Z));
  b.push(...get(Z), ...f64(LP[6]), F64_MUL);
  for (let t = 5; t >= 0; t--) b.push(...f64(LP[t]!), F64_ADD, ...get(Z), F64_MUL);
  b.push(...set(R));
  // f - (hfsq - s (hfsq + R)) when k = 0, else k ln2_hi - ((hfsq - (s (hfsq + R) + (c + k ln2_lo))) - f)
  const sTerm = [...get(S), ...get(HFSQ), ...get(R), F64_ADD, F64_MUL];
  b.push(...get(K), I32_EQZ, IF, F64, ...get(F), ...get(HFSQ), ...sTerm, F64_SUB, F64_SUB, ELSE);
  b.push(...kHi(), ...get(HFSQ), ...sTerm, ...cPlusKLo(), F64_ADD, F64_SUB, ...get(F), F64_SUB, F64_SUB, END);
  b.push(END);
  return b;
}

/** The rate loop: out[i] = J[i] - 1 > 0 ? amplitude / (tauRef + tauRc log1p(1 / (J[i] - 1))) : 0, in place. */
function ratesBody(): number[] {
  const b: number[] = [2, 4, I32, 9, F64]; // locals: I, HX, K, HU; X, U, C, F, HFSQ, S, Z, R, DK
  b.push(BLOCK, VOID, ...get(N), I32_EQZ, BR_IF, 0, LOOP, VOID);
  b.push(...get(JA), ...get(I), I32_ADD, F64_LOAD, 3, 0, ...f64(1), F64_SUB, ...set(X)); // j
  b.push(...get(OUT), ...get(I), I32_ADD); // the store's address
  b.push(...get(X), ...f64(0), F64_GT, IF, F64);
  b.push(...f64(1), ...get(X), F64_DIV, ...set(X));
  b.push(...get(AMP), ...get(TAU_REF), ...get(TAU_RC), ...log1pBody(), F64_MUL, F64_ADD, F64_DIV);
  b.push(ELSE, ...f64(0), END, F64_STORE, 3, 0);
  b.push(...get(I), ...i32(8), I32_ADD, ...set(I), ...get(I), ...get(N), I32_LT_S, BR_IF, 0);
  b.push(END, END, END);
  return b;
}

// the activities function's own locals, after those it shares with the rate loop (its parameters
// are m, n, d in place of N, JA, OUT; the arrays' byte addresses come from memory bytes 0..15)
const P = 19, // i32: eval point
  II = 20, // i32: neuron
  JJ = 21, // i32: byte offset of the dimension
  ENC = 22, // i32: byte address of the neuron's encoder
  BIAS = 23, // i32: byte address of the neuron's bias
  XO = 24, // i32: byte address of the eval point
  DB = 25, // i32: d * 8
  SUM = 26, // f64
  MX = 27, // f64
  RATE = 28; // f64

/**
 * Activities and their maximum in one pass (build.ts's activities() then the
 * rate loop then the solver's max(A), with their operations in their order):
 * out[p n + i] = rate(bias[i] + sum_j enc[i d + j] x[p d + j]); returns the
 * largest (as `a > max ? a : max` from -Infinity).
 */
function activitiesBody(): number[] {
  const [M, NN, D] = [0, 1, 2];
  const b: number[] = [4, 4, I32, 9, F64, 7, I32, 3, F64];
  b.push(...i32(12), I32_LOAD, 2, 0, ...set(I)); // out
  b.push(...i32(8), I32_LOAD, 2, 0, ...set(XO));
  b.push(...get(D), ...i32(3), I32_SHL, ...set(DB));
  b.push(...f64(-Infinity), ...set(MX));
  b.push(...i32(0), ...set(P));
  b.push(BLOCK, VOID, LOOP, VOID, ...get(P), ...get(M), I32_GE_S, BR_IF, 1);
  b.push(...i32(0), I32_LOAD, 2, 0, ...set(ENC), ...i32(4), I32_LOAD, 2, 0, ...set(BIAS), ...i32(0), ...set(II));
  b.push(LOOP, VOID);
  // J = bias[i] + enc[i, 0] x[p, 0] + enc[i, 1] x[p, 1] + ...
  b.push(...get(BIAS), F64_LOAD, 3, 0, ...set(SUM), ...i32(0), ...set(JJ));
  b.push(LOOP, VOID);
  b.push(...get(SUM), ...get(ENC), ...get(JJ), I32_ADD, F64_LOAD, 3, 0, ...get(XO), ...get(JJ), I32_ADD, F64_LOAD, 3, 0);
  b.push(F64_MUL, F64_ADD, ...set(SUM));
  b.push(...get(JJ), ...i32(8), I32_ADD, ...set(JJ), ...get(JJ), ...get(DB), I32_LT_S, BR_IF, 0, END);
  // its rate, as the rate loop
  b.push(...get(SUM), ...f64(1), F64_SUB, ...set(X));
  b.push(...get(X), ...f64(0), F64_GT, IF, F64);
  b.push(...f64(1), ...get(X), F64_DIV, ...set(X));
  b.push(...get(AMP), ...get(TAU_REF), ...get(TAU_RC), ...log1pBody(), F64_MUL, F64_ADD, F64_DIV);
  b.push(ELSE, ...f64(0), END, ...set(RATE));
  b.push(...get(I), ...get(RATE), F64_STORE, 3, 0);
  b.push(...get(RATE), ...get(MX), ...get(RATE), ...get(MX), F64_GT, SELECT, ...set(MX));
  b.push(...get(I), ...i32(8), I32_ADD, ...set(I));
  b.push(...get(ENC), ...get(DB), I32_ADD, ...set(ENC), ...get(BIAS), ...i32(8), I32_ADD, ...set(BIAS));
  b.push(...get(II), ...i32(1), I32_ADD, ...set(II), ...get(II), ...get(NN), I32_LT_S, BR_IF, 0, END);
  b.push(...get(XO), ...get(DB), I32_ADD, ...set(XO));
  b.push(...get(P), ...i32(1), I32_ADD, ...set(P), BR, 0, END, END);
  b.push(...get(MX), END);
  return b;
}

function moduleBytes(): Uint8Array {
  const bodies = [ratesBody(), activitiesBody()];
  const name = (s: string): number[] => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  return new Uint8Array([
    ...WASM_HEADER,
    // types: (n bytes, J, out, tauRc, tauRef, amp) -> (); (m, n, d, tauRc, tauRef, amp) -> max
    ...wasmSection(1, [2, 0x60, 6, I32, I32, I32, F64, F64, F64, 0, 0x60, 6, I32, I32, I32, F64, F64, F64, 1, F64]),
    // its memory, imported as m.m (made at the size a call needs: see withRoom)
    ...wasmSection(2, [1, ...name('m'), ...name('m'), 0x02, 0x00, 1]),
    ...wasmSection(3, [2, 0, 1]),
    ...wasmSection(7, [2, ...name('rates'), 0x00, 0, ...name('act'), 0x00, 1]),
    ...wasmSection(10, [2, ...bodies.flatMap((body) => [...uleb(body.length), ...body])]),
  ]);
}

type RatesFn = (nBytes: number, j: number, out: number, tauRc: number, tauRef: number, amp: number) => void;
type ActivitiesFn = (m: number, n: number, d: number, tauRc: number, tauRef: number, amp: number) => number;
let instance: { rates: RatesFn; act: ActivitiesFn; memory: WasmMemory } | null | undefined;

/** A new instance of the module over a new memory of `pages` pages (null where WebAssembly is missing or refuses). */
function newInstance(pages: number): NonNullable<typeof instance> | null {
  const w = wasmApi();
  const module = compiledModule('rates', moduleBytes);
  try {
    if (!w || !module) return null;
    const memory = new w.Memory({ initial: pages });
    const inst = new w.Instance(module, { m: { m: memory } });
    return { rates: inst.exports['rates'] as RatesFn, act: inst.exports['act'] as ActivitiesFn, memory };
  } catch {
    return null;
  }
}

/**
 * The instance kept for the process serves requests up to this size; a
 * larger one gets an instance of its own, which the garbage collector frees
 * after (a long-lived session that built one huge ensemble would otherwise
 * hold its size).
 */
const KEEP_BYTES = 64 << 20;

/** Below this many currents the JavaScript loop is used (no copies). */
const MIN_WASM = 256;

/** Whether `count` rates go to WebAssembly: enough of them, not too many for its memory, and not turned off. */
function applies(count: number): boolean {
  return count >= MIN_WASM && count <= 1 << 27 && !wasmOffByEnv();
}

/**
 * The LIF rates of currents J into out (which may be J), in WebAssembly;
 * false (nothing done) where WebAssembly is missing or off (NEFSIM_WASM=0),
 * for fewer than MIN_WASM currents, or when its memory cannot grow.
 */
export function lifRatesWasm(J: Float64Array, out: Float64Array, tauRc: number, tauRef: number, amplitude: number): boolean {
  const n = J.length;
  if (!applies(n)) return false;
  const k = withRoom(8 * n);
  if (!k) return false;
  const W = new Float64Array(k.memory.buffer, 0, n);
  W.set(J);
  k.rates(8 * n, 0, 0, tauRc, tauRef, amplitude);
  out.set(W);
  return true;
}

/**
 * An instance with at least `bytes` of memory (null where WebAssembly is
 * missing or refuses). A memory too small is replaced, never grown: growing
 * a WebAssembly memory detaches its old buffer, and V8 then brought its first
 * full garbage collection forward into the steps that followed a build (5-9
 * ms in a small model's first simulated second). A call needs enc, bias, x
 * and one chunk of activities: a few pages for most ensembles.
 */
function withRoom(bytes: number): NonNullable<typeof instance> | null {
  const pages = Math.ceil(bytes / 65536);
  if (bytes > KEEP_BYTES) return newInstance(pages);
  if (!instance || instance.memory.buffer.byteLength < bytes) instance = newInstance(pages);
  return instance;
}

/**
 * The activities of a LIF ensemble at its eval points, into out (m x n,
 * row-major): rate(bias[i] + enc[i, :] . x[p, :]) with enc n x d and x m x d,
 * as build.ts's activities() and the rate loop compute them, bit for bit.
 * Returns their maximum (the solvers' max(A)), or undefined (nothing done)
 * where the WebAssembly path does not apply (see lifRatesWasm; d = 0).
 */
export function lifActivitiesWasm(
  enc: Float64Array,
  bias: Float64Array,
  x: Float64Array,
  m: number,
  n: number,
  d: number,
  out: Float64Array,
  tauRc: number,
  tauRef: number,
  amplitude: number,
): number | undefined {
  if (!applies(m * n) || d < 1) return undefined;
  // In calls of about ACT_CHUNK activities: V8 runs a WebAssembly function first as quickly compiled
  // code and switches to its optimised code only for later calls, so one call over a large matrix
  // ran all of it slowly (2,000 neurons x 4,000 points: 175 ms in one call, 90 ms in calls of
  // 32,000, 54 ms once optimised). The maximum over the calls is the maximum over all.
  const rows = Math.max(1, Math.floor(ACT_CHUNK / n));
  // memory: 16 bytes of addresses, then enc, bias, x and one call's activities (copied out after
  // each call: the whole matrix there doubled the build's memory outside V8's heap, which brought
  // V8's first full collection into a small model's first simulated second)
  const encAt = 16,
    biasAt = encAt + 8 * n * d,
    xAt = biasAt + 8 * n,
    outAt = xAt + 8 * m * d;
  const k = withRoom(outAt + 8 * Math.min(rows, m) * n);
  if (!k) return undefined;
  const buf = k.memory.buffer;
  const addresses = new Int32Array(buf, 0, 4);
  new Float64Array(buf, encAt, n * d).set(enc.subarray(0, n * d));
  new Float64Array(buf, biasAt, n).set(bias.subarray(0, n));
  new Float64Array(buf, xAt, m * d).set(x.subarray(0, m * d));
  let max = -Infinity;
  for (let r0 = 0; r0 < m; r0 += rows) {
    const count = Math.min(rows, m - r0);
    addresses.set([encAt, biasAt, xAt + 8 * d * r0, outAt]);
    const part = k.act(count, n, d, tauRc, tauRef, amplitude);
    max = part > max ? part : max;
    out.set(new Float64Array(buf, outAt, count * n), r0 * n);
  }
  return max;
}

/** Activities per call of the activities function (see lifActivitiesWasm). */
export const ACT_CHUNK = 32768;
