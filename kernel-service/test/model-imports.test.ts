/**
 * Which model files may resolve `import 'nefsim'` through Node alone (runs/model.ts,
 * importsOnlyNefsim): only those that import nothing but 'nefsim' and Node's builtins.
 * Anything unclear means the module hook, which only costs time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { relativeImport } from '../src/cli/runs.js';
import { importsOnlyNefsim } from '../src/runs/model.js';

const dir = mkdtempSync(join(tmpdir(), 'nefsim-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function check(src: string): boolean {
  const file = join(dir, `m${n++}.mjs`);
  writeFileSync(file, src);
  return importsOnlyNefsim(file);
}

describe('models that import only nefsim', () => {
  it('accepts nefsim and builtins, in every import form', () => {
    expect(check("import { Network } from 'nefsim';\nexport default new Network();\n")).toBe(true);
    expect(check('import * as nefsim from "nefsim";\nimport fs from \'node:fs\';\nimport { join } from "path";\n')).toBe(true);
    expect(check("import 'node:process';\nconst u = import.meta.url;\nconst x = Array.from([1]);\n")).toBe(true);
    expect(check("export { Network } from 'nefsim';\nconst m = await import('nefsim');\n")).toBe(true);
  });

  it('refuses other modules, computed imports, and what it cannot read for sure', () => {
    expect(check("import { make } from './helper.mjs';\n")).toBe(false);
    expect(check("import { make } from '/abs/helper.mjs';\n")).toBe(false);
    expect(check("import 'lodash';\n")).toBe(false);
    // modules loaded through node:module's require
    expect(check("import { createRequire } from 'node:module';\nconst h = createRequire(import.meta.url)('./h.cjs');\n")).toBe(false);
    expect(check("const fs = process.getBuiltinModule('fs');\n")).toBe(false);
    expect(check("export * from './more.mjs';\n")).toBe(false);
    expect(check("const m = await import('./x.mjs');\n")).toBe(false);
    expect(check('const name = "./x.mjs";\nconst m = await import(name);\n')).toBe(false);
    // a comment between the keyword and the name (the reviewer's case)
    expect(check('import { make } from /* helper */ "/abs/helper.mjs";\n')).toBe(false);
    expect(check('import /* c */ "./x.mjs";\n')).toBe(false);
    // prose: conservative
    expect(check("import { Network } from 'nefsim';\n// data from the lab\n")).toBe(false);
  });
});

describe('relative imports, which a run folder cannot hold (nefsim run refuses them)', () => {
  it('are found in import and export declarations and in import() of a constant name', () => {
    expect(relativeImport("import { make } from './helper.mjs';\n")).toBe('./helper.mjs');
    expect(relativeImport("export * from '../lib/x.mjs';\n")).toBe('../lib/x.mjs');
    expect(relativeImport("import 'nefsim';\nconst m = await import(`./late.mjs`);\n")).toBe('./late.mjs');
    expect(relativeImport("function f() { return import('./in-function.mjs'); }\n")).toBe('./in-function.mjs');
  });

  it('but not in comments or strings, nor packages, absolute paths, or a file that does not parse', () => {
    expect(relativeImport("// import { h } from './helper.mjs';\n/* import('./x.mjs') */\nimport { Network } from 'nefsim';\n")).toBe(
      undefined,
    );
    expect(relativeImport("const s = \"import x from './helper.mjs'\";\nimport fs from 'node:fs';\nimport '/abs/x.mjs';\n")).toBe(
      undefined,
    );
    expect(relativeImport("import { from './helper.mjs';\n")).toBe(undefined);
  });
});
