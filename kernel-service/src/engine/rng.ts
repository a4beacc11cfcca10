/**
 * Seeded pseudo-random numbers for nefsim.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018), a 128-bit-state generator
 * with 32-bit output, period 2^128 - 1, which passes BigCrush. Its state is
 * filled from the seed with splitmix32, so any 32-bit seed (including 0) gives
 * a well-mixed state. Everything is plain 32-bit integer arithmetic, so the
 * stream is identical on every platform: same seed, same numbers, bit for bit.
 *
 * Derived quantities:
 * - `random()`: uniform on [0, 1) with 53 random bits (two outputs).
 * - `normal()`: standard normal by the Marsaglia polar method (the spare value
 *   is cached, so the stream of normals is still deterministic).
 * - `seed()`: a child seed in [0, 2^31 - 1), the range Nengo draws its object
 *   seeds from (`rng.randint(npext.maxint)`).
 */
export const MAX_SEED = 0x7fffffff;

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = 0;
  private hasSpare = false;
  readonly initialSeed: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Rng seed must be an integer in [0, 2^32), got ${seed}`);
    }
    this.initialSeed = seed;
    // splitmix32 to expand the seed into four state words
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s0 = this.s0,
      s1 = this.s1,
      s2 = this.s2,
      s3 = this.s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = (n3 << 11) | (n3 >>> 21);
    this.s0 = n0;
    this.s1 = n1;
    this.s2 = n2;
    this.s3 = n3;
    return result;
  }

  /** Uniform on [0, 1) with 53 bits of randomness. */
  random(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform on [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }

  /** Integer uniform on [0, n), without modulo bias. */
  integer(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`integer(n) needs a positive integer, got ${n}`);
    if (n <= 0x100000000) {
      const limit = Math.floor(0x100000000 / n) * n;
      for (;;) {
        const r = this.nextUint32();
        if (r < limit) return r % n;
      }
    }
    return Math.floor(this.random() * n);
  }

  /** Standard normal deviate (Marsaglia polar method). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    for (;;) {
      const u = 2 * this.random() - 1;
      const v = 2 * this.random() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        this.hasSpare = true;
        return u * f;
      }
    }
  }

  /** A seed for a child object, in [0, 2^31 - 1) like Nengo's object seeds. */
  seed(): number {
    return this.integer(MAX_SEED);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const tmp = a[i]!;
      a[i] = a[j]!;
      a[j] = tmp;
    }
    return a;
  }
}

/** A fresh seed from the environment, for objects whose seed is not given. */
export function entropySeed(): number {
  return Math.floor(Math.random() * MAX_SEED);
}

/**
 * The seed a random stream takes after `Simulator.reset(seed)`: its
 * build-time seed and the reset's seed mixed (splitmix32's finaliser over
 * both), so every stream changes with the reset's seed, and each stays its
 * own.
 */
export function reseeded(base: number, resetSeed: number): number {
  let z = (Math.imul(resetSeed ^ 0x9e3779b9, 0x85ebca6b) ^ base) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
