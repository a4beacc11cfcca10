#!/usr/bin/env bash
# The main job: installs what is missing (idempotently), builds nefsim and the
# JupyterLab extension, and opens JupyterLab on examples/ with the extension and
# the nefsim service live (jupyter-server-proxy starts the service on first use).
#
#   ./scripts/start.sh                 # JupyterLab on 0.0.0.0:8888 (token-protected), prints the URL
#   NEFSIM_LAB_IP=127.0.0.1 NEFSIM_LAB_PORT=9999 ./scripts/start.sh
#   ./scripts/start.sh --headless-demo # no JupyterLab: run the squaring example and print its summary
#
# Extra arguments go to `jupyter lab`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

if [ "${1:-}" = "--headless-demo" ]; then
  shift
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
  fi
  npm run build --workspace nefsim
  exec node examples/squaring.mjs "$@"
fi

# 1. Node packages and the build (the service, the extension's lib/ and its prebuilt labextension).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
npm run build

# 2. Python: the venv shared with scripts/test.sh, JupyterLab, jupyter-server-proxy and this package.
./scripts/setup-python.sh

# 3. JupyterLab on examples/.
IP="${NEFSIM_LAB_IP:-0.0.0.0}"
PORT="${NEFSIM_LAB_PORT:-8888}"
ARGS=(--ServerApp.root_dir="$ROOT/examples" --ServerApp.ip="$IP" --ServerApp.port="$PORT" --ServerApp.open_browser=False)
if [ "$(id -u)" = "0" ]; then ARGS+=(--ServerApp.allow_root=True); fi
export NEFSIM_RUNS_DIR="${NEFSIM_RUNS_DIR:-$ROOT/examples/nefsim-runs}"
echo "nefsim: starting JupyterLab on examples/ (runs go to $NEFSIM_RUNS_DIR)."
echo "nefsim: open the http://...?token=... URL printed below; from another machine, replace the host with this machine's name ($(hostname))."
exec "$ROOT/.venv/bin/jupyter" lab "${ARGS[@]}" "$@"
