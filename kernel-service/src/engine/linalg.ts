/**
 * Small dense linear-algebra helpers for model builds (decoder solves).
 *
 * Every matrix is a row-major Float64Array; shapes are passed explicitly.
 *
 * The two O(n³) routines, Gram matrices (`gramTN`, `gramNT`) and the
 * Cholesky factorisation, spend nearly all their time in one micro-kernel:
 * a 4×4 block of dot products, C[a][b] += Σ_p u_a[p] · v_b[p], over
 * "packed" operands in which four rows are interleaved (p-major, 4 values
 * per p).
 *
 * Where the runtime has WebAssembly SIMD (and it is not turned off), the
 * Gram matrices, the Cholesky factor, the triangular solves, Aᵀ·B and the
 * residuals run whole in linalg-wasm.ts's module, on copies of their
 * operands in its memory: a build runs each of them too few times for V8 to
 * optimise their JavaScript, which it mostly interpreted. The JavaScript
 * below is the reference and the fallback; both give the same bits (each
 * does the same separately rounded multiplies and adds in the same order;
 * test/linalg-wasm.test.ts compares them).
 */
import { CHOLESKY_NB, GRAM_CHUNK, GRAM_PANEL, linalgModuleBytes, type LinalgExports } from './linalg-wasm.js';
import { compiledModule, wasmApi, wasmOffByEnv, type WasmApi, type WasmMemory } from './wasm.js';
import { balancedBounds, teamSession, type TeamSession } from './linalg-team.js';

/** Thrown by `choleskyFactor` when the matrix is not (numerically) positive definite. */
export class NotPositiveDefiniteError extends Error {
  /** Row/column at which the factorisation broke down. */
  readonly index: number;
  /** The non-positive (or non-finite) pivot found there. */
  readonly pivot: number;
  constructor(index: number, pivot: number, n: number) {
    super(
      `matrix is not positive definite: pivot ${index} of ${n} is ${pivot} ` +
        `(the matrix is singular, indefinite or not finite; more regularisation may help)`,
    );
    this.name = 'NotPositiveDefiniteError';
    this.index = index;
    this.pivot = pivot;
  }
}

function checkSize(what: string, a: ArrayLike<number>, expected: number): void {
  if (a.length < expected) {
    throw new RangeError(`${what}: array has ${a.length} elements, needs ${expected}`);
  }
}

// ---------------------------------------------------------------------------
// Simple products (O(m·n·k) with small k in the solvers).

/** C = A B with A m×k, B k×n; returns C (m×n). Loop order i-p-j (row axpy). */
export function matmul(A: Float64Array, B: Float64Array, m: number, k: number, n: number, out?: Float64Array): Float64Array {
  checkSize('matmul A', A, m * k);
  checkSize('matmul B', B, k * n);
  const C = out ?? new Float64Array(m * n);
  if (out) C.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    const ai = i * k;
    for (let p = 0; p < k; p++) {
      const a = A[ai + p]!;
      if (a === 0) continue;
      const bp = p * n;
      for (let j = 0; j < n; j++) C[ci + j]! += a * B[bp + j]!;
    }
  }
  return C;
}

/** Transpose of A (m×n), as an n×m array. */
export function transpose(A: Float64Array, m: number, n: number, out?: Float64Array): Float64Array {
  checkSize('transpose A', A, m * n);
  const T = out ?? new Float64Array(m * n);
  const B = 32; // tiles keep reads and writes within a few cache lines
  for (let i0 = 0; i0 < m; i0 += B) {
    const i1 = Math.min(i0 + B, m);
    for (let j0 = 0; j0 < n; j0 += B) {
      const j1 = Math.min(j0 + B, n);
      for (let i = i0; i < i1; i++) {
        const ai = i * n;
        for (let j = j0; j < j1; j++) T[j * m + i] = A[ai + j]!;
      }
    }
  }
  return T;
}

/**
 * y = A^T x with A m×n, x of length m; returns y (length n). Each y[i] sums
 * its terms in row order; four rows go through y at a time, which reads and
 * writes y a quarter as often (the sums, left to right, are the same as one
 * row at a time; a zero x[r] adds zeros, which leave a sum that starts at +0
 * unchanged).
 */
