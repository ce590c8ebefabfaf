"""The playground's sessions: one per browser tab, each with its settings and its run.

A page asks for a session (``Sessions.create``) and names it in every request after; sessions
never share a run. The server's caps bound the work: at most ``max_sessions`` sessions (the
one idle longest makes room; one unused for ``idle`` seconds, its run over, is forgotten) and
``max_runs`` runs training at once, each refused with a line that says why. Torch-free: runs
import the core in their worker threads.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..memory import give_back
from .classroom import Classroom, locked
from .form import DEFAULT_CAPS, Caps, Refused, build_run_config, form_table
from .playdata import (
    MAKES_DATA,
    Edited,
    Upload,
    data_json,
    edit,
    receive_upload,
    run_data,
    session_dataset,
)
from .playrun import PlayRun, check_speed

if TYPE_CHECKING:
    from ..runs.config import RunConfig
    from .pool import RemoteRun, WorkerPool

    AnyRun = PlayRun | RemoteRun


class Busy(Refused):
    """The server is at its cap of sessions or runs; try again later (HTTP 503)."""


class UnknownSession(Refused):
    """No such session (expired, or never made); the page starts a new one (HTTP 404)."""


@dataclass
class PlaySession:
    """One tab: the settings it has chosen (checked one by one) and its current run."""

    id: str
    values: dict[str, Any] = field(default_factory=dict)
    run: AnyRun | None = None
    runs: int = 0  # runs started, the id of the newest
    speed: float = 1.0  # times the server's frame rate; kept for the next run
    used: float = field(default_factory=time.monotonic)
    locks: dict[str, Any] = field(default_factory=dict)  # a classroom link's fixed settings
    upload: Upload | None = None  # a table the page uploaded, kept in memory (playdata)
    edited: Edited | None = None  # the points as edited on the chart, until the data changes

    def set(self, name: str, value: Any, caps: Caps) -> None:
        """Change one setting, checked with the others (FieldError names it if refused)."""
        self.update({name: value}, caps)

    def update(self, changes: dict[str, Any], caps: Caps) -> None:
        """Change several settings at once, checked together: settings that must agree (the
        hidden layers and one activation per layer) change in one step."""
        values = self.checked({**self.values, **changes})
        build_run_config(values, caps, uploaded=self.upload is not None)
        self.values = values
        if MAKES_DATA & set(changes):
            self.edited = None  # other data: the chart's edits were of the old points

    def own_data_allowed(self) -> None:
        """Refuse an upload or a point edit when a classroom link fixed the data (a setting
        that makes the points): the teacher chose these points."""
        fixed = sorted(MAKES_DATA & set(self.locks))
        if fixed:
            raise Refused(
                f"this classroom link fixes the data ({', '.join(fixed)}): uploads and point "
                "edits are off",
                code="locked_data",
                params={"names": ", ".join(fixed)},
                setting=fixed[0],
            )

    def checked(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with the classroom link's locked settings (FieldError for one that asks
        for another value)."""
        return locked(values, self.locks) if self.locks else values


