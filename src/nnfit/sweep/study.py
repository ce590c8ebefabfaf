"""The Optuna study a sweep's workers share: its storage, sampler, pruner and identity.

The storage URL is passed through to Optuna: ``sqlite:///sweep.db`` (one machine, a few
workers), ``journal:///path/sweep.log`` (a journal file: one machine or a shared file
system) or ``postgresql+psycopg://user@host/db`` (many machines; ``postgresql://`` means the
same). Database storages keep a heartbeat per running trial: a trial whose worker died (killed,
machine lost) is failed once it has been silent for twice the interval, and run again by the
next worker that asks for a trial (Optuna's ``RetryHeartbeatStaleTrialCallback``). A journal
file has no heartbeat: a dead worker's trial stays ``running``.

The study remembers what it sweeps (the base settings, the space, the seeds and the data's
hash, in its user attributes): a worker started with other settings is refused, and
``--report`` rebuilds the sweep from the study alone.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..safetext import printable

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "hyperband", "none")
HEARTBEAT = 10  # seconds between a running trial's heartbeats (database storages)
SCHEMA_ATTEMPTS = 5  # tries at opening a database whose tables other workers create
MAX_RETRY = 2  # runs of a trial whose workers died, after the first
ABOUT = "nnfit.sweep"  # the study's user attribute holding what it sweeps
FORMAT = "nnfit.sweep-study/1"
INSTALL = "pip install 'nnfit[sweep]'"


def import_optuna() -> Any:
    """Optuna, quiet (the sweep prints its own lines), or a one-line install hint."""
    try:
        import optuna
    except ImportError:
        raise UsageError(f"sweeps with --storage need Optuna: {INSTALL}") from None
    import warnings

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # the heartbeat and its retry are marked experimental; nnfit pins what it uses by tests
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def shown_url(url: str) -> str:
    """A storage URL as messages show it: without its password."""
    return printable(re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url))


@dataclass(frozen=True)
class StudyPlace:
    """Where the study lives: a storage URL and the study's name."""

    storage: str
    study: str
    heartbeat: int = HEARTBEAT

    def __post_init__(self) -> None:
        if not self.study or not self.study.strip():
            raise UsageError("--study needs a name, like --study pressure-1")
        if self.heartbeat < 1:
            raise UsageError(
                f"--heartbeat must be a whole number of seconds from 1, got {self.heartbeat}"
            )
        kind = self.kind
        if kind is None:
            raise UsageError(
                f"--storage {shown_url(self.storage)} is not a storage nnfit knows: give "
                "sqlite:///sweep.db, journal:///path/sweep.log or "
                "postgresql+psycopg://user@host/db"
            )

    @property
    def kind(self) -> str | None:
        """``sqlite``, ``journal``, ``postgresql``, ``mysql`` or None (unknown)."""
        scheme = self.storage.partition("://")[0].partition("+")[0].lower()
        known = ("sqlite", "journal", "postgresql", "mysql")
        return scheme if "://" in self.storage and scheme in known else None

    @property
    def url(self) -> str:
        """The URL SQLAlchemy is given: PostgreSQL through psycopg (version 3)."""
        if self.storage.lower().startswith("postgresql://"):
            return "postgresql+psycopg://" + self.storage.partition("://")[2]
        return self.storage

    def resume(self) -> str:
        """The words of a resume hint: where the study is."""
        return f"--storage {shown_url(self.storage)} --study {printable(self.study)}"


