"""A subscriber that writes a run to TensorBoard (extra ``tensorboard``).

Per snapshot: ``loss/train``, ``loss/val`` and ``units/dead``; at the end: the fit picture as the
image ``fit`` and, when known, the metrics as ``metrics/train_rmse``, ``metrics/val_r2``, ...
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.callbacks import Callback
from ..errors import UsageError

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from ..core.history import History, Snapshot
    from ..views.render import FitFigure


class TensorBoardLog(Callback):
    """Log losses, dead units, metrics and the fit picture for ``tensorboard --logdir``.

    Steps only move forward in the log: a final snapshot that went back to earlier weights (early
    stopping) adds no loss point, and the final picture and metrics are logged at the last step
    reached, because TensorBoard drops points logged after a later step as a restarted run's.

    Args:
        log_dir: folder for the event file, made if missing; point TensorBoard at it or at a
            parent that holds several runs.
        every_image: also log the fit picture every this many steps while training (None: only
            the final picture, with the diagnosis under it). Each picture costs a render.

    Example:
        >>> board = TensorBoardLog("runs/lesson")
        >>> history = train(model, (x, y), callbacks=[board])  # doctest: +SKIP
        >>> # then, in a shell: tensorboard --logdir runs
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, every_image: int | None = None) -> None:
        self.log_dir = Path(log_dir)
        if self.log_dir.exists() and not self.log_dir.is_dir():
            raise UsageError(
                f"--tensorboard {self.log_dir}: this is a file; give a folder for the event files"
            )
        if every_image is not None and (
            isinstance(every_image, bool) or not isinstance(every_image, int) or every_image < 1
        ):
            raise UsageError(
                f"every_image must be a whole number of at least 1, or None, got {every_image!r}"
            )
        self.every_image = every_image
        self.writer: SummaryWriter | None = None
        self.history: History | None = None
        self.figure: FitFigure | None = None  # the live figure for pictures during training
        self.last_step = -1  # the highest step logged so far

    def on_train_begin(self, history: History) -> None:
        self.writer = open_writer(self.log_dir)
        self.history, self.figure, self.last_step = history, None, -1

    def on_snapshot(self, snapshot: Snapshot) -> None:
        assert self.writer is not None, "on_train_begin opens the writer"
        step = snapshot.step
        if step <= self.last_step:  # back at earlier weights: those were logged at their step
            return
        self.last_step = step
        self.writer.add_scalar("loss/train", snapshot.loss, step)
        if snapshot.val_loss is not None:
            self.writer.add_scalar("loss/val", snapshot.val_loss, step)
        self.writer.add_scalar("units/dead", sum(snapshot.dead), step)
        if self.every_image and step % self.every_image == 0 and not snapshot.final:
            self.writer.add_image("fit", self._live_picture(snapshot), step, dataformats="HWC")

    def on_train_end(self, history: History) -> None:
        if self.writer is None:
            return
        if history.snapshots:
            self.writer.add_image("fit", final_picture(history), self.step, dataformats="HWC")
        metrics = history.settings.get("metrics")
        if metrics:
            self.log_metrics(metrics)
        self.writer.close()
        self.writer, self.history, self.figure = None, None, None

    @property
    def step(self) -> int:
        """The step the end-of-run records go to: the last one logged (0 before any)."""
        return max(self.last_step, 0)

    def log_metrics(
        self, metrics: Mapping[str, Mapping[str, float]], *, step: int | None = None
    ) -> None:
        """Log ``{"train": {"rmse": ...}, "val": {...}}`` as ``metrics/train_rmse``, ...

        Works after training too (``Regressor.metrics_`` is only known once ``fit`` returns):
        it then adds a small event file next to the first.
        """
        writer = self.writer if self.writer is not None else open_writer(self.log_dir)
        step = self.step if step is None else step
        for part, values in metrics.items():
            for name, value in values.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    writer.add_scalar(f"metrics/{part}_{name}", float(value), step)
        if writer is self.writer:
            writer.flush()
        else:
            writer.close()

    def _live_picture(self, snapshot: Snapshot) -> np.ndarray:
        """The fit at ``snapshot`` on a figure made once and updated (limits grow as needed)."""
        if self.figure is None:
            from ..views.render import FitFigure

            assert self.history is not None, "on_train_begin keeps the history"
            self.figure = FitFigure(self.history, live=True)
        return self.figure.render(snapshot)  # (height, width, 3) uint8


def final_picture(history: History) -> np.ndarray:
    """The final fit with the diagnosis under it, as ``nnfit.plot`` draws it: (h, w, 3) uint8."""
    from ..core.diagnostics import verdict
    from ..views.phrasing import phrased
    from ..views.render import FitFigure

    return FitFigure(history, footer=phrased(verdict(history))).render(history.final)


def open_writer(log_dir: Path) -> SummaryWriter:
    """A SummaryWriter on ``log_dir``; a one-line install hint when the extra is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError(
            "--tensorboard needs the tensorboard extra: pip install 'nnfit[tensorboard]'"
        ) from None
    return SummaryWriter(log_dir=str(log_dir))
