"""Worker processes for the playground's runs, and the server's stand-in for a run in one.

``WorkerPool(n)`` starts ``n`` worker processes (``nnfit.web.worker``, spawned: a fresh
interpreter that imports torch once) and hands each new run to the one training the fewest.
``RemoteRun`` is what the server keeps for such a run: the same methods as ``PlayRun`` (the
controls, ``attach``/``detach``, ``since``, ``export``), each control a message down the pipe,
and a mirror of the run's frames that the worker's messages fill (``points`` appended, every
other field of ``Batch`` replaced by its newest value). Streams read the mirror, so the
server's process does no training and holds its interpreter lock only for HTTP.

A worker that dies (killed, out of memory) fails its runs with a sentence and is replaced; the
pool's ``close`` ends every worker (they also end by themselves when the server's end of their
pipe closes, so a killed server leaves none behind).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import itertools
import multiprocessing
import threading
import weakref
from typing import Any

from ..errors import NNFitError
from .playrun import Batch, check_speed

EXPORT_TIMEOUT = 120.0  # seconds an export may take in a worker (a long run's GIF)
# A worker left with no run and this much more memory than when it was warm is replaced by a
# fresh one (50 sessions at once left 14-18 MB per worker that malloc_trim could not return)
RECYCLE_MB = 8.0
_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()  # told at exit: no more replacements


@atexit.register
def _exiting() -> None:
    """The interpreter is ending (before multiprocessing ends the workers: atexit runs last
    registered first): a worker that ends now is not to be replaced."""
    for pool in list(_POOLS):
        pool.closing = True


class ExportFailed(NNFitError):
    """A worker could not make an export (the run is gone, or the export refused)."""

    code = "export_failed"  # the page words it (the English line as its detail)

    @property
    def params(self) -> dict[str, str]:
        return {"detail": str(self)}


class NoWorkers(NNFitError):
    """Every worker process has ended and none could take their place."""

    code = "no_workers"  # the page words it


def initial_fields() -> dict[str, Any]:
    """A run's ``Batch`` fields before its worker has said anything (``seq`` and ``points``
    are the mirror's own)."""
    values: dict[str, Any] = {"step": 0, "fit": None, "std": None, "state": "starting"}
    for spec in dataclasses.fields(Batch):
        if spec.name in values or spec.name in ("seq", "points"):
            continue
        if spec.default is not dataclasses.MISSING:
            values[spec.name] = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            values[spec.name] = spec.default_factory()
    return values


