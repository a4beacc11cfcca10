/**
 * Interpolating B-splines of degree 2 or 3 through points (x_i, y_i), as
 * scipy's make_interp_spline with its default knots (what interp1d's
 * 'quadratic' and 'cubic' use, and so Nengo's Piecewise): degree 3 with
 * not-a-knot conditions (the interior knots are x_2 ... x_{n-3}); degree 2
 * with the interior knots at the midpoints of x, the first and last left
 * out. The coefficients solve the collocation system sum_j c_j B_j(x_i) =
 * y_i (Gaussian elimination with partial pivoting; scipy solves the same
 * banded system with LAPACK); values come from the Cox-de Boor recursion
 * (de Boor, A Practical Guide to Splines, 1978).
 */

export class InterpSpline {
  private readonly t: Float64Array;
  /** Coefficients, n x cols row-major. */
  private readonly c: Float64Array;
  private readonly h: Float64Array;
  private readonly hh: Float64Array;

  /** x strictly increasing (at least k + 1 of them); y n x cols row-major. */
  constructor(
    x: Float64Array,
    y: Float64Array,
    readonly cols: number,
    readonly k: 2 | 3,
  ) {
    const n = x.length;
    if (n < k + 1) throw new RangeError(`a spline of degree ${k} needs at least ${k + 1} points, got ${n}`);
    const t = new Float64Array(n + k + 1);
    for (let i = 0; i <= k; i++) {
      t[i] = x[0]!;
      t[n + i] = x[n - 1]!;
    }
    if (k === 3) for (let i = 2; i < n - 2; i++) t[k + i - 1] = x[i]!;
    else for (let i = 1; i < n - 2; i++) t[k + i] = (x[i + 1]! + x[i]!) / 2;
    this.t = t;
    this.h = new Float64Array(k + 1);
    this.hh = new Float64Array(k + 1);
    // the collocation matrix, dense (n is a Piecewise's number of points)
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      const l = this.interval(x[i]!);
      this.basis(x[i]!, l);
      for (let a = 0; a <= k; a++) A[i * n + l - k + a] = this.h[a]!;
    }
    this.c = solve(A, Float64Array.from(y), n, cols);
  }

  /** The knot interval l (k <= l <= n - 1) with t[l] <= x < t[l + 1]; the last one for x at the right end. */
  private interval(x: number): number {
    const t = this.t,
      k = this.k,
      n = t.length - k - 1;
    let lo: number = k,
      hi = n; // t[lo] <= x < t[hi]
    if (x >= t[n]!) return n - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (t[mid]! <= x) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** The k + 1 nonzero B-splines at x in interval l, into h (Cox-de Boor). */
  private basis(x: number, l: number): void {
    const t = this.t,
      h = this.h,
      hh = this.hh;
    h[0] = 1;
    for (let j = 1; j <= this.k; j++) {
      for (let i = 0; i < j; i++) hh[i] = h[i]!;
      h[0] = 0;
      for (let m = 1; m <= j; m++) {
        const xb = t[l + m]!,
          xa = t[l + m - j]!;
        if (xb === xa) {
          h[m] = 0;
          continue;
        }
        const w = hh[m - 1]! / (xb - xa);
        h[m - 1] = h[m - 1]! + w * (xb - x);
        h[m] = w * (x - xa);
      }
    }
  }

  /** The spline's value at x (inside [x_0, x_{n-1}]) into out[0 .. cols). */
  evaluate(x: number, out: Float64Array): void {
    const l = this.interval(x),
      k = this.k,
      cols = this.cols;
    this.basis(x, l);
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let a = 0; a <= k; a++) s += this.h[a]! * this.c[(l - k + a) * cols + j]!;
      out[j] = s;
    }
  }
}

/** A X = B for A n x n (destroyed), B n x cols (destroyed, returned as X): Gaussian elimination with partial pivoting. */
function solve(A: Float64Array, B: Float64Array, n: number, cols: number): Float64Array {
  for (let p = 0; p < n; p++) {
    let piv = p;
    for (let r = p + 1; r < n; r++) if (Math.abs(A[r * n + p]!) > Math.abs(A[piv * n + p]!)) piv = r;
    if (A[piv * n + p] === 0) throw new RangeError('the interpolation points give a singular collocation matrix');
    if (piv !== p) {
      for (let c = 0; c < n; c++) [A[p * n + c], A[piv * n + c]] = [A[piv * n + c]!, A[p * n + c]!];
      for (let c = 0; c < cols; c++) [B[p * cols + c], B[piv * cols + c]] = [B[piv * cols + c]!, B[p * cols + c]!];
    }
    const d = A[p * n + p]!;
    for (let r = p + 1; r < n; r++) {
      const f = A[r * n + p]! / d;
      if (f === 0) continue;
      for (let c = p; c < n; c++) A[r * n + c] = A[r * n + c]! - f * A[p * n + c]!;
      for (let c = 0; c < cols; c++) B[r * cols + c] = B[r * cols + c]! - f * B[p * cols + c]!;
    }
  }
  for (let p = n - 1; p >= 0; p--) {
    for (let c = 0; c < cols; c++) {
      let s = B[p * cols + c]!;
      for (let q = p + 1; q < n; q++) s -= A[p * n + q]! * B[q * cols + c]!;
      B[p * cols + c] = s / A[p * n + p]!;
    }
  }
  return B;
}
