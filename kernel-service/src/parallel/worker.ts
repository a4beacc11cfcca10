/**
 * Worker thread of a partitioned simulation. It loads the model module
 * itself (so Node functions, which cannot cross threads, run in every part),
 * builds it with the seed the main thread chose, partitions it the same way
 * every other part does (deterministically), and runs its part over the
 * shared arena when asked.
 */
import { parentPort } from 'node:worker_threads';
import { build, type Model } from '../engine/builder/build.js';
import { NefsimError } from '../engine/errors.js';
import type { Arena } from '../engine/kernels/kernel.js';
import { loadModel, ModelError } from '../runs/model.js';
import { kernelsOver } from '../engine/kernels/lif-wasm.js';
import { Barrier, BarrierAborted } from './barrier.js';
import type { ErrorReply, InitRequest, WorkerReply, WorkerRequest } from './messages.js';
import { partitionModel, type Partitioning } from './partition.js';
import { kernelTableBytes, spikeListInts, usesWasmArena } from '../engine/plan.js';
import { F32_ELT, F64_ELT } from '../engine/wasm.js';
import { PartRunner } from './part.js';

const port = parentPort;
if (!port) throw new Error('parallel/worker.js must run as a worker thread');

let init: InitRequest | undefined;
let model: Model | undefined;
let partitioning: Partitioning | undefined;
let runner: PartRunner | undefined;

function reply(msg: WorkerReply): void {
  port!.postMessage(msg);
}

function fail(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const object = e instanceof NefsimError || e instanceof ModelError ? e.object : undefined;
  const msg: ErrorReply = { type: 'error', name: e.name, message: e.message, object, aborted: e instanceof BarrierAborted };
  reply(msg);
}

port.on('message', (msg: WorkerRequest) => {
  void handle(msg).catch(fail);
});

async function handle(msg: WorkerRequest): Promise<void> {
  switch (msg.type) {
    case 'init': {
      init = msg;
      const net = await loadModel(msg.modelFile, msg.params);
      model = build(net, { dt: msg.dt, seed: msg.seed });
      partitioning = partitionModel(model, { parts: msg.parts, pin: msg.pin });
      const size = model.signals.layout();
      reply({
        type: 'init',
        arenaSize: size,
        parts: partitioning.parts,
        reason: partitioning.reason,
        neuronsPerPart: partitioning.neuronsPerPart,
        cuts: partitioning.cuts.length,
        operators: model.ops.length,
        mode: partitioning.mode,
        spikeInts: spikeListInts(model),
        wasmArena: usesWasmArena(model),
        tableBytes: kernelTableBytes(model),
      });
      return;
    }
    case 'attach': {
      if (!model || !partitioning || !init) throw new Error('attach before init');
      const w = msg.wasm;
      const kernels = w && kernelsOver(w.memory, true, w.tableByte, w.tableBytes, w.f32 ? F32_ELT : F64_ELT);
      if (w && !kernels) throw new Error('internal: the WebAssembly kernels did not attach to the shared memory');
      const size = model.signals.totalSize;
      const arena: Arena = init.dtype === 'float32' ? new Float32Array(msg.arena, 0, size) : new Float64Array(msg.arena, 0, size);
      if (init.index === 0) model.signals.initialize(arena);
      const wasm = w && kernels ? { kernels, spikeByte: w.spikeByte } : undefined;
      runner = new PartRunner(model, partitioning, init.index, arena, new Barrier(msg.barrier, msg.parties), msg.spikes, wasm);
      reply({ type: 'ready' });
      return;
    }
    case 'run': {
      if (!runner) throw new Error('run before attach');
      try {
        runner.runSteps(msg.steps);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const object = e instanceof NefsimError ? e.object : undefined;
        reply({
          type: 'error',
          name: e.name,
          message: e.message,
          object,
          aborted: e instanceof BarrierAborted,
          chunks: runner.takeData(),
          steps: runner.steps,
        });
        return;
      }
      reply({ type: 'ran', chunks: runner.takeData() });
      return;
    }
  }
}
