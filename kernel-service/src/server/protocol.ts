/**
 * The nefsim service protocol, version 1 (see docs/protocol.md).
 *
 * Text frames carry JSON messages. A request is `{v: 1, id, type, ...params}`;
 * its one reply is `{v: 1, id, type, ok: true, result}` or
 * `{v: 1, id, type, ok: false, error: {code, message, details?}}`. Events
 * (streamed output, progress) are `{v: 1, event, ...}` and carry the id of the
 * request or subscription they belong to. Binary frames carry arrays (see
 * encodeArrayFrame). Every request type has a JSON Schema here (TypeBox), so
 * the schemas are published with the package (`nefsim/protocol`) and every
 * message is validated before it is handled.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS = [PROTOCOL_VERSION] as const;

/** Error codes of failed replies. */
export const ERROR_CODES = {
  bad_json: 'the text frame is not valid JSON',
  bad_message: 'the message is not a request object {v, id, type, ...}',
  bad_version: 'the protocol version is not supported',
  unknown_type: 'no such request type',
  invalid_params: 'the request does not match its schema',
  binary_not_accepted: 'the service accepts only text frames from clients',
  rate_limited: 'too many requests from this client; slow down',
  busy: 'the client is not reading its replies fast enough, or has too many requests in flight',
  not_found: 'no such session, run, simulation or probe',
  conflict: 'the request conflicts with the state of the object (e.g. deleting a running run)',
  limit: 'a service limit is reached (sessions, queued runs)',
  unsupported: 'a valid option this service does not support yet',
  syntax_error: 'the cell does not parse; details give line and column',
  execution_error: 'the cell threw; details give line and column in the cell',
  interrupted: 'the execution was interrupted and the session restarted',
  session_crashed: 'the session worker died (out of memory, process.exit) and was restarted',
  model_error: 'the model could not be loaded or built',
  io_error: 'a file could not be read or written (a full disk, a quota, permissions)',
  internal: 'an unexpected error in the service (a bug)',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** An error that becomes a failed reply. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

const Id = Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })], {
  description: 'Request id chosen by the client; echoed in the reply and in events of the request.',
});
/** Names of sessions, runs, simulations and probes: no path separators. */
/**
 * A probe's or an ensemble's name, as probe.list gives it: from the model's labels, which may hold any
 * character ('a*b', 'x[0]'), but not a control character or '/' (a separator in probes.h5).
 */
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^/\\u0000-\\u001f\\u007f]+$' });
/** A run: a folder name in the runs folder, or 'batch/trial-NNN' for one trial of a batch. */
const RunName = Type.String({ minLength: 1, maxLength: 300, pattern: '^[A-Za-z0-9_][A-Za-z0-9_.:@+ -]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)?$' });
const SessionId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Seconds = Type.Number({ minimum: 0, maximum: 1e9 });

function request<T extends string, P extends Record<string, TSchema>>(type: T, params: P, description: string) {
  return Type.Object(
    { v: Type.Literal(PROTOCOL_VERSION), id: Id, type: Type.Literal(type), ...params },
    { additionalProperties: false, description, $id: type },
  );
}

const SimId = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'Inline simulation id (from simulate() in the session).',
});

/** Where probe data comes from: a run (folder name in the runs folder) or a session's inline simulation. */
const Source = {
  run: Type.Optional(RunName),
  session: Type.Optional(SessionId),
  sim: Type.Optional(SimId),
};

const Window = {
  t0: Type.Optional(Seconds),
  t1: Type.Optional(Seconds),
  columns: Type.Optional(
    Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 1 })], {
      description: 'Columns [from, to) (dimensions or neurons).',
    }),
  ),
};

