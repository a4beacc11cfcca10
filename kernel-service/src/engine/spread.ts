/**
 * A sparse product input by input (SpreadIncOp, SpreadIncKernel): each
 * nonzero input adds itself times its weights into the outputs it reaches,
 * so with spikes only the inputs that spiked cost. Convolutions
 * (convolution.ts) and Sparse transforms from spiking neurons use it.
 */

/**
 * Input i adds x[i] times weights kOff[e] + r kStride into outputs
 * yOff[e] + r yStride, r < run, for e in [start[i], start[i + 1]) (for a
 * convolution: each e one window position that reads input i, r a filter
 * of its group; for single entries run is 1).
 */
export interface Spread {
  start: Int32Array;
  yOff: Int32Array;
  /** null: entry e's weight is weight e (run 1), weights stored in entry order. */
  kOff: Int32Array | null;
  run: number;
  yStride: number;
  kStride: number;
}

/**
 * The Spread of single entries: y[row[k]] += w[k] x[col[k]] (a Sparse
 * transform's entries; repeats add up), grouped by input, in their order;
 * `order[e]` is the entry k that entry e of the spread is, so that the
 * weights can be stored in the spread's order (kOff null).
 */
export function entrySpread(sizeIn: number, row: Int32Array, col: Int32Array): Spread & { order: Int32Array } {
  const n = row.length;
  const start = new Int32Array(sizeIn + 1);
  for (let k = 0; k < n; k++) start[col[k]! + 1]!++;
  for (let i = 0; i < sizeIn; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, sizeIn);
  const yOff = new Int32Array(n),
    order = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const e = fill[col[k]!]!++;
    yOff[e] = row[k]!;
    order[e] = k;
  }
  return { start, yOff, kOff: null, run: 1, yStride: 1, kStride: 1, order };
}
