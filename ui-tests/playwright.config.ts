/**
 * Playwright configuration for the nefsim extension's browser tests:
 * Debian's Chromium (/usr/bin/chromium, never a downloaded browser),
 * JupyterLab started by the harness from the repository's .venv.
 */
import galataConfig from '@jupyterlab/galata/lib/playwright-config';
import type { PlaywrightTestConfig } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const baseConfig = galataConfig as unknown as PlaywrightTestConfig;
const port = process.env.NEFSIM_UI_TEST_PORT || '8897';
// The runs folder of the service this harness's JupyterLab starts (the tests find the service by it).
if (!process.env.NEFSIM_UI_RUNS_DIR) process.env.NEFSIM_UI_RUNS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'nefsim-ui-runs-'));
// The local single-node Slurm of scripts/slurm-harness.sh, when it is up (scripts/test.sh keeps it up through
// these tests): JupyterLab, and so the service and its sbatch, squeue and scancel, get its SLURM_CONF, and the
// Slurm tests find it in NEFSIM_UI_SLURM_CONF (they skip, saying why, without it). Never a SLURM_CONF of the
// user's own: the tests fill the node and hold jobs. (Evaluated again in each worker, which inherits both.)
if (process.env.NEFSIM_UI_SLURM_CONF === undefined) {
  const harness = path.resolve(__dirname, '..', 'scripts', 'slurm-harness.sh');
  const up = spawnSync('bash', [harness, 'status'], { timeout: 30_000 }).status === 0;
  const conf = path.join(process.env.NEFSIM_SLURM_DIR || '/tmp/nefsim-slurm', 'slurm.conf');
  process.env.NEFSIM_UI_SLURM_CONF = up ? conf : '';
  if (up) process.env.SLURM_CONF = conf;
}

const config: PlaywrightTestConfig = {
  ...baseConfig,
  reporter: [[process.env.CI ? 'line' : 'list'], ['html', { open: 'never' }]],
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: process.env.NEFSIM_CHROMIUM || '/usr/bin/chromium',
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--use-gl=swiftshader',
        '--enable-unsafe-swiftshader',
      ],
    },
    video: 'off',
    trace: 'retain-on-failure',
  },
  webServer: {
    command: '../.venv/bin/jupyter lab --config jupyter_server_test_config.py',
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  },
};

export default config;
