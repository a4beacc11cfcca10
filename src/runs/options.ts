/** The Run dialog's values → run.start options (pure, unit tested). */
import type { RunOptions } from '../client/protocol.js';

/**
 * The service's bounds on run.start (kernel-service/src/server/protocol.ts, and its runStart checks): a value
 * past them was accepted here, then refused by the service in a notification, and the form as typed was lost.
 */
const MAX_DURATION = 1e7;
const MAX_PARTITIONS = 256;
const MAX_TRIALS = 10_000;
const MAX_STEPS = Math.floor(Number.MAX_SAFE_INTEGER / 2);

/**
 * A form field's value for parseRunForm. A number input holding what is not a number ("12a" in Firefox, "1e"
 * or "1-2" in Chromium) reads as '', which for Seed, Partitions, Trials and Jobs means "the default": the run
 * started with the network's own seed, one partition or one trial, without a word. 'NaN' is refused by name.
 */
export function fieldValue(value: string, badInput: boolean): string {
  return badInput ? 'NaN' : value;
}

/** Parses the form's strings into run options, or an error message. Pure, unit tested. */
export function parseRunForm(v: Record<string, string>): RunOptions | string {
  const num = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : Number(s));
  const duration = num(v.duration);
  if (duration === undefined || !Number.isFinite(duration) || duration <= 0) return 'Duration must be a positive number of seconds.';
  if (duration > MAX_DURATION) return `Duration must be at most ${MAX_DURATION} s.`;
  const dt = num(v.dt);
  if (dt !== undefined && (!Number.isFinite(dt) || dt <= 0 || dt > 1)) return 'dt must be in (0, 1] seconds.';
  if ((dt ?? 0.001) > duration) return `dt (${dt ?? 0.001} s) is longer than the duration (${duration} s).`;
  if (duration / (dt ?? 0.001) > MAX_STEPS) return 'Duration / dt gives too many steps: a longer dt, or a shorter duration.';
  const seed = num(v.seed);
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 4294967295))
    return 'Seed must be an integer from 0 to 4294967295 (or empty).';
  const partitions = num(v.partitions);
  if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS))
    return `Partitions must be an integer from 1 to ${MAX_PARTITIONS}.`;
  const trials = num(v.trials);
  if (trials !== undefined && (!Number.isInteger(trials) || trials < 1 || trials > MAX_TRIALS))
    return `Trials must be an integer from 1 to ${MAX_TRIALS}.`;
  // trials take seeds seed, seed + 1, ... (nefsim run refuses those past 2^32 - 1: the run failed to start)
  if (seed !== undefined && trials !== undefined && seed + trials - 1 > 4294967295)
    return `Seeds ${seed} to ${seed + trials - 1} of the trials do not fit in [0, 4294967295]: give a smaller Seed.`;
  let sweep: Record<string, unknown>[] | undefined;
  if (v.sweep !== undefined && v.sweep.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v.sweep);
    } catch {
      return 'Sweep must be JSON: an array of parameter objects, e.g. [{"tau": 0.05}, {"tau": 0.1}].';
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p))) {
      return 'Sweep must be a non-empty array of parameter objects, e.g. [{"tau": 0.05}, {"tau": 0.1}].';
    }
    if (parsed.length > MAX_TRIALS) return `Sweep has ${parsed.length} parameter objects; at most ${MAX_TRIALS}.`;
    // a sweep runs one trial per object: trials given too were dropped without a word (the service refuses both)
    if (trials !== undefined && trials > 1)
      return 'Give Trials or a Sweep, not both: a sweep runs one trial per parameter object (set Trials to 1).';
    sweep = parsed as Record<string, unknown>[];
  }
  const jobs = num(v.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024))
    return 'Jobs must be an integer from 1 to 1024 (or empty: as many as cores).';
  if (jobs !== undefined && !sweep && !(trials !== undefined && trials > 1))
    return 'Jobs is how many trials run at once: give Trials (more than 1) or a Sweep, or leave Jobs empty for a single run.';
  const executor = v.executor === 'slurm' ? 'slurm' : 'local';
  if (v.dtype !== undefined && v.dtype !== 'float64' && v.dtype !== 'float32') return 'Precision must be float64 or float32.';
  const label = (v.label ?? '').trim();
  // as the service's run.start schema: a run's name starts with a letter, digit or _
  if (label && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(label))
    return 'Label may hold letters, digits, _ . and - only, and starts with a letter, digit or _.';
  if (label.length > 100) return `Label is ${label.length} characters long; at most 100.`;
  return {
    duration,
    ...(dt !== undefined ? { dt } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(partitions !== undefined ? { partitions } : {}),
    ...(sweep ? { sweep } : trials !== undefined ? { trials } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
    executor,
    ...(v.dtype === 'float32' ? { dtype: 'float32' as const } : {}),
    ...(label ? { label } : {}),
  };
}
