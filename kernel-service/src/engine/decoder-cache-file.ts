/**
 * The decoder cache on disk, shared by every process of the user (as Nengo's
 * `~/.cache/nengo/decoders`): a rebuilt model, a trial in another process or
 * the next notebook session skips the solves it has done before.
 *
 * Like Nengo's, it writes one data file per build, not one per solution:
 * a process keeps the solutions of a build in memory and writes them as one
 * pack when the build ends (build() calls flush), or when they pass
 * FLUSH_BYTES (see below), or at the process's exit. Creating a file costs far more than
 * writing one: on this project's test machine, 0.4 ms for a new 20 kB file
 * against 0.03 ms to append 20 kB, so the 528 files of a cold
 * CircularConvolution D = 64 build took about 250 ms of its 0.73 s (2,064
 * files for D = 256); file systems of shared clusters are slower still with
 * many small files.
 *
 * A pack, `<dir>/<time>-<pid>-<random>.nfp`, is a 16-byte header (magic
 * "NFDP", format version, number of solutions, bytes of the index, as
 * little-endian uint32), the index (per solution: key length as a uint8, the
 * key in ASCII, then the lengths of X and of rmses and the byte offset of X
 * as uint32), then each solution's X and rmses as little-endian float64.
 * Packs are written to a temporary name and renamed, so readers never see
 * half a pack. A process reads every pack's index on its first lookup, and
 * the folder again on a miss once the folder has changed (its mtime): packs
 * that other processes wrote meanwhile. Past MAX_PACKS packs, a write merges
 * the small ones into one, so that a process's first lookup reads few files.
 *
 * Total size is bounded: past the limit the least recently used packs (by
 * modification time, refreshed on a process's first hit in each) go until
 * 80% of it is left. Two processes that solve the same thing at once both
 * write it: the bound counts both, and a merge keeps one.
 *
 * The cache is an optimisation and never fails a build: a pack that is
 * short or corrupt is removed, a solution that does not decode is a miss,
 * and non-finite solutions are not stored; a pack of another format version
 * (another nefsim sharing the folder) is left unread and pruned in its turn;
 * a directory that cannot be written turns the disk cache off for the
 * process with one warning. Writes happen at FLUSH_BYTES or a quarter of the
 * bound, whichever is less, and pruning never removes the pack just written.
 * The first layout (a file per solution in two-letter folders) is removed a
 * few folders per write, its own files only (removeFirstLayout).
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { userCacheDir } from './cache-dir.js';
import type { CachedSolution, DecoderCache } from './decoder-cache.js';

const MAGIC = 0x5044464e; // "NFDP" read as little-endian uint32
const VERSION = 1;
const HEADER = 16;
const KEY = /^[0-9a-f]{16,128}$/;
const PACK = /^[0-9a-z]+-[0-9]+-[0-9a-z]+\.nfp$/;
const DEFAULT_MAX_MB = 512; // Nengo's default decoder cache size
/** The first layout's folders: the first two hex digits of their files' keys. */
const FAN_OUT = /^[0-9a-f]{2}$/;
/** The first layout's folders a write removes (of 256). */
const FIRST_LAYOUT_FOLDERS = 8;
/** Bytes of solutions a process keeps unwritten before it writes a pack without waiting for the build's end. */
const FLUSH_BYTES = 32 * 1024 * 1024;
/** Packs past which a write merges the small ones (below MERGE_BYTES each), down to MAX_PACKS / 2. */
export const MAX_PACKS = 64;
const MERGE_BYTES = 4 * 1024 * 1024;
/** Per solution in the index: the key's length byte, then three uint32 (its key follows the byte). */
const INDEX_ENTRY = 13;
const LITTLE_ENDIAN = endianness() === 'LE';

interface Entry {
  pack: string;
  offset: number;
  nx: number;
  nr: number;
}
interface Pack {
  size: number;
  keys: string[];
  /** Whether this process has refreshed its modification time (once per process and pack). */
  touched: boolean;
}

