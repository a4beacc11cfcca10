// What writing probes to probes.h5 costs a run: wall time of the simulation
// with its probes written (in chunks of steps as `nefsim run` makes them: 100
// steps, then as many as take about 0.2 s, at most 4 MB of samples; a flush
// every 0.5 s and the per-neuron spike layout at the end), against the same
// steps with the samples dropped (taken from the simulator and thrown away).
// (Until 2026-11-22 19:35 UTC this bench appended every 1000 steps, 30-150
// times as often as a run does on these fast models.)
// Computing the probes (decoding, filtering) and recording them in the
// simulator is in both; the difference is the store. Two stores: the run's
// (ThreadedProbeStore: HDF5 on a writer thread) and the same writer on the
// run's thread (ProbeStore), whose extra time is all the writing work.
//
// Usage: node bench/probe-overhead.mjs [--steps N] [--repeats R]
// (build first: npm run build --workspace nefsim)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIF, Network, Simulator } from '../kernel-service/lib/index.js';
import { ProbeStore } from '../kernel-service/lib/runs/store.js';
import { ThreadedProbeStore } from '../kernel-service/lib/runs/store-thread.js';
import { CHUNK_PROBE_BYTES, CHUNK_SECONDS, FLUSH_SECONDS } from '../kernel-service/lib/runs/runner.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const steps = opt('--steps', 120_000);
const repeats = opt('--repeats', 11); // medians of 11: one run swings by 10-20% from the next on this machine

/** 800 LIF neurons: sin -> a (400) -> b (400); probes as the configuration asks. */
function model(probes) {
  const net = new Network({ label: 'probe-overhead', seed: 3 });
  const stim = net.node((t) => [Math.sin(2 * Math.PI * t)], { label: 'sin' });
  const a = net.ensemble({ nNeurons: 400, dimensions: 1, neuronType: new LIF(), label: 'a' });
  const b = net.ensemble({ nNeurons: 400, dimensions: 1, label: 'b' });
  net.connect(stim, a);
  net.connect(a, b, { function: (x) => [x[0] * x[0]] });
  net.probe(a, { synapse: 0.01, label: 'a' });
  net.probe(b, { synapse: 0.01, label: 'b' });
  if (probes === 'spikes') net.probe(a.neurons, { label: 'a_spikes' });
  return net;
}

async function measure(probes, write, dir) {
  const sim = new Simulator(model(probes), { dt: 0.001 });
  sim.runSteps(2000); // warm-up
  for (const p of sim.probes) sim.takeData(p);
  const meta = { engineVersion: 'bench', duration: steps / 1000, seed: 3 };
  const path = join(dir, `${probes}-${write}.h5`);
  const store =
    write === 'thread'
      ? await ThreadedProbeStore.create(path, sim, meta)
      : write === 'inline'
        ? await ProbeStore.create(path, sim, meta)
        : undefined;
  if (store instanceof ThreadedProbeStore) await store.whenOpen(); // the per-step cost, not the writer's start-up
  // the chunks as runner.ts makes them
  const bytesPerStep = sim.probes.reduce((b, p) => b + (8 * p.size * sim.dt) / (p.sampleEvery ?? sim.dt), 0);
  const maxChunk = Math.max(1, Math.floor(CHUNK_PROBE_BYTES / Math.max(1, bytesPerStep)));
  let chunk = Math.min(100, maxChunk);
  const t0 = performance.now();
  let lastFlush = -Infinity;
  for (let done = 0; done < steps;) {
    const n = Math.min(chunk, steps - done);
    const c0 = performance.now();
    sim.runSteps(n);
    done += n;
    const c1 = performance.now();
    if (store) {
      await store.append();
      if (c1 - lastFlush >= FLUSH_SECONDS * 1000) {
        if (store instanceof ThreadedProbeStore) store.flush().catch(() => undefined);
        else store.flush();
        lastFlush = performance.now();
      }
    } else {
      for (const p of sim.probes) if (!sim.takeSpikes(p)) sim.takeData(p);
    }
    const rate = n / Math.max(1e-6, (c1 - c0) / 1000);
    chunk = Math.max(1, Math.min(100_000, maxChunk, Math.round(rate * CHUNK_SECONDS)));
  }
  await store?.close();
  return (performance.now() - t0) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'nefsim-probe-overhead-'));
const configs = [
  ['decoded', 'drop'],
  ['decoded', 'thread'],
  ['decoded', 'inline'],
  ['spikes', 'drop'],
  ['spikes', 'thread'],
  ['spikes', 'inline'],
];
const times = configs.map(() => []);
try {
  // the order of the configurations rotates from one repeat to the next, so that no configuration
  // always runs first (or right after the heaviest one)
  for (let r = 0; r < repeats; r++) {
    for (let j = 0; j < configs.length; j++) {
      const i = (j + r) % configs.length;
      const [c, w] = configs[i];
      times[i].push(await measure(c, w, dir));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const m = times.map(median);
const pct = (a, b) => `${b >= a ? '+' : ''}${(100 * (b / a - 1)).toFixed(1)}%`;
console.log(
  `probe writing cost: ${steps} steps of 800 LIF neurons, wall s (median of ${repeats}); dropped -> written by the run's store (writer thread) | on the run's thread`,
);
for (const [i, what] of [
  [0, 'two decoded probes'],
  [3, 'two decoded probes + spikes of 400 neurons'],
]) {
  console.log(
    `  ${what.padEnd(43)} ${m[i].toFixed(3)} -> ${m[i + 1].toFixed(3)} s ${pct(m[i], m[i + 1])} | ${m[i + 2].toFixed(3)} s ${pct(m[i], m[i + 2])}`,
  );
}
