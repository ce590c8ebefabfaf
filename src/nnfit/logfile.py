"""The metrics log: one JSON object per recorded step, readable while training runs."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import IO, Any

from .callbacks import Callback
from .files import check_writable
from .history import History, Snapshot


class JsonlLog(Callback):
    """Append ``{"step", "loss", "val_loss", "dead", "time"}`` per snapshot to a .jsonl file.

    Each line is written whole and flushed, so ``tail -f`` works and an interrupted run leaves a
    valid log of the steps it made. An existing file is refused unless ``overwrite``.

    Example:
        >>> train(model, x, y, callbacks=[JsonlLog("run.jsonl")])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.path = check_writable(Path(path), overwrite=overwrite, flag="--log")
        self.file: IO[str] | None = None
        self.start = 0.0

    def on_train_begin(self, history: History) -> None:
        self.file = self.path.open("w", encoding="utf-8")
        self.start = time.perf_counter()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        assert self.file is not None, "on_train_begin opens the log"
        record = snapshot_record(snapshot, seconds=time.perf_counter() - self.start)
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def on_train_end(self, history: History) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def snapshot_record(snapshot: Snapshot, *, seconds: float | None = None) -> dict[str, Any]:
    """The log line of one snapshot: step, losses (null when not finite), dead units, time."""
    record = {
        "step": snapshot.step,
        "loss": _finite(snapshot.loss),
        "val_loss": _finite(snapshot.val_loss),
        "dead": list(snapshot.dead),
        "final": snapshot.final,
    }
    if seconds is not None:
        record["time"] = round(seconds, 6)
    return record


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
