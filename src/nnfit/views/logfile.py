"""The metrics log: one JSON object per recorded step, readable while training runs."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from ..core.callbacks import Callback
from ..core.history import History, Snapshot
from ..io.files import open_new


class JsonlLog(Callback):
    """Append ``{"step", "loss", "val_loss", "dead", "time"}`` per snapshot to a .jsonl file.

    Each line is written whole and flushed, so ``tail -f`` works and an interrupted run leaves a
    valid log of the steps it made. An existing file is refused unless ``overwrite`` (and even
    then only a log nnfit wrote is replaced); the file is created exclusively, never through a
    symlink. If the disk fills up, logging stops with one warning and training goes on.

    Example:
        >>> train(model, (x, y), callbacks=[JsonlLog("run.jsonl")])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        from ..io.targets import check_output

        self.path = check_output(Path(path), flag="--log", kind="log", overwrite=overwrite)
        self.overwrite = overwrite
        self.file: IO[str] | None = None
        self.start = 0.0

    def on_train_begin(self, history: History) -> None:
        self.file = os.fdopen(open_new(self.path, overwrite=self.overwrite), "w", encoding="utf-8")
        self.start = time.perf_counter()

    def on_snapshot(self, snapshot: Snapshot) -> None:
        if self.file is None:  # closed after a failed write
            return
        record = snapshot_record(snapshot, seconds=time.perf_counter() - self.start)
        try:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()
        except OSError as error:
            print(
                f"nnfit: warning: --log {self.path}: {error.strerror}; the log stops at step "
                f"{snapshot.step}, training goes on",
                file=sys.stderr,
            )
            self._close()

    def on_train_end(self, history: History) -> None:
        self._close()

    def _close(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            with contextlib.suppress(OSError):
                file.close()


LOG_KEYS = ("step", "loss", "val_loss", "dead", "final")  # one metrics line, in this order


def snapshot_record(snapshot: Snapshot, *, seconds: float | None = None) -> dict[str, Any]:
    """The log line of one snapshot: step, losses (null when not finite), dead units, time."""
    scalars = snapshot.scalars()
    record = {key: scalars[key] for key in LOG_KEYS}
    if seconds is not None:
        record["time"] = round(seconds, 6)
    return record
