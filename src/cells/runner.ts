/**
 * Runs model cells in the notebook's design session on the nefsim service.
 */
import type { DesignSessions } from './sessions.js';
import type { Cell, CodeCell } from '@jupyterlab/cells';
import type { IOutput } from '@jupyterlab/nbformat';
import { NefsimClient, ServiceError } from '../client/client.js';
import type { EventMessage } from '../client/protocol.js';
import type { RunCellOptions } from './executor.js';
import { StreamBatcher } from './stream-batch.js';
import {
  buildSummaryOutput,
  definesModel,
  hasNetworkValue,
  errorInfo,
  errorToOutput,
  eventToOutput,
  resultToOutput,
  simulationOf,
  type CellErrorInfo,
} from './outputs.js';
import { fetchProbePlots, plotOutputs } from '../runs/plots.js';
import { DIAGRAM_ITEMS, diagramSvg, parseGraph, STRUCTURE_CODE } from './diagram.js';
import { markErrorLine, clearErrorLine } from './errorline.js';

function isCodeCell(cell: Cell): cell is CodeCell {
  return cell.model.type === 'code';
}

/** Executes one model cell; resolves true when it ran without error. */
/** The cell whose line a cell's last error marked, when it was another cell's (see CellErrorInfo.origin). */
const markedElsewhere = new WeakMap<Cell, Cell>();

export async function runModelCell(
  client: NefsimClient,
  sessions: DesignSessions,
  notebookPath: () => string,
  options: RunCellOptions,
): Promise<boolean> {
  const { cell, onCellExecuted, onCellExecutionScheduled } = options;
  if (!isCodeCell(cell)) return true;
  const model = cell.model;
  onCellExecutionScheduled({ cell });
  model.executionState = 'running'; // queued: [*]
  const add = (o: IOutput) => {
    if (!cell.isDisposed) model.outputs.add(o);
  };
  let sessionId: string;
  try {
    sessionId = await sessions.ensure(notebookPath());
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    model.clearExecution();
    add(errorToOutput({ ename: 'ServiceUnavailable', evalue: `The nefsim service is not available: ${msg}` }) as IOutput);
    model.executionState = 'idle';
    onCellExecuted({ cell, success: false });
    return false;
  }
  return sessions.enqueue(
    sessionId,
    () => executeModelCell(client, sessions, sessionId, notebookPath, options),
    () => {
      // an earlier model cell of this run failed: this one is not run (its outputs stay)
      if (!cell.isDisposed) model.executionState = 'idle';
      onCellExecuted({ cell, success: false });
      return false;
    },
  );
}

