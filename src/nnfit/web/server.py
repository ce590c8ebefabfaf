"""``serve``: the playground on uvicorn, with a fresh access token printed as a URL.

Like Jupyter, the server prints ``http://127.0.0.1:8000/?token=...`` once it listens; opening
that URL sets the token's cookie. Bound to anything but a loopback address it warns that other
machines can reach it. Port 0 takes any free port (the URL says which). While the first page
loads, torch is imported in a background thread, so the first Play does not wait for it.
"""

from __future__ import annotations

import secrets
import sys
import threading
import webbrowser
from typing import Any

from .security import is_loopback


def url_for(host: str, port: int, token: str) -> str:
    """The URL to open: the served address with the token (IPv6 in brackets; a wildcard bind
    as 127.0.0.1)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/?token={token}"


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    token: str | None = None,
    announce: Any = None,
) -> None:
    """Serve the playground until interrupted (Ctrl-C or SIGTERM stop it cleanly).

    Args:
        host: the address to bind; anything but loopback is reachable from other machines.
        port: the port; 0 for any free one.
        open_browser: open the URL in the default browser once listening.
        token: the access token (default: a fresh random one).
        announce: called with the URL once listening (default: print it to stdout).
    """
    import uvicorn

    from .app import make_app

    token = token or secrets.token_urlsafe(24)
    if not is_loopback(host):
        print(
            f"nnfit serve: warning: listening on {host}: other machines can reach the "
            "playground (anyone with the token can train on this machine)",
            file=sys.stderr,
            flush=True,
        )
    bound: dict[str, int] = {"port": port}
    app = make_app(token, host=host, port=lambda: bound["port"])
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)

    class Server(uvicorn.Server):  # says the URL once the socket is bound (port 0 included)
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.should_exit:
                return
            for server in getattr(self, "servers", []):
                for sock in server.sockets:
                    bound["port"] = sock.getsockname()[1]
            url = url_for(host, bound["port"], token)
            (announce or _print)(url)
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=_warm_up, name="nnfit-warm-up", daemon=True).start()
    Server(config).run()


def _print(url: str) -> None:
    print(f"nnfit playground: open {url}", flush=True)
    print("(Ctrl-C stops the server)", file=sys.stderr, flush=True)


def _warm_up() -> None:
    """Import what the first run needs while the page loads (2-5 s of torch and its optimiser)."""
    try:
        import torch

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        from ..regressor import Regressor  # noqa: F401
    except Exception:  # a warm-up only: the run itself reports any real problem
        pass
