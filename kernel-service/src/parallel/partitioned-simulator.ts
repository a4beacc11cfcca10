/**
 * A simulation split across worker threads (see partition.ts): the main
 * thread loads the model only to know its probes and seed, starts one worker
 * per part, allocates the shared arena, and steps all parts together. It has
 * the surface the run code uses from Simulator (dt, network, probes, steps,
 * time, runSteps, takeData, summary), with runSteps asynchronous.
 *
 * Results are bit-identical to a single-part Simulator of the same model,
 * seed and dt: every part executes its operators in the single-part plan's
 * order, and values crossing a cut are copied, not recomputed.
 */
import { Worker } from 'node:worker_threads';
import { SimulationError, ValidationError } from '../engine/errors.js';
import { Direct } from '../engine/neurons.js';
import type { Network } from '../engine/network.js';
import type { Probe } from '../engine/objects.js';
import { entropySeed } from '../engine/rng.js';
import { newKernelMemory, wasmLifEnabled } from '../engine/kernels/lif-wasm.js';
import { ProbeData } from '../engine/simulator.js';
import type { WasmMemory } from '../engine/wasm.js';
import { loadModel } from '../runs/model.js';
import { Barrier } from './barrier.js';
import { youngGenerationMb } from '../engine/node-flags.js';
import type { AttachRequest, ErrorReply, InitReply, RunReply, WorkerReply, WorkerRequest } from './messages.js';

export interface PartitionedOptions {
  dt?: number;
  /** Model seed (default: the network's, else a fresh one shared by all parts). */
  seed?: number | null;
  /** Requested number of parts (threads). */
  partitions: number;
  dtype?: 'float64' | 'float32';
  params?: Record<string, unknown>;
  /** Pin objects (by label) to parts. */
  pin?: Record<string, number>;
}

export interface PartitionSummary {
  label: string | undefined;
  seed: number;
  dt: number;
  neurons: number;
  probes: number;
  partitionsRequested: number;
  partitions: number;
  /** 'cut': parts own sub-networks cut at synapses; 'levels': parts share each schedule level (see partition.ts). */
  mode: 'cut' | 'levels';
  /** Whether the parts run the WebAssembly kernels over shared WebAssembly memory, as one thread runs them, or the JavaScript ones. */
  kernels: 'webassembly' | 'javascript';
  reason: string | undefined;
  neuronsPerPart: number[];
  cuts: number;
  operators: number;
  buildSeconds: number;
  warnings: string[];
}

class Part {
  private pending: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void } | undefined;
  /**
   * How the part failed while no request waited (a callback of a Node
   * function threw, or the thread died, between chunks): the next request,
   * or close(), reports it. Kept, so it is not lost with no one to hear it.
   */
  failure: ErrorReply | undefined;
  /**
   * The parts' barrier, once attached: a worker that dies (out of memory, a
   * model's process.exit) aborts it, so that the other parts stop instead of
   * waiting for it forever.
   */
  barrier: Barrier | undefined;
  constructor(readonly worker: Worker) {
    worker.on('message', (msg: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (p) p.resolve(msg);
      else if (msg.type === 'error') this.failure ??= msg;
    });
    const died = (err: Error): void => {
      this.barrier?.abort();
      const p = this.pending;
      this.pending = undefined;
      if (p) p.reject(err);
      else this.failure ??= errorOf(err);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`part worker exited with code ${code}`)));
  }
  request(msg: WorkerRequest): Promise<WorkerReply> {
    // nothing of the request can run: the steps of the chunk are not kept, the failure is reported
    if (this.failure) return Promise.resolve({ ...this.failure, chunks: [], steps: undefined });
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg);
    });
  }
}

/**
 * Shared WebAssembly memory for the parts' kernels (as one thread runs them): the arena at byte 0, the spike lists
 * level-parallel parts share, then a region per part for its own spike
 * lists (parts split at cuts) and its kernel tables. Undefined without
 * WebAssembly (or NEFSIM_WASM=0, or beyond 4 GB): the parts then run the
 * JavaScript kernels over a plain SharedArrayBuffer.
 */
function sharedKernelMemory(
  first: InitReply,
  parts: number,
  f32: boolean,
): { memory: WasmMemory; forPart(index: number): NonNullable<AttachRequest['wasm']> } | undefined {
  if (!first.wasmArena || !wasmLifEnabled()) return undefined;
  const up16 = (n: number): number => 16 * Math.ceil(n / 16);
  const arenaBytes = up16((f32 ? 4 : 8) * first.arenaSize);
  const spikeBytes = up16(4 * first.spikeInts);
  const tableBytes = up16(first.tableBytes);
  const region = spikeBytes + tableBytes;
  const memory = newKernelMemory(arenaBytes + spikeBytes + parts * region, true);
  if (!memory) return undefined;
  return {
    memory,
    forPart(index: number) {
      const start = arenaBytes + spikeBytes + index * region;
      return { memory, f32, spikeByte: first.mode === 'levels' ? arenaBytes : start, tableByte: start + spikeBytes, tableBytes };
    },
  };
}

