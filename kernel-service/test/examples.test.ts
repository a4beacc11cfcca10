/**
 * Every example notebook in examples/ runs, cell by cell, in a design
 * session of the real service, as a user's Run All would: each model cell
 * answers without an error. (The browser tests open squaring.ipynb; this
 * keeps the others from rotting as the API changes.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Client, startService, type Running } from './server-harness.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: { nefsim?: { model?: boolean } };
}

/** The model cells of a notebook, in order. */
function modelCells(file: string): string[] {
  const nb = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as { cells: NotebookCell[] };
  return nb.cells
    .filter((c) => c.cell_type === 'code' && c.metadata?.nefsim?.model === true)
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
}

const notebooks = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ipynb'));

let svc: Running;
let c: Client;

beforeAll(async () => {
  svc = await startService();
  c = await Client.connect(svc);
});

afterAll(async () => {
  c?.close();
  await svc?.stop();
  cleanup(svc.dir);
});

describe('example notebooks', () => {
  it('are all here, each with model cells', () => {
    expect(notebooks).toEqual(
      expect.arrayContaining(['squaring.ipynb', 'integrator.ipynb', 'circconv.ipynb', 'sweep.ipynb', 'convolution.ipynb']),
    );
    for (const f of notebooks) expect(modelCells(f).length, f).toBeGreaterThan(0);
  });

  it.each(notebooks)(
    '%s: every model cell runs in a design session',
    async (file) => {
      const opened = await c.request('session.open', { label: file });
      expect(opened.ok, JSON.stringify(opened.error)).toBe(true);
      const session = opened.result!.session as string;
      const cells = modelCells(file);
      let last: Record<string, unknown> | undefined;
      for (const [i, code] of cells.entries()) {
        const r = await c.request('cell.execute', { session, code, cell: `${file}-${i}` });
        expect(r.ok, `${file}, model cell ${i + 1}: ${JSON.stringify(r.error)}`).toBe(true);
        last = r.result;
      }
      if (file === 'convolution.ipynb') {
        // the example's point: both edge filters fire
        const text = String((last!['value'] as Record<string, unknown>)['text/plain']);
        const counts = /leadingEdgeSpikes: (\d+), trailingEdgeSpikes: (\d+)/.exec(text);
        expect(counts, text).not.toBeNull();
        expect(Number(counts![1])).toBeGreaterThan(20);
        expect(Number(counts![2])).toBeGreaterThan(20);
      }
      await c.request('session.close', { session });
    },
    120_000,
  );
});
