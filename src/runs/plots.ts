/** "Plot probes": fetch a run's probes (min/max decimated) and add them to a notebook as plot outputs. */
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IOutput } from '@jupyterlab/nbformat';
import type { NefsimClient } from '../client/client.js';
import type { RunInfo } from '../client/protocol.js';
import { PLOT_MIME, PLOT_FORMAT_VERSION, tracesFromFetch, type PlotSpec } from '../plot/data.js';
import { METADATA_KEY, plotsRunOf } from '../cells/model.js';
import { isSpikeProbe, parseProbeList, rasterPoints, rasterWindow, type ProbeInfo } from './probes.js';
import { batchWithoutTrials, trialReason, trialRuns } from './format.js';
import type { RunCellOptions } from '../cells/executor.js';
import type { ICodeCellModel } from '@jupyterlab/cells';
import { Notification } from '@jupyterlab/apputils';

const MAX_COLUMNS = 16;
const MAX_RASTER_NEURONS = 50;
/** Points of a trace (probe.fetch's maxPoints: half as many min/max buckets). */
const POINTS = 1500;
/**
 * Points (probe.fetch's maxPoints: half as many min/max buckets) of all the traces of one plot of a batch's
 * overlaid trials: as many as one run's plot of MAX_COLUMNS columns has. At POINTS each, 10 trials of a
 * 16-dimension probe saved about 7 MB in the notebook (160 traces of 750 buckets' times, minima and maxima), a
 * plot no finer to the eye than 300 points (150 buckets) a trace, its floor; a zoom does not refetch an overlay.
 */
const OVERLAY_POINTS = POINTS * MAX_COLUMNS;
/** Points (maxPoints) a trace keeps at least, however many are overlaid. */
const MIN_OVERLAY_POINTS = 300;

/** Points (probe.fetch's maxPoints) of a trace of a plot that overlays `overlaid` runs' `columns` columns. */
export function pointsPerTrace(overlaid: number, columns: number): number {
  if (overlaid <= 1) return POINTS;
  return Math.min(POINTS, Math.max(MIN_OVERLAY_POINTS, Math.floor(OVERLAY_POINTS / (overlaid * Math.max(1, columns)))));
}

/**
 * The name a probe's plot shows: its label, or its name in probes.h5 when another probe has the same label
 * (there the second is 'label_2'): two plots of different data were titled alike.
 */
function shownName(p: ProbeInfo, all: ProbeInfo[]): string {
  const label = p.label ?? p.name;
  return all.some((q) => q !== p && (q.label ?? q.name) === label) ? p.name : label;
}

/**
 * Builds one plot spec per probe of a run (or of a session's inline simulation); `overlaid`, the number of runs
 * whose plots will be drawn together (a batch's trials), shares out the buckets among their traces.
 */
export async function fetchProbePlots(
  client: NefsimClient,
  source: { run?: string; session?: string; sim?: string },
  title: string,
  overlaid = 1,
): Promise<PlotSpec[]> {
  const list = await client.request('probe.list', source, { timeoutMs: 30_000 });
  const probes = parseProbeList(list.result);
  const specs: PlotSpec[] = [];
  for (const p of probes) {
    const shown = shownName(p, probes);
    if (isSpikeProbe(p)) {
      // Spikes: a raster of the first neurons (spike times from the service).
      const neurons = Array.from({ length: Math.min(p.dims, MAX_RASTER_NEURONS) }, (_, i) => i);
      // A bounded window: a long run's spikes would be millions of points.
      const win = rasterWindow(p);
      const reply = await client.request(
        'post.spikes',
        { ...source, probe: p.name, neurons, t0: win.t0, ...(win.t1 !== undefined ? { t1: win.t1 } : {}) },
        { timeoutMs: 60_000 },
      );
      const { x, y } = rasterPoints(reply.arrays);
      specs.push({
        version: PLOT_FORMAT_VERSION,
        kind: 'raster',
        title: `${title}: ${shown} (spikes${p.dims > neurons.length ? `, first ${neurons.length} of ${p.dims} neurons` : ''}${win.clipped ? `, first ${win.t1} s` : ''})`,
        traces: [{ name: shown, x, y }],
      });
      continue;
    }
    const columns: [number, number] | undefined = p.dims > MAX_COLUMNS ? [0, MAX_COLUMNS] : undefined;
    const points = pointsPerTrace(overlaid, Math.min(p.dims, MAX_COLUMNS));
    const reply = await client.request(
      'probe.fetch',
      { ...source, probe: p.name, maxPoints: points, mode: 'minmax', ...(columns ? { columns } : {}) },
      { timeoutMs: 60_000 },
    );
    const traces = tracesFromFetch(shown, reply.arrays, points);
    const t = traces[0]?.x ?? [];
    specs.push({
      version: PLOT_FORMAT_VERSION,
      kind: 'timeseries',
      title: `${title}: ${shown}${p.attr ? ` (${p.attr})` : ''}${columns ? ` [first ${MAX_COLUMNS} of ${p.dims}]` : ''}`,
      traces,
      // the label too (when not the name), so that a zoom's finer traces keep the names drawn here
      source: { ...source, probe: p.name, ...(shown !== p.name ? { label: shown } : {}), ...(columns ? { columns } : {}) },
      t0: t[0],
      t1: t[t.length - 1],
      decimated: true,
    });
  }
  return specs;
}

