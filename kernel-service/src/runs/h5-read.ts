/**
 * Reading a probes.h5 that a run may be writing. The file is plain HDF5 (no
 * SWMR), so a read that races the writer's flush can fail; HDF5 then prints
 * its error stack (HDF5-DIAG) to stderr, and h5wasm does not always throw:
 * a slice may come back with garbage. A read is therefore run with stderr
 * captured, and counts as failed when HDF5 printed anything: the caller
 * tries again (and the diagnostics, expected there, stay out of the logs).
 */

import fs, { existsSync } from 'node:fs';
import { join } from 'node:path';
import { currentStatus, FILES } from './folder.js';

/** A read of probes.h5 during which HDF5 reported an error (its stack in `diagnostics`). */
export class H5ReadError extends Error {
  constructor(
    readonly diagnostics: string,
    options?: { cause: unknown },
  ) {
    super(`HDF5 could not read the file (damaged, truncated, or being written): ${innermost(diagnostics)}`, options);
    this.name = 'H5ReadError';
  }
}

/**
 * The innermost entry of the first HDF5 error stack (later ones follow from
 * it), where it says what went wrong ("truncated file: eof = ..."), with its
 * function.
 */
function innermost(text: string): string {
  const first = text.split('HDF5-DIAG').find((block) => /#\d+: /.test(block)) ?? '';
  const frames = [...first.matchAll(/#\d+: .* in (\S+\(\)): (.*)/g)];
  const last = frames[frames.length - 1];
  if (last) return `${last[2]!.trim()} (${last[1]})`;
  const line = text.split('\n').find((l) => /major|minor|error/i.test(l) && !l.includes('HDF5-DIAG'));
  return (line ?? text.split('\n')[0] ?? '').trim();
}

/**
 * Runs `read` (synchronous h5wasm calls) with process.stderr captured; throws
 * H5ReadError if HDF5 printed diagnostics meanwhile, else returns its value.
 * Other output written meanwhile is passed on.
 */
export function readChecked<T>(read: () => T): T {
  // everything written to stderr meanwhile is held (HDF5 writes its stack in pieces), and passed on unless it is HDF5's
  let held = '';
  // h5wasm's C stderr goes to fd 2 through fs.writeSync (Emscripten's NODERAWFS), or through console.error
  const writeSync = fs.writeSync;
  const stderr = process.stderr;
  const write = stderr.write;
  (fs as { writeSync: unknown }).writeSync = (fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
    if (fd !== 2) return (writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    if (typeof data === 'string') {
      held += data;
      return Buffer.byteLength(data);
    }
    const [offset = 0, length = data.byteLength - offset] = rest as [number | undefined, number | undefined];
    held += Buffer.from(data.buffer, data.byteOffset + offset, length).toString('utf8');
    return length;
  };
  stderr.write = ((chunk: string | Uint8Array): boolean => {
    held += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof stderr.write;
  let value: T;
  try {
    value = read();
  } catch (err) {
    // h5wasm's own message for a file HDF5 could not open says nothing ("error - name not defined!"): HDF5's does
    if (held.includes('HDF5-DIAG')) throw new H5ReadError(held, { cause: err });
    throw err;
  } finally {
    (fs as { writeSync: unknown }).writeSync = writeSync;
    stderr.write = write;
  }
  if (held.includes('HDF5-DIAG')) throw new H5ReadError(held);
  if (held) stderr.write(held);
  return value;
}

/**
 * What of a run's probes.h5 may be read now: every step once the run has
 * ended (or for a folder that is not a live run), else the steps status.json
 * says are on disk, read before the file is opened (so they are in it).
 */
export function stepsOnDisk(dir: string): { live: boolean; steps: number } {
  if (!existsSync(join(dir, FILES.status)) || !existsSync(join(dir, FILES.options))) return { live: false, steps: Infinity };
  const s = currentStatus(dir);
  const live = s.state === 'running' || s.state === 'queued';
  return { live, steps: live ? s.stepsFlushed : Infinity };
}
