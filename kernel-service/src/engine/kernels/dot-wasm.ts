/**
 * The products of DotIncKernel, EncodeKernel and SpikeDotIncKernel as
 * WebAssembly functions over the arena in WebAssembly memory (assembled with
 * the LIF step into one module, see lif-wasm.ts). Each runs all ops of its
 * kernel from a table the kernel copies into that memory, with byte
 * addresses:
 *   dot(table, n):  [W, rows, cols, x, y] per op        y += W x
 *   enc(table, n):  [b, W, rows, cols, x, y] per op     y = b + W x
 *   sdot(table, n): [W, rows, cols, x, y, list, count]  y += W x over the spike list
 *   spread(table, n): SpreadIncKernel's ops (see spreadBody)
 * The small vector kernels (basic.ts, filters.ts) are here too, with
 * elements counted, not bytes, in their `n` fields:
 *   reset(table, n):  [y, n, value]        y = value (value: byte address of an f64)
 *   copy(table, n):   [x, y, n]            y = x
 *   copyinc(table, n): [x, y, n]           y += x
 *   lowpass(table, n): [x, y, n, params]   y = a y + b x (params: byte address of a, b as f64)
 *   gain(table, n):   [x, y, n, params]    y = d x (params: of d)
 *   ewinc(table, n):  [s, sLen, x, y, n]   y += s x, s of one element broadcast
 * In JavaScript these ran interpreted for most of a small model's first
 * simulated second, boxing every double they touched; as WebAssembly they
 * run compiled from the first step.
 * They perform the JavaScript kernels' IEEE operations in the same order (a
 * row's dot product in two interleaved sums, which are the two lanes of an
 * f64x2 here), so both give identical results, bit for bit; with a float32
 * arena (F32_ELT) they compute in double between loads and stores, as
 * JavaScript does over a Float32Array.
 */
import {
  I32_EQ,
  I32_GE_U,
  F64_NE,
  BLOCK,
  BR,
  BR_IF,
  ELSE,
  END,
  type Elt,
  F64,
  F64_ADD,
  F64_LOAD,
  F64_MUL,
  F64X2_ADD,
  F64X2_EXTRACT,
  F64X2_MUL,
  F64X2_SPLAT,
  I32,
  I32_ADD,
  I32_AND,
  I32_CONST,
  I32_LOAD,
  I32_SHL,
  I32_SHR_U,
  IF,
  LOOP,
  V128,
  VOID,
  f64,
  get,
  set,
  sleb,
  vconst,
} from '../wasm.js';

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
const add = (a: number, b: number): number[] => [...get(a), ...get(b), I32_ADD];
const inc = (local: number, by: number): number[] => [...get(local), I32_CONST, ...sleb(by), I32_ADD, ...set(local)];
/** Signed LEB128 of a small non-negative constant. */
/** local = local2 << shift */
const shl = (local: number, shift: number): number[] => [...get(local), I32_CONST, shift, I32_SHL];

/** for (;;) { if (a >= b) break; body }, unsigned (byte addresses reach past 2^31 in memories over 2 GB) */
const loopWhileLess = (a: number, b: number, body: number[]): number[] => [
  BLOCK,
  VOID,
  LOOP,
  VOID,
  ...get(a),
  ...get(b),
  I32_GE_U,
  BR_IF,
  1,
  ...body,
  BR,
  0,
  END,
  END,
];

/** Loop `body` over ops: T walks the table by `stride` ints. */
function overOps(stride: number, body: number[]): number[] {
  return [I32_CONST, 0, ...set(K), ...get(0), ...set(T), ...loopWhileLess(K, 1, [...body, ...inc(T, 4 * stride), ...inc(K, 1)])];
}

/** for (r = 0; r < rows; r++) body */
const overRows = (body: number[]): number[] => [I32_CONST, 0, ...set(R), ...loopWhileLess(R, ROWS, [...body, ...inc(R, 1)])];

/** END2 = (n & ~1) elements, in bytes */
const evenPart = (e: Elt, n: number): number[] => [...get(n), I32_CONST, 0x7e, I32_AND, I32_CONST, e.shift, I32_SHL, ...set(END2)];

