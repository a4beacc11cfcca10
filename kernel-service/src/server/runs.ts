/**
 * The run manager: runs are the long-runs code path. A run started here is
 * exactly `nefsim run MODEL --out DIR --detach` (the CLI is spawned, not
 * copied), so its folder, process group and exit record are the ones the CLI
 * makes, and it outlives the service. The runs folder is the single source of
 * truth: after a restart the service lists and watches every run folder in it
 * (a dead run is reported failed, as `nefsim status` does). Runs past the
 * concurrency limit wait in the service's queue, kept as files in
 * `<runs>/.queue/` so that a restarted service still starts them.
 */
import { stepsIn } from '../engine/steps.js';
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH_FILES, currentBatchStatus, defaultJobs, isBatchFolder, pendingInSlurm, readBatchStatus, readPlan } from '../runs/batch.js';
import {
  claimState,
  currentStatus,
  pidNamespace,
  processAlive,
  processStartTime,
  FILES,
  isRunFolder,
  isTerminal,
  readExit,
  readJson,
  readStatus,
  writeJsonAtomic,
  type RunOptions,
  type RunState,
  type RunStatus,
} from '../runs/folder.js';
import { ProtocolError } from './protocol.js';
import { transformForModule } from './transform.js';

const BIN = fileURLToPath(new URL('../../bin/nefsim.js', import.meta.url));
const QUEUE = '.queue';
const SOURCES = '.sources';

export interface RunRequest {
  duration: number;
  dt: number;
  seed: number | null;
  label: string;
  partitions?: number;
  trials?: number;
  /** Path of a JSON file with the parameter objects of a sweep. */
  sweepFile?: string;
  jobs?: number;
  executor?: 'local' | 'slurm';
  /** Single precision (nefsim run --dtype float32). */
  dtype?: 'float64' | 'float32';
}

/** One trial of a batch, as run.status reports it. */
export interface TrialInfo {
  run: string;
  index: number;
  seed: number | null;
  params: Record<string, unknown> | null;
  state: RunState;
  time: number;
  steps: number;
  stepsTotal: number;
  stepsPerSecond: number | null;
  secondsLeft: number | null;
  wallSeconds: number | null;
  error: string | null;
  /** Why Slurm keeps the trial's task pending (squeue's reason), while it does. */
  slurmPending?: string;
}

/** A run the service holds before it has a folder: queued, or failed/cancelled before it started. */
interface QueueRecord extends RunRequest {
  run: string;
  /** The model module to run. */
  file: string;
  created: string;
  state: 'queued' | 'failed' | 'cancelled';
  error?: string;
}

/** What run.list and run.status report. */
export interface RunInfo {
  run: string;
  state: RunState;
  time: number;
  steps: number;
  stepsTotal: number;
  stepsFlushed: number;
  stepsPerSecond: number | null;
  secondsLeft: number | null;
  percent: number;
  duration: number | null;
  dt: number | null;
  seed: number | null;
  created: string | null;
  error: string | null;
  object: string | null;
  /** Where it is in the service's queue (1 = next), for runs queued by the service. */
  queuePosition?: number;
  /**
   * Why Slurm keeps a submitted run's job pending, as squeue says it
   * (Resources, Priority, JobHeldUser, ...); for a batch, each reason with
   * its count of trials ("Resources (3 trials)"). Absent otherwise.
   */
  slurmPending?: string;
  /** 'run', or 'batch' (trials or a sweep: one run folder per trial, 'batch/trial-NNN'). */
  kind: 'run' | 'batch';
  /** A batch's trials and how many are in each state. */
  trials?: TrialInfo[];
  counts?: Record<RunState, number>;
}

const isFolder = (dir: string): boolean => isRunFolder(dir) || isBatchFolder(dir);

/**
 * What is wrong with a folder of the runs directory that holds a run's files
 * but is not a readable run (status.json or options.json deleted or
 * damaged), or null: such a run is listed as failed, with this, and can be
 * deleted, instead of vanishing from the list and refusing every request.
 * A folder a `nefsim run` is still filling is not damaged.
 */
function damage(dir: string): string | null {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return null;
    names = readdirSync(dir);
  } catch {
    return null;
  }
  // a run's own files, not those a user's folder may hold too (a model.mjs, an .h5): its options, status or plan
  const runFiles = [FILES.options, FILES.status, BATCH_FILES.plan];
  if (!names.some((n) => runFiles.includes(n as (typeof runFiles)[number]))) return null;
  const claim = claimState(dir);
  if (claim === 'alive') return null;
  if (claim === 'gone') return 'it was left half made by a nefsim run that stopped';
  const batch = names.includes(BATCH_FILES.plan);
  // read as the run's readers read them: a file that parses but lacks what they use (`null`, `{}`) is
  // damaged too, or the run vanished from run.list and its requests failed as `internal`
  const readers: [string, () => unknown][] = batch
    ? [
        [BATCH_FILES.plan, () => readPlan(dir)],
        [BATCH_FILES.status, () => readBatchStatus(dir)],
      ]
    : [
        [FILES.options, () => readOptions(dir)],
        [FILES.status, () => readStatus(dir)],
      ];
  for (const [f] of readers) if (!names.includes(f)) return `its ${f} is missing`;
  return unreadable(dir, readers);
}

/** The first of a folder's files whose reader throws, as "its F cannot be read (why)", or null. */
function unreadable(dir: string, readers: [string, () => unknown][]): string | null {
  for (const [f, read] of readers) {
    try {
      read();
    } catch (err) {
      // the readers name the file by its path: said here by its name, in the folder the message names
      const why = (err as Error).message.replace(`${join(dir, f)} is damaged: `, '');
      return `its ${f} cannot be read (${why.slice(0, 160)})`;
    }
  }
  return null;
}

