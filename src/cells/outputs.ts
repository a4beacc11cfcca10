/**
 * Turning the service's cell events and replies into nbformat outputs (pure,
 * unit tested).
 */
import type { CellOutput, EventMessage } from '../client/protocol.js';

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** An event streamed while a cell runs → an output, or null if it is not an output. */
export function eventToOutput(ev: EventMessage): CellOutput | null {
  switch (ev.event) {
    case 'stream':
    case 'cell.stream': {
      const name = ev.name === 'stderr' || ev.stream === 'stderr' ? 'stderr' : 'stdout';
      const text = typeof ev.text === 'string' ? ev.text : '';
      return { output_type: 'stream', name, text };
    }
    case 'display':
    case 'cell.display': {
      const data = isRecord(ev.data) ? enrichBundle(ev.data) : null;
      if (!data) return null;
      const metadata = isRecord(ev.metadata) ? ev.metadata : {};
      return { output_type: 'display_data', data, metadata };
    }
    default:
      return null;
  }
}

/** The reply of cell.execute → an execute_result (the cell's value), or null if there is none. */
export function resultToOutput(result: unknown, executionCount: number | null): CellOutput | null {
  if (!isRecord(result)) return null;
  let data: Record<string, unknown> | null = null;
  if (isRecord(result.data)) data = result.data;
  else if (isRecord(result.value) && Object.keys(result.value).some((k) => k.includes('/'))) data = result.value;
  else if (typeof result.text === 'string') data = { 'text/plain': result.text };
  else if (typeof result.value === 'string') data = { 'text/plain': result.value };
  if (!data || Object.keys(data).length === 0) return null;
  return { output_type: 'execute_result', data: enrichBundle(data), metadata: {}, execution_count: executionCount };
}

export interface CellErrorInfo {
  ename: string;
  evalue: string;
  /** 1-based line in the cell, if known. */
  line?: number;
  column?: number;
  stack?: string;
  /** Where the user's code threw when that is in another cell (a node's function that cell defined). */
  /** `source`: the text of that line as it ran (to mark it only where it still is). */
  origin?: { cell: string; line: number; source?: string };
}

/** A failed reply's error → what to show and which line to mark. */
export function errorInfo(code: string, message: string, details?: Record<string, unknown>): CellErrorInfo {
  const d = details ?? {};
  const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const ename =
    typeof d.name === 'string'
      ? d.name
      : code === 'syntax_error'
        ? 'SyntaxError'
        : code === 'interrupted'
          ? 'Interrupted'
          : code === 'execution_error'
            ? 'Error'
            : code;
  // The service's message may start with the error's name (or its code: "interrupted: ...") and end with where it is.
  const evalue = message.toLowerCase().startsWith(`${ename.toLowerCase()}: `) ? message.slice(ename.length + 2) : message;
  return {
    ename,
    evalue,
    line: num(d.line),
    column: num(d.column),
    stack: typeof d.stack === 'string' ? d.stack : undefined,
    origin: originOf(d.origin),
  };
}

function originOf(o: unknown): CellErrorInfo['origin'] {
  if (typeof o !== 'object' || o === null) return undefined;
  const { cell, line, source } = o as { cell?: unknown; line?: unknown; source?: unknown };
  if (!(typeof cell === 'string' && cell && typeof line === 'number' && Number.isInteger(line) && line >= 1)) return undefined;
  return typeof source === 'string' ? { cell, line, source } : { cell, line };
}

export function errorToOutput(info: CellErrorInfo): CellOutput {
  const where =
    info.line !== undefined && !/\(line \d+/.test(info.evalue)
      ? ` (line ${info.line}${info.column !== undefined ? `, column ${info.column}` : ''})`
      : '';
  const traceback = [`\u001b[0;31m${info.ename}\u001b[0m: ${info.evalue}${where}`];
  if (info.stack) traceback.push(info.stack);
  return { output_type: 'error', ename: info.ename, evalue: info.evalue, traceback };
}

export const NETWORK_MIME = 'application/vnd.nefsim.network+json';
export const SIMULATION_MIME = 'application/vnd.nefsim.simulation+json';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The build summary of a model (ensembles, neurons, connections, probes...) as an HTML table. */
export function summaryHtml(summary: Record<string, unknown>): string {
  const label = typeof summary.label === 'string' && summary.label ? summary.label : 'model';
  const rows: [string, unknown][] = [
    ['ensembles', summary.ensembles],
    ['neurons', summary.neurons],
    ['nodes', summary.nodes],
    ['connections', summary.connections],
    ['probes', summary.probes],
    ['subnetworks', summary.networks],
    ['seed', summary.seed],
  ];
  const body = rows
    .filter(([, v]) => v !== undefined)
    .map(
      ([k, v]) =>
        `<tr><th style="text-align:left">${esc(k)}</th><td style="text-align:right">${esc(typeof v === 'number' ? v.toLocaleString('en-US') : String(v ?? '–'))}</td></tr>`,
    )
    .join('');
  const warnings = Array.isArray(summary.warnings) ? summary.warnings.filter((w): w is string => typeof w === 'string') : [];
  const warn = warnings.length ? `<ul class="nefsim-Summary-warnings">${warnings.map((w) => `<li>⚠ ${esc(w)}</li>`).join('')}</ul>` : '';
  return `<div class="nefsim-Summary"><b>nefsim model “${esc(label)}”</b><table>${body}</table>${warn}</div>`;
}

export function summaryText(summary: Record<string, unknown>): string {
  const n = (k: string) => (typeof summary[k] === 'number' ? (summary[k] as number) : 0);
  const label = typeof summary.label === 'string' && summary.label ? summary.label : 'model';
  return `nefsim model "${label}": ${n('ensembles')} ensembles, ${n('neurons')} neurons, ${n('nodes')} nodes, ${n('connections')} connections, ${n('probes')} probes`;
}

/** Adds HTML and text to nefsim's own MIME types, so saved notebooks read well anywhere. */
export function enrichBundle(data: Record<string, unknown>): Record<string, unknown> {
  const net = data[NETWORK_MIME];
  if (isRecord(net) && data['text/html'] === undefined) {
    return { ...data, 'text/html': summaryHtml(net), 'text/plain': summaryText(net) };
  }
  return data;
}

/** The build summary output shown after a model cell that (re)defines `model`. */
export function buildSummaryOutput(summary: Record<string, unknown>): CellOutput {
  return { output_type: 'display_data', data: enrichBundle({ [NETWORK_MIME]: summary }), metadata: {} };
}

/** Does this cell (re)define the session's model? */
export function definesModel(source: string): boolean {
  return /(^|[^.\w$])model\s*=(?!=)/m.test(source);
}

/** The inline simulation a reply's value holds ({id, probes}), if any. */
export function simulationOf(result: unknown): { id: string; probes: string[] } | null {
  if (!isRecord(result) || !isRecord(result.value)) return null;
  const sim = result.value[SIMULATION_MIME];
  if (!isRecord(sim) || typeof sim.id !== 'string') return null;
  return { id: sim.id, probes: Array.isArray(sim.probes) ? sim.probes.filter((p): p is string => typeof p === 'string') : [] };
}

/** Does the reply's value already show a network (its summary)? */
export function hasNetworkValue(result: unknown): boolean {
  return isRecord(result) && isRecord(result.value) && result.value[NETWORK_MIME] !== undefined;
}
