/** Messages between a partitioned simulation's main thread and its part workers. */
import type { WasmMemory } from '../engine/wasm.js';
import type { ProbeChunk } from './part.js';

export interface InitRequest {
  type: 'init';
  modelFile: string;
  params: Record<string, unknown>;
  dt: number;
  seed: number;
  dtype: 'float64' | 'float32';
  parts: number;
  index: number;
  pin: Record<string, number>;
}
export interface AttachRequest {
  type: 'attach';
  arena: SharedArrayBuffer;
  /** Spike lists shared by level-parallel parts (InitReply.spikeInts int32s). */
  spikes: SharedArrayBuffer;
  barrier: SharedArrayBuffer;
  parties: number;
  /**
   * The kernels in WebAssembly: `arena` is then the buffer of this shared
   * WebAssembly memory, which also holds the spike lists (this part's, or
   * the shared ones at `spikeByte`) and this part's kernel tables.
   */
  wasm?: { memory: WasmMemory; f32: boolean; spikeByte: number; tableByte: number; tableBytes: number };
}
export interface RunRequest {
  type: 'run';
  steps: number;
}
/** Answered once the callbacks already due on the part's thread (a Node function's timer) have run: see close(). */
export interface DrainRequest {
  type: 'drain';
}
export type WorkerRequest = InitRequest | AttachRequest | RunRequest | DrainRequest;

export interface InitReply {
  type: 'init';
  arenaSize: number;
  parts: number;
  reason: string | undefined;
  neuronsPerPart: number[];
  cuts: number;
  operators: number;
  mode: 'cut' | 'levels';
  /** Int32s of shared spike lists a level-parallel run needs. */
  spikeInts: number;
  /** The parts' arena in WebAssembly memory (plan.ts usesWasmArena). */
  wasmArena: boolean;
  /** Bytes of a part's kernel tables in WebAssembly memory (plan.ts kernelTableBytes). */
  tableBytes: number;
}
export interface DrainedReply {
  type: 'drained';
}
export interface ReadyReply {
  type: 'ready';
}
export interface RunReply {
  type: 'ran';
  chunks: ProbeChunk[];
}
export interface ErrorReply {
  type: 'error';
  name: string;
  message: string;
  object: string | undefined;
  /** True when this part only stopped because another failed. */
  aborted: boolean;
  /** Probe data recorded before the failure (for a failure while running). */
  chunks?: ProbeChunk[];
  /** Steps this part completed. */
  steps?: number;
}
export type WorkerReply = InitReply | ReadyReply | RunReply | ErrorReply | DrainedReply;
