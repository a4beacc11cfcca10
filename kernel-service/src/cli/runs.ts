/**
 * `nefsim run`, `nefsim status` and `nefsim cancel`: long runs in run folders
 * (see ../runs/folder.ts for the layout).
 */
import { parse as parseModule, type Node as AcornNode } from 'acorn';
import { MAX_RUN_STEPS, stepsIn } from '../engine/steps.js';
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cancelRequested,
  claimState,
  CLAIM_FILE,
  claimRecord,
  currentStatus,
  FILES,
  isRunFolder,
  isTerminal,
  processAlive,
  processGroup,
  processStartTime,
  readExit,
  readExitChecked,
  readJson,
  readStatus,
  requestCancel,
  seenHere,
  STALE_MS,
  writeJsonAtomic,
  type RunOptions,
  type RunStatus,
} from '../runs/folder.js';
import { messageOf } from '../engine/errors.js';
import { Network } from '../engine/network.js';
import { entropySeed } from '../engine/rng.js';
import {
  BATCH_FILES,
  cancelQueued,
  currentBatchStatus,
  defaultJobs,
  driveBatch,
  emptyCounts,
  formatBatchStatus,
  isBatchFolder,
  readBatchStatus,
  readPlan,
  type BatchPlan,
  type BatchStatus,
} from '../runs/batch.js';
import { importModel, linkEngine, loadModel, ModelError } from '../runs/model.js';
import {
  cancelJob,
  jobListed,
  outputPath,
  requireSlurm,
  sbatchArgs,
  SlurmError,
  submit,
  unusableFolder,
  validSlurmTime,
  writeJobScript,
  type SlurmOptions,
} from '../runs/slurm.js';
import { executeRun } from '../runs/runner.js';
import { ENGINE_NODE_FLAGS } from '../engine/node-flags.js';
import { version } from '../version.js';

/** A command line mistake: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

interface OptionSpec {
  name: string;
  value: boolean;
  /** May be given more than once (values collected in `multi`). */
  repeat?: boolean;
}

/** Parses `--name value`, `--name=value` and flags; positional words are returned in order. */
function parseArgs(
  cmd: string,
  args: string[],
  specs: OptionSpec[],
): { positional: string[]; opts: Map<string, string | true>; multi: Map<string, string[]> } {
  const positional: string[] = [];
  const opts = new Map<string, string | true>();
  const multi = new Map<string, string[]>();
  const known = (): string => specs.map((s) => `--${s.name}`).join(', ') || 'none';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    // -o, -d: no short options (it read as a second model file or run folder); -1 is a word
    if (/^-[A-Za-z]/.test(a)) throw new UsageError(`nefsim ${cmd}: unknown option '${a}' (known options: ${known()})`);
    if (!a.startsWith('--') || a === '--') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`nefsim ${cmd}: unknown option '--${name}' (known options: ${known()})`);
    if (!spec.value) {
      if (eq >= 0) throw new UsageError(`nefsim ${cmd}: --${name} takes no value`);
      opts.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '') throw new UsageError(`nefsim ${cmd}: --${name} needs a value`);
    // `--out --force` is a forgotten value, not a folder named --force (--name=--x still passes one)
    if (eq < 0 && value.startsWith('--'))
      throw new UsageError(`nefsim ${cmd}: --${name} needs a value, got the option '${value}' (write --${name}=${value} if you mean it)`);
    if (spec.repeat) multi.set(name, [...(multi.get(name) ?? []), value]);
    else if (opts.has(name)) throw new UsageError(`nefsim ${cmd}: --${name} given twice`);
    opts.set(name, value);
  }
  return { positional, opts, multi };
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function numberOption(cmd: string, opts: Map<string, string | true>, name: string, fallback: number): number {
  const v = opts.get(name);
  if (v === undefined) return fallback;
  // decimal only: Number() would also take '0x10', '0b1' and '' (as 16, 1 and 0)
  if (typeof v !== 'string' || !DECIMAL.test(v.trim()) || !Number.isFinite(Number(v)))
    throw new UsageError(`nefsim ${cmd}: --${name} must be a number, got '${String(v)}'`);
  return Number(v);
}

const RUN_OPTIONS: OptionSpec[] = [
  { name: 'duration', value: true },
  { name: 'dt', value: true },
  { name: 'seed', value: true },
  { name: 'params', value: true },
  { name: 'trials', value: true },
  { name: 'sweep', value: true },
  { name: 'jobs', value: true },
  { name: 'process-per-trial', value: false },
  { name: 'partitions', value: true },
  { name: 'dtype', value: true },
  { name: 'pin', value: true },
  { name: 'executor', value: true },
  { name: 'slurm-partition', value: true },
  { name: 'slurm-time', value: true },
  { name: 'slurm-account', value: true },
  { name: 'sbatch-arg', value: true, repeat: true },
  { name: 'out', value: true },
  { name: 'force', value: false },
  { name: 'detach', value: false },
];

const MAX_TRIALS = 100_000;

