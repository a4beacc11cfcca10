/**
 * Model cells of one design session run one after another. JupyterLab's Run
 * All starts every cell at once; sent together, they would all reach the
 * session's queue, and the cells after a failing one would run on stale
 * state. Here each waits for the cells queued before it, and is skipped if
 * one of them failed, as a notebook stops at a failing cell. When the queue
 * empties, later cells start afresh.
 */
export class CellQueue {
  /** The last cell queued per session. */
  private tails = new Map<string, Promise<boolean>>();
  /** Restarts per session: a cell queued before one does not run. */
  private generations = new Map<string, number>();

  /** `run` after the session's cells queued before it, or `skip` if one of those failed or the session restarted since. */
  enqueue(session: string, run: () => Promise<boolean>, skip: () => boolean): Promise<boolean> {
    const generation = this.generation(session);
    const p = this.after(session).then((ok) => (ok && this.generation(session) === generation ? run() : skip()));
    this.append(
      session,
      p.catch(() => false),
    );
    return p;
  }

  /**
   * A kernel restart: `f` (the session's reset, which stops a cell that is
   * running) at once, not after the cells queued before it, which are
   * skipped if they have not started; the cells queued after it wait for it
   * (Restart and Run All). Waiting for the cells before it, a restart never
   * came while a cell looped.
   */
  restart(session: string, f: () => Promise<void>): Promise<boolean> {
    this.generations.set(session, this.generation(session) + 1);
    const p = f().then(
      () => true,
      () => true,
    );
    this.append(session, p);
    return p;
  }

  private generation(session: string): number {
    return this.generations.get(session) ?? 0;
  }

  /** Resolves when the session's last queued cell is done: true unless it failed. */
  private after(session: string): Promise<boolean> {
    return this.tails.get(session) ?? Promise.resolve(true);
  }

  /** `tail` is now the session's last; once done and still last, the queue is empty (later cells start afresh). */
  private append(session: string, tail: Promise<boolean>): void {
    this.tails.set(session, tail);
    void tail.then(() => {
      if (this.tails.get(session) === tail) this.tails.delete(session);
    });
  }
}