/** Caches with solutions not yet written: written at the process's exit. */
const unwritten = new Set<FileDecoderCache>();
let exitHook = false;

export class FileDecoderCache implements DecoderCache {
  hits = 0;
  misses = 0;
  private disabled = false;
  private readonly index = new Map<string, Entry>();
  private readonly packs = new Map<string, Pack>();
  /** The folder's modification time when this process last listed it (undefined: never listed). */
  private listed: number | undefined;
  private readonly pending = new Map<string, CachedSolution>();
  private pendingBytes = 0;
  private firstLayoutGone = false;

  constructor(
    readonly dir: string,
    readonly maxBytes = DEFAULT_MAX_MB * 1024 * 1024,
  ) {}

  get(key: string): CachedSolution | undefined {
    if (this.disabled || !KEY.test(key)) return undefined;
    const own = this.pending.get(key);
    if (own) {
      this.hits++;
      return { X: own.X.slice(), rmses: own.rmses.slice() };
    }
    if (this.listed === undefined) this.list();
    let entry = this.index.get(key);
    let sol = entry && this.read(key, entry);
    // not found, or its pack went (pruned, or merged into another): look again if the folder changed
    if (!sol && this.folderChanged()) {
      this.list();
      entry = this.index.get(key);
      sol = entry && this.read(key, entry);
    }
    if (!entry || !sol) {
      this.misses++;
      return undefined;
    }
    const pack = this.packs.get(entry.pack);
    if (pack && !pack.touched) {
      pack.touched = true;
      try {
        const now = new Date();
        utimesSync(join(this.dir, entry.pack), now, now); // most recently used
      } catch {
        // pruned by another process meanwhile: the solution is still good
      }
    }
    this.hits++;
    return sol;
  }

