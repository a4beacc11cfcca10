/** 50 concurrent clients, each with its own design session, building and simulating a model. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanup, Client, startService, type Running } from './server-harness.js';

let svc: Running;

beforeAll(async () => {
  svc = await startService(['--max-sessions', '60', '--session-memory-mb', '128']);
});

afterAll(async () => {
  await svc?.stop();
  cleanup(svc.dir);
});

it('serves 50 concurrent clients each running a session', async () => {
  const N = 50;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const c = await Client.connect(svc);
      const s = await c.request('session.open', { label: `nb${i}` }, 60_000);
      expect(s.ok, JSON.stringify(s.error)).toBe(true);
      const session = s.result!.session as string;
      const code = `const net = new Network({ seed: ${i} });
const x = net.node(0.5);
const e = net.ensemble({ nNeurons: 20, dimensions: 1, label: 'e' });
net.connect(x, e);
const p = net.probe(e, { synapse: 0.01, label: 'p' });
model = net;
const r = simulate(net, 0.2);
r.data(p).get(199, 0)`;
      const r = await c.request('cell.execute', { session, code }, 60_000);
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      const v = Number((r.result!.value as Record<string, string>)['text/plain']);
      await c.request('session.close', { session });
      c.close();
      return v;
    }),
  );
  for (const v of results) expect(Math.abs(v - 0.5)).toBeLessThan(0.2);
  // And the service still answers.
  const c = await Client.connect(svc);
  expect((await c.request('ping')).ok).toBe(true);
  c.close();
  console.log(`50 sessions opened, executed and closed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}, 120_000);
