/**
 * Writers for NumPy's .npy format (version 1.0) and .npz archives (a zip of
 * .npy files, stored uncompressed as numpy.savez does), streamed block by
 * block so that exporting a long run needs memory for one block only.
 *
 * .npy: the magic "\x93NUMPY", version 1.0, a little-endian uint16 header
 * length, then a Python dict literal with descr, fortran_order and shape,
 * padded with spaces and ended by "\n" so that the data starts on a
 * 64-byte boundary; then the array in C order.
 */
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { Zip, ZipPassThrough } from 'fflate';

export type NpyDtype = '<f8' | '<i8' | '<i4';

const BYTES: Record<NpyDtype, number> = { '<f8': 8, '<i8': 8, '<i4': 4 };

/** The .npy header for an array of `dtype` and `shape`. */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Uint8Array {
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`npy: bad shape [${shape.join(', ')}]`);
  }
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shp}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new Error('npy: header too long');
  const out = new Uint8Array(10 + dict.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

export function npyBytes(dtype: NpyDtype, shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
}

/** Data of an array entry: the bytes of a typed array in C order. */
export function bytesOf(a: Float64Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** fflate writes plain zip (no zip64): entries and the archive must stay under 4 GiB. */
export const NPZ_LIMIT = 0xffff_0000;

/**
 * Where an export to `path` is written before it is put in place: `<path>.nefsim-<host>-<pid>.tmp`, named
 * so that what an interrupted export left can be told from a user's own files (`results.2024.tmp`) and
 * from an export under way on another host sharing the folder (see leftoverExportPid).
 */
export function exportTempPath(path: string, pid = process.pid): string {
  return `${path}.nefsim-${hostname()}-${pid}.tmp`;
}

/** The pid of this host's export that left `entry` (a name in the folder of `path`), or undefined. */
export function leftoverExportPid(path: string, entry: string): number | undefined {
  const prefix = `${basename(path)}.nefsim-${hostname()}-`;
  if (!entry.startsWith(prefix) || !entry.endsWith('.tmp')) return undefined;
  const pid = entry.slice(prefix.length, -'.tmp'.length);
  return /^\d+$/.test(pid) ? Number(pid) : undefined;
}

/** An export's output folder (where it goes) removed while it was written: the export cannot be put in place. */
export class OutputFolderRemovedError extends Error {
  override name = 'OutputFolderRemovedError';
  constructor(readonly folder: string) {
    super(`the output folder ${folder} was removed during the export`);
  }
}

/**
 * Puts an export written aside (`tmp`, beside `path`) in place. An output folder removed meanwhile (rm -r of
 * the folder --out names) is said so: it was Node's 'ENOENT: no such file or directory, rename <tmp> -> <path>'.
 */
export function moveIntoPlace(tmp: string, path: string): void {
  try {
    renameSync(tmp, path);
  } catch (err) {
    const folder = dirname(resolve(path));
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(folder)) throw new OutputFolderRemovedError(folder);
    throw err;
  }
}

/**
 * An .npz archive written to `path` (through a temp file, renamed on close).
 * Add arrays one at a time: `begin(name, dtype, shape)`, `write(bytes)`
 * block by block, `end()`.
 */
export class NpzWriter {
  private readonly zip: Zip;
  private readonly fd: number;
  private readonly tmp: string;
  private entry: { file: ZipPassThrough; expected: number; written: number; name: string } | null = null;
  private total = 0;
  private error: Error | null = null;

  constructor(private readonly path: string) {
    this.tmp = exportTempPath(path);
    this.fd = openSync(this.tmp, 'w');
    this.zip = new Zip((err, chunk) => {
      if (err) {
        this.error = err;
        return;
      }
      this.total += chunk.length;
      if (this.total > NPZ_LIMIT) {
        this.error = new Error(
          `${path}: the archive would pass 4 GiB, which .npz files written here cannot hold; export --format csv, or read probes.h5 directly`,
        );
        return;
      }
      writeSync(this.fd, chunk);
    });
  }

  begin(name: string, dtype: NpyDtype, shape: readonly number[]): void {
    if (this.entry) throw new Error(`npz: ${this.entry.name} not ended`);
    const expected = npyBytes(dtype, shape);
    if (expected > NPZ_LIMIT)
      throw new Error(
        `${this.path}: array '${name}' has ${expected} bytes, more than an .npz written here can hold (4 GiB); export --format csv, or read probes.h5 directly`,
      );
    const file = new ZipPassThrough(`${name}.npy`);
    this.zip.add(file);
    file.push(npyHeader(dtype, shape));
    this.entry = { file, expected, written: 0, name };
    this.check();
  }

  write(bytes: Uint8Array): void {
    const e = this.entry;
    if (!e) throw new Error('npz: write outside an entry');
    e.written += bytes.length;
    if (e.written > e.expected) throw new Error(`npz: ${e.name}: more data than its shape holds`);
    // fflate may keep the chunk: give it a copy, as callers reuse their buffers.
    e.file.push(bytes.slice());
    this.check();
  }

  end(): void {
    const e = this.entry;
    if (!e) throw new Error('npz: end outside an entry');
    if (e.written !== e.expected) throw new Error(`npz: ${e.name}: ${e.written} bytes written, its shape needs ${e.expected}`);
    e.file.push(new Uint8Array(0), true);
    this.entry = null;
    this.check();
  }

  /** One whole array. */
  array(name: string, dtype: NpyDtype, shape: readonly number[], data: Float64Array | Int32Array | BigInt64Array): void {
    this.begin(name, dtype, shape);
    if (data.length > 0) this.write(bytesOf(data));
    this.end();
  }

  close(): void {
    this.zip.end();
    closeSync(this.fd);
    this.check();
    // a folder there (nefsim export --force) goes only now that its replacement is complete
    if (statSync(this.path, { throwIfNoEntry: false })?.isDirectory()) rmSync(this.path, { recursive: true, force: true });
    moveIntoPlace(this.tmp, this.path);
  }

  /** Closes and removes the temp file after a failure. */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    rmSync(this.tmp, { force: true });
  }

  private check(): void {
    if (this.error) throw this.error;
  }
}