export function matTvec(A: Float64Array, x: ArrayLike<number>, m: number, n: number): Float64Array {
  checkSize('matTvec A', A, m * n);
  checkSize('matTvec x', x, m);
  const room = wasmRoom(m * n + m + n);
  if (room) {
    const { F, fns } = room;
    F.set(A.subarray(0, m * n));
    F.set(x instanceof Float64Array ? x.subarray(0, m) : Array.prototype.slice.call(x, 0, m), m * n);
    fns.tvec(0, m * n * 8, (m * n + m) * 8, m, n);
    return done(F.slice(m * n + m, m * n + m + n));
  }
  const y = new Float64Array(n);
  let r = 0;
  for (; r + 3 < m; r += 4) {
    const x0 = x[r]!,
      x1 = x[r + 1]!,
      x2 = x[r + 2]!,
      x3 = x[r + 3]!;
    const a0 = r * n,
      a1 = a0 + n,
      a2 = a1 + n,
      a3 = a2 + n;
    for (let i = 0; i < n; i++) y[i] = y[i]! + A[a0 + i]! * x0 + A[a1 + i]! * x1 + A[a2 + i]! * x2 + A[a3 + i]! * x3;
  }
  for (; r < m; r++) {
    const xr = x[r]!;
    const ar = r * n;
    for (let i = 0; i < n; i++) y[i]! += A[ar + i]! * xr;
  }
  return y;
}

/** C = A^T B with A m×n, B m×k; returns C (n×k). */
export function matTmat(A: Float64Array, B: Float64Array, m: number, n: number, k: number): Float64Array {
  checkSize('matTmat A', A, m * n);
  checkSize('matTmat B', B, m * k);
  if (k === 1) return matTvec(A, B, m, n);
  const room = wasmRoom(m * n + m * k + n * k);
  if (room) {
    const { F, fns } = room;
    F.set(A.subarray(0, m * n));
    F.set(B.subarray(0, m * k), m * n);
    fns.tmat(0, m * n * 8, (m * n + m * k) * 8, m, n, k);
    return done(F.slice(m * n + m * k, m * n + m * k + n * k));
  }
  const C = new Float64Array(n * k);
  for (let r = 0; r < m; r++) {
    const ar = r * n;
    const br = r * k;
    for (let i = 0; i < n; i++) {
      const a = A[ar + i]!;
      if (a === 0) continue;
      const ci = i * k;
      for (let j = 0; j < k; j++) C[ci + j]! += a * B[br + j]!;
    }
  }
  return C;
}

/** Adds v (a scalar, or one value per row) to the diagonal of the n×n matrix G, in place. */
export function addToDiagonal(G: Float64Array, n: number, v: number | ArrayLike<number>): void {
  if (typeof v === 'number') {
    for (let i = 0; i < n; i++) G[i * n + i]! += v;
  } else {
    for (let i = 0; i < n; i++) G[i * n + i]! += v[i]!;
  }
}

// ---------------------------------------------------------------------------
// The 4×4 packed micro-kernel and its workspace.

/**
 * kernel(u, v, len, c, ldc): for a, b in 0..3,
 *   W[c + a·ldc + b] += Σ_{p<len} W[u + 4p + a] · W[v + 4p + b]
 * where W is the workspace's array and all offsets are in doubles.
 */
type Kernel = (u: number, v: number, len: number, c: number, ldc: number) => void;

interface Workspace {
  W: Float64Array;
  kernel: Kernel;
}

function jsKernel(W: Float64Array): Kernel {
  return (u, v, len, c, ldc) => {
    let s00 = 0,
      s01 = 0,
      s02 = 0,
      s03 = 0;
    let s10 = 0,
      s11 = 0,
      s12 = 0,
      s13 = 0;
    let s20 = 0,
      s21 = 0,
      s22 = 0,
      s23 = 0;
    let s30 = 0,
      s31 = 0,
      s32 = 0,
      s33 = 0;
    const end = u + 4 * len;
    for (let a = u, b = v; a < end; a += 4, b += 4) {
      const u0 = W[a]!,
        u1 = W[a + 1]!,
        u2 = W[a + 2]!,
        u3 = W[a + 3]!;
      const v0 = W[b]!,
        v1 = W[b + 1]!,
        v2 = W[b + 2]!,
        v3 = W[b + 3]!;
      s00 += u0 * v0;
      s01 += u0 * v1;
      s02 += u0 * v2;
      s03 += u0 * v3;
      s10 += u1 * v0;
      s11 += u1 * v1;
      s12 += u1 * v2;
      s13 += u1 * v3;
      s20 += u2 * v0;
      s21 += u2 * v1;
      s22 += u2 * v2;
      s23 += u2 * v3;
      s30 += u3 * v0;
      s31 += u3 * v1;
      s32 += u3 * v2;
      s33 += u3 * v3;
    }
    let r = c;
    W[r]! += s00;
    W[r + 1]! += s01;
    W[r + 2]! += s02;
    W[r + 3]! += s03;
    r += ldc;
    W[r]! += s10;
    W[r + 1]! += s11;
    W[r + 2]! += s12;
    W[r + 3]! += s13;
    r += ldc;
    W[r]! += s20;
    W[r + 1]! += s21;
    W[r + 2]! += s22;
    W[r + 3]! += s23;
    r += ldc;
    W[r]! += s30;
    W[r + 1]! += s31;
    W[r + 2]! += s32;
    W[r + 3]! += s33;
  };
}

