/** "Plot probes": fetch a run's probes (min/max decimated) and add them to a notebook as plot outputs. */
import type { INotebookTracker } from '@jupyterlab/notebook';
import type { IOutput } from '@jupyterlab/nbformat';
import type { NefsimClient } from '../client/client.js';
import type { RunInfo } from '../client/protocol.js';
import { PLOT_MIME, PLOT_FORMAT_VERSION, tracesFromFetch, type PlotSpec } from '../plot/data.js';
import { METADATA_KEY } from '../cells/model.js';

export interface ProbeInfo {
  name: string;
  dims: number;
  label?: string;
  attr?: string;
  target?: string;
}

export function parseProbeList(result: unknown): ProbeInfo[] {
  const list = Array.isArray(result)
    ? result
    : typeof result === 'object' && result !== null
      ? (result as Record<string, unknown>).probes
      : undefined;
  if (!Array.isArray(list)) return [];
  const out: ProbeInfo[] = [];
  for (const p of list) {
    if (typeof p === 'string') {
      out.push({ name: p, dims: 1 });
      continue;
    }
    if (typeof p !== 'object' || p === null) continue;
    const o = p as Record<string, unknown>;
    const name = typeof o.name === 'string' && o.name ? o.name : typeof o.label === 'string' && o.label ? o.label : undefined;
    if (!name) continue;
    const shape = Array.isArray(o.shape) ? o.shape : undefined;
    const dims =
      typeof o.dims === 'number' ? o.dims : typeof o.size === 'number' ? o.size : shape && typeof shape[1] === 'number' ? shape[1] : 1;
    out.push({
      name,
      dims,
      label: typeof o.label === 'string' && o.label ? o.label : undefined,
      attr: typeof o.attr === 'string' ? o.attr : undefined,
      target: typeof o.target === 'string' ? o.target : undefined,
    });
  }
  return out;
}

const MAX_COLUMNS = 16;
const BUCKETS = 1500;

/** Builds one plot spec per probe of a run (or of a session's inline simulation). */
export async function fetchProbePlots(
  client: NefsimClient,
  source: { run?: string; session?: string; sim?: string },
  title: string,
): Promise<PlotSpec[]> {
  const list = await client.request('probe.list', source, { timeoutMs: 30_000 });
  const probes = parseProbeList(list.result);
  const specs: PlotSpec[] = [];
  for (const p of probes) {
    const columns: [number, number] | undefined = p.dims > MAX_COLUMNS ? [0, MAX_COLUMNS] : undefined;
    const reply = await client.request(
      'probe.fetch',
      { ...source, probe: p.name, maxPoints: BUCKETS, mode: 'minmax', ...(columns ? { columns } : {}) },
      { timeoutMs: 60_000 },
    );
    const traces = tracesFromFetch(p.label ?? p.name, reply.arrays, BUCKETS);
    const t = traces[0]?.x ?? [];
    specs.push({
      version: PLOT_FORMAT_VERSION,
      kind: 'timeseries',
      title: `${title}: ${p.label ?? p.name}${p.attr ? ` (${p.attr})` : ''}${columns ? ` [first ${MAX_COLUMNS} of ${p.dims}]` : ''}`,
      traces,
      source: { ...source, probe: p.name, ...(columns ? { columns } : {}) },
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

/** Adds a cell under the active one in the current notebook, holding the plots of a run. */
export async function plotRunProbes(client: NefsimClient, tracker: INotebookTracker, run: RunInfo): Promise<void> {
  const panel = tracker.currentWidget;
  if (!panel) throw new Error('open a notebook first: the plots are added to the current notebook');
  const specs = await fetchProbePlots(client, { run: run.run }, run.label ? `${run.label}` : run.run);
  if (!specs.length) throw new Error(`run ${run.run} has no probes`);
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) return;
  const index = Math.min(model.cells.length, Math.max(0, notebook.activeCellIndex + 1));
  model.sharedModel.insertCell(index, {
    cell_type: 'code',
    source: `// nefsim: probe plots of run ${run.run}`,
    metadata: { [METADATA_KEY]: { model: false, plots: run.run } },
    outputs: plotOutputs(specs),
    execution_count: null,
  });
  notebook.activeCellIndex = index;
  notebook.scrollToItem(index).catch(() => undefined);
}
