/**
 * Steps in `seconds` at `dt`, as Nengo's Simulator.run counts them:
 * np.round, which rounds halves to even (0.0025 s at 1 ms is 2 steps). A
 * module of its own, so that the run and service code that counts steps
 * does not load the engine.
 */
/** The most steps a run may take (`nefsim run` and the service refuse more). */
export const MAX_RUN_STEPS = Math.floor(Number.MAX_SAFE_INTEGER / 2);

export function stepsIn(seconds: number, dt: number): number {
  return roundHalfEven(seconds / dt);
}

/** np.round: the nearest integer, halves to even. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  if (x - f !== 0.5) return Math.round(x);
  return f % 2 === 0 ? f : f + 1;
}
