// The barrier of partitioned runs on its own: two worker threads meet at it
// N times with nothing else to do (bench/partitions.mjs measures it inside
// a run). Prints the wall time per meeting, median of three rounds.
//
// Usage: node bench/barrier.mjs [--waits N]
// (build first: npm run build --workspace nefsim)
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Barrier } from '../kernel-service/lib/parallel/barrier.js';

if (isMainThread) {
  const i = process.argv.indexOf('--waits');
  const waits = i >= 0 ? Number(process.argv[i + 1]) : 100_000;
  const rounds = [];
  for (let r = 0; r < 3; r++) {
    const buffer = Barrier.allocate();
    const workers = [0, 1].map((k) => new Worker(new URL(import.meta.url), { workerData: { buffer, waits, k } }));
    const times = await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    await Promise.all(workers.map((w) => w.terminate()));
    rounds.push(Math.max(...times));
  }
  rounds.sort((a, b) => a - b);
  console.log(
    `barrier: two threads, ${waits} meetings: ${((rounds[1] * 1000) / waits).toFixed(2)} µs each (median of 3 rounds; ` +
      `rounds ${rounds.map((t) => ((t * 1000) / waits).toFixed(2)).join(', ')} µs); ${new Date().toISOString()}`,
  );
} else {
  const { buffer, waits } = workerData;
  const barrier = new Barrier(buffer, 2);
  barrier.wait(); // both threads started
  const t0 = performance.now();
  for (let n = 0; n < waits; n++) barrier.wait();
  parentPort.postMessage(performance.now() - t0);
}
