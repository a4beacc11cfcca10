/**
 * The disk cache of assembled WebAssembly modules (engine/wasm.ts,
 * compiledModule), through the built package in child processes (the tests
 * themselves run the TypeScript sources, which never cache): the first
 * process writes the modules' bytes under $XDG_CACHE_HOME/nefsim/wasm, the
 * next loads them, and results are the same bit for bit; a corrupt file is
 * assembled again and replaced.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LIB = new URL('../lib/index.js', import.meta.url).href;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nefsim-wasm-cache-'));
  writeFileSync(
    join(dir, 'sim.mjs'),
    `import { Network, Simulator } from ${JSON.stringify(LIB)};
const net = new Network({ label: 'sq', seed: 4 });
const stim = net.node((t) => [Math.sin(6 * t)], { label: 'sin' });
const a = net.ensemble({ nNeurons: 300, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 300, dimensions: 1, label: 'b' });
net.connect(stim, a);
net.connect(a, b, { function: (x) => [x[0] * x[0]] });
const p = net.probe(b, { synapse: 0.01 });
const sim = new Simulator(net, { decoderCache: null });
sim.run(0.2);
process.stdout.write(Buffer.from(sim.data(p).data.buffer).toString('base64'));
`,
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const run = (cache: string, env: Record<string, string> = {}): string =>
  execFileSync(process.execPath, [join(dir, 'sim.mjs')], { env: { ...process.env, XDG_CACHE_HOME: cache, ...env }, encoding: 'utf8' });

describe('cache of assembled WebAssembly modules', () => {
  it('writes the modules once, loads them after, and changes nothing', () => {
    const cache = join(dir, 'c1');
    const first = run(cache);
    const files = readdirSync(join(cache, 'nefsim', 'wasm')).sort();
    // the kernels (LIF and products), the decoder solves' linear algebra, their LIF rates
    expect(files.map((f) => f.replace(/-[0-9a-f]{24}\.nfw$/, ''))).toEqual(['kernels-own-f64', 'linalg', 'rates']);
    const bytes = files.map((f) => readFileSync(join(cache, 'nefsim', 'wasm', f)));
    expect(run(cache)).toBe(first);
    // the same bytes as assembled (nothing rewrote them), and the same results without WebAssembly
    expect(readdirSync(join(cache, 'nefsim', 'wasm')).sort()).toEqual(files);
    files.forEach((f, i) => expect(readFileSync(join(cache, 'nefsim', 'wasm', f)).equals(bytes[i]!)).toBe(true));
    expect(run(join(dir, 'c-off'), { NEFSIM_WASM: '0' })).toBe(first);
  });

  it('assembles again over a damaged file (cut short, or one bit flipped), and replaces it', () => {
    const cache = join(dir, 'c2');
    const first = run(cache);
    const wasmDir = join(cache, 'nefsim', 'wasm');
    const kernels = readdirSync(wasmDir).find((f) => f.startsWith('kernels-'))!;
    const good = readFileSync(join(wasmDir, kernels));
    writeFileSync(join(wasmDir, kernels), good.subarray(0, good.length - 7)); // cut short
    expect(run(cache)).toBe(first);
    expect(readFileSync(join(wasmDir, kernels)).equals(good)).toBe(true);
    // one flipped bit that still validates (a constant 1.0 of the rates module made 1 + 2^-52): only
    // the file's checksum tells, and the module is assembled again
    const ratesFile = join(
      wasmDir,
      readdirSync(wasmDir).find((f) => f.startsWith('rates-'))!,
    );
    const rates = readFileSync(ratesFile);
    const one = rates.indexOf(Buffer.from([0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]), 32);
    expect(one).toBeGreaterThan(32);
    const flipped = Buffer.from(rates);
    flipped[one + 1]! ^= 0x01;
    writeFileSync(ratesFile, flipped);
    expect(run(cache)).toBe(first);
    expect(readFileSync(ratesFile).equals(rates)).toBe(true);
  });

  it('removes modules unused for 30 days when it writes one, and keeps those in use', () => {
    const cache = join(dir, 'c3');
    run(cache);
    const wasmDir = join(cache, 'nefsim', 'wasm');
    const current = readdirSync(wasmDir).sort();
    const daysAgo = (days: number): number => (Date.now() - days * 86_400_000) / 1000;
    // files of an older assembler: one unused for 40 days, one used 10 days ago; a current file last used 40 days ago
    const stale = join(wasmDir, 'gram-0123456789abcdef01234567.nfw');
    const recent = join(wasmDir, 'gram-fedcba9876543210fedcba98.nfw');
    writeFileSync(stale, 'x');
    writeFileSync(recent, 'x');
    utimesSync(stale, daysAgo(40), daysAgo(40));
    utimesSync(recent, daysAgo(10), daysAgo(10));
    const used = join(
      wasmDir,
      current.find((f) => f.startsWith('linalg-'))!,
    );
    utimesSync(used, daysAgo(40), daysAgo(40));
    // a run that writes a module (its file was removed) prunes; the run that reads the others marks them used first
    rmSync(
      join(
        wasmDir,
        current.find((f) => f.startsWith('kernels-'))!,
      ),
    );
    run(cache);
    expect(readdirSync(wasmDir).sort()).toEqual([...current, 'gram-fedcba9876543210fedcba98.nfw'].sort());
    expect(Date.now() - statSync(used).mtimeMs).toBeLessThan(3_600_000);
  });
});
