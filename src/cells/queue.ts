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

  /** `run` after the session's cells queued before it, or `skip` if one of those failed. */
  enqueue(session: string, run: () => Promise<boolean>, skip: () => boolean): Promise<boolean> {
    const p = this.after(session).then((ok) => (ok ? run() : skip()));
    this.append(
      session,
      p.catch(() => false),
    );
    return p;
  }

  /**
   * `f` after the cells queued before it, whether they failed or not (a
   * session reset); the cells queued after it then run again.
   */
  barrier(session: string, f: () => Promise<void>): Promise<boolean> {
    const p = this.after(session)
      .then(f)
      .then(
        () => true,
        () => true,
      );
    this.append(session, p);
    return p;
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
