/**
 * A kernel runs one merged group of operators of the same kind over the
 * arena. Each holds flat typed tables of offsets and parameters built once;
 * `run` loops over them with no allocation.
 */
/** The arena: float64 by default, float32 with the `dtype: 'float32'` option (half the memory traffic). */
export type Arena = Float64Array | Float32Array;

export interface Kernel {
  readonly kind: string;
  /** Number of merged operators. */
  readonly count: number;
  run(t: number): void;
}
