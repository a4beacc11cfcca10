/**
 * Design sessions in child processes. A session is one process (its
 * "worker"); interrupting or resetting it kills the process and starts a
 * fresh one (the only way to stop a synchronous endless loop), while every
 * other session and the service's own event loop go on. Each session's heap
 * is capped (--max-old-space-size); a session that dies (out of memory,
 * process.exit) is restarted and its pending requests fail with
 * session_crashed.
 *
 * They were worker threads until 2026-11-25: V8 ends the whole process when
 * a worker runs out of heap in one large allocation (a growing array of
 * numbers, `new Array(3e7).fill(0)`, a long string as a cell's value), or
 * while its isolate is torn down in the middle of incremental marking
 * (nodejs/node#47224): one cell took every session of every client with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SESSION_SEMI_SPACE_MB } from '../engine/node-flags.js';
import { ProtocolError, type ErrorBody } from './protocol.js';
import { SESSION_INIT_ENV, type FromWorker, type ToWorker, type WorkerArrays, type WorkerInit } from './worker-protocol.js';

/** The session processes alive now (their memory counts as the service's: Service.guardMemory). */
const liveSessions = new Set<ChildProcess>();

/** Resident memory of a process from /proc (bytes), 0 when it cannot be read (gone, not Linux). */
function residentBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The service's resident memory with its sessions' processes, bytes. */
export function serviceRss(): number {
  let total = process.memoryUsage.rss();
  for (const p of liveSessions) if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) total += residentBytes(p.pid);
  return total;
}

/** What V8 says on stderr as it ends a process out of memory (then a stack trace of its own). */
const V8_OOM = /FATAL ERROR: .*(heap out of memory|Allocation failed)|Fatal JavaScript invalid size error|<--- Last few GCs --->/;

export interface SessionOptions {
  /** Heap cap of a session worker, MB. */
  memoryMb: number;
  budgetSeconds: number;
  maxSims: number;
}

export interface WorkerResult {
  result: Record<string, unknown>;
  arrays: WorkerArrays | undefined;
}

/** Events a session's request produces before its reply. */
export type SessionEvent =
  { kind: 'stream'; stream: 'stdout' | 'stderr'; text: string } | { kind: 'display'; data: Record<string, unknown> };

interface Pending {
  resolve: (r: WorkerResult) => void;
  reject: (e: ProtocolError) => void;
  onEvent: ((e: SessionEvent) => void) | undefined;
  /** A liveness ping (see responsive), which does not make the session busy. */
  ping: boolean;
  /** For a cell: who asked (the service's client), which cell, and when. */
  cell?: { owner: unknown; id: string; since: number };
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type WorkerRequest = DistributiveOmit<ToWorker, 'rid'>;

const WORKER_FILE = fileURLToPath(new URL('./session-worker.js', import.meta.url));
/** Pieces of output after a cell ended (a timer's) passed on to the service's log, until the next cell starts. */
const MAX_LATE_OUTPUTS = 20;

export class Session {
  private worker!: ChildProcess;
  private ready!: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextRid = 1;
  /** rid of the request the worker is executing (for output written outside the cell's console). */
  private activeRid = 0;
  /** The service's resident memory when the cell being executed started, bytes (see Service.guardMemory). */
  cellStartRss = 0;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  /** Model cells executed without error, by cell id, in first-execution order (for run.start). */
  readonly cells = new Map<string, string>();
  restarts = 0;
  /** Cells executed since the session opened or was reset (the notebook's execution count, kept across page reloads). */
  executions = 0;
  private failedStarts = 0;
  lastUsed = Date.now();
  closed = false;
  /** Called when the worker died by itself and was restarted. */
  onRestart: ((reason: string) => void) | undefined;
  /** Output of the worker after the cell that made it ended (the service logs it). */
  onLateOutput: ((stream: 'stdout' | 'stderr', text: string) => void) | undefined;
  /** Called once a cell's late output passed MAX_LATE_OUTPUTS: the rest, until the next cell, is not passed on. */
  onLateOutputCapped: (() => void) | undefined;
  /** Late outputs (see onLateOutput) since the latest cell started. */
  private lateOutputs = 0;

  constructor(
    /** Its name on the service; changes with session.rename (a renamed notebook). */
    public id: string,
    public label: string | undefined,
    private readonly opts: SessionOptions,
  ) {
    this.start();
  }

