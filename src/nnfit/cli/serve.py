"""``nnfit serve``: flags → ``nnfit.web.serve`` (the browser playground; extra ``web``)."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from ..errors import UsageError
from ..setting_text import whole
from .parser import HelpFormatter

SERVE_EXAMPLES = """examples:
  nnfit serve                                   http://127.0.0.1:8000 with an access token
  nnfit serve --open                            ... and open it in the browser
  nnfit serve --port 8765                       another port; --port 0 takes any free one
  nnfit serve --host 0.0.0.0                    reachable from other machines (warns)
  nnfit serve --workers 4                       train in 4 processes (default: one per core)"""


def add_serve(commands: Any) -> None:
    """``serve``: the playground in the browser."""
    serve = commands.add_parser(
        "serve",
        help="the playground: watch a network learn in the browser (extra nnfit[web])",
        description="Serve the playground: choose data (a built-in function, a formula of x "
        "or of x1 and x2, or a CSV/TSV you upload; add, drag or delete points on the chart), "
        "the network (an activation per layer) and the training, then play, pause or step "
        "through training and watch the fit and the loss, race settings, download the run "
        "(GIF, PNG, run folder, TOML) or make a classroom link, in English or 中文. It "
        "listens on "
        "127.0.0.1 only unless --host says otherwise, and prints a URL with an access token, "
        "as Jupyter does: every request needs it. Needs the web extra: "
        'pip install "nnfit[web]".',
        epilog=SERVE_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument(
        "--port", type=whole, default=8000, metavar="N", help="port (default: 8000; 0: any)"
    )
    serve.add_argument(
        "--open", action="store_true", help="open the playground in the default browser"
    )
    serve.add_argument(
        "--workers",
        type=whole,
        default=None,
        metavar="N",
        help="processes that train the runs (default: one per core, at most 8; 0: threads of "
        "the server itself)",
    )


def run_serve(args: argparse.Namespace) -> int:
    """Carry out ``nnfit serve``; exit status (2 with an install hint when the extra is missing)."""
    from ..web import MISSING_HINT, missing_extra

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be a whole number from 0 to 65535, got {args.port}")
    if not args.host or any(c.isspace() for c in args.host):
        raise UsageError(f"--host must be an address such as 127.0.0.1, got {args.host!r}")
    if args.workers is not None and not 0 <= args.workers <= 64:
        raise UsageError(f"--workers must be a whole number from 0 to 64, got {args.workers}")
    if missing_extra():
        raise UsageError(MISSING_HINT)
    from ..web.server import serve

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn has stopped: nothing to save
        serve(host=args.host, port=args.port, open_browser=args.open, workers=args.workers)
    return 0
