import { RotationLog } from './rotation-log.js';

/**
 * The truncated SVD solve of a square matrix R (n x n, row-major) against
 * d right-hand sides C (n x d), without forming the singular vectors:
 *
 *   X = sum over singular triplets (σ_k, u_k, v_k) of R with
 *       σ_k > rcond · σ_max of  v_k (u_kᵀ C) / σ_k
 *
 * which is numpy's lstsq for small rcond, where the Gram matrix's
 * eigenvalues (spectral-solve.ts) would have lost the small singular values
 * to rounding: singular values come out to about ε σ_max, as LAPACK's
 * (numpy's gelsd bidiagonalises too).
 *
 * 1. Golub-Kahan bidiagonalisation R = U_B B V_Bᵀ by Householder
 *    reflections from the left (columns) and right (rows), kept in R's
 *    lower and upper parts; about 8/3 n^3 operations.
 * 2. C <- U_Bᵀ C by the left reflections in turn.
 * 3. The implicit-shift QR algorithm on the bidiagonal B (Golub & Reinsch
 *    1970; the structure of LINPACK's dsvdc: deflation of a negligible
 *    last singular value, splitting at a negligible one, a QR step with the
 *    shift from the trailing 2 x 2 block, convergence): B = U_Σ Σ V_Σᵀ.
 *    Each left rotation is applied to C at once (U_Σᵀ C), each right one
 *    recorded; neither is accumulated into a matrix (n^2 work each).
 * 4. C's rows divided by σ_k (signs are left as the iteration leaves them:
 *    u_k and σ_k change sign together), or zeroed at or below the cutoff;
 *    then V_Σ (the recorded rotations in reverse) and V_B (the right
 *    reflections in reverse).
 */
export function truncatedSvdSolve(R: Float64Array, n: number, C0: Float64Array, d: number, rcond: number): Float64Array {
  if (R.length !== n * n || C0.length !== n * d)
    throw new RangeError(`truncatedSvdSolve: shapes ${n}x${n} and ${n}x${d} do not fit ${R.length} and ${C0.length} values`);
  const C = Float64Array.from(C0);
  if (n === 0) return C;
  // R scaled to a largest entry of 1 (and X divided by the scale at the end): the iteration's test for a
  // negligible entry has an absolute floor (2^-966, against underflow), which would swallow a tiny R whole
  let scale = 0;
  for (let i = 0; i < R.length; i++) scale = Math.max(scale, Math.abs(R[i]!));
  if (!(scale > 0) || !Number.isFinite(scale)) return scale === 0 ? new Float64Array(n * d) : C.fill(NaN);
  const A = Float64Array.from(R, (x) => x / scale);
  const s = new Float64Array(n),
    e = new Float64Array(n);
  bidiagonalize(A, n, s, e, C, d);
  const right = new RotationLog(n);
  qrIterate(s, e, n, C, d, right);
  let smax = 0;
  for (let k = 0; k < n; k++) smax = Math.max(smax, Math.abs(s[k]!));
  const cut = rcond * smax;
  for (let k = 0; k < n; k++) {
    const sk = s[k]!;
    const keep = Math.abs(sk) > cut && sk !== 0;
    for (let j = 0; j < d; j++) C[k * d + j] = keep ? C[k * d + j]! / sk : 0;
  }
  right.applyReversed(C, d);
  // V_B = G_0 G_1 ... G_{n-3}: G_{n-3} first; G_k's vector is row k of A beyond the superdiagonal's start
  for (let k = n - 3; k >= 0; k--) {
    const pivot = A[k * n + k + 1]!;
    if (pivot === 0) continue;
    for (let j = 0; j < d; j++) {
      let t = 0;
      for (let i = k + 1; i < n; i++) t += A[k * n + i]! * C[i * d + j]!;
      t = -t / pivot;
      for (let i = k + 1; i < n; i++) C[i * d + j] = C[i * d + j]! + t * A[k * n + i]!;
    }
  }
  for (let i = 0; i < C.length; i++) C[i] = C[i]! / scale;
  return C;
}

/**
 * R -> the bidiagonal: s the diagonal, e[k] the entry right of s[k];
 * the left reflections applied to C as they are made. Reflection k from
 * the left is I - u uᵀ / u_k with u = A[k:, k] (u_k = 1 + |x_k| / |x|),
 * from the right the same with v = A[k, k+1:] (pivot A[k][k+1]).
 */
