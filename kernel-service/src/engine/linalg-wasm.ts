/**
 * The decoder solves' dense linear algebra as one WebAssembly module: the
 * packed 4×4 Gram micro-kernel (f64x2 SIMD) and the loops around it
 * (packing, the blocked Gram product, the blocked Cholesky factorisation),
 * the triangular solves, Aᵀ·B, and the residual sums of squares.
 *
 * Why: a build runs each of these loops only a few times per process, so in
 * JavaScript they mostly ran in V8's interpreter before its optimising
 * compiler caught up: on a 200-neuron model, 70 ms of a 100 ms cold build.
 * WebAssembly is compiled before it first runs.
 *
 * Every function performs the IEEE double operations of its JavaScript
 * twin in linalg.ts in the same order (WebAssembly never fuses a multiply
 * and an add, and f64.sqrt is correctly rounded like Math.sqrt), so both
 * give the same bits; test/linalg-wasm.test.ts compares them. All addresses
 * are byte offsets into the imported memory "m"."m"; sizes are element
 * counts. Pointer comparisons are unsigned (memories may exceed 2 GB).
 *
 * Exports:
 *   k(u, v, len, c, ldc)             C[a][b] += Σ_p u_a[p] v_b[p] over packed u, v (ldc in bytes)
 *   factor(g, w, n, ld) -> i32        Cholesky of the n×n G at g, in place; -1, or the failed pivot's index
 *                                     (its value is then at w + ld·ld·8); w: workspace of ld·ld + 2·ld·NB doubles
 *   fwd(l, x, n, k)                   X ← L⁻¹ X        (X n×k, L the lower triangle of n×n)
 *   bwd(l, x, n, k)                   X ← L⁻ᵀ X
 *   tmat(a, b, c, m, n, k)            C = Aᵀ B          (A m×n, B m×k, C n×k; a zero A[r][i] adds nothing)
 *   tvec(a, x, y, m, n)               y = Aᵀ x          (four rows of A at a time)
 *   packTN(a, p, m, n)                the columns of A (m×n) packed 4 at a time: P[(blk·m + q)·4 + r] = A[q][4·blk + r]
 *   packRows(x, p, rows, len)         the rows of X packed 4 at a time: P[(blk·len + q)·4 + r] = X[4·blk + r][q]
 *   syrk(p, c, out, rows, len)        out = R Rᵀ (rows×rows) from packed R; c: scratch of rp·rp doubles
 *   packTNRows(a, p, m, n, q0, q1)    packTN for rows q0..q1 of A, from those rows alone at a (P not zeroed)
 *   syrkRows, syrkOut                 syrk in parts: some block rows of the upper triangle; the result mirrored
 *   factorInit, factorDiag, factorPanel, factorPack, factorUpdate, factorOut
 *                                     factor in parts (see factorFn), for linalg-team.ts's threads
 *   rss(a, xt, y, out, m, n, d)       out[j] = Σ_r (Y[r][j] − A[r]·Xᵀ[j])²
 */
import {
  BLOCK,
  BR,
  BR_IF,
  CALL,
  END,
  F64,
  F64_ADD,
  F64_DIV,
  F64_GT,
  F64_LT,
  F64_MUL,
  F64_NE,
  F64_NEG,
  F64_SUB,
  GET,
  F64_LOAD,
  F64_SQRT,
  F64_STORE,
  I32,
  I32_ADD,
  I32_EQ,
  I32_LT_U,
  I32_MUL,
  MEMORY_COPY,
  MEMORY_FILL,
  RETURN,
  I32_AND,
  I32_CONST,
  I32_EQZ,
  I32_GE_U,
  I32_SHL,
  I32_SHR_U,
  I32_SUB,
  I32_LT_S,
  IF,
  LOOP,
  SELECT,
  SET,
  V128,
  VOID,
  WASM_HEADER,
  f64,
  sleb,
  uleb,
  wasmSection,
  V_LOAD,
  V_STORE,
} from './wasm.js';

/** Block width of the blocked Cholesky (linalg.ts's JavaScript uses the same). */
export const CHOLESKY_NB = 64;
/** Cache blocking of the Gram loops: CHUNK columns × PANEL rows of packed data. */
export const GRAM_CHUNK = 512;
export const GRAM_PANEL = 64;

type Code = number[];

const c32 = (n: number): Code => [I32_CONST, ...sleb(n | 0)];
const L = (l: number): Code => [GET, l];
const put = (l: number, value: Code): Code => [...value, SET, l];
const add = (a: Code, b: Code): Code => [...a, ...b, I32_ADD];
const sub = (a: Code, b: Code): Code => [...a, ...b, I32_SUB];
const mul = (a: Code, b: Code): Code => [...a, ...b, I32_MUL];
/** x · 8: an element count or index in bytes */
const x8 = (a: Code): Code => [...a, ...c32(3), I32_SHL];
const inc = (l: number, by: number): Code => put(l, add(L(l), c32(by)));
/** The double at byte address `addr`. */
const ld = (addr: Code): Code => [...addr, F64_LOAD, 3, 0];
const st = (addr: Code, value: Code): Code => [...addr, ...value, F64_STORE, 3, 0];
const fill0 = (addr: Code, bytes: Code): Code => [...addr, ...c32(0), ...bytes, ...MEMORY_FILL];
const copy = (dst: Code, src: Code, bytes: Code): Code => [...dst, ...src, ...bytes, ...MEMORY_COPY];
/** The smaller of two i32 locals (unsigned). */
const minU = (a: number, b: number): Code => [...L(a), ...L(b), ...L(a), ...L(b), I32_LT_U, SELECT];

