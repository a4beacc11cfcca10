// The WebAssembly LIF step on its own (kernels/lif-wasm.ts): one op of 7,200
// neurons (CircularConvolution D = 16's count) with constant inputs drawn
// uniformly from [0, jmax], stepped 20,000 times after 2,000 warm-up steps,
// for inputs that make 0% to about 22% of the neurons spike a step (the
// bench's CircularConvolution models spike about 9% a step). Prints the
// share spiking and ns per neuron for each. Nengo's defaults: tau_rc 20 ms,
// tau_ref 2 ms, dt 1 ms.
//
// Usage: node bench/lif-kernel.mjs [--steps N]
// (build first: npm run build --workspace nefsim)
import { LIF_OP_BYTES, kernelMemory, setLifOp } from '../kernel-service/lib/engine/kernels/lif-wasm.js';

const i = process.argv.indexOf('--steps');
const steps = i >= 0 ? Number(process.argv[i + 1]) : 20_000;
const n = 7200,
  dt = 0.001,
  tauRc = 0.02,
  tauRef = 0.002;

/** ns per neuron and the share spiking, for inputs in [0, jmax]. */
function measure(jmax) {
  // arena: J, output, voltage, refractory time (n doubles each); then the spike list, the
  // float32 scratch (unused here), the part list and the spike count
  const list = 32 * n,
    scratch = list + 4 * n,
    parts = scratch + 8 * n,
    count = parts + 4 * (2 * n + 4); // the part list (n + 2 ints), then the part pass's spikes
  const k = kernelMemory(count + 16, LIF_OP_BYTES + 64);
  if (!k) throw new Error('no WebAssembly here');
  const a = new Float64Array(k.buffer, 0, 4 * n);
  let s = 12345; // a fixed linear congruential sequence, the same inputs every run
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let j = 0; j < n; j++) {
    a[j] = rnd() * jmax;
    a[2 * n + j] = rnd();
  }
  const entry = new ArrayBuffer(LIF_OP_BYTES);
  setLifOp(entry, 0, [0, 8 * n, 16 * n, 24 * n, n, list, count], [tauRc, tauRef, 0, 1 / dt, -Math.expm1(-dt / tauRc)]);
  const table = k.place(new Int32Array(entry));
  const spikes = new Int32Array(k.buffer, count, 1);
  for (let t = 0; t < 2000; t++) k.lif(table, 1, dt, scratch, parts);
  let total = 0;
  const t0 = performance.now();
  for (let t = 0; t < steps; t++) {
    k.lif(table, 1, dt, scratch, parts);
    total += spikes[0];
  }
  const ms = performance.now() - t0;
  return { spiking: total / steps / n, ns: (ms * 1e6) / steps / n };
}

console.log(`LIF step alone: ${n} neurons, ${steps} steps; ${new Date().toISOString()}`);
console.log('| inputs in | spiking a step | ns per neuron |');
console.log('| --- | ---: | ---: |');
for (const jmax of [0.5, 1.5, 3, 6, 10, 20]) {
  const { spiking, ns } = measure(jmax);
  console.log(`| [0, ${jmax}] | ${(100 * spiking).toFixed(1)}% | ${ns.toFixed(2)} |`);
}