export function plotOutputs(specs: PlotSpec[]): IOutput[] {
  return specs.map((spec) => ({
    output_type: 'display_data',
    data: { [PLOT_MIME]: spec as unknown as IOutput['data'], 'text/plain': `nefsim plot: ${spec.title ?? spec.kind}` },
    metadata: {},
  })) as IOutput[];
}

const MAX_TRIALS = 10;

/** A batch's probes: one plot per probe with the trials overlaid (the first MAX_TRIALS trials). */
export async function fetchTrialPlots(client: NefsimClient, trials: string[], title: string): Promise<PlotSpec[]> {
  const shown = trials.slice(0, MAX_TRIALS);
  if (!shown.length) return [];
  const errors: string[] = [];
  const perTrial = await Promise.all(
    shown.map((t) =>
      fetchProbePlots(client, { run: t }, title, shown.length).catch((err: unknown) => {
        errors.push(trialReason(t, err));
        return [] as PlotSpec[];
      }),
    ),
  );
  // none has data (a Slurm batch cancelled while its array was pending, or every trial still loading its model):
  // say so and why, where Plot probes said the run 'has no probes'. Short: JupyterLab cuts a notification at 140
  // characters (the batch's name, repeated, cut off the reason).
  if (errors.length === shown.length)
    throw new Error(
      `none of its ${shown.length < trials.length ? `first ${shown.length} (of ${trials.length})` : shown.length} trials has data (${errors.sort()[0]})`,
    );
  const first = perTrial.find((s) => s.length) ?? [];
  // the trials drawn: one not started (queued, or cancelled before it ran) has no data, and a batch cancelled
  // after its first trial was titled '3 trials' over that trial's line alone
  const drawn = perTrial.filter((s) => s.length).length;
  return first.map((spec, k) => ({
    ...spec,
    title: `${spec.title ?? ''} — ${drawn}${trials.length > drawn ? ` of ${trials.length}` : ''} trials`,
    traces: perTrial.flatMap((specs, i) => (specs[k]?.traces ?? []).map((tr) => ({ ...tr, trial: i }))),
    // Zooming refetches one run's data: not for overlays.
    source: undefined,
    decimated: false,
  }));
}

/** Adds a cell under the active one in the current notebook, holding the plots of a run (or of a batch's trials). */
export async function plotRunProbes(client: NefsimClient, tracker: INotebookTracker, run: RunInfo): Promise<void> {
  const panel = tracker.currentWidget;
  if (!panel) throw new Error('open a notebook first: the plots are added to the current notebook');
  const title = run.label ? `${run.label}` : run.run;
  const trials = trialRuns(run);
  // a batch cancelled or failed in the service's queue has no trials: it said it 'has no probes'
  const unstarted = batchWithoutTrials(run);
  if (unstarted !== null) throw new Error(`${run.run} has no data: ${unstarted}`);
  const specs =
    run.kind === 'batch' ? await fetchTrialPlots(client, trials, title) : await fetchProbePlots(client, { run: run.run }, title);
  if (!specs.length) throw new Error(`run ${run.run} has no probes`);
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) return;
  const index = Math.min(model.cells.length, Math.max(0, notebook.activeCellIndex + 1));
  model.sharedModel.insertCell(index, {
    cell_type: 'code',
    source: `# nefsim: probe plots of run ${run.run} (run this cell to fetch them again)`,
    metadata: { [METADATA_KEY]: { model: false, plots: run.run } },
    outputs: plotOutputs(specs),
    execution_count: null,
  });
  notebook.activeCellIndex = index;
  notebook.scrollToItem(index).catch(() => undefined);
}

/** Runs a plots cell: fetches its run's plots again and replaces its outputs (keeps them if the service is not there). */
export async function refreshPlotsCell(client: NefsimClient, options: RunCellOptions): Promise<boolean> {
  const { cell, onCellExecuted, onCellExecutionScheduled } = options;
  const run = plotsRunOf(cell.model);
  if (!run || cell.model.type !== 'code') return true;
  onCellExecutionScheduled({ cell });
  try {
    const specs = await fetchProbePlots(client, { run }, run).catch(async (err: unknown) => {
      // A batch: its trials' plots overlaid.
      const status = await client.request('run.status', { run }, { timeoutMs: 15_000 });
      const trials = trialRuns(status.result as RunInfo);
      if (!trials.length) throw err;
      return fetchTrialPlots(client, trials, run);
    });
    const model = cell.model as ICodeCellModel;
    model.outputs.clear();
    for (const o of plotOutputs(specs)) model.outputs.add(o);
    onCellExecuted({ cell, success: true });
    return true;
  } catch (err) {
    Notification.warning(`nefsim: the plots of ${run} were kept: ${err instanceof Error ? err.message : String(err)}`, { autoClose: 6000 });
    onCellExecuted({ cell, success: false });
    return false;
  }
}
