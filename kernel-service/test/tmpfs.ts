/**
 * A real small file system for disk-full tests: a tmpfs of the given size,
 * mounted for the duration of `body` and then unmounted. Mounting needs
 * root (CI runs as root); `canMount` says whether this process may.
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
    await run('umount', [mnt]).catch(() => undefined);
    rmSync(mnt, { recursive: true, force: true });
  }
}
