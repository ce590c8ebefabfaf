"""Every view of a run: subscribers to the snapshot stream and the pictures drawn from a History.

``LiveWindow`` (a window that plays the fit while it trains), ``AnimationRecorder`` and
``animate`` (GIF/MP4), ``plot`` (the final picture), ``Progress`` (the terminal), ``JsonlLog``
(one JSON line per snapshot) and ``TensorBoardLog``. Imported lazily: ``import nnfit.views``
loads no matplotlib.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

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
__getattr__ = lazy_attributes(__name__, _HOMES)
