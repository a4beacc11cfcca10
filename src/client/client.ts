/**
 * A WebSocket client for the nefsim service: request/reply by id, events,
 * binary arrays gathered per request, and reconnection with exponential
 * backoff. It depends on nothing from JupyterLab at runtime (the socket
 * factory and timers are injected), so it is unit tested in Node.
 */
import { Signal, type ISignal } from '@lumino/signaling';
import {
  PROTOCOL_VERSION,
  decodeArrayFrame,
  isEvent,
  isReply,
  type ErrorBody,
  type EventMessage,
  type NamedArray,
  type RequestId,
} from './protocol.js';

/** What the client needs of a WebSocket (the browser's, or a fake in tests). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'stopped';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Human-readable reason or detail ("service not reachable (code 1006)", "protocol v2 not supported", ...). */
  detail: string;
  /** Failed attempts since the last successful connection. */
  attempt: number;
  /** When disconnected: milliseconds until the next attempt. */
  retryInMs?: number;
  /** The hello reply's result, once connected. */
  server?: Record<string, unknown>;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: random spread added to each delay. */
  jitter: number;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClientOptions {
  /** The WebSocket URL, computed at each attempt (settings may change). */
  url: () => string;
  createSocket: SocketFactory;
  backoff?: Partial<BackoffOptions>;
  /** Default timeout of a request, ms (0: none). */
  requestTimeoutMs?: number;
  timers?: Timers;
  random?: () => number;
  clientName?: string;
  /**
   * Whether the service answers plain HTTP at the socket's address. Asked
   * when a socket could not be opened (code 1006, which browsers give for
   * every refusal), to tell a refused connection (wrong token, origin not
   * allowed) from a service that is not running.
   */
  probe?: (socketUrl: string) => Promise<boolean>;
}

export interface Reply<T = unknown> {
  type: string;
  result: T;
  arrays: NamedArray[];
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Called for every event carrying this request's id (streamed output, progress). */
  onEvent?: (event: EventMessage) => void;
  /** Wait for the connection instead of failing at once when disconnected. */
  waitForConnection?: boolean;
}

/** A failed reply, or a request that could not complete. */
export class ServiceError extends Error {
  readonly code: string;
  readonly details?: Record<string, unknown>;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.details = details;
  }
  static from(body: ErrorBody): ServiceError {
    return new ServiceError(body.code, body.message, body.details);
  }
}

interface Pending {
  id: RequestId;
  type: string;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
  arrays: NamedArray[];
  timer?: unknown;
  onEvent?: (event: EventMessage) => void;
  /** Arrays announced by the reply that have not arrived yet. */
  reply?: { type: string; result: unknown; expected: number };
}

const OPEN = 1;

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before attempt n (1-based) of reconnection. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(opts.maxMs, opts.initialMs * Math.pow(opts.factor, Math.max(0, attempt - 1)));
  return Math.round(base * (1 + opts.jitter * random()));
}

/** How many binary arrays a reply announces (`result.arrays`: names or a count). */
export function expectedArrays(result: unknown): number {
  if (typeof result !== 'object' || result === null) return 0;
  const a = (result as Record<string, unknown>).arrays;
  if (Array.isArray(a)) return a.length;
  if (typeof a === 'number' && Number.isInteger(a) && a >= 0) return a;
  return 0;
}

export class NefsimClient {
  private readonly opts: ClientOptions;
  private readonly backoff: BackoffOptions;
  private readonly timers: Timers;
  private socket: SocketLike | null = null;
  private pending = new Map<RequestId, Pending>();
  private nextId = 1;
  private retryTimer: unknown = null;
  private _status: ConnectionStatus = { state: 'idle', detail: 'not connected yet', attempt: 0 };
  private readonly _statusChanged = new Signal<this, ConnectionStatus>(this);
  private readonly _event = new Signal<this, EventMessage>(this);
  private readonly _connected = new Signal<this, void>(this);
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private disposed = false;

