/**
 * A design session: runs in a process of its own (a child of the service, see
 * sessions.ts), so that a cell that loops forever can be stopped (the service
 * kills the process) without stalling other sessions, and a cell that runs
 * V8 out of memory ends only its session. Cells run in a vm context whose globals are the nefsim API
 * (Network, LIF, Simulator, ...) plus console (captured), display(),
 * simulate(), buildSummary() and the post-processing helpers. State carries
 * from cell to cell; the network the cells leave in `model` is the session's
 * model.
 */
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { formatWithOptions, inspect } from 'node:util';
import vm from 'node:vm';
import { Worker } from 'node:worker_threads';
import * as nefsim from '../index.js';
import { allowBuildThreadsInThisWorker } from '../engine/build-threads.js';
import type { Network } from '../engine/network.js';
import type { Probe } from '../engine/objects.js';
import type { Simulator, SimulatorOptions } from '../engine/simulator.js';
import * as post from '../post/index.js';
import { probeNames } from '../runs/store-format.js';
import { CellPlot, PLOT_MIME, tuningPlot, xyPlot, type TuningPlotOptions, type XYPlotOptions } from './cell-plots.js';
import { CellSyntaxError, mapPosition, transformCell, type Transformed } from './transform.js';
import { SESSION_INIT_ENV, type FromWorker, type ToWorker, type WorkerArrays, type WorkerInit } from './worker-protocol.js';

if (!process.send || process.env[SESSION_INIT_ENV] === undefined)
  throw new Error('session-worker.js is a design session of the nefsim service: the service starts it');
const init = JSON.parse(process.env[SESSION_INIT_ENV]) as WorkerInit;
// A session builds in its own process: its large builds may use the other cores, as `nefsim run`'s do.
allowBuildThreadsInThisWorker();

/** Messages to the service, over the IPC channel (V8's serialisation: typed arrays arrive as typed arrays). */
function send(msg: FromWorker): void {
  process.send!(msg);
}

// The service killed (kill -9, a crash): a session whose cell loops would spin on for ever, its event loop
// never seeing the channel close. A thread of its own looks every second whether its parent has changed.
new Worker(
  `const { workerData: { ppid, pid } } = require('node:worker_threads');
   setInterval(() => { if (process.ppid !== ppid) process.kill(pid, 'SIGKILL'); }, 1000);`,
  { eval: true, workerData: { ppid: process.ppid, pid: process.pid }, resourceLimits: { maxOldGenerationSizeMb: 8 } },
).unref();
process.on('disconnect', () => process.exit(0));

/** The request whose cell runs now; output of timers from older cells goes to the latest one. */
let currentRid = 0;
/** Characters of output sent for the current cell (capped so a printing loop cannot flood the client). */
let outputChars = 0;
const MAX_OUTPUT_CHARS = 2 * 1024 * 1024;

function emit(stream: 'stdout' | 'stderr', text: string): void {
  if (outputChars > MAX_OUTPUT_CHARS) return;
  outputChars += text.length;
  if (outputChars > MAX_OUTPUT_CHARS) text = `\n[output truncated: more than ${MAX_OUTPUT_CHARS} characters in one cell]\n`;
  send({ kind: 'stream', rid: currentRid, stream, text });
}

/**
 * Writes to process.stdout / process.stderr (a cell's own, a library's, Node's warnings) go the way of
 * console output: in order with the cell's reply, and under the same cap. Through the worker's own
 * streams they reached the service after the reply (and were dropped), and uncapped.
 */
function routeStream(stream: 'stdout' | 'stderr'): void {
  const s = process[stream] as NodeJS.WriteStream & { write: (...a: unknown[]) => boolean };
  // bytes may split a character between writes: the decoder keeps the first part for the next
  const decoder = new StringDecoder('utf8');
  s.write = (chunk: unknown, ...rest: unknown[]): boolean => {
    const enc = typeof rest[0] === 'string' && Buffer.isEncoding(rest[0]) ? rest[0] : 'utf8';
    const bytes =
      typeof chunk === 'string' ? (enc === 'utf8' || enc === 'utf-8' ? null : Buffer.from(chunk, enc)) : Buffer.from(chunk as Uint8Array);
    const text = bytes === null ? (chunk as string) : decoder.write(bytes);
    if (text) emit(stream, text);
    const cb = rest.find((x): x is () => void => typeof x === 'function');
    if (cb) queueMicrotask(cb);
    return true;
  };
}
routeStream('stdout');
routeStream('stderr');

const fmt = (args: unknown[]): string => formatWithOptions({ colors: false, depth: 4, maxArrayLength: 50 }, ...args) + '\n';
const cellConsole = {
  log: (...a: unknown[]) => emit('stdout', fmt(a)),
  info: (...a: unknown[]) => emit('stdout', fmt(a)),
  debug: (...a: unknown[]) => emit('stdout', fmt(a)),
  warn: (...a: unknown[]) => emit('stderr', fmt(a)),
  error: (...a: unknown[]) => emit('stderr', fmt(a)),
  table: (...a: unknown[]) => emit('stdout', fmt(a)),
  dir: (v: unknown) => emit('stdout', fmt([v])),
};

/* ---------- inline simulations ---------- */

class BudgetError extends Error {
  override name = 'BudgetError';
}

/** A finished inline simulation: its data stays in the session for probe.fetch and plots. */
class InlineSimulation {
  constructor(
    readonly id: string,
    readonly sim: Simulator,
    readonly seconds: number,
    readonly wallSeconds: number,
  ) {}
  get t(): Float64Array {
    return this.sim.trange();
  }
  get probes(): string[] {
    return probeNamesOf(this.sim.probes);
  }
  /** Data of a probe (the Probe object, its label or its name in `probes`). */
  data(probe: Probe | string): nefsim.ProbeData {
    return this.sim.data(typeof probe === 'string' ? findProbe(this.sim, probe) : probe);
  }
  trange(probe?: Probe | string): Float64Array {
    return this.sim.trange(typeof probe === 'string' ? findProbe(this.sim, probe) : probe);
  }
  [inspect.custom](): string {
    return `InlineSimulation ${this.id}: ${this.seconds} s simulated (${this.sim.steps} steps) in ${this.wallSeconds.toFixed(3)} s; probes: ${this.probes.join(', ') || 'none'}`;
  }
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      seconds: this.seconds,
      steps: this.sim.steps,
      dt: this.sim.dt,
      probes: this.probes,
      wallSeconds: this.wallSeconds,
    };
  }
}

