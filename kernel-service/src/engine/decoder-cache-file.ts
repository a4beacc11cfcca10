/**
 * The decoder cache on disk, shared by every process of the user (as Nengo's
 * `~/.cache/nengo/decoders`): a rebuilt model, a trial in another process or
 * the next notebook session skips the solves it has done before.
 *
 * One file per solution, named by its content key, in a two-letter fan-out
 * folder: `<dir>/ab/abcdef....nfd`. A file is a 16-byte header (magic
 * "NFDC", format version, length of X, length of rmses, as little-endian
 * uint32) then X and rmses as little-endian float64. Files are written to a
 * temporary name and renamed, so readers never see half a file; concurrent
 * writers of one key write the same bytes. Total size is bounded: past the
 * limit the least recently used files (by modification time, refreshed on
 * each hit) go until 80% of it is left. The bound is soft: a process
 * estimates the size from a few folders on its first write (see estimate),
 * adds its own writes, and counts every file only when that passes the limit;
 * other processes' writes meanwhile are seen at their next count.
 *
 * Writes are synchronous, as part of the build: a process that builds
 * next (a trial, a partitioned run's workers, a rebuild) finds them on disk.
 * (Writing them in the background made a cold CircularConvolution build 15%
 * faster but moved that disk work into the run, where it competed with a
 * partitioned run's threads, and the parts solved again what the writes had
 * not yet stored.) A write is a temporary file and a rename, plus a mkdir the
 * first time a fan-out folder is needed; the folders that exist are read
 * once per process.
 *
 * The cache is an optimisation and never fails a build: a file that is short,
 * corrupt or of another version counts as a miss and is removed; a directory
 * that cannot be written turns the disk cache off for the process with one
 * warning.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { userCacheDir } from './cache-dir.js';
import { join } from 'node:path';
import type { CachedSolution, DecoderCache } from './decoder-cache.js';

const MAGIC = 0x4344464e; // "NFDC" read as little-endian uint32
const VERSION = 1;
const HEADER = 16;
const KEY = /^[0-9a-f]{16,128}$/;
const DEFAULT_MAX_MB = 512; // Nengo's default decoder cache size
/** A fan-out folder's name: the first two hex digits of its keys. */
const FAN_OUT = /^[0-9a-f]{2}$/;
/** Files the first write of a process looks at to estimate the cache's size. */
const SAMPLE_FILES = 64;

export class FileDecoderCache implements DecoderCache {
  hits = 0;
  misses = 0;
  /**
   * Bytes on disk: estimated on the first write of the process (see
   * estimate), then kept up with this process's writes, and counted exactly
   * whenever that says the bound is passed (undefined until the first write).
   */
  private bytes: number | undefined;
  private disabled = false;
  /** Fan-out folders this process has made or found (files() lists them), so that a write makes each at most once. */
  private readonly made = new Set<string>();

