"""What the residuals of a fit on measurements still say: a pattern, a changing spread, outliers.

Read after a fit of one input, in x order (``residual_notes``): each finding is one plain
sentence with what to try. A pattern is a peak of the residuals' autocorrelation at a lag past
its first zero (a cycle the fit misses, with its period in x's units); a changing spread is
the residuals' spread in the last third of x against the first; outliers are rows more than
``OUTLIER`` robust standard deviations (1.4826 × the median absolute deviation) from the fit.
"""

from __future__ import annotations

import numpy as np

MIN_ROWS = 30  # fewer rows say too little about a pattern
PATTERN = 0.3  # an autocorrelation peak at least this high (and beyond chance) is a pattern
SPREAD = 3.0  # the spread changing this many times across x
OUTLIER = 4.0  # robust standard deviations from the fit


def residual_notes(
    x: np.ndarray, y: np.ndarray, y_pred: np.ndarray, x_name: str = "x"
) -> list[str]:
    """Sentences on the residuals y - y_pred of a one-input fit (x (n,), y and y_pred (n,)).

    Example:
        >>> residual_notes(year, co2, model.predict(year), "year")  # doctest: +SKIP
        ['The residuals still follow a pattern with a period of about 1 in year: ...']
    """
    x, residual = np.asarray(x, np.float64), np.asarray(y, np.float64) - np.asarray(y_pred)
    keep = np.isfinite(x) & np.isfinite(residual)
    x, residual = x[keep], residual[keep]
    if len(x) < MIN_ROWS:
        return []
    order = np.argsort(x, kind="stable")
    x, residual = x[order], residual[order]
    notes = []
    period = _period(x, residual)
    if period is not None:
        notes.append(
            f"The residuals still follow a pattern with a period of about {period:.2g} in "
            f"{x_name}: try more steps, a wider network or --hidden 64,64,64."
        )
    ratio = _spread_ratio(residual)
    if ratio is not None:
        grows = "grows" if ratio > 1 else "shrinks"
        factor = ratio if ratio > 1 else 1 / ratio
        notes.append(
            f"The residuals' spread {grows} {factor:.1f}x across {x_name}: the noise is not "
            "constant, so one RMSE does not describe every range (a log scale of y may fit "
            "better)."
        )
    outliers = _outliers(residual)
    if outliers.any():
        where = ", ".join(f"{v:.4g}" for v in x[outliers][:3])
        more = " ..." if outliers.sum() > 3 else ""
        notes.append(
            f"{int(outliers.sum())} row(s) lie far from the fit (more than {OUTLIER:g} robust "
            f"standard deviations; {x_name} = {where}{more}): check them, or try --loss huber."
        )
    return notes


def _period(x: np.ndarray, residual: np.ndarray) -> float | None:
    """The period of a cycle in the residuals (x's units), or None: the highest peak of their
    autocorrelation after it first crosses zero, if it is high and beyond chance."""
    r = residual - residual.mean()
    denominator = float(r @ r)
    if denominator <= 0:
        return None
    n = len(r)
    lags = np.arange(1, n // 2)
    acf = np.array([float(r[:-lag] @ r[lag:]) / denominator for lag in lags])
    below = np.nonzero(acf < 0)[0]
    if len(below) == 0:
        return None
    after = acf[below[0] :]
    peak = int(np.argmax(after)) + below[0]
    if acf[peak] < max(PATTERN, 3 / np.sqrt(n)):
        return None
    step = float(np.median(np.diff(x)))
    return float(lags[peak] * step) if step > 0 else None


def _spread_ratio(residual: np.ndarray) -> float | None:
    """Residual spread in the last third of x over the first third, when it changes over
    SPREAD times; else None."""
    third = len(residual) // 3
    first, last = residual[:third].std(), residual[-third:].std()
    if first <= 0 or last <= 0:
        return None
    ratio = float(last / first)
    return ratio if ratio >= SPREAD or ratio <= 1 / SPREAD else None


def _outliers(residual: np.ndarray) -> np.ndarray:
    """Rows more than OUTLIER robust standard deviations from the median residual."""
    center = np.median(residual)
    scale = 1.4826 * np.median(np.abs(residual - center))
    if scale <= 0:
        return np.zeros(len(residual), dtype=bool)
    return np.abs(residual - center) > OUTLIER * scale