  private start(): void {
    const init: WorkerInit = {
      session: this.id,
      budgetSeconds: this.opts.budgetSeconds,
      maxSims: this.opts.maxSims,
      memoryMb: this.opts.memoryMb,
    };
    const worker = fork(WORKER_FILE, [], {
      execArgv: [
        `--max-old-space-size=${this.opts.memoryMb}`,
        `--max-semi-space-size=${SESSION_SEMI_SPACE_MB}`,
        '--stack-size=3900', // KB, as the worker threads' 4 MB stack (the process's own is 8 MB)
        // Dynamic import() in cells uses vm's USE_MAIN_CONTEXT_DEFAULT_LOADER, experimental in Node 20-22: no warning in every cell's stderr.
        ...(process.allowedNodeEnvironmentFlags.has('--disable-warning') ? ['--disable-warning=ExperimentalWarning'] : []),
      ],
      env: { ...process.env, [SESSION_INIT_ENV]: JSON.stringify(init) },
      serialization: 'advanced', // typed arrays cross as typed arrays
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    liveSessions.add(worker);
    this.worker = worker;
    this.stopping = false;
    let readyResolve!: () => void;
    this.ready = new Promise<void>((r) => (readyResolve = r));
    let oom = false;
    // Output written outside the cell's console (e.g. by the engine) goes to the request being executed; what
    // V8 writes as it ends the process out of memory (a native stack trace) goes to the service's log only.
    const forward = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stream === 'stderr' && (oom || V8_OOM.test(text))) {
        oom = true;
        this.onLateOutput?.('stderr', text);
        return;
      }
      const p = this.pending.get(this.activeRid);
      p?.onEvent?.({ kind: 'stream', stream, text });
    };
    worker.stdout!.on('data', forward('stdout'));
    worker.stderr!.on('data', forward('stderr'));
    worker.on('message', (msg: FromWorker) => {
      if (worker !== this.worker) return;
      if (msg.kind === 'ready') {
        started = true;
        this.failedStarts = 0;
        return readyResolve();
      }
      const p = this.pending.get(msg.rid);
      if (!p) {
        // output after its cell ended (a timer's throw, a late rejection): said in the service log, not lost
        // (a timer printing on, every tick of it, was a line of the service's log, up to the worker's 2 MB of a
        // cell's output: a third of a million lines)
        if (msg.kind === 'stream') {
          if (++this.lateOutputs <= MAX_LATE_OUTPUTS) this.onLateOutput?.(msg.stream, msg.text);
          else if (this.lateOutputs === MAX_LATE_OUTPUTS + 1) this.onLateOutputCapped?.();
        }
        return;
      }
      if (msg.kind === 'stream') p.onEvent?.({ kind: 'stream', stream: msg.stream, text: msg.text });
      else if (msg.kind === 'display') p.onEvent?.({ kind: 'display', data: msg.data });
      else {
        this.pending.delete(msg.rid);
        if (msg.ok) p.resolve({ result: msg.result, arrays: msg.arrays });
        else p.reject(new ProtocolError(msg.error.code, msg.error.message, msg.error.details));
      }
    });
    worker.on('error', () => {
      // a message that could not be sent (the process gone): its exit says the rest
    });
    let started = false;
    worker.on('exit', (exitCode, signal) => {
      liveSessions.delete(worker);
      exited(worker);
      const code = exitCode ?? signal;
      if (worker !== this.worker || this.stopping || this.closed) return;
      if (!started && ++this.failedStarts >= 3) {
        // A worker that cannot even start (a broken install): stop trying.
        this.closed = true;
        this.failPending('internal', `the session's worker cannot start (exit code ${code}); see the service log`);
        return;
      }
      // The worker died by itself: out of memory, process.exit() in a cell, a crash.
      const reason = oom
        ? `the session ran out of memory (cap ${this.opts.memoryMb} MB) and was restarted; its variables are gone`
        : `the session's worker exited (code ${code}) and was restarted; its variables are gone`;
      this.failPending('session_crashed', reason);
      this.restarts++;
      this.start();
      this.onRestart?.(reason);
    });
  }

  private failPending(code: ErrorBody['code'], message: string): void {
    for (const p of this.pending.values()) p.reject(new ProtocolError(code, message, { session: this.id }));
    this.pending.clear();
  }

  /** Sends a request to the worker; resolves with its result, rejects with a ProtocolError. */
  /** The cell the worker runs now (the oldest pending), with who asked for it and since when. */
  runningCell(): { owner: unknown; id: string; since: number } | undefined {
    for (const p of this.pending.values()) if (p.cell) return p.cell;
    return undefined;
  }

  async request(msg: WorkerRequest, onEvent?: (e: SessionEvent) => void, owner?: unknown): Promise<WorkerResult> {
    if (this.closed) throw new ProtocolError('not_found', `session '${this.id}' is closed`);
    this.lastUsed = Date.now();
    const rid = this.nextRid++;
    // Registered before the worker is ready, so that a worker that dies while starting fails the request too.
    return new Promise<WorkerResult>((resolve, reject) => {
      this.pending.set(rid, {
        resolve: (r) => {
          if (this.activeRid === rid) this.activeRid = 0;
          this.lastUsed = Date.now();
          resolve(r);
        },
        reject: (e) => {
          if (this.activeRid === rid) this.activeRid = 0;
          this.lastUsed = Date.now();
          reject(e);
        },
        onEvent,
        ping: msg.op === 'ping',
        ...(msg.op === 'execute' ? { cell: { owner, id: msg.cell ?? '', since: Date.now() } } : {}),
      });
      void (async () => {
        // a request that comes while the worker restarts (an interrupt, a reset, the memory guard) goes to
        // the new worker: posted to the old one, it would be lost with it and never answered
        while (this.restarting) await this.restarting.catch(() => undefined);
        const worker = this.worker;
        await this.ready;
        if (!this.pending.has(rid) || worker !== this.worker) return;
        if (msg.op === 'execute') {
          this.activeRid = rid;
          this.lateOutputs = 0;
          this.cellStartRss = serviceRss();
        }
        // (a process that has just died: its exit fails the request)
        if (worker.connected) worker.send({ ...msg, rid } as ToWorker);
      })();
    });
  }

