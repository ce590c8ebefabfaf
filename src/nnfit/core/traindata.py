"""Data preparation for ``train``: arrays in, a small frozen ``TrainData`` out.

Everything here happens once, before the first step: converting to float32 tensors, checking
shapes, sampling the validation rows, the rows snapshots measure and the points the History
keeps for drawing, the plotting grid, the holdout masks of an ensemble and the column names.
The model's scaler and the device come later, in ``train``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..core.members import check_holdout
from ..core.recorder import make_grid, sample, sample_rows
from ..data.convert import as_columns, as_matrix, names_for
from ..errors import DataError, UsageError

N_EVAL = 10_000  # snapshots measure loss and dead units on at most this many training points
N_PLOT = 5_000  # the history keeps at most this many points for drawing


@dataclass(frozen=True)
class TrainData:
    """What ``train`` fits, ready to use: float32 tensors (rows, columns) on the CPU."""

    x: torch.Tensor  # (n, n_in) training inputs
    y: torch.Tensor  # (n, n_out) training targets
    x_grid: torch.Tensor  # (n_grid, n_in) where the fit is drawn; ``x`` itself when it is x
    x_names: tuple[str, ...]
    y_names: tuple[str, ...]
    x_val: torch.Tensor | None = None  # (n_val, n_in) validation rows (at most N_EVAL)
    y_val: torch.Tensor | None = None  # (n_val, n_out)
    holdout: torch.Tensor | None = None  # (members, n) bool: rows each member leaves out
    eval_rows: torch.Tensor | None = None  # training rows snapshots measure; None: all
    plot_rows: torch.Tensor | None = None  # training rows the History keeps; None: all
    val_plot_rows: torch.Tensor | None = None  # validation rows the History keeps; None: all
    noise_floor: float | None = None  # lowest reachable loss, drawn on the loss curve
    seed: int = 0  # seeded the samples above
    # the members are separate runs (a sweep's), not an ensemble: each stops early and is
    # restored on its own held-out loss, and members that diverge never stop the others
    apart: bool = False

    @property
    def validated(self) -> bool:
        """Whether there is a validation loss to record (a validation set or a holdout)."""
        return self.x_val is not None or (self.holdout is not None and bool(self.holdout.any()))


def prepare(
    x: Any,
    y: Any,
    *,
    x_val: Any = None,
    y_val: Any = None,
    holdout: Any = None,
    x_grid: Any = None,
    noise_floor: float | None = None,
    x_names: Sequence[str] | None = None,
    y_names: Sequence[str] | None = None,
    seed: int = 0,
    apart: bool = False,
) -> TrainData:
    """Check and convert the data to fit; ``train(model, (x, y))`` calls it with defaults.

    Args:
        x: inputs, shape (n,) or (n, n_in); lists, arrays, tensors and DataFrames work.
        y: targets, shape (n,) or (n, n_out).
        x_val, y_val: optional validation set (its loss is recorded; ``patience`` stops on it).
        holdout: for an ensemble (``model.members > 1``) instead of x_val, y_val: a boolean
            (members, n) mask of the rows each member leaves out of its training and is
            validated on (see ``nnfit.core.members.holdout``); the validation loss pools them.
        x_grid: where to draw the fit; default a line over x's range (see ``make_grid``).
        noise_floor: lowest reachable loss, drawn on the loss curve (synthetic data).
        x_names, y_names: column names, for labels; default a DataFrame's own, else x, y.
        seed: seeds the samples taken of big data sets (``train`` passes TrainConfig.seed).
        apart: with ``holdout``, the members are separate runs (a sweep's): each is stopped
            early on its own held-out loss and gets its own best weights back, and members
            that diverge are frozen without ending the others' training.

    Example:
        >>> data = prepare(*make_data(seed=0), noise_floor=0.2**2 / 12)
        >>> history = train(MLP(1, 10, 1, seed=0), data, TrainConfig(steps=100))
    """
    (x, x_found), (y, y_found) = as_columns(x, "x"), as_columns(y, "y")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; they must match")
    has_val = x_val is not None and y_val is not None
    if holdout is not None and has_val:
        raise UsageError("give either x_val and y_val or holdout, not both")
    held = None if holdout is None else check_holdout(holdout, x.shape[0])
    xv = as_matrix(x_val, "x_val") if has_val else None
    yv = as_matrix(y_val, "y_val") if has_val else None
    if xv is not None and yv is not None:  # a big validation set is measured on a sample
        val_rows = sample(xv.shape[0], N_EVAL, seed + 2)
        xv, yv = (xv, yv) if val_rows is None else (xv[val_rows], yv[val_rows])
    plot_rows = sample(x.shape[0], N_PLOT, seed)
    if x_grid is not None:
        grid = as_matrix(x_grid, "x_grid")
    else:  # with 3+ inputs the fit is drawn as predicted vs actual on the plotted points
        grid = make_grid(x) if x.shape[1] <= 2 else sample_rows(x, N_PLOT, seed)
    return TrainData(
        x=x,
        y=y,
        x_grid=grid,
        x_names=names_for(x_names, x_found, x.shape[1], "x"),
        y_names=names_for(y_names, y_found, y.shape[1], "y"),
        x_val=xv,
        y_val=yv,
        holdout=held,
        eval_rows=sample(x.shape[0], N_EVAL, seed + 1),
        plot_rows=plot_rows,
        val_plot_rows=None if xv is None else sample(xv.shape[0], N_PLOT, seed),
        noise_floor=noise_floor,
        seed=seed,
        apart=apart,
    )


def rows_of(values: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    """``values`` at ``rows`` (a sample), or all of it when rows is None."""
    return values if rows is None else values[rows.to(values.device)]