/**
 * What is wrong with a batch's trial folder, or null: its options.json or status.json, where it
 * has them, cannot be read (a trial still being made has neither yet, or only its options).
 */
function trialDamage(dir: string): string | null {
  const readers: [string, () => unknown][] = [
    [FILES.options, () => readOptions(dir)],
    [FILES.status, () => readStatus(dir)],
  ];
  return unreadable(
    dir,
    readers.filter(([f]) => existsSync(join(dir, f))),
  );
}

/** A run's name in the runs folder (a batch's trials are not queued): as the protocol's RunName, without the trial. */
const QUEUED_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@+ -]*$/;

/**
 * A queue record, checked: a file of the queue folder that does not hold one (written by hand or by
 * another program, copied under another name) is damaged. Every reader used its fields as they came:
 * a `null` or `{}` there failed run.list, run.start and the queue's every tick as `internal`, and a
 * record naming another run than its file's (`"run": "../x"`) was launched outside the runs folder.
 */
function readRecord(path: string): QueueRecord {
  const r = readJson<unknown>(path);
  const o = (typeof r === 'object' && r !== null && !Array.isArray(r) ? r : {}) as Record<string, unknown>;
  const ok =
    typeof o.run === 'string' &&
    o.run === basename(path, '.json') &&
    QUEUED_NAME.test(o.run) &&
    typeof o.file === 'string' &&
    typeof o.created === 'string' &&
    (o.state === 'queued' || o.state === 'failed' || o.state === 'cancelled') &&
    typeof o.duration === 'number' &&
    typeof o.dt === 'number';
  if (!ok) throw new Error(`${path} is damaged: not a queue record of the run '${basename(path, '.json')}'`);
  return r as QueueRecord;
}

/**
 * A field of a run's files as run.list gives it: of its kind, else null. Those files are read as they
 * come (one written by hand may hold anything): a `created` that was not a string failed run.list's
 * sort, so that the Runs panel showed no run at all.
 */
const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** A run's options.json: a JSON object (the fields are read as they come: a wrong one shows as such, or as null). */
function readOptions(dir: string): RunOptions {
  const path = join(dir, FILES.options);
  const o = readJson<unknown>(path);
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${path} is damaged: not a JSON object`);
  return o as RunOptions;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Stopped by its time limit (then code is 1). */
  timedOut: boolean;
  /** The signal that ended it, if one did (then code is 1). */
  signal: NodeJS.Signals | null;
}

function cli(args: string[], timeoutMs: number, started?: (child: ChildProcess) => void): Promise<CliResult> {
  return new Promise((res) => {
    const child = execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      const signal = err?.signal ?? null;
      res({ code, stdout, stderr, signal, timedOut: !!err && err.killed === true && signal === 'SIGTERM' && !stopped.has(child) });
    });
    started?.(child);
  });
}

/** Launches stopped by run.cancel (their end is not a time-out). */
const stopped = new WeakSet<ChildProcess>();

/** How long `nefsim run` may take to load a model and make its folder before the launch fails, ms. */
const LAUNCH_TIMEOUT_MS = 120_000;

/**
 * Age past which a launch claim of a service this one cannot see (another host, or pid namespace) is
 * stale: a launch ends within its time limit, and the cancel that may follow it (40 s).
 */
const FOREIGN_CLAIM_MS = LAUNCH_TIMEOUT_MS + 120_000;

/** A Nefsim API name list for generated modules (the globals a session has). */
/**
 * The names a design session defines beside the engine's API (session-worker.ts's context, less
 * `model`): a run's module defines each of them too, as the stubs below, so that model cells that
 * call them run there (a test checks that a session defines each).
 */
export const SESSION_GLOBALS = ['display', 'simulate', 'buildSummary', 'post', 'plotTuning', 'plotXY', 'params'] as const;

/**
 * A model module from a session's model cells: the cells run in order inside
 * the default export's async function, top-level declarations becoming `let`s
 * of that function, whose argument is `params` (a sweep's parameter object;
 * `{}` otherwise, as in the session); it returns what the cells leave in `model`. display(),
 * plotTuning() and plotXY() show nothing and simulate() is skipped in a run.
 */
export function moduleFromCells(cells: string[], apiNames: string[], opts: { sweep?: boolean } = {}): string {
  const names = new Set<string>(['model']);
  const functions = new Set<string>();
  const bodies: string[] = [];
  cells.forEach((code, i) => {
    const t = transformForModule(code);
    // it would assign over each trial's parameters: every trial would run the same model
    if (opts.sweep && (t.names.includes('params') || t.functions.includes('params')))
      throw new ProtocolError(
        'invalid_params',
        `run.start: model cell ${i + 1} declares 'params', where a sweep gives each trial its parameters; ` +
          "rename it, or read the sweep's values from params (const n = params.n ?? 50)",
      );
    t.names.forEach((n) => names.add(n));
    t.functions.forEach((n) => functions.add(n));
    bodies.push(`  // --- cell ${i + 1} ---\n${t.code}\n;`);
  });
  for (const f of functions) names.delete(f);
  for (const g of [...apiNames, ...SESSION_GLOBALS]) names.delete(g);
  const api = apiNames.filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
  return [
    "// Generated by the nefsim service from a design session's model cells.",
    "import * as nefsim from 'nefsim';",
    `const { ${api.join(', ')} } = nefsim;`,
    // In a run nothing is simulated while the model is built: simulate() and post.* give an inert value
    // (any property or call gives it again; it counts as 0 and iterates as empty), so that a model cell
    // that also post-processes an inline simulation still builds the network (sim.data(p) was null)
    "const inert = new Proxy(function () {}, { get: (_, k) => (k === Symbol.toPrimitive ? () => 0 : k === Symbol.iterator ? function* () {} : k === 'length' ? 0 : k === 'then' ? undefined : inert), apply: () => inert, construct: () => inert });",
    'const post = inert;',
    'const display = () => {};',
    "const simulate = () => { console.log('simulate(): skipped in a run'); return inert; };",
    'const buildSummary = (net = undefined, opts = {}) => new nefsim.Simulator(net, opts).summary();',
    'const plotTuning = () => undefined;',
    'const plotXY = () => undefined;',
    '',
    // a sweep's trial gets its parameter object here, as a module's default export does; `params` in the cells
    'export default async function (params = {}) {',
    `  let ${[...names].join(', ')};`,
    ...bodies,
    '  if (!(model instanceof nefsim.Network)) throw new Error("the model cells leave no Network in \'model\'");',
    '  return model;',
    '}',
    '',
  ].join('\n');
}