export const RequestSchemas = {
  hello: request(
    'hello',
    { client: Type.Optional(Type.String({ maxLength: 200 })), versions: Type.Optional(Type.Array(Type.Integer(), { maxItems: 16 })) },
    'Versions, capabilities and limits.',
  ),
  ping: request('ping', {}, 'Round trip check; replies with the server time.'),
  'session.open': request(
    'session.open',
    { session: Type.Optional(SessionId), label: Type.Optional(Type.String({ maxLength: 500 })) },
    'Opens a design session (a worker thread), or attaches to the open session of that id.',
  ),
  'session.rename': request(
    'session.rename',
    { session: SessionId, to: SessionId, label: Type.Optional(Type.String({ maxLength: 500 })) },
    'Gives an open session a new id (its notebook was renamed); its variables and cells stay.',
  ),
  'session.close': request(
    'session.close',
    {
      session: SessionId,
      force: Type.Optional(
        Type.Boolean({ description: 'Close it even while other clients hold it (they get a session.restarted event).' }),
      ),
    },
    "Lets go of a session; the last client's close ends its worker (force: at once, whoever holds it).",
  ),
  'session.reset': request('session.reset', { session: SessionId }, 'Forgets every variable: the worker is replaced by a fresh one.'),
  'session.interrupt': request(
    'session.interrupt',
    { session: SessionId },
    'Stops what the session executes by restarting its worker (state is lost).',
  ),
  'session.list': request('session.list', {}, 'Open sessions.'),
  'cell.execute': request(
    'cell.execute',
    {
      session: SessionId,
      code: Type.String({ maxLength: 1_000_000 }),
      cell: Type.Optional(Type.String({ maxLength: 200 })),
      model: Type.Optional(Type.Boolean({ description: 'Is this a model cell (kept for run.start)? Default true.' })),
    },
    'Executes JavaScript in the session; output streams as events; the reply has the value or the error with line and column.',
  ),
  'run.start': request(
    'run.start',
    {
      session: Type.Optional(SessionId),
      file: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'A model module on the service host.' })),
      // a run name starts with a letter, digit or _ (RunName): so must a label
      label: Type.Optional(Type.String({ maxLength: 100, pattern: '^([A-Za-z0-9_][A-Za-z0-9_.-]*)?$' })),
      cells: Type.Optional(
        Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
          // none is not a model to run: refused here (it was a conflict saying the session had no model cells)
          minItems: 1,
          maxItems: 10_000,
          description:
            "With session: the model cells to run, by id, in this order (the notebook's model cells); default: every model cell the session ran, in the order first run.",
        }),
      ),
      duration: Type.Number({ exclusiveMinimum: 0, maximum: 1e7 }),
      dt: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
      seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
      partitions: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 256, description: 'Worker threads per run (nefsim run --partitions, at most 256).' }),
      ),
      trials: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 10000, description: 'Independent trials with seeds seed, seed+1, ... (a batch).' }),
      ),
      sweep: Type.Optional(
        Type.Array(Type.Record(Type.String(), Type.Unknown()), {
          minItems: 1,
          maxItems: 10000,
          description: 'One trial per parameter object, passed to the model function (a batch).',
        }),
      ),
      jobs: Type.Optional(
        Type.Integer({
          minimum: 1,
          maximum: 1024,
          description: 'Trials of a batch run at once (default: the number of cores divided by partitions).',
        }),
      ),
      executor: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('slurm')])),
      dtype: Type.Optional(
        Type.Union([Type.Literal('float64'), Type.Literal('float32')], {
          description: 'Precision of the simulation (nefsim run --dtype); default float64.',
        }),
      ),
    },
    "Starts a detached run (as `nefsim run --detach`) from the session's model cells or a model file; queued past the concurrency limit.",
  ),
  'run.list': request('run.list', {}, 'Every run in the runs folder and the queue.'),
  'run.status': request('run.status', { run: RunName }, 'Status of one run.'),
  'run.watch': request('run.watch', { run: RunName }, 'Subscribes to run.progress events of a run until it ends.'),
  'run.unwatch': request('run.unwatch', { sub: Type.String({ maxLength: 64 }) }, 'Ends a run.watch subscription.'),
  'run.cancel': request('run.cancel', { run: RunName }, 'Cancels a queued or running run (as `nefsim cancel`).'),
  'run.delete': request('run.delete', { run: RunName }, 'Deletes the folder of a run that is not running.'),
  'probe.list': request('probe.list', { ...Source }, 'Probes of a run or of an inline simulation.'),
  'probe.fetch': request(
    'probe.fetch',
    {
      ...Source,
      probe: Name,
      ...Window,
      maxPoints: Type.Optional(Type.Integer({ minimum: 2, maximum: 10_000_000 })),
      mode: Type.Optional(Type.Union([Type.Literal('minmax'), Type.Literal('raw')])),
    },
    'Probe data as binary frames: min/max per bucket (so spikes and peaks survive) or raw samples.',
  ),
  'post.rates': request(
    'post.rates',
    {
      ...Source,
      probe: Name,
      ...Window,
      tau: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
      filter: Type.Optional(Type.Union([Type.Literal('lowpass'), Type.Literal('alpha')])),
      maxPoints: Type.Optional(Type.Integer({ minimum: 2, maximum: 10_000_000 })),
    },
    'Firing rates of a spike probe: mean rate per neuron (JSON) and the filtered rates decimated (binary).',
  ),
  'post.spikes': request(
    'post.spikes',
    {
      ...Source,
      probe: Name,
      t0: Type.Optional(Seconds),
      t1: Type.Optional(Seconds),
      neurons: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 10_000 }),
    },
    'Spike times of chosen neurons (a raster), one binary frame per neuron.',
  ),
  'post.rmse': request(
    'post.rmse',
    {
      ...Source,
      probe: Name,
      target: Type.Union([
        Type.Object({ probe: Name }, { additionalProperties: false }),
        Type.Object(
          { fn: Type.String({ maxLength: 10_000, description: 'JavaScript function (t, x) => number[] evaluated in the session.' }) },
          { additionalProperties: false },
        ),
      ]),
      from: Type.Optional(Seconds),
    },
    'RMSE of a decoded probe against another probe (a run or a simulation) or a target function (sessions only).',
  ),
  'post.tuning': request(
    'post.tuning',
    {
      session: SessionId,
      ensemble: Name,
      points: Type.Optional(Type.Integer({ minimum: 2, maximum: 10_000 })),
      sim: Type.Optional(SimId),
      run: Type.Optional(RunName),
    },
    "Tuning curves of an ensemble of the session's model (built with the simulation's seed when sim is given), or of a run's model (built in the session's worker with the run's seed and dt).",
  ),
} as const;