/** while (v < end) { body } with both unsigned i32 (end re-evaluated every time). */
function whileLess(v: number, end: Code, body: Code): Code {
  return [BLOCK, VOID, LOOP, VOID, ...L(v), ...end, I32_GE_U, BR_IF, 1, ...body, BR, 0, END, END];
}
/** while (cond) { body } */
function whileTrue(cond: Code, body: Code): Code {
  return [BLOCK, VOID, LOOP, VOID, ...cond, I32_EQZ, BR_IF, 1, ...body, BR, 0, END, END];
}
/** for (v = from; v < end; v += step) body */
const forUp = (v: number, from: Code, end: Code, body: Code, step = 1): Code => [
  ...put(v, from),
  ...whileLess(v, end, [...body, ...inc(v, step)]),
];
const ifThen = (cond: Code, body: Code): Code => [...cond, IF, VOID, ...body, END];

/** One function: parameter and local types, allocated in order. */
class Fn {
  private readonly params: number[] = [];
  private readonly locals: number[] = [];
  constructor(readonly results: number[] = []) {}
  param(type: number = I32): number {
    if (this.locals.length) throw new Error('parameters come before locals');
    this.params.push(type);
    return this.params.length - 1;
  }
  local(type: number = I32): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }
  type(): Code {
    return [0x60, ...uleb(this.params.length), ...this.params, ...uleb(this.results.length), ...this.results];
  }
  /** The code section entry: locals (run-length encoded) and the body. */
  code(body: Code): Code {
    let nGroups = 0;
    const entries: Code = [];
    if (this.locals.length) {
      let start = 0;
      for (let i = 1; i <= this.locals.length; i++) {
        if (i === this.locals.length || this.locals[i] !== this.locals[start]) {
          entries.push(...uleb(i - start), this.locals[start]!);
          nGroups++;
          start = i;
        }
      }
    }
    const fn = [...uleb(nGroups), ...entries, ...body, END];
    return [...uleb(fn.length), ...fn];
  }
}

// ---------------------------------------------------------------------------
// the functions

const K_INDEX = 0;

/**
 * The packed 4×4 kernel (function 0): per p it loads v's four values as two
 * f64x2 and splats each u_a, keeping the sixteen sums in eight f64x2 locals;
 * then adds them to C. Each lane is the JavaScript kernel's separately
 * rounded multiply and add, in the same order.
 */
function kernelFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const u = fn.param(),
    v = fn.param(),
    len = fn.param(),
    c = fn.param(),
    ldc = fn.param();
  const acc: number[] = [];
  for (let i = 0; i < 8; i++) acc.push(fn.local(V128));
  const vb0 = fn.local(V128),
    vb1 = fn.local(V128),
    ua = fn.local(V128);
  const LOAD64_SPLAT = [0xfd, 0x0a];
  const F64X2_ADD = [0xfd, 0xf0, 0x01],
    F64X2_MUL = [0xfd, 0xf2, 0x01];
  const b: Code = [BLOCK, VOID, ...L(len), I32_EQZ, BR_IF, 0, LOOP, VOID];
  b.push(...L(v), ...V_LOAD, 3, 0, SET, vb0, ...L(v), ...V_LOAD, 3, 16, SET, vb1);
  for (let a = 0; a < 4; a++) {
    b.push(...L(u), ...LOAD64_SPLAT, 3, 8 * a, SET, ua);
    for (let h = 0; h < 2; h++) {
      const s = acc[2 * a + h]!;
      b.push(...L(s), ...L(ua), ...L(h ? vb1 : vb0), ...F64X2_MUL, ...F64X2_ADD, SET, s);
    }
  }
  b.push(...inc(u, 32), ...inc(v, 32));
  b.push(...L(len), ...c32(1), I32_SUB, 0x22, len, BR_IF, 0, END, END); // len -= 1 (tee); continue while len != 0
  for (let a = 0; a < 4; a++) {
    for (let h = 0; h < 2; h++) {
      b.push(...L(c), ...L(c), ...V_LOAD, 3, 16 * h, ...L(acc[2 * a + h]!), ...F64X2_ADD, ...V_STORE, 3, 16 * h);
    }
    b.push(...put(c, add(L(c), L(ldc))));
  }
  return { fn, body: b };
}

/** s = s − Σ a[p] · b[p], p ascending, pointers pa and pb (bytes) until pa reaches `end`. */
function dotSub(s: number, pa: number, pb: number, end: number): Code {
  return whileLess(pa, L(end), [...put(s, [...L(s), ...ld(L(pa)), ...ld(L(pb)), F64_MUL, F64_SUB]), ...inc(pa, 8), ...inc(pb, 8)]);
}

