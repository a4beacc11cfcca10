/** Reading .npz archives in tests (numpy's format, parsed by hand, checking the header rules). */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { expect } from 'vitest';

/** Parses an .npy file (float64, int32 or int64 little-endian, C order). */
export function parseNpy(b: Uint8Array): { shape: number[]; descr: string; data: Float64Array | Int32Array | BigInt64Array } {
  expect(Array.from(b.subarray(0, 8))).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const hlen = b[8]! + 256 * b[9]!;
  expect((10 + hlen) % 64).toBe(0);
  const header = new TextDecoder().decode(b.subarray(10, 10 + hlen));
  expect(header.endsWith('\n')).toBe(true);
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const body = b.slice(10 + hlen);
  const data =
    descr === '<f8' ? new Float64Array(body.buffer) : descr === '<i4' ? new Int32Array(body.buffer) : new BigInt64Array(body.buffer);
  expect(data.length).toBe(shape.reduce((x, y) => x * y, 1));
  return { shape, descr, data };
}

export function readNpz(path: string): Map<string, ReturnType<typeof parseNpy>> {
  const files = unzipSync(readFileSync(path));
  const out = new Map<string, ReturnType<typeof parseNpy>>();
  for (const [name, bytes] of Object.entries(files)) out.set(name.replace(/\.npy$/, ''), parseNpy(bytes));
  return out;
}