/** Reads a JSON file given to an option, with messages naming the option and the file. */
function readJsonOption(cmd: string, name: string, file: string): unknown {
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`nefsim ${cmd}: --${name} ${file}: no such file`);
  if (!st.isFile()) throw new UsageError(`nefsim ${cmd}: --${name} ${file}: a folder, not a JSON file`);
  try {
    // a byte-order mark, as some editors write, is not JSON's but is no reason to refuse the file
    return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as unknown;
  } catch (err) {
    throw new UsageError(`nefsim ${cmd}: --${name} ${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/**
 * `nefsim run MODEL.js [--duration S] [--dt S] [--seed N] [--params P.json]
 *  [--partitions P] [--pin PINS.json] [--dtype float64|float32] [--trials N | --sweep PARAMS.json] [--jobs J] [--process-per-trial] [--executor local]
 *  [--out DIR] [--force] [--detach]`
 */
/** `nefsim summary MODEL.js [--dt S]`: builds the model and prints what was built (JSON). */
export async function summaryCommand(args: string[]): Promise<number> {
  const { positional, opts } = parseArgs('summary', args, [{ name: 'dt', value: true }]);
  if (positional.length === 0) throw new UsageError('nefsim summary: give the model file, e.g. nefsim summary examples/model.mjs');
  if (positional.length > 1) throw new UsageError(`nefsim summary: one model file only, got ${positional.map((p) => `'${p}'`).join(' ')}`);
  const file = positional[0]!;
  const dt = numberOption('summary', opts, 'dt', 0.001);
  if (!(dt > 0 && dt <= 1)) throw new UsageError(`nefsim summary: --dt must be in (0, 1] seconds, got ${dt}`);
  checkModelFile('summary', file);
  const { Simulator } = await import('../engine/simulator.js');
  let net: Network;
  try {
    net = await loadModel(file, {});
  } catch (err) {
    if (!(err instanceof ModelError)) throw err;
    console.error(`nefsim summary: ${err.message}`);
    return 1;
  }
  const sim = new Simulator(net, { dt });
  console.log(JSON.stringify(sim.summary(), null, 2));
  return 0;
}

export async function runCommand(args: string[], argv: string[]): Promise<number> {
  const { positional, opts, multi } = parseArgs('run', args, RUN_OPTIONS);
  if (positional.length === 0) throw new UsageError('nefsim run: give the model file, e.g. nefsim run model.mjs --duration 10');
  if (positional.length > 1) throw new UsageError(`nefsim run: one model file only, got ${positional.map((p) => `'${p}'`).join(' ')}`);
  const file = positional[0]!;
  const duration = numberOption('run', opts, 'duration', 1);
  const dt = numberOption('run', opts, 'dt', 0.001);
  const seedRaw = opts.get('seed');
  const seed = seedRaw === undefined ? null : numberOption('run', opts, 'seed', 0);
  if (!(duration > 0)) throw new UsageError(`nefsim run: --duration must be a positive number of seconds, got ${duration}`);
  if (!(dt > 0 && dt <= 1)) throw new UsageError(`nefsim run: --dt must be in (0, 1] seconds, got ${dt}`);
  if (dt > duration) throw new UsageError(`nefsim run: --dt (${dt}) is longer than --duration (${duration})`);
  const steps = stepsIn(duration, dt);
  if (Math.abs(steps * dt - duration) > 1e-9 * duration)
    console.error(
      `nefsim run: note: --duration ${duration} is not a whole number of steps of --dt ${dt}; ` +
        `the run takes ${steps} steps (${+(steps * dt).toPrecision(12)} s), rounded as Nengo's Simulator.run rounds`,
    );
  if (steps > MAX_RUN_STEPS) throw new UsageError(`nefsim run: --duration / --dt gives too many steps (${steps})`);
  if (seed !== null && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new UsageError(`nefsim run: --seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const executor = (opts.get('executor') as string | undefined) ?? 'local';
  if (executor !== 'local' && executor !== 'slurm')
    throw new UsageError(`nefsim run: --executor must be 'local' or 'slurm', got '${executor}'`);
  let slurm: SlurmOptions | null = null;
  if (executor === 'slurm') {
    const name = (o: string): string | null => {
      const v = opts.get(o) as string | undefined;
      if (v === undefined) return null;
      if (!/^[A-Za-z0-9_.,:@+-]+$/.test(v))
        throw new UsageError(`nefsim run: --${o} must be a Slurm name (letters, digits, _ . , : @ + -), got '${v}'`);
      return v;
    };
    const time = opts.get('slurm-time') as string | undefined;
    if (time !== undefined && !validSlurmTime(time)) {
      throw new UsageError(
        `nefsim run: --slurm-time must be a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS), got '${time}'`,
      );
    }
    const extra = multi.get('sbatch-arg') ?? [];
    for (const a of extra) {
      if (!a.startsWith('-') || /[\n\r\0]/.test(a))
        throw new UsageError(
          `nefsim run: --sbatch-arg must be one sbatch option starting with '-' (e.g. --sbatch-arg=--mem=4G), got '${a}'`,
        );
      // long forms and sbatch's short ones (-a, -o, -D): given after nefsim's, they would override them;
      // sbatch also takes a long option by any unambiguous prefix of its name (--arr is --array).
      // --wait (-W) and --test-only change what sbatch prints and returns: with --wait its exit code is the
      // job's, so a run that failed was recorded as 'sbatch refused the job' over its own error (and a
      // job longer than sbatch's timeout was marked failed while it ran); --test-only submits nothing.
      const long = /^--([A-Za-z-]+)/.exec(a)?.[1];
      const reserved = ['array', 'parsable', 'output', 'wrap', 'chdir', 'wait', 'test-only'];
      if ((long !== undefined && reserved.some((r) => r.startsWith(long))) || shortSetsReserved(a))
        throw new UsageError(
          `nefsim run: --sbatch-arg ${a}: nefsim sets --array (-a), --output (-o), --chdir (-D), --parsable and the script itself, ` +
            'and returns once the job is submitted (no --wait (-W) or --test-only: follow the run with nefsim status)',
        );
    }
    slurm = { partition: name('slurm-partition'), time: time ?? null, account: name('slurm-account'), extra };
  } else {
    for (const o of ['slurm-partition', 'slurm-time', 'slurm-account'])
      if (opts.has(o)) throw new UsageError(`nefsim run: --${o} only applies to --executor slurm`);
    if (multi.has('sbatch-arg')) throw new UsageError('nefsim run: --sbatch-arg only applies to --executor slurm');
  }
  if (opts.has('trials') && opts.has('sweep'))
    throw new UsageError(
      "nefsim run: give --trials or --sweep, not both (a sweep runs each parameter set once, with --seed or the network's seed)",
    );
  let trials: number | null = null;
  if (opts.has('trials')) {
    trials = numberOption('run', opts, 'trials', 1);
    if (!(Number.isInteger(trials) && trials >= 1 && trials <= MAX_TRIALS))
      throw new UsageError(`nefsim run: --trials must be an integer from 1 to ${MAX_TRIALS}, got ${trials}`);
  }
  let sweep: Record<string, unknown>[] | null = null;
  if (opts.has('sweep')) {
    const path = opts.get('sweep') as string;
    const v = readJsonOption('run', 'sweep', path);
    if (!Array.isArray(v))
      throw new UsageError(`nefsim run: --sweep ${path}: expected a JSON array of parameter objects, got ${describe(v)}`);
    if (v.length === 0) throw new UsageError(`nefsim run: --sweep ${path}: the array is empty; give at least one parameter object`);
    if (v.length > MAX_TRIALS) throw new UsageError(`nefsim run: --sweep ${path}: ${v.length} parameter sets, at most ${MAX_TRIALS}`);
    v.forEach((p: unknown, i) => {
      if (!isPlainObject(p))
        throw new UsageError(`nefsim run: --sweep ${path}: entry ${i} must be an object of parameters, got ${describe(p)}`);
    });
    sweep = v as Record<string, unknown>[];
  }
  let params: Record<string, unknown> | null = null;
  if (opts.has('params')) {
    if (sweep) throw new UsageError('nefsim run: give --params or --sweep, not both');
    const path = opts.get('params') as string;
    const v = readJsonOption('run', 'params', path);
    if (!isPlainObject(v)) throw new UsageError(`nefsim run: --params ${path}: expected a JSON object of parameters, got ${describe(v)}`);
    params = v;
  }
  let partitions = 1;
  if (opts.has('partitions')) {
    partitions = numberOption('run', opts, 'partitions', 1);
    if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= 256)) {
      throw new UsageError(`nefsim run: --partitions must be an integer from 1 to 256, got ${partitions}`);
    }
  }
  let pin: Record<string, number> | undefined;
  if (opts.has('pin')) {
    const path = opts.get('pin') as string;
    if (!opts.has('partitions')) throw new UsageError('nefsim run: --pin places objects in parts: give --partitions too');
    const v = readJsonOption('run', 'pin', path);
    if (!isPlainObject(v)) throw new UsageError(`nefsim run: --pin ${path}: expected a JSON object {"label": part}, got ${describe(v)}`);
    for (const [label, part] of Object.entries(v)) {
      if (!(typeof part === 'number' && Number.isInteger(part) && part >= 0 && part < partitions)) {
        throw new UsageError(
          `nefsim run: --pin ${path}: part of '${label}' must be an integer from 0 to ${partitions - 1}, got ${JSON.stringify(part)}`,
        );
      }
    }
    pin = v as Record<string, number>;
  }
  const dtypeArg = opts.get('dtype');
  if (dtypeArg !== undefined && dtypeArg !== 'float64' && dtypeArg !== 'float32')
    throw new UsageError(`nefsim run: --dtype must be float64 or float32, got '${String(dtypeArg)}'`);
  const dtype = dtypeArg === 'float32' ? ('float32' as const) : undefined;
  // Each trial uses `partitions` threads: by default as many trials at once as fill the cores.
  let jobs = defaultJobs(partitions);
  if (opts.has('jobs')) {
    if (trials === null && sweep === null) throw new UsageError('nefsim run: --jobs only applies to --trials or --sweep');
    jobs = numberOption('run', opts, 'jobs', jobs);
    if (!(Number.isInteger(jobs) && jobs >= 1 && jobs <= 1024))
      throw new UsageError(`nefsim run: --jobs must be an integer from 1 to 1024, got ${jobs}`);
  }
  if (opts.has('process-per-trial')) {
    if (trials === null && sweep === null) throw new UsageError('nefsim run: --process-per-trial only applies to --trials or --sweep');
    if (slurm)
      throw new UsageError(
        'nefsim run: --process-per-trial only applies to the local executor (Slurm runs each trial as a task of its own)',
      );
  }
  checkModelFile('run', file);
  if (slurm) {
    try {
      requireSlurm();
    } catch (err) {
      if (err instanceof SlurmError) {
        console.error(`nefsim run: ${err.message}`);
        return 1;
      }
      throw err;
    }
  }
  const outGiven = opts.get('out') as string | undefined;
  let out = resolve(outGiven ?? defaultOut(file));
  if (outGiven !== undefined) checkOut(out, opts.has('force'));
  const locked = unwritableIn(out);
  if (locked)
    throw new UsageError(
      `nefsim run: ${outGiven !== undefined ? `--out ${out}` : `the run folder ${out}`}: cannot write in ${locked.folder} (${locked.reason}); ` +
        'give --out a folder you can write',
    );
  const unusable = slurm ? unusableFolder(out) : null;
  if (unusable !== null) throw new UsageError(`nefsim run: --executor slurm: ${unusable}`);
  // The model's bytes, read once: the run folder gets exactly what was checked, also when the
  // file lies inside the folder that --force replaces.
  const source = readFileSync(file);
  const relative = relativeImport(source.toString('utf8'));
  if (relative !== undefined) {
    // the engine itself by its path (as examples/squaring.mjs, a script, does): 'nefsim' is the way
    // (its code, lib/ or src/, through a symlink too: not any file under the package, a model kept there
    // importing a helper of its own)
    const engine = realpathOrSelf(fileURLToPath(new URL('../../', import.meta.url)));
    const target = realpathOrSelf(resolve(dirname(file), relative));
    console.error(
      [join(engine, 'lib') + sep, join(engine, 'src') + sep].some((code) => target.startsWith(code))
        ? `nefsim run: ${file} imports '${relative}', which is nefsim itself: import it by its name, ` +
            "as in import { Network } from 'nefsim' (a run resolves that to the nefsim that runs it)"
        : `nefsim run: ${file} imports '${relative}': a run copies only the model file into its folder, ` +
            'so the model must be one self-contained file (move that code into it; packages and node: modules are fine)',
    );
    return 1;
  }

  // Load the model before making the folder: a model that does not load leaves no run folder behind.
  // A sweep makes each parameter set's network for its seed (keeping only the seed), or, with --seed,
  // only as many as it takes to get one for the checks below; a set that throws fails its own trial,
  // as at run time, unless every set does.
  let net: Network;
  const sweepSeeds: (number | undefined)[] = [];
  try {
    const model = await importModel(file, { requireFunction: sweep !== null ? 'sweep' : params !== null ? 'params' : undefined });
    if (sweep === null) net = await model.network(params ?? {});
    else {
      let first: Network | undefined;
      let firstError: ModelError | undefined;
      // said once it is known that some set builds (when none does, the run is refused: one error, not a
      // warning per set saying 'the others run' and then the first set's again)
      const failures: string[] = [];
      for (const [i, set] of sweep.entries()) {
        if (seed !== null && first) break;
        try {
          const n = await model.network(set);
          first ??= n;
          sweepSeeds[i] = n.seed;
        } catch (err) {
          if (!(err instanceof ModelError)) throw err;
          firstError ??= err;
          sweepSeeds[i] = undefined; // its trial gets the fresh seed (no hole: some() below skips holes)
          failures.push(`nefsim run: warning: parameter set ${i} fails, so will its trial (the others run): ${err.message}`);
        }
      }
      if (!first) {
        const every = sweep.length > 1 ? `every parameter set of --sweep fails (all ${sweep.length}); the first: ` : '';
        throw new ModelError(`${every}${firstError!.message}`, firstError!.file, firstError!.line, firstError!.object);
      }
      for (const f of failures) console.error(f);
      net = first;
    }
  } catch (err) {
    if (err instanceof ModelError) {
      console.error(`nefsim run: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (pin) {
    const unknown = Object.keys(pin).filter((label) => !hasObject(net, label));
    if (unknown.length > 0)
      throw new UsageError(
        `nefsim run: --pin: ${file} has no object labelled ${unknown.map((l) => `'${l}'`).join(', ')} ` +
          `(its labelled ensembles and nodes: ${labelsOf(net) || 'none'})`,
      );
  }

  const created = new Date().toISOString();
  const common = {
    duration,
    dt,
    engineVersion: version,
    nodeVersion: process.version,
    argv,
    modelSource: resolve(file),
    created,
    ...(partitions > 1 ? { partitions } : {}),
    ...(dtype ? { dtype } : {}),
    ...(pin ? { pin } : {}),
  };
  if (trials === null && sweep === null) {
    // The seed the run uses, recorded so that the folder alone reproduces it: --seed, else the
    // network's, else a fresh one (which the run would otherwise draw for itself).
    const runSeed = seed ?? net.seed ?? entropySeed();
    out = makeOut(out, outGiven === undefined, opts.has('force'), (dir) =>
      createRunFolder(dir, source, {
        ...common,
        seed: runSeed,
        ...(params ? { params } : {}),
        ...(slurm ? { executor: 'slurm' as const } : {}),
      }),
    );
    if (slurm) return submitRun(out, withCpus(slurm, partitions));
    if (!opts.has('detach')) {
      outlivePipeReaders();
      return executeRun(out, { logToFile: true });
    }
    return detach(out, '_execute', () => readStatus(out));
  }

  // Trials: seeds seed, seed + 1, ... from --seed, else from the network's own seed, else 0. A sweep
  // keeps one seed: --seed, else each parameter set's network's own; for unseeded networks (and sets
  // that fail) one fresh seed for all, recorded (so the sets differ by their parameters only, and the
  // folder reproduces each).
  const fresh = sweepSeeds.some((s) => s === undefined) ? entropySeed() : 0;
  const base = seed ?? (trials !== null ? (net.seed ?? 0) : null);
  const n = trials ?? sweep!.length;
  if (base !== null && trials !== null && base + n - 1 >= 2 ** 32)
    throw new UsageError(`nefsim run: seeds ${base} to ${base + n - 1} do not fit in [0, 2^32); give a smaller --seed`);
  const width = Math.max(3, String(n - 1).length);
  const plan: BatchPlan = {
    kind: trials !== null ? 'trials' : 'sweep',
    executor: slurm ? 'slurm' : 'local',
    jobs,
    ...common,
    ...(opts.has('process-per-trial') ? { processPerTrial: true } : {}),
    slurm,
    trials: Array.from({ length: n }, (_, i) => ({
      index: i,
      dir: `trial-${String(i).padStart(width, '0')}`,
      seed: trials !== null ? base! + i : (base ?? sweepSeeds[i] ?? fresh),
      params: sweep ? sweep[i]! : params,
    })),
  };
  out = makeOut(out, outGiven === undefined, opts.has('force'), (dir) => createBatchFolder(dir, source, plan));
  if (slurm) return submitBatch(out, plan, withCpus(slurm, partitions), opts.has('jobs') ? jobs : null);
  if (!opts.has('detach')) {
    outlivePipeReaders();
    return driveBatch(out, { logToFile: true });
  }
  return detach(out, '_batch', () => readBatchStatus(out) as unknown as RunStatus);
}

/**
 * A run in the foreground goes on when what reads its stdout or stderr goes
 * away (`nefsim run ... | head`): its log is in log.txt too. Writing to the
 * closed pipe fails with EPIPE, which unhandled ended the run (recorded
 * failed, as if it had called process.exit) with its last chunks unwritten.
 */
function outlivePipeReaders(): void {
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
}

function beingMade(dir: string): UsageError {
  return new UsageError(`nefsim run: another nefsim run is making the output folder ${dir}; give another --out`);
}

/**
 * Makes `out` this command's run folder, once every check has passed, and
 * fills it with `fill` (a failure there removes the half-made folder). Two
 * `nefsim run`s given the same folder (or the same default name, made from
 * the second) may both have passed checkOut while loading their models: the
 * first to create the folder's claim file has it, the other is refused (an
 * explicit --out) or takes the next free name (a default one: NAME-2,
 * NAME-3, ...). With --force a finished run (checked again now) is moved
 * aside and removed first: of two such commands only one can move it.
 * Returns the folder made; its claim goes once it is filled.
 */
function makeOut(out: string, defaultName: boolean, force: boolean, fill: (dir: string) => void): string {
  for (let k = 1; ; k++) {
    const dir = k === 1 ? out : `${out}-${k}`;
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      if (defaultName) continue;
      checkOut(dir, force); // again: another run may have taken it while this one loaded its model
      const aside = `${dir}.replaced-${process.pid}`;
      try {
        renameSync(dir, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new UsageError(`nefsim run: another nefsim run is replacing the output folder ${dir}; give another --out`);
        throw err;
      }
      rmSync(aside, { recursive: true, force: true });
    }
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(join(dir, CLAIM_FILE), claimRecord(), { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!defaultName) throw beingMade(dir);
      continue;
    }
    // Another run may have claimed, filled and released this folder between the look above and this
    // claim (it was empty then): it is that run's now (seen in CI: two runs started together shared one).
    if (readdirSync(dir).some((f) => f !== CLAIM_FILE)) {
      rmSync(join(dir, CLAIM_FILE), { force: true });
      if (!defaultName) throw beingMade(dir);
      continue;
    }
    try {
      fill(dir);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true }); // half made, and this command's
      throw err;
    }
    // a run (or batch) folder now: other commands may replace it once it has ended
    rmSync(join(dir, CLAIM_FILE), { force: true });
    return dir;
  }
}