/** W[W .. W + cols) . x[X .. X + cols) as rowDot: s0 over even columns (plus the odd last), s1 over odd, s0 + s1. */
function rowDot(e: Elt): number[] {
  const pair = [...get(ACC), ...e.vload(add(W, C)), ...e.vload(add(X, C)), ...F64X2_MUL, ...F64X2_ADD, ...set(ACC), ...inc(C, 2 * e.bytes)];
  return [
    ...vconst(0),
    ...set(ACC),
    ...evenPart(e, COLS),
    I32_CONST,
    0,
    ...set(C),
    ...loopWhileLess(C, END2, pair),
    ...get(ACC),
    ...F64X2_EXTRACT(0),
    ...set(S0),
    ...[...get(COLS), I32_CONST, 1, I32_AND, IF, VOID],
    ...[...get(S0), ...e.load(add(W, END2)), ...e.load(add(X, END2)), F64_MUL, F64_ADD, ...set(S0), END],
    ...get(S0),
    ...get(ACC),
    ...F64X2_EXTRACT(1),
    F64_ADD,
  ];
}

/** y[i] = base(i) + w[i] * xv over i < rows, pairs in f64x2 (base: y for +=, b for enc). */
function axpy(e: Elt, base: number): number[] {
  const pair = e.vstore(add(Y, C), [...e.vload(add(base, C)), ...e.vload(add(W, C)), ...get(XV2), ...F64X2_MUL, ...F64X2_ADD]);
  return [
    ...get(XV),
    ...F64X2_SPLAT,
    ...set(XV2),
    ...evenPart(e, ROWS),
    I32_CONST,
    0,
    ...set(C),
    ...loopWhileLess(C, END2, [...pair, ...inc(C, 2 * e.bytes)]),
    ...[...get(ROWS), I32_CONST, 1, I32_AND, IF, VOID],
    ...e.store(add(Y, END2), [...e.load(add(base, END2)), ...e.load(add(W, END2)), ...get(XV), F64_MUL, F64_ADD]),
    END,
  ];
}

/** y[i] = b[i] over i < rows (pairs of elements at a time). */
function copyRows(e: Elt): number[] {
  return [
    ...evenPart(e, ROWS),
    I32_CONST,
    0,
    ...set(C),
    ...loopWhileLess(C, END2, [...e.vstore(add(Y, C), e.vload(add(B, C))), ...inc(C, 2 * e.bytes)]),
    ...[...get(ROWS), I32_CONST, 1, I32_AND, IF, VOID],
    ...e.store(add(Y, END2), e.load(add(B, END2))),
    END,
  ];
}

const colsIsOne = (): number[] => [...get(COLS), I32_CONST, 1, I32_EQ];
const xvNonZero = (e: Elt): number[] => [...e.load(get(X)), ...set(XV), ...get(XV), ...f64(0), F64_NE];
/** W += cols elements; Y += 1 element: the next row. */
const advanceRow = (e: Elt): number[] => [...get(W), ...shl(COLS, e.shift), I32_ADD, ...set(W), ...inc(Y, e.bytes)];
/** Loads the op's fields from the table into locals. */
const fields = (locals: number[]): number[] => locals.flatMap((l, i) => [...ld32(i), ...set(l)]);

/** dot(table, n): DotIncKernel's ops. */
export function dotBody(e: Elt): number[] {
  const op = [
    ...fields([W, ROWS, COLS, X, Y]),
    ...colsIsOne(),
    IF,
    VOID,
    ...xvNonZero(e),
    IF,
    VOID,
    ...axpy(e, Y),
    END,
    ELSE,
    ...overRows([...e.store(get(Y), [...e.load(get(Y)), ...rowDot(e), F64_ADD]), ...advanceRow(e)]),
    END,
  ];
  return [...LOCALS, ...overOps(5, op), END];
}

/** enc(table, n): EncodeKernel's ops. */
export function encBody(e: Elt): number[] {
  const op = [
    ...fields([B, W, ROWS, COLS, X, Y]),
    ...colsIsOne(),
    IF,
    VOID,
    ...xvNonZero(e),
    IF,
    VOID,
    ...axpy(e, B),
    ELSE,
    ...copyRows(e),
    END,
    ELSE,
    ...overRows([...e.store(get(Y), [...e.load(get(B)), ...rowDot(e), F64_ADD]), ...advanceRow(e), ...inc(B, e.bytes)]),
    END,
  ];
  return [...LOCALS, ...overOps(6, op), END];
}