  /** Whether a request other than a liveness ping is pending (an interrupt's own ping does not make the session busy). */
  get busy(): boolean {
    for (const p of this.pending.values()) if (!p.ping) return true;
    return false;
  }

  /** Whether the worker is executing a cell. */
  get executing(): boolean {
    return this.activeRid !== 0;
  }

  /**
   * Terminates the worker and starts a fresh one; pending requests fail with
   * `code`. Restarts asked for while one is under way share it: each would
   * otherwise start a worker, and all but the last would run on unowned.
   */
  restart(code: ErrorBody['code'], message: string): Promise<void> {
    this.restarting ??= (async () => {
      this.stopping = true;
      const old = this.worker;
      this.failPending(code, message);
      await kill(old);
      this.restarts++;
      if (!this.closed) this.start();
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /**
   * Whether the worker answers within `ms`: a session with no request
   * pending may still be busy, in a timer's callback that does not return.
   */
  responsive(ms: number): Promise<boolean> {
    // checks asked for at once share one ping: two interrupts of an idle session (a double click) each saw
    // the other's ping pending, took the session for busy, and restarted it
    this.liveness ??= this.ping(ms).finally(() => {
      this.liveness = undefined;
    });
    return this.liveness;
  }
  private liveness: Promise<boolean> | undefined;

  private async ping(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((res) => {
      timer = setTimeout(() => res(false), ms);
    });
    const answer = this.request({ op: 'ping' }).then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([answer, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopping = true;
    this.failPending('not_found', `session '${this.id}' was closed`);
    await kill(this.worker);
  }

  /** The session's process id (changes when it restarts). */
  get pid(): number | undefined {
    return this.worker.pid;
  }
}

/** Processes whose exit is awaited (kill), with what to call then. */
const exitWaiters = new Map<ChildProcess, (() => void)[]>();

function exited(p: ChildProcess): void {
  for (const f of exitWaiters.get(p) ?? []) f();
  exitWaiters.delete(p);
}

/** Kills a session's process (SIGKILL: a cell may loop) and resolves once it has exited. */
function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    exitWaiters.set(p, [...(exitWaiters.get(p) ?? []), resolve]);
    p.kill('SIGKILL');
  });
}

export class SessionManager {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: SessionOptions & { maxSessions: number }) {}

  open(id: string | undefined, label: string | undefined): { session: Session; created: boolean } {
    if (id !== undefined) {
      const s = this.sessions.get(id);
      if (s) return { session: s, created: false };
    }
    if (this.sessions.size >= this.opts.maxSessions) {
      throw new ProtocolError('limit', `the service has ${this.sessions.size} open sessions, its limit; close one first`, {
        maxSessions: this.opts.maxSessions,
      });
    }
    const sid = id ?? `s-${randomBytes(6).toString('hex')}`;
    const s = new Session(sid, label, this.opts);
    this.sessions.set(sid, s);
    return { session: s, created: true };
  }

  get(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new ProtocolError('not_found', `no session '${id}' (open one with session.open)`);
    return s;
  }

  /**
   * Gives a session a new id (its notebook was renamed, and a page that
   * opens the notebook at its new path should find its variables). The old
   * id is free at once; an id in use is refused.
   */
  rename(id: string, to: string, label: string | undefined): Session {
    const s = this.get(id);
    if (to !== id) {
      if (this.sessions.has(to))
        throw new ProtocolError('conflict', `cannot rename session '${id}' to '${to}': a session of that id is open`);
      this.sessions.delete(id);
      s.id = to;
      this.sessions.set(to, s);
    }
    if (label !== undefined) s.label = label;
    return s;
  }

  async close(id: string): Promise<void> {
    const s = this.get(id);
    this.sessions.delete(id);
    await s.close();
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Closes sessions that no client holds and that were unused for `idleMs`,
   * or, busy, for four times that: a cell left running by a client that has
   * gone (a laptop closed mid-loop) would otherwise hold a core and a session
   * slot for ever.
   */
  async reap(idleMs: number, held: (id: string) => boolean): Promise<void> {
    const now = Date.now();
    for (const s of this.list()) {
      if (held(s.id) || now - s.lastUsed <= (s.busy ? 4 * idleMs : idleMs)) continue;
      await this.close(s.id).catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.list().map((s) => this.close(s.id).catch(() => undefined)));
  }
}