  constructor(
    readonly dir: string,
    readonly maxBytes = DEFAULT_MAX_MB * 1024 * 1024,
  ) {}

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.nfd`);
  }

  get(key: string): CachedSolution | undefined {
    if (this.disabled || !KEY.test(key)) return undefined;
    const path = this.pathOf(key);
    let buf: Buffer;
    try {
      // a miss is the common case of a first build: a stat is far cheaper than a failed read's exception
      if (!existsSync(path)) throw new Error('miss');
      buf = readFileSync(path);
    } catch {
      this.misses++;
      return undefined;
    }
    const sol = decode(buf);
    if (!sol) {
      this.misses++;
      try {
        unlinkSync(path);
      } catch {
        // another process removed or replaced it
      }
      return undefined;
    }
    try {
      const now = new Date();
      utimesSync(path, now, now); // most recently used
    } catch {
      // pruned by another process meanwhile: the solution is still good
    }
    this.hits++;
    return sol;
  }

  set(key: string, value: CachedSolution): void {
    if (this.disabled || !KEY.test(key)) return;
    const size = HEADER + value.X.byteLength + value.rmses.byteLength;
    if (size > this.maxBytes) return;
    this.bytes ??= this.estimate();
    const path = this.pathOf(key);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const sub = key.slice(0, 2);
    const bytes = encode(value);
    const write = (): void => {
      if (!this.made.has(sub)) {
        mkdirSync(join(this.dir, sub), { recursive: true });
        this.made.add(sub);
      }
      writeFileSync(tmp, bytes);
      renameSync(tmp, path);
    };
    try {
      try {
        write();
      } catch (err) {
        // the folder went since this process made or saw it (a clear() elsewhere): make it again, once
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.made.delete(sub);
        write();
      }
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // never created
      }
      this.disabled = true;
      process.emitWarning(
        `nefsim: decoder cache in ${this.dir} turned off for this process: ${(err as Error).message}`,
        'NefsimDecoderCache',
      );
      return;
    }
    this.bytes += size;
    if (this.bytes > this.maxBytes) {
      // the estimate, or this process's writes since, say the bound is passed: count, and prune if so
      const files = this.files().files;
      this.bytes = files.reduce((n, f) => n + f.size, 0);
      if (this.bytes > this.maxBytes) this.prune(this.maxBytes * 0.8, files);
    }
  }

  /** Removes every cached solution. */
  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.made.clear();
    this.bytes = 0;
  }

  /**
   * The cache's files, from every fan-out folder, or (with `enough`) from
   * folders until that many are seen, in order of name from the folder at
   * `start` (modulo their number), wrapping around.
   */
  private files(enough = Infinity, start = 0): { files: { path: string; size: number; mtime: number }[]; folders: number; listed: number } {
    const out: { path: string; size: number; mtime: number }[] = [];
    let subdirs: string[];
    try {
      subdirs = readdirSync(this.dir)
        .filter((sub) => FAN_OUT.test(sub))
        .sort(); // the file system's order varies: a sample of the same folders each time
    } catch {
      return { files: out, folders: 0, listed: 0 };
    }
    let listed = 0;
    for (let k = 0; k < subdirs.length; k++) {
      if (out.length >= enough) break;
      const sub = subdirs[(start + k) % subdirs.length]!;
      let names: string[];
      try {
        names = readdirSync(join(this.dir, sub));
      } catch {
        continue; // not a folder
      }
      listed++;
      this.made.add(sub);
      for (const name of names) {
        if (name.endsWith('.tmp')) {
          removeIfStale(join(this.dir, sub, name));
          continue;
        }
        if (!name.endsWith('.nfd')) continue;
        const path = join(this.dir, sub, name);
        try {
          const st = statSync(path);
          out.push({ path, size: st.size, mtime: st.mtimeMs });
        } catch {
          // removed meanwhile
        }
      }
    }
    return { files: out, folders: subdirs.length, listed };
  }

  /**
   * The bytes on disk, estimated from a few fan-out folders: keys are content
   * hashes, so each folder holds about the same share. It lists folders, in
   * order of name from one that depends on the process id (so that processes
   * sample different folders, and a folder's chance excess is not everyone's),
   * until SAMPLE_FILES files are seen (all of a small cache: then it is
   * exact), and scales their bytes up. Stale temporary files are removed from
   * the folders it lists, and from all of them when it prunes. Counting every file instead
   * took a process's first write 90 ms with 12,000 files in the cache (a
   * 200-neuron build 28 -> 120 ms), and would take about a second near the
   * default 512 MB bound. An estimate that is off only changes when the
   * exact count is made (in set, once the bound seems passed).
   */
  private estimate(): number {
    const { files, folders, listed } = this.files(SAMPLE_FILES, process.pid);
    const bytes = files.reduce((n, f) => n + f.size, 0);
    return listed === 0 ? 0 : Math.round((bytes * folders) / listed);
  }

  /** Removes the least recently used of `files` (the cache's, as files() lists them) until `target` bytes are left. */
  private prune(target: number, all: { path: string; size: number; mtime: number }[]): void {
    const files = [...all].sort((a, b) => a.mtime - b.mtime);
    let total = files.reduce((n, f) => n + f.size, 0);
    for (const f of files) {
      if (total <= target) break;
      try {
        unlinkSync(f.path);
        total -= f.size;
      } catch {
        // removed by another process
      }
    }
    this.bytes = total;
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

function encode(v: CachedSolution): Buffer {
  const buf = Buffer.alloc(HEADER + v.X.byteLength + v.rmses.byteLength);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(VERSION, 4);
  buf.writeUInt32LE(v.X.length, 8);
  buf.writeUInt32LE(v.rmses.length, 12);
  let o = HEADER;
  for (let i = 0; i < v.X.length; i++, o += 8) buf.writeDoubleLE(v.X[i]!, o);
  for (let i = 0; i < v.rmses.length; i++, o += 8) buf.writeDoubleLE(v.rmses[i]!, o);
  return buf;
}

function decode(buf: Buffer): CachedSolution | undefined {
  if (buf.length < HEADER || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return undefined;
  const nx = buf.readUInt32LE(8),
    nr = buf.readUInt32LE(12);
  if (buf.length !== HEADER + 8 * (nx + nr)) return undefined;
  const X = new Float64Array(nx),
    rmses = new Float64Array(nr);
  let o = HEADER;
  for (let i = 0; i < nx; i++, o += 8) X[i] = buf.readDoubleLE(o);
  for (let i = 0; i < nr; i++, o += 8) rmses[i] = buf.readDoubleLE(o);
  for (let i = 0; i < nx; i++) if (!Number.isFinite(X[i]!)) return undefined;
  return { X, rmses };
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
