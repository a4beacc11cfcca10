#!/usr/bin/env bash
# Installs what the tests need (idempotently) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests use Debian's Chromium: never let an npm install download a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
npx tsc -p kernel-service/tsconfig.json --noEmit
npm run lint  # eslint, and prettier --check (the formatting the repository keeps)
# A single-node Slurm on localhost for the --executor slurm tests: installed only if missing (root, Debian's
# slurm-wlm and munge), started without systemd, and stopped by pid when this script ends.
if ! bash scripts/slurm-harness.sh install; then
  echo "scripts/test.sh: warning: Slurm could not be installed; the tests that submit Slurm jobs will be skipped" >&2
elif ! bash scripts/slurm-harness.sh status; then
  trap 'bash scripts/slurm-harness.sh down' EXIT
  bash scripts/slurm-harness.sh up >/dev/null
fi
(cd kernel-service && npx vitest run)
# probes.h5 read by real h5py (and the .npz export by numpy): Python tests in kernel-service/test-py,
# in the repository's venv (.venv, shared with scripts/setup-python.sh), created and filled only if needed.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import h5py, numpy, pytest' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check h5py numpy pytest
fi
set +e
.venv/bin/python -m pytest -q kernel-service/test-py
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  # pytest's 5 means it collected no tests: the h5py tests went missing, which must not pass silently.
  echo "scripts/test.sh: pytest collected no tests in kernel-service/test-py (expected the probes.h5 tests)" >&2
  exit 1
elif [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
# The JupyterLab extension: type check and unit tests (client, plot data, cell routing).
npx tsc -p tsconfig.json --noEmit
npx tsc -p ui-tests/tsconfig.json --noEmit  # the browser tests type-check too (a wrong option type went unnoticed)
npx vitest run
# Browser tests of the extension in a real JupyterLab (started by the Playwright harness from .venv)
# and Debian's Chromium at /usr/bin/chromium, installed here if missing (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
./scripts/setup-python.sh
(cd ui-tests && npx playwright test)
