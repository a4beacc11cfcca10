/**
 * What the hand-assembled WebAssembly kernels share (linalg-wasm.ts's linear algebra,
 * kernels/lif-wasm.ts's LIF step, kernels/dot-wasm.ts's products): the parts
 * of the WebAssembly API they use (the project compiles without the DOM
 * lib), the byte encoding helpers, the opcodes and small code builders, the
 * switch that turns them off, and the cache of assembled module bytes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userCacheDir } from './cache-dir.js';

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}

/** The runtime's WebAssembly, if it has one. */
export function wasmApi(): WasmApi | undefined {
  return (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
}

/** NEFSIM_WASM=0 (or off, false, no) turns every WebAssembly kernel off. */
export function wasmOffByEnv(): boolean {
  const flag = (process.env['NEFSIM_WASM'] ?? '').trim().toLowerCase();
  return ['0', 'off', 'false', 'no'].includes(flag);
}

/** Unsigned LEB128, as WebAssembly encodes sizes and indices. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, as WebAssembly encodes i32.const and i64.const immediates. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A module's first bytes: the magic number \0asm and version 1. */
export const WASM_HEADER: readonly number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** A module section: id, size, content. */
export function wasmSection(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

// opcodes (and small code builders) of the hand-assembled modules
export const GET = 0x20,
  SET = 0x21;
export const F64_LOAD = 0x2b,
  F64_STORE = 0x39,
  I32_STORE = 0x36,
  I32_LOAD = 0x28;
export const F64_CONST = 0x44,
  I32_CONST = 0x41;
export const F64_ADD = 0xa0,
  F64_SUB = 0xa1,
  F64_MUL = 0xa2,
  F64_DIV = 0xa3,
  F64_NEG = 0x9a;
export const F64_LT = 0x63,
  F64_GT = 0x64,
  F64_LE = 0x65,
  F64_GE = 0x66;
// integer compares and arithmetic, and the i64 / conversion opcodes fdlibm's log1p needs (rates-wasm.ts)
export const F64_EQ = 0x61,
  F64_NE = 0x62,
  I32_EQZ = 0x45,
  I32_EQ = 0x46,
  I32_GT_S = 0x4a,
  I32_GE_U = 0x4f,
  I32_SUB = 0x6b,
  I32_OR = 0x72,
  I32_CTZ = 0x68,
  I64_EQZ = 0x50,
  I64_CTZ = 0x7a,
  I64_SUB = 0x7d,
  I32_XOR = 0x73,
  I32_SHR_S = 0x75,
  I32_WRAP_I64 = 0xa7,
  I64_EXTEND_I32_U = 0xad,
  I64_CONST = 0x42,
  I64_AND = 0x83,
  I64_OR = 0x84,
  I64_SHL = 0x86,
  I64_SHR_U = 0x88,
  F64_CONVERT_I32_S = 0xb7,
  I64_REINTERPRET_F64 = 0xbd,
  F64_REINTERPRET_I64 = 0xbf;
// integer multiply, unsigned compare, square root, return, and the bulk-memory copy and fill (linalg-wasm.ts)
export const I32_MUL = 0x6c,
  I32_LT_U = 0x49,
  F64_SQRT = 0x9f,
  RETURN = 0x0f;
export const MEMORY_COPY: readonly number[] = [0xfc, 0x0a, 0x00, 0x00],
  MEMORY_FILL: readonly number[] = [0xfc, 0x0b, 0x00];
export const I32_ADD = 0x6a,
  I32_SHL = 0x74,
  I32_SHR_U = 0x76,
  I32_LT_S = 0x48,
  I32_AND = 0x71,
  I32_GE_S = 0x4e;
export const IF = 0x04,
  ELSE = 0x05,
  END = 0x0b,
  BLOCK = 0x02,
  LOOP = 0x03,
  BR = 0x0c,
  BR_IF = 0x0d,
  CALL = 0x10,
  SELECT = 0x1b;
export const VOID = 0x40,
  F64 = 0x7c,
  I64 = 0x7e,
  I32 = 0x7f;

// SIMD (the 0xfd prefix; f64x2 lanes); memarg align 2^3
export const simd = (op: number): number[] => [0xfd, ...uleb(op)];
export const V_LOAD = simd(0x00),
  V_STORE = simd(0x0b),
  F64X2_SPLAT = simd(0x14),
  F64X2_LT = simd(0x49),
  F64X2_GT = simd(0x4a),
  F64X2_LE = simd(0x4b),
  F64X2_GE = simd(0x4c),
  V_AND = simd(0x4e),
  V_ANDNOT = simd(0x4f),
  V_OR = simd(0x50),
  V_BITSELECT = simd(0x52),
  V_ANY_TRUE = simd(0x53),
  I64X2_BITMASK = simd(0xc4),
  F64X2_EXTRACT = (lane: number): number[] => [...simd(0x21), lane],
  F64X2_REPLACE = (lane: number): number[] => [...simd(0x22), lane],
  F64X2_NEG = simd(0xed),
  F64X2_ADD = simd(0xf0),
  F64X2_SUB = simd(0xf1),
  F64X2_MUL = simd(0xf2),
  F64X2_DIV = simd(0xf3),
  F64X2_PMAX = simd(0xf7);
export const V128 = 0x7b;
export function f64(x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [F64_CONST, ...b];
}
export const get = (l: number): number[] => [GET, l];
export const set = (l: number): number[] => [SET, l];
/** Both lanes x. */
export function vconst(x: number): number[] {
  const b = new Uint8Array(16);
  const d = new DataView(b.buffer);
  d.setFloat64(0, x, true);
  d.setFloat64(8, x, true);
  return [...simd(0x0c), ...b];
}

/**
 * The arena's element type as the kernels see it: float64, or float32
 * loaded into f64 (and its lanes into f64x2) and rounded back on store, the
 * way JavaScript reads and writes a Float32Array, so the arithmetic in
 * between is the same double arithmetic either way.
 */
export interface Elt {
  readonly f32: boolean;
  /** log2 of the element's bytes */
  readonly shift: number;
  readonly bytes: number;
  /** The element at the address `addr` leaves on the stack, as f64. */
  load(addr: number[]): number[];
  store(addr: number[], value: number[]): number[];
  /** Two elements as an f64x2. */
  vload(addr: number[]): number[];
  vstore(addr: number[], value: number[]): number[];
}

const F32_LOAD = 0x2a,
  F32_STORE = 0x38,
  F64_PROMOTE_F32 = 0xbb,
  F32_DEMOTE_F64 = 0xb6;
const V_LOAD64_ZERO = simd(0x5d),
  V_STORE64_LANE = simd(0x5b),
  F32X4_DEMOTE_F64X2_ZERO = simd(0x5e),
  F64X2_PROMOTE_LOW_F32X4 = simd(0x5f);

export const F64_ELT: Elt = {
  f32: false,
  shift: 3,
  bytes: 8,
  load: (addr) => [...addr, F64_LOAD, 3, 0],
  store: (addr, value) => [...addr, ...value, F64_STORE, 3, 0],
  vload: (addr) => [...addr, ...V_LOAD, 3, 0],
  vstore: (addr, value) => [...addr, ...value, ...V_STORE, 3, 0],
};

export const F32_ELT: Elt = {
  f32: true,
  shift: 2,
  bytes: 4,
  load: (addr) => [...addr, F32_LOAD, 2, 0, F64_PROMOTE_F32],
  store: (addr, value) => [...addr, ...value, F32_DEMOTE_F64, F32_STORE, 2, 0],
  vload: (addr) => [...addr, ...V_LOAD64_ZERO, 2, 0, ...F64X2_PROMOTE_LOW_F32X4],
  vstore: (addr, value) => [...addr, ...value, ...F32X4_DEMOTE_F64X2_ZERO, ...V_STORE64_LANE, 2, 0, 0],
};

/**
 * The files whose code assembles the modules (this one, the kernels'
 * assemblers, the linear algebra's): the cache key hashes them, so a changed
 * assembler never meets bytes of an old one. Null where they are not all
 * there as JavaScript (the tests run the TypeScript sources: no cache).
 */
let assemblerKey: string | null | undefined;
function assemblerHash(): string | null {
  if (assemblerKey !== undefined) return assemblerKey;
  const hash = createHash('sha256');
  try {
    for (const file of [
      './wasm.js',
      './linalg.js',
      './linalg-wasm.js',
      './kernels/lif-wasm.js',
      './kernels/dot-wasm.js',
      './kernels/rates-wasm.js',
    ]) {
      hash.update(readFileSync(new URL(file, import.meta.url)));
    }
    assemblerKey = hash.digest('hex').slice(0, 24);
  } catch {
    assemblerKey = null;
  }
  return assemblerKey;
}

const compiledModules = new Map<string, object | null>();

/**
 * The compiled module `name`, or null where WebAssembly is missing or
 * refuses it. Its bytes come from the disk cache when an identical
 * assembler made them before, else from `assemble` (then cached): assembling
 * costs a new process about 30 ms of cold JavaScript for all modules, a third
 * of a small model's build. Like the decoder cache, the disk only saves time:
 * a missing, unwritable or invalid cache file means assembling.
 */
export function compiledModule(name: string, assemble: () => Uint8Array): object | null {
  let mod = compiledModules.get(name);
  if (mod !== undefined) return mod;
  mod = null;
  const w = wasmApi();
  try {
    if (w) {
      const key = assemblerHash();
      const dir = key ? userCacheDir(process.env, 'wasm') : null; // ~/.cache/nefsim/wasm
      const path = dir ? join(dir, `${name}-${key}.nfw`) : null;
      const cached = path ? cachedBytes(path, w) : undefined;
      const bytes = cached ?? assemble();
      mod = w.validate(bytes) ? new w.Module(bytes) : null;
      if (mod && path && !cached) writeCached(path, bytes);
    }
  } catch {
    mod = null; // the JavaScript kernels run instead
  }
  compiledModules.set(name, mod);
  return mod;
}

/** A day, and how long a cache file may go unused before a process that writes one removes it. */
const DAY_MS = 86_400_000;
const UNUSED_MS = 30 * DAY_MS;

/**
 * A cache file: the SHA-256 of the module's bytes, then the bytes, so that a
 * file damaged on disk (a flipped bit in a constant would still validate) is
 * never used. A file in use has its time set to now (at most once a day), so
 * that pruning (writeCached) keeps it.
 */
function cachedBytes(path: string, w: WasmApi): Uint8Array | undefined {
  try {
    const file = readFileSync(path);
    if (file.length <= 32) return undefined;
    const bytes = new Uint8Array(file.subarray(32));
    const sum = createHash('sha256').update(bytes).digest();
    if (!(sum.equals(file.subarray(0, 32)) && w.validate(bytes))) return undefined;
    touchIfOld(path);
    return bytes;
  } catch {
    return undefined;
  }
}

function touchIfOld(path: string): void {
  try {
    const now = Date.now();
    if (now - statSync(path).mtimeMs > DAY_MS) utimesSync(path, now / 1000, now / 1000);
  } catch {
    // a read-only cache still serves
  }
}

/**
 * Writes a cache file (to a temporary name, then renamed). Then prunes the
 * folder: temporary files a killed process left (after an hour), and modules
 * no process has used for 30 days, which an engine of another version (or
 * an older assembler) made: every change of an assembler makes new files, so
 * without this the folder would only grow. Writing is rare (once per
 * assembler version), so this costs nothing in the common case.
 */
function writeCached(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, Buffer.concat([createHash('sha256').update(bytes).digest(), bytes]));
    renameSync(tmp, path);
    for (const f of readdirSync(dirname(path))) {
      const p = join(dirname(path), f);
      try {
        const age = Date.now() - statSync(p).mtimeMs;
        if ((f.endsWith('.tmp') && age > 3600_000) || (f.endsWith('.nfw') && age > UNUSED_MS)) rmSync(p, { force: true });
      } catch {
        // removed by another process meanwhile
      }
    }
  } catch {
    rmSync(tmp, { force: true }); // an unwritable folder: assembled again next time
  }
}
