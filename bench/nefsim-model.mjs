// Build and run one benchmark model in nefsim.
//
// Usage: node bench/nefsim-model.mjs MODEL SECONDS DT [--float32] [--build-only]
//
// Prints one JSON line: {engine, model, neurons, steps, build_s, run_s,
// steps_per_s, warm_steps_per_s, peak_rss_mb, float32, node_flags}; with --build-only, only
// {engine, model, build_only, build_s}. The models mirror bench/nengo_model.py
// exactly. The decoder cache is in NEFSIM_CACHE_DIR (bench/run.sh gives each
// bench run a fresh one, as for Nengo).
import { performance } from 'node:perf_hooks';
import { Simulator } from '../kernel-service/lib/index.js';
import { MODELS } from './models.mjs';

/** Total neurons, counting ensembles in subnetworks. */
function countNeurons(net) {
  if (net.allEnsembles) return net.allEnsembles.reduce((n, e) => n + e.nNeurons, 0);
  let n = (net.ensembles ?? []).reduce((acc, e) => acc + e.nNeurons, 0);
  for (const sub of net.networks ?? []) n += countNeurons(sub);
  return n;
}

function main(argv) {
  const args = argv.filter((a) => a !== '--float32' && a !== '--build-only');
  const float32 = argv.includes('--float32');
  const buildOnly = argv.includes('--build-only');
  const [name, secondsArg, dtArg] = args;
  if (args.length !== 3 || !(name in MODELS)) {
    console.error(`usage: nefsim-model.mjs {${Object.keys(MODELS).join(',')}} SECONDS DT [--float32]`);
    process.exit(2);
  }
  const dt = Number(dtArg);
  const steps = Math.round(Number(secondsArg) / dt);
  const net = MODELS[name]();

  let t0 = performance.now();
  const sim = new Simulator(net, float32 ? { dt, dtype: 'float32' } : { dt });
  const buildS = (performance.now() - t0) / 1000;
  if (buildOnly) {
    console.log(JSON.stringify({ engine: 'nefsim', model: name, build_only: true, build_s: buildS }));
    return;
  }

  t0 = performance.now();
  sim.runSteps(steps);
  const runS = (performance.now() - t0) / 1000;
  // the same number of steps again: the warm rate, once V8 has optimised the kernels
  t0 = performance.now();
  sim.runSteps(steps);
  const warmS = (performance.now() - t0) / 1000;
  sim.close?.();

  const result = {
    engine: 'nefsim',
    model: name,
    neurons: countNeurons(net),
    steps,
    build_s: buildS,
    run_s: runS,
    steps_per_s: steps / runS,
    warm_steps_per_s: steps / warmS,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
    float32,
    node_flags: process.execArgv,
  };
  console.log(JSON.stringify(result));
}

main(process.argv.slice(2));
