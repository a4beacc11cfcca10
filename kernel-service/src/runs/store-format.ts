/**
 * What crosses from a run's simulation to its probe store, as plain data:
 * the file layout of the probes, and chunks of samples. Free of the engine
 * and of HDF5: the writer thread (store-worker.ts) imports it without
 * loading either, and the run's thread without loading h5wasm.
 */

/** Value of the `layout` attribute of a sparse spike probe's group. */
export const SPIKES_LAYOUT = 'spikes';

/**
 * Text attributes (a label, a target's name, the network's label) as HDF5 can hold them: its strings
 * end at a NUL, and a label 'a\0b' (Nengo takes any str) was stored as 'a'. The attribute holds the
 * text with each NUL as U+2400 (SYMBOL FOR NULL, readable as a string in h5py), and a text with a NUL
 * also gets `<name>_utf8`, its exact UTF-8 bytes (uint8 [n]: in h5py, `bytes(a).decode()`).
 */
export const EXACT_TEXT_SUFFIX = '_utf8';

/** The string attribute's value for `text`: its NULs as U+2400. */
export function textAttrValue(text: string): string {
  return text.replace(/\0/g, '\u2400');
}

/** The exact bytes to store beside the string attribute for `text` (UTF-8), or null when it needs none (no NUL). */
export function exactTextBytes(text: string): Uint8Array | null {
  return text.includes('\0') ? new TextEncoder().encode(text) : null;
}

/** The text of a text attribute: its exact bytes if it has them, else the string (as a file made before them has). */
export function textFromAttrs(value: unknown, exact: unknown): string {
  if (exact instanceof Uint8Array) return new TextDecoder().decode(exact);
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

export interface StoreMeta {
  engineVersion: string;
  duration: number;
  seed: number;
}

/**
 * Probe names, as under /probes in probes.h5, as npz keys and CSV files, and
 * in the service's probe requests: a probe's label with '/', '.' and NUL as '_'
 * (unlabelled: probe<i>). A label that needs no change keeps it; a changed
 * or repeated one takes the next free `_2`, `_3`, ..., so that a probe
 * labelled `x_y` is `x_y` also beside one labelled `x/y` (which is `x_y_2`).
 */
export function probeNames(labels: readonly (string | undefined)[]): string[] {
  // NUL too: HDF5 takes names as C strings, so 'a\0b' was created as 'a' (and failed the run beside a probe 'a')
  const bases = labels.map((l, i) => (l ?? `probe${i}`).replace(/[/.\0]/g, '_') || `probe${i}`);
  const names: (string | undefined)[] = labels.map(() => undefined);
  const taken = new Set<string>();
  bases.forEach((b, i) => {
    if (b === labels[i] && !taken.has(b)) taken.add((names[i] = b));
  });
  return bases.map((b, i) => {
    const kept = names[i];
    if (kept !== undefined) return kept;
    let name = b;
    for (let k = 2; taken.has(name); k++) name = `${b}_${k}`;
    taken.add(name);
    return name;
  });
}

/** What the file records of one probe: everything the writer needs, as plain data (it can cross to a writer thread). */
export interface ProbeLayout {
  /** Name of the dataset or group under /probes (unique, no '/' or '.'). */
  name: string;
  index: number;
  label: string;
  target: string;
  attr: string;
  cols: number;
  /** Seconds between samples. */
  sampleEvery: number;
  /** Stored sparsely as spikes (see isSpikeProbe). */
  spikes: boolean;
  /** amplitude / dt: the output value of one spike. */
  spikeValue: number;
  units: string;
}

export interface StoreLayout {
  dt: number;
  network: string;
  probes: ProbeLayout[];
}

/** One probe's samples since the last chunk: dense rows, spikes as recorded sparsely, or none. */
export type ProbeChunk =
  | { kind: 'dense'; rows: number; data: Float64Array }
  | { kind: 'spikes'; rows: number; units: Int32Array; values: Float64Array; rowEnds: Int32Array }
  | null;

/** What a simulator recorded since the last chunk, and the steps it has completed. */
export interface StoreChunk {
  completedSteps: number;
  probes: ProbeChunk[];
}

/** The typed arrays of a chunk, to transfer to another thread. */
export function chunkBuffers(chunk: StoreChunk): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of chunk.probes) {
    if (!c) continue;
    if (c.kind === 'dense') out.push(c.data.buffer as ArrayBuffer);
    else out.push(c.units.buffer as ArrayBuffer, c.values.buffer as ArrayBuffer, c.rowEnds.buffer as ArrayBuffer);
  }
  return out;
}

/** Bytes of a chunk's samples. */
export function chunkBytes(chunk: StoreChunk): number {
  let b = 0;
  for (const c of chunk.probes)
    if (c) b += c.kind === 'dense' ? c.data.byteLength : c.units.byteLength + c.values.byteLength + c.rowEnds.byteLength;
  return b;
}
