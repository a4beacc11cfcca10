/**
 * Eigenvalues and eigenvectors of a symmetric matrix: Householder reduction
 * to tridiagonal form, then the QL algorithm with implicit shifts (the
 * EISPACK routines tred2 and tql2, as in Wilkinson & Reinsch's Handbook for
 * Automatic Computation, vol. II, and the public-domain JAMA library).
 * Accurate to rounding relative to the largest eigenvalue; about 5 n^3
 * operations in all (n = 300: about 0.1 s here; LAPACK is some 5x faster).
 */

export interface SymmetricEigen {
  /** The eigenvalues, ascending. */
  values: Float64Array;
  /** Row k is the unit eigenvector of values[k] (n x n, row-major). */
  vectors: Float64Array;
}

export function symmetricEigen(S: Float64Array, n: number): SymmetricEigen {
  if (S.length !== n * n) throw new RangeError(`symmetricEigen: ${S.length} values are not ${n}x${n}`);
  const V = Float64Array.from(S); // row-major: the transformation's columns
  const d = new Float64Array(n),
    e = new Float64Array(n);
  const W = new Float64Array(n * n); // its transpose, so that QL's rotations update contiguous rows
  if (n > 0) {
    tridiagonalize(V, d, e, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) W[j * n + i] = V[i * n + j]!;
    diagonalize(W, d, e, n);
  }
  // ascending, eigenvectors as rows
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a]! - d[b]!);
  const values = new Float64Array(n),
    vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = d[src]!;
    vectors.set(W.subarray(src * n, src * n + n), k * n);
  });
  return { values, vectors };
}

/** tred2: V (symmetric, in place) -> the orthogonal transformation; d the diagonal, e the subdiagonal (e[i] below d[i]). */
function tridiagonalize(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0,
      h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      // the Householder vector
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      // apply the similarity transformation to the remaining columns
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j * n + i] = f;
        g = e[j]! + V[j * n + j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j]! * d[k]!;
          e[k] = e[k]! + V[k * n + j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[k * n + j] = V[k * n + j]! - (f * e[k]! + g * d[k]!);
        d[j] = V[(i - 1) * n + j]!;
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // accumulate the transformations
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i]!;
    V[i * n + i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1]! * V[k * n + j]!;
        for (let k = 0; k <= i; k++) V[k * n + j] = V[k * n + j]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j]!;
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** tql2: the tridiagonal (d, e) -> eigenvalues in d; the rows of W (the transformation, transposed) turned into the eigenvectors. */
function diagonalize(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
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
        if (++iter > 60) throw new Error('symmetricEigen: the QL iteration did not converge');
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
          // accumulate the transformation
          const r0 = i * n,
            r1 = r0 + n;
          for (let k = 0; k < n; k++) {
            h = W[r1 + k]!;
            W[r1 + k] = s * W[r0 + k]! + c * h;
            W[r0 + k] = c * W[r0 + k]! - s * h;
          }
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