class RemoteRun:
    """A run trained by a worker process, as the server sees it (``PlayRun``'s interface)."""

    def __init__(self, worker: Worker, run_id: int, arguments: dict[str, Any]) -> None:
        self.worker, self.id, self.arguments = worker, run_id, arguments
        self.lock = threading.Lock()
        self.points: list[list[Any]] = []
        self.fields = initial_fields()
        self.ended = threading.Event()
        self.closed = False

    # -- controls: messages to the worker -------------------------------------------------------

    def start(self) -> None:
        """Hand the run to its worker (queued there until the worker is warm)."""
        self.worker.send(("start", self.id, self.arguments))

    def pause(self) -> None:
        """Hold the run at its next frame."""
        self.worker.send(("pause", self.id))

    def play(self) -> None:
        """Go on from a pause."""
        self.worker.send(("play", self.id))

    def step_once(self) -> None:
        """From a pause: play one more frame."""
        self.worker.send(("step_once", self.id))

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` times the run's first frame rate (checked here, as ``PlayRun``)."""
        self.worker.send(("speed", self.id, check_speed(speed)))

    def stop(self, *, wait: float = 0.0) -> None:
        """End training before its next step; wait up to ``wait`` seconds for it to end."""
        self.worker.send(("stop", self.id))
        if wait:
            self.ended.wait(wait)

    def close(self) -> None:
        """The server has let the run go: the worker stops it and forgets it (the mirror hears
        how it ended, then lets go of it too)."""
        self.closed = True
        self.worker.send(("forget", self.id))
        if self.finished:
            self.worker.forget(self.id)

    def attach(self) -> None:
        """A page's stream starts watching."""
        self.worker.send(("attach", self.id))

    def detach(self) -> None:
        """A page's stream went away (the worker stops the run after its grace period)."""
        self.worker.send(("detach", self.id))

    def export(self, kind: str) -> tuple[bytes, str, str]:
        """One of the run's products, made by its worker (``PlayRun.export``)."""
        return self.worker.request(("export", self.id), kind)

    # -- the mirror -----------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """starting, running, paused, done, stopped or failed."""
        return str(self.fields["state"])

    @property
    def finished(self) -> bool:
        """Whether the run has ended (done, stopped or failed)."""
        return self.state in ("done", "stopped", "failed")

    def since(self, seq: int) -> Batch:
        """The frames after ``seq`` and the newest of everything else, as ``PlayRun.since``."""
        with self.lock:
            points = [list(p) for p in self.points[max(0, seq) :]]
            return Batch(seq=len(self.points), points=points, **self.fields)

    def merge(self, fields: dict[str, Any]) -> None:
        """Take a worker's news: new loss points appended, the rest replaced."""
        with self.lock:
            self.points.extend(fields.pop("points", []))
            fields.pop("seq", None)
            self.fields.update(fields)
        if self.finished:
            self.ended.set()
            if self.closed:
                self.worker.forget(self.id)

    def fail(self, reason: str) -> None:
        """The worker is gone: the run failed, with ``reason`` for the page."""
        if not self.finished:
            self.merge({"state": "failed", "result": {"error": reason}})


class Worker:
    """One worker process, its pipe, and the thread that reads what it sends."""

    def __init__(self, pool: WorkerPool) -> None:
        from .worker import main

        self.pool = pool
        self.runs: dict[int, RemoteRun] = {}
        self.requests: dict[int, tuple[threading.Event, list[Any]]] = {}
        self.lock = threading.Lock()  # the run and request tables
        self.send_lock = threading.Lock()  # the pipe (never held with ``lock``: no deadlock)
        self.ready = threading.Event()
        self.warm_mb: float | None = None  # its memory once warm, before any run
        self.alive = True
        self.conn, child = pool.context.Pipe()
        self.process = pool.context.Process(
            target=main, args=(child,), name="nnfit-play-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.reader = threading.Thread(target=self._read, name="nnfit-play-reader", daemon=True)
        self.reader.start()

    @property
    def load(self) -> int:
        """Runs this worker is training now."""
        with self.lock:
            return sum(1 for run in self.runs.values() if not run.finished)

    def add(self, run: RemoteRun) -> None:
        with self.lock:
            self.runs[run.id] = run

    def forget(self, run_id: int) -> None:
        with self.lock:
            self.runs.pop(run_id, None)
            idle = not self.runs
        if idle:
            self.pool.recycle(self)

    def send(self, message: tuple[Any, ...]) -> None:
        """A message to the worker (dropped when it is gone: its runs have failed already)."""
        if not self.alive:
            return
        # a closed pipe: the reader sees it too and fails the runs
        with self.send_lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)

    def request(self, message: tuple[Any, ...], *args: Any) -> Any:
        """Send ``message`` with a request number, wait for the answer (or ExportFailed)."""
        number = next(self.pool.numbers)
        done, answer = threading.Event(), list[Any]()
        with self.lock:
            self.requests[number] = (done, answer)
        self.send((*message, number, *args))
        if not done.wait(EXPORT_TIMEOUT):
            with self.lock:
                self.requests.pop(number, None)
            raise ExportFailed(f"the export took more than {EXPORT_TIMEOUT:g} s; try a shorter run")
        payload, error = answer
        if error is not None:
            raise ExportFailed(error)
        return payload

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "batch":
                with self.lock:
                    run = self.runs.get(message[1])
                if run is not None:
                    run.merge(message[2])
            elif kind == "exported":
                with self.lock:
                    waiting = self.requests.pop(message[1], None)
                if waiting is not None:
                    waiting[1].extend(message[2:4])
                    waiting[0].set()
            elif kind == "ready":
                self.warm_mb = rss_mb(self.process.pid)
                self.ready.set()
        self._ended()

    def _ended(self) -> None:
        """The pipe closed: fail what this worker had, answer its requests, and let the pool
        replace it unless it is closing."""
        with self.lock:
            self.alive = False
            runs, requests = list(self.runs.values()), list(self.requests.values())
            self.runs.clear()
            self.requests.clear()
        for run in runs:
            run.fail("the process training this run ended unexpectedly; press Play again")
        for done, answer in requests:
            answer.extend([None, "the process training this run ended; play it again"])
            done.set()
        self.pool.replace(self)

    def close(self, timeout: float = 5.0) -> None:
        """End the worker: ask, then terminate it by its pid if it does not go."""
        with self.lock:
            if self.alive:
                with_pipe = True
                self.alive = False
            else:
                with_pipe = False
        if with_pipe:
            with self.send_lock, contextlib.suppress(OSError, ValueError):
                self.conn.send(("quit", 0))
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        self.conn.close()


def rss_mb(pid: int | None) -> float | None:
    """A process's resident memory in MB (Linux's /proc), or None where it cannot be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


class WorkerPool:
    """``size`` worker processes training the playground's runs.

    Args:
        size: how many worker processes (at least 1); each imports torch once (a few seconds,
            in the background from the start) and trains many runs, each in a thread.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.context = multiprocessing.get_context("spawn")
        self.numbers = itertools.count(1)
        self.lock = threading.Lock()
        self.closing = False
        self.recycle_mb = RECYCLE_MB
        _POOLS.add(self)
        self.workers = [Worker(self) for _ in range(size)]

    def run(self, arguments: dict[str, Any]) -> RemoteRun:
        """A run for ``PlayRun(**arguments)`` on the least busy worker (not started yet)."""
        with self.lock:  # (recycle takes this lock too: it never retires a worker given a run)
            alive = [w for w in self.workers if w.alive]
            if not alive:
                raise NoWorkers(
                    "the playground's worker processes have ended; restart nnfit serve (its "
                    "log says why)"
                )
            worker = min(alive, key=lambda w: w.load)
            run = RemoteRun(worker, next(self.numbers), arguments)
            worker.add(run)
        return run

    def recycle(self, worker: Worker) -> None:
        """A worker has no run left: if it holds more than ``recycle_mb`` above its warm
        memory (what many runs at once left behind), a fresh worker takes its place and it
        ends, so the server's memory goes back to what it was before the load."""
        with self.lock:
            if self.closing or worker not in self.workers or worker.warm_mb is None:
                return
            now = rss_mb(worker.process.pid)
            with worker.lock:
                busy = bool(worker.runs)
            if busy or now is None or now - worker.warm_mb < self.recycle_mb:
                return
            self.workers[self.workers.index(worker)] = Worker(self)
        threading.Thread(target=worker.close, name="nnfit-play-retire", daemon=True).start()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker is warm (torch imported); whether they all are."""
        return all(worker.ready.wait(timeout) for worker in list(self.workers))

    def replace(self, worker: Worker) -> None:
        """A worker ended by itself: start another in its place (not while closing, and not
        for one that ended before it was warm: that would fail again, for ever)."""
        with self.lock:
            if self.closing or worker not in self.workers or not worker.ready.is_set():
                return  # one that never got warm would fail again: no endless restarts
            self.workers[self.workers.index(worker)] = Worker(self)

    def close(self) -> None:
        """End every worker."""
        with self.lock:
            self.closing = True
            workers = list(self.workers)
        for worker in workers:
            worker.close()