/**
 * The blocked right-looking Cholesky of linalg.ts, step for step, as
 * functions over a padded workspace W (ldw×ldw at w, then the packed panel
 * negated at neg = w + ldw·ldw·8 and as is at pos = neg + ldw·NB·8):
 *
 *   factorInit(g, w, n, ldw)                W ← G's lower triangle (the rest and the panels zeroed)
 *   factorDiag(w, n, ldw, k0) -> i32        the unblocked factor of the diagonal block at k0;
 *                                           -1, or the failed pivot's index (its value then at neg)
 *   factorPanel(w, n, ldw, k0, i0, i1)      rows i0 ≤ i < i1 of the panel below it (forward substitution)
 *   factorPack(w, n, ldw, k0)               the panel's rows k1.. packed (4 rows interleaved), as is and negated
 *   factorUpdate(w, n, ldw, k0, bi0, bi1)   the trailing update's block rows bi0 ≤ bi < bi1 (4 rows each,
 *                                           from row k1), with the kernel over the packed panel
 *   factorOut(g, w, n, ldw)                 L back into G, zeros above the diagonal
 *   factor(g, w, n, ldw) -> i32             all of it: -1, or the failed pivot's index
 *
 * Rows of the panel and block rows of the update are independent within a
 * step, so linalg-team.ts splits them across threads with the same bits.
 */
const NB_CODE = c32(CHOLESKY_NB);
/** Byte address of W's row `idx`. */
const wRow = (w: number, ldw: number, idx: Code): Code => add(L(w), x8(mul(idx, L(ldw))));
/** k1 = min(k0 + NB, n) */
const putK1 = (k1: number, k0: number, n: number): Code => [...put(k1, add(L(k0), NB_CODE)), ...put(k1, minU(k1, n))];

function factorInitFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const g = fn.param(),
    w = fn.param(),
    n = fn.param(),
    ldw = fn.param();
  const i = fn.local();
  const body: Code = [
    ...fill0(L(w), x8(add(mul(L(ldw), L(ldw)), mul(c32(2 * CHOLESKY_NB), L(ldw))))),
    ...forUp(i, c32(0), L(n), copy(wRow(w, ldw, L(i)), add(L(g), x8(mul(L(i), L(n)))), x8(add(L(i), c32(1))))),
  ];
  return { fn, body };
}

function factorDiagFn(): { fn: Fn; body: Code } {
  const fn = new Fn([I32]);
  const w = fn.param(),
    n = fn.param(),
    ldw = fn.param(),
    k0 = fn.param();
  const [k1, i, j, ri, rj, pa, pb, end, neg] = Array.from({ length: 9 }, () => fn.local());
  const d = fn.local(F64),
    s = fn.local(F64),
    inv = fn.local(F64),
    x = fn.local(F64);
  const at = (rowAddr: number, col: Code): Code => add(L(rowAddr), x8(col));
  const diag: Code = [];
  diag.push(...put(rj, wRow(w, ldw, L(j))), ...put(d, ld(at(rj, L(j)))));
  diag.push(...put(pa, at(rj, L(k0))), ...put(pb, L(pa)), ...put(end, at(rj, L(j))), ...dotSub(d, pa, pb, end));
  diag.push(
    ...ifThen([...L(d), ...f64(0), F64_GT, ...L(d), ...f64(Infinity), F64_LT, I32_AND, I32_EQZ], [...st(L(neg), L(d)), ...L(j), RETURN]),
  );
  diag.push(...put(x, [...L(d), F64_SQRT]), ...st(at(rj, L(j)), L(x)), ...put(inv, [...f64(1), ...L(x), F64_DIV]));
  diag.push(
    ...forUp(i, add(L(j), c32(1)), L(k1), [
      ...put(ri, wRow(w, ldw, L(i))),
      ...put(s, ld(at(ri, L(j)))),
      ...put(pa, at(ri, L(k0))),
      ...put(pb, at(rj, L(k0))),
      ...put(end, at(ri, L(j))),
      ...dotSub(s, pa, pb, end),
      ...st(at(ri, L(j)), [...L(s), ...L(inv), F64_MUL]),
    ]),
  );
  const body: Code = [...putK1(k1, k0, n), ...put(neg, add(L(w), x8(mul(L(ldw), L(ldw))))), ...forUp(j, L(k0), L(k1), diag), ...c32(-1)];
  return { fn, body };
}

function factorPanelFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const w = fn.param(),
    n = fn.param(),
    ldw = fn.param(),
    k0 = fn.param(),
    i0 = fn.param(),
    i1 = fn.param();
  const [k1, i, j, ri, rj, pa, pb, end] = Array.from({ length: 8 }, () => fn.local());
  const s = fn.local(F64);
  const at = (rowAddr: number, col: Code): Code => add(L(rowAddr), x8(col));
  const body: Code = [
    ...putK1(k1, k0, n),
    ...forUp(i, L(i0), L(i1), [
      ...put(ri, wRow(w, ldw, L(i))),
      ...forUp(j, L(k0), L(k1), [
        ...put(rj, wRow(w, ldw, L(j))),
        ...put(s, ld(at(ri, L(j)))),
        ...put(pa, at(ri, L(k0))),
        ...put(pb, at(rj, L(k0))),
        ...put(end, at(ri, L(j))),
        ...dotSub(s, pa, pb, end),
        ...st(at(ri, L(j)), [...L(s), ...ld(at(rj, L(j))), F64_DIV]),
      ]),
    ]),
  ];
  return { fn, body };
}

function factorPackFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const w = fn.param(),
    n = fn.param(),
    ldw = fn.param(),
    k0 = fn.param();
  const [k1, wd, rows, r, pa, pb, o, end, neg, pos] = Array.from({ length: 10 }, () => fn.local());
  const x = fn.local(F64);
  const body: Code = [
    ...putK1(k1, k0, n),
    ...put(neg, add(L(w), x8(mul(L(ldw), L(ldw))))),
    ...put(pos, add(L(neg), x8(mul(L(ldw), NB_CODE)))),
    ...put(wd, sub(L(k1), L(k0))),
    ...put(rows, sub(L(n), L(k1))),
    ...fill0(L(neg), x8(mul(c32(2 * CHOLESKY_NB), L(ldw)))),
    ...forUp(r, c32(0), L(rows), [
      ...put(pa, add(L(w), x8(add(mul(add(L(k1), L(r)), L(ldw)), L(k0))))), // source
      ...put(end, add(L(pa), x8(L(wd)))),
      ...put(o, x8(add(mul(mul([...L(r), ...c32(2), I32_SHR_U], L(wd)), c32(4)), [...L(r), ...c32(3), I32_AND]))),
      ...put(pb, add(L(pos), L(o))),
      ...put(o, add(L(neg), L(o))),
      ...whileLess(pa, L(end), [
        ...put(x, ld(L(pa))),
        ...st(L(pb), L(x)),
        ...st(L(o), [...L(x), F64_NEG]),
        ...inc(pa, 8),
        ...inc(pb, 32),
        ...inc(o, 32),
      ]),
    ]),
  ];
  return { fn, body };
}

function factorUpdateFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const w = fn.param(),
    n = fn.param(),
    ldw = fn.param(),
    k0 = fn.param(),
    bi0 = fn.param(),
    bi1 = fn.param();
  const [k1, wd, bi, bj, u, cc, neg, pos] = Array.from({ length: 8 }, () => fn.local());
  const body: Code = [
    ...putK1(k1, k0, n),
    ...put(neg, add(L(w), x8(mul(L(ldw), L(ldw))))),
    ...put(pos, add(L(neg), x8(mul(L(ldw), NB_CODE)))),
    ...put(wd, sub(L(k1), L(k0))),
    ...forUp(bi, L(bi0), L(bi1), [
      ...put(u, add(L(neg), mul(mul(L(bi), L(wd)), c32(32)))),
      ...put(cc, add(L(w), x8(add(mul(add(L(k1), mul(L(bi), c32(4))), L(ldw)), L(k1))))),
      ...forUp(bj, c32(0), add(L(bi), c32(1)), [
        ...L(u),
        ...add(L(pos), mul(mul(L(bj), L(wd)), c32(32))),
        ...L(wd),
        ...add(L(cc), mul(L(bj), c32(32))),
        ...x8(L(ldw)),
        CALL,
        K_INDEX,
      ]),
    ]),
  ];
  return { fn, body };
}

function factorOutFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const g = fn.param(),
    w = fn.param(),
    n = fn.param(),
    ldw = fn.param();
  const [i, pa] = Array.from({ length: 2 }, () => fn.local());
  const body: Code = forUp(i, c32(0), L(n), [
    ...put(pa, add(L(g), x8(mul(L(i), L(n))))),
    ...copy(L(pa), wRow(w, ldw, L(i)), x8(add(L(i), c32(1)))),
    ...fill0(add(L(pa), x8(add(L(i), c32(1)))), x8(sub(sub(L(n), L(i)), c32(1)))),
  ]);
  return { fn, body };
}

function factorFn(): { fn: Fn; body: Code } {
  const fn = new Fn([I32]);
  const g = fn.param(),
    w = fn.param(),
    n = fn.param(),
    ldw = fn.param();
  const [k0, k1, failed] = Array.from({ length: 3 }, () => fn.local());
  const call = (name: string, ...args: Code[]): Code => [...args.flat(), CALL, ...uleb(fnIndex(name))];
  const step: Code = [
    ...put(failed, call('factorDiag', L(w), L(n), L(ldw), L(k0))),
    ...ifThen([...L(failed), ...c32(0), I32_LT_S, I32_EQZ], [...L(failed), RETURN]),
    ...putK1(k1, k0, n),
    ...ifThen(
      [...L(k1), ...L(n), I32_EQ, I32_EQZ],
      [
        ...call('factorPanel', L(w), L(n), L(ldw), L(k0), L(k1), L(n)),
        ...call('factorPack', L(w), L(n), L(ldw), L(k0)),
        // block rows of the trailing rows n − k1: ceil((n − k1) / 4)
        ...call('factorUpdate', L(w), L(n), L(ldw), L(k0), c32(0), [...add(sub(L(n), L(k1)), c32(3)), ...c32(2), I32_SHR_U]),
      ],
    ),
  ];
  const body: Code = [
    ...call('factorInit', L(g), L(w), L(n), L(ldw)),
    ...forUp(k0, c32(0), L(n), step, CHOLESKY_NB),
    ...call('factorOut', L(g), L(w), L(n), L(ldw)),
    ...c32(-1),
  ];
  return { fn, body };
}