/**
 * A message about a module made from model cells (moduleFromCells), with its
 * places (`FILE:LINE`, `FILE:LINE:COLUMN`, as file URLs too) said as the
 * cells' own: "model cell 2, line 3". Unchanged without the module's source.
 */
export function cellPlaces(message: string, file: string, source: string | undefined): string {
  if (source === undefined) return message;
  const starts: number[] = []; // per cell, the module line of its marker
  let end = Infinity; // the module's line after the last cell
  source.split('\n').forEach((line, i) => {
    if (/^ {2}\/\/ --- cell \d+ ---$/.test(line)) starts.push(i + 1);
    if (line.startsWith('  if (!(model instanceof nefsim.Network))')) end = i + 1;
  });
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return message.replace(new RegExp(`(?:file://)?${escaped}:(\\d+)(?::\\d+)?`, 'g'), (whole, l: string) => {
    const line = Number(l);
    if (line >= end) return 'the end of the model cells';
    let k = starts.length - 1;
    while (k >= 0 && starts[k]! >= line) k--;
    if (k < 0) return whole;
    // (columns are the transformed code's: a declaration's line has moved; lines map one to one)
    return `model cell ${k + 1}, line ${line - starts[k]!}`;
  });
}

/**
 * Threads a run keeps busy: its partitions; a batch, the trials it runs at once (jobs, else what `nefsim run`
 * takes then: the cores divided by the partitions) times theirs.
 */
export function slotsOf(o: { partitions?: number; trials?: number; sweepFile?: string; jobs?: number; executor?: string }): number {
  // its work runs on the cluster: its launch (nefsim run loading the model and submitting) holds one, and the
  // submitted run none (see active)
  if (o.executor === 'slurm') return 1;
  const parts = Math.max(1, o.partitions ?? 1);
  const batch = (o.trials ?? 1) > 1 || o.sweepFile !== undefined;
  if (!batch) return parts;
  const atOnce = Math.min(o.jobs ?? defaultJobs(parts), o.trials ?? Infinity);
  return Math.max(1, atOnce) * parts;
}

/** The run or batch folder's status.json (a batch's has the same name) says it ended; false if it cannot be read. */
function endedBySavedStatus(dir: string): boolean {
  try {
    return isTerminal(readJson<{ state: RunState }>(join(dir, FILES.status)).state);
  } catch {
    return false; // being made, or damaged: judged as before
  }
}

export class RunManager {
  readonly dir: string;
  private readonly queueDir: string;
  private readonly sourcesDir: string;
  private timer: NodeJS.Timeout | undefined;
  /** Runs whose `nefsim run` is under way (loading the model, making the folder), and its end. */
  private readonly launching = new Map<string, Promise<void>>();
  /** The `nefsim run` process of each launch under way (run.cancel stops it). */
  private readonly launchers = new Map<string, ChildProcess>();
  /**
   * What list() made of the runs that had ended, by folder, with the identity
   * of their status.json (inode, size, modification time): an ended run's
   * files no longer change, so a later list() reads one stat instead of three
   * files (a Runs panel lists every second while a run is active; 305 runs
   * took 17-41 ms a list). A run folder made again (--force) has a new
   * status.json, and is read again.
   */
  private ended = new Map<string, { stamp: string; info: RunInfo }>();

  constructor(
    runsDir: string,
    readonly maxConcurrent: number,
    readonly maxQueued = 1000,
  ) {
    this.dir = resolve(runsDir);
    this.queueDir = join(this.dir, QUEUE);
    this.sourcesDir = join(this.dir, SOURCES);
    mkdirSync(this.queueDir, { recursive: true });
    mkdirSync(this.sourcesDir, { recursive: true });
  }

  /**
   * The runs folder, with its queue and sources folders, made again where it was removed while the
   * service ran (rm -r in a terminal or the file browser): run.start failed with ENOENT on a file of
   * RUNS/.queue the user never made. One that cannot be made (replaced by a file, permissions) is named.
   */
  private ensureFolders(): void {
    try {
      mkdirSync(this.queueDir, { recursive: true });
      mkdirSync(this.sourcesDir, { recursive: true });
    } catch (err) {
      throw new ProtocolError(
        'io_error',
        `the runs folder ${this.dir} cannot be used (${(err as Error).message}): was it replaced by a file, or made unreadable?`,
      );
    }
  }

  /** Starts the scheduler (queued runs start as slots free up). */
  start(): void {
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the queue; launches under way are stopped too (their records stay queued: a restarted service launches them again). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    for (const launcher of this.launchers.values()) {
      stopped.add(launcher);
      launcher.kill('SIGTERM');
    }
  }
  private stopped = false;