let forceJs = false;

function getWasm(): { api: WasmApi; module: object } | null {
  if (forceJs || wasmOffByEnv()) return null;
  const api = wasmApi();
  if (!api) return null;
  const module = compiledModule('linalg', linalgModuleBytes);
  return module ? { api, module } : null;
}

/**
 * Chooses the kernel implementation: 'auto' (WebAssembly SIMD when
 * available) or 'js'. For tests and benchmarks; returns the previous mode.
 */
export function setKernelMode(mode: 'auto' | 'js'): 'auto' | 'js' {
  const prev = forceJs ? 'js' : 'auto';
  forceJs = mode === 'js';
  return prev;
}

/** The kernel that large products use here: 'wasm-simd' when WebAssembly SIMD is available (and not disabled), else 'js'. */
export function kernelBackend(): 'wasm-simd' | 'js' {
  return getWasm() ? 'wasm-simd' : 'js';
}

/** Below this many kernel flops the JavaScript kernel is used (no setup cost). */
const WASM_MIN_WORK = 2e6;

/** The thread's instance of the linear-algebra module and its memory (replaced by a larger one as needed). */
let shared: { memory: WasmMemory; fns: LinalgExports } | undefined;

/** Above this, the memory is dropped after use (see `settle`). */
const KEEP_BYTES = 64 * 1024 * 1024;

/**
 * The module's functions and a view of `doubles` doubles at the start of its
 * memory; null when WebAssembly is unavailable or turned off, or no memory
 * that large can be had (the caller then runs its JavaScript). A call may
 * replace the memory: a view and functions taken before it stay together on
 * the old one.
 */
function wasmRoom(doubles: number): { F: Float64Array; fns: LinalgExports } | null {
  const wasm = getWasm();
  if (!wasm) return null;
  try {
    const pages = Math.ceil((doubles * 8) / 65536) + 1;
    // A memory too small is replaced by one of the size needed, never grown (as the rates' module's: growing
    // it brought V8's first full collection into the steps after a build). No rounding up: the memory
    // outside V8's heap brings that collection forward too.
    if (!shared || shared.memory.buffer.byteLength / 65536 < pages) {
      const memory = new wasm.api.Memory({ initial: pages });
      const instance = new wasm.api.Instance(wasm.module, { m: { m: memory } });
      shared = { memory, fns: instance.exports as unknown as LinalgExports };
    }
    return { F: new Float64Array(shared.memory.buffer, 0, doubles), fns: shared.fns };
  } catch {
    return null; // out of WebAssembly memory (or similar)
  }
}

/** After a call: a memory grown past 64 MB is let go, so that one large solve does not hold it for the life of the thread. */
function settle(): void {
  if (shared && shared.memory.buffer.byteLength > KEEP_BYTES) shared = undefined;
}

/** settle(), then `result`. */
function done<T>(result: T): T {
  settle();
  return result;
}

/**
 * R Rᵀ in WebAssembly, with R the columns of A (m×n; `columns`) or its rows:
 * A, then R packed, the scratch blocks and the result in the module's memory.
 */
