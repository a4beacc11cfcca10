/**
 * Design sessions through the real service: cells that build the squaring
 * model, build summaries, errors with the cell's line and column, streamed
 * output and display(), inline simulate() under a budget with probe data and
 * post-processing, interrupting an endless loop while another client keeps
 * getting replies, and the memory cap.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_SEMI_SPACE_MB, youngGenerationMb } from '../src/engine/node-flags.js';
import { cleanup, Client, SQUARING_CELLS, startService, type Running } from './server-harness.js';

let svc: Running;
let c: Client;
let session: string;

beforeAll(async () => {
  svc = await startService(['--inline-budget', '3', '--session-memory-mb', '96']);
  c = await Client.connect(svc);
  const r = await c.request('session.open', { label: 'notebook.ipynb' });
  expect(r.ok).toBe(true);
  session = r.result!.session as string;
});

afterAll(async () => {
  c?.close();
  await svc?.stop();
  cleanup(svc.dir);
});

const exec = (code: string, cell = 'c', extra: Record<string, unknown> = {}) =>
  c.request('cell.execute', { session, code, cell, ...extra });

/** Resident memory of a process and its children (a service's sessions are its children), MB. */
function treeRssMb(pid: number): number {
  const rss = (p: string): number => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  let total = rss(String(pid));
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid)) total += rss(p);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

