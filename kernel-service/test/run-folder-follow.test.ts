/**
 * How a run or batch tells, through its folder held open, that the folder was renamed (folderMoved).
 * Linux only: elsewhere there is no /proc/self/fd to follow a folder through.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { folderMoved } from '../src/runs/folder.js';

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
});
