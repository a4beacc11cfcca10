/**
 * The LIF step's short series for log1p and expm1 (kernels/neurons.ts; the
 * WebAssembly step performs the same operations, see lif-wasm.test.ts):
 * within a few ulp of Math's functions over their range, and Math's
 * functions beyond it.
 */
import { describe, expect, it } from 'vitest';
import { expm1Small, log1pSmall } from '../src/engine/kernels/neurons.js';

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** Position of a double on the number line in ulps (monotonic across zero). */
function ordinal(v: number): bigint {
  f64[0] = v;
  const b = i64[0]!;
  return b < 0n ? -(b & 0x7fffffffffffffffn) : b;
}
const ulps = (a: number, b: number): number => Math.abs(Number(ordinal(a) - ordinal(b)));

/** 200,001 arguments spread over [-1/16, 1/16], and as many small ones near zero. */
function args(): number[] {
  const xs: number[] = [];
  for (let i = -100_000; i <= 100_000; i++) {
    xs.push((i / 100_000) * 0.0625);
    xs.push((i / 100_000) * 1e-6);
  }
  return xs;
}

/** Largest and mean distance in ulps of f from ref over args(). */
function ulpsFrom(f: (x: number) => number, ref: (x: number) => number): { most: number; mean: number } {
  let most = 0,
    sum = 0;
  const xs = args();
  for (const x of xs) {
    const u = ulps(f(x), ref(x));
    most = Math.max(most, u);
    sum += u;
  }
  return { most, mean: sum / xs.length };
}

describe('the LIF step series', () => {
  it('log1pSmall is within 3 ulp of Math.log1p on [-1/16, 1/16] (0.5 ulp on average)', () => {
    const { most, mean } = ulpsFrom(log1pSmall, Math.log1p);
    expect(most).toBeLessThanOrEqual(3);
    expect(mean).toBeLessThan(0.6);
  });

  it('expm1Small is within 1 ulp of Math.expm1 on [-1/16, 1/16] (0.3 ulp on average)', () => {
    const { most, mean } = ulpsFrom(expm1Small, Math.expm1);
    expect(most).toBeLessThanOrEqual(1);
    expect(mean).toBeLessThan(0.35);
  });

  it("uses Math's functions beyond the series' range", () => {
    for (const x of [-0.5, -0.07, 0.0626, 0.3, 2]) {
      expect(log1pSmall(x)).toBe(Math.log1p(x));
      expect(expm1Small(x)).toBe(Math.expm1(x));
    }
  });
});
