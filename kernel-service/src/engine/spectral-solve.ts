import { RotationLog } from './rotation-log.js';

/**
 * The truncated spectral solve of a symmetric matrix S (n x n) against d
 * right-hand sides B (n x d, row-major), without forming the eigenvectors:
 *
 *   X = sum over eigenpairs (λ_k, v_k) of S with λ_k > 0 and
 *       sqrt(λ_k) > rcond · sqrt(λ_max) of  v_k (v_kᵀ B) / λ_k
 *
 * which is Lstsq's solution through the Gram matrix (S = AᵀA, λ_k the
 * squared singular values of A, rcond numpy's cutoff on them).
 *
 * 1. Householder tridiagonalisation S = Q T Qᵀ (Golub & Van Loan, Matrix
 *    Computations, Algorithm 8.3.1: at step k, x = S[k+1:, k],
 *    H = I - τ v vᵀ with H x = β e_1, p = τ S' v, w = p - (τ pᵀv / 2) v,
 *    S' -= v wᵀ + w vᵀ on the lower triangle), the reflectors kept below
 *    the subdiagonal; about 4/3 n^3 operations.
 * 2. C = Qᵀ B by the reflectors in turn.
 * 3. The QL algorithm with implicit shifts on T (EISPACK's tql2, as in
 *    Wilkinson & Reinsch's Handbook, vol. II): its plane rotations R_i make
 *    T = Z Λ Zᵀ with Z = R_1 R_2 ... R_K. Rather than accumulate Z (n^2
 *    work per rotation's pair of rows: the 3 n^3 most of a full eigensolve
 *    costs), each rotation is applied to C's d columns (Zᵀ C) and recorded.
 * 4. Zᵀ C's rows scaled by 1/λ_k, or zeroed below the cutoff; then Z (the
 *    recorded rotations in reverse) and Q (the reflectors in reverse).
 *
 * The rotations take some 0.75 n^2 records of 20 bytes (60 MB for
 * n = 2,000), against the 24 n^2 bytes of the full eigenvectors this
 * replaces.
 */
export function truncatedSpectralSolve(S: Float64Array, n: number, B: Float64Array, d: number, rcond: number): Float64Array {
  if (S.length !== n * n || B.length !== n * d)
    throw new RangeError(`truncatedSpectralSolve: shapes ${n}x${n} and ${n}x${d} do not fit ${S.length} and ${B.length} values`);
  const A = Float64Array.from(S);
  const diag = new Float64Array(n),
    sub = new Float64Array(n),
    tau = new Float64Array(n);
  tridiagonalize(A, n, diag, sub, tau);
  const C = Float64Array.from(B);
  for (let k = 0; k + 2 < n; k++) reflect(A, n, k, tau[k]!, C, d);
  const rot = new RotationLog(n);
  ql(diag, sub, n, C, d, rot);
  let lmax = 0;
  for (let k = 0; k < n; k++) lmax = Math.max(lmax, diag[k]!);
  const cut = rcond * Math.sqrt(lmax);
  for (let k = 0; k < n; k++) {
    const l = diag[k]!;
    const f = l > 0 && Math.sqrt(l) > cut ? 1 / l : 0;
    for (let j = 0; j < d; j++) C[k * d + j] = f === 0 ? 0 : C[k * d + j]! / l;
  }
  rot.applyReversed(C, d);
  for (let k = n - 3; k >= 0; k--) reflect(A, n, k, tau[k]!, C, d);
  return C;
}

/**
 * Algorithm 8.3.1 on the lower triangle of A (row-major, n x n): the
 * diagonal and subdiagonal of T (sub[k] = T[k+1][k]), and reflector k's
 * vector v (v_0 = 1 implied) in A[k+2:, k] with its τ in tau[k].
 *
 * Each step's rank-2 update and the next step's product p = τ A' v go in
 * one pass over the trailing triangle (its first column is updated first,
 * which gives the next reflector): the trailing matrix is read once a step
 * rather than twice, as the same operations in the same order
 * (1.0 -> 0.63 s for n = 1,000 here).
 */
