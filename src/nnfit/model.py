"""The network: a multi-layer perceptron with its data scaler built in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .errors import UsageError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network; the CLI's --hidden and --activation map onto these fields."""

    hidden: tuple[int, ...] = (10,)  # width of each hidden layer, e.g. (32, 32)
    activation: str = "relu"  # one of ACTIVATIONS
    scale: bool = False  # standardise x and y with the training data's mean and std

    def __post_init__(self) -> None:
        check_hidden(self.hidden)
        check_activation(self.activation)


def check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    """Validate hidden-layer widths and return them as a tuple."""
    widths = tuple(hidden)
    if not widths or any(isinstance(n, bool) or not isinstance(n, int) for n in widths):
        raise UsageError(f"--hidden must be whole numbers like 10 or 32,32, got {hidden!r}")
    if any(n < 1 or n > 100_000 for n in widths):
        raise UsageError(f"--hidden widths must be between 1 and 100000, got {hidden!r}")
    return widths


def check_activation(activation: str) -> str:
    """Validate an activation name."""
    if activation not in ACTIVATIONS:
        raise UsageError(
            f"--activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
        )
    return activation


class MLP(nn.Module):
    """Linear → activation → ... → Linear, as in the lesson's ``Net``.

    The scaler (``x_mean``, ``x_scale``, ``y_mean``, ``y_scale`` buffers) is part of the model, so
    ``model(x)`` takes and returns the user's units while ``layers`` works on standardised values.
    It is the identity until ``set_scaler`` is called.

    Args:
        n_in: number of input columns.
        hidden: width of the hidden layer, or widths of several, e.g. ``(32, 32)``.
        n_out: number of output columns.
        activation: name of the activation between linear layers (see ``ACTIVATIONS``).
        seed: if given, initialise the weights from this seed without touching torch's global RNG.

    Example:
        >>> model = MLP(1, 10, 1, seed=0)
        >>> model(torch.zeros(5, 1)).shape
        torch.Size([5, 1])
    """

    def __init__(
        self,
        n_in: int = 1,
        hidden: int | Sequence[int] = 10,
        n_out: int = 1,
        *,
        activation: str = "relu",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        widths = check_hidden((hidden,) if isinstance(hidden, int) else hidden)
        self.activation = check_activation(activation)
        self.n_in, self.n_out, self.hidden = n_in, n_out, widths
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            layers: list[nn.Module] = []
            for n_from, n_to in zip((n_in, *widths), widths):
                layers += [nn.Linear(n_from, n_to), ACTIVATIONS[activation]()]
            layers.append(nn.Linear(widths[-1], n_out))
            self.layers = nn.Sequential(*layers)
        for name, size in (("x_mean", n_in), ("y_mean", n_out)):
            self.register_buffer(name, torch.zeros(size))
        for name, size in (("x_scale", n_in), ("y_scale", n_out)):
            self.register_buffer(name, torch.ones(size))

    @property
    def config(self) -> ModelConfig:
        """The ModelConfig this network was built from."""
        return ModelConfig(hidden=self.hidden, activation=self.activation)

    def set_scaler(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Standardise with the mean and std of training data x (n, n_in) and y (n, n_out)."""
        for name, data in (("x", x), ("y", y)):
            mean, std = data.mean(dim=0), data.std(dim=0)
            std = torch.where(std > 0, std, torch.ones_like(std))  # a constant column stays as is
            getattr(self, f"{name}_mean").copy_(mean)
            getattr(self, f"{name}_scale").copy_(std)

    def scale_x(self, x: torch.Tensor) -> torch.Tensor:
        """User units → standardised inputs."""
        return (x - self.x_mean) / self.x_scale

    def scale_y(self, y: torch.Tensor) -> torch.Tensor:
        """User units → standardised targets."""
        return (y - self.y_mean) / self.y_scale

    def unscale_y(self, y: torch.Tensor) -> torch.Tensor:
        """Standardised outputs → user units."""
        return y * self.y_scale + self.y_mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict in user units: x (n, n_in) → y_pred (n, n_out)."""
        return self.unscale_y(self.layers(self.scale_x(x)))

    def hidden_outputs(self, x_scaled: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the layers on standardised x; return the output and each activation's output."""
        hiddens = []
        for layer in self.layers:
            x_scaled = layer(x_scaled)
            if not isinstance(layer, nn.Linear):
                hiddens.append(x_scaled)  # (n, width) after the activation
        return x_scaled, hiddens
