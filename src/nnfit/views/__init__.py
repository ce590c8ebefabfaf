"""Every view of a run: subscribers to the snapshot stream and the pictures drawn from a History.

``LiveWindow`` (a window that plays the fit while it trains), ``AnimationRecorder`` and
``animate`` (GIF/MP4), ``plot`` (the final picture), ``Progress`` (the terminal), ``JsonlLog``
(one JSON line per snapshot) and ``TensorBoardLog``. Imported lazily: ``import nnfit.views``
loads no matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "AnimationRecorder": "animation",
    "JsonlLog": "logfile",
    "LiveWindow": "live",
    "Progress": "terminal",
    "TensorBoardLog": "tensorboard",
    "animate": "animation",
    "plot": "plotting",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'nnfit.views' has no attribute {name!r}")
