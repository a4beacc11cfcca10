/**
 * The writer thread of a ThreadedProbeStore (store-thread.ts): owns the run's
 * probes.h5 and writes the chunks the run thread sends, in order.
 */
import { statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import h5wasm from 'h5wasm/node';
import type { StoreChunk, StoreLayout, StoreMeta } from './store-format.js';
import { ProbeWriter } from './store-writer.js';

export type WriterRequest =
  | { op: 'open'; path: string; layout: StoreLayout; meta: StoreMeta }
  | { op: 'chunk'; chunk: StoreChunk; bytes: number }
  | { op: 'flush' }
  | { op: 'close' }
  /** Answered once h5wasm has loaded (a trial worker's signal that its start-up is over). */
  | { op: 'ready' };

export type WriterReply =
  /** file: the identity of the file it created (null if it could not be read), see ThreadedProbeStore.file */
  | { op: 'opened'; file: FileIdentity | null }
  | { op: 'written'; bytes: number }
  | { op: 'flushed'; steps: number }
  | { op: 'closed'; steps: number }
  /** steps: what was flushed to disk before the failure (a close can fail after its flush). */
  | { op: 'error'; message: string; steps?: number }
  | { op: 'ready' };

/** A file's identity: the same dev and ino are the same file, whatever its name now. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

const port = parentPort;
if (!port) throw new Error('runs/store-worker.js must run as a worker thread');

let writer: ProbeWriter | undefined;
let failed = false;
const reply = (r: WriterReply): void => port.postMessage(r);

// Requests are handled one at a time, in order. 'open' is the only asynchronous one (h5wasm may
// still be loading): the run thread does not wait for it, and what it sends meanwhile waits here.
let queue: Promise<void> = Promise.resolve();
const enqueue = (work: () => void | Promise<void>): void => {
  queue = queue.then(async () => {
    if (failed) return; // the run thread has the error; later requests are moot
    try {
      await work();
    } catch (err) {
      failed = true;
      reply({ op: 'error', message: err instanceof Error ? err.message : String(err), steps: writer?.stepsFlushed });
    }
  });
};
port.on('message', (req: WriterRequest) => {
  enqueue(() => handle(req));
  if (req.op === 'chunk') writeWhenIdle();
});

// Dense probes' samples and the times are written to the datasets once the chunks that have arrived
// are appended (setImmediate runs after the messages waiting in the port), not only at flushes (spike
// probes: see ProbeWriter.writeAppended). This thread has a core of its own most of the time, and a
// flush or close then has little left to write. (A close wrote up to half a second of samples, and a
// short run's first HDF5 writes, which take a few times as long as later ones: 17-23 ms of a 0.5 s
// run with two decoded probes, 2026-11-23.)
let idleWrite = false;
function writeWhenIdle(): void {
  if (idleWrite) return;
  idleWrite = true;
  setImmediate(() => {
    idleWrite = false;
    enqueue(() => writer?.writeAppended());
  });
}

async function handle(req: WriterRequest): Promise<void> {
  switch (req.op) {
    case 'open':
      writer = await ProbeWriter.create(req.path, req.layout, req.meta);
      reply({ op: 'opened', file: identityOf(req.path) });
      return;
    case 'chunk':
      need(writer).write(req.chunk);
      reply({ op: 'written', bytes: req.bytes });
      return;
    case 'flush':
      need(writer).flush();
      reply({ op: 'flushed', steps: need(writer).stepsFlushed });
      return;
    case 'ready':
      await h5wasm.ready;
      reply({ op: 'ready' });
      return;
    case 'close': {
      const w = need(writer);
      w.close();
      writer = undefined;
      reply({ op: 'closed', steps: w.stepsFlushed });
      return;
    }
  }
}

/** The identity of the file at `path` (stat'ed at once after creating it: the file HDF5 holds open), or null. */
function identityOf(path: string): FileIdentity | null {
  try {
    // bigint: an inode number may not fit a double
    const s = statSync(path, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null; // unknown: the run cannot tell if its file is replaced, and does not check
  }
}

function need(w: ProbeWriter | undefined): ProbeWriter {
  if (!w) throw new Error('probe writer: not open');
  return w;
}
