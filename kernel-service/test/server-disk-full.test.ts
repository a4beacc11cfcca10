/**
 * The service on a full disk (a real tmpfs; mounting needs root, as in CI):
 * run.start fails with the reason instead of the service failing, the service
 * goes on serving, and a run started once there is room again completes.
 */
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSystemError } from '../src/server/service.js';
import { Client, MODEL_FILE, startService } from './server-harness.js';
import { canMount, withTmpfs } from './tmpfs.js';

describe.runIf(canMount)('the service on a full disk', () => {
  it('run.start says the disk is full, the service goes on, and runs again once there is room', () =>
    withTmpfs(2048, async (mnt) => {
      const svc = await startService([], mnt);
      const c = await Client.connect(svc);
      try {
        writeFileSync(join(mnt, 'model.mjs'), MODEL_FILE);
        // fill the disk: a file as large as will fit
        const filler = join(mnt, 'filler');
        const block = Buffer.alloc(64 * 1024);
        let size = 0;
        try {
          for (;;) {
            writeFileSync(filler, block, { flag: 'a' });
            size += block.length;
          }
        } catch (err) {
          expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
        }
        expect(size).toBeGreaterThan(0);
        const r = await c.request('run.start', { file: join(mnt, 'model.mjs'), duration: 0.5, label: 'full' });
        expect(r.ok).toBe(false);
        expect(r.error).toMatchObject({ code: 'io_error', details: { errno: 'ENOSPC' } });
        expect(r.error!.message).toMatch(/no space left on device.*disk is full/i);
        // no run folder left behind looking like a run
        expect((await c.request('run.list')).result!.runs).toEqual([]);
        // still serving
        expect((await c.request('run.list')).ok).toBe(true);
        expect(svc.proc.exitCode).toBeNull();

        rmSync(filler);
        const again = await c.request('run.start', { file: join(mnt, 'model.mjs'), duration: 0.5, label: 'room' });
        expect(again.ok, JSON.stringify(again.error)).toBe(true);
        const run = again.result!.run as string;
        let state = '';
        for (let i = 0; i < 150 && state !== 'done'; i++) {
          state = (await c.request('run.status', { run })).result!.state as string;
          if (state === 'failed') throw new Error(JSON.stringify((await c.request('run.status', { run })).result));
          if (state !== 'done') await new Promise((res) => setTimeout(res, 100));
        }
        expect(state).toBe('done');
      } finally {
        c.close();
        await svc.stop();
      }
    }));
});

describe('fileSystemError', () => {
  const errno = (code: string, syscall: string, message: string): NodeJS.ErrnoException =>
    Object.assign(new Error(message), { code, syscall });

  it("names the file system's failures, with a hint where there is one", () => {
    expect(fileSystemError(errno('ENOSPC', 'write', 'ENOSPC: no space left on device, write'))).toMatchObject({
      code: 'io_error',
      details: { errno: 'ENOSPC', syscall: 'write' },
    });
    expect(fileSystemError(errno('ENOSPC', 'write', 'x'))!.message).toMatch(/disk is full/);
    expect(fileSystemError(errno('EIO', 'read', 'EIO: i/o error, read'))!.message).toBe('EIO: i/o error, read');
  });

  it('leaves other system errors (a signal, a spawn) and plain errors as they are', () => {
    expect(fileSystemError(errno('EPERM', 'kill', 'kill EPERM'))).toBeUndefined();
    expect(fileSystemError(errno('ENOENT', 'spawn nefsim', 'spawn nefsim ENOENT'))).toBeUndefined();
    expect(fileSystemError(new Error('plain'))).toBeUndefined();
    expect(fileSystemError('a string')).toBeUndefined();
  });
});