/** sdot(table, n): SpikeDotIncKernel's ops (list: byte address of the op's spike list; count: of its count). */
export function sdotBody(e: Elt): number[] {
  // Q walks the list from its start to its count; C = list[q] elements, in bytes
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
    ...loopWhileLess(Q, QEND, [...get(Q), I32_LOAD, 2, 0, I32_CONST, e.shift, I32_SHL, ...set(C), ...body, ...inc(Q, 4)]),
  ];
  const op = [
    ...fields([W, ROWS, COLS, X, Y]),
    ...[...get(ROWS), I32_CONST, 1, I32_EQ, IF, VOID],
    // s = 0; s += W[c] x[c] per spike; y += s
    ...f64(0),
    ...set(S0),
    ...forSpikes([...get(S0), ...e.load(add(W, C)), ...e.load(add(X, C)), F64_MUL, F64_ADD, ...set(S0)]),
    ...e.store(get(Y), [...e.load(get(Y)), ...get(S0), F64_ADD]),
    ELSE,
    // per spike: xv = x[c]; y[r] += W[r, c] xv over rows (B walks column c, END2 walks y)
    ...forSpikes([
      ...e.load(add(X, C)),
      ...set(XV),
      ...add(W, C),
      ...set(B),
      ...get(Y),
      ...set(END2),
      ...overRows([
        ...e.store(get(END2), [...e.load(get(END2)), ...e.load(get(B)), ...get(XV), F64_MUL, F64_ADD]),
        ...inc(END2, e.bytes),
        ...get(B),
        ...shl(COLS, e.shift),
        I32_ADD,
        ...set(B),
      ]),
    ]),
    END,
  ];
  return [...LOCALS, ...overOps(7, op), END];
}

// spread(table, n): SpreadIncKernel's ops, [K, x, y, n, start, yOff, kOff, run, yStride, kStride] per op
// (K, x, y byte offsets in the arena; start, yOff, kOff byte addresses of the op's int arrays, kOff 0
// where the weights lie in entry order; strides in bytes). Its own locals: i32 2-20, f64 21, v128 22.
const SP_K = 2,
  SP_T = 3,
  SP_W = 4,
  SP_X = 5,
  SP_Y = 6,
  SP_N = 7,
  SP_START = 8,
  SP_YOFF = 9,
  SP_KOFF = 10,
  SP_RUN = 11,
  SP_YS = 12,
  SP_KS = 13,
  SP_I = 14, // input element, in bytes
  SP_E = 15, // entry, as an int address (start[i] ... start[i + 1], times 4)
  SP_EEND = 16,
  SP_YA = 17, // an output's byte address
  SP_R = 18, // a filter of the run; also the address of start[i]
  SP_KA = 19, // a weight's byte address
  SP_EEND2 = 20, // the even part of a run
  SP_XV = 21, // f64: x[i]
  SP_XV2 = 22; // v128: x[i] twice
const SPREAD_LOCALS = [3, 19, I32, 1, F64, 1, V128];

/**
 * spread(table, n): each nonzero x[i] adds x[i] times its weights into the
 * outputs it reaches, as SpreadIncKernel does (the same operations in the
 * same order: y = y + x[i] w, entry by entry, filter by filter).
 */