/**
 * Every part loads and builds the model on its own thread; the parts must
 * get the same network (and the main thread, whose probes the run records),
 * or the shared arena would mean different signals to each. A model that
 * draws its structure from Math.random() or the clock does not.
 */
function checkSameBuild(inits: InitReply[], neurons: number, modelFile: string): void {
  const describe = (r: InitReply): string =>
    `${r.neuronsPerPart.reduce((a, b) => a + b, 0)} neurons, ${r.operators} operators, ${r.arenaSize} signal values`;
  const first = inits[0]!;
  const same = (r: InitReply): boolean =>
    r.arenaSize === first.arenaSize &&
    r.operators === first.operators &&
    r.parts === first.parts &&
    r.mode === first.mode &&
    r.spikeInts === first.spikeInts &&
    r.wasmArena === first.wasmArena &&
    r.tableBytes === first.tableBytes &&
    r.cuts === first.cuts &&
    r.neuronsPerPart.join() === first.neuronsPerPart.join();
  const other = inits.findIndex((r) => !same(r));
  const total = first.neuronsPerPart.reduce((a, b) => a + b, 0);
  if (other < 0 && total === neurons) return;
  const what =
    other >= 0
      ? `part 0 built ${describe(first)}, part ${other} built ${describe(inits[other]!)}`
      : `the parts built ${total} neurons, the main thread ${neurons}`;
  throw new ValidationError(
    `${modelFile}: the model builds a different network each time it is loaded (${what}). A partitioned run loads it once ` +
      'per thread, so its structure must not depend on Math.random(), the clock or other state: draw sizes and choices ' +
      "from fixed values or the network's seed",
  );
}

export class PartitionedSimulator {
  private readonly buffers = new Map<Probe, { chunks: Float64Array[]; rows: number; cols: number }>();
  private nSteps = 0;
  private closed = false;

  private constructor(
    readonly network: Network,
    readonly dt: number,
    private readonly parts: Part[],
    private readonly info: PartitionSummary,
  ) {
    for (const p of network.allProbes) this.buffers.set(p, { chunks: [], rows: 0, cols: p.size });
  }

