/**
 * The nefsim service: one WebSocket, protocol v1 (see protocol.ts and
 * docs/protocol.md). Clients are authenticated in the HTTP upgrade (token,
 * compared in constant time; Host and Origin checked) before any WebSocket
 * exists. Every socket has an error handler and a maxPayload; every message is
 * validated; every request gets exactly one reply. Each client has a rate
 * limit and a bound on requests in flight, and a client that does not read
 * its replies has its socket paused (backpressure on bufferedAmount).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { totalmem } from 'node:os';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import * as nefsim from '../index.js';
import * as post from '../post/index.js';
import { version } from '../version.js';
import { MAX_RUN_STEPS, stepsIn } from '../engine/steps.js';
import { listRunProbes, loadH5, readRunProbe, type ProbeSlice } from './probes.js';
import {
  dtypeOf,
  encodeArrayFrame,
  idOf,
  parseRequest,
  PROTOCOL_VERSION,
  ProtocolError,
  REQUEST_TYPES,
  SUPPORTED_VERSIONS,
  typeOf,
  type ErrorBody,
  type Request,
  type RequestType,
  type TypedArray,
} from './protocol.js';
import { isTerminal } from '../runs/folder.js';
import { RunManager, SESSION_GLOBALS, type RunInfo } from './runs.js';
import { SessionManager, serviceRss, type Session } from './sessions.js';

/** What a probe request names: a run's probe, or a session's simulation's, and a window of it. */
interface SliceRequest {
  run?: string;
  session?: string;
  sim?: string;
  probe: string;
  t0?: number;
  t1?: number;
  columns?: [number, number];
}
/** How long close() lets clients answer the close handshake before it cuts them off, ms. */
const CLOSE_GRACE_MS = 2000;
export interface ServiceOptions {
  host: string;
  port: number;
  token: string;
  runsDir: string;
  maxConcurrentRuns: number;
  /** Origins allowed besides http://127.0.0.1:PORT and http://localhost:PORT. */
  allowOrigins: string[];
  /** Host headers allowed besides 127.0.0.1:PORT, localhost:PORT, [::1]:PORT. */
  allowHosts: string[];
  /** Largest message a client may send, bytes. */
  maxPayload: number;
  /** Requests per second per client (sustained) and burst. */
  rateLimit: number;
  rateBurst: number;
  maxInFlight: number;
  maxSessions: number;
  sessionMemoryMb: number;
  /**
   * The service's resident memory past which sessions running a cell are
   * restarted (typed arrays live outside the V8 heap that sessionMemoryMb
   * caps: without this, a cell filling gigabytes of them would have the
   * kernel's OOM killer take the whole service).
   */
  maxRssMb: number;
  budgetSeconds: number;
  sessionIdleMs: number;
  /** Largest number of values a raw probe.fetch may return. */
  maxRawValues: number;
  /** Most clients connected at once. */
  maxClients: number;
  /** Log lines go here (stderr by default). */
  log: (line: string) => void;
}

/** The memory this process may use: the machine's, or less in a container (a cgroup limit). */
function availableMemory(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained && constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
}

export const DEFAULTS: Omit<ServiceOptions, 'token' | 'log'> = {
  host: '127.0.0.1',
  port: 8765,
  runsDir: 'runs',
  maxConcurrentRuns: 2,
  allowOrigins: [],
  allowHosts: [],
  maxPayload: 4 * 1024 * 1024,
  rateLimit: 2000,
  rateBurst: 4000,
  maxInFlight: 64,
  maxSessions: 64,
  sessionMemoryMb: 1024,
  maxRssMb: Math.floor((0.75 * availableMemory()) / 1048576),
  budgetSeconds: 20,
  sessionIdleMs: 30 * 60_000,
  maxRawValues: 20_000_000,
  maxClients: 256,
};

/** How often the service's memory is checked against --max-rss-mb, ms. */
const MEMORY_CHECK_MS = 250;

/** Pause reading from a client whose unsent replies exceed this; resume below LOW. */
const HIGH_WATER = 16 * 1024 * 1024;
const LOW_WATER = 4 * 1024 * 1024;
/** Unsent bytes past which replies with arrays are refused (see sendArrays). */
const UNREAD_LIMIT = 64 * 1024 * 1024;
/** Drop streamed output events (not replies) for a client this far behind. */
const EVENT_DROP = 8 * 1024 * 1024;

const API_NAMES = Object.keys(nefsim).filter((k) => k !== 'version' && k !== 'default');

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token check (hashes first, so lengths do not leak either). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}

let clientCount = 0;

class Client {
  readonly id = ++clientCount;
  tokens: number;
  lastRefill = Date.now();
  strikes = 0;
  inFlight = 0;
  paused = false;
  readonly subs = new Map<string, NodeJS.Timeout>();
  readonly sessions = new Set<string>();
  dropped = 0;
  /** Frames that could not be sent (the connection went with them queued): only the first is logged. */
  sendFailures = 0;
  /** Answered the last ping (dead connections are dropped after one unanswered ping interval). */
  alive = true;
  constructor(
    readonly ws: WebSocket,
    readonly socket: Duplex,
    burst: number,
  ) {
    this.tokens = burst;
  }
}

/** Run watches one client may hold at once. */
const MAX_WATCHES = 64;

/**
 * A run label made from a session's label or a file's name: the characters a
 * run name allows, starting with a letter, digit or _ (a name starting with
 * '.' would be hidden, one starting with '-' would read as an option).
 */
export function runLabel(raw: string, fallback: string): string {
  return (
    raw
      .replace(/[^A-Za-z0-9_.-]/g, '_')
      .replace(/^[.-]+/, '')
      .slice(0, 60) || fallback
  );
}

export class Service {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  readonly sessions: SessionManager;
  readonly runs: RunManager;
  private port = 0;
  private subCount = 0;
  private reaper: NodeJS.Timeout | undefined;
  private memoryGuard: NodeJS.Timeout | undefined;
  /** Past --max-rss-mb with no cell to blame (logged once). */
  private overMemory = false;
  private pinger: NodeJS.Timeout | undefined;

