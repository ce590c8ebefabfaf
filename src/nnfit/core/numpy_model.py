"""A trained MLP's forward pass on NumPy: predictions from a run folder without importing torch.

``NumpyMLP`` takes the tensors of ``MLP.state_dict()`` as NumPy arrays and predicts as
``MLP.forward`` does, in the same precision: float32 for one network; for several members each
member in float64 and their average rounded to float32 once, as ``MLP.predict_scaled`` does.
Results equal torch's to float32 rounding (tests/test_numpy_model.py checks every activation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .model_config import ACTIVATION_LAYERS, layer_activations
from .spread import Spread

__all__ = ["ACTIVATIONS", "NumpyMLP", "erfc"]

# Numerical Recipes' ``erfcc`` (Chebyshev fit): relative error below 1.2e-7 everywhere, so
# GELU's left tail stays accurate to float32 where ``1 + erf`` would cancel.
_ERFC = (
    -1.26551223,
    1.00002368,
    0.37409196,
    0.09678418,
    -0.18628806,
    0.27886807,
    -1.13520398,
    1.48851587,
    -0.82215223,
    0.17087277,
)


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function, elementwise, in float64."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(t)
    for c in reversed(_ERFC[1:]):
        poly = t * (c + poly)
    tail = t * np.exp(-z * z + _ERFC[0] + poly)
    return np.where(x >= 0, tail, 2.0 - tail)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), never overflows


def _gelu(z: np.ndarray) -> np.ndarray:
    exact = 0.5 * z.astype(np.float64) * erfc(-z / math.sqrt(2.0))  # torch's exact (erf) form
    return exact.astype(z.dtype)


def _softplus(z: np.ndarray) -> np.ndarray:
    # torch.nn.Softplus(beta=1, threshold=20): linear above 20
    return np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, 20))))


# activation name → its NumPy form, matching torch.nn's defaults (see model_config)
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "leaky_relu": lambda z: np.where(z > 0, z, z * z.dtype.type(0.01)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "gelu": _gelu,
    "silu": lambda z: z * _sigmoid(z),
    "softplus": _softplus,
}
assert set(ACTIVATIONS) == set(ACTIVATION_LAYERS)  # every activation the model offers


Layer = tuple[np.ndarray, np.ndarray]  # weight (n_to, n_from), bias (n_to,)


@dataclass(frozen=True)
class NumpyMLP:
    """An MLP's weights and scaler as float32 arrays; calling it predicts in the user's units.

    Build it with ``from_state`` from the arrays of ``MLP.state_dict()`` (names checked by the
    caller, e.g. ``runs.runcheck.tensor_problem``).

    Example:
        >>> model = NumpyMLP.from_state(weights, activation="relu")  # doctest: +SKIP
        >>> model(np.array([[150.0]]))  # (n, n_in) → (n, n_out)     # doctest: +SKIP
    """

    activation: str | tuple[str, ...]  # one name for every hidden layer, or one per layer
    members: tuple[tuple[Layer, ...], ...]  # each member's linear layers, input side first
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray
    y_transform: str = "none"  # "log": the layers predict log(y), as MLP's y_transform

    @classmethod
    def from_state(
        cls,
        tensors: Mapping[str, np.ndarray],
        *,
        activation: str | Sequence[str],
        y_transform: str = "none",
    ) -> NumpyMLP:
        """From ``MLP.state_dict()``'s arrays: ``layers.{2i}.weight`` (members, out, in) or
        (out, in), ``layers.{2i}.bias`` and the scaler's four vectors."""
        indices = sorted(int(name.split(".")[1]) for name in tensors if name.startswith("layers."))
        weights = [np.array(tensors[f"layers.{i}.weight"], np.float32) for i in indices[::2]]
        biases = [np.array(tensors[f"layers.{i}.bias"], np.float32) for i in indices[::2]]
        members: tuple[tuple[Layer, ...], ...]
        if weights[0].ndim == 2:  # one network
            members = (tuple(zip(weights, biases, strict=True)),)
        else:  # stacked members: (members, out, in)
            members = tuple(
                tuple((w[k], b[k]) for w, b in zip(weights, biases, strict=True))
                for k in range(weights[0].shape[0])
            )
        scaler = {
            name: np.array(tensors[name], np.float32)  # copies: later changes do not reach it
            for name in ("x_mean", "x_scale", "y_mean", "y_scale")
        }
        activation = activation if isinstance(activation, str) else tuple(activation)
        return cls(activation=activation, members=members, y_transform=y_transform, **scaler)

    @property
    def n_in(self) -> int:
        """Number of input columns."""
        return int(self.x_mean.shape[0])

    @property
    def n_out(self) -> int:
        """Number of output columns."""
        return int(self.y_mean.shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x (n, n_in) in the user's units → y_pred (n, n_out) as float64 (float32 values)."""
        return self._predict(x, std=False)[0]

    def predict_with_std(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (n, n_in) → (y_pred, y_std), each (n, n_out) as float64 (float32 values): the
        members' average and the standard deviation of their predictions in the user's units
        (zeros for one network), as ``MLP.predict_with_std``."""
        y_pred, y_std = self._predict(x, std=True)
        assert y_std is not None
        return y_pred, y_std

    def _predict(self, x: np.ndarray, *, std: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x_scaled = (np.asarray(x, np.float32) - self.x_mean) / self.x_scale  # (n, n_in)
        if len(self.members) == 1:
            y_scaled = self._run(self.members[0], x_scaled)
            y_std = np.zeros_like(y_scaled)
        else:  # in float64, as MLP.predict_scaled: rounding never reaches the float32 result
            spread = Spread()
            for layers in self.members:
                spread.add(self._run(layers, x_scaled, np.float64)[None], std=std)
            y_scaled = spread.mean().astype(np.float32)
            y_std = None
            if std:  # float64 in the user's units, rounded once
                y_std = (spread.std() * self.y_scale.astype(np.float64)).astype(np.float32)
        y_pred = (y_scaled * self.y_scale + self.y_mean).astype(np.float32)  # (n, n_out)
        if self.y_transform == "log":  # as MLP: exp of the members' mean log(y)
            y_pred = np.exp(y_pred)
            if y_std is not None:
                y_std = (y_std.astype(np.float64) * y_pred).astype(np.float32)
        return y_pred.astype(np.float64), None if y_std is None else y_std.astype(np.float64)

    def _run(
        self, layers: tuple[Layer, ...], h: np.ndarray, dtype: type = np.float32
    ) -> np.ndarray:
        """One network's linear layers with each hidden layer's activation after it."""
        acts = [ACTIVATIONS[name] for name in layer_activations(self.activation, len(layers) - 1)]
        h = h.astype(dtype)
        for i, (weight, bias) in enumerate(layers):
            h = h @ weight.T.astype(dtype) + bias.astype(dtype)  # (n, n_to)
            if i < len(layers) - 1:
                h = acts[i](h)
        return h
