/**
 * The notebooks' design sessions on the nefsim service, as this page knows
 * them: their ids (renames included), which cells they ran, interrupts,
 * resets and the queue that runs their model cells one after another.
 */
import { NefsimClient, ServiceError } from '../client/client.js';
import { sessionIdFor } from './model.js';
import { CellQueue } from './queue.js';

/** Design sessions: one per notebook, opened (or re-attached) once per connection. */
export class DesignSessions {
  private opened = new Map<string, Promise<string>>();
  private counters = new Map<string, number>();
  /** Source of each model cell as last executed without error, per session. */
  private executed = new Map<string, Map<string, string>>();
  private readonly queue = new CellQueue();
  /** Sessions this page has opened, and those of them the service has lost (restarted) since. */
  private known = new Set<string>();
  private lost = new Set<string>();
  /** Session keys of renamed notebooks (and of new ones at a renamed one's old path), by path. */
  private aliases = new Map<string, string>();
  /** The service's id of a session whose key is not its id (its notebook was renamed), by key. */
  private names = new Map<string, string>();

  /** Keys whose session a reset asked for while the service was unreachable: reset when opened again. */
  private resetOnOpen = new Set<string>();
  /** Service ids of sessions whose notebook closed while the service was unreachable: closed on reconnection. */
  private closeOnConnect = new Set<string>();

  constructor(private readonly client: NefsimClient) {
    client.connected.connect(() => {
      this.forgetAll();
      for (const name of this.closeOnConnect)
        void this.client.request('session.close', { session: name }, { timeoutMs: 15_000 }).catch(() => undefined);
      this.closeOnConnect.clear();
    });
    client.statusChanged.connect((_, s) => {
      if (s.state !== 'connected') this.forgetAll();
    });
    client.event.connect((_, ev) => {
      // Another client interrupted the session, or its worker died: its variables are gone.
      if (ev.event === 'session.restarted' && typeof ev.session === 'string') this.executed.delete(this.keyOf(ev.session));
    });
  }

  /**
   * A notebook's session key, which this page's queue and records use for
   * as long as the notebook is open, also across renames (see renamed): at
   * first the session id its path gives. A new notebook at a path that a
   * renamed one left gets a key of its own, not the renamed notebook's.
   */
  idFor(notebookPath: string): string {
    const alias = this.aliases.get(notebookPath);
    if (alias !== undefined) return alias;
    const id = sessionIdFor(notebookPath);
    const held = new Set(this.aliases.values());
    if (!held.has(id)) return id;
    let n = 2;
    while (held.has(`${id}-${n}`)) n++;
    const key = `${id}-${n}`;
    this.aliases.set(notebookPath, key);
    // its id on the service is still the one its path gives, if the renamed notebook has moved its session away
    if (!this.nameInUse(id, key)) this.names.set(key, id);
    return key;
  }

  /** The session's id on the service, for requests: its key, or the id its notebook's new path gave it. */
  nameOf(key: string): string {
    return this.names.get(key) ?? key;
  }

  private keyOf(name: string): string {
    for (const [key, n] of this.names) if (n === name) return key;
    return name;
  }

  private nameInUse(name: string, except: string): boolean {
    for (const key of new Set([...this.known, ...this.aliases.values()])) if (key !== except && this.nameOf(key) === name) return true;
    return false;
  }

  /**
   * A notebook was renamed: it keeps its session (its variables and cells),
   * and the service gives the session the id of the new path, so that the
   * notebook finds it again after the page reloads. If that id is taken, the
   * session keeps its id (found from this page only).
   */
  async renamed(oldPath: string, newPath: string): Promise<void> {
    // the same rename heard again (a second view of the notebook shares its context): done already
    if (!this.aliases.has(oldPath) && this.aliases.get(newPath) === sessionIdFor(oldPath)) return;
    const key = this.idFor(oldPath);
    this.aliases.delete(oldPath);
    this.aliases.set(newPath, key);
    const from = this.nameOf(key);
    const to = sessionIdFor(newPath);
    if (to === from || this.nameInUse(to, key)) return;
    // at once, so that a cell sent from now on reaches the session under the id it will have
    const setName = (name: string) => (name === key ? this.names.delete(key) : this.names.set(key, name));
    setName(to);
    if (!this.client.isConnected) return; // nothing to move: a session held on the service is reaped when idle
    try {
      await this.client.request('session.rename', { session: from, to, label: newPath }, { timeoutMs: 15_000 });
    } catch (err) {
      if (err instanceof ServiceError && err.code === 'not_found') return; // not on the service: opened under `to` when needed
      if (this.nameOf(key) === to) setName(from); // refused (the id is taken): the session keeps its id
      throw err;
    }
  }

  /** The notebook's last panel closed: its session goes, so that it holds no worker on the service. */
  async close(notebookPath: string): Promise<void> {
    const id = this.idFor(notebookPath);
    const name = this.nameOf(id);
    this.aliases.delete(notebookPath);
    this.names.delete(id);
    this.opened.delete(id);
    this.known.delete(id);
    this.lost.delete(id);
    this.executed.delete(id);
    this.counters.delete(id);
    this.resetOnOpen.delete(id);
    if (!this.client.isConnected) {
      this.closeOnConnect.add(name);
      return;
    }
    await this.client.request('session.close', { session: name }, { timeoutMs: 15_000 }).catch(ignoreNotFound);
  }