/** Executes a model cell in its session, once the cells queued before it are done. */
async function executeModelCell(
  client: NefsimClient,
  sessions: DesignSessions,
  sessionId: string,
  notebookPath: () => string,
  options: RunCellOptions,
): Promise<boolean> {
  const { cell, onCellExecuted } = options;
  const model = (cell as CodeCell).model;
  clearErrorLine(cell);
  // and the line this cell's last error marked in another cell (where a function it ran threw)
  const marked = markedElsewhere.get(cell);
  markedElsewhere.delete(cell);
  if (marked && !marked.isDisposed) clearErrorLine(marked);
  model.sharedModel.transact(() => {
    model.clearExecution();
    model.executionState = 'running';
  }, false);
  model.trusted = true;
  const direct = (o: IOutput) => {
    if (!cell.isDisposed) model.outputs.add(o);
  };
  // console output batched (see StreamBatcher); every output goes through it, so that the order is kept
  const batch = new StreamBatcher<IOutput>((o) => direct(o as IOutput));
  const add = (o: IOutput) => batch.push(o);
  const sayLost = (why: string): void =>
    add({
      output_type: 'stream',
      name: 'stderr',
      text:
        `nefsim: ${why}, so this notebook's design session is new: what the cells run before ` +
        'defined (model, networks, variables) is gone. Run the model cells from the top (Run All).\n',
    } as IOutput);
  if (sessions.takeLost(sessionId)) sayLost('the service restarted');
  let count = sessions.nextCount(sessionId);
  /** The session's number for this execution, when the service gave it (every page on the session shares it). */
  const numbered = (n: unknown): void => {
    if (typeof n === 'number' && Number.isInteger(n) && n > 0) {
      count = n;
      sessions.tookCount(sessionId, n);
    }
  };
  const started = new Date().toISOString();
  const source = model.sharedModel.getSource();
  const execute = () =>
    client.request(
      'cell.execute',
      { session: sessions.nameOf(sessionId), code: source, cell: model.id, model: true },
      {
        onEvent: (ev: EventMessage) => {
          const out = eventToOutput(ev);
          if (out) add(out as IOutput);
        },
      },
    );
  try {
    let reply;
    try {
      reply = await execute();
    } catch (err) {
      // The service no longer has the session this page opened (another page closed it, or renamed it):
      // open it anew and run the cell there, once, instead of failing every cell until a reload.
      // (not a session closed while this cell ran: "session '...' was closed", as when its notebook closes)
      if (!(err instanceof ServiceError && err.code === 'not_found' && /^no session '/.test(err.message))) throw err;
      sessions.forgetOpened(sessionId);
      await sessions.ensure(notebookPath());
      sessions.takeLost(sessionId);
      sayLost('the service no longer had it (another page closed or renamed it)');
      reply = await execute();
    }
    numbered((reply.result as { execution?: unknown } | null)?.execution);
    const result = resultToOutput(reply.result, count);
    if (result) add(result as IOutput);
    const r = reply.result as Record<string, unknown> | null;
    if (r && typeof r.model === 'object' && r.model !== null && definesModel(source) && !simulationOf(r)) {
      if (!hasNetworkValue(r)) add(buildSummaryOutput(r.model as Record<string, unknown>) as IOutput);
      const diagram = await networkDiagram(client, sessions.nameOf(sessionId));
      if (diagram) add(diagram);
    }
    const sim = simulationOf(r);
    if (sim && sim.probes.length) {
      // An inline simulation: plot its probes (decimated), saved with the notebook.
      try {
        const specs = await fetchProbePlots(client, { session: sessions.nameOf(sessionId), sim: sim.id }, `simulation ${sim.id}`);
        for (const o of plotOutputs(specs)) add(o);
      } catch (err) {
        add({
          output_type: 'stream',
          name: 'stderr',
          text: `nefsim: could not plot the probes: ${err instanceof Error ? err.message : String(err)}\n`,
        } as IOutput);
      }
    }
    sessions.markExecuted(sessionId, model.id, source);
    if (!cell.isDisposed) {
      model.executionCount = count;
      model.setMetadata('execution', { 'nefsim.execute_started': started, 'nefsim.execute_finished': new Date().toISOString() });
      model.executionState = 'idle';
    }
    batch.flush();
    onCellExecuted({ cell, success: true });
    return true;
  } catch (err) {
    let info: CellErrorInfo;
    if (err instanceof ServiceError) {
      info = errorInfo(err.code, err.message, err.details);
      numbered(err.details?.['execution']);
    } else info = { ename: 'Error', evalue: err instanceof Error ? err.message : String(err) };
    add(errorToOutput(info) as IOutput); // after what the cell printed before it failed (flushed by this add)
    if (!cell.isDisposed) {
      model.executionCount = count;
      model.executionState = 'idle';
      if (info.line !== undefined) markErrorLine(cell, info.line);
      // the line that threw, in the cell that defined the function (a node's), when that is another cell
      const origin = info.origin;
      const other = origin
        ? (cell.parent as { widgets?: readonly Cell[] } | null)?.widgets?.find((c) => c.model.id === origin.cell)
        : undefined;
      // only if it still holds the source that ran (edited since, its lines moved: the line would be wrong)
      if (origin && other && other !== cell && !other.isDisposed && stillAt(other.model.sharedModel.getSource(), origin)) {
        markErrorLine(other, origin.line);
        markedElsewhere.set(cell, other);
      }
    }
    onCellExecuted({ cell, success: false });
    return false;
  }
}

/**
 * Whether the defining cell's line still holds what ran there (edited since, its lines may have moved:
 * the mark would point at another statement). Without the line's text, as the cell stands.
 */
export function stillAt(source: string, origin: { line: number; source?: string }): boolean {
  if (origin.source === undefined) return true;
  return (source.split('\n')[origin.line - 1] ?? '').trim() === origin.source.trim();
}

/** The model's diagram as an SVG output, or null if the session cannot give its structure. */
async function networkDiagram(client: NefsimClient, sessionId: string): Promise<IOutput | null> {
  try {
    const reply = await client.request(
      'cell.execute',
      { session: sessionId, code: STRUCTURE_CODE, cell: 'nefsim-diagram', model: false },
      { timeoutMs: 15_000 },
    );
    const value = (reply.result as { value?: Record<string, unknown> } | null)?.value;
    const graph = parseGraph(value?.['application/json']);
    if (!graph || !graph.items.length) return null;
    const shown = Math.min(graph.items.length, DIAGRAM_ITEMS);
    const more = graph.total > shown ? ` (first ${shown} of ${graph.total})` : '';
    return {
      output_type: 'display_data',
      data: {
        'image/svg+xml': diagramSvg(graph),
        'text/plain': `network diagram: ${graph.total} items, ${graph.totalEdges} connections${more}`,
      },
      metadata: {},
    } as IOutput;
  } catch {
    return null;
  }
}
