/**
 * Test harness for the service tests: starts the built CLI's `nefsim serve`
 * (npm run build first) in a child process on a free port, and a small client
 * over a real `ws` WebSocket that matches replies, events and binary frames
 * to requests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { decodeArrayFrame, type ArrayHeader, type TypedArray } from '../src/server/protocol.js';

export const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));

export interface Running {
  url: string;
  port: number;
  token: string;
  dir: string;
  runsDir: string;
  proc: ChildProcess;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

export async function startService(extra: string[] = [], dir = mkdtempSync(join(tmpdir(), 'nefsim-svc-'))): Promise<Running> {
  const runsDir = join(dir, 'runs');
  const tokenFile = join(dir, 'token');
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--token-file', tokenFile, '--runs-dir', runsDir, ...extra], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`service did not start: ${err}`)), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    proc.once('exit', (code) => reject(new Error(`service exited (${code}): ${err}`)));
  });
  const info = JSON.parse(line) as { url: string; port: number };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    await exited;
  };
  return { url: info.url, port: info.port, token: readFileSync(tokenFile, 'utf8').trim(), dir, runsDir, proc, stderr: () => err, stop };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface Reply {
  v: number;
  id: string | number | null;
  type: string | null;
  ok: boolean;
  result?: Record<string, unknown> & { [k: string]: unknown };
  error?: { code: string; message: string; details?: Record<string, unknown> };
}

export interface Event {
  v: number;
  event: string;
  id?: string | number;
  sub?: string;
  [k: string]: unknown;
}

export interface FullReply extends Reply {
  events: Event[];
  arrays: Map<string, { header: ArrayHeader; data: TypedArray }>;
}

export class Client {
  private nextId = 1;
  private readonly waiting = new Map<string | number, (r: FullReply) => void>();
  private readonly events = new Map<string | number, Event[]>();
  private readonly arrays = new Map<string | number, Map<string, { header: ArrayHeader; data: TypedArray }>>();
  readonly allEvents: Event[] = [];
  readonly unmatched: Reply[] = [];
  closed: { code: number; reason: string } | undefined;
  private eventWaiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
        const f = decodeArrayFrame(buf);
        const m = this.arrays.get(f.header.id) ?? new Map();
        m.set(f.header.name, f);
        this.arrays.set(f.header.id, m);
        return;
      }
      const msg = JSON.parse(data.toString()) as Reply & Event;
      if (typeof msg.event === 'string') {
        this.allEvents.push(msg);
        if (msg.id !== undefined) this.events.set(msg.id, [...(this.events.get(msg.id) ?? []), msg]);
        this.eventWaiters = this.eventWaiters.filter((w) => {
          if (!w.pred(msg)) return true;
          w.resolve(msg);
          return false;
        });
        return;
      }
      const w = msg.id !== null ? this.waiting.get(msg.id) : undefined;
      if (!w) {
        this.unmatched.push(msg);
        return;
      }
      this.waiting.delete(msg.id!);
      w({ ...msg, events: this.events.get(msg.id!) ?? [], arrays: this.arrays.get(msg.id!) ?? new Map() });
      this.events.delete(msg.id!);
      this.arrays.delete(msg.id!);
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', () => undefined);
  }

  static connect(
    s: { url: string; token: string },
    opts: { token?: string | null; headers?: Record<string, string>; query?: boolean } = {},
  ): Promise<Client> {
    const token = opts.token === undefined ? s.token : opts.token;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let url = s.url;
    if (token !== null && !opts.query) headers.authorization = `Bearer ${token}`;
    if (token !== null && opts.query) url += `?token=${encodeURIComponent(token)}`;
    const ws = new WebSocket(url, { headers, maxPayload: 512 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body.trim()}`), { status: res.statusCode })));
      });
      ws.once('error', reject);
    });
  }

  request(type: string, params: Record<string, unknown> = {}, timeoutMs = 50_000): Promise<FullReply> {
    const id = this.nextId++;
    return this.raw(JSON.stringify({ v: 1, id, type, ...params }), id, timeoutMs);
  }

  /** Sends a text frame and waits for the reply with this id. */
  raw(text: string, id: string | number, timeoutMs = 50_000): Promise<FullReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${text.slice(0, 80)} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.ws.send(text);
    });
  }

  /** Sends a text frame whose reply has no id (invalid JSON): waits for the next unmatched reply. */
  async rawUnmatched(data: string | Buffer, timeoutMs = 5000): Promise<Reply> {
    const n = this.unmatched.length;
    this.ws.send(data);
    const t0 = Date.now();
    while (this.unmatched.length === n) {
      if (Date.now() - t0 > timeoutMs) throw new Error('no reply');
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.unmatched[n]!;
  }

  waitEvent(pred: (e: Event) => boolean, timeoutMs = 50_000): Promise<Event> {
    const found = this.allEvents.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('event did not come')), timeoutMs);
      this.eventWaiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** The squaring network, as three model cells. */
export const SQUARING_CELLS = [
  `const net = new Network({ label: 'squaring', seed: 0 });
const stim = net.node((t) => Math.sin(t), { label: 'sin' });`,
  `const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
const sq = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'sq' });
net.connect(stim, a);
net.connect(a, sq, { function: (x) => [x[0] * x[0]] });`,
  `const p = net.probe(sq, { synapse: 0.01, label: 'sq' });
const ps = net.probe(a.neurons, { attr: 'output', label: 'spikes' });
model = net;`,
];

/** A model file: the squaring network without spike probes, so long runs write little. */
export const MODEL_FILE = `import { Network } from 'nefsim';
export default function () {
  const net = new Network({ label: 'squaring', seed: 0 });
  const stim = net.node((t) => Math.sin(t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'a' });
  const sq = net.ensemble({ nNeurons: 100, dimensions: 1, label: 'sq' });
  net.connect(stim, a);
  net.connect(a, sq, { function: (x) => [x[0] * x[0]] });
  net.probe(sq, { synapse: 0.01, label: 'sq' });
  return net;
}
`;