function syrkWasm(A: Float64Array, m: number, n: number, columns: boolean): Float64Array | null {
  const rows = columns ? n : m,
    len = columns ? m : n;
  const rp = Math.ceil(rows / 4) * 4;
  const team = teamSession(teamSlab(m, n, columns) * n + rp * len + rp * rp + rows * rows, (rows * rows * len) / 2);
  if (team) {
    const viaTeam = syrkTeam(team, A, m, n, columns);
    if (viaTeam) return viaTeam;
  }
  // Aᵀ·A (a decoder solve's Gram matrix) packs A's columns from slabs of its rows, as syrkTeam does: a
  // whole copy of A beside its packed form doubled the solve's memory outside V8's heap
  const slab = columns ? Math.max(1, Math.min(m, Math.floor(SYRK_SLAB_DOUBLES / Math.max(1, n)))) : m;
  const p = slab * n,
    c = p + rp * len,
    out = c + rp * rp;
  const room = wasmRoom(out + rows * rows);
  if (!room) return null;
  const { F, fns } = room;
  if (columns) {
    F.fill(0, p, c); // the padding rows of the packed form (the memory is reused)
    for (let q0 = 0; q0 < m; q0 += slab) {
      const q1 = Math.min(m, q0 + slab);
      F.set(A.subarray(q0 * n, q1 * n));
      fns.packTNRows(0, p * 8, m, n, q0, q1);
    }
  } else {
    F.set(A.subarray(0, m * n));
    fns.packRows(0, p * 8, m, n);
  }
  fns.syrk(p * 8, c * 8, out * 8, rows, len);
  return done(F.slice(out, out + rows * rows));
}

/**
 * syrkWasm's product on several threads (linalg-team.ts): this thread packs,
 * the upper triangle's block rows are shared out in chunks of equal work,
 * then this thread mirrors. Null if a helper was lost (the caller computes
 * it alone).
 */
function syrkTeam(team: TeamSession, A: Float64Array, m: number, n: number, columns: boolean): Float64Array | null {
  const rows = columns ? n : m,
    len = columns ? m : n;
  const rp = Math.ceil(rows / 4) * 4;
  // Aᵀ·A packs A's columns from slabs of its rows: the memory holds a slab, not a copy of A (64 MB
  // for 4,000 x 2,000); A·Aᵀ (a fat A, the smaller system) packs from a whole copy.
  const slab = teamSlab(m, n, columns);
  const a = team.base,
    p = a + slab * n,
    c = p + rp * len,
    out = c + rp * rp;
  const { F, fns } = team;
  try {
    if (columns) {
      F.fill(0, p, p + rp * len); // the padding columns (the team's memory is reused)
      for (let q0 = 0; q0 < m; q0 += slab) {
        const q1 = Math.min(m, q0 + slab);
        F.set(A.subarray(q0 * n, q1 * n), a);
        fns.packTNRows(a * 8, p * 8, m, n, q0, q1);
      }
    } else {
      F.set(A.subarray(0, m * n), a);
      fns.packRows(a * 8, p * 8, m, n);
    }
    const blocks = rp / 4;
    // block row bi holds blocks bi..blocks-1 of the upper triangle
    const bounds = balancedBounds(0, blocks, TEAM_CHUNKS, (bi) => blocks - bi);
    if (!team.run('syrkRows', [p * 8, c * 8, rows, len], bounds)) return null;
    fns.syrkOut(c * 8, out * 8, rows);
    return F.slice(out, out + rows * rows);
  } finally {
    team.close();
  }
}

/** Doubles of A's rows packed at a time by syrkTeam (8 MB). */
const SLAB_DOUBLES = 1 << 20;

/** Doubles of A that syrkWasm packs from at a time (A's rows, for Aᵀ·A). */
const SYRK_SLAB_DOUBLES = 1 << 16;

/** Rows of A that syrkTeam's memory holds at a time: a slab for Aᵀ·A, all of A for A·Aᵀ. */
function teamSlab(m: number, n: number, columns: boolean): number {
  return columns ? Math.max(1, Math.min(m, Math.floor(SLAB_DOUBLES / Math.max(1, n)))) : m;
}

/** Chunks per team phase: several per thread, so that a slower core takes fewer. */
const TEAM_CHUNKS = 16;

/**
 * A zeroed workspace of `size` doubles with a kernel operating on it: the
 * WebAssembly kernel in the shared memory when the work is large enough to
 * pay for the calls, else JavaScript.
 */
function workspace(size: number, work: number): Workspace {
  const room = work >= WASM_MIN_WORK ? wasmRoom(size) : null;
  if (room) {
    const { F: W, fns } = room;
    W.fill(0);
    const k = fns.k;
    return { W, kernel: (u, v, len, c, ldc) => k(u * 8, v * 8, len, c * 8, ldc * 8) };
  }
  const W = new Float64Array(size);
  return { W, kernel: jsKernel(W) };
}

// ---------------------------------------------------------------------------
// Gram matrices.

