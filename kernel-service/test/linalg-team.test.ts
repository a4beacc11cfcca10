/**
 * One large solve's Gram product and Cholesky factor on helper threads
 * (engine/linalg-team.ts), through the built package (the helpers run the
 * built JavaScript): the same bits as one thread for every shape (odd sizes,
 * steps too small to split, the A·Aᵀ form), the same failure for a matrix
 * that is not positive definite, a helper that dies holding a chunk (the
 * caller computes it all again), and a build that says it used two threads.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Network, Simulator, type Probe } from '../lib/index.js';
import { NotPositiveDefiniteError, addToDiagonal, choleskyFactor, gramNT, gramTN } from '../lib/engine/linalg.js';
import {
  balancedBounds,
  closeTeam,
  setTeamMinWork,
  teamActivities,
  teamHelperCount,
  teamSession,
  teamStats,
  warmTeam,
} from '../lib/engine/linalg-team.js';
import { BOUNDS, NCHUNKS, WORD, claimChunk } from '../lib/engine/linalg-team-protocol.js';
import { lifActivitiesWasm } from '../lib/engine/kernels/rates-wasm.js';

const threadsBefore = process.env['NEFSIM_BUILD_THREADS'];
afterEach(() => {
  setTeamMinWork(undefined);
  if (threadsBefore === undefined) delete process.env['NEFSIM_BUILD_THREADS'];
  else process.env['NEFSIM_BUILD_THREADS'] = threadsBefore;
});
afterAll(() => closeTeam());

/** A sparse-ish matrix of activities (a third zeros), from a seed. */
function activities(m: number, n: number, seed: number): Float64Array {
  const A = new Float64Array(m * n);
  let s = seed;
  for (let i = 0; i < A.length; i++) {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647;
    A[i] = u < 0.33 ? 0 : 400 * u;
  }
  return A;
}

/** f with the team off, then on (every kernel large enough for it), and the helper chunks the second took. */
function alone<T>(f: () => T): T {
  setTeamMinWork(Infinity);
  return f();
}
function teamed<T>(f: () => T): { value: T; helperChunks: number } {
  setTeamMinWork(0);
  const before = teamStats.helperChunks;
  const value = f();
  return { value, helperChunks: teamStats.helperChunks - before };
}

/** Every constant signal's initial values (encoders, decoders, ...), concatenated. */
function constantsOf(s: Simulator): Float64Array {
  return Float64Array.from(s.model.signals.bases.flatMap((b) => (b.init ? [...b.init] : [])));
}

function differing(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return -1;
  let k = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) k++;
  return k;
}

