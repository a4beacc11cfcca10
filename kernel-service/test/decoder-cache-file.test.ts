import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDecoderCache, MemoryDecoderCache, Simulator, TieredDecoderCache } from '../src/index.js';
import { MAX_PACKS, fileCacheFromEnv } from '../src/engine/decoder-cache-file.js';
import { squaring } from './models.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nefsim-dcache-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function packs(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.nfp'));
}

const key = (c: string): string => c.repeat(40);
const sol = (n: number) => ({ X: Float64Array.from({ length: n }, (_, i) => i / 3 - 7), rmses: Float64Array.of(0.25, Math.PI) });

describe('decoder cache on disk', () => {
  it('stores and returns solutions bit for bit, across cache objects', () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    c.set(key('a'), sol(10));
    expect(c.get(key('a'))?.X).toEqual(sol(10).X); // before its write: from memory
    c.flush();
    const again = new FileDecoderCache(dir);
    const got = again.get(key('a'));
    expect(got?.X).toEqual(sol(10).X);
    expect(got?.rmses).toEqual(sol(10).rmses);
    expect(again.get(key('b'))).toBeUndefined();
    expect([again.hits, again.misses]).toEqual([1, 1]);
    expect(packs(dir)).toHaveLength(1);
  });

  it("writes a build's solutions as one pack, and finds packs that other processes write later", () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    const reader = new FileDecoderCache(dir);
    expect(reader.get(key('0'))).toBeUndefined(); // listed (no folder yet)
    const hex = '0123456789abcdef';
    for (let i = 0; i < 16; i++) c.set(key(hex[i]!), sol(i + 1));
    expect(packs(dir)).toHaveLength(0);
    c.flush();
    expect(packs(dir)).toHaveLength(1);
    // the reader listed the folder before the pack existed: a miss looks again once the folder changed
    for (let i = 0; i < 16; i++) expect(reader.get(key(hex[i]!))?.X).toEqual(sol(i + 1).X);
    c.set(key('e'), sol(3)); // e...e is already on disk
    c.flush();
    expect(packs(dir)).toHaveLength(1);
  });

  it("a Simulator writes its build's solutions when the build ends, also when the build fails", () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    const m = squaring(4);
    new Simulator(m.net, { decoderCache: c });
    expect(packs(dir)).toHaveLength(1);
    expect(c.misses).toBeGreaterThan(0);
    const again = new FileDecoderCache(dir);
    new Simulator(squaring(4).net, { decoderCache: again });
    expect(again.misses).toBe(0);
    expect(again.hits).toBe(c.misses);
  });

  it('writes what is left at the exit of a process that never flushed', () => {
    const dir = tempDir();
    const lib = JSON.stringify(new URL('../lib/index.js', import.meta.url).href);
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { FileDecoderCache } from ${lib};
const c = new FileDecoderCache(${JSON.stringify(dir)});
c.set('${key('7')}', { X: Float64Array.of(1, 2, 3), rmses: Float64Array.of(0.5) });`,
      ],
      { stdio: 'pipe' },
    );
    expect(new FileDecoderCache(dir).get(key('7'))?.X).toEqual(Float64Array.of(1, 2, 3));
  });

  it('removes temporary files that a process left behind an hour ago or more, and the first layout', () => {
    const dir = tempDir();
    const stale = join(dir, 'x-1-a.nfp.tmp');
    const fresh = join(dir, 'x-2-b.nfp.tmp');
    writeFileSync(stale, 'half');
    writeFileSync(fresh, 'being written');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, old, old);
    // ten folders of the first layout: a write removes eight, the next the rest; only its own files,
    // and a folder that holds something else stays
    const firstLayout = (): string[] => readdirSync(dir).filter((f) => /^[0-9a-f]{2}$/.test(f));
    mkdirSync(join(dir, 'ff'));
    writeFileSync(join(dir, 'ff', 'notes.txt'), "not the cache's");
    writeFileSync(join(dir, 'ff', `ff${'e'.repeat(38)}.nfd`), 'a file of the first layout');
    for (let f = 0; f < 10; f++) {
      mkdirSync(join(dir, `a${f}`));
      writeFileSync(join(dir, `a${f}`, `a${f}${'e'.repeat(38)}.nfd`), 'a file of the first layout');
    }
    const c = new FileDecoderCache(dir);
    c.set(key('b'), sol(2));
    c.flush();
    const left = readdirSync(dir);
    expect(left).toContain('x-2-b.nfp.tmp');
    expect(left).not.toContain('x-1-a.nfp.tmp');
    expect(firstLayout()).toHaveLength(3);
    c.set(key('c'), sol(2));
    c.flush();
    expect(firstLayout()).toEqual(['ff']);
    expect(readdirSync(join(dir, 'ff'))).toEqual(['notes.txt']);
    expect(new FileDecoderCache(dir).get(key('b'))?.X).toEqual(sol(2).X);
  });

  it('makes its folder again when another process removed it (as clear() does)', () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    c.set(key('a'), sol(3));
    c.flush();
    rmSync(dir, { recursive: true, force: true }); // as a clear() in another process does
    expect(c.get(key('a'))).toBeUndefined(); // its pack went
    c.set(key('a'), sol(5));
    c.flush();
    expect(new FileDecoderCache(dir).get(key('a'))?.X).toEqual(sol(5).X);
    expect(packs(dir)).toHaveLength(1);
  });

  it('treats a short or corrupt pack as a miss and removes it; keeps one of another version, unread', () => {
    const dir = tempDir();
    const write = (k: string): string => {
      const c = new FileDecoderCache(dir);
      c.set(key(k), sol(4));
      c.flush();
      return join(
        dir,
        packs(dir).find((p) => !seen.has(p))!,
      );
    };
    const seen = new Set<string>();
    const damage = (k: string, how: (b: Buffer) => Buffer): void => {
      const path = write(k);
      seen.add(path.slice(dir.length + 1));
      writeFileSync(path, how(readFileSync(path)));
    };
    damage('c', (b) => b.subarray(0, b.length - 3)); // truncated
    damage('d', (b) => (b.writeUInt32LE(99, 4), b)); // another format version
    damage('e', (b) => (b.writeDoubleLE(Number.NaN, b.length - 24), b)); // X not finite
    damage('f', (b) => (b.writeUInt32LE(1e6, 12), b)); // an index longer than the pack
    const kept = [...seen].filter((_, i) => i === 1 || i === 2).sort(); // d's (another version) and e's (one bad solution)
    const c = new FileDecoderCache(dir);
    for (const k of 'cdef') expect(c.get(key(k)), k).toBeUndefined();
    expect(packs(dir).sort()).toEqual(kept);
    // keys that are not content hashes, and solutions that are not finite, never touch the disk
    c.set('../../etc/passwd', sol(1));
    c.set(key('9'), { X: Float64Array.of(1, Number.NaN), rmses: Float64Array.of(0) });
    c.flush();
    expect(c.get('../../etc/passwd')).toBeUndefined();
    expect(c.get(key('9'))).toBeUndefined();
    expect(packs(dir).sort()).toEqual(kept);
  });

  it('keeps to its size bound, dropping the least recently used packs first', () => {
    const dir = tempDir();
    const pack = 16 + 8 * Math.ceil((13 + 40) / 8) + 8 * (100 + 2);
    const writer = new FileDecoderCache(dir, pack * 3.5);
    const names: Record<string, string> = {};
    for (const k of ['1', '2', '3']) {
      writer.set(key(k), sol(100));
      writer.flush();
      names[k] = packs(dir).find((p) => !Object.values(names).includes(p))!;
    }
    expect(readFileSync(join(dir, names['1']!)).length).toBe(pack);
    // make '1' the oldest but then use it (from another process): '2' becomes the least recently used
    const past = (s: number) => new Date(Date.now() - s * 1000);
    for (const [k, age] of [
      ['1', 30],
      ['2', 20],
      ['3', 10],
    ] as const)
      utimesSync(join(dir, names[k]!), past(age), past(age));
    expect(new FileDecoderCache(dir).get(key('1'))).toBeDefined();
    writer.set(key('4'), sol(100));
    writer.flush(); // 4 packs > 3.5: prune to 80% (2.8 packs), i.e. keep 2
    const reader = new FileDecoderCache(dir);
    expect(['1', '2', '3', '4'].filter((k) => reader.get(key(k)) !== undefined)).toEqual(['1', '4']);
  });

  it('writes within a bound smaller than a build, and keeps the pack it just wrote', () => {
    const dir = tempDir();
    const pack = 16 + 8 * Math.ceil((13 + 40) / 8) + 8 * (100 + 2);
    const c = new FileDecoderCache(dir, pack * 4.5); // a build of ten such solutions is more than twice that
    const hex = '0123456789';
    for (const k of hex) c.set(key(k), sol(100)); // written a pack at a time: past a quarter of the bound
    c.flush();
    const reader = new FileDecoderCache(dir);
    const found = [...hex].filter((k) => reader.get(key(k)) !== undefined);
    expect(found).toContain('9');
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(packs(dir).reduce((n, p) => n + readFileSync(join(dir, p)).length, 0)).toBeLessThanOrEqual(pack * 4.5);
    // one solution near the bound: more than 80% of it on its own, and kept
    const alone = tempDir();
    const one = new FileDecoderCache(alone, pack * 1.1);
    one.set(key('b'), sol(10));
    one.flush();
    one.set(key('a'), sol(100)); // with the first pack past the bound: that one goes
    one.flush();
    expect(new FileDecoderCache(alone).get(key('a'))?.X).toEqual(sol(100).X);
  });

  it(`merges small packs past ${MAX_PACKS}, and keeps every solution, also for a process that listed them before`, () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    const keys = Array.from({ length: MAX_PACKS + 1 }, (_, i) => i.toString(16).padStart(2, '0').repeat(20));
    const before = new FileDecoderCache(dir);
    keys.forEach((k, i) => {
      if (i === MAX_PACKS) expect(before.get(keys[0]!)).toBeDefined(); // lists the 64 packs
      c.set(k, sol(i + 1));
      c.flush();
    });
    expect(packs(dir).length).toBe(MAX_PACKS / 2);
    for (const reader of [new FileDecoderCache(dir), before]) {
      keys.forEach((k, i) => expect(reader.get(k)?.X).toEqual(sol(i + 1).X));
      expect(reader.misses).toBe(0);
    }
  });

  it('turns itself off with a warning when the folder cannot be written, and the build goes on', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'not a folder');
    const c = new FileDecoderCache(join(dir, 'file', 'decoders'));
    const warnings: string[] = [];
    const onWarn = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarn);
    const m = squaring(3);
    const sim = new Simulator(m.net, { decoderCache: new TieredDecoderCache(new MemoryDecoderCache(), c) });
    sim.run(0.05);
    expect(sim.data(m.probe).rows).toBe(50);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        process.off('warning', onWarn);
        expect(warnings.some((w) => w.includes('decoder cache') && w.includes('turned off'))).toBe(true);
        resolve();
      }),
    );
  });

  it('a model built in another process is built here from the disk, with identical results', async () => {
    const dir = tempDir();
    const cacheDir = join(dir, 'cache');
    // one module, used by the child process and by this one (through the built package)
    const model = join(dir, 'model.mjs');
    writeFileSync(
      model,
      `import * as nefsim from ${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)};
export { nefsim };
export function build(cache) {
  const net = new nefsim.Network({ label: 'squaring', seed: 21 });
  const stim = net.node((t) => [Math.sin(2 * Math.PI * t)], { label: 'sin' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
  const sq = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'sq' });
  net.connect(stim, a);
  net.connect(a, sq, { function: (x) => [x[0] * x[0]] });
  const p = net.probe(sq, { synapse: 0.01 });
  const sim = new nefsim.Simulator(net, cache === undefined ? {} : { decoderCache: cache });
  sim.run(0.2);
  return sim.data(p).data;
}
if (process.argv[2] === 'child') build();
`,
    );
    execFileSync(process.execPath, [model, 'child'], {
      env: { ...process.env, NEFSIM_CACHE_DIR: cacheDir, NEFSIM_DECODER_CACHE: '1' },
      stdio: 'pipe',
    });
    expect(packs(cacheDir)).toHaveLength(1); // a -> sq, and the probe of sq: one build, one pack
    const mod = (await import(model)) as {
      nefsim: {
        FileDecoderCache: typeof FileDecoderCache;
        TieredDecoderCache: typeof TieredDecoderCache;
        MemoryDecoderCache: typeof MemoryDecoderCache;
      };
      build: (cache?: unknown) => Float64Array;
    };
    const disk = new mod.nefsim.FileDecoderCache(cacheDir);
    const fromDisk = mod.build(new mod.nefsim.TieredDecoderCache(new mod.nefsim.MemoryDecoderCache(), disk));
    expect(disk.hits).toBeGreaterThan(0);
    expect(disk.misses).toBe(0);
    const solved = mod.build(null);
    expect(fromDisk).toEqual(solved);
  });

  it('is configured by the environment', () => {
    expect(fileCacheFromEnv({ NEFSIM_DECODER_CACHE: 'off' })).toBeNull();
    expect(fileCacheFromEnv({ NEFSIM_DECODER_CACHE: '0', NEFSIM_CACHE_DIR: '/x' })).toBeNull();
    expect(fileCacheFromEnv({ NEFSIM_CACHE_DIR: '/x/y' })?.dir).toBe('/x/y');
    expect(fileCacheFromEnv({ XDG_CACHE_HOME: '/c', HOME: '/h' })?.dir).toBe(join('/c', 'nefsim', 'decoders'));
    expect(fileCacheFromEnv({ NEFSIM_CACHE_DIR: '/x', NEFSIM_DECODER_CACHE_MB: '2' })?.maxBytes).toBe(2 * 1024 * 1024);
    // only absolute folders: a relative XDG_CACHE_HOME is ignored, and an empty HOME means no disk cache
    const home = process.env['HOME'];
    try {
      process.env['HOME'] = '/h';
      expect(fileCacheFromEnv({ XDG_CACHE_HOME: 'rel' })?.dir).toBe(join('/h', '.cache', 'nefsim', 'decoders'));
      process.env['HOME'] = '';
      expect(fileCacheFromEnv({})).toBeNull();
    } finally {
      if (home === undefined) delete process.env['HOME'];
      else process.env['HOME'] = home;
    }
  });
});
