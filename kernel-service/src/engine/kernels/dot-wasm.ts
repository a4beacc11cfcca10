/**
 * The products of DotIncKernel, EncodeKernel and SpikeDotIncKernel as
 * WebAssembly functions over the arena in WebAssembly memory (assembled with
 * the LIF step into one module, see lif-wasm.ts). Each runs all ops of its
 * kernel from a table the kernel copies into that memory, with byte
 * addresses:
 *   dot(table, n):  [W, rows, cols, x, y] per op        y += W x
 *   enc(table, n):  [b, W, rows, cols, x, y] per op     y = b + W x
 *   sdot(table, n): [W, rows, cols, x, y, list, count]  y += W x over the spike list
 * They perform the JavaScript kernels' IEEE operations in the same order (a
 * row's dot product in two interleaved sums, which are the two lanes of an
 * f64x2 here), so both give identical results, bit for bit.
 */
import {
  BLOCK,
  BR,
  BR_IF,
  ELSE,
  END,
  F64,
  F64_ADD,
  F64_LOAD,
  F64_MUL,
  F64_STORE,
  F64X2_ADD,
  F64X2_EXTRACT,
  F64X2_MUL,
  F64X2_SPLAT,
  I32,
  I32_ADD,
  I32_AND,
  I32_CONST,
  I32_GE_S,
  I32_LOAD,
  I32_SHL,
  IF,
  LOOP,
  V128,
  V_LOAD,
  V_STORE,
  VOID,
  f64,
  get,
  set,
  vconst,
} from '../wasm.js';

const I32_EQ = 0x46,
  F64_NE = 0x62;

// locals shared by the three bodies: params table = 0, n = 1; then
const K = 2, // op counter
  T = 3, // table byte address of the op
  W = 4,
  ROWS = 5,
  COLS = 6,
  X = 7,
  Y = 8,
  B = 9,
  C = 10, // byte offset within a row
  END2 = 11, // bytes of a row's even part
  R = 12,
  Q = 13, // spike list address
  QEND = 14;
const XV = 15, // f64
  S0 = 16;
const ACC = 17, // v128
  XV2 = 18;
const LOCALS = [3, 13, I32, 2, F64, 2, V128];

const ld32 = (field: number): number[] => [...get(T), I32_LOAD, 2, 4 * field];
const ldf = (addr: number[]): number[] => [...addr, F64_LOAD, 3, 0];
const add = (a: number, b: number): number[] => [...get(a), ...get(b), I32_ADD];

/** Loop `body` over ops: T walks the table by `stride` ints. */
function overOps(stride: number, body: number[]): number[] {
  return [
    I32_CONST,
    0,
    ...set(K),
    ...get(0),
    ...set(T),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(K),
    ...get(1),
    I32_GE_S,
    BR_IF,
    1,
    ...body,
    ...get(T),
    I32_CONST,
    4 * stride,
    I32_ADD,
    ...set(T),
    ...get(K),
    I32_CONST,
    1,
    I32_ADD,
    ...set(K),
    BR,
    0,
    END,
    END,
  ];
}

/** for (r = 0; r < rows; r++) body, with R counting. */
function overRows(body: number[]): number[] {
  return [I32_CONST, 0, ...set(R), BLOCK, VOID, LOOP, VOID, ...get(R), ...get(ROWS), I32_GE_S, BR_IF, 1, ...body];
}
const nextRow = (): number[] => [...get(R), I32_CONST, 1, I32_ADD, ...set(R), BR, 0, END, END];

