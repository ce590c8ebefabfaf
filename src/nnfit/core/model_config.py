"""``ModelConfig``: the network's shape, each setting declared once (torch-free, so the CLI's
``--help`` and the settings table read it without loading torch)."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from ..checks import FieldError, check_fields, setting, shown
from ..errors import UsageError
from .transform import Y_TRANSFORMS

# activation name → its torch.nn class (``nnfit.core.model.ACTIVATIONS`` builds them)
ACTIVATION_LAYERS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "softplus": "Softplus",
}
WIDTHS = "whole numbers like 10 or 32,32"
NAMES = "an activation name, or one per hidden layer like relu,tanh"
MAX_WIDTH = 100_000  # units in one hidden layer
MAX_LAYERS = 100  # hidden layers
MAX_MEMBERS = 100_000_000  # a sanity bound: memory (model.check_size) is the real limit


AUTO_MEMBERS = 20  # members="auto" on small data: 20 networks, 20-fold cross-validated
AUTO_WORK = 2_000  # ... fewer as rows grow, so that members x rows stays about this small


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network; each field is a setting (CLI flag, TOML key, estimator parameter)."""

    hidden: tuple[int, ...] = setting(
        (10,), "hidden layer widths: 10 or 32,32", group="model", flag_type="widths", form=WIDTHS
    )
    activation: str | tuple[str, ...] = setting(
        "relu",
        "{choices}: one for every hidden layer, or one per layer like relu,tanh",
        choices=ACTIVATION_LAYERS,
        group="model",
        flag_type="activations",
        form=NAMES,
        metavar="NAMES",
    )
    scale: bool = setting(
        False,
        "standardise x and y with the training rows' mean and std (predictions stay in the "
        "data's units)",
        group="model",
    )
    y_transform: str = setting(
        "none",
        "{choices}: fit log(y) instead of y (auto: log when every y is above 0 and they span "
        "two decades or more, as growth and decay data do)",
        choices=Y_TRANSFORMS,
        group="model",
    )
    members: int | str = setting(
        1,
        "networks trained at once and averaged, each validated on its own held-out rows, or "
        "auto (20 up to 100 rows, 2000/rows up to 1000, then 1)",
        group="model",
        flag_type="members",
        form="a whole number or auto",
    )

    def __post_init__(self) -> None:
        if isinstance(self.activation, str) and "," in self.activation:  # "relu,tanh" as typed:
            object.__setattr__(self, "activation", split_names(self.activation))  # (before the
            # choices are checked)
        check_fields(self)
        check_hidden(self.hidden)
        check_activation(self.activation, len(self.hidden))
        check_members(self.members)

    @property
    def activations(self) -> tuple[str, ...]:
        """Each hidden layer's activation, input side first."""
        return layer_activations(self.activation, len(self.hidden))


def check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    """Validate hidden-layer widths and return them as a tuple."""
    if isinstance(hidden, (str, bytes, dict)) or not hasattr(hidden, "__iter__"):
        raise FieldError(
            "hidden", f"must be {WIDTHS}", hidden, code="type", params={"form": WIDTHS}
        )
    widths = tuple(hidden)
    if not widths or any(
        isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in widths
    ):
        raise FieldError(
            "hidden", f"must be {WIDTHS}", hidden, code="type", params={"form": WIDTHS}
        )
    widths = tuple(int(n) for n in widths)
    if any(n < 1 or n > MAX_WIDTH for n in widths):
        rule = f"widths must be between 1 and {MAX_WIDTH}"
        raise FieldError("hidden", rule, hidden, code="widths", params={"high": MAX_WIDTH})
    if len(widths) > MAX_LAYERS:
        rule = f"must have at most {MAX_LAYERS} layers"
        raise FieldError("hidden", rule, len(widths), code="layers", params={"high": MAX_LAYERS})
    return widths


def split_names(text: str, separator: str = ",") -> tuple[str, ...]:
    """``"relu, tanh"`` → ``("relu", "tanh")``: activation names as typed in a list."""
    return tuple(part.strip() for part in text.split(separator))


