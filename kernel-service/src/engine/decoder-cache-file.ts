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
 * each hit) go until 80% of it is left.
 *
 * Writes happen after the build, not during it: set() queues the solution
 * (get() finds it there) and the queue is written on the event loop's next
 * turn, a few files at a time through libuv's thread pool, so a build never
 * waits on the disk (each file is a mkdir, a write and a rename: about a
 * millisecond here, 15% of a cold CircularConvolution build when it was
 * synchronous). A process that ends normally writes its queue first (Node
 * waits for pending file operations); `settled()` waits for it explicitly.
 *
 * The cache is an optimisation and never fails a build: a file that is short,
 * corrupt or of another version counts as a miss and is removed; a directory
 * that cannot be written turns the disk cache off for the process with one
 * warning.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CachedSolution, DecoderCache } from './decoder-cache.js';

const MAGIC = 0x4344464e; // "NFDC" read as little-endian uint32
const VERSION = 1;
const HEADER = 16;
const KEY = /^[0-9a-f]{16,128}$/;
const DEFAULT_MAX_MB = 512; // Nengo's default decoder cache size
/** Files written at once (libuv's thread pool has four threads). */
const WRITERS = 4;

export class FileDecoderCache implements DecoderCache {
  hits = 0;
  misses = 0;
  /** Bytes on disk, counted on the first write of the process (undefined until then). */
  private bytes: number | undefined;
  private disabled = false;
  /** Fan-out folders this process has made (or found), so that a write makes each at most once. */
  private readonly made = new Set<string>();
  /** Solutions set but not yet on disk, by key. */
  private readonly pending = new Map<string, CachedSolution>();
  /** The write of the queue, while it runs. */
  private draining: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly maxBytes = DEFAULT_MAX_MB * 1024 * 1024,
  ) {}

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.nfd`);
  }

  get(key: string): CachedSolution | undefined {
    if (this.disabled || !KEY.test(key)) return undefined;
    const queued = this.pending.get(key);
    if (queued) {
      this.hits++;
      return queued;
    }
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
    if (HEADER + value.X.byteLength + value.rmses.byteLength > this.maxBytes) return;
    this.pending.set(key, value);
    this.schedule();
  }

  /** Starts writing the queue on the event loop's next turn, unless that is under way. */
  private schedule(): void {
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      .catch((err: unknown) => this.turnOff(err))
      .finally(() => {
        this.draining = undefined;
        if (this.pending.size > 0 && !this.disabled) this.schedule(); // set after the last batch began
      });
  }

  /** Stops using the disk for the rest of the process, with one warning. */
  private turnOff(err: unknown): void {
    if (this.disabled) return;
    this.disabled = true;
    this.pending.clear();
    process.emitWarning(
      `nefsim: decoder cache in ${this.dir} turned off for this process: ${err instanceof Error ? err.message : String(err)}`,
      'NefsimDecoderCache',
    );
  }

  /** Resolves once every solution set so far is on disk (or the disk cache turned itself off). */
  async settled(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Writes the queue, WRITERS files at a time, then prunes if the cache outgrew its bound. */
  private async drain(): Promise<void> {
    this.bytes ??= this.measure();
    while (this.pending.size > 0 && !this.disabled) {
      const batch = [...this.pending].slice(0, WRITERS);
      const sizes = await Promise.all(batch.map(([key, value]) => this.write(key, value)));
      for (const [key] of batch) this.pending.delete(key);
      for (const size of sizes) this.bytes += size;
    }
    if (this.bytes > this.maxBytes) this.prune(this.maxBytes * 0.8);
  }

  /** Writes one solution (to a temporary name, then renamed); returns its bytes, 0 if the cache turned off. */
  private async write(key: string, value: CachedSolution): Promise<number> {
    const path = this.pathOf(key);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const sub = key.slice(0, 2);
    const bytes = encode(value);
    const once = async (): Promise<void> => {
      if (!this.made.has(sub)) {
        await mkdir(join(this.dir, sub), { recursive: true });
        this.made.add(sub);
      }
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    };
    try {
      try {
        await once();
      } catch (err) {
        // the folder went since this process made it (a clear() elsewhere): make it again, once
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.made.delete(sub);
        await once();
      }
      return bytes.length;
    } catch (err) {
      await unlink(tmp).catch(() => undefined); // never created, or already renamed
      this.turnOff(err);
      return 0;
    }
  }

  /** Removes every cached solution. */
  clear(): void {
    this.pending.clear();
    rmSync(this.dir, { recursive: true, force: true });
    this.made.clear();
    this.bytes = 0;
  }

  private files(): { path: string; size: number; mtime: number }[] {
    const out: { path: string; size: number; mtime: number }[] = [];
    let subdirs: string[];
    try {
      subdirs = readdirSync(this.dir);
    } catch {
      return out;
    }
    for (const sub of subdirs) {
      let names: string[];
      try {
        names = readdirSync(join(this.dir, sub));
      } catch {
        continue; // not a folder
      }
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
    return out;
  }

  private measure(): number {
    return this.files().reduce((n, f) => n + f.size, 0);
  }

  private prune(target: number): void {
    const files = this.files().sort((a, b) => a.mtime - b.mtime);
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
  let dir = env['NEFSIM_CACHE_DIR'];
  if (!dir) {
    let home: string;
    try {
      home = homedir();
    } catch {
      return null; // no home (e.g. a system user): memory cache only
    }
    dir = join(env['XDG_CACHE_HOME'] || join(home, '.cache'), 'nefsim', 'decoders');
  }
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
