import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDecoderCache, MemoryDecoderCache, Simulator, TieredDecoderCache } from '../src/index.js';
import { fileCacheFromEnv } from '../src/engine/decoder-cache-file.js';
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

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.nfd'));
}

const key = (c: string): string => c.repeat(40);
const sol = (n: number) => ({ X: Float64Array.from({ length: n }, (_, i) => i / 3 - 7), rmses: Float64Array.of(0.25, Math.PI) });

describe('decoder cache on disk', () => {
  it('stores and returns solutions bit for bit, across cache objects', () => {
    const dir = tempDir();
    new FileDecoderCache(dir).set(key('a'), sol(10));
    const again = new FileDecoderCache(dir);
    const got = again.get(key('a'));
    expect(got?.X).toEqual(sol(10).X);
    expect(got?.rmses).toEqual(sol(10).rmses);
    expect(again.get(key('b'))).toBeUndefined();
    expect([again.hits, again.misses]).toEqual([1, 1]);
    expect(files(dir)).toEqual([join('aa', `${key('a')}.nfd`)]);
  });

  it('writes many solutions across fan-out folders, made as needed', () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    const hex = '0123456789abcdef';
    for (let i = 0; i < 16; i++) c.set(key(hex[i]!), sol(i + 1));
    expect(files(dir).length).toBe(16);
    const again = new FileDecoderCache(dir);
    for (let i = 0; i < 16; i++) expect(again.get(key(hex[i]!))?.X).toEqual(sol(i + 1).X);
  });

  it('removes temporary files that a process left behind an hour ago or more', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'ab'));
    const stale = join(dir, 'ab', `${key('a')}.nfd.123.x.tmp`);
    const fresh = join(dir, 'ab', `${key('a')}.nfd.456.y.tmp`);
    writeFileSync(stale, 'half');
    writeFileSync(fresh, 'being written');
    const old = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, old, old);
    const c = new FileDecoderCache(dir);
    c.set(key('b'), sol(2)); // the first write of the process measures the cache
    const left = readdirSync(join(dir, 'ab'));
    expect(left).toContain(`${key('a')}.nfd.456.y.tmp`);
    expect(left).not.toContain(`${key('a')}.nfd.123.x.tmp`);
  });

  it('makes its folders again when another process removed them (as clear() does)', () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    c.set(key('a'), sol(3));
    rmSync(dir, { recursive: true, force: true }); // as a clear() in another process does
    c.set(key('a'), sol(5)); // the same fan-out folder, which this object made before
    expect(new FileDecoderCache(dir).get(key('a'))?.X).toEqual(sol(5).X);
    expect(files(dir)).toEqual([join('aa', `${key('a')}.nfd`)]);
  });

  it('treats a short, corrupt or foreign file as a miss and removes it', () => {
    const dir = tempDir();
    const c = new FileDecoderCache(dir);
    c.set(key('c'), sol(4));
    const path = join(dir, 'cc', `${key('c')}.nfd`);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 3)); // truncated
    expect(c.get(key('c'))).toBeUndefined();
    expect(files(dir)).toEqual([]);
    c.set(key('c'), sol(4));
    const bad = readFileSync(path);
    bad.writeUInt32LE(99, 4); // another format version
    writeFileSync(path, bad);
    expect(c.get(key('c'))).toBeUndefined();
    // keys that are not content hashes never touch the disk
    c.set('../../etc/passwd', sol(1));
    expect(c.get('../../etc/passwd')).toBeUndefined();
    expect(files(dir)).toEqual([]);
  });

  it('keeps to its size bound, dropping the least recently used first', () => {
    const dir = tempDir();
    const entry = 16 + 8 * (100 + 2);
    const c = new FileDecoderCache(dir, entry * 3.5);
    c.set(key('1'), sol(100));
    c.set(key('2'), sol(100));
    c.set(key('3'), sol(100));
    // make '1' the oldest but then use it: '2' becomes the least recently used
    const p = (k: string) => join(dir, k.slice(0, 2), `${k}.nfd`);
    const past = (s: number) => new Date(Date.now() - s * 1000);
    for (const [k, age] of [
      ['1', 30],
      ['2', 20],
      ['3', 10],
    ] as const) {
      const t = past(age);
      utimesSync(p(key(k)), t, t);
    }
    expect(c.get(key('1'))).toBeDefined();
    c.set(key('4'), sol(100)); // 4 entries > 3.5: prune to 80% (2.8 entries), i.e. keep 2
    const left = files(dir)
      .map((f) => f.slice(3, 4))
      .sort();
    expect(left).toEqual(['1', '4']);
  });

  it('estimates a large cache from a few folders on the first write, and counts every file only when past its bound', () => {
    // 256 fan-out folders of 8 files each (as content hashes spread them), each folder with a stale
    // temporary file, which a folder's listing removes: what is left shows which folders were listed
    const dir = tempDir();
    const bytes = readFileSync(
      join(
        (() => {
          const d = tempDir();
          new FileDecoderCache(d).set(key('f'), sol(100));
          return d;
        })(),
        'ff',
        `${key('f')}.nfd`,
      ),
    );
    const old = new Date(Date.now() - 2 * 3600_000);
    for (let f = 0; f < 256; f++) {
      const sub = f.toString(16).padStart(2, '0');
      mkdirSync(join(dir, sub));
      for (let i = 0; i < 8; i++) writeFileSync(join(dir, sub, `${sub}${'e'.repeat(37)}${i}.nfd`), bytes);
      const tmp = join(dir, sub, `${sub}${'0'.repeat(38)}.nfd.1.x.tmp`);
      writeFileSync(tmp, 'half');
      utimesSync(tmp, old, old);
    }
    const total = 256 * 8 * bytes.length;
    const tmps = (): number => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp')).length;
    // under its bound: the first write lists only the 8 folders it needs to see 64 files, in order of
    // name from the one at the process id (modulo 256)
    new FileDecoderCache(dir, total * 2).set(key('1'), sol(100));
    expect(tmps()).toBe(256 - 64 / 8);
    const folder = (k: number): string => join(dir, ((process.pid + k) % 256).toString(16).padStart(2, '0'));
    expect(readdirSync(folder(0))).toHaveLength(8);
    expect(readdirSync(folder(7))).toHaveLength(8);
    expect(readdirSync(folder(8))).toHaveLength(9);
    expect(files(dir).length).toBe(256 * 8 + 1);
    // past its bound: the estimate says so, the exact count confirms it, and the least recently used go
    new FileDecoderCache(dir, total * 0.5).set(key('2'), sol(100));
    expect(tmps()).toBe(0);
    const left = files(dir).length;
    expect(left * bytes.length).toBeLessThanOrEqual(total * 0.5 * 0.8);
    expect(left * bytes.length).toBeGreaterThan(total * 0.5 * 0.8 - 2 * bytes.length);
  });

  it('an estimate past the bound is checked by counting before anything is removed', () => {
    // the folder the estimate starts from (the process id modulo 8, in order of name) holds 64
    // files, the seven others one each: the estimate, from that folder alone, is 512 files' worth,
    // seven times the true size
    const dir = tempDir();
    const one = sol(100);
    const c0 = new FileDecoderCache(join(dir, 'src'));
    c0.set(key('f'), one);
    const bytes = readFileSync(join(dir, 'src', 'ff', `${key('f')}.nfd`));
    rmSync(join(dir, 'src'), { recursive: true });
    const cache = join(dir, 'cache');
    const subs = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
    subs.forEach((sub, k) => {
      mkdirSync(join(cache, sub), { recursive: true });
      for (let i = 0; i < (k === process.pid % 8 ? 64 : 1); i++)
        writeFileSync(join(cache, sub, `${sub}${'e'.repeat(36)}${String(i).padStart(2, '0')}.nfd`), bytes);
    });
    const total = 71 * bytes.length;
    new FileDecoderCache(cache, total * 1.1).set(key('1'), one); // 72 files: under the bound, over 80% of it
    expect(files(cache).length).toBe(72);
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
    expect(files(cacheDir).length).toBe(2); // a -> sq, and the probe of sq
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
