/**
 * The built `nefsim` command run as a user runs it, for the tests of the
 * command line and its run folders (`npm run build` first).
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `nefsim ...args` in the folder `cwd` (where `runs/` goes by default), with `env` added to this process's
 * environment; resolves with its exit code and output (never rejects; a time-out reads as exit code 1).
 */
export function runCli(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: opts.timeoutMs ?? 50_000, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * rm -r of a live run or trial folder, retried until it is gone (10 s at most): what its process writes in the
 * moment before it sees the folder gone (a status update under way, through its open folder) lands after rm
 * listed the folder, so rmdir fails with ENOTEMPTY, on a busy machine more than once (README, "Runs").
 */
export async function rmLive(path: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmSync(path, { recursive: true, force: true, maxRetries: 5 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || i >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
