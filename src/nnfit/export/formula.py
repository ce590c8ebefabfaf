"""The exact piecewise-linear function that a one-input, one-output ReLU network computes.

Within an interval where no unit changes sign, every layer is affine in x, so the network is too.
``relu_formula`` starts with the whole real line and, layer by layer, splits each interval where a
unit's pre-activation crosses zero; each final interval is one linear piece. The linear algebra
runs in float64 on the float32 weights.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.model import MLP
from ..errors import UsageError

__all__ = ["PiecewiseLinear", "relu_formula"]

MERGE_TOLERANCE = 1e-12  # relative; neighbours this close in slope and intercept are one piece
FORMULA_ACTIVATIONS = ("relu", "leaky_relu")


@dataclass(frozen=True)
class PiecewiseLinear:
    """A continuous function of one variable made of straight pieces.

    ``f(x) = slopes[i] * x + intercepts[i]`` on the i-th interval: ``x < breakpoints[0]`` for
    i = 0, ``breakpoints[i-1] <= x < breakpoints[i]`` in between, ``x >= breakpoints[-1]`` last.

    Example:
        >>> f = PiecewiseLinear(breakpoints=(0.0,), slopes=(0.0, 1.0), intercepts=(0.0, 0.0))
        >>> f(np.array([-2.0, 3.0]))
        array([0., 3.])
        >>> print(f)
        f(x) = 0     for x < 0
        f(x) = 1*x   for x >= 0
    """

    breakpoints: tuple[float, ...]  # sorted x values where the slope changes
    slopes: tuple[float, ...]  # len(breakpoints) + 1
    intercepts: tuple[float, ...]  # len(breakpoints) + 1

    def __post_init__(self) -> None:
        n_pieces = len(self.breakpoints) + 1
        if len(self.slopes) != n_pieces or len(self.intercepts) != n_pieces:
            raise ValueError(
                f"{len(self.breakpoints)} breakpoints need {n_pieces} slopes and intercepts, "
                f"got {len(self.slopes)} and {len(self.intercepts)}"
            )
        if any(a >= b for a, b in itertools.pairwise(self.breakpoints)):
            raise ValueError(f"breakpoints must increase, got {self.breakpoints}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at x of any shape (float64); returns the same shape."""
        x = np.asarray(x, dtype=np.float64)
        piece = np.searchsorted(np.asarray(self.breakpoints), x, side="right")
        return np.asarray(self.slopes)[piece] * x + np.asarray(self.intercepts)[piece]

    def __str__(self) -> str:
        """One line per piece, 6 significant digits, e.g. ``f(x) = 2*x - 1   for x >= 0.5``."""
        lines = [_affine(s, c) for s, c in zip(self.slopes, self.intercepts)]
        width = max(len(line) for line in lines)
        bounds = [f"{b:.6g}" for b in self.breakpoints]
        ranges = (
            ["for all x"]
            if not bounds
            else [
                f"for x < {bounds[0]}",
                *(f"for {lo} <= x < {hi}" for lo, hi in itertools.pairwise(bounds)),
                f"for x >= {bounds[-1]}",
            ]
        )
        return "\n".join(f"{line:<{width}}   {where}" for line, where in zip(lines, ranges))


def relu_formula(model: MLP) -> PiecewiseLinear:
    """The exact piecewise-linear function a ReLU ``model`` computes, in the user's units.

    Works for any depth. Leaky ReLU works too (its pieces never have slope 0). Adjacent pieces
    that are the same line (a unit whose output nothing uses) are merged.

    Args:
        model: an MLP with one input, one output and a ``relu`` or ``leaky_relu`` activation
            after every hidden layer (each layer may have either).

    Returns:
        The function, with ``len(breakpoints) <= total hidden units``.

    Raises:
        UsageError: another activation, or more than one input or output.

    Example:
        >>> model = MLP(1, 10, 1, seed=0)
        >>> f = relu_formula(model)
        >>> len(f.slopes) <= 11
        True
    """
    _check_formula_model(model)
    # each hidden layer's slope below zero: 0 for ReLU, LeakyReLU's own
    negative_slopes = [
        float(layer.negative_slope) if isinstance(layer, nn.LeakyReLU) else 0.0
        for layer in model.layers
        if isinstance(layer, (nn.ReLU, nn.LeakyReLU))
    ]
    members = []
    for k in range(model.members):
        own = model.member_layers(k)
        weights = [_float64(weight) for weight, _ in own]  # (n_to, n_from) each
        biases = [_float64(bias) for _, bias in own]  # (n_to,) each
        members.append(_pieces(weights, biases, negative_slopes))
    pieces = members[0] if len(members) == 1 else _average(members)

    # Back to user units: x = x_mean + x_scale * t, y = y_mean + y_scale * output.
    x_mean, x_scale = float(model.x_mean), float(model.x_scale)
    y_mean, y_scale = float(model.y_mean), float(model.y_scale)
    starts, slopes, intercepts = [], [], []
    for lo, out_a, out_c in pieces:  # output = out_a * t + out_c
        starts.append(x_mean + x_scale * lo)
        slopes.append(y_scale * out_a / x_scale)
        intercepts.append(y_mean + y_scale * (out_c - out_a * x_mean / x_scale))
    return _merge(starts, slopes, intercepts)


