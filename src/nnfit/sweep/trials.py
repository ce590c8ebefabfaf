"""One Optuna trial of a sweep: a sampled setting trained over its seeds, reported, scored.

The trial's seeds train as one batched run (``batched.train_group``: the networks ``nnfit
sweep`` trains for that setting, fold j held out by seed j). Pruning is one more subscriber to
the snapshot stream: ``Pruning`` reports the snapshots' held-out loss (the mean over the
trial's networks; at most REPORTS evenly spaced snapshots per trial) to Optuna and, when the
pruner says so, sets the run's stop event, so the loop ends cleanly between two steps (the
core's ``Control``), as Ctrl-C would.

What a trial records (its user attributes) is what the results table needs: each seed's
held-out and training RMSE, divergence, step and dead units, and the seconds; a trial that
crashes or whose every network diverged is failed with its ``reason``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.callbacks import Callback
from .plan import Group, plan
from .space import Space

if TYPE_CHECKING:
    from ..core.history import Snapshot
    from ..runs.config import RunConfig
    from .objective import Scores, SweepData

REPORTS = 20  # reports to the pruner per trial, at most
SCORES = ("val_rmse", "train_rmse", "diverged", "step", "dead")  # kept per seed


class StorageGone(Exception):
    """The study's storage failed while a trial reported to it."""


class Stopped(Exception):
    """Ctrl-C (or SIGTERM) stopped the trial between two steps."""


class Pruning(Callback):
    """Reports each snapshot's held-out loss to an Optuna trial; stops the run when pruned.

    ``stop`` is the run's stop event (``Control.stop``); ``outer`` is the user's (Ctrl-C):
    either ends the run between two steps.
    """

    def __init__(
        self, trial: Any, stop: threading.Event, outer: threading.Event | None, *, cadence: int = 1
    ):
        self.trial, self.stop, self.outer, self.cadence = trial, stop, outer, cadence
        self.reporting = True  # False: only pass Ctrl-C on (the trial's later runs)
        self.pruned_at: int | None = None  # the step the pruner stopped the run at
        self.error: Exception | None = None  # the storage's, when reporting failed

    def on_snapshot(self, snapshot: Snapshot) -> None:
        if self.outer is not None and self.outer.is_set():
            self.stop.set()
        value = held_out_loss(snapshot)
        if not self.reporting or snapshot.final or value is None or self.stop.is_set():
            return
        if snapshot.step % self.cadence:  # between two reports
            return
        try:
            self.trial.report(value, snapshot.step)
            prune = self.trial.should_prune()
        except Exception as error:  # the database went away: end the run, say so after
            self.error = error
            self.stop.set()
            return
        if prune:
            self.pruned_at = snapshot.step
            self.stop.set()


def cadence(steps: int, every: int) -> int:
    """Steps between two reports: every snapshot's, or fewer snapshots' so that a trial
    reports at most REPORTS times (each report is a round trip to the storage, and the
    pruner's answer reads the study)."""
    snapshots = max(1, steps // every)
    return every * math.ceil(snapshots / REPORTS)


def held_out_loss(snapshot: Snapshot) -> float | None:
    """The mean held-out loss of a snapshot's networks (None when none is finite)."""
    losses = snapshot.member_val_loss
    if losses is None:
        losses = np.array([math.nan if snapshot.val_loss is None else snapshot.val_loss])
    finite = losses[np.isfinite(losses)]
    return float(finite.mean()) if finite.size else None


@dataclass(frozen=True)
class TrialResult:
    """A trained trial: each seed's scores (lists, JSON-ready) and the seconds taken."""

    scores: dict[str, list[Any]]
    seconds: float

    @property
    def value(self) -> float:
        """The trial's objective: the mean held-out RMSE over the seeds with a finite one."""
        finite = [v for v in self.scores["val_rmse"] if v is not None]
        return float(np.mean(finite)) if finite else math.nan


def run_trial(
    trial: Any, config: RunConfig, data: SweepData, seeds: int, outer: threading.Event | None
) -> TrialResult:
    """Train one setting over ``seeds`` seeds, reporting to ``trial``; TrialPruned when its
    pruner stops it, ``Stopped`` on Ctrl-C, ``StorageGone`` when reporting failed."""
    from optuna import TrialPruned

    from ..core.trainstate import Control
    from .batched import train_group

    _, groups = plan(config, Space((), seeds))  # L-BFGS: one network per run
    stop = threading.Event()
    pruning = Pruning(trial, stop, outer, cadence=cadence(config.train.steps, config.train.every))
    start = time.perf_counter()
    parts: list[tuple[Group, Scores]] = []
    for index, group in enumerate(groups):
        pruning.reporting = index == 0  # the pruner follows the first run's curve
        try:
            scores, _ = train_group(group, data, callbacks=[pruning], control=Control(stop=stop))
        except KeyboardInterrupt:
            if pruning.error is not None:
                raise StorageGone(str(pruning.error)) from pruning.error
            if pruning.pruned_at is not None:
                raise TrialPruned(f"pruned at step {pruning.pruned_at}") from None
            raise Stopped from None
        parts.append((group, scores))
    return TrialResult(_per_seed(parts, seeds), time.perf_counter() - start)


def _per_seed(parts: list[tuple[Group, Scores]], seeds: int) -> dict[str, list[Any]]:
    """Each score as a list in seed order (non-finite numbers as None)."""
    out: dict[str, list[Any]] = {name: [None] * seeds for name in SCORES}
    for group, scores in parts:
        for k, one in enumerate(group.trials):
            for name in SCORES:
                out[name][one.seed] = _plain(getattr(scores, name)[k])
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None