export type RequestType = keyof typeof RequestSchemas;
export type Request<T extends RequestType = RequestType> = Static<(typeof RequestSchemas)[T]>;
export const REQUEST_TYPES = Object.keys(RequestSchemas) as RequestType[];

const checks = new Map<string, TypeCheck<TSchema>>();
for (const [type, schema] of Object.entries(RequestSchemas)) checks.set(type, TypeCompiler.Compile(schema));

/** The published schema of every request (a JSON Schema document with one definition per type). */
export function protocolSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://nefsim/protocol/v1.json',
    title: `nefsim service protocol v${PROTOCOL_VERSION}: requests`,
    oneOf: REQUEST_TYPES.map((t) => ({ $ref: `#/definitions/${t}` })),
    definitions: Object.fromEntries(REQUEST_TYPES.map((t) => [t, JSON.parse(JSON.stringify(RequestSchemas[t])) as unknown])),
  };
}

/** Parses and validates one text frame; throws ProtocolError (with the id when known). */
export function parseRequest(text: string): Request {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch (err) {
    throw new ProtocolError('bad_json', `the message is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    throw new ProtocolError('bad_message', 'a message must be a JSON object {v, id, type, ...}');
  const m = msg as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'bad_version',
      `protocol version ${JSON.stringify(m.v)} is not supported; this service speaks v${PROTOCOL_VERSION}`,
      { supported: [...SUPPORTED_VERSIONS] },
    );
  }
  if (typeof m.type !== 'string') throw new ProtocolError('bad_message', "the message has no 'type' string");
  const type: string = m.type;
  const check = checks.get(type);
  if (!check || !Object.prototype.hasOwnProperty.call(RequestSchemas, m.type)) {
    throw new ProtocolError('unknown_type', `unknown message type '${m.type.slice(0, 100)}'`, { known: REQUEST_TYPES });
  }
  if (!check.Check(m)) {
    const errors = [...check.Errors(m)].slice(0, 10).map((e) => ({ path: e.path || '/', message: errorMessage(e.message, e.schema) }));
    const first = errors[0];
    throw new ProtocolError('invalid_params', `${type}: ${first ? `${first.path}: ${first.message}` : 'invalid message'}`, { errors });
  }
  return m as Request;
}

/** A validation error's message; for a union ("Expected union value"), what it accepts. */
function errorMessage(message: string, schema: TSchema): string {
  const anyOf = (schema as { anyOf?: TSchema[] }).anyOf;
  if (!anyOf) return message;
  return `expected ${anyOf.map(describeSchema).join(' or ')}`;
}

function describeSchema(s: TSchema): string {
  const x = s as {
    const?: unknown;
    type?: string;
    minLength?: number;
    maxLength?: number;
    minimum?: number;
    maximum?: number;
    required?: string[];
  };
  if (x.const !== undefined) return JSON.stringify(x.const);
  if (x.type === 'string') {
    const min = x.minLength ?? 0;
    if (x.maxLength !== undefined)
      return min > 0 ? `a string of ${min} to ${x.maxLength} characters` : `a string of at most ${x.maxLength} characters`;
    return min > 0 ? `a string of at least ${min} character${min === 1 ? '' : 's'}` : 'a string';
  }
  if (x.type === 'integer' || x.type === 'number') {
    const what = x.type === 'integer' ? 'an integer' : 'a number';
    // a maximum at the edge of exact integers is no limit worth reading
    const max = x.maximum !== undefined && x.maximum < Number.MAX_SAFE_INTEGER ? x.maximum : undefined;
    if (x.minimum !== undefined && max !== undefined) return `${what} from ${x.minimum} to ${max}`;
    if (x.minimum !== undefined) return `${what} >= ${x.minimum}`;
    if (max !== undefined) return `${what} <= ${max}`;
    return what;
  }
  if (x.type === 'object') return x.required?.length ? `an object with ${x.required.map((k) => `'${k}'`).join(', ')}` : 'an object';
  if (x.type === 'array') return 'an array';
  return 'a valid value';
}

/** Safe request id of an arbitrary message (for error replies to invalid ones). */
export function idOf(text: string): string | number | null {
  try {
    const m = JSON.parse(text) as unknown;
    if (typeof m === 'object' && m !== null && 'id' in m) {
      const id = (m as { id: unknown }).id;
      if ((typeof id === 'string' && id.length <= 128) || (typeof id === 'number' && Number.isSafeInteger(id))) return id;
    }
  } catch {
    // not JSON: no id
  }
  return null;
}

export function typeOf(text: string): string | null {
  try {
    const m = JSON.parse(text) as unknown;
    const type: unknown = typeof m === 'object' && m !== null && 'type' in m ? (m as { type: unknown }).type : undefined;
    if (typeof type === 'string') return type.slice(0, 100);
  } catch {
    // not JSON
  }
  return null;
}

/* ---------- binary frames ---------- */

export type Dtype = 'float64' | 'float32' | 'int32' | 'uint8';
export type TypedArray = Float64Array | Float32Array | Int32Array | Uint8Array;

export interface ArrayHeader {
  /** Id of the request this array answers. */
  id: string | number;
  /** Name of the array within the reply (t, min, max, y, rates, ...). */
  name: string;
  dtype: Dtype;
  shape: number[];
}

/** "NEFB": first four bytes of every binary frame. */
export const BINARY_MAGIC = 0x4246454e;

/**
 * A binary frame: magic "NEFB" (4 bytes), header length H (uint32 LE), H
 * bytes of UTF-8 JSON header {id, name, dtype, shape}, zero padding to a
 * multiple of 8 bytes, then the array's elements, little-endian, row-major.
 */
export function encodeArrayFrame(header: ArrayHeader, data: TypedArray): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = Math.ceil((8 + json.length) / 8) * 8;
  const out = Buffer.alloc(start + data.byteLength);
  out.writeUInt32LE(BINARY_MAGIC, 0);
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  out.set(bytes, start);
  if (!LITTLE_ENDIAN && data.BYTES_PER_ELEMENT > 1) swapInPlace(out.subarray(start), data.BYTES_PER_ELEMENT);
  return out;
}

/** Decodes a binary frame (for clients and tests). */
export function decodeArrayFrame(buf: Uint8Array): { header: ArrayHeader; data: TypedArray } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 8 || view.getUint32(0, true) !== BINARY_MAGIC) throw new Error('not a nefsim binary frame');
  const h = view.getUint32(4, true);
  const header = JSON.parse(Buffer.from(buf.subarray(8, 8 + h)).toString('utf8')) as ArrayHeader;
  const start = Math.ceil((8 + h) / 8) * 8;
  const bytes = Uint8Array.from(buf.subarray(start));
  if (!LITTLE_ENDIAN) swapInPlace(bytes, BYTES[header.dtype]);
  const b = bytes.buffer;
  const data =
    header.dtype === 'float64'
      ? new Float64Array(b)
      : header.dtype === 'float32'
        ? new Float32Array(b)
        : header.dtype === 'int32'
          ? new Int32Array(b)
          : new Uint8Array(b);
  return { header, data };
}

export function dtypeOf(a: TypedArray): Dtype {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return 'uint8';
}

const BYTES: Record<Dtype, number> = { float64: 8, float32: 4, int32: 4, uint8: 1 };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(b: Uint8Array, width: number): void {
  if (width <= 1) return;
  for (let i = 0; i + width <= b.length; i += width) b.subarray(i, i + width).reverse();
}
