import { defineConfig } from 'vitest/config';

// Unit tests of the JupyterLab extension (src/). The service has its own
// config in kernel-service/; the browser tests are in ui-tests/ (Playwright).
export default defineConfig({
  test: {
    include: ['src/__tests__/**/*.test.ts'],
    environment: 'node',
  },
});