  set(key: string, value: CachedSolution): void {
    if (this.disabled || !KEY.test(key) || this.pending.has(key) || this.index.has(key)) return;
    const size = INDEX_ENTRY + key.length + 8 * (value.X.length + value.rmses.length);
    if (HEADER + size > this.maxBytes || !value.X.every(Number.isFinite)) return; // a read would refuse it
    this.pending.set(key, value);
    this.pendingBytes += size;
    unwritten.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const c of unwritten) c.flush();
      });
    }
    if (this.pendingBytes >= Math.min(FLUSH_BYTES, this.maxBytes / 4)) this.flush();
  }

  /** Writes the solutions set since the last flush as one pack; then keeps the bound, and merges small packs past MAX_PACKS. */
  flush(): void {
    unwritten.delete(this);
    if (this.disabled || this.pending.size === 0) return;
    const solutions = [...this.pending];
    this.pending.clear();
    this.pendingBytes = 0;
    const written = this.writePack(solutions);
    if (!written) return;
    this.list(); // packs of other processes: the bound counts them
    this.keepBound(written);
    if (this.packs.size > MAX_PACKS) this.mergeSmall();
  }

  /** Removes every cached solution. */
  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.index.clear();
    this.packs.clear();
    this.pending.clear();
    this.pendingBytes = 0;
    this.listed = undefined;
  }

  /** Whether the folder changed since this process listed it (a pack written or removed). */
  private folderChanged(): boolean {
    try {
      return statSync(this.dir).mtimeMs !== this.listed;
    } catch {
      return false; // no folder: nothing to find
    }
  }

  /** Lists the folder: reads the index of each pack new to this process, forgets packs that went, removes stale temporary files. */
  private list(): void {
    let names: string[];
    try {
      this.listed = statSync(this.dir).mtimeMs; // before the listing: a change during it is seen next time
      names = readdirSync(this.dir);
    } catch {
      this.listed = Number.NaN;
      return;
    }
    const seen = new Set<string>();
    for (const name of names) {
      if (name.endsWith('.tmp')) removeIfStale(join(this.dir, name));
      else if (PACK.test(name)) {
        seen.add(name);
        if (!this.packs.has(name)) this.load(name);
      }
    }
    for (const name of [...this.packs.keys()]) if (!seen.has(name)) this.forget(name);
  }

  /**
   * Reads a pack's index into this process's. A pack that is short or corrupt
   * is removed; one of another format version (another nefsim sharing the
   * folder) is not read, but counts in the bound and is pruned in its turn.
   */
  private load(name: string): void {
    const path = join(this.dir, name);
    let parsed: { size: number; entries: [string, Entry][] } | undefined;
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(HEADER);
      const magic = readSync(fd, head, 0, HEADER, 0) === HEADER && head.readUInt32LE(0) === MAGIC;
      if (magic && head.readUInt32LE(4) !== VERSION) {
        this.packs.set(name, { size, keys: [], touched: false });
        return;
      }
      if (magic) {
        const count = head.readUInt32LE(8),
          indexBytes = head.readUInt32LE(12);
        if (HEADER + indexBytes <= size) {
          const index = Buffer.alloc(indexBytes);
          if (readSync(fd, index, 0, indexBytes, HEADER) === indexBytes) parsed = parseIndex(name, index, count, size);
        }
      }
    } catch {
      return; // removed meanwhile, or unreadable: not this process's to judge
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (!parsed) {
      removeQuietly(path);
      return;
    }
    this.packs.set(name, { size: parsed.size, keys: parsed.entries.map(([k]) => k), touched: false });
    for (const [k, e] of parsed.entries) this.index.set(k, e);
  }

  private forget(name: string): void {
    const pack = this.packs.get(name);
    if (!pack) return;
    this.packs.delete(name);
    for (const k of pack.keys) if (this.index.get(k)?.pack === name) this.index.delete(k);
  }

  /**
   * One solution from its pack; undefined if the pack went meanwhile
   * (forgotten) or the solution does not decode (its entry dropped: the
   * pack's other solutions may be good).
   */
  private read(key: string, e: Entry): CachedSolution | undefined {
    const path = join(this.dir, e.pack);
    const buf = Buffer.alloc(8 * (e.nx + e.nr));
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      if (readSync(fd, buf, 0, buf.length, e.offset) !== buf.length) throw new Error('short');
    } catch {
      this.forget(e.pack);
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const sol = decodeSolution(buf, 0, e.nx, e.nr);
    if (!sol && this.index.get(key) === e) this.index.delete(key);
    return sol;
  }

  /** Writes solutions as a new pack and indexes it: its name, or undefined (and the cache off, with a warning) if the folder cannot be written. */
  private writePack(solutions: [string, CachedSolution][]): string | undefined {
    const name = `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 10)}.nfp`;
    const path = join(this.dir, name);
    const tmp = `${path}.tmp`;
    let bytes: Buffer, offsets: number[];
    try {
      ({ bytes, offsets } = encodePack(solutions));
      mkdirSync(this.dir, { recursive: true });
      if (!this.firstLayoutGone) this.removeFirstLayout();
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    } catch (err) {
      removeQuietly(tmp);
      this.disabled = true;
      process.emitWarning(
        `nefsim: decoder cache in ${this.dir} turned off for this process: ${(err as Error).message}`,
        'NefsimDecoderCache',
      );
      return undefined;
    }
    this.packs.set(name, { size: bytes.length, keys: solutions.map(([k]) => k), touched: true });
    solutions.forEach(([k, v], i) => this.index.set(k, { pack: name, offset: offsets[i]!, nx: v.X.length, nr: v.rmses.length }));
    return name;
  }

  /**
   * Removes up to FIRST_LAYOUT_FOLDERS of the first layout's folders (a file
   * per solution), until none is left: a few per write, so that the first
   * builds after an upgrade share the cost (removing the 12,000 files of a
   * well-used cache at once took about a second here).
   */
  private removeFirstLayout(): void {
    // only its own files (<key>.nfd, and temporary ones), and a folder once empty: the cache's folder
    // may be one the user shares with other things; an error leaves the rest to later processes
    try {
      const folders = readdirSync(this.dir).filter((name) => FAN_OUT.test(name));
      for (const name of folders.slice(0, FIRST_LAYOUT_FOLDERS)) {
        const folder = join(this.dir, name);
        if (!statSync(folder).isDirectory()) continue;
        for (const file of readdirSync(folder)) if (/\.nfd(\..*\.tmp)?$/.test(file)) removeQuietly(join(folder, file));
        try {
          rmdirSync(folder);
        } catch {
          // not empty: not only the first layout's
        }
      }
      if (folders.length <= FIRST_LAYOUT_FOLDERS) this.firstLayoutGone = true;
    } catch {
      this.firstLayoutGone = true;
    }
  }

  /** Past the bound: removes the least recently used packs until 80% of it is left, never `newest` (the pack just written). */
  private keepBound(newest: string): void {
    let total = 0;
    for (const p of this.packs.values()) total += p.size;
    if (total <= this.maxBytes) return;
    const byAge: { name: string; mtime: number; size: number }[] = [];
    for (const [name, p] of this.packs) {
      if (name === newest) continue;
      try {
        byAge.push({ name, mtime: statSync(join(this.dir, name)).mtimeMs, size: p.size });
      } catch {
        this.forget(name); // removed by another process
        total -= p.size;
      }
    }
    byAge.sort((a, b) => a.mtime - b.mtime);
    for (const p of byAge) {
      if (total <= this.maxBytes * 0.8) break;
      removeQuietly(join(this.dir, p.name));
      this.forget(p.name);
      total -= p.size;
    }
  }

  /** Merges the packs below MERGE_BYTES, smallest first, into one, until at most MAX_PACKS / 2 are left. */
  private mergeSmall(): void {
    const small = [...this.packs]
      .filter(([, p]) => p.size < MERGE_BYTES)
      .sort((a, b) => a[1].size - b[1].size)
      .slice(0, this.packs.size - MAX_PACKS / 2 + 1);
    if (small.length < 2) return;
    const merged = new Map<string, CachedSolution>();
    const read: string[] = [];
    let mtime = 0; // the merged pack is as recently used as the most recent of its packs
    for (const [name] of small) {
      let buf: Buffer;
      try {
        mtime = Math.max(mtime, statSync(join(this.dir, name)).mtimeMs);
        buf = readFileSync(join(this.dir, name));
      } catch {
        this.forget(name); // removed by another process
        continue;
      }
      for (const k of this.packs.get(name)?.keys ?? []) {
        const e = this.index.get(k);
        if (e?.pack !== name || merged.has(k)) continue;
        const sol = decodeSolution(buf, e.offset, e.nx, e.nr);
        if (sol) merged.set(k, sol);
      }
      read.push(name);
    }
    const written = merged.size > 0 ? this.writePack([...merged]) : undefined;
    if (!written) return;
    try {
      utimesSync(join(this.dir, written), new Date(mtime), new Date(mtime));
    } catch {
      // removed meanwhile
    }
    for (const name of read) {
      removeQuietly(join(this.dir, name));
      this.forget(name); // its keys now point to the merged pack, but for any it could not decode
    }
  }
}

