"""Register the nefsim service with jupyter-server-proxy.

jupyter-server-proxy starts ``node .../kernel-service/bin/nefsim.js serve`` the
first time the frontend opens ``<base_url>/nefsim/``, bound to 127.0.0.1 on a
free port, and proxies HTTP and WebSocket traffic to it behind Jupyter's own
authentication. Every start of the service gets a fresh random token (in a
file only this user can read); the proxy adds it to every request it forwards,
so only the proxy (and hence only users Jupyter authenticated) can talk to the
service.

Environment variables:

- ``NEFSIM_NODE``: the node executable (default: ``node`` on PATH).
- ``NEFSIM_BIN``: path to ``nefsim.js`` (default: the repository's
  ``kernel-service/bin/nefsim.js`` next to this package, then ``nefsim`` on PATH).
- ``NEFSIM_RUNS_DIR``: where run folders go (default: ``./nefsim-runs`` in the
  directory Jupyter was started from).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

_state: dict[str, str] = {}


def _node() -> str:
    node = os.environ.get("NEFSIM_NODE") or shutil.which("node")
    if not node:
        raise RuntimeError("nefsim: Node.js (node >= 20) was not found on PATH; set NEFSIM_NODE")
    return node


def nefsim_command_prefix() -> list[str]:
    """The command that runs the nefsim CLI."""
    explicit = os.environ.get("NEFSIM_BIN")
    if explicit:
        return [_node(), explicit] if explicit.endswith(".js") else [explicit]
    repo_bin = Path(__file__).resolve().parent.parent / "kernel-service" / "bin" / "nefsim.js"
    if repo_bin.is_file():
        return [_node(), str(repo_bin)]
    on_path = shutil.which("nefsim")
    if on_path:
        return [on_path]
    raise RuntimeError(
        "nefsim: the nefsim CLI was not found (build the repository with `npm run build`, "
        "or set NEFSIM_BIN to kernel-service/bin/nefsim.js)"
    )


def _new_token_file() -> str:
    token = secrets.token_urlsafe(32)
    folder = _state.get("dir")
    if not folder or not os.path.isdir(folder):
        folder = tempfile.mkdtemp(prefix="nefsim-proxy-")
        _state["dir"] = folder
    path = os.path.join(folder, "token")
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token)
    os.replace(path + ".tmp", path)
    _state["token"] = token
    return path


def _command(port: int) -> list[str]:
    token_file = _new_token_file()
    runs_dir = os.environ.get("NEFSIM_RUNS_DIR") or os.path.join(os.getcwd(), "nefsim-runs")
    return [
        *nefsim_command_prefix(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--token-file",
        token_file,
        "--runs-dir",
        runs_dir,
    ]


def _headers() -> dict[str, str]:
    token = _state.get("token", "")
    # The service checks the token, the Host and (for WebSockets) the Origin.
    # The browser's Host and Origin are Jupyter's, already checked by Jupyter
    # (which authenticated the request); the proxy presents the service's own
    # loopback host and origin instead. {port} is filled in by the proxy.
    return {
        "Authorization": f"Bearer {token}",
        "Host": "127.0.0.1:{port}",
        "Origin": "http://127.0.0.1:{port}",
    }


def setup_nefsim_server() -> dict:
    """Entry point for ``jupyter_serverproxy_servers``."""
    return {
        "command": _command,
        "timeout": 30,
        "absolute_url": False,
        "new_browser_tab": False,
        "request_headers_override": _headers,
        "launcher_entry": {"enabled": False},
    }