/** W[W .. W + cols) . x[X .. X + cols) as rowDot: s0 over even columns (plus the odd last), s1 over odd, s0 + s1. */
function rowDot(): number[] {
  return [
    ...vconst(0),
    ...set(ACC),
    ...get(COLS),
    I32_CONST,
    0x7e, // -2: the even part
    I32_AND,
    I32_CONST,
    3,
    I32_SHL,
    ...set(END2),
    I32_CONST,
    0,
    ...set(C),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(C),
    ...get(END2),
    I32_GE_S,
    BR_IF,
    1,
    ...get(ACC),
    ...add(W, C),
    ...V_LOAD,
    3,
    0,
    ...add(X, C),
    ...V_LOAD,
    3,
    0,
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...set(ACC),
    ...get(C),
    I32_CONST,
    16,
    I32_ADD,
    ...set(C),
    BR,
    0,
    END,
    END,
    ...get(ACC),
    ...F64X2_EXTRACT(0),
    ...set(S0),
    ...get(COLS),
    I32_CONST,
    1,
    I32_AND,
    IF,
    VOID,
    ...get(S0),
    ...ldf(add(W, END2)),
    ...ldf(add(X, END2)),
    F64_MUL,
    F64_ADD,
    ...set(S0),
    END,
    ...get(S0),
    ...get(ACC),
    ...F64X2_EXTRACT(1),
    F64_ADD,
  ];
}

/** y[i] = base(i) + w[i] * xv over i < rows, pairs in f64x2 (base: y for +=, b for enc). */
function axpy(base: number): number[] {
  const pairs = [
    ...get(XV),
    ...F64X2_SPLAT,
    ...set(XV2),
    ...get(ROWS),
    I32_CONST,
    0x7e,
    I32_AND,
    I32_CONST,
    3,
    I32_SHL,
    ...set(END2),
    I32_CONST,
    0,
    ...set(C),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(C),
    ...get(END2),
    I32_GE_S,
    BR_IF,
    1,
    ...add(Y, C),
    ...add(base, C),
    ...V_LOAD,
    3,
    0,
    ...add(W, C),
    ...V_LOAD,
    3,
    0,
    ...get(XV2),
    ...F64X2_MUL,
    ...F64X2_ADD,
    ...V_STORE,
    3,
    0,
    ...get(C),
    I32_CONST,
    16,
    I32_ADD,
    ...set(C),
    BR,
    0,
    END,
    END,
  ];
  const last = [
    ...get(ROWS),
    I32_CONST,
    1,
    I32_AND,
    IF,
    VOID,
    ...add(Y, END2),
    ...ldf(add(base, END2)),
    ...ldf(add(W, END2)),
    ...get(XV),
    F64_MUL,
    F64_ADD,
    F64_STORE,
    3,
    0,
    END,
  ];
  return [...pairs, ...last];
}

/** y[i] = b[i] over i < rows (bit copies, pairs in v128). */
function copyRows(): number[] {
  return [
    ...get(ROWS),
    I32_CONST,
    0x7e,
    I32_AND,
    I32_CONST,
    3,
    I32_SHL,
    ...set(END2),
    I32_CONST,
    0,
    ...set(C),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(C),
    ...get(END2),
    I32_GE_S,
    BR_IF,
    1,
    ...add(Y, C),
    ...add(B, C),
    ...V_LOAD,
    3,
    0,
    ...V_STORE,
    3,
    0,
    ...get(C),
    I32_CONST,
    16,
    I32_ADD,
    ...set(C),
    BR,
    0,
    END,
    END,
    ...get(ROWS),
    I32_CONST,
    1,
    I32_AND,
    IF,
    VOID,
    ...add(Y, END2),
    ...ldf(add(B, END2)),
    F64_STORE,
    3,
    0,
    END,
  ];
}

const colsIsOne = (): number[] => [...get(COLS), I32_CONST, 1, I32_EQ];
const xvNonZero = (): number[] => [...ldf(get(X)), ...set(XV), ...get(XV), ...f64(0), F64_NE];
/** W += cols * 8; Y += 8: the next row. */
const advanceRow = (): number[] => [
  ...get(W),
  ...get(COLS),
  I32_CONST,
  3,
  I32_SHL,
  I32_ADD,
  ...set(W),
  ...get(Y),
  I32_CONST,
  8,
  I32_ADD,
  ...set(Y),
];

/** dot(table, n): DotIncKernel's ops. */
export function dotBody(): number[] {
  const op = [
    ...ld32(0),
    ...set(W),
    ...ld32(1),
    ...set(ROWS),
    ...ld32(2),
    ...set(COLS),
    ...ld32(3),
    ...set(X),
    ...ld32(4),
    ...set(Y),
    ...colsIsOne(),
    IF,
    VOID,
    ...xvNonZero(),
    IF,
    VOID,
    ...axpy(Y),
    END,
    ELSE,
    ...overRows([...get(Y), ...ldf(get(Y)), ...rowDot(), F64_ADD, F64_STORE, 3, 0, ...advanceRow()]),
    ...nextRow(),
    END,
  ];
  return [...LOCALS, ...overOps(5, op), END];
}

