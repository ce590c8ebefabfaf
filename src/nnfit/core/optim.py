"""Optimisers and losses by name, as the CLI's --optimizer and --loss name them."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

DYNAMO_MARK = "__dynamo_disable"  # where torch._compile._disable_dynamo keeps its marked function


def make_optimizer(
    name: str,
    params: Iterable[torch.nn.Parameter],
    lr: float,
    *,
    momentum: float = 0.9,
    rmsprop_alpha: float = 0.99,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """Build the optimiser ``name`` with learning rate ``lr`` and its own constants: the
    ``momentum`` of momentum and Nesterov, RMSprop's smoothing ``rmsprop_alpha``, Adam's and
    AdamW's ``betas`` (the settings of the same names; the other optimisers ignore them).

    Its state and settings are torch's; the fused update (``nnfit.core.fused``) steps all but
    L-BFGS, reading these constants from the optimiser. Built without importing torch._dynamo
    (see ``without_dynamo``).
    """
    with without_dynamo():
        return _make_optimizer(name, list(params), lr, momentum, rmsprop_alpha, betas)


def _make_optimizer(
    name: str,
    params: list[torch.nn.Parameter],
    lr: float,
    momentum: float,
    rmsprop_alpha: float,
    betas: tuple[float, float],
) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if name == "nesterov":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=betas)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=rmsprop_alpha)
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


@contextmanager
def without_dynamo() -> Iterator[None]:
    """Let torch's optimisers keep their books without importing ``torch._dynamo``.

    ``Optimizer.add_param_group``, ``state_dict``, ``load_state_dict`` and ``zero_grad`` import
    torch._dynamo (1.7 s here) on their first call, only to mark themselves as never compiled.
    nnfit compiles none of them, so within this block each is marked as its own never-compiled
    version, as torch would mark it, and unmarked after (later callers get torch's own way).
    Where torch works otherwise, this does nothing and the import happens as before.
    """
    marked = []
    if "torch._dynamo" not in sys.modules:
        for name in ("add_param_group", "state_dict", "load_state_dict", "zero_grad"):
            inner = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
            if inner is not None and not hasattr(inner, DYNAMO_MARK):
                setattr(inner, DYNAMO_MARK, inner)
                marked.append(inner)
    try:
        yield
    finally:
        for inner in marked:
            delattr(inner, DYNAMO_MARK)
