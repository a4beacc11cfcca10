/**
 * The run folder: the single source of truth for a run. Everything a run is
 * (its model source, options, status, heartbeat, log, exit record and probe
 * data) lives in its folder, so a run can be watched, judged dead or alive,
 * and reproduced from the folder alone.
 *
 *   model.mjs     the model module, copied verbatim
 *   options.json  duration, dt, seed, engine and node versions, argv
 *   status.json   state, progress, pid + process start time, heartbeat (atomic)
 *   log.txt       what the run printed (stdout and stderr of a detached run)
 *   exit.json     how it ended: state, exit code, error and the object at fault
 *   probes.h5     probe data, appended and flushed as the run goes
 *   .nefsim-reserve  space held while the run goes, freed for its last records (see reserveSpace)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { jobListed, pendingReason } from './slurm.js';

export const FILES = {
  model: 'model.mjs',
  options: 'options.json',
  status: 'status.json',
  log: 'log.txt',
  exit: 'exit.json',
  probes: 'probes.h5',
  reserve: '.nefsim-reserve',
  /** A cancel asked for by a process that cannot signal the run (another host or container): see requestCancel. */
  cancel: 'cancel.json',
} as const;

export type RunState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface RunOptions {
  /** Simulated seconds. */
  duration: number;
  dt: number;
  /** Seed for the whole model, or null for the network's own seed. */
  seed: number | null;
  engineVersion: string;
  nodeVersion: string;
  /** The command line that created the run. */
  argv: string[];
  /** Where the model came from (informational; the run uses model.mjs). */
  modelSource: string;
  created: string;
  /** Parameters passed to the model's default-exported function (a sweep trial, or --params). */
  params?: Record<string, unknown>;
  /** Where the run executes: a local process (default) or a Slurm job. */
  executor?: 'local' | 'slurm';
  /** Index of this trial in its batch (trials and sweeps), and the batch folder's name for it. */
  trial?: number;
  /** Worker threads the network is split across (default 1). */
  partitions?: number;
  /** Objects (by label) pinned to parts. */
  pin?: Record<string, number>;
  /** The arena's precision (default float64). */
  dtype?: 'float64' | 'float32';
}

export interface RunStatus {
  state: RunState;
  /** Simulated time reached, in seconds. */
  time: number;
  steps: number;
  stepsTotal: number;
  /** Steps whose probe data is flushed to probes.h5. */
  stepsFlushed: number;
  stepsPerSecond: number | null;
  /** Estimated wall seconds left, or null before it can be estimated. */
  secondsLeft: number | null;
  pid: number;
  /** Start time of the process (field 22 of /proc/<pid>/stat, clock ticks since boot); guards against pid reuse. */
  processStart: number | null;
  /** Process group (a detached run leads its own group: pgid = pid); `nefsim cancel` signals the group. */
  pgid: number | null;
  /** Wall time of the last update, ms since the epoch. */
  heartbeat: number;
  started: string | null;
  /** Slurm job id (ARRAYID_TASK for a trial of an array) when the run was submitted to Slurm. */
  jobId?: string;
  /** Host the run process runs on (its pid means something there only). */
  host?: string;
  /** Its pid namespace there (see pidNamespace): a container may share the host's name, not its processes. */
  pidns?: string;
  /** Set when the run ended badly, or when `nefsim status` judged it dead. */
  error?: string;
  object?: string;
  /**
   * Why Slurm keeps a queued run's job pending (squeue's reason: Resources,
   * Priority, JobHeldUser, ...): judged when the status is read, never stored.
   */
  slurmPending?: string;
}

export interface ExitRecord {
  state: 'done' | 'failed' | 'cancelled';
  exitCode: number;
  error: string | null;
  /** Label of the object at fault (engine errors carry it). */
  object: string | null;
  /** Error class name (ValidationError, BuildError, SimulationError, ...). */
  errorType: string | null;
  time: number;
  steps: number;
  ended: string;
}

