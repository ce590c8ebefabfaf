"""How a training step computes its gradients and updates the weights: two engines, one loop.

``Autograd`` is the lesson's way and the reference: a forward pass that autograd records,
``zero_grad``, ``loss.backward()``, the optimiser's step (the fused update of
``nnfit.core.fused``, torch's arithmetic on a flat buffer, or torch's own L-BFGS). It trains one
network (bit for bit as the lesson's plain loop does), L-BFGS, and anything the batched engine
does not cover.

``Batched`` trains an ensemble (``members`` > 1) with the hand-written pass of
``nnfit.core.batched`` and the flat, fused update of ``nnfit.core.fused``: the same losses and
updates to float rounding, several times faster on small networks, and each member may have
its own learning rate. Both keep their state in the torch optimiser, so checkpoints and resume
are the same for either.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..core.batched import BatchedPass, covers
from ..core.fused import FUSED, FusedUpdate, flatten_parameters
from ..core.members import objective
from ..core.model import MLP
from ..core.optim import make_loss
from ..core.train_config import TrainConfig


class Autograd:
    """A step through autograd: ``forward`` builds the graph, ``backward`` runs it; the update
    is the fused one (torch's arithmetic on a flat buffer), or torch's own L-BFGS."""

    def __init__(self, model: MLP, optimizer: torch.optim.Optimizer, config: TrainConfig) -> None:
        self.model, self.optimizer = model, optimizer
        self.loss_fn = make_loss(config.loss)
        self.each_loss = make_loss(config.loss, reduction="none")
        self.update = _fused(model, optimizer, config, None)
        self.step = self.update.step if self.update else optimizer.step

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor] | None]:
        """The loss (summed over members), the predictions and the activations' outputs."""
        y_pred, hiddens = self.model.hidden_outputs(x)
        return objective(self.loss_fn, self.each_loss, y_pred, y, weights), y_pred, hiddens

    def backward(self, loss: torch.Tensor) -> None:
        """Clear old gradients and compute new ones."""
        if self.update is None:
            self.optimizer.zero_grad()
        else:
            self.update.zero_grad()
        loss.backward()

    def loaded(self) -> None:
        """Point the loaded optimiser state back at the flat buffers."""
        if self.update is not None:
            self.update.bind()


class Batched:
    """An ensemble's step by hand: ``forward`` also writes the gradients; the update is fused.

    ``member_lr`` (one learning rate per member) scales the optimiser's learning rate member
    by member: the lr schedule still applies to all of them.
    """

    def __init__(
        self,
        model: MLP,
        optimizer: torch.optim.Optimizer,
        config: TrainConfig,
        member_lr: Sequence[float] | None = None,
    ) -> None:
        self.model, self.optimizer = model, optimizer
        update = _fused(model, optimizer, config, member_lr)  # first: the pass keeps views
        assert update is not None  # batched_fits checked the optimiser
        self.update, self.step = update, update.step
        self.pass_ = BatchedPass(model, config.loss, compile=config.compile)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor] | None]:
        """The summed member losses (gradients are computed with them), and the predictions
        and activations when the members were worked through in one chunk."""
        assert weights is not None  # an ensemble always has row weights (member_masks)
        return self.pass_(x, y, weights)

    def backward(self, loss: torch.Tensor) -> None:
        """Nothing left to do: ``forward`` wrote the gradients."""

    def loaded(self) -> None:
        """Point the loaded optimiser state back at the flat buffers."""
        self.update.bind()

    def diverged(self) -> list[int]:
        """The members whose loss in the last ``forward`` was not finite."""
        return torch.nonzero(~torch.isfinite(self.pass_.member_losses)).flatten().tolist()

    def freeze(self, members: Sequence[int]) -> None:
        """Train on without ``members``: their weights stay as they are."""
        if members:
            self.update.freeze(members)


def _fused(
    model: MLP,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    member_lr: Sequence[float] | None,
) -> FusedUpdate | None:
    """The model's parameters moved into flat buffers and their fused update (None: L-BFGS)."""
    if config.optimizer not in FUSED:
        return None
    params = list(model.parameters())
    flat, grad = flatten_parameters(params)
    factors = None
    if member_lr is not None:
        factors = torch.tensor(member_lr, dtype=flat.dtype, device=flat.device) / config.lr
    return FusedUpdate(optimizer, config.optimizer, params, flat, grad, factors)


def batched_fits(model: MLP, config: TrainConfig) -> bool:
    """Whether the batched engine covers this model and training (else autograd)."""
    return (
        model.members > 1
        and covers(model.activations)
        and config.optimizer in FUSED
        and all(p.dtype == torch.float32 for p in model.parameters())
    )


def make_engine(
    model: MLP,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    member_lr: Sequence[float] | None = None,
) -> Autograd | Batched:
    """The engine for this run: ``Batched`` where it fits, else ``Autograd``."""
    if batched_fits(model, config):
        return Batched(model, optimizer, config, member_lr)
    return Autograd(model, optimizer, config)
