/** Formatting of runs for the panel, and the h5py snippet (pure, unit tested). */
import type { ConnectionStatus } from '../client/client.js';
import { sentence } from '../client/status-text.js';
import type { RunInfo } from '../client/protocol.js';

export function parseRunList(result: unknown): RunInfo[] {
  const list = Array.isArray(result)
    ? result
    : typeof result === 'object' && result !== null
      ? (result as Record<string, unknown>).runs
      : undefined;
  if (!Array.isArray(list)) return [];
  const out: RunInfo[] = [];
  for (const r of list) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    const name = typeof o.run === 'string' ? o.run : typeof o.name === 'string' ? o.name : typeof o.id === 'string' ? o.id : undefined;
    const state = typeof o.state === 'string' ? o.state : undefined;
    if (!name || !state) continue;
    out.push({ ...o, run: name, state: state as RunInfo['state'] });
  }
  return out;
}

/** Fraction done, 0..1, or null if unknown. */
export function progressOf(r: RunInfo): number | null {
  if (r.state === 'done') return 1;
  // the service's percent of a total of 0 steps is 0, not a fraction done
  if (progressUnknown(r)) return null;
  if (typeof r.steps === 'number' && typeof r.stepsTotal === 'number' && r.stepsTotal > 0) return Math.min(1, r.steps / r.stepsTotal);
  if (typeof r.percent === 'number' && r.state !== 'queued') return Math.min(1, Math.max(0, r.percent / 100));
  if (typeof r.time === 'number' && typeof r.duration === 'number' && r.duration > 0) return Math.min(1, r.time / r.duration);
  return null;
}

/**
 * The Runs panel's line above the list. While the service is not connected, the runs listed are as they were
 * before (no progress comes), and their actions could only fail with 'not connected': it says so.
 */
export function panelMessage(service: Pick<ConnectionStatus, 'state' | 'detail'>, runs: number): string {
  if (service.state === 'connected') return runs ? '' : 'No runs yet. Press ▶ Run on a notebook with model cells.';
  const down = `Service ${service.state}: ${service.detail}`;
  // (a detail that ends its sentence itself gets no second full stop, as in the status bar)
  return runs ? `${sentence(down)} The runs below are as they were before; their actions come back when the service reconnects.` : down;
}

/**
 * A run's action button: unavailable while that action is under way (no double cancel), and while the service is not
 * connected (Cancel and Delete on the list from before only failed with 'not connected'), its title then saying why.
 */