/** Cache blocking for the Gram kernel loops: CHUNK columns × PANEL rows of packed data. */
const CHUNK = GRAM_CHUNK;
const PANEL = GRAM_PANEL;

/**
 * Computes R R^T (rows×rows) for a matrix R of `rows` rows of length `len`.
 * `pack` writes R into the workspace in packed form (4 rows interleaved:
 * R[4·blk + r][p] at base + (blk·len + p)·4 + r), which lets gramTN and
 * gramNT pack straight from A without a separate transpose.
 */
function syrk(rows: number, len: number, pack: (P: Float64Array, base: number, rowsPadded: number) => void): Float64Array {
  const rp = Math.ceil(rows / 4) * 4;
  const blocks = rp / 4;
  const pSize = rp * len;
  const cBase = pSize;
  const ws = workspace(pSize + rp * rp, (rows * rows * len) / 2);
  const { W, kernel } = ws;
  pack(W, 0, rp);
  // upper-triangle blocks (j-block ≥ i-block), blocked over p and j for cache reuse
  for (let p0 = 0; p0 < len; p0 += CHUNK) {
    const pl = Math.min(CHUNK, len - p0);
    for (let j0 = 0; j0 < blocks; j0 += PANEL / 4) {
      const j1 = Math.min(j0 + PANEL / 4, blocks);
      for (let bi = 0; bi < j1; bi++) {
        const u = (bi * len + p0) * 4;
        const c = cBase + bi * 4 * rp;
        for (let bj = Math.max(j0, bi); bj < j1; bj++) {
          kernel(u, (bj * len + p0) * 4, pl, c + bj * 4, rp);
        }
      }
    }
  }
  // copy out, mirroring the blocks below the diagonal
  const C = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    const iBlock = i - (i % 4);
    const src = cBase + i * rp;
    for (let j = iBlock; j < rows; j++) C[i * rows + j] = W[src + j]!;
    for (let j = 0; j < iBlock; j++) C[i * rows + j] = W[cBase + j * rp + i]!;
  }
  return done(C); // its workspace may have been the WebAssembly memory
}

/** G = A^T A (n×n) for A m×n. */
export function gramTN(A: Float64Array, m: number, n: number): Float64Array {
  checkSize('gramTN A', A, m * n);
  const viaWasm = syrkWasm(A, m, n, true);
  if (viaWasm) return viaWasm;
  // rows of R = columns of A; packed P[(blk·m + p)·4 + r] = A[p][4·blk + r]
  return syrk(n, m, (P, base) => {
    const full = n - (n % 4);
    for (let p = 0; p < m; p++) {
      const ap = p * n;
      for (let c = 0; c < full; c += 4) {
        const o = base + (c * m + 4 * p); // (blk·m + p)·4 with blk = c/4
        P[o] = A[ap + c]!;
        P[o + 1] = A[ap + c + 1]!;
        P[o + 2] = A[ap + c + 2]!;
        P[o + 3] = A[ap + c + 3]!;
      }
      for (let c = full; c < n; c++) P[base + full * m + 4 * p + (c - full)] = A[ap + c]!;
    }
  });
}

/** G = A A^T (m×m) for A m×n. */
export function gramNT(A: Float64Array, m: number, n: number): Float64Array {
  checkSize('gramNT A', A, m * n);
  const viaWasm = syrkWasm(A, m, n, false);
  if (viaWasm) return viaWasm;
  // rows of R = rows of A; packed P[(blk·n + p)·4 + r] = A[4·blk + r][p]
  return syrk(m, n, (P, base) => packRows(P, base, A, m, n));
}

/** Packs rows×len row-major X into 4-row interleaved blocks at W[base…]: X[4·blk + r][p] → (blk·len + p)·4 + r. */
function packRows(W: Float64Array, base: number, X: Float64Array, rows: number, len: number): void {
  for (let r = 0; r < rows; r++) {
    const o = base + (r >> 2) * len * 4 + (r & 3);
    const xr = r * len;
    for (let p = 0; p < len; p++) W[o + 4 * p] = X[xr + p]!;
  }
}

/**
 * C = A Bᵀ (m×n) for A m×k and B n×k: every entry is a dot product of a row
 * of A with a row of B (e.g. activities' input currents from eval points and
 * encoders, or points times a rotation given by its transpose).
 */
