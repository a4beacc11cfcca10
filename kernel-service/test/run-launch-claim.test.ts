/**
 * The claim (`RUNS/.queue/RUN.launch`) that makes a queued run's launch one service's when two services
 * share a runs folder: a claim whose service is gone is taken over, one of a service that may still be
 * launching it is not, also when that service runs on another host (a runs folder on a shared path).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLAIM_FILE, claimRecord, claimState, pidNamespace, writeJsonAtomic } from '../src/runs/folder.js';
import { RunManager } from '../src/server/runs.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/model.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-launch-claim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Queues a run `run` in the runs folder as a service does, claimed by `claim`; returns the claim's path. */
function queuedAndClaimed(runs: RunManager, run: string, claim: object): string {
  const queue = join(runs.dir, '.queue');
  writeJsonAtomic(join(queue, `${run}.json`), {
    run,
    file: EXAMPLE,
    duration: 0.05,
    dt: 0.001,
    seed: null,
    label: run,
    created: new Date().toISOString(),
    state: 'queued',
  });
  const file = join(queue, `${run}.launch`);
  writeFileSync(file, JSON.stringify(claim));
  return file;
}

describe('launch claims', () => {
  it('are taken over from a service that is gone, not from one on another host that may be launching the run', async () => {
    const runs = new RunManager(dir, 4);
    try {
      // a pid that no process here has (a process that ended)
      const gone = spawnSync(process.execPath, ['-e', '']).pid!;
      const elsewhere = { pid: gone, processStart: 1234, host: 'another-node', pidns: 'pid:[4026531836]' };
      const remote = queuedAndClaimed(runs, 'remote', elsewhere);
      // this host and namespace: its process is gone, so the claim is stale
      const dead = queuedAndClaimed(runs, 'dead', { pid: gone, processStart: 1234, host: hostname(), pidns: pidNamespace() });
      // another host's claim older than any launch lasts: its service was stopped as it launched
      const old = queuedAndClaimed(runs, 'old', elsewhere);
      const past = new Date(Date.now() - 3600_000);
      utimesSync(old, past, past);
      await runs.tick();
      // read at once (the launches under way rewrite nothing, and remove their claims when they end)
      expect(JSON.parse(readFileSync(remote, 'utf8'))).toEqual(elsewhere);
      expect(JSON.parse(readFileSync(dead, 'utf8'))).toMatchObject({ pid: process.pid });
      expect(JSON.parse(readFileSync(old, 'utf8'))).toMatchObject({ pid: process.pid });
    } finally {
      runs.stop();
    }
  });
});

describe("a run folder's claim (.nefsim-claim, held while nefsim run fills the folder)", () => {
  const claimed = (name: string, claim: object, ageMs = 0): string => {
    const folder = join(dir, name);
    mkdirSync(folder);
    const file = join(folder, CLAIM_FILE);
    writeFileSync(file, JSON.stringify(claim));
    const t = (Date.now() - ageMs) / 1000;
    utimesSync(file, t, t);
    return folder;
  };
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;

  it("of a process here that is gone is a leftover; of another host's, young, is alive, and old, a leftover", () => {
    expect(claimState(claimed('mine', JSON.parse(claimRecord()) as object))).toBe('alive');
    expect(claimState(claimed('gone-here', { pid: gone, processStart: null, host: hostname(), pidns: pidNamespace() }))).toBe('gone');
    // another host's pid means nothing here: it read as gone, and the folder being filled there was listed damaged
    expect(claimState(claimed('elsewhere', { pid: gone, processStart: null, host: 'another-host', pidns: 'pid:[1]' }))).toBe('alive');
    expect(claimState(claimed('elsewhere-old', { pid: gone, processStart: null, host: 'another-host' }, 60 * 60_000))).toBe('gone');
    // a claim written before claims named their host: judged by its pid, as before
    expect(claimState(claimed('old-format', { pid: gone, processStart: null }))).toBe('gone');
  });
});
