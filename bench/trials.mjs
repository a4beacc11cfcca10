// Trials across processes: wall time of `nefsim run MODEL --trials 8` with
// --jobs 1 and --jobs 2, and the ratio (the target is 1.8x on 2 cores), for
// trials in worker processes (the default: each worker runs trials one after
// another) and with --process-per-trial (a fresh process each), at two trial
// lengths: --duration (4 s simulated, about 0.06 s of work a trial in a
// worker, so the batch is mostly one process start) and 10x that
// (--duration 40 measures 40 s and 400 s: about 2.5 s of work a trial, where
// the batch's serial start-up no longer dominates).
//
// Usage: node bench/trials.mjs [--duration 4] [--trials 8] [--repeats 2]
// The model: sin -> 400 LIF -> 400 LIF (x^2), two decoded probes (a run's
// model must be one file: it is copied into the run folder).
// (build first: npm run build --workspace nefsim)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const duration = opt('--duration', '4');
const trials = opt('--trials', '8');
const repeats = Number(opt('--repeats', '2'));
const cli = fileURLToPath(new URL('../kernel-service/bin/nefsim.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-trials-bench-'));
const modelFile = join(dir, 'model.mjs');
writeFileSync(
  modelFile,
  `import { Network } from 'nefsim';
const net = new Network({ label: 'trials', seed: 1 });
const stim = net.node((t) => [Math.sin(2 * Math.PI * t)], { label: 'sin' });
const a = net.ensemble({ nNeurons: 400, dimensions: 1, label: 'a' });
const b = net.ensemble({ nNeurons: 400, dimensions: 1, label: 'b' });
net.connect(stim, a);
net.connect(a, b, { function: (x) => [x[0] * x[0]] });
net.probe(a, { synapse: 0.01, label: 'a' });
net.probe(b, { synapse: 0.01, label: 'b' });
export default net;
`,
);

let n = 0;
function batch(jobs, seconds, extra) {
  const out = join(dir, `b${n++}`);
  const t0 = performance.now();
  execFileSync(
    process.execPath,
    [cli, 'run', modelFile, '--trials', trials, '--jobs', String(jobs), '--duration', seconds, '--out', out, ...extra],
    { stdio: 'pipe' },
  );
  rmSync(out, { recursive: true, force: true });
  return (performance.now() - t0) / 1000;
}

try {
  console.log(`${trials} trials of an 800-neuron model; ${new Date().toISOString()}`);
  for (const seconds of [duration, String(10 * Number(duration))]) {
    for (const [name, extra] of [
      ['workers (default)', []],
      ['--process-per-trial', ['--process-per-trial']],
    ]) {
      const t1 = [],
        t2 = [];
      for (let k = 0; k < repeats; k++) {
        t1.push(batch(1, seconds, extra));
        t2.push(batch(2, seconds, extra));
      }
      console.log(
        `${seconds} s simulated each, ${name}: --jobs 1: ${t1.map((t) => t.toFixed(2)).join(', ')} s; --jobs 2: ${t2.map((t) => t.toFixed(2)).join(', ')} s; ratio ${t1.map((t, i) => (t / t2[i]).toFixed(2)).join(', ')}x`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