export function matmulNT(A: Float64Array, B: Float64Array, m: number, k: number, n: number): Float64Array {
  checkSize('matmulNT A', A, m * k);
  checkSize('matmulNT B', B, n * k);
  const C = new Float64Array(m * n);
  if (m === 0 || n === 0 || k === 0) return C;
  const mp = Math.ceil(m / 4) * 4,
    np = Math.ceil(n / 4) * 4;
  const aBase = 0,
    bBase = mp * k,
    cBase = bBase + np * k;
  const { W, kernel } = workspace(cBase + mp * np, m * n * k);
  packRows(W, aBase, A, m, k);
  packRows(W, bBase, B, n, k);
  const mb = mp / 4,
    nb = np / 4;
  for (let p0 = 0; p0 < k; p0 += CHUNK) {
    const pl = Math.min(CHUNK, k - p0);
    for (let j0 = 0; j0 < nb; j0 += PANEL / 4) {
      const j1 = Math.min(j0 + PANEL / 4, nb);
      for (let bi = 0; bi < mb; bi++) {
        const u = aBase + (bi * k + p0) * 4;
        const c = cBase + bi * 4 * np;
        for (let bj = j0; bj < j1; bj++) kernel(u, bBase + (bj * k + p0) * 4, pl, c + bj * 4, np);
      }
    }
  }
  for (let i = 0; i < m; i++) C.set(W.subarray(cBase + i * np, cBase + i * np + n), i * n);
  return done(C);
}

// ---------------------------------------------------------------------------
// Cholesky.

/** Block width of the right-looking blocked Cholesky. */
const NB = CHOLESKY_NB;

/**
 * choleskyFactor's WebAssembly on several threads (linalg-team.ts): per
 * step, this thread factors the diagonal block and packs the panel; the
 * panel's rows and the trailing update's block rows are shared out. True
 * when G holds L; false if a helper was lost (G unchanged: the caller
 * factors it alone). Throws NotPositiveDefiniteError as choleskyFactor.
 */
function factorTeam(team: TeamSession, G: Float64Array, n: number, ld: number): boolean {
  const { F, fns } = team;
  const g = team.base,
    w = g + n * n;
  try {
    F.set(G.subarray(0, n * n), g);
    fns.factorInit(g * 8, w * 8, n, ld);
    for (let k0 = 0; k0 < n; k0 += NB) {
      const failed = fns.factorDiag(w * 8, n, ld, k0);
      if (failed >= 0) throw new NotPositiveDefiniteError(failed, F[w + ld * ld]!, n);
      const k1 = Math.min(k0 + NB, n);
      if (k1 === n) break;
      const args = [w * 8, n, ld, k0];
      // small steps (the last ones) on this thread alone: a phase costs the helpers a wake-up
      const split = n - k1 >= 256;
      if (!team.run('factorPanel', args, split ? balancedBounds(k1, n, TEAM_CHUNKS, () => 1) : [k1, n])) return false;
      fns.factorPack(w * 8, n, ld, k0);
      const blocks = Math.ceil((n - k1) / 4);
      // block row bi updates blocks 0..bi of the lower triangle
      if (!team.run('factorUpdate', args, split ? balancedBounds(0, blocks, TEAM_CHUNKS, (bi) => bi + 1) : [0, blocks])) return false;
    }
    fns.factorOut(g * 8, w * 8, n, ld);
    G.set(F.subarray(g, g + n * n));
    return true;
  } finally {
    team.close();
  }
}

/**
 * Cholesky factorisation G = L L^T of the symmetric positive definite n×n
 * matrix G, in place: on return G's lower triangle holds L and its strict
 * upper triangle is zero. Only the lower triangle of G is read. Throws
 * NotPositiveDefiniteError if a pivot is not positive (or not finite).
 *
 * Right-looking blocked algorithm on a padded workspace: factor a 64-wide
 * diagonal block, solve the panel below it, then subtract the panel's outer
 * product from the trailing lower triangle with the packed 4×4 kernel.
 */
