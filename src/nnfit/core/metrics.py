"""Error measures in the user's units: RMSE, MAE and R² of a fit and of each ensemble member."""

from __future__ import annotations

import math
from typing import Any

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


MEMBER_ROWS_SHOWN = 40  # members listed by format_members; run.json keeps them all


def member_rows(
    members: int,
    held_out: tuple[np.ndarray, np.ndarray] | None,
    final_step: int,
    diverged: dict[int, int],
) -> list[dict[str, Any]]:
    """One row per member of an ensemble, for run.json and ``nnfit show``.

    Args:
        members: the ensemble's size.
        held_out: each member's sum of squared errors on the rows it held out (averaged over
            outputs) and the number of those rows, each (members,); None when none were held.
        final_step: the step whose weights the ensemble ends with.
        diverged: member → the step its loss stopped being finite (it was frozen there).

    Returns:
        ``{"member", "rmse", "rows", "stopped", "diverged_at"}`` per member: the RMSE on its
        held-out rows in y's units (None without held-out rows), how many, the step it stopped
        training at, and the step it diverged at (None: it did not).
    """
    rows = []
    for k in range(members):
        rmse = count = None
        if held_out is not None:
            squares, n = float(held_out[0][k]), int(held_out[1][k])
            count = n
            rmse = math.sqrt(squares / n) if n and math.isfinite(squares) else None
        diverged_at = diverged.get(k)
        stopped = final_step if diverged_at is None else min(final_step, diverged_at)
        rows.append(
            {
                "member": k,
                "rmse": rmse,
                "rows": count,
                "stopped": stopped,
                "diverged_at": diverged_at,
            }
        )
    return rows


def format_members(rows: list[dict[str, Any]], unit: str = "") -> str:
    """The members' table ``member_rows`` makes: held-out RMSE (in ``unit`` when known), rows,
    the step each stopped at and a note for a diverged (frozen) member; the first
    MEMBER_ROWS_SHOWN members."""
    heading = "held-out RMSE" + (f" ({unit[:10]})" if unit else "")
    lines = [f"{'member':>6}  {heading:>20}  {'rows':>5}  {'stopped':>8}"]
    for row in rows[:MEMBER_ROWS_SHOWN]:
        rmse = "-" if row["rmse"] is None else f"{row['rmse']:.5g}"
        count = "-" if row["rows"] is None else str(row["rows"])
        line = f"{row['member']:>6}  {rmse:>20}  {count:>5}  {row['stopped']:>8}"
        if row["diverged_at"] is not None:
            line += f"  diverged at step {row['diverged_at']}, frozen"
        lines.append(line)
    if len(rows) > MEMBER_ROWS_SHOWN:
        lines.append(f"{'':6}  ... and {len(rows) - MEMBER_ROWS_SHOWN} more (run.json)")
    return "\n".join(lines)