describe('cells', () => {
  it('build the squaring model across cells and report the model and a build summary', async () => {
    for (const [i, code] of SQUARING_CELLS.entries()) {
      const r = await exec(code, `sq${i}`);
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
    }
    const last = await exec('buildSummary(model)', 'summary', { model: false });
    expect(last.ok, JSON.stringify(last.error)).toBe(true);
    const json = last.result!.value as Record<string, Record<string, unknown>>;
    expect(json['application/json']).toMatchObject({ label: 'squaring', ensembles: 2, neurons: 200, nodes: 1, connections: 2, probes: 2 });
    expect(last.result!.model).toMatchObject({ label: 'squaring', neurons: 200 });
  });

  it('simulate and buildSummary of something that is not a Network say what they got', async () => {
    const u = await exec('simulate(undefined, 0.1)', 'not-net');
    expect(u.error!.message).toContain('net must be a Network, got undefined (has the cell that sets it run in this session?)');
    const n = await exec('buildSummary({ label: "x" })', 'not-net2', { model: false });
    expect(n.error!.message).toContain("net must be a Network (default: model), got { label: 'x' }");
  });

  it('post.tuning refuses, before computing them, more rates than the service sends at once, and says how many points fit', async () => {
    const o = await c.request('session.open', { label: 'tuning-limit.ipynb' });
    const s = o.result!.session as string;
    const built = await c.request('cell.execute', {
      session: s,
      cell: 'big',
      code: "model = new Network({ seed: 1 }); model.ensemble({ nNeurons: 2001, dimensions: 1, label: 'big' });",
    });
    expect(built.ok, JSON.stringify(built.error)).toBe(true);
    // 2,001 neurons x 10,000 points: 20,010,000 rates, more than the default 20,000,000
    const r = await c.request('post.tuning', { session: s, ensemble: 'big', points: 10_000 });
    expect(r.error).toMatchObject({
      code: 'limit',
      message:
        "tuning curves of ensemble 'big' at 10000 points are 20010000 rates (2001 neurons), more than 20000000 in one reply; ask for at most 9995 points",
    });
    const ok = await c.request('post.tuning', { session: s, ensemble: 'big', points: 9995 });
    expect(ok.ok, JSON.stringify(ok.error)).toBe(true);
    await c.request('session.close', { session: s });
  });

  it('post.tuning and plotTuning refuse a label that several ensembles share (two EnsembleArrays both have a "0"): it drew the first', async () => {
    const o = await c.request('session.open', { label: 'tuning-twins.ipynb' });
    const s = o.result!.session as string;
    const built = await c.request('cell.execute', {
      session: s,
      cell: 'twins',
      code: "model = new Network({ seed: 1 }); model.ensemble({ nNeurons: 5, dimensions: 1, label: 'twin' }); model.ensemble({ nNeurons: 7, dimensions: 1, label: 'twin' }); model.ensemble({ nNeurons: 3, dimensions: 1, label: 'one' });",
    });
    expect(built.ok, JSON.stringify(built.error)).toBe(true);
    const message = "2 ensembles are labelled 'twin' (of 5 and 7 neurons): label them apart";
    expect((await c.request('post.tuning', { session: s, ensemble: 'twin', points: 5 })).error).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining(message) as unknown as string,
    });
    const plot = await c.request('cell.execute', { session: s, cell: 'plot', code: "plotTuning('twin')", model: false });
    expect(plot.error!.message).toContain(`plotTuning: ${message}, or give the ensemble itself`);
    expect((await c.request('post.tuning', { session: s, ensemble: 'one', points: 5 })).result).toMatchObject({ neurons: 3 });
    await c.request('session.close', { session: s });
  });

  it("'var x;' again keeps x's value, as JavaScript's var does; 'let y;' again sets y to undefined, as a fresh let", async () => {
    expect((await exec('var kept = 5; let reset = 6;', 'decl1')).ok).toBe(true);
    const again = await exec('var kept; let reset; [kept, reset]', 'decl2', { model: false });
    expect(again.ok, JSON.stringify(again.error)).toBe(true);
    expect(again.result!.value!['application/json']).toEqual([5, null]);
    const fresh = await exec('var neverSet; typeof neverSet', 'decl3', { model: false });
    expect(fresh.result!.value!['text/plain']).toBe('undefined');
  });

  it("a session's process has the heap caps: --session-memory-mb for the old generation, a small young generation", async () => {
    const r = await exec(
      "const v8 = await import('node:v8'); const proc = (await import('node:process')).default; " +
        'JSON.stringify({ argv: proc.execArgv, limit: v8.getHeapStatistics().heap_size_limit, pid: proc.pid })',
      'limits',
    );
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const got = JSON.parse(String(r.result!.value!['text/plain']).replace(/^'|'$/g, '')) as { argv: string[]; limit: number; pid: number };
    expect(got.argv).toEqual(expect.arrayContaining(['--max-old-space-size=96', `--max-semi-space-size=${SESSION_SEMI_SPACE_MB}`]));
    // the old generation's cap and the young generation's (three semi-spaces' worth)
    expect(got.limit / 1048576).toBeGreaterThanOrEqual(96);
    expect(got.limit / 1048576).toBeLessThanOrEqual(96 + youngGenerationMb(SESSION_SEMI_SPACE_MB));
    // a process of its own, a child of the service
    expect(got.pid).not.toBe(svc.proc.pid);
    expect(readFileSync(`/proc/${got.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]).toBe(String(svc.proc.pid));
  });

  it("a session's large builds use the other core: one large solve is shared (the linear algebra team), bit for bit", async () => {
    const r = await exec(
      [
        // in a function: its names stay out of the session's globals, which later tests use
        '(() => {',
        '  const big = new Network({ label: "big", seed: 5 });',
        '  const e = big.ensemble({ nNeurons: 1000, dimensions: 1, label: "e" });',
        '  big.connect(e, big.node(null, { sizeIn: 1, label: "out" }), { function: (x) => x[0] ** 2 });',
        // the helper starts with the first large solve and may miss it
        '  let threads = 1;',
        '  for (let i = 0; i < 10 && threads === 1; i++) threads = new Simulator(big, { decoderCache: null }).summary().buildThreads;',
        '  return threads;',
        '})()',
      ].join('\n'),
      'big',
      { model: false },
    );
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    expect(r.result!.value!['text/plain']).toBe('2');
  });

  it("a cell's string value is cut at 2 MB with a notice (a 300 MB string took the service's memory past 1.5 GB)", async () => {
    const r = await exec("'z'.repeat(30_000_000)", 'big');
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const text = String(r.result!.value!['text/plain']);
    expect(text.length).toBeLessThan(2 * 1024 * 1024 + 200);
    expect(text).toMatch(/\[value truncated: 30000000 characters, 2097152 shown\]$/);
  });

  it("an error thrown by a timer after its cell ended is in the service's log (it was lost)", async () => {
    const r = await c.request('cell.execute', {
      session,
      code: "setTimeout(() => { throw new Error('late boom'); }, 10); 1",
      cell: 'late',
    });
    expect(r.ok).toBe(true);
    for (let i = 0; i < 50 && !svc.stderr().includes('late boom'); i++) await new Promise((res) => setTimeout(res, 50));
    expect(svc.stderr()).toMatch(/session .*: stderr after its cell ended: Uncaught Error: late boom/);
  });

  it("a timer that prints on after its cell ended fills the service's log with 20 lines at most, then says the rest are not logged", async () => {
    const s = (await c.request('session.open', { label: 'ticking.ipynb' })).result!.session as string;
    const before = svc.stderr().length;
    const r = await c.request('cell.execute', { session: s, code: "let n = 0; setInterval(() => console.log('tick ' + n++), 1); 1" });
    expect(r.ok).toBe(true);
    const ticks = () =>
      svc
        .stderr()
        .slice(before)
        .split('\n')
        .filter((l) => l.includes(`session ${s}: stdout after its cell ended: tick`));
    for (let i = 0; i < 40 && ticks().length < 21; i++) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 500)); // hundreds of ticks more
    // (every tick was a line of the log, up to 2 MB of output per cell: a third of a million lines)
    expect(ticks().length).toBe(20);
    expect(svc.stderr().slice(before)).toContain(`session ${s}: more output after its cell ended is not logged until its next cell runs`);
    // the next cell's own output is its own, and late output after it is logged again
    const next = await c.request('cell.execute', { session: s, code: "await new Promise((res) => setTimeout(res, 20)); 'next'" });
    expect(next.events.some((e) => e.event === 'cell.stream' && String(e.text).startsWith('tick'))).toBe(true);
    for (let i = 0; i < 40 && ticks().length < 21; i++) await new Promise((res) => setTimeout(res, 50));
    expect(ticks().length).toBeGreaterThan(20);
    await c.request('session.close', { session: s });
  });

  it('re-running a cell redeclares its consts; state carries over', async () => {
    expect((await exec('const k = 1;', 'k')).ok).toBe(true);
    expect((await exec('const k = 2; k + a.nNeurons', 'k')).result!.value).toEqual({ 'text/plain': '102' });
  });

  it('a cell run again that adds its objects again gets a warning naming them and the network; other cells do not', async () => {
    const stderr = (r: Awaited<ReturnType<typeof exec>>): string =>
      r.events
        .filter((e) => e.event === 'cell.stream' && e.stream === 'stderr')
        .map((e) => e.text as string)
        .join('');
    const add = "const e = dup.ensemble({ nNeurons: 10, dimensions: 1 }); dup.probe(e, { synapse: 0.01 }); 'added'";
    expect((await exec("const dup = new Network({ label: 'dup' });", 'dup-make')).ok).toBe(true);
    const first = await exec(add, 'dup-add');
    expect(first.ok, JSON.stringify(first.error)).toBe(true);
    expect(stderr(first)).toBe('');
    const again = await exec(add, 'dup-add');
    expect(again.ok, JSON.stringify(again.error)).toBe(true);
    expect(stderr(again)).toContain(
      "this cell ran before, and running it again added 1 ensemble and 1 probe to network 'dup' a second time",
    );
    expect(again.result!.value).toEqual({ 'text/plain': 'added' });
    // another cell adding to the same network: meant, no warning
    expect(stderr(await exec('dup.node([1]);', 'dup-other'))).toBe('');
    // the network made anew, then the cell again: one copy, no warning
    expect((await exec("const dup = new Network({ label: 'dup' });", 'dup-make')).ok).toBe(true);
    expect(stderr(await exec(add, 'dup-add'))).toBe('');
  });

  it("a node's function that throws: its line is marked in this cell, or given as the origin in the cell that defined it", async () => {
    const made = await exec(
      "const boom = new Network({ label: 'boom' });\nboom.node((t) => {\n  if (t > 0.005) throw new Error('sensor offline');\n  return [0];\n}, { label: 'bomb' });",
      'boom-make',
      { model: false },
    );
    expect(made.ok, JSON.stringify(made.error)).toBe(true);
    const r = await exec('const ok = 1;\nsimulate(boom, 0.01)', 'boom-run', { model: false });
    expect(r.ok).toBe(false);
    expect(r.error!.message).toMatch(
      /^SimulationError: Node 'bomb': its function threw at t = 0\.006000 s: sensor offline \(line 2, column \d+; it threw at line 3 of another cell\)$/,
    );
    expect(r.error!.details).toMatchObject({
      line: 2,
      object: "Node 'bomb'",
      origin: { cell: 'boom-make', line: 3, source: "  if (t > 0.005) throw new Error('sensor offline');" },
    });
    const stack = r.error!.details!.stack as string;
    expect(stack).toContain('\nCaused by: Error: sensor offline');
    expect(stack).toMatch(/other cell:3:\d+/);
    expect(stack).not.toMatch(/cell-\d+:/);
    // the engine's frames folded into one line per run of them, with how many
    expect(stack).not.toMatch(/kernel-service\/(lib|src)\//);
    expect(stack).toMatch(/^ {4}at nefsim \(\d+ frames? of the engine\)$/m);
    expect(stack).not.toMatch(/(at cell:\d+:\d+)\n\s*\1\n/);
    // but a recursive function's frames are all kept
    const deep = await exec(
      "function down(n) {\n  if (n === 0) throw new Error('bottom');\n  return down(n - 1);\n}\ndown(3);",
      'recurse',
      {
        model: false,
      },
    );
    expect((deep.error!.details!.stack as string).match(/at down \(cell:3:\d+\)/g)).toHaveLength(3);
    // defined and run in the same cell: the function's line, not the simulate() line
    const same = await exec(
      "const b2 = new Network({ label: 'b2' });\nb2.node((t) => {\n  if (t > 0) throw new Error('at once');\n  return [0];\n});\nsimulate(b2, 0.01)",
      'boom-same',
      { model: false },
    );
    expect(same.ok).toBe(false);
    expect(same.error!.details).toMatchObject({ line: 3, source: "  if (t > 0) throw new Error('at once');" });
    expect(same.error!.details!.origin).toBeUndefined();
    // the node of an earlier run of a cell (run again since): said so, and no line of its current source marked
    const node = "ghost.node((t) => {\n  if (t > 0.005) throw new Error('old node');\n  return [0];\n});";
    expect((await exec("const ghost = new Network({ label: 'ghost' });", 'ghost-make', { model: false })).ok).toBe(true);
    expect((await exec(node, 'ghost-node', { model: false })).ok).toBe(true);
    expect((await exec(node.replace('old node', 'new node'), 'ghost-node', { model: false })).ok).toBe(true);
    const old = await exec('simulate(ghost, 0.01)', 'ghost-run', { model: false });
    expect(old.error!.message).toMatch(/old node \(line 1, column \d+; it threw at line 2 of an earlier run of another cell\)$/);
    expect(old.error!.details!.origin).toBeUndefined();
  });

  it('a global that cannot be read (a revoked proxy) does not stop later cells', async () => {
    expect(
      (await exec('const rv = Proxy.revocable({}, {}); const revoked = rv.proxy; rv.revoke(); 1', 'revoke', { model: false })).ok,
    ).toBe(true);
    const next = await exec('6 * 7', 'after-revoke', { model: false });
    expect(next.ok, JSON.stringify(next.error)).toBe(true);
    expect(next.result!.value).toEqual({ 'text/plain': '42' });
  });

  it('streams console output and display() before the reply, with top-level await', async () => {
    const r = await exec(
      "console.log('hello', 1 + 1); await new Promise((r) => setTimeout(r, 20)); console.error('oops'); display(model); display('<b>x</b>', 'text/html'); 'done'",
      'io',
      { model: false },
    );
    expect(r.ok).toBe(true);
    const streams = r.events.filter((e) => e.event === 'cell.stream');
    expect(streams.map((e) => [e.stream, e.text])).toEqual([
      ['stdout', 'hello 2\n'],
      ['stderr', 'oops\n'],
    ]);
    const displays = r.events.filter((e) => e.event === 'cell.display').map((e) => e.data as Record<string, unknown>);
    expect(displays[0]!['application/vnd.nefsim.network+json']).toMatchObject({ label: 'squaring' });
    expect(displays[1]).toEqual({ 'text/html': '<b>x</b>' });
    expect(r.result!.value).toEqual({ 'text/plain': 'done' });
  });

  it('writes to process.stdout and stderr, and unhandled rejections, come with the cell, in order and capped', async () => {
    // they went through the worker's own streams: after the reply (and dropped), and uncapped
    const r = await exec(
      "const p = await import('node:process'); p.stdout.write('a\\n'); console.log('b'); p.stderr.write(new TextEncoder().encode('c\\n')); Promise.reject(new Error('late')); 'done'",
      'raw-io',
      { model: false },
    );
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const streams = r.events.filter((e) => e.event === 'cell.stream').map((e) => [e.stream, e.text as string]);
    expect(streams.slice(0, 3)).toEqual([
      ['stdout', 'a\n'],
      ['stdout', 'b\n'],
      ['stderr', 'c\n'],
    ]);
    expect(streams[3]![0]).toBe('stderr');
    expect(streams[3]![1]).toMatch(/^Unhandled rejection: Error: late/);
    // an encoding is honoured, and a character split between two writes of bytes comes out whole
    const enc = await exec(
      "const e = await import('node:process'); e.stdout.write('aGkK', 'base64'); const b = new TextEncoder().encode('é\\n'); e.stdout.write(b.subarray(0, 1)); e.stdout.write(b.subarray(1)); 1",
      'enc',
      { model: false },
    );
    expect(
      enc.events
        .filter((e) => e.event === 'cell.stream')
        .map((e) => e.text as string)
        .join(''),
    ).toBe('hi\né\n');
    const flood = await exec(
      "const q = await import('node:process'); for (let i = 0; i < 5000; i++) q.stdout.write('x'.repeat(1000) + '\\n'); 1",
      'flood',
      {
        model: false,
      },
    );
    const text = flood.events.filter((e) => e.event === 'cell.stream').map((e) => e.text as string);
    expect(text.join('').length).toBeLessThan(2 * 1024 * 1024 + 2000);
    expect(text.at(-1)).toContain('[output truncated');
  });

  it('a runtime error points at its line and column in the cell', async () => {
    const r = await exec(
      'const ok = 1;\nconst e = net.ensemble({ nNeurons: 10, dimensions: 1 });\n  net.connect(e, undefinedThing);',
      'err',
      { model: false },
    );
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: 'execution_error', details: { name: 'ReferenceError', line: 3, column: 18, cell: 'err' } });
    expect(r.error!.message).toContain('undefinedThing is not defined (line 3, column 18)');
  });

  it('an engine error names the line of the call and the object at fault', async () => {
    const r = await exec("\n\nnet.ensemble({ nNeurons: -5, dimensions: 1, label: 'bad' });", 'eng', { model: false });
    expect(r.ok).toBe(false);
    expect(r.error!.details).toMatchObject({ line: 3, column: 5 });
    expect(r.error!.details!.name).toMatch(/ValidationError/);
  });

  it('odd values and process.exit() do not take anything down', async () => {
    const r = await exec(
      "display(10n, 'text/plain'); display({ a: 1n }, 'application/json'); const cyc = {}; cyc.self = cyc; display(cyc, 'application/json'); display(cyc); 2n ** 70n",
      'odd',
      { model: false },
    );
    expect(r.ok).toBe(true);
    expect(r.result!.value).toEqual({ 'text/plain': '1180591620717411303424n' });
    expect(r.events.filter((e) => e.event === 'cell.display').map((e) => e.data)).toContainEqual({ 'text/plain': '10' });
    const exit = await exec('globalThis.constructor.constructor("return process")().exit(3)', 'exit', { model: false });
    expect(exit.error!.code).toBe('session_crashed');
    for (const [i, code] of SQUARING_CELLS.entries()) expect((await exec(code, `sq${i}`)).ok).toBe(true);
  });

  it('a syntax error gives its line and column', async () => {
    const r = await exec('const x = 1;\nconst y = (2;\n', 'syn');
    expect(r.error).toMatchObject({ code: 'syntax_error', details: { line: 2, column: 13 } });
    const imp = await exec("import fs from 'node:fs';");
    expect(imp.error!.code).toBe('syntax_error');
    const dyn = await exec("const os = await import('node:os'); typeof os.cpus", 'dyn', { model: false });
    expect(dyn.result!.value).toEqual({ 'text/plain': 'function' });
    expect(dyn.events).toEqual([]);
  });
});

describe('inline simulations and post-processing', () => {
  let sim: string;
  it('simulate() returns a simulation whose probes can be listed and fetched', async () => {
    const r = await exec('const res = simulate(model, 1.0); res', 'sim', { model: false });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const info = (r.result!.value as Record<string, Record<string, unknown>>)['application/vnd.nefsim.simulation+json']!;
    sim = info.id as string;
    expect(info).toMatchObject({ seconds: 1, steps: 1000, probes: ['sq', 'spikes'] });
    const list = await c.request('probe.list', { session, sim });
    expect(list.result!.probes).toEqual([
      expect.objectContaining({ name: 'sq', shape: [1000, 1] }),
      expect.objectContaining({ name: 'spikes', shape: [1000, 100] }),
    ]);
  });

  it('probe.fetch: min/max decimation keeps the raw extremes of every bucket', async () => {
    const raw = await c.request('probe.fetch', { session, sim, probe: 'spikes', mode: 'raw' });
    expect(raw.result).toMatchObject({ mode: 'raw', rows: 1000, cols: 100 });
    const y = raw.arrays.get('y')!.data as Float64Array;
    expect(raw.arrays.get('y')!.header).toMatchObject({ dtype: 'float64', shape: [1000, 100] });
    const dec = await c.request('probe.fetch', { session, sim, probe: 'spikes', maxPoints: 100 });
    expect(dec.result).toMatchObject({ mode: 'minmax', buckets: 50 });
    const min = dec.arrays.get('min')!.data as Float64Array;
    const max = dec.arrays.get('max')!.data as Float64Array;
    for (let b = 0; b < 50; b++) {
      for (let n = 0; n < 100; n++) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = b * 20; i < (b + 1) * 20; i++) {
          lo = Math.min(lo, y[i * 100 + n]!);
          hi = Math.max(hi, y[i * 100 + n]!);
        }
        expect(min[b * 100 + n]).toBe(lo);
        expect(max[b * 100 + n]).toBe(hi);
      }
    }
    const part = await c.request('probe.fetch', { session, sim, probe: 'sq', t0: 0.5, t1: 0.6, mode: 'raw' });
    const t = part.arrays.get('t')!.data as Float64Array;
    expect(t.length).toBe(101);
    expect(t[0]).toBeCloseTo(0.5, 9);
  });

  it("probes named with any label characters ('a*b', as the circconv example's) are fetched as probe.list names them", async () => {
    const r = await exec(
      "const pn = new Network({ seed: 2 }); const pe = pn.ensemble({ nNeurons: 20, dimensions: 1, label: 'x[0]' }); pn.probe(pe, { label: 'a*b', synapse: 0.01 }); simulate(pn, 0.05).id",
      'odd-names',
      { model: false },
    );
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const oddSim = String(r.result!.value!['text/plain']).replace(/'/g, '');
    const names = ((await c.request('probe.list', { session, sim: oddSim })).result!.probes as { name: string }[]).map((p) => p.name);
    expect(names).toContain('a*b');
    const f = await c.request('probe.fetch', { session, sim: oddSim, probe: 'a*b' });
    expect(f.ok, JSON.stringify(f.error)).toBe(true);
    expect((await c.request('post.tuning', { session, ensemble: 'x[0]', points: 5 })).error?.code).not.toBe('invalid_params');
    expect((await c.request('probe.fetch', { session, sim: oddSim, probe: 'a/b' })).error!.code).toBe('invalid_params');
  });

  it('probe.fetch gives the times the simulator sampled at where sample_every / dt is a hair over a whole number', async () => {
    // 0.07 / 0.01 is 7.000000000000001: sampled at steps 8, 15, ... (sim.trange, Nengo); drawn at 0.07, 0.14, ...
    const r = await exec(
      "const hn = new Network({ seed: 2 }); const hs = hn.node((t) => [t], { label: 'hs' }); hn.probe(hs, { label: 'h', sampleEvery: 0.07 }); hn.probe(hs, { label: 'hf', sampleEvery: 0.004 }); hn.probe(hs, { label: 'he' }); simulate(hn, 1, { dt: 0.01 }).id",
      'hair-over',
      { model: false },
    );
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const hairSim = String(r.result!.value!['text/plain']).replace(/'/g, '');
    const f = await c.request('probe.fetch', { session, sim: hairSim, probe: 'h', mode: 'raw' });
    expect(f.ok, JSON.stringify(f.error)).toBe(true);
    const t = Array.from(f.arrays.get('t')!.data as Float64Array);
    expect(t.slice(0, 3)).toEqual([0.08, 0.15, 0.22]);
    expect(Array.from(f.arrays.get('y')!.data as Float64Array)).toEqual(t);
    // between two samples of it, and of one sampled every step (sample_every under dt): empty, not past the end
    for (const [probe, t0, t1] of [
      ['h', 0.981, 0.989],
      ['hf', 0.501, 0.509],
    ] as const) {
      const w = await c.request('probe.fetch', { session, sim: hairSim, probe, t0, t1, mode: 'raw' });
      expect(w.error, probe).toBeUndefined();
      expect(w.result, probe).toMatchObject({ rows: 0 });
    }
    // sampled every step, as one without sample_every: filtered alike (it was filtered as if 4 ms were 10)
    const [hf, he] = await Promise.all(['hf', 'he'].map((probe) => c.request('post.rates', { session, sim: hairSim, probe, tau: 0.05 })));
    const [x, y] = [hf!.arrays.get('max')!.data, he!.arrays.get('max')!.data];
    expect(x.length).toBe(y.length);
    for (let i = 0; i < x.length; i++) expect(x[i]!).toBeCloseTo(y[i]!, 9);
  });

  it("plotTuning and plotXY make plots as a cell value, in the extension's plot format; bad calls say what is wrong", async () => {
    const plotOf = (r: Awaited<ReturnType<typeof exec>>) => {
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      return r.result!.value!['application/vnd.nefsim.plot+json'] as {
        version: number;
        kind: string;
        title: string;
        traces: { name: string; x: number[]; y: number[] }[];
      };
    };
    const tc = plotOf(await exec("plotTuning('a')", 'tuning', { model: false }));
    expect(tc).toMatchObject({ version: 1, kind: 'tuning', title: 'tuning curves of a, first 50 of 100 neurons' });
    expect(tc.traces).toHaveLength(50);
    expect(tc.traces[0]!.x).toHaveLength(101);
    expect(tc.traces[0]!.x[0]).toBe(-1);
    expect(tc.traces[0]!.x[100]).toBe(1);
    const all = tc.traces.flatMap((t) => t.y);
    expect(Math.min(...all)).toBe(0);
    expect(Math.max(...all)).toBeGreaterThan(200);
    expect(Math.max(...all)).toBeLessThan(400.0001);
    // the same ensemble by object, all its neurons, few points; from an inline simulation's build
    const again = plotOf(
      await exec('plotTuning(a, { neurons: 1000, points: 5, sim: simulate(model, 0.01) })', 'tuning2', { model: false }),
    );
    expect(again.traces).toHaveLength(100);
    expect(again.traces[7]!.y).toHaveLength(5);
    // XY: a node drawing a circle, one dimension against the other
    const xy = plotOf(
      await exec(
        "const ring = new Network({ label: 'ring' }); ring.probe(ring.node((t) => [Math.cos(t), Math.sin(t)]), { label: 'c' }); plotXY(simulate(ring, 1), 'c')",
        'xy',
        { model: false },
      ),
    );
    expect(xy).toMatchObject({ kind: 'xy', title: 'c: [1] against [0]' });
    expect(xy.traces[0]!.x).toHaveLength(1000);
    for (const k of [0, 499, 999]) expect(Math.hypot(xy.traces[0]!.x[k]!, xy.traces[0]!.y[k]!)).toBeCloseTo(1, 12);
    expect(xy.traces[0]!.x[999]).toBeCloseTo(Math.cos(1), 12);
    const thin = plotOf(await exec("plotXY(simulate(ring, 1), 'c', { maxPoints: 100, dims: [1, 0] })", 'xy2', { model: false }));
    expect(thin.traces[0]!.x).toHaveLength(100);
    expect(thin.title).toBe('c: [0] against [1], every 10th of 1000 samples');
    for (const [code, message] of [
      ["plotTuning('nope')", 'no ensemble labelled "nope" is in Network \'squaring\' (ensembles: a, sq)'],
      [
        "plotXY(simulate(model, 0.01), 'sq')",
        "plotXY: dims must be two dimensions of probe 'sq', from 0 to 0, got [0,1] (the default) (it has 1 dimension: XY needs two)",
      ],
      [
        "plotTuning('a', { neurons: 100, points: 5000 })",
        'plotTuning: 100 neurons x 5000 points is 500000 values, more than a plot holds (200000)',
      ],
      ["plotXY(model, 'sq')", 'plotXY(sim, probe, options): sim must be what simulate() returned'],
      ["plotTuning('a', { points: 1 })", 'plotTuning: points must be at least 2'],
    ] as const) {
      const r = await exec(code, 'bad-plot', { model: false });
      expect(r.ok, code).toBe(false);
      expect(r.error!.message, code).toContain(message);
    }
  });

  it('rates, spike rasters, tuning curves and RMSE against a target function', async () => {
    const rates = await c.request('post.rates', { session, sim, probe: 'spikes', tau: 0.05, maxPoints: 200 });
    expect(rates.ok, JSON.stringify(rates.error)).toBe(true);
    const mean = rates.result!.meanRates as number[];
    expect(mean).toHaveLength(100);
    expect(Math.max(...mean)).toBeGreaterThan(50);
    // a window that holds no sample (before the first, at dt): no rows, and no rate (null, JSON's NaN), not 0 Hz
    const none = await c.request('post.rates', { session, sim, probe: 'spikes', t0: 0, t1: 0.0005 });
    expect(none.error).toBeUndefined();
    expect(none.result).toMatchObject({ rows: 0, buckets: 0 });
    expect(none.result!.meanRates).toEqual(new Array(100).fill(null));
    // an ensemble's decoded value is refused naming the probe (its mean was answered as a firing rate, and every
    // non-zero sample as a spike)
    for (const type of ['post.rates', 'post.spikes'] as const) {
      const r = await c.request(type, { session, sim, probe: 'sq', ...(type === 'post.spikes' ? { neurons: [0] } : {}) });
      expect(r.error, type).toMatchObject({
        code: 'invalid_params',
        message: `probe 'sq' records decodedOutput, not spikes or rates: ${type} takes a probe of neurons' output (net.probe(ensemble.neurons))`,
      });
    }
    const spikes = await c.request('post.spikes', { session, sim, probe: 'spikes', neurons: [0, 1, 2] });
    expect(spikes.result!.counts).toEqual([0, 1, 2].map((i) => Math.round(mean[i]!)));
    // one neuron many times would multiply the reply: refused
    const twice = await c.request('post.spikes', { session, sim, probe: 'spikes', neurons: [0, 1, 0] });
    expect(twice.error).toMatchObject({ code: 'invalid_params', message: 'neuron 0 is asked for twice' });
    // a reversed window is refused at the boundary (it reached the session as a negative row count)
    for (const type of ['probe.fetch', 'post.rates', 'post.spikes'] as const) {
      const r = await c.request(type, {
        session,
        sim,
        probe: 'spikes',
        t0: 0.9,
        t1: 0.1,
        ...(type === 'post.spikes' ? { neurons: [0] } : {}),
      });
      expect(r.error, type).toMatchObject({ code: 'invalid_params', message: 't0 (0.9 s) is after t1 (0.1 s)' });
    }
    const tc = await c.request('post.tuning', { session, ensemble: 'a', points: 21 });
    expect(tc.ok, JSON.stringify(tc.error)).toBe(true);
    expect(tc.arrays.get('rates')!.header.shape).toEqual([21, 100]);
    const err = await c.request('post.rmse', { session, sim, probe: 'sq', target: { fn: '(t) => Math.sin(t - 0.015) ** 2' }, from: 0.1 });
    expect(err.ok, JSON.stringify(err.error)).toBe(true);
    expect(err.result!.overall as number).toBeLessThan(0.1);
    const bad = await c.request('post.rmse', { session, sim, probe: 'sq', target: { fn: '42' } });
    expect(bad.error!.code).toBe('execution_error');
    // an RMSE of nothing, or against a target that is not a number, is refused (it was ok with overall null)
    const nan = await c.request('post.rmse', { session, sim, probe: 'sq', target: { fn: '(t) => NaN' } });
    expect(nan.error).toMatchObject({
      code: 'invalid_params',
      message: expect.stringMatching(/^the target is not a finite number at t = /),
    });
    // a target probe of another shape, or a probe that is not a number somewhere, is refused naming the probes
    // (the shapes' message named neither; an infinite sample gave overall null, with no word of why)
    const shape = await c.request('post.rmse', { session, sim, probe: 'sq', target: { probe: 'spikes' } });
    expect(shape.error).toMatchObject({
      code: 'invalid_params',
      message: "target probe 'spikes' has 1000 x 100 samples, probe 'sq' 1000 x 1: give a target of the probe's shape",
    });
    const nanRun = await exec(
      // a node must give finite numbers, but a transform can overflow them
      "const nanNet = new Network({ seed: 3 }); const pass = nanNet.node(null, { sizeIn: 1 }); nanNet.connect(nanNet.node((t) => [t > 0.5 ? 1e308 : t]), pass, { transform: 10, synapse: null }); nanNet.probe(pass, { label: 'gap' }); nanNet.probe(pass, { label: 'rare', sampleEvery: 2 }); simulate(nanNet, 1).id",
      'nan-probe',
      { model: false },
    );
    expect(nanRun.ok, JSON.stringify(nanRun.error)).toBe(true);
    const nanSim = String(nanRun.result!.value!['text/plain']).replace(/'/g, '');
    const gap = await c.request('post.rmse', { session, sim: nanSim, probe: 'gap', target: { fn: '(t) => t' } });
    expect(gap.error).toMatchObject({
      code: 'invalid_params',
      message: "probe 'gap' is not a finite number at t = 0.501 s (column 0): Infinity",
    });
    // a probe with no samples (sampled every 2 s over 1 s) is refused as such: it was "the target function gives
    // 0 values per time, the probe has 1", or "from (undefined s) leaves no samples"
    for (const target of [{ fn: '(t) => t' }, { probe: 'rare' }])
      expect((await c.request('post.rmse', { session, sim: nanSim, probe: 'rare', target })).error, JSON.stringify(target)).toMatchObject({
        code: 'invalid_params',
        message: "probe 'rare' has no samples to compare",
      });
    const late = await c.request('post.rmse', { session, sim, probe: 'sq', target: { fn: '(t) => 0' }, from: 1e9 });
    expect(late.error).toMatchObject({
      code: 'invalid_params',
      message: expect.stringMatching(/^from \(1000000000 s\) leaves no samples/),
    });
    // a target function that never returns fails within the inline budget (3 s here); the session keeps its variables
    const endless = await c.request('post.rmse', { session, sim, probe: 'sq', target: { fn: '(t) => { for (;;); }' } }, 20_000);
    expect(endless.error).toMatchObject({
      code: 'execution_error',
      message: expect.stringContaining('target.fn took more than 3 s') as unknown as string,
    });
    expect((await exec('typeof model')).result!.value).toEqual({ 'text/plain': 'object' });
    // the function sees the session's names, whatever they are (f, t, v were shadowed by the evaluating code)
    expect((await exec('function f(t) { return Math.sin(t - 0.015) ** 2; }\nconst v = 1;', 'names', { model: false })).ok).toBe(true);
    for (const fn of ['f', '(t) => f(t) * v']) {
      const named = await c.request('post.rmse', { session, sim, probe: 'sq', target: { fn }, from: 0.1 });
      expect(named.ok, `${fn}: ${JSON.stringify(named.error)}`).toBe(true);
      expect(named.result!.overall as number, fn).toBeLessThan(0.1);
    }
  });

  it('plot and simulate options that do not fit fail naming the option (they failed as "5 is not iterable", or were ignored)', async () => {
    await exec("const ring2 = new Network({ label: 'ring2' }); ring2.probe(ring2.node((t) => [t, 2 * t]), { label: 'c' }); null", 'opts0', {
      model: false,
    });
    for (const [code, message] of [
      ["plotXY(simulate(ring2, 0.01), 'c', { dims: 5 })", "plotXY: dims must be two dimensions of probe 'c', from 0 to 1, got 5"],
      [
        "plotXY(simulate(ring2, 0.01), 'c', { dims: [0, 1, 1] })",
        "plotXY: dims must be two dimensions of probe 'c', from 0 to 1, got [0,1,1]",
      ],
      ["plotXY(simulate(ring2, 0.01), 'c', { title: { a: 1 } })", 'plotXY: title must be a string, got [object Object]'],
      ["plotTuning('a', { title: 42 })", 'plotTuning: title must be a string, got 42'],
      [
        "simulate(ring2, 0.01, { budget: 'x' })",
        "simulate(net, seconds, options): options.budget must be a positive number of wall seconds, got 'x'",
      ],
      [
        'simulate(ring2, 0.01, { budget: -1 })',
        'simulate(net, seconds, options): options.budget must be a positive number of wall seconds, got -1',
      ],
      ['simulate(ring2, 0.01, 0.001)', 'simulate(net, seconds, options): options must be an object such as { dt: 0.001 }, got 0.001'],
    ] as const) {
      const r = await exec(code, 'bad-opts', { model: false });
      expect(r.ok, code).toBe(false);
      expect(r.error!.message, code).toContain(message);
    }
  });

  it('simulate() past the compute budget fails with a message suggesting a run', async () => {
    const r = await exec(
      'const big = new Network({ seed: 1 });\nbig.ensemble({ nNeurons: 500, dimensions: 1 });\nsimulate(big, 100000)',
      'long',
      { model: false },
    );
    expect(r.ok).toBe(false);
    expect(r.error!.message).toMatch(/budget|would take/);
    expect(r.error!.message).toContain('Run button');
    expect(r.error!.details).toMatchObject({ budget: true, line: 3 });
    const mem = await exec('simulate(model, 1000)', 'mem', { model: false });
    expect(mem.error!.message).toMatch(/would record \d+ MB, more than half of this session's memory/);
  });

  it("an engine error made in a cell with an object, not a label, as the object at fault: execution_error naming it (it was 'internal')", async () => {
    const r = await exec(
      "const culprit = new Network().ensemble({ nNeurons: 5, dimensions: 1, label: 'culprit' }); throw new ValidationError('bad thing', culprit)",
      'obj',
      { model: false },
    );
    expect(r.error).toMatchObject({ code: 'execution_error', details: { object: 'culprit' } });
    const f = await exec('throw new NefsimError("bad thing", () => 1)', 'obj2', { model: false });
    expect(f.error?.code).toBe('execution_error');
    expect(typeof f.error!.details!['object']).toBe('string');
    // a revoked proxy: still the cell's error
    const rev = await exec(
      'const { proxy: gone, revoke } = Proxy.revocable({}, {}); revoke(); throw new NefsimError("bad", gone)',
      'obj3',
      {
        model: false,
      },
    );
    expect(rev.error?.code).toBe('execution_error');
  });

  it('simulate() whose steps turn slow within a chunk still stops near its budget (it ran 32 times over)', async () => {
    const r = await exec(
      [
        'const slows = new Network({ seed: 1 });',
        // fast steps first (the chunks grow to thousands of steps), then 20 ms each
        'slows.node((t) => { if (t > 0.2) { const end = performance.now() + 20; while (performance.now() < end); } return 0; });',
        'simulate(slows, 1, { budget: 0.5 })',
      ].join('\n'),
      'slows',
      { model: false },
    );
    expect(r.ok).toBe(false);
    expect(r.error!.message).toContain('over the compute budget');
    expect(r.error!.details).toMatchObject({ budget: true });
    // 64 slow steps at most past the budget: about 1.3 s; not the 16 s of a whole chunk
    expect(r.error!.message).toMatch(/reached t = 0\.2\d\d of 1 s/);
  });

  it("simulate() judges the steps' pace, not the build's: a slow build with fast steps runs (it was refused)", async () => {
    // about 1 s of build (a connection function that takes 2 ms an eval point), then 30,000 steps of some
    // microseconds each (a node's loop): under a second. Judged by the average since the build started, the
    // check after the first chunks saw about 0.3 ms a step and refused it as "about 10 s".
    const r = await exec(
      [
        'const slowBuild = new Network({ seed: 2 });',
        'const sb = slowBuild.ensemble({ nNeurons: 50, dimensions: 1, nEvalPoints: 500 });',
        'const sbOut = slowBuild.node(null, { sizeIn: 1 });',
        'slowBuild.connect(sb, sbOut, { function: (x) => { const t = Date.now(); while (Date.now() - t < 2) {} return [x[0]]; } });',
        'const sbWork = slowBuild.node((t) => { let s = 0; for (let i = 0; i < 100; i++) s += Math.sqrt(i + t); return [s]; });',
        'slowBuild.probe(sbWork, { sampleEvery: 0.01 });',
        'simulate(slowBuild, 30, { decoderCache: null })',
      ].join('\n'),
      'slow-build',
      { model: false },
    );
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
  });
});

