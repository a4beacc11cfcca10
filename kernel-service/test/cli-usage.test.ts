/**
 * The command line as a new user meets it (the built CLI: `npm run build`
 * first): what each mistake says and its exit code. Run folders and their
 * behaviour are runs.test.ts's.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, withTmpfs } from './tmpfs.js';
import { runCli, type CliResult } from './cli-harness.js';

const MODEL = `import { Network } from 'nefsim';
const net = new Network({ label: 'tiny', seed: 1 });
const a = net.ensemble({ nNeurons: 10, dimensions: 1, label: 'a' });
net.probe(a, { synapse: 0.01, label: 'a' });
export default net;
`;

let dir: string;
let model: string;

type Cli = CliResult;
const cli = (...args: string[]): Promise<Cli> => runCli(dir, args, { timeoutMs: 30_000 });

/** No stack trace: no line of the form '    at f (file:line:col)'. */
const noStack = (r: Cli): void => expect(r.stderr).not.toMatch(/^\s+at /m);

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../lib/cli/runs.js', import.meta.url))))
    throw new Error('cli-usage.test.ts spawns the built CLI: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'nefsim-cli-'));
  model = join(dir, 'tiny.mjs');
  writeFileSync(model, MODEL);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nefsim: usage mistakes', () => {
  it("summary --help shows only what summary takes (it showed run's --detach)", async () => {
    const h = await cli('summary', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('nefsim summary MODEL.js [--dt S]');
    expect(h.stdout).toContain('default export');
    expect(h.stdout).not.toContain('--detach');
    const run = await cli('run', '--help');
    expect(run.stdout).toContain('--detach starts the run');
  });

  it('a single-dash option is an unknown option, not a second model file or run folder', async () => {
    for (const [args, cmd, opt] of [
      [['run', model, '-o', 'out'], 'run', '-o'],
      [['summary', model, '-d', '0.01'], 'summary', '-d'],
      [['status', dir, '-j'], 'status', '-j'],
      [['export', dir, '-f', 'csv'], 'export', '-f'],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`nefsim ${cmd}: unknown option '${opt}'`);
      expect(r.stderr, args.join(' ')).toContain('known options: --');
    }
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('status, cancel and export of a path that does not exist, or of a file, say so', async () => {
    for (const cmd of ['status', 'cancel', 'export']) {
      const gone = await cli(cmd, join(dir, 'no-such-run'));
      expect(gone.code, cmd).toBe(2);
      expect(gone.stderr, cmd).toContain(`nefsim ${cmd}: ${join(dir, 'no-such-run')}: no such folder`);
      const file = await cli(cmd, model);
      expect(file.code, cmd).toBe(2);
      expect(file.stderr, cmd).toContain(`nefsim ${cmd}: ${model} is a file, not a run folder`);
    }
    // an existing folder that is not a run is still said as before
    const empty = await cli('status', dir);
    expect(empty.stderr).toContain('is not a run folder');
  });

  it('a model that fails to load: summary names its command as run does', async () => {
    const bad = join(dir, 'syntax.mjs');
    writeFileSync(bad, 'export default (;\n');
    const r = await cli('summary', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nefsim summary: .*syntax\.mjs:1/);
    const folder = await cli('summary', dir);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`nefsim summary: ${dir} is a folder, not a model file`);
  });
});

describe('nefsim run: a model that imports the engine by a relative path', () => {
  it("is told to import 'nefsim' (it was told to move that code into the model)", async () => {
    const lib = fileURLToPath(new URL('../lib/index.js', import.meta.url));
    const script = join(dir, 'script.mjs');
    writeFileSync(script, `import { Network } from '${relative(dir, lib)}';\nexport default new Network();\n`);
    const r = await cli('run', script, '--duration', '0.01', '--out', join(dir, 'script-run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`nefsim run: ${script} imports '${relative(dir, lib)}', which is nefsim itself`);
    expect(r.stderr).toContain("import { Network } from 'nefsim'");
    expect(r.stderr).not.toContain('move that code into it');
    expect(existsSync(join(dir, 'script-run'))).toBe(false);
    // another file's relative import is still refused as before
    writeFileSync(join(dir, 'helper.mjs'), 'export const n = 1;\n');
    writeFileSync(script, `import { n } from './helper.mjs';\nexport default n;\n`);
    expect((await cli('run', script)).stderr).toContain('move that code into it');
  });

  it("through a symlink is told the same; a model kept inside nefsim's folder importing a helper of its own is not", async () => {
    const lib = fileURLToPath(new URL('../lib', import.meta.url));
    symlinkSync(lib, join(dir, 'engine-link'));
    const script = join(dir, 'linked.mjs');
    writeFileSync(script, `import { Network } from './engine-link/index.js';\nexport default new Network();\n`);
    expect((await cli('run', script, '--duration', '0.01', '--out', join(dir, 'linked-run'))).stderr).toContain('which is nefsim itself');
    // (the check was any path under the package: its own helper read as nefsim itself)
    const inside = mkdtempSync(fileURLToPath(new URL('../.cli-usage-', import.meta.url)));
    try {
      writeFileSync(join(inside, 'helper.mjs'), 'export const n = 1;\n');
      writeFileSync(join(inside, 'model.mjs'), `import { n } from './helper.mjs';\nexport default n;\n`);
      const r = await cli('run', join(inside, 'model.mjs'), '--duration', '0.01', '--out', join(dir, 'inside-run'));
      expect(r.stderr).toContain('move that code into it');
      expect(r.stderr).not.toContain('nefsim itself');
    } finally {
      rmSync(inside, { recursive: true, force: true });
    }
  });
});

describe('models that cannot load', () => {
  it('a model whose load never settles is named (it said only "a model\'s top-level await ... never resolves")', async () => {
    const hang = join(dir, 'hang.mjs');
    writeFileSync(hang, `import { Network } from 'nefsim';\nawait new Promise(() => {});\nexport default new Network();\n`);
    const built = join(dir, 'hang-built.mjs');
    writeFileSync(
      built,
      `import { Network } from 'nefsim';\nexport default async () => { await new Promise(() => {}); return new Network(); };\n`,
    );
    for (const [file, args] of [
      [hang, ['run', hang, '--duration', '0.01', '--out', join(dir, 'hang-out')]],
      [built, ['summary', built]],
    ] as const) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`nefsim: stopped with the command unfinished: ${file}: the model's load waits on a promise`);
    }
  });

  it('a file that is not a JavaScript module says so (it said "the model threw while loading: TypeError: Unknown file extension")', async () => {
    const txt = join(dir, 'model.txt');
    writeFileSync(txt, MODEL);
    const r = await cli('run', txt, '--duration', '0.01', '--out', join(dir, 'txt-out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `nefsim run: ${txt}: cannot load the model: it is not a JavaScript module (Node loads .mjs, .js and .cjs files;`,
    );
    expect(r.stderr).not.toContain('threw');
  });
});

describe('a sweep whose every parameter set fails', () => {
  it('is refused with one error (it warned per set that "the others run", then said the first set\'s error again)', async () => {
    const sw = join(dir, 'sw.mjs');
    writeFileSync(sw, `import { Network } from 'nefsim';\nexport default (p) => { throw new Error('bad ' + p.x); };\n`);
    const sets = join(dir, 'sets.json');
    writeFileSync(sets, JSON.stringify([{ x: 1 }, { x: 2 }]));
    const r = await cli('run', sw, '--sweep', sets, '--duration', '0.01', '--out', join(dir, 'sw-out'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      `nefsim run: every parameter set of --sweep fails (all 2); the first: ${sw}:2:31: the model threw while building the network: Error: bad 1`,
    ]);
    expect(existsSync(join(dir, 'sw-out'))).toBe(false);
  });
});

describe('a batch of fewer trials than --jobs', () => {
  it('logs as many at a time as there are trials (3 trials with --jobs 8 said "8 at a time")', async () => {
    const out = join(dir, 'few');
    const r = await cli('run', model, '--trials', '3', '--jobs', '8', '--duration', '0.01', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'log.txt'), 'utf8')).toContain('batch started: 3 trials, 3 at a time');
  });
});

