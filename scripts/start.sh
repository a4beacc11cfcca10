#!/usr/bin/env bash
# The main job. Until the JupyterLab extension lands, it builds nefsim and runs
# the squaring example headless, printing its build summary and accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
exec node examples/squaring.mjs "$@"
