/**
 * The parts of the nefsim service protocol (v1, kernel-service/docs/protocol.md)
 * that the extension uses. Text frames carry JSON; binary frames carry arrays.
 * This file has no runtime dependency on JupyterLab so that it can be tested alone.
 */

export const PROTOCOL_VERSION = 1;

export type RequestId = string | number;

export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** A reply to a request: `{v, id, type, ok, result | error}`. */
export interface ReplyMessage {
  v: number;
  id: RequestId;
  type: string;
  ok: boolean;
  result?: unknown;
  error?: ErrorBody;
}

/** An event (streamed output, run progress): `{v, event, id?, ...}`. */
export interface EventMessage {
  v: number;
  event: string;
  id?: RequestId;
  [key: string]: unknown;
}

export type Dtype = 'float64' | 'float32' | 'int32' | 'uint8';
export type TypedArray = Float64Array | Float32Array | Int32Array | Uint8Array;

export interface ArrayHeader {
  id: RequestId;
  name: string;
  dtype: Dtype;
  shape: number[];
}

export interface NamedArray {
  header: ArrayHeader;
  data: TypedArray;
}

/** "NEFB" little-endian. */
export const BINARY_MAGIC = 0x4246454e;

const DTYPES: readonly Dtype[] = ['float64', 'float32', 'int32', 'uint8'];

/**
 * Decodes a binary frame: magic (4 bytes), header length H (uint32 LE), H bytes
 * of JSON header {id, name, dtype, shape}, padding to a multiple of 8, then the
 * elements little-endian row-major.
 */
export function decodeArrayFrame(buffer: ArrayBuffer | Uint8Array): NamedArray {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== BINARY_MAGIC) {
    throw new Error('not a nefsim binary frame');
  }
  const h = view.getUint32(4, true);
  if (8 + h > bytes.byteLength) throw new Error('truncated nefsim binary frame');
  const raw: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + h)));
  if (!isArrayHeader(raw)) throw new Error('bad nefsim binary frame header');
  const start = Math.ceil((8 + h) / 8) * 8;
  // Copy so the data is aligned whatever the frame's offset.
  const copy = bytes.slice(start);
  const b = copy.buffer;
  const data =
    raw.dtype === 'float64'
      ? new Float64Array(b, 0, Math.floor(b.byteLength / 8))
      : raw.dtype === 'float32'
        ? new Float32Array(b, 0, Math.floor(b.byteLength / 4))
        : raw.dtype === 'int32'
          ? new Int32Array(b, 0, Math.floor(b.byteLength / 4))
          : new Uint8Array(b);
  return { header: raw, data };
}

/** Encodes a binary frame (used by tests and fakes). */
export function encodeArrayFrame(header: ArrayHeader, data: TypedArray): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((8 + json.length) / 8) * 8;
  const out = new Uint8Array(start + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, BINARY_MAGIC, true);
  view.setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start);
  return out;
}

function isArrayHeader(x: unknown): x is ArrayHeader {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (
    (typeof o.id === 'string' || typeof o.id === 'number') &&
    typeof o.name === 'string' &&
    typeof o.dtype === 'string' &&
    (DTYPES as readonly string[]).includes(o.dtype) &&
    Array.isArray(o.shape) &&
    o.shape.every((n) => typeof n === 'number')
  );
}

export function isReply(x: unknown): x is ReplyMessage {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return (typeof o.id === 'string' || typeof o.id === 'number') && typeof o.ok === 'boolean' && !('event' in o);
}

export function isEvent(x: unknown): x is EventMessage {
  if (typeof x !== 'object' || x === null) return false;
  return typeof (x as Record<string, unknown>).event === 'string';
}

/* ---------- request and result shapes the extension relies on ---------- */

export type RunState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A run as the service lists it (fields beyond `run` and `state` are optional). */
export interface RunInfo {
  run: string;
  state: RunState;
  label?: string;
  /** Simulated time reached, s. */
  time?: number;
  duration?: number | null;
  dt?: number | null;
  seed?: number | null;
  steps?: number;
  stepsTotal?: number;
  stepsFlushed?: number;
  stepsPerSecond?: number | null;
  secondsLeft?: number | null;
  percent?: number;
  /** ISO time the run was created. */
  created?: string | null;
  error?: string | null;
  /** The model object at fault, when the engine named it. */
  object?: string | null;
  queuePosition?: number;
  /** Why Slurm keeps a submitted run's job pending (squeue's reason); a batch's: each reason with its trials. */
  slurmPending?: string;
  path?: string;
  [key: string]: unknown;
}

export interface RunOptions {
  duration: number;
  dt?: number;
  seed?: number;
  partitions?: number;
  trials?: number;
  /** One trial per parameter object (a batch), instead of trials. */
  sweep?: Record<string, unknown>[];
  /** Trials of a batch run at once. */
  jobs?: number;
  executor?: 'local' | 'slurm';
  /** Single precision (nefsim run --dtype float32); default float64. */
  dtype?: 'float64' | 'float32';
  label?: string;
}

/** Output of a cell, as the service streams or returns it, turned into nbformat by the extension. */
export type CellOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };
