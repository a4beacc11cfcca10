import { describe, expect, it } from 'vitest';
import { NefsimClient, ServiceError, backoffDelay, closeReason, type SocketLike, type Timers } from '../client/client.js';
import { decodeArrayFrame, encodeArrayFrame } from '../client/protocol.js';
import { serviceHealthUrl, serviceSocketUrl } from '../client/url.js';

/** A fake WebSocket driven by the test. */
class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  closed: { code?: number; reason?: string } | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(msg: unknown): void {
    this.onmessage?.({
      data: typeof msg === 'string' || msg instanceof ArrayBuffer || msg instanceof Uint8Array ? msg : JSON.stringify(msg),
    });
  }
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  last(): Record<string, unknown> {
    return this.sent[this.sent.length - 1];
  }
}

/** Manual timers: the test decides when time passes. */
class FakeTimers implements Timers {
  now = 0;
  private next = 1;
  pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.now) {
        this.pending.delete(id);
        t.fn();
      }
    }
  }
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.at - this.now);
  }
}

function setup(probe?: (url: string) => Promise<boolean>) {
  const sockets: FakeSocket[] = [];
  const timers = new FakeTimers();
  const client = new NefsimClient({
    url: () => 'ws://example/nefsim/ws',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    timers,
    random: () => 0,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 },
    ...(probe ? { probe } : {}),
  });
  return { client, sockets, timers };
}

async function connected() {
  const env = setup();
  env.client.connect();
  const s = env.sockets[0];
  s.open();
  const hello = s.last();
  expect(hello).toMatchObject({ v: 1, type: 'hello' });
  s.receive({ v: 1, id: hello.id, type: 'hello', ok: true, result: { server: 'nefsim', version: '0.1.0', protocol: 1 } });
  await Promise.resolve();
  await Promise.resolve();
  return { ...env, s };
}