/** fwd(l, x, n, k): forward substitution, rows of X as row axpys (linalg.ts's solveLower). */
function fwdFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const l = fn.param(),
    x = fn.param(),
    n = fn.param(),
    k = fn.param();
  const [i, j, li, xi, pa, pb, end] = Array.from({ length: 7 }, () => fn.local());
  const lv = fn.local(F64),
    inv = fn.local(F64);
  const rowAxpy = whileLess(pa, L(end), [
    ...st(L(pa), [...ld(L(pa)), ...L(lv), ...ld(L(pb)), F64_MUL, F64_SUB]),
    ...inc(pa, 8),
    ...inc(pb, 8),
  ]);
  const body = forUp(i, c32(0), L(n), [
    ...put(li, add(L(l), x8(mul(L(i), L(n))))),
    ...put(xi, add(L(x), x8(mul(L(i), L(k))))),
    ...forUp(j, c32(0), L(i), [
      ...put(lv, ld(add(L(li), x8(L(j))))),
      ...ifThen(
        [...L(lv), ...f64(0), F64_NE],
        [...put(pa, L(xi)), ...put(pb, add(L(x), x8(mul(L(j), L(k))))), ...put(end, add(L(xi), x8(L(k)))), ...rowAxpy],
      ),
    ]),
    ...put(inv, [...f64(1), ...ld(add(L(li), x8(L(i)))), F64_DIV]),
    ...put(pa, L(xi)),
    ...put(end, add(L(xi), x8(L(k)))),
    ...whileLess(pa, L(end), [...st(L(pa), [...ld(L(pa)), ...L(inv), F64_MUL]), ...inc(pa, 8)]),
  ]);
  return { fn, body };
}

/** bwd(l, x, n, k): backward substitution with Lᵀ; once row i is final it is removed from rows j < i (choleskySolve). */
function bwdFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const l = fn.param(),
    x = fn.param(),
    n = fn.param(),
    k = fn.param();
  const [t, i, j, li, xi, pa, pb, end] = Array.from({ length: 8 }, () => fn.local());
  const lv = fn.local(F64),
    inv = fn.local(F64);
  const body = forUp(t, c32(0), L(n), [
    ...put(i, sub(sub(L(n), L(t)), c32(1))),
    ...put(li, add(L(l), x8(mul(L(i), L(n))))),
    ...put(xi, add(L(x), x8(mul(L(i), L(k))))),
    ...put(inv, [...f64(1), ...ld(add(L(li), x8(L(i)))), F64_DIV]),
    ...put(pa, L(xi)),
    ...put(end, add(L(xi), x8(L(k)))),
    ...whileLess(pa, L(end), [...st(L(pa), [...ld(L(pa)), ...L(inv), F64_MUL]), ...inc(pa, 8)]),
    ...forUp(j, c32(0), L(i), [
      ...put(lv, ld(add(L(li), x8(L(j))))),
      ...ifThen(
        [...L(lv), ...f64(0), F64_NE],
        [
          ...put(pa, add(L(x), x8(mul(L(j), L(k))))),
          ...put(pb, L(xi)),
          ...put(end, add(L(pa), x8(L(k)))),
          ...whileLess(pa, L(end), [...st(L(pa), [...ld(L(pa)), ...L(lv), ...ld(L(pb)), F64_MUL, F64_SUB]), ...inc(pa, 8), ...inc(pb, 8)]),
        ],
      ),
    ]),
  ]);
  return { fn, body };
}

/** tmat(a, b, c, m, n, k): C = Aᵀ B as row axpys over the rows of A, skipping zero entries of A (matTmat). */
function tmatFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const a = fn.param(),
    b = fn.param(),
    c = fn.param(),
    m = fn.param(),
    n = fn.param(),
    k = fn.param();
  const [r, ar, br, i, pa, pb, end] = Array.from({ length: 7 }, () => fn.local());
  const av = fn.local(F64);
  const body: Code = [
    ...fill0(L(c), x8(mul(L(n), L(k)))),
    ...forUp(r, c32(0), L(m), [
      ...put(ar, add(L(a), x8(mul(L(r), L(n))))),
      ...put(br, add(L(b), x8(mul(L(r), L(k))))),
      ...forUp(i, c32(0), L(n), [
        ...put(av, ld(add(L(ar), x8(L(i))))),
        ...ifThen(
          [...L(av), ...f64(0), F64_NE],
          [
            ...put(pa, add(L(c), x8(mul(L(i), L(k))))),
            ...put(pb, L(br)),
            ...put(end, add(L(pa), x8(L(k)))),
            ...whileLess(pa, L(end), [
              ...st(L(pa), [...ld(L(pa)), ...L(av), ...ld(L(pb)), F64_MUL, F64_ADD]),
              ...inc(pa, 8),
              ...inc(pb, 8),
            ]),
          ],
        ),
      ]),
    ]),
  ];
  return { fn, body };
}

