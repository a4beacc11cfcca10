/**
 * The probe store of a run with its HDF5 writing on a writer thread: the run
 * thread only takes what the simulator recorded (dense rows, or spikes as
 * recorded sparsely) and hands the buffers over without copying; encoding
 * spikes, HDF5 writes, flushes and the per-neuron spike layout at the end
 * happen on the other thread (another core). Chunks are written in order;
 * at most MAX_IN_FLIGHT bytes wait for the writer, so a slow disk slows the
 * run instead of filling memory. Flushes are asynchronous: `stepsFlushed`
 * says what is on disk. A writer error fails the run at its next append,
 * flush or close.
 */
import { Worker } from 'node:worker_threads';
import type { RunSimulator } from './run-simulator.js';
import { chunkBuffers, chunkBytes, storeLayout, takeChunk, type StoreMeta } from './store-layout.js';
import type { FileIdentity, WriterReply, WriterRequest } from './store-worker.js';

/**
 * A writer thread started before its store: it loads h5wasm (about 0.15 s of
 * CPU here) while the run's thread loads and builds the model, instead of
 * after. Give it to ThreadedProbeStore.create, or stop() it. A reusable
 * thread (a trial worker's, see trial-worker.ts) is handed back when its
 * store closes cleanly, and writes the next run's file without loading
 * h5wasm again.
 */
export class WriterThread {
  readonly worker: Worker;
  /** How it failed or ended before a store took it over, if it did. */
  early: Error | undefined;
  /** idle: ready for a store; taken: a store has it; dead: ended, failed, or left by a store that did not close. */
  state: 'idle' | 'taken' | 'dead' = 'idle';
  private readonly onError = (err: Error): void => {
    this.early ??= err;
  };
  private readonly onExit = (code: number): void => {
    this.early ??= new Error(`probe writer thread exited (code ${code}) before its store opened`);
  };

  constructor(readonly reusable = false) {
    // A small young generation: the writer turns over megabytes of transferred chunks a second,
    // and frequent scavenges keep the run's RSS from swinging with them.
    this.worker = new Worker(new URL('./store-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
    this.worker.once('exit', () => {
      this.state = 'dead';
    });
  }

  /** Hands the thread over (its store listens from now on); throws if it already failed. */
  take(): Worker {
    if (this.early) throw this.early;
    if (this.state !== 'idle') throw new Error(`probe writer thread: cannot take a thread that is ${this.state}`);
    this.state = 'taken';
    this.worker.off('error', this.onError);
    this.worker.off('exit', this.onExit);
    return this.worker;
  }

  /** Resolves once the thread has loaded h5wasm; rejects (and the thread is not to be taken) if it could not. */
  loaded(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (r: WriterReply): void => {
        if (r.op === 'error') {
          // h5wasm did not load: a store that takes this thread fails at once (take() throws)
          this.early ??= new Error(`probe writer thread: ${r.message}`);
          this.worker.off('message', onMessage);
          reject(this.early);
        }
        if (r.op !== 'ready') return;
        this.worker.off('message', onMessage);
        resolve();
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', () => reject(this.early ?? new Error('probe writer thread exited')));
      this.worker.postMessage({ op: 'ready' } satisfies WriterRequest);
    });
  }

  /** Takes the thread back from a store that closed its file (reusable threads only). */
  giveBack(): void {
    if (this.state !== 'taken') return;
    this.state = 'idle';
    this.worker.on('error', this.onError);
    this.worker.on('exit', this.onExit);
  }

  /** Ends a thread no store took (the model failed to load or build), or that failed early. */
  async stop(): Promise<void> {
    // onError stays: an error already queued is emitted while the thread ends, and must not go uncaught
    this.worker.off('exit', this.onExit);
    this.state = 'dead';
    await this.worker.terminate();
  }
}

/**
 * A trial worker's writer thread (trial-worker.ts): the same thread from run
 * to run, h5wasm loaded once, while it stays sound; a thread that failed, or
 * that a store left without closing its file, is ended and replaced.
 */
export class ReusableWriter {
  private thread: WriterThread;

  constructor() {
    this.thread = new WriterThread(true);
  }

  /** The thread for the next run. */
  get(): WriterThread {
    const t = this.thread;
    if (t.state !== 'idle' || t.early) {
      if (t.state !== 'dead') void t.stop().catch(() => undefined);
      this.thread = new WriterThread(true);
    }
    return this.thread;
  }

  /** Resolves once the current thread has loaded h5wasm (rejects if it could not). */
  loaded(): Promise<void> {
    return this.thread.loaded();
  }

