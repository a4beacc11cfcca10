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
      const data = isRecord(ev.data) ? ev.data : null;
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
  return { output_type: 'execute_result', data, metadata: {}, execution_count: executionCount };
}

export interface CellErrorInfo {
  ename: string;
  evalue: string;
  /** 1-based line in the cell, if known. */
  line?: number;
  column?: number;
  stack?: string;
}

/** A failed reply's error → what to show and which line to mark. */
export function errorInfo(code: string, message: string, details?: Record<string, unknown>): CellErrorInfo {
  const d = details ?? {};
  const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const ename =
    typeof d.name === 'string' ? d.name : code === 'syntax_error' ? 'SyntaxError' : code === 'interrupted' ? 'Interrupted' : code === 'execution_error' ? 'Error' : code;
  return {
    ename,
    evalue: message,
    line: num(d.line),
    column: num(d.column),
    stack: typeof d.stack === 'string' ? d.stack : undefined,
  };
}

export function errorToOutput(info: CellErrorInfo): CellOutput {
  const where = info.line !== undefined ? ` (line ${info.line}${info.column !== undefined ? `, column ${info.column}` : ''})` : '';
  const traceback = [`\u001b[0;31m${info.ename}\u001b[0m: ${info.evalue}${where}`];
  if (info.stack) traceback.push(info.stack);
  return { output_type: 'error', ename: info.ename, evalue: info.evalue, traceback };
}