/**
 * The first relative module a model imports ('./helper.mjs'), if any: a run
 * folder holds only the model file, so the run could not load it. Read from
 * the module's syntax (import and export declarations, and import() of a
 * constant name), so that one in a comment or a string does not count; a
 * file that does not parse has none here (loading it says where it fails).
 */
export function relativeImport(src: string): string | undefined {
  let program: AcornNode;
  try {
    program = parseModule(src, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
  } catch {
    return undefined;
  }
  const specifier = (n: unknown): string | undefined => {
    const node = n as { type?: string; value?: unknown; quasis?: { value: { cooked?: string | null } }[]; expressions?: unknown[] };
    if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
    if (node?.type === 'TemplateLiteral' && node.expressions?.length === 0) return node.quasis?.[0]?.value.cooked ?? undefined;
    return undefined;
  };
  const pending: unknown[] = [program];
  while (pending.length > 0) {
    const node = pending.pop() as Record<string, unknown> | null;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) pending.push(node[i]);
      continue;
    }
    const t = node.type;
    if (t === 'ImportDeclaration' || t === 'ExportNamedDeclaration' || t === 'ExportAllDeclaration' || t === 'ImportExpression') {
      const name = specifier(node.source);
      if (name !== undefined && /^\.{1,2}\//.test(name)) return name;
    }
    for (const key of Object.keys(node).reverse()) if (key !== 'type' && typeof node[key] === 'object') pending.push(node[key]);
  }
  return undefined;
}

