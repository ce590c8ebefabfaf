"""A worker process of the playground: it trains the runs the server hands it.

The server (``nnfit.web.pool``) keeps its event loop free of training: with every run in a
thread of the server's own process, 50 sessions measured page loads of 0.9 s at p99 (the
threads held the interpreter lock 92% of the time). Each worker process imports torch once,
then answers the server's messages on its end of a pipe, ``(op, run, *args)``:

- ``start`` builds a ``PlayRun`` (the same class, paced and paused the same way, as in-process
  runs use) from its keyword arguments and starts it; ``pause``, ``play``, ``step_once``,
  ``speed``, ``attach``, ``detach``, ``stop`` reach that run; ``forget`` stops it and lets it go;
- ``export`` makes one of the run's products (``PlayRun.export``) in a thread of its own.

and sends back ``("ready",)`` once warm, ``("batch", run, fields)`` whenever a run has news
(every field of ``playrun.Batch``; ``points`` are the new ones only) and ``("exported", request,
payload, error)``. It ends when the pipe closes: the server stopping, or dying, takes its
workers with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import Any

from ..errors import NNFitError
from ..memory import few_arenas, give_back
from .playrun import PlayRun

RELAYED = {"pause", "play", "step_once", "attach", "detach", "stop"}  # ops that are PlayRun's


class Forwarder:
    """Sends a run's news to the server: everything ``since`` says after the last it sent."""

    def __init__(self, run_id: int, run: PlayRun, send: Any) -> None:
        self.run_id, self.run, self.send = run_id, run, send
        self.lock = threading.Lock()
        self.sent = 0

    def __call__(self) -> None:
        with self.lock:
            batch = self.run.since(self.sent)
            self.sent = batch.seq
            fields = {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}
            self.send(("batch", self.run_id, fields))


def warm_up() -> None:
    """Load what a run needs before the first one: torch, an optimiser, and a few steps of the
    lesson through the same path as a page's run (so its first frame is not late, and the
    memory a worker holds idle is what it holds after runs too)."""
    from .form import DEFAULT_CAPS, build_run_config

    config = build_run_config({"steps": 3}, DEFAULT_CAPS)
    run = PlayRun(config, fps=1e6, grace=60.0)
    run.attach()
    run._work()


def main(conn: Any) -> None:
    """The worker's loop: answer the server on ``conn`` until it closes."""
    send_lock = threading.Lock()
    runs: dict[int, PlayRun] = {}

    def send(message: tuple[Any, ...]) -> None:
        with send_lock, contextlib.suppress(OSError, ValueError):  # the server is gone
            conn.send(message)

    def export(request: int, run: PlayRun, kind: str) -> None:
        try:
            payload, error = run.export(kind), None  # type: ignore[attr-defined]
        except NNFitError as refused:
            payload, error = None, str(refused)
        except Exception as failed:  # a bug must not end the worker: the page says it
            payload, error = None, f"the export failed: {type(failed).__name__}"
        send(("exported", request, payload, error))

    few_arenas()  # a run is a thread: 50 runs must not leave 16 heaps behind
    warm_up()
    send(("ready",))
    while True:
        try:
            op, run_id, *args = conn.recv()
        except (EOFError, OSError):
            break
        if op == "quit":
            break
        if op == "start":
            started = PlayRun(**args[0])
            started.listener = Forwarder(run_id, started, send)
            runs[run_id] = started
            started.start()
            continue
        run = runs.get(run_id)
        if run is None:  # forgotten already: nothing to do
            if op == "export":
                send(("exported", args[0], None, "this run is no longer kept; play it again"))
            continue
        if op in RELAYED:
            getattr(run, op)()
        elif op == "speed":
            run.set_speed(args[0])
        elif op == "export":
            threading.Thread(target=export, args=(args[0], run, args[1]), daemon=True).start()
        elif op == "forget":
            runs.pop(run_id).stop()
            if not runs:
                give_back()
    for run in runs.values():
        run.stop()