export function runAction(title: string, working: boolean, service: Pick<ConnectionStatus, 'state'>): { disabled: boolean; title: string } {
  if (service.state === 'connected') return { disabled: working, title };
  return { disabled: true, title: `${title} (unavailable while the service is ${service.state}; it comes back when it reconnects)` };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  // rounded first: 119.7 s read '1 min 60 s', 59.6 s '60 s'
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m} min ${whole - 60 * m} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m - 60 * h} min`;
  // days above 48 h: a long run's time left read '2777 h 46 min'
  const d = Math.floor(h / 24);
  return `${d} d ${h - 24 * d} h`;
}

/** Trial counts of a batch (trials or a sweep), or null for a single run. */
export function batchCounts(r: RunInfo): { total: number; text: string } | null {
  if (r.kind !== 'batch' || typeof r.counts !== 'object' || r.counts === null) return null;
  const c = r.counts as Record<string, unknown>;
  const order = ['running', 'queued', 'done', 'failed', 'cancelled'];
  let total = 0;
  const parts: string[] = [];
  for (const k of order) {
    const n = typeof c[k] === 'number' ? (c[k] as number) : 0;
    total += n;
    if (n) parts.push(`${n} ${k}`);
  }
  // none counted (a batch listed before its trials are): not '0 trials: '
  return { total, text: parts.length ? `${total} trials: ${parts.join(', ')}` : `${total} trials` };
}

/** The run names of a batch's trials (BATCH/trial-NNN). */
export function trialRuns(r: RunInfo): string[] {
  if (r.kind !== 'batch' || !Array.isArray(r.trials)) return [];
  return r.trials
    .map((t) =>
      typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>).run === 'string'
        ? ((t as Record<string, unknown>).run as string)
        : null,
    )
    .filter((x): x is string => x !== null);
}

/**
 * Cancelled or failed before it ran a step (a queued run, a Slurm job cancelled while pending, a trial its
 * batch never reached, a model that did not load): its 't = 0.00 / 1 s · 0%' said it had run, and stopped at once.
 */
function endedUnstarted(r: RunInfo): boolean {
  return (r.state === 'cancelled' || r.state === 'failed') && (typeof r.steps === 'number' ? r.steps === 0 : r.time === 0);
}

/** Nothing known of its progress: run.list's zeros for a damaged folder (no steps of no total), not its time. */
function progressUnknown(r: RunInfo): boolean {
  return r.stepsTotal === 0 && (r.steps ?? 0) === 0;
}

/**
 * What a run that ended before it started says: a cancelled one's reason when that says so ('cancelled by
 * scancel 41 before it started'); a failed one's error is on its own line. Nothing when nothing is known.
 */
function unstartedText(r: RunInfo): string | null {
  if (r.state === 'failed') return progressUnknown(r) ? null : 'failed before it ran a step';
  const why = runError(r);
  return why !== null && /\b(before it started|being started)\b/.test(why) ? why : 'cancelled before it started';
}

/**
 * Why a batch has no trials to load or plot, when run.list reports it without any (the service's record of
 * one cancelled or failed in its queue, before it made its folder); null when it has trials, or for a run.
 */
export function batchWithoutTrials(r: RunInfo): string | null {
  // (a damaged batch folder, listed without trials, may have run: its trials' probes.h5 may still open)
  if (r.kind !== 'batch' || Array.isArray(r.trials) || r.steps !== 0 || progressUnknown(r)) return null;
  if (r.state === 'cancelled') return 'it was cancelled before it started';
  if (r.state === 'failed') return `it failed before it started${r.error ? ` (${r.error})` : ''}`;
  return 'it has not started';
}

export function runDetails(r: RunInfo): string {
  const parts: string[] = [];
  const batch = batchCounts(r);
  if (batch) parts.push(batch.text);
  if (endedUnstarted(r)) {
    const text = unstartedText(r);
    if (text !== null) parts.push(text);
    return parts.join(' · ');
  }
  if (r.state === 'queued' && typeof r.queuePosition === 'number') parts.push(`queued (#${r.queuePosition})`);
  if (typeof r.slurmPending === 'string' && r.slurmPending !== '') parts.push(`pending in Slurm: ${r.slurmPending}`);
  // a queued batch none of whose trials has run (all pending in Slurm) has not started, as a queued run (below);
  // one with trials done and others queued (a Slurm array's tasks waiting their turn) has
  const unstarted = r.state === 'queued' && (!batch || (typeof r.steps === 'number' ? r.steps === 0 : r.time === 0));
  if (batch && typeof r.time === 'number' && !unstarted) {
    // a batch's time is its trials' together; its duration is each trial's
    const of = typeof r.duration === 'number' ? ` of ${formatSeconds(batch.total * r.duration)} (${batch.total} × ${r.duration} s)` : ' s';
    parts.push(`${r.time.toFixed(2)}${of} simulated`);
  } else if (!batch && typeof r.time === 'number' && r.state !== 'queued')
    // a queued run has not started: 't = 0.00 / 1 s · 0%' said nothing its state does not
    parts.push(`t = ${r.time.toFixed(2)}${typeof r.duration === 'number' ? ` / ${r.duration} s` : ' s'}`);
  if (typeof r.stepsPerSecond === 'number' && r.state === 'running') parts.push(`${formatRate(r.stepsPerSecond)} steps/s`);
  // the service's rate is at least 1e-9 (RecentRate): a run with no step lately (stalled, or steps longer than
  // the rate's window) read '0 steps/s · 250000000 h 0 min left'
  const stalled = typeof r.stepsPerSecond === 'number' && r.stepsPerSecond < MIN_RATE;
  if (typeof r.secondsLeft === 'number' && r.state === 'running' && !stalled) parts.push(`${formatDuration(r.secondsLeft)} left`);
  const p = progressOf(r);
  if (p !== null && r.state !== 'done' && !unstarted) parts.push(`${Math.floor(p * 100)}%`);
  return parts.join(' · ');
}