function tridiagonalize(A: Float64Array, n: number, diag: Float64Array, sub: Float64Array, tau: Float64Array): void {
  if (n >= 3) {
    let v = new Float64Array(n),
      p = new Float64Array(n),
      vNext = new Float64Array(n),
      pNext = new Float64Array(n);
    // step 0's reflector and product, on their own
    let t = householder(A, n, 0, v, diag, sub, tau);
    p.fill(0);
    for (let r = 0; r < n - 1; r++) {
      const base = (1 + r) * n + 1;
      const vr = v[r]!;
      let s = 0;
      for (let c = 0; c < r; c++) {
        const a = A[base + c]!;
        s += a * v[c]!;
        p[c] = p[c]! + a * vr;
      }
      p[r] = p[r]! + s + A[base + r]! * vr;
    }
    for (let k = 0; k + 2 < n; k++) {
      const L = n - k - 1; // the trailing matrix's order, rows and columns k+1 .. n-1
      const o = k + 1;
      // w = p - (τ pᵀv / 2) v with p = τ A' v, kept in p; then A' -= v wᵀ + w vᵀ
      let pv = 0;
      for (let r = 0; r < L; r++) {
        p[r] = t * p[r]!;
        pv += p[r]! * v[r]!;
      }
      const h = (t * pv) / 2;
      for (let r = 0; r < L; r++) p[r] = p[r]! - h * v[r]!;
      if (k + 3 < n) {
        // the first column of A' first: the next reflector comes from it
        const v0 = v[0]!,
          w0 = p[0]!;
        for (let r = 0; r < L; r++) {
          const i = (o + r) * n + o;
          A[i] = A[i]! - (v[r]! * w0 + p[r]! * v0);
        }
        const tn = householder(A, n, k + 1, vNext, diag, sub, tau);
        // the rest of A' updated, and A'' vNext accumulated as each entry is final (A'' = A'[1:, 1:])
        pNext.fill(0, 0, L - 1);
        for (let r = 1; r < L; r++) {
          const base = (o + r) * n + o;
          const vr = v[r]!,
            wr = p[r]!,
            ur = vNext[r - 1]!;
          let s = 0;
          for (let c = 1; c < r; c++) {
            const a = A[base + c]! - (vr * p[c]! + wr * v[c]!);
            A[base + c] = a;
            s += a * vNext[c - 1]!;
            pNext[c - 1] = pNext[c - 1]! + a * ur;
          }
          const a = A[base + r]! - (vr * wr + wr * vr);
          A[base + r] = a;
          pNext[r - 1] = pNext[r - 1]! + s + a * ur;
        }
        t = tn;
        [v, vNext] = [vNext, v];
        [p, pNext] = [pNext, p];
      } else {
        for (let r = 0; r < L; r++) {
          const base = (o + r) * n + o;
          const vr = v[r]!,
            wr = p[r]!;
          for (let c = 0; c <= r; c++) A[base + c] = A[base + c]! - (vr * p[c]! + wr * v[c]!);
        }
      }
    }
  }
  if (n >= 2) {
    diag[n - 2] = A[(n - 2) * n + n - 2]!;
    sub[n - 2] = A[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) diag[n - 1] = A[(n - 1) * n + n - 1]!;
  sub[n - 1] = 0;
}

/**
 * Reflector k (k + 2 < n) from x = A[k+1:, k], as LAPACK's dlarfg:
 * H x = β e_1 with β = -sign(x_0) |x|, τ = (β - x_0) / β, v = x / (x_0 - β),
 * v_0 = 1; v (length n - k - 1) into `v` and below the subdiagonal of A's
 * column k, the diagonal and β into diag[k] and sub[k], τ into tau[k] and
 * returned (0, H = I, when x is already e_1's multiple).
 */
function householder(
  A: Float64Array,
  n: number,
  k: number,
  v: Float64Array,
  diag: Float64Array,
  sub: Float64Array,
  tau: Float64Array,
): number {
  const L = n - k - 1,
    o = k + 1;
  const x0 = A[o * n + k]!;
  let xs = 0;
  for (let r = 1; r < L; r++) {
    const xr = A[(o + r) * n + k]!;
    xs += xr * xr;
  }
  diag[k] = A[k * n + k]!;
  v[0] = 1;
  if (xs === 0) {
    sub[k] = x0;
    tau[k] = 0;
    for (let r = 1; r < L; r++) v[r] = A[(o + r) * n + k] = 0;
    return 0;
  }
  const beta = x0 >= 0 ? -Math.sqrt(x0 * x0 + xs) : Math.sqrt(x0 * x0 + xs);
  const t = (beta - x0) / beta;
  const scale = 1 / (x0 - beta);
  for (let r = 1; r < L; r++) {
    const vr = A[(o + r) * n + k]! * scale;
    v[r] = vr;
    A[(o + r) * n + k] = vr;
  }
  sub[k] = beta;
  tau[k] = t;
  return t;
}

/** C[k+1:, :] = H_k C[k+1:, :], with H_k = I - τ v vᵀ as tridiagonalize left it in A. */
function reflect(A: Float64Array, n: number, k: number, t: number, C: Float64Array, d: number): void {
  if (t === 0) return;
  const o = k + 1;
  for (let j = 0; j < d; j++) {
    let s = C[o * d + j]!;
    for (let r = o + 1; r < n; r++) s += A[r * n + k]! * C[r * d + j]!;
    s *= t;
    C[o * d + j] = C[o * d + j]! - s;
    for (let r = o + 1; r < n; r++) C[r * d + j] = C[r * d + j]! - s * A[r * n + k]!;
  }
}

/**
 * tql2 on the tridiagonal (d, e with e[i] = T[i+1][i], e[n-1] = 0):
 * eigenvalues in d (unordered), and each rotation applied to the rows of
 * C (C <- Zᵀ C) and recorded in rot.
 */
function ql(d: Float64Array, e: Float64Array, n: number, C: Float64Array, dc: number, rot: RotationLog): void {
  let f = 0,
    tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    // find a small subdiagonal element
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > eps * tst1) m++;
    // if m == l, d[l] is an eigenvalue; else iterate
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('truncatedSpectralSolve: the QL iteration did not converge');
        // the implicit shift
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        // the implicit QL transformation
        p = d[m]!;
        let c = 1,
          c2 = c,
          c3 = c,
          s = 0,
          s2 = 0;
        const el1 = e[l + 1]!;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          // Zᵀ C: rows i and i+1 as tql2 turns the transformation's columns i and i+1
          const r0 = i * dc,
            r1 = r0 + dc;
          for (let j = 0; j < dc; j++) {
            const a = C[r0 + j]!,
              b = C[r1 + j]!;
            C[r1 + j] = s * a + c * b;
            C[r0 + j] = c * a - s * b;
          }
          // recorded with -s: Z's columns i, i+1 turn as (x_i, x_i+1) <- (c x_i + s x_i+1, c x_i+1 - s x_i)
          rot.push(i, i + 1, c, -s);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        // check for convergence
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