def open_storage(optuna: Any, place: StudyPlace) -> Any:
    """The Optuna storage for ``place`` (UsageError, one line, when it cannot be reached)."""
    import warnings

    if place.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = place.storage.partition("://")[2]
        if not path:
            raise UsageError("--storage journal:///path/sweep.log needs a file path")
        try:
            return JournalStorage(JournalFileBackend(path))
        except OSError as error:
            raise UsageError(
                f"--storage {shown_url(place.storage)}: {printable(error.strerror or error)}"
            ) from None
    if place.kind == "postgresql":
        try:
            import psycopg  # noqa: F401  (SQLAlchemy's driver for postgresql+psycopg)
        except ImportError:
            raise UsageError(f"PostgreSQL storage needs psycopg: {INSTALL}") from None
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if place.kind == "sqlite":
        kwargs = {"connect_args": {"timeout": 60}}  # workers wait for each other's writes
    for attempt in range(SCHEMA_ATTEMPTS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the heartbeat is marked experimental
            try:
                return optuna.storages.RDBStorage(
                    place.url,
                    engine_kwargs=kwargs,
                    heartbeat_interval=place.heartbeat,
                    grace_period=2 * place.heartbeat,
                    heartbeat_stale_trial_callback=(
                        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
                    ),
                )
            except Exception as error:
                # workers started together on an empty database race to create its tables:
                # the losers see the winner's (a unique key violated) and try again
                raced = type(error).__name__ in ("IntegrityError", "ProgrammingError")
                if not raced or attempt == SCHEMA_ATTEMPTS - 1:
                    raise storage_error(place, error) from None
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def storage_error(place: StudyPlace, error: BaseException, *, command: str = "") -> UsageError:
    """The one line a storage that fails gets: what, where, and how to go on."""
    error = _root(error)
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = printable(text[0] if text else type(error).__name__)
    again = f"; the finished trials are kept there: resume with: {command}" if command else ""
    return UsageError(f"the study's storage {shown_url(place.storage)} failed: {first}{again}")


def _root(error: BaseException) -> BaseException:
    """The database's or the file's own error behind ``error``, when there is one (Optuna
    may raise another while cleaning up after it)."""
    seen: BaseException | None = error
    while seen is not None:
        module = type(seen).__module__.partition(".")[0]
        if module in ("sqlalchemy", "psycopg") or isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return error


def make_sampler(optuna: Any, name: str, grid: dict[str, list[Any]] | None) -> Any:
    """The sampler named by ``--sampler`` (unseeded: workers must not draw the same points)."""
    if name == "tpe":
        return optuna.samplers.TPESampler()
    if name == "random":
        return optuna.samplers.RandomSampler()
    return optuna.samplers.GridSampler(grid or {})


def make_pruner(optuna: Any, name: str, steps: int) -> Any:
    """The pruner named by ``--pruner``; the resource is the training step, and no trial is
    pruned in its first tenth of the steps (the first snapshots say little)."""
    warmup = max(1, steps // 10)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=warmup, max_resource=max(1, steps))
    return optuna.pruners.NopPruner()


def identity(settings: dict[str, Any], space: Any, preset: str, digest: str) -> dict[str, Any]:
    """What the study sweeps, as plain JSON data (compared between workers)."""
    return {
        "format": FORMAT,
        "preset": preset,
        "settings": settings,
        "space": [{"name": d.name, "text": d.text} for d in space.dimensions],
        "seeds": space.seeds,
        "sha256": digest,
    }


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two identities describe the same sweep: the data file may lie elsewhere on
    another machine (its hash must be the same)."""

    def text(about: dict[str, Any]) -> str:
        settings = {**about.get("settings", {})}
        settings["data"] = {k: v for k, v in settings.get("data", {}).items() if k != "file"}
        return json.dumps({**about, "settings": settings}, sort_keys=True)

    return text(a) == text(b)


def join_study(
    optuna: Any, storage: Any, place: StudyPlace, about: dict[str, Any], **kw: Any
) -> Any:
    """Create or load the study; refuse one that sweeps something else."""
    study = optuna.create_study(
        storage=storage, study_name=place.study, load_if_exists=True, direction="minimize", **kw
    )
    found = study.user_attrs.get(ABOUT)
    if found is None:
        study.set_user_attr(ABOUT, about)
        found = optuna.load_study(storage=storage, study_name=place.study).user_attrs[ABOUT]
    if not same(found, about):
        raise UsageError(
            f"study {printable(place.study)} in {shown_url(place.storage)} sweeps other "
            "settings or data; start this worker with the same command as the others, or "
            "choose another --study"
        )
    return study


def load_about(optuna: Any, storage: Any, place: StudyPlace) -> tuple[Any, dict[str, Any]]:
    """An existing study and what it sweeps (for ``--report``)."""
    try:
        study = optuna.load_study(storage=storage, study_name=place.study)
    except KeyError:
        raise UsageError(
            f"no study {printable(place.study)} in {shown_url(place.storage)}; start one with "
            "nnfit sweep DATA --trials N --storage URL --study NAME"
        ) from None
    about = study.user_attrs.get(ABOUT)
    if not isinstance(about, dict) or about.get("format") != FORMAT:
        raise UsageError(f"study {printable(place.study)} was not started by nnfit sweep")
    return study, about


def counted(trials: Sequence[Any]) -> list[Any]:
    """The trials that count towards the study's N: not those run again under a new number
    (their worker died), nor those marked ``not_counted`` (interrupted, surplus)."""
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", ())}
    return [t for t in trials if t.number not in retried and "not_counted" not in t.user_attrs]
