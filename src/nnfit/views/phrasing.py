"""The core's hints in the words people type: settings named by flag (``--lr 0.125``)."""

from __future__ import annotations

from ..checks import flag
from ..core.diagnostics import Diagnosis, worded


def phrased(diagnosis: Diagnosis) -> str:
    """The diagnosis' message naming settings by flag, as the terminal and pictures print it."""
    return worded(diagnosis, flag)
