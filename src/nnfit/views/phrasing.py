"""The core's hints in the words people type: settings named by flag (``--lr 0.125``), and
what the pictures say at the end of a run or a race."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..checks import flag
from ..core.diagnostics import Diagnosis, worded

if TYPE_CHECKING:
    from ..core.history import History


def phrased(diagnosis: Diagnosis) -> str:
    """The diagnosis' message naming settings by flag, as the terminal and pictures print it."""
    return worded(diagnosis, flag)


def final_note(history: History) -> str:
    """The note on the last frame: the diagnosis' short text, or a race's leader."""
    if history.variants:
        name, _ = _leader(history)
        return f"lowest loss: {name}" if name else ""
    from ..core.diagnostics import verdict

    return verdict(history).short


def footer(history: History) -> str:
    """The line under the final picture: the diagnosis, or for a race its leader."""
    if history.variants:
        name, loss = _leader(history)
        told = f"; lowest final loss: {name} ({loss:.4g})" if name else ""
        return f"{len(history.variants)} variants from the same initial weights{told}"
    from ..core.diagnostics import verdict

    return phrased(verdict(history))


def _leader(history: History) -> tuple[str, float]:
    """A race's variant with the lowest final loss, and that loss ("" when none is finite)."""
    losses = history.final.member_loss
    if losses is None or not np.isfinite(losses).any():
        return "", float("nan")
    best = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan)))
    return history.variants[best], float(losses[best])
