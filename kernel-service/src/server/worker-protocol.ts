/** Messages between the service and a session process (internal; not the public protocol). */

/** The environment variable that gives a session process its WorkerInit (JSON). */
export const SESSION_INIT_ENV = 'NEFSIM_SESSION_INIT';
import type { ErrorBody } from './protocol.js';

export type ToWorker =
  | { op: 'execute'; rid: number; code: string; cell: string }
  | { op: 'probe.list'; rid: number; sim: string }
  | {
      op: 'probe.data';
      rid: number;
      sim: string;
      probe: string;
      t0: number | undefined;
      t1: number | undefined;
      columns: [number, number] | undefined;
    }
  | {
      op: 'tuning';
      rid: number;
      ensemble: string;
      points: number;
      /** Rates (points x neurons) the reply may hold at most: the service's maxRawValues. */
      maxValues: number;
      sim: string | undefined;
      /** A run's model module, built with the run's seed and dt (instead of the session's model). */
      run?: { file: string; seed: number | null; dt: number; params: Record<string, unknown> };
    }
  | { op: 'target'; rid: number; fn: string; t: Float64Array }
  /** Answered at once when the worker's event loop is free (session.interrupt asks an idle-looking session). */
  | { op: 'ping'; rid: number };

/** Arrays passed back to the service (copied over the IPC channel, as typed arrays). */
export interface WorkerArrays {
  [name: string]: Float64Array;
}

export type FromWorker =
  | { kind: 'ready' }
  | { kind: 'stream'; rid: number; stream: 'stdout' | 'stderr'; text: string }
  | { kind: 'display'; rid: number; data: Record<string, unknown> }
  | { kind: 'done'; rid: number; ok: true; result: Record<string, unknown>; arrays?: WorkerArrays }
  | { kind: 'done'; rid: number; ok: false; error: ErrorBody };

export interface WorkerInit {
  session: string;
  /** Wall seconds an inline simulate() may take. */
  budgetSeconds: number;
  /** Inline simulations kept per session (the oldest are dropped). */
  maxSims: number;
  /** The session's memory cap, MB (inline simulations that would record more probe data than half of it are refused). */
  memoryMb: number;
}
