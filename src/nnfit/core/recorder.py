"""Turning tensors into the pictures' inputs: the plotting grid, samples, snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from ..core.history import Snapshot
from ..core.members import held_out_mean, row_losses, standard_error
from ..core.model import MLP
from ..core.spread import Spread


def make_grid(x: torch.Tensor, *, n_1d: int = 200, n_2d: int = 60) -> torch.Tensor:
    """Where the fit is drawn: a line over x's range (1 input), a mesh (2 inputs), else x itself.

    One input that is already a fine, even, sorted grid (the lesson's ``linspace``) is used
    as it is: then the training step's own predictions are the picture, at no extra cost.
    """
    lo, hi = x.min(dim=0).values, x.max(dim=0).values
    if x.shape[1] == 1:
        if _is_even_grid(x[:, 0]):
            return x
        return torch.linspace(float(lo[0]), float(hi[0]), n_1d).unsqueeze(1)  # (n_1d, 1)
    if x.shape[1] == 2:
        a = torch.linspace(float(lo[0]), float(hi[0]), n_2d)
        b = torch.linspace(float(lo[1]), float(hi[1]), n_2d)
        mesh_a, mesh_b = torch.meshgrid(a, b, indexing="xy")
        return torch.stack([mesh_a.reshape(-1), mesh_b.reshape(-1)], dim=1)  # (n_2d**2, 2)
    return x


def _is_even_grid(x: torch.Tensor) -> bool:
    """50 to 2000 increasing values with steps equal to within 1%."""
    if not 50 <= len(x) <= 2000:
        return False
    steps = torch.diff(x.double())
    return bool(steps.min() > 0 and steps.max() <= 1.01 * steps.min())


def sample(n: int, k: int, seed: int) -> torch.Tensor | None:
    """Indices of a seeded random sample of k out of n (sorted), or None when all n fit."""
    if n <= k:
        return None
    rows = np.random.default_rng(seed).choice(n, size=k, replace=False, shuffle=False)
    return torch.from_numpy(np.sort(rows))  # O(k) memory even for 10 million rows


def sample_rows(values: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """At most k rows of values, a seeded random sample when there are more."""
    rows = sample(values.shape[0], k, seed)
    return values if rows is None else values[rows]


MAX_FRAMES = 1_000  # snapshots a History keeps, the final one included; longer runs are thinned
GRID_FRAMES = MAX_FRAMES - 2  # evenly spaced ones; plus the final and early stopping's pick


def frame_stride(step: int, every: int) -> int:
    """Steps between the evenly spaced snapshots a History keeps once ``step`` is recorded:
    ``every`` times the smallest power of two that leaves at most GRID_FRAMES of them."""
    last = max(step, 0) // every  # snapshots recorded at steps 0, every, ..., last * every
    k = 1
    while last // k + 1 > GRID_FRAMES:
        k *= 2
    return every * k


def keep_frame(snapshots: list[Snapshot], snapshot: Snapshot, every: int) -> list[Snapshot]:
    """``snapshots`` with ``snapshot`` added if the History keeps it: at most MAX_FRAMES.

    Kept: the final snapshot and the steps that are multiples of ``frame_stride`` (step 0 among
    them, so evenly spaced). Each time GRID_FRAMES is reached the stride doubles and every
    other kept snapshot goes. What is kept depends only on the list and the step, so a resumed
    run thins exactly as an uninterrupted one. Appending changes the list in place; thinning
    returns a new list instead, so a reader in another thread (a live window) never sees a
    list shrink under it. Subscribers still see every snapshot; only the History is thinned.
    """
    if snapshot.final:
        snapshots.append(snapshot)
        return snapshots
    stride = frame_stride(snapshot.step, every)
    if stride != frame_stride(snapshot.step - every, every):  # the cap is reached
        snapshots = [s for s in snapshots if s.step % stride == 0]
    if snapshot.step % stride == 0:
        snapshots.append(snapshot)
    return snapshots


def keep_best(snapshots: list[Snapshot], best_step: int | None) -> list[Snapshot]:
    """``snapshots`` (the final one last) with one at ``best_step``, the step early stopping
    went back to. If thinning dropped it, the final snapshot, recorded on those same restored
    weights, stands in for it, in its place by step."""
    if best_step is None or any(s.step == best_step for s in snapshots[:-1]):
        return snapshots
    earlier = [s for s in snapshots[:-1] if s.step < best_step]
    later = snapshots[len(earlier) : -1]
    return [*earlier, replace(snapshots[-1], final=False), *later, snapshots[-1]]


class Recorder:
    """Turns the model's current weights into a Snapshot (no gradients, no side effects).

    All tensors are standardised and on the model's device: x, y are (a sample of) the
    training rows, x_grid is where the fit is drawn, x_val/y_val the validation rows.
    An ensemble (``model.members > 1``) also has ``weights`` (members, n), 1 where a member
    trains on a row of x, and may have ``held`` (members, n), 1 where a member holds the row
    out: its loss is the members' mean training loss, its validation loss the loss over every
    held-out row, each predicted by the member that did not train on it (cross-validation).
    ``each_loss`` (the loss without reduction) also gives each snapshot its validation loss's
    standard error, which the "1se" stopping rule reads. An ensemble's snapshots carry the
    members' standard deviation on the grid (``y_std``) and, with ``member_lines``, the first
    that many members' own predictions there (``y_members``) and training losses
    (``member_loss``).
    """

    def __init__(
        self,
        model: MLP,
        loss_fn: torch.nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        x_grid: torch.Tensor,
        x_val: torch.Tensor | None = None,
        y_val: torch.Tensor | None = None,
        *,
        grid_is_x: bool = False,
        each_loss: torch.nn.Module | None = None,
        weights: torch.Tensor | None = None,
        held: torch.Tensor | None = None,
        member_lines: int = 0,
    ) -> None:
        self.model, self.loss_fn = model, loss_fn
        self.member_lines = min(member_lines, model.members) if model.members > 1 else 0
        self.each_loss, self.weights, self.held = each_loss, weights, held
        self.grid_is_x = grid_is_x  # the grid is x itself: predictions on x are the picture
        self.x, self.y, self.x_grid = x, y, x_grid
        self.x_val, self.y_val = x_val, y_val
        # with an identity scaler the grid's predictions need no unscaling (saves two ops)
        self.identity = model.y_transform == "none" and bool(
            (model.y_scale == 1).all() and (model.y_mean == 0).all()
        )

    def __call__(
        self,
        step: int,
        *,
        final: bool = False,
        loss: float | None = None,
        hiddens: Sequence[torch.Tensor] | None = None,
        y_pred: torch.Tensor | None = None,
    ) -> Snapshot:
        """The snapshot of the current weights.

        ``loss``, ``hiddens`` and ``y_pred`` may come from the training step's own forward pass
        when it ran on exactly this recorder's x and y (full batch): then no second pass is
        needed, and none at all for the grid when the grid is x.
        This runs every few steps, so it avoids every op it can.
        """
        model = self.model
        with torch.no_grad():
            if loss is None or hiddens is None or y_pred is None:
                y_pred, hiddens = model.hidden_outputs(self.x)
                loss = None
            y_pred = y_pred.detach()
            dead = tuple(_dead_units(h) for h in hiddens)
            val_loss = val_se = member_val = member_loss = None
            if self.weights is not None and self.each_loss is not None:  # an ensemble
                each = row_losses(self.each_loss(y_pred, self.y.expand_as(y_pred)))  # (members, n)
                member_loss = (each * self.weights).sum(1).div(self.weights.sum(1))  # (members,)
                if loss is None:
                    loss = float(member_loss.mean())
                if self.held is not None:
                    val_loss = float((each * self.held).sum() / self.held.sum())
                    member_val = (each * self.held).sum(1) / self.held.sum(1).clamp(min=1)
                    # rows held out by several members: one mean loss per row, so the
                    # standard error counts rows, not (member, row) pairs
                    val_se = standard_error(held_out_mean(each, self.held)[0])
            elif loss is None:
                loss = self.loss_fn(y_pred, self.y).item()
            if self.x_val is not None:
                y_val_pred = model.predict_scaled(self.x_val)
                val_loss = self.loss_fn(y_val_pred, self.y_val).item()
                if self.each_loss is not None:
                    val_se = standard_error(row_losses(self.each_loss(y_val_pred, self.y_val)))
            y_grid, y_std, y_members = self._grid(y_pred)
        return Snapshot(
            step=step,
            loss=loss,
            y_pred=y_grid,
            dead=dead,
            val_loss=val_loss,
            val_se=val_se,
            final=final,
            y_std=y_std,
            y_members=y_members,
            member_loss=self._member_loss(member_loss),
            member_val_loss=None if member_val is None else member_val.double().cpu().numpy(),
        )

    def _grid(
        self, y_pred: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The fit on the grid in user units, (n_grid, n_out); for an ensemble also the
        members' std there and the first ``member_lines`` members' own fits (or None).
        ``y_pred`` is the step's standardised prediction on x, used when the grid is x."""
        model = self.model
        if model.members == 1:
            y_grid = y_pred if self.grid_is_x else model.predict_scaled(self.x_grid)
            return self._unscaled(y_grid).cpu().numpy(), None, None
        if self.grid_is_x:  # every member's prediction is at hand: (members, n, n_out)
            spread = Spread()
            spread.add(y_pred.double())
            y_grid, y_std = model.unscale_spread(spread, y_pred.dtype)  # user units
        else:
            y_grid, y_std = model.predict_scaled_with_std(self.x_grid)
        y_members = None
        if self.member_lines:  # (member_lines, n_grid, n_out)
            members = (
                y_pred[: self.member_lines].double()
                if self.grid_is_x
                else model.member_outputs(self.x_grid, self.member_lines)
            )
            y_members = self._unscaled(members).cpu().numpy()
        return y_grid.cpu().numpy(), y_std.cpu().numpy(), y_members

    def _member_loss(self, losses: torch.Tensor | None) -> np.ndarray | None:
        """The training losses of the members drawn as lines (the first ``member_lines``)."""
        if losses is None or not self.member_lines:
            return None
        return losses[: self.member_lines].double().cpu().numpy()

    def _unscaled(self, y: torch.Tensor) -> torch.Tensor:
        """Standardised outputs → user units (skipped with an identity scaler)."""
        return y if self.identity else self.model.unscale_y(y)


def _dead_units(h: torch.Tensor) -> int:
    """Units whose output is the same on every point: they cannot bend the fit.

    h is (n, width), or (members, n, width) for an ensemble (every member's units counted).
    """
    return int(dead_per_member(h).sum())


def dead_per_member(h: torch.Tensor) -> np.ndarray:
    """Each member's dead units in one layer's outputs: h (members, n, width) → (members,);
    one network's (n, width) → (1,). A unit is dead when its output is the same on every
    point."""
    h = h.detach()
    if h.device.type == "cpu":  # numpy is several times quicker than torch on tiny arrays
        values = h.numpy()
        same = (values == values[..., :1, :]).all(axis=-2)  # (members, width) or (width,)
    else:
        same = (h == h[..., :1, :]).all(dim=-2).cpu().numpy()
    return same.reshape(-1, same.shape[-1]).sum(axis=-1)