  private forgetAll(): void {
    this.opened.clear();
    this.executed.clear();
  }

  markExecuted(sessionId: string, cellId: string, source: string): void {
    let m = this.executed.get(sessionId);
    if (!m) this.executed.set(sessionId, (m = new Map()));
    m.set(cellId, source);
  }

  /** Are these model cells, with these sources, what the session last executed? */
  isCurrent(notebookPath: string, cells: { id: string; source: string }[]): boolean {
    const m = this.executed.get(this.idFor(notebookPath));
    if (!m) return false;
    return cells.every((c) => m.get(c.id) === c.source);
  }

  /**
   * Opens the notebook's session if needed; resolves with its id. While the
   * service is down it waits for the connection, but not for ever: a cell
   * then says so instead of staying at [*].
   */
  ensure(notebookPath: string): Promise<string> {
    const id = this.idFor(notebookPath);
    let p = this.opened.get(id);
    if (!p) {
      const name = this.nameOf(id);
      // closed while the service was unreachable, and opened again before the close could be sent: closed first
      const closing = this.closeOnConnect.delete(name)
        ? this.client.request('session.close', { session: name }, { waitForConnection: true, timeoutMs: 30_000 }).then(
            () => undefined,
            () => undefined,
          )
        : Promise.resolve();
      const open = closing
        .then(() =>
          this.client.request('session.open', { session: name, label: notebookPath }, { waitForConnection: true, timeoutMs: 30_000 }),
        )
        .then(async (reply) => {
          // made anew where this page had it before: the service restarted, and the session's state is gone
          const result = reply.result as { created?: unknown; executions?: unknown } | null;
          if (result?.created === true && this.known.has(id)) this.lost.add(id);
          this.known.add(id);
          // the service counts the session's cells: a reloaded page numbers on from there, as Jupyter does
          if (typeof result?.executions === 'number' && result.executions > (this.counters.get(id) ?? 0))
            this.counters.set(id, result.executions);
          // a reset asked for while the service was unreachable (Restart and Run All): done before any cell runs
          if (this.resetOnOpen.delete(id) && result?.created !== true) {
            await this.client.request('session.reset', { session: name }, { timeoutMs: 15_000 }).catch(ignoreNotFound);
            this.counters.delete(id);
          }
          return id;
        });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<string>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`not connected after ${CONNECT_WAIT_MS / 1000} s (${this.client.status.detail}); see the status bar`)),
          CONNECT_WAIT_MS,
        );
      });
      p = Promise.race([open, late]).finally(() => clearTimeout(timer));
      p.catch(() => {
        if (this.opened.get(id) === p) this.opened.delete(id);
      });
      open.catch(() => undefined); // raced: its failure is p's
      this.opened.set(id, p);
    }
    return p;
  }

  /**
   * The service says it has no such session, although this page opened it
   * (another page closed it with force, or renamed it): the next ensure()
   * opens it anew, and its next cell says that its variables are gone.
   */
  forgetOpened(key: string): void {
    this.opened.delete(key);
    this.executed.delete(key);
    this.lost.add(key);
    this.known.add(key);
  }

  /** Whether the session was lost (the service restarted) since this page last ran a cell in it; asks once. */
  takeLost(sessionId: string): boolean {
    return this.lost.delete(sessionId);
  }

  /** Runs a session's cells one after another (see CellQueue). */
  enqueue(sessionId: string, run: () => Promise<boolean>, skip: () => boolean): Promise<boolean> {
    return this.queue.enqueue(sessionId, run, skip);
  }

  /** The service numbered the cell (its count for the session, shared by every page on it): go on from there. */
  tookCount(sessionId: string, n: number): void {
    if (n > (this.counters.get(sessionId) ?? 0)) this.counters.set(sessionId, n);
  }

  nextCount(sessionId: string): number {
    const n = (this.counters.get(sessionId) ?? 0) + 1;
    this.counters.set(sessionId, n);
    return n;
  }

  async interrupt(notebookPath: string): Promise<void> {
    const id = this.idFor(notebookPath);
    // Interrupting restarts the session's worker: its state is gone.
    this.executed.delete(id);
    // not gated on having opened it in this page: a cell may loop since before a reload or reconnect
    if (!this.client.isConnected) return;
    await this.client.request('session.interrupt', { session: this.nameOf(id) }, { timeoutMs: 15_000 }).catch(ignoreNotFound);
  }

  /**
   * Resets the session at once, stopping a cell that runs and dropping the
   * cells queued, and before the cells queued after (a kernel restart, then
   * Run All).
   */
  resetForRestart(notebookPath: string): Promise<boolean> {
    const id = this.idFor(notebookPath);
    return this.queue.restart(id, () => this.reset(notebookPath));
  }

  async reset(notebookPath: string): Promise<void> {
    const id = this.idFor(notebookPath);
    this.counters.delete(id);
    this.executed.delete(id);
    if (!this.client.isConnected) {
      this.resetOnOpen.add(id);
      return;
    }
    await this.client.request('session.reset', { session: this.nameOf(id) }, { timeoutMs: 15_000 }).catch(ignoreNotFound);
  }
}

/** How long a cell waits for the service's connection before it fails with a message. */
const CONNECT_WAIT_MS = 15_000;

/** A session the service does not have (never opened, or closed) has nothing to interrupt or reset. */
function ignoreNotFound(err: unknown): void {
  if (err instanceof ServiceError && err.code === 'not_found') return;
  throw err;
}
