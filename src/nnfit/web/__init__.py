"""The browser playground behind ``nnfit serve`` (extra ``web``: FastAPI, uvicorn,
sse-starlette).

Modules, each with one job: ``form`` (the settings table as the page's form, and a page's values
as a checked RunConfig with the server's caps), ``playrun`` (one run in a worker thread through
``Regressor.fit``, paced and paused for the page), ``playdata`` (a session's data: the
function's points, an uploaded table read by the CLI's reader, or points edited on the chart),
``sessions`` (one per tab, with the caps),
``stream`` (a run's frames as Server-Sent Events), ``security`` (token, Host/Origin checks,
headers), ``app`` (the routes) and ``server`` (uvicorn and the printed URL). ``static/`` is the
page: HTML, CSS, JavaScript, the language catalogues and uPlot, all shipped in the package.

Nothing heavy loads on import: FastAPI, uvicorn and torch load when ``serve`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

__all__ = ["MISSING_HINT", "Playground", "make_app", "missing_extra", "serve"]

MISSING_HINT = 'nnfit serve needs the web extra: pip install "nnfit[web]"'
EXTRA = ("fastapi", "uvicorn", "sse_starlette")

__getattr__ = lazy_attributes(
    __name__, {"Playground": "server", "make_app": "app", "serve": "server"}
)

if TYPE_CHECKING:
    from .app import make_app
    from .server import Playground, serve


def missing_extra() -> list[str]:
    """The modules of the ``web`` extra that are not installed (found without importing them)."""
    import importlib.util

    return [name for name in EXTRA if importlib.util.find_spec(name) is None]