function bidiagonalize(A: Float64Array, n: number, s: Float64Array, e: Float64Array, C: Float64Array, d: number): void {
  const nct = n - 1,
    nrt = Math.max(0, n - 2);
  const tj = new Float64Array(n);
  for (let k = 0; k < Math.max(nct, nrt); k++) {
    if (k < nct) {
      // column k below the diagonal -> zero; s[k] = -(± |x|)
      let norm = 0;
      for (let i = k; i < n; i++) norm = Math.hypot(norm, A[i * n + k]!);
      s[k] = norm;
      if (norm !== 0) {
        if (A[k * n + k]! < 0) s[k] = -norm;
        for (let i = k; i < n; i++) A[i * n + k] = A[i * n + k]! / s[k]!;
        A[k * n + k] = A[k * n + k]! + 1;
      }
      s[k] = -s[k]!;
    }
    if (k < nct && s[k] !== 0) {
      // the reflection on columns k+1.., a row at a time (row-major): t_j = -(u . A[:, j]) / u_k, A[:, j] += t_j u
      tj.fill(0, k + 1, n);
      for (let i = k; i < n; i++) {
        const ui = A[i * n + k]!,
          row = i * n;
        for (let j = k + 1; j < n; j++) tj[j] = tj[j]! + ui * A[row + j]!;
      }
      const pivot = A[k * n + k]!;
      for (let j = k + 1; j < n; j++) tj[j] = -tj[j]! / pivot;
      for (let i = k; i < n; i++) {
        const ui = A[i * n + k]!,
          row = i * n;
        for (let j = k + 1; j < n; j++) A[row + j] = A[row + j]! + tj[j]! * ui;
      }
    }
    for (let j = k + 1; j < n; j++) e[j] = A[k * n + j]!;
    if (k < nct && s[k] !== 0) {
      // U_Bᵀ C: this reflection on C's rows k..n-1
      for (let j = 0; j < d; j++) {
        let t = 0;
        for (let i = k; i < n; i++) t += A[i * n + k]! * C[i * d + j]!;
        t = -t / A[k * n + k]!;
        for (let i = k; i < n; i++) C[i * d + j] = C[i * d + j]! + t * A[i * n + k]!;
      }
    }
    if (k < nrt) {
      // row k right of the superdiagonal -> zero
      let norm = 0;
      for (let i = k + 1; i < n; i++) norm = Math.hypot(norm, e[i]!);
      e[k] = norm;
      if (norm !== 0) {
        if (e[k + 1]! < 0) e[k] = -norm;
        for (let i = k + 1; i < n; i++) e[i] = e[i]! / e[k]!;
        e[k + 1] = e[k + 1]! + 1;
      }
      e[k] = -e[k]!;
      if (e[k] !== 0) {
        // rows k+1.. (row-major): work_i = e . A[i, :], A[i, j] += (-e_j / e_k+1) work_i
        for (let j = k + 1; j < n; j++) tj[j] = -e[j]! / e[k + 1]!;
        for (let i = k + 1; i < n; i++) {
          const row = i * n;
          let w = 0;
          for (let j = k + 1; j < n; j++) w += e[j]! * A[row + j]!;
          for (let j = k + 1; j < n; j++) A[row + j] = A[row + j]! + tj[j]! * w;
        }
      }
      // the reflection's vector kept in row k (pivot at k+1); 0 there marks none
      for (let i = k + 1; i < n; i++) A[k * n + i] = e[k] !== 0 ? e[i]! : 0;
    }
  }
  s[n - 1] = A[(n - 1) * n + n - 1]!;
  if (n >= 2) e[n - 2] = A[(n - 2) * n + n - 1]!;
  e[n - 1] = 0;
}

/** U's columns i and j rotated (col_i <- c col_i + s col_j, col_j <- -s col_i + c col_j): Uᵀ C's rows the same way. */
function rotateRows(C: Float64Array, d: number, i: number, j: number, c: number, s: number): void {
  const a0 = i * d,
    b0 = j * d;
  for (let k = 0; k < d; k++) {
    const a = C[a0 + k]!,
      b = C[b0 + k]!;
    C[a0 + k] = c * a + s * b;
    C[b0 + k] = -s * a + c * b;
  }
}

