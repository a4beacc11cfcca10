/**
 * RunManager.list() on a runs folder: an ended run's files are read once,
 * then recognised by its status.json's identity (the Runs panel lists every
 * second while a run is active); a run made again is read again.
 * Uses the built CLI (`npm run build` first) to make a real run folder.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartTime, writeJsonAtomic } from '../src/runs/folder.js';
import { RunManager } from '../src/server/runs.js';

const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/model.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-run-list-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run list', () => {
  it("reads an ended run's files once, and again when its status.json or options.json is replaced", () => {
    execFileSync(process.execPath, [BIN, 'run', EXAMPLE, '--duration', '0.05', '--out', join(dir, 'r1')], { stdio: 'pipe' });
    const runs = new RunManager(dir, 1);
    const first = runs.list().find((r) => r.run === 'r1');
    expect(first).toMatchObject({ state: 'done', duration: 0.05, steps: 50 });
    // exit.json changed behind its back: the ended run is not read again
    const exit = join(dir, 'r1', 'exit.json');
    writeFileSync(exit, JSON.stringify({ ...(JSON.parse(readFileSync(exit, 'utf8')) as object), error: 'edited' }));
    expect(runs.list().find((r) => r.run === 'r1')).toEqual(first);
    // status.json written anew (as by a run made again in the folder): read again
    const status = join(dir, 'r1', 'status.json');
    writeJsonAtomic(status, JSON.parse(readFileSync(status, 'utf8')) as unknown);
    expect(runs.list().find((r) => r.run === 'r1')).toMatchObject({ state: 'done', error: 'edited', steps: 50 });
    // options.json written anew (edited, replaced; damaged, it is listed so): read again too
    const options = join(dir, 'r1', 'options.json');
    writeFileSync(options, JSON.stringify({ ...(JSON.parse(readFileSync(options, 'utf8')) as object), duration: 99 }));
    expect(runs.list().find((r) => r.run === 'r1')).toMatchObject({ state: 'done', duration: 99, steps: 50 });
    // a folder that went is no longer listed
    rmSync(join(dir, 'r1'), { recursive: true });
    expect(runs.list().find((r) => r.run === 'r1')).toBeUndefined();
  });

  it("reads a batch whose own status.json has not recorded its end (a Slurm batch's) every time: its trials may run again", () => {
    const out = join(dir, 'b1');
    execFileSync(process.execPath, [BIN, 'run', EXAMPLE, '--trials', '2', '--jobs', '1', '--duration', '0.05', '--out', out], {
      stdio: 'pipe',
    });
    const status = join(out, 'status.json');
    // as a Slurm batch's: written at submission, never again
    writeJsonAtomic(status, { ...(JSON.parse(readFileSync(status, 'utf8')) as object), state: 'running' });
    const runs = new RunManager(dir, 1);
    expect(runs.list().find((r) => r.run === 'b1')).toMatchObject({ state: 'done' });
    // trial-001 runs again (a requeued Slurm job): alive, with a fresh heartbeat
    const t1 = join(out, 'trial-001', 'status.json');
    const again = {
      ...(JSON.parse(readFileSync(t1, 'utf8')) as object),
      state: 'running',
      pid: process.pid,
      processStart: processStartTime(process.pid),
      heartbeat: Date.now(),
    };
    writeJsonAtomic(t1, again);
    expect(runs.list().find((r) => r.run === 'b1')).toMatchObject({ state: 'running' });
  });
});
