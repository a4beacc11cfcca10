// Service figures: round trip of a small request on loopback, probe.fetch of
// a 10^6-sample series decimated to 2000 points (from a run's probes.h5 and
// from a session's inline simulation), and the service's RSS when idle.
//
// Usage: npm run build && node bench/service.mjs [--rounds N]
// Prints a small table; each figure is the median of repeated measurements.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';

const BIN = fileURLToPath(new URL('../kernel-service/bin/nefsim.js', import.meta.url));
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 2000;
const SAMPLES = 1_000_000;

const dir = mkdtempSync(join(tmpdir(), 'nefsim-bench-svc-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const sleep = (ms) => delay(ms);
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const proc = spawn(
  process.execPath,
  [BIN, 'serve', '--port', '0', '--token-file', join(dir, 'token'), '--runs-dir', join(dir, 'runs'), '--inline-budget', '60'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const listening = await new Promise((resolve, reject) => {
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
  });
  proc.once('exit', (code) => reject(new Error(`service exited ${code}`)));
});
const token = readFileSync(join(dir, 'token'), 'utf8').trim();

// Client: replies by id, binary frames collected per request id.
const ws = new WebSocket(listening.url, { headers: { authorization: `Bearer ${token}` }, maxPayload: 1 << 30 });
await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
let nextId = 1;
const waiting = new Map();
const frames = new Map();
const events = [];
ws.on('message', (data, binary) => {
  if (binary) {
    const h = data.readUInt32LE(4);
    const header = JSON.parse(data.subarray(8, 8 + h).toString());
    frames.set(header.id, [...(frames.get(header.id) ?? []), header]);
    return;
  }
  const msg = JSON.parse(data.toString());
  if (msg.event) return void events.push(msg);
  const w = waiting.get(msg.id);
  if (w) {
    waiting.delete(msg.id);
    w(msg);
  }
});
const request = (type, params = {}) =>
  new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    ws.send(JSON.stringify({ v: 1, id, type, ...params }));
  });
const must = (r) => {
  if (!r.ok) throw new Error(`${r.type}: ${r.error.code}: ${r.error.message}`);
  return r.result;
};

// Idle RSS: after start, before any session.
await sleep(500);
const idleRss = rssMb(proc.pid);

// One idle session (a worker thread with the nefsim API and a vm context).
const session = must(await request('session.open', { label: 'bench' })).session;
must(await request('cell.execute', { session, code: '1 + 1' }));
await sleep(500);
const sessionRss = rssMb(proc.pid);

// Round trip of ping.
for (let i = 0; i < 200; i++) await request('ping');
const rtt = [];
for (let i = 0; i < ROUNDS; i++) {
  const t0 = performance.now();
  await request('ping');
  rtt.push(performance.now() - t0);
}

// A run with a 10^6-sample probe (a node only, so it runs fast).
const model = join(dir, 'wave.mjs');
writeFileSync(
  model,
  `import { Network } from 'nefsim';
export default () => {
  const net = new Network({ label: 'wave', seed: 1 });
  const n = net.node((t) => Math.sin(2 * Math.PI * t) + (Math.floor(t * 997) % 101 === 0 ? 5 : 0), { label: 'wave' });
  net.probe(n, { label: 'wave' });
  return net;
};
`,
);
const run = must(await request('run.start', { file: model, duration: SAMPLES / 1000, dt: 0.001, label: 'bench' })).run;
const w = must(await request('run.watch', { run }));
if (!w.final) while (!events.some((e) => e.sub === w.sub && e.final)) await sleep(50);
const fetchTimes = async (params) => {
  const out = [];
  let result;
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    result = must(await request('probe.fetch', params));
    out.push(performance.now() - t0);
  }
  return { first: out[0], ms: median(out.slice(3)), result };
};
const runFetch = await fetchTimes({ run, probe: 'wave', maxPoints: 2000 });

// The same series from a session's inline simulation.
const cell = must(
  await request('cell.execute', {
    session,
    code: `const net = new Network({ seed: 1 });
const n = net.node((t) => Math.sin(2 * Math.PI * t), { label: 'wave' });
net.probe(n, { label: 'wave' });
simulate(net, ${SAMPLES / 1000}).id`,
  }),
);
const sim = JSON.parse(JSON.stringify(cell.value['text/plain']));
const simFetch = await fetchTimes({ session, sim, probe: 'wave', maxPoints: 2000 });
const rawFetch = await fetchTimes({ run, probe: 'wave', mode: 'raw' });
const busyRss = rssMb(proc.pid);

const rows = [
  [
    'round trip, ping on loopback (median / p99)',
    `${median(rtt).toFixed(3)} / ${pct(rtt, 0.99).toFixed(3)} ms`,
    `${ROUNDS} sequential requests`,
  ],
  [
    'probe.fetch 10^6 samples -> 2000 points, finished run (probes.h5)',
    `${runFetch.ms.toFixed(1)} ms`,
    `median of repeats (decoded series cached); first fetch (reads HDF5, loads h5wasm) ${runFetch.first.toFixed(1)} ms`,
  ],
  [
    'probe.fetch 10^6 samples -> 2000 points, session simulation',
    `${simFetch.ms.toFixed(1)} ms`,
    `median; first ${simFetch.first.toFixed(1)} ms`,
  ],
  ['probe.fetch 10^6 samples raw (binary frames, 16 MB)', `${rawFetch.ms.toFixed(1)} ms`, 't and y as float64'],
  ['service RSS, idle', `${idleRss.toFixed(1)} MB`, 'after start, no session'],
  ['service RSS, one idle session', `${sessionRss.toFixed(1)} MB`, 'a worker thread with the nefsim API and a vm context'],
  [
    'service RSS after the fetches',
    `${busyRss.toFixed(1)} MB`,
    'h5wasm loaded, one 10^6-sample series cached, a 10^6-step inline simulation held',
  ],
];
console.log(`nefsim service bench (node ${process.version})\n`);
console.log('| figure | value | notes |\n| --- | --- | --- |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

ws.close();
proc.kill('SIGTERM');
await new Promise((r) => proc.once('exit', r));
rmSync(dir, { recursive: true, force: true });