class Sessions:
    """Every session of the server, with its caps (thread-safe)."""

    def __init__(
        self,
        caps: Caps = DEFAULT_CAPS,
        *,
        max_sessions: int = 64,
        max_runs: int = 8,
        fps: float = 25.0,
        grace: float = 0.5,
        idle: float = 3600.0,
        workers: int = 0,
    ) -> None:
        self.caps, self.fps, self.grace, self.idle = caps, fps, grace, idle
        self.max_sessions, self.max_runs = max_sessions, max_runs
        self.lock = threading.Lock()
        self.sessions: dict[str, PlaySession] = {}
        self.defaults = {row["name"]: row["default"] for row in form_table(caps)}
        self.pool: WorkerPool | None = None
        if workers:
            from .pool import WorkerPool

            self.pool = WorkerPool(workers)

    def make_run(
        self,
        config: RunConfig,
        *,
        paused: bool,
        data: dict[str, Any] | None = None,
        race: Any = None,
    ) -> AnyRun:
        """A run of ``config`` (not started): in a worker process when the server has a pool,
        else in a thread of this process. ``data``: the rows to fit (an upload's or the
        chart's edits, as plain arrays), None for the points ``config`` makes; ``race``: a
        race of variants instead (see ``PlayRun``)."""
        arguments: dict[str, Any] = {
            "config": config,
            "caps": self.caps,
            "fps": self.fps,
            "grace": self.grace,
            "paused": paused,
            "data": data,
        }
        if race is not None:
            arguments["race"] = race
        if self.pool is not None:
            return self.pool.run(arguments)
        return PlayRun(**arguments)

    def create(self, classroom: Classroom | None = None) -> PlaySession:
        """A new session (locked to a classroom link's choice, if any); the one idle longest
        goes when the server is full."""
        with self.lock:
            now = time.monotonic()
            for old in [s for s in self.sessions.values() if now - s.used > self.idle]:
                if old.run is None or old.run.finished:  # a closed tab's leftovers
                    self._drop(old)
            if len(self.sessions) >= self.max_sessions:
                idle = [s for s in self.sessions.values() if s.run is None or s.run.finished]
                if not idle:
                    raise Busy(
                        f"the server is full ({self.max_sessions} sessions are training)",
                        code="busy.sessions",
                        params={"most": self.max_sessions},
                    )
                oldest = min(idle, key=lambda s: s.used)
                self._drop(oldest)
            session = PlaySession(secrets.token_urlsafe(16))
            if classroom is not None:
                session.locks = classroom.locks(self.defaults)
                session.values = dict(session.locks)
            self.sessions[session.id] = session
            return session

    def get(self, session_id: str) -> PlaySession:
        """The session, or UnknownSession."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise UnknownSession(
                    "unknown session; reload the page for a new one", code="unknown_session"
                )
            session.used = time.monotonic()
            return session

    def start(
        self, session: PlaySession, values: Any, *, paused: bool = False, race: Any = None
    ) -> AnyRun:
        """Check ``values`` (and a ``race``: see ``PlayRun``), stop the session's old run and
        start a new one."""
        if values is not None and not isinstance(values, dict):
            raise Refused("settings must be a table of name: value", code="malformed")
        values = session.checked(session.values if values is None else values)
        config = build_run_config(values, self.caps, uploaded=session.upload is not None)
        data = _run_data(session, values, self.caps)
        if race is not None:  # checked here, before the old run goes (and again where it trains)
            from .racing import check_race

            check_race(race, config, self.caps, locks=session.locks)
        with self.lock:
            training = sum(
                1
                for s in self.sessions.values()
                if s is not session and s.run is not None and not s.run.finished
            )
            if training >= self.max_runs:
                raise Busy(
                    f"the server is busy: {training} runs are training (at most "
                    f"{self.max_runs}); try again when one ends",
                    code="busy.runs",
                    params={"training": training, "most": self.max_runs},
                )
            if session.run is not None:
                session.run.stop()
                session.run.close()
            session.values = dict(values)
            session.runs += 1
            run = self.make_run(config, paused=paused, data=data, race=race)
            session.run = run
        run.start()
        run.set_speed(session.speed)
        return run

    # -- the session's data: an upload, the chart's edits (nnfit.web.playdata) ---------------

    def upload(self, session: PlaySession, name: Any, content: bytes) -> dict[str, Any]:
        """Keep an uploaded table for the session (its column choice starts afresh, as the
        CLI's with no --x or --y); the page then asks for the data (``preview``)."""
        session.own_data_allowed()
        upload = receive_upload(name, content, session.values.get("encoding"), self.caps)
        with self.lock:
            session.upload, session.edited = upload, None
            session.values = {k: v for k, v in session.values.items() if k not in ("x", "y")}
        return {"name": upload.name, "columns": list(upload.columns)}

    def remove_upload(self, session: PlaySession) -> None:
        """Forget the session's upload (and edits): its data is the function's again."""
        with self.lock:
            session.upload, session.edited = None, None
            session.values = {k: v for k, v in session.values.items() if k not in ("x", "y")}

    def edit(self, session: PlaySession, change: Any) -> dict[str, Any]:
        """Add, move or delete a point (``playdata.edit``), or ``{"action": "reset"}`` to go
        back to the data the settings make; answers the data as ``preview`` does."""
        if isinstance(change, dict) and change.get("action") == "reset":
            session.edited = None
        else:
            session.own_data_allowed()
            shown = session_dataset(
                session.values, self.caps, upload=session.upload, edited=session.edited
            )
            session.edited = edit(shown, change, self.caps)
        dataset = session_dataset(
            session.values, self.caps, upload=session.upload, edited=session.edited
        )
        kind = "edited" if session.edited else "upload" if session.upload else "function"
        return data_json(dataset, kind, session.upload)

    def set_speed(self, session: PlaySession, speed: Any) -> None:
        """Change how fast the session's runs play, the current one included."""
        session.speed = check_speed(speed)
        if session.run is not None:
            session.run.set_speed(session.speed)

    def reset(self, session: PlaySession) -> None:
        """Stop the session's run and forget it (the settings stay)."""
        with self.lock:
            run, session.run = session.run, None
        if run is not None:
            run.stop()
            run.close()

    def end(self, session: PlaySession) -> None:
        """The tab has closed: stop its run and forget the session."""
        with self.lock:
            if self.sessions.get(session.id) is session:
                self._drop(session)
            last = not self.sessions
        if last:  # the last tab has gone: give its memory back
            give_back()

    def _drop(self, session: PlaySession) -> None:
        """Forget a session and its run (the lock held)."""
        del self.sessions[session.id]
        if session.run is not None:
            session.run.stop()
            session.run.close()

    def close(self) -> None:
        """Stop every run and worker process (the server is shutting down)."""
        with self.lock:
            runs = [s.run for s in self.sessions.values() if s.run is not None]
        for run in runs:
            run.stop()
        if self.pool is not None:
            self.pool.close()


def _run_data(session: PlaySession, values: Any, caps: Caps) -> dict[str, Any] | None:
    """What a run of the session fits, as plain arrays; None when its settings make the data
    (the run then makes the same points itself, seeded)."""
    if session.upload is None and session.edited is None:
        return None
    return run_data(session_dataset(values, caps, upload=session.upload, edited=session.edited))