export function spreadBody(e: Elt): number[] {
  const sp = (field: number): number[] => [...get(SP_T), I32_LOAD, 2, 4 * field];
  const intAt = (addr: number, local: number): number[] => [...get(addr), ...get(local), I32_ADD, I32_LOAD, 2, 0];
  const elems = (idx: number[]): number[] => [...idx, I32_CONST, e.shift, I32_SHL];
  // y[ya] += xv * w[ka]
  const term = e.store(get(SP_YA), [...e.load(get(SP_YA)), ...get(SP_XV), ...e.load(get(SP_KA)), F64_MUL, F64_ADD]);
  const entry = [
    // ya = y + yOff[e] elements; ka = K + (kOff ? kOff[e] : e) elements
    ...get(SP_Y),
    ...elems(intAt(SP_YOFF, SP_E)),
    I32_ADD,
    ...set(SP_YA),
    ...get(SP_W),
    ...get(SP_KOFF),
    IF,
    I32,
    ...elems(intAt(SP_KOFF, SP_E)),
    ELSE,
    ...elems([...get(SP_E), I32_CONST, 2, I32_SHR_U]),
    END,
    I32_ADD,
    ...set(SP_KA),
    ...[...get(SP_RUN), I32_CONST, 1, I32_EQ, IF, VOID],
    ...term,
    ELSE,
    // contiguous runs (a convolution's filters, channels last): two at a time in f64x2 lanes, each lane
    // the scalar step's operations; an odd last one, and strided runs, one at a time
    ...[...get(SP_YS), I32_CONST, e.bytes, I32_EQ, ...get(SP_KS), I32_CONST, e.bytes, I32_EQ, I32_AND, IF, VOID],
    ...[...get(SP_XV), ...F64X2_SPLAT, ...set(SP_XV2), ...get(SP_RUN), I32_CONST, 0x7e, I32_AND, ...set(SP_EEND2)],
    I32_CONST,
    0,
    ...set(SP_R),
    ...loopWhileLess(SP_R, SP_EEND2, [
      ...e.vstore(get(SP_YA), [...e.vload(get(SP_YA)), ...get(SP_XV2), ...e.vload(get(SP_KA)), ...F64X2_MUL, ...F64X2_ADD]),
      ...inc(SP_YA, 2 * e.bytes),
      ...inc(SP_KA, 2 * e.bytes),
      ...inc(SP_R, 2),
    ]),
    ...[...get(SP_RUN), I32_CONST, 1, I32_AND, IF, VOID, ...term, END],
    ELSE,
    I32_CONST,
    0,
    ...set(SP_R),
    ...loopWhileLess(SP_R, SP_RUN, [
      ...term,
      ...[...get(SP_YA), ...get(SP_YS), I32_ADD, ...set(SP_YA)],
      ...[...get(SP_KA), ...get(SP_KS), I32_ADD, ...set(SP_KA)],
      ...inc(SP_R, 1),
    ]),
    END,
    END,
    ...inc(SP_E, 4),
  ];
  const input = [
    ...e.load([...get(SP_X), ...get(SP_I), I32_ADD]),
    ...set(SP_XV),
    ...[...get(SP_XV), ...f64(0), F64_NE, IF, VOID],
    // e = start[i] * 4, eEnd = start[i + 1] * 4 (i = SP_I >> shift)
    ...[...get(SP_START), ...get(SP_I), I32_CONST, e.shift, I32_SHR_U, I32_CONST, 2, I32_SHL, I32_ADD, ...set(SP_R)],
    ...[...get(SP_R), I32_LOAD, 2, 0, I32_CONST, 2, I32_SHL, ...set(SP_E)],
    ...[...get(SP_R), I32_LOAD, 2, 4, I32_CONST, 2, I32_SHL, ...set(SP_EEND)],
    ...loopWhileLess(SP_E, SP_EEND, entry),
    END,
    ...inc(SP_I, e.bytes),
  ];
  const op = [
    ...[SP_W, SP_X, SP_Y, SP_N, SP_START, SP_YOFF, SP_KOFF, SP_RUN, SP_YS, SP_KS].flatMap((l, i) => [...sp(i), ...set(l)]),
    // n in bytes, i from 0
    ...[...get(SP_N), I32_CONST, e.shift, I32_SHL, ...set(SP_N), I32_CONST, 0, ...set(SP_I)],
    ...loopWhileLess(SP_I, SP_N, input),
  ];
  const body = [
    ...[I32_CONST, 0, ...set(SP_K), ...get(0), ...set(SP_T)],
    ...loopWhileLess(SP_K, 1, [...op, ...inc(SP_T, 40), ...inc(SP_K, 1)]),
  ];
  return [...SPREAD_LOCALS, ...body, END];
}

/**
 * body(pair, at) for each element i < ROWS: pairs (f64x2) first, then the odd
 * last one alone; at(base) is the address base + i elements.
 */
function perElement(e: Elt, body: (pair: boolean, at: (base: number) => number[]) => number[]): number[] {
  return [
    ...evenPart(e, ROWS),
    I32_CONST,
    0,
    ...set(C),
    ...loopWhileLess(C, END2, [...body(true, (b) => add(b, C)), ...inc(C, 2 * e.bytes)]),
    ...[...get(ROWS), I32_CONST, 1, I32_AND, IF, VOID],
    ...body(false, (b) => add(b, END2)),
    END,
  ];
}

