"""The leading member dimension: K networks trained as one (an ensemble).

Everything that knows about it lives here: the ``Members`` layer (K Linear layers as one
batched product), how many members a data set gets, which rows each member holds out, each
member's loss on its own rows, and the held-out means and standard errors that validate them.
Shapes: a mask or weights are (members, n); per-element losses (members, n, n_out).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.model_config import AUTO_MEMBERS as AUTO_MEMBERS  # re-exported: the rule is
from ..core.model_config import AUTO_WORK as AUTO_WORK  # torch-free, so sizes are checked
from ..core.model_config import auto_members as auto_members  # before torch loads
from ..errors import DataError


class Members(nn.Module):
    """``members`` independent Linear layers applied as one batched matrix product.

    Each member's weight (out, in) and bias (out,) start as ``nn.Linear``'s would. Input
    (n, in) is shared by all members; (members, n, in) gives each its own; out (members, n, out).
    """

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.members, self.in_features, self.out_features = members, in_features, out_features
        bound = 1 / in_features**0.5  # nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in))
        self.weight = nn.Parameter(torch.empty(members, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(members, out_features))
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (
            f"members={self.members}, in_features={self.in_features}, "
            f"out_features={self.out_features}"
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.dim() == 2:
            h = h.expand(self.members, *h.shape)
        # bmm then the bias: torch.baddbmm measured 2.5x slower on these small shapes
        return torch.bmm(h, self.weight.transpose(1, 2)) + self.bias.unsqueeze(1)


def holdout(n: int, members: int, val: float, seed: int) -> np.ndarray:
    """Which rows each member of an ensemble holds out: a (members, n) boolean mask.

    Each member holds out ``val`` of the rows, one block of a seeded permutation; a
    permutation gives ``floor(1 / val)`` disjoint blocks (val 0.2: 5-fold cross-validation),
    then the next member starts a fresh permutation. So 20 members at val 0.2 are 5-fold
    cross-validation repeated 4 times: every row is held out by several members and every
    member trains on a different 80%. One member holds out the same rows as
    ``nnfit.data.dataset.split``. All False (train on everything, no early stopping) when val
    is 0 or too few rows would be left to train on.
    """
    mask = np.zeros((members, n), dtype=bool)
    blocks = max(1, int(1 / val + 1e-9)) if val > 0 else 1  # disjoint blocks per permutation
    edges = np.round(np.arange(blocks + 1) * val * n).astype(int)
    largest = int(np.diff(edges).max())
    if largest < 1 or n - largest < 2:
        return mask
    rng = np.random.default_rng(seed)
    for member in range(members):
        block = member % blocks
        if block == 0:
            order = rng.permutation(n)
        mask[member, order[edges[block] : edges[block + 1]]] = True
    return mask


def check_holdout(holdout: Any, n: int) -> torch.Tensor:
    """A holdout mask as given (arrays, lists, tensors) → a (members, n) boolean tensor."""
    held = torch.as_tensor(np.asarray(holdout, dtype=bool))
    if held.ndim != 2 or held.shape[1] != n:
        shape = tuple(held.shape)
        raise DataError(f"holdout must be (members, rows) = (members, {n}), got {shape}")
    return held


def member_masks(
    members: int, holdout: torch.Tensor | None, n: int
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """An ensemble's row weights (members, n): 1 where a member trains on a row; and the
    held-out mask as floats (None when nothing is held out). (None, None) for one network."""
    if holdout is None:
        if members == 1:
            return None, None
        return torch.ones(members, n), None
    if holdout.shape != (members, n):
        raise DataError(
            f"holdout must be (members, rows) = ({members}, {n}), got {tuple(holdout.shape)}"
        )
    if members == 1 and not holdout.any():
        return None, None
    weights = (~holdout).float()
    if (weights.sum(dim=1) < 1).any():
        raise DataError("every member of the ensemble needs at least one row to train on")
    return weights, (holdout.float() if holdout.any() else None)


def row_losses(each: torch.Tensor) -> torch.Tensor:
    """Elementwise losses (members, n, n_out), or one network's (n, n_out) → (members, n)."""
    return each.mean(dim=-1).reshape(-1, each.shape[-2])


def member_losses(each: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Each member's mean loss over its own rows: elementwise losses (members, n, n_out) and
    row weights (members, n) (1 where the member uses the row, else 0) → (members,).
    One network's (n, n_out) counts as one member."""
    return (row_losses(each) * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def objective(
    loss_fn: nn.Module,
    each_loss: nn.Module,
    y_pred: torch.Tensor,
    yb: torch.Tensor,
    wb: torch.Tensor | None,
) -> torch.Tensor:
    """The loss to minimise: one network's, or for an ensemble the sum of each member's mean
    loss on its own rows (a sum, so no member's gradient depends on the others)."""
    if wb is None:
        return loss_fn(y_pred, yb)
    return member_losses(each_loss(y_pred, yb.expand_as(y_pred)), wb).sum()


def held_out_mean(values: torch.Tensor, held: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's mean over the ensemble members that held it out (cross-validation).

    values (members, n, ...) and held (members, n), 1 where a member held the row out →
    the means (rows held out, ...) and the (n,) boolean mask of those rows.
    """
    holders = held.sum(0)
    rows = holders > 0
    extra = (1,) * (values.ndim - 2)  # values' trailing dimensions, e.g. outputs
    weighted = (values * held.reshape(held.shape + extra)).sum(0)
    return weighted[rows] / holders[rows].reshape((-1, *extra)), rows


def standard_error(losses: torch.Tensor) -> float:
    """The standard error of the mean of ``losses`` (one per held-out row): std / sqrt(rows)."""
    n = losses.numel()
    return float(losses.double().std() / n**0.5) if n > 1 else 0.0
