/**
 * Errors raised by the engine. Every message names the object at fault (by
 * its label, or its kind and index when it has no label) and says what to do.
 */
export class NefsimError extends Error {
  /** Label of the object at fault, when there is one. */
  readonly object: string | undefined;
  /** `cause`: the error of the user's code (a function of a node or connection) that this one reports. */
  constructor(message: string, object?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NefsimError';
    this.object = object;
  }
}

/** Invalid parameters given to a constructor or option (e.g. a negative tau). */
export class ValidationError extends NefsimError {
  constructor(message: string, object?: string) {
    super(message, object);
    this.name = 'ValidationError';
  }
}

/** A model that cannot be built (shape mismatch, algebraic loop, bad function output). */
export class BuildError extends NefsimError {
  constructor(message: string, object?: string, options?: { cause?: unknown }) {
    super(message, object, options);
    this.name = 'BuildError';
  }
}

/** A failure while the simulation runs (e.g. a Node function throws or returns NaN). */
export class SimulationError extends NefsimError {
  constructor(message: string, object?: string, options?: { cause?: unknown }) {
    super(message, object, options);
    this.name = 'SimulationError';
  }
}

/** Throws a ValidationError if `opts` has keys outside `allowed`, suggesting the nearest name. */
export function checkKnownOptions(
  opts: object | undefined,
  allowed: readonly string[],
  what: string,
  /** Advice for options that belong elsewhere (e.g. a connection's `weights`, which is the solver's). */
  elsewhere: Readonly<Record<string, string>> = {},
): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object') throw new ValidationError(`${what}: options must be an object, got ${typeof opts}`);
  for (const key of Object.keys(opts)) {
    if (!allowed.includes(key)) {
      const near = nearest(key, allowed);
      const advice = Object.hasOwn(elsewhere, key) ? ` ${elsewhere[key]}` : near ? ` Did you mean '${near}'?` : '';
      throw new ValidationError(`${what}: unknown option '${key}'.${advice} Known options: ${allowed.join(', ')}.`);
    }
  }
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The message of anything thrown: an Error's message, else the value as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
