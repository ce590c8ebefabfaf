"""What the residuals of a fit on measurements still say: a pattern, a changing spread, outliers.

Read after a fit on measurements (``residual_notes``): each finding is one plain sentence with
what to try. A pattern is a peak of the residuals' autocorrelation, in the order of an input, at
a lag past its first zero (a cycle the fit misses, with its period in that input's units); a
changing spread is the residuals' robust spread in the last third of x (of the fitted values,
for several inputs) against the first; outliers are rows more than ``OUTLIER`` robust standard
deviations (1.4826 × the median absolute deviation) from the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MIN_ROWS = 30  # fewer rows say too little about a pattern
MAX_ROWS = 100_000  # more rows are read as a seeded sample of this many
PATTERN = 0.3  # an autocorrelation peak at least this high (and beyond chance) is a pattern
SPREAD = 3.0  # the spread changing this many times across x
OUTLIER = 4.0  # robust standard deviations from the fit


def residual_notes(
    x: np.ndarray,
    y: np.ndarray,
    y_pred: np.ndarray,
    x_names: str | Sequence[str] = "x",
    y_names: Sequence[str] = (),
    *,
    rows: np.ndarray | None = None,
) -> list[str]:
    """Sentences on the residuals y - y_pred of a fit on measurements.

    x is (n,) or (n, n_in), y and y_pred (n,) or (n, n_out). A pattern is looked for along
    each input (in that input's order; the strongest one is named); a changing spread along x
    for one input, along the fitted values for several (where it shows whatever input drives
    it); outliers are located by x for one input, by row (1-based) for several. With several
    outputs each sentence starts with the output's name. ``rows`` gives the data's 0-based row
    of each row given (a caller that predicted only a sample; default: 0, 1, 2, ...).

    Example:
        >>> residual_notes(year, co2, model.predict(year), "year")  # doctest: +SKIP
        ['The residuals still follow a pattern with a period of about 1 in year: ...']
    """
    x2 = np.asarray(x, np.float64).reshape(len(x), -1)
    y2 = np.asarray(y, np.float64).reshape(len(y), -1)
    fit2 = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    names = [x_names] if isinstance(x_names, str) else list(x_names)
    names += [f"x{i + 1}" for i in range(len(names), x2.shape[1])]
    notes = []
    for k in range(y2.shape[1]):
        about = "" if y2.shape[1] == 1 else f"{y_names[k] if k < len(y_names) else k + 1}: "
        found = _notes(x2, y2[:, k], fit2[:, k], names, rows)
        notes += [about + note if not about else about + note[0].lower() + note[1:]
                  for note in found]  # fmt: skip
    return notes


def _notes(
    x: np.ndarray, y: np.ndarray, fit: np.ndarray, x_names: list[str], data_rows: Any
) -> list[str]:
    """residual_notes for one output: x (n, n_in), y and fit (n,)."""
    residual = y - fit
    keep = np.isfinite(x).all(axis=1) & np.isfinite(residual)
    if keep.sum() > MAX_ROWS:  # a seeded sample says as much, in bounded time
        chosen = np.random.default_rng(0).choice(np.flatnonzero(keep), MAX_ROWS, replace=False)
        keep = np.zeros_like(keep)
        keep[chosen] = True
    x, residual, fit = x[keep], residual[keep], fit[keep]
    rows = np.flatnonzero(keep)  # the data's row of each kept residual
    if data_rows is not None:
        rows = np.asarray(data_rows)[rows]
    if len(x) < MIN_ROWS:
        return []
    notes = []
    periods = [_period(*_sorted_by(x[:, i], residual)) for i in range(x.shape[1])]
    found = [(p[1], p[0], i) for i, p in enumerate(periods) if p is not None]
    if found:
        _, period, i = max(found)
        notes.append(
            f"The residuals still follow a pattern with a period of about {period:.2g} in "
            f"{x_names[i]}: try more steps, a wider network or --hidden 64,64,64."
        )
    one_input = x.shape[1] == 1
    along = x[:, 0] if one_input else fit
    ratio = _spread_ratio(_sorted_by(along, residual)[1])
    if ratio is not None:
        grows = "grows" if ratio > 1 else "shrinks"
        factor = ratio if ratio > 1 else 1 / ratio
        across = x_names[0] if one_input else "the fitted values"
        notes.append(
            f"The residuals' spread {grows} {factor:.1f}x across {across}: the noise is not "
            "constant, so one RMSE does not describe every range (when every y is above 0, "
            "--y-transform log may fit better)."
        )
    outliers = _outliers(residual)
    if outliers.any():
        if one_input:
            where = f"{x_names[0]} = " + ", ".join(f"{v:.4g}" for v in x[outliers, 0][:3])
        else:
            where = ("row " if outliers.sum() == 1 else "rows ") + ", ".join(
                str(r + 1) for r in rows[outliers][:3]
            )
        more = " ..." if outliers.sum() > 3 else ""
        notes.append(
            f"{int(outliers.sum())} row(s) lie far from the fit (more than {OUTLIER:g} robust "
            f"standard deviations; {where}{more}): check them, or try --loss huber."
        )
    return notes


def _sorted_by(key: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """key and residual in key's order."""
    order = np.argsort(key, kind="stable")
    return key[order], residual[order]


def _period(x: np.ndarray, residual: np.ndarray) -> tuple[float, float] | None:
    """The period of a cycle in the residuals (x's units, x sorted) and the height of its
    autocorrelation peak, or None: the highest peak of their autocorrelation after it first
    crosses zero, if it is high and beyond chance."""
    r = residual - residual.mean()
    denominator = float(r @ r)
    if denominator <= 0:
        return None
    n = len(r)
    lags = np.arange(1, n // 2)
    # every lag's sum of r[:-lag] * r[lag:] at once, by FFT (O(n log n), not O(n²))
    spectrum = np.fft.rfft(r, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), 2 * n)[lags] / denominator
    below = np.nonzero(acf < 0)[0]
    if len(below) == 0:
        return None
    after = acf[below[0] :]
    peak = int(np.argmax(after)) + below[0]
    if acf[peak] < max(PATTERN, 3 / np.sqrt(n)):
        return None
    step = float(x[-1] - x[0]) / (n - 1)  # the mean spacing: k rows on are k steps on
    return (float(lags[peak] * step), float(acf[peak])) if step > 0 else None


def _spread_ratio(residual: np.ndarray) -> float | None:
    """Residual spread in the last third of x over the first third, when it changes over
    SPREAD times; else None."""
    third = len(residual) // 3
    first, last = _robust_std(residual[:third]), _robust_std(residual[-third:])
    if first <= 0 or last <= 0:
        return None
    ratio = float(last / first)
    return ratio if ratio >= SPREAD or ratio <= 1 / SPREAD else None


def _robust_std(values: np.ndarray) -> float:
    """1.4826 × the median absolute deviation: the standard deviation of normal values, which a
    few outliers do not move."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _outliers(residual: np.ndarray) -> np.ndarray:
    """Rows more than OUTLIER robust standard deviations from the median residual."""
    center = np.median(residual)
    scale = _robust_std(residual)
    if scale <= 0:
        return np.zeros(len(residual), dtype=bool)
    return np.abs(residual - center) > OUTLIER * scale
