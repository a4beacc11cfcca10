/**
 * The elastic net for one target by cyclic coordinate descent, as
 * scikit-learn's ElasticNet runs it (Nengo's LstsqL1 hands its solves to
 * ElasticNet, and its decoders are where that iteration stops, usually
 * well short of the minimum: so nefsim follows the same iteration, to get
 * the same decoders). Without an intercept, with alpha and beta already
 * scaled by the number of samples m:
 *
 *   minimise  P(w) = ½ |y - X w|² + alpha |w|₁ + (beta/2) |w|²
 *
 * - Coordinate updates in column order (Friedman, Hastie & Tibshirani,
 *   "Regularization paths for generalized linear models via coordinate
 *   descent", 2010), with the residual R = y - X w kept:
 *     w_j <- S(X_jᵀ R + w_j |X_j|², alpha) / (|X_j|² + beta),  S the soft threshold.
 * - The duality gap (Fercoq, Gramfort & Salmon, "Mind the duality gap",
 *   2015), with the dual point v = R scaled into the feasible set
 *   |Xᵀv - beta w|_∞ <= alpha:
 *     gap = P(w) - D(v),  D(v) = -½ s² (|R|² + beta |w|²) + s Rᵀy,
 *     s = min(1, alpha / |XᵀR - beta w|_∞).
 *   It is computed after a sweep whose largest update is at most tol times
 *   the largest coefficient, or after the last sweep; the descent stops
 *   when gap <= tol |y|².
 * - Gap safe screening (Ndiaye, Fercoq, Gramfort & Salmon, "Gap safe
 *   screening rules for sparsity enforcing penalties", 2017): before the
 *   first sweep and at each gap computation, a coordinate j with
 *     (1 - |X_jᵀθ|) / sqrt(|X_j|² + beta) > sqrt(2 gap) / alpha,
 *     θ = (XᵀR - beta w) / max(alpha, |XᵀR - beta w|_∞)   (per coordinate)
 *   is zero at the minimum: it is set to 0 and left out of later sweeps.
 *   (scikit-learn 1.9 screens, earlier versions did not; in the
 *   fixture's cases, and over l1 = 1e-4 to 2e-2 on its two ensembles,
 *   screening changed no decoders.)
 *
 * The updates run on the Gram matrix G = XᵀX and Xᵀy (X_jᵀR = (Xᵀy)_j - (G w)_j,
 * with G w kept up to date: a row of G per change), not on the residual:
 * a sweep then costs the neurons plus a row per changed coefficient, not
 * two passes over the eval points per neuron (9-28x faster at 600-1,000
 * neurons: 0.14 and 0.30 s a connection here, where Nengo took 0.22 and
 * 0.50 s). R itself is formed only for the duality gap. The iterates
 * differ from scikit-learn's residual updates by rounding (Nengo's decoders
 * within 1e-9 after 1,000 sweeps, test/solvers-lstsq-l1.test.ts).
 */

export interface EnetResult {
  w: Float64Array;
  /** True when the duality gap met the tolerance; false after maxIter sweeps. */
  converged: boolean;
  sweeps: number;
  gap: number;
}

/** The problem: A (m×n, row-major: X), its Gram matrix G = AᵀA (n×n), y (m) and Aᵀy (n). */
export interface EnetProblem {
  A: Float64Array;
  G: Float64Array;
  y: Float64Array;
  Aty: Float64Array;
  m: number;
  n: number;
}