/** An f64 parameter at byte `offset` past the address in `local`, into the f64 local `to` and its splat into the v128 local `to2`. */
const param = (local: number, offset: number, to: number, to2: number): number[] => [
  ...get(local),
  F64_LOAD,
  3,
  offset,
  ...set(to),
  ...get(to),
  ...F64X2_SPLAT,
  ...set(to2),
];

/** reset(table, n): ResetKernel's ops, [y, n, value]. */
export function resetBody(e: Elt): number[] {
  const op = [
    ...fields([Y, ROWS, B]),
    ...param(B, 0, XV, XV2),
    ...perElement(e, (pair, at) => (pair ? e.vstore(at(Y), get(XV2)) : e.store(at(Y), get(XV)))),
  ];
  return [...LOCALS, ...overOps(3, op), END];
}

/** copy(table, n) and copyinc(table, n): CopyKernel's ops, [x, y, n]; y = x, or y = y + x. */
export function copyBody(e: Elt, increment: boolean): number[] {
  const op = [
    ...fields([X, Y, ROWS]),
    ...perElement(e, (pair, at) => {
      if (!increment) return pair ? e.vstore(at(Y), e.vload(at(X))) : e.store(at(Y), e.load(at(X)));
      return pair
        ? e.vstore(at(Y), [...e.vload(at(Y)), ...e.vload(at(X)), ...F64X2_ADD])
        : e.store(at(Y), [...e.load(at(Y)), ...e.load(at(X)), F64_ADD]);
    }),
  ];
  return [...LOCALS, ...overOps(3, op), END];
}

/** lowpass(table, n): LowpassKernel's ops, [x, y, n, params]; y = a y + b x. */
export function lowpassBody(e: Elt): number[] {
  const op = [
    ...fields([X, Y, ROWS, B]),
    ...param(B, 0, XV, ACC),
    ...param(B, 8, S0, XV2),
    ...perElement(e, (pair, at) =>
      pair
        ? e.vstore(at(Y), [...get(ACC), ...e.vload(at(Y)), ...F64X2_MUL, ...get(XV2), ...e.vload(at(X)), ...F64X2_MUL, ...F64X2_ADD])
        : e.store(at(Y), [...get(XV), ...e.load(at(Y)), F64_MUL, ...get(S0), ...e.load(at(X)), F64_MUL, F64_ADD]),
    ),
  ];
  return [...LOCALS, ...overOps(4, op), END];
}

/** gain(table, n): GainFilterKernel's ops, [x, y, n, params]; y = d x. */
export function gainBody(e: Elt): number[] {
  const op = [
    ...fields([X, Y, ROWS, B]),
    ...param(B, 0, XV, XV2),
    ...perElement(e, (pair, at) =>
      pair ? e.vstore(at(Y), [...get(XV2), ...e.vload(at(X)), ...F64X2_MUL]) : e.store(at(Y), [...get(XV), ...e.load(at(X)), F64_MUL]),
    ),
  ];
  return [...LOCALS, ...overOps(4, op), END];
}

/** ewinc(table, n): ElementwiseIncKernel's ops, [s, sLen, x, y, n]; y = y + s x, s broadcast when sLen is 1. */
export function ewincBody(e: Elt): number[] {
  const op = [
    ...fields([W, COLS, X, Y, ROWS]),
    ...[...get(COLS), I32_CONST, 1, I32_EQ, IF, VOID],
    ...e.load(get(W)),
    ...set(XV),
    ...get(XV),
    ...F64X2_SPLAT,
    ...set(XV2),
    ...perElement(e, (pair, at) =>
      pair
        ? e.vstore(at(Y), [...e.vload(at(Y)), ...get(XV2), ...e.vload(at(X)), ...F64X2_MUL, ...F64X2_ADD])
        : e.store(at(Y), [...e.load(at(Y)), ...get(XV), ...e.load(at(X)), F64_MUL, F64_ADD]),
    ),
    ELSE,
    ...perElement(e, (pair, at) =>
      pair
        ? e.vstore(at(Y), [...e.vload(at(Y)), ...e.vload(at(W)), ...e.vload(at(X)), ...F64X2_MUL, ...F64X2_ADD])
        : e.store(at(Y), [...e.load(at(Y)), ...e.load(at(W)), ...e.load(at(X)), F64_MUL, F64_ADD]),
    ),
    END,
  ];
  return [...LOCALS, ...overOps(5, op), END];
}
