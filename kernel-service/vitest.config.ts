import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests never read or fill the user's decoder cache: a fresh one per test run
// (test/global-setup.ts removes it afterwards).
const cacheDir = process.env['NEFSIM_TEST_CACHE_DIR'] ?? mkdtempSync(join(tmpdir(), 'nefsim-test-cache-'));
process.env['NEFSIM_TEST_CACHE_DIR'] = cacheDir;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    env: { NEFSIM_CACHE_DIR: cacheDir },
    globalSetup: ['test/global-setup.ts'],
  },
});
