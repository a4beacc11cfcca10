/**
 * The service's security and robustness list, against the real built service
 * through a real ws client: tokens, Origin and Host, loopback bind, malformed
 * and invalid messages, oversize frames, floods; after each the service and
 * the other clients carry on.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { protocolSchema } from '../src/server/protocol.js';
import { tokenMatches } from '../src/server/service.js';
import { cleanup, Client, startService, type Running } from './server-harness.js';

let svc: Running;
let other: Client;

beforeAll(async () => {
  svc = await startService(['--max-payload', '65536', '--rate-limit', '50', '--max-clients', '4']);
  other = await Client.connect(svc);
});

afterAll(async () => {
  other?.close();
  await svc?.stop();
  cleanup(svc.dir);
});

/** The bystander client still gets answers. */
async function bystanderOk(): Promise<void> {
  const r = await other.request('ping');
  expect(r.ok).toBe(true);
}

describe('connecting', () => {
  it('binds to 127.0.0.1 and says hello with versions, capabilities and limits', async () => {
    expect(svc.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await other.request('hello', { client: 'test' });
    expect(r.ok).toBe(true);
    expect(r.result).toMatchObject({ server: 'nefsim', protocol: 1, versions: [1] });
    expect(r.result!.capabilities).toContain('cell.execute');
    expect(r.result!.limits).toMatchObject({ maxPayload: 65536, rateLimit: 50 });
  });

  it('accepts the token as ?token= too', async () => {
    const c = await Client.connect(svc, { query: true });
    expect((await c.request('ping')).ok).toBe(true);
    c.close();
  });

  it('refuses no token, a wrong token, a wrong Origin and a wrong Host', async () => {
    await expect(Client.connect(svc, { token: null })).rejects.toMatchObject({ status: 401 });
    await expect(Client.connect(svc, { token: 'x'.repeat(64) })).rejects.toMatchObject({ status: 401 });
    await expect(Client.connect(svc, { token: svc.token.slice(0, -1) })).rejects.toMatchObject({ status: 401 });
    await expect(Client.connect(svc, { headers: { origin: 'http://evil.example' } })).rejects.toMatchObject({ status: 403 });
    await expect(Client.connect(svc, { headers: { origin: 'null' } })).rejects.toMatchObject({ status: 403 });
    await expect(Client.connect(svc, { headers: { host: `evil.example:${svc.port}` } })).rejects.toMatchObject({ status: 403 });
    // The page's own origin is fine.
    const ok = await Client.connect(svc, { headers: { origin: `http://localhost:${svc.port}` } });
    ok.close();
    await bystanderOk();
  });

  it('refuses clients past --max-clients (503) and a hello without version 1', async () => {
    const extra = [await Client.connect(svc), await Client.connect(svc), await Client.connect(svc)];
    await expect(Client.connect(svc)).rejects.toMatchObject({ status: 503 });
    for (const c of extra) c.close();
    await new Promise((r) => setTimeout(r, 200));
    const h = await other.request('hello', { versions: [2, 3] });
    expect(h.error).toMatchObject({ code: 'bad_version', details: { supported: [1] } });
  });

  it('compares tokens in constant time over hashes (lengths do not matter)', () => {
    const t = 'a'.repeat(32);
    expect(tokenMatches(t, t)).toBe(true);
    expect(tokenMatches('a', t)).toBe(false);
    expect(tokenMatches(undefined, t)).toBe(false);
    expect(tokenMatches(t + 'b', t)).toBe(false);
  });
});

describe('bad messages get structured errors, never a crash', () => {
  it('malformed JSON', async () => {
    const r = await other.rawUnmatched('{"v":1, "id": 3, "type": ');
    expect(r).toMatchObject({ ok: false, id: null, error: { code: 'bad_json' } });
  });

  it('not an object, no type, bad version, unknown type', async () => {
    expect(await other.rawUnmatched('[1,2]')).toMatchObject({ ok: false, error: { code: 'bad_message' } });
    expect((await other.raw(JSON.stringify({ v: 1, id: 'a' }), 'a')).error!.code).toBe('bad_message');
    const v = await other.raw(JSON.stringify({ v: 99, id: 'b', type: 'hello' }), 'b');
    expect(v.error).toMatchObject({ code: 'bad_version', details: { supported: [1] } });
    const u = await other.raw(JSON.stringify({ v: 1, id: 'c', type: 'rm -rf' }), 'c');
    expect(u.error!.code).toBe('unknown_type');
    expect(u.error!.details!.known).toContain('probe.fetch');
    const proto = await other.raw(JSON.stringify({ v: 1, id: 'd', type: '__proto__' }), 'd');
    expect(proto.error!.code).toBe('unknown_type');
  });

  it('schema violations name the field', async () => {
    const r = await other.request('run.start', { duration: -1 });
    expect(r.error!.code).toBe('invalid_params');
    expect(JSON.stringify(r.error!.details)).toContain('/duration');
    const extra = await other.request('ping', { evil: true });
    expect(extra.error!.code).toBe('invalid_params');
    const path = await other.request('run.status', { run: '../../etc' });
    expect(path.error!.code).toBe('invalid_params');
    const missing = await other.request('session.close', { session: 'nope' });
    expect(missing.error!.code).toBe('not_found');
    // a union says what it accepts (it said "Expected union value")
    const executor = await other.request('run.start', { file: 'm.mjs', duration: 1, trials: 2, executor: 'pbs' });
    expect(executor.error!.message).toBe('run.start: /executor: expected "local" or "slurm"');
    const mode = await other.request('probe.fetch', { run: 'r', probe: 'p', mode: 'all' });
    expect(mode.error!.message).toBe('probe.fetch: /mode: expected "minmax" or "raw"');
    // with its limits: an empty id is a string of at most 128 characters, and -1 an integer
    for (const id of ['', -1]) {
      const bad = await other.raw(JSON.stringify({ v: 1, id, type: 'ping' }), id);
      expect(bad.error!.message).toBe('ping: /id: expected a string of 1 to 128 characters or an integer >= 0');
    }
    // limits as the command line's: --partitions goes to 256, and a duration / dt of too many steps is refused
    const parts = await other.request('run.start', { file: 'm.mjs', duration: 1, partitions: 300 });
    expect(parts.error).toMatchObject({
      code: 'invalid_params',
      message: 'run.start: /partitions: Expected integer to be less or equal to 256',
    });
    const steps = await other.request('run.start', { file: 'm.mjs', duration: 1, dt: 1e-300 });
    expect(steps.error).toMatchObject({
      code: 'invalid_params',
      message: expect.stringMatching(/^run.start: duration \/ dt gives too many steps \(/) as unknown as string,
    });
  });

  it('binary frames from clients are refused', async () => {
    const r = await other.rawUnmatched(Buffer.from([1, 2, 3]));
    expect(r.error!.code).toBe('binary_not_accepted');
  });

  it('an oversize frame closes that client (1009) and nobody else', async () => {
    const c = await Client.connect(svc);
    c.ws.send('x'.repeat(70_000));
    await new Promise((r) => c.ws.once('close', r));
    expect(c.closed!.code).toBe(1009);
    await bystanderOk();
  });

  it('a frame far over the limit closes that client with 1009 too, not as a dropped connection (1006)', async () => {
    // (the service cut the socket off as it refused the frame: its close frame was lost with the frame's
    // unread megabytes, and the client saw 1006, as if the service had died)
    for (const bytes of [2 << 20, 16 << 20]) {
      const c = await Client.connect(svc);
      const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      c.ws.send('x'.repeat(bytes));
      // a client busy elsewhere reads the service's close frame a moment later (a browser's tab, a loaded machine)
      socket.pause();
      await new Promise((r) => setTimeout(r, 300));
      socket.resume();
      await new Promise((r) => c.ws.once('close', r));
      expect(c.closed!.code, `a frame of ${bytes} bytes`).toBe(1009);
    }
    await bystanderOk();
  });

  it('a flood is rate limited, then closed (1008), while another client carries on', async () => {
    const c = await Client.connect(svc);
    let limited = 0;
    c.ws.on('message', (d: WebSocket.RawData, binary: boolean) => {
      if (!binary && (JSON.parse(d.toString()) as { error?: { code: string } }).error?.code === 'rate_limited') limited++;
    });
    const closed = new Promise<void>((r) => c.ws.once('close', () => r()));
    for (let i = 0; i < 2000 && c.ws.readyState === WebSocket.OPEN; i++) c.ws.send(JSON.stringify({ v: 1, id: `f${i}`, type: 'ping' }));
    await closed;
    expect(limited).toBeGreaterThan(0);
    expect(c.closed!.code).toBe(1008);
    await bystanderOk();
  });

  it('a client that stops reading is paused (backpressure) while others carry on, and gets every reply when it reads again', async () => {
    const c = await Client.connect(svc);
    const session = (await c.request('session.open', {})).result!.session as string;
    const cell = await c.request('cell.execute', {
      session,
      code: "const net = new Network({ seed: 1 });\nconst e = net.ensemble({ nNeurons: 100, dimensions: 1 });\nnet.probe(e.neurons, { attr: 'output', label: 's' });\nsimulate(net, 1).id",
    });
    const sim = (cell.result!.value as Record<string, string>)['text/plain'];
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // 40 raw fetches of 800 kB each: far more than the service buffers for one client.
    const replies = Array.from({ length: 40 }, () => c.request('probe.fetch', { session, sim, probe: 's', mode: 'raw' }, 60_000));
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = performance.now();
    await bystanderOk();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(svc.stderr()).toMatch(/client \d+: paused/);
    socket.resume();
    const all = await Promise.all(replies);
    expect(all.every((r) => r.ok && r.arrays.get('y')!.header.shape[0] === 1000)).toBe(true);
    c.close();
  });

  it('a client that goes with output still queued for it is logged once, not once per queued frame', async () => {
    const c = await Client.connect(svc);
    const session = (await c.request('session.open', {})).result!.session as string;
    const socket = (c.ws as unknown as { _socket: { pause(): void; destroy(): void } })._socket;
    socket.pause();
    // a printing cell whose output the page does not read (a closed laptop, a busy tab): its events queue up
    c.ws.send(
      JSON.stringify({ v: 1, id: 'print', type: 'cell.execute', session, code: 'for (let i = 0; i < 100000; i++) console.log(i)' }),
    );
    const list = async () => (await other.request('session.list')).result!.sessions as { session: string; busy: boolean }[];
    while ((await list()).find((s) => s.session === session)?.busy !== false) await new Promise((r) => setTimeout(r, 50));
    const before = svc.stderr().split('\n').length;
    socket.destroy();
    await bystanderOk();
    await new Promise((r) => setTimeout(r, 500));
    // (each queued frame logged 'send failed' as it was dropped: 71,000 lines for one closed tab)
    const failed = svc
      .stderr()
      .split('\n')
      .slice(before - 1)
      .filter((l) => l.includes('send failed'));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThanOrEqual(1);
    await other.request('session.close', { session, force: true });
  });

  it('plain HTTP gets 426 and /healthz answers', async () => {
    const base = svc.url.replace('ws:', 'http:');
    expect((await fetch(base)).status).toBe(426);
    expect(await (await fetch(`${base}healthz`)).text()).toBe('ok\n');
  });

  it('publishes a JSON Schema for every request type (schemas/protocol.v1.json is up to date)', () => {
    const s = protocolSchema() as { definitions: Record<string, { properties: Record<string, unknown> }> };
    const file = JSON.parse(readFileSync(new URL('../schemas/protocol.v1.json', import.meta.url), 'utf8')) as unknown;
    expect(file, 'regenerate with: node bin/nefsim.js serve --schema > schemas/protocol.v1.json').toEqual(JSON.parse(JSON.stringify(s)));
    expect(Object.keys(s.definitions)).toContain('cell.execute');
    expect(s.definitions['probe.fetch']!.properties).toHaveProperty('maxPoints');
  });
});

describe('shutting down', () => {
  it('SIGTERM ends the service though a client never answers the close handshake (cut off after a grace period)', async () => {
    const s = await startService();
    try {
      const c = await Client.connect(s);
      (c.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // reads nothing more: no close frame back
      const stopped = s.stop().then(() => true);
      const gaveUp = new Promise<false>((r) => setTimeout(() => r(false), 20_000));
      expect(await Promise.race([stopped, gaveUp])).toBe(true);
      c.ws.terminate();
    } finally {
      s.proc.kill('SIGKILL');
      cleanup(s.dir);
    }
  }, 30_000);
});