/**
 * Writes JSON so readers never see a half-written file: temp file in the same
 * folder, then rename. A failed write (a full disk) leaves the old file as it
 * was and no temp file.
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Bytes a run holds in its folder for its last records (exit.json, status.json, log lines): a few blocks of any file system. */
export const RESERVE_BYTES = 64 * 1024;

/**
 * Holds RESERVE_BYTES in the run folder while the run goes, so that a disk
 * the run fills (probes.h5 grows until it cannot) still has room for the
 * records that say how the run ended: the runner frees it just before writing
 * them. Best effort: on a disk already full there is nothing to hold.
 */
export function reserveSpace(dir: string): void {
  try {
    writeFileSync(join(dir, FILES.reserve), randomBytes(RESERVE_BYTES)); // random: a compressing file system keeps it whole
  } catch {
    rmSync(join(dir, FILES.reserve), { force: true });
  }
}

/** Frees the space reserveSpace held. */
export function releaseSpace(dir: string): void {
  rmSync(join(dir, FILES.reserve), { force: true });
}

/** A JSON file of a run folder; one that does not parse (damaged, or edited by hand) fails naming the file. */
export function readJson<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    // Node's message names no file ('EISDIR: illegal operation on a directory, read')
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new Error(`${path} is damaged: it is a folder, not a file`);
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(
      `${path} is damaged: ${text.length === 0 ? 'it is empty' : `not JSON (${err instanceof Error ? err.message : String(err)})`}`,
    );
  }
}

const RUN_STATES: readonly RunState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];
const TERMINAL: ReadonlySet<RunState> = new Set(['done', 'failed', 'cancelled']);
/** Has a run (or batch) in this state ended? */
export const isTerminal = (s: RunState): boolean => TERMINAL.has(s);

/**
 * Checks that a status file's JSON has the fields every reader uses, of
 * their kinds: a file that parses but lacks them (written by hand, or by
 * something else) is damaged, named as such, rather than a crash further on
 * ("cannot read properties of undefined").
 */