const sims = new Map<string, InlineSimulation>();
let simCount = 0;
/** Tells this worker's inline simulations from an earlier worker's of the same session. */
const WORKER_TAG = randomBytes(3).toString('hex');

/** Probe names as in probes.h5 (see probeNames). */
function probeNamesOf(probes: readonly Probe[]): string[] {
  return probeNames(probes.map((p) => p.label));
}

function findProbe(sim: Simulator, name: string): Probe {
  const probes = sim.probes;
  const names = probeNamesOf(probes);
  const i = names.indexOf(name);
  if (i >= 0) return probes[i]!;
  const byLabel = probes.find((p) => p.label === name);
  if (byLabel) return byLabel;
  throw new NotFound(`no probe '${name}' in this simulation (probes: ${names.join(', ') || 'none'})`);
}

class NotFound extends Error {}
/** A request whose reply would be larger than the service sends at once (its code: 'limit'). */
class OverLimit extends Error {}

interface SimulateOptions extends Omit<SimulatorOptions, 'progress' | 'progressEvery'> {
  /** Wall seconds allowed (at most the service's budget). */
  budget?: number;
}

/** Steps between two looks at the clock in simulate(): a fraction of a millisecond on small models. */
const BUDGET_CHECK_STEPS = 64;

function simulate(net: unknown, seconds: unknown, options: SimulateOptions = {}): InlineSimulation {
  if (!(net instanceof nefsim.Network))
    throw new TypeError(`simulate(net, seconds, options): net must be a Network, got ${notANetwork(net)}`);
  if (typeof seconds !== 'number' || !(seconds >= 0) || !Number.isFinite(seconds))
    throw new TypeError('simulate(net, seconds, options): seconds must be a non-negative number');
  // a number where the options go (simulate(net, 1, 0.001) for a dt) was destructured as {} and ignored
  if (options !== undefined && options !== null && typeof options !== 'object')
    throw new TypeError(`simulate(net, seconds, options): options must be an object such as { dt: 0.001 }, got ${inspect(options)}`);
  const { budget: askedBudget, ...simOpts } = options ?? {};
  // (a budget that is not a positive number was ignored: the service's whole budget applied)
  if (askedBudget !== undefined && (typeof askedBudget !== 'number' || !(askedBudget > 0)))
    throw new TypeError(
      `simulate(net, seconds, options): options.budget must be a positive number of wall seconds, got ${inspect(askedBudget)}`,
    );
  const budget = Math.min(init.budgetSeconds, askedBudget ?? init.budgetSeconds);
  const t0 = performance.now();
  const sim = new nefsim.Simulator(net, simOpts);
  const total = Math.round(seconds / sim.dt);
  // Probe data lives in typed arrays, outside the capped JavaScript heap: refuse what would not fit.
  let values = 0;
  for (const p of sim.probes) values += p.size * Math.ceil(total / Math.max(1, Math.round((p.sampleEvery ?? sim.dt) / sim.dt)));
  const mb = (values * 8) / 1048576;
  if (mb > init.memoryMb / 2) {
    throw new BudgetError(
      `simulate: the probes would record ${mb.toFixed(0)} MB, more than half of this session's memory (${init.memoryMb} MB); ` +
        'probe less (sampleEvery, fewer neurons) or start a run (the Run button, or run.start), which streams its data to disk.',
    );
  }
  const deadline = t0 + budget * 1000;
  let chunk = 50;
  const tooLong = (why: string): BudgetError =>
    new BudgetError(
      `simulate: ${why}: inline simulations may take ${budget} s of wall time; this one reached t = ${sim.time.toFixed(3)} of ${seconds} s. ` +
        'Start a run for long simulations (the Run button, or run.start): it runs detached and streams its data to disk.',
    );
  while (sim.steps < total) {
    const n = Math.min(chunk, total - sim.steps);
    const c0 = performance.now();
    // In pieces, with the clock read between them: steps that turn slow within a chunk sized by the
    // last one's pace (a Node function, activity rising) cannot carry it far past the budget (a
    // 0.5 s budget took 16 s when each step turned 20 ms slow in a chunk of thousands).
    for (let done = 0; done < n;) {
      const k = Math.min(BUDGET_CHECK_STEPS, n - done);
      sim.runSteps(k);
      done += k;
      if (done < n && performance.now() > deadline) throw tooLong('over the compute budget');
    }
    const now = performance.now();
    // the pace of the last chunk (about 50 ms of steps): not the build, nor the first steps' warm-up, which
    // an average since t0 counted as step time (a 12 s simulation was refused as "about 70 s")
    const perStep = (now - c0) / n;
    if (sim.steps < total) {
      if (now > deadline) throw tooLong('over the compute budget');
      const finish = now + perStep * (total - sim.steps);
      if (sim.steps >= 200 && finish > deadline + budget * 1000)
        throw tooLong(`it would take about ${((finish - t0) / 1000).toFixed(1)} s`);
    }
    chunk = Math.max(1, Math.min(100_000, Math.round((n / Math.max(1e-3, now - c0)) * 50)));
  }
  // unique past a restart of this session's worker: a plot saved before it names its simulation by this id,
  // and must not find the new worker's simulation of the same number (it showed another model's data)
  const id = `sim${++simCount}-${WORKER_TAG}`;
  const result = new InlineSimulation(id, sim, seconds, (performance.now() - t0) / 1000);
  sims.set(id, result);
  while (sims.size > init.maxSims) sims.delete(sims.keys().next().value!);
  return result;
}

interface TuningCallOptions extends TuningPlotOptions {
  /** An inline simulation whose build to use (default: the model, built now). */
  sim?: InlineSimulation;
}

