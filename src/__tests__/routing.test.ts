import { describe, expect, it, vi } from 'vitest';
import { createRoutingExecutor, type RunCellOptions } from '../cells/executor.js';
import { Signal } from '@lumino/signaling';
import { CellQueue } from '../cells/queue.js';
import { DesignSessions } from '../cells/sessions.js';
import { ServiceError, type NefsimClient } from '../client/client.js';
import { isModelCell, looksLikeModelCode, sessionIdFor, type CellModelLike } from '../cells/model.js';
import { definesModel, enrichBundle, errorInfo, errorToOutput, eventToOutput, resultToOutput, simulationOf } from '../cells/outputs.js';

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

describe('JavaScript sent to the kernel', () => {
  const js = [
    "const net = new Network({ label: 'squaring', seed: 0 });",
    'const a = net.ensemble({ nNeurons: 100, dimensions: 1 });',
    'net.connect(a, b, { function: (x) => [x[0] * x[0]] });',
    "let stim = net.node((t) => Math.sin(t), { label: 'sin' });",
    "net.probe(b, { synapse: 0.01, label: 'b' })",
  ];
  const python = [
    'with nengo.Network() as net:\n    a = nengo.Ensemble(100, 1)\n    nengo.Connection(a, b, function=lambda x: x**2)',
    'print("constant", x >= 1)\nif x => 2:',
    'const_value = 3\nsim.data[p][:10',
    'df.groupby("a").agg({"b": "mean"}',
    'sio.connect(url, headers={"a": 1}',
  ];

  it('reads as nefsim JavaScript by its declarations, arrows and builder calls, not Python', () => {
    for (const src of js) expect(looksLikeModelCode(src), src).toBe(true);
    for (const src of python) expect(looksLikeModelCode(src), src).toBe(false);
  });

  function codeCell(source: string): CellModelLike & { sharedModel: { getSource(): string } } {
    return { type: 'code', getMetadata: () => undefined, sharedModel: { getSource: () => source } };
  }
  const refused = (errorName: string) => Object.assign(new Error('kernel error'), { errorName });

  it('a cell of it that the kernel refuses with a SyntaxError gets the hint; the error still goes on', async () => {
    const hint = vi.fn();
    const ex = (result: () => Promise<boolean>) =>
      createRoutingExecutor({ runDefault: vi.fn(result), runModelCell: vi.fn(async () => true), onJavaScriptInKernel: hint });
    const jsCell = options(codeCell(js[0]!));
    await expect(ex(() => Promise.reject(refused('SyntaxError'))).runCell(jsCell)).rejects.toThrow('kernel error');
    expect(hint).toHaveBeenCalledTimes(1);
    expect(hint.mock.calls[0]![0]).toBe(jsCell);
    // other errors, Python that does not parse, and cells that ran: no hint
    await expect(ex(() => Promise.reject(refused('NameError'))).runCell(jsCell)).rejects.toThrow();
    await expect(ex(() => Promise.reject(refused('SyntaxError'))).runCell(options(codeCell(python[1]!)))).rejects.toThrow();
    expect(await ex(async () => true).runCell(jsCell)).toBe(true);
    expect(await ex(async () => false).runCell(jsCell)).toBe(false);
    expect(hint).toHaveBeenCalledTimes(1);
    // a JavaScript kernel's SyntaxError is its own: no hint
    const inKernel = (language: string) =>
      ({
        ...jsCell,
        notebook: { getMetadata: (k: string) => (k === 'kernelspec' ? { language } : undefined) },
      }) as unknown as RunCellOptions;
    await expect(ex(() => Promise.reject(refused('SyntaxError'))).runCell(inKernel('javascript'))).rejects.toThrow();
    expect(hint).toHaveBeenCalledTimes(1);
    await expect(ex(() => Promise.reject(refused('SyntaxError'))).runCell(inKernel('python'))).rejects.toThrow();
    expect(hint).toHaveBeenCalledTimes(2);
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

  it('sends plots cells to the plots refresher when there is one', async () => {
    const runDefault = vi.fn(async () => true);
    const runModelCell = vi.fn(async () => true);
    const runPlotsCell = vi.fn(async () => true);
    const plots = options(cellModel('code', { nefsim: { plots: 'run-1' } }));
    await createRoutingExecutor({ runDefault, runModelCell, runPlotsCell }).runCell(plots);
    expect(runPlotsCell).toHaveBeenCalledTimes(1);
    await createRoutingExecutor({ runDefault, runModelCell }).runCell(plots);
    expect(runDefault).toHaveBeenCalledTimes(1);
  });

  it("passes on each path's result (Run All stops after a failed model cell)", async () => {
    const ex = createRoutingExecutor({ runDefault: async () => true, runModelCell: async () => false });
    await expect(ex.runCell(options(cellModel('code', { nefsim: { model: true } })))).resolves.toBe(false);
    await expect(ex.runCell(options(cellModel('code')))).resolves.toBe(true);
  });
});

describe('cell outputs', () => {
  it('turns streamed events into stream and display outputs', () => {
    expect(eventToOutput({ v: 1, event: 'cell.stream', id: 1, stream: 'stdout', text: 'hi\n' })).toEqual({
      output_type: 'stream',
      name: 'stdout',
      text: 'hi\n',
    });
    expect(eventToOutput({ v: 1, event: 'cell.stream', id: 1, stream: 'stderr', text: 'oops' })).toMatchObject({ name: 'stderr' });
    expect(eventToOutput({ v: 1, event: 'cell.display', id: 1, data: { 'text/html': '<b>x</b>' } })).toEqual({
      output_type: 'display_data',
      data: { 'text/html': '<b>x</b>' },
      metadata: {},
    });
    expect(eventToOutput({ v: 1, event: 'run.progress' })).toBeNull();
  });

  it("turns the reply's value into an execute_result", () => {
    expect(resultToOutput({ value: { 'text/plain': '2' } }, 3)).toEqual({
      output_type: 'execute_result',
      data: { 'text/plain': '2' },
      metadata: {},
      execution_count: 3,
    });
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
    // an interrupt's message starts with its code in lower case: not "Interrupted: interrupted: ..."
    expect(errorInfo('interrupted', 'interrupted: the session restarted', {})).toMatchObject({
      ename: 'Interrupted',
      evalue: 'the session restarted',
    });
    // the service's own message: name prefix and location are not repeated
    const s = errorInfo('syntax_error', 'SyntaxError: Unexpected token (line 1, column 5)', { name: 'SyntaxError', line: 1, column: 5 });
    expect(s.evalue).toBe('Unexpected token (line 1, column 5)');
    expect((errorToOutput(s) as { traceback: string[] }).traceback[0]).not.toMatch(/line 1.*line 1/);
    // where the user's code threw, in another cell: kept when well formed
    const details = { name: 'SimulationError', line: 2, origin: { cell: 'abc', line: 3, column: 20, source: 'x' } };
    expect(errorInfo('execution_error', 'm', details).origin).toEqual({ cell: 'abc', line: 3, source: 'x' }); // the line's text as it ran: marked only where it still is
    for (const origin of [null, 'abc', { cell: '', line: 3 }, { cell: 'abc', line: 0 }, { cell: 'abc', line: 1.5 }])
      expect(errorInfo('execution_error', 'm', { line: 2, origin }).origin).toBeUndefined();
  });
});

describe('build summaries and simulations', () => {
  it('adds an HTML summary and short text to a network value', () => {
    const b = enrichBundle({
      'application/vnd.nefsim.network+json': { label: 'squaring', ensembles: 2, neurons: 200, nodes: 1, connections: 2, probes: 1 },
      'text/plain': '<ref *1> Network {...',
    });
    expect(b['text/html']).toContain('squaring');
    expect(b['text/html']).toContain('<td style="text-align:right">200</td>');
    expect(b['text/plain']).toBe('nefsim model "squaring": 2 ensembles, 200 neurons, 1 nodes, 2 connections, 1 probes');
    expect(enrichBundle({ 'text/plain': 'x' })).toEqual({ 'text/plain': 'x' });
  });

  it('knows which cells define the model and which values are simulations', () => {
    expect(definesModel('const net = new Network();\nmodel = net;')).toBe(true);
    expect(definesModel('if (model == null) {}')).toBe(false);
    expect(definesModel('foo.model = 1')).toBe(false);
    expect(simulationOf({ value: { 'application/vnd.nefsim.simulation+json': { id: 'sim1', probes: ['sq'] } } })).toEqual({
      id: 'sim1',
      probes: ['sq'],
    });
    expect(simulationOf({ value: { 'text/plain': '1' } })).toBeNull();
  });
});

describe('a session runs its model cells one after another', () => {
  it('Run All: cells after a failing one are skipped, not sent; later runs start afresh', async () => {
    const sessions = new CellQueue();
    const ran: string[] = [];
    let release!: (ok: boolean) => void;
    const first = new Promise<boolean>((r) => (release = r));
    const run = (name: string, ok: boolean | Promise<boolean>) => async () => {
      ran.push(name);
      return ok;
    };
    const skipped: string[] = [];
    const skip = (name: string) => () => {
      skipped.push(name);
      return false;
    };
    // as JupyterLab's Run All: all three scheduled at once
    const a = sessions.enqueue('s', run('a', first), skip('a'));
    const b = sessions.enqueue('s', run('b', true), skip('b'));
    const c = sessions.enqueue('s', run('c', true), skip('c'));
    await Promise.resolve();
    expect(ran).toEqual(['a']); // b waits for a
    release(false);
    await expect(Promise.all([a, b, c])).resolves.toEqual([false, false, false]);
    expect(ran).toEqual(['a']);
    expect(skipped).toEqual(['b', 'c']);
    await Promise.resolve();
    // the queue emptied: the user fixes a and runs b again, alone
    await expect(sessions.enqueue('s', run('b', true), skip('b'))).resolves.toBe(true);
    expect(ran).toEqual(['a', 'b']);
    // a kernel restart resets at once, not after the cell that runs (it may loop: the reset stops it); the cells
    // queued before it do not run, and those queued after wait for the reset
    let releaseC!: (ok: boolean) => void;
    const c2 = sessions.enqueue('s', run('c', new Promise<boolean>((r) => (releaseC = r))), skip('c'));
    const e = sessions.enqueue('s', run('e', true), skip('e'));
    await Promise.resolve();
    const order: string[] = [];
    let resetDone!: () => void;
    const reset = sessions.restart('s', async () => {
      order.push('reset');
      await new Promise<void>((r) => (resetDone = r));
    });
    const d = sessions.enqueue('s', run('d', true), skip('d'));
    await Promise.resolve();
    expect(order).toEqual(['reset']); // while c still runs
    releaseC(false); // the reset stopped it: it fails
    await expect(Promise.all([c2, e])).resolves.toEqual([false, false]);
    expect(skipped).toContain('e');
    expect(ran).toEqual(['a', 'b', 'c']); // d waits for the reset
    resetDone();
    await expect(Promise.all([reset, d])).resolves.toEqual([true, true]);
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    // a cell queued before the restart is skipped even if the one before it succeeded
    let releaseF!: (ok: boolean) => void;
    const f = sessions.enqueue('s', run('f', new Promise<boolean>((r) => (releaseF = r))), skip('f'));
    const g = sessions.enqueue('s', run('g', true), skip('g'));
    await Promise.resolve();
    const again = sessions.restart('s', async () => undefined);
    releaseF(true);
    await expect(Promise.all([f, g, again])).resolves.toEqual([true, false, true]);
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'f']);
  });
});