/** Below this many steps per second, a run made no step lately: no time left is said. */
const MIN_RATE = 1e-3;

/** Steps per second: whole above 10 ('12,346'), else 2 significant digits (a big network's '0.43', not '0'). */
function formatRate(x: number): string {
  if (x >= 9.95) return Math.round(x).toLocaleString('en-US');
  return x < MIN_RATE ? '0' : String(Number(x.toPrecision(2)));
}

/** Seconds as the user gave them: at most 6 significant digits, no trailing zeros. */
function formatSeconds(x: number): string {
  return `${Number(x.toPrecision(6))} s`;
}

export function runError(r: RunInfo): string | null {
  if (!r.error || typeof r.error !== 'string') return null;
  return r.object ? `${r.error} (at ${r.object})` : r.error;
}

/** The error (failed) or reason (cancelled) a row shows under its details; null when none, or the details say it. */
export function runErrorLine(r: RunInfo): string | null {
  if (r.state !== 'failed' && r.state !== 'cancelled') return null;
  const err = runError(r);
  if (err === null || (endedUnstarted(r) && unstartedText(r) === err)) return null;
  return err;
}

function pyString(s: string): string {
  return JSON.stringify(s);
}

/**
 * h5py code that loads a run's probe data (a batch's: every trial's), by the
 * absolute path the service reports (`runsDir` of run.list), so that it runs
 * from a notebook in any folder. Spike probes are groups (their spikes as
 * time, neuron pairs; see the README's "Spikes in probes.h5"), not arrays.
 */
export function pythonSnippet(r: RunInfo, runsDir = 'nefsim-runs'): string {
  const folder = (typeof r.path === 'string' && r.path ? r.path : `${runsDir}/${r.run}`).replace(/\/$/, '');
  const load = [
    'def load(path):',
    '    # each probe: an array (samples x dimensions), or for spikes (spike_times, spike_units); attrs: each',
    "    # probe's attributes (label; sample_every: its samples are at sample_every, 2 sample_every, ... when that is a whole number of steps)",
    '    with h5py.File(path, "r") as f:',
    '        out = {"time": f["time"][:]}',
    '        attrs = {}',
    '        for name, obj in f["probes"].items():',
    '            out[name] = (obj["spike_times"][:], obj["spike_units"][:]) if isinstance(obj, h5py.Group) else obj[:]',
    '            attrs[name] = dict(obj.attrs)',
    '        return out, attrs',
    '',
  ];
  if (r.kind === 'batch')
    return [
      'import glob',
      'import os',
      'import h5py',
      '',
      ...load,
      `# nefsim batch ${r.run}: one probes.h5 per trial (a trial not started yet has none)`,
      'trials = {}',
      `for path in sorted(glob.glob(glob.escape(${pyString(folder)}) + "/trial-*/probes.h5")):`,
      '    try:',
      '        trials[os.path.basename(os.path.dirname(path))] = load(path)',
      '    except OSError as e:  # still being written',
      '        print(path, e)',
      'for trial, (probes, attrs) in trials.items():',
      '    print(trial, {name: getattr(d, "shape", None) or f"{len(d[0])} spikes" for name, d in probes.items()})',
      '',
    ].join('\n');
  return [
    'import h5py',
    '',
    ...load,
    `# nefsim run ${r.run}`,
    `probes, attrs = load(${pyString(`${folder}/probes.h5`)})`,
    'for name, data in probes.items():',
    '    print(name, data.shape if hasattr(data, "shape") else f"{len(data[0])} spikes")',
    '',
  ].join('\n');
}

export const ACTIVE_STATES = new Set(['queued', 'running']);

/**
 * Why a batch's trial `run` ('batch/trial-000') has no data, from the service's error: 'trial-000 has no
 * probes.h5 (...)'. The service names the run in its messages ("run 'batch/trial-000' has no ..."): after a
 * 'trial-000: ' prefix the batch's name was said twice, and JupyterLab cuts a notification at 140 characters.
 */
export function trialReason(run: string, err: unknown): string {
  const trial = run.slice(run.lastIndexOf('/') + 1);
  const message = err instanceof Error ? err.message : String(err);
  const named = `run '${run}' `;
  return message.startsWith(named) ? `${trial} ${message.slice(named.length)}` : `${trial}: ${message}`;
}