/** The bidiagonal (s, e) -> singular values in s (signed, unordered); left rotations applied to C, right ones recorded. */
function qrIterate(s: Float64Array, e: Float64Array, n: number, C: Float64Array, d: number, right: RotationLog): void {
  const eps = 2 ** -52,
    tiny = 2 ** -966;
  let p = n,
    iter = 0;
  while (p > 0) {
    if (iter > 75 * n) throw new Error('truncatedSvdSolve: the QR iteration did not converge');
    // kase 1: s[p-1] negligible; 2: s[k] negligible, k < p-1; 3: e[k-1] negligible, QR step; 4: e[p-2] negligible, converged
    let k: number;
    for (k = p - 2; k >= -1; k--) {
      if (k === -1) break;
      if (Math.abs(e[k]!) <= tiny + eps * (Math.abs(s[k]!) + Math.abs(s[k + 1]!))) {
        e[k] = 0;
        break;
      }
    }
    let kase: number;
    if (k === p - 2) kase = 4;
    else {
      let ks: number;
      for (ks = p - 1; ks >= k; ks--) {
        if (ks === k) break;
        const t = (ks !== p ? Math.abs(e[ks]!) : 0) + (ks !== k + 1 ? Math.abs(e[ks - 1]!) : 0);
        if (Math.abs(s[ks]!) <= tiny + eps * t) {
          s[ks] = 0;
          break;
        }
      }
      if (ks === k) kase = 3;
      else if (ks === p - 1) kase = 1;
      else {
        kase = 2;
        k = ks;
      }
    }
    k++;
    if (kase === 1) {
      // deflate a negligible s[p-1]: rotations from the right chase e[p-2] out
      let f = e[p - 2]!;
      e[p - 2] = 0;
      for (let j = p - 2; j >= k; j--) {
        const t = Math.hypot(s[j]!, f);
        const cs = s[j]! / t,
          sn = f / t;
        s[j] = t;
        if (j !== k) {
          f = -sn * e[j - 1]!;
          e[j - 1] = cs * e[j - 1]!;
        }
        right.push(j, p - 1, cs, sn);
      }
    } else if (kase === 2) {
      // split at a negligible s[k-1]: rotations from the left chase e[k-1] out
      let f = e[k - 1]!;
      e[k - 1] = 0;
      for (let j = k; j < p; j++) {
        const t = Math.hypot(s[j]!, f);
        const cs = s[j]! / t,
          sn = f / t;
        s[j] = t;
        f = -sn * e[j]!;
        e[j] = cs * e[j]!;
        rotateRows(C, d, j, k - 1, cs, sn);
      }
    } else if (kase === 3) {
      // one QR step on s[k..p-1], shifted by the trailing 2 x 2 block's eigenvalue nearer its corner
      const scale = Math.max(Math.abs(s[p - 1]!), Math.abs(s[p - 2]!), Math.abs(e[p - 2]!), Math.abs(s[k]!), Math.abs(e[k]!));
      const sp = s[p - 1]! / scale,
        spm1 = s[p - 2]! / scale,
        epm1 = e[p - 2]! / scale,
        sk = s[k]! / scale,
        ek = e[k]! / scale;
      const b = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
      const c = sp * epm1 * (sp * epm1);
      let shift = 0;
      if (b !== 0 || c !== 0) {
        shift = Math.sqrt(b * b + c);
        if (b < 0) shift = -shift;
        shift = c / (b + shift);
      }
      let f = (sk + sp) * (sk - sp) + shift;
      let g = sk * ek;
      for (let j = k; j < p - 1; j++) {
        let t = Math.hypot(f, g);
        let cs = f / t,
          sn = g / t;
        if (j !== k) e[j - 1] = t;
        f = cs * s[j]! + sn * e[j]!;
        e[j] = cs * e[j]! - sn * s[j]!;
        g = sn * s[j + 1]!;
        s[j + 1] = cs * s[j + 1]!;
        right.push(j, j + 1, cs, sn);
        t = Math.hypot(f, g);
        cs = f / t;
        sn = g / t;
        s[j] = t;
        f = cs * e[j]! + sn * s[j + 1]!;
        s[j + 1] = -sn * e[j]! + cs * s[j + 1]!;
        g = sn * e[j + 1]!;
        e[j + 1] = cs * e[j + 1]!;
        rotateRows(C, d, j, j + 1, cs, sn);
      }
      e[p - 2] = f;
      iter++;
    } else {
      // s[p-1] has converged (its sign stays: u_k and σ_k share it)
      p--;
    }
  }
}
