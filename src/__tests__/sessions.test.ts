/**
 * The page's design sessions against a fake service (this module's unit
 * tests): a session the service lost is opened again, a rename heard twice
 * moves the session once, and a reset or close asked for while the service
 * was unreachable is sent once it is back.
 */
import { describe, expect, it, vi } from 'vitest';
vi.mock('@jupyterlab/apputils', () => ({ Notification: {} }));
import { Signal } from '@lumino/signaling';
import { DesignSessions } from '../cells/sessions.js';
import { sessionIdFor } from '../cells/model.js';
import { ServiceError, type NefsimClient } from '../client/client.js';
import { runModelCell, stillAt } from '../cells/runner.js';

/** A service with sessions in a set; `sent` lists each request as "type session". */
function fakeService() {
  const owner = {};
  const open = new Set<string>();
  const sent: string[] = [];
  const connected = new Signal<object, void>(owner);
  const client = {
    connected,
    statusChanged: new Signal<object, unknown>(owner),
    event: new Signal<object, unknown>(owner),
    isConnected: true,
    request: async (type: string, params: Record<string, unknown>) => {
      const s = params['session'] as string;
      sent.push(`${type} ${s}`);
      if (type === 'session.open') {
        const created = !open.has(s);
        open.add(s);
        return { result: { session: s, created, executions: 0 }, arrays: new Map() };
      }
      if (type === 'session.close') open.delete(s);
      if (type === 'cell.execute' && !open.has(s)) throw new ServiceError('not_found', `no session '${s}' (open one with session.open)`);
      if (type === 'session.rename') {
        open.delete(s);
        open.add(params['to'] as string);
      }
      return { result: { value: { 'text/plain': '2' } }, arrays: new Map() };
    },
  };
  return { client, asClient: client as unknown as NefsimClient, open, sent, connected, owner };
}

function fakeCell(source: string) {
  const outputs: Record<string, unknown>[] = [];
  const model = {
    id: 'c1',
    type: 'code',
    trusted: false,
    executionState: 'idle',
    executionCount: null as number | null,
    outputs: { add: (o: Record<string, unknown>) => outputs.push(o), clear: () => (outputs.length = 0) },
    sharedModel: { transact: (f: () => void) => f(), getSource: () => source },
    clearExecution: () => (outputs.length = 0),
    setMetadata: () => undefined,
    contentChanged: { connect: () => undefined, disconnect: () => undefined },
  };
  const cell = { model, isDisposed: false, node: { querySelectorAll: () => [], removeAttribute: () => undefined }, parent: null };
  return { cell, outputs };
}

async function runCell(client: NefsimClient, sessions: DesignSessions, path: string) {
  const { cell, outputs } = fakeCell('1 + 1');
  const ok = await runModelCell(client, sessions, () => path, {
    cell,
    onCellExecuted: () => undefined,
    onCellExecutionScheduled: () => undefined,
  } as never);
  return { ok, text: JSON.stringify(outputs), count: cell.model.executionCount };
}

