"""Subscribers to the training stream.

``train`` calls ``on_train_begin(history)`` once (data and grid filled in, no snapshots yet),
``on_snapshot(snapshot)`` every ``every`` steps and once more at the end, and
``on_train_end(history)`` when training has stopped for any reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.history import History, Snapshot


class Callback:
    """Base class for subscribers; override the hooks you need."""

    def on_train_begin(self, history: History) -> None:
        """Training is about to start; ``history`` holds the data and plotting grid."""

    def on_snapshot(self, snapshot: Snapshot) -> None:
        """A new snapshot was recorded."""

    def on_train_end(self, history: History) -> None:
        """Training stopped; ``history`` is complete."""


class Collect(Callback):
    """Keep every snapshot in a list (handy in tests and notebooks)."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)
