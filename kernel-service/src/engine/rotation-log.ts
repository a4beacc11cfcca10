/**
 * Plane rotations recorded in order, to apply to a few vectors later rather
 * than accumulate into a matrix (n² work each): rotation q of the pair
 * (i[q], j[q]) takes (x_i, x_j) to (c x_i - s x_j, s x_i + c x_j). The
 * tridiagonal (spectral-solve.ts) and bidiagonal (bidiagonal-solve.ts)
 * QR iterations record theirs here; about n² records of 24 bytes at most.
 */
export class RotationLog {
  i: Int32Array;
  j: Int32Array;
  c: Float64Array;
  s: Float64Array;
  count = 0;
  constructor(n: number) {
    const cap = Math.max(16, 4 * n);
    this.i = new Int32Array(cap);
    this.j = new Int32Array(cap);
    this.c = new Float64Array(cap);
    this.s = new Float64Array(cap);
  }
  push(i: number, j: number, c: number, s: number): void {
    if (this.count === this.i.length) {
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (len: number) => T): T => {
        const b = make(2 * a.length);
        b.set(a);
        return b;
      };
      this.i = grow(this.i, (l) => new Int32Array(l));
      this.j = grow(this.j, (l) => new Int32Array(l));
      this.c = grow(this.c, (l) => new Float64Array(l));
      this.s = grow(this.s, (l) => new Float64Array(l));
    }
    this.i[this.count] = i;
    this.j[this.count] = j;
    this.c[this.count] = c;
    this.s[this.count] = s;
    this.count++;
  }
  /**
   * X <- R_1 R_2 ... R_K X (d columns), R_q the recorded rotations as
   * matrices, R_K first: the product V = R_1 ... R_K of rotations that
   * turned a matrix's columns (column i <- c col_i + s col_j, column j <-
   * -s col_i + c col_j), applied without forming it.
   */
  applyReversed(X: Float64Array, d: number): void {
    for (let q = this.count - 1; q >= 0; q--) {
      const a0 = this.i[q]! * d,
        b0 = this.j[q]! * d,
        c = this.c[q]!,
        s = this.s[q]!;
      for (let k = 0; k < d; k++) {
        const a = X[a0 + k]!,
          b = X[b0 + k]!;
        X[a0 + k] = c * a - s * b;
        X[b0 + k] = s * a + c * b;
      }
    }
  }
}