/** Whether the network has an ensemble, node or connection with this label (or name, as pins match it). */
function hasObject(net: Network, label: string): boolean {
  const objects = [...net.allEnsembles, ...net.allNodes, ...net.allConnections];
  return objects.some((o) => o.label === label || o.name === label || o.name.endsWith(` '${label}'`));
}

function labelsOf(net: Network): string {
  const labels = [...net.allEnsembles, ...net.allNodes].map((o) => o.label).filter((l): l is string => typeof l === 'string');
  const shown = labels.slice(0, 12).map((l) => `'${l}'`);
  return shown.join(', ') + (labels.length > 12 ? `, … (${labels.length} in all)` : '');
}

/** Makes a run folder: the model copy, options, an empty log and a queued status naming this process. */
export function createRunFolder(out: string, source: Uint8Array, options: RunOptions): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, FILES.model), source);
  linkEngine(out);
  writeJsonAtomic(join(out, FILES.options), options);
  writeFileSync(join(out, FILES.log), '');
  const queued: RunStatus = {
    state: 'queued',
    time: 0,
    steps: 0,
    stepsTotal: stepsIn(options.duration, options.dt),
    stepsFlushed: 0,
    stepsPerSecond: null,
    secondsLeft: null,
    pid: process.pid,
    processStart: processStartTime(process.pid),
    pgid: processGroup(process.pid),
    heartbeat: Date.now(),
    started: null,
  };
  writeJsonAtomic(join(out, FILES.status), queued);
}

/** Makes a batch folder: the plan, the model copy, a queued status, and one queued run folder per trial. */
export function createBatchFolder(out: string, source: Uint8Array, plan: BatchPlan): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, BATCH_FILES.model), source);
  linkEngine(out);
  writeJsonAtomic(join(out, BATCH_FILES.plan), plan);
  writeFileSync(join(out, BATCH_FILES.log), '');
  for (const t of plan.trials) {
    const options: RunOptions = {
      duration: plan.duration,
      dt: plan.dt,
      seed: t.seed,
      engineVersion: plan.engineVersion,
      nodeVersion: plan.nodeVersion,
      argv: plan.argv,
      modelSource: plan.modelSource,
      created: plan.created,
      ...(t.params ? { params: t.params } : {}),
      ...(plan.executor === 'slurm' ? { executor: 'slurm' as const } : {}),
      ...(plan.partitions ? { partitions: plan.partitions } : {}),
      ...(plan.pin ? { pin: plan.pin } : {}),
      ...(plan.dtype ? { dtype: plan.dtype } : {}),
      trial: t.index,
    };
    createRunFolder(join(out, t.dir), source, options);
  }
  const status: BatchStatus = {
    kind: 'batch',
    state: 'queued',
    counts: { ...emptyCounts(), queued: plan.trials.length },
    steps: 0,
    stepsTotal: plan.trials.length * stepsIn(plan.duration, plan.dt),
    pid: process.pid,
    processStart: processStartTime(process.pid),
    pgid: processGroup(process.pid),
    heartbeat: Date.now(),
    started: null,
    trials: [],
  };
  writeJsonAtomic(join(out, BATCH_FILES.status), status);
}