/**
 * The object at fault, as the label the protocol promises: a NefsimError made
 * by a cell may carry anything there (an Ensemble, a function), which could not
 * cross to the service's thread or be written as JSON.
 */
function objectName(o: unknown): string {
  if (typeof o === 'string') return o;
  try {
    // a revoked proxy, or a label getter that throws, must not turn the cell's error into 'internal'
    const label = typeof o === 'object' && o !== null ? (o as { label?: unknown }).label : undefined;
    return typeof label === 'string' ? label : String(o).slice(0, 200);
  } catch {
    return typeof o;
  }
}

/** What a session function got instead of a Network, for its error. */
function notANetwork(net: unknown): string {
  return net === undefined ? 'undefined (has the cell that sets it run in this session?)' : inspect(net, { depth: 0 }).slice(0, 80);
}

/** plotTuning(ensemble, options): tuning curves of an ensemble of the model (or of options.sim's network), by object or label. */
function plotTuning(ensemble: unknown, options: TuningCallOptions = {}): CellPlot {
  const { sim: given, ...plotOpts } = options ?? {};
  if (given !== undefined && !(given instanceof InlineSimulation))
    throw new TypeError('plotTuning(ensemble, options): options.sim must be what simulate() returned');
  let sim: Simulator;
  if (given) sim = given.sim;
  else {
    const m: unknown = context.model;
    if (!(m instanceof nefsim.Network))
      throw new TypeError("plotTuning(ensemble, options): the session has no model (assign a Network to 'model'), or pass options.sim");
    sim = new nefsim.Simulator(m);
  }
  const all = sim.network.allEnsembles;
  if (typeof ensemble === 'string') {
    const twins = sameLabel(all, ensemble);
    if (twins) throw new NotFound(`plotTuning: ${twins}, or give the ensemble itself`);
  }
  const ens =
    ensemble instanceof nefsim.Ensemble
      ? all.find((e) => e === ensemble)
      : typeof ensemble === 'string'
        ? all.find((e) => e.label === ensemble)
        : undefined;
  if (!ens) {
    const what =
      ensemble instanceof nefsim.Ensemble ? `ensemble ${ensemble.name} is not` : `no ensemble labelled ${JSON.stringify(ensemble)} is`;
    throw new NotFound(`plotTuning: ${what} in ${sim.network.name} (ensembles: ${all.map((e) => e.label ?? e.name).join(', ') || 'none'})`);
  }
  return tuningPlot(sim, ens, plotOpts);
}

/**
 * Says so when several ensembles share `label` (two EnsembleArrays each have a '0'): the first one found was
 * drawn, whichever the user meant. Undefined when at most one has it.
 */
function sameLabel(all: readonly nefsim.Ensemble[], label: string): string | undefined {
  const twins = all.filter((e) => e.label === label);
  if (twins.length < 2) return undefined;
  const sizes = twins.map((e) => e.nNeurons);
  const shown = sizes.length > 2 ? `${sizes.slice(0, -1).join(', ')} and ${sizes.at(-1)!}` : sizes.join(' and ');
  return `${twins.length} ensembles are labelled '${label}' (of ${shown} neurons): label them apart`;
}

/** plotXY(sim, probe, options): one dimension of an inline simulation's probe against another. */
function plotXY(sim: unknown, probe: unknown, options: XYPlotOptions = {}): CellPlot {
  if (!(sim instanceof InlineSimulation)) throw new TypeError('plotXY(sim, probe, options): sim must be what simulate() returned');
  const p = probe instanceof nefsim.Probe ? probe : typeof probe === 'string' ? findProbe(sim.sim, probe) : undefined;
  if (!p || !sim.sim.probes.includes(p))
    throw new NotFound(`plotXY: that probe is not in simulation ${sim.id} (probes: ${sim.probes.join(', ') || 'none'})`);
  return xyPlot(sim.sim, p, typeof probe === 'string' ? probe : (p.label ?? sim.probes[sim.sim.probes.indexOf(p)]!), options ?? {});
}

function buildSummary(net: unknown = context.model, opts: SimulatorOptions = {}): nefsim.SimulationSummary {
  if (!(net instanceof nefsim.Network))
    throw new TypeError(`buildSummary(net, options): net must be a Network (default: model), got ${notANetwork(net)}`);
  return new nefsim.Simulator(net, opts).summary();
}

function modelSummary(net: Network): Record<string, unknown> {
  return {
    label: net.label ?? null,
    seed: net.seed ?? null,
    ensembles: net.allEnsembles.length,
    neurons: net.nNeurons,
    nodes: net.allNodes.length,
    connections: net.allConnections.length,
    probes: net.allProbes.length,
    networks: net.allNetworks.length,
  };
}

/* ---------- display ---------- */

/** Characters of a string that is a cell's value, as of its console output (MAX_OUTPUT_CHARS); beyond, it is cut with a notice. */
const MAX_VALUE_STRING = MAX_OUTPUT_CHARS;

/** Characters of a value's text (inspect) shown. */
const MAX_VALUE_TEXT = 20_000;
/** Characters of a value's JSON (application/json) sent at most. */
const MAX_VALUE_JSON = 1_000_000;

class TooLarge extends Error {}

/**
 * The JSON text of `value` if it has at most `max` characters; 'large' when it
 * has more, found while serialising (the values' sizes are summed as they go,
 * so that an object holding a string of 50 million characters is not written
 * out whole, in a heap of 96 MB, to learn that it is too large); 'not json'
 * where it cannot be JSON (cycles, BigInt, a toJSON that throws).
 */
function boundedJson(value: unknown, max: number, replace?: (v: unknown) => unknown): string | 'large' | 'not json' {
  let size = 0;
  try {
    const json = JSON.stringify(value, function (this: unknown, k: string, v: unknown) {
      const w = replace ? replace(v) : v;
      // at most what w adds to the JSON, so that a value under `max` is never called large: an array's
      // indices are not written, and a number or a literal is at least one character (counted with its
      // index and as 8 characters, 100,000 zeros, 200,001 characters of JSON, were measured 1.3 million)
      const written = w !== undefined && typeof w !== 'function' && typeof w !== 'symbol';
      if (written) size += (Array.isArray(this) ? 0 : k.length) + (typeof w === 'string' ? w.length : 1);
      if (size > max) throw new TooLarge();
      return w;
    });
    if (json === undefined) return 'not json';
    return json.length > max ? 'large' : json;
  } catch (err) {
    return err instanceof TooLarge ? 'large' : 'not json';
  }
}

