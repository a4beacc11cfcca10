/**
 * Labels in probes.h5 as the model gave them. Nengo takes any str as a label, a NUL too, but HDF5's
 * strings end at a NUL: a label 'a\0b' was stored, and listed by the service, as 'a'. Its string
 * attribute now has each NUL as U+2400 (␀), and `<attribute>_utf8` its exact UTF-8 bytes.
 * Uses the built CLI (`npm run build` first).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import h5wasm from 'h5wasm/node';
import type { Dataset } from 'h5wasm/node';
import { afterAll, describe, expect, it } from 'vitest';
import { listRunProbes } from '../src/server/probes.js';

const BIN = fileURLToPath(new URL('../bin/nefsim.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nefsim-probe-labels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = `import { Network } from 'nefsim';
export default () => {
  const net = new Network({ label: 'net\\0work', seed: 1 });
  const a = net.ensemble({ nNeurons: 5, dimensions: 1, label: 'en\\0s' });
  net.connect(net.node(0.5), a);
  net.probe(a, { label: 'a\\0b', synapse: 0.01 });
  net.probe(a, { label: 'plain' });
  return net;
};
`;

describe('labels in probes.h5', () => {
  it('a NUL in a label, network or target name round-trips (its string attribute cut it there)', async () => {
    const model = join(dir, 'm.mjs');
    writeFileSync(model, MODEL);
    const out = join(dir, 'run');
    execFileSync(process.execPath, [BIN, 'run', model, '--duration', '0.01', '--out', out], { stdio: 'pipe' });
    const probes = await listRunProbes(out);
    expect(probes.map((p) => [p.name, p.label, p.target])).toEqual([
      ['a_b', 'a\0b', "Ensemble 'en\0s'"],
      ['plain', 'plain', "Ensemble 'en\0s'"],
    ]);
    await h5wasm.ready;
    const f = new h5wasm.File(join(out, 'probes.h5'), 'r');
    try {
      const exact = (v: unknown): string => new TextDecoder().decode(v as Uint8Array);
      expect(f.attrs['network']!.value).toBe('net\u2400work');
      expect(exact(f.attrs['network_utf8']!.value)).toBe('net\0work');
      const ab = f.get('probes/a_b') as Dataset;
      expect(ab.attrs['label']!.value).toBe('a\u2400b');
      expect(exact(ab.attrs['label_utf8']!.value)).toBe('a\0b');
      expect(exact(ab.attrs['target_utf8']!.value)).toBe("Ensemble 'en\0s'");
      // a string without a NUL has no second attribute
      const plain = f.get('probes/plain') as Dataset;
      expect(plain.attrs['label']!.value).toBe('plain');
      expect(Object.keys(plain.attrs)).not.toContain('label_utf8');
    } finally {
      f.close();
    }
  }, 60_000);
});