export function checkStatusShape<T>(path: string, value: unknown, numbers: readonly string[], optionalNumbers: readonly string[] = []): T {
  const bad = (what: string) => new Error(`${path} is damaged: ${what}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object');
  const o = value as Record<string, unknown>;
  const shown = (v: unknown) => (v === undefined ? 'missing' : JSON.stringify(v));
  if (!RUN_STATES.includes(o.state as RunState)) throw bad(`its state is ${shown(o.state)}, not one of ${RUN_STATES.join(', ')}`);
  for (const k of numbers) if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw bad(`its ${k} is ${shown(o[k])}, not a number`);
  for (const k of optionalNumbers)
    if (o[k] !== undefined && o[k] !== null && (typeof o[k] !== 'number' || !Number.isFinite(o[k])))
      throw bad(`its ${k} is ${shown(o[k])}, not a number`);
  return o as T;
}

export function readStatus(dir: string): RunStatus {
  const path = join(dir, FILES.status);
  return checkStatusShape<RunStatus>(
    path,
    readJson<unknown>(path),
    ['time', 'steps', 'stepsTotal', 'pid', 'heartbeat'],
    ['stepsFlushed', 'stepsPerSecond', 'secondsLeft', 'processStart', 'pgid'],
  );
}

/** The run's exit record, read and checked (see checkStatusShape); throws if it is damaged. */
export function readExitChecked(path: string): ExitRecord {
  const exit = checkStatusShape<ExitRecord>(path, readJson<unknown>(path), ['exitCode']);
  if (!isTerminal(exit.state)) throw new Error(`${path} is damaged: its state is '${exit.state}', which is not an end`);
  return exit;
}

/**
 * The run's exit record, or undefined if it has none. A damaged one counts as
 * none (the status decides; `nefsim status` says it is damaged), so that it
 * cannot hide the rest of the folder.
 */
export function readExit(dir: string): ExitRecord | undefined {
  const p = join(dir, FILES.exit);
  if (!existsSync(p)) return undefined;
  try {
    return readExitChecked(p);
  } catch {
    return undefined;
  }
}

/**
 * A run's exit record is its end: a status still queued or running beside one (a trial cancelled in its folder
 * while its batch's driver, starting, wrote the status it had read back over the cancel's) is brought in line
 * with it, where the status can be written (a full disk: the record still says how it ended). Returns the
 * recorded end, or undefined when there is no record; throws only where the status cannot be read.
 */
export function settleFromExit(dir: string): ExitRecord | undefined {
  const exit = readExit(dir);
  if (exit === undefined) return undefined;
  const s = readStatus(dir);
  if (!isTerminal(s.state)) {
    const settled: RunStatus = {
      ...s,
      state: exit.state,
      time: exit.time,
      steps: exit.steps,
      stepsPerSecond: null,
      secondsLeft: null,
      heartbeat: Date.now(),
    };
    if (exit.error !== null) settled.error = exit.error;
    try {
      writeJsonAtomic(join(dir, FILES.status), settled);
    } catch {
      // the exit record is the end either way; the next reader settles the status again
    }
  }
  return exit;
}

/** Is `dir` a run folder (has options.json and status.json)? */
export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, FILES.options)) && existsSync(join(dir, FILES.status));
}

/** The file whose exclusive creation makes a folder this `nefsim run`'s while it fills it (see makeOut): {pid, processStart}. */
export const CLAIM_FILE = '.nefsim-claim';

/** Whether a `nefsim run` is filling `dir` ('alive'), or left it half made ('gone': its claim names a process that stopped). */
/** Age past which a folder claim made where its pid cannot be checked (another host) is a leftover, ms. */
const FOREIGN_CLAIM_MS = 10 * 60_000;

/** What a folder claim records: the process making the folder, and where it runs. */
export function claimRecord(): string {
  return JSON.stringify({ pid: process.pid, processStart: processStartTime(process.pid), host: hostname(), pidns: pidNamespace() });
}

export function claimState(dir: string): 'alive' | 'gone' | undefined {
  const file = join(dir, CLAIM_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; processStart: number | null; host?: string; pidns?: string };
    // a claim made on another host (a runs folder on a shared path) or in another pid namespace names
    // a pid that means nothing here: it holds while it is young (a folder is filled in seconds), where
    // it read as left half made, and the folder being filled was listed damaged and could be deleted
    if (c.host !== undefined && !seenHere(c)) return Date.now() - statSync(file).mtimeMs < FOREIGN_CLAIM_MS ? 'alive' : 'gone';
    return processAlive(c.pid, c.processStart) ? 'alive' : 'gone';
  } catch {
    return 'alive'; // being written: its maker is alive
  }
}

/** Fields of /proc/<pid>/stat, or null if there is no such process (or no /proc). */
function procStat(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  // The result's index i holds field i + 3 (field 3 is the state).
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Start time of a process in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or null if there is no such process. A zombie counts as
 * gone (it still answers kill(pid, 0)).
 */
export function processStartTime(pid: number): number | null {
  const f = procStat(pid);
  if (!f || f[0] === 'Z' || f[0] === 'X') return null;
  const start = Number(f[22 - 3]);
  return Number.isFinite(start) ? start : null;
}

/** Process group of a process (field 5 of /proc/<pid>/stat), or null. */
export function processGroup(pid: number): number | null {
  const f = procStat(pid);
  const g = f ? Number(f[5 - 3]) : NaN;
  return Number.isFinite(g) ? g : null;
}

/** Is the process that wrote `status` still the one running under its pid? */
export function processAlive(pid: number, start: number | null): boolean {
  if (!(pid > 0)) return false;
  if (existsSync('/proc/self/stat')) {
    const f = procStat(pid);
    if (f) {
      if (f[0] === 'Z' || f[0] === 'X') return false;
      const now = Number(f[22 - 3]);
      return start === null || now === start;
    }
    // No entry: gone, unless /proc hides other users' processes (hidepid), which kill(pid, 0) still
    // tells apart (EPERM: it exists, and is not ours); its start time cannot be checked then.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid namespace this process sees (`pid:[inode]` from /proc/self/ns/pid),
 * or undefined without /proc. A run's status records it with its host: its
 * pid means something only to processes on that host and in that namespace
 * (a container may share the host's name but not its processes).
 */
export function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/**
 * Whether a status written by a process on `host` in pid namespace `pidns`
 * names a pid this process can see: the same host and namespace. (A status
 * without a namespace, written before it was recorded, does not say.)
 */
export function seenHere(s: { host?: string; pidns?: string }): boolean {
  return s.host === hostname() && s.pidns !== undefined && s.pidns === pidNamespace();
}

/**
 * Where the folder opened as `fd` is now (/proc/self/fd tells, following a rename), or undefined when
 * it was removed, or it cannot be told (no /proc).
 */
export function folderNow(fd: number): string | undefined {
  try {
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    return path.endsWith(' (deleted)') ? undefined : path;
  } catch {
    return undefined;
  }
}

/**
 * Where the folder opened as `fd`, once at `path`, went if it was renamed; undefined when it is still at
 * `path`, was removed, or it cannot be told (no /proc).
 */
export function folderMoved(fd: number, path: string): string | undefined {
  const now = folderNow(fd);
  if (now === undefined) return undefined;
  // /proc names the real path: compared with `path` as given, a folder reached through a symlink (a cluster's
  // /home -> /gpfs/home) read moved, to where it is
  let here: string | undefined;
  try {
    here = realpathSync(path);
  } catch {
    here = undefined; // nothing at `path` now
  }
  return now === here ? undefined : now;
}

/**
 * How `name` in the folder opened as `fd` (at `dir` where there is no /proc) is no longer the file `opened`
 * ('deleted', 'replaced by another file'), or undefined when it is (or it cannot be told).
 */
export function fileLost(opened: { dev: bigint; ino: bigint }, fd: number | undefined, dir: string, name: string): string | undefined {
  // through the folder held open: by path, a rename between the run's check of its options.json and this
  // read the file deleted, and failed the run renamed (it is to go on where it went)
  const path = fd !== undefined ? pathInFolder(fd, name, join(dir, name)) : join(dir, name);
  let now;
  try {
    now = statSync(path, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // cannot tell (a folder it may not read): not taken as lost
  }
  if (now === undefined) return 'deleted';
  return now.dev === opened.dev && now.ino === opened.ino ? undefined : 'replaced by another file';
}

/**
 * A path to `name` in the folder opened as `fd` that follows the folder if it is renamed (through
 * /proc/self/fd, in this process and its threads), or `fallback` where there is no /proc.
 */
export function pathInFolder(fd: number, name: string, fallback: string): string {
  const folder = `/proc/self/fd/${fd}`;
  return existsSync(folder) ? join(folder, name) : fallback;
}

/** What `nefsim cancel` leaves in a run or batch folder whose process it cannot signal. */
export interface CancelRequest {
  requested: string;
  /** Who asked, e.g. `nefsim cancel on host h (pid 12)`. */
  by: string;
}

/**
 * Asks the run (or batch) in `dir` to cancel through its folder: for a
 * process on another host that shares the folder, or in another container,
 * which no signal from here reaches. The run looks for the file at each
 * status update (about 5 times a second), the batch at each refresh, and
 * ends as a SIGTERM would end it.
 */
export function requestCancel(dir: string): void {
  const req: CancelRequest = { requested: new Date().toISOString(), by: `nefsim cancel on host ${hostname()} (pid ${process.pid})` };
  writeJsonAtomic(join(dir, FILES.cancel), req);
}

/** The cancel request in `dir`, if any, as the reason a run records (a file that does not parse still asks). */
export function cancelRequested(dir: string): string | undefined {
  const path = join(dir, FILES.cancel);
  if (!existsSync(path)) return undefined;
  try {
    const req = readJson<Partial<CancelRequest>>(path);
    return `a cancel request (${typeof req.by === 'string' ? req.by : 'cancel.json'})`;
  } catch {
    return 'a cancel request (cancel.json)';
  }
}

/** A heartbeat older than this, with the process gone, means the run died. */
export const STALE_MS = 5000;

/**
 * The status as it stands: status.json, except that a queued or running run
 * whose process is gone (or is another process under a reused pid) is
 * reported failed: at once for a run running on this host, and once its
 * heartbeat is older than `staleMs` otherwise.
 */
export function currentStatus(dir: string, staleMs = STALE_MS, now = Date.now()): RunStatus {
  const s = readStatus(dir);
  if (s.state !== 'running' && s.state !== 'queued') return s;
  if (s.jobId !== undefined) return slurmJudged(dir, s, staleMs, now);
  if (s.state === 'running' && seenHere(s)) {
    // A running status is written by the run process itself, where this process can see it: its pid is
    // checked at once, so a killed run reads failed without waiting out the staleness (which still covers
    // a queued run, whose status names its launcher, and a folder seen from another host or container).
    if (processAlive(s.pid, s.processStart)) return s;
  } else {
    if (now - s.heartbeat <= staleMs) return s;
    if (processAlive(s.pid, s.processStart)) return s;
  }
  const ended = recordedEnd(dir);
  if (ended) return ended;
  const ago = ((now - s.heartbeat) / 1000).toFixed(1);
  return {
    ...s,
    state: 'failed',
    stepsPerSecond: null,
    secondsLeft: null,
    error:
      s.state === 'queued'
        ? `it never started: the process that was to start it (pid ${s.pid}: nefsim run, or its batch) is gone, last heard of ${ago} s ago (killed, or the machine restarted?)`
        : `the run process (pid ${s.pid}) is gone: last heartbeat ${ago} s ago at t = ${s.time.toFixed(3)} s (killed, out of memory, out of disk space, or the machine restarted?); probe data is readable up to the last flush (${s.stepsFlushed} steps)`,
  };
}

/**
 * The run's end, if it recorded one since its status was read: in status.json
 * (the run exited meanwhile), or only in exit.json (written first: then
 * there was no room for status.json, a full disk).
 */
function recordedEnd(dir: string): RunStatus | undefined {
  const again = readStatus(dir);
  if (again.state !== 'running' && again.state !== 'queued') return again;
  const exit = readExit(dir);
  if (!exit) return undefined;
  const ended: RunStatus = { ...again, state: exit.state, stepsPerSecond: null, secondsLeft: null };
  if (exit.error !== null) ended.error = exit.error;
  if (exit.object !== null) ended.object = exit.object;
  return ended;
}

/**
 * A run submitted to Slurm: alive while squeue lists its job (pending or
 * running; its process may be on another host, so its pid tells nothing
 * here). A job gone from squeue whose run did not record its end failed.
 */
function slurmJudged(dir: string, s: RunStatus, staleMs: number, now: number): RunStatus {
  if (s.state === 'running' && now - s.heartbeat <= staleMs) return s;
  if (s.state === 'running' && s.host === hostname() && processAlive(s.pid, s.processStart)) return s;
  const listed = jobListed(s.jobId!);
  if (listed === true && s.state === 'queued') {
    const why = pendingReason(s.jobId!);
    return why === null ? s : { ...s, slurmPending: why };
  }
  if (listed !== false) return s;
  // as for a local run: a job gone from squeue whose run recorded its end in exit.json alone ended so
  // (it read failed, 'did not record its end', although exit.json said done)
  const ended = recordedEnd(dir);
  if (ended) return ended;
  const out = `see ${join(dir, 'log.txt')} and the slurm-*.out files of the run or batch folder`;
  return {
    ...s,
    state: 'failed',
    stepsPerSecond: null,
    secondsLeft: null,
    error:
      s.state === 'queued'
        ? `the Slurm job ${s.jobId} is gone from squeue and the run never started (cancelled, or failed at start): ${out}`
        : `the Slurm job ${s.jobId} is gone from squeue and the run did not record its end (killed: out of memory under the job's --mem, a time limit or scancel it could not answer in time, or a node failure?); last heartbeat at t = ${s.time.toFixed(3)} s; probe data is readable up to the last flush (${s.stepsFlushed} steps): ${out}`,
  };
}
