import { describe, expect, it, vi } from 'vitest';
import { createRoutingExecutor, type RunCellOptions } from '../cells/executor.js';
import { isModelCell, sessionIdFor, type CellModelLike } from '../cells/model.js';
import { errorInfo, errorToOutput, eventToOutput, resultToOutput } from '../cells/outputs.js';

function cellModel(type: string, metadata: Record<string, unknown> = {}): CellModelLike {
  return { type, getMetadata: (k: string) => metadata[k] };
}

function options(model: CellModelLike): RunCellOptions {
  return { cell: { model } } as unknown as RunCellOptions;
}

describe('model cells', () => {
  it('are code cells with nefsim.model = true in their metadata', () => {
    expect(isModelCell(cellModel('code', { nefsim: { model: true } }))).toBe(true);
    expect(isModelCell(cellModel('code', { nefsim: { model: false } }))).toBe(false);
    expect(isModelCell(cellModel('code'))).toBe(false);
    expect(isModelCell(cellModel('markdown', { nefsim: { model: true } }))).toBe(false);
    expect(isModelCell(cellModel('code', { nefsim: 'yes' }))).toBe(false);
  });

  it('get a session id per notebook path that the protocol accepts', () => {
    const a = sessionIdFor('examples/squaring.ipynb');
    expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a.startsWith('squaring-')).toBe(true);
    expect(sessionIdFor('examples/squaring.ipynb')).toBe(a);
    expect(sessionIdFor('other/squaring.ipynb')).not.toBe(a);
    expect(sessionIdFor('ünï côdé/ a b.ipynb')).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('cell routing', () => {
  it('sends model cells to the design session and other cells to the kernel', async () => {
    const runDefault = vi.fn(async () => true);
    const runModelCell = vi.fn(async () => true);
    const ex = createRoutingExecutor({ runDefault, runModelCell });
    await ex.runCell(options(cellModel('code', { nefsim: { model: true } })));
    expect(runModelCell).toHaveBeenCalledTimes(1);
    expect(runDefault).not.toHaveBeenCalled();
    await ex.runCell(options(cellModel('code')));
    await ex.runCell(options(cellModel('markdown')));
    expect(runDefault).toHaveBeenCalledTimes(2);
    expect(runModelCell).toHaveBeenCalledTimes(1);
  });

  it("passes on each path's result (Run All stops after a failed model cell)", async () => {
    const ex = createRoutingExecutor({ runDefault: async () => true, runModelCell: async () => false });
    await expect(ex.runCell(options(cellModel('code', { nefsim: { model: true } })))).resolves.toBe(false);
    await expect(ex.runCell(options(cellModel('code')))).resolves.toBe(true);
  });
});

describe('cell outputs', () => {
  it('turns streamed events into stream and display outputs', () => {
    expect(eventToOutput({ v: 1, event: 'cell.stream', id: 1, stream: 'stdout', text: 'hi\n' })).toEqual({ output_type: 'stream', name: 'stdout', text: 'hi\n' });
    expect(eventToOutput({ v: 1, event: 'cell.stream', id: 1, stream: 'stderr', text: 'oops' })).toMatchObject({ name: 'stderr' });
    expect(eventToOutput({ v: 1, event: 'cell.display', id: 1, data: { 'text/html': '<b>x</b>' } })).toEqual({
      output_type: 'display_data',
      data: { 'text/html': '<b>x</b>' },
      metadata: {},
    });
    expect(eventToOutput({ v: 1, event: 'run.progress' })).toBeNull();
  });

  it("turns the reply's value into an execute_result", () => {
    expect(resultToOutput({ value: { 'text/plain': '2' } }, 3)).toEqual({ output_type: 'execute_result', data: { 'text/plain': '2' }, metadata: {}, execution_count: 3 });
    expect(resultToOutput({ names: [] }, 1)).toBeNull();
    expect(resultToOutput({ value: {} }, 1)).toBeNull();
  });

  it('keeps the line and column of an error', () => {
    const info = errorInfo('execution_error', 'x is not defined', { line: 3, column: 5, name: 'ReferenceError' });
    expect(info).toMatchObject({ ename: 'ReferenceError', line: 3, column: 5 });
    const out = errorToOutput(info);
    expect(out).toMatchObject({ output_type: 'error', ename: 'ReferenceError', evalue: 'x is not defined' });
    expect((out as { traceback: string[] }).traceback[0]).toContain('line 3');
    expect(errorInfo('syntax_error', 'Unexpected token', {}).ename).toBe('SyntaxError');
  });
});
