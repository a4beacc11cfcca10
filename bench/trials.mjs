// Trials across processes: wall time of `nefsim run MODEL --trials 8` with
// --jobs 1 and --jobs 2, and the ratio (the target is 1.8x on 2 cores).
//
// Usage: node bench/trials.mjs [--model squaring] [--duration 4] [--trials 8] [--repeats 2]
// (build first: npm run build --workspace nefsim)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const model = opt('--model', 'integrators10');
const duration = opt('--duration', '4');
const trials = opt('--trials', '8');
const repeats = Number(opt('--repeats', '2'));
const cli = fileURLToPath(new URL('../kernel-service/bin/nefsim.js', import.meta.url));
const modelFile = fileURLToPath(new URL('./partition-model.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-trials-bench-'));

function batch(jobs, k) {
  const out = join(dir, `j${jobs}-${k}`);
  const t0 = performance.now();
  execFileSync(process.execPath, [cli, 'run', modelFile, '--params', JSON.stringify({ model }), '--trials', trials, '--jobs', String(jobs), '--duration', duration, '--out', out], { stdio: 'pipe' });
  return (performance.now() - t0) / 1000;
}

try {
  const t1 = [], t2 = [];
  for (let k = 0; k < repeats; k++) {
    t1.push(batch(1, k));
    t2.push(batch(2, k));
  }
  console.log(`${trials} trials of ${model}, ${duration} s simulated each; ${new Date().toISOString()}`);
  console.log(`--jobs 1: ${t1.map((t) => t.toFixed(1)).join(', ')} s; --jobs 2: ${t2.map((t) => t.toFixed(1)).join(', ')} s; ratio ${t1.map((t, i) => (t / t2[i]).toFixed(2)).join(', ')}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
