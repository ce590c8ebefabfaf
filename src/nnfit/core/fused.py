"""Optimiser updates as a few operations on one flat buffer, with a learning rate per member.

torch's optimisers update each parameter tensor with a handful of small operations, and their
first step imports ``torch._dynamo`` (1.7 s here); a small network then spends more time calling
them than computing. ``flatten_parameters`` makes every parameter (and its gradient) a view into
one flat buffer, and ``FusedUpdate`` applies the update of torch's SGD, momentum, Nesterov, Adam,
AdamW or RMSprop to the whole buffer at once, with torch's own arithmetic and hyper-parameters:
elementwise operations give the same bits on a flat buffer as on each tensor, so a network
trains exactly as with torch's optimiser (``tests/test_fused.py``). The state lives in the torch
optimiser's ``state`` (as views of flat buffers): its ``state_dict`` and ``load_state_dict`` —
checkpoints, resume, learning-rate schedules — work unchanged.

Each member may have its own learning rate: ``scale`` (one factor per member) multiplies the
optimiser's current one, so a sweep over learning rates trains as one batched run.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

FUSED = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")  # not L-BFGS
BUFFERS = {  # the per-parameter state torch keeps, besides Adam's and RMSprop's step count
    "sgd": (),
    "momentum": ("momentum_buffer",),
    "nesterov": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "rmsprop": ("square_avg",),
}


def flatten_parameters(params: Sequence[torch.nn.Parameter]) -> tuple[torch.Tensor, torch.Tensor]:
    """Move ``params`` and their gradients into one flat buffer each; returns both buffers.

    Every parameter keeps its shape and values and becomes a view of the buffer (``.data`` is
    re-pointed), so the model, ``state_dict`` and in-place loads keep working on it.
    """
    flat = torch.cat([p.detach().reshape(-1) for p in params])  # (no autograd: no_grad needless)
    grad = torch.zeros_like(flat)
    for p, values, grads in zip(params, _views(flat, params), _views(grad, params), strict=True):
        p.data = values
        p.grad = grads
    return flat, grad


def _views(buffer: torch.Tensor, params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``buffer`` cut into views shaped like ``params``, in order."""
    sizes = [p.numel() for p in params]
    return [part.view(p.shape) for part, p in zip(buffer.split(sizes), params, strict=True)]


