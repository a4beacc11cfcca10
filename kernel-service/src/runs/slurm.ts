/**
 * The Slurm executor: a run, or the trials of a batch as a job array, handed
 * to sbatch. The job runs `nefsim _execute DIR` (the same code path as a
 * local run) on a compute node, which must see the run folder, Node and this
 * nefsim at the same paths (a shared file system). The run folder stays the
 * single source of truth; squeue tells whether a job that has not written its
 * end yet is still pending or running (without slurmdbd there is no sacct, so
 * jobs record their own exit). Cancel goes through scancel.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_NODE_FLAGS } from '../engine/node-flags.js';

export interface SlurmOptions {
  partition: string | null;
  time: string | null;
  account: string | null;
  /** Extra sbatch arguments, passed as given. */
  extra: string[];
}

/** Slurm is missing or refused a request: the message says what to do. */
export class SlurmError extends Error {
  override name = 'SlurmError';
}

const TOOLS = ['sbatch', 'squeue', 'scancel'] as const;

/** Full path of an executable on PATH, or null. */
function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Throws a SlurmError naming the missing tools unless sbatch, squeue and scancel are on PATH. */
export function requireSlurm(): void {
  const missing = TOOLS.filter((t) => which(t) === null);
  if (missing.length === 0) return;
  throw new SlurmError(
    `--executor slurm needs Slurm's ${TOOLS.join(', ')} on PATH, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not found ` +
      `(PATH=${process.env.PATH ?? ''}). On a cluster, run nefsim on a login node (perhaps after 'module load slurm'); ` +
      `on a single machine, install Slurm (Debian: apt-get install slurm-wlm munge) and start it, or use --executor local`,
  );
}

/** Slurm's time limit formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or UNLIMITED/INFINITE. */
export function validSlurmTime(t: string): boolean {
  return /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$/i.test(t);
}

/** sbatch arguments for the options (before the user's extra arguments, which may override them). */
export function sbatchArgs(o: SlurmOptions): string[] {
  // A run folder runs once (a requeued job would start it again from step 0 over its data): a node
  // failure ends the job, and status reports it failed. (With --sbatch-arg=--requeue, a requeued job finds
  // its run folder ended and does nothing: see executeRun.)
  const args: string[] = ['--no-requeue'];
  if (o.partition) args.push(`--partition=${o.partition}`);
  if (o.time) args.push(`--time=${o.time}`);
  if (o.account) args.push(`--account=${o.account}`);
  return [...args, ...o.extra];
}

/**
 * sbatch's --output for `file` (which may hold Slurm's patterns, such as %j)
 * in the folder `dir`: Slurm expands % patterns over the whole path, so a %
 * of the folder's own is written %%. (A folder with a `%j` in its name made
 * the job write to a folder that does not exist, and Slurm failed it before
 * nefsim started, leaving no output anywhere.)
 */
export function outputPath(dir: string, file: string): string {
  return join(dir.replace(/%/g, '%%'), file);
}

/**
 * Why Slurm cannot take `dir` as a run folder, or null. A backslash anywhere
 * in --output makes Slurm drop every backslash and expand no pattern, so the
 * job's output would go to a folder that does not exist (and each task of an
 * array to the same file), and Slurm would fail the job before it started.
 */
export function unusableFolder(dir: string): string | null {
  if (dir.includes('\\'))
    return `${dir} has a backslash in its path, which Slurm's --output cannot hold (it drops backslashes); give an --out without one`;
  return null;
}

const BIN = fileURLToPath(new URL('../../bin/nefsim.js', import.meta.url));

/** Single-quotes a string for bash. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes DIR/slurm.sh: runs `nefsim _execute` on the run folder (in it:
 * sbatch's --chdir), or for an array on `DIR/<prefix><task id, zero-padded
 * to width>`, in that trial's folder (as local trials), with its output
 * appended to that folder's log.txt.
 */