def _pieces(
    weights: list[np.ndarray], biases: list[np.ndarray], negative_slopes: list[float]
) -> list[tuple[float, float, float]]:
    """One network's pieces in standardised t: (start, slope, intercept) of its output."""
    # Each piece: (lo, hi, a, c) with the current layer's input = a * t + c for lo < t < hi;
    # a and c have shape (width,).
    pieces = [(-math.inf, math.inf, np.ones(1), np.zeros(1))]
    for weight, bias, negative_slope in zip(
        weights[:-1], biases[:-1], negative_slopes, strict=True
    ):
        next_pieces = []
        for lo, hi, a, c in pieces:
            pre_a, pre_c = weight @ a, weight @ c + bias  # pre-activation = pre_a * t + pre_c
            with np.errstate(divide="ignore", invalid="ignore"):
                roots = -pre_c / pre_a  # where each unit crosses zero (inf/nan if it never does)
            cuts = np.unique(roots[(roots > lo) & (roots < hi)])
            edges = [lo, *cuts.tolist(), hi]
            for left, right in itertools.pairwise(edges):
                t = _inside(left, right)
                gain = np.where(pre_a * t + pre_c > 0, 1.0, negative_slope)  # (width,)
                next_pieces.append((left, right, gain * pre_a, gain * pre_c))
        pieces = next_pieces
    return [
        (lo, float(weights[-1][0] @ a), float(weights[-1][0] @ c + biases[-1][0]))
        for lo, _hi, a, c in pieces
    ]


def _average(members: list[list[tuple[float, float, float]]]) -> list[tuple[float, float, float]]:
    """The members' mean function: a piece between every two neighbouring breakpoints of any."""
    starts = sorted({start for pieces in members for start, _, _ in pieces})
    bounds = [[start for start, _, _ in pieces] for pieces in members]
    averaged = []
    for lo, hi in zip(starts, [*starts[1:], math.inf]):
        t = _inside(lo, hi)
        chosen = [pieces[bisect.bisect_right(b, t) - 1] for pieces, b in zip(members, bounds)]
        slope = sum(piece[1] for piece in chosen) / len(members)
        averaged.append((lo, slope, sum(piece[2] for piece in chosen) / len(members)))
    return averaged


def _check_formula_model(model: MLP) -> None:
    """Refuse what has no exact piecewise-linear formula of one variable."""
    why = []
    why += [name for name in dict.fromkeys(model.activations) if name not in FORMULA_ACTIVATIONS]
    if model.n_in != 1:
        why.append(f"{model.n_in} inputs")
    if model.n_out != 1:
        why.append(f"{model.n_out} outputs")
    if model.y_transform != "none":  # exp of a piecewise-linear function is not one
        why.append("log(y) fitted (train with --y-transform none)")
    if why:
        raise UsageError(
            "--formula needs a ReLU network with one input and one output; "
            f"this one has {' and '.join(why)}"
        )


def _float64(tensor: torch.Tensor) -> np.ndarray:
    """A parameter as a float64 NumPy array (exact for float32 values)."""
    return tensor.detach().cpu().double().numpy()


def _inside(lo: float, hi: float) -> float:
    """A point strictly inside (lo, hi), which may be unbounded."""
    if math.isinf(lo) and math.isinf(hi):
        return 0.0
    if math.isinf(lo):
        return hi - 1.0
    if math.isinf(hi):
        return lo + 1.0
    return lo + (hi - lo) / 2


def _merge(starts: list[float], slopes: list[float], intercepts: list[float]) -> PiecewiseLinear:
    """Join neighbouring pieces that are one line; drop pieces that no x falls in."""
    slope_tol = MERGE_TOLERANCE * max(abs(s) for s in slopes)
    intercept_tol = MERGE_TOLERANCE * max(abs(c) for c in intercepts)
    merged: list[tuple[float, float, float]] = []  # (start, slope, intercept)
    for start, slope, intercept in zip(starts, slopes, intercepts):
        if merged and start <= merged[-1][0]:
            merged.pop()  # x_mean + x_scale * t rounded two breakpoints together
        if (
            merged
            and math.isclose(slope, merged[-1][1], rel_tol=MERGE_TOLERANCE, abs_tol=slope_tol)
            and math.isclose(
                intercept, merged[-1][2], rel_tol=MERGE_TOLERANCE, abs_tol=intercept_tol
            )
        ):
            continue  # the same line on both sides: not a breakpoint
        merged.append((start, slope, intercept))
    return PiecewiseLinear(
        breakpoints=tuple(start for start, _, _ in merged[1:]),
        slopes=tuple(slope for _, slope, _ in merged),
        intercepts=tuple(intercept for _, _, intercept in merged),
    )


def _affine(slope: float, intercept: float) -> str:
    """``f(x) = 2*x - 1`` with 6 significant digits, dropping zero terms."""
    terms = f"{slope:.6g}*x" if slope != 0 else ""
    if intercept != 0 or not terms:
        if not terms:
            terms = f"{intercept:.6g}"
        else:
            terms += f" - {-intercept:.6g}" if intercept < 0 else f" + {intercept:.6g}"
    return f"f(x) = {terms}"
