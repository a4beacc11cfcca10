import { rmSync } from 'node:fs';

/** Removes the test run's private decoder cache (see vitest.config.ts). */
export default function setup(): () => void {
  return () => {
    const dir = process.env['NEFSIM_TEST_CACHE_DIR'];
    if (dir && dir.includes('nefsim-test-cache-')) rmSync(dir, { recursive: true, force: true });
  };
}