export function writeJobScript(dir: string, array: { prefix: string; width: number } | null): string {
  const path = join(dir, 'slurm.sh');
  const target = array ? `"$BASE/${array.prefix}$(printf '%0${array.width}d' "$SLURM_ARRAY_TASK_ID")"` : '"$BASE"';
  writeFileSync(
    path,
    [
      '#!/bin/bash',
      '# Written by nefsim run --executor slurm: runs nefsim on the run folder (or one trial of the batch, by array task).',
      'set -eu',
      `BASE=${sh(dir)}`,
      `RUN=${target}`,
      // a trial runs in its own folder, as local trials do (sbatch's --chdir is the batch folder)
      ...(array ? ['cd "$RUN"'] : []),
      // A job submitted from inside an array task inherits that task's SLURM_ARRAY_* (sbatch exports the
      // environment, and Slurm sets them only in array jobs): the run recorded the other job's id, which
      // status then asked squeue about, and cancel scancelled.
      ...(array ? [] : ['unset SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID']),
      `exec ${sh(process.execPath)} ${ENGINE_NODE_FLAGS.map(sh).join(' ')} ${sh(BIN)} _execute "$RUN" >>"$RUN/log.txt" 2>&1`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return path;
}

/** Submits with `sbatch --parsable`; returns the job id. Throws a SlurmError with sbatch's message on failure. */
export function submit(script: string, args: string[]): string {
  // sbatch takes its options' defaults from SBATCH_* (the user's SBATCH_PARTITION, SBATCH_ACCOUNT ... apply), but
  // SBATCH_ARRAY_INX made a single run an array whose tasks all ran its one folder at once, and SBATCH_WAIT is
  // --wait (refused as an --sbatch-arg: sbatch then exits with the job's code)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SBATCH_ARRAY_INX' && k !== 'SBATCH_WAIT'));
  const r = spawnSync('sbatch', ['--parsable', ...args, script], { encoding: 'utf8', timeout: 60_000, env });
  if (r.error) throw new SlurmError(`sbatch could not be run: ${r.error.message}`);
  if (r.status !== 0) throw new SlurmError(`sbatch refused the job (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  const id = r.stdout.trim().split('\n').pop()!.split(';')[0]!.trim();
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch --parsable printed '${r.stdout.trim()}', not a job id`);
  return id;
}

/** A job (or array task) as squeue lists it: its state (PENDING, RUNNING, ...) and, for a pending one, why (squeue's %r). */
export interface SqueueJob {
  state: string;
  reason: string;
}

const cache = new Map<string, { at: number; states: Map<string, SqueueJob> | null }>();
const SQUEUE_TIMEOUT_MS = 20_000;

/** squeue's answer: its jobs' states, an empty map when it no longer knows the job, null when it did not answer. */
function parseSqueue(ran: boolean, status: number | null, stdout: string, stderr: string): Map<string, SqueueJob> | null {
  if (!ran || status === null) return null;
  if (status !== 0) return /invalid job id/i.test(stderr) ? new Map() : null;
  const states = new Map<string, SqueueJob>();
  for (const line of stdout.split('\n')) {
    const [id, state, ...reason] = line.trim().split('|');
    if (id && state) states.set(id, { state, reason: reason.join('|').trim() });
  }
  return states;
}

const squeueArgs = (base: string): string[] => ['-h', '-r', '-o', '%i|%T|%r', '-j', base];

/**
 * The environment without a tool's own defaults (SQUEUE_*, SCANCEL_*), which
 * users set for their interactive use: SQUEUE_PARTITION or SQUEUE_USERS hid a
 * pending job (status read it failed, gone from squeue), SQUEUE_STATES=all
 * listed it for minutes after it ended (cancel waited out its timeout), and
 * SCANCEL_SIGNAL or SCANCEL_STATE would change what a cancel does.
 */
function envWithout(prefix: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith(prefix)));
}

/** squeue is asked in a child process, and jobStates answers from the last answer: see squeueInBackground. */
let background = false;
const asking = new Set<string>();

/**
 * From now on jobStates never waits for squeue: it answers with squeue's
 * last answer (null, cannot tell, before the first) and, when that is older
 * than a second, asks again in a child process. For the service, whose one
 * event loop serves every client: squeue takes as long as the controller
 * does not answer (18 s here with slurmctld down), and asking it inline on
 * every status froze the service (cells, plots, every client) for as long
 * as Slurm was away, whenever a Slurm run was queued.
 */
export function squeueInBackground(): void {
  background = true;
}