describe('interrupt and limits', () => {
  it('interrupts an endless loop while a second client keeps getting replies', async () => {
    // Interrupting an idle session keeps its variables.
    expect((await c.request('session.interrupt', { session })).result).toMatchObject({ restarted: false, wasBusy: false });
    // and so do two interrupts at once (a double click): neither takes the other's liveness ping for a busy session
    const both = await Promise.all([c.request('session.interrupt', { session }), c.request('session.interrupt', { session })]);
    for (const r of both) expect(r.result).toMatchObject({ restarted: false, wasBusy: false });
    expect((await exec('typeof net')).result!.value).toEqual({ 'text/plain': 'object' });
    const other = await Client.connect(svc);
    const loop = exec('while (true) {}', 'loop');
    await new Promise((r) => setTimeout(r, 300));
    // The service and other clients answer while the session loops.
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect((await other.request('ping')).ok).toBe(true);
      expect(performance.now() - t0).toBeLessThan(500);
    }
    const s2 = await other.request('session.open', {});
    expect((await other.request('cell.execute', { session: s2.result!.session, code: '6 * 7' })).result!.value).toEqual({
      'text/plain': '42',
    });
    const intr = await c.request('session.interrupt', { session });
    expect(intr.result).toMatchObject({ restarted: true, wasBusy: true });
    const r = await loop;
    expect(r.error!.code).toBe('interrupted');
    // The session works again, with fresh state.
    const after = await exec('typeof net', 'after');
    expect(after.result!.value).toEqual({ 'text/plain': 'undefined' });
    other.close();
  });

  it("a cell queued behind a cell from a window since closed says so at once; behind its own window's cell it does not", async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // its own client's long cell: the next waits quietly, as in Run All
    const slow = exec('await new Promise((r) => setTimeout(r, 400)); 1', 'slow');
    const quiet = await exec('2', 'quiet');
    expect((await slow).ok).toBe(true);
    expect(quiet.events.some((e) => e.event === 'cell.stream' && String(e.text).includes('still running'))).toBe(false);
    // a cell left running by a window that closed
    const other = await Client.connect(svc);
    const orphan = other.request('cell.execute', { session, code: 'while (true) {}', cell: 'orphan' }).catch(() => undefined);
    await sleep(300);
    other.close();
    await sleep(300);
    const next = exec('6 * 7', 'after-orphan');
    await sleep(300);
    await c.request('session.interrupt', { session });
    const r = await next;
    void orphan;
    const said = r.events.filter((e) => e.event === 'cell.stream' && e.stream === 'stderr').map((e) => String(e.text));
    expect(said.join('')).toMatch(
      /still running a cell started \d+ s ago from a window that has since closed; .* Interrupt the kernel to stop it/,
    );
    expect((await exec('6 * 7', 'then')).result!.value).toEqual({ 'text/plain': '42' });
  });

  it("an inline simulation's id is not reused by the session's next worker (a plot saved before a restart must not fetch another's data)", async () => {
    const cell = [
      'const tiny = new Network({ seed: 1 });',
      'tiny.probe(tiny.node((t) => [t], { label: "x" }), { label: "x" });',
      'simulate(tiny, 0.01)',
    ].join('\n');
    const idOf = (r: Awaited<ReturnType<typeof exec>>) =>
      (r.result!.value as Record<string, Record<string, unknown>>)['application/vnd.nefsim.simulation+json']!.id as string;
    const before = idOf(await exec(cell, 'tiny-a', { model: false }));
    const loop = exec('while (true) {}', 'loop-ids');
    await new Promise((r) => setTimeout(r, 200));
    await c.request('session.interrupt', { session });
    await loop;
    const after = idOf(await exec(cell, 'tiny-b', { model: false }));
    expect(after).not.toBe(before);
    expect(after).toMatch(/^sim1-[0-9a-f]{6}$/); // the new worker's first
    const stale = await c.request('probe.fetch', { session, sim: before, probe: 'x' });
    expect(stale.error!.message).toMatch(/no inline simulation '.*' in this session .*before the session restarted/);
  });

  it('interrupts a large build whose solve is shared with a helper thread; the session then answers', async () => {
    const build = exec(
      [
        'const huge = new Network({ label: "huge", seed: 6 });',
        'const h = huge.ensemble({ nNeurons: 3000, dimensions: 1, label: "h" });',
        'huge.probe(h, { synapse: 0.01 });',
        'for (let i = 0; i < 20; i++) new Simulator(huge, { decoderCache: null });',
      ].join('\n'),
      'huge',
      { model: false },
    );
    await new Promise((r) => setTimeout(r, 1500)); // within the first build's solve
    const intr = await c.request('session.interrupt', { session });
    expect(intr.result).toMatchObject({ restarted: true, wasBusy: true });
    expect((await build).error!.code).toBe('interrupted');
    expect((await exec('6 * 7', 'after-huge')).result!.value).toEqual({ 'text/plain': '42' });
  });

  it('a cell sent while an interrupt restarts the session runs in the new worker (it was posted to the old one and never answered)', async () => {
    const loop = exec('while (true) {}', 'loop2');
    await new Promise((r) => setTimeout(r, 200));
    const intr = c.request('session.interrupt', { session });
    const next = exec('6 * 7', 'next'); // sent before the interrupt's reply
    expect((await intr).ok).toBe(true);
    expect((await loop).error!.code).toBe('interrupted');
    expect((await next).result!.value).toEqual({ 'text/plain': '42' });
  });

  it('a session that exceeds its memory cap is restarted and says so', async () => {
    const r = await exec('const hog = []; for (;;) hog.push({ a: [1, 2, 3], b: "x".repeat(100) + hog.length });', 'hog');
    expect(r.ok).toBe(false);
    expect(r.error!.code).toBe('session_crashed');
    expect(r.error!.message).toContain('out of memory');
    expect((await exec('1 + 1')).result!.value).toEqual({ 'text/plain': '2' });
  });

  it('a cell that runs V8 out of memory in one large allocation ends only its session, not the service', async () => {
    // a growing array of numbers, or one large array: as worker threads, V8 ended the whole service (SIGTRAP or
    // SIGABRT) and every session of every client with it (nodejs/node#47224)
    const other = (await c.request('session.open', { session: 'nb-bystander', label: 'bystander.ipynb' })).result!.session as string;
    expect((await c.request('cell.execute', { session: other, code: 'var kept = 41', cell: 'k' })).ok).toBe(true);
    for (const [cell, code] of [
      ['push', 'const nums = []; while (true) nums.push(1.5)'],
      ['fill', 'const big = new Array(3e7).fill(1.5); big.length'],
    ]) {
      const r = await exec(code!, cell);
      expect(r.ok, cell).toBe(false);
      expect(r.error!.code, cell).toBe('session_crashed');
      expect(r.error!.message, cell).toContain('ran out of memory (cap 96 MB)');
      // V8's native stack trace is not the cell's output
      expect(
        r.events.some((e) => e.event === 'cell.stream' && /FATAL ERROR|Native stack/.test(String(e.text))),
        cell,
      ).toBe(false);
      expect((await exec('1 + 1', `${cell}-after`)).result!.value).toEqual({ 'text/plain': '2' });
    }
    expect((await c.request('cell.execute', { session: other, code: 'kept + 1', cell: 'k2' })).result!.value).toEqual({
      'text/plain': '42',
    });
    await c.request('session.close', { session: other });
  });

  it('an enormous error message is cut (the stack keeps its frames), not sent whole', async () => {
    const r = await c.request('session.open', { session: 'nb-huge-error', label: 'huge.ipynb' });
    const s = r.result!.session as string;
    const run = (code: string, cell: string) => c.request('cell.execute', { session: s, code, cell }, 60_000);
    try {
      // an Error of 20 million characters: its message and stack were sent whole (40 MB to every client)
      const e = await run('throw new Error("x".repeat(20_000_000))', 'big-throw');
      expect(e.error!.code).toBe('execution_error');
      expect(e.error!.message.length).toBeLessThan(20_000);
      expect(e.error!.message).toContain('[message cut: 20000000 characters]');
      expect(e.error!.details).toMatchObject({ line: 1, column: 7 }); // the stack's frames are kept
      expect(String((e.error!.details as { stack?: string }).stack).length).toBeLessThan(40_000);
    } finally {
      await c.request('session.close', { session: s, force: true });
    }
  });

  it('a value holding an enormous string is shown cut, not the death of the session (96 MB heap here)', async () => {
    const r = await c.request('session.open', { session: 'nb-huge', label: 'huge.ipynb' });
    const s = r.result!.session as string;
    const run = (code: string, cell: string) => c.request('cell.execute', { session: s, code, cell }, 60_000);
    try {
      // an object holding a 50-million-character string: inspecting and serialising it whole ran out of memory
      const m = await run('globalThis.big = { s: "z".repeat(50_000_000), n: 1 }; globalThis.big', 'big-make');
      expect(m.ok, JSON.stringify(m.error)).toBe(true);
      const v = await run('big', 'big-value');
      expect(v.ok, JSON.stringify(v.error)).toBe(true);
      const text = String(v.result!.value!['text/plain']);
      expect(text.length).toBeLessThanOrEqual(20_000);
      expect(text).toContain("s: 'zzz");
      expect(v.result!.value!['application/json']).toBeUndefined();
      const d = await run('display(big); display(big.s, "text/html"); big.n', 'big-display');
      expect(d.ok, JSON.stringify(d.error)).toBe(true);
      expect(d.result!.value).toEqual({ 'text/plain': '1' });
    } finally {
      await c.request('session.close', { session: s, force: true });
    }
  });

  it('plain data well under the limits is sent whole: its JSON is not measured larger than it is', async () => {
    // 100,000 zeros are 200,001 characters of JSON (the limit is 1,000,000); counted with their array indices
    // and 8 characters a number, they were measured 1.3 million, and the value lost its application/json
    const v = await exec('Array(100_000).fill(0)', 'zeros-value');
    expect(v.ok, JSON.stringify(v.error)).toBe(true);
    expect((v.result!.value!['application/json'] as unknown[]).length).toBe(100_000);
    // 1,200,000 zeros displayed as JSON are 2.4 MB, under display's 16 MB: they were measured 17 million
    const d = await exec('display(Array(1_200_000).fill(0), "application/json"); 1', 'zeros-display');
    expect(d.ok, JSON.stringify(d.error)).toBe(true);
    expect(d.events.filter((e) => e.event === 'cell.stream').map((e) => e.text as string)).toEqual([]);
    const shown = d.events.filter((e) => e.event === 'cell.display').map((e) => e.data as Record<string, unknown>);
    expect((shown[0]?.['application/json'] as unknown[] | undefined)?.length).toBe(1_200_000);
  });

  it('a thrown value that cannot be shown as text is answered, and the session goes on answering', async () => {
    for (const code of [
      'throw { message: { toString: null } }',
      'const pr = Proxy.revocable({}, {}); pr.revoke(); throw pr.proxy',
      'throw { get message() { throw 1; } }',
    ]) {
      const r = await exec(code, 'odd-throw', { model: false });
      expect(r.ok, code).toBe(false);
      expect(r.error!.code, code).toBe('execution_error');
    }
    expect((await exec('6 * 7', 'after-odd', { model: false })).result!.value).toEqual({ 'text/plain': '42' });
    // a value that is not an Error is said as such
    const num = await exec('throw 42', 'throw-number', { model: false });
    expect(num.error!.message).toContain('42 (a number was thrown, not an Error)');
    expect(num.error!.details).toMatchObject({ name: 'Uncaught' });
    expect((await exec("throw 'oops'", 'throw-string', { model: false })).error!.message).toContain(
      "'oops' (a string was thrown, not an Error)",
    );
  });

  it('display() output is capped per cell, as console output is', async () => {
    const r = await exec("for (let i = 0; i < 200; i++) display('x'.repeat(100000)); 'shown'", 'many-displays', { model: false });
    expect(r.ok).toBe(true);
    const shown = r.events.filter((e) => e.event === 'cell.display').length;
    expect(shown).toBeGreaterThan(100);
    expect(shown).toBeLessThan(200);
    expect(r.events.some((e) => e.event === 'cell.stream' && String(e.text).includes('display output truncated'))).toBe(true);
  });

  it('display() with a mime that is not a MIME type fails naming it (it was ignored, or shown under an empty name)', async () => {
    for (const [code, got] of [
      ["display('<b>x</b>', 5)", '5'],
      ["display('<b>x</b>', '')", "''"],
      ["display('<b>x</b>', 'html')", "'html'"],
    ] as const) {
      const r = await exec(code, 'bad-mime', { model: false });
      expect(r.ok, code).toBe(false);
      expect(r.error!.message, code).toContain(`display(value, mime): mime must be a MIME type such as 'text/html', got ${got}`);
      expect(r.events.some((e) => e.event === 'cell.display')).toBe(false);
    }
  });

  it('interrupt stops a timer callback that never returns, though no request is pending', async () => {
    expect((await exec("setTimeout(() => { for (;;) {} }, 100); 'armed'", 'spin', { model: false })).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    const intr = await c.request('session.interrupt', { session });
    expect(intr.result).toMatchObject({ restarted: true, wasBusy: true });
    expect((await exec('1 + 1', 'after-spin', { model: false })).result!.value).toEqual({ 'text/plain': '2' });
  });

  it('resets asked for at once share one restart: no worker is left running unowned', async () => {
    // the service's children: its sessions' processes (those of other tests' sessions too)
    const threads = (): number =>
      readdirSync('/proc')
        .filter((n) => /^\d+$/.test(n))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(svc.proc.pid);
          } catch {
            return false;
          }
        }).length;
    expect((await c.request('session.reset', { session })).ok).toBe(true);
    const before = threads();
    for (let round = 0; round < 3; round++) {
      const rs = await Promise.all([0, 1, 2].map(() => c.request('session.reset', { session })));
      for (const r of rs) expect(r.ok).toBe(true);
    }
    expect((await exec('1 + 1', 'after-resets', { model: false })).result!.value).toEqual({ 'text/plain': '2' });
    // each orphaned worker kept a thread (now a process) of its own: six of them before the fix
    expect(threads()).toBeLessThanOrEqual(before);
  });

  it('a client that stops reading: replies with arrays fail busy past 64 MB unsent, instead of piling up', async () => {
    const slow = await Client.connect(svc);
    const s = (await slow.request('session.open', {})).result!.session as string;
    const code =
      "const wide = new Network({ seed: 1 }); const w = wide.node((t) => Array.from({ length: 16 }, (_, i) => Math.sin(t + i)), { label: 'w' }); wide.probe(w, { label: 'w' }); simulate(wide, 100)";
    const r = await slow.request('cell.execute', { session: s, code, cell: 'wide', model: false });
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    const sim = (r.result!.value as Record<string, Record<string, unknown>>)['application/vnd.nefsim.simulation+json']!.id;
    // 12 raw fetches of 100,000 x 16 values (13.6 MB each), sent while the client reads nothing
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const replies = Array.from({ length: 12 }, () => slow.request('probe.fetch', { session: s, sim, probe: 'w', mode: 'raw' }));
    await new Promise((res) => setTimeout(res, 3000));
    socket.resume();
    const got = await Promise.all(replies);
    const ok = got.filter((x) => x.ok).length;
    const busy = got.filter((x) => x.error?.code === 'busy').length;
    expect(ok + busy).toBe(12);
    expect(ok).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(0);
    slow.close();
  });

  it('reset forgets everything; close ends the session', async () => {
    await exec('const z = 5;');
    expect((await c.request('session.reset', { session })).ok).toBe(true);
    expect((await exec('typeof z')).result!.value).toEqual({ 'text/plain': 'undefined' });
    const s = await c.request('session.open', {});
    const id = s.result!.session as string;
    expect((await c.request('session.close', { session: id })).ok).toBe(true);
    expect((await c.request('cell.execute', { session: id, code: '1' })).error!.code).toBe('not_found');
  });
});

