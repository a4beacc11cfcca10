/**
 * Decoder cache (like Nengo's): solving for decoders is most of a build's
 * time, and notebooks rebuild the same model over and over. Results are
 * keyed by a content hash of everything the solution depends on (scaled
 * encoders, biases, eval points, targets, neuron type, solver), so a hit is
 * exactly the solution a solve would give. The default cache keeps
 * solutions in memory for the life of the process and on disk across
 * processes (see decoder-cache-file.ts), each bounded in bytes.
 */
import { createHash } from 'node:crypto';
import { FileDecoderCache, fileCacheFromEnv } from './decoder-cache-file.js';

export interface CachedSolution {
  X: Float64Array;
  rmses: Float64Array;
}

export interface DecoderCache {
  get(key: string): CachedSolution | undefined;
  set(key: string, value: CachedSolution): void;
  /** Stores what set() kept back (a cache on disk writes a build's solutions at once): called at the end of every build. */
  flush?(): void;
}

export class MemoryDecoderCache implements DecoderCache {
  private readonly entries = new Map<string, CachedSolution>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  constructor(readonly maxBytes = 256 * 1024 * 1024) {}

  get(key: string): CachedSolution | undefined {
    const v = this.entries.get(key);
    if (v) {
      // refresh its place in the LRU order
      this.entries.delete(key);
      this.entries.set(key, v);
      this.hits++;
    } else {
      this.misses++;
    }
    return v;
  }

  set(key: string, value: CachedSolution): void {
    const size = value.X.byteLength + value.rmses.byteLength;
    if (size > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.X.byteLength + old.rmses.byteLength;
      this.entries.delete(key);
    }
    this.entries.set(key, value);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.X.byteLength + v.rmses.byteLength;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A memory cache in front of a disk cache: hits on disk are kept in memory, solutions go to both. */
export class TieredDecoderCache implements DecoderCache {
  constructor(
    readonly memory: MemoryDecoderCache,
    readonly disk: FileDecoderCache | null,
  ) {}
  get(key: string): CachedSolution | undefined {
    const m = this.memory.get(key);
    if (m || !this.disk) return m;
    const d = this.disk.get(key);
    if (d) this.memory.set(key, d);
    return d;
  }
  set(key: string, value: CachedSolution): void {
    this.memory.set(key, value);
    this.disk?.set(key, value);
  }
  flush(): void {
    this.disk?.flush();
  }
}

/**
 * The process-wide cache that simulators use unless told otherwise: memory,
 * then disk in `$NEFSIM_CACHE_DIR` (default `$XDG_CACHE_HOME/nefsim/decoders`,
 * i.e. `~/.cache/nefsim/decoders`), unless `NEFSIM_DECODER_CACHE=0`.
 */
export const defaultDecoderCache: DecoderCache = new TieredDecoderCache(new MemoryDecoderCache(), fileCacheFromEnv(process.env));

/**
 * Part of every decoder cache key: raise it when a change to the solvers or
 * to how activities are computed changes solutions, so that caches kept on
 * disk across upgrades do not return solutions of older code.
 */
export const DECODER_KEY_VERSION = 'nefsim-decoders/2';

/** A content hash of arrays and strings (SHA-1: fast, and collisions are not a concern here). */
export function contentKey(parts: readonly (Float64Array | string | number)[]): string {
  const h = createHash('sha1');
  for (const p of parts) {
    if (typeof p === 'string') h.update(`s${p.length}:${p}`);
    else if (typeof p === 'number') h.update(`n${p}`);
    else {
      h.update(`a${p.length}:`);
      h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    }
  }
  return h.digest('hex');
}
