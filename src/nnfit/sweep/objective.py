"""What a sweep's trial scores: each network's RMSE on its own held-out rows, in y's units.

The member for seed j holds out fold j of a k-fold split of the rows (``folds``: val 0.2 gives
5 folds; more seeds than folds start a fresh shuffle, as ``nnfit.core.members.holdout`` does),
so a setting's mean ± sd over its seeds is a cross-validated RMSE. How the trials were trained
(one batched run, one by one, elsewhere) does not enter: only the trained networks do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UsageError

if TYPE_CHECKING:
    from ..core.history import History
    from ..core.model import MLP

N_GRID = 200  # points a one-input fit is drawn on
N_SHOWN = 500  # rows whose predictions are kept to draw a fit of several inputs
KEPT_VALUES = 10_000_000  # predictions kept for the pictures, all networks together (40 MB)
MIN_POINTS = 20  # ... but at least this many per network


@dataclass(frozen=True)
class SweepData:
    """The rows every trial fits, the k-fold split and where the fits are drawn."""

    x: np.ndarray  # (n, n_in) float32
    y: np.ndarray  # (n, n_out) float32
    folds: np.ndarray  # (seeds, n) bool: the rows the member of seed j holds out
    x_grid: np.ndarray  # (n_grid, n_in): a line over x (one input) or a sample of rows
    grid_rows: np.ndarray | None  # the rows x_grid samples (several inputs), else None
    seed: int  # the first seed: of the split, the batches and seed 0's weights
    x_names: tuple[str, ...] = ("x",)
    y_names: tuple[str, ...] = ("y",)
    source: str = ""
    y_units: tuple[str, ...] = ()


def sweep_data(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seeds: int,
    val: float,
    seed: int,
    x_names: tuple[str, ...] = ("x",),
    y_names: tuple[str, ...] = ("y",),
    source: str = "",
    y_units: tuple[str, ...] = (),
    networks: int = 1,
) -> SweepData:
    """The data of a sweep with ``seeds`` seeds per setting, each holding out ``val`` of the
    rows (UsageError when nothing would be held out); ``networks`` in all, so that the fits
    kept for the pictures stay within KEPT_VALUES."""
    from ..core.members import holdout

    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    folds = holdout(len(x), seeds, val, seed)
    if not folds.any(axis=1).all():
        raise UsageError(
            f"a sweep scores each network on rows it held out: give --val above 0 that leaves "
            f"rows on both sides (val {val:g} of {len(x)} rows holds none out)"
        )
    rows = None
    points = KEPT_VALUES // max(1, networks * y.shape[1])
    if x.shape[1] == 1:
        points = min(N_GRID, max(MIN_POINTS, points))
        grid = np.linspace(x.min(), x.max(), points, dtype=np.float32).reshape(-1, 1)
    else:
        points = min(N_SHOWN, max(MIN_POINTS, points))
        rows = np.sort(np.random.default_rng(seed).permutation(len(x))[:points])
        grid = x[rows]
    return SweepData(x, y, folds, grid, rows, seed, x_names, y_names, source, y_units)


@dataclass(frozen=True)
class Scores:
    """Each member of a trained batch, scored: arrays with one entry per member."""

    val_rmse: np.ndarray  # RMSE on its held-out rows, y's units (nan if not finite)
    train_rmse: np.ndarray  # RMSE on the rows it trained on
    diverged: np.ndarray  # bool: its loss stopped being finite (it kept its last good weights)
    step: np.ndarray  # early stopping's pick, the last step, or the step it diverged at
    dead: np.ndarray  # share of its hidden units that are dead (constant on every row)
    y_grid: np.ndarray  # (members, n_grid, n_out) predictions on SweepData.x_grid


def score(model: MLP, history: History, data: SweepData, held: np.ndarray) -> Scores:
    """Score each member of ``model`` (trained by ``history``) on the rows ``held``
    (members, n) marks as its own held-out rows."""
    import torch

    from ..core.recorder import dead_per_member

    members = model.members
    device = model.x_mean.device  # trained on a GPU: scored there too

    def predict(rows: np.ndarray) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Every member's predictions in y's units, (members, rows, n_out), and activations."""
        y_scaled, hiddens = model.hidden_outputs(model.scale_x(torch.from_numpy(rows).to(device)))
        return model.unscale_y(y_scaled).reshape(members, len(rows), -1), hiddens

    with torch.no_grad():
        y_pred, hiddens = predict(data.x)
        y_grid = predict(data.x_grid)[0].float().cpu()
        dead = sum(dead_per_member(h) for h in hiddens)
    y_pred64 = y_pred.double().cpu().numpy()
    errors = ((y_pred64 - data.y.astype(np.float64)) ** 2).mean(axis=2)  # (members, n)
    with np.errstate(invalid="ignore", over="ignore"):
        val = np.sqrt((errors * held).sum(1) / np.maximum(held.sum(1), 1))
        train = np.sqrt((errors * ~held).sum(1) / np.maximum((~held).sum(1), 1))
    diverged = np.zeros(members, dtype=bool)
    diverged[list(history.diverged_members)] = True
    if history.stop_reason == "diverged":  # the run as a whole: every member that trained
        diverged[:] = True
    last = history.final.step
    steps = np.array([history.member_best_steps.get(k, last) for k in range(members)])
    if members == 1 and history.best_step is not None:
        steps[0] = history.best_step
    if history.stop_reason == "diverged" and history.diverged_at is not None:
        steps[:] = history.diverged_at  # (kept: each its last weights with a finite loss)
    for k, step in history.diverged_members.items():
        steps[k] = step
    return Scores(
        val_rmse=np.where(np.isfinite(val), val, np.nan),
        train_rmse=np.where(np.isfinite(train), train, np.nan),
        diverged=diverged,
        step=steps,
        dead=np.asarray(dead, dtype=np.float64) / sum(model.hidden),
        y_grid=y_grid.numpy(),
    )
