"""``nnfit sweep --trials N --storage URL --study NAME``: one worker of an Optuna study.

Every process started with the same storage and study is a worker of one study: each asks
Optuna for a setting (sampled from the space's distributions), trains it over its seeds
(``trials.run_trial``), reports every snapshot to the pruner, and tells the result, until the
study holds N trials. The trials a worker runs one after another; its seeds batch. Trials
of different settings do not batch within a worker: the sampler picks each setting from the
results so far, and the pruner stops one trial, not a run of many (start more workers to use
more cores or machines).

The study counts a trial once: a trial whose worker died (no heartbeat) and was run again, one
that Ctrl-C cut short (its setting queued again) and one started past N by a race between
workers (``not_counted``) are left out of the N. A trial that crashes or whose networks all
diverged is failed with its ``reason`` and the study goes on; a storage that fails ends the
worker with one line and how to continue.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import NNFitError, UsageError
from ..safetext import printable
from .distributions import sampled, setting, suggest
from .plan import one_network_base, with_setting
from .results import SettingResult, shown_value
from .study import (
    PRUNERS,
    SAMPLERS,
    StudyPlace,
    counted,
    identity,
    import_optuna,
    join_study,
    make_pruner,
    make_sampler,
    open_storage,
    storage_error,
)
from .trials import Stopped, StorageGone, run_trial

if TYPE_CHECKING:
    from ..runs.config import RunConfig
    from .runner import SweepOutputs
    from .space import Space

MAX_TRIALS = 1_000_000
POLL = 1.0  # seconds between looks at other workers' running trials
REASON_LENGTH = 300


class TrialFailed(Exception):
    """A trial that crashed or diverged: failed with its reason, the study goes on."""


@dataclass(frozen=True)
class StudyOptions:
    """How the workers of a study sample, prune and stop."""

    place: StudyPlace
    trials: int  # the study's number of trials, all workers together
    sampler: str = "tpe"
    pruner: str = "median"

    def __post_init__(self) -> None:
        if isinstance(self.trials, bool) or not 1 <= self.trials <= MAX_TRIALS:
            raise UsageError(f"--trials must be a whole number from 1 to {MAX_TRIALS:,}")
        if self.sampler not in SAMPLERS:
            raise UsageError(f"--sampler must be one of {', '.join(SAMPLERS)}")
        if self.pruner not in PRUNERS:
            raise UsageError(f"--pruner must be one of {', '.join(PRUNERS)}")


def run_worker(
    base: RunConfig,
    space: Space,
    options: StudyOptions,
    outputs: SweepOutputs,
    *,
    preset: str,
) -> tuple[list[SettingResult], bool]:
    """Work on the study until it holds ``options.trials`` trials, then print its table
    (and save ``outputs.out``); returns the ranked results and whether Ctrl-C stopped it."""
    from ..runs.session import RunSignals
    from .report import report_study
    from .runner import load_sweep_data

    optuna = import_optuna()
    base = one_network_base(base)
    if base.data.file == "-":
        raise UsageError("workers of a study read their data from a file: not from stdin")
    grid = options.sampler == "grid"
    items = sampled(optuna, space, grid=grid)
    target = min(options.trials, len(space)) if grid else options.trials
    if target < options.trials:
        outputs.say(f"the grid has {len(space)} setting(s): {target} trial(s)")
    place = options.place
    storage = open_storage(optuna, place)
    with RunSignals() as signals, _quiet_heartbeat():
        data, digest = load_sweep_data(base, space, space.seeds, None, outputs.quiet)
        unit = data.y_units[0] if len(data.y_units) == 1 else ""
        about = identity(base.to_dict(), space, preset, digest) | {"unit": unit}
        try:
            study = join_study(
                optuna,
                storage,
                place,
                about,
                sampler=make_sampler(optuna, options.sampler, _grid(items) if grid else None),
                pruner=make_pruner(optuna, options.pruner, base.train.steps),
            )
        except NNFitError:
            raise
        except Exception as error:
            raise storage_error(place, error) from None
        signals.phase = "training"

        objective = _Objective(study, items, base, space, data, target, signals.stop, outputs)
        interrupted = False
        try:
            try:
                _work(optuna, study, objective, target, signals)
            except Stopped:
                interrupted = True
            signals.phase = "saving"
            results = report_study(study, place, outputs, target=target)
        except NNFitError:
            raise
        except Exception as error:  # the storage: Optuna's, SQLAlchemy's or the file's
            cause = error.__cause__ if isinstance(error, StorageGone) else error
            raise storage_error(
                place, cause or error, command=f"the same nnfit sweep command ({place.resume()})"
            ) from None
        if interrupted:
            print(
                printable(
                    "interrupted: the study keeps its finished trials (a trial cut short is "
                    f"queued again); continue with the same command ({place.resume()})"
                ),
                file=sys.stderr,
            )
    return results, interrupted


@contextlib.contextmanager
def _quiet_heartbeat() -> Iterator[None]:
    """Optuna's heartbeat thread dies with a traceback when the storage goes away; the main
    thread meets the same error at its next call and says it in one line."""
    previous = threading.excepthook

    def hook(args: Any) -> None:
        if args.thread is not None and args.thread.name.endswith("(_record_heartbeat)"):
            return
        previous(args)

    threading.excepthook = hook
    try:
        yield
    finally:
        threading.excepthook = previous


def _grid(items: list[Any]) -> dict[str, list[Any]]:
    from .distributions import grid_space

    return grid_space(items)


def _work(optuna: Any, study: Any, objective: Any, target: int, signals: Any) -> None:
    """Run trials until the study counts ``target`` and no other worker's trial is left
    running on a storage with a heartbeat (a dead worker's is failed and run again)."""
    from optuna.trial import TrialState

    storage = study._storage
    beats = getattr(storage, "get_heartbeat_interval", lambda: None)() is not None
    while True:
        if signals.stop.is_set():  # Ctrl-C between two trials
            raise Stopped
        if beats:
            optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        waiting = any(t.state == TrialState.WAITING for t in trials)
        if len(counted(trials)) < target or waiting:
            study.optimize(objective, n_trials=1, catch=(TrialFailed,))
        elif beats and any(t.state == TrialState.RUNNING for t in trials):
            time.sleep(POLL)  # another worker's trial: it finishes, or goes stale and reruns
        else:
            return


@dataclass(frozen=True)
class _Objective:
    """What a worker's trials share: the study, the space and its distributions, the base
    settings, the data, the study's N, the Ctrl-C event and where progress goes."""

    study: Any
    items: list[Any]
    base: RunConfig
    space: Space
    data: Any
    target: int
    stop: Any  # threading.Event: Ctrl-C
    outputs: SweepOutputs

    def __call__(self, trial: Any) -> float:
        """One trial: sample, train, report, score; a crash or total divergence fails it."""
        from optuna import TrialPruned

        study, space, outputs = self.study, self.space, self.outputs
        trials = counted(study.get_trials(deepcopy=False))
        if len([t for t in trials if t.number < trial.number]) >= self.target:
            trial.set_user_attr("not_counted", "surplus")  # another worker took the last one
            raise TrialFailed("surplus")
        params = {item.name: suggest(trial, item) for item in self.items}
        values = setting(self.items, params, space)
        about = ", ".join(f"{name} {shown_value(values[name])}" for name in space.varying)
        trial.set_user_attr("setting", {k: _plain(v) for k, v in values.items()})
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")  # who trains it
        try:
            config = with_setting(self.base, values)
            result = run_trial(trial, config, self.data, space.seeds, self.stop)
        except TrialPruned as pruned:
            outputs.say(f"trial {trial.number}: {about}: {pruned}")
            raise
        except Stopped:
            trial.set_user_attr("not_counted", "interrupted")
            study.enqueue_trial(params)  # the next worker trains this setting again
            raise
        except StorageGone:
            raise
        except Exception as error:  # any crash fails this trial only
            named = isinstance(error, NNFitError)
            return _failed(
                trial, about, str(error) if named else f"{type(error).__name__}: {error}", outputs
            )
        trial.set_user_attr("scores", result.scores)
        trial.set_user_attr("seconds", round(result.seconds, 4))
        value = result.value
        if all(result.scores["diverged"]) or value != value:  # nan: no finite held-out error
            return _failed(trial, about, f"diverged: all {space.seeds} network(s)", outputs)
        outputs.say(f"trial {trial.number}: {about}: CV RMSE {value:.4g} ({result.seconds:.2f} s)")
        return value


def _failed(trial: Any, about: str, reason: str, outputs: SweepOutputs) -> float:
    """Record why the trial failed, say it, and fail it (TrialFailed)."""
    reason = printable(reason)[:REASON_LENGTH]
    trial.set_user_attr("reason", reason)
    outputs.say(f"trial {trial.number}: {about}: failed: {reason}")
    raise TrialFailed(reason)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
