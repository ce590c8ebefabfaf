"""Error measures in the user's units: RMSE, MAE and R²."""

from __future__ import annotations

import numpy as np


def regression_metrics(y: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of predictions; several outputs are averaged (R² per output first).

    Args:
        y: true values, shape (n,) or (n, n_out).
        y_pred: predictions of the same shape.

    Returns:
        ``{"rmse": ..., "mae": ..., "r2": ...}``; R² is nan when y is constant.

    Example:
        >>> regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))["mae"]
        0.3333333333333333
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y.shape)
    error = y_pred - y
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)  # (n_out,)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1 - (error**2).sum(axis=0) / total, np.nan)
    return {
        "rmse": float(np.sqrt((error**2).mean())),
        "mae": float(np.abs(error).mean()),
        "r2": float(r2.mean()),
    }


def format_metrics(metrics: dict[str, dict[str, float]], unit: str = "") -> str:
    """A small table: one row per set (train, val), columns RMSE, MAE, R²; a known ``unit``
    (from the file's units row) is named under the errors' headings."""
    lines = [f"{'':6}{'RMSE':>12}{'MAE':>12}{'R²':>9}"]
    if unit:
        shown = f"({unit[:10]})"
        lines.append(f"{'':6}{shown:>12}{shown:>12}")
    for name, row in metrics.items():
        lines.append(f"{name:6}{row['rmse']:12.5g}{row['mae']:12.5g}{row['r2']:9.4f}")
    return "\n".join(lines)
