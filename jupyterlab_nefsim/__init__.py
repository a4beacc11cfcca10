"""jupyterlab_nefsim: the nefsim JupyterLab extension and its service launcher.

The prebuilt labextension lives in ``labextension/`` (built by ``npm run build``).
The nefsim service (a Node process, ``nefsim serve``) is started by
jupyter-server-proxy the first time the frontend opens ``<base_url>/nefsim/``.
"""

from ._server import setup_nefsim_server

__version__ = "0.1.0"
__all__ = ["setup_nefsim_server", "__version__"]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyterlab-nefsim"}]