describe("a session's execution count", () => {
  it('is kept by the service, for a page reloaded onto the session; a reset starts it again', async () => {
    const opened = await c.request('session.open', { session: 'nb-count', label: 'count.ipynb' });
    expect(opened.result).toMatchObject({ session: 'nb-count', created: true, executions: 0 });
    for (const code of ['1', 'throw new Error("x")', '3']) await c.request('cell.execute', { session: 'nb-count', code, cell: 'k' });
    const other = await Client.connect(svc);
    expect((await other.request('session.open', { session: 'nb-count' })).result).toMatchObject({ created: false, executions: 3 });
    await other.request('session.reset', { session: 'nb-count' });
    expect((await other.request('session.open', { session: 'nb-count' })).result).toMatchObject({ executions: 0 });
    other.close();
    await c.request('session.close', { session: 'nb-count', force: true });
  });

  it("numbers each execution, for every client on the session, in replies and in errors' details", async () => {
    await c.request('session.open', { session: 'nb-num' });
    const other = await Client.connect(svc);
    try {
      await other.request('session.open', { session: 'nb-num' });
      expect((await c.request('cell.execute', { session: 'nb-num', code: '1', cell: 'a' })).result).toMatchObject({ execution: 1 });
      expect((await other.request('cell.execute', { session: 'nb-num', code: '2', cell: 'b' })).result).toMatchObject({ execution: 2 });
      const failed = await c.request('cell.execute', { session: 'nb-num', code: 'throw new Error("x")', cell: 'a' });
      expect(failed.error).toMatchObject({ code: 'execution_error', details: { execution: 3 } });
      // a page's hidden request (its network diagram's) is not counted
      const hidden = await c.request('cell.execute', { session: 'nb-num', code: '5', cell: 'diagram', model: false });
      expect(hidden.result!['execution']).toBeUndefined();
      expect((await c.request('cell.execute', { session: 'nb-num', code: '6', cell: 'a' })).result).toMatchObject({ execution: 4 });
    } finally {
      other.close();
      await c.request('session.close', { session: 'nb-num', force: true });
    }
  });
});