describe('nefsim cancel --timeout 0', () => {
  it('says the SIGTERM was sent and how to follow the run (it said "try again, or kill -9" of a run that was cancelling)', async () => {
    const out = join(dir, 'long');
    const started = await cli('run', model, '--duration', '100000', '--out', out, '--detach');
    expect(started.code).toBe(0);
    try {
      const statusOf = (): { state: string } => JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as { state: string };
      for (let i = 0; i < 300 && statusOf().state !== 'running'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(statusOf().state).toBe('running');
      const r = await cli('cancel', out, '--timeout', '0');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`nefsim cancel: ${out} is still running after 0 s: sent SIGTERM to pid`);
      expect(r.stderr).toContain(`nefsim status ${out}`);
      expect(r.stderr).not.toContain('try again');
    } finally {
      const end = await cli('cancel', out);
      expect(end.stdout).toContain(': cancelled');
    }
  });
});

describe.skipIf(!canMount)('nefsim: folders it may not write', () => {
  it('run into a read-only folder is refused before the model loads, naming the folder (it said "nefsim: EROFS: ..." after)', () =>
    withTmpfs(64, async (mnt) => {
      mkdirSync(join(mnt, 'runs'));
      await new Promise<void>((res, rej) =>
        execFile('mount', ['-o', 'remount,ro', mnt], (err, _o, stderr) => (err ? rej(new Error(stderr)) : res())),
      );
      const out = join(mnt, 'runs', 'a');
      const r = await cli('run', model, '--duration', '0.01', '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`nefsim run: --out ${out}: cannot write in ${join(mnt, 'runs')}`);
      expect(r.stderr).toContain('give --out a folder you can write');
      noStack(r);
      expect(readdirSync(join(mnt, 'runs'))).toEqual([]);
    }));

  it('export to a read-only folder, or of a run in one, is refused naming the folder and saying to give --out (it named a temp file)', () =>
    withTmpfs(1024, async (mnt) => {
      const run = join(mnt, 'ran');
      expect((await cli('run', model, '--duration', '0.01', '--out', run)).code).toBe(0);
      await new Promise<void>((res, rej) =>
        execFile('mount', ['-o', 'remount,ro', mnt], (err, _o, stderr) => (err ? rej(new Error(stderr)) : res())),
      );
      for (const format of ['npz', 'csv']) {
        const target = join(mnt, format === 'npz' ? 'x.npz' : 'csv');
        const r = await cli('export', run, '--format', format, '--out', target);
        expect(r.code, format).toBe(2);
        expect(r.stderr, format).toContain(`nefsim export: --out ${target}: cannot write in ${mnt}`);
        expect(r.stderr, format).not.toContain('.tmp');
        noStack(r);
        const inRun = await cli('export', run, '--format', format);
        expect(inRun.code, format).toBe(2);
        expect(inRun.stderr, format).toContain(`nefsim export: cannot write in ${run}`);
        expect(inRun.stderr, format).toContain('give --out');
      }
    }));
});
