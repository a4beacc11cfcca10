#!/usr/bin/env bash
# Creates the repository's Python venv (.venv, shared by every script) if
# needed and installs JupyterLab, jupyter-server-proxy (>= 4.1.1) and the
# jupyterlab_nefsim package (editable), linking the built labextension so a
# rebuild (npm run build) is picked up on reload. Idempotent: does nothing
# when everything is in place. Run `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
STAMP=.venv/.jupyterlab_nefsim.stamp
WANT="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ] || ! .venv/bin/python -c 'import jupyterlab, jupyter_server_proxy, jupyterlab_nefsim, ipykernel' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check 'jupyterlab>=4.1,<5' 'jupyter-server-proxy>=4.1.1' ipykernel
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
  echo "$WANT" > "$STAMP"
fi
# The labextension: a link to the build output (pip's editable install copies it once).
DEST=.venv/share/jupyter/labextensions/jupyterlab-nefsim
if [ ! -L "$DEST" ] || [ "$(readlink "$DEST")" != "$ROOT/jupyterlab_nefsim/labextension" ]; then
  mkdir -p "$(dirname "$DEST")"
  rm -rf "$DEST"
  ln -s "$ROOT/jupyterlab_nefsim/labextension" "$DEST"
fi
if [ ! -f jupyterlab_nefsim/labextension/package.json ]; then
  echo "setup-python: the labextension is not built; run npm run build" >&2
  exit 1
fi