describe('closing a session that two pages hold (one notebook open in two browser tabs)', () => {
  it("one page's close lets go of it and the other keeps its variables; the last close ends it; force ends it for all", async () => {
    await c.request('session.open', { session: 'nb-two', label: 'two.ipynb' });
    const second = await Client.connect(svc);
    try {
      await second.request('session.open', { session: 'nb-two' });
      await second.request('cell.execute', { session: 'nb-two', code: 'var kept = 7;' });
      expect((await c.request('session.close', { session: 'nb-two' })).result).toEqual({ session: 'nb-two', closed: false, heldBy: 1 });
      expect((await second.request('cell.execute', { session: 'nb-two', code: 'kept' })).result!.value).toEqual({ 'text/plain': '7' });
      expect((await second.request('session.close', { session: 'nb-two' })).result).toEqual({ session: 'nb-two', closed: true });
      expect((await c.request('cell.execute', { session: 'nb-two', code: '1' })).error!.code).toBe('not_found');

      await c.request('session.open', { session: 'nb-two' });
      await second.request('session.open', { session: 'nb-two' });
      const heard = second.waitEvent((e) => e.event === 'session.restarted');
      expect((await c.request('session.close', { session: 'nb-two', force: true })).result).toEqual({ session: 'nb-two', closed: true });
      expect(String((await heard).reason)).toContain('closed by another client');
      expect((await second.request('cell.execute', { session: 'nb-two', code: '1' })).error!.code).toBe('not_found');
    } finally {
      second.close();
    }
  });
});

