"""Each member's outcome: the single-run verdict's rules applied to every network of an
ensemble whose members train as independent single networks (``MLP(..., independent=True)``).

A History records an ensemble as one: its mean loss and its dead units summed over members.
``MemberRecord`` subscribes to the training stream and keeps what the rules read for each
member (its loss at every snapshot the History keeps, its dead units at the end);
``member_facts`` turns that and the History's per-member divergence into one ``RunFacts`` per
member, which ``nnfit.core.diagnostics.outcome`` classifies exactly as it does a single run.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.callbacks import Callback
from ..core.diagnostics import RunFacts, outcome, relu_units
from ..core.history import History, Snapshot
from ..core.members import row_losses
from ..core.model import MLP
from ..core.optim import make_loss
from ..core.recorder import dead_per_member, frame_stride


class MemberRecord(Callback):
    """Each member's loss at every snapshot, and its dead units at the final one.

    ``x``, ``y`` are the rows a single run's snapshots measure, in the user's units (the
    model's scaler is read when training begins, after ``fit`` has set it). Snapshots are
    thinned as the History thins them (``frame_stride``), so memory stays at most
    ``MAX_FRAMES`` x members numbers and ``losses`` lines up with ``history.snapshots``.
    """

    def __init__(
        self, model: MLP, x: torch.Tensor, y: torch.Tensor, *, loss: str = "mse", every: int = 1
    ) -> None:
        self.model, self.x, self.y, self.every = model, x, y, every
        self.each_loss = make_loss(loss, reduction="none")
        self.steps: list[int] = []
        self.rows: list[np.ndarray] = []  # (members,) losses, one array per recorded snapshot
        # dead units per hidden layer and member at the final snapshot, (layers, members)
        self.dead = np.zeros((len(model.hidden), model.members), dtype=np.int64)
        self.losses = np.zeros((0, model.members))  # (snapshots, members), set at the end

    def on_train_begin(self, history: History) -> None:
        device = next(self.model.parameters()).device
        with torch.no_grad():  # standardised, on the model's device, as training sees them
            self.xs = self.model.scale_x(self.x.to(device))
            self.ys = self.model.scale_y(self.y.to(device))

    def on_snapshot(self, snapshot: Snapshot) -> None:
        with torch.no_grad():
            y_pred, hiddens = self.model.hidden_outputs(self.xs)  # (members, n, n_out)
            each = row_losses(self.each_loss(y_pred, self.ys.expand_as(y_pred)))  # (members, n)
            losses = each.mean(dim=1).double().cpu().numpy()
        if snapshot.final:
            self.dead = np.stack([dead_per_member(h) for h in hiddens])
        else:  # thin as the History does: what it keeps depends only on the step
            stride = frame_stride(snapshot.step, self.every)
            if stride != frame_stride(snapshot.step - self.every, self.every):
                kept = [i for i, step in enumerate(self.steps) if step % stride == 0]
                self.steps = [self.steps[i] for i in kept]
                self.rows = [self.rows[i] for i in kept]
            if snapshot.step % stride != 0:
                return
        self.steps.append(snapshot.step)
        self.rows.append(losses)

    def on_train_end(self, history: History) -> None:
        """Line the losses up with the History's snapshots (the final one last); not after
        Ctrl-C, which may have come between the History's snapshot and this record's."""
        if history.stop_reason == "interrupted":
            return
        at = {step: row for step, row in zip(self.steps[:-1], self.rows[:-1], strict=True)}
        rows = [at[s.step] for s in history.snapshots[:-1]] + [self.rows[-1]]
        self.losses = np.stack(rows)  # (snapshots, members)


def member_facts(history: History, record: MemberRecord) -> list[RunFacts]:
    """One ``RunFacts`` per member: its own losses and dead units, and "diverged" for a member
    that diverged (frozen while the others trained on, or with the whole run)."""
    facts = []
    for k in range(history.members):
        reason = "diverged" if k in history.diverged_members else history.stop_reason
        dead, units = relu_units(record.dead[:, k].tolist(), history.hidden, history.activation)
        facts.append(
            RunFacts(
                losses=record.losses[:, k],
                noise_floor=history.noise_floor,
                stop_reason=reason,
                dead=dead,
                units=units,
            )
        )
    return facts


def member_outcomes(history: History, record: MemberRecord) -> list[str]:
    """Each member's verdict kind (``nnfit.core.diagnostics.KINDS``)."""
    return [outcome(facts) for facts in member_facts(history, record)]