/** Starts `nefsim <command> DIR` in its own process group with stdio to DIR/log.txt, prints DIR and returns. */
async function detach(out: string, command: '_execute' | '_batch', queued: () => RunStatus): Promise<number> {
  // Pipes would keep this process alive; files don't.
  const fd = openSync(join(out, FILES.log), 'a');
  const bin = fileURLToPath(new URL('../../bin/nefsim.js', import.meta.url));
  // the working directory of `nefsim run`, as a run in the foreground has (and the check that the model
  // loads had): a model reading a file by a relative path finds it (trials run in their own folders, as
  // documented; a Slurm job in its run folder, which a compute node sees where it may not see this one)
  const child = spawn(process.execPath, [...ENGINE_NODE_FLAGS, bin, command, out], {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: process.cwd(),
  });
  closeSync(fd);
  const started = await new Promise<Error | undefined>((res) => {
    child.once('spawn', () => res(undefined));
    child.once('error', (err) => res(err));
  });
  if (started) {
    writeJsonAtomic(join(out, FILES.status), {
      ...queued(),
      state: 'failed',
      heartbeat: Date.now(),
      error: `could not start the run: ${started.message}`,
    });
    console.error(`nefsim run: could not start the run process: ${started.message}`);
    return 1;
  }
  // Until the child says `running`, the folder is queued under this process, which exits now: name
  // the child instead, so that cancel and --force see a live run starting, not an abandoned one.
  // (The child writes its own status only after loading Node and the engine, long after `spawn`.)
  const pid = child.pid;
  const now = queued();
  if (pid !== undefined && now.state === 'queued' && now.pid === process.pid) {
    writeJsonAtomic(join(out, FILES.status), { ...now, pid, processStart: processStartTime(pid), pgid: processGroup(pid) });
  }
  child.unref();
  console.log(out);
  return 0;
}

/** A partitioned run's job asks for a CPU per worker thread, unless the sbatch arguments already say how many. */
function withCpus(slurm: SlurmOptions, partitions: number): SlurmOptions {
  if (partitions <= 1 || slurm.extra.some((a) => /^(--cpus-per-task|-c)\b/.test(a))) return slurm;
  return { ...slurm, extra: [`--cpus-per-task=${partitions}`, ...slurm.extra] };
}

/** Submits a run folder as one Slurm job; prints the folder and the job id. */
function submitRun(out: string, slurm: SlurmOptions): number {
  const script = writeJobScript(out, null);
  let id: string;
  try {
    id = submit(script, [
      `--job-name=nefsim-${basename(out)}`,
      `--output=${outputPath(out, 'slurm-%j.out')}`,
      `--chdir=${out}`,
      ...sbatchArgs(slurm),
    ]);
  } catch (err) {
    if (!(err instanceof SlurmError)) throw err;
    writeJsonAtomic(join(out, FILES.status), { ...readStatus(out), state: 'failed', heartbeat: Date.now(), error: err.message });
    console.error(`nefsim run: ${err.message}`);
    return 1;
  }
  writeJsonAtomic(join(out, FILES.status), { ...readStatus(out), jobId: id, heartbeat: Date.now() });
  console.log(out);
  console.log(`submitted Slurm job ${id}`);
  return 0;
}

/** Submits the trials of a batch folder as one Slurm job array (at most `throttle` at once when given). */
function submitBatch(out: string, plan: BatchPlan, slurm: SlurmOptions, throttle: number | null): number {
  const width = plan.trials[0]!.dir.length - 'trial-'.length;
  const script = writeJobScript(out, { prefix: 'trial-', width });
  const array = `--array=0-${plan.trials.length - 1}${throttle !== null ? `%${throttle}` : ''}`;
  let id: string;
  try {
    id = submit(script, [
      array,
      `--job-name=nefsim-${basename(out)}`,
      `--output=${outputPath(out, 'slurm-%A_%a.out')}`,
      `--chdir=${out}`,
      ...sbatchArgs(slurm),
    ]);
  } catch (caught) {
    if (!(caught instanceof SlurmError)) throw caught;
    // Slurm says only this when the array is larger than the cluster allows (MaxArraySize, 1001 by default)
    const err = /invalid job array specification/i.test(caught.message)
      ? new SlurmError(
          `${caught.message} (the array has tasks 0-${plan.trials.length - 1}: more than this cluster's MaxArraySize allows? ` +
            "'scontrol show config | grep MaxArraySize' says; split the trials into smaller batches)",
        )
      : caught;
    for (const t of plan.trials) {
      const tdir = join(out, t.dir);
      writeJsonAtomic(join(tdir, FILES.status), { ...readStatus(tdir), state: 'failed', heartbeat: Date.now(), error: err.message });
    }
    writeJsonAtomic(join(out, BATCH_FILES.status), {
      ...readBatchStatus(out),
      state: 'failed',
      heartbeat: Date.now(),
      error: err.message,
    });
    console.error(`nefsim run: ${err.message}`);
    return 1;
  }
  for (const t of plan.trials) {
    const tdir = join(out, t.dir);
    writeJsonAtomic(join(tdir, FILES.status), { ...readStatus(tdir), jobId: `${id}_${t.index}`, heartbeat: Date.now() });
  }
  writeJsonAtomic(join(out, BATCH_FILES.status), {
    ...readBatchStatus(out),
    jobId: id,
    heartbeat: Date.now(),
  });
  console.log(out);
  console.log(`submitted Slurm job array ${id} (${plan.trials.length} tasks)`);
  return 0;
}

/** `nefsim _batch DIR`: the detached process driving a batch. */
export async function batchCommand(args: string[]): Promise<number> {
  const dir = args[0];
  if (!dir || !isBatchFolder(dir))
    throw new UsageError('nefsim _batch: give a batch folder (this command is started by nefsim run --trials/--sweep --detach)');
  return driveBatch(resolve(dir), { logToFile: false });
}

/** `nefsim _worker`: a process that runs a local batch's trials one after another (started by its driver, with an IPC channel). */
export async function workerCommand(args: string[]): Promise<number> {
  if (args.length > 0) throw new UsageError('nefsim _worker: takes no arguments (this command is started by a batch of trials)');
  return (await import('../runs/trial-worker.js')).trialWorker();
}

/** `nefsim _execute DIR`: the detached run process. */
export async function executeCommand(args: string[]): Promise<number> {
  const dir = args[0];
  if (!dir || !isRunFolder(dir))
    throw new UsageError('nefsim _execute: give a run folder (this command is started by nefsim run --detach)');
  return executeRun(resolve(dir), { logToFile: false });
}

/** The real path of `p`, or `p` where it cannot be resolved (not there). */
function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** statSync, or undefined for a path that is not there (also under a file: ENOTDIR). */
function statOrNone(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

const WRITE_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'a read-only file system',
};

/**
 * Why nothing can be made at `path`: its nearest folder that exists (the
 * path itself when it is one) may not be written by this process. Checked
 * before a model loads or an export starts, which otherwise failed at the
 * mkdir or the temp file with Node's words ('nefsim: EACCES: ..., mkdir').
 */