  private checkName(run: string): string {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.:@+ -]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(run) || run.length > 300) {
      throw new ProtocolError('invalid_params', `'${run}' is not a run name`);
    }
    const slash = run.indexOf('/');
    if (slash >= 0 && !isBatchFolder(join(this.dir, run.slice(0, slash)))) {
      throw new ProtocolError('not_found', `'${run.slice(0, slash)}' is not a batch in ${this.dir}`);
    }
    return join(this.dir, run);
  }

  /**
   * A name no run has: not a folder's, a queue record's or a launch's. A name that was taken (the same
   * label in the same second, and the same random part) made the new run's record replace a queued
   * run's, or its `nefsim run` be refused the folder of a finished one, whose status was then the reply.
   */
  private newName(label: string): string {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    for (;;) {
      const run = `${label || 'model'}-${stamp}-${randomBytes(3).toString('hex')}`;
      const taken = existsSync(join(this.dir, run)) || existsSync(join(this.queueDir, `${run}.json`)) || this.launching.has(run);
      if (!taken) return run;
    }
  }

  /** Writes a session's model cells as a module; returns its path. */
  writeSource(cells: string[], apiNames: string[], label: string, opts: { sweep?: boolean } = {}): string {
    this.ensureFolders();
    if (cells.length === 0)
      throw new ProtocolError(
        'conflict',
        'the session has no model cells yet: execute cells that build the network and assign it to model',
      );
    const src = moduleFromCells(cells, apiNames, opts);
    const path = join(this.sourcesDir, `${label || 'session'}-${randomBytes(4).toString('hex')}.mjs`);
    writeFileSync(path, src);
    return path;
  }

  /** Whether `file` is in the folder of the models and sweeps this service writes (RUNS/.sources). */
  isGenerated(file: string): boolean {
    return resolve(file).startsWith(this.sourcesDir + '/');
  }

  /** Removes files this service generated for a run (a session's module, a sweep), if they are its. */
  removeGenerated(...files: (string | undefined)[]): void {
    // (resolved, as isGenerated: a queue record written by hand naming RUNS/.sources/../../x deleted x)
    for (const f of files) if (f !== undefined && this.isGenerated(f)) rmSync(f, { force: true });
  }

  /** Writes a sweep's parameter objects for `nefsim run --sweep`; returns the path. */
  writeSweep(params: Record<string, unknown>[]): string {
    this.ensureFolders();
    let text: string;
    try {
      text = JSON.stringify(params, null, 2) + '\n';
    } catch (err) {
      // the schema bounds the size, not the nesting: a value nested thousands deep overflows the stack
      throw new ProtocolError('invalid_params', `sweep: its parameter values cannot be written as JSON (${(err as Error).message})`);
    }
    const path = join(this.sourcesDir, `sweep-${randomBytes(4).toString('hex')}.json`);
    writeFileSync(path, text);
    return path;
  }

  /** Queues a run of `file`; it starts at once if a slot is free. */
  async submit(file: string, req: RunRequest): Promise<RunInfo> {
    if (!existsSync(file) || !statSync(file).isFile()) throw new ProtocolError('not_found', `no model file '${file}' on the service host`);
    this.ensureFolders();
    const queued = this.queueRecords().filter((q) => q.state === 'queued').length;
    if (queued >= this.maxQueued)
      throw new ProtocolError('limit', `${queued} runs are queued, the limit; wait or cancel some`, { maxQueued: this.maxQueued });
    const run = this.newName(req.label);
    const rec: QueueRecord = { ...req, run, file: resolve(file), created: new Date().toISOString(), state: 'queued' };
    writeJsonAtomic(join(this.queueDir, `${run}.json`), rec);
    await this.tick();
    // the reply waits for this run's own launch (if it got a slot), so that a model error is the reply's,
    // not for the launches of other runs
    await this.launching.get(run);
    return this.status(run);
  }

  /** A run's queue record; undefined if it has none, or one that is damaged (as run.list skips it). */
  private record(run: string): QueueRecord | undefined {
    try {
      return readRecord(join(this.queueDir, `${run}.json`));
    } catch {
      return undefined;
    }
  }

  private queueRecords(): QueueRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.queueDir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const out: QueueRecord[] = [];
    for (const n of names) {
      try {
        out.push(readRecord(join(this.queueDir, n)));
      } catch {
        // half-written or foreign file: skip
      }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  /**
   * The runs folder's run folders (damaged ones too). `strict` (run.list): a runs folder that cannot be read
   * (replaced by a file, made unreadable) fails naming it, where it read as one without runs; one removed has none.
   */
  private runFolders(strict = false): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if (!strict || (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new ProtocolError('io_error', `the runs folder ${this.dir} cannot be read (${(err as Error).message})`);
    }
    return names.filter((n) => !n.startsWith('.') && (isFolder(join(this.dir, n)) || this.damaged(n) !== null));
  }

  /**
   * Slots held: a run holds one per thread it keeps busy (its partitions; a batch, its trials at once
   * times their partitions), running or being launched. Two partitioned runs on two cores made each
   * other's barriers wait for time slices: together they ran about 13 times slower than one alone.
   * A run or batch handed to Slurm holds none once submitted (only its launch, counted above, works
   * here): pending or running, its work is the cluster's, which Slurm schedules. It held one for as long
   * as its job lived, so a job pending in Slurm's queue (for hours, on a busy cluster) kept a local run
   * queued here, and every local run with --max-concurrent-runs 1.
   */
  private active(): number {
    let n = 0;
    for (const cores of this.launchingCores.values()) n += cores;
    for (const r of this.runFolders()) {
      if (this.launching.has(r)) continue;
      const dir = join(this.dir, r);
      // one whose own status.json says it ended holds none, and is read no further: this runs every second, and
      // read the options (a sweep's batch.json can be megabytes) and a batch's every trial of every ended run
      if (endedBySavedStatus(dir)) continue;
      try {
        // the plan or options first: a Slurm run's state is not needed (it would ask squeue)
        let slots: number;
        if (isBatchFolder(dir)) {
          const plan = readPlan(dir);
          if (plan.executor === 'slurm') continue;
          slots = slotsOf({ trials: plan.trials.length, jobs: plan.jobs, partitions: plan.partitions });
        } else {
          const o = readJson<RunOptions>(join(dir, FILES.options));
          if (o.executor === 'slurm') continue;
          slots = slotsOf({ partitions: o.partitions });
        }
        const s = this.stateOf(dir);
        if (s === 'running' || s === 'queued') n += slots;
      } catch {
        // unreadable: a folder a run outside the service is making holds a slot for a moment; a damaged
        // one (listed as failed) none, or a few of them would hold up the queue for good
        if (Date.now() - lastChange(dir) < UNREADABLE_SLOT_MS) n++;
      }
    }
    return n;
  }
  /** Slots of each launch under way. */
  private readonly launchingCores = new Map<string, number>();

  /**
   * Launches queued runs while slots are free (without waiting for the launches), in queue order. A run
   * that waits for slots holds up the runs behind it (so that a wide run is not starved by narrow ones),
   * except the launches of Slurm runs that fit beside it: one holds one slot for the seconds it takes to
   * load the model and submit it, and it waited behind a local run for as long as the runs before that ran
   * (hours, maybe). They go ahead only while running runs, not launches, keep the waiting run from starting,
   * so that a stream of them cannot hold it back for longer than a launch takes.
   */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    let held = this.active();
    let launchingHeld = 0;
    for (const cores of this.launchingCores.values()) launchingHeld += cores;
    let waiting = false; // a run ahead waits for slots held by running runs: only Slurm launches may pass it
    for (const listed of this.queueRecords()) {
      if (held >= this.maxConcurrent) break;
      // read again: a run.cancel may have come while an earlier run launched
      const rec = this.record(listed.run);
      if (rec === undefined) continue; // deleted meanwhile
      if (rec.state !== 'queued' || this.launching.has(rec.run)) continue;
      if (waiting && rec.executor !== 'slurm') continue;
      // its slots (all of them at most: a run that needs more than there are runs alone), in queue order
      const need = Math.min(this.maxConcurrent, slotsOf(rec));
      if (held > 0 && held + need > this.maxConcurrent) {
        // held up by launches alone (they end within seconds): it goes first once they have
        if (waiting || held - launchingHeld + need <= this.maxConcurrent) break;
        waiting = true;
        continue;
      }
      held += need;
      // another service on this runs folder may be launching it (it held the slots counted above)
      if (!this.claimLaunch(rec.run)) continue;
      // and may have launched it, and let go of its claim, since the record was read: the record says
      if (!this.stillQueued(rec.run)) {
        rmSync(this.claimFile(rec.run), { force: true });
        continue;
      }
      // launches run side by side, each holding its slots: one whose model takes long to load (or never
      // loads) no longer holds up the queue; when it ends, its slots go to the next queued runs
      this.launchingCores.set(rec.run, need);
      const launched = this.launch(rec).finally(() => void this.tick());
      this.launching.set(rec.run, launched);
    }
    return Promise.resolve();
  }

  private async launch(rec: QueueRecord): Promise<void> {
    const out = join(this.dir, rec.run);
    const qfile = join(this.queueDir, `${rec.run}.json`);
    try {
      await this.launchOnce(rec, out, qfile);
    } catch (err) {
      // never an unhandled rejection (it would end the service), and never a record left queued to be
      // launched again at once
      try {
        writeJsonAtomic(qfile, { ...rec, state: 'failed', error: `the service could not launch it: ${(err as Error).message}` });
      } catch {
        // the queue folder is gone: nothing to record
      }
    } finally {
      rmSync(this.claimFile(rec.run), { force: true });
      this.launching.delete(rec.run);
      this.launchers.delete(rec.run);
      this.launchingCores.delete(rec.run);
    }
  }

  /** Whether a run's queue record is there and queued. */
  private stillQueued(run: string): boolean {
    return this.record(run)?.state === 'queued';
  }

  private claimFile(run: string): string {
    return join(this.queueDir, `${run}.launch`);
  }

  /**
   * Makes a queued run's launch this service's: two services on one runs folder (a second
   * `nefsim serve`, another Jupyter server in the same directory) both launched every queued run,
   * each `nefsim run` loading the model, and the one refused the folder could record the run failed.
   * The claim names this process and where it runs; one whose process is gone (a service killed) is
   * taken over. A claim of a service on another host (a runs folder on a shared path) or in another
   * pid namespace names a pid that means nothing here: it holds until it is older than a launch
   * lasts (taken over at once, both services launched the run, as before claims).
   */
  private claimLaunch(run: string): boolean {
    const file = this.claimFile(run);
    const me = JSON.stringify({ pid: process.pid, processStart: processStartTime(process.pid), host: hostname(), pidns: pidNamespace() });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, me, { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no claims here (permissions): as before
      }
      try {
        const owner = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; processStart: number | null; host?: string; pidns?: string };
        const seen = owner.host === undefined || (owner.host === hostname() && owner.pidns === pidNamespace());
        if (seen ? processAlive(owner.pid, owner.processStart) : Date.now() - statSync(file).mtimeMs < FOREIGN_CLAIM_MS) return false;
      } catch {
        // being written (its owner is alive), or gone meanwhile: look again at the next tick; left
        // unwritten by a service killed as it wrote it: taken over once it is plainly old
        if (Date.now() - (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 10_000) return false;
      }
      rmSync(file, { force: true }); // its service is gone
    }
    return false;
  }

  /** A folder `nefsim run` left half made (stopped while it filled it): the run's name is this service's, so it goes. */
  private removeHalfMade(out: string): void {
    if (existsSync(out) && !isFolder(out) && claimState(out) === 'gone') rmSync(out, { recursive: true, force: true });
  }

  private async launchOnce(rec: QueueRecord, out: string, qfile: string): Promise<void> {
    this.removeHalfMade(out); // from a launch stopped by a service that was killed or stopped
    const args = ['run', rec.file, '--out', out, '--duration', String(rec.duration), '--dt', String(rec.dt), '--detach'];
    if (rec.seed !== null) args.push('--seed', String(rec.seed));
    if (rec.partitions !== undefined && rec.partitions > 1) args.push('--partitions', String(rec.partitions));
    if (rec.trials !== undefined && rec.trials > 1) args.push('--trials', String(rec.trials));
    if (rec.sweepFile !== undefined) args.push('--sweep', rec.sweepFile);
    if (rec.jobs !== undefined) args.push('--jobs', String(rec.jobs));
    if (rec.executor !== undefined && rec.executor !== 'local') args.push('--executor', rec.executor);
    if (rec.dtype === 'float32') args.push('--dtype', 'float32');
    const r = await cli(args, LAUNCH_TIMEOUT_MS, (child) => this.launchers.set(rec.run, child));
    // the service stopping stopped it: its record stays queued, for the service's next start
    if (this.stopped && !(isRunFolder(out) || isBatchFolder(out))) return;
    // a session's module is deleted below: an error's places in it are said as the model cells' own
    let generated: string | undefined;
    try {
      if (r.code !== 0 && rec.file.startsWith(this.sourcesDir + '/')) generated = readFileSync(rec.file, 'utf8');
    } catch {
      // gone
    }
    // The run folder has its own copy of the model (and a batch its plan), and a failed launch
    // keeps its message in the queue record: generated files are no longer needed either way.
    this.removeGenerated(rec.file, rec.sweepFile);
    // run.cancel while `nefsim run` loaded the model marked the record (and stopped the launcher)
    const cancelled = this.record(rec.run)?.state === 'cancelled';
    if (isRunFolder(out) || isBatchFolder(out)) {
      // the run exists (a launcher stopped by a cancel may have started it just before): cancel it if asked
      rmSync(qfile, { force: true });
      if (cancelled && !isTerminal(this.stateOf(out))) await cli(['cancel', out, '--timeout', '30'], 40_000);
    } else if (cancelled) {
      this.removeHalfMade(out); // stopped while it filled the folder
    } else {
      const msg = r.timedOut
        ? `the model did not load within ${LAUNCH_TIMEOUT_MS / 1000} s (nefsim run was stopped): does it wait for something, or loop, when it is imported or called?`
        : r.signal !== null
          ? // not the model's fault as far as anyone knows: "exited with code 1" said it was
            `nefsim run was ended by ${r.signal} before it started the run (killed, or out of memory?); start it again`
          : cellPlaces((r.stderr || r.stdout).trim().replace(/^nefsim run: /, ''), rec.file, generated) ||
            `nefsim run exited with code ${r.code}`;
      writeJsonAtomic(qfile, { ...rec, state: 'failed', error: msg });
    }
  }

  private stateOf(dir: string): RunState {
    return isBatchFolder(dir) ? currentBatchStatus(dir).state : currentStatus(dir).state;
  }

  private fromBatch(run: string): RunInfo {
    const dir = join(this.dir, run);
    const s = currentBatchStatus(dir);
    const plan = readPlan(dir);
    // the running trials' rates; none while they all load their model (it read '0 steps/s', as if stalled)
    const rates = s.trials.filter((t) => t.state === 'running' && t.stepsPerSecond !== null);
    const sps = rates.length ? rates.reduce((a, t) => a + t.stepsPerSecond!, 0) : null;
    const pending = pendingInSlurm(s.trials);
    return {
      run,
      kind: 'batch',
      state: s.state,
      time: s.trials.reduce((a, t) => a + t.time, 0),
      steps: s.steps,
      stepsTotal: s.stepsTotal,
      stepsFlushed: 0,
      stepsPerSecond: sps,
      secondsLeft: sps ? (s.stepsTotal - s.steps) / sps : isTerminal(s.state) ? 0 : null,
      percent: s.stepsTotal > 0 ? (100 * s.steps) / s.stepsTotal : 0,
      duration: plan.duration,
      dt: plan.dt,
      seed: s.trials[0]?.seed ?? null,
      created: stringOrNull(plan.created),
      error: s.error ?? s.trials.find((t) => t.error)?.error ?? null,
      object: s.trials.find((t) => t.object)?.object ?? null,
      ...(pending !== null ? { slurmPending: pending } : {}),
      counts: s.counts,
      trials: s.trials.map((t) => ({
        run: `${run}/${t.dir}`,
        index: t.index,
        seed: t.seed,
        params: t.params,
        state: t.state,
        time: t.time,
        steps: t.steps,
        stepsTotal: t.stepsTotal,
        stepsPerSecond: t.stepsPerSecond,
        secondsLeft: t.secondsLeft,
        wallSeconds: t.wallSeconds,
        error: t.error ?? null,
        ...(t.slurmPending !== undefined ? { slurmPending: t.slurmPending } : {}),
      })),
    };
  }

  private fromRecord(rec: QueueRecord, position: number | undefined): RunInfo {
    return {
      run: rec.run,
      kind: (rec.trials !== undefined && rec.trials > 1) || rec.sweepFile !== undefined ? 'batch' : 'run',
      state: rec.state,
      time: 0,
      steps: 0,
      stepsTotal: stepsIn(rec.duration, rec.dt),
      stepsFlushed: 0,
      stepsPerSecond: null,
      secondsLeft: null,
      percent: 0,
      duration: rec.duration,
      dt: rec.dt,
      seed: rec.seed,
      created: rec.created,
      error: rec.error ?? null,
      object: null,
      ...(position !== undefined ? { queuePosition: position } : {}),
    };
  }

  private fromFolder(run: string): RunInfo {
    const dir = join(this.dir, run);
    const s: RunStatus = currentStatus(dir);
    // one that cannot be read makes the folder damaged (see damage): a run shown done, with no duration, hid it
    const options = readOptions(dir);
    const exit = isTerminal(s.state) ? readExit(dir) : undefined;
    return {
      run,
      kind: 'run',
      state: s.state,
      time: s.time,
      steps: s.steps,
      stepsTotal: s.stepsTotal,
      stepsFlushed: s.stepsFlushed,
      stepsPerSecond: s.stepsPerSecond,
      secondsLeft: s.secondsLeft,
      percent: s.stepsTotal > 0 ? (100 * s.steps) / s.stepsTotal : 0,
      duration: numberOrNull(options.duration),
      dt: numberOrNull(options.dt),
      seed: numberOrNull(options.seed),
      created: stringOrNull(options.created),
      error: s.error ?? exit?.error ?? null,
      object: s.object ?? exit?.object ?? null,
      ...(s.slurmPending !== undefined ? { slurmPending: s.slurmPending } : {}),
    };
  }

  /**
   * What is wrong with a run's folder (see damage) or a trial's (see trialDamage), or null; not for
   * a run being launched. Its files are read as run.status reads them: one whose options.json does
   * not parse is damaged too (the README says so; it was shown done, without its duration).
   */
  private damaged(run: string): string | null {
    if (run.includes('/')) return trialDamage(join(this.dir, run));
    return this.launching.has(run) ? null : damage(join(this.dir, run));
  }

  /** A run whose folder is damaged: failed, saying what is wrong. */
  private fromDamaged(run: string, why: string): RunInfo {
    let created: string | null = null;
    try {
      created = statSync(join(this.dir, run)).mtime.toISOString();
    } catch {
      // gone meanwhile
    }
    return {
      run,
      kind: existsSync(join(this.dir, run, BATCH_FILES.plan)) ? 'batch' : 'run',
      state: 'failed',
      time: 0,
      steps: 0,
      stepsTotal: 0,
      stepsFlushed: 0,
      stepsPerSecond: null,
      secondsLeft: null,
      percent: 0,
      duration: null,
      dt: null,
      seed: null,
      created,
      error: `the run folder is damaged: ${why}; its files are left as they are (probes.h5 may still open in h5py), and ${
        run.includes('/') ? 'run.delete of its batch' : 'run.delete'
      } removes it`,
      object: null,
    };
  }

  /** Status of one run (folder, or queue record). */
  status(run: string): RunInfo {
    const dir = this.checkName(run);
    // one read of the status (run.watch asks every second): a damaged folder shows when it fails
    if (isFolder(dir)) {
      try {
        return isBatchFolder(dir) ? this.fromBatch(run) : this.fromFolder(run);
      } catch (err) {
        const why = this.damaged(run);
        if (why === null) throw err;
        return this.fromDamaged(run, why);
      }
    }
    const why = this.damaged(run);
    if (why !== null) return this.fromDamaged(run, why);
    const recs = this.queueRecords();
    const rec = recs.find((r) => r.run === run);
    if (rec) {
      // (a run being started waits no more: the next one waiting is #1)
      const pos = recs.filter((r) => r.state === 'queued' && !this.launching.has(r.run)).findIndex((r) => r.run === run);
      return this.fromRecord(rec, pos >= 0 ? pos + 1 : undefined);
    }
    if (this.launching.has(run))
      return this.fromRecord({ run, state: 'queued', duration: 0, dt: 1, seed: null, label: '', file: '', created: '' }, 0);
    throw new ProtocolError('not_found', `no run '${run}' in ${this.dir}`);
  }

  list(): RunInfo[] {
    const out: RunInfo[] = [];
    const ended = new Map<string, { stamp: string; info: RunInfo }>();
    for (const r of this.runFolders(true)) {
      const dir = join(this.dir, r);
      if (!isFolder(dir)) {
        const why = this.damaged(r);
        if (why !== null) out.push(this.fromDamaged(r, why));
        continue;
      }
      try {
        // with its options.json (a batch's batch.json), which the listing reads too: one damaged after the run
        // was listed (edited, replaced) kept it listed as it was, while run.status said it was damaged
        const batch = isBatchFolder(dir);
        const stampOf = (f: string): string => {
          const st = statSync(join(dir, f));
          return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
        };
        // and a batch's folder itself: a trial folder deleted (or renamed) after the batch was listed changes it
        // alone, and the batch reads failed then (currentBatchStatus), while it stayed listed done
        const stamp = `${stampOf(FILES.status)}/${stampOf(batch ? BATCH_FILES.plan : FILES.options)}${batch ? `/${stampOf('.')}` : ''}`;
        const known = this.ended.get(r);
        if (known?.stamp === stamp) {
          out.push(known.info);
          ended.set(r, known);
          continue;
        }
        const info = batch ? this.fromBatch(r) : this.fromFolder(r);
        out.push(info);
        // A batch only once its own status.json says it ended: its trials write their own files (a
        // Slurm batch's status.json is written once, at submission; a requeued trial runs again).
        if (isTerminal(info.state) && (!batch || isTerminal(readJson<{ state: RunState }>(join(dir, FILES.status)).state)))
          ended.set(r, { stamp, info });
      } catch {
        // a damaged folder (listed as failed, saying why), or one being created or removed
        const why = this.damaged(r);
        if (why !== null) out.push(this.fromDamaged(r, why));
      }
    }
    this.ended = ended;
    let pos = 0;
    for (const rec of this.queueRecords()) {
      // a run with a folder is listed from it (a damaged one too, above)
      if (isFolder(join(this.dir, rec.run)) || (!this.launching.has(rec.run) && this.damaged(rec.run) !== null)) continue;
      out.push(this.fromRecord(rec, rec.state === 'queued' && !this.launching.has(rec.run) ? ++pos : undefined));
    }
    return out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  }

  /** Folder of a run that has one (for probe data). */
  folder(run: string): string {
    const dir = this.checkName(run);
    const why = this.damaged(run);
    if (why !== null) throw new ProtocolError('io_error', `run '${run}': the run folder is damaged: ${why}`);
    if (isBatchFolder(dir))
      throw new ProtocolError('conflict', `'${run}' is a batch: ask for the data of one trial, e.g. '${run}/trial-000'`);
    if (!isRunFolder(dir)) {
      const info = this.status(run); // not_found, or a queued (or failed to start, or cancelled) run
      if (info.state === 'failed')
        throw new ProtocolError('conflict', `run '${run}' failed before it started, so it has no data: ${info.error ?? 'see run.status'}`);
      if (info.state === 'cancelled') throw new ProtocolError('conflict', `run '${run}' was cancelled before it started: it has no data`);
      throw new ProtocolError('conflict', `run '${run}' has not started yet: it has no data`);
    }
    return dir;
  }

  /**
   * Cancels a queued run at once, a run being launched once it exists (the
   * launch sees its record cancelled), or a running one through `nefsim
   * cancel`; answers when the run has ended. A run that has already ended
   * (done, failed or cancelled) is left as it is and answers with its state.
   */
  async cancel(run: string): Promise<RunInfo> {
    const dir = this.checkName(run);
    const qfile = join(this.queueDir, `${run}.json`);
    const launch = this.launching.get(run);
    if (launch) {
      try {
        const rec = readRecord(qfile);
        if (rec.state === 'queued') {
          writeJsonAtomic(qfile, { ...rec, state: 'cancelled', error: 'cancelled while it was being started' });
          // stop `nefsim run` loading the model (a model that never loads would hold the cancel for the launch's time limit)
          const launcher = this.launchers.get(run);
          if (launcher) {
            stopped.add(launcher);
            launcher.kill('SIGTERM');
          }
        }
      } catch {
        // the launch is ending: its run folder exists, or the launch failed
      }
      await launch;
      if (isFolder(dir) && !isTerminal(this.stateOf(dir))) await cli(['cancel', dir, '--timeout', '30'], 40_000);
      return this.status(run);
    }
    if (!isFolder(dir)) {
      const rec = this.record(run);
      if (rec?.state === 'queued') {
        writeJsonAtomic(qfile, { ...rec, state: 'cancelled', error: 'cancelled before it started' });
        // it never starts: its generated module and sweep were kept for good
        this.removeGenerated(rec.file, rec.sweepFile);
      }
      return this.status(run);
    }
    // an ended run answers with its state, as a queued record that already ended does above and as
    // `nefsim cancel` does ("already done; nothing to cancel"): a Cancel clicked as the run ends is no error
    if (isTerminal(this.stateOf(dir))) return this.status(run);
    const r = await cli(['cancel', dir, '--timeout', '30'], 40_000);
    const after = this.status(run);
    if (r.code !== 0 && !isTerminal(after.state))
      throw new ProtocolError('conflict', `could not cancel run '${run}': ${(r.stderr || r.stdout).trim()}`);
    void this.tick();
    return after;
  }

  /** Deletes a run that is not running (its folder, or its queue record). */
  delete(run: string): void {
    const dir = this.checkName(run);
    const qfile = join(this.queueDir, `${run}.json`);
    if (run.includes('/')) throw new ProtocolError('conflict', 'delete the whole batch, not one of its trials');
    // its launch is under way (a cancel may have marked it, but the launch still ends by recording it: deleted
    // now, it came back as failed)
    if (this.launching.has(run))
      throw new ProtocolError(
        'conflict',
        `run '${run}' is being started: cancel it (run.cancel answers once it has ended), then delete it`,
        {
          state: 'queued',
        },
      );
    if (this.damaged(run) !== null) {
      // unless its status says it runs and its process is there (its options.json alone was deleted)
      try {
        const s = readJson<RunStatus>(join(dir, FILES.status));
        if (!isTerminal(s.state) && processAlive(s.pid, s.processStart ?? null))
          throw new ProtocolError('conflict', `run '${run}' is ${s.state}: cancel it before deleting it`, { state: s.state });
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        // no readable status: nothing runs it
      }
      rmSync(dir, { recursive: true, force: true });
      rmSync(qfile, { force: true });
      return;
    }
    if (isFolder(dir)) {
      const state = this.stateOf(dir);
      if (!isTerminal(state)) throw new ProtocolError('conflict', `run '${run}' is ${state}: cancel it before deleting it`, { state });
      rmSync(dir, { recursive: true, force: true });
      rmSync(qfile, { force: true });
      return;
    }
    const rec = this.record(run);
    if (rec) {
      if (rec.state === 'queued') throw new ProtocolError('conflict', `run '${run}' is queued: cancel it before deleting it`);
      rmSync(qfile, { force: true });
      this.removeGenerated(rec.file, rec.sweepFile); // of a record cancelled by an earlier service
      return;
    }
    throw new ProtocolError('not_found', `no run '${run}' in ${this.dir}`);
  }

  /** The source of a run's model (for clients that show it). */
  modelSource(run: string): string {
    return readFileSync(join(this.folder(run), FILES.model), 'utf8');
  }

  get name(): string {
    return basename(this.dir);
  }
}

/** How long a run folder that cannot be read counts as a run starting (ms). */
const UNREADABLE_SLOT_MS = 30_000;

/** When the folder or a file in it last changed (ms since the epoch); 0 if it cannot be read. */
function lastChange(dir: string): number {
  try {
    let t = statSync(dir).mtimeMs;
    for (const f of readdirSync(dir)) t = Math.max(t, statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0);
    return t;
  } catch {
    return 0;
  }
}