function askInBackground(base: string): void {
  if (asking.has(base)) return;
  asking.add(base);
  try {
    execFile(
      'squeue',
      squeueArgs(base),
      { encoding: 'utf8', timeout: SQUEUE_TIMEOUT_MS, env: envWithout('SQUEUE_') },
      (err, stdout, stderr) => {
        asking.delete(base);
        // err.code: the exit status, or a string when squeue could not be run; a timeout kills it (no status)
        const code = err ? err.code : 0;
        const ran = !err || typeof code === 'number';
        cache.set(base, { at: Date.now(), states: parseSqueue(ran, typeof code === 'number' ? code : null, stdout, stderr) });
      },
    );
  } catch {
    asking.delete(base); // no more processes: squeue cannot be asked now
  }
}

/**
 * States of a job, or of every task of an array (`squeue -r`), by id
 * ("123" or "123_4"). An empty map: squeue no longer lists it (ended). null:
 * squeue could not be asked (not on PATH, or not answering). Cached 1 s.
 */
export function jobStates(jobId: string): Map<string, SqueueJob> | null {
  const base = jobId.split('_')[0]!;
  const hit = cache.get(base);
  if (hit && Date.now() - hit.at < 1000) return hit.states;
  if (background) {
    askInBackground(base);
    return hit ? hit.states : null;
  }
  const r = spawnSync('squeue', squeueArgs(base), { encoding: 'utf8', timeout: SQUEUE_TIMEOUT_MS, env: envWithout('SQUEUE_') });
  const states = parseSqueue(!r.error, r.status, r.stdout ?? '', r.stderr ?? '');
  cache.set(base, { at: Date.now(), states });
  return states;
}

/**
 * The job (or array task) in squeue's answer: its own line, or, for a task
 * of an array not yet split, the array's pending line (123_[0-3]); for a
 * whole array, its first line. Undefined: not listed.
 */
function entryOf(states: Map<string, SqueueJob>, jobId: string): SqueueJob | undefined {
  const own = states.get(jobId);
  if (own) return own;
  const [base, task] = jobId.split('_');
  if (task === undefined) {
    for (const [k, v] of states) if (k === base || k.startsWith(`${base}_`)) return v;
    return undefined;
  }
  for (const [k, v] of states) {
    const m = /^(\d+)_\[(.+)\]$/.exec(k);
    if (!m || m[1] !== base) continue;
    for (const part of m[2]!.split('%')[0]!.split(',')) {
      const [a, b] = part.split('-').map(Number);
      const t = Number(task);
      if (t === a || (b !== undefined && t >= a! && t <= b)) return v;
    }
  }
  return undefined;
}

/** Is the job (or array task) still known to Slurm? null when squeue cannot tell. */
export function jobListed(jobId: string): boolean | null {
  const states = jobStates(jobId);
  if (states === null) return null;
  return entryOf(states, jobId) !== undefined;
}

/**
 * Why Slurm keeps the job (or array task) pending, as squeue says it
 * (Resources, Priority, JobHeldUser, QOSMaxJobsPerUserLimit, ...); null when
 * it is not pending, squeue gives no reason (None: not yet scheduled), or
 * squeue cannot tell.
 */
export function pendingReason(jobId: string): string | null {
  const states = jobStates(jobId);
  const job = states ? entryOf(states, jobId) : undefined;
  if (!job || job.state !== 'PENDING' || job.reason === '' || job.reason === 'None') return null;
  return job.reason;
}

/** scancel a job or array; throws a SlurmError with scancel's message on failure. */
export function cancelJob(jobId: string): void {
  cache.delete(jobId.split('_')[0]!);
  const r = spawnSync('scancel', [jobId], { encoding: 'utf8', timeout: 60_000, env: envWithout('SCANCEL_') });
  if (r.error) throw new SlurmError(`scancel could not be run: ${r.error.message}`);
  if (r.status !== 0) throw new SlurmError(`scancel ${jobId} failed (exit ${r.status}): ${r.stderr.trim()}`);
}

/** The Slurm job of the current process, as stored in status.json (array tasks as ARRAYID_TASK). */
export function currentJobId(): string | undefined {
  const e = process.env;
  if (e.SLURM_ARRAY_JOB_ID && e.SLURM_ARRAY_TASK_ID) return `${e.SLURM_ARRAY_JOB_ID}_${e.SLURM_ARRAY_TASK_ID}`;
  return e.SLURM_JOB_ID || undefined;
}