  constructor(readonly opts: ServiceOptions) {
    if (opts.token.length < 16) throw new Error('the service token must be at least 16 characters');
    this.sessions = new SessionManager({
      maxSessions: opts.maxSessions,
      memoryMb: opts.sessionMemoryMb,
      budgetSeconds: opts.budgetSeconds,
      maxSims: 8,
    });
    this.runs = new RunManager(opts.runsDir, opts.maxConcurrentRuns);
    this.server = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('nefsim service: connect with a WebSocket\n');
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload, perMessageDeflate: false });
    this.wss.on('error', (err) => opts.log(`websocket server error: ${err.message}`));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  async listen(): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.runs.start();
    this.reaper = setInterval(
      () => void this.sessions.reap(this.opts.sessionIdleMs, (id) => [...this.clients].some((c) => c.sessions.has(id))),
      60_000,
    );
    this.reaper.unref();
    this.memoryGuard = setInterval(() => this.guardMemory(), MEMORY_CHECK_MS);
    this.memoryGuard.unref();
    // Ping every client every 30 s; one that did not answer the previous ping is gone (a laptop closed, a cut network).
    this.pinger = setInterval(() => {
      for (const c of this.clients) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }, 30_000);
    this.pinger.unref();
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return { port: this.port, url: `ws://${host}:${this.port}/` };
  }

  async close(): Promise<void> {
    if (this.reaper) clearInterval(this.reaper);
    if (this.memoryGuard) clearInterval(this.memoryGuard);
    if (this.pinger) clearInterval(this.pinger);
    this.runs.stop();
    for (const c of this.clients) {
      for (const t of c.subs.values()) clearInterval(t);
      c.ws.close(1001, 'service shutting down');
    }
    await this.sessions.closeAll();
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    // A client that does not read (or whose connection died) never completes the close handshake, and
    // the server's close waits for every connection: after a grace period such clients are cut off.
    const grace = setTimeout(() => {
      for (const c of this.clients) c.ws.terminate();
      this.server.closeAllConnections();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(grace);
    for (const c of this.clients) c.ws.terminate();
  }

  /* ---------- connection ---------- */

  private allowedHosts(): Set<string> {
    const p = this.port;
    return new Set(
      [`127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`, `${this.opts.host}:${p}`, ...this.opts.allowHosts].map((h) => h.toLowerCase()),
    );
  }

  private allowedOrigins(): Set<string> {
    const p = this.port;
    return new Set([`http://127.0.0.1:${p}`, `http://localhost:${p}`, ...this.opts.allowOrigins].map((o) => o.toLowerCase()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const deny = (status: number, reason: string, message: string): void => {
      this.opts.log(`refused a connection from ${req.socket.remoteAddress ?? '?'}: ${message}`);
      const body = `${message}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return deny(400, 'Bad Request', 'bad request URL');
    }
    if (url.pathname !== '/' && url.pathname !== '/ws') return deny(404, 'Not Found', `no WebSocket endpoint at ${url.pathname}; use /`);
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts().has(host))
      return deny(403, 'Forbidden', `Host '${host.slice(0, 100)}' is not allowed (DNS rebinding protection; see --allow-host)`);
    const origin = req.headers.origin;
    if (origin !== undefined && !this.allowedOrigins().has(origin.toLowerCase()))
      return deny(403, 'Forbidden', `Origin '${origin.slice(0, 100)}' is not allowed (see --allow-origin)`);
    const auth = req.headers.authorization;
    const given = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : (url.searchParams.get('token') ?? undefined);
    if (!tokenMatches(given, this.opts.token))
      return deny(
        401,
        'Unauthorized',
        given === undefined ? 'a token is required (Authorization: Bearer TOKEN or ?token=TOKEN)' : 'wrong token',
      );
    if (this.clients.size >= this.opts.maxClients)
      return deny(503, 'Service Unavailable', `the service has ${this.clients.size} clients, its limit`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connection(ws, socket));
  }

  private connection(ws: WebSocket, socket: Duplex): void {
    const client = new Client(ws, socket, this.opts.rateBurst);
    this.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('error', (err) => {
      this.opts.log(`client ${client.id}: ${err.message}`);
      // A frame ws refuses (too large, not valid WebSocket) has it close the socket itself with the code that says
      // why (1009, 1002, 1007): cut off here, the close frame was lost with the frame's unread bytes and the client
      // saw 1006, a dropped connection (a service that died). ws ends the socket once its close frame is sent.
      if (ws.readyState !== ws.CLOSING && ws.readyState !== ws.CLOSED) ws.terminate();
    });
    ws.on('close', () => {
      this.clients.delete(client);
      for (const t of client.subs.values()) clearInterval(t);
      client.subs.clear();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.message(client, data, isBinary));
  }

  private takeToken(c: Client): boolean {
    const now = Date.now();
    c.tokens = Math.min(this.opts.rateBurst, c.tokens + ((now - c.lastRefill) / 1000) * this.opts.rateLimit);
    c.lastRefill = now;
    if (c.tokens >= 1) {
      c.tokens -= 1;
      c.strikes = Math.max(0, c.strikes - 1);
      return true;
    }
    return false;
  }

  private message(c: Client, data: RawData, isBinary: boolean): void {
    if (!this.takeToken(c)) {
      c.strikes++;
      if (c.strikes > this.opts.rateBurst) {
        // once: the frames that arrived before the close would each say it again
        if (c.ws.readyState === c.ws.OPEN) {
          this.opts.log(`client ${c.id}: closed for flooding`);
          c.ws.close(1008, 'rate limit exceeded');
        }
        return;
      }
      if (c.ws.bufferedAmount < LOW_WATER) {
        const text = isBinary ? '' : rawText(data);
        this.reply(c, idOf(text), typeOf(text), {
          code: 'rate_limited',
          message: `more than ${this.opts.rateLimit} requests per second; slow down`,
          details: { rateLimit: this.opts.rateLimit, burst: this.opts.rateBurst },
        });
      }
      return;
    }
    if (isBinary) {
      this.reply(c, null, null, { code: 'binary_not_accepted', message: 'send requests as JSON text frames' });
      return;
    }
    const text = rawText(data);
    let req: Request;
    try {
      req = parseRequest(text);
    } catch (err) {
      const body = err instanceof ProtocolError ? err.toBody() : { code: 'internal' as const, message: String(err) };
      this.reply(c, idOf(text), typeOf(text), body);
      return;
    }
    if (c.inFlight >= this.opts.maxInFlight) {
      this.reply(c, req.id, req.type, {
        code: 'busy',
        message: `${c.inFlight} requests are in flight; wait for replies first`,
        details: { maxInFlight: this.opts.maxInFlight },
      });
      return;
    }
    c.inFlight++;
    this.handle(c, req)
      .then(
        (result) => this.reply(c, req.id, req.type, undefined, result),
        (err: unknown) => {
          if (err instanceof ProtocolError) return this.reply(c, req.id, req.type, err.toBody());
          const fsError = fileSystemError(err);
          // a run deleted while this request read it: no such run, not a failing disk
          const run = (req as { run?: unknown }).run;
          if (fsError?.details?.['errno'] === 'ENOENT' && typeof run === 'string') {
            const gone = this.runGone(run);
            if (gone) return this.reply(c, req.id, req.type, gone);
          }
          if (fsError) {
            this.opts.log(`${req.type} failed on the file system: ${fsError.message}`);
            return this.reply(c, req.id, req.type, fsError);
          }
          this.opts.log(`internal error in ${req.type}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          this.reply(c, req.id, req.type, {
            code: 'internal',
            message: `internal error: ${err instanceof Error ? err.message : String(err)}`,
          });
        },
      )
      .finally(() => {
        c.inFlight--;
      });
  }

  /* ---------- sending ---------- */

  private send(c: Client, data: string | Buffer): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(data, { binary: typeof data !== 'string' }, (err) => {
      // a connection that goes fails every frame still queued for it (tens of thousands of a printing cell's
      // events, each logged once): said once
      if (err && c.sendFailures++ === 0)
        this.opts.log(`client ${c.id}: send failed: ${err.message} (the frames still queued for it are dropped; not logged)`);
    });
    this.backpressure(c);
  }

  /** A client that does not read its replies: stop reading its requests until it catches up. */
  private backpressure(c: Client): void {
    if (c.paused || c.ws.bufferedAmount < HIGH_WATER) return;
    c.paused = true;
    c.socket.pause();
    this.opts.log(`client ${c.id}: paused (${(c.ws.bufferedAmount / 1048576).toFixed(1)} MB unsent; it does not read its replies)`);
    const check = setInterval(() => {
      if (c.ws.readyState !== c.ws.OPEN) return clearInterval(check);
      if (c.ws.bufferedAmount < LOW_WATER) {
        clearInterval(check);
        c.paused = false;
        c.socket.resume();
      }
    }, 20);
  }

  /** not_found's body if the run is gone (it was deleted), else undefined. */
  private runGone(run: string): ErrorBody | undefined {
    try {
      this.runs.status(run);
      return undefined;
    } catch (err) {
      return err instanceof ProtocolError && err.code === 'not_found' ? err.toBody() : undefined;
    }
  }

  private reply(c: Client, id: string | number | null, type: string | null, error: ErrorBody | undefined, result?: unknown): void {
    const msg = error
      ? { v: PROTOCOL_VERSION, id, type, ok: false, error }
      : { v: PROTOCOL_VERSION, id, type, ok: true, result: result ?? {} };
    const text = safeStringify(msg);
    if (text === undefined)
      this.opts.log(`internal: the reply to ${type ?? 'a request'} (id ${String(id)}) could not be serialised as JSON`);
    this.send(
      c,
      text ??
        JSON.stringify({
          v: PROTOCOL_VERSION,
          id,
          type,
          ok: false,
          error: { code: 'internal', message: 'the reply could not be serialised as JSON' },
        }),
    );
  }

  private event(c: Client, body: Record<string, unknown>, droppable = false): void {
    if (droppable && c.ws.bufferedAmount > EVENT_DROP) {
      c.dropped++;
      return;
    }
    const text = safeStringify({ v: PROTOCOL_VERSION, ...body });
    if (text !== undefined) this.send(c, text);
    else c.dropped++;
  }

  private sendArrays(
    c: Client,
    id: string | number,
    arrays: [string, TypedArray, number[]][],
  ): { name: string; dtype: string; shape: number[] }[] {
    // Requests read before the socket paused (pipelined) would each queue their arrays in memory:
    // past a bound, the data is not made into frames at all and the request fails instead.
    if (c.ws.bufferedAmount >= UNREAD_LIMIT)
      throw new ProtocolError(
        'busy',
        `${(c.ws.bufferedAmount / 1048576).toFixed(0)} MB of earlier replies are still unread; read them, then ask again`,
        { unreadBytes: c.ws.bufferedAmount },
      );
    return arrays.map(([name, data, shape]) => {
      const header = { id, name, dtype: dtypeOf(data), shape };
      this.send(c, encodeArrayFrame(header, data));
      return { name, dtype: header.dtype, shape };
    });
  }

  /* ---------- requests ---------- */

  private async handle(c: Client, req: Request): Promise<unknown> {
    switch (req.type as RequestType) {
      case 'hello': {
        const r = req as Request<'hello'>;
        if (r.versions !== undefined && !r.versions.includes(PROTOCOL_VERSION)) {
          throw new ProtocolError(
            'bad_version',
            `this service speaks protocol v${PROTOCOL_VERSION} only; the client offers ${JSON.stringify(r.versions)}`,
            {
              supported: [...SUPPORTED_VERSIONS],
            },
          );
        }
        return this.hello();
      }
      case 'ping':
        return { time: Date.now() };
      case 'session.open':
        return this.sessionOpen(c, req as Request<'session.open'>);
      case 'session.rename': {
        const r = req as Request<'session.rename'>;
        const s = this.sessions.rename(r.session, r.to, r.label);
        for (const other of this.clients) if (other.sessions.delete(r.session)) other.sessions.add(s.id);
        return { session: s.id, renamed: r.session, label: s.label ?? null };
      }
      case 'session.close': {
        const r = req as Request<'session.close'>;
        this.sessions.get(r.session); // not_found for a session that is not open
        c.sessions.delete(r.session);
        // Another page that shows the same notebook still holds the session: its variables stay
        // for it (the idle reaper ends the session once nobody holds it).
        const holders = [...this.clients].filter((o) => o !== c && o.sessions.has(r.session));
        if (holders.length > 0 && r.force !== true) return { session: r.session, closed: false, heldBy: holders.length };
        await this.sessions.close(r.session);
        for (const other of holders) {
          other.sessions.delete(r.session);
          this.event(other, {
            event: 'session.restarted',
            session: r.session,
            reason: 'closed by another client: the variables are gone; run the model cells again',
          });
        }
        return { session: r.session, closed: true };
      }
      case 'session.reset': {
        const r = req as Request<'session.reset'>;
        const s = this.sessions.get(r.session);
        s.cells.clear();
        s.executions = 0;
        await s.restart('interrupted', 'the session was reset');
        return { session: s.id, reset: true };
      }
      case 'session.interrupt': {
        const r = req as Request<'session.interrupt'>;
        const s = this.sessions.get(r.session);
        // Busy: a request pending, or no answer within a second (a timer's callback that does not return).
        const wasBusy = s.busy || !(await s.responsive(1000));
        // Nothing running: the variables are kept (as interrupting an idle Jupyter kernel does nothing).
        if (!wasBusy) return { session: s.id, restarted: false, wasBusy: false, message: 'nothing to interrupt: the session is idle' };
        const message = 'interrupted: the session restarted and its variables are gone; run the model cells again';
        await s.restart('interrupted', message);
        this.notifyRestart(s.id, message, c);
        return { session: s.id, restarted: true, wasBusy, message };
      }
      case 'session.list':
        return {
          sessions: this.sessions
            .list()
            .map((s) => ({ session: s.id, label: s.label ?? null, busy: s.busy, cells: [...s.cells.keys()], restarts: s.restarts })),
        };
      case 'cell.execute':
        return this.execute(c, req as Request<'cell.execute'>);
      case 'run.start':
        return this.runStart(req as Request<'run.start'>);
      case 'run.list':
        loadH5().catch(() => undefined); // in the background, for the probes the user will plot (probes.ts)
        return { runs: this.runs.list(), maxConcurrentRuns: this.opts.maxConcurrentRuns, runsDir: this.runs.dir };
      case 'run.status':
        return this.runs.status((req as Request<'run.status'>).run);
      case 'run.watch':
        return this.watch(c, req as Request<'run.watch'>);
      case 'run.unwatch': {
        const r = req as Request<'run.unwatch'>;
        const t = c.subs.get(r.sub);
        if (!t) throw new ProtocolError('not_found', `no subscription '${r.sub}'`);
        clearInterval(t);
        c.subs.delete(r.sub);
        return { sub: r.sub, ended: true };
      }
      case 'run.cancel':
        return this.runs.cancel((req as Request<'run.cancel'>).run);
      case 'run.delete': {
        const r = req as Request<'run.delete'>;
        this.runs.delete(r.run);
        return { run: r.run, deleted: true };
      }
      case 'probe.list':
        return this.probeList(req as Request<'probe.list'>);
      case 'probe.fetch':
        return this.probeFetch(c, req as Request<'probe.fetch'>);
      case 'post.rates':
        return this.rates(c, req as Request<'post.rates'>);
      case 'post.spikes':
        return this.spikes(c, req as Request<'post.spikes'>);
      case 'post.rmse':
        return this.rmse(req as Request<'post.rmse'>);
      case 'post.tuning':
        return this.tuning(c, req as Request<'post.tuning'>);
    }
    throw new ProtocolError('unknown_type', `unknown message type '${String(req.type)}'`);
  }

  private hello(): Record<string, unknown> {
    return {
      server: 'nefsim',
      version,
      protocol: PROTOCOL_VERSION,
      versions: [...SUPPORTED_VERSIONS],
      capabilities: REQUEST_TYPES,
      binary: {
        magic: 'NEFB',
        header: 'uint32 LE length + JSON {id, name, dtype, shape}, padded to 8 bytes',
        endianness: 'little',
        dtypes: ['float64', 'float32', 'int32', 'uint8'],
      },
      limits: {
        maxPayload: this.opts.maxPayload,
        rateLimit: this.opts.rateLimit,
        rateBurst: this.opts.rateBurst,
        maxInFlight: this.opts.maxInFlight,
        maxSessions: this.opts.maxSessions,
        sessionMemoryMb: this.opts.sessionMemoryMb,
        inlineBudgetSeconds: this.opts.budgetSeconds,
        maxConcurrentRuns: this.opts.maxConcurrentRuns,
        maxRawValues: this.opts.maxRawValues,
        maxClients: this.opts.maxClients,
      },
    };
  }

  private sessionOpen(c: Client, r: Request<'session.open'>): Record<string, unknown> {
    const { session, created } = this.sessions.open(r.session, r.label);
    c.sessions.add(session.id);
    if (created) {
      session.onRestart = (reason) => this.notifyRestart(session.id, reason, undefined);
      session.onLateOutput = (stream, text) =>
        this.opts.log(
          `session ${session.id}: ${stream} after its cell ended: ${text.length > 2000 ? `${text.slice(0, 2000)}...` : text.trimEnd()}`,
        );
      session.onLateOutputCapped = () =>
        this.opts.log(`session ${session.id}: more output after its cell ended is not logged until its next cell runs`);
    }
    return {
      session: session.id,
      created,
      memoryMb: this.opts.sessionMemoryMb,
      inlineBudgetSeconds: this.opts.budgetSeconds,
      globals: [...API_NAMES, ...SESSION_GLOBALS, 'model'],
      executions: session.executions,
    };
  }

  /**
   * Past --max-rss-mb, restarts the sessions running a cell that started
   * below it, or that has grown the service's memory since it started by
   * more than MEMORY_GROWTH (the memory's likely owners: an idle session
   * holds what it held before; a cell started above the limit, which other
   * sessions' arrays or caches can put it at, is not to blame unless it grows).
   */
  private guardMemory(): void {
    // the service's own memory with its sessions' processes
    const now = serviceRss();
    const rss = Math.round(now / 1048576);
    if (rss <= this.opts.maxRssMb) {
      this.overMemory = false;
      return;
    }
    // a cell that started below the limit and is running now took the memory past it; one that started
    // above it (what an idle session holds, or memory not yet given back) is not to blame
    const limit = this.opts.maxRssMb * 1048576;
    const growth = Math.max(64 * 1048576, limit / 10);
    const running = this.sessions.list().filter((s) => s.executing && (s.cellStartRss <= limit || now - s.cellStartRss > growth));
    if (running.length === 0) {
      if (!this.overMemory)
        this.opts.log(`warning: the service uses ${rss} MB, past --max-rss-mb ${this.opts.maxRssMb}, and no cell running took it there`);
      this.overMemory = true;
      return;
    }
    const reason =
      `the service's memory (${rss} MB) passed its limit (--max-rss-mb ${this.opts.maxRssMb}) while this session ran a cell: ` +
      'the session was restarted and its variables are gone (typed arrays count here, not in --session-memory-mb)';
    this.opts.log(
      `memory: ${rss} MB past --max-rss-mb ${this.opts.maxRssMb}: restarting session(s) ${running.map((s) => s.id).join(', ')}`,
    );
    for (const s of running) void s.restart('session_crashed', reason).then(() => this.notifyRestart(s.id, reason, undefined));
  }

  private notifyRestart(session: string, reason: string, except: Client | undefined): void {
    for (const c of this.clients)
      if (c !== except && c.sessions.has(session)) this.event(c, { event: 'session.restarted', session, reason });
  }

  private async execute(c: Client, r: Request<'cell.execute'>): Promise<unknown> {
    const s = this.sessions.get(r.session);
    c.sessions.add(s.id);
    const cell = r.cell ?? `anon-${s.cells.size + 1}`;
    // the session's count, which its every client numbers its cells by (two pages on one notebook took turns
    // giving the same numbers)
    // a page's hidden requests (model: false, as its network diagram's) are not counted, as Jupyter's silent ones
    const execution = r.model === false ? undefined : ++s.executions;
    // A cell left running by a window since closed (the session keeps it, see reap) holds this one back:
    // say so at once, or the cell would wait without a word
    const ahead = s.runningCell();
    if (ahead && ahead.owner instanceof Client && !this.clients.has(ahead.owner)) {
      const secs = Math.round((Date.now() - ahead.since) / 1000);
      this.event(
        c,
        {
          event: 'cell.stream',
          id: r.id,
          session: s.id,
          cell,
          stream: 'stderr',
          text:
            `nefsim: this session is still running a cell started ${secs} s ago from a window that has since closed; ` +
            'this cell runs when it ends. Interrupt the kernel to stop it.\n',
        },
        true,
      );
    }
    const out = await s
      .request(
        { op: 'execute', code: r.code, cell },
        (e) => {
          if (e.kind === 'stream')
            this.event(c, { event: 'cell.stream', id: r.id, session: s.id, cell, stream: e.stream, text: e.text }, true);
          else this.event(c, { event: 'cell.display', id: r.id, session: s.id, cell, data: e.data }, true);
        },
        c,
      )
      .catch((err: unknown) => {
        if (err instanceof ProtocolError && execution !== undefined)
          throw new ProtocolError(err.code, err.message, { ...err.details, execution });
        throw err;
      });
    if (r.model !== false) {
      // Keep the latest code of each model cell, in the order cells were first executed.
      s.cells.set(cell, r.code);
    }
    return { session: s.id, cell, ...(execution !== undefined ? { execution } : {}), ...out.result };
  }

  private async runStart(r: Request<'run.start'>): Promise<RunInfo> {
    if ((r.trials ?? 1) > 1 && r.sweep !== undefined)
      throw new ProtocolError('invalid_params', 'run.start: give trials or sweep, not both');
    if (r.jobs !== undefined && (r.trials ?? 1) <= 1 && r.sweep === undefined)
      throw new ProtocolError(
        'invalid_params',
        'run.start: jobs is how many trials run at once: give trials (more than 1) or sweep with it',
      );
    // trials take seeds seed, seed + 1, ...: `nefsim run` refuses seeds past 2^32 - 1 only once it has loaded
    // the model, which made a model_error (naming --seed) and a failed run in the list
    const trials = r.trials ?? 1;
    if (r.seed !== undefined && trials > 1 && r.seed + trials - 1 > 0xffffffff)
      throw new ProtocolError(
        'invalid_params',
        `run.start: seed ${r.seed} with ${trials} trials gives seeds ${r.seed} to ${r.seed + trials - 1}, past 4294967295 (2^32 - 1): give a seed of at most ${2 ** 32 - trials}`,
      );
    if ((r.session === undefined) === (r.file === undefined))
      throw new ProtocolError('invalid_params', 'run.start: give either session (its model cells) or file (a model module)');
    // a file's run has no model cells to pick: the list was ignored, and the file ran as if none was given
    if (r.cells !== undefined && r.session === undefined)
      throw new ProtocolError('invalid_params', "run.start: cells picks a session's model cells: give session with it (a file runs whole)");
    const dt = r.dt ?? 0.001;
    if (dt > r.duration) throw new ProtocolError('invalid_params', `run.start: dt (${dt}) is longer than duration (${r.duration})`);
    if (stepsIn(r.duration, dt) > MAX_RUN_STEPS)
      throw new ProtocolError('invalid_params', `run.start: duration / dt gives too many steps (${stepsIn(r.duration, dt)})`);
    let file: string;
    let label = r.label ?? '';
    if (r.session !== undefined) {
      const s = this.sessions.get(r.session);
      label = label || runLabel(s.label ?? '', 'session');
      let sources = [...s.cells.values()];
      if (r.cells !== undefined) {
        // the notebook's model cells as they are now: not a cell since deleted, in notebook order
        const missing = r.cells.filter((id) => !s.cells.has(id));
        if (missing.length > 0)
          throw new ProtocolError(
            'conflict',
            `run.start: the session has not run the model cell(s) ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}; run them first`,
            { missing },
          );
        sources = r.cells.map((id) => s.cells.get(id)!);
      }
      file = this.runs.writeSource(sources, API_NAMES, label, { sweep: r.sweep !== undefined });
    } else {
      file = r.file!;
      // the launch of a run from a file there deletes it (it cleans up after the session's run that file was written for)
      if (this.runs.isGenerated(file))
        throw new ProtocolError(
          'invalid_params',
          `run.start: file ${file} is a model the service wrote for a run of a session (in the runs folder's .sources); give a module of your own, or start the run from the session`,
        );
      label =
        label ||
        runLabel(
          file
            .split('/')
            .pop()!
            .replace(/\.[cm]?[jt]s$/, ''),
          'run',
        );
    }
    let sweepFile: string | undefined;
    let info: RunInfo;
    try {
      // inside: a sweep that cannot be written (nested too deep) left the session's module behind
      sweepFile = r.sweep !== undefined ? this.runs.writeSweep(r.sweep) : undefined;
      info = await this.runs.submit(file, {
        duration: r.duration,
        dt,
        seed: r.seed ?? null,
        label,
        ...(r.partitions !== undefined ? { partitions: r.partitions } : {}),
        ...(r.trials !== undefined ? { trials: r.trials } : {}),
        ...(sweepFile !== undefined ? { sweepFile } : {}),
        ...(r.jobs !== undefined ? { jobs: r.jobs } : {}),
        ...(r.executor !== undefined ? { executor: r.executor } : {}),
        ...(r.dtype !== undefined ? { dtype: r.dtype } : {}),
      });
    } catch (err) {
      this.runs.removeGenerated(sweepFile, r.session !== undefined ? file : undefined); // never queued: nothing uses them
      throw err;
    }
    if (info.state === 'failed') throw new ProtocolError('model_error', info.error ?? 'the run could not start', { run: info.run });
    return info;
  }

  private watch(c: Client, r: Request<'run.watch'>): Record<string, unknown> {
    const first = this.runs.status(r.run);
    if (isTerminal(first.state)) return { sub: null, status: first, final: true };
    // each watch polls the run's files four times a second: bounded per client
    if (c.subs.size >= MAX_WATCHES)
      throw new ProtocolError('limit', `this client watches ${c.subs.size} runs, the limit; unwatch some (run.unwatch)`, {
        maxWatches: MAX_WATCHES,
      });
    const sub = `w${++this.subCount}`;
    let last = JSON.stringify(first);
    const timer = setInterval(() => {
      let s: RunInfo;
      try {
        s = this.runs.status(r.run);
      } catch (err) {
        clearInterval(timer);
        c.subs.delete(sub);
        this.event(c, { event: 'run.progress', sub, run: r.run, final: true, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      const now = JSON.stringify(s);
      const final = isTerminal(s.state);
      if (now !== last || final) this.event(c, { event: 'run.progress', sub, run: r.run, status: s, final });
      last = now;
      if (final) {
        clearInterval(timer);
        c.subs.delete(sub);
      }
    }, 250);
    c.subs.set(sub, timer);
    return { sub, status: first, final: false };
  }

  /* ---------- probe data ---------- */

  private session(id: string | undefined): Session {
    if (id === undefined) throw new ProtocolError('invalid_params', 'give run, or session and sim');
    return this.sessions.get(id);
  }

  private async probeList(r: Request<'probe.list'>): Promise<unknown> {
    if (r.run !== undefined) return { run: r.run, probes: await listRunProbes(this.runs.folder(r.run)) };
    if (r.sim === undefined) throw new ProtocolError('invalid_params', 'probe.list: give run, or session and sim');
    return (await this.session(r.session).request({ op: 'probe.list', sim: r.sim })).result;
  }

  private async slice(r: SliceRequest): Promise<ProbeSlice> {
    if (r.t0 !== undefined && r.t1 !== undefined && r.t0 > r.t1)
      throw new ProtocolError('invalid_params', `t0 (${r.t0} s) is after t1 (${r.t1} s)`);
    if (r.columns && r.columns[0] >= r.columns[1])
      throw new ProtocolError('invalid_params', `columns [${r.columns[0]}, ${r.columns[1]}) is empty: give [from, to) with from < to`);
    const d = await this.sliceOf(r);
    if (r.columns && r.columns[1] > d.totalCols)
      throw new ProtocolError('invalid_params', `columns [${r.columns[0]}, ${r.columns[1]}) go past the probe's ${d.totalCols} columns`);
    // (a run still going gets there later: an empty reply is right for it)
    const ended = r.run === undefined || isTerminal(this.runs.status(r.run).state);
    // the last sample's time as read (totalRows * sample_every is not it where sample_every is under dt, or
    // not a whole number of steps: a window between two samples after that estimate was refused)
    const last = d.tLast ?? d.totalRows * d.dt;
    if (ended && r.t0 !== undefined && d.rows === 0 && d.totalRows > 0 && r.t0 > last * (1 + 1e-9))
      throw new ProtocolError('invalid_params', `t0 (${r.t0} s) is after the probe's last sample (${+last.toPrecision(12)} s)`);
    return d;
  }

  private async sliceOf(r: SliceRequest): Promise<ProbeSlice> {
    if (r.run !== undefined) {
      if (r.session !== undefined || r.sim !== undefined)
        throw new ProtocolError('invalid_params', 'give either run, or session and sim, not both');
      return readRunProbe(this.runs.folder(r.run), r.probe, r.t0, r.t1, r.columns);
    }
    if (r.sim === undefined) throw new ProtocolError('invalid_params', 'give run, or session and sim');
    const out = await this.session(r.session).request({
      op: 'probe.data',
      sim: r.sim,
      probe: r.probe,
      t0: r.t0,
      t1: r.t1,
      columns: r.columns,
    });
    const res = out.result as {
      rows: number;
      cols: number;
      totalRows: number;
      totalCols: number;
      dt: number;
      label: string | null;
      tLast?: number;
      irregular?: boolean;
      attr?: string;
    };
    return {
      t: out.arrays!.t!,
      y: out.arrays!.y!,
      rows: res.rows,
      cols: res.cols,
      totalRows: res.totalRows,
      totalCols: res.totalCols,
      dt: res.dt,
      label: res.label ?? '',
      ...(res.tLast !== undefined ? { tLast: res.tLast } : {}),
      ...(res.irregular ? { irregular: true } : {}),
      ...(res.attr !== undefined ? { attr: res.attr } : {}),
    };
  }

  private async probeFetch(c: Client, r: Request<'probe.fetch'>): Promise<unknown> {
    const maxPoints = r.maxPoints ?? 2000;
    const mode = r.mode ?? 'minmax';
    const d = await this.slice(r);
    const base = {
      probe: r.probe,
      rows: d.rows,
      cols: d.cols,
      totalRows: d.totalRows,
      totalCols: d.totalCols,
      sampleEvery: d.dt,
      t0: d.rows ? d.t[0] : null,
      t1: d.rows ? d.t[d.rows - 1] : null,
    };
    if (mode === 'raw' || d.rows <= maxPoints / 2) {
      if (d.rows * d.cols > this.opts.maxRawValues) {
        throw new ProtocolError(
          'limit',
          `raw data of ${d.rows} x ${d.cols} values is more than ${this.opts.maxRawValues}; ask for a time range or columns, or use mode 'minmax'`,
        );
      }
      const arrays = this.sendArrays(c, r.id, [
        ['t', d.t, [d.rows]],
        ['y', d.y, [d.rows, d.cols]],
      ]);
      return { ...base, mode: 'raw', arrays };
    }
    const mm = post.minMaxDecimate(d.t, d.y, d.rows, d.cols, Math.floor(maxPoints / 2));
    const arrays = this.sendArrays(c, r.id, [
      ['tStart', mm.tStart, [mm.buckets]],
      ['tEnd', mm.tEnd, [mm.buckets]],
      ['min', mm.min, [mm.buckets, mm.cols]],
      ['max', mm.max, [mm.buckets, mm.cols]],
    ]);
    return { ...base, mode: 'minmax', buckets: mm.buckets, arrays };
  }

  private async rates(c: Client, r: Request<'post.rates'>): Promise<unknown> {
    const d = await this.slice(r);
    neuronOutput('post.rates', r.probe, d);
    if (d.rows * d.cols > 50_000_000)
      throw new ProtocolError('limit', `${d.rows} x ${d.cols} samples is too many at once; ask for a time range or columns`);
    const mean = post.meanRates(d.y, d.rows, d.cols);
    // filtered at the samples' spacing: sample_every when they are at its multiples; else (a sample_every under
    // dt samples every step, one not a whole number of steps every 2 or 3) their mean spacing (a sample_every
    // of half a step filtered every step as half a step: the rates rose and fell at half their pace)
    const spacing = d.irregular && d.rows > 1 ? (d.t[d.rows - 1]! - d.t[0]!) / (d.rows - 1) : d.dt;
    const filtered = post.filteredRates(d.y, d.rows, d.cols, spacing, r.tau ?? 0.05, r.filter ?? 'lowpass');
    const maxPoints = r.maxPoints ?? 2000;
    const mm = post.minMaxDecimate(d.t, filtered, d.rows, d.cols, Math.max(1, Math.floor(maxPoints / 2)));
    const arrays = this.sendArrays(c, r.id, [
      ['tStart', mm.tStart, [mm.buckets]],
      ['tEnd', mm.tEnd, [mm.buckets]],
      ['min', mm.min, [mm.buckets, mm.cols]],
      ['max', mm.max, [mm.buckets, mm.cols]],
    ]);
    return {
      probe: r.probe,
      rows: d.rows,
      cols: d.cols,
      tau: r.tau ?? 0.05,
      filter: r.filter ?? 'lowpass',
      meanRates: Array.from(mean),
      buckets: mm.buckets,
      arrays,
    };
  }

  private async spikes(c: Client, r: Request<'post.spikes'>): Promise<unknown> {
    const twice = r.neurons.find((n, i) => r.neurons.indexOf(n) !== i);
    if (twice !== undefined) throw new ProtocolError('invalid_params', `neuron ${twice} is asked for twice`);
    // only the columns that span the neurons asked for (all of them made a raster of two neurons of a
    // large probe too large a dense view)
    const lo = Math.min(...r.neurons),
      hi = Math.max(...r.neurons) + 1;
    let d: ProbeSlice;
    try {
      d = await this.slice(r.neurons.length > 0 ? { ...r, columns: [lo, hi] } : r);
    } catch (err) {
      const past = err instanceof ProtocolError && /go past the probe's (\d+) columns/.exec(err.message);
      if (past) throw new ProtocolError('invalid_params', `neuron ${hi - 1} is not in [0, ${past[1]})`);
      throw err;
    }
    neuronOutput('post.spikes', r.probe, d);
    const rel = r.neurons.map((n) => n - lo);
    // The reply's size is the spikes' number, bounded like raw data (a probe that is not spikes has one per sample).
    let count = 0;
    for (const n of rel) for (let i = 0; i < d.rows; i++) if (d.y[i * d.cols + n] !== 0) count++;
    if (count > this.opts.maxRawValues)
      throw new ProtocolError(
        'limit',
        `${count} spikes are more than ${this.opts.maxRawValues} in one reply; ask for a time range or fewer neurons`,
        { maxRawValues: this.opts.maxRawValues },
      );
    const times = post.spikeTimes(d.t, d.y, d.rows, d.cols, rel);
    const arrays = this.sendArrays(
      c,
      r.id,
      times.map((t, i) => [`n${r.neurons[i]}`, t, [t.length]] as [string, TypedArray, number[]]),
    );
    return { probe: r.probe, neurons: r.neurons, counts: times.map((t) => t.length), arrays };
  }

  private async rmse(r: Request<'post.rmse'>): Promise<unknown> {
    // For a run, a session given alongside only evaluates the target function.
    const src = r.run !== undefined ? { run: r.run, probe: r.probe } : { session: r.session, sim: r.sim, probe: r.probe };
    const d = await this.slice(src);
    // (no samples: a target function gave "0 values per time", a target probe "from (undefined s) leaves no samples")
    if (d.rows === 0) {
      const going = r.run !== undefined && !isTerminal(this.runs.status(r.run).state);
      throw new ProtocolError(
        'invalid_params',
        `probe '${r.probe}' has no samples to compare${going ? ' yet (the run has written none)' : ''}`,
      );
    }
    let target: Float64Array;
    if ('probe' in r.target) {
      const td = await this.slice({ ...src, probe: r.target.probe });
      if (td.rows !== d.rows || td.cols !== d.cols)
        throw new ProtocolError(
          'invalid_params',
          `target probe '${r.target.probe}' has ${td.rows} x ${td.cols} samples, probe '${r.probe}' ${d.rows} x ${d.cols}: give a target of the probe's shape`,
        );
      target = td.y;
    } else {
      if (r.session === undefined) throw new ProtocolError('invalid_params', 'a target function is evaluated in a session: give session');
      const out = await this.session(r.session).request({ op: 'target', fn: r.target.fn, t: d.t.slice() });
      const cols = (out.result as { cols: number }).cols;
      if (cols !== d.cols)
        throw new ProtocolError('invalid_params', `the target function gives ${cols} values per time, the probe has ${d.cols}`);
      target = out.arrays!.target!;
    }
    const from = r.from === undefined ? 0 : post.timeRange(d.t, r.from, Infinity)[0];
    // an RMSE of nothing, or of a target that is not a number, is refused (it was ok with overall null)
    if (from >= d.rows)
      throw new ProtocolError('invalid_params', `from (${r.from} s) leaves no samples: the window ends at ${d.t[d.rows - 1] ?? 0} s`);
    const bad = target.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new ProtocolError(
        'invalid_params',
        `the target is not a finite number at t = ${d.t[Math.floor(bad / d.cols)]} s (column ${bad % d.cols}): ${target[bad]}`,
      );
    // (a NaN or infinite sample, a simulation that diverged, gave overall null with no word of why)
    const worse = d.y.findIndex((v, k) => k >= from * d.cols && !Number.isFinite(v));
    if (worse >= 0)
      throw new ProtocolError(
        'invalid_params',
        `probe '${r.probe}' is not a finite number at t = ${d.t[Math.floor(worse / d.cols)]} s (column ${worse % d.cols}): ${d.y[worse]}`,
      );
    return { probe: r.probe, ...post.rmse(d.y, target, d.rows, d.cols, from) };
  }

  private async tuning(c: Client, r: Request<'post.tuning'>): Promise<unknown> {
    let run: { file: string; seed: number | null; dt: number; params: Record<string, unknown> } | undefined;
    if (r.run !== undefined) {
      const dir = this.runs.folder(r.run);
      const o = JSON.parse(readFileSync(join(dir, 'options.json'), 'utf8')) as { seed?: unknown; dt?: unknown; params?: unknown };
      run = {
        file: join(dir, 'model.mjs'),
        seed: typeof o.seed === 'number' ? o.seed : null,
        dt: typeof o.dt === 'number' ? o.dt : 0.001,
        // a sweep's trial: its model is built with its parameters
        params: typeof o.params === 'object' && o.params !== null && !Array.isArray(o.params) ? (o.params as Record<string, unknown>) : {},
      };
    }
    const out = await this.session(r.session).request({
      op: 'tuning',
      ensemble: r.ensemble,
      points: r.points ?? 101,
      maxValues: this.opts.maxRawValues,
      sim: r.sim,
      ...(run ? { run } : {}),
    });
    const res = out.result as { points: number; neurons: number };
    const arrays = this.sendArrays(c, r.id, [
      ['x', out.arrays!.x!, [res.points]],
      ['rates', out.arrays!.rates!, [res.points, res.neurons]],
    ]);
    return { ...res, ...out.result, arrays };
  }
}

/** Attributes whose samples are never spikes or rates (a node's output, or neurons' or a connection's, may be). */
const NOT_RATES = new Set(['decodedOutput', 'voltage', 'refractoryTime', 'adaptation', 'recovery', 'scaledEncoders', 'weights']);

/**
 * Refuses a probe of an attribute that holds no spikes or rates (an ensemble's decoded value, a voltage): the mean
 * of a decoded value was answered as a firing rate, and each of its non-zero samples as a spike.
 */
function neuronOutput(type: 'post.rates' | 'post.spikes', probe: string, d: ProbeSlice): void {
  if (d.attr === undefined || !NOT_RATES.has(d.attr)) return;
  throw new ProtocolError(
    'invalid_params',
    `probe '${probe}' records ${d.attr}, not spikes or rates: ${type} takes a probe of neurons' output (net.probe(ensemble.neurons))`,
  );
}

/** JSON text of a message; BigInts become strings; undefined if it cannot be serialised (cycles). */
function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return undefined;
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Hints for the file system's errors a user can do something about. */
const FS_HINTS: Partial<Record<string, string>> = {
  ENOSPC: "the service's disk is full: free space (old runs: Delete in the Runs panel) and try again",
  EDQUOT: 'a disk quota is exceeded: free space and try again',
  EROFS: 'the file system is read-only',
  EACCES: 'the service may not write there',
  EMFILE: 'the service has too many files open',
};

/** The system calls of node:fs whose failures are the file system's (not, say, kill's EPERM or spawn's ENOENT). */
const FS_SYSCALLS = new Set([
  'open',
  'read',
  'write',
  'close',
  'fsync',
  'fdatasync',
  'ftruncate',
  'rename',
  'mkdir',
  'mkdtemp',
  'rmdir',
  'rm',
  'unlink',
  'stat',
  'lstat',
  'fstat',
  'scandir',
  'opendir',
  'copyfile',
  'link',
  'symlink',
  'readlink',
  'access',
  'chmod',
  'chown',
  'utime',
  'futime',
  'realpath',
]);

/** A failure of the file system (a full disk, a quota, permissions), as a reply that says so rather than 'internal'. */
export function fileSystemError(err: unknown): ErrorBody | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code) || typeof syscall !== 'string' || !FS_SYSCALLS.has(syscall)) return undefined;
  const hint = FS_HINTS[code];
  return { code: 'io_error', message: hint ? `${err.message} (${hint})` : err.message, details: { errno: code, syscall } };
}
