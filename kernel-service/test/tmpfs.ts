/**
 * A real small file system for disk-full tests: a tmpfs of the given size,
 * mounted for the duration of `body` and then unmounted. Mounting needs
 * root: the tests that use it are skipped for other users, and as root they
 * run (a root that may not mount, in a locked-down container, fails them with
 * mount's message, as the Slurm tests there would fail: the suite's machine
 * is a root one, see the README's set-up).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const canMount = process.getuid?.() === 0;

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((res, rej) =>
    execFile(cmd, args, (err, _out, stderr) => (err ? rej(new Error(`${cmd}: ${stderr || err.message}`)) : res())),
  );
}

export async function withTmpfs<T>(kib: number, body: (mnt: string) => Promise<T>): Promise<T> {
  const mnt = mkdtempSync(join(tmpdir(), 'nefsim-full-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', mnt]);
  try {
    return await body(mnt);
  } finally {
    await unmount(mnt);
    rmSync(mnt, { recursive: true, force: true });
  }
}

/**
 * Unmounts, waiting up to 5 s for whatever still has a file open there (a
 * detached run's process finishing its last write closes it a moment after
 * the test's last assertion; on a loaded machine, later), then detaches it
 * lazily (umount -l), so that the folder can go and no mount is left over.
 */
async function unmount(mnt: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await run('umount', [mnt]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await run('umount', ['-l', mnt]).catch(() => undefined);
}