export function unwritableIn(path: string): { folder: string; reason: string } | undefined {
  let p = resolve(path);
  let st = statOrNone(p);
  while (!st) {
    const up = dirname(p);
    if (up === p) return undefined;
    p = up;
    st = statOrNone(p);
  }
  if (!st.isDirectory()) return undefined; // a file in the way: the callers' own checks say so
  try {
    accessSync(p, fsConstants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return { folder: p, reason: `${WRITE_REASONS[code] ?? messageOf(err)}${code ? `, ${code}` : ''}` };
  }
}

/** The model file given to run or summary must be a file. */
function checkModelFile(cmd: string, file: string): void {
  const st = statOrNone(file);
  if (!st) throw new UsageError(`nefsim ${cmd}: no model file '${file}'`);
  if (st.isDirectory()) throw new UsageError(`nefsim ${cmd}: ${file} is a folder, not a model file (an .mjs or .js module)`);
  if (!st.isFile()) throw new UsageError(`nefsim ${cmd}: no model file '${file}' (it is not a regular file)`);
}

function defaultOut(file: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', `${basename(file).replace(/\.[cm]?[jt]s$/, '')}-${stamp}`);
}

/**
 * Whether a short-option argument (getopt's clusters: -Ha0-3 is --hold --array=0-3) reaches -a, -o,
 * -D or -W, which nefsim refuses: its letters are read while they are sbatch's flags without a value
 * (-h -H -I -O -Q -s -v -V); the first letter that takes a value ends it.
 */
function shortSetsReserved(a: string): boolean {
  if (!/^-[^-]/.test(a)) return false;
  for (const ch of a.slice(1)) {
    if (ch === 'a' || ch === 'o' || ch === 'D' || ch === 'W') return true;
    if (!'hHIOQsvV'.includes(ch)) return false;
  }
  return false;
}

/** An existing output folder is refused unless --force, and even then only if it is an empty folder or a finished run. */
function checkOut(out: string, force: boolean): void {
  if (!existsSync(out)) {
    // the nearest folder that exists must be a folder (--out a-file/run failed with ENOTDIR, exit 1)
    for (let up = dirname(resolve(out)); ; up = dirname(up)) {
      let st;
      try {
        st = statSync(up, { throwIfNoEntry: false });
      } catch {
        st = undefined; // ENOTDIR: a file further up
      }
      if (st) {
        if (!st.isDirectory()) throw new UsageError(`nefsim run: --out ${out}: ${up} is a file, not a folder`);
        return;
      }
      if (dirname(up) === up) return;
    }
  }
  if (!statSync(out).isDirectory()) throw new UsageError(`nefsim run: --out ${out} exists and is not a folder`);
  const empty = readdirSync(out).length === 0;
  if (empty) return;
  const claim = claimState(out);
  if (claim === 'alive') throw beingMade(out);
  if (claim === 'gone') {
    // half made by a nefsim run that stopped (killed while it copied the model or made the trials' folders)
    if (!force) throw new UsageError(`nefsim run: ${out} was left half made by a nefsim run that stopped; --force replaces it`);
    return;
  }
  if (!force) throw new UsageError(`nefsim run: the output folder ${out} exists; give another --out, or --force to replace it`);
  if (isBatchFolder(out)) {
    const b = currentBatchStatus(out);
    if (!isTerminal(b.state))
      throw new UsageError(`nefsim run: the batch in ${out} is still ${b.state}; cancel it first (nefsim cancel ${out})`);
    return;
  }
  if (!isRunFolder(out))
    throw new UsageError(`nefsim run: ${out} exists and is not a run folder; refusing to replace it even with --force`);
  // status's own verdict: a fresh heartbeat (a run in another container or on another host, whose pid
  // means nothing here), a live pid here, or a Slurm job squeue still lists (pending or running) is alive.
  // (A detached run is queued under the pid of the `nefsim run` that made it, which exits at once; its own
  // process says `running` a moment later: until its heartbeat goes stale, it is starting.)
  const s = currentStatus(out);
  if (s.state === 'running' || s.state === 'queued') {
    const where = s.jobId !== undefined ? `Slurm job ${s.jobId}` : `pid ${s.pid} on ${s.host ?? 'this host'}`;
    throw new UsageError(
      `nefsim run: the run in ${out} is still ${s.state === 'queued' ? 'starting or queued' : 'running'} (${where}); cancel it first (nefsim cancel ${out})`,
    );
  }
}

/** The one run folder a command was given (positional arguments), checked. */
function requireRunFolder(cmd: string, positional: string[]): string {
  const dir = positional[0];
  if (positional.length > 1) throw new UsageError(`nefsim ${cmd}: one run folder only, got ${positional.map((p) => `'${p}'`).join(' ')}`);
  if (!dir) throw new UsageError(`nefsim ${cmd}: give the run folder, e.g. nefsim ${cmd} runs/model-20250101-120000`);
  if (!isRunFolder(dir) && !isBatchFolder(dir)) {
    const st = statOrNone(dir);
    const hint = 'give the folder nefsim run made (its --out, or runs/<model>-<time>)';
    if (!st) throw new UsageError(`nefsim ${cmd}: ${dir}: no such folder; ${hint}`);
    if (!st.isDirectory()) throw new UsageError(`nefsim ${cmd}: ${dir} is a file, not a run folder; ${hint}`);
    const claim = existsSync(dir) ? claimState(dir) : undefined;
    if (claim !== undefined)
      throw new UsageError(
        claim === 'alive'
          ? `nefsim ${cmd}: ${dir} is being made by a nefsim run; try again in a moment`
          : `nefsim ${cmd}: ${dir} was left half made by a nefsim run that stopped (killed while it made the folder); nefsim run --force replaces it`,
      );
    // one of a run's (or batch's) records deleted by hand: said so, not that the folder is no run at all
    const has = (f: string): boolean => existsSync(join(dir, f));
    const kind = has(BATCH_FILES.plan) ? 'batch folder' : 'run folder';
    const needs = has(BATCH_FILES.plan) ? [BATCH_FILES.plan, BATCH_FILES.status] : [FILES.options, FILES.status];
    const missing = needs.filter((f) => !has(f));
    if (missing.length < needs.length)
      throw new UsageError(`nefsim ${cmd}: ${dir} is a ${kind} missing its ${missing.join(' and ')} (deleted or moved?)`);
    throw new UsageError(`nefsim ${cmd}: ${dir} is not a run folder (no ${FILES.options} and ${FILES.status})`);
  }
  return resolve(dir);
}

/** `nefsim status DIR [--json] [--stale S]` */
export function statusCommand(args: string[]): number {
  const { positional, opts } = parseArgs('status', args, [
    { name: 'json', value: false },
    { name: 'stale', value: true },
  ]);
  const dir = requireRunFolder('status', positional);
  const stale = numberOption('status', opts, 'stale', STALE_MS / 1000);
  if (!(stale > 0)) throw new UsageError(`nefsim status: --stale must be a positive number of seconds, got ${stale}`);
  if (isBatchFolder(dir)) {
    const b = currentBatchStatus(dir, stale * 1000);
    console.log(opts.has('json') ? JSON.stringify(b, null, 2) : formatBatchStatus(dir, b));
    return 0;
  }
  const s = currentStatus(dir, stale * 1000);
  if (opts.has('json')) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  console.log(formatStatus(dir, s));
  return 0;
}

export function formatStatus(dir: string, s: RunStatus): string {
  const pct = s.stepsTotal > 0 ? ((100 * s.steps) / s.stepsTotal).toFixed(1) : '0';
  const lines = [
    `${dir}: ${s.state}`,
    `  t = ${s.time.toFixed(3)} s, ${s.steps}/${s.stepsTotal} steps (${pct}%), ${s.stepsFlushed} steps on disk`,
  ];
  // as a batch's summary says it: squeue, scontrol and sacct know the run by it
  if (s.jobId !== undefined) {
    const where = s.state === 'running' && s.host ? ` on ${s.host}` : '';
    lines.push(`  slurm job ${s.jobId}${where}${s.slurmPending !== undefined ? `; pending in Slurm: ${s.slurmPending}` : ''}`);
  }
  if (s.state === 'running') {
    const sps = s.stepsPerSecond !== null ? `${Math.round(s.stepsPerSecond)} steps/s` : 'rate not known yet';
    const left = s.secondsLeft !== null ? `, ${s.secondsLeft.toFixed(1)} s left` : '';
    lines.push(`  ${sps}${left}; pid ${s.pid}, heartbeat ${((Date.now() - s.heartbeat) / 1000).toFixed(1)} s ago`);
    const request = cancelRequested(dir);
    if (request !== undefined) lines.push(`  ${request} waits in ${FILES.cancel}: the run has not seen it yet`);
  }
  const exit = readExit(dir);
  const error = s.error ?? exit?.error ?? undefined;
  if (error && s.state !== 'done') lines.push(`  ${s.state === 'cancelled' ? 'reason' : 'error'}: ${error}`);
  const object = s.object ?? exit?.object ?? undefined;
  if (object) lines.push(`  object at fault: ${object}`);
  // its status counts steps 'on disk' in a file that is no longer there
  if (s.stepsFlushed > 0 && !existsSync(join(dir, FILES.probes))) lines.push(`  warning: its ${FILES.probes} is gone (moved or deleted?)`);
  if (exit === undefined && existsSync(join(dir, FILES.exit))) {
    try {
      readExitChecked(join(dir, FILES.exit));
    } catch (err) {
      lines.push(`  warning: ${messageOf(err)}; the state above is status.json's`);
    }
  }
  return lines.join('\n');
}

/** `nefsim cancel DIR [--timeout S]`: SIGTERM to the run's process group, then wait until it says cancelled. */
export async function cancelCommand(args: string[]): Promise<number> {
  const { positional, opts } = parseArgs('cancel', args, [{ name: 'timeout', value: true }]);
  const dir = requireRunFolder('cancel', positional);
  const timeout = numberOption('cancel', opts, 'timeout', 30);
  if (!(timeout >= 0)) throw new UsageError(`nefsim cancel: --timeout must be a non-negative number of seconds, got ${timeout}`);
  if (isBatchFolder(dir)) return cancelBatch(dir, timeout);
  // A running process this host can see is checked directly (a dead run need not wait out the staleness);
  // one out of sight (another host or container), or a queued run (whose status holds the pid of the
  // `nefsim run` that started it), has the usual staleness; a Slurm job's run, by squeue.
  const judge = (): RunStatus => currentStatus(dir, STALE_MS);
  let s = judge();
  if (s.state !== 'running' && s.state !== 'queued') {
    console.log(`${dir}: already ${s.state}; nothing to cancel`);
    return s.state === 'cancelled' ? 0 : 1;
  }
  // only a job still going is scancelled: an ended run's job id may by now be another job's
  if (s.jobId !== undefined) return cancelSlurm(dir, [dir], s.jobId, timeout);
  // A batch's trial not started yet: it never will (its batch, and a worker handed it, skip a trial no longer
  // queued); one that starts meanwhile shows as running below, and is signalled.
  if (s.state === 'queued' && readJson<RunOptions>(join(dir, FILES.options)).trial !== undefined) cancelQueued(dir, 'nefsim cancel');
  const signalled = new Set<string>();
  let asked = false;
  const deadline = Date.now() + Math.max(timeout * 1000, 0);
  for (;;) {
    const key = `${s.pid}/${s.processStart}`;
    // Only a running status names the run's own process (which by then handles SIGTERM); a queued one names its launcher.
    if (s.state === 'running' && !signalled.has(key)) {
      signalled.add(key);
      if (signalRun(s) === 'unreachable') {
        // Running (its heartbeat is fresh) where no signal from here reaches it: another host that shares
        // the folder, another container, or another user's run. Ask through the folder.
        askThroughFolder(dir, s);
        asked = true;
      }
    }
    if (Date.now() >= deadline) {
      console.error(
        asked
          ? `nefsim cancel: ${dir} is still ${s.state} after ${timeout} s: its process (pid ${s.pid} on host ${s.host ?? '?'}) has not answered the request in ${FILES.cancel}; try again, or kill it where it runs`
          : signalled.size > 0
            ? // (--timeout 0 always ends here: it said 'try again, or kill -9' of a run that was cancelling)
              `nefsim cancel: ${dir} is still ${s.state} after ${timeout} s: sent SIGTERM to pid ${s.pid}, which ends the run at the end of its current chunk; ` +
              `nefsim status ${dir} shows when it has (if it never does, kill -9 -${s.pgid ?? s.pid})`
            : `nefsim cancel: ${dir} is still ${s.state} after ${timeout} s (pid ${s.pid}); try again, or kill -9 -${s.pgid ?? s.pid}`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
    s = judge();
    if (s.state !== 'running' && s.state !== 'queued') break;
  }
  console.log(formatStatus(dir, s));
  return s.state === 'cancelled' ? 0 : 1;
}

/**
 * SIGTERM to a running run's process: 'unreachable' when it cannot be seen
 * from here (another host or pid namespace) or may not be signalled
 * (another user's), 'gone' when it has ended here (its status says how).
 */
function signalRun(s: RunStatus): 'signalled' | 'gone' | 'unreachable' {
  if (!processAlive(s.pid, s.processStart)) return seenHere(s) ? 'gone' : 'unreachable';
  // A detached run leads its own process group: signal the group (the run and anything it started).
  // A foreground run shares the shell's group: signal only its process.
  const target = s.pgid !== null && s.pgid === s.pid ? -s.pgid : s.pid;
  try {
    process.kill(target, 'SIGTERM');
    return 'signalled';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    if (code === 'EPERM') return 'unreachable';
    throw err;
  }
}

/** requestCancel, saying so; a folder this process may not write fails with the reason. */
function askThroughFolder(dir: string, s: { pid: number; host?: string }): void {
  try {
    requestCancel(dir);
  } catch (err) {
    throw new Error(
      `cannot cancel ${dir}: its process (pid ${s.pid} on host ${s.host ?? '?'}) is out of this process's reach, and writing ${FILES.cancel} there failed (${messageOf(err)})`,
    );
  }
  console.log(
    `${dir}: its process (pid ${s.pid} on host ${s.host ?? '?'}) cannot be signalled from here (another host, container or user); asked it to cancel through ${FILES.cancel}`,
  );
}

/**
 * Cancels a batch: SIGTERM to the process driving it (no more trials start,
 * queued ones end cancelled) and to every running trial's process group
 * (in case the driver is gone), then waits until every trial has ended.
 */
/** How long `nefsim cancel` waits, after a batch's trials have all ended, for its live driver to record the batch's end. */
const DRIVER_GRACE_MS = 5000;

async function cancelBatch(dir: string, timeout: number): Promise<number> {
  let b = currentBatchStatus(dir);
  if (isTerminal(b.state)) {
    console.log(`${dir}: already ${b.state}; nothing to cancel`);
    return b.state === 'cancelled' ? 0 : 1;
  }
  const plan = readPlan(dir);
  if (plan.executor === 'slurm' && b.jobId !== undefined) {
    return cancelSlurm(
      dir,
      plan.trials.map((t) => join(dir, t.dir)),
      b.jobId,
      timeout,
    );
  }
  const deadline = Date.now() + timeout * 1000;
  const signalled = new Set<string>();
  let trialsEndedAt: number | undefined;
  for (;;) {
    const saved = readBatchStatus(dir);
    const driverSeen = processAlive(saved.pid, saved.processStart);
    // A driver out of sight (another host or container) is alive while its heartbeat is fresh.
    const driverAlive = driverSeen || (!seenHere(saved) && Date.now() - saved.heartbeat <= STALE_MS);
    if (driverAlive && saved.state === 'running' && !signalled.has('driver')) {
      signalled.add('driver');
      let reached = driverSeen;
      if (reached) {
        try {
          process.kill(saved.pid, 'SIGTERM');
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EPERM') reached = false;
          else if (code !== 'ESRCH') throw err;
        }
      }
      if (!reached) askThroughFolder(dir, saved);
    }
    for (const t of plan.trials) {
      const tdir = join(dir, t.dir);
      const s = currentStatus(tdir, STALE_MS);
      const key = `${t.dir}/${s.pid}/${s.processStart}`;
      if (s.state === 'running' && !signalled.has(key)) {
        signalled.add(key);
        if (signalRun(s) === 'unreachable') askThroughFolder(tdir, s);
      } else if (s.state === 'queued' && (!driverAlive || saved.state === 'queued') && !processAlive(s.pid, s.processStart)) {
        cancelQueued(tdir, 'nefsim cancel');
      }
    }
    b = currentBatchStatus(dir);
    // A live driver (its status says running) writes the batch's end itself: the
    // state derived from the trials can read terminal before it has, and a
    // heartbeat it wrote after an end written here would put 'running' back.
    // One that has not within DRIVER_GRACE_MS of its trials' end (stopped with
    // Ctrl+Z, say: it will not handle the SIGTERM until it goes on) gets its end
    // written here.
    const trialsEnded = b.trials.every((t) => isTerminal(t.state));
    if (trialsEnded) trialsEndedAt ??= Date.now();
    // (A driver still starting, its status the launcher's 'queued', is waited for too: it would write 'running'.)
    const driverLive = driverAlive && (saved.state === 'running' || saved.state === 'queued');
    if (trialsEnded && (!driverLive || Date.now() - trialsEndedAt! > DRIVER_GRACE_MS)) break;
    if (Date.now() >= deadline) {
      console.error(`nefsim cancel: ${dir} is still ${b.state} after ${timeout} s (${b.counts.running} trials running); try again`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!isTerminal(readBatchStatus(dir).state)) {
    // The driver was gone: record the end ourselves.
    writeJsonAtomic(join(dir, BATCH_FILES.status), { ...b, state: 'cancelled', heartbeat: Date.now() });
  }
  b = currentBatchStatus(dir);
  console.log(formatBatchStatus(dir, b));
  return b.state === 'cancelled' ? 0 : 1;
}

/**
 * `nefsim export DIR [--format npz|csv] [--out PATH] [--force]`: probes.h5 of
 * a run, or of every trial of a batch, as .npz or CSV. --out never replaces
 * the run, nor (without --force) anything that is not an earlier export.
 */
export async function exportCommand(args: string[]): Promise<number> {
  const { positional, opts } = parseArgs('export', args, [
    { name: 'format', value: true },
    { name: 'out', value: true },
    { name: 'force', value: false },
  ]);
  const dir = requireRunFolder('export', positional);
  const format = (opts.get('format') as string | undefined) ?? 'npz';
  if (format !== 'npz' && format !== 'csv') throw new UsageError(`nefsim export: --format must be 'npz' or 'csv', got '${format}'`);
  const outOpt = opts.get('out') as string | undefined;
  const force = opts.has('force');
  const { exportRun, checkExportTarget, checkNpzTarget, ExportTargetError, OutputFolderRemovedError } = await import('../runs/export.js');
  const runs: { dir: string; out: string | undefined }[] = [];
  /** A batch's exports go in the folder made for them here, and the trials after one that finds it gone are not exported. */
  let batch = false;
  try {
    if (isBatchFolder(dir)) {
      const base = outOpt ? resolve(outOpt) : undefined;
      if (base) {
        // a folder of the trials' exports (trial-000.npz, ...; each checked as it is written)
        if (existsSync(base) && !statSync(base).isDirectory())
          throw new UsageError(
            `nefsim export: --out ${outOpt}: a batch exports one ${format === 'npz' ? 'archive' : 'folder'} per trial into a folder, and this is a file`,
          );
        checkExportTarget(dir, base, 'csv', true);
        checkWritable(base, outOpt);
        mkdirSync(base, { recursive: true });
        batch = true;
      }
      for (const t of readPlan(dir).trials)
        runs.push({ dir: join(dir, t.dir), out: base ? join(base, format === 'npz' ? `${t.dir}.npz` : t.dir) : undefined });
    } else {
      if (outOpt !== undefined) {
        checkNpzTarget(outOpt, format);
        checkExportTarget(dir, outOpt, format, force);
      }
      runs.push({ dir, out: outOpt ? resolve(outOpt) : undefined });
    }
    // where each export goes (made aside there, then moved in place): said before any is written, not
    // as the temp file's EACCES; a run folder that is another user's takes --out
    // (a batch's trials, each exported into its own folder: the batch folder only, so that one trial folder
    // of another owner fails its own export, not all of them)
    if (!batch) checkWritable(isBatchFolder(dir) ? dir : dirname(runs[0]!.out ?? join(dir, 'x')), outOpt);
  } catch (err) {
    if (err instanceof ExportTargetError) throw new UsageError(`nefsim export: ${err.message}`);
    throw err;
  }
  let failed = 0;
  for (const [i, r] of runs.entries()) {
    try {
      console.log(await exportRun(r.dir, format, r.out, force, !batch));
    } catch (err) {
      failed++;
      console.error(`nefsim export: ${r.dir}: ${err instanceof Error ? err.message : String(err)}`);
      // the folder the trials' exports go in removed (rm -r while it ran): the export stops there, rather than
      // make it again for the trials after, which ended with a part of the export in a folder made anew
      if (batch && err instanceof OutputFolderRemovedError) {
        const rest = runs.slice(i).map((x) => basename(x.dir));
        console.error(`nefsim export: stopped: ${rest.length === 1 ? rest[0] : `${rest[0]} to ${rest.at(-1)}`} not exported`);
        break;
      }
    }
  }
  return failed > 0 ? 1 : 0;
}

/** An export's folder (or the folder it would be made in) must be writable: a usage error naming it. */
function checkWritable(folder: string, outOpt: string | undefined): void {
  const locked = unwritableIn(folder);
  if (!locked) return;
  throw new UsageError(
    outOpt !== undefined
      ? `nefsim export: --out ${outOpt}: cannot write in ${locked.folder} (${locked.reason}); give --out a path you can write`
      : `nefsim export: cannot write in ${locked.folder} (${locked.reason}), where the export goes by default; give --out a path you can write`,
  );
}

/**
 * Cancels a Slurm job or job array with scancel, then waits until every run
 * folder has ended: running ones get SIGTERM from Slurm and record their end
 * (cancelled, data flushed); pending ones never start and are recorded
 * cancelled here once squeue no longer lists them.
 */
async function cancelSlurm(dir: string, runs: string[], jobId: string, timeout: number): Promise<number> {
  // Runs still queued whose job Slurm no longer lists never started for another reason: they stay failed, not cancelled.
  const pending = new Set(
    runs.filter((run) => {
      const s = readStatus(run);
      return s.state === 'queued' && s.jobId !== undefined && jobListed(s.jobId) !== false;
    }),
  );
  try {
    cancelJob(jobId);
  } catch (err) {
    if (!(err instanceof SlurmError)) throw err;
    console.error(`nefsim cancel: ${err.message}`);
    return 1;
  }
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    let open = 0;
    for (const run of runs) {
      const s = readStatus(run);
      if (isTerminal(s.state)) continue;
      const listed = s.jobId !== undefined ? jobListed(s.jobId) : false;
      if (s.state === 'queued' && listed === false) {
        if (pending.has(run)) cancelQueued(run, `scancel ${jobId}`);
        continue;
      }
      if (isTerminal(currentStatus(run).state)) continue;
      open++;
    }
    if (open === 0) break;
    if (Date.now() >= deadline) {
      console.error(
        `nefsim cancel: ${dir}: ${open} run(s) still going ${timeout} s after scancel ${jobId}; see squeue -j ${jobId.split('_')[0]}`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  if (isBatchFolder(dir)) {
    const b = currentBatchStatus(dir);
    console.log(formatBatchStatus(dir, b));
    return b.state === 'cancelled' ? 0 : 1;
  }
  const s = currentStatus(dir);
  console.log(formatStatus(dir, s));
  return s.state === 'cancelled' ? 0 : 1;
}
