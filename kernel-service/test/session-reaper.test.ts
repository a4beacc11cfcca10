/**
 * The service's session reaper (SessionManager.reap, which the service calls
 * every minute with its --session-idle-minutes): a session that no client
 * holds and that was unused for the idle time is closed; a held one never
 * is; a busy one (a cell still running, its client gone) gets four times
 * the idle time, and its pending cell then fails as closed. Real session
 * workers of the built package (npm run build first); the sessions' last
 * use is set back instead of waiting.
 */
import { afterAll, describe, expect, it } from 'vitest';

type SessionsModule = typeof import('../src/server/sessions.js');
const { SessionManager } = (await import(new URL('../lib/server/sessions.js', import.meta.url).href)) as SessionsModule;

const manager = new SessionManager({ memoryMb: 256, budgetSeconds: 600, maxSims: 4, maxSessions: 8 });
afterAll(() => manager.closeAll());

const IDLE_MS = 10_000;
const isOpen = (id: string): boolean => manager.list().some((s) => s.id === id);

describe('session reaper', () => {
  it('closes idle sessions no client holds, keeps held ones, and gives a busy one four times the idle time', async () => {
    const held = manager.open(undefined, 'held').session;
    const idle = manager.open(undefined, 'idle').session;
    const busy = manager.open(undefined, 'busy').session;
    const fresh = manager.open(undefined, 'fresh').session;
    await held.request({ op: 'execute', code: 'const x = 1;', cell: 'c1' });
    // a cell that is still running when its client goes away
    const running = busy.request({ op: 'execute', code: 'await new Promise((r) => setTimeout(r, 120_000));', cell: 'c2' });
    const outcome = running.then(
      () => 'finished',
      (e: { code?: string }) => e.code ?? 'error',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(busy.busy).toBe(true);

    const longAgo = Date.now() - IDLE_MS - 1_000;
    held.lastUsed = idle.lastUsed = busy.lastUsed = longAgo;
    await manager.reap(IDLE_MS, (id) => id === held.id);
    expect(isOpen(idle.id)).toBe(false);
    expect(idle.closed).toBe(true);
    expect(isOpen(held.id)).toBe(true);
    expect(isOpen(busy.id)).toBe(true); // busy: idle for less than 4x
    expect(isOpen(fresh.id)).toBe(true); // used just now

    busy.lastUsed = Date.now() - 4 * IDLE_MS - 1_000;
    await manager.reap(IDLE_MS, (id) => id === held.id);
    expect(isOpen(busy.id)).toBe(false);
    expect(await outcome).toBe('not_found'); // its cell fails as closed, it does not hang
    expect(isOpen(held.id)).toBe(true);

    // the held session still works after the reaping around it
    const r = await held.request({ op: 'execute', code: 'x + 1', cell: 'c3' });
    expect(JSON.stringify(r.result)).toContain('2');
  }, 30_000);
});
