"""JupyterLab server for the Galata tests (started by Playwright's webServer).

Never use this configuration in production: it removes Jupyter's security
(no token, no XSRF check). The nefsim service is still started by
jupyter-server-proxy with its own per-start token.
"""

import os
import tempfile

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

c.ServerApp.port = int(os.environ.get("NEFSIM_UI_TEST_PORT", "8897"))  # noqa: F821
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# Run folders of the runs the tests start.
os.environ["NEFSIM_RUNS_DIR"] = os.environ.get("NEFSIM_UI_RUNS_DIR") or tempfile.mkdtemp(prefix="nefsim-ui-runs-")