def check_activation(
    activation: str | Sequence[str], n_layers: int | None = None
) -> str | tuple[str, ...]:
    """Validate an activation: one name (every hidden layer's) or a list of names, one per
    hidden layer (``n_layers`` of them, when given), also typed as ``"relu,tanh"``; return the
    name or the names as a tuple, or raise FieldError naming ``activation``."""
    allowed = ", ".join(ACTIVATION_LAYERS)
    choices = {"choices": allowed}
    if isinstance(activation, str) and "," in activation:  # "relu,tanh" as typed
        activation = split_names(activation)
    if isinstance(activation, str):
        if activation not in ACTIVATION_LAYERS:
            rule = f"must be one of {allowed}"
            raise FieldError("activation", rule, activation, code="choice", params=choices)
        return activation
    if not isinstance(activation, (list, tuple)) or not activation:
        form = {"form": NAMES}
        raise FieldError("activation", f"must be {NAMES}", activation, code="type", params=form)
    names = tuple(activation)
    for name in names:
        if not isinstance(name, str) or name not in ACTIVATION_LAYERS:
            rule = f"names {shown(name)}, which is not one of {allowed}"
            params = {"name": shown(name), **choices}
            raise FieldError("activation", rule, activation, code="activation.name", params=params)
    if n_layers is not None and len(names) != n_layers:
        layers = f"{n_layers} hidden layer{'s' if n_layers > 1 else ''}"
        raise FieldError(
            "activation",
            f"gives {len(names)} names for {layers}: give one per layer, or one for all",
            activation,
            code="activation.layers",
            params={"names": len(names), "layers": n_layers},
        )
    return names


def activation_words(activation: str | Sequence[str]) -> str:
    """An activation as a sentence names it: ``relu``, or ``relu, tanh`` for one per layer."""
    return activation if isinstance(activation, str) else ", ".join(activation)


def layer_activations(activation: str | Sequence[str], n_layers: int) -> tuple[str, ...]:
    """Each of ``n_layers`` hidden layers' activation name: ``"tanh"`` → ``("tanh",) * n``; a
    list of names is checked to have one per layer (FieldError)."""
    checked = check_activation(activation, n_layers)
    return (checked,) * n_layers if isinstance(checked, str) else checked


def check_members(members: int | str) -> int | str:
    """Validate a member count (1 to MAX_MEMBERS; memory decides, see model.check_size) or
    "auto"."""
    if members == "auto":
        return members
    if isinstance(members, bool) or not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
        raise FieldError(
            "members",
            f"must be a whole number from 1 to {MAX_MEMBERS} or auto",
            members,
            code="members",
            params={"high": MAX_MEMBERS},
        )
    return members


# Training holds each parameter about six times: the weights, their gradients, the optimiser's
# state (Adam's two moments), early stopping's best copy and the divergence keeper's copy.
TRAIN_COPIES = 6
SAVED_ACTIVATIONS = 3  # per layer and row, autograd keeps the input, pre-activation and output
BYTES = 4  # float32


def n_parameters(n_in: int, hidden: Sequence[int], n_out: int, members: int = 1) -> int:
    """Weights and biases of the network (all members)."""
    widths = (n_in, *hidden, n_out)
    return members * sum((a + 1) * b for a, b in itertools.pairwise(widths))


def check_size(
    n_in: int, hidden: Sequence[int], n_out: int, *, members: int = 1, rows: int = 0
) -> None:
    """Refuse, before anything is allocated, a network too big to train in the memory left.

    The estimate: parameters x 4 bytes x TRAIN_COPIES, plus the activations of ``rows`` rows
    passed at once (rows x members x widest layer x layers x 4 bytes x SAVED_ACTIVATIONS).
    """
    from ..memory import check_memory  # (torch-free: refused before torch loads)

    for name, value in (("n_in", n_in), ("n_out", n_out)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise UsageError(f"{name} must be a whole number of at least 1, got {shown(value)}")
    widths = check_hidden(hidden)
    params = n_parameters(n_in, widths, n_out, members)
    widest = max(n_in, *widths, n_out)
    need = params * BYTES * TRAIN_COPIES
    need += rows * members * widest * (len(widths) + 1) * BYTES * SAVED_ACTIVATIONS
    what = f"{{hidden}} {','.join(map(str, widths))}"
    if members > 1:
        what += f" with {{members}} {members}"
    what += f" ({params:,} parameters for {n_in} input(s) and {n_out} output(s)"
    what += f", {rows:,} rows at once)" if rows else ")"
    check_memory(
        need, what, "use narrower {hidden} or fewer {members}", names=("hidden", "members")
    )


def auto_members(members: int | str, n: int) -> int:
    """The member count for n rows: ``members`` itself, or for "auto" 20 up to 100 rows, then
    ``2000 // n`` (10 at 200 rows, 5 at 400: a step then costs about what one network's does on
    a few hundred rows), and a single network above 1,000 rows, where averaging gains little."""
    if members != "auto":
        return int(members)
    return max(1, min(AUTO_MEMBERS, AUTO_WORK // max(n, 1)))
