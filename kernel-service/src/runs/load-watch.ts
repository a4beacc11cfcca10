/**
 * Waits for a run's model to load (its module and the network its default
 * export gives) in a way that can be given up:
 * - a cancel while it loads ends the wait at once (a model that awaits a slow
 *   or endless thing would otherwise keep a cancelled run, and `nefsim
 *   cancel`, waiting for ever);
 * - a load that waits on a promise nothing can settle any more (a model's
 *   top-level await, or its default export's promise, that never resolves)
 *   fails, instead of hanging its process: a detached run or a batch's trial
 *   worker holds handles of its own (the probe writer thread, the IPC channel
 *   to its batch) that keep Node's event loop alive for ever.
 *
 * The second is Node's own verdict, the one that ends a plain script whose
 * top-level await never settles: while the model loads, the process's own
 * handles are unref'd, so the event loop runs out of work ('beforeExit')
 * exactly when nothing the model started (a timer, a file read, a socket, a
 * thread of its own) is left to settle its promise. Node waits for pending
 * background work (WebAssembly compiles) before it says so.
 */

/** A handle that keeps the event loop alive while it is ref'd (a Worker, a child's IPC channel, a timer). */
export interface LoopHandle {
  ref(): void;
  unref(): void;
}

/** The load was given up because the run was cancelled while it loaded. */
export class LoadCancelled extends Error {
  constructor(readonly signal: string) {
    super(`cancelled by ${signal} while the model loaded`);
    this.name = 'LoadCancelled';
  }
}

/** The model's load waits on a promise that nothing can settle any more. */
export class LoadNeverSettles extends Error {
  constructor() {
    super(
      "the model's load waits on a promise that nothing can settle any more (a top-level await, or the promise its " +
        'default export returns, that never resolves): nothing it started, no timer, file read, socket or thread, is left to settle it',
    );
    this.name = 'LoadNeverSettles';
  }
}

let stallCaught = false;

/**
 * Has a load watcher just caught a stall (and goes on to record the run's
 * end)? For the `nefsim` command's own 'beforeExit' listener, which otherwise
 * ends a process whose command is unfinished.
 */
export function loadStallCaught(): boolean {
  return stallCaught;
}

/**
 * `load`, unless the run is cancelled first (`cancelled` resolves with the
 * signal's name: rejects with LoadCancelled) or the load can no longer settle
 * (rejects with LoadNeverSettles). `hold` are this process's own handles:
 * unref'd while the load runs, ref'd again after.
 */
export async function watchLoad<T>(
  load: Promise<T>,
  cancelled: Promise<string>,
  hold: LoopHandle[],
  /** Looked at every second while the load runs: a cancel asked for otherwise than by a signal (its reason). */
  poll?: () => string | undefined,
): Promise<T> {
  let onBeforeExit: (() => void) | undefined;
  const stalled = new Promise<never>((_, reject) => {
    onBeforeExit = () => {
      stallCaught = true;
      reject(new LoadNeverSettles());
    };
    // first, so that the command's own listener hears that the stall is taken care of
    process.prependOnceListener('beforeExit', onBeforeExit);
  });
  let polled: ((signal: string) => void) | undefined;
  const asked = new Promise<string>((resolve) => (polled = resolve));
  const timer = poll
    ? setInterval(() => {
        const reason = poll();
        if (reason !== undefined) polled!(reason);
      }, 1000)
    : undefined;
  timer?.unref();
  const stopped = Promise.race([cancelled, asked]).then((signal) => Promise.reject(new LoadCancelled(signal)));
  for (const h of hold) h.unref();
  try {
    return await Promise.race([load, stalled, stopped]);
  } finally {
    // after every 'beforeExit' listener has run (this runs in a microtask)
    stallCaught = false;
    clearInterval(timer);
    for (const h of hold) h.ref();
    process.off('beforeExit', onBeforeExit!);
    // the losers' rejections are expected: not unhandled
    stalled.catch(() => undefined);
    stopped.catch(() => undefined);
    load.catch(() => undefined);
  }
}