export function choleskyFactor(G: Float64Array, n: number): Float64Array {
  checkSize('choleskyFactor G', G, n * n);
  if (n === 0) return G;
  const ld = Math.ceil(n / 4) * 4; // padded so 4×4 kernel writes stay in bounds
  const team = teamSession(n * n + ld * ld + 2 * ld * NB, (n * n * n) / 6);
  if (team && factorTeam(team, G, n, ld)) return G;
  const room = wasmRoom(n * n + ld * ld + 2 * ld * NB);
  if (room) {
    const { F, fns } = room;
    F.set(G.subarray(0, n * n));
    const failed = fns.factor(0, n * n * 8, n, ld);
    if (failed >= 0) {
      const pivot = F[n * n + ld * ld]!;
      settle();
      throw new NotPositiveDefiniteError(failed, pivot, n);
    }
    G.set(F.subarray(0, n * n));
    return done(G);
  }
  const panelSize = ld * NB;
  const neg = ld * ld; // packed, negated panel (i side)
  const pos = neg + panelSize; // packed panel (j side)
  const { W, kernel } = workspace(ld * ld + 2 * panelSize, (n * n * n) / 3);
  for (let i = 0; i < n; i++) {
    const gi = i * n;
    const wi = i * ld;
    for (let j = 0; j <= i; j++) W[wi + j] = G[gi + j]!;
  }

  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(k0 + NB, n);
    // 1. Unblocked Cholesky of the diagonal block.
    for (let j = k0; j < k1; j++) {
      const rj = j * ld;
      let d = W[rj + j]!;
      for (let p = k0; p < j; p++) d -= W[rj + p]! * W[rj + p]!;
      if (!(d > 0) || !Number.isFinite(d)) throw new NotPositiveDefiniteError(j, d, n);
      const ljj = Math.sqrt(d);
      W[rj + j] = ljj;
      const inv = 1 / ljj;
      for (let i = j + 1; i < k1; i++) {
        const ri = i * ld;
        let s = W[ri + j]!;
        for (let p = k0; p < j; p++) s -= W[ri + p]! * W[rj + p]!;
        W[ri + j] = s * inv;
      }
    }
    if (k1 === n) break;
    // 2. Panel: L[i, k0:k1] = G[i, k0:k1] · L_kk^{-T} for i ≥ k1 (forward substitution per row).
    for (let i = k1; i < n; i++) {
      const ri = i * ld;
      for (let j = k0; j < k1; j++) {
        const rj = j * ld;
        let s = W[ri + j]!;
        for (let p = k0; p < j; p++) s -= W[ri + p]! * W[rj + p]!;
        W[ri + j] = s / W[rj + j]!;
      }
    }
    // 3. Trailing update: G[i, j] -= L[i, k0:k1] · L[j, k0:k1] for k1 ≤ j ≤ i.
    //    Pack rows k1.. of the panel (4 rows interleaved), once negated.
    const w = k1 - k0;
    const rows = n - k1;
    const blocks = Math.ceil(rows / 4);
    W.fill(0, neg, pos + panelSize);
    for (let r = 0; r < rows; r++) {
      const src = (k1 + r) * ld + k0;
      const o = (r >> 2) * w * 4 + (r & 3);
      for (let p = 0; p < w; p++) {
        const x = W[src + p]!;
        W[pos + o + 4 * p] = x;
        W[neg + o + 4 * p] = -x;
      }
    }
    for (let bi = 0; bi < blocks; bi++) {
      const u = neg + bi * w * 4;
      const c = (k1 + 4 * bi) * ld + k1;
      // on the diagonal block this also updates its strict upper part: never read, dropped at the end
      for (let bj = 0; bj <= bi; bj++) kernel(u, pos + bj * w * 4, w, c + 4 * bj, ld);
    }
  }

  for (let i = 0; i < n; i++) {
    const gi = i * n;
    const wi = i * ld;
    for (let j = 0; j <= i; j++) G[gi + j] = W[wi + j]!;
    G.fill(0, gi + i + 1, gi + n);
  }
  return done(G); // its workspace may have been the WebAssembly memory
}

/** L⁻¹ B, and then L⁻ᵀ of that when `back`, in WebAssembly; null when it is not available. */
function substituteWasm(L: Float64Array, B: Float64Array, n: number, k: number, back: boolean): Float64Array | null {
  const room = wasmRoom(n * n + n * k);
  if (!room) return null;
  const { F, fns } = room;
  F.set(L.subarray(0, n * n));
  F.set(B.subarray(0, n * k), n * n);
  fns.fwd(0, n * n * 8, n, k);
  if (back) fns.bwd(0, n * n * 8, n, k);
  return done(F.slice(n * n, n * n + n * k));
}

/**
 * Solves L Y = B for Y (n×k) by forward substitution, with L the lower
 * triangle of an n×n array (its upper triangle is ignored) and B n×k.
 * Returns a new array; B is not modified.
 */
