"""The batched twin of autograd for an ensemble MLP: forward, loss and backward written out.

An ensemble of M networks (``MLP(..., members=M)``) is a chain of batched products: each layer
holds weights (M, out, in) and biases (M, out). Autograd records every operation of a step and
replays it backwards; for this one shape of network the backward pass is short enough to write
down, and doing so saves most of a small step's time (measured in bench/README.md):

    forward   z_l = a_{l-1} W_l^T + b_l,  a_l = act_l(z_l)        (a_0 = x, shared by members)
    loss      L = sum over members of each member's mean loss on its own rows
    backward  g = dL/dz_last;  dW_l = g^T a_{l-1},  db_l = sum_rows g,  g = act_l'(g W_l)

Each hidden layer l has its own activation act_l (``MLP.activations``). Their derivatives are
torch's own backward kernels (``aten.tanh_backward`` and so on, the ones autograd itself
calls), and gradients are written into the parameters' ``.grad``
in place. Many members are worked through in chunks that stay in the processor's cache.
``tests/test_batched.py`` checks every activation and loss against autograd.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.nn import functional as F

from ..core.members import Members
from ..core.model import MLP

aten = torch.ops.aten
CHUNK_ELEMENTS = 1 << 20  # a chunk of members holds at most this many activations per layer
# ... on a GPU, where a chunk is a round of kernel launches and not a cache's worth, chunks only
# bound memory: 2**27 float32 activations are 512 MiB a layer (bench/README.md, GPU)
DEVICE_CHUNK_ELEMENTS = 1 << 27


def chunk_elements(device: torch.device) -> int:
    """Activations per layer a chunk of members may hold on ``device``."""
    return CHUNK_ELEMENTS if device.type == "cpu" else DEVICE_CHUNK_ELEMENTS


# activation → its forward (in place where its backward reads only the output) and backward
# The backward reads the activation's output where ``KEEPS_OUTPUT`` says so, else its input.
FORWARD: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "sigmoid": torch.sigmoid_,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01, inplace=True),
    "elu": lambda z: F.elu(z, inplace=True),
    "gelu": F.gelu,
    "silu": F.silu,
    "softplus": F.softplus,
}
KEEPS_OUTPUT = frozenset({"relu", "tanh", "sigmoid", "leaky_relu", "elu"})
BACKWARD: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "relu": lambda g, h: aten.threshold_backward(g, h, 0),
    "tanh": aten.tanh_backward,
    "sigmoid": aten.sigmoid_backward,
    "leaky_relu": lambda g, h: aten.leaky_relu_backward(g, h, 0.01, True),
    "elu": lambda g, h: aten.elu_backward(g, 1.0, 1.0, 1.0, True, h),
    "gelu": lambda g, z: aten.gelu_backward(g, z),
    "silu": aten.silu_backward,
    "softplus": lambda g, z: aten.softplus_backward(g, z, 1.0, 20.0),
}
LOSSES = ("mse", "l1", "huber")


def covers(activations: Sequence[str]) -> bool:
    """Whether every hidden layer's activation has a batched forward and backward (else the
    model trains through autograd)."""
    return all(name in FORWARD and name in BACKWARD for name in activations)


class BatchedPass:
    """Forward, loss and backward of an ensemble ``model`` (members > 1), without autograd.

    ``__call__(x, y, weights)`` takes standardised rows x (n, n_in), y (n, n_out) and each
    member's row weights (members, n) (1 where it trains on the row), writes every parameter's
    gradient of the summed member losses into its ``.grad`` and returns that sum, plus the
    predictions (members, n, n_out) and each activation's output (members, n, width) when the
    members fit in one chunk (the snapshot reuses them), else None and None. Each member's own
    loss stays in ``member_losses`` (members,).
    """

    def __init__(self, model: MLP, loss: str, *, compile: bool = False) -> None:
        if model.members < 2 or not covers(model.activations) or loss not in LOSSES:
            raise ValueError(f"BatchedPass takes an ensemble MLP and one of the losses {LOSSES}")
        self.loss = loss
        # per hidden layer: its activation's forward, backward, and whether the backward
        # reads the output (else the input)
        self.forward_fns = [FORWARD[name] for name in model.activations]
        self.backward_fns = [BACKWARD[name] for name in model.activations]
        self.keeps_output = [name in KEEPS_OUTPUT for name in model.activations]
        self.members = model.members
        linears = [layer for layer in model.layers if isinstance(layer, Members)]
        params = [p for layer in linears for p in (layer.weight, layer.bias)]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        # detached views of the weights (no autograd bookkeeping) and the gradients to write
        self.params = [p.detach() for p in params]
        self.grads: list[torch.Tensor] = [p.grad for p in params]  # type: ignore[misc]
        self.widest = max(model.n_in, *model.hidden, model.n_out)
        self.member_losses = torch.zeros(self.members, device=self.params[0].device)
        self._weights: torch.Tensor | None = None  # the row weights ``_shares`` was made from
        self._shares = torch.empty(0)
        self._x: torch.Tensor | None = None  # the rows ``_x1`` was made from
        self._x1 = torch.empty(0)
        self.compiled: Callable[..., Any] | None = None  # the step through torch.compile
        self.compile = compile  # still to try: compiled on the first call, else plain

    def chunk(self, n: int) -> int:
        """Members per chunk for n rows: all of them, or as many as keep a layer in cache (in
        bounded memory on a GPU)."""
        most = chunk_elements(self.params[0].device)
        return max(1, min(self.members, most // max(1, n * self.widest)))

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, list[torch.Tensor] | None]:
        scale, x1 = self._scale(weights, y.shape[1]), self._augmented(x)
        size = self.chunk(x.shape[0])
        y_pred = hiddens = None
        for start in range(0, self.members, size):
            part = slice(start, start + size)
            step = self._step
            if self.compile or self.compiled is not None:
                step = self._compiled(x1, y, scale[part])
            if size == self.members:  # one chunk: the whole tensors, no views to make each step
                y_pred, hiddens = step(x1, y, scale, self.member_losses, self.params, self.grads)
                continue
            y_pred, hiddens = step(
                x1,
                y,
                scale[part],
                self.member_losses[part],
                [p[part] for p in self.params],
                [g[part] for g in self.grads],
            )
        total = self.member_losses.sum(dtype=torch.float64)  # float32 overflows on many members
        if size < self.members:
            return total, None, None
        return total, y_pred, hiddens

    def _step(
        self,
        x1: torch.Tensor,
        y: torch.Tensor,
        scale: torch.Tensor,
        losses: torch.Tensor,
        params: list[torch.Tensor],
        grads: list[torch.Tensor],
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Forward, loss and backward of a chunk of members: [x, 1] (n, n_in + 1), targets,
        the chunk's row shares, its losses and its weights and gradients (views to write)
        → the chunk's predictions and activations."""
        y_pred, saved = self._forward(x1, params)
        g = self._loss_gradient(y_pred, y, scale, losses)
        self._backward(x1, g, saved, params, grads)
        return y_pred, [h for h, _ in saved]

    def _compiled(
        self, x1: torch.Tensor, y: torch.Tensor, scale: torch.Tensor
    ) -> Callable[..., Any]:
        """The step through torch.compile, compiled on first use (1.3-1.5x faster steps for
        1,000 members and more, after 5-30 s of compiling; chunks of one size share one step);
        where torch cannot compile (no C compiler, an unsupported platform), the plain step,
        silently."""
        if self.compiled is None and self.compile:
            self.compile = False
            size = scale.shape[0]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compiled = torch.compile(self._step, dynamic=False)
                    losses = torch.zeros_like(self.member_losses[:size])
                    params = [p[:size].clone() for p in self.params]
                    compiled(x1, y, scale, losses, params, [torch.zeros_like(p) for p in params])
            except Exception:  # any failure of the compiler: the plain step is the same step
                return self._step
            self.compiled = compiled
        return self.compiled or self._step

    def _scale(self, weights: torch.Tensor, n_out: int) -> torch.Tensor:
        """Each member's loss is its mean over its own rows and the outputs: each row's share
        w / (rows of the member × n_out), (members, n, 1); kept while the weights are the same
        tensor (full batches)."""
        if self._weights is not weights:
            count = weights.sum(dim=1, keepdim=True).clamp_(min=1)
            self._weights, self._shares = weights, (weights / (count * n_out)).unsqueeze(-1)
        return self._shares

    def _augmented(self, x: torch.Tensor) -> torch.Tensor:
        """x (n, n_in) with a column of ones (n, n_in + 1), kept while x is the same tensor:
        the first layer's product then adds the bias too (measured 2x faster than a product and
        a broadcast add on these shapes)."""
        if self._x is not x:
            self._x, self._x1 = x, torch.cat((x, torch.ones_like(x[:, :1])), dim=1)
        return self._x1

    def _forward(
        self, x1: torch.Tensor, params: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """The chunk's predictions and, per hidden layer, its output and what its activation's
        backward reads (the output again, or the input)."""
        saved: list[tuple[torch.Tensor, torch.Tensor]] = []
        a = x1
        n_layers = len(params) // 2
        for layer in range(n_layers):
            weight, bias = params[2 * layer], params[2 * layer + 1]
            if layer == 0:  # shared rows: [x, 1] by each member's [W^T; b], one product
                z = torch.matmul(x1, torch.cat((weight.mT, bias.unsqueeze(1)), 1))
            else:
                z = torch.bmm(a, weight.transpose(1, 2)).add_(bias.unsqueeze(1))  # (not baddbmm:
                # measured 2.5x slower on these shapes)
            if layer == n_layers - 1:
                return z, saved
            a = self.forward_fns[layer](z)
            saved.append((a, a if self.keeps_output[layer] else z))
        raise AssertionError("an MLP has an output layer")

    def _loss_gradient(
        self, y_pred: torch.Tensor, y: torch.Tensor, scale: torch.Tensor, losses: torch.Tensor
    ) -> torch.Tensor:
        """Write each member's loss into ``losses``; return the gradient at the outputs."""
        r = y_pred - y
        if self.loss == "mse":
            g = r * scale
            torch.sum(g.mul(r), dim=(1, 2), out=losses)
            return g.mul_(2)
        if self.loss == "l1":
            torch.sum(r.abs().mul_(scale), dim=(1, 2), out=losses)
            return r.sign_().mul_(scale)
        # huber with delta 1: r²/2 inside [-1, 1], |r| - 1/2 outside
        each = torch.where(r.abs() <= 1, 0.5 * r * r, r.abs() - 0.5)
        torch.sum(each.mul_(scale), dim=(1, 2), out=losses)
        return r.clamp_(-1, 1).mul_(scale)

    def _backward(
        self,
        x1: torch.Tensor,
        g: torch.Tensor,
        saved: list[tuple[torch.Tensor, torch.Tensor]],
        params: list[torch.Tensor],
        grads: list[torch.Tensor],
    ) -> None:
        """Write the chunk's gradients, from ``g`` = dL/d(outputs), into ``grads``."""
        for layer in range(len(params) // 2 - 1, -1, -1):
            weight = params[2 * layer]
            grad_w, grad_b = grads[2 * layer], grads[2 * layer + 1]
            if layer == 0:  # [x, 1]^T by each member's g: the weights' and biases' at once
                both = torch.matmul(x1.t().unsqueeze(0), g)  # (m, n_in + 1, out)
                grad_w.copy_(both[:, :-1].mT)
                grad_b.copy_(both[:, -1])
            else:
                torch.bmm(g.transpose(1, 2), saved[layer - 1][0], out=grad_w)
                torch.sum(g, dim=1, out=grad_b)
            if layer:
                g = self.backward_fns[layer - 1](torch.bmm(g, weight), saved[layer - 1][1])