/** A pack's index, checked against the pack's size; undefined if it does not hold together. */
function parseIndex(name: string, index: Buffer, count: number, size: number): { size: number; entries: [string, Entry][] } | undefined {
  const entries: [string, Entry][] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    if (o + 1 > index.length) return undefined;
    const len = index[o]!;
    if (o + 1 + len + 12 > index.length) return undefined;
    const key = index.toString('latin1', o + 1, o + 1 + len);
    o += 1 + len;
    const nx = index.readUInt32LE(o),
      nr = index.readUInt32LE(o + 4),
      offset = index.readUInt32LE(o + 8);
    o += 12;
    if (!KEY.test(key) || offset + 8 * (nx + nr) > size) return undefined;
    entries.push([key, { pack: name, offset, nx, nr }]);
  }
  return o === index.length ? { size, entries } : undefined;
}

function encodePack(solutions: [string, CachedSolution][]): { bytes: Buffer; offsets: number[] } {
  let indexBytes = 0;
  for (const [k] of solutions) indexBytes += INDEX_ENTRY + k.length;
  let at = 8 * Math.ceil((HEADER + indexBytes) / 8);
  const offsets = solutions.map(([, v]) => {
    const o = at;
    at += 8 * (v.X.length + v.rmses.length);
    return o;
  });
  const bytes = Buffer.alloc(at);
  bytes.writeUInt32LE(MAGIC, 0);
  bytes.writeUInt32LE(VERSION, 4);
  bytes.writeUInt32LE(solutions.length, 8);
  bytes.writeUInt32LE(indexBytes, 12);
  let o = HEADER;
  solutions.forEach(([k, v], i) => {
    bytes[o] = k.length;
    bytes.write(k, o + 1, 'latin1');
    o += 1 + k.length;
    bytes.writeUInt32LE(v.X.length, o);
    bytes.writeUInt32LE(v.rmses.length, o + 4);
    bytes.writeUInt32LE(offsets[i]!, o + 8);
    o += 12;
    writeDoubles(bytes, offsets[i]!, v.X);
    writeDoubles(bytes, offsets[i]! + 8 * v.X.length, v.rmses);
  });
  return { bytes, offsets };
}