describe('NefsimClient', () => {
  it('says hello on open and reports connected with the server version', async () => {
    const { client, s } = await connected();
    expect(s.binaryType).toBe('arraybuffer');
    expect(client.status.state).toBe('connected');
    expect(client.status.detail).toContain('0.1.0');
  });

  it('matches replies to requests by id, whatever their order', async () => {
    const { client, s } = await connected();
    const a = client.request('run.list');
    const b = client.request('session.open', { session: 'nb-1' });
    const [ra, rb] = [s.sent[1], s.sent[2]];
    expect(rb).toMatchObject({ v: 1, type: 'session.open', session: 'nb-1' });
    s.receive({ v: 1, id: rb.id, type: 'session.open', ok: true, result: { session: 'nb-1' } });
    s.receive({ v: 1, id: ra.id, type: 'run.list', ok: true, result: { runs: [] } });
    await expect(b).resolves.toMatchObject({ result: { session: 'nb-1' } });
    await expect(a).resolves.toMatchObject({ result: { runs: [] } });
  });

  it('turns a failed reply into a ServiceError with code and details (line of a cell error)', async () => {
    const { client, s } = await connected();
    const p = client.request('cell.execute', { session: 's', code: 'x(' });
    const id = s.last().id;
    s.receive({
      v: 1,
      id,
      type: 'cell.execute',
      ok: false,
      error: { code: 'syntax_error', message: 'Unexpected end of input', details: { line: 1, column: 3 } },
    });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ code: 'syntax_error', details: { line: 1, column: 3 } });
  });

  it("routes events to their request's onEvent and to the event signal", async () => {
    const { client, s } = await connected();
    const seen: string[] = [];
    const all: string[] = [];
    client.event.connect((_, ev) => all.push(ev.event));
    const p = client.request('cell.execute', { session: 's', code: 'console.log(1)' }, { onEvent: (ev) => seen.push(String(ev.text)) });
    const id = s.last().id as number;
    s.receive({ v: 1, event: 'cell.stream', id, stream: 'stdout', text: '1\n' });
    s.receive({ v: 1, event: 'run.progress', sub: 'x', run: 'r' });
    s.receive({ v: 1, id, type: 'cell.execute', ok: true, result: {} });
    await p;
    expect(seen).toEqual(['1\n']);
    expect(all).toEqual(['cell.stream', 'run.progress']);
  });

  it('gathers the binary arrays a reply announces, before or after the reply', async () => {
    const { client, s } = await connected();
    const p = client.request('probe.fetch', { run: 'r', probe: 'p' });
    const id = s.last().id as number;
    s.receive(encodeArrayFrame({ id, name: 't', dtype: 'float64', shape: [3] }, new Float64Array([0.001, 0.002, 0.003])));
    s.receive({ v: 1, id, type: 'probe.fetch', ok: true, result: { arrays: ['t', 'y'] } });
    let done = false;
    void p.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    s.receive(encodeArrayFrame({ id, name: 'y', dtype: 'float32', shape: [3, 1] }, new Float32Array([1, 2, 3])).buffer as ArrayBuffer);
    const reply = await p;
    expect(reply.arrays.map((a) => a.header.name)).toEqual(['t', 'y']);
    expect(Array.from(reply.arrays[1].data)).toEqual([1, 2, 3]);
  });

  it('reconnectNow (new service settings) fails pending requests and opens a new socket at once, the client staying usable', async () => {
    const { client, sockets } = await connected();
    const p = client.request('run.list');
    client.reconnectNow('the service settings changed');
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
    expect(sockets).toHaveLength(2);
    expect(client.status.state).toBe('connecting');
    sockets[1].open();
    expect(sockets[1].last()).toMatchObject({ type: 'hello' });
  });

  it('rejects pending requests when the connection drops, then reconnects with growing backoff', async () => {
    const { client, sockets, timers, s } = await connected();
    const p = client.request('run.list');
    s.drop(1006);
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
    expect(client.status.state).toBe('disconnected');
    expect(client.status.detail).toMatch(/dropped/);
    expect(timers.delays()).toEqual([100]);
    timers.advance(100);
    expect(sockets).toHaveLength(2);
    sockets[1].drop(1006);
    expect(client.status.detail).toMatch(/not reachable/);
    expect(timers.delays()).toEqual([200]);
    timers.advance(200);
    sockets[2].drop(1006);
    timers.advance(400);
    sockets[3].drop(1006);
    timers.advance(800);
    sockets[4].drop(1006);
    expect(timers.delays()).toEqual([1000]);
    // connect() retries at once
    client.connect();
    expect(sockets).toHaveLength(6);
    sockets[5].open();
    const hello = sockets[5].last();
    sockets[5].receive({ v: 1, id: hello.id, type: 'hello', ok: true, result: {} });
    await Promise.resolve();
    await Promise.resolve();
    expect(client.status).toMatchObject({ state: 'connected', attempt: 0 });
  });

  it('says a running service refused the connection (browsers give 1006 for a wrong token) when its health check answers', async () => {
    const asked: string[] = [];
    let answers = true;
    const { client, sockets, timers } = setup((url) => {
      asked.push(url);
      return Promise.resolve(answers);
    });
    client.connect();
    sockets[0].drop(1006);
    await Promise.resolve();
    await Promise.resolve();
    expect(asked).toEqual(['ws://example/nefsim/ws']);
    expect(client.status.state).toBe('disconnected');
    expect(client.status.detail).toMatch(/is running but refused the connection: check the service token/);
    expect(client.status.retryInMs).toBeGreaterThan(0);
    // nothing answers: not reachable, as before
    answers = false;
    timers.advance(10_000);
    sockets[1].drop(1006);
    await Promise.resolve();
    await Promise.resolve();
    expect(asked).toHaveLength(2);
    expect(client.status.detail).toMatch(/not reachable/);
    // a connection that was up and dropped is not a refusal: no health check
    timers.advance(10_000);
    sockets[2].open();
    sockets[2].receive({
      v: 1,
      id: sockets[2].last().id,
      type: 'hello',
      ok: true,
      result: { server: 'nefsim', version: '0.1.0', protocol: 1 },
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(client.status.state).toBe('connected');
    sockets[2].drop(1006);
    await Promise.resolve();
    expect(asked).toHaveLength(2);
    expect(client.status.detail).toMatch(/dropped/);
  });

  it('fails at once when disconnected, or waits for the connection if asked', async () => {
    const { client, sockets } = setup();
    await expect(client.request('run.list')).rejects.toBeInstanceOf(ServiceError);
    const p = client.request('run.list', {}, { waitForConnection: true });
    sockets[0].open();
    const hello = sockets[0].last();
    sockets[0].receive({ v: 1, id: hello.id, type: 'hello', ok: true, result: {} });
    await new Promise((r) => setTimeout(r, 0));
    const req = sockets[0].last();
    expect(req.type).toBe('run.list');
    sockets[0].receive({ v: 1, id: req.id, type: 'run.list', ok: true, result: { runs: [] } });
    await expect(p).resolves.toMatchObject({ result: { runs: [] } });
  });

  it('stops (no retry loop) when the service refuses the protocol version', async () => {
    const { client, sockets, timers } = setup();
    client.connect();
    sockets[0].open();
    const hello = sockets[0].last();
    sockets[0].receive({ v: 1, id: hello.id, type: 'hello', ok: false, error: { code: 'bad_version', message: 'v1 not supported' } });
    await Promise.resolve();
    await Promise.resolve();
    expect(client.status.state).toBe('stopped');
    expect(client.status.detail).toContain('v1 not supported');
    expect(timers.delays()).toEqual([]);
  });

  it('times out requests that get no reply', async () => {
    const { client, timers } = await connected();
    const p = client.request('run.list', {}, { timeoutMs: 5000 });
    timers.advance(5000);
    await expect(p).rejects.toMatchObject({ code: 'timeout' });
  });
});