describe('renaming a session (a renamed notebook)', () => {
  it('keeps its variables under the new id, frees the old one, refuses an id in use, and tells other holders by the new id', async () => {
    const a = (await c.request('session.open', { session: 'nb-old', label: 'old.ipynb' })).result!.session as string;
    const other = (await c.request('session.open', { session: 'nb-other' })).result!.session as string;
    await c.request('cell.execute', { session: a, code: 'const kept = 41;' });
    const second = await Client.connect(svc);
    try {
      expect((await second.request('session.open', { session: a })).result!.created).toBe(false);
      const r = await c.request('session.rename', { session: a, to: 'nb-new', label: 'new.ipynb' });
      expect(r.result).toEqual({ session: 'nb-new', renamed: 'nb-old', label: 'new.ipynb' });
      expect((await c.request('cell.execute', { session: 'nb-new', code: 'kept + 1' })).result!.value).toEqual({ 'text/plain': '42' });
      expect((await c.request('cell.execute', { session: 'nb-old', code: '1' })).error!.code).toBe('not_found');
      const listed = (await c.request('session.list', {})).result!.sessions as { session: string; label: string }[];
      expect(listed.find((s) => s.session === 'nb-new')?.label).toBe('new.ipynb');
      const refused = await c.request('session.rename', { session: 'nb-new', to: other });
      expect(refused.error).toMatchObject({ code: 'conflict' });
      expect(refused.error!.message).toContain(`cannot rename session 'nb-new' to '${other}'`);
      expect((await c.request('session.rename', { session: 'nb-gone', to: 'nb-x' })).error!.code).toBe('not_found');
      // the other client held it under the old id: it hears of a restart under the new one
      const heard = second.waitEvent((e) => e.event === 'session.restarted');
      await c.request('cell.execute', { session: 'nb-new', code: 'setTimeout(() => { for (;;); }, 100); 1' });
      await new Promise((r) => setTimeout(r, 400));
      expect((await c.request('session.interrupt', { session: 'nb-new' })).result).toMatchObject({ restarted: true });
      expect((await heard).session).toBe('nb-new');
    } finally {
      second.close();
      await c.request('session.close', { session: 'nb-new', force: true });
      await c.request('session.close', { session: other });
    }
  });
});

