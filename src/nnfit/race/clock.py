"""A race's one step clock: several trainings in lockstep, merged into one stream of snapshots.

Variants that cannot share one batched run (different optimisers, architectures...) train as
separate ``core.training.train`` calls, each in its own thread, each reporting to its own lane
(a ``Callback``). A lane's snapshot at step s waits until every lane still training has
reached step s too; the race snapshot of step s, carrying every variant's fit (``y_members``)
and loss (``member_loss``), then goes to the race's subscribers once. So the views see one
stream of immutable snapshots on one step clock, exactly as they see a single run.

A lane that has ended (its steps done, early stopping, divergence) keeps its final fit on
show; its loss is NaN from then on, until the race's final snapshot, which carries every
variant's final fit and loss. The leader (the lowest loss of the step) is the snapshot's
``y_pred`` and ``loss``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.callbacks import Callback
from ..core.history import History, Snapshot
from ..core.recorder import keep_frame

WAIT_S = 0.1  # a waiting lane looks again this often (a lane that failed wakes no one)


@dataclass
class Curves:
    """Every variant's training loss at every step the clock struck (not thinned)."""

    steps: list[int] = field(default_factory=list)
    losses: list[np.ndarray] = field(default_factory=list)  # (variants,) per step

    def of(self, variant: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) of one variant, the steps at which it still trained."""
        steps = np.array(self.steps, dtype=np.int64)
        losses = np.array([row[variant] for row in self.losses], dtype=np.float64)
        keep = ~np.isnan(losses)
        return steps[keep], losses[keep]


class Clock:
    """Strikes the race's steps: merges the lanes' snapshots into race snapshots.

    Args:
        names: each variant's name, lane by lane in order (a lane of k members names k).
        sizes: the variants each lane trains (its members).
        callbacks: the race's subscribers (live window, progress...): they see race snapshots.
        every: the steps between snapshots, the same in every lane.
    """

    def __init__(
        self,
        names: Sequence[str],
        sizes: Sequence[int],
        callbacks: Sequence[Callback],
        every: int,
    ) -> None:
        assert sum(sizes) == len(names)
        self.names, self.sizes = tuple(names), tuple(sizes)
        self.callbacks, self.every = list(callbacks), every
        self.history: History | None = None  # the race's History, from the first lane's
        self.curves = Curves()
        self._latest: list[Snapshot | None] = [None] * len(sizes)
        self._ended = [False] * len(sizes)
        self._struck = -1  # the last step emitted
        self._finished = False
        self._condition = threading.Condition()

    def lane(self, index: int) -> Lane:
        """The subscriber for lane ``index``'s training."""
        return Lane(self, index)

    # ----- called from the lanes' training threads -----

    def begin(self, history: History) -> None:
        """A lane began: the first one's data, grid and names become the race's History."""
        with self._condition:
            if self.history is not None:
                return
            self.history = History(
                x=history.x,
                y=history.y,
                x_grid=history.x_grid,
                hidden=history.hidden,
                activation=history.activation,
                noise_floor=history.noise_floor,
                x_names=history.x_names,
                y_names=history.y_names,
                x_val=history.x_val,
                y_val=history.y_val,
                settings={"train": dict(history.settings.get("train", {}))},
                variants=self.names,
            )
            for callback in self.callbacks:
                callback.on_train_begin(self.history)

    def arrive(self, index: int, snapshot: Snapshot) -> None:
        """Lane ``index`` recorded ``snapshot``: strike what every lane has reached, then wait
        (before the lane's next step) until this step has been struck."""
        with self._condition:
            self._latest[index] = snapshot
            if snapshot.final:
                self._ended[index] = True
            self._strike()
            while not snapshot.final and self._struck < snapshot.step and not self._finished:
                self._condition.wait(WAIT_S)

    def end(self, index: int, reason: str) -> None:
        """Lane ``index`` stopped training (``reason``: its History's stop reason)."""
        with self._condition:
            self._ended[index] = True
            if reason == "interrupted" and self.history is not None:
                self.history.stop_reason = "interrupted"
            self._strike()

    # ----- internals (the lock held) -----

    def _strike(self) -> None:
        """Emit the step every running lane has reached, or the final snapshot once all ended."""
        reported = all(s is not None for s in self._latest)
        running = [s for s, ended in zip(self._latest, self._ended, strict=True) if not ended]
        if running:
            steps = {-1 if s is None else s.step for s in running}
            step = steps.pop() if len(steps) == 1 else -1  # -1: not all there yet
            if reported and step > self._struck:
                self._emit(self._merge(step, final=False))
                self._struck = step
        elif not self._finished:
            self._finished = True
            if reported and self.history is not None:  # (else a lane failed: nothing to end)
                ends = [s.step for s in self._latest if s is not None]
                self._emit(self._merge(max(self._struck, *ends), final=True))
                for callback in self.callbacks:
                    callback.on_train_end(self.history)
        self._condition.notify_all()

    def _merge(self, step: int, *, final: bool) -> Snapshot:
        """The race snapshot: every lane's latest fits and losses, lane by lane."""
        fits, losses, timed = [], [], []
        for lane, snapshot in enumerate(self._latest):
            assert snapshot is not None
            lines = snapshot.y_members if snapshot.y_members is not None else snapshot.y_pred[None]
            loss = snapshot.member_loss
            if loss is None:
                loss = np.array([snapshot.loss])
            stopped = self._ended[lane] and snapshot.step != step  # it trains no more
            fits.append(lines[: self.sizes[lane]])  # (members, n_grid, n_out)
            losses.append(loss[: self.sizes[lane]])
            timed.append(np.full(self.sizes[lane], math.nan) if stopped else losses[-1])
        y_members, member_loss = np.concatenate(fits), np.concatenate(losses)
        clocked = np.concatenate(timed)  # the losses of the variants training at this step
        if not final:  # the final snapshot shows every variant's final loss
            member_loss = clocked
        finite = np.where(np.isfinite(member_loss), member_loss, np.inf)
        leader = int(np.argmin(finite))
        self.curves.steps.append(step)
        self.curves.losses.append(clocked)
        return Snapshot(
            step=step,
            loss=float(member_loss[leader]),
            y_pred=y_members[leader],
            final=final,
            y_members=y_members,
            member_loss=member_loss,
        )

    def _emit(self, snapshot: Snapshot) -> None:
        history = self.history
        assert history is not None
        history.snapshots = keep_frame(history.snapshots, snapshot, self.every)
        for callback in self.callbacks:
            callback.on_snapshot(snapshot)


class Lane(Callback):
    """One training's subscriber: hands its snapshots to the clock."""

    def __init__(self, clock: Clock, index: int) -> None:
        self.clock, self.index = clock, index

    def on_train_begin(self, history: History) -> None:
        self.clock.begin(history)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.clock.arrive(self.index, snapshot)

    def on_train_end(self, history: History) -> None:
        self.clock.end(self.index, history.stop_reason)
