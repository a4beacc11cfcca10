#!/usr/bin/env bash
# Installs what the tests need (idempotently) and runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
npx tsc -p kernel-service/tsconfig.json --noEmit
npx eslint .
(cd kernel-service && npx vitest run)
# The JupyterLab extension: type check and unit tests (client, plot data, cell routing).
npx tsc -p tsconfig.json --noEmit
npx vitest run