/** enc(table, n): EncodeKernel's ops. */
export function encBody(): number[] {
  const op = [
    ...ld32(0),
    ...set(B),
    ...ld32(1),
    ...set(W),
    ...ld32(2),
    ...set(ROWS),
    ...ld32(3),
    ...set(COLS),
    ...ld32(4),
    ...set(X),
    ...ld32(5),
    ...set(Y),
    ...colsIsOne(),
    IF,
    VOID,
    ...xvNonZero(),
    IF,
    VOID,
    ...axpy(B),
    ELSE,
    ...copyRows(),
    END,
    ELSE,
    ...overRows([
      ...get(Y),
      ...ldf(get(B)),
      ...rowDot(),
      F64_ADD,
      F64_STORE,
      3,
      0,
      ...advanceRow(),
      ...get(B),
      I32_CONST,
      8,
      I32_ADD,
      ...set(B),
    ]),
    ...nextRow(),
    END,
  ];
  return [...LOCALS, ...overOps(6, op), END];
}

/** sdot(table, n): SpikeDotIncKernel's ops (list: byte address of the op's spike list; count: of its count). */
export function sdotBody(): number[] {
  const forSpikes = (body: number[]): number[] => [
    ...ld32(5),
    ...set(Q),
    ...get(Q),
    ...ld32(6),
    I32_LOAD,
    2,
    0,
    I32_CONST,
    2,
    I32_SHL,
    I32_ADD,
    ...set(QEND),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(Q),
    ...get(QEND),
    I32_GE_S,
    BR_IF,
    1,
    // C = list[q] * 8
    ...get(Q),
    I32_LOAD,
    2,
    0,
    I32_CONST,
    3,
    I32_SHL,
    ...set(C),
    ...body,
    ...get(Q),
    I32_CONST,
    4,
    I32_ADD,
    ...set(Q),
    BR,
    0,
    END,
    END,
  ];
  const op = [
    ...ld32(0),
    ...set(W),
    ...ld32(1),
    ...set(ROWS),
    ...ld32(2),
    ...set(COLS),
    ...ld32(3),
    ...set(X),
    ...ld32(4),
    ...set(Y),
    ...get(ROWS),
    I32_CONST,
    1,
    I32_EQ,
    IF,
    VOID,
    // s = 0; s += W[c] x[c] per spike; y += s
    ...f64(0),
    ...set(S0),
    ...forSpikes([...get(S0), ...ldf(add(W, C)), ...ldf(add(X, C)), F64_MUL, F64_ADD, ...set(S0)]),
    ...get(Y),
    ...ldf(get(Y)),
    ...get(S0),
    F64_ADD,
    F64_STORE,
    3,
    0,
    ELSE,
    // per spike: xv = x[c]; y[r] += W[r, c] xv over rows
    ...forSpikes([
      ...ldf(add(X, C)),
      ...set(XV),
      ...add(W, C),
      ...set(B), // B walks column c
      ...overRowsSpike(),
    ]),
    END,
  ];
  return [...LOCALS, ...overOps(7, op), END];
}

/** Rows of one spike's column: y[r] += W[B + r cols] xv. */
function overRowsSpike(): number[] {
  return [
    ...get(Y),
    ...set(END2), // END2 walks y
    ...overRows([
      ...get(END2),
      ...ldf(get(END2)),
      ...ldf(get(B)),
      ...get(XV),
      F64_MUL,
      F64_ADD,
      F64_STORE,
      3,
      0,
      ...get(END2),
      I32_CONST,
      8,
      I32_ADD,
      ...set(END2),
      ...get(B),
      ...get(COLS),
      I32_CONST,
      3,
      I32_SHL,
      I32_ADD,
      ...set(B),
    ]),
    ...nextRow(),
  ];
}
