/**
 * Copy Python's snippet, run by real h5py on real run folders made by the
 * `nefsim` command: a run with decoded and spike probes, and a batch of two
 * trials (the repository's .venv, which scripts/test.sh fills with h5py
 * before these tests).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonSnippet } from '../runs/format.js';

const root = join(__dirname, '..', '..');
const python = join(root, '.venv', 'bin', 'python');
const nefsim = join(root, 'kernel-service', 'bin', 'nefsim.js');
const tmp = mkdtempSync(join(tmpdir(), 'nefsim-snippet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
// a runs folder whose name has glob's brackets and a quote
const dir = join(tmp, 'exp[1] "a"');
mkdirSync(dir);

function run(...args: string[]): void {
  execFileSync(process.execPath, [nefsim, 'run', join(root, 'examples', 'model.mjs'), '--duration', '0.1', ...args], { cwd: dir });
}

describe("Copy Python's snippet", () => {
  it('loads every probe of a run (spikes as time, neuron pairs) and of each trial of a batch, with h5py', () => {
    expect(existsSync(python), `${python}: run scripts/test.sh once (it makes the venv with h5py)`).toBe(true);
    run('--out', join(dir, 'one'));
    run('--trials', '2', '--jobs', '1', '--out', join(dir, 'many'));
    const one = execFileSync(python, ['-c', pythonSnippet({ run: 'one', state: 'done' }, dir)], { encoding: 'utf8' });
    expect(one).toContain('a (100, 1)');
    expect(one).toContain('square (100, 1)');
    expect(one).toMatch(/a_spikes \d+ spikes/);
    const many = execFileSync(python, ['-c', pythonSnippet({ run: 'many', state: 'done', kind: 'batch' }, dir)], { encoding: 'utf8' });
    expect(many).toMatch(/^trial-000 \{'time': \(100,\), 'a': \(100, 1\), /m);
    expect(many).toMatch(/^trial-001 \{.*'a_spikes': '\d+ spikes'/m);
  }, 60_000);
});
