/** Probes asked of a batch's folder (not of one of its trials): the service says it is a batch. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRunProbes, readRunProbe } from '../src/server/probes.js';

const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nefsim-pbatch-'));
  writeFileSync(
    join(dir, 'm.mjs'),
    `import { Network } from 'nefsim';\nexport default () => { const net = new Network({ label: 'b' }); net.probe(net.node(() => [1], { label: 'n' }), { label: 'p' }); return net; };\n`,
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('probes of a batch', () => {
  it("are its trials': the batch's folder is refused by name, not as a damaged status.json", async () => {
    const code = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        [BIN, 'run', 'm.mjs', '--duration', '0.01', '--trials', '2', '--out', 'b'],
        { cwd: dir, timeout: 50_000 },
        (err) => resolve(err ? 1 : 0),
      ),
    );
    expect(code).toBe(0);
    const batch = join(dir, 'b');
    await expect(listRunProbes(batch)).rejects.toThrow("b is a batch: its probes are its trials', e.g. run 'b/trial-000'");
    await expect(readRunProbe(batch, 'p', undefined, undefined, undefined)).rejects.toMatchObject({ code: 'invalid_params' });
    expect((await listRunProbes(join(batch, 'trial-000'))).map((p) => p.name)).toEqual(['p']);
  }, 60_000);
});
