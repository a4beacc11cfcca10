/**
 * Non-negative least squares: x = argmin ||M x - b|| subject to x >= 0, by
 * Lawson and Hanson's active-set method (Solving Least Squares Problems,
 * 1974, ch. 23), the algorithm of scipy.optimize.nnls, which Nengo's Nnls
 * solvers call.
 *
 * It works on the normal equations: given G = MᵀM and c = Mᵀb, the gradient
 * is w = c - G x, and each trial solution on the passive set P solves
 * G_PP s = c_P with a Cholesky factor of G_PP that grows by one row when a
 * variable joins P (O(|P|²)) and is refactored only when variables leave it.
 * One G serves every right-hand side (the columns of a weight solve).
 * Where M is ill-conditioned the normal equations lose accuracy that a QR
 * solve would keep; the solution is still non-negative and a least-squares
 * optimum to that accuracy.
 */

const EPS = 2.220446049250313e-16;

export interface NnlsResult {
  x: Float64Array;
  /** Outer iterations (variables moved into the passive set). */
  iterations: number;
  /** False when the iteration limit (3n, as scipy's) stopped it first. */
  converged: boolean;
}

/** Solves for one right-hand side: G (n×n, symmetric positive semi-definite, row-major), c (n). */
export function nnlsGram(G: Float64Array, c: Float64Array, n: number): NnlsResult {
  const x = new Float64Array(n);
  const w = Float64Array.from(c);
  const passive = new Uint8Array(n);
  // variables that failed to join (a zero pivot: dependent on the passive set), skipped until x changes
  const blocked = new Uint8Array(n);
  const P = new Int32Array(n); // the passive set, in joining order
  let p = 0;
  const L = new Float64Array(n * n); // Cholesky factor of G_PP, p×p, row stride n
  const s = new Float64Array(n);
  const rhs = new Float64Array(n);
  let cMax = 0;
  let gMax = 0;
  for (let i = 0; i < n; i++) {
    cMax = Math.max(cMax, Math.abs(c[i]!));
    gMax = Math.max(gMax, G[i * n + i]!);
  }
  // a gradient this small is rounding, not descent (scaled as the data are)
  const tol = 10 * EPS * n * cMax;
  const pivotTol = EPS * n * gMax;
  const maxIter = 3 * n;
  let iterations = 0;

  /** Appends row p of L for variable j (the new row of G_PP's factor); false if its pivot is not positive. */
  const append = (j: number): boolean => {
    const row = p * n;
    let d = G[j * n + j]!;
    for (let k = 0; k < p; k++) {
      let v = G[j * n + P[k]!]!;
      const lk = k * n;
      for (let q = 0; q < k; q++) v -= L[lk + q]! * L[row + q]!;
      v /= L[lk + k]!;
      L[row + k] = v;
      d -= v * v;
    }
    if (!(d > pivotTol)) return false;
    L[row + p] = Math.sqrt(d);
    P[p++] = j;
    return true;
  };

  /** s_P = G_PP⁻¹ c_P (forward then back substitution with L). */
  const solveP = (): void => {
    for (let k = 0; k < p; k++) {
      let v = c[P[k]!]!;
      const lk = k * n;
      for (let q = 0; q < k; q++) v -= L[lk + q]! * rhs[q]!;
      rhs[k] = v / L[lk + k]!;
    }
    for (let k = p - 1; k >= 0; k--) {
      let v = rhs[k]!;
      for (let q = k + 1; q < p; q++) v -= L[q * n + k]! * s[q]!;
      s[k] = v / L[k * n + k]!;
    }
  };

  const gradient = (): void => {
    for (let i = 0; i < n; i++) {
      let v = c[i]!;
      const gi = i * n;
      for (let k = 0; k < p; k++) v -= G[gi + P[k]!]! * x[P[k]!]!;
      w[i] = v;
    }
  };

  while (iterations < maxIter) {
    let j = -1;
    let best = tol;
    for (let i = 0; i < n; i++) {
      if (!passive[i] && !blocked[i] && w[i]! > best) {
        best = w[i]!;
        j = i;
      }
    }
    if (j < 0) return { x, iterations, converged: true };
    iterations++;
    if (!append(j)) {
      blocked[j] = 1;
      continue;
    }
    passive[j] = 1;
    for (;;) {
      solveP();
      let feasible = true;
      for (let k = 0; k < p; k++) if (!(s[k]! > 0)) feasible = false;
      if (feasible) {
        for (let k = 0; k < p; k++) x[P[k]!] = s[k]!;
        break;
      }
      // step from x towards s until the first passive variable reaches zero; it (and any other
      // at zero) leaves P, and the factor is rebuilt for the rest
      let alpha = Infinity;
      let first = -1;
      for (let k = 0; k < p; k++) {
        if (s[k]! <= 0) {
          const xi = x[P[k]!]!;
          const a = xi - s[k]! > 0 ? xi / (xi - s[k]!) : 0;
          if (a < alpha) {
            alpha = a;
            first = k;
          }
        }
      }
      let xMax = 0;
      for (let k = 0; k < p; k++) {
        const i = P[k]!;
        x[i] = x[i]! + alpha * (s[k]! - x[i]!);
        if (x[i]! > xMax) xMax = x[i]!;
      }
      x[P[first]!] = 0;
      const keep: number[] = [];
      for (let k = 0; k < p; k++) {
        const i = P[k]!;
        if (x[i]! > EPS * xMax) keep.push(i);
        else {
          x[i] = 0;
          passive[i] = 0;
          // left without x moving: not tried again until x changes (or it would cycle)
          if (alpha === 0) blocked[i] = 1;
        }
      }
      p = 0;
      for (const i of keep) {
        if (!append(i)) {
          x[i] = 0;
          passive[i] = 0;
        }
      }
      if (p === 0) break;
    }
    if (p > 0) blocked.fill(0);
    gradient();
  }
  return { x, iterations, converged: false };
}