function mimeBundle(value: unknown): Record<string, unknown> {
  if (typeof value === 'string' && value.length > MAX_VALUE_STRING)
    return {
      'text/plain': `${value.slice(0, MAX_VALUE_STRING)}\n[value truncated: ${value.length} characters, ${MAX_VALUE_STRING} shown]`,
    };
  // (strings inside cut as they are inspected: a whole 50-million-character one ran the session out of memory)
  const text = inspect(value, { depth: 3, maxArrayLength: 20, maxStringLength: MAX_VALUE_TEXT, breakLength: 100 }).slice(0, MAX_VALUE_TEXT);
  if (value instanceof nefsim.Network) return { 'application/vnd.nefsim.network+json': modelSummary(value), 'text/plain': text };
  if (value instanceof InlineSimulation) return { 'application/vnd.nefsim.simulation+json': value.toJSON(), 'text/plain': text };
  if (value instanceof CellPlot) return { [PLOT_MIME]: value.spec, 'text/plain': value.toString() };
  if (typeof value === 'string') return { 'text/plain': value };
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    // too large, cyclic or not serialisable: text only
    const json = boundedJson(value, MAX_VALUE_JSON);
    if (json !== 'large' && json !== 'not json') return { 'application/json': JSON.parse(json) as unknown, 'text/plain': text };
  }
  return { 'text/plain': text };
}

/** Characters of display() output a cell may send (plots included); beyond it, displays are dropped with a notice. */
const MAX_DISPLAY_CHARS = 16 * 1024 * 1024;
let displayChars = 0;

/** A MIME type, type/subtype (RFC 6838's characters). */
const MIME_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/;

function display(value: unknown, mime?: string): void {
  // (a mime that is not a string was ignored, the value shown as if none were given; '' named an output no one renders)
  if (mime !== undefined && (typeof mime !== 'string' || !MIME_TYPE.test(mime)))
    throw new TypeError(`display(value, mime): mime must be a MIME type such as 'text/html', got ${inspect(mime)}`);
  if (displayChars > MAX_DISPLAY_CHARS) return;
  const data: Record<string, unknown> = typeof mime === 'string' ? { [mime]: value } : mimeBundle(value);
  // (measured up to what is left: serialised whole, a display of 50 million characters ran the session out of memory)
  const json = boundedJson(data, MAX_DISPLAY_CHARS - displayChars + 1, (v) => (typeof v === 'bigint' ? v.toString() : v));
  // cyclic: the service serialises it its own way
  const size =
    json === 'large' ? Infinity : json === 'not json' ? inspect(value, { maxStringLength: MAX_DISPLAY_CHARS }).length : json.length;
  displayChars += size;
  if (displayChars > MAX_DISPLAY_CHARS) {
    emit('stderr', `\n[display output truncated: more than ${MAX_DISPLAY_CHARS} characters in one cell]\n`);
    return;
  }
  try {
    send({ kind: 'display', rid: currentRid, data });
  } catch {
    send({ kind: 'display', rid: currentRid, data: { 'text/plain': inspect(value) } }); // not cloneable (a function inside)
  }
}

/* ---------- the context ---------- */

const api: Record<string, unknown> = { ...nefsim };
const context = vm.createContext({
  ...api,
  nefsim,
  post,
  console: cellConsole,
  display,
  simulate,
  buildSummary,
  plotTuning,
  plotXY,
  // a sweep's parameters in a run of the model cells (see moduleFromCells); `{}` here, as in a run without a
  // sweep (what the session puts in it stays in the session)
  params: {},
  model: undefined,
  // Timers and typed arrays of the worker's realm, so that arrays made in cells pass the engine's instanceof checks.
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  setImmediate,
  clearImmediate,
  queueMicrotask,
  structuredClone,
  performance,
  TextEncoder,
  TextDecoder,
  URL,
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  ArrayBuffer,
});

let execCount = 0;

interface Located {
  line: number;
  column: number;
}

/** `value instanceof C`, false where asking throws (a revoked proxy). */
function instanceOf(value: unknown, C: abstract new (...args: never[]) => unknown): boolean {
  try {
    return value instanceof C;
  } catch {
    return false;
  }
}

/**
 * Characters of an error's message sent at most (its stack twice that): an Error of 20 million characters
 * went whole to the service and to every client in the reply, twice (message and stack).
 */
const MAX_ERROR_CHARS = 10_000;