describe('design sessions', () => {
  it('a session the service no longer has (closed by another page) is opened again, and the cell says its variables are gone', async () => {
    const svc = fakeService();
    const sessions = new DesignSessions(svc.asClient);
    expect((await runCell(svc.asClient, sessions, 'nb.ipynb')).ok).toBe(true);
    svc.open.clear();
    const second = await runCell(svc.asClient, sessions, 'nb.ipynb');
    expect(second.ok).toBe(true);
    expect(second.text).toContain('the service no longer had it');
    const third = await runCell(svc.asClient, sessions, 'nb.ipynb');
    expect(third.ok).toBe(true);
    expect(third.text).not.toContain('design session is new');
    const id = sessionIdFor('nb.ipynb');
    expect(svc.sent.filter((s) => s === `session.open ${id}`)).toHaveLength(2);
  });

  it('a cell that fails because its notebook closed (the session was closed while it ran) does not open the session again', async () => {
    const svc = fakeService();
    const sessions = new DesignSessions(svc.asClient);
    await sessions.ensure('nb.ipynb');
    const id = sessionIdFor('nb.ipynb');
    const request = svc.client.request;
    svc.client.request = async (type: string, params: Record<string, unknown>) => {
      if (type === 'cell.execute') throw new ServiceError('not_found', `session '${id}' was closed`);
      return request(type, params);
    };
    const r = await runCell(svc.asClient, sessions, 'nb.ipynb');
    expect(r.ok).toBe(false);
    expect(svc.sent.filter((s) => s === `session.open ${id}`)).toHaveLength(1);
  });

  it("numbers a cell by the session's count from the service (another page's cells counted too), also when it fails", async () => {
    const svc = fakeService();
    const sessions = new DesignSessions(svc.asClient);
    const request = svc.client.request;
    let n = 0;
    svc.client.request = async (type: string, params: Record<string, unknown>) => {
      if (type !== 'cell.execute') return request(type, params);
      n += 3; // two cells of another page in between
      if (n === 6) throw new ServiceError('execution_error', 'Error: x', { execution: n });
      return { result: { value: { 'text/plain': '2' }, execution: n }, arrays: new Map() };
    };
    expect((await runCell(svc.asClient, sessions, 'nb.ipynb')).count).toBe(3);
    expect((await runCell(svc.asClient, sessions, 'nb.ipynb')).count).toBe(6);
    expect((await runCell(svc.asClient, sessions, 'nb.ipynb')).count).toBe(9);
    expect(sessions.nextCount(sessionIdFor('nb.ipynb'))).toBe(10);
  });

  it("marks a defining cell's error line only where the line that ran still is (edited since: not at all)", () => {
    const ran = { line: 3, source: "  if (t > 0.005) throw new Error('sensor offline');" };
    const src = "const boom = new Network();\nboom.node((t) => {\n  if (t > 0.005) throw new Error('sensor offline');\n});";
    expect(stillAt(src, ran)).toBe(true);
    expect(stillAt('// a comment\n// another\n' + src, ran)).toBe(false);
    expect(stillAt(src, { line: 3 })).toBe(true); // no text to compare (an older service)
  });

  it('a rename heard twice (two views of one notebook) moves the session once, and the notebook still reaches it', async () => {
    const svc = fakeService();
    const sessions = new DesignSessions(svc.asClient);
    const key = await sessions.ensure('a.ipynb');
    sessions.markExecuted(key, 'c1', 'model = 1');
    await sessions.renamed('a.ipynb', 'b.ipynb');
    await sessions.renamed('a.ipynb', 'b.ipynb');
    expect(sessions.nameOf(sessions.idFor('b.ipynb'))).toBe(sessionIdFor('b.ipynb'));
    expect(sessions.isCurrent('b.ipynb', [{ id: 'c1', source: 'model = 1' }])).toBe(true);
    expect(svc.sent.filter((s) => s.startsWith('session.rename'))).toHaveLength(1);
  });

  it('a reset (Restart and Run All) and a close asked for while the service was unreachable are sent when it is back', async () => {
    const svc = fakeService();
    const sessions = new DesignSessions(svc.asClient);
    const a = await sessions.ensure('a.ipynb');
    await sessions.ensure('b.ipynb');
    svc.client.isConnected = false;
    svc.client.statusChanged.emit({ state: 'connecting' });
    await sessions.reset('a.ipynb');
    await sessions.close('b.ipynb');
    expect(svc.sent.some((s) => s.startsWith('session.reset') || s.startsWith('session.close'))).toBe(false);
    svc.client.isConnected = true;
    svc.connected.emit();
    await Promise.resolve();
    expect(svc.sent).toContain(`session.close ${sessionIdFor('b.ipynb')}`);
    await sessions.ensure('a.ipynb');
    const opens = svc.sent.lastIndexOf(`session.open ${a}`);
    expect(svc.sent[opens + 1]).toBe(`session.reset ${a}`);
  });
});
