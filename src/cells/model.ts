/**
 * Model cells: code cells whose metadata says `"nefsim": {"model": true}`.
 * Kept free of JupyterLab runtime imports so the routing can be unit tested.
 */

export const METADATA_KEY = 'nefsim';
export const MODEL_CELL_CLASS = 'nefsim-ModelCell';

/** What the routing needs to know about a cell model. */
export interface CellModelLike {
  readonly type: string;
  getMetadata(key: string): unknown;
}

export interface NefsimCellMetadata {
  model?: boolean;
  /** A cell holding the probe plots of this run ("Plot probes"). */
  plots?: string;
}

/** The run whose plots this cell holds, if it is a plots cell. */
export function plotsRunOf(model: CellModelLike): string | null {
  if (model.type !== 'code') return null;
  const m = model.getMetadata(METADATA_KEY);
  const run = typeof m === 'object' && m !== null ? (m as NefsimCellMetadata).plots : undefined;
  return typeof run === 'string' && run ? run : null;
}

export function isModelCell(model: CellModelLike): boolean {
  if (model.type !== 'code') return false;
  const m = model.getMetadata(METADATA_KEY);
  return typeof m === 'object' && m !== null && (m as NefsimCellMetadata).model === true;
}

/** Session id of a notebook: stable per notebook path (so reloading re-attaches), safe for the protocol. */
export function sessionIdFor(notebookPath: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < notebookPath.length; i++) {
    h ^= notebookPath.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const stem = (notebookPath.split('/').pop() ?? 'notebook')
    .replace(/\.ipynb$/i, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .slice(0, 40);
  return `${stem || 'nb'}-${h.toString(16).padStart(8, '0')}`;
}

/**
 * Does this source read as nefsim JavaScript rather than Python? Used only
 * after the kernel refused a cell with a SyntaxError: a `const`/`let`
 * declaration, an arrow function with parentheses, `new Network(`, or a call of a network's
 * builder methods (`net.ensemble(`...) is JavaScript no Python parses.
 */
export function looksLikeModelCode(source: string): boolean {
  return (
    /(^|[\s;])(const|let)\s+[A-Za-z_$][\w$]*\s*=/m.test(source) ||
    /\)\s*=>/.test(source) ||
    /\bnew\s+Network\s*\(/.test(source) ||
    // a builder call with an options object: unquoted keys, where a Python dict quotes them
    /\.(ensemble|node|connect|probe)\s*\([^)]*\{\s*[A-Za-z_$][\w$]*\s*:/.test(source)
  );
}
