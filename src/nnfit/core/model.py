"""The network: a multi-layer perceptron with its data scaler built in."""

from __future__ import annotations

import numbers
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.members import Members
from ..errors import UsageError
from .model_config import (
    ACTIVATION_LAYERS,
    check_activation,
    check_hidden,
    check_members,
    layer_activations,
)
from .model_config import ModelConfig as ModelConfig  # the model's settings: model_config
from .model_config import check_size as check_size  # re-exported: the size check lives there
from .model_config import n_parameters as n_parameters
from .spread import Spread

ACTIVATIONS: dict[str, type[nn.Module]] = {
    name: getattr(nn, layer) for name, layer in ACTIVATION_LAYERS.items()
}


PREDICT_ELEMENTS = 1 << 20  # float64 activations a prediction of many members holds at once


class MLP(nn.Module):
    """Linear → activation → ... → Linear, as in the lesson's ``Net``.

    The scaler (``x_mean``, ``x_scale``, ``y_mean``, ``y_scale`` buffers) is part of the model, so
    ``model(x)`` takes and returns the user's units while ``layers`` works on standardised values.
    It is the identity until ``set_scaler`` is called.

    Args:
        n_in: number of input columns.
        hidden: width of the hidden layer, or widths of several, e.g. ``(32, 32)``.
        n_out: number of output columns.
        activation: name of the activation after every hidden layer (see ``ACTIVATIONS``), or
            one name per hidden layer, input side first: ``("relu", "tanh")``.
        seed: if given, initialise the weights from this seed without touching torch's global RNG;
            one seed per member (a sequence) draws each member's weights from its own seed, so
            a member is the same network whatever it is trained with.
        y_transform: "log" to fit log(y) (standardised when the scaler is set): the layers
            predict log(y) and ``model(x)`` returns exp of it, the members' geometric mean;
            "none" (the default) fits y itself. See ``nnfit.core.transform``.
        members: train this many networks of the same shape at once, as one batched
            computation (``Members`` layers); ``model(x)`` is their average. Their output
            layer starts at zero, so each member starts as the constant fit (the mean) and
            grows more curved as it trains: early stopping then picks among fits from simple
            to complex (measured: more robust on small noisy data than torch's default start).
        independent: members start as independent single networks instead: the output
            layer keeps its drawn weights, so with one seed per member, member k starts
            exactly as ``MLP(..., seed=seed[k])`` does and trains as that single network
            would (``nnfit doctor`` trains many seeds this way; ignored for one network).

    Example:
        >>> model = MLP(1, 10, 1, seed=0)
        >>> model(torch.zeros(5, 1)).shape
        torch.Size([5, 1])
    """

    # the scaler's buffers, registered in __init__
    x_mean: torch.Tensor
    x_scale: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor

    def __init__(
        self,
        n_in: int = 1,
        hidden: int | Sequence[int] = 10,
        n_out: int = 1,
        *,
        activation: str | Sequence[str] = "relu",
        seed: int | Sequence[int] | None = None,
        members: int = 1,
        y_transform: str = "none",
        independent: bool = False,
    ) -> None:
        super().__init__()
        widths = check_hidden((hidden,) if isinstance(hidden, int) else hidden)
        self.activation = check_activation(activation, len(widths))
        self.activations = layer_activations(self.activation, len(widths))  # one per layer
        if y_transform not in ("none", "log"):
            raise UsageError(f"y_transform must be none or log, got {y_transform!r}")
        self.y_transform = y_transform
        if check_members(members) == "auto":
            raise UsageError("MLP needs a member count; resolve 'auto' with auto_members first")
        check_size(n_in, widths, n_out, members=members)  # before any weight is allocated
        self.n_in, self.n_out, self.hidden, self.members = n_in, n_out, widths, int(members)

        def linear(n_from: int, n_to: int) -> nn.Linear | Members:
            return nn.Linear(n_from, n_to) if members == 1 else Members(members, n_from, n_to)

        seeds = None
        if seed is not None and not isinstance(seed, numbers.Integral):
            seeds = [int(s) for s in typing.cast(Sequence[int], seed)]
        if seeds is not None and len(seeds) != members:
            raise UsageError(f"seed: give one seed per member ({members}), got {len(seeds)}")
        with torch.random.fork_rng(devices=[]):
            if seed is not None and seeds is None:
                torch.manual_seed(int(seed))  # type: ignore[arg-type]
            layers: list[nn.Module] = []
            for n_from, n_to, name in zip((n_in, *widths), widths, self.activations):
                layers += [linear(n_from, n_to), ACTIVATIONS[name]()]
            last = linear(widths[-1], n_out)
            layers.append(last)
            self.layers = nn.Sequential(*layers)
        if seeds is not None:
            self._seed_members(seeds)
        if members > 1 and not independent:  # each starts as the constant mean (docstring)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        for name, size in (("x_mean", n_in), ("y_mean", n_out)):
            self.register_buffer(name, torch.zeros(size))
        for name, size in (("x_scale", n_in), ("y_scale", n_out)):
            self.register_buffer(name, torch.ones(size))

    def _seed_members(self, seeds: Sequence[int]) -> None:
        """Draw member k's weights and biases, layer by layer, from ``seeds[k]`` alone (the
        distribution ``nn.Linear`` uses: U(-1/sqrt(in), 1/sqrt(in)))."""
        with torch.no_grad():
            for k, member_seed in enumerate(seeds):
                generator = torch.Generator().manual_seed(int(member_seed))
                for weight, bias in self.member_layers(k):
                    bound = 1 / weight.shape[-1] ** 0.5
                    weight.uniform_(-bound, bound, generator=generator)
                    bias.uniform_(-bound, bound, generator=generator)

    @property
    def config(self) -> ModelConfig:
        """The ModelConfig this network was built from."""
        return ModelConfig(
            hidden=self.hidden,
            activation=self.activation,
            members=self.members,
            y_transform=self.y_transform,
        )

    def set_scaler(self, x: Any, y: Any) -> None:
        """Standardise with the mean and std of training data x (n, n_in) and y (n, n_out).

        Arrays or tensors; the statistics are taken in float64, so large offsets stay exact.
        With ``y_transform`` "log" they are log(y)'s.
        """
        for name, data in (("x", x), ("y", y)):
            values = torch.as_tensor(np.asarray(data, dtype=np.float64))
            if name == "y" and self.y_transform == "log":
                values = values.log()
            mean, std = values.mean(dim=0), values.std(dim=0)
            std = torch.where(std > 0, std, torch.ones_like(std))  # a constant column stays as is
            getattr(self, f"{name}_mean").copy_(mean)
            getattr(self, f"{name}_scale").copy_(std)

    def scale_x(self, x: torch.Tensor) -> torch.Tensor:
        """User units → standardised inputs."""
        return (x - self.x_mean) / self.x_scale

    def scale_y(self, y: torch.Tensor) -> torch.Tensor:
        """User units → standardised targets (of log(y) with ``y_transform`` "log")."""
        if self.y_transform == "log":
            y = y.log()
        return (y - self.y_mean) / self.y_scale

    def unscale_y(self, y: torch.Tensor) -> torch.Tensor:
        """Standardised outputs → user units."""
        y = y * self.y_scale + self.y_mean
        return y.exp() if self.y_transform == "log" else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict in user units: x (n, n_in) → y_pred (n, n_out) (the members' average)."""
        return self.unscale_y(self.predict_scaled(self.scale_x(x)))

    def predict_scaled(self, x_scaled: torch.Tensor) -> torch.Tensor:
        """Standardised x (n, n_in) → standardised prediction (n, n_out), averaged over members.

        Members are computed in float64, a chunk of them at a time (the chunk's activations
        within PREDICT_ELEMENTS), so rounding never reaches the float32 result and each row's
        prediction does not depend on how many rows are predicted with it.
        """
        if self.members == 1:
            return self.layers(x_scaled)
        return self._spread(x_scaled, std=False).mean().to(x_scaled.dtype)

    def predict_with_std(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (n, n_in) in user units → (y_pred, y_std), each (n, n_out) in user units.

        ``y_pred`` equals ``forward``'s; ``y_std`` is the standard deviation of the members'
        predictions (divided by the member count, as ``np.std``), computed in float64 and
        rounded once to x's dtype; zeros for one network. With ``y_transform`` "log" it is the
        members' spread of log(y) times the prediction (to first order, the spread of y).
        """
        y_pred, y_std = self.predict_scaled_with_std(self.scale_x(x))
        return y_pred, y_std.to(x.dtype)

    def predict_scaled_with_std(self, x_scaled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised x (n, n_in) → ``predict_with_std``'s (y_pred in x's dtype, y_std in
        float64), each (n, n_out) in user units."""
        if self.members == 1:
            y_scaled = self.layers(x_scaled)
            return self.unscale_y(y_scaled), torch.zeros_like(y_scaled, dtype=torch.float64)
        return self.unscale_spread(self._spread(x_scaled, std=True), x_scaled.dtype)

    def unscale_spread(
        self, spread: Spread, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Members' standardised predictions gathered in ``spread`` → their average in user
        units (in ``dtype``) and their standard deviation in user units (float64), (n, n_out)."""
        y_std = spread.std() * self.y_scale.double()  # (n, n_out), user units (or log's)
        y_pred = self.unscale_y(spread.mean().to(dtype))
        if self.y_transform == "log":
            y_std = y_std * y_pred.double()
        return y_pred, y_std

    def member_outputs(self, x_scaled: torch.Tensor, count: int) -> torch.Tensor:
        """The first ``count`` members' own standardised predictions in float64 on standardised
        x (n, n_in): (count, n, n_out); only those members are computed."""
        if self.members == 1 or count < 1:
            return self.layers(x_scaled).double().unsqueeze(0)[:count]
        return torch.cat(list(self._member_chunks(x_scaled, min(count, self.members))))

    def _spread(self, x_scaled: torch.Tensor, *, std: bool) -> Spread:
        """Every member's standardised prediction in float64, gathered into a ``Spread``."""
        spread = Spread()
        for h in self._member_chunks(x_scaled, self.members):
            spread.add(h, std=std)  # h: (chunk of members, n, n_out)
        return spread

    def _member_chunks(self, x_scaled: torch.Tensor, count: int) -> Iterator[torch.Tensor]:
        """Members 0 to count - 1's standardised predictions in float64, a chunk of members at
        a time (the chunk's activations within PREDICT_ELEMENTS): (chunk, n, n_out) each."""
        x64 = x_scaled.double()
        layers = [(layer.weight, layer.bias) for layer in self.layers if isinstance(layer, Members)]
        widest = max(self.n_in, *self.hidden, self.n_out)
        size = max(1, PREDICT_ELEMENTS // max(1, x64.shape[0] * widest))
        activations = [layer for layer in self.layers if not isinstance(layer, Members)]
        for start in range(0, count, size):
            end = min(start + size, count)
            h = x64.unsqueeze(0)
            for i, (weight, bias) in enumerate(layers):
                w, b = weight[start:end].double(), bias[start:end].double()
                h = torch.matmul(h, w.transpose(1, 2)).add_(b.unsqueeze(1))
                if i < len(layers) - 1:
                    h = activations[i](h)
            yield h

    def member_layers(self, k: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Member k's linear layers as (weight (n_to, n_from), bias (n_to,)), input side first."""
        return [
            (layer.weight, layer.bias) if self.members == 1 else (layer.weight[k], layer.bias[k])
            for layer in self.layers
            if isinstance(layer, (nn.Linear, Members))
        ]

    def member(self, k: int) -> MLP:
        """Member k as a network of its own: same weights and scaler, ``members=1``."""
        single = MLP(
            self.n_in,
            self.hidden,
            self.n_out,
            activation=self.activation,
            y_transform=self.y_transform,
        )
        linears = [layer for layer in single.layers if isinstance(layer, nn.Linear)]
        with torch.no_grad():
            for linear, (weight, bias) in zip(linears, self.member_layers(k), strict=True):
                linear.weight.copy_(weight)
                linear.bias.copy_(bias)
            for name in ("x_mean", "x_scale", "y_mean", "y_scale"):
                getattr(single, name).copy_(getattr(self, name))
        return single

    def hidden_outputs(self, x_scaled: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the layers on standardised x; return the output and each activation's output.

        One member: (n, n_out) and (n, width) each; several: (members, n, n_out) and
        (members, n, width), every member's own.
        """
        hiddens = []
        for layer in self.layers:
            x_scaled = layer(x_scaled)
            if not isinstance(layer, (nn.Linear, Members)):
                hiddens.append(x_scaled)  # (n, width) after the activation
        return x_scaled, hiddens