  /** Ends the current thread. */
  async stop(): Promise<void> {
    if (this.thread.state !== 'dead') await this.thread.stop().catch(() => undefined);
  }
}

/**
 * probes.h5 could not be written (the writer's reason: a full disk, a quota,
 * a file size limit), or its writer thread ended: the run fails with it. Its
 * message says all there is; its stack is this module's.
 */
export class ProbeStoreError extends Error {
  override name = 'ProbeStoreError';
}

/** Bytes sent to the writer and not yet written, past which append() waits (two of the runner's chunks of at most 4 MB). */
const MAX_IN_FLIGHT = 8 << 20;

export class ThreadedProbeStore {
  private inFlight = 0;
  private flushed = 0;
  private error: Error | undefined;
  private waiters: { until: () => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private opened = false;
  private identity: FileIdentity | null = null;
  private flushesAsked = 0;
  private flushesDone = 0;

  private readonly onMessage = (r: WriterReply): void => this.onReply(r);
  private readonly onError = (err: Error): void => this.fail(err);
  private readonly onExit = (code: number): void => {
    if (!this.closed) this.fail(new ProbeStoreError(`probe writer thread exited (code ${code})`));
  };

  private constructor(
    private readonly thread: WriterThread,
    private readonly worker: Worker,
    private readonly sim: RunSimulator,
  ) {
    worker.on('message', this.onMessage);
    worker.on('error', this.onError);
    worker.on('exit', this.onExit);
  }

  /**
   * Creates `path` (overwriting it) on a writer thread (`thread`, or a new
   * one), with one dataset or group per probe of `sim`: resolves as soon as
   * the writer has the request (see whenOpen).
   */
  static async create(path: string, sim: RunSimulator, meta: StoreMeta, thread = new WriterThread()): Promise<ThreadedProbeStore> {
    let worker: Worker;
    try {
      worker = thread.take();
    } catch (err) {
      await thread.stop();
      throw err;
    }
    const store = new ThreadedProbeStore(thread, worker, sim);
    // Not awaited: the simulation starts while the writer may still be loading h5wasm (its start-up,
    // about 0.35 s here, was the longest stretch of a short run); the chunks wait in the writer's
    // queue, at most MAX_IN_FLIGHT bytes of them, and a failure to open fails the next call.
    store.post({ op: 'open', path, layout: storeLayout(sim), meta });
    return store;
  }

  /** Resolves once probes.h5 is created (or rejects with the writer's error). */
  async whenOpen(): Promise<void> {
    await this.wait(() => this.opened);
  }

  /**
   * The identity (dev, ino) of the file the writer created and writes, once
   * it has (null before, or if it could not be read): a file at its path
   * with another identity is not the one the run writes.
   */
  get file(): FileIdentity | null {
    return this.identity;
  }

  /** Steps whose data is flushed to disk (as last reported by the writer). */
  get stepsFlushed(): number {
    return this.flushed;
  }

  /**
   * Hands over what the simulator recorded since the last append, and the
   * times of the steps up to `completedSteps`. Resolves at once unless too
   * much is waiting for the writer.
   */
  async append(completedSteps = this.sim.steps): Promise<void> {
    this.check();
    const chunk = takeChunk(this.sim, completedSteps);
    const bytes = chunkBytes(chunk);
    this.inFlight += bytes;
    this.post({ op: 'chunk', chunk, bytes }, chunkBuffers(chunk));
    if (this.inFlight > MAX_IN_FLIGHT) await this.wait(() => this.inFlight <= MAX_IN_FLIGHT / 2);
  }

  /** Asks the writer to write and flush what it has; resolves when it has. */
  async flush(): Promise<void> {
    this.check();
    const n = ++this.flushesAsked;
    this.post({ op: 'flush' });
    await this.wait(() => this.flushesDone >= n);
  }

  /**
   * Writes everything, the per-neuron spike layout, closes the file and ends
   * the writer thread (or, a reusable one, hands it back for the next run).
   */
  async close(): Promise<void> {
    this.check();
    this.post({ op: 'close' });
    await this.wait(() => this.closed);
    if (this.thread.reusable && !this.error && this.thread.state === 'taken') {
      this.worker.off('message', this.onMessage);
      this.worker.off('error', this.onError);
      this.worker.off('exit', this.onExit);
      this.thread.giveBack();
      return;
    }
    this.thread.state = 'dead';
    await this.worker.terminate();
  }

  private post(req: WriterRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(req, transfer);
  }

  private check(): void {
    if (this.error) throw this.error;
    if (this.closed) throw new Error('probe store: already closed');
  }

  private wait(until: () => boolean): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (until()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ until, resolve, reject }));
  }

  private onReply(r: WriterReply): void {
    switch (r.op) {
      case 'written':
        this.inFlight -= r.bytes;
        break;
      case 'flushed':
        this.flushed = Math.max(this.flushed, r.steps);
        this.flushesDone++;
        break;
      case 'closed':
        this.flushed = Math.max(this.flushed, r.steps);
        this.closed = true;
        break;
      case 'error':
        if (r.steps !== undefined) this.flushed = Math.max(this.flushed, r.steps);
        this.fail(new ProbeStoreError(`writing probes.h5 failed: ${r.message}`));
        return;
      case 'opened':
        this.opened = true;
        this.identity = r.file;
        break;
      case 'ready':
        break;
    }
    this.waiters = this.waiters.filter((w) => {
      if (!w.until()) return true;
      w.resolve();
      return false;
    });
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
    // the writer has stopped writing: end its thread so that the process can end
    this.closed = true;
    this.thread.state = 'dead';
    void this.worker.terminate();
  }
}
