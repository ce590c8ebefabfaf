"""Stopping at a target R² (``TrainConfig.target_r2``): a stop condition in the data's terms.

R² is 1 - MSE / variance of y: with the MSE loss the snapshots already hold the mean squared
error (in the standardised units the loop trains in, where the variance is measured too), so
the check costs nothing. The validation R² decides when there is validation data (a
validation set or an ensemble's held-out rows), else the training R².
"""

from __future__ import annotations

import torch

from .history import Snapshot


class TargetR2:
    """Says when a snapshot's R² has reached ``target``.

    Args:
        target: the R² to reach (0 < target < 1).
        y_train: the training targets the snapshots' loss is measured on (standardised).
        y_val: the validation targets, if any (standardised).
    """

    def __init__(self, target: float, y_train: torch.Tensor, y_val: torch.Tensor | None) -> None:
        self.target = target
        self.train_var = _variance(y_train)
        self.val_var = None if y_val is None else _variance(y_val)

    def r2(self, snapshot: Snapshot) -> float | None:
        """The snapshot's R² (validation if it has a validation loss), or None if y is flat."""
        if snapshot.val_loss is not None:
            var = self.val_var or self.train_var  # held-out rows: the training rows' spread
            return None if not var else 1.0 - snapshot.val_loss / var
        return None if not self.train_var else 1.0 - snapshot.loss / self.train_var

    def reached(self, snapshot: Snapshot) -> bool:
        """Whether the snapshot's R² is at least the target."""
        r2 = self.r2(snapshot)
        return r2 is not None and r2 >= self.target


def _variance(y: torch.Tensor) -> float:
    """The mean over outputs of each output's variance (as the MSE averages over them)."""
    if y.shape[0] < 2:
        return 0.0
    return float(y.double().var(dim=0, unbiased=False).mean())
