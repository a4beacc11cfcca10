/**
 * How a run or batch tells, through its folder held open, that the folder was renamed (folderMoved) and
 * that its probes.h5 is no longer the file it writes (fileLost). Linux only: elsewhere there is no
 * /proc/self/fd to follow a folder through.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileLost, folderMoved } from '../src/runs/folder.js';

const root = mkdtempSync(join(tmpdir(), 'nefsim-follow-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const linux = process.platform === 'linux';

describe.runIf(linux)('a run folder held open', () => {
  it('is not taken for moved when it is reached through a symlink and still in place', () => {
    // a runs folder under a symlinked path (a cluster's /home -> /gpfs/home): /proc names the real path, so
    // a trial whose status.json was damaged in place was said 'moved to' its own folder
    const real = join(root, `real-${n++}`);
    mkdirSync(join(real, 'trial-000'), { recursive: true });
    const link = join(root, `link-${n++}`);
    symlinkSync(real, link);
    const dir = join(link, 'trial-000');
    const fd = openSync(dir, 'r');
    try {
      expect(folderMoved(fd, dir)).toBeUndefined();
      renameSync(join(real, 'trial-000'), join(real, 'elsewhere'));
      expect(folderMoved(fd, dir)).toBe(join(real, 'elsewhere'));
      rmSync(join(real, 'elsewhere'), { recursive: true });
      expect(folderMoved(fd, dir)).toBeUndefined(); // removed: not moved anywhere
    } finally {
      closeSync(fd);
    }
  });

  it('keeps its probes.h5 through a rename: the file is looked for where the folder is now', () => {
    // the check is made at every status update, after the one for options.json: a rename between the two
    // read the file deleted, and failed the run it renamed
    const dir = join(root, `run-${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'probes.h5'), 'data');
    const s = statSync(join(dir, 'probes.h5'), { bigint: true });
    const opened = { dev: s.dev, ino: s.ino };
    const fd = openSync(dir, 'r');
    try {
      expect(fileLost(opened, fd, dir, 'probes.h5')).toBeUndefined();
      const moved = `${dir}-moved`;
      renameSync(dir, moved);
      expect(fileLost(opened, fd, dir, 'probes.h5')).toBeUndefined();
      writeFileSync(join(moved, 'other.h5'), 'other');
      renameSync(join(moved, 'other.h5'), join(moved, 'probes.h5'));
      expect(fileLost(opened, fd, dir, 'probes.h5')).toBe('replaced by another file');
      rmSync(join(moved, 'probes.h5'));
      expect(fileLost(opened, fd, dir, 'probes.h5')).toBe('deleted');
    } finally {
      closeSync(fd);
    }
  });
});

describe('without a folder held open', () => {
  it('looks for the file at its path', () => {
    const dir = join(root, `run-${n++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'probes.h5'), 'data');
    const s = statSync(join(dir, 'probes.h5'), { bigint: true });
    const opened = { dev: s.dev, ino: s.ino };
    expect(fileLost(opened, undefined, dir, 'probes.h5')).toBeUndefined();
    rmSync(join(dir, 'probes.h5'));
    expect(fileLost(opened, undefined, dir, 'probes.h5')).toBe('deleted');
  });
});
