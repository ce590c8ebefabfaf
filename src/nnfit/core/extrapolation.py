"""Inputs outside the training range: the one sentence that ``Regressor.predict`` warns with and
``nnfit predict`` prints.

A model learns its inputs' range only; beyond it a network's prediction is an extrapolation
(ReLU units continue in straight lines, tanh units flatten), however good the fit inside.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["extrapolation_note", "training_range"]


def training_range(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Each input column's smallest and largest value, x (n, n_in) → (x_min, x_max)."""
    return x.min(axis=0).astype(float).tolist(), x.max(axis=0).astype(float).tolist()


def extrapolation_note(
    x: np.ndarray, x_min: Sequence[float], x_max: Sequence[float], x_names: Sequence[str]
) -> str | None:
    """A sentence naming the columns of x (n, n_in) outside [x_min, x_max]; None if none is.

    Each column outside its range is quoted with its value farthest outside, e.g. "x = 400 is
    outside the training range 0 to 360 of temperature (3 of 5 rows): predictions there are
    extrapolations".
    """
    low, high = np.asarray(x_min, np.float64), np.asarray(x_max, np.float64)
    below, above = x < low, x > high  # (n, n_in); NaN is neither
    outside = below | above
    rows = int(outside.any(axis=1).sum())
    if rows == 0:
        return None
    width = np.where(high > low, high - low, 1.0)
    distance = np.where(below, low - x, 0.0) + np.where(above, x - high, 0.0)  # (n, n_in)
    columns = [j for j in range(x.shape[1]) if outside[:, j].any()]
    counted = f"{rows} of {len(x)} row{'s' if len(x) != 1 else ''}"

    def farthest(j: int) -> str:
        return _number(x[int(np.argmax(distance[:, j] / width[j])), j])

    def span(j: int) -> str:
        return f"{_number(low[j])} to {_number(high[j])}"

    ending = "predictions there are extrapolations"
    if len(columns) == 1:
        j = columns[0]
        label = "x" if x.shape[1] == 1 else x_names[j]
        return (
            f"{label} = {farthest(j)} is outside the training range {span(j)} of "
            f"{x_names[j]} ({counted}): {ending}"
        )
    parts = ", ".join(f"{x_names[j]} = {farthest(j)} (range {span(j)})" for j in columns)
    return f"x is outside the training range in {counted}: {parts}; {ending}"


def _number(value: float) -> str:
    """A value as a person writes it: 400, 0.25, 1.5e+06."""
    return f"{float(value):.6g}"