describe('helpers', () => {
  it('backoff doubles up to the cap, with jitter', () => {
    const o = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, o, () => 0))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(20, o, () => 0)).toBe(30_000);
    expect(backoffDelay(1, o, () => 1)).toBe(600);
  });

  it('explains close codes', () => {
    expect(closeReason(1006, '', false)).toMatch(/not reachable/);
    expect(closeReason(1006, '', true)).toMatch(/dropped/);
    expect(closeReason(1009, 'Max payload size exceeded', true)).toBe(
      'a message was larger than the service accepts (its --max-payload): Max payload size exceeded',
    );
    expect(closeReason(1005, '', true)).toMatch(/stopped or restarted/); // said 'closed with code 1005'
    expect(closeReason(1008, 'wrong token', false)).toMatch(/token/);
  });

  it('builds the proxied socket URL from the server settings, or uses a standalone service', () => {
    expect(serviceSocketUrl({ wsUrl: 'wss://hub.example/user/ann/', token: 'abc', appendToken: false })).toBe(
      'wss://hub.example/user/ann/nefsim/ws',
    );
    expect(serviceSocketUrl({ wsUrl: 'ws://127.0.0.1:8888', token: 'abc', appendToken: true })).toBe(
      'ws://127.0.0.1:8888/nefsim/ws?token=abc',
    );
    expect(serviceSocketUrl({ wsUrl: 'ws://x/', token: '', appendToken: false }, 'ws://127.0.0.1:8765/', 's3cret-token-1234')).toBe(
      'ws://127.0.0.1:8765/?token=s3cret-token-1234',
    );
  });

  it("finds the service's health check at its socket's address, without the token", () => {
    expect(serviceHealthUrl('wss://hub.example/user/ann/nefsim/ws?token=abc')).toBe('https://hub.example/user/ann/nefsim/healthz');
    expect(serviceHealthUrl('ws://127.0.0.1:8765/?token=abc')).toBe('http://127.0.0.1:8765/healthz');
    expect(serviceHealthUrl('ws://127.0.0.1:8765')).toBe('http://127.0.0.1:8765/healthz');
  });

  it('decodes binary frames written by the service format', () => {
    const frame = encodeArrayFrame({ id: 7, name: 'min', dtype: 'float64', shape: [2, 2] }, new Float64Array([1, 2, 3, 4]));
    const { header, data } = decodeArrayFrame(frame);
    expect(header).toEqual({ id: 7, name: 'min', dtype: 'float64', shape: [2, 2] });
    expect(Array.from(data)).toEqual([1, 2, 3, 4]);
    expect(() => decodeArrayFrame(new Uint8Array(16))).toThrow(/not a nefsim/);
  });
});
