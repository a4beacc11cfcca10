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

/**
 * A failure outside any request: a callback that a Node function started (a
 * timer, a socket's event) threw, between two chunks of steps. On one thread
 * it would end the run's process; here it ends this part, on the channel its
 * replies take (so it cannot overtake the reply of a chunk that finished):
 * sent at once, and again for every later request, and the barrier is
 * aborted so that no other part waits for this one.
 */
let fatal: ErrorReply | undefined;
let barrier: Barrier | undefined;
function onFatal(reason: unknown): void {
  if (fatal) return;
  const e = reason instanceof Error ? reason : new Error(String(reason));
  fatal = {
    type: 'error',
    name: e.name,
    message: `${e.message} (thrown outside the steps, in a callback such as a timer that a Node function started)`,
    object: undefined,
    aborted: false,
  };
  barrier?.abort();
  reply(fatal);
}
process.on('uncaughtException', onFatal);
process.on('unhandledRejection', onFatal);

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
      barrier = new Barrier(msg.barrier, msg.parties);
      runner = new PartRunner(model, partitioning, init.index, arena, barrier, msg.spikes, wasm);
      reply({ type: 'ready' });
      return;
    }
    case 'drain': {
      // after the timers already due (they fire in order): a failure of theirs is the reply
      setTimeout(() => reply(fatal ?? { type: 'drained' }), 0);
      return;
    }
    case 'run': {
      if (!runner) throw new Error('run before attach');
      if (fatal) {
        reply(fatal);
        return;
      }
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
