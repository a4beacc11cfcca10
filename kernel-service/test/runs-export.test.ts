/**
 * nefsim export (built CLI): .npz archives numpy can load (headers checked
 * here byte by byte, and by numpy in test-py/), CSV, and batches.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset } from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportTempPath, moveIntoPlace, npyHeader } from '../src/runs/npy.js';
import { readNpz } from './npz.js';
import { canMount, withTmpfs } from './tmpfs.js';
import { runCli, type CliResult } from './cli-harness.js';

const MODEL = `import { Network } from 'nefsim';
export default () => {
  const net = new Network({ label: 'ex', seed: 5 });
  const stim = net.node((t) => Math.sin(8 * t), { label: 'sin' });
  const a = net.ensemble({ nNeurons: 20, dimensions: 1, label: 'a' });
  net.connect(stim, a);
  net.probe(a, { synapse: 0.01, label: 'a' });
  net.probe(a.neurons, { attr: 'voltage', label: 'v', sampleEvery: 0.003 });
  net.probe(stim, { label: 'sin' });
  return net;
};
`;
let dir: string;
let model: string;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cli = (...args: string[]): Promise<CliResult> => runCli(dir, args);

beforeAll(async () => {
  await h5wasm.ready;
  dir = mkdtempSync(join(tmpdir(), 'nefsim-export-'));
  model = join(dir, 'm.mjs');
  writeFileSync(model, MODEL);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npy', () => {
  it('headers are 64-byte aligned Python dict literals', () => {
    const h = npyHeader('<f8', [3, 2]);
    expect(h.length % 64).toBe(0);
    expect(new TextDecoder().decode(h.subarray(10))).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \(3, 2\), \} *\n$/);
    expect(new TextDecoder().decode(npyHeader('<i4', [5]).subarray(10))).toContain("'shape': (5,)");
    expect(new TextDecoder().decode(npyHeader('<f8', [0, 4]).subarray(10))).toContain("'shape': (0, 4)");
  });

  it('the final move of an export whose output folder was removed meanwhile names the folder (it said ENOENT, rename tmp -> out)', () => {
    const folder = join(dir, 'removed-out');
    mkdirSync(folder);
    const path = join(folder, 'probes.npz');
    writeFileSync(exportTempPath(path), 'an export');
    rmSync(folder, { recursive: true });
    expect(() => moveIntoPlace(exportTempPath(path), path)).toThrow(`the output folder ${folder} was removed during the export`);
    expect(existsSync(folder)).toBe(false);
    // a folder still there: the error as it is
    mkdirSync(folder);
    expect(() => moveIntoPlace(join(folder, 'gone.tmp'), path)).toThrow(/ENOENT/);
  });
});

describe('nefsim export', () => {
  it('npz holds time and every probe as in probes.h5, with sample times for sampleEvery probes; csv too', async () => {
    const out = join(dir, 'run');
    expect((await cli('run', model, '--duration', '0.1', '--out', out)).code).toBe(0);
    const r = await cli('export', out, '--format', 'npz');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(join(out, 'probes.npz'));
    const z = readNpz(join(out, 'probes.npz'));
    const f = new h5wasm.File(join(out, 'probes.h5'), 'r');
    try {
      expect(z.get('time')!.shape).toEqual([100]);
      for (const name of ['a', 'v', 'sin']) {
        const ds = f.get(`probes/${name}`) as Dataset;
        expect(z.get(`probes/${name}`)!.shape).toEqual(ds.shape);
        expect(Array.from(z.get(`probes/${name}`)!.data as Float64Array)).toEqual(Array.from(ds.value as Float64Array));
      }
    } finally {
      f.close();
    }
    expect(z.get('probes/v')!.shape).toEqual([33, 20]);
    const vt = z.get('probes/v.time')!.data as Float64Array;
    expect(vt.length).toBe(33);
    expect(vt[0]).toBeCloseTo(0.003, 12);
    expect(z.has('probes/a.time')).toBe(false);

    const c = await cli('export', out, '--format', 'csv');
    expect(c.code).toBe(0);
    const csv = readFileSync(join(out, 'csv', 'sin.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toBe('t,sin[0]');
    expect(csv).toHaveLength(101);
    const [t, v] = csv[10]!.split(',').map(Number);
    expect(v).toBe(Math.sin(8 * t!));
    expect(
      readFileSync(join(out, 'csv', 'v.csv'), 'utf8')
        .split('\n')[1]!
        .startsWith('0.003,'),
    ).toBe(true);
  });

  it('a run still going is exported up to its last flush, consistently, spikes included', async () => {
    const live = join(dir, 'live.mjs');
    writeFileSync(live, MODEL.replace('  return net;', "  net.probe(a.neurons, { label: 's' });\n  return net;"));
    const out = join(dir, 'live');
    expect((await cli('run', live, '--duration', '100000', '--out', out, '--detach')).code).toBe(0);
    try {
      const status = () => JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as { state: string; stepsFlushed: number };
      // the first flush (its first 100 steps); the next comes a second later, likely while the export reads
      for (let i = 0; i < 200 && !(status().state === 'running' && status().stepsFlushed > 0); i++) await sleep(50);
      expect(status().state).toBe('running');
      const r = await cli('export', out);
      expect(r.stderr).toBe(''); // no HDF5 diagnostics from reading past what is on disk
      expect(r.code).toBe(0);
    } finally {
      await cli('cancel', out);
    }
    const z = readNpz(join(out, 'probes.npz'));
    const rows = z.get('time')!.shape[0]!;
    expect(rows).toBeGreaterThanOrEqual(100);
    const f = new h5wasm.File(join(out, 'probes.h5'), 'r');
    try {
      const prefix = (name: string, n: number) => Array.from((f.get(name) as Dataset).slice([[0, n]]) as ArrayLike<number>, Number);
      expect(Array.from(z.get('time')!.data as Float64Array)).toEqual(prefix('time', rows));
      for (const name of ['a', 'sin']) {
        expect(z.get(`probes/${name}`)!.shape).toEqual([rows, 1]);
        expect(Array.from(z.get(`probes/${name}`)!.data as Float64Array)).toEqual(prefix(`probes/${name}`, rows));
      }
      expect(z.get('probes/v')!.shape).toEqual([Math.floor(rows / 3), 20]);
      // the spikes: the index of the exported rows, the spikes they name, and the dense view agree with the file
      const index = Array.from(z.get('probes/s.spike_times_index')!.data as BigInt64Array, Number);
      expect(index).toHaveLength(rows);
      expect(index).toEqual(prefix('probes/s/spike_times_index', rows));
      const nSpikes = index[rows - 1]!;
      expect(nSpikes).toBeGreaterThan(0);
      expect(Array.from(z.get('probes/s.spike_times')!.data as Float64Array)).toEqual(prefix('probes/s/spike_times', nSpikes));
      const dense = z.get('probes/s')!.data as Float64Array;
      let counted = 0;
      for (const v of dense) if (v !== 0) counted += Math.round(v * 0.001);
      expect(counted).toBe(nSpikes);
    } finally {
      f.close();
    }
  });

  it("csv: a probe named 'time' gets time_2.csv, and time.csv keeps the step times", async () => {
    const timed = join(dir, 'timed.mjs');
    writeFileSync(timed, MODEL.replace("net.probe(stim, { label: 'sin' });", "net.probe(stim, { label: 'time' });"));
    const out = join(dir, 'timed');
    expect((await cli('run', timed, '--duration', '0.01', '--out', out)).code).toBe(0);
    expect((await cli('export', out, '--format', 'csv')).code).toBe(0);
    const lines = (f: string) =>
      readFileSync(join(out, 'csv', f), 'utf8')
        .trim()
        .split('\n');
    expect(lines('time.csv')[0]).toBe('t');
    expect(lines('time.csv')).toHaveLength(11);
    expect(lines('time_2.csv')[0]).toBe('t,time[0]');
    expect(Number(lines('time_2.csv')[5]!.split(',')[1])).toBe(Math.sin(8 * Number(lines('time.csv')[5])));
  });

  it('csv: a label with a comma, a quote or a line break is quoted in the header, which keeps one field a column', async () => {
    const quoted = join(dir, 'quoted.mjs');
    writeFileSync(
      quoted,
      MODEL.replace(
        "net.probe(stim, { label: 'sin' });",
        `net.probe(stim, { label: 'a,b' });\n  net.probe(stim, { label: 'say "hi"' });\n  net.probe(stim, { label: 'two\\nlines' });`,
      ),
    );
    const out = join(dir, 'quoted');
    expect((await cli('run', quoted, '--duration', '0.01', '--out', out)).code).toBe(0);
    const r = await cli('export', out, '--format', 'csv');
    expect(r.code, r.stderr).toBe(0);
    const text = (f: string) => readFileSync(join(out, 'csv', f), 'utf8');
    expect(text('a,b.csv').split('\n')[0]).toBe('t,"a,b[0]"');
    expect(text('say "hi".csv').split('\n')[0]).toBe('t,"say ""hi""[0]"');
    expect(text('two\nlines.csv')).toMatch(/^t,"two\nlines\[0\]"\n0\.001,/);
  });

  it("removes what an interrupted export to the same path left (its process gone), not a live export's", async () => {
    const out = join(dir, 'interrupted');
    expect((await cli('run', model, '--duration', '0.01', '--out', out)).code).toBe(0);
    // an export killed part way (Ctrl-C: it runs without a turn of the event loop, so no handler removes them)
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const tmp = (name: string, pid: number, host = hostname()) => `${name}.nefsim-${host}-${pid}.tmp`;
    mkdirSync(join(out, tmp('csv', gone)));
    writeFileSync(join(out, tmp('csv', gone), 'sin.csv'), 'part of an export\n');
    writeFileSync(join(out, tmp('probes.npz', gone)), 'part of an export');
    // one still going (this process), one of another host (its pid says nothing here), and a user's own file
    const kept = [tmp('probes.npz', process.pid), tmp('probes.npz', gone, 'elsewhere'), `probes.npz.${gone}.tmp`];
    for (const f of kept) writeFileSync(join(out, f), 'kept');
    for (const format of ['csv', 'npz']) expect((await cli('export', out, '--format', format)).code, format).toBe(0);
    expect(
      readdirSync(out)
        .filter((f) => f.endsWith('.tmp'))
        .sort(),
    ).toEqual([...kept].sort());
  });

  it('csv: a label longer than a file name may be is cut, with a hash of the whole label; the header has it whole', async () => {
    const long = 'x'.repeat(300);
    const labelled = join(dir, 'labelled.mjs');
    writeFileSync(
      labelled,
      MODEL.replace(
        "net.probe(stim, { label: 'sin' });",
        `net.probe(stim, { label: '${long}' });\n  net.probe(stim, { label: '${long}y' });`,
      ),
    );
    const out = join(dir, 'labelled');
    expect((await cli('run', labelled, '--duration', '0.01', '--out', out)).code).toBe(0);
    const r = await cli('export', out, '--format', 'csv');
    expect(r.code, r.stderr).toBe(0);
    const files = readdirSync(join(out, 'csv')).filter((f) => f.startsWith('xxx'));
    expect(files).toHaveLength(2);
    for (const f of files) {
      expect(f).toMatch(/^x{191}~[0-9a-f]{8}\.csv$/);
      expect(readFileSync(join(out, 'csv', f), 'utf8').split('\n')[0]).toMatch(new RegExp(`^t,${long}y?\\[0\\]$`));
    }
  });

  it('exports every trial of a batch, to --out when given', async () => {
    const out = join(dir, 'batch');
    expect((await cli('run', model, '--trials', '2', '--duration', '0.05', '--out', out)).code).toBe(0);
    const r = await cli('export', out, '--out', join(dir, 'npz'));
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'npz', 'trial-000.npz'))).toBe(true);
    expect(readNpz(join(dir, 'npz', 'trial-001.npz')).get('probes/a')!.shape).toEqual([50, 1]);
  });

  it('a batch export whose --out folder is removed midway stops there, saying so, and does not make the folder again', async () => {
    const big = join(dir, 'big.mjs');
    // trials whose exports take a while (about 10 MB each), so that the folder goes while they are under way
    writeFileSync(
      big,
      MODEL.replace(
        '  return net;',
        "  net.probe(net.ensemble({ nNeurons: 300, dimensions: 1 }).neurons, { attr: 'voltage', label: 'w' });\n  return net;",
      ),
    );
    const out = join(dir, 'batch-big');
    expect((await cli('run', big, '--trials', '3', '--duration', '4', '--out', out)).code).toBe(0);
    const base = join(dir, 'npz-removed');
    mkdirSync(base);
    // removed as soon as the first trial's export is in place (the exports after it are under way or to come)
    const watcher = watch(base, (_event, name) => {
      if (name === 'trial-000.npz' && existsSync(join(base, 'trial-000.npz'))) {
        watcher.close();
        rmSync(base, { recursive: true, force: true });
      }
    });
    try {
      const r = await cli('export', out, '--out', base);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the output folder ${base} was removed during the export`);
      expect(r.stderr).not.toContain('ENOENT');
      expect(r.stderr).toMatch(/trial-002.* not exported/);
      // it made the folder again for the trials after, ending with a part of the export
      expect(existsSync(base)).toBe(false);
    } finally {
      watcher.close();
    }
  });

  // A real full disk: a tmpfs of 128 KiB (mounting needs root, as in CI; elsewhere the test is skipped).
  it.runIf(canMount)(
    'an export that does not fit fails with the reason, leaves no part of itself, and keeps the export before it',
    async () => {
      const out = join(dir, 'for-full');
      expect((await cli('run', model, '--duration', '3', '--out', out)).code).toBe(0);
      await withTmpfs(128, async (mnt) => {
        // an earlier export where this one goes
        mkdirSync(join(mnt, 'csv'));
        writeFileSync(join(mnt, 'csv', 'time.csv'), 't\n0.001\n');
        writeFileSync(join(mnt, 'csv', 'sin.csv'), 't,sin[0]\nthe export before\n');
        for (const [format, target] of [
          ['csv', join(mnt, 'csv')],
          ['npz', join(mnt, 'probes.npz')],
        ] as const) {
          const r = await cli('export', out, '--format', format, '--out', target);
          expect(r.code, format).toBe(1);
          expect(r.stderr, format).toMatch(/no space left on device/i);
          expect(readdirSync(mnt).sort(), format).toEqual(['csv']);
          expect(readdirSync(join(mnt, 'csv')).sort(), format).toEqual(['sin.csv', 'time.csv']);
          expect(readFileSync(join(mnt, 'csv', 'sin.csv'), 'utf8'), format).toBe('t,sin[0]\nthe export before\n');
        }
      });
    },
  );

  it("a run's damaged probes.h5 (cut short): export says HDF5's reason in one line, without its error stack, and writes nothing", async () => {
    const out = join(dir, 'cut-short');
    expect((await cli('run', model, '--duration', '1', '--out', out)).code).toBe(0);
    const whole = readFileSync(join(out, 'probes.h5'));
    writeFileSync(join(out, 'probes.h5'), whole.subarray(0, whole.length >> 1));
    for (const format of ['npz', 'csv']) {
      const r = await cli('export', out, '--format', format);
      expect(r.code, format).toBe(1);
      expect(r.stderr.trim(), format).toMatch(
        /^nefsim export: .*cut-short: HDF5 could not read the file \(damaged, truncated, or being written\): truncated file: eof = \d+, .*stored_eof = \d+ \(H5F__super_read\(\)\)$/,
      );
    }
    expect(readdirSync(out).filter((f) => f === 'csv' || f.includes('npz'))).toEqual([]);
  });

  it('--out never replaces the run, nor anything that is not an earlier export without --force; an earlier export is replaced', async () => {
    const run = join(dir, 'guarded');
    expect((await cli('run', model, '--duration', '0.05', '--out', run)).code).toBe(0);
    const runFiles = readdirSync(run).sort();
    const notes = join(dir, 'keep');
    mkdirSync(notes);
    writeFileSync(join(notes, 'notes.txt'), 'mine\n');
    const mine = join(dir, 'mine.txt');
    writeFileSync(mine, 'mine\n');
    symlinkSync(run, join(dir, 'link-to-run'));
    const other = join(dir, 'other-run');
    expect((await cli('run', model, '--duration', '0.01', '--out', other)).code).toBe(0);
    const holder = join(dir, 'holder');
    mkdirSync(join(holder, 'inner'), { recursive: true });
    expect((await cli('run', model, '--duration', '0.01', '--out', join(holder, 'inner', 'other-run2'))).code).toBe(0);
    const outside = join(dir, 'outside.npz');
    writeFileSync(outside, 'not an npz');
    symlinkSync(outside, join(run, 'out-link'));
    const otherFiles = readdirSync(other).sort();
    const refusals: [string[], RegExp][] = [
      [['--format', 'csv', '--out', run], /--out .*guarded: that is the run folder; the export would replace the run/],
      [['--format', 'csv', '--out', join(dir, 'link-to-run'), '--force'], /link-to-run: that is the run folder;/],
      [['--format', 'csv', '--out', dir, '--force'], /that is the run folder's parent/],
      [['--out', join(run, 'probes.h5'), '--force'], /exists \(a file\) and is not an earlier \.npz export; it is part of the run folder/],
      [
        ['--format', 'csv', '--out', notes],
        /exists \(a folder holding 'notes\.txt'\) and is not an earlier CSV export; give another path, or --force/,
      ],
      [['--out', mine], /mine\.txt exists \(a file\) and is not an earlier \.npz export/],
      // another run's folder (even a live one), or a folder holding one, is never replaced: --force deleted them
      [['--out', other, '--force'], /other-run is a nefsim run or batch folder; an export never replaces one, --force or not/],
      [['--format', 'csv', '--out', holder, '--force'], /holder holds \(.*holder.inner.other-run2\) a nefsim run or batch folder/],
      // a link inside the run folder that leads out of it is still part of the run folder
      [['--out', join(run, 'out-link'), '--force'], /it is part of the run folder: give another path/],
      [['--out', join(mine, 'x.npz')], /mine\.txt is a file, not a folder/],
      // a folder's name (as a batch's --out is): the archive was written as a file of that name
      [['--out', join(dir, 'npz-folder') + '/'], /names a folder, and an \.npz export of a run is one file: give its path/],
    ];
    for (const [args, message] of refusals) {
      const r = await cli('export', run, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(readdirSync(run).sort()).toEqual([...runFiles, 'out-link'].sort());
    expect(readdirSync(other).sort()).toEqual(otherFiles);
    expect(readFileSync(outside, 'utf8')).toBe('not an npz');
    expect(readFileSync(join(notes, 'notes.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(mine, 'utf8')).toBe('mine\n');
    // an earlier export is replaced; --force replaces what the user points at outside the run; new folders are made
    const npz = join(dir, 'new', 'deep', 'a.npz');
    for (let i = 0; i < 2; i++) expect((await cli('export', run, '--out', npz)).code).toBe(0);
    expect(readNpz(npz).get('probes/a')!.shape).toEqual([50, 1]);
    // also by a name without .npz, known by its first entry, an .npy array: the same command twice was refused
    const bare = join(dir, 'bare');
    for (let i = 0; i < 2; i++) {
      const r = await cli('export', run, '--out', bare);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(readNpz(bare).get('probes/a')!.shape).toEqual([50, 1]);
    expect(existsSync(join(dir, 'npz-folder'))).toBe(false);
    expect((await cli('export', run, '--format', 'csv', '--out', notes, '--force')).code).toBe(0);
    expect(readdirSync(notes)).toContain('time.csv');
    expect((await cli('export', run, '--out', notes, '--force')).code).toBe(0);
    expect(readNpz(notes).get('probes/a')!.shape).toEqual([50, 1]);
  });

  it("csv: --out a folder of the user's own CSV files is not an earlier export: refused without --force, kept as it was", async () => {
    const run = join(dir, 'csv-guard-run');
    expect((await cli('run', model, '--duration', '0.05', '--out', run)).code).toBe(0);
    const mine = join(dir, 'my-measurements');
    mkdirSync(mine);
    writeFileSync(join(mine, 'session1.csv'), 'time,voltage\n0,1\n');
    const r = await cli('export', run, '--format', 'csv', '--out', mine);
    // the folder was deleted and replaced by the export
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--out ${mine} exists (a folder holding 'session1.csv') and is not an earlier CSV export`);
    expect(readFileSync(join(mine, 'session1.csv'), 'utf8')).toBe('time,voltage\n0,1\n');
    // an earlier export there is replaced, as before
    const earlier = join(dir, 'csv-earlier');
    expect((await cli('export', run, '--format', 'csv', '--out', earlier)).code).toBe(0);
    expect((await cli('export', run, '--format', 'csv', '--out', earlier)).code).toBe(0);
    expect(readdirSync(earlier)).toContain('time.csv');
  });

  it("a batch: --out is a folder of the trials' exports, never the batch folder", async () => {
    const out = join(dir, 'batch-guarded');
    expect((await cli('run', model, '--trials', '2', '--duration', '0.05', '--out', out)).code).toBe(0);
    const r = await cli('export', out, '--format', 'csv', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('that is the run folder');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r2 = await cli('export', out, '--out', file);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('a batch exports one archive per trial into a folder, and this is a file');
    expect(readdirSync(join(out, 'trial-000'))).toContain('probes.h5');
  });

  it("a batch whose trial folder was deleted, or whose trial's probes.h5 is a folder: export says so, and exports the others", async () => {
    const out = join(dir, 'batch-damaged');
    expect((await cli('run', model, '--trials', '3', '--duration', '0.05', '--out', out)).code).toBe(0);
    rmSync(join(out, 'trial-001'), { recursive: true, force: true });
    rmSync(join(out, 'trial-002', 'probes.h5'));
    mkdirSync(join(out, 'trial-002', 'probes.h5'));
    const r = await cli('export', out, '--out', join(dir, 'batch-damaged-export'));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('trial-000.npz');
    // it said 'no probes.h5 yet: a run makes it once its network is built ..., about a second in'
    expect(r.stderr).toContain(`nefsim export: ${join(out, 'trial-001')}: the run folder is gone (deleted or moved?)`);
    // it said HDF5's 'file read failed: time = ... (H5FD__sec2_read())'
    expect(r.stderr).toContain(`nefsim export: ${join(out, 'trial-002')}: its probes.h5 is a folder, not the run's HDF5 file`);
  });

  it('a run that ended cancelled or failed after writing its probes.h5, which was then deleted: export and status say it was deleted', async () => {
    const out = join(dir, 'h5-deleted');
    expect((await cli('run', model, '--duration', '0.05', '--out', out)).code).toBe(0);
    rmSync(join(out, 'probes.h5'));
    for (const state of ['cancelled', 'failed']) {
      const status = JSON.parse(readFileSync(join(out, 'status.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(out, 'status.json'), JSON.stringify({ ...status, state }));
      const r = await cli('export', out);
      expect(r.code).toBe(1);
      // it said 'the run ended cancelled before it made one', of a run that had written 50 steps to it
      expect(r.stderr).toContain(
        `no probes.h5: the run ended ${state} after writing 50 steps to it, and the file has been moved or deleted`,
      );
      expect((await cli('status', out)).stdout).toContain('warning: its probes.h5 is gone (moved or deleted?)');
    }
  });

  it('refuses bad arguments', async () => {
    const r = await cli('export', join(dir, 'run'), '--format', 'xml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--format must be 'npz' or 'csv', got 'xml'");
    const r2 = await cli('export', dir);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('is not a run folder');
  });
});