describe('the service memory guard', () => {
  /** 16 MB at a time, written (so resident), held, 20 ms apart (the guard looks every 0.25 s): 4 GB if nothing stopped it. */
  const HOG =
    'const pause = new Int32Array(new SharedArrayBuffer(4)); const held = [];' +
    'for (let i = 0; i < 256; i++) { const a = new Float64Array(2 ** 21); a.fill(i); held.push(a); Atomics.wait(pause, 0, 0, 20); }';

  it('a session whose service is killed (kill -9) while its cell loops ends within seconds, not spinning on for ever', async () => {
    const doomed = await startService();
    const d = await Client.connect(doomed);
    try {
      const s = (await d.request('session.open', { label: 'orphan.ipynb' })).result!.session as string;
      const pid = await d.request('cell.execute', { session: s, code: "(await import('node:process')).default.pid", cell: 'pid' });
      const sessionPid = Number(pid.result!.value!['text/plain']);
      expect(sessionPid).toBeGreaterThan(0);
      void d.request('cell.execute', { session: s, code: 'for (;;) {}', cell: 'spin' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      doomed.proc.kill('SIGKILL');
      const alive = (): boolean => {
        try {
          // a zombie (not yet reaped by its new parent) counts as gone
          return !/\) Z /.test(readFileSync(`/proc/${sessionPid}/stat`, 'utf8'));
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive()).toBe(false);
    } finally {
      d.close();
      cleanup(doomed.dir);
    }
  });

  it('past --max-rss-mb already (another session holds arrays), a cell that grows memory further is restarted; the idle holder is not', async () => {
    const guarded = await startService(['--max-rss-mb', '300']);
    const g = await Client.connect(guarded);
    try {
      const holder = (await g.request('session.open', { label: 'holder.ipynb' })).result!.session as string;
      // 240 MB made resident after the cell has answered, so that no cell of the holder's is running while the
      // service passes the limit (filled in the cell, a guard look during the fill, on a busy machine, restarted
      // the holder: it took the memory past the limit while it ran a cell, as the guard says)
      const held = await g.request('cell.execute', {
        session: holder,
        code: 'var keep = new Float64Array(3e7); setTimeout(() => keep.fill(1), 50); keep.length',
        cell: 'h',
      });
      expect(held.ok, JSON.stringify(held.error)).toBe(true);
      // the service's memory with its sessions' processes (its children)
      const rssMb = (): number => treeRssMb(guarded.proc.pid!);
      for (let i = 0; i < 200 && rssMb() <= 310; i++) await new Promise((r) => setTimeout(r, 50));
      expect(rssMb()).toBeGreaterThan(300);
      const s = (await g.request('session.open', { label: 'grower.ipynb' })).result!.session as string;
      // the service is past 300 MB before this cell starts: it was exempt however much it took
      const r = await g.request('cell.execute', { session: s, code: HOG, cell: 'hog' });
      expect(r.ok).toBe(false);
      expect(r.error!.code).toBe('session_crashed');
      const still = await g.request('cell.execute', { session: holder, code: 'keep.length', cell: 'h2' });
      expect(still.result!.value).toEqual({ 'text/plain': '30000000' });
    } finally {
      g.close();
      await guarded.stop();
      cleanup(guarded.dir);
    }
  });

  it('restarts a session whose cell fills typed arrays past --max-rss-mb (outside the heap cap), and the service goes on', async () => {
    const guarded = await startService(['--max-rss-mb', '600']);
    const g = await Client.connect(guarded);
    try {
      const s = (await g.request('session.open', { label: 'hog.ipynb' })).result!.session as string;
      const r = await g.request('cell.execute', { session: s, code: HOG, cell: 'hog' });
      expect(r.ok).toBe(false);
      expect(r.error!.code).toBe('session_crashed');
      expect(r.error!.message).toContain('passed its limit (--max-rss-mb 600)');
      // sent as soon as the crash is answered, while the old worker is still being terminated
      const after = await g.request('cell.execute', { session: s, code: 'typeof held', cell: 'after' });
      expect(after.result!.value).toEqual({ 'text/plain': 'undefined' });
    } finally {
      g.close();
      await guarded.stop();
      cleanup(guarded.dir);
    }
  });
});
