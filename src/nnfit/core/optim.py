"""Optimisers and losses by name, as the CLI's --optimizer and --loss name them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


def make_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    """Build the optimiser ``name`` with learning rate ``lr`` (momentum variants use 0.9)."""
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=20)
    raise ValueError(f"unknown optimizer {name!r}")  # TrainConfig validated it already


def make_loss(name: str, reduction: str = "mean") -> nn.Module:
    """Build the loss ``name``: mean squared error, mean absolute error or Huber (delta 1).

    ``reduction="none"`` gives the loss of every element (for an ensemble's own weighting).
    """
    return {"mse": nn.MSELoss, "l1": nn.L1Loss, "huber": nn.HuberLoss}[name](reduction=reduction)


def make_schedule(
    name: str, optimizer: torch.optim.Optimizer, steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule ``name``: None for constant, or cosine decay over ``steps``."""
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    return None


def step_function(optimizer: torch.optim.Optimizer) -> Callable[[], object]:
    """``optimizer.step`` without the profiler-and-hooks wrapper torch puts around it.

    That wrapper costs 3-5% of a tiny network's step. nnfit registers no optimizer hooks, so
    when none are registered anywhere the wrapped function is called directly (under
    ``no_grad``, as the wrapper would); otherwise, or where torch has no such wrapper, the plain
    ``optimizer.step``.
    """
    from torch.optim import optimizer as optimizer_module

    inner = getattr(type(optimizer).step, "__wrapped__", None)
    hooks = (
        getattr(optimizer, "_optimizer_step_pre_hooks", None),
        getattr(optimizer, "_optimizer_step_post_hooks", None),
        getattr(optimizer_module, "_global_optimizer_pre_hooks", None),
        getattr(optimizer_module, "_global_optimizer_post_hooks", None),
    )
    patched = "step" in vars(optimizer)  # e.g. an LR scheduler counts steps through it
    if inner is None or patched or any(h is None or len(h) for h in hooks):
        return optimizer.step

    def step() -> object:
        with torch.no_grad():
            return inner(optimizer)

    return step