describe('the linear algebra team', () => {
  it('has a helper thread here (two cores), and cuts work into chunks of equal cost', () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    // the helper starts with the first session and may miss it: sessions until it has taken part
    let took = 0;
    for (let i = 0; i < 40 && took === 0; i++) took = teamed(() => gramTN(activities(800, 600, 5), 800, 600)).helperChunks;
    expect(took).toBeGreaterThan(0);
    expect(balancedBounds(0, 10, 2, () => 1)).toEqual([0, 5, 10]);
    expect(balancedBounds(0, 100, 4, (i) => 100 - i)).toEqual([0, 14, 30, 51, 100]);
    expect(balancedBounds(3, 5, 16, () => 1)).toEqual([3, 4, 5]); // no more chunks than items
  });

  it('ends helpers started ahead of a kernel that never came (a decoder cache hit) after 2 s idle', async () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    closeTeam();
    setTeamMinWork(0);
    warmTeam(1);
    expect(teamHelperCount()).toBe(1);
    await new Promise((r) => setTimeout(r, 2600));
    expect(teamHelperCount()).toBe(0);
  });

  it('starts afresh after a session that was never closed (code stopped mid-phase), with the same bits', () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    const A = activities(900, 500, 13);
    const one = alone(() => gramTN(A, 900, 500));
    setTeamMinWork(0);
    const abandoned = teamSession(1 << 16, 1e12);
    expect(abandoned?.isOpen).toBe(true);
    const two = teamed(() => gramTN(A, 900, 500)).value;
    expect(differing(one, two)).toBe(0);
  });

  it('closes a phase to claims before it writes the next one (a claim under the old epoch fails)', () => {
    // the protocol's claims alone, on one thread: phase 3 of 2 chunks, both claimed
    const ctl = new Int32Array(new SharedArrayBuffer(4 * (BOUNDS + 20)));
    ctl[WORD] = (3 << 16) | 2;
    expect(claimChunk(ctl, 3, 2)).toBe(-1);
    // closed, then phase 4's larger count written: a thread that read epoch 3, then that count
    Atomics.store(ctl, WORD, (3 << 16) | 0xffff);
    ctl[NCHUNKS] = 16;
    expect(claimChunk(ctl, 3, 16)).toBe(-1);
    Atomics.store(ctl, WORD, 4 << 16);
    expect(claimChunk(ctl, 3, 16)).toBe(-1);
    expect([claimChunk(ctl, 4, 16), claimChunk(ctl, 4, 16)]).toEqual([0, 1]);
  });

  it('gives the bits of one thread: Aᵀ·A, A·Aᵀ and the Cholesky factor, over odd shapes', () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    for (const [m, n] of [
      [2100, 601], // Aᵀ·A packed from two slabs of A's rows (1,744 rows a slab)
      [1300, 517], // a factor of several split steps, then the small last ones alone
      [700, 255], // under 256 trailing rows from the start: no step split
      [90, 33],
      [301, 1022], // fat: gramNT is the system Nengo solves
    ] as const) {
      const A = activities(m, n, m + n);
      for (const gram of [gramTN, gramNT]) {
        const one = alone(() => gram(A, m, n));
        const two = teamed(() => gram(A, m, n)).value;
        expect(differing(one, two), `${gram.name} ${m}×${n}`).toBe(0);
      }
      const G = gramTN(A, m, n);
      addToDiagonal(G, n, m * (0.1 * 400) ** 2);
      const one = alone(() => choleskyFactor(G.slice(), n));
      const two = teamed(() => choleskyFactor(G.slice(), n)).value;
      expect(differing(one, two), `choleskyFactor ${n}`).toBe(0);
    }
  });

  it('fails a matrix that is not positive definite as one thread does, leaving it unchanged', () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    const n = 600;
    const A = activities(900, n, 9);
    const G = gramTN(A, 900, n);
    // row and column 450 zero, and a negative diagonal there: pivot 450 is -5
    for (let i = 0; i < n; i++) G[450 * n + i] = G[i * n + 450] = 0;
    G[450 * n + 450] = -5;
    const failure = (f: () => unknown): { err: unknown } => {
      try {
        f();
        return { err: undefined };
      } catch (err) {
        return { err };
      }
    };
    const one = alone(() => failure(() => choleskyFactor(G.slice(), n))).err as NotPositiveDefiniteError;
    const copy = G.slice();
    const two = teamed(() => failure(() => choleskyFactor(copy, n))).value.err as NotPositiveDefiniteError;
    expect(one).toBeInstanceOf(NotPositiveDefiniteError);
    expect(two).toBeInstanceOf(NotPositiveDefiniteError);
    expect([one.index, one.pivot]).toEqual([450, -5]);
    expect([two.index, two.pivot]).toEqual([one.index, one.pivot]);
    expect(differing(copy, G)).toBe(0);
  });

  it("computes a helper's chunk again when the helper dies holding it, with the same bits", () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    const m = 900,
      n = 400;
    const A = activities(m, n, 21);
    const one = alone(() => gramTN(A, m, n));
    closeTeam(); // a fresh helper, which reads the variable below when it starts
    process.env['NEFSIM_TEST_TEAM_HELPER_DIES'] = '1';
    try {
      const lost = teamStats.lost;
      const t0 = Date.now();
      const two = teamed(() => gramTN(A, m, n)).value;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(5000); // it waited for the chunk, then gave up on it
      expect(teamStats.lost).toBe(lost + 1);
      expect(differing(one, two)).toBe(0);
    } finally {
      delete process.env['NEFSIM_TEST_TEAM_HELPER_DIES'];
      closeTeam();
    }
  }, 60_000);

  it('computes activities with the helper, bit for bit, and the same maximum', () => {
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    const m = 3000,
      n = 800,
      d = 2;
    const rand = (k: number): Float64Array => activities(k, 1, k + 7).map((v) => v / 200 - 1);
    const task = {
      enc: rand(n * d).map((v) => 30 * v),
      bias: rand(n).map((v) => 8 * v),
      x: rand(m * d),
      m,
      n,
      d,
      tauRc: 0.02,
      tauRef: 0.002,
      amplitude: 1,
    };
    const one = new Float64Array(m * n);
    const max1 = lifActivitiesWasm(task.enc, task.bias, task.x, m, n, d, one, 0.02, 0.002, 1);
    let took = 0,
      A = new Float64Array(0),
      max2: number | 'lost' | undefined;
    for (let i = 0; i < 40 && took === 0; i++) {
      A = new Float64Array(new SharedArrayBuffer(8 * m * n));
      const before = teamStats.helperChunks;
      max2 = teamActivities(task, A);
      took = teamStats.helperChunks - before;
    }
    expect(took).toBeGreaterThan(0);
    expect(max2).toBe(max1);
    expect(differing(one, A)).toBe(0);
    expect(teamActivities(task, new Float64Array(m * n))).toBe(undefined); // not in shared memory: not for the team
  });

  it("a build whose helper dies holding rows, a Gram block or a factor's rows gets one thread's decoders", () => {
    process.env['NEFSIM_BUILD_THREADS'] = '0';
    const net = (): Network => {
      const n = new Network({ label: 'big', seed: 4 });
      n.probe(n.ensemble({ nNeurons: 1100, dimensions: 1, label: 'a' }), { synapse: 0.01, label: 'p' });
      return n;
    };
    const one = new Simulator(net(), { decoderCache: null });
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    closeTeam();
    process.env['NEFSIM_TEST_TEAM_HELPER_DIES'] = '1';
    try {
      const lost = teamStats.lost;
      const two = new Simulator(net(), { decoderCache: null });
      expect(teamStats.lost - lost).toBe(3); // the activities, the Gram product, the factor: each given up on
      expect(differing(constantsOf(one), constantsOf(two))).toBe(0);
    } finally {
      delete process.env['NEFSIM_TEST_TEAM_HELPER_DIES'];
      closeTeam();
    }
  }, 120_000);

  it('serves a build: a large ensemble gets the decoders of a one-thread build, on two threads', () => {
    let probe: Probe | undefined;
    const probes = new Map<Simulator, Probe>();
    const net = (): Network => {
      const n = new Network({ label: 'big', seed: 3 });
      const a = n.ensemble({ nNeurons: 1200, dimensions: 1, label: 'a' });
      n.connect(
        n.node((t: number) => Math.sin(8 * t), { label: 'in' }),
        a,
      );
      // a decoded connection: left out of the solve pool (one thread would solve it there)
      n.connect(a, n.node(null, { sizeIn: 1, label: 'out' }), { function: (x: number[]) => x[0]! ** 2 });
      probe = n.probe(a, { synapse: 0.01, label: 'p' });
      return n;
    };
    process.env['NEFSIM_BUILD_THREADS'] = '0';
    const simulate = (): Simulator => {
      const sim = new Simulator(net(), { decoderCache: null });
      probes.set(sim, probe!);
      return sim;
    };
    const one = simulate();
    process.env['NEFSIM_BUILD_THREADS'] = '1';
    let two = simulate();
    // the helper starts with the first such build and may miss it
    for (let i = 0; i < 10 && two.summary().buildThreads === 1; i++) two = simulate();
    expect(one.summary().buildThreads).toBe(1);
    expect(two.summary().buildThreads).toBe(2);
    expect(two.model.pooled.solves).toBe(0);
    // every constant signal (encoders, the probe's decoders, ...), and a short run
    const constants = constantsOf;
    expect(constants(one).length).toBeGreaterThan(1200);
    expect(differing(constants(one), constants(two))).toBe(0);
    one.runSteps(100);
    two.runSteps(100);
    const outOne = one.data(probes.get(one)!).data;
    expect(outOne.some((v) => v !== 0)).toBe(true);
    expect(differing(outOne, two.data(probes.get(two)!).data)).toBe(0);
  }, 120_000);
});
