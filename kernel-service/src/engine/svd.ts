/**
 * Singular values by one-sided Jacobi rotations (Hestenes 1958): pairs of
 * rows of R are rotated until they are all orthogonal, which needs no Gram
 * matrix, so small singular values keep their relative accuracy (the Gram
 * matrix's eigenvalues lose them below about 1e-8 of the largest). About
 * 10 k^2 L operations a sweep for k rows of length L, and some 6-20 sweeps:
 * Lstsq uses it only where the faster Gram route is not accurate enough and
 * the system is wide (fewer eval points than neurons). Tall systems take a
 * Householder QR factorisation (householderQR), then R's bidiagonal SVD
 * (bidiagonal-solve.ts), some 10x faster than these rotations on R.
 */

/**
 * Householder QR of a tall m x n matrix A (m >= n) given by its columns
 * (`cols`, n rows of length m), with Qᵀ applied to d more columns (`other`,
 * d rows of length m): R (n x n, upper triangular, row-major) and the first
 * n entries of each Qᵀ b (n x d, row-major). Reflections as in Golub & Van
 * Loan's Algorithm 5.2.1, H = I - 2 v vᵀ / (vᵀ v), with v's first entry
 * x_0 - alpha and alpha = -sign(x_0) |x|, which cancels nothing.
 */
export function householderQR(
  cols: Float64Array,
  m: number,
  n: number,
  other: Float64Array,
  d: number,
): { R: Float64Array; QtB: Float64Array } {
  if (m < n || cols.length !== m * n || other.length !== m * d)
    throw new RangeError(`householderQR: shapes ${m}x${n} and ${m}x${d} do not fit`);
  const C = Float64Array.from(cols),
    B = Float64Array.from(other);
  const v = new Float64Array(m);
  const reflect = (M: Float64Array, row: number, j: number, vv: number): void => {
    let s = 0;
    for (let p = j; p < m; p++) s += v[p]! * M[row + p]!;
    const f = (2 * s) / vv;
    if (f !== 0) for (let p = j; p < m; p++) M[row + p]! -= f * v[p]!;
  };
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    let norm2 = 0;
    for (let p = j; p < m; p++) norm2 += C[cj + p]! * C[cj + p]!;
    if (norm2 === 0) continue; // a zero column: R[j][j] = 0, nothing to reflect
    const x0 = C[cj + j]!;
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    v[j] = x0 - alpha;
    for (let p = j + 1; p < m; p++) v[p] = C[cj + p]!;
    const vv = norm2 - x0 * x0 + v[j]! * v[j]!;
    for (let k = j + 1; k < n; k++) reflect(C, k * m, j, vv);
    for (let k = 0; k < d; k++) reflect(B, k * m, j, vv);
    C[cj + j] = alpha;
    for (let p = j + 1; p < m; p++) C[cj + p] = 0;
  }
  const R = new Float64Array(n * n);
  for (let k = 0; k < n; k++) for (let i = 0; i <= k; i++) R[i * n + k] = C[k * m + i]!;
  const QtB = new Float64Array(n * d);
  for (let k = 0; k < d; k++) for (let i = 0; i < n; i++) QtB[i * d + k] = B[k * m + i]!;
  return { R, QtB };
}

export interface RowSvd {
  /** The rotated rows, k x L: orthogonal, row i of length sigma[i]. */
  rows: Float64Array;
  /** The rotations, k x k: rows = G R for the input R. */
  rotation: Float64Array;
  sigma: Float64Array;
}

/** Rotates the k rows of R (k x L, not changed) until orthogonal. */
export function orthogonalizeRows(R: Float64Array, k: number, L: number): RowSvd {
  if (R.length !== k * L) throw new RangeError(`orthogonalizeRows: ${R.length} values are not ${k}x${L}`);
  const W = Float64Array.from(R);
  const G = new Float64Array(k * k);
  for (let i = 0; i < k; i++) G[i * k + i] = 1;
  const eps = 2 ** -52;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let i = 0; i < k - 1; i++) {
      const ri = i * L;
      for (let j = i + 1; j < k; j++) {
        const rj = j * L;
        let alpha = 0,
          beta = 0,
          gamma = 0;
        for (let p = 0; p < L; p++) {
          const a = W[ri + p]!,
            b = W[rj + p]!;
          alpha += a * a;
          beta += b * b;
          gamma += a * b;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        // the rotation that makes rows i and j orthogonal
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t),
          s = c * t;
        rotate(W, ri, rj, L, c, s);
        rotate(G, i * k, j * k, k, c, s);
      }
    }
    if (!rotated) break;
  }
  const sigma = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let p = 0; p < L; p++) s += W[i * L + p]! * W[i * L + p]!;
    sigma[i] = Math.sqrt(s);
  }
  return { rows: W, rotation: G, sigma };
}

/** Rows at offsets i and j (length len) of M become c r_i - s r_j and s r_i + c r_j. */
function rotate(M: Float64Array, i: number, j: number, len: number, c: number, s: number): void {
  for (let p = 0; p < len; p++) {
    const a = M[i + p]!,
      b = M[j + p]!;
    M[i + p] = c * a - s * b;
    M[j + p] = s * a + c * b;
  }
}