/** tvec(a, x, y, m, n): y = Aᵀ x, four rows of A at a time: y[i] + A0[i] x0 + A1[i] x1 + A2[i] x2 + A3[i] x3, left to right (matTvec). */
function tvecFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const a = fn.param(),
    x = fn.param(),
    y = fn.param(),
    m = fn.param(),
    n = fn.param();
  const [r, pa, py, end, n8] = Array.from({ length: 5 }, () => fn.local());
  const xs = [fn.local(F64), fn.local(F64), fn.local(F64), fn.local(F64)];
  const four: Code = [...ld(L(py))];
  for (let q = 0; q < 4; q++) {
    four.push(...ld(q === 0 ? L(pa) : add(L(pa), mul(L(n8), c32(q)))), ...L(xs[q]!), F64_MUL, F64_ADD);
  }
  const body: Code = [
    ...fill0(L(y), x8(L(n))),
    ...put(n8, x8(L(n))),
    ...put(end, add(L(y), L(n8))),
    ...put(r, c32(0)),
    ...whileTrue(
      [...add(L(r), c32(3)), ...L(m), I32_LT_U],
      [
        ...[0, 1, 2, 3].flatMap((q) => put(xs[q]!, ld(add(L(x), x8(add(L(r), c32(q))))))),
        ...put(pa, add(L(a), x8(mul(L(r), L(n))))),
        ...put(py, L(y)),
        ...whileLess(py, L(end), [...st(L(py), four), ...inc(pa, 8), ...inc(py, 8)]),
        ...inc(r, 4),
      ],
    ),
    ...whileLess(r, L(m), [
      ...put(xs[0]!, ld(add(L(x), x8(L(r))))),
      ...put(pa, add(L(a), x8(mul(L(r), L(n))))),
      ...put(py, L(y)),
      ...whileLess(py, L(end), [...st(L(py), [...ld(L(py)), ...ld(L(pa)), ...L(xs[0]!), F64_MUL, F64_ADD]), ...inc(pa, 8), ...inc(py, 8)]),
      ...inc(r, 1),
    ]),
  ];
  return { fn, body };
}

/** packTN(a, p, m, n): P (zeroed first, rp·m doubles) = the columns of A packed four at a time (packTNRows over every row). */
function packTNFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const a = fn.param(),
    p = fn.param(),
    m = fn.param(),
    n = fn.param();
  const body: Code = [
    ...fill0(L(p), x8(mul([...add(L(n), c32(3)), ...c32(-4), I32_AND], L(m)))),
    ...[...L(a), ...L(p), ...L(m), ...L(n), ...c32(0), ...L(m), CALL, ...uleb(fnIndex('packTNRows'))],
  ];
  return { fn, body };
}

/**
 * packTNRows(a, p, m, n, q0, q1): rows q0 ≤ q < q1 of A (m×n) into packTN's
 * layout in P (not zeroed here), from those rows alone at a (row q at
 * a + (q − q0)·n·8): A can be packed from a slab of its rows at a time.
 * Rows are copied 4 values (32 bytes) at a time.
 */
function packTNRowsFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const a = fn.param(),
    p = fn.param(),
    m = fn.param(),
    n = fn.param(),
    q0 = fn.param(),
    q1 = fn.param();
  const [q, ap, col, full, o] = Array.from({ length: 5 }, () => fn.local());
  const body: Code = [
    ...put(full, [...L(n), ...c32(-4), I32_AND]),
    ...forUp(q, L(q0), L(q1), [
      ...put(ap, add(L(a), x8(mul(sub(L(q), L(q0)), L(n))))),
      ...forUp(
        col,
        c32(0),
        L(full),
        [
          ...put(o, add(L(p), x8(add(mul(L(col), L(m)), mul(L(q), c32(4)))))),
          ...[0, 16].flatMap((h) => [...L(o), ...add(L(ap), x8(L(col))), ...V_LOAD, 3, h, ...V_STORE, 3, h]),
        ],
        4,
      ),
      ...forUp(col, L(full), L(n), [
        ...st(add(L(p), x8(add(add(mul(L(full), L(m)), mul(L(q), c32(4))), sub(L(col), L(full))))), ld(add(L(ap), x8(L(col))))),
      ]),
    ]),
  ];
  return { fn, body };
}

/** packRows(x, p, rows, len): P (zeroed first, rp·len doubles) = the rows of X packed four at a time. */
function packRowsFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const x = fn.param(),
    p = fn.param(),
    rows = fn.param(),
    len = fn.param();
  const [r, o, px, end] = Array.from({ length: 4 }, () => fn.local());
  const body: Code = [
    ...fill0(L(p), x8(mul([...add(L(rows), c32(3)), ...c32(-4), I32_AND], L(len)))),
    ...forUp(r, c32(0), L(rows), [
      ...put(o, add(L(p), x8(add(mul(mul([...L(r), ...c32(2), I32_SHR_U], L(len)), c32(4)), [...L(r), ...c32(3), I32_AND])))),
      ...put(px, add(L(x), x8(mul(L(r), L(len))))),
      ...put(end, add(L(px), x8(L(len)))),
      ...whileLess(px, L(end), [...st(L(o), ld(L(px))), ...inc(o, 32), ...inc(px, 8)]),
    ]),
  ];
  return { fn, body };
}

/**
 * syrkRows(p, c, rows, len, bi0, bi1): the upper-triangle 4×4 blocks of R Rᵀ
 * in block rows bi0 ≤ bi < bi1, from packed R, into the scratch C (rp×rp):
 * those rows of C zeroed, then blocked over CHUNK columns and PANEL rows as
 * linalg.ts's syrk. Each block gets the same kernel calls, in the same
 * order, whatever range it is computed in, so block rows computed apart (on
 * several threads, linalg-team.ts) give the bits of one call over them all.
 */
function syrkRowsFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const p = fn.param(),
    c = fn.param(),
    rows = fn.param(),
    len = fn.param(),
    bi0 = fn.param(),
    bi1 = fn.param();
  const [rp, blocks, p0, pl, j0, j1, bi, bj, u, cc, tmp, chunk, panel, end] = Array.from({ length: 14 }, () => fn.local());
  const body: Code = [
    ...put(rp, [...add(L(rows), c32(3)), ...c32(-4), I32_AND]),
    ...put(blocks, [...L(rp), ...c32(2), I32_SHR_U]),
    ...fill0(add(L(c), x8(mul(mul(L(bi0), c32(4)), L(rp)))), x8(mul(mul(sub(L(bi1), L(bi0)), c32(4)), L(rp)))),
    ...put(chunk, c32(GRAM_CHUNK)),
    ...put(panel, c32(GRAM_PANEL / 4)),
    ...forUp(
      p0,
      c32(0),
      L(len),
      [
        ...put(tmp, sub(L(len), L(p0))),
        ...put(pl, minU(chunk, tmp)),
        ...forUp(
          j0,
          c32(0),
          L(blocks),
          [
            ...put(tmp, add(L(j0), L(panel))),
            ...put(j1, minU(tmp, blocks)),
            // bi < min(j1, bi1)
            ...put(end, minU(j1, bi1)),
            ...forUp(bi, L(bi0), L(end), [
              ...put(u, add(L(p), mul(add(mul(L(bi), L(len)), L(p0)), c32(32)))),
              ...put(cc, add(L(c), x8(mul(mul(L(bi), c32(4)), L(rp))))),
              // bj = max(j0, bi)
              ...put(bj, [...L(j0), ...L(bi), ...L(j0), ...L(bi), I32_GE_U, SELECT]),
              ...whileLess(bj, L(j1), [
                ...L(u),
                ...add(L(p), mul(add(mul(L(bj), L(len)), L(p0)), c32(32))),
                ...L(pl),
                ...add(L(cc), mul(L(bj), c32(32))),
                ...x8(L(rp)),
                CALL,
                K_INDEX,
                ...inc(bj, 1),
              ]),
            ]),
          ],
          GRAM_PANEL / 4,
        ),
      ],
      GRAM_CHUNK,
    ),
  ];
  return { fn, body };
}

/** syrkOut(c, out, rows): out (rows×rows) from the scratch C's upper-triangle blocks, the blocks below the diagonal mirrored. */
function syrkOutFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const c = fn.param(),
    out = fn.param(),
    rows = fn.param();
  const [rp, i, ib, src, dst, j] = Array.from({ length: 6 }, () => fn.local());
  const body: Code = [
    ...put(rp, [...add(L(rows), c32(3)), ...c32(-4), I32_AND]),
    ...forUp(i, c32(0), L(rows), [
      ...put(ib, [...L(i), ...c32(-4), I32_AND]),
      ...put(src, add(L(c), x8(mul(L(i), L(rp))))),
      ...put(dst, add(L(out), x8(mul(L(i), L(rows))))),
      ...copy(add(L(dst), x8(L(ib))), add(L(src), x8(L(ib))), x8(sub(L(rows), L(ib)))),
      ...forUp(j, c32(0), L(ib), [...st(add(L(dst), x8(L(j))), ld(add(L(c), x8(add(mul(L(j), L(rp)), L(i))))))]),
    ]),
  ];
  return { fn, body };
}

/** syrk(p, c, out, rows, len): R Rᵀ from packed R (syrkRows over every block row, then syrkOut). */
function syrkFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const p = fn.param(),
    c = fn.param(),
    out = fn.param(),
    rows = fn.param(),
    len = fn.param();
  const body: Code = [
    ...L(p),
    ...L(c),
    ...L(rows),
    ...L(len),
    ...c32(0),
    ...[...add(L(rows), c32(3)), ...c32(2), I32_SHR_U],
    CALL,
    ...uleb(fnIndex('syrkRows')),
    ...L(c),
    ...L(out),
    ...L(rows),
    CALL,
    ...uleb(fnIndex('syrkOut')),
  ];
  return { fn, body };
}

/** rss(a, xt, y, out, m, n, d): out[j] = Σ_r (Y[r][j] − A[r]·Xᵀ[j])², each dot product in four interleaved sums (solvers.ts's rmses). */
function rssFn(): { fn: Fn; body: Code } {
  const fn = new Fn();
  const a = fn.param(),
    xt = fn.param(),
    y = fn.param(),
    out = fn.param(),
    m = fn.param(),
    n = fn.param(),
    d = fn.param();
  const [r, j, pa, pb, end4, end, oj] = Array.from({ length: 7 }, () => fn.local());
  const [s0, s1, s2, s3, e] = Array.from({ length: 5 }, () => fn.local(F64));
  const sums = [s0, s1, s2, s3];
  const quad: Code = [];
  for (let q = 0; q < 4; q++) {
    quad.push(...put(sums[q]!, [...L(sums[q]!), ...ld(L(pa)), ...ld(L(pb)), F64_MUL, F64_ADD]));
    if (q < 3) quad.push(...inc(pa, 8), ...inc(pb, 8));
  }
  quad.push(...inc(pa, 8), ...inc(pb, 8));
  const body: Code = [
    ...fill0(L(out), x8(L(d))),
    ...forUp(r, c32(0), L(m), [
      ...forUp(j, c32(0), L(d), [
        ...[s0, s1, s2, s3].flatMap((s) => put(s, f64(0))),
        ...put(pa, add(L(a), x8(mul(L(r), L(n))))),
        ...put(pb, add(L(xt), x8(mul(L(j), L(n))))),
        ...put(end4, add(L(pa), x8([...L(n), ...c32(-4), I32_AND]))),
        ...put(end, add(L(pa), x8(L(n)))),
        ...whileLess(pa, L(end4), quad),
        ...whileLess(pa, L(end), [...put(s0, [...L(s0), ...ld(L(pa)), ...ld(L(pb)), F64_MUL, F64_ADD]), ...inc(pa, 8), ...inc(pb, 8)]),
        ...put(e, [
          ...ld(add(L(y), x8(add(mul(L(r), L(d)), L(j))))),
          ...L(s0),
          ...L(s1),
          F64_ADD,
          ...L(s2),
          ...L(s3),
          F64_ADD,
          F64_ADD,
          F64_SUB,
        ]),
        ...put(oj, add(L(out), x8(L(j)))),
        ...st(L(oj), [...ld(L(oj)), ...L(e), ...L(e), F64_MUL, F64_ADD]),
      ]),
    ]),
  ];
  return { fn, body };
}