export function enetCoordinateDescent(p: EnetProblem, alpha: number, beta: number, maxIter: number, tol: number): EnetResult {
  const { A, G, y, Aty, m, n } = p;
  if (A.length !== m * n || G.length !== n * n || y.length !== m || Aty.length !== n)
    throw new RangeError(`enetCoordinateDescent: shapes do not fit ${m}x${n}`);
  const w = new Float64Array(n);
  const g = new Float64Array(n); // G w
  const R = new Float64Array(m);
  const XtA = new Float64Array(n);
  const support = new Int32Array(n);
  let yy = 0;
  for (let i = 0; i < m; i++) yy += y[i]! * y[i]!;
  const gapTol = tol * yy;
  const screening = alpha !== 0;
  const active = new Int32Array(n);
  const excluded = new Uint8Array(n);
  let nActive = n;
  for (let j = 0; j < n; j++) active[j] = j;

  /** w_j <- v, G w kept. */
  const setW = (j: number, v: number): void => {
    const d = v - w[j]!;
    w[j] = v;
    const row = j * n;
    for (let k = 0; k < n; k++) g[k] = g[k]! + d * G[row + k]!;
  };

  /**
   * The duality gap at w; [gap, |XtA|_∞] with XtA = XᵀR - beta w. Without
   * L1 (alpha = 0, ridge) the dual of the extended least-squares problem:
   * gap = |R|² + (beta/2) |w|² - Rᵀy + |XᵀR|² / (2 beta).
   */
  const dualityGap = (): [number, number] => {
    let ns = 0;
    for (let j = 0; j < n; j++) if (w[j] !== 0) support[ns++] = j;
    let w2 = 0,
      w1 = 0,
      r2 = 0,
      ry = 0,
      dual = 0,
      xr2 = 0;
    if (beta > 0) for (let j = 0; j < n; j++) w2 += w[j]! * w[j]!;
    for (let i = 0; i < m; i++) {
      let xw = 0;
      const row = i * n;
      for (let k = 0; k < ns; k++) xw += A[row + support[k]!]! * w[support[k]!]!;
      const r = y[i]! - xw;
      R[i] = r;
      r2 += r * r;
      ry += r * y[i]!;
    }
    for (let j = 0; j < n; j++) {
      const s = Aty[j]! - g[j]!; // X_jᵀ R
      if (alpha === 0) {
        xr2 += s * s;
        continue;
      }
      const v = s - beta * w[j]!;
      XtA[j] = v;
      dual = Math.max(dual, Math.abs(v));
      w1 += Math.abs(w[j]!);
    }
    if (alpha === 0) return [r2 + 0.5 * beta * w2 - ry + xr2 / (2 * beta), xr2];
    const primal = 0.5 * (r2 + beta * w2) + alpha * w1;
    const sc = dual > alpha ? alpha / dual : 1;
    return [primal - (-0.5 * sc * sc * (r2 + beta * w2) + sc * ry), dual];
  };

  /** Drops the coordinates the gap proves zero (w_j = 0), keeping the rest in order. */
  const screen = (gap: number, dual: number): void => {
    let k = 0;
    const bound = Math.sqrt(2 * gap) / alpha;
    for (let j = 0; j < n; j++) {
      if (excluded[j]) continue;
      const njj = G[j * n + j]!;
      if (njj === 0) {
        w[j] = 0;
        excluded[j] = 1;
        continue;
      }
      const theta = XtA[j]! / Math.max(alpha, dual);
      const dj = (1 - Math.abs(theta)) / Math.sqrt(njj + beta);
      if (dj <= bound) {
        active[k++] = j;
      } else {
        if (w[j] !== 0) setW(j, 0);
        excluded[j] = 1;
      }
    }
    nActive = k;
  };

  let [gap, dual] = dualityGap();
  if (gap <= gapTol) return { w, converged: true, sweeps: 0, gap };
  if (screening) screen(gap, dual);
  for (let sweep = 0; sweep < maxIter; sweep++) {
    let wMax = 0,
      dwMax = 0;
    for (let f = 0; f < nActive; f++) {
      const j = active[f]!;
      const njj = G[j * n + j]!;
      if (njj === 0) continue;
      const wj = w[j]!;
      // X_jᵀ (R + w_j X_j)
      const tmp = Aty[j]! - g[j]! + wj * njj;
      const at = Math.abs(tmp) - alpha;
      const wn = at > 0 ? (Math.sign(tmp) * at) / (njj + beta) : 0;
      if (wn !== wj) setW(j, wn);
      dwMax = Math.max(dwMax, Math.abs(wn - wj));
      wMax = Math.max(wMax, Math.abs(wn));
    }
    if (wMax === 0 || dwMax / wMax <= tol || sweep === maxIter - 1) {
      [gap, dual] = dualityGap();
      if (gap <= gapTol) return { w, converged: true, sweeps: sweep + 1, gap };
      if (screening) screen(gap, dual);
    }
  }
  return { w, converged: false, sweeps: maxIter, gap };
}
