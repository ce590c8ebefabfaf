"""The playground on uvicorn, with a fresh access token printed as a URL.

Like Jupyter, the server prints ``http://127.0.0.1:8000/?token=...`` once it listens; opening
that URL sets the token's cookie. Bound to anything but a loopback address it warns that other
machines can reach it. Port 0 takes any free port (the URL says which). While the first page
loads, torch is imported in a background thread, so the first Play does not wait for it.
``Playground`` also runs in a thread (``start``/``stop``), as the tests and benchmarks use it.
"""

from __future__ import annotations

import errno
import os
import secrets
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any

import uvicorn

from ..memory import few_arenas
from .app import make_app
from .security import is_loopback
from .sessions import Sessions

# Runs training at once per worker process: the lesson's frames cost about 0.3-1 ms of CPU, so
# a core plays 32 runs at 25 frames a second with room to spare (bench/bench_web_load.py).
RUNS_PER_WORKER = 32
THREAD_RUNS = 8  # runs at once when they train in threads of the server itself (--workers 0)


def url_for(host: str, port: int, token: str) -> str:
    """The URL to open: the served address with the token (IPv6 in brackets; a wildcard bind
    as 127.0.0.1)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/?token={token}"


class Playground:
    """The playground's server: the app behind its guard, on uvicorn.

    Args:
        host: the address to bind; anything but loopback is reachable from other machines.
        port: the port; 0 for any free one (``port`` holds the real one once listening).
        token: the access token (default: a fresh random one).
        sessions: the sessions and their caps (default: ``Sessions()``).
        on_ready: called with the URL once listening.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        token: str | None = None,
        sessions: Sessions | None = None,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.token = token or secrets.token_urlsafe(24)
        self.sessions = sessions or Sessions()
        self.on_ready = on_ready
        app = make_app(self.token, host=host, port=lambda: self.port, sessions=self.sessions)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        self.server = _Server(config, self._ready)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The URL with the token, to open in a browser."""
        return url_for(self.host, self.port, self.token)

    @property
    def base(self) -> str:
        """The URL without the token (``http://127.0.0.1:PORT``)."""
        return self.url.split("/?", 1)[0]

    def _ready(self, port: int) -> None:
        self.port = port
        if self.on_ready is not None:
            self.on_ready(self.url)

    def run(self) -> None:
        """Serve until Ctrl-C or SIGTERM."""
        self.server.run()

    def start(self, timeout: float = 30.0) -> Playground:
        """Serve from a background thread; returns once listening."""
        self.thread = threading.Thread(target=self.server.run, name="nnfit-serve", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the playground's server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop a server started with ``start`` (its runs stop too)."""
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)


class _Server(uvicorn.Server):  # says its port once bound (port 0 too)
    def __init__(self, config: Any, ready: Callable[[int], None]) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.should_exit:
            return
        port = self.config.port
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                port = sock.getsockname()[1]
        self.ready(port)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    workers: int | None = None,
) -> None:
    """Serve the playground until interrupted, printing its URL with a fresh token.

    Args:
        host: the address to bind; anything but loopback warns (other machines can reach it).
        port: the port; 0 for any free one.
        open_browser: open the URL in the default browser once listening.
        workers: worker processes that train the runs (default: ``default_workers()``); 0
            trains in threads of the server's own process (fine for one or two tabs).
    """
    check_free(host, port)  # before the workers start: a taken port is one line
    if not is_loopback(host):
        print(
            f"nnfit serve: warning: listening on {host}: other machines can reach the "
            "playground (anyone with the token can train on this machine)",
            file=sys.stderr,
            flush=True,
        )

    def ready(url: str) -> None:
        print(f"nnfit playground: open {url}", flush=True)
        print("(Ctrl-C stops the server)", file=sys.stderr, flush=True)
        if open_browser:
            webbrowser.open(url)

    few_arenas()  # requests run in a pool of threads: their memory goes back when they are done
    workers = default_workers() if workers is None else workers
    if not workers:
        threading.Thread(target=_warm_up, name="nnfit-warm-up", daemon=True).start()
    sessions = Sessions(workers=workers, max_runs=RUNS_PER_WORKER * workers or THREAD_RUNS)
    Playground(host=host, port=port, sessions=sessions, on_ready=ready).run()


def check_free(host: str, port: int) -> None:
    """Refuse, in one line, an address this machine cannot listen on (a taken port, an
    address not its own), before anything starts."""
    import socket

    from ..errors import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UsageError(f"--host {host!r} is not an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRNOTAVAIL:
                raise UsageError(
                    f"--host {host} is not an address of this machine: use 127.0.0.1 (this "
                    "machine only) or 0.0.0.0 (all its addresses)"
                ) from None
            why = "is in use" if error.errno == errno.EADDRINUSE else f"({error.strerror})"
            raise UsageError(
                f"port {port} on {host} {why}: choose another with --port (0 takes any free one)"
            ) from None


def default_workers() -> int:
    """Worker processes for ``serve``: one per core this process may use, at most 8."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(8, cores or 1))


def _warm_up() -> None:
    """Import what the first run needs while the page loads (2-5 s of torch and its optimiser)."""
    try:
        import torch

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        from ..regressor import Regressor  # noqa: F401
    except Exception:  # a warm-up only: the run itself reports any real problem
        pass
