/**
 * Loading a model module: an ES module whose default export is a Network or
 * a function (params) => Network (or a promise of one). Its `import ... from
 * 'nefsim'` resolves to this package wherever the file is: by Node itself
 * where a node_modules/nefsim in the file's folder or above is this package
 * (every run folder has one, see linkEngine) and the file imports no other
 * module (see importsOnlyNefsim), else through a resolve hook
 * (resolve-hooks.ts), which Node runs on a thread of its own: about 0.15 s
 * of CPU and 70 ms of a run's start here, so it is registered only when
 * needed. Failures become a ModelError naming the file and line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { isBuiltin, register } from 'node:module';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NefsimError } from '../engine/errors.js';
import { Network } from '../engine/network.js';
import { objectIdMark, resetObjectIds } from '../engine/objects.js';

/** A model that cannot be loaded: the message names the file, and the line when known. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number | undefined,
    /** Label of the object at fault when the model threw an engine error. */
    readonly object: string | undefined,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

let registered = false;

/** This package's folder, and the entry that `import 'nefsim'` must reach (src/index.ts under the tests). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OWN_ENTRY = fileURLToPath(new URL('../index.js', import.meta.url));

/**
 * Whether Node alone resolves `import 'nefsim'` in the module at `path` to
 * this very package (the nearest node_modules/nefsim above it is this
 * package, and this is its built entry lib/index.js): then the model and the
 * caller share one engine without the hook.
 */