  static async create(modelFile: string, opts: PartitionedOptions): Promise<PartitionedSimulator> {
    const dt = opts.dt ?? 0.001;
    if (!Number.isInteger(opts.partitions) || opts.partitions < 1) {
      throw new ValidationError(`partitions must be a positive integer, got ${String(opts.partitions)}`);
    }
    const t0 = performance.now();
    const params = opts.params ?? {};
    const network = await loadModel(modelFile, params);
    const seed = opts.seed ?? network.seed ?? entropySeed();
    const dtype = opts.dtype ?? 'float64';
    const workerUrl = new URL('./worker.js', import.meta.url);
    const parts = Array.from(
      { length: opts.partitions },
      () => new Part(new Worker(workerUrl, { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb() } })),
    );
    const terminate = (): Promise<unknown> => Promise.all(parts.map((p) => p.worker.terminate()));
    try {
      const inits = await Promise.all(
        parts.map((p, index) =>
          p.request({ type: 'init', modelFile, params, dt, seed, dtype, parts: opts.partitions, index, pin: opts.pin ?? {} }),
        ),
      );
      const bad = inits.find((r): r is ErrorReply => r.type === 'error');
      if (bad) throw toError(bad);
      const first = inits[0] as InitReply;
      // the parts count neurons that simulate: a Direct ensemble has none
      const neurons = network.allEnsembles.reduce((n, e) => n + (e.neuronType instanceof Direct ? 0 : e.nNeurons), 0);
      checkSameBuild(inits as InitReply[], neurons, modelFile);
      // Parts beyond what the model splits into have nothing to do.
      const used = parts.slice(0, first.parts);
      await Promise.all(parts.slice(first.parts).map((p) => p.worker.terminate()));
      const barrier = Barrier.allocate();
      for (const p of used) p.barrier = new Barrier(barrier, used.length);
      const spikes = new SharedArrayBuffer(Math.max(4, 4 * first.spikeInts));
      const wasm = sharedKernelMemory(first, used.length, dtype === 'float32');
      const bytes = first.arenaSize * (dtype === 'float32' ? 4 : 8);
      const arena = wasm ? (wasm.memory.buffer as SharedArrayBuffer) : new SharedArrayBuffer(Math.max(8, bytes));
      const ready = await Promise.all(
        used.map((p, index) =>
          p.request({ type: 'attach', arena, barrier, spikes, parties: used.length, ...(wasm ? { wasm: wasm.forPart(index) } : {}) }),
        ),
      );
      const bad2 = ready.find((r): r is ErrorReply => r.type === 'error');
      if (bad2) throw toError(bad2);
      const info: PartitionSummary = {
        label: network.label,
        seed,
        dt,
        neurons: network.nNeurons,
        probes: network.allProbes.length,
        partitionsRequested: opts.partitions,
        partitions: first.parts,
        mode: first.mode,
        kernels: wasm ? 'webassembly' : 'javascript',
        reason: first.reason,
        neuronsPerPart: first.neuronsPerPart,
        cuts: first.cuts,
        operators: first.operators,
        buildSeconds: (performance.now() - t0) / 1000,
        warnings: first.reason && first.mode === 'cut' ? [first.reason] : [],
      };
      return new PartitionedSimulator(network, dt, used, info);
    } catch (err) {
      await terminate();
      throw err;
    }
  }

  get probes(): Probe[] {
    return this.network.allProbes;
  }
  get steps(): number {
    return this.nSteps;
  }
  get time(): number {
    return this.nSteps * this.dt;
  }
  summary(): PartitionSummary {
    return { ...this.info };
  }

  /** Runs n steps on all parts. On a failure, keeps the data of the steps every part completed, then throws. */
  async runSteps(n: number): Promise<void> {
    if (this.closed) throw new ValidationError('the partitioned simulator is closed');
    if (!Number.isInteger(n) || n < 0) throw new ValidationError(`runSteps: steps must be a non-negative integer, got ${n}`);
    if (n === 0) return;
    const replies = await Promise.all(this.parts.map((p) => p.request({ type: 'run', steps: n }).catch((e: Error) => errorOf(e))));
    const errors = replies.filter((r): r is ErrorReply => r.type === 'error');
    if (errors.length === 0) {
      for (const r of replies as RunReply[]) this.collect(r.chunks, Infinity);
      this.nSteps += n;
      return;
    }
    // Keep what every part completed; report the failure that is not just an abort.
    const done = Math.min(...replies.map((r) => (r.type === 'error' ? (r.steps ?? this.nSteps) : this.nSteps + n)));
    for (const r of replies) this.collect(r.type === 'error' ? (r.chunks ?? []) : (r as RunReply).chunks, done);
    // Like Simulator, the failing step counts itself (its data is not kept).
    this.nSteps = done + 1;
    const cause = errors.find((e) => !e.aborted) ?? errors[0]!;
    await this.close().catch(() => undefined);
    throw toError(cause);
  }

  /** Samples recorded since the last call, which are then dropped. */
  takeData(probe: Probe): ProbeData {
    const b = this.buffers.get(probe);
    if (!b) throw new ValidationError(`${probe.name} is not part of the simulated network`);
    const out = new Float64Array(b.rows * b.cols);
    let o = 0;
    for (const c of b.chunks) {
      out.set(c, o);
      o += c.length;
    }
    const data = new ProbeData(out, b.rows, b.cols);
    b.chunks = [];
    b.rows = 0;
    return data;
  }

  /** Ends the parts' threads; rejects with a part's failure that no chunk of steps has reported yet (after the last). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // a callback that a Node function started in the last chunk may be due still: let it run first (a second at most)
    if (!this.parts.some((p) => p.failure)) {
      const drained = Promise.all(
        this.parts.map((p) =>
          p.request({ type: 'drain' }).then(
            (r) => {
              if (r.type === 'error') p.failure ??= r;
            },
            (e: Error) => {
              p.failure ??= errorOf(e); // died meanwhile (a due callback called process.exit, or it ran out of memory)
            },
          ),
        ),
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    const failed = this.parts.find((p) => p.failure && !p.failure.aborted)?.failure;
    await Promise.all(this.parts.map((p) => p.worker.terminate()));
    if (failed) throw toError(failed);
  }

  /** Adds probe chunks, keeping only samples of steps up to `lastStep` (absolute). */
  private collect(chunks: { probe: number; data: Float64Array; rows: number; cols: number }[], lastStep: number): void {
    const probes = this.network.allProbes;
    for (const c of chunks) {
      const probe = probes[c.probe]!;
      const b = this.buffers.get(probe)!;
      let rows = c.rows;
      if (Number.isFinite(lastStep)) {
        // samples beyond lastStep (recorded by a part that got further) are dropped
        const period = probe.sampleEvery === undefined ? 1 : probe.sampleEvery / this.dt;
        let allowed = 0;
        for (let s = this.nSteps + 1; s <= lastStep; s++) if (period === 1 || s % period < 1) allowed++;
        rows = Math.min(rows, allowed);
      }
      b.chunks.push(c.data.subarray(0, rows * c.cols));
      b.rows += rows;
    }
  }
}

function errorOf(e: Error): ErrorReply {
  return { type: 'error', name: e.name, message: e.message, object: undefined, aborted: false };
}

function toError(r: ErrorReply): Error {
  const err = new SimulationError(r.message, r.object);
  err.name = r.name;
  return err;
}