def member_scale(scale: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-member factors (members,) spread over the flat buffer of ``params`` (each
    parameter's leading dimension is the member)."""
    parts = [scale.reshape(-1, *([1] * (p.dim() - 1))).expand(p.shape).reshape(-1) for p in params]
    return torch.cat(parts)


class FusedUpdate:
    """The update of ``optimizer`` (built by ``make_optimizer`` as ``name``) on flat buffers.

    Args:
        optimizer: torch's optimiser over ``params``; it keeps the settings and state.
        name: one of FUSED.
        params: the parameters, already flattened into ``flat`` and ``grad``.
        flat, grad: the buffers ``flatten_parameters`` returned (the gradients must stay in
            ``grad``: clear them with ``zero_grad``, never by setting them to None).
        factors: None, or each member's learning-rate factor (members,): it multiplies the
            optimiser's learning rate for that member's weights.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        name: str,
        params: Sequence[torch.nn.Parameter],
        flat: torch.Tensor,
        grad: torch.Tensor,
        factors: torch.Tensor | None = None,
    ) -> None:
        scale = None if factors is None else member_scale(factors, params)
        self.optimizer, self.name, self.params = optimizer, name, list(params)
        self.flat, self.grad, self.scale = flat, grad, scale
        self.factors = factors
        self.members = self.params[0].shape[0]
        self.buffers = {key: torch.zeros_like(flat) for key in BUFFERS[name]}
        self.started = False  # momentum buffers start as the first gradient, as torch's do
        self.step_count = torch.zeros(())
        self.bind()
        # LR schedules warn unless the optimiser's own step ran; this update stands for it
        optimizer._opt_called = True  # type: ignore[attr-defined]

    def bind(self) -> None:
        """Make the optimiser's state views of the flat buffers, keeping any values it holds
        (call after ``optimizer.load_state_dict``)."""
        state = self.optimizer.state
        first = state.get(self.params[0], {})
        self.started = bool(first)
        if "step" in first:
            self.step_count.copy_(first["step"])
        for key, buffer in self.buffers.items():
            for p, view in zip(self.params, _views(buffer, self.params), strict=True):
                if key in state.get(p, {}) and state[p][key] is not None:
                    view.copy_(state[p][key])
        if self.started or self.name not in ("sgd", "momentum", "nesterov"):
            self._publish()

    def freeze(self, members: Sequence[int]) -> None:
        """Stop updating ``members`` (an ensemble's members that diverged)."""
        factors = self.factors if self.factors is not None else torch.ones(self.members)
        factors = factors.to(self.flat.device).clone()
        factors[list(members)] = 0
        self.factors, self.scale = factors, member_scale(factors, self.params)

    def zero_grad(self) -> None:
        """Clear the gradients in place (autograd then adds the new ones into the buffer)."""
        self.grad.zero_()

    def _publish(self) -> None:
        """Point torch's state at the buffers (what ``state_dict`` saves)."""
        views = {key: _views(buffer, self.params) for key, buffer in self.buffers.items()}
        for k, p in enumerate(self.params):
            entry = {key: views[key][k] for key in views}
            if self.name in ("adam", "adamw", "rmsprop"):
                entry = {"step": self.step_count, **entry}
            self.optimizer.state[p] = entry

    def step(self) -> None:
        """One update of every parameter from its gradient: torch's own arithmetic, operation
        for operation (so one network trains bit for bit as with torch's optimiser), or for
        Adam and AdamW on the CPU with one learning rate, torch's one-kernel fused Adam (the
        same update to float rounding, a quarter of the time on small networks)."""
        group, p, g = self.optimizer.param_groups[0], self.flat, self.grad  # (loads replace it)
        lr = group["lr"]
        if self.name in ("sgd", "momentum", "nesterov"):
            if self.name != "sgd":
                buf = self.buffers["momentum_buffer"]
                if self.started:
                    buf.mul_(group["momentum"]).add_(g, alpha=1 - group["dampening"])
                else:
                    buf.copy_(g)
                    self.started = True
                    self._publish()
                g = g.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
            self._add(g, -lr)
            return
        self.step_count += 1
        if self.name == "rmsprop":
            square_avg = self.buffers["square_avg"]
            square_avg.mul_(group["alpha"]).addcmul_(g, g, value=1 - group["alpha"])
            self._add(g, -lr, divisor=square_avg.sqrt().add_(group["eps"]))
            return
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = self.buffers["exp_avg"], self.buffers["exp_avg_sq"]
        if self.scale is None and p.device.type == "cpu":  # torch's one-kernel Adam (CPU)
            fused = torch._fused_adamw_ if self.name == "adamw" else torch._fused_adam_
            fused(
                [p],
                [g],
                [exp_avg],
                [exp_avg_sq],
                [],
                [self.step_count],
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                amsgrad=False,
                maximize=False,
            )
            return
        if self.name == "adamw":  # decoupled weight decay, before the step
            if self.scale is None:
                p.mul_(1 - lr * group["weight_decay"])
            else:
                p.mul_(self.scale.mul(-lr * group["weight_decay"]).add_(1))
        exp_avg.lerp_(g, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        step = float(self.step_count)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
        self._add(exp_avg, -lr / (1 - beta1**step), divisor=denom)

    def _add(
        self, update: torch.Tensor, factor: float, divisor: torch.Tensor | None = None
    ) -> None:
        """p += factor × update (/ divisor), times each member's learning-rate factor."""
        if self.scale is not None:
            update = update * self.scale
        if divisor is None:
            self.flat.add_(update, alpha=factor)
        else:
            self.flat.addcdiv_(update, divisor, value=factor)