function resolvesNatively(path: string): boolean {
  if (OWN_ENTRY !== join(PACKAGE_ROOT, 'lib', 'index.js') || preservesSymlinks()) return false;
  let real: string;
  try {
    real = realpathSync(path); // Node resolves from the file's real place
  } catch {
    return false;
  }
  for (let dir = dirname(real); ;) {
    const link = join(dir, 'node_modules', 'nefsim');
    if (existsSync(link)) {
      try {
        return realpathSync(link) === realpathSync(PACKAGE_ROOT);
      } catch {
        return false;
      }
    }
    const up = dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

/** With --preserve-symlinks, Node would load the engine through the link's path: a second instance. */
function preservesSymlinks(): boolean {
  const flag = /--preserve-symlinks(?![-\w])/;
  return (
    process.execArgv.some((a) => flag.test(a)) ||
    flag.test(process.env['NODE_OPTIONS'] ?? '') ||
    process.env['NODE_PRESERVE_SYMLINKS'] === '1'
  );
}

/**
 * Puts node_modules/nefsim, a link to this package, in a run folder, so that
 * its model.mjs resolves `import 'nefsim'` without the resolve hook. Best
 * effort: without it (no symlinks here, or a folder moved to a machine
 * where the link points nowhere) the hook does the work.
 */
export function linkEngine(folder: string): void {
  try {
    mkdirSync(join(folder, 'node_modules'), { recursive: true });
    symlinkSync(realpathSync(PACKAGE_ROOT), join(folder, 'node_modules', 'nefsim'), 'dir');
  } catch {
    // the hook resolves it
  }
}

/**
 * Whether the module at `path` imports nothing but 'nefsim' and Node's
 * builtins (the usual model). Any other module it imports (a helper file, a
 * package) may import 'nefsim' from a folder without the link, where only the
 * hook resolves it; and a failed resolution cannot be retried in the same
 * process (Node keeps the failed module), so such a model gets the hook
 * first. Read conservatively, as words rather than syntax: every `from`
 * (but `.from`, as in Array.from) must be followed by the quoted name of
 * 'nefsim' or a builtin, and every `import` by an import clause ({, *, a
 * name), `.meta`, or such a quoted name (in parentheses or not); and the
 * words createRequire, getBuiltinModule and require (which load modules
 * through node:module) must not appear. Anything else, also in a comment or
 * a string, means the hook (it only costs time) and, for a batch, a process
 * per trial.
 */
export function importsOnlyNefsim(path: string): boolean {
  let src: string;
  try {
    src = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  // require() through node:module loads other modules too (whose state a trial worker would share)
  if (/\b(createRequire|getBuiltinModule|require)\b/.test(src)) return false;
  const allowed = (spec: string): boolean => spec === 'nefsim' || isBuiltin(spec);
  for (const m of src.matchAll(/(?<![.\w$])from\b(\s*)(['"]?)([^'"\n]*)\2/g)) {
    if (m[2] === '' || !allowed(m[3]!)) return false;
  }
  for (const m of src.matchAll(/(?<![.\w$])import\b\s*(\(?)\s*(?:(['"])([^'"\n]*)\2)?/g)) {
    if (m[2] !== undefined) {
      if (!allowed(m[3]!)) return false;
      continue;
    }
    if (m[1] === '(') return false; // import() of a computed name
    const next = src.slice(m.index! + m[0].length, m.index! + m[0].length + 1);
    if (!/[{*\w$.]/.test(next)) return false;
  }
  return true;
}

/** Makes `import 'nefsim'` in model files resolve to this package (once per process). */
export function registerNefsimResolver(): void {
  if (registered) return;
  register('./resolve-hooks.js', import.meta.url);
  registered = true;
}

/** Imports a model file and returns its network. `file` is shown in messages as given. */
export async function loadModel(
  file: string,
  params: Record<string, unknown> = {},
  /** Refuse a default export that is not a function: a sweep, or --params, gives it parameters. */
  opts: { requireFunction?: 'sweep' | 'params' } = {},
): Promise<Network> {
  return (await importModel(file, opts)).network(params);
}

/** A model module, imported once: its network for given parameters (a function's export is called each time). */
export interface ImportedModel {
  network(params: Record<string, unknown>): Promise<Network>;
}

/** Imports a model module (see loadModel), checking its default export; its networks come from `network`. */
export async function importModel(file: string, opts: { requireFunction?: 'sweep' | 'params' } = {}): Promise<ImportedModel> {
  const path = resolvePath(file);
  const url = pathToFileURL(path).href;
  if (!(resolvesNatively(path) && importsOnlyNefsim(path))) registerNefsimResolver();
  let mod: { default?: unknown };
  // Unlabeled objects are named by number (`Ensemble #3`): from 1 for every load, so that a model's
  // names do not depend on what this process loaded before (a check before a run, a trial worker's
  // earlier trials). The ids only need to be unique within one network.
  resetObjectIds();
  loading.add(file);
  try {
    // A query makes every load a fresh module instance (the same file may be loaded again by a run).
    mod = (await import(`${url}?load=${++loads}`)) as { default?: unknown };
  } catch (err) {
    throw describeFailure(err, file, path, url, 'loading');
  } finally {
    loading.delete(file);
  }
  if (!('default' in mod) || mod.default === undefined) {
    throw new ModelError(
      `${file}: the model has no default export; end it with 'export default net' (a Network) or 'export default (params) => net'`,
      file,
      undefined,
      undefined,
    );
  }
  const exported: unknown = mod.default;
  const idMark = objectIdMark(); // after the module's own objects
  if (opts.requireFunction && typeof exported !== 'function') {
    throw new ModelError(
      opts.requireFunction === 'sweep'
        ? `${file}: a sweep needs the default export to be a function (params) => Network, so that each parameter set builds its own network`
        : `${file}: --params needs the default export to be a function (params) => Network; this model exports a network, which would ignore them`,
      file,
      undefined,
      undefined,
    );
  }
  return {
    async network(params: Record<string, unknown>): Promise<Network> {
      let value = exported;
      if (typeof value === 'function') {
        resetObjectIds(idMark); // as after a fresh load: names do not depend on earlier calls
        loading.add(file);
        try {
          value = await (value as (p: Record<string, unknown>) => unknown)(params);
        } catch (err) {
          throw describeFailure(err, file, path, url, 'building the network');
        } finally {
          loading.delete(file);
        }
      }
      if (!(value instanceof Network)) {
        const got = value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
        throw new ModelError(
          `${file}: the default export must be a Network or a function returning one (got ${got})`,
          file,
          undefined,
          undefined,
        );
      }
      return value;
    },
  };
}

let loads = 0;

/** The model files whose module, or whose default export's network, is being awaited now. */
const loading = new Set<string>();

/**
 * The model files being loaded (as given), for the `nefsim` command's last word when its process runs out of
 * work while it awaits one: that said only 'a model's top-level await ... never resolves', naming no file.
 */
export function modelsLoading(): string[] {
  return [...loading];
}

function describeFailure(err: unknown, file: string, path: string, url: string, doing: string): ModelError {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof SyntaxError) {
    // Dynamic import() does not say where a syntax error is; `node --check` does.
    const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 20_000 });
    const out = (check.stderr ?? '').trim();
    const m = /^(.*):(\d+)\n([^\n]*)\n([ \t]*\^+[^\n]*)?/.exec(out);
    if (m) {
      const line = Number(m[2]);
      return new ModelError(`${file}:${line}: ${e.name}: ${e.message}\n    ${m[3]}\n    ${m[4] ?? ''}`.trimEnd(), file, line, undefined);
    }
    return new ModelError(`${file}: ${e.name}: ${e.message}`, file, undefined, undefined);
  }
  const code = (e as NodeJS.ErrnoException).code;
  // (a model.txt read 'the model threw while loading: TypeError: Unknown file extension ".txt"')
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && e.message.includes(path)) {
    return new ModelError(
      `${file}: cannot load the model: it is not a JavaScript module (Node loads .mjs, .js and .cjs files; ${e.message})`,
      file,
      undefined,
      undefined,
    );
  }
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
    return new ModelError(`${file}: cannot load the model: ${e.message}`, file, undefined, undefined);
  }
  const object = e instanceof NefsimError ? e.object : undefined;
  const line = lineIn(e.stack, url, path);
  const where = line === undefined ? file : `${file}:${line.line}:${line.col}`;
  return new ModelError(
    `${where}: the model threw while ${doing}: ${e.name}: ${e.message}${object !== undefined ? ` (object at fault: ${object})` : ''}`,
    file,
    line?.line,
    object,
  );
}

/** The first stack frame inside the model file. */
function lineIn(stack: string | undefined, url: string, path: string): { line: number; col: number } | undefined {
  if (!stack) return undefined;
  for (const frame of stack.split('\n')) {
    for (const prefix of [url, path]) {
      const i = frame.indexOf(prefix);
      if (i < 0) continue;
      const m = /^(?:\?[^:]*)?:(\d+):(\d+)/.exec(frame.slice(i + prefix.length));
      if (m) return { line: Number(m[1]), col: Number(m[2]) };
    }
  }
  return undefined;
}