export function solveLower(L: Float64Array, B: Float64Array, n: number, k: number): Float64Array {
  checkSize('solveLower L', L, n * n);
  checkSize('solveLower B', B, n * k);
  const viaWasm = substituteWasm(L, B, n, k, false);
  if (viaWasm) return viaWasm;
  const X = Float64Array.from(B.subarray(0, n * k));
  // row i of Y from the rows j < i (row axpys, contiguous)
  for (let i = 0; i < n; i++) {
    const li = i * n;
    const xi = i * k;
    for (let j = 0; j < i; j++) {
      const l = L[li + j]!;
      if (l === 0) continue;
      const xj = j * k;
      for (let c = 0; c < k; c++) X[xi + c]! -= l * X[xj + c]!;
    }
    const inv = 1 / L[li + i]!;
    for (let c = 0; c < k; c++) X[xi + c]! *= inv;
  }
  return X;
}

/**
 * Solves L L^T X = B for X (n×k), given the Cholesky factor L (the lower
 * triangle of an n×n array, as left by choleskyFactor) and B (n×k).
 * Returns a new array; B is not modified.
 */
export function choleskySolve(L: Float64Array, B: Float64Array, n: number, k: number): Float64Array {
  checkSize('choleskySolve L', L, n * n);
  checkSize('choleskySolve B', B, n * k);
  const viaWasm = substituteWasm(L, B, n, k, true);
  if (viaWasm) return viaWasm;
  const X = solveLower(L, B, n, k); // L Y = B
  // Backward: L^T X = Y; once row i is final, remove it from the rows j < i
  // (this reads row i of L, so accesses stay contiguous).
  for (let i = n - 1; i >= 0; i--) {
    const li = i * n;
    const xi = i * k;
    const inv = 1 / L[li + i]!;
    for (let c = 0; c < k; c++) X[xi + c]! *= inv;
    for (let j = 0; j < i; j++) {
      const l = L[li + j]!;
      if (l === 0) continue;
      const xj = j * k;
      for (let c = 0; c < k; c++) X[xj + c]! -= l * X[xi + c]!;
    }
  }
  return X;
}

/** Solves G X = B for symmetric positive definite G (n×n, not modified) and B (n×k). */
export function solveSPD(G: Float64Array, B: Float64Array, n: number, k: number): Float64Array {
  checkSize('solveSPD G', G, n * n);
  const L = choleskyFactor(Float64Array.from(G.subarray(0, n * n)), n);
  return choleskySolve(L, B, n, k);
}

// ---------------------------------------------------------------------------
// Residuals.

/**
 * The residual sums of squares per column, Σ_r (Y[r][j] − (A X)[r][j])², for
 * A m×n, X n×d and Y m×d (the decoder solves' `rmses` before the root).
 * Each (A X)[r, j] is one dot product of row r of A with column j of X, over
 * a transposed X so both run contiguously, in four interleaved partial sums
 * (as BLAS does; one running sum waits on each add's latency).
 */
export function residualSquares(A: Float64Array, X: Float64Array, Y: Float64Array, m: number, n: number, d: number): Float64Array {
  checkSize('residualSquares A', A, m * n);
  checkSize('residualSquares X', X, n * d);
  checkSize('residualSquares Y', Y, m * d);
  const Xt = transpose(X, n, d);
  const room = wasmRoom(m * n + n * d + m * d + d);
  if (room) {
    const { F, fns } = room;
    F.set(A.subarray(0, m * n));
    F.set(Xt, m * n);
    F.set(Y.subarray(0, m * d), m * n + n * d);
    const out = m * n + n * d + m * d;
    fns.rss(0, m * n * 8, (m * n + n * d) * 8, out * 8, m, n, d);
    return done(F.slice(out, out + d));
  }
  const sums = new Float64Array(d);
  for (let r = 0; r < m; r++) {
    const ar = r * n;
    for (let j = 0, xj = 0; j < d; j++, xj += n) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        p = 0;
      for (; p + 3 < n; p += 4) {
        s0 += A[ar + p]! * Xt[xj + p]!;
        s1 += A[ar + p + 1]! * Xt[xj + p + 1]!;
        s2 += A[ar + p + 2]! * Xt[xj + p + 2]!;
        s3 += A[ar + p + 3]! * Xt[xj + p + 3]!;
      }
      for (; p < n; p++) s0 += A[ar + p]! * Xt[xj + p]!;
      const e = Y[r * d + j]! - (s0 + s1 + (s2 + s3));
      sums[j]! += e * e;
    }
  }
  return sums;
}
