/**
 * `nefsim serve`: starts the service. Standalone it binds to 127.0.0.1 and
 * requires a token: read from --token-file (created with a fresh random token,
 * mode 0600, if missing), or NEFSIM_TOKEN, or generated and printed in the URL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { squeueInBackground } from '../runs/slurm.js';
import { protocolSchema } from './protocol.js';
import { DEFAULTS, Service, type ServiceOptions } from './service.js';

export const SERVE_HELP = `nefsim serve [--host 127.0.0.1] [--port 8765] [--token-file F] [--runs-dir runs]
             [--max-concurrent-runs 2] [--allow-origin URL]... [--allow-host HOST:PORT]...
             [--max-sessions 64] [--session-memory-mb 1024] [--max-rss-mb MB] [--inline-budget 20]
             [--max-payload BYTES] [--rate-limit N] [--max-clients 256] [--schema]
  Starts the simulation service (one WebSocket, protocol v1: docs/protocol.md).
  Prints one JSON line {"event":"listening","url",...} when ready. --port 0 picks a free port.
  --max-rss-mb (default three quarters of the machine's memory): past it, sessions running a
  cell are restarted (their typed arrays are not in --session-memory-mb's V8 heap).
  --max-concurrent-runs counts slots: a run takes one per partition, a batch one per partition
  of each trial it runs at once (a Slurm run none once submitted: it works on the cluster);
  past them, runs wait in the queue.
  --schema prints the JSON Schema of every request and exits.`;

class ServeUsage extends Error {}

const VALUE_OPTS = new Set([
  'host',
  'port',
  'token-file',
  'runs-dir',
  'max-concurrent-runs',
  'allow-origin',
  'allow-host',
  'max-sessions',
  'session-memory-mb',
  'max-rss-mb',
  'inline-budget',
  'max-payload',
  'rate-limit',
  'max-clients',
]);

function parse(args: string[]): { opts: Map<string, string[]>; flags: Set<string> } {
  const opts = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-h') {
      flags.add('help');
      continue;
    }
    if (!a.startsWith('--')) throw new ServeUsage(`nefsim serve: unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 'schema' || name === 'help') {
      flags.add(name);
      continue;
    }
    if (!VALUE_OPTS.has(name)) throw new ServeUsage(`nefsim serve: unknown option '--${name}'\n${SERVE_HELP}`);
    const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '') throw new ServeUsage(`nefsim serve: --${name} needs a value`);
    opts.set(name, [...(opts.get(name) ?? []), value]);
  }
  return { opts, flags };
}

function num(opts: Map<string, string[]>, name: string, fallback: number, min: number, max: number, integer = true): number {
  const v = opts.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max || (integer && !Number.isInteger(x)))
    throw new ServeUsage(`nefsim serve: --${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${v}'`);
  return x;
}

function readToken(file: string | undefined): { token: string; generated: boolean; file: string | undefined } {
  if (file !== undefined) {
    const path = resolve(file);
    if (existsSync(path)) {
      const token = readFileSync(path, 'utf8').trim();
      if (token.length < 16) throw new ServeUsage(`nefsim serve: the token in ${path} is shorter than 16 characters`);
      return { token, generated: false, file: path };
    }
    mkdirSync(dirname(path), { recursive: true });
    const token = randomBytes(32).toString('hex');
    writeFileSync(path, token + '\n', { mode: 0o600 });
    return { token, generated: false, file: path };
  }
  const env = process.env.NEFSIM_TOKEN || undefined; // set but empty: as unset
  if (env !== undefined && env.length < 16) throw new ServeUsage('nefsim serve: NEFSIM_TOKEN is shorter than 16 characters');
  if (env !== undefined) return { token: env, generated: false, file: undefined };
  return { token: randomBytes(32).toString('hex'), generated: true, file: undefined };
}

export async function serveCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  let options: ServiceOptions;
  let tok: ReturnType<typeof readToken>;
  try {
    parsed = parse(args);
    if (parsed.flags.has('help')) {
      console.log(SERVE_HELP);
      return 0;
    }
    if (parsed.flags.has('schema')) {
      console.log(JSON.stringify(protocolSchema(), null, 2));
      return 0;
    }
    const o = parsed.opts;
    tok = readToken(o.get('token-file')?.at(-1));
    options = {
      ...DEFAULTS,
      host: o.get('host')?.at(-1) ?? DEFAULTS.host,
      port: num(o, 'port', DEFAULTS.port, 0, 65535),
      token: tok.token,
      runsDir: resolve(o.get('runs-dir')?.at(-1) ?? DEFAULTS.runsDir),
      maxConcurrentRuns: num(o, 'max-concurrent-runs', DEFAULTS.maxConcurrentRuns, 1, 1024),
      allowOrigins: o.get('allow-origin') ?? [],
      allowHosts: o.get('allow-host') ?? [],
      maxSessions: num(o, 'max-sessions', DEFAULTS.maxSessions, 1, 10_000),
      sessionMemoryMb: num(o, 'session-memory-mb', DEFAULTS.sessionMemoryMb, 32, 65_536),
      maxRssMb: num(o, 'max-rss-mb', DEFAULTS.maxRssMb, 64, 16_777_216),
      budgetSeconds: num(o, 'inline-budget', DEFAULTS.budgetSeconds, 0.1, 3600, false),
      maxPayload: num(o, 'max-payload', DEFAULTS.maxPayload, 1024, 1 << 30),
      rateLimit: num(o, 'rate-limit', DEFAULTS.rateLimit, 1, 1_000_000),
      maxClients: num(o, 'max-clients', DEFAULTS.maxClients, 1, 100_000),
      log: (line) => console.error(`[${new Date().toISOString()}] ${line}`),
    };
    options.rateBurst = Math.max(10, options.rateLimit * 2);
  } catch (err) {
    if (err instanceof ServeUsage) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(options.host);
  if (!loopback)
    options.log(`warning: listening on ${options.host}, not loopback: anyone who reaches this address and has the token can run code here`);
  // A safety net: a bug in a handler is logged, never allowed to take the service (and every session) down.
  process.on('uncaughtException', (err) => options.log(`uncaught exception (a bug; the service goes on): ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) =>
    options.log(`unhandled rejection (a bug; the service goes on): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
  );
  // the run list and progress judge Slurm runs by squeue: never inline, on the loop that serves every client
  squeueInBackground();
  const service = new Service(options);
  let listening: { port: number; url: string };
  try {
    listening = await service.listen();
  } catch (err) {
    console.error(`nefsim serve: cannot listen on ${options.host}:${options.port}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const line: Record<string, unknown> = {
    event: 'listening',
    url: listening.url,
    port: listening.port,
    host: options.host,
    runsDir: options.runsDir,
    pid: process.pid,
  };
  if (tok.file) line.tokenFile = tok.file;
  if (tok.generated) line.urlWithToken = `${listening.url}?token=${tok.token}`;
  console.log(JSON.stringify(line));
  await new Promise<void>((done) => {
    const stop = (sig: string): void => {
      options.log(`received ${sig}: closing (runs go on)`);
      void service.close().finally(done);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
