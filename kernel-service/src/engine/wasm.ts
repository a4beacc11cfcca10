/**
 * What the hand-assembled WebAssembly kernels share (linalg.ts's Gram kernel,
 * kernels/lif-wasm.ts's LIF step): the parts of the WebAssembly API they use
 * (the project compiles without the DOM lib), the byte encoding helpers, and
 * the switch that turns them off.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
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

/** A module section: id, size, content. */
export function wasmSection(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