function writeDoubles(buf: Buffer, at: number, a: Float64Array): void {
  if (LITTLE_ENDIAN) buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
  else for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i]!, at + 8 * i);
}

function readDoubles(buf: Buffer, at: number, n: number): Float64Array {
  const a = new Float64Array(n);
  if (LITTLE_ENDIAN) new Uint8Array(a.buffer).set(buf.subarray(at, at + 8 * n));
  else for (let i = 0; i < n; i++) a[i] = buf.readDoubleLE(at + 8 * i);
  return a;
}

/** A solution at byte `at` of `buf`; undefined if it is cut short or X is not finite (a corrupt pack). */
function decodeSolution(buf: Buffer, at: number, nx: number, nr: number): CachedSolution | undefined {
  if (at + 8 * (nx + nr) > buf.length) return undefined;
  const X = readDoubles(buf, at, nx);
  for (let i = 0; i < nx; i++) if (!Number.isFinite(X[i]!)) return undefined;
  return { X, rmses: readDoubles(buf, at + 8 * nx, nr) };
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

/** Removes a temporary file left by a process that ended between its write and its rename (an hour on: not one being written). */
function removeIfStale(path: string): void {
  try {
    if (Date.now() - statSync(path).mtimeMs > 3600_000) unlinkSync(path);
  } catch {
    // gone meanwhile
  }
}

/**
 * The disk cache the environment asks for: `NEFSIM_DECODER_CACHE=0` (or off,
 * false, no) turns it off; `NEFSIM_CACHE_DIR` names its folder (default
 * `$XDG_CACHE_HOME/nefsim/decoders`, else `~/.cache/nefsim/decoders`);
 * `NEFSIM_DECODER_CACHE_MB` bounds its size (default 512).
 */
export function fileCacheFromEnv(env: NodeJS.ProcessEnv): FileDecoderCache | null {
  const flag = (env['NEFSIM_DECODER_CACHE'] ?? '').trim().toLowerCase();
  if (['0', 'off', 'false', 'no'].includes(flag)) return null;
  const dir = env['NEFSIM_CACHE_DIR'] || userCacheDir(env, 'decoders');
  if (!dir) return null; // no home (e.g. a system user): memory cache only
  let maxMb = DEFAULT_MAX_MB;
  const mb = env['NEFSIM_DECODER_CACHE_MB'];
  if (mb !== undefined && mb !== '') {
    const v = Number(mb);
    if (Number.isFinite(v) && v > 0) maxMb = v;
    else
      process.emitWarning(
        `nefsim: NEFSIM_DECODER_CACHE_MB must be a positive number of megabytes, got '${mb}'; using ${DEFAULT_MAX_MB}`,
        'NefsimDecoderCache',
      );
  }
  return new FileDecoderCache(dir, maxMb * 1024 * 1024);
}