const FUNCTIONS: readonly [string, () => { fn: Fn; body: Code }][] = [
  ['k', kernelFn], // K_INDEX: first
  ['factor', factorFn],
  ['fwd', fwdFn],
  ['bwd', bwdFn],
  ['tmat', tmatFn],
  ['tvec', tvecFn],
  ['packTN', packTNFn],
  ['packRows', packRowsFn],
  ['syrk', syrkFn],
  ['rss', rssFn],
  ['syrkRows', syrkRowsFn],
  ['syrkOut', syrkOutFn],
  ['factorInit', factorInitFn],
  ['factorDiag', factorDiagFn],
  ['factorPanel', factorPanelFn],
  ['factorPack', factorPackFn],
  ['factorUpdate', factorUpdateFn],
  ['factorOut', factorOutFn],
  ['packTNRows', packTNRowsFn],
];

/** A function's index in the module (its place in FUNCTIONS), for calls between them. */
function fnIndex(name: string): number {
  const i = FUNCTIONS.findIndex(([n]) => n === name);
  if (i < 0) throw new Error(`linalg-wasm: no function ${name}`);
  return i;
}

/** Pages of 64 KiB in 4 GiB: the most a 32-bit WebAssembly memory can have (the shared module's maximum). */
export const MAX_PAGES = 65536;

/**
 * The module's bytes: imports memory "m"."m" (min 1 page), exports the
 * functions above by name. With `shared`, the memory it imports is a shared
 * one (maximum MAX_PAGES), which several threads' instances use at once
 * (linalg-team.ts); the code is the same.
 */
export function linalgModuleBytes(shared = false): Uint8Array {
  const fns = FUNCTIONS.map(([name, make]) => ({ name, ...make() }));
  const types: Code = [...uleb(fns.length), ...fns.flatMap((f) => f.fn.type())];
  const funcs: Code = [...uleb(fns.length), ...fns.map((_, i) => i)];
  const exports: Code = [...uleb(fns.length)];
  fns.forEach((f, i) => exports.push(...uleb(f.name.length), ...Array.from(Buffer.from(f.name, 'ascii')), 0x00, i));
  const code: Code = [...uleb(fns.length), ...fns.flatMap((f) => f.fn.code(f.body))];
  // import "m"."m" memory: limits 0x00 (min) or 0x03 (shared, min and max)
  const limits = shared ? [0x03, ...uleb(1), ...uleb(MAX_PAGES)] : [0x00, ...uleb(1)];
  return new Uint8Array([
    ...WASM_HEADER,
    ...wasmSection(1, types),
    ...wasmSection(2, [1, 1, 0x6d, 1, 0x6d, 0x02, ...limits]),
    ...wasmSection(3, funcs),
    ...wasmSection(7, exports),
    ...wasmSection(10, code),
  ]);
}

/** The module's functions, with byte addresses into its memory. */
export interface LinalgExports {
  k(u: number, v: number, len: number, c: number, ldc: number): void;
  factor(g: number, w: number, n: number, ld: number): number;
  fwd(l: number, x: number, n: number, k: number): void;
  bwd(l: number, x: number, n: number, k: number): void;
  tmat(a: number, b: number, c: number, m: number, n: number, k: number): void;
  tvec(a: number, x: number, y: number, m: number, n: number): void;
  packTN(a: number, p: number, m: number, n: number): void;
  packRows(x: number, p: number, rows: number, len: number): void;
  syrk(p: number, c: number, out: number, rows: number, len: number): void;
  rss(a: number, xt: number, y: number, out: number, m: number, n: number, d: number): void;
  syrkRows(p: number, c: number, rows: number, len: number, bi0: number, bi1: number): void;
  syrkOut(c: number, out: number, rows: number): void;
  factorInit(g: number, w: number, n: number, ldw: number): void;
  factorDiag(w: number, n: number, ldw: number, k0: number): number;
  factorPanel(w: number, n: number, ldw: number, k0: number, i0: number, i1: number): void;
  factorPack(w: number, n: number, ldw: number, k0: number): void;
  factorUpdate(w: number, n: number, ldw: number, k0: number, bi0: number, bi1: number): void;
  factorOut(g: number, w: number, n: number, ldw: number): void;
  packTNRows(a: number, p: number, m: number, n: number, q0: number, q1: number): void;
}
