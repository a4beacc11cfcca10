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
  /**
   * Back to the state at the start, beyond the arena (processes' own state);
   * with a seed, unseeded random streams start from seeds mixed with it
   * (Simulator.reset(seed)).
   */
  reset?(resetSeed?: number): void;
}

/**
 * The neurons that spiked in the current step, per LIF operator: the LIF
 * kernels write them, and the decoders of spiking ensembles (SpikeDotIncKernel)
 * read them, so a step's decoding costs the spikes, not the neurons.
 * Operator `id` lists its neurons (indices within the ensemble) at
 * list[bases[id] .. bases[id] + counts[id]).
 */
export interface SpikeLists {
  readonly list: Int32Array;
  readonly bases: Int32Array;
  readonly counts: Int32Array;
}
