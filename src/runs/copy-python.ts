/** Copy Python's snippet, once the service says there is data for it to load (unit tested). */
import type { NefsimClient } from '../client/client.js';
import type { RunInfo } from '../client/protocol.js';
import { ACTIVE_STATES, batchCounts, batchWithoutTrials, pythonSnippet, trialReason } from './format.js';

/** A batch's trials asked for their data, at most (the first that has some ends the asking). */
const MAX_ASKED = 10;

/**
 * The h5py snippet of a run, or an error that says why it has no data to load (shown by the Runs panel as
 * its other errors are). A batch's snippet had loaded nothing, and said so only in Python, when none of its
 * trials had run (a batch cancelled while pending, or all still queued) or those that ran wrote no data.
 */
export async function pythonToCopy(client: NefsimClient, r: RunInfo, runsDir?: string): Promise<string> {
  if (r.kind !== 'batch') {
    // a run that ended before it made probes.h5 (cancelled while pending) has nothing to load: the
    // service's refusal says why, where the snippet failed in Python with FileNotFoundError
    await client.request('probe.list', { run: r.run }, { timeoutMs: 30_000 });
    return pythonSnippet(r, runsDir);
  }
  const why = await batchWithoutData(client, r);
  if (why !== null) throw new Error(why);
  return pythonSnippet(r, runsDir);
}

interface Trial {
  run: string;
  steps?: unknown;
}

/** Why a batch has no data to load, or null when a trial has some (or that cannot be told). */
async function batchWithoutData(client: NefsimClient, r: RunInfo): Promise<string | null> {
  const yet = ACTIVE_STATES.has(r.state) ? ' yet' : '';
  const unstarted = batchWithoutTrials(r);
  if (unstarted !== null) return `${r.run} has no data to load: ${unstarted}`;
  if (!Array.isArray(r.trials)) return null;
  const trials = r.trials.filter(
    (t): t is Trial => typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>).run === 'string',
  );
  // a trial that ran no step wrote no probes.h5 (or one without samples)
  const ran = trials.filter((t) => typeof t.steps !== 'number' || t.steps > 0);
  if (!ran.length) {
    const counts = batchCounts(r);
    return `${r.run} has no data to load${yet}: none of its trials ${yet ? 'has run' : 'ran'} a step${counts ? ` (${counts.text})` : ''}`;
  }
  // one after the other: the first that has data (the usual case) ends the asking
  let first: string | null = null;
  for (const t of ran.slice(0, MAX_ASKED)) {
    try {
      await client.request('probe.list', { run: t.run }, { timeoutMs: 30_000 });
      return null;
    } catch (err) {
      first ??= trialReason(t.run, err);
    }
  }
  // more trials ran than were asked: one of the others may have data
  if (ran.length > MAX_ASKED) return null;
  return `${r.run} has no data to load${yet}: none of its trials has any (${first})`;
}