/** `text` cut to `max` characters, with a notice saying how long it was. */
function cut(text: string, max: number, what: string): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${what} cut: ${text.length} characters]`;
}

/**
 * What a thrown value says, never throwing itself: a cell may throw anything,
 * including objects whose `message` cannot be made a string, getters that
 * throw, or revoked proxies (on which even `in` throws).
 */
function errorFields(err: unknown): { name: string; message: string; stack: string | undefined } {
  try {
    if (typeof err === 'object' && err !== null && 'message' in err) {
      const e = err as { name?: unknown; message?: unknown; stack?: unknown };
      const name = e.name,
        stack = e.stack,
        full = String(e.message);
      const message = cut(full, MAX_ERROR_CHARS, 'message');
      // the stack starts with the message: that part is cut as the message is, and the frames (where the
      // cell threw) are kept
      const head = `${String(name)}: ${full}`;
      const frames = typeof stack === 'string' && message !== full && stack.startsWith(head) ? stack.slice(head.length) : undefined;
      return {
        name: typeof name === 'string' ? cut(name, 200, 'name') : 'Error',
        message,
        stack:
          typeof stack !== 'string'
            ? undefined
            : cut(frames !== undefined ? `${String(name)}: ${message}${frames}` : stack, 2 * MAX_ERROR_CHARS, 'stack'),
      };
    }
    // a thrown value that is not an Error (throw 42, throw 'oops'): said as such, not as an Error
    const what = err === null ? 'null' : err === undefined ? 'undefined' : typeof err === 'object' ? 'an object' : `a ${typeof err}`;
    const text = cut(inspect(err, { maxStringLength: MAX_ERROR_CHARS }), MAX_ERROR_CHARS, 'value');
    return { name: 'Uncaught', message: `${text} (${what} was thrown, not an Error)`, stack: undefined };
  } catch {
    return { name: 'Error', message: 'the cell threw a value that cannot be shown as text', stack: undefined };
  }
}

/** The first stack frame in this cell, mapped back to the cell's source. */
function locate(stack: string | undefined, filename: string, t: Transformed): Located | undefined {
  if (!stack) return undefined;
  const re = new RegExp(`${filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`);
  for (const frame of stack.split('\n')) {
    const m = re.exec(frame);
    if (m) return mapPosition(t, Number(m[1]), Number(m[2]));
  }
  return undefined;
}

/**
 * The code of the cells run so far, by their scripts' file names (cell-1, cell-2, ...): a function that
 * an earlier cell defined (a node's function) runs later from another cell's simulate(), and its frames
 * map back to the cell that defined it. The last MAX_KEPT_CELLS runs.
 */
const ranCells = new Map<string, { cell: string; t: Pick<Transformed, 'edits' | 'lineStarts' | 'prefix'>; source: string }>();
const MAX_KEPT_CELLS = 500;
/** Characters of cell source kept at most (a cell of pasted data run many times would fill the session's heap). */
const MAX_KEPT_CHARS = 8_000_000;
let keptChars = 0;
/** The latest script of each cell: an origin in an older run of a cell is not marked in its current source. */
const latestRun = new Map<string, string>();
const CELL_FRAME = /\b(cell-\d+):(\d+):(\d+)/g;

/** The engine's own files (this package's lib/ or src/, by URL), whose frames a user's traceback folds into one line. */
const ENGINE_FILES = new URL('..', import.meta.url).href;

/**
 * The stack with the service's own frames dropped, the engine's folded (a run
 * of them becomes one line saying how many, as a user needs the cells' lines,
 * not the engine's), and cells' frames mapped back to their source ("cell:"
 * this one, "other cell:" another).
 */
function cleanStack(stack: string | undefined, filename: string): string | undefined {
  if (!stack) return undefined;
  const lines = stack.split('\n');
  const keep: string[] = [lines[0]!];
  let engine = 0;
  const fold = (): void => {
    if (engine > 0) keep.push(`    at nefsim (${engine} frame${engine === 1 ? '' : 's'} of the engine)`);
    engine = 0;
  };
  for (const l of lines.slice(1)) {
    if (l.includes('node:internal') || l.includes('session-worker.js') || l.includes('node:vm')) continue;
    if (l.includes(ENGINE_FILES)) {
      engine++;
      continue;
    }
    fold();
    const mapped = l.replace(CELL_FRAME, (whole, file: string, a: string, b: string) => {
      const ran = ranCells.get(file);
      if (!ran) return whole;
      const p = mapPosition(ran.t, Number(a), Number(b));
      return `${file === filename ? 'cell' : 'other cell'}:${p.line}:${p.column}`;
    });
    // a cell's wrapper and its statement can map to the same place: one line for it (frames of a named
    // function, a recursive one say, are all kept)
    if (!(mapped === keep[keep.length - 1] && /^\s*at (other )?cell:\d+:\d+$/.test(mapped))) keep.push(mapped);
  }
  fold();
  return keep.join('\n');
}

/** An error and its causes, outermost first (an engine error's cause is the user's code's error). */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && chain.length < 5;) {
    chain.push(e);
    try {
      e = typeof e === 'object' ? (e as { cause?: unknown }).cause : undefined;
    } catch {
      break;
    }
  }
  return chain;
}

interface Origin extends Located {
  /** The script (cell-N) and the cell it ran. */
  file: string;
  cell: string;
  source: string;
}

/** Where the user's code threw: the innermost cell frame of the innermost cause that has one. */
function originOf(chain: unknown[]): Origin | undefined {
  for (const e of [...chain].reverse()) {
    const stack = errorFields(e).stack;
    if (!stack) continue;
    for (const frame of stack.split('\n').slice(1)) {
      CELL_FRAME.lastIndex = 0;
      const m = CELL_FRAME.exec(frame);
      const ran = m ? ranCells.get(m[1]!) : undefined;
      if (!m || !ran) continue;
      const p = mapPosition(ran.t, Number(m[2]), Number(m[3]));
      return { ...p, file: m[1]!, cell: ran.cell, source: ran.source.split('\n')[p.line - 1] ?? '' };
    }
  }
  return undefined;
}

/* ---------- objects a re-run cell adds again ---------- */

/** What a network holds, counted as the build summary counts it. */
interface ObjectCounts {
  ensembles: number;
  nodes: number;
  connections: number;
  probes: number;
}
function countsOf(net: Network): ObjectCounts {
  return {
    ensembles: net.allEnsembles.length,
    nodes: net.allNodes.length,
    connections: net.allConnections.length,
    probes: net.allProbes.length,
  };
}

/** The networks the session's globals hold that are not another one's subnetwork. */
function topNetworks(): Network[] {
  const nets = new Set<Network>();
  try {
    for (const k of Object.keys(context)) {
      // the value of a plain property only: a getter is not run, and a revoked proxy does not throw here
      const v: unknown = Object.getOwnPropertyDescriptor(context, k)?.value;
      if (instanceOf(v, nefsim.Network)) nets.add(v as Network);
    }
    const inner = new Set<Network>();
    for (const n of nets) for (const sub of n.allNetworks) inner.add(sub);
    return [...nets].filter((n) => !inner.has(n));
  } catch {
    return []; // no warning is worth a cell that cannot run
  }
}

/** For each cell (by id), the networks its last run added objects to. */
const addedBy = new Map<string, WeakSet<Network>>();

/**
 * After a cell ran: the networks it added objects to. Those that its previous
 * run added to as well now hold the objects twice (as in Nengo, running a
 * cell again adds its objects again), which a user rarely means and which
 * shows only later, as doubled counts and probes: a warning says so.
 */
function warnIfAddedAgain(cell: string, before: Map<Network, ObjectCounts>): void {
  const grown: Network[] = [];
  const messages: string[] = [];
  const previous = addedBy.get(cell);
  for (const [net, c0] of before) {
    const c1 = countsOf(net);
    const added = (Object.keys(c0) as (keyof ObjectCounts)[])
      .map((k) => [k, c1[k] - c0[k]] as const)
      .filter(([, d]) => d > 0)
      .map(([k, d]) => `${d} ${d === 1 ? k.slice(0, -1) : k}`);
    if (added.length === 0) continue;
    grown.push(net);
    if (!previous?.has(net)) continue;
    const what = added.length === 1 ? added[0]! : `${added.slice(0, -1).join(', ')} and ${added.at(-1)!}`;
    messages.push(
      `nefsim: this cell ran before, and running it again added ${what} to ${net.label ? `network '${net.label}'` : 'the network'} a second time: ` +
        'the network now holds both copies (build summaries count them, inline simulations run them). To start the network over, ' +
        'run the cells again from the one that makes it (new Network(...)). A Run builds from the model cells, each once.\n',
    );
  }
  if (grown.length > 0) addedBy.set(cell, new WeakSet(grown));
  else addedBy.delete(cell);
  for (const m of messages) emit('stderr', m);
}

async function execute(rid: number, code: string, cell: string): Promise<void> {
  currentRid = rid;
  outputChars = 0;
  displayChars = 0;
  const t0 = performance.now();
  let t: Transformed;
  try {
    t = transformCell(code);
  } catch (err) {
    if (err instanceof CellSyntaxError) {
      const lineText = code.split('\n')[err.line - 1] ?? '';
      send({
        kind: 'done',
        rid,
        ok: false,
        error: {
          code: 'syntax_error',
          message: `SyntaxError: ${err.message} (line ${err.line}, column ${err.column})`,
          details: { name: 'SyntaxError', line: err.line, column: err.column, cell, source: lineText },
        },
      });
      return;
    }
    throw err;
  }
  const filename = `cell-${++execCount}`;
  ranCells.set(filename, { cell, t: { edits: t.edits, lineStarts: t.lineStarts, prefix: t.prefix }, source: code });
  keptChars += code.length;
  latestRun.set(cell, filename);
  while (ranCells.size > 1 && (ranCells.size > MAX_KEPT_CELLS || keptChars > MAX_KEPT_CHARS)) {
    const [oldest, ran] = ranCells.entries().next().value!;
    keptChars -= ran.source.length;
    ranCells.delete(oldest);
  }
  const before = new Map(topNetworks().map((n) => [n, countsOf(n)] as const));
  try {
    // import() in cells loads modules with the worker's own loader (Node's default ESM loader).
    const script = new vm.Script(t.code, { filename, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
    const value: unknown = await (script.runInContext(context) as Promise<unknown>);
    // a promise the cell left rejected without a handler is reported ('unhandledRejection', below) once the
    // microtasks have run: before the reply, so that its message goes with this cell
    await new Promise((res) => setImmediate(res));
    if (cell) warnIfAddedAgain(cell, before);
    const result: Record<string, unknown> = { durationMs: performance.now() - t0, names: [...t.names, ...t.functions] };
    if (value !== undefined) result.value = mimeBundle(value);
    const model: unknown = context.model;
    if (model instanceof nefsim.Network) result.model = modelSummary(model);
    send({ kind: 'done', rid, ok: true, result });
  } catch (err) {
    await new Promise((res) => setImmediate(res)); // as above: rejections left behind go with this cell
    const e = errorFields(err);
    const chain = causeChain(err);
    // Where the user's code threw (a node's function, behind the engine's error naming the node): in this
    // cell, that line is the one to mark; in another cell, this cell's line that led there is marked, and
    // the other's is given as the origin.
    const from = originOf(chain);
    const where = from?.file === filename ? from : locate(e.stack, filename, t);
    const elsewhere = from && from.file !== filename ? from : undefined;
    // an older run of a cell (edited since, or run again): its current source is not where it threw
    const stale = elsewhere !== undefined && latestRun.get(elsewhere.cell) !== elsewhere.file;
    const otherCell = stale ? `an earlier run of ${elsewhere.cell === cell ? 'this' : 'another'} cell` : 'another cell';
    const isEngine = instanceOf(err, nefsim.NefsimError);
    const lineText = where ? (code.split('\n')[where.line - 1] ?? '') : undefined;
    const at = where
      ? ` (line ${where.line}, column ${where.column}` + (elsewhere ? `; it threw at line ${elsewhere.line} of ${otherCell}` : '') + ')'
      : '';
    const stacks = chain.map((x) => cleanStack(errorFields(x).stack, filename));
    send({
      kind: 'done',
      rid,
      ok: false,
      error: {
        code: 'execution_error',
        message: `${e.name}: ${e.message}${at}`,
        details: {
          name: e.name,
          cell,
          ...(where ? { line: where.line, column: where.column, source: lineText } : {}),
          ...(elsewhere && !stale
            ? { origin: { cell: elsewhere.cell, line: elsewhere.line, column: elsewhere.column, source: elsewhere.source } }
            : {}),
          ...(isEngine && (err as nefsim.NefsimError).object !== undefined
            ? { object: objectName((err as nefsim.NefsimError).object) }
            : {}),
          ...(instanceOf(err, BudgetError) ? { budget: true } : {}),
          stack: stacks.filter((x): x is string => x !== undefined).join('\nCaused by: ') || undefined,
        },
      },
    });
  }
}

function getSim(id: string): InlineSimulation {
  const s = sims.get(id);
  if (!s)
    throw new NotFound(
      `no inline simulation '${id}' in this session (have: ${[...sims.keys()].join(', ') || 'none'}): ` +
        'it may be from before the session restarted, or one of the oldest dropped; run its cell again',
    );
  return s;
}

function probeList(simId: string): Record<string, unknown> {
  const s = getSim(simId);
  const names = probeNamesOf(s.sim.probes);
  return {
    sim: simId,
    dt: s.sim.dt,
    steps: s.sim.steps,
    probes: s.sim.probes.map((p, i) => {
      const d = s.sim.data(p);
      return {
        name: names[i],
        label: p.label ?? null,
        target: p.target.name,
        attr: p.attr,
        shape: [d.rows, d.cols],
        sampleEvery: p.sampleEvery ?? s.sim.dt,
        // spikes (a spiking type's output, unfiltered) or values: as run probes say it
        layout: nefsim.isSpikeProbe(p) ? 'spikes' : 'dense',
      };
    }),
  };
}

/**
 * Whether a probe's samples are not at (i + 1) * sample_every. A period a hair over a whole number is not
 * whole (0.07 / 0.01 is 7.000000000000001: the simulator samples at steps 8, 15, ...); one a hair under is
 * (0.003 / 0.001: steps 3, 6, ...).
 */
function irregular(sim: Simulator, probe: Probe): boolean {
  const period = (probe.sampleEvery ?? sim.dt) / sim.dt;
  const p = Math.round(period);
  return period > p || p - period > 1e-9 || p < 1;
}

/** Sample times of a probe: (i + 1) * period * dt for whole periods (the same values as sim.trange), else sim.trange. */
function sampleTimes(sim: Simulator, probe: Probe, rows: number): Float64Array {
  const p = Math.round((probe.sampleEvery ?? sim.dt) / sim.dt);
  if (irregular(sim, probe)) return sim.trange(probe);
  const t = new Float64Array(rows);
  for (let i = 0; i < rows; i++) t[i] = p * (i + 1) * sim.dt;
  return t;
}

function probeData(msg: Extract<ToWorker, { op: 'probe.data' }>): { result: Record<string, unknown>; arrays: WorkerArrays } {
  const s = getSim(msg.sim);
  const probe = findProbe(s.sim, msg.probe);
  const d = s.sim.data(probe);
  const t = sampleTimes(s.sim, probe, d.rows);
  const [i0, i1] = post.timeRange(t, msg.t0 ?? -Infinity, msg.t1 ?? Infinity);
  const [c0, c1] = msg.columns
    ? [Math.min(msg.columns[0], d.cols), Math.min(Math.max(msg.columns[1], msg.columns[0]), d.cols)]
    : [0, d.cols];
  const cols = Math.max(0, c1 - c0);
  const rows = i1 - i0;
  let y: Float64Array;
  if (cols === d.cols) y = i0 === 0 && i1 === d.rows ? d.data : d.data.slice(i0 * d.cols, i1 * d.cols);
  else {
    y = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) y.set(d.data.subarray((i0 + i) * d.cols + c0, (i0 + i) * d.cols + c1), i * cols);
  }
  const tt = i0 === 0 && i1 === t.length ? t : t.slice(i0, i1);
  return {
    result: {
      rows,
      cols,
      totalRows: d.rows,
      totalCols: d.cols,
      dt: probe.sampleEvery ?? s.sim.dt,
      label: probe.label ?? null,
      attr: probe.attr,
      ...(d.rows > 0 ? { tLast: t[d.rows - 1] } : {}),
      ...(irregular(s.sim, probe) ? { irregular: true } : {}),
    },
    arrays: { t: tt, y },
  };
}

/**
 * A run's model module, imported in this worker: its `import ... from 'nefsim'` is pointed at this
 * worker's nefsim (the same module instance, so instanceof Network holds) and the module is loaded from
 * a data: URL. A data: URL resolves only URLs and bare names, so paths (absolute, which models may
 * import, or relative to the file) become file: URLs.
 */
async function runModel(file: string, params: Record<string, unknown>): Promise<nefsim.Network> {
  const { readFileSync } = await import('node:fs');
  const { pathToFileURL } = await import('node:url');
  const entry = new URL('../index.js', import.meta.url).href;
  const base = pathToFileURL(file);
  const src = readFileSync(file, 'utf8').replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(nefsim|\.{0,2}\/[^'"]*)\2/g,
    (_m, kw: string, q: string, spec: string) => {
      const url = spec === 'nefsim' ? entry : spec.startsWith('/') ? pathToFileURL(spec).href : new URL(spec, base).href;
      return `${kw}${q}${url}${q}`;
    },
  );
  const url = `data:text/javascript;base64,${Buffer.from(src).toString('base64')}`;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    // messages name the module by its URL: name the file instead
    if (err instanceof Error) err.message = err.message.split(url).join(file);
    throw err;
  }
  let v: unknown = mod.default;
  if (typeof v === 'function') v = await (v as (p: Record<string, unknown>) => unknown)(params);
  if (!(v instanceof nefsim.Network)) throw new TypeError("the run's model does not give a Network");
  return v;
}

async function tuning(msg: Extract<ToWorker, { op: 'tuning' }>): Promise<{ result: Record<string, unknown>; arrays: WorkerArrays }> {
  let sim: Simulator;
  if (msg.run !== undefined) {
    const net = await runModel(msg.run.file, msg.run.params);
    sim = new nefsim.Simulator(net, { dt: msg.run.dt, ...(msg.run.seed !== null ? { seed: msg.run.seed } : {}) });
  } else if (msg.sim !== undefined) sim = getSim(msg.sim).sim;
  else {
    const m: unknown = context.model;
    if (!(m instanceof nefsim.Network)) throw new NotFound("the session has no model: assign a Network to 'model' in a cell");
    sim = new nefsim.Simulator(m);
  }
  const twins = sameLabel(sim.network.allEnsembles, msg.ensemble);
  if (twins) throw new NotFound(twins);
  const ens = sim.network.allEnsembles.find((e) => e.label === msg.ensemble);
  if (!ens)
    throw new NotFound(
      `no ensemble labelled '${msg.ensemble}' (ensembles: ${sim.network.allEnsembles.map((e) => e.label ?? '?').join(', ')})`,
    );
  const b = sim.built(ens);
  if (b.direct) throw new NotFound(`ensemble '${msg.ensemble}' runs in Direct mode: it has no neurons`);
  // points x neurons rates, checked before they are computed (20,000 neurons at 10,000 points were 1.6 GB)
  if (msg.points * ens.nNeurons > msg.maxValues) {
    const fit = Math.floor(msg.maxValues / ens.nNeurons);
    throw new OverLimit(
      `tuning curves of ensemble '${msg.ensemble}' at ${msg.points} points are ${msg.points * ens.nNeurons} rates (${ens.nNeurons} neurons), more than ${msg.maxValues} in one reply; ` +
        (fit >= 2 ? `ask for at most ${fit} points` : 'its neurons are too many for tuning curves in one reply (2 points at least)'),
    );
  }
  const tc = post.tuningCurves(
    { neuronType: ens.neuronType, gain: b.gain, bias: b.bias, encoders: b.encoders, dimensions: ens.dimensions, radius: ens.radius },
    msg.points,
  );
  return {
    result: { ensemble: msg.ensemble, points: tc.points, neurons: tc.neurons, dimensions: ens.dimensions, radius: ens.radius },
    arrays: { x: tc.x, rates: tc.rates },
  };
}

function target(msg: Extract<ToWorker, { op: 'target' }>): { result: Record<string, unknown>; arrays: WorkerArrays } {
  // Every call inside one script run under the inline budget: a function that never returns fails the
  // request (the session goes on) instead of holding the session until an interrupt restarts it.
  const g = context as unknown as { __nefsimTargetT?: Float64Array };
  g.__nefsimTargetT = msg.t;
  let values: unknown;
  try {
    values = vm.runInContext(
      // (the function's text sees the session's globals: nothing here may shadow a name it uses)
      `(() => { const __nefsimF = (${msg.fn}\n); if (typeof __nefsimF !== 'function') return null; ` +
        'const __nefsimT = globalThis.__nefsimTargetT, __nefsimV = new Array(__nefsimT.length); ' +
        'for (let __nefsimI = 0; __nefsimI < __nefsimT.length; __nefsimI++) __nefsimV[__nefsimI] = __nefsimF(__nefsimT[__nefsimI]); ' +
        'return __nefsimV; })()',
      context,
      { filename: 'target', timeout: init.budgetSeconds * 1000 },
    );
  } catch (err) {
    // (thrown from the context's realm: not an instanceof this realm's Error)
    if (/^Script execution timed out/.test(String((err as { message?: unknown } | null)?.message)))
      throw new BudgetError(
        `target.fn took more than ${init.budgetSeconds} s (the inline compute budget) over ${msg.t.length} sample times`,
      );
    throw err;
  } finally {
    delete g.__nefsimTargetT;
  }
  if (!Array.isArray(values)) throw new TypeError('target.fn must be a JavaScript function (t) => number or number[]');
  let cols = -1;
  let out = new Float64Array(0);
  for (let i = 0; i < msg.t.length; i++) {
    const v: unknown = values[i];
    const row = typeof v === 'number' ? [v] : Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<number>, Number) : null;
    if (!row) throw new TypeError(`target.fn returned ${typeof v} at t = ${msg.t[i]}; return a number or an array of numbers`);
    if (cols < 0) {
      cols = row.length;
      out = new Float64Array(msg.t.length * cols);
    } else if (row.length !== cols) throw new TypeError(`target.fn returned ${row.length} values at t = ${msg.t[i]} but ${cols} before`);
    out.set(row, i * cols);
  }
  return { result: { cols: Math.max(cols, 0) }, arrays: { target: out } };
}

function reply(rid: number, f: () => { result: Record<string, unknown>; arrays?: WorkerArrays }): void {
  try {
    const { result, arrays } = f();
    send({ kind: 'done', rid, ok: true, result, ...(arrays ? { arrays } : {}) });
  } catch (err) {
    const e = errorFields(err);
    send({
      kind: 'done',
      rid,
      ok: false,
      error: {
        code: instanceOf(err, NotFound) ? 'not_found' : instanceOf(err, OverLimit) ? 'limit' : 'execution_error',
        message: `${instanceOf(err, NotFound) || instanceOf(err, OverLimit) ? '' : `${e.name}: `}${e.message}`,
      },
    });
  }
}

async function replyAsync(rid: number, f: () => Promise<{ result: Record<string, unknown>; arrays?: WorkerArrays }>): Promise<void> {
  let out: { result: Record<string, unknown>; arrays?: WorkerArrays };
  try {
    out = await f();
  } catch (err) {
    return reply(rid, () => {
      throw err;
    });
  }
  reply(rid, () => out);
}

/** Requests run one at a time, in order. */
let queue: Promise<void> = Promise.resolve();

process.on('message', (msg: ToWorker) => {
  queue = queue
    .then(async () => {
      switch (msg.op) {
        case 'execute':
          return execute(msg.rid, msg.code, msg.cell);
        case 'probe.list':
          return reply(msg.rid, () => ({ result: probeList(msg.sim) }));
        case 'probe.data':
          return reply(msg.rid, () => probeData(msg));
        case 'tuning':
          return replyAsync(msg.rid, () => tuning(msg));
        case 'target':
          return reply(msg.rid, () => target(msg));
        case 'ping':
          return reply(msg.rid, () => ({ result: {} }));
      }
    })
    // Whatever escapes a handler answers its request and leaves the queue alive for the next ones
    // (a rejected queue would skip every later request: a session that silently stops answering).
    .catch((err: unknown) => {
      send({
        kind: 'done',
        rid: msg.rid,
        ok: false,
        error: {
          code: 'internal',
          message: `the session failed to answer this request (${err instanceof Error ? err.message : String(err)})`.slice(0, 500),
        },
      });
    });
});

// Errors that escape a cell (a timer's callback that throws) go to the latest cell's stderr instead of killing the session.
process.on('uncaughtException', (err) => emit('stderr', `Uncaught ${inspect(err)}\n`));
process.on('unhandledRejection', (err) => emit('stderr', `Unhandled rejection: ${inspect(err)}\n`));

send({ kind: 'ready' });