  constructor(options: ClientOptions) {
    this.opts = options;
    this.backoff = { ...DEFAULT_BACKOFF, ...(options.backoff ?? {}) };
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
    };
  }

  get status(): ConnectionStatus {
    return this._status;
  }
  /** Emitted whenever the connection state or its detail changes. */
  get statusChanged(): ISignal<this, ConnectionStatus> {
    return this._statusChanged;
  }
  /** Every event from the service (also those routed to a request's onEvent). */
  get event(): ISignal<this, EventMessage> {
    return this._event;
  }
  /** Emitted after each successful (re)connection and hello. */
  get connected(): ISignal<this, void> {
    return this._connected;
  }
  get isConnected(): boolean {
    return this._status.state === 'connected';
  }

  /** Starts connecting (again, at once, if disconnected or stopped). */
  connect(): void {
    if (this.disposed) return;
    if (this.retryTimer !== null) {
      this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (this.socket && (this._status.state === 'connecting' || this._status.state === 'connected')) return;
    this.open();
  }

  /**
   * Drops the connection and connects again at once, to the URL and token as
   * they are now (the service settings changed); pending requests fail.
   */
  reconnectNow(reason: string): void {
    if (this.disposed) return;
    this.failAll(new ServiceError('disconnected', reason));
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close(1000, reason);
    }
    this.setStatus({ state: 'idle', detail: reason, attempt: 0 });
    this.connect();
  }

  /** Closes the socket and stops reconnecting. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.failAll(new ServiceError('disconnected', 'the client was closed'));
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.close(1000, 'client closed');
    }
    this.setStatus({ state: 'stopped', detail: 'closed', attempt: 0 });
    Signal.clearData(this);
  }

  /** Resolves when connected (rejects if the client is stopped or disposed). */
  whenConnected(): Promise<void> {
    if (this.isConnected) return Promise.resolve();
    if (this.disposed) return Promise.reject(new ServiceError('disconnected', 'the client was closed'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Sends a request and resolves with its reply (rejects with ServiceError on a failed reply). */
  async request<T = unknown>(type: string, params: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<Reply<T>> {
    if (!this.isConnected) {
      if (options.waitForConnection) {
        this.connect();
        await this.whenConnected();
      } else {
        throw new ServiceError('disconnected', `the nefsim service is not connected: ${this._status.detail}`);
      }
    }
    return this.send<T>(type, params, options);
  }

  private send<T>(type: string, params: Record<string, unknown>, options: RequestOptions): Promise<Reply<T>> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      return Promise.reject(new ServiceError('disconnected', 'the nefsim service is not connected'));
    }
    const id = this.nextId++;
    return new Promise<Reply<T>>((resolve, reject) => {
      const p: Pending = {
        id,
        type,
        resolve: resolve as (r: Reply) => void,
        reject,
        arrays: [],
        onEvent: options.onEvent,
      };
      const timeout = options.timeoutMs ?? this.opts.requestTimeoutMs ?? 0;
      if (timeout > 0) {
        p.timer = this.timers.setTimeout(() => {
          if (this.pending.get(id) === p) {
            this.pending.delete(id);
            reject(new ServiceError('timeout', `${type}: no reply within ${Math.round(timeout / 1000)} s`));
          }
        }, timeout);
      }
      this.pending.set(id, p);
      try {
        socket.send(JSON.stringify({ ...params, v: PROTOCOL_VERSION, id, type }));
      } catch (err) {
        this.pending.delete(id);
        if (p.timer !== undefined) this.timers.clearTimeout(p.timer);
        reject(new ServiceError('disconnected', `could not send ${type}: ${String(err)}`));
      }
    });
  }

  private open(): void {
    let url: string;
    try {
      url = this.opts.url();
    } catch (err) {
      this.setStatus({ state: 'stopped', detail: `no service URL: ${String(err)}`, attempt: this._status.attempt });
      return;
    }
    this.setStatus({ state: 'connecting', detail: `connecting to ${redact(url)}`, attempt: this._status.attempt });
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(url);
    } catch (err) {
      this.scheduleRetry(`could not open a WebSocket: ${String(err)}`);
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      if (this.socket !== socket) return;
      void this.handshake(socket);
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      this.onMessage(ev.data);
    };
    socket.onerror = () => {
      // The close event follows with the code; nothing to do here.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const wasConnected = this._status.state === 'connected';
      const why = closeReason(ev.code, ev.reason, wasConnected);
      this.failAll(new ServiceError('disconnected', `connection to the nefsim service lost: ${why}`));
      if (ev.code === 4000 + 426 || ev.code === 1008) {
        // Version refused or policy violation (bad token/origin): retrying will not help at once,
        // but the service may be restarted with another token by the proxy: retry slowly.
        this.scheduleRetry(why, true);
      } else {
        this.scheduleRetry(why);
        if (ev.code === 1006 && !wasConnected) this.explainRefusal(url);
      }
    };
  }

  /**
   * The socket could not be opened: if the service answers HTTP all the same,
   * it refused the connection, and the status says so (while the retry
   * waits) instead of "not reachable".
   */
  private explainRefusal(url: string): void {
    const probe = this.opts.probe;
    if (!probe) return;
    const status = this._status;
    probe(url).then(
      (answers) => {
        if (!answers || this.disposed || this._status !== status) return;
        this.setStatus({
          ...status,
          detail:
            `the service at ${redact(url)} is running but refused the connection: ` +
            "check the service token in nefsim's settings, and that the service allows this page's origin (nefsim serve --allow-origin); " +
            'if it is not a nefsim service, check the URL',
        });
      },
      () => undefined,
    );
  }

  private async handshake(socket: SocketLike): Promise<void> {
    try {
      const reply = await this.send<Record<string, unknown>>(
        'hello',
        { client: this.opts.clientName ?? 'jupyterlab-nefsim', versions: [PROTOCOL_VERSION] },
        { timeoutMs: 10_000 },
      );
      if (this.socket !== socket) return;
      const server = typeof reply.result === 'object' && reply.result !== null ? reply.result : {};
      const version = typeof server.version === 'string' ? ` ${server.version}` : '';
      this.setStatus({ state: 'connected', detail: `connected to nefsim${version}`, attempt: 0, server });
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((w) => w.resolve());
      this._connected.emit();
    } catch (err) {
      if (this.socket !== socket) return;
      const code = err instanceof ServiceError ? err.code : 'internal';
      const message = err instanceof Error ? err.message : String(err);
      if (code === 'bad_version') {
        this.socket = null;
        socket.onclose = null;
        socket.close(1000, 'version');
        this.setStatus({ state: 'stopped', detail: `the service does not speak protocol v${PROTOCOL_VERSION}: ${message}`, attempt: 0 });
        this.rejectWaiters(new ServiceError(code, message));
        return;
      }
      socket.close(4000, 'hello failed');
    }
  }

  private scheduleRetry(why: string, slow = false): void {
    if (this.disposed) return;
    const attempt = this._status.attempt + 1;
    const delay = backoffDelay(slow ? Math.max(attempt, 5) : attempt, this.backoff, this.opts.random);
    this.setStatus({ state: 'disconnected', detail: why, attempt, retryInMs: delay });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
  }

  private onMessage(data: unknown): void {
    if (typeof data === 'string') {
      let msg: unknown;
      try {
        msg = JSON.parse(data);
      } catch {
        return;
      }
      if (isReply(msg)) {
        const p = this.pending.get(msg.id);
        if (!p) return;
        if (!msg.ok) {
          this.finish(p);
          p.reject(msg.error ? ServiceError.from(msg.error) : new ServiceError('internal', `${p.type} failed`));
          return;
        }
        const expected = expectedArrays(msg.result);
        if (p.arrays.length >= expected) {
          this.finish(p);
          p.resolve({ type: msg.type, result: msg.result, arrays: p.arrays });
        } else {
          p.reply = { type: msg.type, result: msg.result, expected };
        }
        return;
      }
      if (isEvent(msg)) {
        if (msg.id !== undefined) this.pending.get(msg.id)?.onEvent?.(msg);
        this._event.emit(msg);
      }
      return;
    }
    let bytes: Uint8Array | null = null;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (data instanceof Uint8Array) bytes = data;
    if (!bytes) return;
    let arr: NamedArray;
    try {
      arr = decodeArrayFrame(bytes);
    } catch {
      return;
    }
    const p = this.pending.get(arr.header.id);
    if (!p) return;
    p.arrays.push(arr);
    if (p.reply && p.arrays.length >= p.reply.expected) {
      this.finish(p);
      p.resolve({ type: p.reply.type, result: p.reply.result, arrays: p.arrays });
    }
  }

  private finish(p: Pending): void {
    this.pending.delete(p.id);
    if (p.timer !== undefined) this.timers.clearTimeout(p.timer);
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (p.timer !== undefined) this.timers.clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w.reject(err));
  }

  private setStatus(s: ConnectionStatus): void {
    this._status = s;
    this._statusChanged.emit(s);
    if (s.state === 'stopped') this.rejectWaiters(new ServiceError('disconnected', s.detail));
  }
}

/** Says why a socket closed, in words a user understands. */
export function closeReason(code: number, reason: string, wasConnected: boolean): string {
  const r = reason ? `: ${reason}` : '';
  switch (code) {
    case 1000:
      return `closed by the service${r}`;
    case 1001:
      return `the service is shutting down${r}`;
    case 1005:
      return `the connection closed without a status (the service stopped or restarted, or the proxy closed it)`;
    case 1006:
      return wasConnected
        ? 'the connection dropped (service stopped or network lost)'
        : 'service not reachable (not running, or the proxy could not start it)';
    case 1008:
      return `refused by the service (token or origin)${r}`;
    case 1009:
      // (it read 'closed with code 1009'): a request larger than the service's --max-payload, a cell's code say
      return `a message was larger than the service accepts (its --max-payload)${r}`;
    case 1011:
      return `the service hit an internal error${r}`;
    case 1013:
      return `the service is overloaded, try again later${r}`;
    default:
      return `closed with code ${code}${r}`;
  }
}

function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1…');
}
