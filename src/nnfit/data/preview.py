"""The lesson's data for a live window's first picture, made on NumPy while torch loads.

``make_data`` draws its noise from torch's CPU generator, a Mersenne Twister seeded as NumPy's
legacy ``RandomState`` is, and turns each 32-bit word into a float32 in [0, 1) from its low 24
bits. ``preview_data`` repeats that on NumPy, so the dots drawn before torch has loaded are the
data the run then fits, to float32 rounding (NumPy's linspace may differ from torch's in the
last bit; tests/test_preview.py compares them with ``make_data``). It is a picture only:
training always uses ``make_data``'s own tensors.
"""

from __future__ import annotations

import numpy as np

from ..errors import NNFitError
from .synthetic import DataConfig

__all__ = ["MAX_PREVIEW_POINTS", "preview_data"]

MAX_PREVIEW_POINTS = 100_000  # more points are not worth drawing before the run starts
_LOW_24 = (1 << 24) - 1  # torch's uniform float32 keeps a word's low 24 bits


def preview_data(config: DataConfig, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """``make_data(config, seed=seed)`` as float32 arrays (points, 1), without torch.

    Only for what it repeats faithfully: one input, uniform noise, at most MAX_PREVIEW_POINTS
    points; None otherwise (several inputs draw x at random, gaussian noise uses torch's own
    sampler) and for data ``make_data`` would refuse (it then says why).
    """
    from .formula import check_finite, resolve_function

    if not config.synthetic or config.noise != "uniform" or config.points > MAX_PREVIEW_POINTS:
        return None
    try:
        formula = resolve_function(config.function)
        if formula.n_inputs != 1:
            return None
        lo, hi = config.domain
        x = np.linspace(lo, hi, config.points, dtype=np.float32).reshape(-1, 1)  # (points, 1)
        clean = check_finite(formula, x.astype(np.float64))
    except NNFitError:
        return None
    y = clean.astype(np.float32).reshape(-1, 1)  # (points, 1)
    words = np.random.RandomState(seed % 2**32).randint(0, 2**32, y.size, dtype=np.uint64)
    noise = ((words & _LOW_24) * 2.0**-24).astype(np.float32).reshape(y.shape)
    return x, y + np.float32(config.noise_level) * noise