describe('design sessions of renamed notebooks', () => {
  const offline = (): NefsimClient => {
    const owner = {};
    return {
      connected: new Signal<object, void>(owner),
      statusChanged: new Signal<object, unknown>(owner),
      event: new Signal<object, unknown>(owner),
      isConnected: false,
    } as unknown as NefsimClient;
  };

  it('a renamed notebook keeps its session; a new notebook at the old path gets its own, and closing it leaves the other', async () => {
    const sessions = new DesignSessions(offline());
    const a = sessions.idFor('dir/a.ipynb');
    expect(a).toBe(sessionIdFor('dir/a.ipynb'));
    sessions.renamed('dir/a.ipynb', 'dir/b.ipynb');
    expect(sessions.idFor('dir/b.ipynb')).toBe(a);
    const fresh = sessions.idFor('dir/a.ipynb');
    expect(fresh).not.toBe(a);
    expect(sessions.idFor('dir/a.ipynb')).toBe(fresh); // stable while it is open
    await sessions.close('dir/a.ipynb');
    expect(sessions.idFor('dir/b.ipynb')).toBe(a);
    expect(sessions.idFor('dir/a.ipynb')).not.toBe(a);
  });

  it('a session the service made anew where this page had it (the service restarted) is said to be lost, once', async () => {
    const owner = {};
    const connected = new Signal<object, void>(owner);
    let created = true;
    const client = {
      connected,
      statusChanged: new Signal<object, unknown>(owner),
      event: new Signal<object, unknown>(owner),
      isConnected: true,
      request: async () => ({ result: { created } }),
    } as unknown as NefsimClient;
    const sessions = new DesignSessions(client);
    const id = await sessions.ensure('n.ipynb');
    expect(sessions.takeLost(id)).toBe(false); // first opened: nothing was lost
    created = false;
    connected.emit(); // a reconnect: the service still had it
    await sessions.ensure('n.ipynb');
    expect(sessions.takeLost(id)).toBe(false);
    created = true;
    connected.emit(); // a reconnect to a restarted service
    await sessions.ensure('n.ipynb');
    expect(sessions.takeLost(id)).toBe(true);
    expect(sessions.takeLost(id)).toBe(false);
  });

  it("a page opened onto a live session numbers its cells on from the service's count", async () => {
    const owner = {};
    const client = {
      connected: new Signal<object, void>(owner),
      statusChanged: new Signal<object, unknown>(owner),
      event: new Signal<object, unknown>(owner),
      isConnected: true,
      request: async () => ({ result: { created: false, executions: 7 } }),
    } as unknown as NefsimClient;
    const sessions = new DesignSessions(client);
    const id = await sessions.ensure('n.ipynb');
    expect(sessions.nextCount(id)).toBe(8);
  });

  /** A connected client that records requests; session.rename is refused when `refuse` is set. */
  const recording = (refuse = false) => {
    const owner = {};
    const sent: { type: string; params: Record<string, unknown> }[] = [];
    const event = new Signal<object, unknown>(owner);
    const client = {
      connected: new Signal<object, void>(owner),
      statusChanged: new Signal<object, unknown>(owner),
      event,
      isConnected: true,
      request: async (type: string, params: Record<string, unknown>) => {
        sent.push({ type, params });
        if (type === 'session.rename' && refuse) throw new ServiceError('conflict', 'taken');
        return { result: { created: false } };
      },
    } as unknown as NefsimClient;
    return { client, sent, event };
  };

  it("the service gives a renamed notebook's session the new path's id (found again after a reload); the page keeps its key", async () => {
    const { client, sent, event } = recording();
    const sessions = new DesignSessions(client);
    const key = await sessions.ensure('dir/a.ipynb');
    sessions.markExecuted(key, 'cell-1', 'x = 1');
    await sessions.renamed('dir/a.ipynb', 'dir/b.ipynb');
    const b = sessionIdFor('dir/b.ipynb');
    expect(sent.at(-1)).toEqual({ type: 'session.rename', params: { session: key, to: b, label: 'dir/b.ipynb' } });
    expect(sessions.idFor('dir/b.ipynb')).toBe(key); // the queue and records go on under the key
    expect(sessions.nameOf(key)).toBe(b);
    expect(sessions.isCurrent('dir/b.ipynb', [{ id: 'cell-1', source: 'x = 1' }])).toBe(true);
    await sessions.interrupt('dir/b.ipynb');
    expect(sent.at(-1)).toEqual({ type: 'session.interrupt', params: { session: b } });
    sessions.markExecuted(key, 'cell-1', 'x = 1');
    // a restart the service announces under the new id is this notebook's
    event.emit({ event: 'session.restarted', session: b });
    expect(sessions.isCurrent('dir/b.ipynb', [{ id: 'cell-1', source: 'x = 1' }])).toBe(false);
    // a new notebook at the old path: a key of its own, and the old path's id on the service, which is free now
    const fresh = sessions.idFor('dir/a.ipynb');
    expect(fresh).not.toBe(key);
    expect(sessions.nameOf(fresh)).toBe(key);
    await sessions.close('dir/b.ipynb');
    expect(sent.at(-1)).toEqual({ type: 'session.close', params: { session: b } });
  });

  it('a rename the service refuses (the id is taken) leaves the session its id', async () => {
    const { client, sent } = recording(true);
    const sessions = new DesignSessions(client);
    const key = await sessions.ensure('a.ipynb');
    await expect(sessions.renamed('a.ipynb', 'b.ipynb')).rejects.toThrow('taken');
    expect(sessions.nameOf(key)).toBe(key);
    await sessions.ensure('b.ipynb');
    await sessions.reset('b.ipynb');
    expect(sent.at(-1)).toEqual({ type: 'session.reset', params: { session: key } });
  });
});
